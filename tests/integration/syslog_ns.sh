#!/usr/bin/env bash
# @file syslog_ns.sh
# @brief syslog_ns.sh CASE FORKGUARD LISTENER HOST: FORKGUARD_LOG=syslog in a private /dev.
#   listener  a listener bound at /dev/log gets one RFC 3164 message per record, ident forkguard,
#             facility user, the body in FORKGUARD_FORMAT; the host's own syslog identity is
#             untouched; a descriptor the host took over is never written
#   fallback  without /dev/log: the records on stderr, the first saying why in its notice
# Runs itself again under `unshare -m`; exit 77 = skipped (not root, or no mount namespaces).
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { grep -qE -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$1 lacks /$2/"; }; }

if [ "${1:-}" != --inner ]; then
  [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for a private mount namespace"; exit 77; }
  command -v unshare >/dev/null && unshare -m --propagation private true 2>/dev/null \
    || { echo "SKIP: unshare -m is not permitted here"; exit 77; }
  # The scratch directory is made and removed out here, where no mount of the namespace exists:
  # removing it from inside could reach the real /dev through a bind mount.
  tmp=$(mktemp -d)
  set +e
  unshare -m --propagation private bash "$0" --inner "$tmp" "$@"
  rc=$?
  set -e
  rm -rf --one-file-system "$tmp"
  exit $rc
fi
tmp=$2
shift 2
case_name=$1 fg=$2 listener=$3 host=$4
lpid=
# Only our own listener is stopped; the mounts go away with the namespace when this shell exits.
trap '[ -n "$lpid" ] && kill "$lpid" 2>/dev/null; wait 2>/dev/null; true' EXIT

# A fresh /dev that only this namespace sees: the few nodes programs need, and no /dev/log. It is
# built aside (bind mounts of single nodes, never of /dev itself), then moved over /dev.
mkdir "$tmp/dev"
mount -t tmpfs -o mode=755,size=1m forkguard-test-dev "$tmp/dev"
for n in null zero full random urandom tty; do
  [ -c "/dev/$n" ] || continue
  touch "$tmp/dev/$n" && mount --bind "/dev/$n" "$tmp/dev/$n"
done
ln -s /proc/self/fd "$tmp/dev/fd"
ln -s /proc/self/fd/0 "$tmp/dev/stdin"; ln -s /proc/self/fd/1 "$tmp/dev/stdout"; ln -s /proc/self/fd/2 "$tmp/dev/stderr"
mount --move "$tmp/dev" /dev
[ ! -e /dev/log ] || fail "/dev/log still exists in the private /dev"
[ -c /dev/null ] || fail "no /dev/null in the private /dev"

case $case_name in
listener)
  "$listener" /dev/log "$tmp/messages" "$tmp/ready" 60 &
  lpid=$!
  for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.05; done
  [ -e "$tmp/ready" ] || fail "the listener did not bind /dev/log"
  "$fg" run --json --log syslog -- "$host" "$tmp/owned" >"$tmp/out1" 2>"$tmp/err1" || fail "host (json) exited $?"
  "$fg" run --log syslog -- "$host" "$tmp/owned2" >"$tmp/out2" 2>"$tmp/err2" || fail "host (text) exited $?"
  # With syslog listening, the program's stderr holds nothing of the library's.
  [ ! -s "$tmp/err1" ] && [ ! -s "$tmp/err2" ] || fail "with syslog, the library wrote to stderr: $(cat "$tmp/err1" "$tmp/err2")"
  "$fg" run --json --log "$tmp/file.jsonl" -- "$host" "$tmp/owned3" >/dev/null 2>&1 || fail "host (file) exited $?"
  sleep 0.3
  kill "$lpid"; wait "$lpid" 2>/dev/null || true; lpid=
  cat "$tmp/messages"
  [ ! -s "$tmp/err1" ] && [ ! -s "$tmp/err2" ] || { cat "$tmp/err1" "$tmp/err2" >&2; fail "something went to stderr"; }
  [ ! -s "$tmp/owned" ] && [ ! -s "$tmp/owned2" ] || fail "a record was written into a descriptor the host owns"
  records=$(wc -l <"$tmp/file.jsonl")
  # Runs 1 and 2 log to syslog: 2 host messages and the records each; run 3 only its 2 host messages.
  [ "$(wc -l <"$tmp/messages")" -eq $(( (2 + records) * 2 + 2 )) ] || fail "want 2 host messages + $records records per syslog run"
  hdr='[A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9]'
  # Run 1 (json): the host's own identity and facility (daemon = 3: <29>) are what it set.
  sed -n 1p "$tmp/messages" >"$tmp/m1"; has "$tmp/m1" "^<29>$hdr hostapp\[[0-9]+\]: hostapp before$"
  hostpid=$(sed -nE 's/.*hostapp\[([0-9]+)\].*/\1/p' "$tmp/m1")
  sed -n "2,$((1 + records))p" "$tmp/messages" >"$tmp/recs1"
  [ "$(grep -cE "^<14>$hdr forkguard\[$hostpid\]: \{\"ts\":\"[^\"]+\",\"pid\":$hostpid,.*\"call\":\"fork\".*\]\}$" "$tmp/recs1")" -eq "$records" ] \
    || fail "records of run 1 are not one '<14>TIMESTAMP forkguard[PID]: {json}' message each"
  sed -n "$((2 + records))p" "$tmp/messages" >"$tmp/m4"; has "$tmp/m4" "^<29>$hdr hostapp\[$hostpid\]: hostapp after$"
  # The bodies are complete records: the report reads them back without a warning.
  sed -E 's/^[^{]*//' "$tmp/recs1" >"$tmp/bodies.jsonl"
  "$fg" report --no-symbols "$tmp/bodies.jsonl" >"$tmp/report" 2>"$tmp/report.err"
  has "$tmp/report" "^forkguard report: $records records"
  [ ! -s "$tmp/report.err" ] || { cat "$tmp/report.err" >&2; fail "report warned about syslog bodies"; }
  # Run 2 (text): the body is the text record without its own "forkguard: " prefix.
  sed -n "$((4 + records)),$((3 + 2 * records))p" "$tmp/messages" >"$tmp/recs2"
  [ "$(grep -cE "^<14>$hdr forkguard\[[0-9]+\]: fork at fg_syslog_host\+0x[0-9a-f]+ pid " "$tmp/recs2")" -eq "$records" ] \
    || fail "text records are not one 'forkguard[PID]: fork at ...' message each"
  ;;
fallback)
  "$fg" run --json --log syslog -- "$host" "$tmp/owned" >"$tmp/out" 2>"$tmp/err" || fail "host exited $?"
  cat "$tmp/err"
  [ "$(grep -c '"notice":"cannot log to /dev/log (ENOENT); records go to stderr from now on"' "$tmp/err")" -eq 1 ] \
    || fail "want exactly one record saying it cannot log to /dev/log"
  ! grep -q '^forkguard: ' "$tmp/err" || fail "a line of the library's own on stderr"
  [ "$(grep -c '^{"ts":.*"call":"fork"' "$tmp/err")" -eq 2 ] || fail "want both records on stderr"
  [ ! -s "$tmp/owned" ] || fail "a record was written into a descriptor the host owns"
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "PASS: syslog $case_name"
