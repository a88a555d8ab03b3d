# @file mitigate_shell.sh
# @brief Mitigate mode's own system()/popen()/pclose() over posix_spawn (FORKGUARD_TRIGGER=always
# makes every call substitute): the helper's stdout, stderr and exit status are byte-identical to
# a run without the shim, and every system/popen record says action posix_spawn with the child's
# pid; under the seccomp injector (no copying fork at all) the same holds.
# Usage: mitigate_shell.sh VALIDATOR SHIM INJECTOR HELPER...
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 inject=$3
shift 3
for helper in "$@"; do
  name=$(basename "$helper")
  call=${name#fg_helper_}
  fg_run "$FG_TMP/$name.base" 30 -- "$helper"
  fg_expect_status "$FG_TMP/$name.base" 0
  for how in plain injected; do
    run=(); [ "$how" = injected ] && run=("$inject")
    dir=$FG_TMP/$name.$how
    fg_run "$dir" 30 LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_FORMAT=json \
      FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "${run[@]}" "$helper"
    fg_compare "$FG_TMP/$name.base" "$dir"
    fg_records "$dir"
    n=$(grep -h "\"exe\":\"[^\"]*/$name\"" "${FG_FILES[@]}" | grep -c "\"call\":\"$call\"")
    [ "$n" -gt 0 ] || fail "$name ($how): no $call record"
    bad=$(grep -h "\"exe\":\"[^\"]*/$name\"" "${FG_FILES[@]}" | grep "\"call\":\"$call\"" | grep -vc '"action":"posix_spawn"' || true)
    [ "$bad" = 0 ] || fail "$name ($how): $bad $call records without action posix_spawn"
    "$validator" --only-exe "$name" "${FG_FILES[@]}" >/dev/null || fail "$name ($how): invalid records"
  done
done
echo "system/popen over posix_spawn: identical behaviour, every call substituted"
