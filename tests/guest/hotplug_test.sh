# shellcheck shell=sh
# shellcheck disable=SC2154 # dev and vdev are set by find_virtio_blk_disk (guest_lib.sh)
# Guest side of the memory hot-plug test (busybox sh; runs after guest_lib.sh). fio random writes
# with crc32c verify on both queues run while the host plugs a DIMM (VHOST_USER_ADD_MEM_REG
# reaches vhostd with the queues running); the guest onlines the new memory blocks as
# ZONE_MOVABLE and runs fio with its I/O buffers there, which /proc/PID/pagemap proves; then it
# offlines them and the host unplugs the DIMM (REM_MEM_REG) while fio runs on. Every block must
# verify and no I/O error may reach the guest. Parameters: EXPECT_QUEUES FIO_OFFSET HOTPLUG_SIZE
# HOTPLUG_WAIT_SECONDS HOTPLUG_FIO_SIZE MARKER_SIZE MARKER_OFFSET.

find_virtio_blk_disk

fio_common="--filename=$dev --direct=1 --numjobs=$EXPECT_QUEUES --cpus_allowed=0-$((EXPECT_QUEUES - 1))
  --cpus_allowed_policy=split --offset=$FIO_OFFSET --size=$HOTPLUG_FIO_SIZE
  --offset_increment=$HOTPLUG_FIO_SIZE
  --bssplit=4k/60:16k/30:64k/10 --verify=crc32c --verify_fatal=1 --group_reporting"
# fio_start NAME [OPTION...]: verified rounds of random writes (seed 1, 2, ...), back to back in
# the background until fio_stop, so that I/O runs whenever the host changes the memory.
fio_start() {
  loop=$1
  shift
  rm -f /tmp/fio.stop /tmp/fio.rounds
  echo "   \$ fio --name=$loop --rw=randwrite --randseed=K $* (rounds K=1.. in the background)"
  (
    k=1
    while [ ! -e /tmp/fio.stop ]; do
      # shellcheck disable=SC2086 # word splitting of the option list is intended
      fio --name="$loop" --ioengine=libaio --iodepth=16 --rw=randwrite --randseed=$k "$@" \
        $fio_common >/tmp/fio.log 2>&1 || { cat /tmp/fio.log; exit 1; }
      echo $k >/tmp/fio.rounds
      k=$((k + 1))
    done
  ) &
  fio_pid=$!
}
fio_rounds() { cat /tmp/fio.rounds 2>/dev/null || echo 0; }
# fio_stop: the round under way finishes; every round must have verified.
fio_stop() {
  touch /tmp/fio.stop
  wait "$fio_pid"
  rc=$?
  [ $rc -eq 0 ] || fail "a fio round of $loop failed (rc=$rc)"
  info "$loop: $(fio_rounds) rounds verified; the last one:"
  grep -E '^ *(READ|WRITE):|err=' /tmp/fio.log | sed 's/^ */   /'
}
# fio_alive: the rounds still run (none failed).
fio_alive() { kill -0 "$fio_pid" 2>/dev/null; }

mem=/sys/devices/system/memory
block_bytes=$((0x$(cat $mem/block_size_bytes)))
blocks() {
  for b in "$mem"/memory[0-9]*; do
    [ -e "$b" ] && echo "${b##*/memory}"
  done | sort -n
}
old_blocks=$(blocks)
info "memory blocks of $((block_bytes >> 20)) MiB: $(echo "$old_blocks" | wc -l) at boot," \
  "the last at $(printf '%#x' $(($(echo "$old_blocks" | tail -n 1) * block_bytes)))"
zones() { awk '/^Node/ { z = $4 } /^ +present / { p = $2 } /^ +managed / { printf " %s %d MiB (%d free)", z, $2 / 256, f / 256 } /^ +pages free/ { f = $3 }' /proc/zoneinfo; }

step "fio rounds while the host plugs a $((HOTPLUG_SIZE >> 20)) MiB DIMM (object-add, device_add)"
echo "@@VHOSTD-GUEST-HOTPLUG@@"
fio_start plug
new_blocks=""
waited=0
while [ -z "$new_blocks" ] && [ $waited -lt "$HOTPLUG_WAIT_SECONDS" ] && fio_alive; do
  sleep 1
  waited=$((waited + 1))
  new_blocks=$(blocks | grep -vxF "$old_blocks")
done
fio_alive || fio_stop
[ -n "$new_blocks" ] || fail "no memory block appeared within $HOTPLUG_WAIT_SECONDS s"
info "new memory blocks appeared during fio round $(($(fio_rounds) + 1)): $(echo "$new_blocks" | tr '\n' ' ')"
fio_stop
new_start=$(($(echo "$new_blocks" | head -n 1) * block_bytes))
new_end=$((($(echo "$new_blocks" | tail -n 1) + 1) * block_bytes))
expect_eq "$((new_end - new_start))" "$HOTPLUG_SIZE" "bytes of new memory blocks"

