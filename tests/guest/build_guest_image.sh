#!/usr/bin/env bash
# Prepares the guest for the end-to-end test: an uncompressed vmlinux of Debian's kernel and a small
# initramfs (busybox, fio, mke2fs, sg3-utils, the virtio modules), both cached under --cache-dir.
#
# Usage: build_guest_image.sh --cache-dir DIR
# Prints "KERNEL=<path>", "INITRD=<path>" and "KVER=<version>" on stdout; progress goes to stderr.
#
# The kernel comes from Debian's linux-image package. When it is installed (/boot + /lib/modules) it
# is used in place; otherwise the package is fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` into the cache. We never `apt-get install` it: installing a kernel runs
# initramfs-tools (tens of seconds, and pulls initramfs-tools, kmod, linux-base in), re-runs
# update-grub on a machine with a bootloader, and needs root. Unpacking needs none of that, does not
# touch the host's /boot, and pins exactly the version we test with.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_dir=""
while (($#)); do
  case $1 in
    --cache-dir) cache_dir=$2; shift 2 ;;
    *) echo "build_guest_image: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n $cache_dir ]] || { echo "build_guest_image: --cache-dir is required" >&2; exit 2; }
mkdir -p "$cache_dir"
cache_dir=$(cd "$cache_dir" && pwd)

log() { echo "build_guest_image: $*" >&2; }
die() { echo "build_guest_image: error: $*" >&2; exit 1; }

# One builder at a time per cache (parallel test runs share it); the lock goes with the process.
exec 9>"$cache_dir/.lock"
flock 9

# Modules the guest needs, by module name; their dependencies are added from modules.dep.
# virtio-blk today; virtio-scsi + sd/sg for the SCSI test; crc32c for ext4/jbd2 checksums.
modules=(virtio_pci virtio_blk qemu_fw_cfg crc32c_generic ext4 virtio_scsi sd_mod sg)
# Host programs copied in with their shared libraries. Optional ones are skipped when absent.
required_tools=(/usr/bin/fio /sbin/mke2fs /sbin/e2fsck)
optional_tools=(/usr/bin/sg_inq /usr/bin/sg_readcap /usr/bin/sg_vpd /usr/bin/sg_turs
  /usr/bin/sg_luns /usr/bin/sg_unmap /usr/bin/sg_sync /usr/bin/sg_write_same)
busybox=/bin/busybox

for t in "$busybox" "${required_tools[@]}"; do
  [[ -x $t ]] || die "$t missing (run tests/guest/install_deps.sh)"
done
for t in cpio xz od; do
  command -v "$t" >/dev/null || die "$t missing (run tests/guest/install_deps.sh)"
done
# The guest has no libc of its own for busybox; it must be the static build.
[[ $(ldd "$busybox" 2>&1 || true) == *"not a dynamic executable"* ]] || die "$busybox is not static (install busybox-static)"

# --- kernel -------------------------------------------------------------------------------------

# The ABI name the linux-image-amd64 meta package points at, e.g. 6.1.0-56-amd64.
wanted_kver() {
  { apt-cache depends linux-image-amd64 2>/dev/null || true; } |
    sed -n '/^ *Depends: linux-image-\([0-9].*-amd64\)\(-unsigned\)\?$/{s//\1/p;q}'
}

newest_installed_kver() {
  local v best=""
  for d in /lib/modules/*; do
    v=${d##*/}
    [[ -f /boot/vmlinuz-$v && -f $d/modules.dep ]] || continue
    best=$v # the glob is sorted; good enough to pick one deterministically
  done
  echo "$best"
}

