# @file observe_shared.sh
# @brief FORKGUARD_LOG naming one file without %p, written by several processes at once (three
# multithreaded ones, one of them spawning with a 6 KiB argv so that records must be cut, plus the
# spawn, system and popen helpers): every line is one whole JSON object of at most PIPE_BUF
# bytes, and no record is lost.
#
# Usage: observe_shared.sh VALIDATOR SHIM THREADS_HELPER SPAWN_HELPER SYSTEM_HELPER POPEN_HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 threads=$3 spawn=$4 system=$5 popen=$6
log=$FG_TMP/shared.jsonl

i=0
for cmd in "$threads 8 200" "$threads 4 100" "$threads 4 100 spawn-long" "$spawn" "$system" "$popen"; do
  i=$((i + 1))
  # shellcheck disable=SC2086  # cmd is a program and its arguments
  fg_run "$FG_TMP/p$i" 240 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG="$log" -- $cmd &
done
wait
for d in "$FG_TMP"/p*; do fg_expect_status "$d" 0; done
for d in "$FG_TMP"/p*; do
  [ ! -s "$d/stderr" ] || { cat "$d/stderr" >&2; fail "a writer printed to stderr ($d)"; }
done
[ -z "$(tail -c 1 "$log")" ] || fail "the shared log does not end with a newline"

# Every line (the helpers' records and their shells') is one whole, valid record.
"$validator" --max-line-bytes 4096 "$log" || fail "the shared log holds a line that is not one whole record"
"$validator" --only-exe "$(basename "$threads")" --expect-call fork=2000 --expect-call posix_spawn=400 \
  --expect-pids 3 "$log" || fail "records of the threaded writers are missing"
"$validator" --only-exe "$(basename "$threads")" --only-call posix_spawn --expect-field truncated=true "$log" ||
  fail "the 6 KiB-command records were not cut to fit PIPE_BUF as objects marked truncated"
"$validator" --only-exe "$(basename "$spawn")" --expect-call posix_spawn=3 --expect-call posix_spawnp=2 "$log" ||
  fail "records of the spawn helper are missing"
"$validator" --only-exe "$(basename "$system")" --expect-call system=3 "$log" || fail "records of the system helper are missing"
"$validator" --only-exe "$(basename "$popen")" --expect-call popen=4 --expect-call pclose=3 "$log" ||
  fail "records of the popen helper are missing"
echo "ok: $(wc -l <"$log") records from 6 concurrent processes in one file, every line a whole JSON object"
