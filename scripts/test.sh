#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: unit and integration tests (plain and
# under AddressSanitizer + UBSan; the reactor and its mailbox under ThreadSanitizer), the layer
# and header checks, the guest end-to-end tests under QEMU/TCG, a bounded fuzzing run of every
# fuzz target, clang-tidy and the format check. This is what CI runs (.ci/run).
#
# Two full builds: the release build (g++, what users run; the guest tests, the soak and the
# bench smoke use it) and one clang build with ASan + UBSan and libFuzzer's coverage that
# serves both the sanitizer run of the tests and the fuzzers. Both keep line tables only as
# debug info (enough for backtraces and sanitizer reports), and test files are compiled at -O0
# (cmake/VhostdTargets.cmake): CI has 90 minutes on 2 cores.
#
# Environment: FUZZ_SECONDS (per target, default 30), SOAK_SECONDS (default 120), SKIP_GUEST=1,
# SKIP_FUZZ=1, SKIP_ASAN=1, SKIP_TSAN=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-30}
timings=()

step() {  # step NAME COMMAND...
  local name=$1 start=$SECONDS
  shift
  echo "=== $name"
  "$@"
  timings+=("$(printf '%-28s %4ss' "$name" $((SECONDS - start)))")
}

step "install dependencies" scripts/install-deps.sh --test
step "format check" scripts/check-format.sh
step "build (release)" scripts/build.sh build -DVHOSTD_HEADER_CHECK=ON -DVHOSTD_LINE_TABLES_ONLY=ON
step "unit + integration tests" ctest --test-dir build -L 'unit|integration' -j "$jobs" --output-on-failure
# The bounded soak: hostile and well-behaved frontends at once (longer by hand: SOAK_SECONDS).
step "soak (${SOAK_SECONDS:=120}s)" env SOAK_SECONDS="$SOAK_SECONDS" \
  ctest --test-dir build -L soak --output-on-failure
if [[ ${SKIP_ASAN:-} != 1 ]]; then
  step "build (clang: asan+ubsan, fuzzers)" env CC=clang-19 CXX=clang++-19 \
    scripts/build.sh build-san -DVHOSTD_FUZZ=ON -DVHOSTD_BENCH=OFF -DVHOSTD_LINE_TABLES_ONLY=ON
  step "tests under asan+ubsan" ctest --test-dir build-san -L 'unit|integration' -j "$jobs" \
    --output-on-failure
  # clang-tidy reads the clang build's compile database (.clang-tidy; any warning fails).
  step "clang-tidy" scripts/tidy.sh build-san
fi
# ThreadSanitizer over what crosses threads by design (the reactor's messages, the lock-free
# completion mailbox, the stuck-call watchdog): only those test binaries are built.
tsan() {
  # No -Werror here: g++ 12 reports false maybe-uninitialized warnings under -fsanitize=thread.
  cmake -S "$root" -B build-tsan -G Ninja -DVHOSTD_SANITIZE=thread -DVHOSTD_LINE_TABLES_ONLY=ON \
    -DVHOSTD_BENCH=OFF >/dev/null
  cmake --build build-tsan --target reactor_test base_test pci_test nvme_test
  TSAN_OPTIONS=halt_on_error=1 build-tsan/src/reactor/reactor_test
  # The stuck-call watchdog interrupts a blocked thread from its own thread.
  TSAN_OPTIONS=halt_on_error=1 build-tsan/src/base/base_test --gtest_filter='PeerEventFd.*'
  # Interrupts signalled while masks change; NVMe queues on threaded reactors woken by trapped
  # doorbells and shadow EventIdx. (Mapped-doorbell tests are left out: the doorbell page is
  # mapped twice, which ThreadSanitizer cannot see as one address.)
  TSAN_OPTIONS=halt_on_error=1 build-tsan/src/pci/pci_test --gtest_filter='InterruptsTest.*'
  TSAN_OPTIONS=halt_on_error=1 build-tsan/src/nvme/nvme_test \
    --gtest_filter='ThreadedIoTest.Trapped*:ThreadedIoTest.Shadow*'
}
if [[ ${SKIP_TSAN:-} != 1 ]]; then
  step "reactor, mailbox, watchdog under tsan" tsan
fi
if [[ ${SKIP_GUEST:-} != 1 ]]; then
  step "guest tests (QEMU/TCG)" ctest --test-dir build -L guest --output-on-failure
fi
if [[ ${SKIP_FUZZ:-} != 1 ]]; then
  # The sanitizer build has the fuzz targets; without it fuzz.sh makes its own build.
  fuzz_build=()
  [[ ${SKIP_ASAN:-} != 1 ]] && fuzz_build=(build-san)
  step "fuzzing (${fuzz_seconds}s per target)" scripts/fuzz.sh "$fuzz_seconds" "${fuzz_build[@]}"
fi

echo "=== all tests passed"
printf '%s\n' "${timings[@]}"
