#!/usr/bin/env bash
# Installs the Debian 12 packages the guest test needs (idempotent; installs only what is missing).
# The guest kernel is NOT installed here: build_guest_image.sh extracts it from the .deb (see there).
set -euo pipefail

# Tool packages, all from Debian 12. qemu-system-x86 brings qemu-system-common, which ships
# qemu-storage-daemon (the stand-in target). sg3-utils is for the later virtio-scsi test.
packages=(qemu-system-x86 busybox-static fio e2fsprogs cpio xz-utils sg3-utils)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done

# build_guest_image.sh downloads the kernel package when none is installed; that needs the
# package lists, which fresh containers lack.
need_lists=0
if ! compgen -G '/boot/vmlinuz-*-amd64' >/dev/null && ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
  need_lists=1
fi

if ((${#missing[@]} == 0 && !need_lists)); then
  echo "install_deps: all guest-test packages present"
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "install_deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi

# The package lists may be missing on a fresh machine or container; refresh them once if so.
if ((need_lists)) || { ((${#missing[@]})) && ! apt-cache show "${missing[0]}" >/dev/null 2>&1; }; then
  "${sudo[@]}" apt-get update -q
fi
if ((${#missing[@]})); then
  echo "install_deps: installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
