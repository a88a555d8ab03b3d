# @file hardening_security.cmake
# @brief Security (issue 6, item 4): secure execution in a setuid-root program linked against
# the library, symlinks at the log/profile paths, file modes and descriptor flags.
# The setuid program is compiled by the test itself: its RUNPATH must name the temp dir that
# holds the copy of the library the ordinary user can reach.
add_executable(fg_hardening_io_fdflags ${CMAKE_SOURCE_DIR}/tests/helpers/hardening_io_fdflags.c)
set_target_properties(fg_hardening_io_fdflags PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)

foreach(c setuid symlink modes)
  add_test(NAME "hardening security: ${c}"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/hardening_security.sh ${c} $<TARGET_FILE:fg_test_validate_records>
                   $<TARGET_FILE:forkguard_shim> ${CMAKE_BINARY_DIR}/tests/helpers ${CMAKE_C_COMPILER}
                   ${CMAKE_SOURCE_DIR}/tests/helpers)
  set_tests_properties("hardening security: ${c}" PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS integration)
endforeach()
# The scripts run helpers that other files build.
add_dependencies(fg_hardening_io_fdflags fg_helper_fork fg_test_validate_records)
