#!/usr/bin/env bash
# bench/run.sh: vhostd and qemu-storage-daemon side by side, driven by the same client
# (vhost-bench), with the same kind of backend, the target pinned to core 0 and the client to
# core 1. Prints a Markdown table with ratios (vhostd / qsd).
#
#   bench/run.sh [--smoke] [--build DIR] [--out FILE] [--time SECONDS]
#   bench/run.sh --rbd|--nbd [--pairs N] [--build DIR] [--out FILE] [--time SECONDS]
#   bench/run.sh --nvme [--build DIR] [--out FILE] [--time SECONDS]
#
# --smoke runs every workload for a fraction of a second (CI: it must run, not reach numbers).
# --rbd runs only the Ceph RBD rows, on a single-node cluster started for the run
# (tests/support/ceph_cluster.sh): vhostd's rbd bdev and qemu-storage-daemon's rbd driver
# (qemu-block-extra) in alternating pairs (default 3), medians, and target CPU per I/O.
# --nbd does the same with an nbdkit memory export on a unix socket (vhostd's nbd client bdev
# vs qemu-storage-daemon's nbd driver). --nvme runs only the NVMe rows (vhostd's vfio-user
# controller driven by vhost-bench --transport nvme: mapped and trapped doorbells, shadow
# doorbells on and off, and the doorbell messages per I/O).
# Needs build/vhostd, build/vhost-bench, qemu-storage-daemon (Debian: qemu-system-common),
# taskset and jq. Without qemu-storage-daemon the qsd columns say "n/a". With SPDK_DIR set (an
# SPDK tree built by ../shared/anchors/spdk/build.sh), bench/spdk_pairs.sh then compares vhostd
# with SPDK's vhost target, both clients, in alternating pairs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
out=""
secs=10
idle_secs=10
smoke=0
remote=""
nvme_only=0
pairs=3
while [[ $# -gt 0 ]]; do
    case $1 in
        --smoke) smoke=1; secs=0.4; idle_secs=1 ;;
        --rbd) remote=rbd ;;
        --nbd) remote=nbd ;;
        --nvme) nvme_only=1 ;;
        --pairs) pairs=$2; shift ;;
        --build) build=$(cd "$2" && pwd); shift ;;
        --out) out=$2; shift ;;
        --time) secs=$2; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

target_cpu=0
client_cpu=1
# On a shared machine taskset alone does not give the target its core: other work on core 0
# would decide the numbers. As root, target and client run at nice -19 (CFS weight ~88x the
# default), so they get their cores without starving anything the way a real-time class would.
# With autogroups, nice only ranks tasks inside one session, so the session's group is raised
# too. VHOSTD_BENCH_NICE=0 turns both off.
prio=()
if [[ $EUID == 0 && ${VHOSTD_BENCH_NICE:-1} == 1 ]]; then
    prio=(nice -n -19)
    if [[ -w /proc/$$/autogroup ]]; then
        echo -19 > "/proc/$$/autogroup" 2>/dev/null || true
    fi
