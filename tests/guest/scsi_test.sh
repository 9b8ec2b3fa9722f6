# Guest side of the virtio-scsi acceptance test (busybox sh; runs after guest_lib.sh).
# Parameters come from run_guest_test.sh: EXPECT_SIZE EXPECT_LBS EXPECT_QUEUES PATTERN_SIZE
# PATTERN_OFFSET FIO_OFFSET FIO_SIZE MARKER_SIZE MARKER_OFFSET. Target 0 is the backing file
# (EXPECT_SIZE bytes), target 1 a 64 MiB RAM disk; target 2 is hot-plugged and removed;
# target 3 (a null disk) grows from 16 to 32 MiB while the guest runs.

# sd_of TARGET: the sd disk at SCSI address *:0:TARGET:0, if any.
sd_of() {
  for b in /sys/block/sd*; do
    [ -e "$b/device" ] || continue
    addr=$(basename "$(readlink "$b/device")")
    case $addr in *:0:"$1":0) echo "${b##*/}"; return 0 ;; esac
  done
  return 1
}
# wait_for COND SECONDS WHAT
wait_for() {
  i=0
  while ! eval "$1"; do
    i=$((i + 1))
    [ $i -le $(($2 * 10)) ] || fail "$3 (waited $2 s)"
    sleep 0.1
  done
}

