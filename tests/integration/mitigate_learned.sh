# @file mitigate_learned.sh
# @brief Learning spawn-like sites on the real kernel, then using what was learned:
#   - `forkguard run --learn` (observe mode, FORKGUARD_PROFILE) records each observed child:
#     the exec child as "exec 0 uffd-wp" (also after a migration to another CPU), the worker
#     (writes memory, never execs) as written;
#   - under the seccomp injector, mitigate mode with the default FORKGUARD_VFORK_SITES=learned
#     rescues the exec child (output identical to a run without the injector; the record says
#     learned_by uffd-wp) and never gives the worker the substitute (it fails as without the shim);
#   - a foreign profile gives one warning and nothing is learned.
# Skips (77) when the kernel lacks userfaultfd async write-protect + PAGEMAP_SCAN (Linux < 6.7):
# there the profile says exec-only and no site can be learned, by design.
# Usage: mitigate_learned.sh CLI SHIM HELPER INJECTOR
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

cli=$1 shim=$2 helper=$3 inject=$4
name=$(basename "$helper")
profile=$FG_TMP/sites.profile

for mode in exec worker; do
  fg_run "$FG_TMP/learn-$mode" 30 FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$cli" run --learn --profile "$profile" -- "$helper" "$mode"
  fg_expect_status "$FG_TMP/learn-$mode" 0
done
[ -s "$profile" ] || fail "learning wrote no profile"
grep -q " exec-only$" "$profile" && { echo "SKIP: this kernel offers no uffd-wp + PAGEMAP_SCAN; nothing can be learned"; exit 77; }
grep -q "^fgp1 $name+0x[0-9a-f]* exec 0 uffd-wp$" "$profile" || { cat "$profile" >&2; fail "the exec child was not observed as spawn-like"; }
grep -Eq "^fgp1 $name\+0x[0-9a-f]* _exit [1-9][0-9]* uffd-wp$" "$profile" || { cat "$profile" >&2; fail "the worker child's writes were not seen"; }

# A child moved to another CPU before exec: the kernel rewrites its rseq area (beside the TCB,
# maybe on the next page); that must not count as the program's write (CI once saw "exec 1").
migrated=$FG_TMP/migrated.profile
fg_run "$FG_TMP/learn-migrate" 30 -- "$cli" run --learn --profile "$migrated" -- "$helper" migrate
if [ "$(cat "$FG_TMP/learn-migrate/status")" = 77 ]; then
  echo "note: one CPU only, the migration case was not run"
else
  fg_expect_status "$FG_TMP/learn-migrate" 0
  grep -q "^fgp1 $name+0x[0-9a-f]* exec 0 uffd-wp$" "$migrated" || { cat "$migrated" >&2; fail "a migrated exec child was not spawn-like (rseq writes counted)"; }
fi

M=(LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate FORKGUARD_PROFILE="$profile" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p.jsonl)
fg_run "$FG_TMP/base" 30 -- "$helper" exec
fg_run "$FG_TMP/exec" 30 "${M[@]}" -- "$inject" "$helper" exec
fg_compare "$FG_TMP/base" "$FG_TMP/exec"
fg_records "$FG_TMP/exec"
grep -q '"action":"vfork".*"learned_by":"uffd-wp"' "${FG_FILES[@]}" || fail "the rescued fork's record does not say learned_by uffd-wp"

fg_run "$FG_TMP/winj" 30 -- "$inject" "$helper" worker
fg_run "$FG_TMP/worker" 30 "${M[@]}" -- "$inject" "$helper" worker
fg_compare "$FG_TMP/winj" "$FG_TMP/worker"
fg_records "$FG_TMP/worker"
grep -q '"action":"refused".*not spawn-like' "${FG_FILES[@]}" || fail "the worker's record does not say why it was refused"

printf 'not a profile\n' >"$FG_TMP/foreign"
fg_run "$FG_TMP/foreign-run" 30 "${M[@]}" FORKGUARD_PROFILE="$FG_TMP/foreign" -- "$inject" "$helper" exec
fg_run "$FG_TMP/inj" 30 -- "$inject" "$helper" exec
fg_same "$FG_TMP/inj" "$FG_TMP/foreign-run" stdout
fg_same "$FG_TMP/inj" "$FG_TMP/foreign-run" status
fg_same "$FG_TMP/inj" "$FG_TMP/foreign-run" stderr  # the program's stderr is not ours: the notice is in the log
fg_records "$FG_TMP/foreign-run"
[ "$(grep -h '"notice":"[^"]*is not a forkguard profile' "${FG_FILES[@]}" | wc -l)" = 1 ] ||
  fail "a foreign profile did not give exactly one notice in the log"
echo "learned: exec child spawn-like and rescued; worker seen writing and never substituted; foreign profile ignored"
