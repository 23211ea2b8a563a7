#!/bin/bash
# scripts/ceph/restart-osd.sh -- for durability tests of the RADOS engine.
# usage: restart-osd.sh DIR [TERM|KILL] [DOWN]  - stop osd.0 (pid from DIR/pids), keep it down
# DOWN seconds (default 0: an outage longer than the clients' op timeout), start it again, wait
# until a rados op succeeds. Prints seconds taken.
set -euo pipefail
DIR=${1:?}; SIG=${2:-TERM}; DOWN=${3:-0}
CONF=$DIR/ceph.conf
T0=$(date +%s.%N)
pid=$(awk '$1=="osd.0"{print $2}' "$DIR/pids")
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
is_ours "$pid" || { echo "pid $pid is not ceph-osd" >&2; exit 1; }
kill -$SIG "$pid"
for i in $(seq 1 400); do alive "$pid" || break; sleep 0.05; done
alive "$pid" && { echo "osd $pid still alive" >&2; exit 1; }
sleep "$DOWN"
T1=$(date +%s.%N)
start_osd() {
  ceph-osd -c "$CONF" -i 0 -f --keyring "$DIR/osd.0/keyring" </dev/null >>"$DIR/log/osd.0.out" 2>&1 &
  newpid=$!
  sed -i "s/^osd.0 .*/osd.0 $newpid/" "$DIR/pids"
}
start_osd
# the new instance registers with its pid as address nonce
ok=0; tries=1
for i in $(seq 1 600); do
  if ! alive "$newpid"; then
    # belt and braces: if the old instance's locks were still held, try again
    if [ $tries -lt 5 ] && tail -2 "$DIR/log/osd.0.log" | grep -q 'failed to lock'; then
      tries=$((tries + 1)); sleep 0.5; start_osd; continue
    fi
    echo "new ceph-osd $newpid exited:" >&2; tail -3 "$DIR/log/osd.0.log" >&2; exit 1
  fi
  if timeout 10 ceph -c "$CONF" osd dump 2>/dev/null | grep -qE "^osd\.0 up .*/${newpid}( |,|]|\$)"; then ok=1; break; fi
  sleep 0.1
done
[ $ok = 1 ] || { echo "osd did not come back" >&2; exit 1; }
T2=$(date +%s.%N)
echo "osd restart ($SIG): stop $(echo "$T1 $T0" | awk '{printf "%.2f",$1-$2}')s, back up $(echo "$T2 $T1" | awk '{printf "%.2f",$1-$2}')s (new pid $newpid)"
