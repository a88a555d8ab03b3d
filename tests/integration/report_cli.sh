#!/usr/bin/env bash
# @file report_cli.sh
# @brief `forkguard report` end to end: report_cli.sh CASE FORKGUARD DEMO FIXTURE_DIR
#   live              records of the demo under the shim: refusal first, its advice, stack with file:line
#                     from the file that ran (found by the recorded path, else --path, never by name)
#   fixtures          cut and garbage lines warned with file:line, the rest read, refusals first
#   stdin-and-errors  "-" reads stdin; an unreadable file exits 2; nothing readable exits 1
#   svg-render        the picture is well-formed XML and headless Chromium renders it to a PNG
#   html              the HTML page embeds the picture and the table
# Exit 77 = skipped (the case cannot be shown on this machine).
set -euo pipefail
case_name=$1 fg=$2 demo=$3 fixtures=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { grep -qE -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$1 lacks /$2/"; }; }

case $case_name in
live)
  set +e
  "$fg" run --json --log "$tmp/r.%p.jsonl" -- "$demo" >"$tmp/demo.out" 2>&1
  demo_rc=$?
  set -e
  ls "$tmp"/r.*.jsonl >/dev/null 2>&1 || fail "no record written"
  # With a log file the demo's output is its own: no line of the library's (notices are in records).
  ! grep -qE '^forkguard: |^\{"ts":' "$tmp/demo.out" || fail "the library wrote to the demo's stdout/stderr: $(cat "$tmp/demo.out")"
  "$fg" report "$tmp"/r.*.jsonl >"$tmp/out" 2>"$tmp/err" || fail "report exited $?"
  has "$tmp/out" 'forkguard-demo\+0x[0-9a-f]+ +fork'
  if [ "$demo_rc" -eq 1 ]; then  # the kernel refused the demo's fork: it must head the table
    sed -n '/^ATTENTION/{n;p}' "$tmp/out" >"$tmp/first"
    has "$tmp/first" '^refused +forkguard-demo\+0x'
  fi
  # The demo is built with debug information unless the build type drops it.
  if grep -q '\.debug_line' <<<"$(readelf -S "$demo" 2>/dev/null)"; then
    has "$tmp/out" '#0 +main at .*legacy_demo\.c:[0-9]+ \(forkguard-demo\+0x'
    line=$(sed -nE 's/.*#0 +main at .*legacy_demo\.c:([0-9]+).*/\1/p' "$tmp/out" | head -1)
    src=$(dirname "$(dirname "$fixtures")")/../demo/legacy_demo.c
    [ -f "$src" ] && { sed -n "${line}p" "$src" | grep -q 'fork()' || fail "line $line of legacy_demo.c is not the fork() call"; }
  fi
  "$fg" report --json "$tmp"/r.*.jsonl >"$tmp/json"
  has "$tmp/json" '"module_path": ".*forkguard-demo"'
  if [ "$demo_rc" -eq 1 ]; then  # a refused fork's record says by how much and whether a slim fork helps
    has "$tmp/out" '^    advice \(latest refusal\): shrink by [0-9.]+ [KMG]iB; a slim fork would leave out [0-9.]+ GiB: enough$'
  fi
  # Records from elsewhere: the recorded files are not here; --path names the directory holding the binary.
  mkdir "$tmp/bin" && cp "$demo" "$tmp/bin/"
  sed -i -e 's#"exe":"[^"]*"#"exe":"/elsewhere/forkguard-demo"#' \
    -e 's#"path":"[^"]*forkguard-demo"#"path":"/elsewhere/forkguard-demo"#' "$tmp"/r.*.jsonl
  "$fg" report "$tmp"/r.*.jsonl >"$tmp/out2" 2>"$tmp/err2"
  has "$tmp/err2" 'no file is the forkguard-demo that ran \(build-id [0-9a-f]+\)'
  has "$tmp/out2" '#0 +main \(forkguard-demo\+0x'
  "$fg" report --path "$tmp/bin" "$tmp"/r.*.jsonl >"$tmp/out3" 2>"$tmp/err3"
  if grep -q '\.debug_line' <<<"$(readelf -S "$demo" 2>/dev/null)"; then has "$tmp/out3" '#0 +main at .*legacy_demo\.c:[0-9]+'; fi
  ! grep -q 'no file is the forkguard-demo' "$tmp/err3" || fail "--path was not used"
  ;;
