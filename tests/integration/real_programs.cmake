# @file real_programs.cmake
# @brief Real programs (Python subprocess, git commit with a hook, perl system(), bash loops) under
# the seccomp injector + mitigate mode with a learned profile: each behaves as without the
# injector or fails cleanly, never a corrupted or hung parent. Outcomes: real_programs.md.
# fg_helper_seccomp_nofork is defined in mitigate.cmake.
add_test(NAME "mitigate: real programs under the injector with a learned profile behave or fail cleanly"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/real_programs.sh $<TARGET_FILE:forkguard_cli>
                 $<TARGET_FILE:forkguard_shim> $<TARGET_FILE:fg_helper_seccomp_nofork>)
set_tests_properties("mitigate: real programs under the injector with a learned profile behave or fail cleanly"
                     PROPERTIES TIMEOUT 300 LABELS integration SKIP_RETURN_CODE 77)
