# @file check_all.cmake
# @brief `forkguard check --all` (issue 5, item 3): a process that really could not fork is listed
# with the shim's verdict, exit 1; `check PID` advises on it; an unprivileged caller gets the
# estimate and is told why; usage.
foreach(case refused advice unprivileged usage)
  add_test(NAME "check --all: ${case}"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_all.sh ${case} $<TARGET_FILE:forkguard_cli> $<TARGET_FILE:forkguard-demo>)
  set_tests_properties("check --all: ${case}" PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS integration)
endforeach()
