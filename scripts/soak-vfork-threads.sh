#!/usr/bin/env bash
# @file soak-vfork-threads.sh
# @brief Soak of issue #10 section 3's program: 8 threads each fork()+execl(/bin/true)+waitpid
# 50 times after a common barrier, under FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always, in
# four configurations: FORKGUARD_VFORK_SITES=all, and the default (learned) with a profile a
# learning run wrote, each with the program built at -O2 and at -O0. A run passes when it ends
# within 120 s with exit 0, prints "children 400 of 400", and its log holds exactly 400 valid
# fork records without errno. Prints, per configuration, how many runs passed and what the
# records say each fork did; exits 1 when any run failed.
#
# Usage: scripts/soak-vfork-threads.sh [--runs N] [--build DIR]   (default 100 runs, ./build)
# CI runs it with --runs 2 (ctest "mitigate threads: 8 threads x 50 ...").
set -u
set -o pipefail

runs=100
build=build
while [ "$#" -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "soak-vfork-threads: unknown argument $1" >&2; exit 2 ;;
  esac
done
shim=$build/libforkguard.so
cli=$build/forkguard
helpers=$build/tests/helpers
validator=$helpers/fg_test_validate_records
for f in "$shim" "$cli" "$validator" "$helpers/fg_helper_vfork_threads" "$helpers/fg_helper_vfork_threads_O0"; do
  [ -x "$f" ] || [ -f "$f" ] || { echo "soak-vfork-threads: $f not built" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/forkguard-soak.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
clean=(env -u LD_PRELOAD -u FORKGUARD_MODE -u FORKGUARD_TRIGGER -u FORKGUARD_LOG -u FORKGUARD_FORMAT
  -u FORKGUARD_STACK -u FORKGUARD_VFORK_SITES -u FORKGUARD_PROFILE -u FORKGUARD_SLIM_MIN)

# The learned configuration needs a site learned spawn-like: one learning run per build.
learned_ok=1
for prog in fg_helper_vfork_threads fg_helper_vfork_threads_O0; do
  "${clean[@]}" FORKGUARD_LOG="$tmp/learn.jsonl" timeout 120 "$cli" run --learn --profile "$tmp/$prog.profile" -- \
    "$helpers/$prog" 8 50 >/dev/null 2>&1 || { echo "soak-vfork-threads: the learning run of $prog failed" >&2; exit 1; }
  if grep -q ' exec-only$' "$tmp/$prog.profile"; then
    learned_ok=0
  elif ! grep -q "^fgp1 $prog+0x[0-9a-f]* exec 0 uffd-wp$" "$tmp/$prog.profile"; then
    echo "soak-vfork-threads: the learning run did not learn $prog's fork site spawn-like:" >&2
    cat "$tmp/$prog.profile" >&2
    exit 1
  fi
done

failed=0
# soak NAME PROGRAM SETTINGS...
soak() {
  local name=$1 prog=$2
  shift 2
  local ok=0 i status
  : >"$tmp/actions"
  for ((i = 1; i <= runs; ++i)); do
    rm -f "$tmp"/rec.*
    status=0
    "${clean[@]}" timeout 120 env LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always \
      FORKGUARD_FORMAT=json FORKGUARD_LOG="$tmp/rec.%p.jsonl" "$@" "$helpers/$prog" 8 50 \
      >"$tmp/out" 2>"$tmp/err" || status=$?
    if [ "$status" = 0 ] && grep -qx 'children 400 of 400' "$tmp/out" &&
      "$validator" --only-exe "$prog" --expect-call fork=400 --expect-count 400 --expect-failures 0 \
        "$tmp"/rec.* >/dev/null 2>"$tmp/validate"; then
      ok=$((ok + 1))
    else
      echo "  $name run $i: status $status, $(head -c 200 "$tmp/out"), $(tail -n 2 "$tmp/validate" 2>/dev/null)" >&2
    fi
    cat "$tmp"/rec.* 2>/dev/null | grep -o ',"action":"[a-z_]*"' >>"$tmp/actions"
  done
  local actions
  actions=$(sed 's/.*:"\(.*\)"/\1/' "$tmp/actions" | sort | uniq -c | awk '{ printf "%s%s=%s", sep, $2, $1; sep=" " }')
  printf '%-28s %3d of %d runs with 400 children and 400 records; actions: %s\n' "$name" "$ok" "$runs" "$actions"
  [ "$ok" = "$runs" ] || failed=1
}

soak "all, -O2" fg_helper_vfork_threads FORKGUARD_VFORK_SITES=all
soak "all, -O0" fg_helper_vfork_threads_O0 FORKGUARD_VFORK_SITES=all
if [ "$learned_ok" = 1 ]; then
  soak "learned profile, -O2" fg_helper_vfork_threads FORKGUARD_PROFILE="$tmp/fg_helper_vfork_threads.profile"
  soak "learned profile, -O0" fg_helper_vfork_threads_O0 FORKGUARD_PROFILE="$tmp/fg_helper_vfork_threads_O0.profile"
else
  echo "learned profile: skipped, this kernel offers no uffd-wp + PAGEMAP_SCAN (nothing can be learned)"
  [ "$failed" = 0 ] && exit 77
fi
exit "$failed"
