#!/usr/bin/env bash
# @file report_twin.sh
# @brief Issue #11 section 3: two builds of one library, the same file name, different build ids.
# Build A runs under the library; then the file at the recorded path is replaced by build B. The
# report must never print a name or a line from B: not from the recorded path, not from --path;
# it keeps module+offset and says why. Given A (by --path, or in a .build-id debug directory),
# it names A's functions with file:line. By name alone, A's offsets in B name B's functions
# (addr2line shows the trap is real): records without identities are therefore not symbolized.
#
# Usage: report_twin.sh FORKGUARD SHIM HELPER LIB_A LIB_B VALIDATOR
set -euo pipefail
fg=$1 shim=$2 helper=$3 lib_a=$4 lib_b=$5 validator=$6
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { grep -qE -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$1 lacks /$2/"; }; }
hasnt() { ! grep -qE -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$1 has /$2/"; }; }

id_of() { readelf -n "$1" | sed -n 's/.*Build ID: *//p'; }
[ "$(id_of "$lib_a")" != "$(id_of "$lib_b")" ] || fail "the two builds have the same build id"
mkdir "$tmp/lib" "$tmp/a" "$tmp/b"
cp "$lib_a" "$tmp/lib/libfg_twin.so"
cp "$lib_a" "$tmp/a/" && cp "$lib_b" "$tmp/b/"

env -u FORKGUARD_MODE LD_PRELOAD="$shim" FORKGUARD_FORMAT=json FORKGUARD_LOG="$tmp/r.jsonl" \
  "$helper" "$tmp/lib/libfg_twin.so" >"$tmp/out" 2>"$tmp/err" || fail "the helper failed: $(cat "$tmp/out" "$tmp/err")"
[ ! -s "$tmp/err" ] || fail "with a log file, something was written to the program's stderr: $(cat "$tmp/err")"
grep -qx 'twin: status 0' "$tmp/out" || fail "the helper's child did not exit 0"
"$validator" --expect-modules-described "$tmp/r.jsonl" || fail "records are not valid"
grep -q "\"name\":\"libfg_twin.so\",\"path\":\"$tmp/lib/libfg_twin.so\",\"build_id\":\"$(id_of "$lib_a")\"" "$tmp/r.jsonl" ||
  { cat "$tmp/r.jsonl" >&2; fail "the record does not describe libfg_twin.so by path and build A's id"; }

# While A is at the recorded path: A's names and lines.
"$fg" report "$tmp/r.jsonl" >"$tmp/ok" 2>"$tmp/ok.err"
has "$tmp/ok" '#[0-9]+ +twin_alpha_fork_and_wait at .*twin_lib\.c:[0-9]+ \(libfg_twin\.so\+0x'

# B at the recorded path, and B given with --path: neither is used.
cp "$lib_b" "$tmp/lib/libfg_twin.so"
for extra in "" "--path $tmp/b"; do
  # shellcheck disable=SC2086
  "$fg" report $extra "$tmp/r.jsonl" >"$tmp/wrong" 2>"$tmp/wrong.err"
  hasnt "$tmp/wrong" 'twin_beta'
  hasnt "$tmp/wrong" 'twin_lib\.c'
  has "$tmp/wrong" '\(libfg_twin\.so\+0x[0-9a-f]+\)'
  has "$tmp/wrong.err" "no file is the libfg_twin.so that ran \\(build-id $(id_of "$lib_a")\\); not it: $tmp/lib/libfg_twin.so \\(build-id $(id_of "$lib_b")\\)"
done
"$fg" report --json "$tmp/r.jsonl" >"$tmp/wrong.json" 2>/dev/null
hasnt "$tmp/wrong.json" 'twin_beta'

# A given with --path: found by its build id, named with lines again.
"$fg" report --path "$tmp/b" --path "$tmp/a" "$tmp/r.jsonl" >"$tmp/found" 2>"$tmp/found.err"
has "$tmp/found" 'twin_alpha_fork_and_wait at .*twin_lib\.c:[0-9]+'
hasnt "$tmp/found" 'twin_beta'

# The trap is real: by name alone, build A's offset names one of B's functions (binutils says so).
off=$(sed -n 's/.*"stack":\[{"module":"libfg_twin.so","offset":"\(0x[0-9a-f]*\)".*/\1/p' "$tmp/r.jsonl")
[ -n "$off" ] || fail "no frame in libfg_twin.so"
addr2line -f -e "$lib_b" "$(printf '0x%x' $((off - 1)))" >"$tmp/trap"
has "$tmp/trap" '^twin_beta_'
# Records without identities (an older forkguard): nothing proves which file ran, no name is printed.
sed -e 's/,"modules":\[[^]]*\]//' -e 's/"symbol":"[^"]*"/"symbol":""/g' "$tmp/r.jsonl" >"$tmp/old.jsonl"
"$fg" report --path "$tmp/lib" "$tmp/old.jsonl" >"$tmp/old" 2>"$tmp/old.err"
hasnt "$tmp/old" 'twin_beta'
has "$tmp/old" '#0 +\?\? \(libfg_twin\.so\+0x'
has "$tmp/old.err" 'no record describes .*libfg_twin\.so'
echo "PASS: names and lines only from the build that ran (build A); B is never used, though by name alone it would be"
