#!/usr/bin/env bash
# @brief Configures and builds forkguard into build/ (warnings are errors under CI=true).
# Usage: build.sh [TARGET...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFORKGUARD_WERROR="$werror" >/dev/null
# Arguments name targets to build (default: everything, tests included).
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$top/build" -j"$(nproc)" "${targets[@]}"
