# @file hardening_timing.cmake
# @brief Issue 6 item 2 (hostile timing): forks from signal handlers that interrupted malloc or
# the shim, forks under malloc contention, the program's pthread_atfork handlers, a second
# preload library wrapping fork, a host that dlopen()s with RTLD_DEEPBIND.
# Parts are included in name order: what observe.cmake and mitigate.cmake define exists once
# this directory has been read to its end.
function(fg_hardening_timing_tests)
  # The helper's malloc, clock_gettime and madvise must win over libc's for the shim too.
  fg_add_helper(fg_helper_hardening_signal_fork hardening_signal_fork.c)
  target_link_options(fg_helper_hardening_signal_fork PRIVATE -rdynamic)
  fg_script_test("hardening: fork from signal handlers that interrupted malloc, the shim or a slim fork" 300
    hardening_signal_fork.sh ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_hardening_signal_fork>)

  fg_add_helper(fg_helper_hardening_vfork_timer hardening_vfork_timer.c)
  fg_script_test("hardening: vfork from a signal handler inside the vfork wrapper: no crash, one record per vfork" 300
    hardening_vfork_timer.sh ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_hardening_vfork_timer>)

  fg_add_helper(fg_helper_hardening_malloc_threads hardening_malloc_threads.c)
  target_link_libraries(fg_helper_hardening_malloc_threads PRIVATE Threads::Threads)
  target_link_options(fg_helper_hardening_malloc_threads PRIVATE -rdynamic)
  fg_script_test("hardening: fork while other threads hold malloc's locks: no child deadlocks in the shim" 300
    hardening_malloc_threads.sh ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_hardening_malloc_threads>)

  fg_add_helper(fg_helper_hardening_atfork hardening_atfork.c)
  fg_script_test("hardening: the program's pthread_atfork handlers run exactly as without the shim" 120
    hardening_atfork.sh ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_hardening_atfork>
    $<TARGET_FILE:fg_helper_seccomp_nofork>)

  add_library(fg_helper_other_preload SHARED ${FG_HELPER_DIR}/hardening_other_preload.c)
  set_target_properties(fg_helper_other_preload PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${FG_HELPER_OUT})
  target_link_libraries(fg_helper_other_preload PRIVATE ${CMAKE_DL_LIBS})
  fg_script_test("hardening: a second preload library wrapping fork, both orders: both run, in order" 60
    hardening_second_preload.sh ${FG_SHIM} $<TARGET_FILE:fg_helper_other_preload> $<TARGET_FILE:fg_helper_fork>)

  add_library(fg_helper_deepbind_plugin SHARED ${FG_HELPER_DIR}/hardening_deepbind_lib.c)
  set_target_properties(fg_helper_deepbind_plugin PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${FG_HELPER_OUT})
  fg_add_helper(fg_helper_hardening_deepbind hardening_deepbind.c)
  target_link_libraries(fg_helper_hardening_deepbind PRIVATE ${CMAKE_DL_LIBS})
  fg_script_test("hardening: an RTLD_DEEPBIND plugin's calls bind to libc, unseen; the host works" 60
    hardening_deepbind.sh ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_hardening_deepbind>
    $<TARGET_FILE:fg_helper_deepbind_plugin>)
endfunction()
cmake_language(DEFER CALL fg_hardening_timing_tests)
