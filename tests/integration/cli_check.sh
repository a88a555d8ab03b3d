#!/usr/bin/env bash
# @file cli_check.sh
# @brief `forkguard check`: verdict and exit status for a live process, and clear errors. Usage: cli_check.sh CASE CLI
set -u
case_name=$1 cli=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# Beyond PID_MAX_LIMIT (4194304): no process can have it.
no_such_pid=4194305

case $case_name in
  self)
    # This shell is small and the test machines are not near their commit limit.
    out=$("$cli" check $$) || fail "exit status $?: $out"
    echo "$out"
    grep -q 'a fork of this process now would be allowed (margin' <<<"$out" || fail "no verdict sentence"
    for label in pid exe VmSize RSS charge estimate CommitLimit Committed_AS headroom overcommit reserves; do
      grep -q "^$label " <<<"$out" || fail "no $label line"
    done
    grep -q '^largest accountable mappings:' <<<"$out" || fail "no mapping list"
    ;;
  parent)
    out=$("$cli" check) || fail "exit status $? checking the parent"
    grep -q "^pid  *$$ " <<<"$out" || fail "the default pid is not the parent shell ($$): $out"
    ;;
  json)
    out=$("$cli" check --json $$) || fail "exit status $?"
    echo "$out"
    [ "$(wc -l <<<"$out")" = 1 ] || fail "not one line"
    for key in '"pid":'$$ '"vm_size_kb":' '"vm_rss_kb":' '"charge_kb":' '"charge_method":"smaps"' \
               '"commit_limit_kb":' '"committed_as_kb":' '"headroom_kb":' '"overcommit_mode":' \
               '"verdict":"ok"' '"margin_kb":' '"mappings":[{'; do
      grep -qF "$key" <<<"$out" || fail "no $key"
    done
    if command -v python3 >/dev/null; then
      python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$out" || fail "not valid JSON"
    fi
    ;;
  no-process)
    "$cli" check $no_such_pid >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" = 2 ] || fail "exit status $rc, expected 2"
    grep -qx "forkguard: no process $no_such_pid" "$tmp/err" || fail "message: $(cat "$tmp/err")"
    "$cli" check --json $no_such_pid >"$tmp/out" 2>/dev/null
    [ $? = 2 ] || fail "--json: exit status, expected 2"
    grep -qF '"error":"no process '$no_such_pid'"' "$tmp/out" || fail "--json: $(cat "$tmp/out")"
    ;;
  bad-pid)
    for bad in abc -5 0 12x ''; do
      "$cli" check -- "$bad" >"$tmp/out" 2>"$tmp/err"
      rc=$?
      [ "$rc" = 2 ] || fail "'$bad': exit status $rc, expected 2"
      grep -q "^forkguard: \"$bad\" is not a process id" "$tmp/err" || fail "'$bad': message: $(cat "$tmp/err")"
    done
    ;;
  *) fail "unknown case $case_name" ;;
esac
exit 0
