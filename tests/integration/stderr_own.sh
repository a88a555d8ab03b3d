# @file stderr_own.sh
# @brief Every entry-point helper, and the helpers that provoke what the library used to say on
# stderr, run without the library and with it in one configuration, with a log file: the
# program's stderr and exit status are byte-identical; the log holds only records, one per line
# (JSON: valid, every module described before it is named), and the faults are said there, once.
#
# Usage: stderr_own.sh CONFIG VALIDATOR SHIM HELPER_DIR EMPTY_LIB
#   CONFIG: json | text | stack0 | learn | foreign-profile | no-libunwind | slim | vfork
# shellcheck source-path=SCRIPTDIR source=observe_lib.sh
source "$(dirname "$0")/observe_lib.sh"

config=$1 validator=$2 shim=$3 helpers=$4 empty_lib=$5
format=json
settings=()
case $config in
  json) ;;
  text) format=text ;;
  stack0) settings=(FORKGUARD_STACK=0) ;;
  learn) settings=(FORKGUARD_PROFILE=@DIR@/profile) ;;
  foreign-profile)  # read when a fork wants the vfork substitute: a damaged profile is said in the log
    printf 'not a profile\n' >"$FG_TMP/foreign"
    settings=(FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_PROFILE="$FG_TMP/foreign") ;;
  no-libunwind)  # a libunwind.so.8 without unw_backtrace, found first: libgcc's unwinder, silently
    mkdir -p "$FG_TMP/lib" && cp "$empty_lib" "$FG_TMP/lib/libunwind.so.8"
    settings=(LD_LIBRARY_PATH="$FG_TMP/lib") ;;
  slim) settings=(FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_SLIM_MIN=4M) ;;
  vfork) settings=(FORKGUARD_MODE=mitigate FORKGUARD_TRIGGER=always FORKGUARD_VFORK_SITES=all) ;;
  *) fail "unknown configuration $config" ;;
esac

# NAME|HELPER ARGS...|NOTICE: each helper with its arguments ("@DIR@" is the run's directory; the
# log is @DIR@/rec.jsonl) and, when it provokes one, a notice the log must hold exactly once.
closed="the program closed or replaced the log's descriptor; records go on in a newly opened"
cases=(
  "fork|fg_helper_fork|"
  "_Fork|fg_helper__Fork|"
  "vfork|fg_helper_vfork|"
  "system|fg_helper_system|"
  "popen|fg_helper_popen|"
  "spawn|fg_helper_spawn|"
  "ctor|fg_helper_ctor|"
  "closefds|fg_helper_closefds @DIR@/own.txt|$closed"
  "dup2|fg_helper_dup2 @DIR@/rec.jsonl @DIR@/own1.txt @DIR@/own2.txt @DIR@/notes.txt|$closed"
  "log-closed|fg_hardening_io_faults close @DIR@/rec.jsonl @DIR@/own.txt|$closed"
  "log-reused|fg_hardening_io_faults reuse @DIR@/rec.jsonl @DIR@/own.txt|$closed"
  "log-deleted|fg_hardening_io_faults delete @DIR@/rec.jsonl @DIR@/own.txt|the log file was deleted while the program ran"
  "altstack|fg_helper_hardening_signal_fork altstack 8|3 calls from a signal handler on an alternate stack with less than 16 KiB left passed through unrecorded"
)
[ "$config" = foreign-profile ] && cases+=("profile|fg_helper_fork|is not a forkguard profile")

checked=0
for c in "${cases[@]}"; do
  [ -n "$c" ] || continue
  IFS='|' read -r label command notice <<<"$c"
  read -r -a argv <<<"$command"
  argv[0]=$helpers/${argv[0]}
  base=$FG_TMP/$label.base shim_dir=$FG_TMP/$label.shim
  fg_run "$base" 120 -- "${argv[@]}"
  fg_run "$shim_dir" 120 LD_PRELOAD="$shim" FORKGUARD_FORMAT=$format FORKGUARD_LOG=@DIR@/rec.jsonl "${settings[@]}" \
    -- "${argv[@]}"
  fg_same "$base" "$shim_dir" stderr
  fg_same "$base" "$shim_dir" status
  log=$shim_dir/rec.jsonl
  [ -s "$log" ] || fail "$label: nothing was logged"
  if [ "$format" = json ]; then
    "$validator" --expect-modules-described "$log" >/dev/null 2>"$FG_TMP/v" || { cat "$FG_TMP/v" >&2; fail "$label: invalid records"; }
  else
    bad=$(grep -avc '^forkguard: [a-zA-Z_]* at [^ ]*+0x[0-9a-f]* pid [0-9]*' "$log" || true)
    [ "$bad" = 0 ] || { cat "$log" >&2; fail "$label: $bad lines of the text log are not records"; }
  fi
  if [ -n "$notice" ]; then
    if [ "$format" = json ]; then
      n=$(grep -aF "\"notice\":\"" "$log" | grep -acF "$notice" || true)
    else
      n=$(grep -aF "; notice: " "$log" | grep -acF "$notice" || true)
    fi
    # A profile is read once per process (each child that reads it says it again).
    if [ "$label" = profile ]; then
      [ "$n" -ge 1 ] || { cat "$log" >&2; fail "$label: no record says '$notice'"; }
    else
      [ "$n" = 1 ] || { cat "$log" >&2; fail "$label: $n records say '$notice', want exactly 1"; }
    fi
  fi
  checked=$((checked + 1))
done
echo "ok ($config): $checked programs' stderr byte-identical with a log file; faults said in the log"
