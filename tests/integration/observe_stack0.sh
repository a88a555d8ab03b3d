# @file observe_stack0.sh
# @brief FORKGUARD_STACK=0 turns unwinding off: the program behaves identically, every record
# has "stack":[] and still a site in the helper's module; and with the default setting the same
# helper's records do have frames (so the empty stacks come from the setting).
#
# Usage: observe_stack0.sh VALIDATOR SHIM HELPER COUNT
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3 count=$4
name=$(basename "$helper")

fg_run "$FG_TMP/base" 60 -- "$helper"
fg_run "$FG_TMP/shim" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_STACK=0 FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$helper"
fg_run "$FG_TMP/deflt" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$helper"
fg_expect_status "$FG_TMP/base" 0
fg_compare "$FG_TMP/base" "$FG_TMP/shim"

fg_records "$FG_TMP/shim"
"$validator" --only-exe "$name" --expect-count "$count" --expect-stack empty --expect-site-module "$name" "${FG_FILES[@]}" ||
  fail "with FORKGUARD_STACK=0 the records are not all stack-less with a site"
grep -q '"stack":\[\]' "${FG_FILES[@]}" || fail "no literal \"stack\":[] in the records"
fg_records "$FG_TMP/deflt"
"$validator" --only-exe "$name" --expect-count "$count" --expect-stack nonempty "${FG_FILES[@]}" ||
  fail "with the default FORKGUARD_STACK the records have no frames: the check above proves nothing"
echo "ok: FORKGUARD_STACK=0 gives \"stack\":[] and a site in $name on all $count records"
