#!/usr/bin/env bash
# @file check_all.sh
# @brief check_all.sh CASE FORKGUARD DEMO [PARTLY_WRITTEN_HELPER VALIDATOR]
#   refused       the demo, holding a mapping larger than RAM + swap, is listed REFUSE (smaps), exit 1
#   unprivileged  as nobody the same process is judged by the estimate, and the count is said
#   usage         --all with a pid, a bad --margin: exit 2; the summary line always comes
#   advice        `check PID` of the same process: by how much to shrink, its untouched mapping listed
#                 with nothing resident or swapped as one a slim fork excludes, and that this is enough
#   partly        a process whose mapping larger than RAM + swap has its first 64 MiB written: the
#                 refused fork's record and `check PID` both say a slim fork leaves out its
#                 never-written run (found in pagemap), keeps the written part, and that is enough
# The holder: the demo under `forkguard run --mode mitigate`, whose slim fork lets it run
# `sleep` and wait while it keeps its mapping. Exit 77 = skipped (overcommit mode 1, ulimit -v).
set -euo pipefail
case_name=$1 fg=$2 demo=$3 partly_helper=${4:-} validator=${5:-}
tmp=$(mktemp -d)
chmod 755 "$tmp"
holder= child=
cleanup() {
  set +e  # a killed demo's status must not become the test's
  # Only what this script started: the sleeping child and the demo, by pid.
  [ -n "$child" ] && kill "$child" 2>/dev/null
  [ -n "$holder" ] && { kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; }
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { grep -qE -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$1 lacks /$2/"; }; }

start_holder() {
  [ "$(cat /proc/sys/vm/overcommit_memory)" != 1 ] || { echo "SKIP: overcommit mode 1 refuses no fork"; exit 77; }
  [ "$(ulimit -v)" = unlimited ] || { echo "SKIP: ulimit -v is set"; exit 77; }
  "$fg" run --mode mitigate --json --log "$tmp/hold.jsonl" -- "$demo" "sleep 60" >"$tmp/hold.out" 2>&1 &
  holder=$!
  for _ in $(seq 200); do [ -s "$tmp/hold.jsonl" ] && break; sleep 0.05; done
  [ -s "$tmp/hold.jsonl" ] || { cat "$tmp/hold.out" >&2; fail "the demo wrote no record"; }
  child=$(sed -nE 's/.*"child_pid":([0-9]+).*/\1/p' "$tmp/hold.jsonl" | head -1)
  grep -q '"action":"slim_fork"' "$tmp/hold.jsonl" || { cat "$tmp/hold.jsonl" >&2; fail "the demo's fork was not slim"; }
  [ -n "$child" ] || fail "no child pid in the demo's record"
  # With a log file the demo's stdout and stderr hold nothing of the library's (issue #10 section 2).
  ! grep -qE '^forkguard: |^\{"ts":' "$tmp/hold.out" || fail "the library wrote to the demo's output: $(cat "$tmp/hold.out")"
}

case $case_name in
refused)
  start_holder
  set +e
  "$fg" check --all >"$tmp/out" 2>"$tmp/err"; rc=$?
  "$fg" check --all --json >"$tmp/json" 2>/dev/null; jrc=$?
  set -e
  cat "$tmp/out"
  [ "$rc" -eq 1 ] && [ "$jrc" -eq 1 ] || fail "exit $rc/$jrc, want 1 (a process would be refused)"
  has "$tmp/out" "^ +$holder +root +[0-9.]+ GiB +[0-9.]+ GiB +-[0-9.]+ [KMG]iB +REFUSE +smaps +.*forkguard-demo$"
  # Largest charge first (other tests' processes may be listed too: only the order is checked).
  grep -oE '"charge_kb":[0-9]+' "$tmp/json" | cut -d: -f2 | awk 'NR > 1 && $1 > prev { bad = 1 } { prev = $1 } END { exit bad }' \
    || fail "processes are not sorted by charge, largest first"
  has "$tmp/out" '^[0-9]+ processes examined: [1-9][0-9]* would be refused'
  has "$tmp/json" "\"pid\":$holder,\"comm\":\"forkguard-demo\",.*\"charge_method\":\"smaps\",.*\"verdict\":\"refuse\""
  # The single-process check agrees.
  set +e; "$fg" check "$holder" >/dev/null 2>&1; one=$?; set -e
  [ "$one" -eq 1 ] || fail "forkguard check $holder exited $one, want 1"
  ;;
advice)
  start_holder
  set +e
  "$fg" check "$holder" >"$tmp/out" 2>"$tmp/err"; rc=$?
  FORKGUARD_SLIM_MIN=1M "$fg" check --json "$holder" >"$tmp/json" 2>/dev/null; jrc=$?
  set -e
  cat "$tmp/out"
  [ "$rc" -eq 1 ] && [ "$jrc" -eq 1 ] || fail "exit $rc/$jrc, want 1 (refused)"
  has "$tmp/out" '^to fit +the largest accountable mapping must shrink by [0-9.]+ [KMG]iB'
  has "$tmp/out" '^ +SIZE +RESIDENT +SWAPPED +SLIM FORK LEAVES OUT +ADDRESS +PATH$'
  # The demo's cache: the largest mapping, never written, left out whole by a slim fork.
  sed -n '/^ *SIZE /{n;p}' "$tmp/out" >"$tmp/first"
  has "$tmp/first" '^ +[0-9.]+ GiB +0 KiB +0 KiB +all \(never written\) +[0-9a-f]+-[0-9a-f]+ +\[anon\]$'
  has "$tmp/out" '^slim fork +would leave out [0-9.]+ GiB in [1-9][0-9]* mappings?: [0-9.]+ GiB never written \(nothing resident or swapped, in mappings or runs of at least FORKGUARD_SLIM_MIN 64.0 MiB; the child gets zeros there\): enough'
  ! grep -q ' written, largest first' "$tmp/out" || fail "written memory was left out although the never-written cache was enough"
  has "$tmp/json" '"advice":\{"shrink_kb":[1-9][0-9]*,"slim_min_kb":1024,"slim_excludes_kb":[1-9][0-9]*,"slim_written_kb":0,"slim_mappings":[1-9][0-9]*,"slim_enough":true,"slim_partial":false,"mappings":\[\{'
  has "$tmp/json" '"rss_kb":0,"swap_kb":0,"path":"\[anon\]","slim_kb":[1-9][0-9]*,"slim_written_kb":0'
  ;;
