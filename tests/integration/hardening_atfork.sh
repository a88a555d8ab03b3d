# @file hardening_atfork.sh
# @brief Issue 6 item 2c: the program's pthread_atfork handlers run exactly as without the shim
# (same handlers, same order, same count, in parent and child; a fork made inside a prepare
# handler included) in observe mode, mitigate mode and mitigate's slim fork: stdout is byte for
# byte the baseline's. The vfork substitute runs none, as README.md documents ("Atfork handlers
# do not run for a substitute"): under the seccomp injector the logs stay empty.
#
# Usage: hardening_atfork.sh VALIDATOR SHIM HELPER INJECTOR
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 helper=$3 inject=$4
name=$(basename "$helper")
common=(LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.jsonl)

fg_run "$FG_TMP/base" 30 -- "$helper" big
fg_expect_status "$FG_TMP/base" 0
# glibc's order: prepare handlers last-registered first, parent and child handlers in order.
first=$(head -1 "$FG_TMP/base/stdout")
[ "$first" = "child [56]: | prepB prepA nest{ prepB prepA parA parB }nest chA chB " ] ||
  fail "baseline: unexpected handler order: $first"

check() {  # check LABEL EXPECT-ACTIONS... -- VAR=VALUE...: same stdout as the baseline, 4 fork records
  local label=$1 dir=$FG_TMP/$1
  shift
  local -a actions=()
  while [ "$1" != -- ]; do actions+=("$1"); shift; done
  shift
  fg_run "$dir" 30 "${common[@]}" "$@" -- "$helper" big
  fg_compare "$FG_TMP/base" "$dir"
  fg_records "$dir"
  "$validator" --only-exe "$name" --expect-count 4 --expect-call fork=4 --expect-failures 0 \
    --expect-degraded reentered=1 "${FG_FILES[@]}" >/dev/null ||
    fail "$label: not 4 valid fork records with the prepare handler's fork degraded"
  local want got
  want=$(printf '%s\n' "${actions[@]}" | sort)
  got=$(grep -o ',"action":"[a-z_]*"' "${FG_FILES[@]}" | sed 's/.*:"\(.*\)"/\1/' | sort)  # not "attempts"' entries
  [ "$want" = "$got" ] || fail "$label: actions $(echo $got), expected $(echo $want)"
  echo "ok: $label: handlers identical; actions $(echo $got)"
}
check observe passthrough passthrough passthrough passthrough -- FORKGUARD_MODE=observe
check mitigate passthrough passthrough passthrough passthrough -- FORKGUARD_MODE=mitigate
# The nested fork inside the prepare handler passes through; the three others are slim forks.
check mitigate-slim slim_fork slim_fork slim_fork passthrough -- FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always \
  FORKGUARD_SLIM_MIN=4M

dir=$FG_TMP/vfork
fg_run "$dir" 30 "${common[@]}" FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_VFORK_SITES=all -- \
  "$inject" "$helper" nonest
fg_expect_status "$dir" 0
printf 'child [2]: | \nparent [2]: | \nchild [4]: | | \nparent [4]: | | \nchild [6]: | | | \nparent [6]: | | | \n' \
  >"$FG_TMP/vfork.expected"
cmp -s "$FG_TMP/vfork.expected" "$dir/stdout" || {
  diff -u "$FG_TMP/vfork.expected" "$dir/stdout" >&2
  fail "vfork substitute: handlers ran (README: none run for a substitute)"
}
fg_records "$dir"
"$validator" --only-exe "$name" --expect-count 3 --expect-field action=vfork --expect-failures 0 "${FG_FILES[@]}" \
  >/dev/null || fail "vfork substitute: not 3 vfork records"
echo "ok: vfork substitute: no handler ran, as documented"
