# @file vm.cmake
# @brief Proof on a strict-accounting kernel (issue 4): scripts/vm-test boots a Debian 6.1 kernel
# under QEMU (TCG) with vm.overcommit_memory=2 and runs the user's scenario and the prediction
# sweep there. The two guest programs are built here; the script builds only the initramfs.
# Skipped (exit 77) only when qemu cannot be installed.

set(FG_VM_OUT ${CMAKE_BINARY_DIR}/tests/vm)

# The user's scenario: a legacy program with a large untouched mapping, fork+exec, system, popen.
add_executable(fg_vm_legacy_mode2 ${CMAKE_SOURCE_DIR}/tests/vm/legacy_mode2.c)
set_target_properties(fg_vm_legacy_mode2 PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${FG_VM_OUT})

# The prediction sweep: runs under the shim (its verdict read from the records) and links the
# core for an in-process cross-check of the same rule.
add_executable(fg_vm_commit_sweep ${CMAKE_SOURCE_DIR}/tests/vm/commit_sweep.cpp)
set_target_properties(fg_vm_commit_sweep PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${FG_VM_OUT})
target_link_libraries(fg_vm_commit_sweep PRIVATE forkguard_core)

add_test(NAME "vm: strict overcommit (mode 2) scenario and prediction sweep in QEMU"
         COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/vm-test $<TARGET_FILE_DIR:forkguard_shim>)
set_tests_properties("vm: strict overcommit (mode 2) scenario and prediction sweep in QEMU" PROPERTIES
  TIMEOUT 600
  LABELS vm
  SKIP_RETURN_CODE 77)
