#!/bin/busybox sh
# /init of the test guest: mounts the pseudo filesystems, loads the virtio modules, runs the test
# script QEMU passes through fw_cfg (opt/vhostd/script), prints a result marker and powers off.
# The host driver (run_guest_test.sh) looks for exactly one "@@VHOSTD-GUEST-RESULT ...@@" line.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TERM=dumb

/bin/busybox mount -t devtmpfs devtmpfs /dev
# The kernel may have started us without a console; make stdio the serial console explicitly.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

result() {
  echo "@@VHOSTD-GUEST-RESULT $1@@"
  sync
  poweroff -f
  sleep 5 # poweroff -f does not return; this only keeps init from exiting (a panic) meanwhile
}

echo "vhostd-guest: kernel $(uname -r), $(nproc) cpus, up $(cut -d' ' -f1 /proc/uptime)s"

# Modules in dependency order (build_guest_image.sh resolved modules.dep); a module that is
# missing or fails is reported, and whatever depended on it fails visibly in the test.
while read -r ko; do
  insmod "/lib/modules/$ko" || echo "vhostd-guest: insmod $ko failed"
done </lib/modules/load.list

script=/sys/firmware/qemu_fw_cfg/by_name/opt/vhostd/script/raw
if [ ! -r "$script" ]; then
  echo "vhostd-guest: no test script in fw_cfg (opt/vhostd/script)"
  result "FAIL no-script"
fi
cat "$script" >/tmp/test.sh

echo "vhostd-guest: running test script, up $(cut -d' ' -f1 /proc/uptime)s"
echo "@@VHOSTD-GUEST-BEGIN@@"
(cd /tmp && sh /tmp/test.sh)
rc=$?
echo "@@VHOSTD-GUEST-END rc=$rc@@"
if [ "$rc" -eq 0 ]; then
  echo "vhostd-guest: test passed, up $(cut -d' ' -f1 /proc/uptime)s"
  result PASS
fi
echo "vhostd-guest: test failed (rc=$rc); last kernel messages:"
dmesg | tail -n 40
result "FAIL rc=$rc"
