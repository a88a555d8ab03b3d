#!/usr/bin/env bash
# @brief Sanitizer runs with clang-14: ASan+UBSan over the core's unit tests, the report and syslog
# unit tests and the CLI (build-asan/); TSan over the tests tagged [concurrency] (build-tsan/).
# The shim is never instrumented (it must load into uninstrumented programs), so neither build has it.
# Usage: sanitize.sh [asan] [tsan]        (default: both)
# Env: FORKGUARD_SAN_CC / FORKGUARD_SAN_CXX (default clang-14 / clang++-14).
# Last line: "sanitize: N passed, N failed" (N = test cases run under a sanitizer, plus the CLI smoke).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# llvm-symbolizer (package llvm-14) turns sanitizer stacks into file:line.
[ -d /usr/lib/llvm-14/bin ] && export PATH="$PATH:/usr/lib/llvm-14/bin"
cc=${FORKGUARD_SAN_CC:-clang-14}
cxx=${FORKGUARD_SAN_CXX:-clang++-14}
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
phases=("$@")
[ ${#phases[@]} -eq 0 ] && phases=(asan tsan)
passed=0
failed=0

say() { echo "sanitize: $*" >&2; }

# -O0: ASan/UBSan/TSan catch the same here and the build costs a third of -O1's (measured).
configure() {
  local dir=$1 sanitizers=$2
  CC=$cc CXX=$cxx cmake -S "$top" -B "$top/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -gline-tables-only" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O0 -gline-tables-only" \
    -DFORKGUARD_SANITIZE="$sanitizers" -DFORKGUARD_WERROR="$werror" >/dev/null
}

build() {
  local dir=$1
  shift
  local targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  local start=$SECONDS
  cmake --build "$top/$dir" -j"$(nproc)" "${targets[@]}" >"$top/$dir/sanitize-build.log" 2>&1 ||
    { tail -40 "$top/$dir/sanitize-build.log" >&2; say "build of $dir failed"; exit 1; }
  say "$dir built in $((SECONDS - start)) s"
}

# A sanitizer report anywhere in a log fails the step, even from a child whose status a test ignored.
findings() { grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer|FATAL: ThreadSanitizer" "$1"; }

# Runs one Catch2 binary (from build/tests, as ctest would); counts its test cases.
run_catch() {
  local name=$1 log=$2
  shift 2
  local rc=0
  (cd "$(dirname "$log")" && "$@") >"$log" 2>&1 || rc=$?
  # Catch2 ends with "All tests passed (A assertions in N test cases)" or "test cases: N | P passed | F failed".
  local cases bad
  cases=$(grep -Eo 'in [0-9]+ test cases?\)|test cases: +[0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
  bad=$(grep -Eo '\| +[0-9]+ failed' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
  cases=${cases:-0}
  bad=${bad:-0}
  if [ "$rc" -ne 0 ] || [ "$cases" -eq 0 ] || findings "$log" >/dev/null; then  # no test run is a failure too
    tail -60 "$log" >&2
    say "$name: FAILED (exit $rc; log $log)"
    [ "$bad" -gt 0 ] || bad=1
    failed=$((failed + bad))
    passed=$((passed + cases - bad))
  else
    say "$name: $cases test cases passed"
    passed=$((passed + cases))
  fi
}

# One CLI command under ASan+UBSan: its own exit status is allowed ($2 = accepted codes), a
# sanitizer's (86) or a report in its output is not.
smoke() {
  local name=$1 accept=$2
  shift 2
  local log=$top/build-asan/smoke-${name// /-}.log rc=0
  "$@" >"$log" 2>&1 || rc=$?
  if [[ " $accept " == *" $rc "* ]] && ! findings "$log" >/dev/null && [ -s "$log" ]; then
    passed=$((passed + 1))
  else
    tail -30 "$log" >&2
    say "CLI smoke '$name': FAILED (exit $rc; log $log)"
    failed=$((failed + 1))
  fi
}

asan_phase() {
  configure build-asan address,undefined
  build build-asan forkguard_unit fg_report_unit fg_syslog_unit forkguard_cli
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:exitcode=86:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=86"
  local t=$top/build-asan/tests
  run_catch "unit (ASan+UBSan)" "$t/asan-unit.log" "$top/build-asan/forkguard_unit"
  # LeakSanitizer cannot run under ptrace: the strace case skips itself above, so run it again
  # without leak checking (the unit run above already checked leaks everywhere else).
  local strace_case="strace: the shell child is a clone*"  # a Catch2 pattern: a comma would split it
  ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" run_catch "strace case (ASan+UBSan, no LSan)" "$t/asan-strace.log" \
    "$top/build-asan/forkguard_unit" "$strace_case"
  if grep -q "skipped" "$t/asan-strace.log"; then say "note: $(grep -m1 -A1 'warning:' "$t/asan-strace.log" | tail -1)"; fi
  run_catch "report unit (ASan+UBSan)" "$t/asan-report.log" "$t/fg_report_unit"
  run_catch "syslog unit (ASan+UBSan)" "$t/asan-syslog.log" "$t/fg_syslog_unit"

  local fg=$top/build-asan/forkguard records=$top/tests/fixtures/records tmp
  tmp=$(mktemp -d)
  smoke "options" 0 "$fg" options
  smoke "options markdown" 0 "$fg" options --markdown
  smoke "check self" "0 1 2" "$fg" check $$
  smoke "check json" "0 1 2" "$fg" check --json $$
  smoke "check all" "0 1 2" "$fg" check --all
  smoke "report table" 0 "$fg" report --no-symbols "$records"/*.jsonl
  smoke "report json" 0 "$fg" report --json --no-symbols "$records"/*.jsonl
  smoke "report svg html" 0 "$fg" report --svg "$tmp/r.svg" --html "$tmp/r.html" "$records"/*.jsonl
  smoke "report garbage" "1" "$fg" report --no-symbols "$top/tests/fixtures/garbage.bin"
  rm -rf "$tmp"
  say "CLI smoke done (logs: build-asan/smoke-*.log)"
  unset ASAN_OPTIONS UBSAN_OPTIONS
}

tsan_phase() {
  configure build-tsan thread
  build build-tsan forkguard_unit
  local t=$top/build-tsan/tests
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
  local unit=("$top/build-tsan/forkguard_unit") probe=$t/tsan-probe.log
  # TSan needs its fixed shadow layout; with a high mmap_rnd_bits the kernel may place mappings
  # inside it. Try as is, then without address randomisation (setarch -R), else say why not.
  # (Catch2's --list-tags exits with the number of tags, so its output is what tells.)
  tsan_starts() { (cd "$t" && "${unit[@]}" --list-tags) >"$probe" 2>&1; grep -q "concurrency" "$probe" && ! grep -q "FATAL: ThreadSanitizer" "$probe"; }
  if ! tsan_starts; then
    unit=(setarch "$(uname -m)" -R "$top/build-tsan/forkguard_unit")
    if ! tsan_starts; then
      say "TSan SKIPPED: it cannot start on this kernel ($(uname -r), vm.mmap_rnd_bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo ?)): $(grep -m1 FATAL "$probe" || tail -1 "$probe")"
      return 0
    fi
    say "TSan runs under setarch -R (address randomisation off for the test only)"
  fi
  run_catch "[concurrency] (TSan)" "$t/tsan-concurrency.log" "${unit[@]}" "[concurrency]"
  unset TSAN_OPTIONS
}

for p in "${phases[@]}"; do
  case $p in
    asan) asan_phase ;;
    tsan) tsan_phase ;;
    *) echo "usage: sanitize.sh [asan] [tsan]" >&2; exit 2 ;;
  esac
done
echo "sanitize: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
