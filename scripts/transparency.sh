#!/usr/bin/env bash
# @brief The transparency suite (tests/transparency/): dash, bash, make -j4 and CPython's own
# regression tests, each run without the library (twice) and under it in four configurations,
# compared case by case; prints the table, every difference with its evidence, and the checks.
# Usage: transparency.sh [--long] [--jobs N] [--suite S]... [--config C]... [--module M]... [-q]
#   --long: also test_signal, test_threading, test_wait3, test_popen, test_pty and
#   test_multiprocessing_fork (CI runs test_subprocess, test_os, test_posix, test_fork1, test_wait4).
# Env: FORKGUARD_LIB (default build/libforkguard.so, built if missing; the records are checked
#      by build/tests/helpers/fg_test_validate_records when it has been built),
#      FORKGUARD_TRANSPARENCY_OUT (default build/transparency: runs, records, profiles, report.txt).
# Last line: "transparency: N passed, N failed" (N = checks: one per suite and non-plain
# configuration, one per mitigate configuration that its substitutions really happened).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
lib=${FORKGUARD_LIB:-$top/build/libforkguard.so}
out=${FORKGUARD_TRANSPARENCY_OUT:-$top/build/transparency}
python=/usr/bin/python3.11  # Debian's: its tests are the ones libpython3.11-testsuite installs
for need in "$python" /usr/lib/python3.11/test/libregrtest/main.py /usr/bin/dash /usr/bin/make /usr/bin/cc; do
  if [ ! -e "$need" ]; then
    echo "transparency: $need is missing (scripts/install-deps.sh installs it)" >&2
    echo "transparency: 0 passed, 1 failed"
    exit 1
  fi
done
if [ -z "${FORKGUARD_LIB:-}" ] && [ ! -e "$lib" ]; then
  "$top/scripts/build.sh" forkguard_shim >&2
fi
# The record validator (built with the tests) checks every record the runs wrote, when present.
validator=()
v=$top/build/tests/helpers/fg_test_validate_records
[ -x "$v" ] && validator=(--validator "$v")
exec "$python" "$top/tests/transparency/transparency.py" --lib "$lib" --out "$out" "${validator[@]}" "$@"
