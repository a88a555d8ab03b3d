# @file hardening_load.cmake
# @brief Issue 6 item 1 (load): 16 threads x 1,000 mixed fork+exec, system, popen, posix_spawn
# in one process, without the shim and in each mode (hardening_load.sh). In CI each thread makes
# FG_LOAD_ITERS calls (250: on a busy 2-core machine a 16 x 1000 run takes 3 to 7 minutes, with or
# without the shim); scripts/soak-slim-load.sh keeps the full 16 x 1000.
# Parts are included in name order: the helpers defined in observe.cmake (fg_add_helper,
# fg_script_test, FG_VALIDATOR, FG_SHIM) exist once this directory has been read to its end.
function(fg_hardening_load_tests)
  fg_add_helper(fg_helper_hardening_load hardening_load.c)
  target_link_libraries(fg_helper_hardening_load PRIVATE Threads::Threads)

  # fg_load_test(<title> [VAR=VALUE...]): no settings = the baseline without the shim.
  set(FG_LOAD_ITERS 250)
  function(fg_load_test title)
    set(name "hardening: load, 16 threads x ${FG_LOAD_ITERS} mixed calls, ${title}")
    fg_script_test("${name}" 600 hardening_load.sh
      ${FG_VALIDATOR} ${FG_SHIM} $<TARGET_FILE:fg_helper_hardening_load> 16 ${FG_LOAD_ITERS} ${ARGN})
    set_tests_properties("${name}" PROPERTIES RUN_SERIAL TRUE)
  endfunction()

  fg_load_test("without the shim (the helper's own checks)")
  fg_load_test("observe: one valid record per call, no fd leak, no child left" FORKGUARD_MODE=observe)
  fg_load_test("mitigate: one valid record per call, no fd leak, no child left" FORKGUARD_MODE=mitigate)
  fg_load_test("mitigate, trigger always: own system/popen under load, one record per call"
    FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always)
  # Slim forks from 16 threads: the other threads' 8 MiB stacks are candidates at FORKGUARD_SLIM_MIN=4M;
  # the child must survive glibc's reclaim_stacks(), which writes every thread's descriptor. It lost
  # children in about 1 run in 10 while the planner took a stack that smaps printed again after a
  # merge (another thread's posix_spawn stack mapped right above it) for a mapping of its own.
  # The soak, not in CI: scripts/soak-slim-load.sh (50 runs, prints the failure count).
  fg_load_test("mitigate, trigger always, slim forks leaving out other threads' never-written stack space"
    FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_SLIM_MIN=4M)
  # A race still open (README, Limitations), built for scripts/repro-slim-thread-churn.sh only:
  # no CTest entry, since it fails today.
  fg_add_helper(fg_helper_slim_thread_churn slim_thread_churn.c)
  target_link_libraries(fg_helper_slim_thread_churn PRIVATE Threads::Threads)
endfunction()
cmake_language(DEFER CALL fg_hardening_load_tests)
