#!/usr/bin/env bash
# bench/spdk_pairs.sh: vhostd and SPDK side by side, driven by the same clients, in alternating
# pairs: the machine drifts, so a ratio only counts between runs taken next to each other.
# vhost-user-blk rows: vhostd vs SPDK's vhost target, clients vhost-bench and SPDK's bdevperf
# (its virtio-user initiator). NVMe rows: vhostd's vfio-user controller vs SPDK's nvmf_tgt
# (VFIOUSER transport, mapped doorbells), clients vhost-bench --transport nvme and
# spdk_nvme_perf. RBD rows (--kind rbd, not in "all"): vhost-user-blk over a Ceph RBD image of
# a single-node cluster started for the run, vhostd's bdev_rbd vs SPDK's (SPDK built with
# RBD=1), vhostd in interrupt mode (--poll never) as in bench/run.sh --rbd. Prints the pairs
# and the median ratio per row, then CPU and p99 at fixed rates for each poll mode
# (vhost-user-blk).
#
#   SPDK_DIR=... bench/spdk_pairs.sh [--build DIR] [--pairs N] [--time S] [--out FILE]
#                                    [--kind blk|nvme|rbd|all] [--rows LIST] [--no-rates] [--smoke]
#
# SPDK_DIR is a source tree built by ../shared/anchors/spdk/build.sh (build/bin/vhost,
# build/bin/nvmf_tgt, build/bin/spdk_nvme_perf, build/examples/bdevperf, scripts/rpc.py).
# Needs root (huge pages) and 2 cores: targets on core 0, clients on core 1. bench/run.sh
# calls this when SPDK_DIR is set.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
pairs=3
secs=8
out=""
rows_filter=""
kind_filter=all
rates=1
smoke=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --build) build=$(cd "$2" && pwd); shift ;;
        --pairs) pairs=$2; shift ;;
        --time) secs=$2; shift ;;
        --out) out=$2; shift ;;
        --rows) rows_filter=$2; shift ;;
        --kind) kind_filter=$2; shift ;;
        --no-rates) rates=0 ;;
        --smoke) smoke=1; pairs=1; secs=1 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
: "${SPDK_DIR:?set SPDK_DIR to an SPDK tree built by ../shared/anchors/spdk/build.sh}"
spdk_vhost=$SPDK_DIR/build/bin/vhost
spdk_nvmf=$SPDK_DIR/build/bin/nvmf_tgt
nvme_perf=$SPDK_DIR/build/bin/spdk_nvme_perf
bdevperf=$SPDK_DIR/build/examples/bdevperf
rpc_py=$SPDK_DIR/scripts/rpc.py
vhostd=$build/vhostd
vbench=$build/vhost-bench
for tool in "$spdk_vhost" "$spdk_nvmf" "$nvme_perf" "$bdevperf" "$rpc_py" "$vhostd" "$vbench"; do
    [[ -x $tool ]] || { echo "missing $tool" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "needs jq" >&2; exit 1; }
# SPDK's tools want Debian's python3 (its modules) and huge pages.
export PATH=/usr/bin:$PATH
if (($(awk '/HugePages_Total/ {print $2}' /proc/meminfo) < 1100)); then
    echo 1100 > /proc/sys/vm/nr_hugepages
fi
mountpoint -q /dev/hugepages || { mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages; }

target_cpu=0
client_cpu=1
prio=()
if [[ ${VHOSTD_BENCH_NICE:-1} == 1 ]]; then
    prio=(nice -n -19)
    [[ -w /proc/$$/autogroup ]] && { echo -19 > "/proc/$$/autogroup"; } 2>/dev/null || true
fi
ram_mib=256
nqn=nqn.2019-07.io.spdk:cnode0
work=$(mktemp -d /tmp/vhostd-spdk-bench-XXXXXX)
target_pid=""
target_socket=""  # the started target's vhost-user socket or vfio-user socket (DIR/cntrl)
target_kind=""    # blk or nvme
stop_target() {
    if [[ -n $target_pid ]]; then
        kill "$target_pid" 2>/dev/null || true
        wait "$target_pid" 2>/dev/null || true
        target_pid=""
    fi
    rm -rf "$work/vblk0" "$work/rpc.sock" "$work/nvme"
}
cleanup() {
    stop_target
    [[ -d $work/ceph ]] && "$root/tests/support/ceph_cluster.sh" stop "$work/ceph"
    rm -rf "$work"
}
trap cleanup EXIT

