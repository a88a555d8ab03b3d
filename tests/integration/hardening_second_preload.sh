# @file hardening_second_preload.sh
# @brief Issue 6 item 2d: a second preload library that also wraps fork(), in both orders of
# LD_PRELOAD. The program behaves as without either (stdout and status), both wrappers run for
# each fork, in LD_PRELOAD order (the first listed is outermost), and each fork has its record.
# Records and the other library's lines share stderr, so their order shows who ran inside whom:
#   forkguard first: other before, other after, record (the other library runs inside forkguard);
#   other first:     other before, record, other after (forkguard runs inside it, and its
#                    record's site is the other library's call to fork).
#
# Usage: hardening_second_preload.sh SHIM OTHER HELPER(fg_helper_fork)
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

shim=$1 other=$2 helper=$3
other_name=$(basename "$other")

fg_run "$FG_TMP/base" 30 -- "$helper"
fg_expect_status "$FG_TMP/base" 0

# The parent's stderr reduced to one letter per line: b(efore), a(fter), r(ecord).
sequence() {
  sed -n -e 's/^other: fork before$/b/p' -e 's/^other: fork after pid$/a/p' -e 's/^{.*"call":"fork".*/r/p' "$1" |
    tr -d '\n'
}

for order in forkguard-first other-first; do
  if [ $order = forkguard-first ]; then preload="$shim $other"; want=barbar; else preload="$other $shim"; want=brabra; fi
  dir=$FG_TMP/$order
  fg_run "$dir" 30 LD_PRELOAD="$preload" FORKGUARD_FORMAT=json FORKGUARD_LOG=stderr -- "$helper"
  fg_same "$FG_TMP/base" "$dir" stdout
  fg_same "$FG_TMP/base" "$dir" status
  got=$(sequence "$dir/stderr")
  [ "$got" = "$want" ] || { cat "$dir/stderr" >&2; fail "$order: order $got, expected $want (b=other before, a=other after, r=record)"; }
  n=$(grep -c '^{.*"call":"fork"' "$dir/stderr")
  [ "$n" = 2 ] || fail "$order: $n fork records, expected 2"
  if [ $order = other-first ]; then
    bad=$(grep '^{.*"call":"fork"' "$dir/stderr" | grep -vc "\"site\":\"$other_name+0x" || true)
    [ "$bad" = 0 ] || fail "$order: a record's site is not in $other_name, the caller of forkguard's fork"
  fi
  echo "ok: $order: both wrappers ran ($got), program unchanged"
done
