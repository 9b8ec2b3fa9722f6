#!/usr/bin/env bash
# EXPERIMENT (commit history only): vhostd with VHOSTD_RBD_EVENTS=1 (librbd event socket) vs the
# callback + Mailbox path, alternating, same cluster and client.
# A/B: vhostd RBD completions via callback+Mailbox vs librbd event socket.
set -euo pipefail
root=/work/wt/rbd; build=$root/build
work=$(mktemp -d /tmp/rbd-ab.XXXXXX)
trap '"$root/tests/support/ceph_cluster.sh" stop "$work/ceph"; rm -rf "$work"' EXIT
conf=$("$root/tests/support/ceph_cluster.sh" start "$work/ceph" --owner-pid $$)
rbd -c "$conf" create --size 1024M rbd/bench
rbd -c "$conf" bench --io-type write --io-size 4M --io-threads 4 --io-total 1024M --io-pattern seq rbd/bench >/dev/null
cat > "$work/v.json" <<JSON
{"subsystems": [{"subsystem": "bdev", "config": [
 {"method": "bdev_rbd_register_cluster", "params": {"name": "ceph0", "config_file": "$conf"}},
 {"method": "bdev_rbd_create", "params": {"name": "Disk0", "cluster_name": "ceph0", "pool_name": "rbd", "rbd_name": "bench", "block_size": 512}}]},
 {"subsystem": "vhost_blk", "config": [{"method": "vhost_create_blk_controller", "params": {"ctrlr": "sock", "dev_name": "Disk0", "cpumask": "0x1"}}]}]}
JSON
run() { # mode poll workload-args...
  local mode=$1 poll=$2; shift 2
  rm -f "$work/sock"
  if [[ $mode == events ]]; then export VHOSTD_RBD_EVENTS=1; else unset VHOSTD_RBD_EVENTS; fi
  nice -n -19 taskset -c 0 "$build/vhostd" -c "$work/v.json" -S "$work" -r "$work/rpc.sock" -m 0x1 --poll "$poll" --log-level warning > "$work/t.log" 2>&1 &
  local pid=$!
  for _ in $(seq 200); do [[ -S $work/sock ]] && break; sleep 0.05; done
  local t0; t0=$(awk '{print $14+$15}' /proc/$pid/stat)
  local out; out=$(nice -n -19 taskset -c 1 "$build/vhost-bench" --socket "$work/sock" --cpu 1 --json --qsize 256 --time ${SECS:-8} "$@")
  local t1; t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  kill $pid; wait $pid || true
  echo "$out" | jq -r --arg m "$mode/$poll" --arg c "$((t1-t0))" '"\($m) \(.options.rw) qd\(.options.iodepth) iops=\(.iops|floor) mean_us=\(.lat_ns.mean/1000|floor) cpu_us_per_io=\(($c|tonumber)*10000/((.read_ios+.write_ios))|floor)"'
}
for i in 1 2 3; do
  for w in "--rw randread --bs 4k --iodepth 32" "--rw randread --bs 4k --iodepth 1" "--rw randwrite --bs 4k --iodepth 32"; do
    for mode in callback events; do
      for poll in ${POLLS:-never}; do
        # shellcheck disable=SC2086
        run $mode $poll $w
      done
    done
  done
done
