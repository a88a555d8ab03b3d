# @file mitigate.cmake
# @brief Mitigate mode on the real kernel: the vfork substitute under the seccomp injector.
foreach(helper fork_cases seccomp_nofork mitigate_signals)
  add_executable(fg_helper_${helper} ${CMAKE_SOURCE_DIR}/tests/helpers/${helper}.c)
  set_target_properties(fg_helper_${helper} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)
endforeach()

add_test(NAME "mitigate: vfork substitute rescues fork+exec under the seccomp injector, only where allowed"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/mitigate_vfork.sh $<TARGET_FILE:fg_test_validate_records>
                 $<TARGET_FILE:forkguard_shim> $<TARGET_FILE:fg_helper_fork_cases>
                 $<TARGET_FILE:fg_helper_seccomp_nofork>)
set_tests_properties("mitigate: vfork substitute rescues fork+exec under the seccomp injector, only where allowed"
                     PROPERTIES TIMEOUT 180 LABELS integration)

add_test(NAME "mitigate: sites learned in observe mode get the vfork substitute, workers never"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/mitigate_learned.sh $<TARGET_FILE:forkguard_cli>
                 $<TARGET_FILE:forkguard_shim> $<TARGET_FILE:fg_helper_fork_cases>
                 $<TARGET_FILE:fg_helper_seccomp_nofork>)
set_tests_properties("mitigate: sites learned in observe mode get the vfork substitute, workers never"
                     PROPERTIES TIMEOUT 180 LABELS integration SKIP_RETURN_CODE 77)

add_test(NAME "mitigate: system() and popen() over posix_spawn behave exactly as glibc's"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/mitigate_shell.sh $<TARGET_FILE:fg_test_validate_records>
                 $<TARGET_FILE:forkguard_shim> $<TARGET_FILE:fg_helper_seccomp_nofork>
                 $<TARGET_FILE:fg_helper_system> $<TARGET_FILE:fg_helper_popen>)
set_tests_properties("mitigate: system() and popen() over posix_spawn behave exactly as glibc's"
                     PROPERTIES TIMEOUT 180 LABELS integration)

add_test(NAME "mitigate: abort() and raise() in a vfork substitute's child end the child alone, as with fork"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/mitigate_signals.sh $<TARGET_FILE:fg_test_validate_records>
                 $<TARGET_FILE:forkguard_shim> $<TARGET_FILE:fg_helper_mitigate_signals>
                 $<TARGET_FILE:fg_helper_seccomp_nofork>)
set_tests_properties("mitigate: abort() and raise() in a vfork substitute's child end the child alone, as with fork"
                     PROPERTIES TIMEOUT 120 LABELS integration)
