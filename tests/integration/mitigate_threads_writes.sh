# @file mitigate_threads_writes.sh
# @brief Issue #10 section 3's second hazard: while a fork's child runs, another thread stores
# into objects on the forking thread's stack (a result slot, a flag, a buffer filled by read(2));
# after fork() returns the forking thread sees every store. The vfork substitute would copy its
# saved stack back over them, so with another thread alive it is not used: under mitigate with
# FORKGUARD_TRIGGER=always and FORKGUARD_VFORK_SITES=all the record says passthrough and why,
# for a forking main thread and a forking second thread alike. That the rule is what saves them
# is shown with a copy of the library built for this test only (FORCED), whose substitute runs
# despite the other thread: there the record says vfork and the helper sees its stores undone
# (STORES LOST, exit 1).
# Usage: mitigate_threads_writes.sh VALIDATOR SHIM HELPER FORCED
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3 forced=$4
name=$(basename "$helper")
S=(FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_VFORK_SITES=all FORKGUARD_FORMAT=json
  FORKGUARD_LOG=@DIR@/rec.%p.jsonl)
M=(LD_PRELOAD="$shim" "${S[@]}")

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
  # The counter-proof: a substitute made despite the other thread undoes its stores.
  fg_run "$FG_TMP/$who-forced" 30 LD_PRELOAD="$forced" "${S[@]}" -- "$helper" "$who"
  fg_expect_status "$FG_TMP/$who-forced" 1
  grep -q 'child exited 0; slot 0 flag 0 buf "\.*": STORES LOST' "$FG_TMP/$who-forced/stdout" ||
    fail "$who: the forced substitute did not undo the stores: $(cat "$FG_TMP/$who-forced/stdout")"
  fg_records "$FG_TMP/$who-forced"
  "$validator" --only-exe "$name" --expect-call fork=1 --expect-failures 0 --expect-field action=vfork \
    "${FG_FILES[@]}" || fail "$who: the forced substitute's record"
done
echo "ok: another thread's stores into the forking thread's stack survive; the records say why no substitute;" \
  "a substitute forced despite the thread loses them"
