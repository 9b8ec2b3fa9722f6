# Helpers for the guest test scripts (busybox sh). run_guest_test.sh sends, through fw_cfg, the
# test's parameters, then this file, then the test script, as one script.

T0=$(cut -d' ' -f1 /proc/uptime)

elapsed() { awk -v t0="$T0" '{ printf "%6.1fs", $1 - t0 }' /proc/uptime; }
step() { echo "== [$(elapsed)] $*"; }
info() { echo "   $*"; }
fail() {
  echo "FAIL: $*"
  exit 1
}
# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"; }
# run CMD...: echoes the command, fails the test if it fails.
run() {
  echo "   \$ $*"
  "$@" || fail "command failed (rc=$?): $*"
}
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
drop_caches() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
}

# The end of every verify test: no I/O error reached the guest's kernel log.
expect_no_io_errors() {
  step "no I/O error reached the guest"
  errors=$(dmesg | grep -ciE 'I/O error|blk_update_request|critical medium')
  [ "$errors" -eq 0 ] || { dmesg | grep -iE 'I/O error|blk_update_request' | tail; fail "$errors I/O errors in dmesg"; }
  info "dmesg: no I/O errors"
}

# write_marker DEV: MARKER_SIZE random bytes at byte MARKER_OFFSET of DEV, announced with their
# sha256 so that the host can find them in its backing file.
write_marker() {
  step "write the $MARKER_SIZE-byte marker at $MARKER_OFFSET for the host to check"
  run dd if=/dev/urandom of=/tmp/marker bs="$MARKER_SIZE" count=1 iflag=fullblock status=none
  MARKER_SHA256=$(sha256_of /tmp/marker)
  run dd if=/tmp/marker of="$1" bs=4k seek="$MARKER_OFFSET" oflag=direct,seek_bytes conv=fsync status=none
  run sync
  echo "@@VHOSTD-GUEST-MARKER offset=$MARKER_OFFSET size=$MARKER_SIZE sha256=$MARKER_SHA256@@"
}

# find_virtio_blk_disk: sets disk (vdX), dev (/dev/vdX) and vdev (its virtio device) to the last
# virtio-blk disk, and shows its negotiated features.
find_virtio_blk_disk() {
  step "find the vhost-user disk"
  disk=""
  for b in /sys/block/vd*; do
    [ -e "$b" ] || continue
    disk=${b##*/}
  done
  [ -n "$disk" ] || fail "no virtio-blk disk (/sys/block/vd*) appeared"
  dev=/dev/$disk
  vdev=$(readlink "/sys/block/$disk/device")
  vdev=${vdev##*/}
  info "device           $dev ($vdev), features $(cat /sys/bus/virtio/devices/"$vdev"/features)"
}
