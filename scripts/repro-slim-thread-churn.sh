#!/usr/bin/env bash
# @brief A known race of the slim fork, reproduced (not in CI: it still fails; README,
# Limitations): tests/helpers/slim_thread_churn.c forks FORKS children that only _exit(0) while
# another thread creates and joins threads with fresh stacks, under mitigate,
# FORKGUARD_TRIGGER=always and FORKGUARD_SLIM_MIN=4M, RUNS times. Prints each run's count of
# children that died and the total. The same without the library is the baseline (none die).
# Usage: scripts/repro-slim-thread-churn.sh [BUILD_DIR [RUNS [FORKS]]]   (defaults: build, 5, 1000)
# Exit status 0 only when no child died.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
runs=${2:-5}
forks=${3:-1000}
[ -f "$build/CMakeCache.txt" ] || { echo "repro: no configured build in $build (run scripts/build.sh)" >&2; exit 2; }
nice cmake --build "$build" --target forkguard_shim fg_helper_slim_thread_churn >/dev/null ||
  { echo "repro: build failed" >&2; exit 2; }
helper=$build/tests/helpers/fg_helper_slim_thread_churn
baseline=$("$helper" "$forks" 2>/dev/null)
echo "repro: without the library: $baseline"
died=0
for i in $(seq 1 "$runs"); do
  out=$(env LD_PRELOAD="$build/libforkguard.so" FORKGUARD_LOG=/dev/null FORKGUARD_MODE=mitigate \
    FORKGUARD_TRIGGER=always FORKGUARD_SLIM_MIN=4M "$helper" "$forks" 2>/dev/null)
  n=$(sed -n 's/^children: \([0-9]*\) of.*/\1/p' <<<"$out")
  echo "repro: run $i/$runs: ${out:-no output}"
  died=$((died + ${n:-0}))
done
echo "repro: $died children died in $((runs * forks)) slim forks"
[ "$died" -eq 0 ]
