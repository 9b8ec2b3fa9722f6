#!/usr/bin/env bash
# bench/spdk_pairs.sh: vhostd and SPDK's vhost target side by side, driven by the same clients
# (vhost-bench and SPDK's bdevperf with its virtio-user initiator), in alternating pairs: the
# machine drifts, so a ratio only counts between runs taken next to each other. Prints the
# pairs and the median ratio per row, then CPU and p99 at fixed rates for each poll mode.
#
#   SPDK_DIR=... bench/spdk_pairs.sh [--build DIR] [--pairs N] [--time S] [--out FILE]
#                                    [--rows LIST] [--no-rates] [--smoke]
#
# SPDK_DIR is a source tree built by ../shared/anchors/spdk/build.sh (build/bin/vhost,
# build/examples/bdevperf, scripts/rpc.py). Needs root (huge pages) and 2 cores: targets on
# core 0, clients on core 1. bench/run.sh calls this when SPDK_DIR is set.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
pairs=3
secs=8
out=""
rows_filter=""
rates=1
smoke=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --build) build=$(cd "$2" && pwd); shift ;;
        --pairs) pairs=$2; shift ;;
        --time) secs=$2; shift ;;
        --out) out=$2; shift ;;
        --rows) rows_filter=$2; shift ;;
        --no-rates) rates=0 ;;
        --smoke) smoke=1; pairs=1; secs=1 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
: "${SPDK_DIR:?set SPDK_DIR to an SPDK tree built by ../shared/anchors/spdk/build.sh}"
spdk_vhost=$SPDK_DIR/build/bin/vhost
bdevperf=$SPDK_DIR/build/examples/bdevperf
rpc_py=$SPDK_DIR/scripts/rpc.py
vhostd=$build/vhostd
vbench=$build/vhost-bench
for tool in "$spdk_vhost" "$bdevperf" "$rpc_py" "$vhostd" "$vbench"; do
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
work=$(mktemp -d /tmp/vhostd-spdk-bench-XXXXXX)
target_pid=""
stop_target() {
    if [[ -n $target_pid ]]; then
        kill "$target_pid" 2>/dev/null || true
        wait "$target_pid" 2>/dev/null || true
        target_pid=""
    fi
    rm -f "$work/vblk0" "$work/rpc.sock"
}
trap 'stop_target; rm -rf "$work"' EXIT

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

# start_vhostd BACKEND [POLL]: one blk controller "vblk0" on a RAM or null disk.
start_vhostd() {
    local backend=$1 poll=${2:-adaptive} bdev
    case $backend in
        ram) bdev='{"method": "bdev_malloc_create", "params": {"name": "Disk0", "num_blocks": '$((ram_mib * 2048))', "block_size": 512}}' ;;
        null) bdev='{"method": "bdev_null_create", "params": {"name": "Disk0", "num_blocks": '$((ram_mib * 2048))', "block_size": 512}}' ;;
    esac
    cat > "$work/vhostd.json" <<JSON
{"subsystems": [
  {"subsystem": "bdev", "config": [$bdev]},
  {"subsystem": "vhost_blk", "config": [
    {"method": "vhost_create_blk_controller", "params": {"ctrlr": "vblk0", "dev_name": "Disk0"}}]}]}
JSON
    "${prio[@]}" taskset -c $target_cpu "$vhostd" -c "$work/vhostd.json" -S "$work" \
        -r "$work/rpc.sock" -m 0x1 --poll "$poll" --log-level warning > "$work/target.log" 2>&1 &
    target_pid=$!
    wait_for "$work/vblk0"
}

