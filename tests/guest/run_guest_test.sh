#!/usr/bin/env bash
# End-to-end guest test: boots Debian's kernel under QEMU (TCG) against a vhost-user-blk target,
# runs the virtio-blk checks of blk_test.sh inside the guest, then checks the backing file on the
# host. Exits 0 on PASS, 1 on any failure (with the reason and the relevant logs), 2 on bad usage.
#
# Usage: run_guest_test.sh [--target qsd|vhostd|vhostd_rbd|vhostd_nbd|cmd] [--vhostd PATH]
#                          [--target-cmd TEMPLATE]
#                          [--device blk|scsi|reconnect|migrate|hotplug]
#                          [--packed]
#                          [--cache-dir DIR] [--timeout SECONDS] [--accel tcg|kvm]
#                          [--install-deps] [--keep] [--verbose]
# Environment equivalents: VHOSTD_GUEST_TARGET, VHOSTD_BIN, VHOSTD_GUEST_TARGET_CMD,
# VHOSTD_GUEST_CACHE, VHOSTD_GUEST_TIMEOUT, VHOSTD_GUEST_ACCEL, VHOSTD_GUEST_KEEP=1,
# VHOSTD_GUEST_VERBOSE=1, VHOSTD_GUEST_PACKED=1. See tests/guest/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

target=${VHOSTD_GUEST_TARGET:-qsd}
device=${VHOSTD_GUEST_DEVICE:-blk} # scsi: vhost-user-scsi-pci and scsi_test.sh (scsi_guest.sh)
# reconnect: vhost-user-blk-pci with reconnect=1, vhostd killed under fio (reconnect_guest.sh)
# migrate: live migration to a second QEMU on a second vhostd controller (migrate_guest.sh)
# hotplug: a DIMM plugged and unplugged over QMP under the guest's fio (hotplug_guest.sh)
packed=${VHOSTD_GUEST_PACKED:-0} # packed virtqueues: packed=on, and a controller that offers them
cache_dir=${VHOSTD_GUEST_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/vhostd-guest}
timeout_s=${VHOSTD_GUEST_TIMEOUT:-300}
accel=${VHOSTD_GUEST_ACCEL:-tcg}
keep=${VHOSTD_GUEST_KEEP:-0}
verbose=${VHOSTD_GUEST_VERBOSE:-0}
install_deps=0

usage() {
  sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
  exit 2
}
while (($#)); do
  case $1 in
    --target) target=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --packed) packed=1; shift ;;
    --vhostd) VHOSTD_BIN=$2; shift 2 ;;
    --target-cmd) VHOSTD_GUEST_TARGET_CMD=$2; target=cmd; shift 2 ;;
    --cache-dir) cache_dir=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --accel) accel=$2; shift 2 ;;
    --install-deps) install_deps=1; shift ;;
    --keep) keep=1; shift ;;
    -v | --verbose) verbose=1; shift ;;
    -h | --help) usage ;;
    *) echo "run_guest_test: unknown argument '$1'" >&2; usage ;;
  esac
done
# Relative paths are taken from where the script was started, before it changes directory.
[[ -n ${VHOSTD_BIN:-} && -e $VHOSTD_BIN ]] && VHOSTD_BIN=$(realpath "$VHOSTD_BIN")
export VHOSTD_BIN=${VHOSTD_BIN:-} VHOSTD_GUEST_TARGET_CMD=${VHOSTD_GUEST_TARGET_CMD:-}
export VHOSTD_GUEST_PACKED=$packed

