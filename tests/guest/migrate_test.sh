# shellcheck shell=sh
# shellcheck disable=SC2154 # dev and vdev are set by find_virtio_blk_disk (guest_lib.sh)
# Guest side of the live-migration test (busybox sh; runs after guest_lib.sh): fio random
# writes with crc32c verify on both queues, round after round for MIGRATE_MIN_SECONDS, while the
# host migrates the VM to another QEMU on another vhostd controller over the same file. Every
# block must verify, during the rounds and in a final re-read, and no I/O error may reach the
# guest. Parameters: EXPECT_QUEUES EXPECT_PACKED FIO_OFFSET MIGRATE_FIO_SIZE MIGRATE_MIN_SECONDS
# MARKER_SIZE MARKER_OFFSET.

find_virtio_blk_disk

run_fio() {
  echo "   \$ fio $*"
  fio "$@" >/tmp/fio.log 2>&1
  rc=$?
  [ $rc -eq 0 ] || { cat /tmp/fio.log; fail "fio failed (rc=$rc)"; }
  grep -E '^ *(READ|WRITE):|err=' /tmp/fio.log | sed 's/^ */   /'
}
fio_common="--filename=$dev --direct=1 --numjobs=$EXPECT_QUEUES --cpus_allowed=0-$((EXPECT_QUEUES - 1))
  --cpus_allowed_policy=split --offset=$FIO_OFFSET --size=$MIGRATE_FIO_SIZE
  --offset_increment=$MIGRATE_FIO_SIZE
  --bssplit=4k/60:16k/30:64k/10 --verify=crc32c --verify_fatal=1 --group_reporting"

start=$(cut -d. -f1 /proc/uptime)
# The host starts the migration when it sees this line; the rounds go on across it.
echo "@@VHOSTD-GUEST-MIGRATE@@"
k=1
while :; do
  step "fio round $k: random writes, verified (the VM is migrated meanwhile)"
  # shellcheck disable=SC2086 # word splitting of the option list is intended
  run_fio --name=migrate$k --ioengine=libaio --iodepth=16 --rw=randwrite --randseed=$k $fio_common
  now=$(cut -d. -f1 /proc/uptime)
  [ $((now - start)) -ge "$MIGRATE_MIN_SECONDS" ] && break
  k=$((k + 1))
done
step "fio: io_uring re-reads and verifies the last round"
# shellcheck disable=SC2086
run_fio --name=migrate$k --ioengine=io_uring --iodepth=16 --rw=randwrite --randseed="$k" \
  --verify_only $fio_common

expect_no_io_errors
write_marker "$dev"
step "all checks passed"
