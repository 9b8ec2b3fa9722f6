# shellcheck shell=sh
# shellcheck disable=SC2154 # dev and vdev are set by find_virtio_blk_disk (guest_lib.sh)
# Guest side of the reconnect test (busybox sh; runs after guest_lib.sh): fio random writes with
# crc32c verify on both queues while the host kills vhostd (SIGKILL) under them and starts it
# again; QEMU (reconnect=1) reconnects and hands back the inflight region, vhostd resubmits what
# was in flight. No I/O error may reach the guest and every block must verify, during the runs
# and in a final re-read. Parameters: EXPECT_QUEUES EXPECT_PACKED FIO_OFFSET RECONNECT_FIO_SIZE
# KILLS MARKER_SIZE MARKER_OFFSET.

find_virtio_blk_disk
if [ "${EXPECT_PACKED:-0}" = 1 ]; then
  expect_eq "$(cut -c35 /sys/bus/virtio/devices/"$vdev"/features)" 1 "VIRTIO_F_RING_PACKED negotiated"
fi

run_fio() {
  echo "   \$ fio $*"
  fio "$@" >/tmp/fio.log 2>&1
  rc=$?
  [ $rc -eq 0 ] || { cat /tmp/fio.log; fail "fio failed (rc=$rc)"; }
  grep -E '^ *(READ|WRITE):|err=' /tmp/fio.log | sed 's/^ */   /'
}
fio_common="--filename=$dev --direct=1 --numjobs=$EXPECT_QUEUES --cpus_allowed=0-$((EXPECT_QUEUES - 1))
  --cpus_allowed_policy=split --offset=$FIO_OFFSET --size=$RECONNECT_FIO_SIZE
  --offset_increment=$RECONNECT_FIO_SIZE
  --bssplit=4k/60:16k/30:64k/10 --verify=crc32c --verify_fatal=1 --group_reporting"

k=1
while [ $k -le "$KILLS" ]; do
  step "fio: random writes, verified; the host kills vhostd under them ($k of $KILLS)"
  # The host sees this line on the console and kills vhostd a moment later, while fio runs.
  echo "@@VHOSTD-GUEST-KILL $k@@"
  # shellcheck disable=SC2086 # word splitting of the option list is intended
  run_fio --name=reconnect$k --ioengine=libaio --iodepth=16 --rw=randwrite --randseed=$k $fio_common
  k=$((k + 1))
done
step "fio: io_uring re-reads and verifies the last run"
# shellcheck disable=SC2086
run_fio --name=reconnect$KILLS --ioengine=io_uring --iodepth=16 --rw=randwrite \
  --randseed="$KILLS" --verify_only $fio_common

expect_no_io_errors
write_marker "$dev"
step "all checks passed"
