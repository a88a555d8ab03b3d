# @file hardening_input.sh
# @brief Bad input (issue 6, item 5).
#   env        every FORKGUARD_* variable `forkguard options` lists, one at a time, set to
#              garbage (control and non-UTF-8 bytes), empty, and 128 KiB (the most an exec can
#              pass): stdout and status as without the shim, at most one warning per process
#              image (the helper and the program it execs), naming the variable first, and the
#              default in force (records as the defaults make them)
#   hugeenv    every variable at 1 MiB, set with setenv() by a library constructor that forks
#              before the shim's constructor ran: one warning each, both forks recorded
#   badcalls   system(NULL), system() of 1 MiB and 100 KiB commands, popen() with every
#              invalid mode and a NULL command, posix_spawn[p] with NULL pid/attr/actions/envp,
#              execve with NULL argv/envp: what each returns (value and errno) is identical
#              without the shim, with it (observe) and with our own system()/popen() (mitigate,
#              trigger always); the records stay whole JSON lines
#   noproc     /proc is an empty tmpfs (private mount namespace): the program behaves as without
#              the shim, both forks are recorded with verdict unknown and action passthrough
#   junkproc   /proc holds garbage files (fixtures) where the shim reads: the same
#   lockedproc /proc holds well-formed files the program may not read (mode 000, run as uid
#              65534): the same
#   noproc-contract  the noproc records pass the full record validator (site module, mode)
# Usage: hardening_input.sh CASE VALIDATOR SHIM HELPER_DIR FORKGUARD_CLI FIXTURES
# Exit 77 = skipped, with the reason printed.
if [ "${1:-}" != --inner ]; then
  case ${1:-} in
  noproc | junkproc | lockedproc | noproc-contract)
    [ "$(id -u)" -eq 0 ] || { echo "SKIP: $1 needs root for a private mount namespace"; exit 77; }
    unshare -m --propagation private true 2>/dev/null || { echo "SKIP: unshare -m is not permitted here"; exit 77; }
    exec unshare -m --propagation private bash "$0" --inner "$@"
    ;;
  esac
else
  shift
fi

# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"
trap 'rm -rf --one-file-system "$FG_TMP"' EXIT

case_name=$1 validator=$2 shim=$3 helpers=$4 cli=$5 fixtures=$6
fork_helper=$helpers/fg_helper_fork
# Relative paths (a garbage FORKGUARD_LOG is one) land in the scratch directory.
mkdir -p "$FG_TMP/cwd" && cd "$FG_TMP/cwd" || fail "cd"

# warnings DIR: the "forkguard: " lines of DIR/stderr that are not records, in DIR/said.
warnings() { grep -a '^forkguard: ' "$1/stderr" | grep -av '^forkguard: fork at ' >"$1/said" || true; }

# proc_case: runs the fork helper without the shim, then with it (observe, then mitigate), in the
# /proc the caller set up, as `runner` (a command prefix); checks behaviour and verdicts.
proc_case() {
  local -a runner=("$@")
  fg_run "$FG_TMP/base" 60 -- "${runner[@]}" "$fork_helper"
  fg_expect_status "$FG_TMP/base" 0
  local mode
  for mode in observe mitigate; do
    fg_run "$FG_TMP/$mode" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_MODE=$mode \
      FORKGUARD_LOG=@DIR@/rec.jsonl -- "${runner[@]}" "$fork_helper"
    fg_compare "$FG_TMP/base" "$FG_TMP/$mode"
    [ "$(wc -l <"$FG_TMP/$mode/rec.jsonl")" -eq 2 ] || fail "$mode: want 2 records: $(cat "$FG_TMP/$mode/rec.jsonl")"
    [ "$(grep -c '^{.*"call":"fork".*"verdict":"unknown".*"action":"passthrough".*}$' "$FG_TMP/$mode/rec.jsonl")" -eq 2 ] ||
      fail "$mode: want 2 fork records with verdict unknown and action passthrough: $(cat "$FG_TMP/$mode/rec.jsonl")"
  done
}

