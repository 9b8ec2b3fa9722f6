#!/usr/bin/env bash
# Installs what vhostd needs from Debian 12 packages. Idempotent: only missing packages are
# installed. `--test` adds what the test suite needs (fuzzing compiler, QEMU, guest tooling).
set -euo pipefail

build_packages=(
  g++ cmake ninja-build pkg-config git
  liburing-dev libnbd-dev librbd-dev librados-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
test_packages=(
  clang-19 libfuzzer-19-dev libclang-rt-19-dev clang-format clang-tidy-19
  qemu-system-x86 qemu-system-common qemu-utils fio
  nbdkit  # NBD servers for the NBD backend's tests (and qemu-nbd from qemu-utils)
  ceph-mon ceph-osd ceph-common  # the single-node cluster of the RBD tests (tests/support/ceph_cluster.sh)
  qemu-block-extra  # qemu-storage-daemon's rbd driver (bench/run.sh's rbd rows)
  jq util-linux  # bench/run.sh (smoke test): JSON fields, taskset
)

packages=("${build_packages[@]}")
[[ ${1:-} == --test ]] && packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true) == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  echo "install-deps: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [[ ${1:-} == --test ]]; then
  "$(dirname "$0")/../tests/guest/install_deps.sh"
fi
