# @file observe_closefds.sh
# @brief A program that closes every fd >= 3 between spawns and then reuses the low numbers for
# a file of its own: it behaves identically under the shim, its file holds only what it wrote,
# and the shim goes on logging to its own file (the calls after the close are all recorded).
#
# Usage: observe_closefds.sh VALIDATOR SHIM HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3
name=$(basename "$helper")

fg_run "$FG_TMP/base" 60 -- "$helper" @DIR@/own.txt
fg_run "$FG_TMP/shim" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$helper" @DIR@/own.txt
fg_expect_status "$FG_TMP/base" 0
fg_same "$FG_TMP/base" "$FG_TMP/shim" stdout
fg_same "$FG_TMP/base" "$FG_TMP/shim" status
# stderr: the program's own, byte for byte; that the log was reopened is said once, in the log.
fg_same "$FG_TMP/base" "$FG_TMP/shim" stderr
fg_same "$FG_TMP/base" "$FG_TMP/shim" own.txt
printf 'own line 1\nown line 2\n' | cmp -s - "$FG_TMP/shim/own.txt" || fail "the program's own file holds more than it wrote"
fg_records "$FG_TMP/shim"
# One fork before the close, then fork, system and posix_spawn after it.
"$validator" --only-exe "$name" --expect-count 4 --expect-call fork=2 --expect-call system=1 --expect-call posix_spawn=1 \
  --expect-notice "^the program closed or replaced the log's descriptor; records go on in a newly opened =1" \
  "${FG_FILES[@]}" || fail "logging did not go on after the program closed every descriptor"
echo "ok: closing every fd neither lost records nor put one in the program's file"