wait_for() {  # wait_for PATH: the target's socket, or the target's death
    for _ in $(seq 400); do
        [[ -S $1 ]] && return 0
        kill -0 "$target_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "no $1; target log:" >&2
    cat "$work/target.log" >&2
    exit 1
}

# start_vhostd KIND BACKEND [POLL]: a blk controller "vblk0" or an NVMe controller (vfio-user,
# mapped doorbells, at $work/nvme/cntrl) on a RAM or null disk.
start_vhostd() {
    local kind=$1 backend=$2 poll=${3:-adaptive} bdev device
    target_kind=$kind
    case $backend in
        ram|null)
            local method=bdev_malloc_create
            [[ $backend == null ]] && method=bdev_null_create
            bdev='{"method": "'$method'", "params": {"name": "Disk0", "num_blocks": '$((ram_mib * 2048))', "block_size": 512}}' ;;
        rbd)
            poll=never
            bdev='{"method": "bdev_rbd_register_cluster", "params": {"name": "ceph0", "config_file": "'$ceph_conf'"}},
    {"method": "bdev_rbd_create", "params": {"name": "Disk0", "cluster_name": "ceph0", "pool_name": "rbd", "rbd_name": "bench", "block_size": 512}}' ;;
    esac
    if [[ $kind == blk ]]; then
        device='{"subsystem": "vhost_blk", "config": [
    {"method": "vhost_create_blk_controller", "params": {"ctrlr": "vblk0", "dev_name": "Disk0"}}]}'
        target_socket=$work/vblk0
    else
        mkdir -p "$work/nvme"
        device='{"subsystem": "nvmf", "config": [
    {"method": "nvmf_create_transport", "params": {"trtype": "VFIOUSER"}},
    {"method": "nvmf_create_subsystem", "params": {"nqn": "'$nqn'", "serial_number": "BENCH0001", "allow_any_host": true}},
    {"method": "nvmf_subsystem_add_ns", "params": {"nqn": "'$nqn'", "namespace": {"bdev_name": "Disk0"}}},
    {"method": "nvmf_subsystem_add_listener", "params": {"nqn": "'$nqn'", "listen_address": {"trtype": "VFIOUSER", "traddr": "'$work/nvme'"}}}]}'
        target_socket=$work/nvme/cntrl
    fi
    cat > "$work/vhostd.json" <<JSON
{"subsystems": [
  {"subsystem": "bdev", "config": [
    $bdev]},
  $device]}
JSON
    "${prio[@]}" taskset -c $target_cpu "$vhostd" -c "$work/vhostd.json" -S "$work" \
        -r "$work/rpc.sock" -m 0x1 --poll "$poll" --log-level warning > "$work/target.log" 2>&1 &
    target_pid=$!
    wait_for "$target_socket"
}

