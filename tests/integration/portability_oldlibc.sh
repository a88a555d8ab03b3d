# @file portability_oldlibc.sh
# @brief The tests' old-libc copy of the library (FORKGUARD_TEST_OLD_LIBC) really behaves as on a
# glibc without the functions newer than 2.17: a program calling _Fork() (2.34) gets ENOSYS and
# a record whose notice names it (nothing on stderr), where the ordinary library passes the call through.
#
# Usage: portability_oldlibc.sh OLDLIBC_SHIM SHIM _FORK_HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

old=$1 shim=$2 helper=$3
fg_run "$FG_TMP/new" 60 LD_PRELOAD="$shim" FORKGUARD_LOG=@DIR@/rec.log -- "$helper"
fg_expect_status "$FG_TMP/new" 0
fg_run "$FG_TMP/old" 60 LD_PRELOAD="$old" FORKGUARD_LOG=@DIR@/rec.log -- "$helper"
fg_expect_status "$FG_TMP/old" 1
grep -qx '_Fork: failed: Function not implemented' "$FG_TMP/old/stdout" ||
  fail "the old-libc copy did not fail _Fork with ENOSYS: $(cat "$FG_TMP/old/stdout")"
grep -q '_Fork at .* -> -1 ENOSYS .*notice: the real _Fork() cannot be found' "$FG_TMP/old/rec.log" ||
  fail "no record of the failed _Fork names the missing function: $(cat "$FG_TMP/old/rec.log" 2>&1)"
fg_same "$FG_TMP/new" "$FG_TMP/old" stderr  # the program's stderr stays the program's
echo "ok: with the old-libc copy _Fork fails with ENOSYS, recorded with a notice naming it; with the library it works"
