#!/usr/bin/env bash
# @brief Installs forkguard's dependencies from Debian bookworm, only what is missing.
# Usage: install-deps.sh [--build]   (--build: what building and the demo need, without the
# test-only tools such as chromium, which renders the report's picture in a test)
set -euo pipefail
packages=(build-essential cmake g++ binutils libunwind-dev libunwind8 libspdlog-dev libfmt-dev catch2
          libcli11-dev nlohmann-json3-dev libdw-dev libelf-dev)
if [ "${1:-}" = "--build" ]; then
  shift
else
  packages+=(strace chromium libxml2-utils file)
  # scripts/sanitize.sh and scripts/fuzz.sh: clang, its sanitizer and libFuzzer runtimes, llvm-symbolizer.
  packages+=(clang-14 libclang-rt-14-dev llvm-14)
  # scripts/transparency.sh: the programs whose own tests run under the library.
  packages+=(python3.11 libpython3.11-testsuite dash make findutils coreutils)
  # tests/interp: Perl 5.36 with its core modules (Digest::SHA), beside python3.11 above.
  packages+=(perl)
fi
# --- portability (issue 12): --aarch64 adds the arm64 cross build, its qemu-user unit tests and
# its QEMU guest (scripts/test-aarch64.sh, scripts/package.sh). The arm64 multiarch libraries need
# dpkg's arm64 architecture, which is added here (and the package lists refreshed) when missing.
args=()
for a in "$@"; do
  if [ "$a" = "--aarch64" ]; then
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
      echo "forkguard: adding dpkg architecture arm64" >&2
      $( [ "$(id -u)" -eq 0 ] || echo sudo ) dpkg --add-architecture arm64
      $( [ "$(id -u)" -eq 0 ] || echo sudo ) apt-get update -qq
    fi
    packages+=(g++-aarch64-linux-gnu qemu-user-static qemu-system-arm libunwind-dev:arm64 libstdc++6:arm64 cpio
                libdw-dev:arm64 libelf-dev:arm64)
  else
    args+=("$a")
  fi
done
set -- "${args[@]+"${args[@]}"}"
# --- end of the portability block
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
