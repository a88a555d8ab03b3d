# @file slim_mode2.sh
# @brief Guest part of issue #11's scenario in the mode-2 guest (sourced by tests/vm/init, busybox
# sh): fg_vm_reservation (tests/vm/reservation_mode2.c) without the shim (roomy: the reference;
# big: refused) and under FORKGUARD_MODE=mitigate (big: rescued; write: a worker writes the
# read-only zeros; written: written data must be left out too). Each mitigate run logs to its own
# directory, one file per process (%p): a faulting child's record is its own file.
RES=/fg/fg_vm_reservation
slim_run() {
  name=$1
  shift
  "$@" >/tmp/$name.out 2>/tmp/$name.err
  echo $? >/tmp/$name.rc
}
slim_run res_roomy $RES roomy
slim_run res_plain $RES big
for v in big write written; do
  mkdir -p /tmp/res_$v
  slim_run res_$v env FORKGUARD_MODE=mitigate FORKGUARD_FORMAT=json FORKGUARD_LOG=/tmp/res_$v/rec.%p.jsonl \
      LD_PRELOAD=$SHIM $RES $v
done
for n in res_roomy res_plain res_big res_write res_written; do
  echo "FGVM $n.rc| $(cat /tmp/$n.rc)"
  sed "s/^/FGVM $n.out| /" /tmp/$n.out
  sed "s/^/FGVM $n.err| /" /tmp/$n.err
done
for v in big write written; do
  cat /tmp/res_$v/rec.*.jsonl | sed "s/^/FGVM res_$v.jsonl| /"
done
echo "FGVM reservation| done uptime_s=$(cut -d' ' -f1 /proc/uptime)"
