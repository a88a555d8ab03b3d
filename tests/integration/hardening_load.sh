# @file hardening_load.sh
# @brief Issue 6 item 1: THREADS x ITERS mixed fork+exec, system, popen+pclose and posix_spawn
# calls in one process, with the shim in the given settings (none: the baseline). The helper
# itself checks that every call and child succeeded, that its descriptors after equal those
# before and that no child is left; here: no deadlock (timeout), and exactly one whole, valid
# record per call (pclose included), from that one process and its THREADS+1 threads.
# Prints the wall time and calls/s (figures, not asserted).
#
# Usage: hardening_load.sh VALIDATOR SHIM HELPER THREADS ITERS [VAR=VALUE...]
#   with no VAR=VALUE the run is the baseline without the shim.
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3 threads=$4 iters=$5
shift 5
name=$(basename "$helper")
settings=()
[ "$#" -gt 0 ] && settings=(LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.jsonl "$@")

# A deadlock shows as a timeout, named by fg_run. FG_LOAD_TIMEOUT: the soak's longer limit on a
# busy machine (ctest's own limit for these tests is 600 s).
fg_run "$FG_TMP/run" "${FG_LOAD_TIMEOUT:-540}" "${settings[@]}" -- "$helper" "$threads" "$iters"
fg_expect_status "$FG_TMP/run" 0
grep -h '^load: wall' "$FG_TMP/run/stderr" | sed "s/^load:/load ($*):/"

per_kind=$((threads * iters / 4 + 1))  # the threads share the kinds evenly, plus the warm-up call
want="calls: fork=$per_kind system=$per_kind popen=$per_kind pclose=$per_kind posix_spawn=$per_kind total=$((per_kind * 5))"
grep -qxF "$want" "$FG_TMP/run/stdout" || fail "the helper did not make the calls expected ($want): $(cat "$FG_TMP/run/stdout")"
[ "$#" -gt 0 ] || { echo "ok: baseline without the shim"; exit 0; }

fg_records "$FG_TMP/run"
"$validator" --only-exe "$name" --expect-count $((per_kind * 5)) --expect-call fork=$per_kind \
  --expect-call system=$per_kind --expect-call popen=$per_kind --expect-call pclose=$per_kind \
  --expect-call posix_spawn=$per_kind --expect-failures 0 --expect-pids 1 --expect-tids $((threads + 1)) \
  "${FG_FILES[@]}" || fail "not exactly one valid record per call ($*)"
# With FORKGUARD_TRIGGER=always every system() and popen() ran over the library's posix_spawn.
if [[ " $* " == *" FORKGUARD_TRIGGER=always "* ]]; then
  for call in system popen; do
    "$validator" --only-exe "$name" --only-call $call --expect-count $per_kind --expect-field action=posix_spawn \
      "${FG_FILES[@]}" >/dev/null || fail "not every $call was substituted under FORKGUARD_TRIGGER=always"
  done
fi
# With FORKGUARD_SLIM_MIN the other threads' never-written stack space goes: the forks are slim
# forks (those made while no other thread had a stack printed again the same count would not).
if [[ " $* " == *" FORKGUARD_SLIM_MIN="* ]]; then
  slim=$(grep -h '"call":"fork"' "${FG_FILES[@]}" | grep -c '"action":"slim_fork"' || true)
  written=$(grep -h '"call":"fork"' "${FG_FILES[@]}" | grep '"action":"slim_fork"' | grep -vc '"excluded_written_kb":0,' || true)
  echo "forks: $slim of $per_kind slim forks, $written of them left out written memory"
  [ "$slim" -ge $((per_kind / 2)) ] || fail "only $slim of $per_kind forks were slim forks ($*)"
  [ "$written" -eq 0 ] || fail "$written slim forks left out written memory although the full fork fits ($*)"
fi
echo "ok: $((per_kind * 5)) calls, as many valid records, no leak, no child left ($*)"
