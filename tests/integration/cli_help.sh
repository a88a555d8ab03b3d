#!/usr/bin/env bash
# @file cli_help.sh
# @brief forkguard --help/--version, each subcommand's --help, and the settings table. Usage: cli_help.sh CASE CLI
set -u
case_name=$1 cli=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
# The contract's names (DESIGN.md) and the ones added since; a rename must fail here.
names="FORKGUARD_MODE FORKGUARD_TRIGGER FORKGUARD_LOG FORKGUARD_FORMAT FORKGUARD_STACK FORKGUARD_VFORK_SITES
       FORKGUARD_PROFILE FORKGUARD_SLIM_MIN FORKGUARD_PRECISE_MARGIN FORKGUARD_VFORK_TIMEOUT"

case $case_name in
  version)
    out=$("$cli" --version) || fail "exit status $?"
    grep -Eqx 'forkguard [0-9]+\.[0-9]+\.[0-9]+.*' <<<"$out" || fail "version: '$out'"
    ;;
  help)
    out=$("$cli" --help) || fail "--help: exit status $?"
    for word in run check options; do grep -q "^  $word " <<<"$out" || fail "--help does not list $word"; done
    for n in $names; do grep -q "^  $n " <<<"$out" || fail "--help does not list $n"; done
    for sub in run check options; do
      out=$("$cli" $sub --help) || fail "$sub --help: exit status $?"
      [ -n "$out" ] || fail "$sub --help printed nothing"
    done
    "$cli" >/dev/null 2>&1
    [ $? = 2 ] || fail "no subcommand must be a usage error (2)"
    "$cli" frobnicate >/dev/null 2>&1
    [ $? = 2 ] || fail "an unknown subcommand must be a usage error (2)"
    ;;
  options-markdown)
    out=$("$cli" options --markdown) || fail "exit status $?"
    head -n 2 <<<"$out" | grep -q '^|---|' || fail "not a Markdown table"
    for n in $names; do grep -q "^| \`$n\` |" <<<"$out" || fail "no row for $n"; done
    out=$("$cli" options) || fail "exit status $?"
    for n in $names; do grep -qx "$n" <<<"$out" || fail "plain table has no $n"; done
    ;;
  *) fail "unknown case $case_name" ;;
esac
exit 0
