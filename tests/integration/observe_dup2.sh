# @file observe_dup2.sh
# @brief A program that dup2()s (then dup3(O_CLOEXEC)s) a file of its own over the shim's log
# descriptor between spawns: it behaves identically, its files hold only what it wrote, the
# helper really found the log descriptor both times, and every call's record is in the log.
#
# Usage: observe_dup2.sh VALIDATOR SHIM HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3
name=$(basename "$helper")
args=(@DIR@/rec.jsonl @DIR@/own1.txt @DIR@/own2.txt @DIR@/notes.txt)

fg_run "$FG_TMP/base" 60 -- "$helper" "${args[@]}"
fg_run "$FG_TMP/shim" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.jsonl -- "$helper" "${args[@]}"
fg_expect_status "$FG_TMP/base" 0
fg_same "$FG_TMP/base" "$FG_TMP/shim" stdout
fg_same "$FG_TMP/base" "$FG_TMP/shim" status
# stderr: the program's own, byte for byte; that the log was reopened is said once, in the log.
fg_same "$FG_TMP/base" "$FG_TMP/shim" stderr
printf 'phase1 log fd found: no\nphase2 log fd found: no\n' | cmp -s - "$FG_TMP/base/notes.txt" ||
  fail "without the shim the helper found a log descriptor: $(cat "$FG_TMP/base/notes.txt")"
printf 'phase1 log fd found: yes\nphase2 log fd found: yes\n' | cmp -s - "$FG_TMP/shim/notes.txt" ||
  fail "the helper did not find the shim's log descriptor, so nothing was dup2()ed over it: $(cat "$FG_TMP/shim/notes.txt")"
for n in 1 2; do
  fg_same "$FG_TMP/base" "$FG_TMP/shim" own$n.txt
  printf 'phase %d: mine 1\nphase %d: mine 2\n' $n $n | cmp -s - "$FG_TMP/shim/own$n.txt" ||
    fail "own$n.txt holds more than the program wrote: $(cat "$FG_TMP/shim/own$n.txt")"
done
[ -e "$FG_TMP/shim/rec.jsonl" ] || fail "no log file"
# One fork before the first dup2, then fork, system and posix_spawn after each replacement.
"$validator" --only-exe "$name" --expect-count 7 --expect-call fork=3 --expect-call system=2 --expect-call posix_spawn=2 \
  --expect-notice "^the program closed or replaced the log's descriptor; records go on in a newly opened =1" \
  "$FG_TMP/shim/rec.jsonl" || fail "records were lost after the program replaced the log descriptor"
echo "ok: dup2/dup3 over the log descriptor: no record in the program's files, none lost"
