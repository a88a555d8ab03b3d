# @file validator_selftest.sh
# @brief The record validator can fail: a good record passes, and each kind of broken record
# (or wrong count) is rejected with exit 1 and a message naming FILE:LINE.
#
# Usage: validator_selftest.sh VALIDATOR
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1
ts=$(date -u +%Y-%m-%dT%H:%M:%S.123456Z)
good='{"ts":"'$ts'","pid":42,"ppid":1,"tid":42,"exe":"/usr/bin/app","call":"fork","vm_size_kb":3712,"vm_rss_kb":1836,"charge_kb":800,"charge_method":"estimate","commit_limit_kb":1000,"committed_as_kb":400,"headroom_kb":600,"overcommit_mode":0,"verdict":"ok","action":"passthrough","result":43,"child_pid":43,"duration_us":5,"site":"app+0x1329","stack":[{"module":"app","offset":"0x1329","symbol":"main"}]}'
printf '%s\n' "$good" >"$FG_TMP/good.jsonl"
"$validator" --expect-count 1 --expect-call fork=1 --expect-site-module app --expect-stack nonempty \
  --expect-field verdict=ok --expect-field pid=42 "$FG_TMP/good.jsonl" || fail "a good record was rejected"

# reject NAME EXPECTED_MESSAGE_PART LINE [validator options]: LINE (printf %s, no newline added
# when NAME ends in .nonl) must make the validator exit 1 and print EXPECTED_MESSAGE_PART.
n=0
reject() {
  local name=$1 msg=$2 line=$3
  shift 3
  local f="$FG_TMP/$name.jsonl"
  if [[ $name == *.nonl ]]; then printf '%s' "$line" >"$f"; else printf '%s\n' "$line" >"$f"; fi
  local status=0
  "$validator" "$@" "$f" >"$FG_TMP/out" 2>&1 || status=$?
  [ "$status" -eq 1 ] || { cat "$FG_TMP/out" >&2; fail "$name: exit $status, expected 1"; }
  grep -qF -- "$msg" "$FG_TMP/out" || { cat "$FG_TMP/out" >&2; fail "$name: no message containing '$msg'"; }
  n=$((n + 1))
}
sub() { printf '%s' "$good" | sed "$1"; }

