# @file kernel_prediction.sh
# @brief The shim's prediction against the real kernel (DESIGN.md, method 1: a mode-0 mapping
# larger than RAM + swap, never touched). Observe mode: the demo's fork() really fails with
# ENOMEM and its record says verdict refuse, errno ENOMEM, action passthrough; an ordinary
# helper's forks are predicted ok and succeed. Mitigate mode: the demo's fork succeeds as a
# slim fork. Skips (77) where the method does not apply: overcommit mode not 0, or ulimit -v set.
# Never writes /proc/sys.
#
# Usage: kernel_prediction.sh VALIDATOR SHIM DEMO FORK_HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 demo=$3 helper=$4
mode=$(cat /proc/sys/vm/overcommit_memory 2>/dev/null || echo unreadable)
if [ "$mode" != 0 ]; then
  echo "SKIP: vm.overcommit_memory is $mode; this test needs mode 0 (the giant-mapping method)"
  exit 77
fi
if [ "$(ulimit -v)" != unlimited ]; then
  echo "SKIP: ulimit -v is $(ulimit -v) KiB; the demo needs an unlimited address space"
  exit 77
fi
demo_name=$(basename "$demo")
helper_name=$(basename "$helper")
json=(FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p.jsonl)

# The kernel refuses the demo's fork without the shim: the premise.
fg_run "$FG_TMP/base" 60 -- "$demo"
fg_expect_status "$FG_TMP/base" 1
grep -q '^demo: fork() failed: Cannot allocate memory$' "$FG_TMP/base/stdout" ||
  fail "without the shim the demo's fork did not fail with ENOMEM: $(cat "$FG_TMP/base/stdout")"

# Observe: still refused, and predicted so.
fg_run "$FG_TMP/observe" 60 LD_PRELOAD="$shim" "${json[@]}" -- "$demo"
fg_expect_status "$FG_TMP/observe" 1
grep -q '^demo: fork() failed: Cannot allocate memory$' "$FG_TMP/observe/stdout" ||
  fail "observe mode changed the demo's outcome: $(cat "$FG_TMP/observe/stdout")"
fg_same "$FG_TMP/base" "$FG_TMP/observe" stderr
fg_records "$FG_TMP/observe"
"$validator" --only-exe "$demo_name" --expect-count 1 --expect-call fork=1 --expect-field verdict=refuse \
  --expect-field errno=ENOMEM --expect-field action=passthrough --expect-field result=-1 \
  --expect-field overcommit_mode=0 "${FG_FILES[@]}" ||
  fail "the record of the refused fork does not say verdict refuse / errno ENOMEM / action passthrough"

# An ordinary program: predicted ok, and it is.
fg_run "$FG_TMP/ordinary" 60 LD_PRELOAD="$shim" "${json[@]}" -- "$helper"
fg_expect_status "$FG_TMP/ordinary" 0
fg_records "$FG_TMP/ordinary"
"$validator" --only-exe "$helper_name" --expect-count 2 --expect-call fork=2 --expect-failures 0 \
  --expect-field verdict=ok --expect-field action=passthrough --expect-field overcommit_mode=0 "${FG_FILES[@]}" ||
  fail "an ordinary fork was not predicted ok, or did not succeed"

# Mitigate: the same fork succeeds, as a slim fork.
fg_run "$FG_TMP/mitigate" 60 LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate "${json[@]}" -- "$demo"
fg_expect_status "$FG_TMP/mitigate" 0
grep -q '^helper ran: pid [0-9]*$' "$FG_TMP/mitigate/stdout" ||
  fail "in mitigate mode the demo's helper did not run: $(cat "$FG_TMP/mitigate/stdout")"
fg_same "$FG_TMP/base" "$FG_TMP/mitigate" stderr
fg_records "$FG_TMP/mitigate"
"$validator" --only-exe "$demo_name" --expect-count 1 --expect-call fork=1 --expect-failures 0 \
  --expect-field verdict=refuse --expect-field action=slim_fork "${FG_FILES[@]}" ||
  fail "the mitigated fork's record does not say verdict refuse / action slim_fork"
echo "ok: refusal predicted and observed (ENOMEM); ordinary fork predicted ok; mitigate made it a slim fork"
