# Guest side of the virtio-blk acceptance test (busybox sh; runs after guest_lib.sh).
# Parameters come from run_guest_test.sh: EXPECT_SIZE EXPECT_LBS EXPECT_QUEUES PATTERN_SIZE
# PATTERN_OFFSET FIO_OFFSET FIO_SIZE MARKER_SIZE MARKER_OFFSET.
# Data patterns are made here from /dev/urandom (fresh each run, never periodic, so a misplaced
# sector shows): fw_cfg reads are byte-wise port I/O, ~20 us per byte under TCG, too slow for data.

# --- the device ---------------------------------------------------------------------------------
step "find the vhost-user disk"
disk=""
for b in /sys/block/vd*; do
  [ -e "$b" ] || continue
  [ -z "$disk" ] || fail "more than one virtio disk: $disk and ${b##*/}"
  disk=${b##*/}
done
[ -n "$disk" ] || fail "no virtio-blk disk (/sys/block/vd*) appeared"
dev=/dev/$disk
sys=/sys/block/$disk
q=$sys/queue
vdev=$(readlink "$sys/device")
vdev=${vdev##*/}

nr_queues=$(find "$sys/mq" -mindepth 1 -maxdepth 1 -type d | wc -l)
size=$(($(cat "$sys/size") * 512)) # always 512-byte units, whatever the logical block size
info "device           $dev ($vdev, driver $(basename "$(readlink /sys/bus/virtio/devices/"$vdev"/driver)"))"
info "size             $size bytes ($(cat "$sys/size") sectors)"
info "logical block    $(cat "$q"/logical_block_size)"
info "physical block   $(cat "$q"/physical_block_size)"
info "min/optimal io   $(cat "$q"/minimum_io_size) / $(cat "$q"/optimal_io_size)"
info "max request      $(cat "$q"/max_sectors_kb) KiB, $(cat "$q"/max_segments) segments of <= $(cat "$q"/max_segment_size) bytes"
info "hw queues        $nr_queues, depth $(cat "$q"/nr_requests)"
for m in "$sys"/mq/*; do
  info "  queue ${m##*/}: cpus $(cat "$m/cpu_list"), tags $(cat "$m/nr_tags")"
done
info "write cache      $(cat "$q"/write_cache), fua $(cat "$q"/fua 2>/dev/null || echo n/a)"
info "discard          granularity $(cat "$q"/discard_granularity), max $(cat "$q"/discard_max_bytes) bytes"
info "write zeroes     max $(cat "$q"/write_zeroes_max_bytes) bytes"
info "read only        $(cat "$sys/ro")"
info "virtio features  $(cat /sys/bus/virtio/devices/"$vdev"/features)"
# Reading the serial issues a VIRTIO_BLK_T_GET_ID request; a target may leave it unsupported.
info "serial           '$(cat "$sys/serial" 2>/dev/null || echo '<GET_ID unsupported>')'"

expect_eq "$size" "$EXPECT_SIZE" "disk size"
expect_eq "$(cat "$q"/logical_block_size)" "$EXPECT_LBS" "logical block size"
expect_eq "$nr_queues" "$EXPECT_QUEUES" "number of hw queues"
expect_eq "$(cat "$sys/ro")" 0 "read-only flag"
# EXPECT_PACKED=1: the driver negotiated VIRTIO_F_RING_PACKED (bit 34; the sysfs string lists
# bits from 0).
if [ "${EXPECT_PACKED:-0}" = 1 ]; then
  expect_eq "$(cut -c35 /sys/bus/virtio/devices/"$vdev"/features)" 1 "VIRTIO_F_RING_PACKED negotiated"
  info "packed virtqueues negotiated"
fi

# --- O_DIRECT pattern round trip ----------------------------------------------------------------
step "O_DIRECT write of a $PATTERN_SIZE-byte pattern at $PATTERN_OFFSET, read back"
run dd if=/dev/urandom of=/tmp/pattern bs="$PATTERN_SIZE" count=1 iflag=fullblock status=none
PATTERN_SHA256=$(sha256_of /tmp/pattern)
run dd if=/tmp/pattern of="$dev" bs=64k seek="$PATTERN_OFFSET" oflag=direct,seek_bytes conv=fsync status=none
# Read back with larger requests than were written, then once more through the page cache.
run dd if="$dev" of=/tmp/readback bs=1M skip="$PATTERN_OFFSET" count="$PATTERN_SIZE" \
  iflag=direct,skip_bytes,count_bytes status=none
expect_eq "$(sha256_of /tmp/readback)" "$PATTERN_SHA256" "O_DIRECT read-back checksum"
drop_caches
run dd if="$dev" of=/tmp/readback bs=4k skip="$PATTERN_OFFSET" count="$PATTERN_SIZE" \
  iflag=skip_bytes,count_bytes status=none
expect_eq "$(sha256_of /tmp/readback)" "$PATTERN_SHA256" "buffered read-back checksum"
info "sha256 $PATTERN_SHA256 matches"
rm -f /tmp/readback

# --- fio on both queues -------------------------------------------------------------------------
# Interrupts per virtqueue: virtio-pci gives each request queue its own MSI-X vector, named
# "<virtio dev>-req.<n>" in /proc/interrupts; a queue that completed requests has a count > 0.
queue_irqs() {
  awk -v dev="$vdev" -v ncpu="$(nproc)" '$NF ~ "^" dev "-req\\." {
    n = 0; for (i = 2; i <= ncpu + 1; i++) n += $i; printf "%s=%d ", $NF, n }' /proc/interrupts
}
# run_fio ARGS...: runs fio, shows its summary; the whole report only when it fails.
run_fio() {
  echo "   \$ fio $*"
  fio "$@" >/tmp/fio.log 2>&1
  rc=$?
  [ $rc -eq 0 ] || { cat /tmp/fio.log; fail "fio failed (rc=$rc)"; }
  grep -E '^ *(READ|WRITE):|err=' /tmp/fio.log | sed 's/^ */   /'
}
# One job per CPU (cpus_allowed_policy=split pins job N to CPU N), and blk-mq maps each CPU to its
# own hardware queue, so both virtqueues carry I/O. Writes of mixed sizes (512 B to 128 KiB, so
# single- and multi-segment requests), then fio verifies every block's crc32c header.
fio_common="--filename=$dev --direct=1 --numjobs=$EXPECT_QUEUES --cpus_allowed=0-$((EXPECT_QUEUES - 1))
  --cpus_allowed_policy=split --offset=$FIO_OFFSET --size=$FIO_SIZE --offset_increment=$FIO_SIZE
  --bssplit=512/10:4k/50:16k/20:64k/15:128k/5 --verify=crc32c --verify_fatal=1 --group_reporting"
