# @file observe_ctor.sh
# @brief fork()+wait and system() from a DT_NEEDED library's constructor, which ld.so runs
# before the preloaded shim's constructor (checked with LD_DEBUG=files): the program behaves
# identically, and all four calls are recorded, the constructor's sited in the library.
#
# Usage: observe_ctor.sh VALIDATOR SHIM HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3
name=$(basename "$helper")
lib=libfg_helper_ctor.so

# The premise: the library's constructor runs first.
fg_run "$FG_TMP/order" 60 LD_PRELOAD="$shim" FORKGUARD_LOG=@DIR@/rec.%p.txt LD_DEBUG=files -- "$helper"
pid=$(grep -m1 -Eo "^ *[0-9]+:\s+calling init:" "$FG_TMP/order/stderr" | grep -Eo "[0-9]+" || true)
[ -n "$pid" ] || fail "LD_DEBUG=files printed no \"calling init\" line"
order=$(grep -E "^ *$pid:\s+calling init: .*/(libforkguard\.so|$lib)\$" "$FG_TMP/order/stderr" | sed "s|.*/||" | tr "\n" " ")
[ "$order" = "$lib libforkguard.so " ] ||
  fail "expected ld.so to run $lib's constructor before the shim's; LD_DEBUG=files order (pid $pid): '$order'"

fg_run "$FG_TMP/base" 60 -- "$helper"
fg_run "$FG_TMP/shim" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$helper"
fg_expect_status "$FG_TMP/base" 0
fg_compare "$FG_TMP/base" "$FG_TMP/shim"
fg_records "$FG_TMP/shim"
"$validator" --only-exe "$name" --expect-count 4 --expect-call fork=2 --expect-call system=2 --expect-failures 0 \
  --print-sites "${FG_FILES[@]}" >"$FG_TMP/sites" || fail "the records of $name are not as expected"
cat "$FG_TMP/sites"
sed -E 's/\+0x[0-9a-f]+$//' "$FG_TMP/sites" >"$FG_TMP/where"
printf 'fork %s\nsystem %s\nfork %s\nsystem %s\n' "$lib" "$lib" "$name" "$name" | cmp -s - "$FG_TMP/where" ||
  fail "expected the constructor's fork and system (sited in $lib) then main's (in $name)"
echo "ok: calls made before the shim's constructor ran are recorded, and behave identically"