fi
vhostd=$build/vhostd
bench=$build/vhost-bench
qsd=$(command -v qemu-storage-daemon || true)
for tool in "$vhostd" "$bench"; do
    [[ -x $tool ]] || { echo "missing $tool (build it first: scripts/build.sh $build)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "bench/run.sh needs jq" >&2; exit 1; }
ncpu=$(nproc)
if (( ncpu < 2 )); then
    client_cpu=0
fi

ram_mib=256
[[ $smoke == 1 ]] && ram_mib=64
work=$(mktemp -d /tmp/vhostd-bench-XXXXXX)
shm=$(mktemp -d /dev/shm/vhostd-bench-XXXXXX)
target_pid=""
cleanup() {
    stop_target
    [[ -n ${nbdkit_pid:-} ]] && kill "$nbdkit_pid" 2>/dev/null
    [[ -d $work/ceph ]] && "$root/tests/support/ceph_cluster.sh" stop "$work/ceph"
    rm -rf "$work" "$shm"
}
trap cleanup EXIT

stop_target() {
    if [[ -n $target_pid ]]; then
        kill "$target_pid" 2>/dev/null || true
        wait "$target_pid" 2>/dev/null || true
        target_pid=""
    fi
    rm -f "$work/sock"
}

wait_socket() {
    for _ in $(seq 200); do
        [[ -S $1 ]] && return 0
        kill -0 "$target_pid" 2>/dev/null || { echo "target died; log:" >&2; cat "$work/target.log" >&2; exit 1; }
        sleep 0.05
    done
    echo "no socket $1; log:" >&2
    cat "$work/target.log" >&2
    exit 1
}

# start_vhostd BACKEND REACTOR_MASK: one controller on a malloc / null / uring bdev.
start_vhostd() {
    local backend=$1 mask=${2:-0x1} bdev
    case $backend in
        ram) bdev='{"method": "bdev_malloc_create", "params": {"name": "Disk0", "num_blocks": '$((ram_mib * 2048))', "block_size": 512}}' ;;
        null) bdev='{"method": "bdev_null_create", "params": {"name": "Disk0", "num_blocks": '$((ram_mib * 2048))', "block_size": 512}}' ;;
        file) bdev='{"method": "bdev_uring_create", "params": {"name": "Disk0", "filename": "'"$work/disk.img"'"}}' ;;
        nbd) bdev='{"method": "bdev_nbd_client_create", "params": {"name": "Disk0", "uri": "nbd+unix:///?socket='"$work/nbd.sock"'"}}' ;;
        rbd) bdev='{"method": "bdev_rbd_register_cluster", "params": {"name": "ceph0", "config_file": "'"$ceph_conf"'"}},
                   {"method": "bdev_rbd_create", "params": {"name": "Disk0", "cluster_name": "ceph0", "pool_name": "rbd", "rbd_name": "bench", "block_size": 512}}' ;;
    esac
    cat > "$work/vhostd.json" <<JSON
{"subsystems": [
  {"subsystem": "bdev", "config": [$bdev]},
  {"subsystem": "vhost_blk", "config": [
    {"method": "vhost_create_blk_controller",
     "params": {"ctrlr": "sock", "dev_name": "Disk0", "cpumask": "$mask"}}]}]}
JSON
    local cores=$target_cpu
    [[ $mask == 0x3 ]] && cores=0,1
    # With the NBD server on this machine's cores, a busy-polling reactor would take its CPU:
    # the remote rows run vhostd's reactor in interrupt mode, as a network server elsewhere
    # would not need.
    local poll=()
    [[ $backend == nbd || $backend == rbd ]] && poll=(--poll "${VHOSTD_BENCH_REMOTE_POLL:-never}")
    "${prio[@]}" taskset -c "$cores" "$vhostd" -c "$work/vhostd.json" -S "$work" -r "$work/rpc.sock" -m "$mask" \
        "${poll[@]}" --log-level warning > "$work/target.log" 2>&1 &
    target_pid=$!
    wait_socket "$work/sock"
}

# start_qsd BACKEND QUEUES: the same disk exported by qemu-storage-daemon.
start_qsd() {
    local backend=$1 queues=${2:-1} blockdev
    case $backend in
        ram) blockdev="driver=file,node-name=disk0,filename=$shm/disk.img,cache.direct=off" ;;
        null) blockdev="driver=null-co,node-name=disk0,size=$((ram_mib << 20))" ;;
        file) blockdev="driver=file,node-name=disk0,filename=$work/disk.img,aio=io_uring" ;;
        nbd) blockdev="driver=nbd,node-name=disk0,server.type=unix,server.path=$work/nbd.sock" ;;
        rbd) blockdev="driver=rbd,node-name=disk0,pool=rbd,image=bench,conf=$ceph_conf" ;;
    esac
    "${prio[@]}" taskset -c "$target_cpu" "$qsd" --blockdev "$blockdev" \
        --export "type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path=$work/sock,writable=on,num-queues=$queues" \
        > "$work/target.log" 2>&1 &
    target_pid=$!
    wait_socket "$work/sock"
}

