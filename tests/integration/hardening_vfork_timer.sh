# @file hardening_vfork_timer.sh
# @brief Issue 6 item 2: vfork() from a SIGALRM handler that lands anywhere inside the shim's
# vfork wrapper (a 200 us timer over a loop of vforks), in observe and mitigate mode: the program
# runs to its end with every child exited 0 (the wrapper's return address and the caller's r12
# survive a handler's vfork), and there is exactly one valid record per vfork, handlers' included.
# Usage: hardening_vfork_timer.sh VALIDATOR SHIM HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3
name=$(basename "$helper")
N=5000

fg_run "$FG_TMP/base" 120 -- "$helper" "$N"
fg_expect_status "$FG_TMP/base" 0
for mode in observe mitigate; do
  dir=$FG_TMP/$mode
  fg_run "$dir" 120 LD_PRELOAD="$shim" FORKGUARD_MODE=$mode FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p -- "$helper" "$N"
  fg_expect_status "$dir" 0
  line=$(grep '^vfork-timer: ' "$dir/stdout") || fail "$mode: no summary line"
  handler=$(sed 's/.*handler=\([0-9]*\).*/\1/' <<<"$line")
  [ "$handler" -gt 0 ] || fail "$mode: the timer never fired during the loop: $line"
  fg_records "$dir"
  "$validator" --only-exe "$name" --expect-count $((N + handler)) --expect-call vfork=$((N + handler)) \
    "${FG_FILES[@]}" >/dev/null || fail "$mode: not one valid record per vfork ($line)"
  echo "ok: $mode: $line, $((N + handler)) records"
done
