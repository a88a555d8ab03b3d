# @file stderr_own.cmake
# @brief Issue #10 section 2: with a log file configured, the program's stderr is byte-identical to
# a run without the library, in every mode and through the faults that used to print there (the
# log's descriptor closed or reused, the log deleted, a foreign profile, libunwind missing, calls
# on a small alternate signal stack). What the library has to say is a "notice" in the log.
# (observe_lib.sh's fg_run also checks, in every integration test, that a run with a writable log
# file left no line of the library's on stderr.)
add_library(fg_helper_empty_lib SHARED ${CMAKE_SOURCE_DIR}/tests/helpers/empty_lib.c)
set_target_properties(fg_helper_empty_lib PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)

foreach(config json text stack0 learn foreign-profile no-libunwind slim vfork)
  add_test(NAME "stderr: the program's own with a log file, byte for byte (${config})"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/stderr_own.sh ${config} $<TARGET_FILE:fg_test_validate_records>
                   $<TARGET_FILE:forkguard_shim> $<TARGET_FILE_DIR:fg_helper_fork> $<TARGET_FILE:fg_helper_empty_lib>)
  set_tests_properties("stderr: the program's own with a log file, byte for byte (${config})"
                       PROPERTIES TIMEOUT 300 LABELS integration)
endforeach()