fixtures)
  "$fg" report --no-symbols "$fixtures"/fleet_observe.jsonl "$fixtures"/fleet_mitigate.jsonl >"$tmp/out" 2>"$tmp/err" \
    || fail "report exited $?"
  has "$tmp/err" 'fleet_mitigate\.jsonl:7: truncated last line'
  has "$tmp/err" 'fleet_observe\.jsonl:21: not a JSON record'
  has "$tmp/out" '^forkguard report: 26 records of process creation from 2 files, 3 processes, 2 call sites; 2 lines skipped'
  sed -n '/^ATTENTION/{n;p}' "$tmp/out" >"$tmp/first"
  has "$tmp/first" '^refused +indexer\+0x4a2f1 +fork +19 +4 +slim_fork 6 +7\.5 GiB +3\.7 GiB +-4\.0 GiB$'
  has "$tmp/out" '^- +libjobs\.so\.2\+0x25c3d1 +system +7 +0 '
  has "$tmp/out" '#1 +run_job \(indexer\+0x39e10\)'
  "$fg" report --no-symbols --json "$fixtures"/fleet_*.jsonl >"$tmp/json" 2>/dev/null
  has "$tmp/json" '"attention": "refused"'
  has "$tmp/json" '"slim_fork": 6'
  ;;
stdin-and-errors)
  "$fg" report --no-symbols - <"$fixtures/fleet_observe.jsonl" >"$tmp/out" 2>"$tmp/err" || fail "stdin: exit $?"
  has "$tmp/err" '^forkguard: stdin:21: not a JSON record'
  has "$tmp/out" '20 records of process creation'
  set +e
  "$fg" report --no-symbols "$tmp/missing.jsonl" "$fixtures/fleet_observe.jsonl" >"$tmp/out" 2>"$tmp/err"; rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "unreadable file: exit $rc, want 2"
  has "$tmp/err" "cannot read $tmp/missing.jsonl: No such file or directory"
  has "$tmp/out" '20 records'  # the readable file is still reported
  printf 'garbage\n' >"$tmp/g.jsonl"
  set +e
  "$fg" report "$tmp/g.jsonl" >"$tmp/out" 2>"$tmp/err"; rc=$?
  set -e
  [ "$rc" -eq 1 ] || fail "no record: exit $rc, want 1"
  has "$tmp/out" 'no process creation recorded'
  ;;
svg-render|html)
  "$fg" report --no-symbols --svg "$tmp/fleet.svg" --html "$tmp/fleet.html" "$fixtures"/fleet_*.jsonl >/dev/null 2>&1 \
    || fail "report --svg exited $?"
  if [ "$case_name" = html ]; then
    has "$tmp/fleet.html" '^<!DOCTYPE html>'
    has "$tmp/fleet.html" '<svg xmlns="http://www.w3.org/2000/svg"'
    has "$tmp/fleet.html" '^ATTENTION +SITE'
    has "$tmp/fleet.html" '</html>$'
    if command -v xmllint >/dev/null; then xmllint --html --noout "$tmp/fleet.html" || fail "HTML does not parse"; fi
    exit 0
  fi
  command -v xmllint >/dev/null || { echo "SKIP: xmllint (libxml2-utils) is not installed"; exit 77; }
  xmllint --noout "$tmp/fleet.svg" || fail "the SVG is not well-formed XML"
  has "$tmp/fleet.svg" 'fork refused \(ENOMEM\) at indexer\+0x4a2f1'
  has "$tmp/fleet.svg" '26 process creations: 4 refused, 6 rescued by substitution, 2 near the limit'
  "$fg" report --no-symbols --svg - "$fixtures"/fleet_observe.jsonl 2>/dev/null | xmllint --noout - || fail "--svg - is not well-formed"
  chromium=$(command -v chromium || command -v chromium-browser || true)
  [ -n "$chromium" ] || { echo "SKIP: chromium is not installed (scripts/install-deps.sh installs it)"; exit 77; }
  render() {  # render SVG PNG
    timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync \
      --user-data-dir="$(mktemp -d "$tmp/profile.XXXXXX")" --screenshot="$2" --window-size=1200,800 "file://$1" \
      >"$tmp/chromium.log" 2>&1 || { cat "$tmp/chromium.log" >&2; fail "chromium exited $?"; }
    [ -s "$2" ] || { cat "$tmp/chromium.log" >&2; fail "chromium wrote no $2"; }
  }
  render "$tmp/fleet.svg" "$tmp/fleet.png"
  file "$tmp/fleet.png" | grep -q 'PNG image data, 1200 x 800' || fail "not a 1200x800 PNG: $(file "$tmp/fleet.png")"
  # A blank page of the same size compresses to almost nothing; the picture must not.
  printf '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800"><rect width="1200" height="800" fill="#fff"/></svg>\n' \
    >"$tmp/blank.svg"
  render "$tmp/blank.svg" "$tmp/blank.png"
  size=$(stat -c %s "$tmp/fleet.png") blank=$(stat -c %s "$tmp/blank.png")
  echo "picture: $size bytes; blank page: $blank bytes"
  [ "$size" -gt 20000 ] || fail "the PNG is only $size bytes"
  [ "$size" -gt $((blank * 4)) ] || fail "the PNG ($size bytes) is hardly bigger than a blank page ($blank bytes)"
  cp "$tmp/fleet.png" "$tmp/fleet.svg" . 2>/dev/null || true  # left in the test directory for people to look at
  ;;
*)
  fail "unknown case $case_name"
  ;;
esac
echo "PASS: report $case_name"
