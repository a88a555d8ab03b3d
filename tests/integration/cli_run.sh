#!/usr/bin/env bash
# @file cli_run.sh
# @brief `forkguard run`: exit status, LD_PRELOAD composition, settings, exec failures. Usage: cli_run.sh CASE CLI LIB
set -u
case_name=$1 cli=$2 lib=$3
lib_real=$(readlink -f "$lib")
# A library every dynamic program already loads: preloading it changes nothing, yet it is a real entry.
user_lib=$(ldd /bin/sh | awk '/libc\.so/ {print $3; exit}')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

case $case_name in
  status)
    "$cli" run -- sh -c 'exit 7'
    rc=$?
    [ "$rc" = 7 ] || fail "exit status $rc, expected 7"
    "$cli" run --mode off -- true || fail "true failed"
    ;;
  preload)
    out=$(LD_PRELOAD="$user_lib" "$cli" run --mode off -- sh -c 'printf %s "$LD_PRELOAD"') || fail "run failed"
    [ "$out" = "$lib_real:$user_lib" ] || fail "LD_PRELOAD is '$out', expected '$lib_real:$user_lib'"
    out=$(env -u LD_PRELOAD "$cli" run --mode off -- sh -c 'printf %s "$LD_PRELOAD"') || fail "run failed"
    [ "$out" = "$lib_real" ] || fail "LD_PRELOAD is '$out', expected '$lib_real'"
    ;;
  nested)
    out=$(LD_PRELOAD="$lib_real $user_lib" "$cli" run --mode off -- sh -c 'printf %s "$LD_PRELOAD"' 2>"$tmp/err") ||
      fail "run failed: $(cat "$tmp/err")"
    [ "$out" = "$lib_real:$user_lib" ] || fail "LD_PRELOAD is '$out', expected one copy: '$lib_real:$user_lib'"
    grep -q '^forkguard: already running under forkguard' "$tmp/err" || fail "no nesting warning: $(cat "$tmp/err")"
    [ "$(grep -c 'already running' "$tmp/err")" = 1 ] || fail "nesting warned more than once"
    ;;
  settings)
    cd "$tmp" || fail "cd"
    out=$(FORKGUARD_STACK=3 FORKGUARD_MODE=mitigate "$cli" run --mode off -- sh -c 'printf "%s/%s" "$FORKGUARD_MODE" "$FORKGUARD_STACK"') ||
      fail "run failed"
    [ "$out" = "off/3" ] || fail "options must override the environment and keep the rest: '$out'"
    out=$("$cli" run --mode off --json --stack 5 --trigger always --log 'fg.%p.jsonl' -- \
          sh -c 'printf "%s/%s/%s/%s" "$FORKGUARD_FORMAT" "$FORKGUARD_STACK" "$FORKGUARD_TRIGGER" "$FORKGUARD_LOG"') ||
      fail "run failed"
    [ "$out" = "json/5/always/$PWD/fg.%p.jsonl" ] || fail "settings not passed: '$out'"
    out=$("$cli" run --mode off --log syslog -- sh -c 'printf %s "$FORKGUARD_LOG"') || fail "run failed"
    [ "$out" = syslog ] || fail "--log syslog became '$out'"
    ;;
  command-options)
    # Options after the command's name belong to the command, with or without --.
    out=$("$cli" run --mode off printf '%s,' --mode -x) || fail "run failed"
    [ "$out" = "--mode,-x," ] || fail "the command's own options were taken: '$out'"
    ;;
  not-found)
    "$cli" run -- forkguard-no-such-command-xyz 2>"$tmp/err"
    rc=$?
    [ "$rc" = 127 ] || fail "exit status $rc, expected 127"
    grep -q '^forkguard: forkguard-no-such-command-xyz: command not found' "$tmp/err" || fail "message: $(cat "$tmp/err")"
    "$cli" run -- /nonexistent/dir/cmd 2>/dev/null
    rc=$?
    [ "$rc" = 127 ] || fail "exit status $rc for a missing path, expected 127"
    ;;
  not-executable)
    printf 'echo hi\n' >"$tmp/script"
    chmod 644 "$tmp/script"
    if [ "$(id -u)" = 0 ] && [ -x "$tmp/script" ]; then echo "root may execute anything here: skipped"; exit 0; fi
    "$cli" run -- "$tmp/script" 2>"$tmp/err"
    rc=$?
    [ "$rc" = 126 ] || fail "exit status $rc, expected 126"
    grep -q '^forkguard: cannot run .*Permission denied' "$tmp/err" || fail "message: $(cat "$tmp/err")"
    ;;
  usage)
    "$cli" run --mode bogus -- true 2>"$tmp/err"
    rc=$?
    [ "$rc" = 2 ] || fail "a bad --mode gave $rc, expected 2"
    grep -q '^forkguard: ' "$tmp/err" || fail "message: $(cat "$tmp/err")"
    "$cli" run 2>/dev/null
    [ $? = 2 ] || fail "run without a command must be a usage error"
    ;;
  *) fail "unknown case $case_name" ;;
esac
exit 0
