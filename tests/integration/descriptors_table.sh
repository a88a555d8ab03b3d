# @file descriptors_table.sh
# @brief Issue #10 section 1, the rule for descriptors: around every entry point (fork, vfork,
# _Fork, system, popen+pclose, posix_spawn[p], daemon in a child, the exec family from a child),
# the program's descriptor table is the same after the call as before (numbers, targets, offsets,
# flags) below the library's high base, after the program closed everything from 3 and reused
# its low numbers; every descriptor at or above the base is close-on-exec; on the child side the
# fork child's table is the parent's, and the program it execs after reusing its own low numbers
# gets exactly its descriptors. See tests/helpers/fd_table.c.
#
# Usage: descriptors_table.sh SHIM TABLE_HELPER CHECK_HELPER MODE   (MODE: descriptors_lib.sh)
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"
# shellcheck source-path=SCRIPTDIR source=descriptors_lib.sh
source "$(dirname "$0")/descriptors_lib.sh"

shim=$1 table=$2 check=$3 mode=$4

# The test's own logic first: without the library every check holds.
fg_run "$FG_TMP/base" 120 -- "$table" "$check" @DIR@ 64
fg_expect_status "$FG_TMP/base" 0

dir=$FG_TMP/$mode
mkdir -p "$dir"
fg_descriptor_settings "$mode" "$dir"
fg_run "$dir" 120 LD_PRELOAD="$shim" "${FG_SETTINGS[@]}" -- "$table" "$check" @DIR@ 64
cat "$dir/stdout"
fg_expect_status "$dir" 0
grep -q '^fd_table: [0-9]* checks, 0 failed$' "$dir/stdout" || fail "$mode: no summary line"

# The configuration really did what it names (otherwise the table proves nothing about it).
count() { grep -c "$1" "$dir/rec.jsonl" || true; }
case $mode in
  observe | learning)
    # Stacks were captured: the unwinder ran around every call.
    [ "$(count '"stack":\[{')" -ge 20 ] || fail "$mode: fewer than 20 records with a stack"
    ;;
  slim)
    n=$(count '"action":"slim_fork"')
    [ "$n" -ge 10 ] || fail "slim: $n slim forks, expected every fork (10 or more)"
    ;;
  vfork)
    n=$(count '"action":"vfork"')
    [ "$n" -ge 10 ] || fail "vfork: $n vfork substitutes, expected every fork() with a stub (10 or more)"
    ;;
esac
if [ "$mode" = learning ]; then
  # Children were watched, and each watched child had its userfaultfd at the high base.
  [ -s "$dir/profile" ] || fail "learning: no observation was written to the profile"
  grep -q 'child (learning descriptor at [0-9]*): intact' "$dir/stdout" ||
    fail "learning: no child reported the library's userfaultfd (at the high base)"
fi
echo "ok: $mode: the program's descriptors are intact on both sides of every entry point"
