# @file mitigate_chain.sh
# @brief Mitigate mode's fallback chain for fork() and _Fork(), under the seccomp injector (every
# copying clone gets ENOMEM, as a commit refusal would), with a parent holding 256 MiB of which a
# slim fork excludes all but 1 MiB (FORKGUARD_SLIM_MIN=128M):
#   - VFORK_SITES=all, trigger always: the slim fork is refused, the vfork substitute makes the
#     child; output identical to a run without the injector; attempts slim_fork:ENOMEM, vfork;
#   - trigger predicted (verdict ok): the full fork, then the slim fork, are refused, then vfork;
#   - VFORK_SITES=none, or another thread alive: nothing else can help: refused, as without the
#     shim, the attempts and the reason saying so;
#   - a site learned spawn-like, single-threaded: the vfork substitute first (no slim fork made);
#     with another thread alive the substitute declines and the chain goes on (slim, refused);
#   - _Fork called directly (glibc's _Fork helper too) gets the same chain as fork.
# Usage: mitigate_chain.sh VALIDATOR SHIM CLI INJECTOR HELPER FORK_HELPER
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 cli=$3 inject=$4 helper=$5 underscore=$6
name=$(basename "$helper")
M=(LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate FORKGUARD_SLIM_MIN=128M FORKGUARD_FORMAT=json
  FORKGUARD_LOG=@DIR@/rec.%p.jsonl)

# expect DIR CALL ACTION ATTEMPTS [more validator options]
expect() {
  local dir=$1 call=$2 action=$3 attempts=$4
  shift 4
  fg_records "$dir"
  "$validator" --only-exe "$name" --expect-call "$call"=1 --expect-field action="$action" \
    --expect-field attempts="$attempts" "$@" "${FG_FILES[@]}" || fail "$(basename "$dir"): the record"
}
SLIM_VFORK='[{"action":"slim_fork","errno":"ENOMEM"},{"action":"vfork"}]'
SLIM_REFUSED='[{"action":"slim_fork","errno":"ENOMEM"}]'

for call in fork _Fork; do
  fg_run "$FG_TMP/$call-base" 30 -- "$helper" "$call"
  fg_expect_status "$FG_TMP/$call-base" 0
  grep -qx 'parent: buffer 1 2' "$FG_TMP/$call-base/stdout" || fail "$call: baseline"
  fg_run "$FG_TMP/$call-inj" 30 -- "$inject" "$helper" "$call"
  fg_expect_status "$FG_TMP/$call-inj" 1
  grep -qx "parent: $call failed: Cannot allocate memory" "$FG_TMP/$call-inj/stdout" || fail "$call: the injector"

  d=$FG_TMP/$call-all
  fg_run "$d" 30 "${M[@]}" FORKGUARD_TRIGGER=always FORKGUARD_VFORK_SITES=all -- "$inject" "$helper" "$call"
  fg_compare "$FG_TMP/$call-base" "$d"
  expect "$d" "$call" vfork "$SLIM_VFORK" --expect-failures 0
  grep -q '"reason":"the kernel refused the slim fork (ENOMEM)"' "${FG_FILES[@]}" || fail "$call: the reason"

  d=$FG_TMP/$call-predicted
  fg_run "$d" 30 "${M[@]}" FORKGUARD_VFORK_SITES=all -- "$inject" "$helper" "$call"
  fg_compare "$FG_TMP/$call-base" "$d"
  expect "$d" "$call" vfork '[{"action":"passthrough","errno":"ENOMEM"},{"action":"slim_fork","errno":"ENOMEM"},{"action":"vfork"}]'

  d=$FG_TMP/$call-none
  fg_run "$d" 30 "${M[@]}" FORKGUARD_TRIGGER=always FORKGUARD_VFORK_SITES=none -- "$inject" "$helper" "$call"
  fg_compare "$FG_TMP/$call-inj" "$d"
  expect "$d" "$call" refused "$SLIM_REFUSED" --expect-errno ENOMEM=1
  grep -q '"reason":"no substitute allowed: [^"]*FORKGUARD_VFORK_SITES=none"' "${FG_FILES[@]}" || fail "$call none: the reason"

  d=$FG_TMP/$call-thread
  fg_run "$FG_TMP/$call-thread-inj" 30 -- "$inject" "$helper" --thread "$call"
  fg_run "$d" 30 "${M[@]}" FORKGUARD_TRIGGER=always FORKGUARD_VFORK_SITES=all -- "$inject" "$helper" --thread "$call"
  fg_compare "$FG_TMP/$call-thread-inj" "$d"
  expect "$d" "$call" refused "$SLIM_REFUSED" --expect-errno ENOMEM=1
  grep -q '"reason":"vfork substitute not used: other threads are running' "${FG_FILES[@]}" || fail "$call thread: the reason"
done

# A site learned spawn-like (the learning runs without the injector, in observe mode).
profile=$FG_TMP/chain.profile
for call in fork _Fork; do
  fg_run "$FG_TMP/learn-$call" 60 FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$cli" run --learn --profile "$profile" -- "$helper" "$call"
  fg_expect_status "$FG_TMP/learn-$call" 0
done
if grep -q ' exec-only$' "$profile"; then
  echo "SKIP (learned part only): this kernel offers no uffd-wp + PAGEMAP_SCAN; nothing can be learned"
else
  grep -q "^fgp1 $name+0x[0-9a-f]* exec 0 uffd-wp$" "$profile" || { cat "$profile" >&2; fail "the site was not learned"; }
  for call in fork _Fork; do
    d=$FG_TMP/$call-learned
    fg_run "$d" 30 "${M[@]}" FORKGUARD_TRIGGER=always FORKGUARD_PROFILE="$profile" -- "$inject" "$helper" "$call"
    fg_compare "$FG_TMP/$call-base" "$d"
    expect "$d" "$call" vfork '[{"action":"vfork"}]' --expect-field learned_by=uffd-wp
    d=$FG_TMP/$call-learned-thread
    fg_run "$d" 30 "${M[@]}" FORKGUARD_TRIGGER=always FORKGUARD_PROFILE="$profile" -- "$inject" "$helper" --thread "$call"
    fg_compare "$FG_TMP/$call-thread-inj" "$d"
    expect "$d" "$call" refused "$SLIM_REFUSED"
  done
fi

# glibc's own _Fork helper (two children: exec'd, _exit(6)) is rescued like fork.
fg_run "$FG_TMP/uf-base" 30 -- "$underscore"
fg_run "$FG_TMP/uf" 30 LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate FORKGUARD_VFORK_SITES=all FORKGUARD_FORMAT=json \
  FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$inject" "$underscore"
fg_compare "$FG_TMP/uf-base" "$FG_TMP/uf"
fg_records "$FG_TMP/uf"
"$validator" --only-exe "$(basename "$underscore")" --expect-call _Fork=2 --expect-failures 0 --expect-field action=vfork \
  "${FG_FILES[@]}" || fail "_Fork helper: the records"
echo "ok: the chain slim fork -> vfork substitute for fork and _Fork, declines recorded, learned sites vfork first"
