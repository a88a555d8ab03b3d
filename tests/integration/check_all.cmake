# @file check_all.cmake
# @brief `forkguard check --all` (issue 5, item 3): a process that really could not fork is listed
# with the shim's verdict, exit 1; `check PID` advises on it; an unprivileged caller gets the
# estimate and is told why; usage. `partly`: the advice on a partly written mapping, in the
# refused record and from `check PID` (issue #11 section 3).
add_executable(fg_helper_partly_written ${CMAKE_SOURCE_DIR}/tests/helpers/partly_written.c)
set_target_properties(fg_helper_partly_written PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)
foreach(case refused advice unprivileged usage partly)
  add_test(NAME "check --all: ${case}"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_all.sh ${case} $<TARGET_FILE:forkguard_cli> $<TARGET_FILE:forkguard-demo>
                   $<TARGET_FILE:fg_helper_partly_written> $<TARGET_FILE:fg_test_validate_records>)
  set_tests_properties("check --all: ${case}" PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS integration)
endforeach()
