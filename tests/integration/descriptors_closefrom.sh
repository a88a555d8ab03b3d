# @file descriptors_closefrom.sh
# @brief Issue #10 section 1's program, repeated: spawn, closefrom(3), open a data file (it gets
# descriptor 3), write, spawn and fork+exec, write again. Before the fix the library (Debian's
# libunwind 1.6.2 re-creating its validation pipe at the program's numbers) lost the second
# write in 24 of 30 observe runs. Every run must keep the data. Prints "MODE: kept K of N".
#
# Usage: descriptors_closefrom.sh SHIM HELPER MODE RUNS   (MODE: descriptors_lib.sh)
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"
# shellcheck source-path=SCRIPTDIR source=descriptors_lib.sh
source "$(dirname "$0")/descriptors_lib.sh"

shim=$1 helper=$2 mode=$3 runs=$4

dir=$FG_TMP/$mode
mkdir -p "$dir"
fg_descriptor_settings "$mode" "$dir"
kept=0
first_loss=
for ((i = 0; i < runs; ++i)); do
  if "${FG_CLEAN_ENV[@]}" timeout 60 env LD_PRELOAD="$shim" "${FG_SETTINGS[@]}" "$helper" "$dir/data" 20 \
    >"$dir/out" 2>>"$dir/stderr" </dev/null; then
    kept=$((kept + 1))
  elif [ -z "$first_loss" ]; then
    first_loss=$(cat "$dir/out")
  fi
done
echo "$mode: kept $kept of $runs"
[ "$kept" -eq "$runs" ] || fail "$mode: the program lost its data in $((runs - kept)) of $runs runs; first: $first_loss"
case $mode in
  slim) want='"action":"slim_fork"' ;;
  vfork) want='"action":"vfork"' ;;
  *) want='"stack":\[{' ;;
esac
n=$(grep -c "$want" "$dir/rec.jsonl" || true)
[ "$n" -ge "$runs" ] || fail "$mode: $n records show $want, expected one per run at least"
