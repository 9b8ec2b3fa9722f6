#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 19 (plus ASan/UBSan) and runs each for a bounded
# time: scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]. New findings fail the run.
# BUILD_DIR: an existing clang build configured with -DVHOSTD_FUZZ=ON (scripts/test.sh passes
# its sanitizer build); without it, build-fuzz is configured with the fuzzers only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
if [[ -n ${2:-} ]]; then
  dir=$(cd "$2" && pwd)
else
  dir=$root/build-fuzz
  CC=clang-19 CXX=clang++-19 cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVHOSTD_FUZZ=ON -DVHOSTD_TESTS=OFF -DVHOSTD_BENCH=OFF >/dev/null
fi
targets=$(cmake --build "$dir" --target help | sed -n 's/^\([a-z0-9_]*_fuzz\):.*/\1/p')
cmake --build "$dir" --target $targets
for t in $targets; do
  corpus=$root/fuzz/corpus/$t
  work=$(mktemp -d)
  [[ -d $corpus ]] && cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  echo "--- $t (${seconds}s)"
  "$dir/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/$t-" "$work" 2>&1 | tail -n 12
  rm -rf "$work"
done