# start_spdk BACKEND [polling|interrupt]: SPDK's vhost target with the same disk.
start_spdk() {
    local backend=$1 mode=${2:-polling} extra=()
    [[ $mode == interrupt ]] && extra=(--interrupt-mode)
    "${prio[@]}" "$spdk_vhost" -m 0x1 -s 1024 -r "$work/rpc.sock" -S "$work" "${extra[@]}" \
        > "$work/target.log" 2>&1 &
    target_pid=$!
    wait_for "$work/rpc.sock"
    case $backend in
        ram) "$rpc_py" -s "$work/rpc.sock" bdev_malloc_create -b Disk0 "$ram_mib" 512 >/dev/null ;;
        null) "$rpc_py" -s "$work/rpc.sock" bdev_null_create Disk0 "$ram_mib" 512 >/dev/null ;;
    esac
    "$rpc_py" -s "$work/rpc.sock" vhost_create_blk_controller vblk0 Disk0 >/dev/null
    wait_for "$work/vblk0"
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
}

# vhost-bench over huge pages (SPDK's vhost target maps guest memory only on huge pages).
run_vbench() {  # run_vbench NAME ARGS...
    local name=$1
    shift
    measure "$name" "${prio[@]}" taskset -c $client_cpu "$vbench" --socket "$work/vblk0" \
        --cpu $client_cpu --hugepages --qsize 256 --json "$@"
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

# One number per run: IOPS, MiB/s or mean latency (µs), p99 (µs) where the client has it, or
# the target's busy ns per I/O.
result() {  # result NAME CLIENT METRIC
    local f=$work/$1.out
    if [[ $3 == busy ]]; then
        local ios
        case $2 in
            vbench) ios=$(jq -r '.read_ios + .write_ios' "$f") ;;
            bdevperf) ios=$(tr -d '\r' < "$f" | awk -v t="$secs" '$1 == "Total" {print $3 * t}' | tail -n 1) ;;
        esac
        awk -v b="$(cat "$work/$1.busy")" -v n="$ios" 'BEGIN { if (n > 0) printf "%.0f", b / n; else print "n/a" }'
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
        bdevperf)
            # "Total : IOPS MiB/s Fail/s TO/s Average min max"; the line starts with \r.
            local total
            total=$(tr -d '\r' < "$f" | awk '$1 == "Total" {print $3, $4, $7}' | tail -n 1)
            case $3 in
                iops) echo "$total" | awk '{print $1}' ;;
                mibs) echo "$total" | awk '{print $2}' ;;
                lat) echo "$total" | awk '{print $3}' ;;
                p99) echo n/a ;;
            esac ;;
    esac
}

# Rows: name|backend|metric|vhost-bench args|bdevperf QD BS RW. "lat" rows: lower is better.
rows=(
    "null-randread-4k-qd32|null|iops|--rw randread --bs 4k --iodepth 32|32 4096 randread"
    "null-randread-4k-qd128|null|iops|--rw randread --bs 4k --iodepth 128|128 4096 randread"
    "null-randwrite-4k-qd32|null|iops|--rw randwrite --bs 4k --iodepth 32|32 4096 randwrite"
    "ram-randread-4k-qd32|ram|iops|--rw randread --bs 4k --iodepth 32|32 4096 randread"
    "ram-randread-4k-qd128|ram|iops|--rw randread --bs 4k --iodepth 128|128 4096 randread"
    "ram-randwrite-4k-qd32|ram|iops|--rw randwrite --bs 4k --iodepth 32|32 4096 randwrite"
    "ram-read-128k-qd32|ram|mibs|--rw read --bs 128k --iodepth 32|32 131072 read"
    "ram-randread-4k-qd1|ram|lat|--rw randread --bs 4k --iodepth 1|1 4096 randread"
)
if [[ -n $rows_filter ]]; then
    kept=()
    for r in "${rows[@]}"; do [[ ,$rows_filter, == *",${r%%|*},"* ]] && kept+=("$r"); done
    rows=("${kept[@]}")
fi

