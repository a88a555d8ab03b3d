# @file slim_mode2_host.sh
# @brief Host part of the slim fork's scenario in scripts/vm-test's mode-2 guest (issue #11): puts
# fg_vm_reservation and tests/vm/slim_mode2.sh into the initramfs, and reads and checks what the
# guest printed. Sourced by scripts/vm-test, which provides $top, $build, $root, add_libs, sect, bad.

# The program and the guest script into the initramfs ($root/fg).
slim_mode2_payload() {
  local prog=$build/tests/vm/fg_vm_reservation
  [ -f "$prog" ] || { echo "vm-test: $prog is missing: build first" >&2; exit 2; }
  cp "$prog" "$top/tests/vm/slim_mode2.sh" "$root/fg/"
  add_libs "$prog"
}

# Prints section 4 and checks it; returns 1 on a mismatch (bad() says which).
slim_mode2_results() {
  local v rc=0 mit fault written
  echo
  echo "== 4. the slim fork keeps written memory (tests/vm/reservation_mode2.c): an untouched reservation"
  echo "   and written data that fit the commit limit once but not twice"
  for v in roomy plain big write written; do
    echo "-- $v: exit $(sect "res_$v.rc")"
    sect "res_$v.err" | sed 's/^/   stderr: /'
    sect "res_$v.out" | sed 's/^/   /'
  done
  grep -q '^FGVM reservation| done' "$log" || { bad "reservation: the guest did not finish the scenario"; return 1; }
  [ "$(sect res_roomy.rc)" = 0 ] || { bad "reservation: the roomy run failed"; rc=1; }
  grep -q '^reservation: fork() failed: Cannot allocate memory$' <<<"$(sect res_plain.out)" ||
    { bad "reservation: without the shim the fork was not refused"; rc=1; }
  [ "$(sect res_big.rc)" = 0 ] || { bad "reservation: mitigate did not rescue it (exit $(sect res_big.rc))"; rc=1; }
  [ "$(sect res_big.out)" = "$(sect res_roomy.out)" ] || { bad "reservation: mitigate's output differs from the roomy run"; rc=1; }
  mit=$(sect res_big.jsonl | grep -m1 '"call":"fork"' || true)
  echo "-- big, mitigate: the first fork's record"
  echo "   $mit"
  [ "$(echo "$mit" | jget action)" = slim_fork ] || { bad "reservation: the fork was no slim fork"; rc=1; }
  [ "$(echo "$mit" | jget excluded_written_kb)" = 0 ] || { bad "reservation: written memory was left out"; rc=1; }
  ! grep -q '"call":"fault"' <<<"$(sect res_big.jsonl)" || { bad "reservation: a child faulted in the big run"; rc=1; }
  # write: the worker's write to read-only zeros is a fault with its own record.
  [ "$(sect res_write.rc)" = 0 ] || { bad "reservation: write: exit $(sect res_write.rc)"; rc=1; }
  fault=$(sect res_write.jsonl | grep -m1 '"call":"fault"' || true)
  echo "-- write: the faulting worker's record"
  echo "   $fault"
  echo "$fault" | grep -q '"notice":"[^"]*read-only' || { bad "reservation: write: no fault record saying read-only"; rc=1; }
  # written: written data had to go, and the record says which rule required it.
  written=$(sect res_written.jsonl | grep -m1 '"call":"fork"' || true)
  echo "-- written: the first fork's record, and the faulting worker's"
  echo "   $written"
  [ "$(sect res_written.rc)" = 0 ] || { bad "reservation: written: exit $(sect res_written.rc)"; rc=1; }
  [ "$(echo "$written" | jget excluded_written_kb)" -gt 0 ] 2>/dev/null || { bad "reservation: written: no written memory left out"; rc=1; }
  echo "$written" | grep -q '"excluded_written_rule":"strict overcommit' || { bad "reservation: written: no rule in the record"; rc=1; }
  fault=$(sect res_written.jsonl | grep -m1 '"call":"fault"' || true)
  echo "   $fault"
  echo "$fault" | grep -q '"notice":"[^"]*although it was written' || { bad "reservation: written: no fault record"; rc=1; }
  [ $rc -eq 0 ] && echo "-- reservation: OK (refused without the shim; rescued by a slim fork keeping written memory," \
    "output identical to the roomy run; faults recorded)"
  return $rc
}
