# @file vm_slim.cmake
# @brief Issue #11 in QEMU guests: fg_vm_reservation, the C program of the interpreters' shape,
# runs in scripts/vm-test's mode-2 guest (tests/vm/slim_mode2*.sh); scripts/vm-test-slim boots
# Debian 12's Linux 6.12 with a swap file and runs the zero-page and swap paths (tests/vm/slim_paths.c).
add_executable(fg_vm_reservation ${CMAKE_SOURCE_DIR}/tests/vm/reservation_mode2.c)
set_target_properties(fg_vm_reservation PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/vm)

add_executable(fg_vm_slim_paths ${CMAKE_SOURCE_DIR}/tests/vm/slim_paths.c)
set_target_properties(fg_vm_slim_paths PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/vm)

add_test(NAME "vm: Linux 6.12 with a swap file: the zero page and swapped pages in the slim fork's never-written scan"
         COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/vm-test-slim $<TARGET_FILE_DIR:forkguard_shim>)
set_tests_properties("vm: Linux 6.12 with a swap file: the zero page and swapped pages in the slim fork's never-written scan"
  PROPERTIES TIMEOUT 600 LABELS vm SKIP_RETURN_CODE 77)
