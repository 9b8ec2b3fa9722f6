#!/usr/bin/env bash
# A single-node Ceph cluster for tests and for trying the RBD backend by hand: one monitor on
# 127.0.0.1 (a free port), one OSD, no manager, auth none, every file under one directory,
# daemons run as the calling user. Pool "rbd" is created and initialised.
#
#   ceph_cluster.sh start DIR [--objectstore memstore|bluestore] [--owner-pid PID]
#       starts the cluster in DIR (created, must be empty) and prints DIR/ceph.conf.
#       memstore (default) keeps the data in the OSD's memory (saved on a clean stop only);
#       bluestore keeps it in DIR/osd.0/block and survives SIGKILL. With --owner-pid the
#       cluster is stopped when that process exits, whatever happens to it.
#   ceph_cluster.sh stop DIR          stops every daemon (SIGTERM, then SIGKILL) and the watcher
#   ceph_cluster.sh osd DIR start|stop|kill|pid
#                                     restarts or stops the OSD (stop: SIGTERM; kill: SIGKILL)
#   ceph_cluster.sh image DIR NAME MIB
#                                     creates rbd/NAME of MIB MiB and writes it once, in order
#                                     (reads of a never-written object are free zeroes: benches
#                                     want objects that exist)
#   ceph_cluster.sh run [--objectstore S] -- CMD...
#       starts a cluster in a temporary directory, runs CMD with CEPH_CONF set, stops the
#       cluster and removes the directory (trap: also on error or signal).
#
# Needs Debian's ceph-mon, ceph-osd and ceph-common. Startup takes a few seconds: the monitor's
# paxos propose interval is lowered from its 1 s default (each map change waits for it).
set -euo pipefail

die() {
  echo "ceph_cluster: $*" >&2
  exit 1
}

# Every ceph CLI call is bounded: a cluster that does not answer is an error, not a hang.
cli() { timeout 30 ceph -c "$dir/ceph.conf" "$@"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for SECONDS CMD...: retries CMD every 0.1 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

osd_up() { cli osd stat -f json | grep -q '"num_up_osds":1'; }

write_conf() {
  local fsid=$1 port=$2 objectstore=$3
  cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$port
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 1
mon data avail crit = 0

[mon]
mon data = $dir/mon.\$id
paxos propose interval = 0.01
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid

[osd]
osd data = $dir/osd.\$id
osd objectstore = $objectstore
memstore device bytes = 2147483648
bluestore block create = true
bluestore block size = 2147483648
bluestore fsck on mkfs = false
osd memory target = 1073741824
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
EOF
}

pid_of() { cat "$dir/run/$1.pid" 2>/dev/null || true; }

# stop_daemon NAME SIGNAL: signals the daemon and waits up to 10 s (then SIGKILL) for it to go.
stop_daemon() {
  local name=$1 sig=$2 pid
  pid=$(pid_of "$name")
  [[ -n $pid ]] || return 0
  kill -CONT "$pid" 2>/dev/null || true
  kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/run/$name.pid"
}

start_osd() {
  ceph-osd -c "$dir/ceph.conf" -i 0 2>>"$dir/log/osd.0.stderr" ||
    die "ceph-osd did not start (see $dir/log)"
  wait_for 60 osd_up || die "osd.0 did not come up (see $dir/log/osd.0.log)"
}

cmd_start() {
  local objectstore=memstore owner=""
  dir=${1:?usage: start DIR}
  shift
  while (($#)); do
    case $1 in
      --objectstore) objectstore=$2; shift 2 ;;
      --owner-pid) owner=$2; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  [[ $objectstore == memstore || $objectstore == bluestore ]] || die "objectstore: memstore or bluestore"
  for tool in ceph-mon ceph-osd ceph monmaptool rbd python3; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install ceph-mon ceph-osd ceph-common)"
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
  mkdir -p "$dir/run" "$dir/log" "$dir/mon.a" "$dir/osd.0"
  local fsid osd_uuid port
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  port=$(free_port)
  write_conf "$fsid" "$port" "$objectstore"
  if [[ -n $owner ]]; then
    # The watcher outlives this script (its own session) and stops the cluster once the owner
    # is gone, so a test that crashes leaves nothing running.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop "$3"' \
      _ "$owner" "$(readlink -f "$0")" "$dir" </dev/null >/dev/null 2>&1 &
    echo $! >"$dir/run/watcher.pid"
  fi
  monmaptool --create --addv a "[v2:127.0.0.1:$port]" --fsid "$fsid" "$dir/monmap" >/dev/null
  ceph-mon -c "$dir/ceph.conf" --mkfs -i a --monmap "$dir/monmap" 2>>"$dir/log/mon.a.stderr" ||
    die "ceph-mon --mkfs failed (see $dir/log)"
  ceph-mon -c "$dir/ceph.conf" -i a 2>>"$dir/log/mon.a.stderr" || die "ceph-mon did not start"
  wait_for 30 cli mon stat || die "the monitor does not answer (see $dir/log/mon.a.log)"
  cli osd new "$osd_uuid" >/dev/null
  ceph-osd -c "$dir/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/osd.0.mkfs" 2>&1 ||
    die "ceph-osd --mkfs failed (see $dir/log/osd.0.mkfs)"
  start_osd
  wait_for 60 cli osd pool create rbd 8 || die "cannot create pool rbd (see $dir/log/mon.a.log)"
  timeout 60 rbd -c "$dir/ceph.conf" pool init rbd || die "pool rbd did not become usable"
  echo "$dir/ceph.conf"
}

