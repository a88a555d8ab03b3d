#!/usr/bin/env bash
# @brief Installs what is missing, builds everything and runs every test: the main suite (unit and
# integration, ctest in build/), then the sanitizer builds (scripts/sanitize.sh: ASan+UBSan, TSan),
# the fuzz targets (scripts/fuzz.sh: corpus replay and a bounded run of each) and the transparency
# suite (scripts/transparency.sh: dash, bash, make and CPython's tests with and without the library).
# Usage: test.sh [--main-only]    Env: FORKGUARD_FUZZ_SECONDS (per target, default 10).
# Every phase runs even when an earlier one failed; the exit status is non-zero if any did.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
main_only=0
[ "${1:-}" = "--main-only" ] && main_only=1
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"

passed=0
failed=0
# Adds a phase's "N passed, N failed" (its last such line) to the totals.
count() {
  local line
  line=$(grep -E '^[a-z]+: [0-9]+ passed, [0-9]+ failed$' "$1" | tail -1 || true)
  if [ -z "$line" ]; then
    failed=$((failed + 1))  # a phase that could not say what it ran counts as a failure
    return
  fi
  passed=$((passed + $(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")))
  failed=$((failed + $(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")))
}

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
start=$SECONDS
rc=0
(cd "$top/build" && ctest --output-on-failure -j"$(nproc)" --timeout 600) 2>&1 | tee "$logs/ctest" || rc=1
summary=$(grep -E '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$logs/ctest" | tail -1 || true)
if [ -n "$summary" ]; then
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")
  bad=$(sed -E 's/.*, ([0-9]+) tests failed.*/\1/' <<<"$summary")
  passed=$((passed + total - bad))
  failed=$((failed + bad))
else
  failed=$((failed + 1))
fi
echo "test.sh: main suite $((SECONDS - start)) s" >&2

if [ "$main_only" -eq 0 ]; then
  for phase in sanitize fuzz transparency; do
    t0=$SECONDS
    bash "$top/scripts/$phase.sh" 2>&1 | tee "$logs/$phase" || rc=1
    count "$logs/$phase"
    echo "test.sh: $phase $((SECONDS - t0)) s" >&2
  done
fi
echo "test.sh: all phases $((SECONDS - start)) s" >&2
echo "tests: $passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