case $case_name in
env)
  mapfile -t vars < <("$cli" options | grep -E '^FORKGUARD_[A-Z_]+$')
  [ "${#vars[@]}" -ge 10 ] || fail "forkguard options listed ${#vars[@]} variables"
  garbage=$'\x01ga rb\xffage%p%n%s\x7f'
  big=$(head -c 130000 /dev/zero | tr '\0' 'x')  # "NAME=" + this + NUL fits MAX_ARG_STRLEN (128 KiB)
  fg_run "$FG_TMP/base" 60 -- "$fork_helper"
  fg_expect_status "$FG_TMP/base" 0
  for var in "${vars[@]}"; do
    for kind in garbage empty big; do
      case $kind in garbage) value=$garbage ;; empty) value= ;; big) value=$big ;; esac
      dir=$FG_TMP/$var.$kind
      # The other settings make the defaults visible: mitigate mode (a bad trigger must not
      # become "always"), or trigger always (a bad mode must not become "mitigate").
      settings=(FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.jsonl)
      [ "$var" = FORKGUARD_MODE ] && settings+=(FORKGUARD_TRIGGER=always) || settings+=(FORKGUARD_MODE=mitigate)
      filtered=()
      for s in "${settings[@]}"; do [ "${s%%=*}" = "$var" ] || filtered+=("$s"); done
      rm -f "$FG_TMP/cwd"/*
      fg_run "$dir" 60 LD_PRELOAD="$shim" "${filtered[@]}" "$var=$value" -- "$fork_helper"
      fg_same "$FG_TMP/base" "$dir" stdout
      fg_same "$FG_TMP/base" "$dir" status
      warnings "$dir"
      want=1
      # Any string is a file path: garbage in FORKGUARD_LOG or FORKGUARD_PROFILE is a valid name.
      [ "$kind" = garbage ] && { [ "$var" = FORKGUARD_LOG ] || [ "$var" = FORKGUARD_PROFILE ]; } && want=0
      # Settings are read once per process image: the helper and the /bin/true it execs (which
      # loads the shim too) each say it once; a plain fork child says nothing.
      [ "$(wc -l <"$dir/said")" -eq $((want * 2)) ] && [ "$(sort -u "$dir/said" | wc -l)" -eq "$want" ] ||
        { cat -A "$dir/said" >&2; fail "$var ($kind): want $want warning(s) per process image (2 images)"; }
      if [ "$want" -eq 1 ]; then
        grep -q "^forkguard: $var[= ]" "$dir/said" || fail "$var ($kind): the warning does not name the variable first"
        [ "$(wc -c <"$dir/said")" -lt 400 ] || fail "$var ($kind): the warning echoes the whole value"
      fi
      # Where the records are, and that the defaults made them.
      case $var in
      FORKGUARD_FORMAT)
        [ "$(grep -c '^forkguard: fork at .* action passthrough' "$dir/rec.jsonl")" -eq 2 ] ||
          fail "$var ($kind): want 2 text records (the default format)" ;;
      FORKGUARD_LOG)
        if [ "$want" -eq 0 ]; then
          recs=("$FG_TMP/cwd"/*)
          [ "${#recs[@]}" -eq 1 ] && [ -f "${recs[0]}" ] || fail "$var ($kind): want one record file in the working directory"
        else
          grep '^{' "$dir/stderr" >"$dir/stderr.jsonl" || true
          recs=("$dir/stderr.jsonl")  # the default: stderr
        fi
        "$validator" --expect-count 2 --expect-call fork=2 --expect-field action=passthrough "${recs[@]}" ||
          fail "$var ($kind): records not where the default puts them" ;;
      *)
        "$validator" --expect-count 2 --expect-call fork=2 --expect-field action=passthrough "$dir/rec.jsonl" ||
          fail "$var ($kind): records are not those of the defaults" ;;
      esac
      rm -rf "$dir"
    done
  done
  echo "ok: ${#vars[@]} variables x garbage, empty, 128 KiB: behaviour unchanged, one warning at most, defaults used"
  ;;
hugeenv)
  list=$("$cli" options | grep -E '^FORKGUARD_[A-Z_]+$' | paste -sd,)
  fg_run "$FG_TMP/base" 60 FG_HUGE_VARS="$list" -- "$helpers/fg_hardening_io_hugeenv"
  fg_expect_status "$FG_TMP/base" 0
  fg_run "$FG_TMP/shim" 60 FG_HUGE_VARS="$list" LD_PRELOAD="$shim" -- "$helpers/fg_hardening_io_hugeenv"
  fg_same "$FG_TMP/base" "$FG_TMP/shim" stdout
  fg_same "$FG_TMP/base" "$FG_TMP/shim" status
  warnings "$FG_TMP/shim"
  IFS=, read -ra vars <<<"$list"
  [ "$(wc -l <"$FG_TMP/shim/said")" -eq "${#vars[@]}" ] || { cat "$FG_TMP/shim/said" >&2; fail "want one warning per variable"; }
  for var in "${vars[@]}"; do
    [ "$(grep -c "^forkguard: $var[= ]" "$FG_TMP/shim/said")" -eq 1 ] || fail "no single warning for $var"
  done
  [ "$(awk 'length > 400' "$FG_TMP/shim/said" | wc -l)" -eq 0 ] || fail "a warning echoes the 1 MiB value"
  # Defaults: text records on stderr, one per fork (the constructor's and main's).
  [ "$(grep -c '^forkguard: fork at .* action passthrough' "$FG_TMP/shim/stderr")" -eq 2 ] || fail "want 2 text records on stderr"
  echo "ok: 1 MiB values: one short warning each, defaults used"
  ;;
badcalls)
  fg_run "$FG_TMP/base" 120 -- "$helpers/fg_hardening_io_badcalls"
  fg_expect_status "$FG_TMP/base" 0
  grep -qx 'system(1 MiB) = 32512 errno E2BIG' "$FG_TMP/base/stdout" || fail "glibc's system() of 1 MiB is not what this test expects"
  fg_run "$FG_TMP/observe" 120 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.jsonl \
    -- "$helpers/fg_hardening_io_badcalls"
  fg_run "$FG_TMP/mitigate" 120 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.jsonl \
    FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always -- "$helpers/fg_hardening_io_badcalls"
  for run in observe mitigate; do
    fg_same "$FG_TMP/base" "$FG_TMP/$run" stdout
    fg_same "$FG_TMP/base" "$FG_TMP/$run" status
    # popen(NULL, "r") has no command line: its record has no "command" key, which the validator
    # requires of popen records (reported; checked apart here until one of them changes).
    grep -av '"call":"popen"' "$FG_TMP/$run/rec.jsonl" >"$FG_TMP/$run/checked.jsonl"
    grep -a '"call":"popen".*"command":' "$FG_TMP/$run/rec.jsonl" >>"$FG_TMP/$run/checked.jsonl"
    [ "$(grep -a '"call":"popen"' "$FG_TMP/$run/rec.jsonl" | grep -cv '"command":')" -eq 1 ] ||
      fail "$run: want exactly one popen record without a command (popen(NULL))"
    "$validator" "$FG_TMP/$run/checked.jsonl" || fail "$run: records are not valid whole lines"
  done
  # Ours really ran in mitigate mode (its documented errno for an unspawnable popen differs).
  grep -qx 'popen(1 MiB) errno E2BIG' "$FG_TMP/mitigate/stderr" || fail "mitigate mode did not use our own popen()"
  grep -qx 'popen(1 MiB) errno ENOMEM' "$FG_TMP/base/stderr" || fail "glibc's popen() of 1 MiB: $(cat "$FG_TMP/base/stderr")"
  "$validator" --only-call system --expect-field action=posix_spawn "$FG_TMP/mitigate/checked.jsonl" ||
    fail "mitigate: system() was not substituted"
  grep -q '"call":"system".*"truncated":true' "$FG_TMP/observe/rec.jsonl" || fail "the 1 MiB command's record is not marked truncated"
  echo "ok: odd and NULL arguments: identical results without the shim, in observe and in mitigate mode"
  ;;
noproc | noproc-contract)
  mount -t tmpfs -o size=64k forkguard-test-noproc /proc || fail "mount tmpfs over /proc"
  [ ! -e /proc/self ] || fail "/proc is not empty"
  if [ "$case_name" = noproc ]; then
    proc_case
  else
    fg_run "$FG_TMP/observe" 60 LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG=@DIR@/rec.jsonl -- "$fork_helper"
    "$validator" --expect-count 2 "$FG_TMP/observe/rec.jsonl" || fail "records made without /proc break the contract"
  fi
  echo "ok: $case_name"
  ;;
junkproc | lockedproc)
  # Built aside on a tmpfs, then mounted over /proc (this namespace only).
  mkdir "$FG_TMP/p"
  mount -t tmpfs -o size=1m,mode=755 forkguard-test-proc "$FG_TMP/p" || fail "mount tmpfs"
  mkdir -p "$FG_TMP/p/self" "$FG_TMP/p/sys/vm"
  if [ "$case_name" = junkproc ]; then
    for f in status statm maps smaps; do cp "$fixtures/garbage.bin" "$FG_TMP/p/self/$f"; done
    cp "$fixtures/status_malformed.txt" "$FG_TMP/p/self/status"
    cp "$fixtures/garbage.bin" "$FG_TMP/p/meminfo"
    for f in overcommit_memory overcommit_ratio overcommit_kbytes admin_reserve_kbytes user_reserve_kbytes; do
      cp "$fixtures/sysctl_garbage.txt" "$FG_TMP/p/sys/vm/$f"
    done
    runner=()
  else
    cp "$fixtures/status_real.txt" "$FG_TMP/p/self/status"
    cp "$fixtures/statm_real.txt" "$FG_TMP/p/self/statm"
    cp "$fixtures/maps_real.txt" "$FG_TMP/p/self/maps"
    cp "$fixtures/smaps_real.txt" "$FG_TMP/p/self/smaps"
    cp "$fixtures/meminfo_real.txt" "$FG_TMP/p/meminfo"
    for f in overcommit_ratio overcommit_kbytes admin_reserve_kbytes user_reserve_kbytes; do echo 0 >"$FG_TMP/p/sys/vm/$f"; done
    echo 2 >"$FG_TMP/p/sys/vm/overcommit_memory"
    chmod 000 "$FG_TMP/p/self"/* "$FG_TMP/p/meminfo" "$FG_TMP/p/sys/vm"/*
    chmod 755 "$FG_TMP"
    command -v setpriv >/dev/null || { echo "SKIP: needs setpriv"; exit 77; }
    runner=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
  fi
  mount --move "$FG_TMP/p" /proc || fail "mount --move over /proc"
  if [ "$case_name" = lockedproc ]; then
    mkdir -m 777 "$FG_TMP/base" "$FG_TMP/observe" "$FG_TMP/mitigate"
    setpriv --reuid=65534 --regid=65534 --clear-groups -- cat /proc/meminfo >/dev/null 2>&1 &&
      fail "uid 65534 can read the locked /proc/meminfo"
  fi
  proc_case "${runner[@]}"
  echo "ok: $case_name"
  ;;
*) fail "unknown case $case_name" ;;
esac