before=$(queue_irqs)
step "fio: libaio random writes, verified ($EXPECT_QUEUES x $FIO_SIZE bytes at $FIO_OFFSET)"
# shellcheck disable=SC2086 # word splitting of the option list is intended
run_fio --name=randwrite --ioengine=libaio --iodepth=16 --rw=randwrite $fio_common
step "fio: io_uring re-reads and verifies what libaio wrote"
# shellcheck disable=SC2086
run_fio --name=randwrite --ioengine=io_uring --iodepth=16 --rw=randwrite --verify_only $fio_common
after=$(queue_irqs)
info "interrupts per virtqueue before fio: $before"
info "interrupts per virtqueue after fio:  $after"
[ -n "$after" ] || fail "no per-queue interrupts for $vdev in /proc/interrupts (MSI-X off?)"
for a in $after; do
  name=${a%%=*}
  old=0
  for b in $before; do [ "${b%%=*}" = "$name" ] && old=${b#*=}; done
  [ "${a#*=}" -gt "$old" ] || fail "virtqueue $name completed no I/O during fio"
done
[ "$(echo "$after" | wc -w)" -eq "$EXPECT_QUEUES" ] || fail "expected $EXPECT_QUEUES request queues in /proc/interrupts"

# --- discard ------------------------------------------------------------------------------------
if [ "$(cat "$q"/discard_max_bytes)" -gt 0 ]; then
  step "discard 1 MiB at $FIO_OFFSET"
  run blkdiscard -o "$FIO_OFFSET" -l 1048576 "$dev"
else
  step "discard not advertised; skipped"
fi

# --- filesystem ---------------------------------------------------------------------------------
step "mkfs.ext4, mount, file round trip, fsck"
run /usr/sbin/mke2fs -q -F -t ext4 "$dev"
run mount -t ext4 "$dev" /mnt
run cp /tmp/pattern /mnt/pattern
run mkdir /mnt/dir
i=0
while [ $i -lt 64 ]; do
  echo "small file $i" >/mnt/dir/f$i || fail "writing /mnt/dir/f$i"
  i=$((i + 1))
done
run sync
run umount /mnt
drop_caches
run mount -t ext4 -o ro "$dev" /mnt
expect_eq "$(sha256_of /mnt/pattern)" "$PATTERN_SHA256" "file read back from ext4"
expect_eq "$(cat /mnt/dir/f63)" "small file 63" "small file read back from ext4"
expect_eq "$(find /mnt/dir -type f | wc -l)" 64 "files in /mnt/dir"
run umount /mnt
run /usr/sbin/e2fsck -f -n "$dev"

# --- marker for the host ------------------------------------------------------------------------
step "write the $MARKER_SIZE-byte marker at $MARKER_OFFSET for the host to check"
run dd if=/dev/urandom of=/tmp/marker bs="$MARKER_SIZE" count=1 iflag=fullblock status=none
MARKER_SHA256=$(sha256_of /tmp/marker)
run dd if=/tmp/marker of="$dev" bs=4k seek="$MARKER_OFFSET" oflag=direct,seek_bytes conv=fsync status=none
run dd if="$dev" of=/tmp/readback bs=64k skip="$MARKER_OFFSET" count="$MARKER_SIZE" \
  iflag=direct,skip_bytes,count_bytes status=none
expect_eq "$(sha256_of /tmp/readback)" "$MARKER_SHA256" "marker read back"
run sync
# The host compares the backing file at this offset with this checksum.
echo "@@VHOSTD-GUEST-MARKER offset=$MARKER_OFFSET size=$MARKER_SIZE sha256=$MARKER_SHA256@@"

# --- resize -------------------------------------------------------------------------------------
# RESIZE_TO (bytes; 0: the target cannot be resized by the test): the host grows the backing
# file and tells the target; the target sends CONFIG_CHANGE_MSG, QEMU raises a config interrupt,
# and virtio_blk reads the new capacity.
if [ "${RESIZE_TO:-0}" -gt 0 ]; then
  step "resize: the host grows the disk to $RESIZE_TO bytes while it is in use"
  echo "@@VHOSTD-GUEST-RESIZE@@"
  i=0
  while [ "$(($(cat "$sys/size") * 512))" -ne "$RESIZE_TO" ]; do
    i=$((i + 1))
    [ $i -le 600 ] || fail "disk still has $(cat "$sys/size") sectors 60 s after the resize"
    sleep 0.1
  done
  run dd if="$dev" of=/dev/null bs=4k skip=$((RESIZE_TO / 4096 - 1)) count=1 iflag=direct status=none
  info "size             $(cat "$sys/size") sectors after the resize"
fi
step "all checks passed"
