# @file mitigate_substitute_child.sh
# @brief A vfork substitute's child shares the parent's memory and thread-local storage; what it
# does there must not stay done for the parent, nor for a process the child makes by a real fork.
# The helper's child calls system() (a record of its own, %p log), then daemon(), or fork() with
# a grandchild; the parent then forks, spawns and calls system() again. Checked, for both:
#   - output and status identical to a run without the library (the grandchild's report, written
#     by stdio and flushed only by exit(), is there: it has the program's signal mask and
#     handlers, and its exit() is exit());
#   - the parent's descriptor table is as before the fork (its log not reopened and leaked);
#   - no record says "reentered" (the daemon() the child never returned from left the library's
#     call depth counted in the shared TLS), and the parent's later fork is substituted again.
# Usage: mitigate_substitute_child.sh VALIDATOR SHIM HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3
name=$(basename "$helper")
M=(LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_VFORK_SITES=all
  FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p.jsonl)

for mode in daemon fork; do
  fg_run "$FG_TMP/$mode-base" 30 -- "$helper" "$mode"
  fg_expect_status "$FG_TMP/$mode-base" 0
  grep -qx 'grandchild: atexit ran' "$FG_TMP/$mode-base/stdout" || fail "$mode: baseline"
  d=$FG_TMP/$mode
  fg_run "$d" 30 "${M[@]}" -- "$helper" "$mode"
  fg_compare "$FG_TMP/$mode-base" "$d"
  fg_records "$d"
  # Parent: posix_spawn x2, fork x2, system; the child: system; the daemon: daemon.
  pids=2 count=6 daemons=0
  [ "$mode" = daemon ] && pids=3 count=7 daemons=1
  "$validator" --only-exe "$name" --expect-count $count --expect-pids $pids --expect-call fork=2 \
    --expect-call system=2 --expect-call posix_spawn=2 --expect-call daemon=$daemons --expect-failures 0 \
    --expect-degraded reentered=0 "${FG_FILES[@]}" || fail "$mode: the records"
  "$validator" --only-exe "$name" --only-call fork --expect-field action=vfork "${FG_FILES[@]}" >/dev/null ||
    fail "$mode: a fork of the parent was not substituted"
  ! grep -h '"reentered"' "${FG_FILES[@]}" || fail "$mode: a record says reentered"
done
echo "ok: daemon() and fork() in a substitute's child leave the parent's library state and the grandchild's signal state as without the library"
