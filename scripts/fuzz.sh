#!/usr/bin/env bash
# @brief The libFuzzer targets (fuzz/fuzz_*.cpp, clang-14, ASan+UBSan) in build-fuzz/: replays the
# committed corpus of every target, then fuzzes each for a bounded time.
# Usage: fuzz.sh [--seconds N] [TARGET...]     (default: every target, FORKGUARD_FUZZ_SECONDS or 10 s each)
# Env: FORKGUARD_FUZZ_SECONDS, FORKGUARD_FUZZ_MAX_LEN (16384), FORKGUARD_SAN_CC / FORKGUARD_SAN_CXX.
# New inputs go to build-fuzz/fuzz/found/<target>/ (the committed corpus is never written; merge a
# good find with `<target> -merge=1 fuzz/corpus/<target> build-fuzz/fuzz/found/<target>`). A crash,
# leak, timeout or failed invariant leaves its reproducer in build-fuzz/fuzz/crashes/<target>/ and
# fails the script; rerun it with `build-fuzz/fuzz/<target> <file>`.
# Last line: "fuzz: N passed, N failed" (one per target: corpus replay and bounded run both clean).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# llvm-symbolizer (package llvm-14) turns sanitizer stacks into file:line.
[ -d /usr/lib/llvm-14/bin ] && export PATH="$PATH:/usr/lib/llvm-14/bin"
seconds=${FORKGUARD_FUZZ_SECONDS:-10}
max_len=${FORKGUARD_FUZZ_MAX_LEN:-16384}
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$top"/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
say() { echo "fuzz: $*" >&2; }

start=$SECONDS
CC=${FORKGUARD_SAN_CC:-clang-14} CXX=${FORKGUARD_SAN_CXX:-clang++-14} cmake -S "$top" -B "$top/build-fuzz" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  -DFORKGUARD_FUZZ=ON -DFORKGUARD_TESTS=OFF -DFORKGUARD_WERROR="$werror" >/dev/null
build_args=()
for t in "${targets[@]}"; do build_args+=(--target "$t"); done
cmake --build "$top/build-fuzz" -j"$(nproc)" "${build_args[@]}" >"$top/build-fuzz/fuzz-build.log" 2>&1 ||
  { tail -40 "$top/build-fuzz/fuzz-build.log" >&2; say "build failed"; exit 1; }
say "${#targets[@]} targets built in $((SECONDS - start)) s"

out=$top/build-fuzz/fuzz
passed=0
failed=0
for t in "${targets[@]}"; do
  bin=$out/$t seeds=$top/fuzz/corpus/$t found=$out/found/$t crashes=$out/crashes/$t log=$out/$t.log
  mkdir -p "$found" "$crashes"
  [ -d "$seeds" ] || { say "$t: no committed corpus in fuzz/corpus/$t"; failed=$((failed + 1)); continue; }
  dict=()
  [ -f "$top/fuzz/dict/$t.dict" ] && dict=(-dict="$top/fuzz/dict/$t.dict")
  # 1. Replay: every committed input once, exactly as stored (no length cap, no mutation).
  nseeds=$(find "$seeds" -type f | wc -l)
  if ! find "$seeds" -type f -print0 | xargs -0 "$bin" -artifact_prefix="$crashes/" >"$log.replay" 2>&1; then
    tail -40 "$log.replay" >&2
    say "$t: corpus replay FAILED (log $log.replay; reproducers in $crashes/)"
    failed=$((failed + 1))
    continue
  fi
  # 2. A bounded run from the committed corpus plus what earlier runs found.
  rc=0
  "$bin" "$found" "$seeds" "${dict[@]}" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" >"$log" 2>&1 || rc=$?
  stats=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
  cov=$(grep -Eo 'cov: [0-9]+' <<<"$stats" || true)
  ft=$(grep -Eo 'ft: [0-9]+' <<<"$stats" || true)
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
  rate=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
  nfound=$(find "$found" -type f | wc -l)
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR|runtime error|invariant failed|SUMMARY|Test unit written' "$log" | head -12 >&2 || tail -30 "$log" >&2
    say "$t: FAILED after ${seconds} s (exit $rc; log $log; reproducer in $crashes/)"
    failed=$((failed + 1))
  else
    say "$t: $nseeds seeds replayed; ${seconds} s: $execs runs, $rate exec/s, $cov, $ft, $nfound inputs in found/"
    passed=$((passed + 1))
  fi
done
say "done in $((SECONDS - start)) s"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
