#!/usr/bin/env bash
# @file run-bench.sh
# @brief The forkguard bench without CMake's help: finds the built pieces in a build tree, runs
# the suite (one table: (a) caller side, (b) exec'd child) and, with --explain, the breakdown
# configurations and the per-piece costs. Prints figures; never fails on a figure.
#
#   bench/run-bench.sh [BUILD_DIR] [--explain] [-n N] [-r ROUNDS] [-w WARM] [--keep]
#
# BUILD_DIR defaults to build/ next to this directory. `cmake --build BUILD_DIR --target bench`
# (or bench-explain) builds the pieces first and runs the same thing.
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
build="$here/../build"
if [[ $# -gt 0 && $1 != -* ]]; then
  if [[ ! -d $1 ]]; then
    echo "run-bench: $1 is not a build directory" >&2
    exit 2
  fi
  build=$1
  shift
fi
build=$(cd "$build" && pwd)

explain=0
args=()
for a in "$@"; do
  if [[ $a == --explain ]]; then explain=1; fi
  args+=("$a")
done

shim="$build/libforkguard.so"
noop="$build/bench/libforkguard_bench_noop.so"
child="$build/bench/forkguard_bench_true"
spawn="$build/bench/forkguard_spawn_bench"
pieces="$build/bench/forkguard_piece_costs"
for f in "$shim" "$noop" "$child" "$spawn"; do
  if [[ ! -e $f ]]; then
    echo "run-bench: $f is missing; build first: cmake --build $build" >&2
    exit 2
  fi
done

"$spawn" --suite --shim "$shim" --noop "$noop" --child "$child" ${args[@]+"${args[@]}"}
if [[ $explain == 1 && -x $pieces ]]; then
  echo
  "$pieces" --noop "$noop"
fi
