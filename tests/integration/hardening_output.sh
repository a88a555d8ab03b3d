# @file hardening_output.sh
# @brief Output faults (issue 6, item 3): the log deleted, on a full device, on a read-only or
# missing path, a directory, a FIFO nobody reads, its descriptor closed or its number reused by
# the program, stderr a pipe whose reader is gone, syslog without a listener. In each case the
# program's stdout and exit status are byte-identical to a run without the shim, the shim says
# exactly once what happened (the exact text is checked) as the "notice" of a record, never as a
# line of its own, and records go on where they can. While the log can be written, the program's
# stderr is byte-identical too; when it cannot, stderr holds the records and nothing else.
#
# Usage: hardening_output.sh CASE VALIDATOR SHIM HELPER (unwritable needs root and setpriv)
# Cases readonly, syslog-absent and syslog-refused run themselves again in a private mount
# namespace (root and unshare(1) needed; exit 77 = skipped, with the reason).
if [ "${1:-}" != --inner ]; then
  case ${1:-} in
  readonly | syslog-absent | syslog-refused)
    [ "$(id -u)" -eq 0 ] || { echo "SKIP: $1 needs root for a private mount namespace"; exit 77; }
    unshare -m --propagation private true 2>/dev/null || { echo "SKIP: unshare -m is not permitted here"; exit 77; }
    exec unshare -m --propagation private bash "$0" --inner "$@"
    ;;
  esac
else
  shift
fi

# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"
# Never follow a mount out of the scratch directory when removing it.
trap 'rm -rf --one-file-system "$FG_TMP"' EXIT

case_name=$1 validator=$2 shim=$3 helper=$4
name=$(basename "$helper")
base=$FG_TMP/base shim_dir=$FG_TMP/shim
closed_notice="the program closed or replaced the log's descriptor; records go on in a newly opened"

# pair ACTION LOG_SETTING LOG_ARG: runs the helper without and with the shim (JSON records),
# under the command prefix in `runner` when it is set.
runner=()
pair() {
  local action=$1 log_setting=$2 log_arg=$3
  fg_run "$base" 60 -- "${runner[@]}" "$helper" "$action" "$log_arg" @DIR@/own.txt
  fg_run "$shim_dir" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json "FORKGUARD_LOG=$log_setting" -- \
    "${runner[@]}" "$helper" "$action" "$log_arg" @DIR@/own.txt
  fg_expect_status "$base" 0
  fg_same "$base" "$shim_dir" stdout
  fg_same "$base" "$shim_dir" status
  [ ! -s "$base/stderr" ] || fail "the helper wrote to stderr without the shim: $(cat "$base/stderr")"
}

# said_once TEXT FILE...: exactly one record in FILE... carries a notice beginning with TEXT, and no
# line on the shim's stderr is the library's own (every line there is the program's or a record).
said_once() {
  local text=$1
  shift
  ! grep -a '^forkguard: ' "$shim_dir/stderr" || fail "the shim wrote a line of its own to the program's stderr"
  local n
  n=$(cat "$@" | grep -aF "\"notice\":\"$text" | wc -l)
  [ "$n" -eq 1 ] || {
    echo "--- want one record with the notice: $text" >&2
    cat "$@" >&2
    fail "the shim did not say exactly once, in a record, what happened ($n times)"
  }
}

# stderr_records N: stderr holds exactly N valid records and nothing else.
stderr_records() {
  "$validator" --only-exe "$name" --expect-count "$1" "$shim_dir/stderr" ||
    fail "stderr does not hold the $1 records (and nothing else)"
}

file_records() {
  "$validator" --only-exe "$name" --expect-count "$2" --expect-call fork="$3" "$1" ||
    fail "$1 does not hold the expected records"
}

case $case_name in
deleted)
  pair delete @DIR@/rec.jsonl "$shim_dir/rec.jsonl"
  fg_same "$base" "$shim_dir" stderr
  said_once "the log file was deleted while the program ran; records go on in a newly opened $shim_dir/rec.jsonl" \
    "$shim_dir/rec.jsonl"
  file_records "$shim_dir/rec.jsonl" 5 1  # the calls after the deletion, in the recreated file
  ;;
closed)
  pair close @DIR@/rec.jsonl "$shim_dir/rec.jsonl"
  fg_same "$base" "$shim_dir" stderr
  said_once "$closed_notice $shim_dir/rec.jsonl" "$shim_dir/rec.jsonl"
  file_records "$shim_dir/rec.jsonl" 6 2
  ;;
