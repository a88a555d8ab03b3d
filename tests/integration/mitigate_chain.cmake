# @file mitigate_chain.cmake
# @brief Mitigate mode's fallback chain for fork() and _Fork() (issue #11 section 2), under the
# seccomp injector, which refuses every copying clone, the slim fork's included.
add_executable(fg_helper_fork_chain ${CMAKE_SOURCE_DIR}/tests/helpers/fork_chain.c)
set_target_properties(fg_helper_fork_chain PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)
target_link_libraries(fg_helper_fork_chain PRIVATE Threads::Threads)

set(FG_CHAIN_TEST "mitigate: a refused slim fork goes on to the vfork substitute (fork and _Fork), attempts recorded")
add_test(NAME "${FG_CHAIN_TEST}"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/mitigate_chain.sh $<TARGET_FILE:fg_test_validate_records>
                 $<TARGET_FILE:forkguard_shim> $<TARGET_FILE:forkguard_cli> $<TARGET_FILE:fg_helper_seccomp_nofork>
                 $<TARGET_FILE:fg_helper_fork_chain> $<TARGET_FILE:fg_helper__Fork>)
set_tests_properties("${FG_CHAIN_TEST}" PROPERTIES TIMEOUT 300 LABELS integration)