step "online the new memory as ZONE_MOVABLE"
for n in $new_blocks; do
  run sh -c "echo online_movable >$mem/memory$n/state"
  expect_eq "$(cat "$mem/memory$n/state")" online "memory$n state"
done
info "new memory: physical $(printf '%#x-%#x' $new_start $new_end); zones:$(zones)"

step "fio rounds with their I/O buffers in the new memory"
# Buffers mapped from a file (MAP_PRIVATE: each job its own pages) so that /proc/PID/maps names
# them. User pages are movable allocations, which take ZONE_MOVABLE (the DIMM) first.
fio_start buffers --mem=mmap:/tmp/fiobuf
# pagemap entries: bit 63 present, bits 0-54 the page frame number (root sees real PFNs).
pfn_lo=$((new_start >> 12))
pfn_hi=$((new_end >> 12))
checked=0 tries=0
while [ $checked -eq 0 ] && [ $tries -lt 300 ] && fio_alive; do
  tries=$((tries + 1))
  total=0 inside=0 jobs=0
  for maps in /proc/[0-9]*/maps; do
    range=$(grep -m 1 ' /tmp/fiobuf' "$maps" 2>/dev/null | cut -d' ' -f1)
    [ -n "$range" ] || continue
    pid=${maps#/proc/}
    pid=${pid%/maps}
    jobs=$((jobs + 1))
    vstart=$((0x${range%-*}))
    vend=$((0x${range#*-}))
    for e in $(dd if="/proc/$pid/pagemap" bs=8 skip=$((vstart >> 12)) \
      count=$(((vend - vstart) >> 12)) 2>/dev/null | od -An -v -tx8); do
      v=$((0x$e))
      [ $(((v >> 63) & 1)) -eq 1 ] || continue
      pfn=$((v & 0x7fffffffffffff))
      total=$((total + 1))
      [ $pfn -ge $pfn_lo ] && [ $pfn -lt $pfn_hi ] && inside=$((inside + 1))
    done
  done
  # Both jobs of one round, their buffers touched (fio fills them before its first write).
  [ $jobs -eq "$EXPECT_QUEUES" ] && [ $total -gt 0 ] && checked=1
  [ $checked -eq 1 ] || sleep 0.2
done
fio_alive || fio_stop
[ $checked -eq 1 ] || fail "found no resident buffer pages of both fio jobs in $tries tries"
info "fio's buffers: $inside of $total resident pages in the new memory ($jobs jobs)"
[ "$inside" -eq "$total" ] || fail "$((total - inside)) of fio's buffer pages are outside the new memory"
fio_stop
info "zones:$(zones)"

step "offline the new memory; fio rounds while the host unplugs the DIMM (device_del)"
for n in $new_blocks; do
  run sh -c "echo offline >$mem/memory$n/state"
done
echo "@@VHOSTD-GUEST-UNPLUG@@"
fio_start unplug
# The kernel's ACPI eject removes the blocks, then QEMU drops the DIMM (REM_MEM_REG).
waited=0
while blocks | grep -qxF "$new_blocks" && [ $waited -lt "$HOTPLUG_WAIT_SECONDS" ] && fio_alive; do
  sleep 1
  waited=$((waited + 1))
done
fio_alive || fio_stop
! blocks | grep -qxF "$new_blocks" || fail "the memory blocks were not removed within $HOTPLUG_WAIT_SECONDS s"
# QEMU unplugs the DIMM after the guest's eject: two more rounds run after that.
removed_at=$(fio_rounds)
info "memory blocks removed after ${waited}s, during fio round $((removed_at + 1))"
while [ "$(fio_rounds)" -lt $((removed_at + 2)) ] && fio_alive; do
  sleep 0.5
done
fio_stop

step "fio: io_uring re-reads and verifies the last round"
last_round=$(fio_rounds)
echo "   \$ fio --name=unplug --ioengine=io_uring --randseed=$last_round --verify_only ..."
# shellcheck disable=SC2086
fio --name=unplug --ioengine=io_uring --iodepth=16 --rw=randwrite --randseed="$last_round" --verify_only \
  $fio_common >/tmp/fio.log 2>&1 || { cat /tmp/fio.log; fail "the verify-only pass failed"; }
grep -E '^ *(READ|WRITE):|err=' /tmp/fio.log | sed 's/^ */   /'

expect_no_io_errors
write_marker "$dev"
step "all checks passed"