cmd_stop() {
  dir=${1:?usage: stop DIR}
  [[ -d $dir/run ]] || return 0
  local watcher
  watcher=$(pid_of watcher)
  # The OSD first: with the monitor gone it would wait to report its own shutdown.
  stop_daemon osd.0 TERM
  stop_daemon mon.a TERM
  if [[ -n $watcher && $watcher != "$$" && $watcher != "$PPID" ]]; then
    kill "$watcher" 2>/dev/null || true
  fi
  rm -f "$dir/run/watcher.pid"
}

cmd_osd() {
  dir=${1:?usage: osd DIR start|stop|kill|pid}
  case ${2:-} in
    start) start_osd ;;
    stop) stop_daemon osd.0 TERM ;;
    kill) stop_daemon osd.0 KILL ;;
    pid) pid_of osd.0 ;;
    *) die "usage: osd DIR start|stop|kill|pid" ;;
  esac
}

cmd_run() {
  local start_args=()
  while (($#)) && [[ $1 != -- ]]; do
    start_args+=("$1")
    shift
  done
  [[ ${1:-} == -- ]] || die "usage: run [--objectstore S] -- CMD..."
  shift
  local top
  top=$(mktemp -d /tmp/vhostd-ceph.XXXXXX)
  # shellcheck disable=SC2064 # expand now: the trap must stop this cluster
  trap "'$(readlink -f "$0")' stop '$top/cluster'; rm -rf '$top'" EXIT INT TERM
  CEPH_CONF=$(cmd_start "$top/cluster" "${start_args[@]}" --owner-pid $$)
  export CEPH_CONF
  "$@"
}

cmd_image() {
  dir=$1
  rbd -c "$dir/ceph.conf" create --size "${3}M" "rbd/$2"
  rbd -c "$dir/ceph.conf" bench --io-type write --io-size 4M --io-threads 4 --io-total "${3}M" \
    --io-pattern seq "rbd/$2" >/dev/null
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  image) shift; cmd_image "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  osd) shift; cmd_osd "$@" ;;
  run) shift; cmd_run "$@" ;;
  *) die "usage: $0 start DIR [options] | stop DIR | osd DIR start|stop|kill|pid | image DIR NAME MIB | run [options] -- CMD..." ;;
esac
