#!/usr/bin/env bash
# Configures and builds vhostd: scripts/build.sh [BUILD_DIR] [extra cmake arguments...]
# Default BUILD_DIR is ./build, so the daemon lands at build/vhostd.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
cmake -S "$root" -B "$dir" -G Ninja -DVHOSTD_WERROR=ON "$@" >/dev/null
cmake --build "$dir"
