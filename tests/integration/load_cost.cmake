# @file load_cost.cmake
# @brief Issue 13, child side: what loading the shim costs an exec'd program that never calls it,
# checked against a no-op preload library built here (the bench's floor, bench/noop_preload.c).
add_library(fg_test_noop_preload SHARED ${CMAKE_SOURCE_DIR}/bench/noop_preload.c)
set_target_properties(fg_test_noop_preload PROPERTIES C_VISIBILITY_PRESET hidden
                      LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/helpers)
# The same DT_NEEDED as the shim (the glibc floor's libdl.so.2 and libpthread.so.0): what the test
# compares is the shim's own load, not the floor's two small objects (bench/README: their cost).
target_link_options(fg_test_noop_preload PRIVATE ${FORKGUARD_FLOOR_NEEDED})
set(_fg_load_cost "load cost: a child that inherits the shim makes a no-op library's syscalls, no malloc, no I/O")
add_test(NAME "${_fg_load_cost}"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/load_cost.sh $<TARGET_FILE:forkguard_shim>
                 $<TARGET_FILE:fg_test_noop_preload>)
set_tests_properties("${_fg_load_cost}" PROPERTIES TIMEOUT 120 LABELS integration SKIP_RETURN_CODE 77)
