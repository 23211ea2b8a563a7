#!/bin/bash
# scripts/ceph/start.sh -- a throwaway single-node Ceph (Debian 12: pacific 16.2.x) cluster for
# the tests of the RADOS engine: 1 mon + 1 osd, no mgr, no systemd, everything (conf, keyrings,
# data, logs, sockets) under one dir.  Ready in ~2 s on a 2-core machine (bluestore).
#
# usage: start.sh [DIR]
#   env: CEPH_STORE=bluestore|memstore (default bluestore: memstore loses everything when the
#                                      OSD restarts, so durability tests need bluestore)
#        CEPH_MON_PORT=40300          (msgr2 port of the monitor; default: first free of
#                                      40300, 40500, 40700, ...)
#        CEPH_PORT_MIN=MON_PORT+100   (OSD bind range: PORT_MIN..PORT_MIN+99)
#        CEPH_POOL=test               (pool created for the tests)
#        CEPH_BLOCK_SIZE=4G           (bluestore block file, sparse)
#        CEPH_AUTH=cephx|none         (default cephx)
# On success prints KEY=VALUE lines (CEPH_DIR, CEPH_CONF, CEPH_POOL, CEPH_MON_PORT) and exits 0.
# Stop with stop.sh DIR (kills exactly the PIDs in DIR/pids); scripts/ceph/with-cluster.sh runs a
# command with a cluster around it.
#
# Parallel clusters (ctest -j, several suites) each take the first free monitor slot; the choice
# is made under a lock held until the monitor listens, so two starts never pick the same port.
set -euo pipefail

