# @file observe_lib.sh
# @brief Shared by the integration scripts (sourced, bash): a private temp dir removed on exit,
# runs of a program with and without the shim, and byte-for-byte comparison of what it did.

set -u
set -o pipefail

FG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/forkguard-test.XXXXXX") || { echo "FAIL: mktemp -d" >&2; exit 1; }
FG_TMP=$(cd "$FG_TMP" && pwd -P)  # canonical: helpers compare it with /proc/self/fd links
trap 'rm -rf "$FG_TMP"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The settings a caller's environment might carry are never inherited by a run.
FG_CLEAN_ENV=(env -u LD_PRELOAD -u FORKGUARD_MODE -u FORKGUARD_TRIGGER -u FORKGUARD_LOG -u FORKGUARD_FORMAT
  -u FORKGUARD_STACK -u FORKGUARD_VFORK_SITES -u FORKGUARD_PROFILE)

# fg_run DIR TIMEOUT [VAR=VALUE...] -- PROGRAM ARGS...
# Runs PROGRAM in a clean environment plus the given settings (applied by env(1) under
# timeout(1), so that only PROGRAM and its children see a preload, not timeout); leaves DIR/stdout, DIR/stderr,
# DIR/status. "@DIR@" in an argument or setting becomes DIR.
fg_run() {
  local dir=$1 limit=$2
  shift 2
  local -a settings=()
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
    settings+=("${1//@DIR@/$dir}")
    shift
  done
  shift
  local -a cmd=()
  local a
  for a in "$@"; do cmd+=("${a//@DIR@/$dir}"); done
  mkdir -p "$dir"
  local status=0
  "${FG_CLEAN_ENV[@]}" timeout "$limit" env "${settings[@]}" "${cmd[@]}" >"$dir/stdout" 2>"$dir/stderr" </dev/null || status=$?
  echo "$status" >"$dir/status"
  [ "$status" -ne 124 ] || fail "$(basename "$1") timed out after ${limit}s (settings: ${settings[*]})"
  fg_stderr_is_the_programs "$dir" "${settings[@]}"
}

# fg_library_lines FILE: the lines of FILE the library may have written: its "forkguard: " lines
# other than warnings about the settings themselves ("forkguard: FORKGUARD_..."), and records.
fg_library_lines() {
  grep -a -e '^forkguard: ' -e '^{"ts":"' "$1" | grep -av '^forkguard: FORKGUARD_[A-Z_]*[= ]' || true
}

# fg_stderr_is_the_programs DIR SETTINGS...: a run with the library and a log file it could write
# (a regular file exists at the path, %p matched by any pid) left nothing of the library's on the
# program's stderr but settings warnings: notices go into the log as keys of records (issue #10
# section 2). Every fg_run checks this, so the whole integration suite does. A run whose log
# cannot be written at all (records legitimately on stderr) has no such file and is not checked.
fg_stderr_is_the_programs() {
  local dir=$1 preload="" log="" mode="" kv
  shift
  for kv in "$@"; do
    case $kv in
      LD_PRELOAD=*) preload=${kv#LD_PRELOAD=} ;;
      FORKGUARD_LOG=*) log=${kv#FORKGUARD_LOG=} ;;
      FORKGUARD_MODE=*) mode=${kv#FORKGUARD_MODE=} ;;
    esac
  done
  [ -n "$preload" ] && [ -n "$log" ] && [ "$log" != stderr ] && [ "$log" != syslog ] && [ "$mode" != off ] || return 0
  local pattern=${log//%p/*} f found=""
  for f in $pattern; do
    [ -f "$f" ] && [ ! -L "$f" ] && found=$f && break  # a symlink is never followed: not the log
  done
  [ -n "$found" ] || return 0
  local said
  said=$(fg_library_lines "$dir/stderr")
  [ -z "$said" ] || fail "with a log file ($found) the library wrote to the program's stderr:
$said"
}

# fg_same A B WHAT: A/WHAT and B/WHAT are byte-for-byte identical, or fail showing the difference.
fg_same() {
  if ! cmp -s "$1/$3" "$2/$3"; then
    echo "--- $3 without the shim / +++ with it:" >&2
    diff -u "$1/$3" "$2/$3" >&2 || true
    fail "$3 differs with the shim"
  fi
}

# fg_compare BASE SHIM: stdout, stderr and exit status are identical.
fg_compare() {
  fg_same "$1" "$2" stdout
  fg_same "$1" "$2" stderr
  fg_same "$1" "$2" status
}

# fg_expect_status DIR N: the program exited N (shows its output otherwise).
fg_expect_status() {
  local got
  got=$(cat "$1/status")
  if [ "$got" != "$2" ]; then
    echo "--- stdout:" >&2
    cat "$1/stdout" >&2
    echo "--- stderr:" >&2
    cat "$1/stderr" >&2
    fail "exit status $got, expected $2 ($1)"
  fi
}

# fg_wait_for_line FILE REGEX SECONDS: waits until FILE has a whole line matching REGEX.
fg_wait_for_line() {
  local i
  for ((i = 0; i < $3 * 20; ++i)); do
    grep -Eq "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "no line matching '$2' appeared in $1 within $3 s"
}

# fg_records DIR: sets FG_FILES to the record files of a run (DIR/rec.*); fails when there is none.
fg_records() {
  FG_FILES=("$1"/rec.*)
  [ -e "${FG_FILES[0]}" ] || fail "no record file was written in $1"
}
