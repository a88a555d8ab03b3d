#!/usr/bin/env bash
# @brief Installs what is missing, builds everything and runs every test (unit and integration).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
cd "$top/build"
ctest --output-on-failure -j"$(nproc)" --timeout 600