T0=$(date +%s.%N)
STORE=${CEPH_STORE:-bluestore}
# Is TCP port $1 taken locally -- by a listener, or by any socket whose local end it is: the
# monitor ports lie inside the kernel's ephemeral range, so a client connection may hold one.
port_busy() {
  local hex; hex=$(printf '%04X' "$1")
  awk -v h=":$hex" 'NR>1 && substr($2, length($2)-4)==h {f=1} END {exit !f}' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
exec 9>"${TMPDIR:-/tmp}/cobalt-ceph-ports.lock"
flock 9
if [ -n "${CEPH_MON_PORT:-}" ]; then
  PORT=$CEPH_MON_PORT
  port_busy "$PORT" && { echo "start-cluster: port $PORT already in use" >&2; exit 1; }
else # first free slot: mon on 40300+200k, OSDs in 40400+200k .. +99
  for k in $(seq 0 40); do PORT=$((40300 + 200 * k)); port_busy "$PORT" || break; done
fi
PMIN=${CEPH_PORT_MIN:-$((PORT + 100))}
POOL=${CEPH_POOL:-test}
BLOCK_SIZE=${CEPH_BLOCK_SIZE:-4G}
AUTH=${CEPH_AUTH:-cephx}
DIR=${1:-$(mktemp -d "${TMPDIR:-/tmp}/ceph-test.XXXXXX")}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
mkdir -p "$DIR"/{log,run,mon.a,osd.0,crash}
: > "$DIR/pids"

elapsed() { echo "$(date +%s.%N) $T0" | awk '{printf "%.2f", $1-$2}'; }
log() { echo "[$(elapsed)s] $*" >&2; }
fail() {
  echo "start-cluster: FAILED: $*" >&2
  for f in "$DIR"/log/*.log; do [ -f "$f" ] && { echo "--- tail $f" >&2; tail -20 "$f" >&2; }; done
  # stop whatever we already started (exact PIDs), keep the dir for post-mortem
  "$(dirname "${BASH_SOURCE[0]}")/stop.sh" "$DIR" --keep >&2 || true
  exit 1
}

FSID=$(uuidgen)
CONF=$DIR/ceph.conf
KEYRING=$DIR/keyring

if [ "$STORE" = bluestore ]; then
  STORE_CONF="osd objectstore = bluestore
bluestore block path = $DIR/osd.0.block
bluestore block create = true
bluestore block size = $BLOCK_SIZE
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mount = false
bdev enable discard = false
# every bdev close waits for the aio reaper thread, which polls every bdev_aio_poll_ms
# (default 250 ms); the OSD opens/closes the block file ~10 times during mkfs+start
bdev aio poll ms = 20
# keep memory small for CI (default osd_memory_target is 4 GiB)
osd memory target = 939524096
bluestore cache autotune = false
bluestore cache size = 134217728"
else
  STORE_CONF="osd objectstore = memstore
memstore device bytes = 1073741824"
fi

cat > "$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$PORT]
auth cluster required = $AUTH
auth service required = $AUTH
auth client required = $AUTH
auth allow insecure global id reclaim = false
keyring = $KEYRING
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
crash dir = $DIR/crash
pid file = $DIR/run/\$name.pid
ms bind msgr1 = false
ms bind ipv4 = true
ms bind ipv6 = false
ms bind port min = $PMIN
ms bind port max = $((PMIN + 99))
public addr = 127.0.0.1
cluster addr = 127.0.0.1
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
osd crush initial weight = 1
debug ms = 0
# each osdmap change otherwise waits for paxos_propose_interval (1 s)
paxos propose interval = 0.01
paxos min wait = 0.01

[client]
# after an OSD crash (SIGKILL) in-flight ops otherwise stall ~10-15 s: the client only
# re-fetches the osdmap when an op is "laggy" (objecter_timeout 10 s, checked every
# objecter_tick_interval 5 s); with these it is ~3 s
objecter tick interval = 1
objecter timeout = 2

[mon]
mon data = $DIR/mon.\$id
mon cluster log file = $DIR/log/cluster.log

[osd]
osd data = $DIR/osd.\$id
$STORE_CONF
EOF

# --- keys + monmap ---------------------------------------------------------
ceph-authtool --create-keyring --gen-key --name=mon. "$KEYRING" --cap mon 'allow *' >/dev/null
ceph-authtool --gen-key --name=client.admin "$KEYRING" \
  --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
monmaptool --create --clobber --fsid "$FSID" --addv a "[v2:127.0.0.1:$PORT]" "$DIR/monmap" >/dev/null

# --- monitor ---------------------------------------------------------------
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$KEYRING" \
  > "$DIR/log/mon.a.mkfs.out" 2>&1 || fail "ceph-mon --mkfs"
ceph-mon -c "$CONF" -i a -f </dev/null >"$DIR/log/mon.a.out" 2>&1 9>&- &
MON_PID=$!
echo "mon.a $MON_PID" >> "$DIR/pids"
log "ceph-mon started (pid $MON_PID)"

C="ceph -c $CONF --connect-timeout 15"
ok=0
for i in $(seq 1 100); do
  kill -0 $MON_PID 2>/dev/null || fail "ceph-mon exited (see log/mon.a.out, log/mon.a.log)"
  if timeout 20 $C mon stat >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.2
done
[ $ok = 1 ] || fail "monitor did not answer"
log "monitor up"
flock -u 9 # the port is taken now

# --- osd -------------------------------------------------------------------
OSD_UUID=$(uuidgen)
OSD_SECRET=$(ceph-authtool --gen-print-key)
echo "{\"cephx_secret\": \"$OSD_SECRET\"}" > "$DIR/osd.0/new.json"
OSD_ID=$(timeout 30 $C osd new "$OSD_UUID" -i "$DIR/osd.0/new.json") || fail "ceph osd new"
rm -f "$DIR/osd.0/new.json"
[ "$OSD_ID" = 0 ] || fail "unexpected osd id '$OSD_ID'"
printf '[osd.0]\n\tkey = %s\n' "$OSD_SECRET" > "$DIR/osd.0/keyring"
# create the pool now (osd.0 is already "in"), so PGs are created as soon as it boots
timeout 30 $C osd pool create "$POOL" 8 8 >/dev/null 2>&1 || fail "pool create"
timeout 30 $C osd pool application enable "$POOL" rados >/dev/null 2>&1 || true
log "pool $POOL created"
ceph-osd -c "$CONF" -i 0 --mkfs --key "$OSD_SECRET" --osd-uuid "$OSD_UUID" \
  > "$DIR/log/osd.0.mkfs.out" 2>&1 || fail "ceph-osd --mkfs"
log "osd mkfs done ($STORE)"
ceph-osd -c "$CONF" -i 0 -f --keyring "$DIR/osd.0/keyring" </dev/null >"$DIR/log/osd.0.out" 2>&1 9>&- &
OSD_PID=$!
echo "osd.0 $OSD_PID" >> "$DIR/pids"
log "ceph-osd started (pid $OSD_PID)"


# Wait for osd.0 to be up in the osdmap first: a client op issued while no OSD is up
# sits "homeless" until the objecter tick (objecter_tick_interval = 5 s) re-requests a map.
ok=0
for i in $(seq 1 300); do
  kill -0 $OSD_PID 2>/dev/null || fail "ceph-osd exited (see log/osd.0.out, log/osd.0.log)"
  if timeout 10 $C osd dump 2>/dev/null | grep -q '^osd\.0 up '; then ok=1; break; fi
  sleep 0.1
done
[ $ok = 1 ] || fail "osd.0 never came up"
log "osd.0 up"
ok=0
for i in $(seq 1 120); do
  if timeout 5 rados -c "$CONF" -p "$POOL" put __probe "$CONF" >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.2
done
[ $ok = 1 ] || fail "first rados put did not succeed"
rados -c "$CONF" -p "$POOL" rm __probe >/dev/null 2>&1 || true
log "first rados put OK -> cluster ready"
echo "READY_SECONDS=$(elapsed)"
echo "CEPH_DIR=$DIR"
echo "CEPH_CONF=$CONF"
echo "CEPH_POOL=$POOL"
echo "CEPH_MON_PORT=$PORT"