say() { echo "run_guest_test: $*"; }
die() {
  echo "run_guest_test: FAIL: $*" >&2
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# shellcheck source=targets.sh
source "$here/targets.sh"
if [[ $device == scsi ]]; then
  # shellcheck source=scsi_guest.sh
  source "$here/scsi_guest.sh"
  [[ $target == vhostd ]] && target=vhostd_scsi
elif [[ $device == reconnect ]]; then
  # shellcheck source=reconnect_guest.sh
  source "$here/reconnect_guest.sh"
elif [[ $device == migrate ]]; then
  # shellcheck source=migrate_guest.sh
  source "$here/migrate_guest.sh"
  [[ $target == vhostd ]] && target=vhostd_migrate
elif [[ $device == hotplug ]]; then
  # shellcheck source=hotplug_guest.sh
  source "$here/hotplug_guest.sh"
fi
declare -F "target_$target" >/dev/null || die "unknown target '$target' (qsd, vhostd, vhostd_rbd, vhostd_nbd, cmd)"

# --- dependencies -------------------------------------------------------------------------------
need=(qemu-system-x86_64 fio cpio xz /bin/busybox /sbin/mke2fs)
[[ $target == qsd ]] && need+=("${QSD_BIN:-qemu-storage-daemon}")
[[ $target == vhostd_rbd ]] && need+=(ceph-mon ceph-osd rbd)
[[ $target == vhostd_nbd ]] && need+=(nbdkit)
missing=()
for t in "${need[@]}"; do command -v "$t" >/dev/null || missing+=("$t"); done
if ((${#missing[@]})); then
  ((install_deps)) || die "missing ${missing[*]}: run tests/guest/install_deps.sh (or pass --install-deps)"
  "$here/install_deps.sh"
fi

# --- guest image (cached) -----------------------------------------------------------------------
t_prep=$(now)
image_info=$("$here/build_guest_image.sh" --cache-dir "$cache_dir") || die "could not prepare the guest image"
kernel=$(sed -n 's/^KERNEL=//p' <<<"$image_info")
initrd=$(sed -n 's/^INITRD=//p' <<<"$image_info")
kver=$(sed -n 's/^KVER=//p' <<<"$image_info")
say "guest kernel $kver, image ready in $(since "$t_prep")s ($cache_dir)"

# --- scratch dir and cleanup --------------------------------------------------------------------
# Short path: the unix socket lives here and sun_path holds 108 bytes.
work=$(mktemp -d "${TMPDIR:-/tmp}/vhostd-guest.XXXXXX")
target_pid="" target_pgid="" qemu_pid="" tail_pid=""

stop_pid() { # stop_pid PID: TERM, then KILL after 5 s; our own children only.
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  [[ -n $qemu_pid ]] && stop_pid "$qemu_pid"
  [[ -n $target_pid ]] && stop_pid "$target_pid"
  # Anything the target started (its own process group) goes too.
  if [[ -n $target_pgid ]] && kill -0 -- "-$target_pgid" 2>/dev/null; then
    kill -TERM -- "-$target_pgid" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-$target_pgid" 2>/dev/null || true
  fi
  [[ -n $tail_pid ]] && stop_pid "$tail_pid"
  # Whatever else the target needed (a Ceph cluster) goes before its scratch dir.
  if declare -F "target_${target}_cleanup" >/dev/null; then "target_${target}_cleanup"; fi
  wait 2>/dev/null || true
  if ((keep)); then
    say "kept scratch dir $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_log() { # show_log FILE TITLE [LINES]
  [[ -e $1 ]] || return 0
  [[ -s $1 ]] || { echo "----- $2: nothing in $1 -----"; return 0; }
  echo "----- $2 (last ${3:-60} lines of $1) -----"
  tail -n "${3:-60}" "$1" | tr -d '\r'
  echo "-----"
}
# reap_target: waits for the target; sets target_end to how it ended. Not in a $(...) subshell:
# only this shell can wait for its child.
reap_target() {
  local rc=0
  wait "$target_pid" 2>/dev/null || rc=$?
  target_pid=""
  if ((rc > 128)); then
    target_end="killed by signal $(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
  else
    target_end="exit status $rc"
  fi
}
fail_with_logs() {
  show_log "$work/console.log" "guest serial console" 80
  show_log "$work/qemu.log" "qemu stderr" 30
  show_log "$work/target.log" "target ($target) output" 40
  die "$*"
}

# --- test inputs --------------------------------------------------------------------------------
queues=2
lbs=512
disk_size=$((256 << 20))
disk=$work/disk.img
truncate -s "$disk_size" "$disk"
marker_offset=$(((200 << 20) + (12 << 10))) # 4 KiB aligned, not 1 MiB aligned
marker_size=$((64 << 10))

{
  echo "# parameters from run_guest_test.sh"
  echo "EXPECT_SIZE=$disk_size EXPECT_LBS=$lbs EXPECT_QUEUES=$queues"
  echo "PATTERN_SIZE=$((1 << 20)) PATTERN_OFFSET=$((3 << 20))"
  echo "FIO_OFFSET=$((16 << 20)) FIO_SIZE=$((16 << 20))"
  echo "MARKER_SIZE=$marker_size MARKER_OFFSET=$marker_offset"
  # Only vhostd's blk target is resized by the test (target_vhostd_resize in targets.sh).
  [[ $device == blk && ($target == vhostd || $target == vhostd_rbd) ]] &&
    echo "RESIZE_TO=$((disk_size + (64 << 20)))"
  echo "EXPECT_PACKED=$packed"
  [[ $device == reconnect ]] && reconnect_parameters
  [[ $device == migrate ]] && migrate_parameters
  [[ $device == hotplug ]] && hotplug_parameters
  cat "$here/guest_lib.sh" "$here/${device}_test.sh"
} >"$work/script.sh"

# --- target -------------------------------------------------------------------------------------
"target_$target"
say "starting target '$target': ${target_argv[*]}"
# setsid: the target leads its own process group, so cleanup can also stop whatever it spawned.
# (A background job of this non-interactive shell is no group leader: setsid execs in place.)
(cd "$work" && exec setsid "${target_argv[@]}") >"$work/target.log" 2>&1 &
target_pid=$!
target_pgid=$target_pid
for ((i = 0; i < 300; i++)); do # 30 s: generous for sanitizer builds
  [[ -S $target_sock ]] && break
  if ! kill -0 "$target_pid" 2>/dev/null; then
    reap_target
    fail_with_logs "target exited before creating $target_sock ($target_end)"
  fi
  sleep 0.1
done
[[ -S $target_sock ]] || fail_with_logs "target did not create $target_sock within 30 s"

# --- guest --------------------------------------------------------------------------------------
mem=512M
accel_opt=tcg,thread=multi # MTTCG: one host thread per vCPU, so -smp 2 costs no extra wall time
[[ $accel == kvm ]] && accel_opt=kvm
# shellcheck disable=SC2054 # the commas are QEMU's option syntax
qemu_argv=(qemu-system-x86_64
  -accel "$accel_opt" -machine q35,memory-backend=mem -cpu max -smp 2 -m "$mem"
  # vhost-user maps guest RAM in the target: it must be a shared, fd-backed memory backend.
  -object "memory-backend-memfd,id=mem,size=$mem,share=on"
  -nodefaults -no-user-config -display none -monitor none -no-reboot
  -serial "file:$work/console.log"
  -kernel "$kernel" -initrd "$initrd"
  -append "console=ttyS0 quiet panic=-1 mitigations=off"
  -chardev "socket,id=vhost0,path=$target_sock$([[ $device == reconnect ]] && echo ,reconnect=1)"
  -device "$([[ $device == scsi ]] && scsi_device_arg ||
    echo "vhost-user-blk-pci,chardev=vhost0,num-queues=$queues$( ((packed)) && echo ,packed=on)")"
  -fw_cfg "name=opt/vhostd/script,file=$work/script.sh")
# The reconnect test reads QEMU's vhost-user requests back from its trace (stderr).
[[ $device == reconnect ]] && qemu_argv+=(-trace vhost_user_write)
[[ $device == migrate ]] && migrate_qemu_argv
[[ $device == hotplug ]] && hotplug_qemu_argv
say "booting guest (timeout ${timeout_s}s): ${qemu_argv[*]}"
: >"$work/console.log"
if ((verbose)); then
  tail -n +1 -f "$work/console.log" &
  tail_pid=$!
fi
t_boot=$(now)
"${qemu_argv[@]}" >"$work/qemu.log" 2>&1 &
qemu_pid=$!
# A hung guest must not hang the test: poll so that the cleanup trap stays responsive.
deadline=$(($(date +%s) + timeout_s))
while kill -0 "$qemu_pid" 2>/dev/null && (($(date +%s) < deadline)); do
  if ! kill -0 "$target_pid" 2>/dev/null; then # a crashed target would leave the guest hanging
    stop_pid "$qemu_pid"
    qemu_pid=""
    reap_target
    fail_with_logs "target exited while the guest was running ($target_end)"
  fi
  if [[ $device == scsi ]]; then
    scsi_guest_hook
  elif [[ $device == reconnect ]]; then
    reconnect_hook
  elif [[ $device == migrate ]]; then
    migrate_hook
  elif [[ $device == hotplug ]]; then
    hotplug_hook
  elif [[ $target == vhostd ]]; then
    blk_resize_hook
  elif [[ $target == vhostd_rbd ]]; then
    rbd_resize_hook
  fi
  sleep 0.2
done
if kill -0 "$qemu_pid" 2>/dev/null; then
  stop_pid "$qemu_pid"
  qemu_pid=""
  fail_with_logs "guest did not finish within ${timeout_s}s (hung?)"
fi
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=""
guest_time=$(since "$t_boot")
if [[ -n $tail_pid ]]; then
  stop_pid "$tail_pid"
  tail_pid=""
fi

# What the guest saw and did, for the test log.
if ((!verbose)); then
  echo "----- guest test output -----"
  sed -n '/@@VHOSTD-GUEST-BEGIN@@/,/@@VHOSTD-GUEST-END/p' "$work/console.log" | tr -d '\r'
  echo "-----"
fi
say "guest ran for ${guest_time}s (boot + test + poweroff)"

((qemu_rc == 0)) || fail_with_logs "qemu exited with status $qemu_rc"
result=$(tr -d '\r' <"$work/console.log" | sed -n 's/^@@VHOSTD-GUEST-RESULT \(.*\)@@$/\1/p')
[[ -n $result ]] || fail_with_logs "guest printed no result marker (crash or panic?)"
[[ $result == PASS ]] || fail_with_logs "guest test failed: $result"

# --- host-side checks ---------------------------------------------------------------------------
# The target must outlive its frontend's disconnect, then stop cleanly on SIGTERM.
if ! kill -0 "$target_pid" 2>/dev/null; then
  reap_target
  fail_with_logs "target died during the test ($target_end)"
fi
kill -TERM "$target_pid"
for ((i = 0; i < 200; i++)); do # 20 s: a sanitizer build checks for leaks on the way out
  kill -0 "$target_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$target_pid" 2>/dev/null; then
  stop_pid "$target_pid"
  reap_target
  fail_with_logs "target did not exit within 20 s of SIGTERM"
fi
reap_target
[[ $target_end == "exit status 0" ]] || fail_with_logs "target did not stop cleanly on SIGTERM: $target_end"

# What the guest wrote last (random data, fresh each run) must be in the backing file, at the
# offset it was written to: the guest reports the checksum of what it wrote.
# A target whose disk is not the backing file (an RBD image) copies it there first.
if declare -F "target_${target}_backing" >/dev/null; then "target_${target}_backing"; fi
marker=$(tr -d '\r' <"$work/console.log" | sed -n 's/^@@VHOSTD-GUEST-MARKER \(.*\)@@$/\1/p')
[[ $marker == "offset=$marker_offset size=$marker_size sha256="* ]] ||
  fail_with_logs "guest reported no marker (or a different one): '$marker'"
marker_sha=${marker##*sha256=}
host_sha=$(dd if="$disk" bs=64k iflag=skip_bytes,count_bytes skip="$marker_offset" \
  count="$marker_size" status=none | sha256sum | cut -d' ' -f1)
[[ $host_sha == "$marker_sha" ]] ||
  die "backing file at offset $marker_offset has sha256 $host_sha, the guest wrote $marker_sha"
say "backing file holds the guest's $marker_size-byte marker at offset $marker_offset (sha256 $host_sha)"
[[ $device == reconnect ]] && reconnect_check
[[ $device == migrate ]] && migrate_check
[[ $device == hotplug ]] && hotplug_check

say "PASS (target $target, guest ${guest_time}s, total $(since "$t_prep")s)"