unprivileged)
  [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null || { echo "SKIP: needs root and setpriv to become nobody"; exit 77; }
  start_holder
  cp "$fg" "$tmp/forkguard" && chmod 755 "$tmp/forkguard"
  set +e
  setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/forkguard" check --all >"$tmp/out" 2>"$tmp/err"; rc=$?
  set -e
  cat "$tmp/out" "$tmp/err"
  [ "$rc" -eq 1 ] || fail "exit $rc, want 1: the estimate still says refuse"
  has "$tmp/out" "^ +$holder +root .* REFUSE +estimate +\[forkguard-demo\]$"
  has "$tmp/out" '[1-9][0-9]* judged by the estimate only, smaps unreadable; run as root to read every process'
  ;;
partly)
  [ "$(ulimit -v)" = unlimited ] || { echo "SKIP: ulimit -v is set"; exit 77; }
  "$fg" run --json --log "$tmp/p.jsonl" -- "$partly_helper" hold >"$tmp/hold.out" 2>&1 &
  holder=$!
  for _ in $(seq 600); do grep -qE '^(ready|SKIP)' "$tmp/hold.out" && break; sleep 0.05; done
  if grep -q '^SKIP' "$tmp/hold.out"; then cat "$tmp/hold.out"; exit 77; fi
  cat "$tmp/hold.out"
  has "$tmp/hold.out" '^ready$'
  has "$tmp/hold.out" '^fork: Cannot allocate memory$'
  ! grep -qE '^forkguard: |^\{"ts":' "$tmp/hold.out" || fail "the library wrote to the program's output"
  "$validator" --expect-count 1 --expect-errno ENOMEM=1 "$tmp/p.jsonl" || fail "invalid record"
  start=$(sed -nE 's/^mapping (0x[0-9a-f]+) .*/\1/p' "$tmp/hold.out")
  # The record's advice and check --json's: the mapping's never-written run goes, its written
  # 64 MiB stays (RAM + swap is far more), and that is enough. Exact: the run ends 16 KiB below
  # the top, which a slim fork keeps; THP is off for the mapping, so 64 MiB is 64 MiB.
  set +e
  "$fg" check --json "$holder" >"$tmp/check.json" 2>"$tmp/err"; jrc=$?
  "$fg" check "$holder" >"$tmp/out" 2>>"$tmp/err"; rc=$?
  set -e
  cat "$tmp/out"
  [ "$rc" -eq 1 ] && [ "$jrc" -eq 1 ] || fail "check exit $rc/$jrc, want 1 (refused)"
  python3 - "$tmp/p.jsonl" "$tmp/check.json" "$start" <<'PY' || fail "the advice does not say what a slim fork leaves out"
import json, sys
start = int(sys.argv[3], 16)
for path, name in ((sys.argv[1], "record"), (sys.argv[2], "check --json")):
    doc = json.loads(open(path).readline())
    adv = doc["advice"]
    m = [m for m in adv["mappings"] if int(m["start"], 16) == start]
    assert m, f"{name}: the mapping at {start:#x} is not listed: {adv}"
    m = m[0]
    size = m["size_kb"]
    assert m["rss_kb"] == 65536, f"{name}: rss {m['rss_kb']}"
    assert m["slim_kb"] == size - 65536 - 16, f"{name}: slim_kb {m['slim_kb']}, want {size - 65536 - 16}"
    assert m["slim_written_kb"] == 0 and adv["slim_written_kb"] == 0, f"{name}: written memory left out: {adv}"
    assert adv["slim_enough"] is True, f"{name}: not enough: {adv}"
    print(f"{name}: the slim fork leaves out {m['slim_kb']} kB of {size} kB, nothing written: enough")
PY
  has "$tmp/out" "^ +[0-9.]+ GiB +64.0 MiB +0 KiB +[0-9.]+ GiB never written +[0-9a-f]+-[0-9a-f]+ +\[anon\]$"
  has "$tmp/out" '^slim fork +would leave out [0-9.]+ GiB in 1 mapping: [0-9.]+ GiB never written .*: enough'
  ;;
usage)
  set +e
  "$fg" check --all 1 >/dev/null 2>"$tmp/err"; rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "--all with a pid: exit $rc, want 2"
  has "$tmp/err" '^forkguard: --all examines every process: give no pid with it$'
  set +e
  "$fg" check --all --margin lots >/dev/null 2>"$tmp/err"; rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "bad --margin: exit $rc, want 2"
  has "$tmp/err" 'margin "lots"'
  set +e
  "$fg" check --all --margin 512M >"$tmp/out" 2>&1; rc=$?
  set -e
  [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || fail "exit $rc"
  has "$tmp/out" '^overcommit mode [0-2]; CommitLimit '
  has "$tmp/out" '^[0-9]+ processes examined: [0-9]+ would be refused, [0-9]+ within 512M of the limit; [0-9]+ kernel threads skipped'
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "PASS: check --all $case_name"
