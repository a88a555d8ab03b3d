# @file run_reservation.sh
# @brief Issue #11 section 1 with real interpreters: runs reservation.py or reservation.pl
# (PROGRAM) under INTERPRETER three ways and checks, on the real kernel (overcommit mode 0):
#   1. without the reservation, without the library: the reference output, every step ok;
#   2. with the reservation, without the library: the kernel refuses the first fork (ENOMEM),
#      so the run shows what forkguard is for;
#   3. with the reservation under FORKGUARD_MODE=mitigate, default settings otherwise: the same
#      output as 1, byte for byte, exit 0; every fork recorded, valid, as a slim fork that left
#      out no written memory (excluded_written_kb 0) and a reservation's worth of never-written
#      memory; no fault record.
# Exit 77 (skipped) where the host is not in overcommit mode 0: the reservation cannot make the
# kernel refuse a fork there (mode 1), or cannot be made at all (mode 2). The QEMU guest covers 2.
#
# Usage: run_reservation.sh VALIDATOR SHIM INTERPRETER PROGRAM
# shellcheck source-path=SCRIPTDIR source=../integration/observe_lib.sh
source "$(dirname "$0")/../integration/observe_lib.sh"

validator=$1 shim=$2 interp=$3 program=$4
name=$(basename "$program")
mode=$(cat /proc/sys/vm/overcommit_memory)
if [ "$mode" != 0 ]; then
  echo "skipped: overcommit mode is $mode here; the reservation makes the kernel refuse a fork only in mode 0"
  exit 77
fi
if [ "$(ulimit -v)" != unlimited ]; then
  echo "skipped: ulimit -v is set; the reservation needs an unlimited address space"
  exit 77
fi

fg_run "$FG_TMP/ref" 300 -- "$interp" "$program" --no-reserve
fg_expect_status "$FG_TMP/ref" 0

fg_run "$FG_TMP/bare" 300 -- "$interp" "$program"
[ "$(cat "$FG_TMP/bare/status")" != 0 ] || fail "$name: with the reservation and no library every fork worked: the test shows nothing"
grep -q 'Cannot allocate memory' "$FG_TMP/bare/stderr" ||
  fail "$name: without the library the fork did not fail with ENOMEM: $(cat "$FG_TMP/bare/stderr")"

fg_run "$FG_TMP/shim" 300 LD_PRELOAD="$shim" FORKGUARD_MODE=mitigate FORKGUARD_FORMAT=json \
  FORKGUARD_LOG=@DIR@/rec.%p.jsonl -- "$interp" "$program"
fg_expect_status "$FG_TMP/shim" 0
fg_same "$FG_TMP/ref" "$FG_TMP/shim" stdout
[ ! -s "$FG_TMP/shim/stderr" ] || fail "$name: stderr under the library: $(cat "$FG_TMP/shim/stderr")"

fg_records "$FG_TMP/shim"
exe=$(basename "$(readlink -f "$interp")")
"$validator" --only-exe "$exe" --only-call fork --expect-failures 0 --expect-field action=slim_fork \
  --expect-field excluded_written_kb=0 "${FG_FILES[@]}" || fail "$name: the forks were not all slim forks keeping written memory"
forks=$("$validator" --only-exe "$exe" --only-call fork --print-sites "${FG_FILES[@]}" | wc -l)
[ "$forks" -ge 4 ] || fail "$name: only $forks fork records"
# Each slim fork left out at least the reservation (RAM + swap + 1 GiB, never written).
need_kb=$(awk '/^(MemTotal|SwapTotal):/ { s += $2 } END { print s }' /proc/meminfo)
small=$(grep -h '"call":"fork"' "${FG_FILES[@]}" | grep -o '"excluded_kb":[0-9]*' | cut -d: -f2 |
  awk -v need="$need_kb" '$1 <= need' | wc -l)
[ "$small" -eq 0 ] || fail "$name: $small slim forks left out less than the reservation"
! grep -h '"call":"fault"' "${FG_FILES[@]}" || fail "$name: a child faulted"
echo "ok: $name: $forks forks rescued as slim forks, the output as without the reservation"
