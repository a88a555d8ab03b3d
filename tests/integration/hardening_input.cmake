# @file hardening_input.cmake
# @brief Bad input (issue 6, item 5): every FORKGUARD_* variable with garbage, empty, 128 KiB
# and 1 MiB values; system()/popen()/posix_spawn/execve with odd and NULL arguments, compared
# with glibc; /proc absent, full of garbage, or unreadable.
set(_fg_helpers ${CMAKE_BINARY_DIR}/tests/helpers)
add_executable(fg_hardening_io_badcalls ${CMAKE_SOURCE_DIR}/tests/helpers/hardening_io_badcalls.c)
add_library(fg_hardening_io_hugeenv_lib SHARED ${CMAKE_SOURCE_DIR}/tests/helpers/hardening_io_hugeenv_lib.c)
add_executable(fg_hardening_io_hugeenv ${CMAKE_SOURCE_DIR}/tests/helpers/hardening_io_hugeenv.c)
target_link_libraries(fg_hardening_io_hugeenv PRIVATE fg_hardening_io_hugeenv_lib)
set_target_properties(fg_hardening_io_badcalls fg_hardening_io_hugeenv PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${_fg_helpers})
set_target_properties(fg_hardening_io_hugeenv_lib PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${_fg_helpers})
# The scripts also run helpers other files build.
add_dependencies(fg_hardening_io_badcalls fg_helper_fork fg_test_validate_records forkguard_cli)

foreach(c env hugeenv badcalls noproc junkproc lockedproc noproc-contract)
  add_test(NAME "hardening input: ${c}"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/hardening_input.sh ${c} $<TARGET_FILE:fg_test_validate_records>
                   $<TARGET_FILE:forkguard_shim> ${_fg_helpers} $<TARGET_FILE:forkguard_cli> ${CMAKE_SOURCE_DIR}/tests/fixtures)
  set_tests_properties("hardening input: ${c}" PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS integration)
endforeach()
