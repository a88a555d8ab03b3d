# @file descriptors.cmake
# @brief Issue #10 section 1: the library holds only its own descriptors, close-on-exec, at or
# above its high base, and never touches the program's, in every mode and on both sides of the
# fork (tests/helpers/fd_table.c); and issue #10's closefrom program keeps its data.
foreach(helper fd_table fd_exec_check fd_closefrom)
  add_executable(fg_helper_${helper} ${CMAKE_SOURCE_DIR}/tests/helpers/${helper}.c)
  set_target_properties(fg_helper_${helper} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)
endforeach()

# Runs of the closefrom program per mode in CI (scripts/soak-descriptors.sh runs 1,000).
set(FG_CLOSEFROM_RUNS 100)

foreach(mode observe learning slim vfork)
  set(name "descriptors: ${mode}: every entry point leaves the program's descriptor table as it was, both sides of the fork")
  add_test(NAME "${name}"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/descriptors_table.sh $<TARGET_FILE:forkguard_shim>
                   $<TARGET_FILE:fg_helper_fd_table> $<TARGET_FILE:fg_helper_fd_exec_check> ${mode})
  set_tests_properties("${name}" PROPERTIES TIMEOUT 300 LABELS integration)

  set(name "descriptors: ${mode}: the closefrom program keeps its data in ${FG_CLOSEFROM_RUNS} of ${FG_CLOSEFROM_RUNS} runs")
  add_test(NAME "${name}"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/descriptors_closefrom.sh $<TARGET_FILE:forkguard_shim>
                   $<TARGET_FILE:fg_helper_fd_closefrom> ${mode} ${FG_CLOSEFROM_RUNS})
  set_tests_properties("${name}" PROPERTIES TIMEOUT 600 LABELS integration)
endforeach()

# The unit tests' object for re-pointing imports (tests/unit/test_got_patch.cpp): full RELRO.
add_library(fg_fd_got_target SHARED ${CMAKE_SOURCE_DIR}/tests/helpers/fd_got_target.c)
set_target_properties(fg_fd_got_target PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)
target_link_options(fg_fd_got_target PRIVATE -Wl,-z,now -Wl,-z,relro)
add_dependencies(forkguard_unit fg_fd_got_target)
target_compile_definitions(forkguard_unit PRIVATE FG_GOT_TARGET="$<TARGET_FILE:fg_fd_got_target>")

# libunwind under the guard, linked as the shim is (static libstdc++ and libgcc).
add_executable(fg_helper_fd_unwinder ${CMAKE_SOURCE_DIR}/tests/helpers/fd_unwinder.cpp)
set_target_properties(fg_helper_fd_unwinder PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)
target_link_libraries(fg_helper_fd_unwinder PRIVATE forkguard_core Threads::Threads)
target_link_options(fg_helper_fd_unwinder PRIVATE -static-libstdc++ -static-libgcc)
add_test(NAME "descriptors: libunwind keeps its pipe at the high base and never touches a number the program reused"
         COMMAND $<TARGET_FILE:fg_helper_fd_unwinder>)
set_tests_properties("descriptors: libunwind keeps its pipe at the high base and never touches a number the program reused"
                     PROPERTIES TIMEOUT 120 LABELS integration)

add_executable(fg_helper_fd_own_unwind ${CMAKE_SOURCE_DIR}/tests/helpers/fd_own_unwind.c)
set_target_properties(fg_helper_fd_own_unwind PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)
target_link_libraries(fg_helper_fd_own_unwind PRIVATE ${CMAKE_DL_LIBS})
add_test(NAME "descriptors: a program's own libunwind is left alone, its records still have stacks"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/descriptors_own_unwind.sh $<TARGET_FILE:forkguard_shim>
                 $<TARGET_FILE:fg_helper_fd_own_unwind>)
set_tests_properties("descriptors: a program's own libunwind is left alone, its records still have stacks"
                     PROPERTIES TIMEOUT 120 LABELS integration SKIP_RETURN_CODE 77)
