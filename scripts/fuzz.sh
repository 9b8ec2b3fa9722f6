#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 19 (plus ASan/UBSan) and runs each for a bounded
# time, one per core at a time: scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]. New findings
# fail the run.
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
# One target per core at a time; each writes its own log, shown (tail) when it ends.
run_target() {  # run_target NAME: exit status is the fuzzer's
  local t=$1 corpus=$root/fuzz/corpus/$1 work status=0
  work=$(mktemp -d)
  [[ -d $corpus ]] && cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  "$dir/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/$t-" "$work" >"$dir/$t.log" 2>&1 || status=$?
  rm -rf "$work"
  return "$status"
}
failed=()
declare -A running=()  # pid -> target
finish_one() {
  local pid status
  wait -n -p pid "${!running[@]}" && status=0 || status=$?
  local t=${running[$pid]}
  unset "running[$pid]"
  echo "--- $t (${seconds}s)$([[ $status == 0 ]] || echo ": FAILED, exit $status")"
  tail -n 12 "$dir/$t.log"
  [[ $status == 0 ]] || failed+=("$t")
}
jobs=$(nproc)
for t in $targets; do
  while ((${#running[@]} >= jobs)); do finish_one; done
  run_target "$t" &
  running[$!]=$t
done
while ((${#running[@]} > 0)); do finish_one; done
if ((${#failed[@]} > 0)); then
  echo "fuzz: findings or failures in: ${failed[*]}" >&2
  exit 1
fi
