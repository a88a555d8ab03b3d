#!/usr/bin/env bash
# @file load_cost.sh
# @brief Issue 13, child side: an exec'd program that inherits the preload pays only for loading
# an object. Its syscalls (strace) are those of the same program preloading a no-op C library,
# except at most two more mmaps (the shim's .bss, larger than its file's last page, and ld.so's
# static TLS block, which the shim's 10.6 KiB of thread-locals -- the in-flight vfork records and
# the substitute's call -- no longer fit in its first allocation: bench/README): no malloc
# initialisation (brk, getrandom), no file opened or read, no write, no descriptor, no getpid,
# whatever FORKGUARD_* asks for, since the settings are only parsed at load.
#
# Usage: load_cost.sh SHIM NOOP_LIBRARY
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

shim=$(realpath "$1") noop=$(realpath "$2")  # absolute: ld.so asks getcwd for a relative one
command -v strace >/dev/null || { echo "SKIP: strace is not installed (scripts/install-deps.sh installs it)"; exit 77; }
strace -qq -o /dev/null /bin/true 2>/dev/null || { echo "SKIP: ptrace is not permitted here"; exit 77; }

# "COUNT NAME" per syscall name of one run of /bin/true with PRELOAD and the settings.
syscalls() {
  local preload=$1 out=$2
  shift 2
  env -i PATH=/usr/bin:/bin strace -qq -o "$out.raw" -E LD_PRELOAD="$preload" "$@" /bin/true ||
    fail "/bin/true failed under strace with LD_PRELOAD=$preload"
  sed -n 's/^\([a-z_0-9]*\)(.*/\1/p' "$out.raw" | sort | uniq -c | awk '{ print $2, $1 }' | sort >"$out"
}

settings=(-E FORKGUARD_FORMAT=json -E "FORKGUARD_LOG=$FG_TMP/records.%p.jsonl" -E FORKGUARD_STACK=16
          -E FORKGUARD_TRIGGER=always -E FORKGUARD_VFORK_SITES=all)
syscalls "$noop" "$FG_TMP/noop" "${settings[@]}" -E FORKGUARD_MODE=observe
for mode in observe mitigate off; do
  syscalls "$shim" "$FG_TMP/shim.$mode" "${settings[@]}" -E "FORKGUARD_MODE=$mode"
  # Every name with its count in both runs; the shim may have two mmaps more.
  join -a1 -a2 -e 0 -o 0,1.2,2.2 "$FG_TMP/noop" "$FG_TMP/shim.$mode" | while read -r name want got; do
    if [ "$name" = mmap ] && [ "$got" -ge "$want" ] && [ "$got" -le $((want + 2)) ]; then continue; fi
    [ "$got" -eq "$want" ] || echo "$name: $got with the shim, $want with a no-op library"
  done >"$FG_TMP/diff.$mode"
  if [ -s "$FG_TMP/diff.$mode" ]; then
    cat "$FG_TMP/diff.$mode" >&2
    grep -v -E '^(execve|exit_group)' "$FG_TMP/shim.$mode.raw" | tail -40 >&2
    fail "FORKGUARD_MODE=$mode: loading the shim made syscalls a no-op library does not"
  fi
done
[ -z "$(ls "$FG_TMP" | grep '^records\.')" ] || fail "a record file was created by a program that made no call"
echo "ok: a child that inherits the shim makes a no-op library's syscalls (two mmaps more at most), in observe, mitigate and off"
