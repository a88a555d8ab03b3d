# @file hardening_malloc_threads.sh
# @brief Issue 6 item 2b: forks while other threads churn malloc (and fork), and while a thread
# is stopped inside malloc holding its arena's lock. Each child allocates and forks a grandchild
# through the shim (its locks were held by threads the child does not have): no child may
# deadlock (each is given 10 s, then killed and counted), and every fork of the process, its
# children and its threads has one valid record. Without the shim, observe, mitigate-always.
#
# Usage: hardening_malloc_threads.sh VALIDATOR SHIM HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3
name=$(basename "$helper")

run_case() {  # run_case LABEL MODE N [VAR=VALUE...]
  local label=$1 how=$2 n=$3 dir=$FG_TMP/$1.$2 line k
  shift 3
  local -a settings=()
  [ "$#" -gt 0 ] && settings=(LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.jsonl "$@")
  fg_run "$dir" 120 "${settings[@]}" -- "$helper" "$how" "$n"
  fg_expect_status "$dir" 0
  line=$(grep "^$how: " "$dir/stdout") || fail "$label/$how: no summary line"
  [[ "$line" == "$how: forks=$n children_ok=$n deadlocked=0 "* ]] || fail "$label/$how: $line"
  echo "  $label: $line; $(grep -h 'holder' "$dir/stderr" || true)"
  [ "$#" -gt 0 ] || return 0
  k=${line##*thread_forks=}
  fg_records "$dir"
  "$validator" --only-exe "$name" --expect-count $((2 * n + k)) --expect-call fork=$((2 * n + k)) \
    --expect-failures 0 "${FG_FILES[@]}" >/dev/null || fail "$label/$how: not one valid record per fork ($((2 * n + k)))"
}

for how in contention held; do
  n=200; [ $how = held ] && n=20
  run_case baseline $how $n
  run_case observe $how $n FORKGUARD_MODE=observe
  run_case mitigate $how $n FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always
done
echo "ok: no child deadlocked in the shim with malloc's locks held elsewhere; every fork recorded"
