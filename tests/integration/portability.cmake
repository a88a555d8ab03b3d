# @file portability.cmake
# @brief Issue 12: the glibc floor of libforkguard.so (2.17), read from the built library (its
# version needs, its DT_NEEDED, each undefined symbol against glibc 2.17's own ABI lists), and the
# library at work with every libc function newer than the floor missing, as on an old glibc.
# The floor checks read the library with readelf, so they run for a cross build too.

set(FG_PORT ${CMAKE_CURRENT_LIST_DIR})
# No exceptions: libgcc_eh's floor references (_dl_find_object, pthread_once,
# __pthread_key_create) are defined hidden in the core (src/libgcc_floor.cpp).

add_test(NAME "portability: libforkguard.so needs no glibc version newer than 2.17 (readelf -V)"
         COMMAND bash ${FG_PORT}/portability_floor.sh versions $<TARGET_FILE:forkguard_shim>)
add_test(NAME "portability: libforkguard.so names libdl and libpthread, and every symbol it needs is in glibc 2.17's ABI lists"
         COMMAND bash ${FG_PORT}/portability_floor.sh symbols $<TARGET_FILE:forkguard_shim>
                 ${CMAKE_SOURCE_DIR}/tests/fixtures/abilist)
add_test(NAME "portability: the floor checks fail on a too-new version, a symbol outside DT_NEEDED, a definition renamed to a glibc version"
         COMMAND bash ${FG_PORT}/portability_floor_selftest.sh ${CMAKE_C_COMPILER} ${CMAKE_SOURCE_DIR}/tests/fixtures/abilist)
set_tests_properties(
  "portability: libforkguard.so needs no glibc version newer than 2.17 (readelf -V)"
  "portability: libforkguard.so names libdl and libpthread, and every symbol it needs is in glibc 2.17's ABI lists"
  "portability: the floor checks fail on a too-new version, a symbol outside DT_NEEDED, a definition renamed to a glibc version"
  PROPERTIES TIMEOUT 60 LABELS "integration;floor")

if(CMAKE_CROSSCOMPILING)
  return()  # what follows runs the library: on the build machine's architecture only
endif()

# The library as on glibc 2.17: a second copy whose run-time lookups of every libc function newer
# than the floor find nothing (shim/real.cpp, FORKGUARD_TEST_OLD_LIBC). Built for the tests only,
# never installed; same file name, its own directory.
forkguard_add_shim(fg_test_shim_oldlibc forkguard)
target_compile_definitions(fg_test_shim_oldlibc PRIVATE FORKGUARD_TEST_OLD_LIBC)
set_target_properties(fg_test_shim_oldlibc PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/oldlibc)
set(FG_OLDLIBC $<TARGET_FILE:fg_test_shim_oldlibc>)

# Observe mode, every entry point an old glibc has (the observe.cmake expectations).
foreach(c
    "fork|fg_helper_fork|--expect-count;2;--expect-call;fork=2;--expect-failures;0"
    "vfork|fg_helper_vfork|--expect-count;2;--expect-call;vfork=2;--expect-failures;0"
    "system|fg_helper_system|--expect-count;3;--expect-call;system=3;--expect-failures;0"
    "popen|fg_helper_popen|--expect-count;7;--expect-call;popen=4;--expect-call;pclose=3;--expect-failures;1;--expect-errno;EINVAL=1"
    "posix_spawn|fg_helper_spawn|--expect-count;5;--expect-call;posix_spawn=3;--expect-call;posix_spawnp=2;--expect-failures;1;--expect-errno;ENOENT=1")
  string(REPLACE "|" ";" c "${c}")
  list(GET c 0 what)
  list(GET c 1 helper)
  list(SUBLIST c 2 -1 expect)
  set(args)
  foreach(e IN LISTS expect)
    list(APPEND args --expect ${e})
  endforeach()
  add_test(NAME "portability: as on glibc 2.17, observe: ${what} behaves identically with valid records"
           COMMAND bash ${FG_PORT}/observe_entry.sh $<TARGET_FILE:fg_test_validate_records> ${FG_OLDLIBC}
                   $<TARGET_FILE:${helper}> ${args})
  set_tests_properties("portability: as on glibc 2.17, observe: ${what} behaves identically with valid records"
                       PROPERTIES TIMEOUT 120 LABELS "integration;oldlibc")
endforeach()

# Mitigate mode: the vfork substitute and the posix_spawn-based system()/popen() rescue programs
# under the seccomp injector with the old-libc copy.
add_test(NAME "portability: as on glibc 2.17, mitigate: the vfork substitute rescues fork+exec under the seccomp injector"
         COMMAND bash ${FG_PORT}/mitigate_vfork.sh $<TARGET_FILE:fg_test_validate_records> ${FG_OLDLIBC}
                 $<TARGET_FILE:fg_helper_fork_cases> $<TARGET_FILE:fg_helper_seccomp_nofork>)
add_test(NAME "portability: as on glibc 2.17, mitigate: system() and popen() over posix_spawn behave as glibc's"
         COMMAND bash ${FG_PORT}/mitigate_shell.sh $<TARGET_FILE:fg_test_validate_records> ${FG_OLDLIBC}
                 $<TARGET_FILE:fg_helper_seccomp_nofork> $<TARGET_FILE:fg_helper_system> $<TARGET_FILE:fg_helper_popen>)
# The switch itself: the old-libc copy finds no _Fork (glibc 2.34), as glibc 2.17 has none.
add_test(NAME "portability: the old-libc copy finds no _Fork, and says so"
         COMMAND bash ${FG_PORT}/portability_oldlibc.sh ${FG_OLDLIBC} $<TARGET_FILE:forkguard_shim> $<TARGET_FILE:fg_helper__Fork>)
# libgcc's unwinder without glibc's _dl_find_object (2.35): objects found with dl_iterate_phdr.
add_test(NAME "portability: as on glibc 2.17, stacks: libgcc's unwinder over dl_iterate_phdr gives the same stacks"
         COMMAND bash ${FG_PORT}/portability_oldlibc_stacks.sh ${FG_OLDLIBC} $<TARGET_FILE:forkguard_shim>
                 $<TARGET_FILE:fg_helper_fd_own_unwind> $<TARGET_FILE:fg_helper_fork>)
set_tests_properties(
  "portability: as on glibc 2.17, stacks: libgcc's unwinder over dl_iterate_phdr gives the same stacks"
  "portability: as on glibc 2.17, mitigate: the vfork substitute rescues fork+exec under the seccomp injector"
  "portability: as on glibc 2.17, mitigate: system() and popen() over posix_spawn behave as glibc's"
  "portability: the old-libc copy finds no _Fork, and says so"
  PROPERTIES TIMEOUT 180 LABELS "integration;oldlibc")