# Sets kroot (a directory holding boot/vmlinuz-$kver and lib/modules/$kver) for $kver.
# VHOSTD_GUEST_KERNEL_SOURCE=deb ignores an installed kernel (to test the download path).
locate_kernel() {
  if [[ ${VHOSTD_GUEST_KERNEL_SOURCE:-auto} != deb && -f /boot/vmlinuz-$kver &&
    -f /lib/modules/$kver/modules.dep ]]; then
    kroot=/
    return
  fi
  kroot=$cache_dir/kernel-$kver/root
  [[ -f $kroot/boot/vmlinuz-$kver && -f $kroot/lib/modules/$kver/modules.dep ]] && return
  log "fetching linux-image-$kver with apt-get download (not installed on this host)"
  local tmp
  tmp=$(mktemp -d "$cache_dir/.kernel-XXXXXX")
  # APT::Sandbox::User=root: the download dir is ours, not _apt's; avoids a spurious warning.
  if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "linux-image-$kver" >&2); then
    rm -rf "$tmp"
    die "could not download linux-image-$kver (run 'apt-get update' or install linux-image-amd64)"
  fi
  dpkg-deb -x "$tmp"/linux-image-"$kver"_*.deb "$tmp/root"
  # The .deb ships no modules.dep (its postinst runs depmod); busybox's depmod needs no kmod.
  "$busybox" depmod -b "$tmp/root" "$kver" || die "depmod failed for $kver"
  rm -f "$tmp"/*.deb
  mkdir -p "$cache_dir/kernel-$kver"
  rm -rf "$kroot"
  mv "$tmp/root" "$kroot"
  rmdir "$tmp"
}

kver=${VHOSTD_GUEST_KVER:-$(wanted_kver)}
[[ -n $kver ]] || kver=$(newest_installed_kver)
[[ -n $kver ]] || die "no kernel: install linux-image-amd64's package lists (apt-get update) or set VHOSTD_GUEST_KVER"
locate_kernel
vmlinuz=$kroot/boot/vmlinuz-$kver
moddir=$kroot/lib/modules/$kver
kernel_key=$kver-$(sha256sum "$vmlinuz" | cut -c1-16)
vmlinux=$cache_dir/$kernel_key/vmlinux

# Debian's bzImage carries an xz-compressed vmlinux; decompressing it inside the guest costs
# seconds under TCG, so we unpack it once here and boot the ELF through QEMU's PVH entry
# (CONFIG_PVH=y: the XEN_ELFNOTE_PHYS32_ENTRY note), which takes an uncompressed vmlinux directly.
# The payload is located from the boot protocol header (Documentation/x86/boot.rst):
# setup_sects at 0x1f1, payload_offset at 0x248 and payload_length at 0x24c, relative to the
# protected-mode code that starts after the (setup_sects + 1) 512-byte setup sectors.
extract_vmlinux() {
  local src=$1 dst=$2 setup_sects payload_offset payload_length start magic
  magic=$(od -An -c -j 514 -N 4 "$src" | tr -d ' ')
  [[ $magic == HdrS ]] || die "$src is not a bzImage (no HdrS header)"
  setup_sects=$(od -An -tu1 -j $((0x1f1)) -N 1 "$src" | tr -d ' ')
  ((setup_sects == 0)) && setup_sects=4
  payload_offset=$(od -An -tu4 -j $((0x248)) -N 4 "$src" | tr -d ' ')
  payload_length=$(od -An -tu4 -j $((0x24c)) -N 4 "$src" | tr -d ' ')
  start=$(((setup_sects + 1) * 512 + payload_offset))
  magic=$(od -An -tx1 -j "$start" -N 6 "$src" | tr -d ' ')
  [[ $magic == fd377a585a00 ]] || die "kernel payload is not xz (magic $magic); only xz is handled"
  # --single-stream: the payload ends with the 4-byte decompressed size, not another xz stream.
  dd if="$src" bs=1M iflag=skip_bytes,count_bytes skip="$start" count="$payload_length" status=none |
    xz -dc --single-stream >"$dst.tmp" || die "could not decompress the kernel payload of $src"
  [[ $(od -An -c -N 4 "$dst.tmp" | tr -d ' ') == 177ELF ]] || die "extracted payload is not ELF"
  mv "$dst.tmp" "$dst"
}

if [[ ! -f $vmlinux ]]; then
  log "extracting vmlinux from $vmlinuz"
  mkdir -p "${vmlinux%/*}"
  extract_vmlinux "$vmlinuz" "$vmlinux"
fi

# --- initramfs ----------------------------------------------------------------------------------

# Module name -> path relative to $moddir, from modules.dep ("kernel/x/y.ko: deps...").
# Names use '_' (modprobe treats '-' and '_' alike; file names may use either).
declare -A mod_path=() mod_deps=()
while IFS= read -r line; do
  path=${line%%:*}
  name=${path##*/}
  name=${name%%.ko*}
  name=${name//-/_}
  mod_path[$name]=$path
  mod_deps[$name]=${line#*:}
done <"$moddir/modules.dep"

declare -A builtin=()
if [[ -f $moddir/modules.builtin ]]; then
  while IFS= read -r path; do
    name=${path##*/}
    name=${name%%.ko*}
    builtin[${name//-/_}]=1
  done <"$moddir/modules.builtin"
fi

# Depth-first: dependencies before the module, each module once (insmod order).
declare -A visited=()
load_order=()
visit() {
  local name=${1//-/_} dep dname
  [[ -n ${visited[$name]:-} ]] && return
  visited[$name]=1
  if [[ -z ${mod_path[$name]:-} ]]; then
    [[ -n ${builtin[$name]:-} ]] && return
    die "module $name not found in $moddir"
  fi
  for dep in ${mod_deps[$name]}; do
    dname=${dep##*/}
    dname=${dname%%.ko*}
    visit "$dname"
  done
  load_order+=("${mod_path[$name]}")
}
for m in "${modules[@]}"; do visit "$m"; done

tools=("${required_tools[@]}")
for t in "${optional_tools[@]}"; do [[ -x $t ]] && tools+=("$t"); done

# Shared libraries of every tool, as the paths ld.so resolved them to (copied to the same path).
libs=()
while IFS= read -r lib; do libs+=("$lib"); done < <(
  for t in "${tools[@]}"; do
    ldd "$t" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
  done | sort -u
)

# Cache key: kernel, these scripts, and the identity (size + mtime) of everything copied in.
key=$(
  {
    echo "$kernel_key"
    cat "${BASH_SOURCE[0]}" "$here/guest_init.sh"
    stat -L -c '%n %s %Y' "$busybox" "${tools[@]}" "${libs[@]}"
    printf '%s\n' "${load_order[@]}"
  } | sha256sum | cut -c1-16
)
initrd=$cache_dir/$kernel_key/initramfs-$key.cpio

if [[ ! -f $initrd ]]; then
  log "building initramfs $initrd"
  root=$(mktemp -d "$cache_dir/.initramfs-XXXXXX")
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib64,dev,proc,sys,tmp,mnt,etc}
  install -m 0755 "$here/guest_init.sh" "$root/init"
  cp "$busybox" "$root/bin/busybox"
  for applet in $("$busybox" --list); do
    [[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"
  done
  for t in "${tools[@]}"; do
    # Tools live in /usr/{bin,sbin} in the guest so they win over busybox applets on PATH.
    case $t in
      /sbin/* | /usr/sbin/*) cp -L "$t" "$root/usr/sbin/" ;;
      *) cp -L "$t" "$root/usr/bin/" ;;
    esac
  done
  for lib in "${libs[@]}"; do
    mkdir -p "$root${lib%/*}"
    cp -L "$lib" "$root$lib"
  done
  mkdir -p "$root/lib/modules"
  for rel in "${load_order[@]}"; do
    file=${rel##*/}
    file=${file%%.ko*}.ko # stored uncompressed: busybox insmod takes plain ELF
    case $rel in
      *.ko) cp "$moddir/$rel" "$root/lib/modules/$file" ;;
      *.ko.xz) xz -dc "$moddir/$rel" >"$root/lib/modules/$file" ;;
      *.ko.zst) zstd -qdc "$moddir/$rel" >"$root/lib/modules/$file" ;;
      *) die "unsupported module compression: $rel" ;;
    esac
    echo "$file" >>"$root/lib/modules/load.list"
  done
  echo "$kver" >"$root/etc/kernel-version"
  # Uncompressed newc: the guest unpacks it with a plain copy; decompressing under TCG is slow.
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  rm -rf "$root"
  trap - EXIT
  # Older initramfs builds for this kernel are stale now.
  find "${initrd%/*}" -maxdepth 1 -name 'initramfs-*.cpio' ! -name "${initrd##*/}" -delete
fi

echo "KERNEL=$vmlinux"
echo "INITRD=$initrd"
echo "KVER=$kver"