reused)
  pair reuse @DIR@/rec.jsonl "$shim_dir/rec.jsonl"
  grep -q '^faults: own file holds exactly what the program wrote$' "$shim_dir/stdout" || fail "reuse did not happen"
  fg_same "$base" "$shim_dir" own.txt
  fg_same "$base" "$shim_dir" stderr
  said_once "$closed_notice $shim_dir/rec.jsonl" "$shim_dir/rec.jsonl"
  file_records "$shim_dir/rec.jsonl" 6 2
  ;;
full)
  pair none /dev/full -
  said_once "cannot log to /dev/full (ENOSPC); records go to stderr from now on" "$shim_dir/stderr"
  stderr_records 6
  ;;
missing-dir)
  pair none @DIR@/no/such/dir/rec.jsonl -
  said_once "cannot log to $shim_dir/no/such/dir/rec.jsonl (ENOENT); records go to stderr from now on" "$shim_dir/stderr"
  stderr_records 6
  ;;
directory)
  pair none @DIR@ -
  said_once "cannot log to $shim_dir (EISDIR); records go to stderr from now on" "$shim_dir/stderr"
  stderr_records 6
  ;;
unwritable)
  # A directory the program may not write in (root's, mode 755; the program runs as uid 65534).
  [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null || { echo "SKIP: needs root and setpriv"; exit 77; }
  chmod 755 "$FG_TMP"
  mkdir -m 755 "$FG_TMP/locked"
  runner=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
  pair none "$FG_TMP/locked/rec.jsonl" -
  said_once "cannot log to $FG_TMP/locked/rec.jsonl (EACCES); records go to stderr from now on" "$shim_dir/stderr"
  stderr_records 6
  [ -z "$(ls -A "$FG_TMP/locked")" ] || fail "something was created in the locked directory"
  ;;
fifo)
  mkdir -p "$shim_dir" && mkfifo "$shim_dir/fifo" || fail "mkfifo"
  pair none @DIR@/fifo -  # a blocking open would hang here (fg_run's timeout fails the test)
  said_once "cannot log to $shim_dir/fifo (ENXIO); records go to stderr from now on" "$shim_dir/stderr"
  stderr_records 6
  ;;
broken-stderr)
  # FORKGUARD_LOG=stderr: after the program's stderr loses its reader, the records meet EPIPE;
  # SIGPIPE must not kill a program that never writes there itself.
  pair broken-stderr stderr -
  grep -q '^faults: all children exited 0$' "$shim_dir/stdout" || fail "the program did not finish"
  stderr_records 1  # the one record before the break; nothing can be said after it
  ! grep -q '^forkguard: ' "$shim_dir/stderr" || fail "a notice was written to stderr: $(cat "$shim_dir/stderr")"
  ;;
readonly)
  mkdir -p "$FG_TMP/ro"
  mount -t tmpfs -o ro,size=64k forkguard-test-ro "$FG_TMP/ro" || fail "mount a read-only tmpfs"
  trap 'umount "$FG_TMP/ro" 2>/dev/null; rm -rf --one-file-system "$FG_TMP"' EXIT
  pair none "$FG_TMP/ro/rec.jsonl" -
  said_once "cannot log to $FG_TMP/ro/rec.jsonl (EROFS); records go to stderr from now on" "$shim_dir/stderr"
  stderr_records 6
  umount "$FG_TMP/ro" || fail "umount"
  ;;
syslog-absent | syslog-refused)
  # A private /dev (this namespace only) with the few nodes programs need and no syslog daemon:
  # built aside from single-node binds, never a bind of /dev itself, then moved over /dev.
  mkdir "$FG_TMP/dev"
  mount -t tmpfs -o mode=755,size=1m forkguard-test-dev "$FG_TMP/dev" || fail "mount tmpfs"
  for n in null zero full random urandom; do
    [ -c "/dev/$n" ] || continue
    touch "$FG_TMP/dev/$n" && mount --bind "/dev/$n" "$FG_TMP/dev/$n"
  done
  ln -s /proc/self/fd "$FG_TMP/dev/fd"
  mount --move "$FG_TMP/dev" /dev || fail "mount --move"
  [ -c /dev/null ] && [ ! -e /dev/log ] || fail "the private /dev is not as built"
  err=ENOENT
  if [ "$case_name" = syslog-refused ]; then
    "$helper" bind-dgram /dev/log || fail "could not leave a dead socket at /dev/log"
    [ -S /dev/log ] || fail "/dev/log is not a socket"
    err=ECONNREFUSED
  fi
  pair none syslog -
  said_once "cannot log to /dev/log ($err); records go to stderr from now on" "$shim_dir/stderr"
  stderr_records 6
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name: stdout and status as without the shim, said once, records kept"