# start_spdk KIND BACKEND [polling|interrupt]: SPDK's vhost target (blk) or nvmf_tgt with the
# VFIOUSER transport (nvme), with the same disk.
start_spdk() {
    local kind=$1 backend=$2 mode=${3:-polling} extra=() app=$spdk_vhost
    target_kind=$kind
    # librbd's threads inherit the reactor's core: a polling reactor starves them there.
    [[ $backend == rbd ]] && mode=${SPDK_RBD_MODE:-interrupt}
    [[ $mode == interrupt ]] && extra=(--interrupt-mode)
    if [[ $kind == nvme ]]; then app=$spdk_nvmf; else extra+=(-S "$work"); fi
    "${prio[@]}" "$app" -m 0x1 -s 1024 -r "$work/rpc.sock" "${extra[@]}" \
        > "$work/target.log" 2>&1 &
    target_pid=$!
    wait_for "$work/rpc.sock"
    local rpc=("$rpc_py" -s "$work/rpc.sock")
    case $backend in
        ram) "${rpc[@]}" bdev_malloc_create -b Disk0 "$ram_mib" 512 >/dev/null ;;
        null) "${rpc[@]}" bdev_null_create Disk0 "$ram_mib" 512 >/dev/null ;;
        rbd)
            "${rpc[@]}" bdev_rbd_register_cluster ceph0 --config-file "$ceph_conf" >/dev/null
            "${rpc[@]}" bdev_rbd_create -b Disk0 -c ceph0 rbd bench 512 >/dev/null ;;
    esac
    if [[ $kind == blk ]]; then
        "${rpc[@]}" vhost_create_blk_controller vblk0 Disk0 >/dev/null
        target_socket=$work/vblk0
    else
        mkdir -p "$work/nvme"
        "${rpc[@]}" nvmf_create_transport -t VFIOUSER >/dev/null
        "${rpc[@]}" nvmf_create_subsystem "$nqn" -a -s SPDK00000000000001 >/dev/null
        "${rpc[@]}" nvmf_subsystem_add_ns "$nqn" Disk0 >/dev/null
        "${rpc[@]}" nvmf_subsystem_add_listener "$nqn" -t VFIOUSER -a "$work/nvme" -s 0 >/dev/null
        target_socket=$work/nvme/cntrl
    fi
    wait_for "$target_socket"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The target's busy time in ns (framework_get_reactors: busy in ticks of tick_rate, for SPDK
# and vhostd alike): with both targets busy-polling, CPU use says nothing, busy time per I/O
# says what a request costs the target, whichever side saturates first.
busy_ns() {
    "$rpc_py" -s "$work/rpc.sock" framework_get_reactors 2>/dev/null |
        jq -r '([.reactors[].busy] | add) / .tick_rate * 1e9' || echo 0
}

# measure NAME CMD...: runs a client command, keeps its stdout in NAME.out and the target's
# CPU use over the run (percent of one core) in NAME.cpu.
measure() {
    local name=$1 t0 t1 w0 w1 b0 b1
    shift
    b0=$(busy_ns)
    t0=$(cpu_ticks "$target_pid"); w0=$(date +%s.%N)
    if ! "$@" > "$work/$name.out" 2> "$work/$name.err"; then
        echo "client failed ($name):" >&2
        tail -n 20 "$work/$name.err" "$work/$name.out" >&2
        failed=1
    fi
    w1=$(date +%s.%N); t1=$(cpu_ticks "$target_pid")
    b1=$(busy_ns)
    awk -v b0="$b0" -v b1="$b1" 'BEGIN { printf "%.0f\n", b1 - b0 }' > "$work/$name.busy"
    awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v w0="$w0" -v w1="$w1" \
        'BEGIN { printf "%.1f\n", t / hz / (w1 - w0) * 100 }' > "$work/$name.cpu"
    awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f\n", t / hz }' \
        > "$work/$name.cpus"
}

# vhost-bench over huge pages (SPDK's targets map guest memory only on huge pages).
run_vbench() {  # run_vbench NAME ARGS...
    local name=$1
    shift
    measure "$name" "${prio[@]}" taskset -c $client_cpu "$vbench" --socket "$target_socket" \
        --transport "$target_kind" --cpu $client_cpu --hugepages --qsize 256 --json "$@"
}

# bdevperf with SPDK's virtio-user initiator attached to the target's socket.
run_bdevperf() {  # run_bdevperf NAME QD BS RW
    local name=$1 qd=$2 bs=$3 rw=$4
    cat > "$work/bdevperf.json" <<JSON
{"subsystems": [{"subsystem": "bdev", "config": [
  {"method": "bdev_virtio_attach_controller", "params": {"name": "VirtioBlk0", "trtype": "user",
   "traddr": "$work/vblk0", "dev_type": "blk", "vq_count": 1, "vq_size": 256}},
  {"method": "bdev_wait_for_examine"}]}]}
JSON
    measure "$name" "${prio[@]}" "$bdevperf" -m 0x2 -g -s 1024 -r "$work/bdevperf.sock" \
        --json "$work/bdevperf.json" -q "$qd" -o "$bs" -w "$rw" -t "$secs"
}

