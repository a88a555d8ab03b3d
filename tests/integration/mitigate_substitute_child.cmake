# @file mitigate_substitute_child.cmake
# @brief What a vfork substitute's child does in the memory it shares with the parent (issue #10
# section 3): daemon() or its own fork() there, and a record of its own, leave the parent's state
# (call depth, log descriptor) and the grandchild's signal state as without the library.
add_executable(fg_helper_vfork_sub_daemon ${CMAKE_SOURCE_DIR}/tests/helpers/vfork_sub_daemon.c)
set_target_properties(fg_helper_vfork_sub_daemon PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)

set(FG_SUB_CHILD_TEST "mitigate: daemon() or fork() in a vfork substitute's child: the parent's calls stay outer calls, its log is not leaked, the grandchild keeps the program's signal state")
add_test(NAME "${FG_SUB_CHILD_TEST}"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/mitigate_substitute_child.sh $<TARGET_FILE:fg_test_validate_records>
                 $<TARGET_FILE:forkguard_shim> $<TARGET_FILE:fg_helper_vfork_sub_daemon>)
set_tests_properties("${FG_SUB_CHILD_TEST}" PROPERTIES TIMEOUT 120 LABELS integration)