failed=0
declare -A value p99 busy
# run_row PAIR TARGET ROW CLIENT: one target start, one client run.
run_row() {
    local pair=$1 target=$2 row=$3 client=$4 name backend metric vargs bargs key
    IFS='|' read -r name backend metric vargs bargs <<< "$row"
    "start_$target" "$backend"
    if [[ $backend == ram ]]; then
        # A RAM disk nobody wrote reads the kernel's zero page (or untouched memory): write it.
        run_vbench "prefill" --rw write --bs 128k --iodepth 8 --time "$([[ $smoke == 1 ]] && echo 0.3 || echo 2)"
    fi
    key=$name-$client-$target-$pair
    if [[ $client == vbench ]]; then
        # shellcheck disable=SC2086
        run_vbench "$key" --time "$secs" $vargs
    else
        # shellcheck disable=SC2086
        run_bdevperf "$key" $bargs
    fi
    stop_target
    value[$key]=$(result "$key" "$client" "$metric")
    p99[$key]=$(result "$key" "$client" p99)
    busy[$key]=$(result "$key" "$client" busy)
    echo "pair $pair $name $client $target: ${value[$key]} (p99 ${p99[$key]}, target busy ${busy[$key]} ns/IO, CPU $(cat "$work/$key.cpu")%)" >&2
}

for ((pair = 1; pair <= pairs; pair++)); do
    order=(vhostd spdk)
    ((pair % 2 == 0)) && order=(spdk vhostd)
    for row in "${rows[@]}"; do
        for client in vbench bdevperf; do
            for target in "${order[@]}"; do
                run_row "$pair" "$target" "$row" "$client"
            done
        done
    done
done

median() { sort -g | awk '{v[NR] = $1} END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
fmt() { awk -v v="$1" 'BEGIN { if (v == "n/a" || v == "") print "n/a"; else if (v >= 10000) printf "%.0fk", v / 1000; else if (v >= 100) printf "%.0f", v; else printf "%.2f", v }'; }

table() {
    echo "| row | client | pairs: vhostd / SPDK (ratio) | median ratio | p99 µs vhostd / SPDK (median) | target busy ns per I/O vhostd / SPDK (median) |"
    echo "|---|---|---|---|---|---|"
    for row in "${rows[@]}"; do
        local name metric cells ratios v s r pv ps
        IFS='|' read -r name _ metric _ _ <<< "$row"
        for client in vbench bdevperf; do
            cells=""; ratios=""; pv=""; ps=""; bv=""; bs=""
            for ((pair = 1; pair <= pairs; pair++)); do
                v=${value[$name-$client-vhostd-$pair]}; s=${value[$name-$client-spdk-$pair]}
                r=$(awk -v a="$v" -v b="$s" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "n/a" }')
                cells+="$(fmt "$v") / $(fmt "$s") ($r); "
                ratios+="$r"$'\n'
                pv+="${p99[$name-$client-vhostd-$pair]}"$'\n'
                ps+="${p99[$name-$client-spdk-$pair]}"$'\n'
                bv+="${busy[$name-$client-vhostd-$pair]}"$'\n'
                bs+="${busy[$name-$client-spdk-$pair]}"$'\n'
            done
            local unit=""
            [[ $metric == lat ]] && unit=" (mean µs, lower is better)"
            [[ $metric == mibs ]] && unit=" (MiB/s)"
            echo "| $name$unit | $client | ${cells%; } | $(grep -v -e n/a -e '^$' <<< "$ratios" | median)x |" \
                 "$(fmt "$(grep -v -e n/a -e '^$' <<< "$pv" | median)") / $(fmt "$(grep -v -e n/a -e '^$' <<< "$ps" | median)") |" \
                 "$(fmt "$(grep -v -e n/a -e '^$' <<< "$bv" | median)") / $(fmt "$(grep -v -e n/a -e '^$' <<< "$bs" | median)") |"
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
            "start_$target" ram "$mode"
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
        "start_$target" ram "$mode"
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
    if [[ $rates == 1 ]]; then
        rate_table
    fi
} | tee ${out:+"$out"}
exit $failed
