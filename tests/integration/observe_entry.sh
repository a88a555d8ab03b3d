# @file observe_entry.sh
# @brief One entry-point helper, run without the shim and with it in observe mode (JSON records
# to per-process files): stdout, stderr and exit status must be identical byte for byte, the
# helper must succeed, and its records must be valid with the expected count of each call, all
# from the helper's own module, each with a stack.
#
# Usage: observe_entry.sh VALIDATOR SHIM HELPER [--wait-line FILE REGEX] [--expect ARG]... [-- HELPER_ARGS...]
#   --wait-line: the helper leaves something behind (a daemon): wait until FILE (relative to the
#                run's directory) has a line matching REGEX, in both runs, and compare FILE too.
#   --expect:    one argument for the validator (e.g. --expect --expect-call --expect fork=2).
#   "@DIR@" in HELPER_ARGS is the run's own directory.
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3
shift 3
wait_file="" wait_regex=""
declare -a expect=()
while [ "$#" -gt 0 ]; do
  case $1 in
    --wait-line) wait_file=$2 wait_regex=$3; shift 3 ;;
    --expect) expect+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) fail "observe_entry.sh: unknown argument $1" ;;
  esac
done
name=$(basename "$helper")

fg_run "$FG_TMP/base" 60 -- "$helper" "$@"
fg_run "$FG_TMP/shim" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$helper" "$@"
fg_expect_status "$FG_TMP/base" 0
if [ -n "$wait_file" ]; then
  fg_wait_for_line "$FG_TMP/base/$wait_file" "$wait_regex" 10
  fg_wait_for_line "$FG_TMP/shim/$wait_file" "$wait_regex" 10
  fg_same "$FG_TMP/base" "$FG_TMP/shim" "$wait_file"
fi
fg_compare "$FG_TMP/base" "$FG_TMP/shim"
[ -z "$(find "$FG_TMP/base" -name 'rec.*')" ] || fail "records were written without the shim"

fg_records "$FG_TMP/shim"
"$validator" --only-exe "$name" --expect-site-module "$name" --expect-stack nonempty "${expect[@]}" "${FG_FILES[@]}" ||
  fail "the records of $name are not as expected (files: ${FG_FILES[*]})"
echo "ok: $name behaves identically under the shim; its records are valid and complete"
