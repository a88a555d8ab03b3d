# @file hardening_deepbind.sh
# @brief Issue 6 item 2e: a host dlopen()s a plugin with RTLD_DEEPBIND, and the plugin makes
# children with fork, system, popen+pclose and posix_spawn. What this glibc does, asserted: the
# plugin's lookup scope (itself, then its own dependencies: libc) comes before the global scope
# that holds the preload, so its calls bind to libc directly and forkguard sees none of them
# (0 records, no substitution in mitigate mode); the same plugin loaded without DEEPBIND is
# seen (5 records). The host works either way: stdout and status as without the shim.
#
# Usage: hardening_deepbind.sh VALIDATOR SHIM HOST PLUGIN
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

validator=$1 shim=$2 host=$3 plugin=$4
name=$(basename "$host")

count_records() {  # count_records DIR: records of the host's process (0 when no file was written)
  local f
  shopt -s nullglob
  local -a files=("$1"/rec.*)
  shopt -u nullglob
  if [ ${#files[@]} -eq 0 ]; then echo 0; return; fi
  "$validator" --only-exe "$name" "${files[@]}" >/dev/null || fail "invalid records in $1"
  cat "${files[@]}" | grep -c "\"exe\":\"[^\"]*/$name\"" || true
}

for mode in observe mitigate; do
  settings=(LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.jsonl FORKGUARD_MODE=$mode)
  [ $mode = mitigate ] && settings+=(FORKGUARD_TRIGGER=always)
  for which in deepbind plain; do
    fg_run "$FG_TMP/base.$which" 30 -- "$host" "$plugin" $which
    fg_expect_status "$FG_TMP/base.$which" 0
    dir=$FG_TMP/$mode.$which
    fg_run "$dir" 30 "${settings[@]}" -- "$host" "$plugin" $which
    fg_compare "$FG_TMP/base.$which" "$dir"
    n=$(count_records "$dir")
    want=5; [ $which = deepbind ] && want=0
    [ "$n" = $want ] || fail "$mode/$which: $n records of the plugin's calls, expected $want"
    echo "ok: $mode: plugin loaded $which: host unchanged, $n records"
  done
done
