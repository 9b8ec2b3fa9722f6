# Host side of the reconnect guest test (sourced by run_guest_test.sh --device reconnect):
# QEMU's vhost-user-blk-pci with reconnect=1 against vhostd; each time the guest announces a fio
# run, vhostd is killed with SIGKILL under it and started again on the same socket and config.
# Afterwards QEMU's trace must show SET_INFLIGHT_FD (request 32) once per connection.
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared with run_guest_test.sh

reconnect_kills=${VHOSTD_GUEST_KILLS:-3}
reconnect_done=0

# Parameters for reconnect_test.sh: the kill count, and a fio range of 32 MiB per job.
reconnect_parameters() {
  echo "KILLS=$reconnect_kills RECONNECT_FIO_SIZE=$((32 << 20))"
}

# Called while the guest runs: one SIGKILL (with requests in flight) and restart per
# "@@VHOSTD-GUEST-KILL n@@" line.
reconnect_hook() {
  local asked
  asked=$(grep -c '@@VHOSTD-GUEST-KILL ' "$work/console.log" || true)
  local inflight
  while ((reconnect_done < asked)); do
    inflight=$(vhostd_wait_inflight)
    kill -KILL "$target_pid" 2>/dev/null || true
    reap_target
    reconnect_done=$((reconnect_done + 1))
    say "reconnect: vhostd $target_end with $inflight requests in flight ($reconnect_done of" \
      "$reconnect_kills); starting it again"
    (cd "$work" && exec setsid "${target_argv[@]}") >>"$work/target.log" 2>&1 &
    target_pid=$!
    target_pgid=$target_pid
  done
  return 0
}

# After the run: every kill was done and QEMU handed the inflight region back each time.
reconnect_check() {
  ((reconnect_done == reconnect_kills)) ||
    fail_with_logs "the guest asked for $reconnect_kills kills, $reconnect_done were done"
  local sets
  sets=$(grep -c 'vhost_user_write.*req:32 ' "$work/qemu.log" || true)
  say "reconnect: QEMU sent SET_INFLIGHT_FD $sets times (first connection + $reconnect_done reconnects)"
  ((sets >= reconnect_kills + 1)) ||
    fail_with_logs "QEMU's trace shows $sets SET_INFLIGHT_FD requests, expected $((reconnect_kills + 1))"
}
