# @file vm.cmake
# @brief Proof on a strict-accounting kernel (issues 4 and 12): scripts/vm-test boots a Debian
# kernel of the build's architecture under QEMU (TCG) with vm.overcommit_memory=2 and runs the
# user's scenario and the prediction sweep there (x86_64: Linux 6.1 amd64; aarch64: Linux 6.1
# arm64, and 6.12 arm64 with 16 KiB pages). The two guest programs are built here; the script
# builds only the initramfs. Skipped (exit 77) only when qemu cannot be installed.

set(FG_VM_OUT ${CMAKE_BINARY_DIR}/tests/vm)

# The user's scenario: a legacy program with a large untouched mapping, fork+exec, system, popen.
add_executable(fg_vm_legacy_mode2 ${CMAKE_SOURCE_DIR}/tests/vm/legacy_mode2.c)
set_target_properties(fg_vm_legacy_mode2 PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${FG_VM_OUT})

# The prediction sweep: runs under the shim (its verdict read from the records) and links the
# core for an in-process cross-check of the same rule.
add_executable(fg_vm_commit_sweep ${CMAKE_SOURCE_DIR}/tests/vm/commit_sweep.cpp)
set_target_properties(fg_vm_commit_sweep PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${FG_VM_OUT})
target_link_libraries(fg_vm_commit_sweep PRIVATE forkguard_core)

# fg_vm_test(<test name> <vm-test arguments>...)
function(fg_vm_test name)
  add_test(NAME "${name}" COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/vm-test ${ARGN} $<TARGET_FILE_DIR:forkguard_shim>)
  set_tests_properties("${name}" PROPERTIES TIMEOUT 1200 LABELS vm SKIP_RETURN_CODE 77
                       RESOURCE_LOCK forkguard_vm)
endfunction()
if(FORKGUARD_ARCH STREQUAL "x86_64")
  fg_vm_test("vm: strict overcommit (mode 2) scenario and prediction sweep in QEMU" --arch x86_64)
else()
  fg_vm_test("vm: aarch64, strict overcommit (mode 2) scenario, prediction sweep and [kernel] unit tests in QEMU"
             --arch aarch64)
  fg_vm_test("vm: aarch64 with 16 KiB pages, strict overcommit (mode 2) scenario, prediction sweep and [kernel] unit tests in QEMU"
             --arch aarch64 --kernel 16k)
endif()
