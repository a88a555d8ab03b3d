#!/usr/bin/env bash
# @brief The aarch64 proof in one command: installs what is missing (the cross toolchain, QEMU,
# the arm64 multiarch libraries), cross-builds into build-aarch64/ (cmake/aarch64-linux-gnu.cmake)
# and runs its tests: the unit tests under qemu-user (the [kernel] ones excluded there), the
# glibc-floor and export checks of the aarch64 library, and scripts/vm-test --arch aarch64 on
# Debian's Linux 6.1 arm64 and on its 6.12 arm64 kernel with 16 KiB pages (scenario, prediction
# sweep and the [kernel] unit tests, each in its own guest). Builds only what those tests run (the
# library, the unit tests, the two guest programs): the CLI is cross-built by scripts/package.sh.
# Usage: test-aarch64.sh [--no-16k]      Prints "aarch64: N passed, N failed" last.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
exclude=()
[ "${1:-}" = "--no-16k" ] && exclude=(-E '16 KiB pages')
"$top/scripts/install-deps.sh" --build --aarch64
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$top" -B "$top/build-aarch64" -DCMAKE_TOOLCHAIN_FILE="$top/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFORKGUARD_WERROR="$werror" "${launcher[@]}" >/dev/null
cmake --build "$top/build-aarch64" -j"$(nproc)" \
  --target forkguard_shim forkguard_unit fg_vm_legacy_mode2 fg_vm_commit_sweep
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
(cd "$top/build-aarch64" && ctest --output-on-failure -j"$(nproc)" --timeout 1200 "${exclude[@]}") 2>&1 | tee "$log" || rc=1
summary=$(grep -E '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1 || true)
if [ -z "$summary" ]; then
  echo "aarch64: 0 passed, 1 failed"
  exit 1
fi
total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")
bad=$(sed -E 's/.*, ([0-9]+) tests failed.*/\1/' <<<"$summary")
echo "aarch64: $((total - bad)) passed, $bad failed"
[ "$rc" -eq 0 ] && [ "$bad" -eq 0 ]