# spdk_nvme_perf with SPDK's vfio-user NVMe driver attached to the target's controller.
run_nvmeperf() {  # run_nvmeperf NAME QD BS RW
    local name=$1 qd=$2 bs=$3 rw=$4
    measure "$name" "${prio[@]}" "$nvme_perf" -c 0x2 -g -s 1024 \
        -r "trtype:VFIOUSER traddr:$work/nvme subnqn:$nqn" -q "$qd" -o "$bs" -w "$rw" -t "$secs"
}

# One number per run: IOPS, MiB/s or mean latency (µs), p99 (µs) where the client has it, the
# target's busy ns per I/O, or its CPU time (utime + stime, every thread) in µs per I/O.
result() {  # result NAME CLIENT METRIC
    local f=$work/$1.out
    if [[ $3 == busy || $3 == cpuio ]]; then
        local ios
        case $2 in
            vbench) ios=$(jq -r '.read_ios + .write_ios' "$f") ;;
            bdevperf|nvmeperf) ios=$(tr -d '\r' < "$f" | awk -v t="$secs" '$1 == "Total" {print $3 * t}' | tail -n 1) ;;
        esac
        if [[ $3 == busy ]]; then
            awk -v b="$(cat "$work/$1.busy")" -v n="$ios" 'BEGIN { if (n > 0) printf "%.0f", b / n; else print "n/a" }'
        else
            awk -v c="$(cat "$work/$1.cpus")" -v n="$ios" 'BEGIN { if (n > 0) printf "%.3f", c / n * 1e6; else print "n/a" }'
        fi
        return
    fi
    case $2 in
        vbench)
            case $3 in
                iops) jq -r '.iops' "$f" ;;
                mibs) jq -r '.mib_s' "$f" ;;
                lat) jq -r '.lat_ns.mean / 1000' "$f" ;;
                p99) jq -r '.lat_ns.p99 / 1000' "$f" ;;
            esac ;;
        bdevperf|nvmeperf)
            # bdevperf: "Total : IOPS MiB/s Fail/s TO/s Average min max", starting with \r;
            # spdk_nvme_perf: "Total : IOPS MiB/s Average min max".
            local total avg=7
            [[ $2 == nvmeperf ]] && avg=5
            total=$(tr -d '\r' < "$f" | awk -v a="$avg" '$1 == "Total" {print $3, $4, $a}' | tail -n 1)
            case $3 in
                iops) echo "$total" | awk '{print $1}' ;;
                mibs) echo "$total" | awk '{print $2}' ;;
                lat) echo "$total" | awk '{print $3}' ;;
                p99) echo n/a ;;
            esac ;;
    esac
}

# Rows: name|kind|backend|metric|vhost-bench args|bdevperf or spdk_nvme_perf QD BS RW.
# "lat" rows: lower is better.
rows=(
    "null-randread-4k-qd32|blk|null|iops|--rw randread --bs 4k --iodepth 32|32 4096 randread"
    "null-randread-4k-qd128|blk|null|iops|--rw randread --bs 4k --iodepth 128|128 4096 randread"
    "null-randwrite-4k-qd32|blk|null|iops|--rw randwrite --bs 4k --iodepth 32|32 4096 randwrite"
    "ram-randread-4k-qd32|blk|ram|iops|--rw randread --bs 4k --iodepth 32|32 4096 randread"
    "ram-randread-4k-qd128|blk|ram|iops|--rw randread --bs 4k --iodepth 128|128 4096 randread"
    "ram-randwrite-4k-qd32|blk|ram|iops|--rw randwrite --bs 4k --iodepth 32|32 4096 randwrite"
    "ram-read-128k-qd32|blk|ram|mibs|--rw read --bs 128k --iodepth 32|32 131072 read"
    "ram-randread-4k-qd1|blk|ram|lat|--rw randread --bs 4k --iodepth 1|1 4096 randread"
    "nvme-null-randread-4k-qd32|nvme|null|iops|--rw randread --bs 4k --iodepth 32|32 4096 randread"
    "nvme-null-randread-4k-qd128|nvme|null|iops|--rw randread --bs 4k --iodepth 128|128 4096 randread"
    "nvme-null-randread-4k-qd1|nvme|null|lat|--rw randread --bs 4k --iodepth 1|1 4096 randread"
    "nvme-ram-randread-4k-qd32|nvme|ram|iops|--rw randread --bs 4k --iodepth 32|32 4096 randread"
    "nvme-ram-randread-4k-qd128|nvme|ram|iops|--rw randread --bs 4k --iodepth 128|128 4096 randread"
    "nvme-ram-randread-4k-qd1|nvme|ram|lat|--rw randread --bs 4k --iodepth 1|1 4096 randread"
    "rbd-randread-4k-qd32|blk|rbd|iops|--rw randread --bs 4k --iodepth 32|32 4096 randread"
    "rbd-randwrite-4k-qd32|blk|rbd|iops|--rw randwrite --bs 4k --iodepth 32|32 4096 randwrite"
    "rbd-randread-4k-qd1|blk|rbd|lat|--rw randread --bs 4k --iodepth 1|1 4096 randread"
    "rbd-randwrite-4k-qd1|blk|rbd|lat|--rw randwrite --bs 4k --iodepth 1|1 4096 randwrite"
)
kept=()
for r in "${rows[@]}"; do
    IFS='|' read -r name kind backend _ <<< "$r"
    # kind_filter: blk, nvme, rbd (the RBD rows, blk over a Ceph image) or all (blk + nvme).
    if [[ $backend == rbd ]]; then
        [[ $kind_filter == rbd ]] || continue
    else
        [[ $kind_filter == all || $kind_filter == "$kind" ]] || continue
    fi
    [[ -z $rows_filter || ,$rows_filter, == *",$name,"* ]] || continue
    kept+=("$r")
