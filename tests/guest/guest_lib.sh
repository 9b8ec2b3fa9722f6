# Helpers for the guest test scripts (busybox sh). run_guest_test.sh sends, through fw_cfg, the
# test's parameters, then this file, then the test script, as one script.

T0=$(cut -d' ' -f1 /proc/uptime)

elapsed() { awk -v t0="$T0" '{ printf "%6.1fs", $1 - t0 }' /proc/uptime; }
step() { echo "== [$(elapsed)] $*"; }
info() { echo "   $*"; }
fail() {
  echo "FAIL: $*"
  exit 1
}
# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"; }
# run CMD...: echoes the command, fails the test if it fails.
run() {
  echo "   \$ $*"
  "$@" || fail "command failed (rc=$?): $*"
}
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
drop_caches() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
}
