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
