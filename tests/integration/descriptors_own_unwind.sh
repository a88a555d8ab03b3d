# @file descriptors_own_unwind.sh
# @brief A program that loaded libunwind itself: the library leaves that libunwind alone (its
# descriptor table is the same around the spawns, no pipe of the library's appears) and its
# records still carry stacks (libgcc's unwinder). See tests/helpers/fd_own_unwind.c.
#
# Usage: descriptors_own_unwind.sh SHIM HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

shim=$1 helper=$2
fg_run "$FG_TMP/base" 60 -- "$helper"
[ "$(cat "$FG_TMP/base/status")" != 77 ] || { cat "$FG_TMP/base/stdout"; exit 77; }
fg_expect_status "$FG_TMP/base" 0
fg_run "$FG_TMP/shim" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.jsonl -- "$helper"
cat "$FG_TMP/shim/stdout"
fg_expect_status "$FG_TMP/shim" 0
fg_same "$FG_TMP/base" "$FG_TMP/shim" stdout
n=$(grep -c '"stack":\[{' "$FG_TMP/shim/rec.jsonl" || true)
[ "$n" -eq 3 ] || fail "$n of 3 records carry a stack"
echo "ok: the program's own libunwind left alone, its records' stacks from libgcc's unwinder"
