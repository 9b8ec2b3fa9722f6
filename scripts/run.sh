#!/usr/bin/env bash
# Installs dependencies, builds, and starts vhostd. With no arguments vhostd serves a 64 MiB
# RAM disk as vhost-user-blk controller vhost.0 (socket ./vhost.0) and prints the QEMU command
# line that attaches it. Arguments are passed to vhostd (e.g. -c config.json -S /var/tmp).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build" -DVHOSTD_TESTS=OFF -DVHOSTD_BENCH=OFF
exec "$root/build/vhostd" "$@"
