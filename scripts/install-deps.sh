#!/usr/bin/env bash
# @brief Installs forkguard's dependencies from Debian bookworm, only what is missing.
# Usage: install-deps.sh [--build]   (--build: what building and the demo need, without the
# test-only tools such as chromium, which renders the report's picture in a test)
set -euo pipefail
packages=(build-essential cmake g++ binutils libunwind-dev libunwind8 libspdlog-dev libfmt-dev catch2
          libcli11-dev nlohmann-json3-dev)
if [ "${1:-}" = "--build" ]; then
  shift
else
  packages+=(strace chromium libxml2-utils file)
  # scripts/sanitize.sh and scripts/fuzz.sh: clang, its sanitizer and libFuzzer runtimes, llvm-symbolizer.
  packages+=(clang-14 libclang-rt-14-dev llvm-14)
  # scripts/transparency.sh: the programs whose own tests run under the library.
  packages+=(python3.11 libpython3.11-testsuite dash make findutils coreutils)
fi
packages+=("$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "forkguard: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
