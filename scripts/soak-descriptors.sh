#!/usr/bin/env bash
# @brief Soak of issue #10 section 1's closefrom program: RUNS runs (default 1,000) in each of the
# four configurations of tests/integration/descriptors_lib.sh (observe with stacks, learning,
# mitigate with the slim fork, mitigate with the vfork substitute). Prints "MODE: kept K of N"
# per configuration and the time it took; exits non-zero when any run lost its data. CI runs
# 100 per configuration (tests/integration/descriptors.cmake); this is the long form.
# Usage: soak-descriptors.sh [RUNS] [BUILD_DIR]   (BUILD_DIR default build/, built already)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-1000}
build=${2:-$top/build}
shim=$build/libforkguard.so
helper=$build/tests/helpers/fg_helper_fd_closefrom
for f in "$shim" "$helper"; do
  [ -x "$f" ] || [ -f "$f" ] || { echo "soak-descriptors: $f is missing: build first (scripts/build.sh)" >&2; exit 2; }
done
status=0
for mode in observe learning slim vfork; do
  start=$SECONDS
  out=$(bash "$top/tests/integration/descriptors_closefrom.sh" "$shim" "$helper" "$mode" "$runs" 2>&1) || status=1
  line=$(grep -E "^$mode: kept" <<<"$out" || true)
  echo "${line:-$mode: no result} ($((SECONDS - start)) s)"
  grep '^FAIL' <<<"$out" || true
done
exit $status
