# Host side of the virtio-scsi guest test (sourced by run_guest_test.sh --device scsi): the vhostd
# target with a SCSI controller of two targets, QEMU's vhost-user-scsi-pci device, and the
# hot-plug hook that answers the guest's requests over vhostd's JSON-RPC socket.
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared with run_guest_test.sh

# Target 0: a uring bdev over the backing file (the host checks the guest's marker in it).
# Target 1: a 64 MiB malloc bdev. Malloc2 waits for the hot-plug step. Target 3: a 16 MiB
# null bdev that the resize step grows to 32 MiB.
target_vhostd_scsi() {
  local bin=${VHOSTD_BIN:-} ctrlr=scsi.0 cpumask=${VHOSTD_GUEST_CPUMASK:-0x1}
  [[ -n $bin && -x $bin ]] || die "vhostd binary not found (VHOSTD_BIN='$bin'; pass --vhostd PATH)"
  target_sock=$work/$ctrlr
  cat >"$work/vhostd.json" <<EOF2
{
  "subsystems": [
    {
      "subsystem": "bdev",
      "config": [
        { "method": "bdev_uring_create",
          "params": { "name": "disk0", "filename": "$disk", "block_size": $lbs } },
        { "method": "bdev_malloc_create",
          "params": { "name": "Malloc1", "num_blocks": 131072, "block_size": 512 } },
        { "method": "bdev_malloc_create",
          "params": { "name": "Malloc2", "num_blocks": 65536, "block_size": 512 } },
        { "method": "bdev_null_create",
          "params": { "name": "Null3", "num_blocks": 32768, "block_size": 512 } }
      ]
    },
    {
      "subsystem": "vhost_scsi",
      "config": [
        { "method": "vhost_create_scsi_controller",
          "params": { "ctrlr": "$ctrlr", "cpumask": "$cpumask" } },
        { "method": "vhost_scsi_controller_add_target",
          "params": { "ctrlr": "$ctrlr", "scsi_target_num": 0, "bdev_name": "disk0" } },
        { "method": "vhost_scsi_controller_add_target",
          "params": { "ctrlr": "$ctrlr", "scsi_target_num": 1, "bdev_name": "Malloc1" } },
        { "method": "vhost_scsi_controller_add_target",
          "params": { "ctrlr": "$ctrlr", "scsi_target_num": 3, "bdev_name": "Null3" } }
      ]
    }
  ]
}
EOF2
  # shellcheck disable=SC2206 # VHOSTD_ARGS is a word list on purpose
  target_argv=("$bin" -c "$work/vhostd.json" -S "$work" -m "$cpumask" -r "$work/rpc.sock"
    ${VHOSTD_ARGS:-})
}

# QEMU 7.2 spells the request queue count num_queues for vhost-user-scsi-pci.
scsi_device_arg() { echo "vhost-user-scsi-pci,chardev=vhost0,num_queues=$queues"; }

# Called while the guest runs: the guest prints @@VHOSTD-GUEST-HOTPLUG add|remove|resize@@ and
# waits for the disk to appear, go, or change size.
scsi_hotplug_added=0
scsi_hotplug_removed=0
scsi_resized=0
scsi_guest_hook() {
  if ((!scsi_hotplug_added)) && grep -q '@@VHOSTD-GUEST-HOTPLUG add@@' "$work/console.log"; then
    scsi_hotplug_added=1
    say "hot-plug: adding SCSI target 2 (Malloc2): $(vhostd_rpc vhost_scsi_controller_add_target \
      '{"ctrlr": "scsi.0", "scsi_target_num": 2, "bdev_name": "Malloc2"}')"
  fi
  if ((!scsi_hotplug_removed)) && grep -q '@@VHOSTD-GUEST-HOTPLUG remove@@' "$work/console.log"; then
    scsi_hotplug_removed=1
    say "hot-plug: removing SCSI target 2: $(vhostd_rpc vhost_scsi_controller_remove_target \
      '{"ctrlr": "scsi.0", "scsi_target_num": 2}')"
  fi
  if ((!scsi_resized)) && grep -q '@@VHOSTD-GUEST-HOTPLUG resize@@' "$work/console.log"; then
    scsi_resized=1
    say "resize: growing Null3 (target 3) to 32 MiB: $(vhostd_rpc bdev_null_resize \
      '{"name": "Null3", "new_size": 32}')"
  fi
  return 0
}