done
rows=("${kept[@]}")
ceph_conf=""
if [[ $kind_filter == rbd ]]; then
    # One single-node cluster for every run, a 1 GiB image written once.
    ceph_conf=$("$root/tests/support/ceph_cluster.sh" start "$work/ceph" --owner-pid $$)
    "$root/tests/support/ceph_cluster.sh" image "$work/ceph" bench 1024
fi
clients_of() { if [[ $1 == blk ]]; then echo vbench bdevperf; else echo vbench nvmeperf; fi; }

failed=0
declare -A value p99 busy cpuio
# run_row PAIR TARGET ROW CLIENT: one target start, one client run.
run_row() {
    local pair=$1 target=$2 row=$3 client=$4 name kind backend metric vargs bargs key
    IFS='|' read -r name kind backend metric vargs bargs <<< "$row"
    "start_$target" "$kind" "$backend"
    if [[ $backend == ram ]]; then
        # A RAM disk nobody wrote reads the kernel's zero page (or untouched memory): write it.
        run_vbench "prefill" --rw write --bs 128k --iodepth 8 --time "$([[ $smoke == 1 ]] && echo 0.3 || echo 2)"
    fi
    key=$name-$client-$target-$pair
    # shellcheck disable=SC2086 # the rows' arguments are word lists
    case $client in
        vbench) run_vbench "$key" --time "$secs" $vargs ;;
        bdevperf) run_bdevperf "$key" $bargs ;;
        nvmeperf) run_nvmeperf "$key" $bargs ;;
    esac
    stop_target
    value[$key]=$(result "$key" "$client" "$metric")
    p99[$key]=$(result "$key" "$client" p99)
    busy[$key]=$(result "$key" "$client" busy)
    cpuio[$key]=$(result "$key" "$client" cpuio)
    echo "pair $pair $name $client $target: ${value[$key]} (p99 ${p99[$key]}, target busy ${busy[$key]} ns/IO, CPU $(cat "$work/$key.cpu")%)" >&2
}

for ((pair = 1; pair <= pairs; pair++)); do
    order=(vhostd spdk)
    ((pair % 2 == 0)) && order=(spdk vhostd)
    for row in "${rows[@]}"; do
        IFS='|' read -r _ kind _ <<< "$row"
        for client in $(clients_of "$kind"); do
            for target in "${order[@]}"; do
                run_row "$pair" "$target" "$row" "$client"
            done
        done
    done
done

