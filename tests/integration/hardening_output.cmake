# @file hardening_output.cmake
# @brief Output faults (issue 6, item 3): the program behaves as without the shim when its log
# is deleted, full, read-only, missing, a directory, a FIFO without reader, closed or reused,
# when stderr loses its reader, and when syslog has no listener; the shim says so once.
# (This file is included before observe.cmake, so it names targets directly, not FG_* variables.)
add_executable(fg_hardening_io_faults ${CMAKE_SOURCE_DIR}/tests/helpers/hardening_io_faults.c)
set_target_properties(fg_hardening_io_faults PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)

foreach(c deleted closed reused full missing-dir directory unwritable fifo broken-stderr readonly syslog-absent syslog-refused)
  add_test(NAME "hardening output: ${c}"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/hardening_output.sh ${c} $<TARGET_FILE:fg_test_validate_records>
                   $<TARGET_FILE:forkguard_shim> $<TARGET_FILE:fg_hardening_io_faults>)
  set_tests_properties("hardening output: ${c}" PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS integration)
endforeach()
