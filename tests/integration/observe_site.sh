# @file observe_site.sh
# @brief The site of each of a helper's CALLs (fork, vfork, _Fork) is "<helper>+0x<offset>",
# the offset lies inside the helper's main() (checked with nm), the COUNT call sites all differ,
# and two runs (ASLR: different load addresses) give the same sites.
#
# Usage: observe_site.sh VALIDATOR SHIM HELPER CALL COUNT
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3 call=$4 count=$5
name=$(basename "$helper")

for run in 1 2; do
  fg_run "$FG_TMP/run$run" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$helper"
  fg_expect_status "$FG_TMP/run$run" 0
  fg_records "$FG_TMP/run$run"
  "$validator" --only-exe "$name" --only-call "$call" --expect-count "$count" --expect-site-module "$name" --print-sites \
    "${FG_FILES[@]}" >"$FG_TMP/sites$run" || fail "run $run: the $call records are not all sited in $name"
done
echo "--- sites:"
cat "$FG_TMP/sites1"
cmp -s "$FG_TMP/sites1" "$FG_TMP/sites2" || { diff "$FG_TMP/sites1" "$FG_TMP/sites2" >&2; fail "the sites differ between two runs"; }
[ "$(sort -u "$FG_TMP/sites1" | wc -l)" -eq "$count" ] || fail "the $count $call call sites are not told apart"

# Every offset falls inside main() of the helper (a PIE: offsets are link-time addresses).
read -r main_addr main_size < <(nm -S --defined-only "$helper" | awk '$4 == "main" { print $1, $2 }')
[ -n "${main_addr:-}" ] || fail "nm finds no main in $helper"
lo=$((16#$main_addr)) hi=$((16#$main_addr + 16#$main_size))
while read -r _ site; do
  off=$((16#${site##*+0x}))
  if [ "$off" -le "$lo" ] || [ "$off" -gt "$hi" ]; then
    fail "site $site is not inside main() [0x$main_addr, +0x$main_size) of $name"
  fi
done <"$FG_TMP/sites1"

if [ "$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null)" = 0 ]; then
  echo "note: ASLR is off on this machine, so the two runs had the same load address"
fi
echo "ok: the $call sites are in $name's main(), distinct, and stable across runs"