reject missing-site "$FG_TMP/missing-site.jsonl:1: missing key \"site\"" "$(sub 's/,"site":"app+0x1329"//')"
reject ts-no-z ":1: \"ts\" is not ISO-8601" "$(sub 's/123456Z/123456/')"
reject ts-millis ":1: \"ts\" is not ISO-8601" "$(sub 's/\.123456Z/.123Z/')"
reject ts-old ":1: \"ts\" is not within the last day" "$(sub 's/"ts":"[0-9]\{4\}/"ts":"2001/')"
reject pid-string ":1: \"pid\" is not a positive integer" "$(sub 's/"pid":42/"pid":"42"/')"
reject headroom ":1: \"headroom_kb\" is not commit_limit_kb - committed_as_kb" "$(sub 's/"headroom_kb":600/"headroom_kb":601/')"
reject kb-float ":1: \"vm_rss_kb\" is neither an integer nor null" "$(sub 's/"vm_rss_kb":1836/"vm_rss_kb":1.5/')"
reject method ":1: \"charge_method\" is not estimate|smaps" "$(sub 's/"estimate"/"guess"/')"
reject mode ":1: \"overcommit_mode\" is not 0, 1 or 2" "$(sub 's/"overcommit_mode":0/"overcommit_mode":3/')"
reject verdict ":1: \"verdict\" is not ok|refuse|unknown" "$(sub 's/"verdict":"ok"/"verdict":"maybe"/')"
reject action ":1: \"action\" is not a known action" "$(sub 's/"passthrough"/"teleport"/')"
reject call ":1: \"call\" is not a known name" "$(sub 's/"call":"fork"/"call":"clone"/')"
reject errno-on-success ":1: the call succeeded (result 43) but \"errno\" is present" "$(sub 's/"duration_us"/"errno":"ENOMEM","duration_us"/')"
reject no-errno-on-failure ":1: the call failed (result -1) but \"errno\" is absent" "$(sub 's/"result":43,"child_pid":43/"result":-1/')"
reject spawn-error ":1: the call failed (result 2) but \"errno\" is absent" "$(sub 's/"call":"fork"/"call":"posix_spawn","command":"x"/; s/"result":43/"result":2/')"
reject spawn-command ":1: \"command\" missing or not a string for popen" "$(sub 's/"call":"fork"/"call":"popen"/; s/"result":43/"result":0/')"
reject errno-name ":1: \"errno\" is not a symbolic name" "$(sub 's/"result":43,"child_pid":43/"result":-1,"errno":"12"/')"
reject duration ":1: \"duration_us\" is not an integer >= 0" "$(sub 's/"duration_us":5/"duration_us":-1/')"
reject site ":1: \"site\" is not MODULE+0xHEX" "$(sub 's/"site":"app+0x1329"/"site":"app+1329"/')"
reject frame ":1: stack[0].offset is not \"0x<hex>\"" "$(sub 's/"offset":"0x1329"/"offset":"4905"/')"
reject frame-keys ":1: stack[0] is not an object with module, offset and symbol" "$(sub 's/,"symbol":"main"//')"
reject duplicate ":1: not one JSON object: duplicate key \"pid\"" "$(sub 's/"pid":42,/"pid":42,"pid":7,/')"
reject interleaved ":1: not one JSON object" "${good:0:100}${good}"
reject two-on-a-line ":1: not one JSON object" "$good$good"
reject array ":1: not a JSON object" "[1,2]"
reject blank ":2: not one JSON object" "$good"$'\n'
reject cut.nonl "the last line has no newline" "$good"
reject long ":1: line is " "$(sub 's/"exe":"\/usr\/bin\/app"/"exe":"\/'"$(printf 'x%.0s' {1..4100})"'"/')"
chain='"action":"vfork","attempts":[{"action":"slim_fork","errno":"ENOMEM"},{"action":"vfork"}]'
printf '%s\n' "$(sub "s/\"action\":\"passthrough\"/$chain/")" >"$FG_TMP/chain.jsonl"
"$validator" --expect-field 'attempts=[{"action":"slim_fork","errno":"ENOMEM"},{"action":"vfork"}]' "$FG_TMP/chain.jsonl" ||
  fail "a good record with attempts was rejected"
reject attempt-last ":1: the last attempt is \"slim_fork\", the action \"passthrough\"" "$(sub 's/"action":"passthrough"/"action":"passthrough","attempts":[{"action":"slim_fork"}]/')"
reject attempt-order ":1: attempts[0] made the child, yet another attempt follows" "$(sub 's/"action":"passthrough"/"action":"passthrough","attempts":[{"action":"vfork"},{"action":"passthrough"}]/')"
reject count "totals: expected 2 records, found 1" "$good" --expect-count 2
reject call-count "totals: expected 1 \"vfork\" records, found 0" "$good" --expect-call vfork=1
reject site-module ":1: site app+0x1329 is not in module other" "$good" --expect-site-module other
reject stack-empty ":1: \"stack\" is not []" "$good" --expect-stack empty
reject field ":1: \"verdict\" is \"ok\", expected refuse" "$good" --expect-field verdict=refuse
reject errno-count "totals: expected 1 records with errno ENOMEM" "$good" --expect-errno ENOMEM=1
reject pids "totals: expected records from 2 pids, found 1" "$good" --expect-pids 2
reject tids "totals: expected records from 3 threads, found 1" "$good" --expect-tids 3
status=0
"$validator" "$FG_TMP/does-not-exist" 2>"$FG_TMP/out" || status=$?
if [ "$status" -ne 1 ] || ! grep -q "cannot open" "$FG_TMP/out"; then fail "a missing file was not reported"; fi
status=0
"$validator" --bogus "$FG_TMP/good.jsonl" 2>/dev/null || status=$?
[ "$status" -eq 2 ] || fail "an unknown option did not exit 2"
echo "ok: the good record passes; $n kinds of broken record or wrong count are rejected with FILE:LINE"
