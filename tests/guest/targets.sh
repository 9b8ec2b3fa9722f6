# vhost-user-blk targets the guest test can run against (sourced by run_guest_test.sh).
# target_<name> sets target_argv (the command to start, run from $work) and target_sock (the socket
# QEMU connects to), from: $work (scratch dir), $disk (raw backing file), $disk_size (bytes),
# $queues, $lbs (logical block size). To add a target, add a target_<name> function.
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared with run_guest_test.sh

# qemu-storage-daemon's vhost-user-blk export: the stand-in with the same socket protocol.
target_qsd() {
  target_sock=$work/qsd.sock
  target_argv=("${QSD_BIN:-qemu-storage-daemon}"
    --blockdev "driver=file,node-name=disk0,filename=$disk"
    --export "type=vhost-user-blk,id=exp0,node-name=disk0,writable=on,addr.type=unix,addr.path=$target_sock,num-queues=$queues,logical-block-size=$lbs")
}

# vhostd with an SPDK-format JSON config: a uring bdev over the backing file, exported as the
# vhost-user-blk controller vhost.0, whose socket vhostd creates as <-S dir>/vhost.0.
# VHOSTD_GUEST_CPUMASK picks the I/O cores (default 0x1: the guest's two vCPU threads need the
# other core of a 2-core CI machine); VHOSTD_ARGS adds options, e.g. "--poll never --log-level debug".
# VHOSTD_GUEST_PACKED=1 offers packed virtqueues (packed_ring).
target_vhostd() {
  local bin=${VHOSTD_BIN:-} ctrlr=vhost.0 cpumask=${VHOSTD_GUEST_CPUMASK:-0x1}
  [[ -n $bin && -x $bin ]] || die "vhostd binary not found (VHOSTD_BIN='$bin'; pass --vhostd PATH)"
  target_sock=$work/$ctrlr
  cat >"$work/vhostd.json" <<EOF
{
  "subsystems": [
    {
      "subsystem": "bdev",
      "config": [
        { "method": "bdev_uring_create",
          "params": { "name": "disk0", "filename": "$disk", "block_size": $lbs } }
      ]
    },
    {
      "subsystem": "vhost_blk",
      "config": [
        { "method": "vhost_create_blk_controller",
          "params": { "ctrlr": "$ctrlr", "dev_name": "disk0", "cpumask": "$cpumask",
                      "packed_ring": $( ((${VHOSTD_GUEST_PACKED:-0})) && echo true || echo false) } }
      ]
    }
  ]
}
EOF
  # shellcheck disable=SC2206 # VHOSTD_ARGS is a word list on purpose
  target_argv=("$bin" -c "$work/vhostd.json" -S "$work" -m "$cpumask" -r "$work/rpc.sock"
    ${VHOSTD_ARGS:-})
}

# Waits (up to 10 s) until the vhostd target's controller vhost.0 has requests in flight, so that
# what the caller does next (a kill, a memory change) lands under them; prints how many.
vhostd_wait_inflight() {
  local i stats
  for ((i = 0; i < 100; i++)); do
    stats=$(vhostd_rpc vhost_get_controller_stats '{"ctrlr": "vhost.0"}' 2>/dev/null || true)
    if [[ $stats =~ \"inflight\":\ ([0-9]+) ]] && ((BASH_REMATCH[1] > 0)); then
      echo "${BASH_REMATCH[1]}"
      return 0
    fi
    sleep 0.1
  done
  echo 0
}

# vhostd_rpc METHOD JSON-PARAMS: one JSON-RPC call to the vhostd target; prints the reply.
vhostd_rpc() {
  python3 - "$work/rpc.sock" "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "method": sys.argv[2],
                      "params": json.loads(sys.argv[3])}).encode())
buf = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
    try:
        print(json.dumps(json.loads(buf)))
        break
    except ValueError:
        continue
PY
}

# Called while the blk guest runs against vhostd: when the guest prints @@VHOSTD-GUEST-RESIZE@@,
# grows the backing file by 64 MiB and has vhostd re-read its size (bdev_uring_rescan).
blk_resized=0
blk_resize_hook() {
  if ((!blk_resized)) && grep -q '@@VHOSTD-GUEST-RESIZE@@' "$work/console.log"; then
    blk_resized=1
    truncate -s $((disk_size + (64 << 20))) "$disk"
    say "resize: backing file grown to $(stat -c %s "$disk") bytes; bdev_uring_rescan: $(vhostd_rpc \
      bdev_uring_rescan '{"name": "disk0"}')"
  fi
  return 0
}

