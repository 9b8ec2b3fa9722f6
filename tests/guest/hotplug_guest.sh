# Host side of the memory hot-plug guest test (sourced by run_guest_test.sh --device hotplug):
# QEMU starts with -m 512M,slots=4,maxmem=2G (RAM a shared memfd, as vhost-user needs) and a QMP
# socket. When the guest announces its first fio verify run, a 256 MiB DIMM is plugged over QMP
# (object-add memory-backend-memfd,share=on + device_add pc-dimm): QEMU hands it to vhostd with
# VHOST_USER_ADD_MEM_REG while the queues run. The guest onlines it, runs fio with its buffers in
# it, offlines it and announces the unplug: device_del, the DEVICE_DELETED event (the guest's
# ACPI eject), object-del; QEMU sends VHOST_USER_REM_MEM_REG. Afterwards QEMU's trace must show
# both requests and vhostd's log both region changes, with no warning or error.
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared with run_guest_test.sh

hotplug_state=idle # idle -> plugged -> unplugged
hotplug_dimm_size=$((256 << 20))

# Parameters for hotplug_test.sh.
hotplug_parameters() {
  echo "HOTPLUG_SIZE=$hotplug_dimm_size HOTPLUG_WAIT_SECONDS=60 HOTPLUG_FIO_SIZE=$((16 << 20))"
}

# The guest's memory: room for the DIMM (slots, maxmem), a QMP socket, and the vhost-user
# requests in QEMU's trace (stderr).
hotplug_qemu_argv() {
  local i
  for ((i = 0; i < ${#qemu_argv[@]}; i++)); do
    [[ ${qemu_argv[i]} == -m ]] && qemu_argv[i + 1]="$mem,slots=4,maxmem=2G"
  done
  qemu_argv+=(-qmp "unix:$work/qmp.sock,server=on,wait=off" -trace vhost_user_write)
}

# hotplug_qmp STEP-JSON...: one QMP connection, one command per argument ({"execute": ...,
# "arguments": ..., "wait_event": NAME}); with wait_event it also waits (60 s at most) for that
# event. Prints each command's return; fails on the first error.
hotplug_qmp() {
  python3 - "$work/qmp.sock" "$@" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
f = s.makefile("rw")
json.loads(f.readline())  # greeting
events = []
def call(msg):
    f.write(json.dumps(msg) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" in r:
            events.append(r)
            continue
        return r
call({"execute": "qmp_capabilities"})
for arg in sys.argv[2:]:
    step = json.loads(arg)
    wait_event = step.pop("wait_event", None)
    r = call(step)
    if "error" in r:
        print(f"{step['execute']}: {json.dumps(r['error'])}", file=sys.stderr)
        sys.exit(1)
    print(f"{step['execute']}: {json.dumps(r['return'])}")
    if wait_event:
        deadline = time.monotonic() + 60
        while not any(e["event"] == wait_event for e in events):
            if time.monotonic() > deadline:
                print(f"no {wait_event} event within 60 s", file=sys.stderr)
                sys.exit(1)
            events.append(json.loads(f.readline()))
        print(f"event: {json.dumps([e for e in events if e['event'] == wait_event][0])}")
PY
}

# Called while the guest runs: plugs the DIMM, then unplugs it, when the guest asks.
hotplug_hook() {
  local out inflight
  case $hotplug_state in
    idle)
      grep -q '@@VHOSTD-GUEST-HOTPLUG@@' "$work/console.log" || return 0
      hotplug_state=plugged
      inflight=$(vhostd_wait_inflight)
      out=$(hotplug_qmp \
        "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"memory-backend-memfd\",
          \"id\": \"mem1\", \"size\": $hotplug_dimm_size, \"share\": true}}" \
        '{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "dimm1",
          "memdev": "mem1"}}' \
        '{"execute": "query-memory-devices"}' 2>&1) ||
        fail_with_logs "hotplug: plugging the DIMM failed: $out"
      say "hotplug: DIMM plugged with $inflight requests in flight:"$'\n'"$out"
      ;;
    plugged)
      grep -q '@@VHOSTD-GUEST-UNPLUG@@' "$work/console.log" || return 0
      hotplug_state=unplugged
      inflight=$(vhostd_wait_inflight)
      # DEVICE_DELETED comes once the guest has ejected the DIMM (ACPI _EJ0); only then may
      # its backend go.
      out=$(hotplug_qmp \
        '{"execute": "device_del", "arguments": {"id": "dimm1"}, "wait_event": "DEVICE_DELETED"}' \
        '{"execute": "object-del", "arguments": {"id": "mem1"}}' \
        '{"execute": "query-memory-devices"}' 2>&1) ||
        fail_with_logs "hotplug: unplugging the DIMM failed: $out"
      say "hotplug: DIMM unplugged ($inflight requests in flight at device_del):"$'\n'"$out"
      ;;
  esac
  return 0
}

# After the run: both changes happened, QEMU sent both requests, vhostd took both quietly.
hotplug_check() {
  [[ $hotplug_state == unplugged ]] || fail_with_logs "the DIMM was not plugged and unplugged (state $hotplug_state)"
  # vhost-user.rst: ADD_MEM_REG is request 37, REM_MEM_REG 38.
  local adds removes
  adds=$(grep -c 'vhost_user_write.*req:37 ' "$work/qemu.log" || true)
  removes=$(grep -c 'vhost_user_write.*req:38 ' "$work/qemu.log" || true)
  ((adds >= 1 && removes >= 1)) ||
    fail_with_logs "QEMU's trace shows $adds ADD_MEM_REG and $removes REM_MEM_REG requests"
  say "hotplug: QEMU sent $adds ADD_MEM_REG and $removes REM_MEM_REG"
  local start end
  start=$(printf '%#x' $((1 << 32))) # q35: device memory starts at 4 GiB (no RAM above 4 GiB)
  end=$(printf '%#x' $(((1 << 32) + hotplug_dimm_size)))
  grep -q "guest memory region added (guest-physical $start-$end," "$work/target.log" ||
    fail_with_logs "vhostd's log shows no region added at $start-$end"
  grep -q "guest memory region removed (guest-physical $start-$end," "$work/target.log" ||
    fail_with_logs "vhostd's log shows no region removed at $start-$end"
  grep 'guest memory region' "$work/target.log" | sed 's/^/run_guest_test: vhostd: /'
  if grep -qiE '\[(warning|error|critical)\]' "$work/target.log"; then
    fail_with_logs "vhostd logged warnings or errors"
  fi
}
