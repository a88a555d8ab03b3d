# @file interp_reservation.cmake
# @brief Issue #11 section 1 with real interpreters (tests/interp/): a Python 3.11 and a Perl 5.36
# program with an untouched reservation larger than RAM + swap and 200 MiB of written data, whose
# spawns and forked workers (reading the data, reading and writing never-written memory) work
# under default mitigate and print what they print without the reservation. Skipped (77) where
# the host is not in overcommit mode 0. About 20-40 s each here.
function(fg_interp_reservation_tests)
  set(dir ${CMAKE_SOURCE_DIR}/tests/interp)
  foreach(case IN ITEMS "Python 3.11:/usr/bin/python3.11:reservation.py" "Perl 5.36:/usr/bin/perl:reservation.pl")
    string(REPLACE ":" ";" case "${case}")
    list(GET case 0 title)
    list(GET case 1 interp)
    list(GET case 2 program)
    set(name "interp: ${title} with a reservation beyond RAM + swap and 200 MiB written: forks and workers rescued, output unchanged")
    add_test(NAME "${name}" COMMAND bash ${dir}/run_reservation.sh ${FG_VALIDATOR} ${FG_SHIM} ${interp} ${dir}/${program})
    set_tests_properties("${name}" PROPERTIES TIMEOUT 600 LABELS integration SKIP_RETURN_CODE 77)
  endforeach()
endfunction()
cmake_language(DEFER CALL fg_interp_reservation_tests)
