# @file observe_text.sh
# @brief FORKGUARD_FORMAT=text to a file: the program behaves identically, and the log holds
# exactly one line per intercepted call, each starting "forkguard: CALL at HELPER+0x...".
#
# Usage: observe_text.sh SHIM HELPER EXPECTED_LINES CALL=N... [-- HELPER_ARGS...]
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

shim=$1 helper=$2 expected=$3
shift 3
declare -a calls=()
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do calls+=("$1"); shift; done
[ "$#" -gt 0 ] && shift
name=$(basename "$helper")

fg_run "$FG_TMP/base" 60 -- "$helper" "$@"
fg_run "$FG_TMP/shim" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=text FORKGUARD_LOG=@DIR@/rec.%p.txt -- "$helper" "$@"
fg_expect_status "$FG_TMP/base" 0
fg_compare "$FG_TMP/base" "$FG_TMP/shim"

fg_records "$FG_TMP/shim"
# Children (the shells of system/popen) have files of their own (%p): every line of every file is
# a text record; the helper's own file is the one whose records are sited in the helper.
bad=$(grep -vn '^forkguard: ' "${FG_FILES[@]}" || true)
[ -z "$bad" ] || fail "lines not starting with 'forkguard: ': $bad"
mine=$(grep -El "^forkguard: [a-zA-Z_]+ at ${name}\+0x" "${FG_FILES[@]}" || true)
[ "$(printf '%s\n' "$mine" | grep -c .)" -eq 1 ] || fail "expected one record file of $name, found: ${mine:-none}"
cp "$mine" "$FG_TMP/all.txt"
echo "--- the text records:"
cat "$FG_TMP/all.txt"
lines=$(wc -l <"$FG_TMP/all.txt")
[ "$lines" -eq "$expected" ] || fail "$lines text lines, expected $expected (one per call)"
[ -z "$(tail -c 1 "$FG_TMP/all.txt")" ] || fail "the last text record has no newline"
for c in "${calls[@]}"; do
  call=${c%%=*} want=${c#*=}
  got=$(grep -Ec "^forkguard: ${call} at ${name}\+0x[0-9a-f]+ " "$FG_TMP/all.txt" || true)
  [ "$got" -eq "$want" ] || fail "$got lines 'forkguard: $call at $name+0x...', expected $want"
done
echo "ok: $expected text records, one line per call, each starting 'forkguard: '"
