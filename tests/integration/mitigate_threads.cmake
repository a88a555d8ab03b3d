# @file mitigate_threads.cmake
# @brief The vfork substitute and threads (issue #10 section 3): the substitute in a non-main
# thread (its TLS and descriptor sit at the top of its stack block), another thread's stores
# into the forking thread's stack while the child runs, and the 8-thread program of the issue.
set(FG_THREADS_HELPERS ${CMAKE_SOURCE_DIR}/tests/helpers)
set(FG_THREADS_OUT ${CMAKE_BINARY_DIR}/tests/helpers)

add_executable(fg_helper_vfork_threads ${FG_THREADS_HELPERS}/vfork_threads.c)
add_executable(fg_helper_vfork_threads_O0 ${FG_THREADS_HELPERS}/vfork_threads.c)
# -O0 keeps every local in the frame the child shares; -O2 keeps the loop in callee-saved registers.
target_compile_options(fg_helper_vfork_threads PRIVATE -O2)
target_compile_options(fg_helper_vfork_threads_O0 PRIVATE -O0)
add_executable(fg_helper_vfork_threads_writes ${FG_THREADS_HELPERS}/vfork_threads_writes.c)
# Other helpers' main() run in a sole non-main thread (vfork_threads_sole.c).
foreach(case fork_cases mitigate_signals)
  add_executable(fg_helper_sole_${case} ${FG_THREADS_HELPERS}/vfork_threads_sole.c
                                        ${FG_THREADS_HELPERS}/vfork_threads_sole_case.c)
  target_compile_definitions(fg_helper_sole_${case} PRIVATE FG_SOLE_CASE="${case}.c")
endforeach()
foreach(helper vfork_threads vfork_threads_O0 vfork_threads_writes sole_fork_cases sole_mitigate_signals)
  set_target_properties(fg_helper_${helper} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${FG_THREADS_OUT})
  target_link_libraries(fg_helper_${helper} PRIVATE Threads::Threads)
endforeach()

# A copy of the library for that test only, whose vfork substitute runs while other threads live
# (never installed): it shows the stores the rule protects being undone. Same sources and flags as
# forkguard_shim, plus the one definition that lifts the rule.
get_target_property(FG_SHIM_SOURCES_AS_GIVEN forkguard_shim SOURCES)
set(FG_SHIM_SOURCES "")
foreach(src IN LISTS FG_SHIM_SOURCES_AS_GIVEN)
  if(NOT IS_ABSOLUTE "${src}")
    set(src "${CMAKE_SOURCE_DIR}/${src}")
  endif()
  list(APPEND FG_SHIM_SOURCES "${src}")
endforeach()
add_library(fg_test_shim_despite_threads SHARED ${FG_SHIM_SOURCES} ${FG_THREADS_HELPERS}/substitute_despite_threads.cpp)
foreach(prop COMPILE_OPTIONS LINK_OPTIONS CXX_VISIBILITY_PRESET VISIBILITY_INLINES_HIDDEN LINK_DEPENDS)
  get_target_property(value forkguard_shim ${prop})
  set_target_properties(fg_test_shim_despite_threads PROPERTIES ${prop} "${value}")
endforeach()
set_target_properties(fg_test_shim_despite_threads PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${FG_THREADS_OUT})
target_link_libraries(fg_test_shim_despite_threads PRIVATE forkguard_core)

set(FG_THREADS_TEST "mitigate threads: another thread's stores into the forking thread's stack survive fork() (no substitute while threads live; one forced in a test build loses them)")
add_test(NAME "${FG_THREADS_TEST}"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/mitigate_threads_writes.sh $<TARGET_FILE:fg_test_validate_records>
                 $<TARGET_FILE:forkguard_shim> $<TARGET_FILE:fg_helper_vfork_threads_writes>
                 $<TARGET_FILE:fg_test_shim_despite_threads>)
set_tests_properties("${FG_THREADS_TEST}" PROPERTIES TIMEOUT 120 LABELS integration)

set(FG_THREADS_TEST "mitigate threads: the vfork substitute in a sole non-main thread (glibc and own stacks, -O2 and -O0) as in the main one")
add_test(NAME "${FG_THREADS_TEST}"
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/mitigate_threads_sole.sh $<TARGET_FILE:fg_test_validate_records>
                 $<TARGET_FILE:forkguard_shim> $<TARGET_FILE:fg_helper_seccomp_nofork>
                 $<TARGET_FILE:fg_helper_sole_fork_cases> $<TARGET_FILE:fg_helper_sole_mitigate_signals>
                 $<TARGET_FILE:fg_helper_vfork_threads> $<TARGET_FILE:fg_helper_vfork_threads_O0>)
set_tests_properties("${FG_THREADS_TEST}" PROPERTIES TIMEOUT 300 LABELS integration)

# The soak (scripts/soak-vfork-threads.sh, 100 runs of each configuration by hand) a few times.
set(FG_THREADS_TEST "mitigate threads: 8 threads x 50 fork+exec, VFORK_SITES=all and a learned profile, -O2 and -O0: 400 children, 400 records (soak, 2 runs)")
add_test(NAME "${FG_THREADS_TEST}"
         COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/soak-vfork-threads.sh --runs 2 --build ${CMAKE_BINARY_DIR})
set_tests_properties("${FG_THREADS_TEST}" PROPERTIES TIMEOUT 600 LABELS integration SKIP_RETURN_CODE 77)
