# @file portability_oldlibc_stacks.sh
# @brief Stacks as on a glibc without _dl_find_object (before 2.35): the tests' old-libc copy of
# the library makes libgcc's unwinder find objects by walking dl_iterate_phdr
# (src/libgcc_floor.cpp). Each program runs under the library and under the old-libc copy; every
# record's stack (module, offset, symbol of each frame) must be the same in both, with at least
# two frames. HELPER... are programs whose records carry stacks: one that loaded libunwind itself
# (the library then unwinds with libgcc throughout) and an ordinary one (libgcc's first walk must
# prove an ordinary call before libunwind is loaded).
#
# Usage: portability_oldlibc_stacks.sh OLDLIBC_SHIM SHIM HELPER...
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

old=$1 shim=$2
shift 2
# The stacks of a run's records, one line each, in order.
stacks() { grep -o '"stack":\[[^]]*\]' "$1/rec.jsonl" || true; }
for helper in "$@"; do
  name=$(basename "$helper")
  for copy in new old; do
    lib=$shim
    [ "$copy" = old ] && lib=$old
    fg_run "$FG_TMP/$name.$copy" 60 LD_PRELOAD="$lib" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.jsonl -- "$helper"
    [ "$(cat "$FG_TMP/$name.$copy/status")" != 77 ] || { cat "$FG_TMP/$name.$copy/stdout"; exit 77; }
    fg_expect_status "$FG_TMP/$name.$copy" 0
    stacks "$FG_TMP/$name.$copy" >"$FG_TMP/$name.$copy.stacks"
  done
  n=$(wc -l <"$FG_TMP/$name.new.stacks")
  [ "$n" -gt 0 ] || fail "$name: no record with a stack under the library"
  if ! diff "$FG_TMP/$name.new.stacks" "$FG_TMP/$name.old.stacks" >"$FG_TMP/diff"; then
    cat "$FG_TMP/diff" >&2
    fail "$name: the old-libc copy's stacks differ from the library's"
  fi
  while read -r s; do
    frames=$(grep -o '"module"' <<<"$s" | wc -l)
    [ "$frames" -ge 2 ] || fail "$name: a stack of $frames frame(s): $s"
  done <"$FG_TMP/$name.new.stacks"
  echo "ok: $name: $n stacks, the same with libgcc walking dl_iterate_phdr as with glibc's _dl_find_object"
  head -n 1 "$FG_TMP/$name.old.stacks" | sed 's/^/  /'
done
