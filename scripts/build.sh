#!/usr/bin/env bash
# @brief Configures and builds forkguard into build/ (warnings are errors under CI=true).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFORKGUARD_WERROR="$werror" >/dev/null
cmake --build "$top/build" -j"$(nproc)"
