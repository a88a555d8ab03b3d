# @file observe_threads.sh
# @brief 8 threads x 200 fork()+exec(/bin/true)+waitpid at once: identical behaviour with the
# shim, and exactly 1600 fork records from that one process and its 8 threads, every one valid.
#
# Usage: observe_threads.sh VALIDATOR SHIM HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3
name=$(basename "$helper")

fg_run "$FG_TMP/base" 240 -- "$helper" 8 200
fg_run "$FG_TMP/shim" 240 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$helper" 8 200
fg_expect_status "$FG_TMP/base" 0
fg_compare "$FG_TMP/base" "$FG_TMP/shim"
fg_records "$FG_TMP/shim"
"$validator" --only-exe "$name" --expect-count 1600 --expect-call fork=1600 --expect-failures 0 --expect-pids 1 --expect-tids 8 \
  --expect-site-module "$name" "${FG_FILES[@]}" || fail "the 1600 fork records are not all there and valid"
echo "ok: 1600 concurrent forks, 1600 valid records"