cpu_ticks() {
    # utime + stime of every thread of the process (fields 14 and 15; comm has no spaces here)
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# run_bench NAME ARGS...: vhost-bench against the running target; leaves its JSON in
# $work/NAME.json with the target's CPU use (percent of one core) added as .target_cpu.
run_bench() {
    local name=$1; shift
    local t0 t1 w0 w1
    t0=$(cpu_ticks "$target_pid")
    w0=$(date +%s.%N)
    if ! "${prio[@]}" taskset -c "$client_cpu" "$bench" --socket "${bench_socket:-$work/sock}" --cpu "$client_cpu" --json "$@" \
        > "$work/$name.raw" 2> "$work/$name.err"; then
        echo "vhost-bench failed ($name):" >&2
        cat "$work/$name.err" "$work/$name.raw" >&2
        failed=1
    fi
    w1=$(date +%s.%N)
    t1=$(cpu_ticks "$target_pid")
    local hz
    hz=$(getconf CLK_TCK)
    jq --argjson cpu "$(awk -v t="$((t1 - t0))" -v hz="$hz" -v w0="$w0" -v w1="$w1" \
                         'BEGIN { printf "%.2f", t / hz / (w1 - w0) * 100 }')" \
       --argjson cpu_s "$(awk -v t="$((t1 - t0))" -v hz="$hz" 'BEGIN { printf "%.3f", t / hz }')" \
        '. + {target_cpu: $cpu, target_cpu_s: $cpu_s}' "$work/$name.raw" > "$work/$name.json" 2>/dev/null ||
        echo '{"iops": 0, "lat_ns": {"mean": 0, "p99": 0}, "target_cpu": 0}' > "$work/$name.json"
}

field() {  # field FILE JQ-EXPR
    [[ -f $1 ]] && jq -r "$2" "$1" || echo "n/a"
}
fmt_iops() { [[ $1 == n/a ]] && echo n/a || awk -v v="$1" 'BEGIN { printf "%.0fk", v / 1000 }'; }
fmt_kiops() { [[ $1 == n/a ]] && echo n/a || awk -v v="$1" 'BEGIN { printf "%.2fk", v / 1000 }'; }
fmt_us() { [[ $1 == n/a ]] && echo n/a || awk -v v="$1" 'BEGIN { printf "%.1f", v / 1000 }'; }
fmt_pct() { [[ $1 == n/a ]] && echo n/a || awk -v v="$1" 'BEGIN { printf "%.1f%%", v }'; }
ratio() { [[ $1 == n/a || $2 == n/a ]] && echo n/a || awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }

failed=0
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# start_nbdkit: an nbdkit memory export on $work/nbd.sock (unpinned: the server, not the target,
# is the limit).
start_nbdkit() {
    "${prio[@]}" nbdkit --foreground -U "$work/nbd.sock" memory "${ram_mib}M" > "$work/nbdkit.log" 2>&1 &
    nbdkit_pid=$!
    for _ in $(seq 100); do [[ -S $work/nbd.sock ]] && break; sleep 0.05; done
}

# --rbd / --nbd: the remote rows alone, vhostd and qsd alternating, `pairs` times each workload.
if [[ -n $remote ]]; then
    [[ -n $qsd ]] || { echo "--$remote needs qemu-storage-daemon" >&2; exit 1; }
    if [[ $remote == rbd ]]; then
        ceph_conf=$("$root/tests/support/ceph_cluster.sh" start "$work/ceph" --owner-pid $$)
        "$root/tests/support/ceph_cluster.sh" image "$work/ceph" bench 1024
        title="Ceph RBD, single-node cluster (memstore OSD on this machine)"
    else
        command -v nbdkit >/dev/null || { echo "--nbd needs nbdkit" >&2; exit 1; }
        start_nbdkit
        # Written once: an nbdkit memory export reads unwritten blocks as zeroes, for free.
        start_vhostd nbd 1
        run_bench "prefill" --qsize 256 --rw write --bs 128k --iodepth 8 --time 2
        stop_target
        title="NBD, nbdkit memory export of ${ram_mib} MiB on a unix socket (unpinned, this machine)"
    fi
    remote_workloads=(
        "randread-4k-qd32|--rw randread --bs 4k --iodepth 32"
        "randwrite-4k-qd32|--rw randwrite --bs 4k --iodepth 32"
        "randread-4k-qd1|--rw randread --bs 4k --iodepth 1"
        "randwrite-4k-qd1|--rw randwrite --bs 4k --iodepth 1"
    )
    for ((pair = 1; pair <= pairs; pair++)); do
        for w in "${remote_workloads[@]}"; do
            IFS='|' read -r name args <<< "$w"
            for target in vhostd qsd; do
                echo "$remote: pair $pair/$pairs, $name, $target" >&2
                "start_$target" "$remote" 1
                # shellcheck disable=SC2086
                run_bench "$target-$name-$pair" --qsize 256 --time "$secs" $args
                stop_target
            done
        done
    done
    # per_io FILE: target CPU microseconds per I/O.
    per_io() { jq -r '(.target_cpu_s / ((.read_ios + .write_ios) | if . == 0 then 1 else . end)) * 1e6' "$1"; }
    {
        echo "$title, ${secs} s per run, $pairs alternating pairs; medians, then every pair (vhostd/qsd)."
        echo
        echo "| workload | vhostd IOPS | qsd IOPS | ratio | vhostd mean µs | qsd mean µs | vhostd CPU µs/IO | qsd CPU µs/IO | pairs (IOPS) |"
        echo "|---|---|---|---|---|---|---|---|---|"
        for w in "${remote_workloads[@]}"; do
            IFS='|' read -r name _ <<< "$w"
            vi=$(for p in $(seq "$pairs"); do field "$work/vhostd-$name-$p.json" .iops; done | median)
            qi=$(for p in $(seq "$pairs"); do field "$work/qsd-$name-$p.json" .iops; done | median)
            vl=$(for p in $(seq "$pairs"); do field "$work/vhostd-$name-$p.json" .lat_ns.mean; done | median)
            ql=$(for p in $(seq "$pairs"); do field "$work/qsd-$name-$p.json" .lat_ns.mean; done | median)
            vc=$(for p in $(seq "$pairs"); do per_io "$work/vhostd-$name-$p.json"; done | median)
            qc=$(for p in $(seq "$pairs"); do per_io "$work/qsd-$name-$p.json"; done | median)
            each=$(for p in $(seq "$pairs"); do
                printf '%s/%s ' "$(fmt_kiops "$(field "$work/vhostd-$name-$p.json" .iops)")" \
                    "$(fmt_kiops "$(field "$work/qsd-$name-$p.json" .iops)")"
            done)
            echo "| $name | $(fmt_kiops "$vi") | $(fmt_kiops "$qi") | $(ratio "$vi" "$qi") | $(fmt_us "$vl") | $(fmt_us "$ql")" \
                 "| $(awk -v v="$vc" 'BEGIN { printf "%.1f", v }') | $(awk -v v="$qc" 'BEGIN { printf "%.1f", v }') | $each|"
        done
    } | tee ${out:+"$out"}
    exit "$failed"
fi

# Workloads: name, backend, vhost-bench arguments.
workloads=(
    "randread-4k-qd1|ram|--rw randread --bs 4k --iodepth 1"
    "randread-4k-qd32|ram|--rw randread --bs 4k --iodepth 32"
    "randread-4k-qd128|ram|--rw randread --bs 4k --iodepth 128"
    "randwrite-4k-qd32|ram|--rw randwrite --bs 4k --iodepth 32"
    "read-128k-qd8|ram|--rw read --bs 128k --iodepth 8"
    "randread-4k-qd32|null|--rw randread --bs 4k --iodepth 32"
    "randread-4k-qd128|null|--rw randread --bs 4k --iodepth 128"
    "randread-4k-qd32|file|--rw randread --bs 4k --iodepth 32"
    "rate-100k-randread-4k|ram|--rw randread --bs 4k --iodepth 32 --rate 100000"
)
# Remote disk rows: an nbdkit memory export on a unix socket (the server, not the target, is
# the limit; it runs unpinned). Left out of the smoke run and without nbdkit.
nbdkit_pid=""
if [[ $smoke != 1 && $nvme_only == 0 ]] && command -v nbdkit >/dev/null; then
    start_nbdkit
    workloads+=(
        "randread-4k-qd32|nbd|--rw randread --bs 4k --iodepth 32"
        "randwrite-4k-qd32|nbd|--rw randwrite --bs 4k --iodepth 32"
        "randread-4k-qd1|nbd|--rw randread --bs 4k --iodepth 1"
    )
fi

truncate -s "${ram_mib}M" "$shm/disk.img"
truncate -s "${ram_mib}M" "$work/disk.img"

run_target() {  # run_target vhostd|qsd
    local target=$1 backend prev=""
    for w in "${workloads[@]}"; do
        IFS='|' read -r name backend args <<< "$w"
        if [[ $backend != "$prev" ]]; then
            stop_target
            "start_$target" "$backend" 1
            prev=$backend
            # Reads of a RAM disk nobody wrote hit the kernel's shared zero page (vhostd's
            # anonymous memory, qsd's sparse /dev/shm file) and flatter both: write it first.
            if [[ $backend == ram ]]; then
                run_bench "$target-prefill-$backend" --rw write --bs 128k --iodepth 8 \
                    --time "$([[ $smoke == 1 ]] && echo 0.2 || echo 2)"
            fi
        fi
        # shellcheck disable=SC2086
        run_bench "$target-$name-$backend" --qsize 256 --time "$secs" $args
    done
    stop_target
    "start_$target" ram 1
    run_bench "$target-idle" --idle --time "$idle_secs"
    stop_target
}

if [[ $nvme_only == 0 ]]; then
    run_target vhostd
    if [[ -n $qsd ]]; then
        run_target qsd
    fi

    # One device, 2 queues: all on one reactor (-m 0x1) vs one reactor per queue (-m 0x3).
    start_vhostd ram 0x1
    run_bench "vhostd-2q-1r" --queues 2 --qsize 256 --iodepth 32 --rw randread --bs 4k --time "$secs"
    stop_target
    start_vhostd ram 0x3
    run_bench "vhostd-2q-2r" --queues 2 --qsize 256 --iodepth 32 --rw randread --bs 4k --time "$secs"
    stop_target
fi

# start_vhostd_nvme BACKEND DOORBELLS: an NVMe controller over vfio-user (nvmf_* methods) on a
# ram / null bdev, doorbells mapped or trapped (disable_mappable_bar0), at $work/nvme/cntrl.
start_vhostd_nvme() {
    local backend=$1 doorbells=$2 method=bdev_malloc_create trapped=false
    [[ $backend == null ]] && method=bdev_null_create
    [[ $doorbells == trapped ]] && trapped=true
    local nqn=nqn.2019-07.io.vhostd:bench
    mkdir -p "$work/nvme"
    rm -f "$work/nvme/cntrl"  # a previous run's socket would look ready
    cat > "$work/vhostd.json" <<JSON
{"subsystems": [
  {"subsystem": "bdev", "config": [
    {"method": "$method", "params": {"name": "Disk0", "num_blocks": $((ram_mib * 2048)), "block_size": 512}}]},
  {"subsystem": "nvmf", "config": [
    {"method": "nvmf_create_transport", "params": {"trtype": "VFIOUSER", "disable_mappable_bar0": $trapped}},
    {"method": "nvmf_create_subsystem", "params": {"nqn": "$nqn", "serial_number": "BENCH0001", "allow_any_host": true}},
    {"method": "nvmf_subsystem_add_ns", "params": {"nqn": "$nqn", "namespace": {"bdev_name": "Disk0"}}},
    {"method": "nvmf_subsystem_add_listener", "params": {"nqn": "$nqn", "listen_address": {"trtype": "VFIOUSER", "traddr": "$work/nvme"}}}]}]}
JSON
    "${prio[@]}" taskset -c "$target_cpu" "$vhostd" -c "$work/vhostd.json" -S "$work" -r "$work/rpc.sock" \
        -m 0x1 --log-level warning > "$work/target.log" 2>&1 &
    target_pid=$!
    wait_socket "$work/nvme/cntrl"
}

# NVMe rows (vhost-bench --transport nvme): name, backend, doorbells, vhost-bench arguments.
nvme_workloads=(
    "randread-4k-qd1|null|mapped|--rw randread --bs 4k --iodepth 1"
    "randread-4k-qd32|null|mapped|--rw randread --bs 4k --iodepth 32"
    "randread-4k-qd128|null|mapped|--rw randread --bs 4k --iodepth 128"
    "randwrite-4k-qd32|null|mapped|--rw randwrite --bs 4k --iodepth 32"
    "randread-4k-qd1|ram|mapped|--rw randread --bs 4k --iodepth 1"
    "randread-4k-qd32|ram|mapped|--rw randread --bs 4k --iodepth 32"
    "randread-4k-qd128|ram|mapped|--rw randread --bs 4k --iodepth 128"
    "randwrite-4k-qd32|ram|mapped|--rw randwrite --bs 4k --iodepth 32"
    "randread-4k-qd32-shadow|ram|trapped|--rw randread --bs 4k --iodepth 32 --shadow-doorbells on"
    "randread-4k-qd32-noshadow|ram|trapped|--rw randread --bs 4k --iodepth 32 --shadow-doorbells off"
    "randread-4k-qd1-shadow|ram|trapped|--rw randread --bs 4k --iodepth 1 --shadow-doorbells on"
    "randread-4k-qd1-noshadow|ram|trapped|--rw randread --bs 4k --iodepth 1 --shadow-doorbells off"
)
for w in "${nvme_workloads[@]}"; do
    IFS='|' read -r name backend doorbells args <<< "$w"
    start_vhostd_nvme "$backend" "$doorbells"
    # shellcheck disable=SC2086 # args is a word list
    bench_socket=$work/nvme/cntrl run_bench "nvme-$name-$backend" --transport nvme --qsize 256 \
        --time "$secs" $args
    stop_target
done

nvme_table() {
    echo "| NVMe (vfio-user) workload | backend | doorbells | IOPS | mean / p99 µs | target CPU | doorbell messages / I/O |"
    echo "|---|---|---|---|---|---|---|"
    for w in "${nvme_workloads[@]}"; do
        IFS='|' read -r name backend doorbells _ <<< "$w"
        local f=$work/nvme-$name-$backend.json
        echo "| $name | $backend | $(field "$f" .doorbells.mode) | $(fmt_iops "$(field "$f" .iops)")" \
             "| $(fmt_us "$(field "$f" .lat_ns.mean)") / $(fmt_us "$(field "$f" .lat_ns.p99)")" \
             "| $(fmt_pct "$(field "$f" .target_cpu)") | $(field "$f" '.doorbells.messages_per_io * 10000 | round / 10000') |"
    done
}

table() {
    echo "| workload | backend | vhostd IOPS | qsd IOPS | ratio | vhostd mean / p99 µs | qsd mean / p99 µs | vhostd CPU | qsd CPU |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for w in "${workloads[@]}"; do
        IFS='|' read -r name backend _ <<< "$w"
        local v=$work/vhostd-$name-$backend.json q=$work/qsd-$name-$backend.json
        local vi qi
        vi=$(field "$v" .iops); qi=$(field "$q" .iops)
        echo "| $name | $backend | $(fmt_iops "$vi") | $(fmt_iops "$qi") | $(ratio "$vi" "$qi")" \
             "| $(fmt_us "$(field "$v" .lat_ns.mean)") / $(fmt_us "$(field "$v" '.lat_ns.p99')")" \
             "| $(fmt_us "$(field "$q" .lat_ns.mean)") / $(fmt_us "$(field "$q" '.lat_ns.p99')")" \
             "| $(fmt_pct "$(field "$v" .target_cpu)") | $(fmt_pct "$(field "$q" .target_cpu)") |"
    done
    echo "| idle frontend, ${idle_secs} s | ram | - | - | - | - | - |" \
         "$(fmt_pct "$(field "$work/vhostd-idle.json" .target_cpu)") |" \
         "$(fmt_pct "$(field "$work/qsd-idle.json" .target_cpu)") |"
    echo
    local one two
    one=$(field "$work/vhostd-2q-1r.json" .iops); two=$(field "$work/vhostd-2q-2r.json" .iops)
    echo "One device, 2 queues x QD32 randread 4k (ram): 1 reactor $(fmt_iops "$one") IOPS" \
         "(target CPU $(fmt_pct "$(field "$work/vhostd-2q-1r.json" .target_cpu)")), 2 reactors" \
         "$(fmt_iops "$two") IOPS (target CPU $(fmt_pct "$(field "$work/vhostd-2q-2r.json" .target_cpu)")):" \
         "$(ratio "$two" "$one"). With $ncpu cores the client shares core $client_cpu with reactor 1."
    echo
    nvme_table
}

if [[ $nvme_only == 1 ]]; then
    nvme_table | tee ${out:+"$out"}
else
    table | tee ${out:+"$out"}
fi
# SPDK's targets beside vhostd, both clients, alternating pairs (bench/spdk_pairs.sh).
if [[ -n ${SPDK_DIR:-} && $nvme_only == 0 ]]; then
    echo
    spdk_args=(--build "$build")
    [[ $smoke == 1 ]] && spdk_args+=(--smoke)
    "$root/bench/spdk_pairs.sh" "${spdk_args[@]}" ${out:+--out "$out.spdk.md"} || failed=1
fi
if [[ $failed != 0 ]]; then
    echo "some vhost-bench runs failed (see above)" >&2
    exit 1
fi