median() { sort -g | awk '{v[NR] = $1} END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
fmt() { awk -v v="$1" 'BEGIN { if (v == "n/a" || v == "") print "n/a"; else if (v >= 10000) printf "%.0fk", v / 1000; else if (v >= 100) printf "%.0f", v; else printf "%.2f", v }'; }

table() {
    echo "| row | client | pairs: vhostd / SPDK (ratio) | median ratio | p99 µs vhostd / SPDK (median) | target busy ns per I/O vhostd / SPDK (median) | target CPU µs per I/O vhostd / SPDK (median) |"
    echo "|---|---|---|---|---|---|---|"
    for row in "${rows[@]}"; do
        local name kind metric cells ratios v s r pv ps
        IFS='|' read -r name kind _ metric _ <<< "$row"
        for client in $(clients_of "$kind"); do
            cells=""; ratios=""; pv=""; ps=""; bv=""; bs=""; cv=""; cs=""
            for ((pair = 1; pair <= pairs; pair++)); do
                v=${value[$name-$client-vhostd-$pair]}; s=${value[$name-$client-spdk-$pair]}
                r=$(awk -v a="$v" -v b="$s" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "n/a" }')
                cells+="$(fmt "$v") / $(fmt "$s") ($r); "
                ratios+="$r"$'\n'
                pv+="${p99[$name-$client-vhostd-$pair]}"$'\n'
                ps+="${p99[$name-$client-spdk-$pair]}"$'\n'
                bv+="${busy[$name-$client-vhostd-$pair]}"$'\n'
                bs+="${busy[$name-$client-spdk-$pair]}"$'\n'
                cv+="${cpuio[$name-$client-vhostd-$pair]}"$'\n'
                cs+="${cpuio[$name-$client-spdk-$pair]}"$'\n'
            done
            local unit=""
            [[ $metric == lat ]] && unit=" (mean µs, lower is better)"
            [[ $metric == mibs ]] && unit=" (MiB/s)"
            echo "| $name$unit | $client | ${cells%; } | $(grep -v -e n/a -e '^$' <<< "$ratios" | median)x |" \
                 "$(fmt "$(grep -v -e n/a -e '^$' <<< "$pv" | median)") / $(fmt "$(grep -v -e n/a -e '^$' <<< "$ps" | median)") |" \
                 "$(fmt "$(grep -v -e n/a -e '^$' <<< "$bv" | median)") / $(fmt "$(grep -v -e n/a -e '^$' <<< "$bs" | median)") |" \
                 "$(fmt "$(grep -v -e n/a -e '^$' <<< "$cv" | median)") / $(fmt "$(grep -v -e n/a -e '^$' <<< "$cs" | median)") |"
        done
    done
}

rate_table() {
    echo
    echo "| rate (randread 4k, QD32, ram) | target | mode | IOPS | p99 µs | target CPU |"
    echo "|---|---|---|---|---|---|"
    local rate target mode key
    for rate in 10000 100000 500000; do
        for tm in vhostd:always vhostd:adaptive vhostd:never spdk:polling spdk:interrupt; do
            target=${tm%%:*}; mode=${tm#*:}
            "start_$target" blk ram "$mode"
            run_vbench "prefill" --rw write --bs 128k --iodepth 8 --time "$([[ $smoke == 1 ]] && echo 0.3 || echo 2)"
            key=rate-$rate-$target-$mode
            run_vbench "$key" --time "$secs" --rw randread --bs 4k --iodepth 32 --rate "$rate"
            stop_target
            echo "| $((rate / 1000))k | $target | $mode | $(fmt "$(result "$key" vbench iops)") |" \
                 "$(fmt "$(result "$key" vbench p99)") | $(cat "$work/$key.cpu")% |"
        done
    done
    for tm in vhostd:adaptive spdk:interrupt; do
        target=${tm%%:*}; mode=${tm#*:}
        "start_$target" blk ram "$mode"
        key=idle-$target-$mode
        run_vbench "$key" --idle --time "$secs"
        stop_target
        echo "| idle frontend | $target | $mode | - | - | $(cat "$work/$key.cpu")% |"
    done
}

{
    echo "SPDK: $("$spdk_vhost" --version 2>/dev/null | head -n 1 || echo unknown) ($SPDK_DIR);" \
         "vhostd: $(git -C "$root" rev-parse --short HEAD); $pairs pairs of ${secs} s runs, target core $target_cpu, client core $client_cpu"
    echo
    table
    if [[ $rates == 1 && ($kind_filter == all || $kind_filter == blk) ]]; then
        rate_table
    fi
} | tee ${out:+"$out"}
exit $failed
