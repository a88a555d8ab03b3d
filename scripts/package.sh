#!/usr/bin/env bash
# @brief Makes the packages of forkguard, one release build per architecture:
#   DIR/forkguard_<version>_amd64.deb            Debian 12, x86_64
#   DIR/forkguard_<version>_arm64.deb            Debian 12, aarch64
#   DIR/forkguard-<version>-linux-x86_64.tar.gz  relocatable: bin/ lib/ share/, unpack anywhere
#   DIR/forkguard-<version>-linux-aarch64.tar.gz
# Before packaging, each build's libforkguard.so must pass the glibc-floor checks of the test
# suite (tests/integration/portability_floor.sh: no version newer than GLIBC_2.17, every symbol in
# glibc 2.17's ABI lists, no definition of its own renamed to a glibc version), and each package
# must hold programs of its architecture.
#
# Usage: scripts/package.sh [--arch x86_64|aarch64|all] [--out DIR]    (default: all, dist/)
# Builds in build-pkg-<arch>/ (RelWithDebInfo, tests off; packages are stripped; a later run
# rebuilds only what changed). aarch64 is a cross build (cmake/aarch64-linux-gnu.cmake):
# scripts/install-deps.sh --build --aarch64 installs it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
arches="x86_64 aarch64" out=$top/dist
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arches=${2:-}; [ "$arches" = all ] && arches="x86_64 aarch64"; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
say() { echo "package.sh: $*"; }

for arch in $arches; do
  build=$top/build-pkg-$arch
  opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFORKGUARD_TESTS=OFF)
  if command -v ccache >/dev/null; then
    opts+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  case $arch in
    x86_64) [ "$(uname -m)" = x86_64 ] || { echo "package.sh: x86_64 packages are built on x86_64" >&2; exit 2; } ;;
    aarch64) command -v aarch64-linux-gnu-g++ >/dev/null ||
               { echo "package.sh: no aarch64 cross compiler: run scripts/install-deps.sh --aarch64" >&2; exit 2; }
             opts+=(-DCMAKE_TOOLCHAIN_FILE="$top/cmake/aarch64-linux-gnu.cmake") ;;
    *) echo "package.sh: --arch must be x86_64, aarch64 or all" >&2; exit 2 ;;
  esac
  mkdir -p "$build"
  say "$arch: configuring and building in $build"
  cmake -S "$top" -B "$build" "${opts[@]}" >"$build/package.log" 2>&1 || { cat "$build/package.log" >&2; exit 1; }
  cmake --build "$build" -j"$(nproc)" >>"$build/package.log" 2>&1 || { tail -n 30 "$build/package.log" >&2; exit 1; }
  say "$arch: checking the library's glibc floor"
  for check in versions symbols; do
    args=("$build/libforkguard.so")
    [ "$check" = symbols ] && args+=("$top/tests/fixtures/abilist")
    if ! bash "$top/tests/integration/portability_floor.sh" "$check" "${args[@]}" >"$build/floor.txt" 2>&1; then
      cat "$build/floor.txt" >&2
      echo "package.sh: $arch: the library does not keep the glibc floor; no package made" >&2
      exit 1
    fi
    tail -n 1 "$build/floor.txt"
  done
  for gen in DEB TGZ; do
    (cd "$build" && cpack -G "$gen" -B "$build/packages") >>"$build/package.log" 2>&1 ||
      { tail -n 30 "$build/package.log" >&2; echo "package.sh: cpack -G $gen failed for $arch" >&2; exit 1; }
  done
  # Each package holds the architecture it is named for: the .deb's Architecture field, and every
  # program and library in both (a cross build that picked up the build machine's compiler would not).
  case $arch in x86_64) deb_arch=amd64 machine=X86-64 ;; aarch64) deb_arch=arm64 machine=AArch64 ;; esac
  for f in "$build"/packages/forkguard_*.deb "$build"/packages/forkguard-*.tar.gz; do
    rm -rf "$build/packages/check" && mkdir -p "$build/packages/check"
    case $f in
      *.deb) [ "$(dpkg-deb -f "$f" Architecture)" = "$deb_arch" ] ||
               { echo "package.sh: $f: Architecture is not $deb_arch" >&2; exit 1; }
             dpkg-deb -x "$f" "$build/packages/check" ;;
      *) tar -xzf "$f" -C "$build/packages/check" ;;
    esac
    elves=$(find "$build/packages/check" -type f \( -name forkguard -o -name forkguard-demo -o -name libforkguard.so \))
    [ "$(echo "$elves" | wc -l)" -eq 3 ] || { echo "package.sh: $f lacks the CLI, the demo or the library" >&2; exit 1; }
    for e in $elves; do
      readelf -h "$e" | grep -q "Machine:.*$machine" ||
        { echo "package.sh: $f: ${e#"$build/packages/check/"} is not an $arch program" >&2; exit 1; }
    done
    cp "$f" "$out/"
    say "$arch: $out/$(basename "$f") ($(du -k "$f" | cut -f1) KiB)"
  done
  rm -rf "$build/packages"
done