# Any other target: VHOSTD_GUEST_TARGET_CMD is a shell command template in which {sock}, {disk},
# {size}, {queues}, {lbs} and {work} are replaced; it must create the socket {sock} and serve it.
target_cmd() {
  local cmd=${VHOSTD_GUEST_TARGET_CMD:-}
  [[ -n $cmd ]] || die "target 'cmd' needs VHOSTD_GUEST_TARGET_CMD (or --target-cmd)"
  target_sock=$work/target.sock
  cmd=${cmd//\{sock\}/$target_sock}
  cmd=${cmd//\{disk\}/$disk}
  cmd=${cmd//\{size\}/$disk_size}
  cmd=${cmd//\{queues\}/$queues}
  cmd=${cmd//\{lbs\}/$lbs}
  cmd=${cmd//\{work\}/$work}
  # bash runs a single simple command in place (the pid we hold is then the target's); a
  # compound command should end with `exec target ...` so that SIGTERM reaches the target.
  target_argv=(bash -c "$cmd")
}

# vhostd over a Ceph RBD image (SPDK's bdev_rbd_register_cluster + bdev_rbd_create) on a
# single-node cluster started for the test (tests/support/ceph_cluster.sh) in $work/ceph. The
# image takes the place of the backing file: target_vhostd_rbd_backing exports it there for the
# host-side checks, and the resize comes from another client (the rbd tool).
target_vhostd_rbd() {
  local bin=${VHOSTD_BIN:-} ctrlr=vhost.0 cpumask=${VHOSTD_GUEST_CPUMASK:-0x1}
  [[ -n $bin && -x $bin ]] || die "vhostd binary not found (VHOSTD_BIN='$bin'; pass --vhostd PATH)"
  target_sock=$work/$ctrlr
  ceph_conf=$("$here/../support/ceph_cluster.sh" start "$work/ceph" --owner-pid $$) ||
    die "the Ceph cluster did not start (logs in $work/ceph/log)"
  timeout 60 rbd -c "$ceph_conf" create --size "$((disk_size >> 20))M" rbd/disk ||
    die "cannot create the RBD image"
  cat >"$work/vhostd.json" <<EOF
{
  "subsystems": [
    {
      "subsystem": "bdev",
      "config": [
        { "method": "bdev_rbd_register_cluster",
          "params": { "name": "ceph0", "config_file": "$ceph_conf" } },
        { "method": "bdev_rbd_create",
          "params": { "name": "disk0", "cluster_name": "ceph0", "pool_name": "rbd",
                      "rbd_name": "disk", "block_size": $lbs } }
      ]
    },
    {
      "subsystem": "vhost_blk",
      "config": [
        { "method": "vhost_create_blk_controller",
          "params": { "ctrlr": "$ctrlr", "dev_name": "disk0", "cpumask": "$cpumask" } }
      ]
    }
  ]
}
EOF
  # --poll never: the Ceph daemons share the cores with the guest and the target.
  # shellcheck disable=SC2206 # VHOSTD_ARGS is a word list on purpose
  target_argv=("$bin" -c "$work/vhostd.json" -S "$work" -m "$cpumask" -r "$work/rpc.sock"
    --poll never ${VHOSTD_ARGS:-})
}
target_vhostd_rbd_backing() {
  timeout 120 rbd -c "$ceph_conf" export --no-progress rbd/disk - >"$disk" ||
    die "cannot export the RBD image"
}
target_vhostd_rbd_cleanup() {
  [[ -d $work/ceph ]] && "$here/../support/ceph_cluster.sh" stop "$work/ceph"
  return 0
}
# The guest asks for the resize: another client (the rbd tool) grows the image by 64 MiB; the
# header watch tells vhostd, which sends CONFIG_CHANGE_MSG.
rbd_resized=0
rbd_resize_hook() {
  if ((!rbd_resized)) && grep -q '@@VHOSTD-GUEST-RESIZE@@' "$work/console.log"; then
    rbd_resized=1
    local mib=$(((disk_size + (64 << 20)) >> 20))
    if timeout 60 rbd -c "$ceph_conf" resize --size "${mib}M" rbd/disk; then
      say "resize: rbd/disk grown to $mib MiB by the rbd tool"
    else
      say "resize: rbd resize failed"
    fi
  fi
  return 0
}

# vhostd over an NBD export: nbdkit's file plugin serves the backing file itself on a unix
# socket (so the host-side checks read the file), in the target's process group.
target_vhostd_nbd() {
  local bin=${VHOSTD_BIN:-} ctrlr=vhost.0 cpumask=${VHOSTD_GUEST_CPUMASK:-0x1}
  [[ -n $bin && -x $bin ]] || die "vhostd binary not found (VHOSTD_BIN='$bin'; pass --vhostd PATH)"
  target_sock=$work/$ctrlr
  cat >"$work/vhostd.json" <<EOF
{
  "subsystems": [
    {
      "subsystem": "bdev",
      "config": [
        { "method": "bdev_nbd_client_create",
          "params": { "name": "disk0", "uri": "nbd+unix:///?socket=$work/nbd.sock",
                      "block_size": $lbs } }
      ]
    },
    {
      "subsystem": "vhost_blk",
      "config": [
        { "method": "vhost_create_blk_controller",
          "params": { "ctrlr": "$ctrlr", "dev_name": "disk0", "cpumask": "$cpumask" } }
      ]
    }
  ]
}
EOF
  # nbdkit first (vhostd's create needs the socket to answer); exec, so SIGTERM reaches vhostd.
  target_argv=(bash -c "nbdkit --foreground -U '$work/nbd.sock' file '$disk' &
    for i in \$(seq 200); do [ -S '$work/nbd.sock' ] && break; sleep 0.05; done
    exec '$bin' -c '$work/vhostd.json' -S '$work' -m '$cpumask' -r '$work/rpc.sock' --poll never ${VHOSTD_ARGS:-}")
}
