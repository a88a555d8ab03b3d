# @file mitigate_vfork.sh
# @brief The vfork substitute on the real kernel, under the seccomp fault injector (DESIGN.md
# method 2: every fork without CLONE_VM gets ENOMEM, as a commit refusal would).
#   - exec child: fails under the injector; with mitigate + FORKGUARD_VFORK_SITES=all or the
#     site's own id, stdout/stderr/status are identical to a run without the injector (the
#     child's write to a caller local is undone, errno kept, the exec'd program's signal mask is
#     the program's); with none and with the default (learned, nothing learned) it fails
#     exactly as without the shim;
#   - worker child (never execs, waits for its parent): under all it is killed after
#     FORKGUARD_VFORK_TIMEOUT and the parent goes on; under the default it is never substituted;
#   - exit child: exit() in a substitute child runs no atexit handler of the parent.
#   - slim fork: a child that mallocs, prints through stdio and execs runs as without the shim.
# Usage: mitigate_vfork.sh VALIDATOR SHIM HELPER INJECTOR
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3 inject=$4
name=$(basename "$helper")
M=(LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p.jsonl)

# --- exec child
fg_run "$FG_TMP/base" 30 -- "$helper" exec
fg_expect_status "$FG_TMP/base" 0
grep -q '^SigBlk:.*200$' "$FG_TMP/base/stdout" || fail "baseline: SIGUSR1 not blocked in the exec'd child"
fg_run "$FG_TMP/inj" 30 -- "$inject" "$helper" exec
fg_expect_status "$FG_TMP/inj" 1
grep -q 'fork failed: Cannot allocate memory' "$FG_TMP/inj/stdout" || fail "the injector did not make fork fail"

fg_run "$FG_TMP/all" 30 "${M[@]}" FORKGUARD_VFORK_SITES=all -- "$inject" "$helper" exec
fg_compare "$FG_TMP/base" "$FG_TMP/all"
fg_records "$FG_TMP/all"
"$validator" --only-exe "$name" --expect-call fork=1 --expect-field action=vfork --expect-failures 0 "${FG_FILES[@]}" ||
  fail "all: the record does not say vfork"
site=$("$validator" --only-exe "$name" --print-sites "${FG_FILES[@]}" | awk '$1 == "fork" { print $2; exit }')
[[ $site == "$name+0x"* ]] || fail "no site printed: '$site'"

fg_run "$FG_TMP/list" 30 "${M[@]}" FORKGUARD_VFORK_SITES="other+0x1,$site" -- "$inject" "$helper" exec
fg_compare "$FG_TMP/base" "$FG_TMP/list"

fg_run "$FG_TMP/other" 30 "${M[@]}" FORKGUARD_VFORK_SITES="$name+0x1" -- "$inject" "$helper" exec
fg_compare "$FG_TMP/inj" "$FG_TMP/other"

for sites in none default; do
  extra=()
  [ "$sites" = none ] && extra=(FORKGUARD_VFORK_SITES=none)
  fg_run "$FG_TMP/$sites" 30 "${M[@]}" "${extra[@]}" -- "$inject" "$helper" exec
  fg_compare "$FG_TMP/inj" "$FG_TMP/$sites"
  fg_records "$FG_TMP/$sites"
  "$validator" --only-exe "$name" --expect-call fork=1 --expect-field action=refused --expect-errno ENOMEM=1 \
    "${FG_FILES[@]}" || fail "$sites: the record does not say refused/ENOMEM"
done

# --- worker child
fg_run "$FG_TMP/wbase" 30 -- "$helper" worker
fg_expect_status "$FG_TMP/wbase" 0
grep -q 'child exited 0' "$FG_TMP/wbase/stdout" || fail "worker baseline"
start=$(date +%s)
fg_run "$FG_TMP/wall" 30 "${M[@]}" FORKGUARD_VFORK_SITES=all FORKGUARD_VFORK_TIMEOUT=1 -- "$inject" "$helper" worker
fg_expect_status "$FG_TMP/wall" 0
[ $(($(date +%s) - start)) -lt 20 ] || fail "the worker's parent was held too long"
grep -q 'child killed by signal 9' "$FG_TMP/wall/stdout" || fail "the stuck worker child was not killed"
fg_records "$FG_TMP/wall"
grep -q 'neither exec.d nor exited within FORKGUARD_VFORK_TIMEOUT: killed' "${FG_FILES[@]}" ||
  fail "no record says the worker child was killed"
fg_run "$FG_TMP/wdef" 30 "${M[@]}" -- "$inject" "$helper" worker
fg_expect_status "$FG_TMP/wdef" 1
fg_records "$FG_TMP/wdef"
"$validator" --only-exe "$name" --expect-field action=refused "${FG_FILES[@]}" ||
  fail "learned (nothing learned): the worker got a substitute"

# --- exit child
fg_run "$FG_TMP/xall" 30 "${M[@]}" FORKGUARD_VFORK_SITES=all -- "$inject" "$helper" exit
fg_expect_status "$FG_TMP/xall" 0
grep -q 'child exited 7' "$FG_TMP/xall/stdout" || fail "exit: the child's status was lost"
[ "$(grep -c '^atexit ran$' "$FG_TMP/xall/stdout")" = 1 ] ||
  fail "exit() in the substitute child ran the parent's atexit handlers"
# --- slim fork: the child mallocs, prints and execs with a 256 MiB buffer excluded
fg_run "$FG_TMP/mbase" 30 -- "$helper" malloc
fg_expect_status "$FG_TMP/mbase" 0
fg_run "$FG_TMP/mslim" 30 "${M[@]}" FORKGUARD_TRIGGER=always FORKGUARD_SLIM_MIN=128M -- "$helper" malloc
fg_compare "$FG_TMP/mbase" "$FG_TMP/mslim"
fg_records "$FG_TMP/mslim"
"$validator" --only-exe "$name" --expect-call fork=1 --expect-field action=slim_fork "${FG_FILES[@]}" ||
  fail "malloc: the fork was not a slim fork"
echo "vfork substitute: exec, list, none/learned, worker timeout, exit; slim fork child mallocs, prints, execs: all as expected"
