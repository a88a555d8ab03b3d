# @file mitigate_threads_sole.sh
# @brief The vfork substitute in a non-main thread that is the only one alive (the main thread
# called pthread_exit), on a glibc stack and on the program's own (pthread_attr_setstack): glibc
# keeps that thread's TLS and descriptor at the top of its stack block, where the substitute's
# saved region must end. Under the seccomp injector only the substitute can make a child, so:
#   - fork_cases exec/exit: output identical to a run without shim and injector (the child's
#     writes to a caller local and errno undone, the exec'd program's signal mask the program's);
#     exit: exit() runs no atexit handler of the parent; worker: killed after the timeout;
#   - mitigate_signals: abort()/raise()/kill() in the child end it alone, as with fork;
#   - the issue's loop, 50 x fork+execl+waitpid in that thread, at -O2 and -O0: 50 children.
# Every record says vfork, from a thread that is not the main one.
# Usage: mitigate_threads_sole.sh VALIDATOR SHIM INJECTOR SOLE_FORK_CASES SOLE_SIGNALS LOOP LOOP_O0
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 inject=$3 cases=$4 signals=$5 loop=$6 loop0=$7
M=(LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate FORKGUARD_VFORK_SITES=all FORKGUARD_FORMAT=json
  FORKGUARD_LOG=@DIR@/rec.%p.jsonl)

# expect_vfork DIR EXE N: N valid fork records, all vfork, none from the main thread.
expect_vfork() {
  fg_records "$1"
  "$validator" --only-exe "$2" --expect-call fork="$3" --expect-failures 0 --expect-field action=vfork \
    --expect-field 'attempts=[{"action":"passthrough","errno":"ENOMEM"},{"action":"vfork"}]' \
    "${FG_FILES[@]}" || fail "$1: not $3 vfork records"
  ! grep -h "\"exe\":\"[^\"]*/$2\"" "${FG_FILES[@]}" | grep -Eq '"pid":([0-9]+),"ppid":[0-9]+,"tid":\1,' ||
    fail "$1: a record comes from the main thread"
}

for stack in glibc user; do
  d=$FG_TMP/$stack-exec
  fg_run "$d-base" 30 -- "$cases" "$stack" exec
  fg_expect_status "$d-base" 0
  fg_run "$d" 30 "${M[@]}" -- "$inject" "$cases" "$stack" exec
  fg_compare "$d-base" "$d"
  expect_vfork "$d" "$(basename "$cases")" 1
  grep -q 'parent: local=1 errno=0' "$d/stdout" || fail "$stack: the child's writes reached the parent"
  # exit() in the substitute's child is _exit(): the parent's atexit handler runs once, in the parent.
  d=$FG_TMP/$stack-exit
  fg_run "$d" 30 "${M[@]}" -- "$inject" "$cases" "$stack" exit
  fg_expect_status "$d" 0
  grep -q 'child exited 7' "$d/stdout" || fail "$stack exit: the child's status was lost"
  [ "$(grep -c '^atexit ran$' "$d/stdout")" = 1 ] || fail "$stack exit: the parent's atexit handlers ran in the child"
  expect_vfork "$d" "$(basename "$cases")" 1
  d=$FG_TMP/$stack-worker
  fg_run "$d" 30 "${M[@]}" FORKGUARD_VFORK_TIMEOUT=1 -- "$inject" "$cases" "$stack" worker
  fg_expect_status "$d" 0
  grep -q 'child killed by signal 9' "$d/stdout" || fail "$stack: the stuck worker child was not killed"

  for c in abort abort-caught raise-exit raise-exec kill-exit raise-masked; do
    d=$FG_TMP/$stack-sig-$c
    fg_run "$d-base" 30 -- "$signals" "$stack" "$c"
    fg_run "$d" 30 "${M[@]}" -- "$inject" "$signals" "$stack" "$c"
    grep -q '^parent: alive, handler_runs=0, SIGTERM pending=0, SIGABRT pending=0$' "$d-base/stdout" ||
      fail "$stack $c: baseline: $(cat "$d-base/stdout")"
    fg_compare "$d-base" "$d"
    expect_vfork "$d" "$(basename "$signals")" 1
  done

  for prog in "$loop" "$loop0"; do
    args=(--sole 1 50)
    [ $stack = user ] && args=(--sole --user-stack 1 50)
    d=$FG_TMP/$stack-$(basename "$prog")
    fg_run "$d" 120 "${M[@]}" -- "$inject" "$prog" "${args[@]}"
    fg_expect_status "$d" 0
    grep -qx 'children 50 of 50' "$d/stdout" || fail "$d: $(cat "$d/stdout")"
    expect_vfork "$d" "$(basename "$prog")" 50
  done
  echo "ok: $stack stack: fork cases, signal cases and 50-fork loops (-O2, -O0) in a sole non-main thread"
done
