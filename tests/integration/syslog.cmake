# @file syslog.cmake
# @brief The syslog sink (issue 5, item 4) against a real listener: inside a private mount
# namespace a tmpfs replaces /dev, and a small listener binds /dev/log there, standing in for
# journald or rsyslog. Needs root and unshare(1); skipped (77) otherwise.
add_executable(fg_syslog_listener ${CMAKE_CURRENT_LIST_DIR}/syslog_listener.c)
add_executable(fg_syslog_host ${CMAKE_CURRENT_LIST_DIR}/syslog_host.c)
set_target_properties(fg_syslog_listener fg_syslog_host PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)

foreach(case listener fallback)
  add_test(NAME "syslog: ${case}"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/syslog_ns.sh ${case} $<TARGET_FILE:forkguard_cli>
                   $<TARGET_FILE:fg_syslog_listener> $<TARGET_FILE:fg_syslog_host>)
  set_tests_properties("syslog: ${case}" PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS integration)
endforeach()

# The client itself, on a socket of the test's own (no namespace needed).
add_executable(fg_syslog_unit ${CMAKE_CURRENT_LIST_DIR}/syslog_unit.cpp)
set_target_properties(fg_syslog_unit PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
target_link_libraries(fg_syslog_unit PRIVATE forkguard_core Catch2::Catch2)
catch_discover_tests(fg_syslog_unit TEST_PREFIX "syslog unit: " EXTRA_ARGS --warn NoTests)
