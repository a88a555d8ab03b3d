#!/usr/bin/env bash
# @brief Soak of issue #10 section 4 (not in CI): the 16-thread x 1000-call load test with slim
# forks at FORKGUARD_SLIM_MIN=4M (mitigate, FORKGUARD_TRIGGER=always), run RUNS times in a row,
# with the checks of its CTest entry (tests/integration/hardening_load.sh). Prints one line per
# run and the failure count; keeps each failed run's output. A run gets TIMEOUT seconds (default
# 1800, for a busy machine; a deadlock still shows as a timeout, and a timeout is a failure).
# Usage: scripts/soak-slim-load.sh [BUILD_DIR [RUNS [TIMEOUT]]]    (defaults: build, 50, 1800)
# Exit status 0 only when every run passed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
runs=${2:-50}
export FG_LOAD_TIMEOUT=${3:-1800}
[ -f "$build/CMakeCache.txt" ] || { echo "soak: no configured build in $build (run scripts/build.sh)" >&2; exit 2; }
nice cmake --build "$build" --target forkguard_shim fg_helper_hardening_load fg_test_validate_records >/dev/null ||
  { echo "soak: build failed" >&2; exit 2; }
logs=$(mktemp -d "${TMPDIR:-/tmp}/forkguard-soak.XXXXXX")
failures=0
start=$SECONDS
for i in $(seq 1 "$runs"); do
  t0=$SECONDS
  if bash "$top/tests/integration/hardening_load.sh" "$build/tests/helpers/fg_test_validate_records" \
    "$build/libforkguard.so" "$build/tests/helpers/fg_helper_hardening_load" 16 1000 \
    FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_SLIM_MIN=4M >"$logs/run$i.log" 2>&1; then
    echo "soak: run $i/$runs passed ($((SECONDS - t0)) s)"
    rm -f "$logs/run$i.log"
  else
    failures=$((failures + 1))
    echo "soak: run $i/$runs FAILED ($((SECONDS - t0)) s): $(grep -m1 -E 'FAIL|load:' "$logs/run$i.log") [$logs/run$i.log]"
  fi
done
echo "soak: $failures failures in $runs runs ($((SECONDS - start)) s)"
[ "$failures" -eq 0 ] && rmdir "$logs" 2>/dev/null
[ "$failures" -eq 0 ]
