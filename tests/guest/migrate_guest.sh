# Host side of the live-migration guest test (sourced by run_guest_test.sh --device migrate):
# one vhostd with two vhost-user-blk controllers over the same backing file (two uring bdevs on
# it), vhost.0 for the source QEMU and vhost.1 for the destination QEMU, which waits with
# -incoming. When the guest announces its fio verify run, the destination is started and the
# source migrated to it over QMP (unlimited bandwidth); the source, paused once the migration
# completed, is told to quit and the test carries on in the destination, whose serial output
# goes to the same console file. The guest's fio must verify with no I/O error.
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared with run_guest_test.sh

migrate_state=idle # idle -> migrating -> finished
migrate_src_pid="" migrate_dst_pid=""

# Parameters for migrate_test.sh: fio rounds long enough to span the migration.
migrate_parameters() {
  echo "MIGRATE_FIO_SIZE=$((16 << 20)) MIGRATE_MIN_SECONDS=25"
}

target_vhostd_migrate() {
  local bin=${VHOSTD_BIN:-} cpumask=${VHOSTD_GUEST_CPUMASK:-0x1}
  [[ -n $bin && -x $bin ]] || die "vhostd binary not found (VHOSTD_BIN='$bin'; pass --vhostd PATH)"
  target_sock=$work/vhost.0
  local packed
  packed=$( ((${VHOSTD_GUEST_PACKED:-0})) && echo true || echo false)
  cat >"$work/vhostd.json" <<JSON
{
  "subsystems": [
    {
      "subsystem": "bdev",
      "config": [
        { "method": "bdev_uring_create",
          "params": { "name": "disk0", "filename": "$disk", "block_size": $lbs } },
        { "method": "bdev_uring_create",
          "params": { "name": "disk1", "filename": "$disk", "block_size": $lbs } }
      ]
    },
    {
      "subsystem": "vhost_blk",
      "config": [
        { "method": "vhost_create_blk_controller",
          "params": { "ctrlr": "vhost.0", "dev_name": "disk0", "cpumask": "$cpumask",
                      "packed_ring": $packed } },
        { "method": "vhost_create_blk_controller",
          "params": { "ctrlr": "vhost.1", "dev_name": "disk1", "cpumask": "$cpumask",
                      "packed_ring": $packed } }
      ]
    }
  ]
}
JSON
  # shellcheck disable=SC2206 # VHOSTD_ARGS is a word list on purpose
  target_argv=("$bin" -c "$work/vhostd.json" -S "$work" -m "$cpumask" -r "$work/rpc.sock"
    ${VHOSTD_ARGS:-})
}

# The other QEMU goes before the scratch dir (the driver's cleanup stops $qemu_pid).
target_vhostd_migrate_cleanup() {
  local pid
  for pid in $migrate_src_pid $migrate_dst_pid; do
    [[ $pid == "$qemu_pid" ]] || stop_pid "$pid"
  done
}

# The source's command line, adjusted: its serial console appends to the shared console file
# (the destination continues it), and a QMP socket. The destination's is derived from it.
migrate_qemu_argv() {
  local i out=()
  for ((i = 0; i < ${#qemu_argv[@]}; i++)); do
    if [[ ${qemu_argv[i]} == -serial ]]; then
      out+=(-chardev "file,id=ser0,path=$work/console.log,append=on" -serial chardev:ser0)
      i=$((i + 1))
    else
      out+=("${qemu_argv[i]}")
    fi
  done
  qemu_argv=("${out[@]}" -qmp "unix:$work/qmp0.sock,server=on,wait=off")
}

# qmp SOCKET COMMAND [JSON-ARGS]: one QMP command; prints its "return" (or fails).
qmp() {
  python3 - "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rw")
json.loads(f.readline())  # greeting
def call(cmd, args=None):
    msg = {"execute": cmd}
    if args is not None:
        msg["arguments"] = args
    f.write(json.dumps(msg) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" in r:
            continue
        return r
call("qmp_capabilities")
r = call(sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else None)
if "error" in r:
    print(json.dumps(r["error"]), file=sys.stderr)
    sys.exit(1)
print(json.dumps(r["return"]))
PY
}

# Called while the guest runs: migrates once the guest has announced its fio run.
migrate_hook() {
  case $migrate_state in
    idle)
      grep -q '@@VHOSTD-GUEST-MIGRATE@@' "$work/console.log" || return 0
      migrate_state=migrating
      migrate_src_pid=$qemu_pid
      # The destination: the same machine on vhost.1, waiting for the migration stream.
      local dst_argv=() a
      for a in "${qemu_argv[@]}"; do
        a=${a//path=$work\/vhost.0/path=$work/vhost.1}
        a=${a//$work\/qmp0.sock/$work/qmp1.sock}
        dst_argv+=("$a")
      done
      dst_argv+=(-incoming "unix:$work/migrate.sock")
      say "migrate: starting the destination: ${dst_argv[*]}"
      "${dst_argv[@]}" >>"$work/qemu-dst.log" 2>&1 &
      migrate_dst_pid=$!
      local i
      for ((i = 0; i < 100; i++)); do
        [[ -S $work/migrate.sock ]] && break
        kill -0 "$migrate_dst_pid" 2>/dev/null || fail_with_logs "the destination QEMU exited: $(cat "$work/qemu-dst.log")"
        sleep 0.1
      done
      [[ -S $work/migrate.sock ]] || fail_with_logs "the destination QEMU did not listen"
      qmp "$work/qmp0.sock" migrate-set-parameters '{"max-bandwidth": 10737418240}' >/dev/null ||
        fail_with_logs "migrate-set-parameters failed"
      qmp "$work/qmp0.sock" migrate "{\"uri\": \"unix:$work/migrate.sock\"}" >/dev/null ||
        fail_with_logs "migrate failed to start"
      migrate_t0=$(now)
      say "migrate: migration started"
      ;;
    migrating)
      local status
      status=$(qmp "$work/qmp0.sock" query-migrate 2>/dev/null || true)
      [[ $status =~ \"status\":\ \"([a-z-]+)\" ]] || return 0
      case ${BASH_REMATCH[1]} in
        completed)
          say "migrate: completed in $(since "$migrate_t0")s: $status"
          qmp "$work/qmp0.sock" quit >/dev/null || true
          local rc=0
          wait "$migrate_src_pid" || rc=$?
          say "migrate: source QEMU exited ($rc); the guest runs on in the destination"
          ((rc == 0)) || fail_with_logs "the source QEMU exited with status $rc"
          qemu_pid=$migrate_dst_pid
          migrate_state=finished
          ;;
        failed | cancelled)
          fail_with_logs "migration ${BASH_REMATCH[1]}: $status"
          ;;
      esac
      ;;
  esac
  return 0
}

# After the run: the migration happened and the guest finished in the destination.
migrate_check() {
  [[ $migrate_state == finished ]] || fail_with_logs "no migration happened (state $migrate_state)"
  say "migrate: the guest finished in the destination QEMU"
}