step "find the SCSI disks"
wait_for 'sd_of 0 >/dev/null && sd_of 1 >/dev/null' 30 "targets 0 and 1 did not appear as sd disks"
d0=/dev/$(sd_of 0)
d1=/dev/$(sd_of 1)
vdev=$(basename "$(readlink /sys/block/"${d0#/dev/}"/device/../../..)" 2>/dev/null || true)
info "target 0: $d0 ($(cat /sys/block/"${d0#/dev/}"/size) sectors), target 1: $d1 ($(cat /sys/block/"${d1#/dev/}"/size) sectors)"
info "host adapters: $(ls /sys/class/scsi_host)"
expect_eq "$(($(cat /sys/block/"${d0#/dev/}"/size) * 512))" "$EXPECT_SIZE" "target 0 size"
expect_eq "$(($(cat /sys/block/"${d1#/dev/}"/size) * 512))" 67108864 "target 1 size"
expect_eq "$(cat /sys/block/"${d0#/dev/}"/queue/logical_block_size)" "$EXPECT_LBS" "logical block size"

step "sg3-utils: INQUIRY, READ CAPACITY, VPD pages"
if command -v sg_inq >/dev/null; then
  for d in "$d0" "$d1"; do
    run sg_inq "$d" >/tmp/inq
    sed 's/^/   /' /tmp/inq | head -n 12
    grep -q "Peripheral device type: disk" /tmp/inq || fail "sg_inq $d: not a disk"
    run sg_readcap -l "$d" >/tmp/cap
    sed 's/^/   /' /tmp/cap | head -n 6
    grep -q "Logical block length=$EXPECT_LBS bytes" /tmp/cap || fail "sg_readcap $d: block length"
    run sg_vpd -p sv "$d" >/dev/null
    run sg_vpd -p sn "$d" >/tmp/sn
    grep -q "Unit serial number:" /tmp/sn || fail "sg_vpd $d: no serial number"
    run sg_vpd -p di "$d" >/tmp/di
    grep -qi "naa\|t10" /tmp/di || fail "sg_vpd $d: no NAA or T10 designator"
    run sg_vpd -p bl "$d" >/dev/null
    info "$d: serial $(sed -n 's/.*Unit serial number: *//p' /tmp/sn)"
  done
  expect_eq "$(sg_readcap -l "$d0" | sed -n 's/.*Last LBA=\([0-9]*\).*/\1/p')" \
    "$((EXPECT_SIZE / EXPECT_LBS - 1))" "target 0 last LBA"
else
  fail "sg3-utils missing from the initramfs"
fi

step "O_DIRECT write of $PATTERN_SIZE bytes to both disks, read back"
run dd if=/dev/urandom of=/tmp/pattern bs="$PATTERN_SIZE" count=1 iflag=fullblock status=none
PATTERN_SHA256=$(sha256_of /tmp/pattern)
for d in "$d0" "$d1"; do
  run dd if=/tmp/pattern of="$d" bs=64k seek="$PATTERN_OFFSET" oflag=direct,seek_bytes conv=fsync status=none
  run dd if="$d" of=/tmp/readback bs=1M skip="$PATTERN_OFFSET" count="$PATTERN_SIZE" \
    iflag=direct,skip_bytes,count_bytes status=none
  expect_eq "$(sha256_of /tmp/readback)" "$PATTERN_SHA256" "O_DIRECT read-back checksum of $d"
done
rm -f /tmp/readback

step "fio verify on both disks at once ($FIO_SIZE bytes each)"
fio --name=t0 --filename="$d0" --name=t1 --filename="$d1" --direct=1 --ioengine=libaio \
  --iodepth=16 --rw=randwrite --offset="$FIO_OFFSET" --size="$FIO_SIZE" \
  --bssplit=512/10:4k/50:16k/20:64k/15:128k/5 --verify=crc32c --verify_fatal=1 \
  --group_reporting >/tmp/fio.log 2>&1 || { cat /tmp/fio.log; fail "fio failed"; }
grep -E '^ *(READ|WRITE):|err=' /tmp/fio.log | sed 's/^ */   /'

step "hot-plug: target 2 added over RPC appears"
echo "@@VHOSTD-GUEST-HOTPLUG add@@"
wait_for 'sd_of 2 >/dev/null' 60 "hot-plugged target 2 did not appear"
d2=/dev/$(sd_of 2)
info "target 2: $d2 ($(cat /sys/block/"${d2#/dev/}"/size) sectors)"
expect_eq "$(($(cat /sys/block/"${d2#/dev/}"/size) * 512))" 33554432 "target 2 size"
run dd if=/tmp/pattern of="$d2" bs=64k oflag=direct conv=fsync status=none
run dd if="$d2" of=/tmp/readback bs=64k count="$PATTERN_SIZE" iflag=direct,count_bytes status=none
expect_eq "$(sha256_of /tmp/readback)" "$PATTERN_SHA256" "read-back from the hot-plugged disk"

step "hot-unplug: target 2 removed over RPC disappears"
echo "@@VHOSTD-GUEST-HOTPLUG remove@@"
wait_for '! sd_of 2 >/dev/null' 60 "removed target 2 is still there"
info "remaining disks: $(ls /sys/block | tr '\n' ' ')"

step "resize: target 3 grows from 16 to 32 MiB and the guest sees it"
wait_for 'sd_of 3 >/dev/null' 30 "target 3 did not appear"
s3=/sys/block/$(sd_of 3)/size
expect_eq "$(($(cat "$s3") * 512))" 16777216 "target 3 size before the resize"
echo "@@VHOSTD-GUEST-HOTPLUG resize@@"
# The PARAM_CHANGE event (2Ah/09h) makes the driver rescan the disk; sd reads the new capacity.
wait_for '[ "$(cat "$s3")" = 65536 ]' 60 "target 3 still has $(cat "$s3") sectors after the resize"
run dd if=/dev/$(sd_of 3) of=/dev/null bs=4k skip=$((32 * 256 - 1)) count=1 iflag=direct status=none
info "target 3: $(cat "$s3") sectors after the resize"

step "the other disks still work"
run dd if="$d1" of=/tmp/readback bs=1M skip="$PATTERN_OFFSET" count="$PATTERN_SIZE" \
  iflag=direct,skip_bytes,count_bytes status=none
expect_eq "$(sha256_of /tmp/readback)" "$PATTERN_SHA256" "target 1 after the hot-unplug"

write_marker "$d0"  # on target 0
step "all checks passed"
