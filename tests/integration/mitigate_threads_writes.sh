# @file mitigate_threads_writes.sh
# @brief Issue #10 section 3's second hazard: while a fork's child runs, another thread stores
# into objects on the forking thread's stack (a result slot, a flag, a buffer filled by read(2));
# after fork() returns the forking thread sees every store. The vfork substitute would copy its
# saved stack back over them, so with another thread alive it is not used: under mitigate with
# FORKGUARD_TRIGGER=always and FORKGUARD_VFORK_SITES=all the record says passthrough and why,
# for a forking main thread and a forking second thread alike. (With the substitute used, as
# before this rule, the helper prints STORES LOST and exits 1.)
# Usage: mitigate_threads_writes.sh VALIDATOR SHIM HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3
name=$(basename "$helper")
M=(LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_VFORK_SITES=all
  FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.%p.jsonl)

for who in main thread; do
  fg_run "$FG_TMP/$who-base" 30 -- "$helper" "$who"
  fg_expect_status "$FG_TMP/$who-base" 0
  grep -q 'every store survived' "$FG_TMP/$who-base/stdout" || fail "$who: baseline"
  fg_run "$FG_TMP/$who" 30 "${M[@]}" -- "$helper" "$who"
  fg_compare "$FG_TMP/$who-base" "$FG_TMP/$who"
  fg_records "$FG_TMP/$who"
  "$validator" --only-exe "$name" --expect-call fork=1 --expect-failures 0 --expect-field action=passthrough \
    --expect-field 'attempts=[{"action":"passthrough"}]' "${FG_FILES[@]}" || fail "$who: the fork's record"
  grep -q '"reason":"vfork substitute not used: other threads are running' "${FG_FILES[@]}" ||
    fail "$who: the record does not say why the substitute was not used"
done
echo "ok: another thread's stores into the forking thread's stack survive; the records say why no substitute"
