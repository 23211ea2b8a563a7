#!/bin/bash
# scripts/ceph/stop.sh -- stops a cluster that scripts/ceph/start.sh started.
# usage: stop.sh DIR [--keep] [--kill]
# Stops exactly the PIDs recorded in DIR/pids (osd first, then mon): SIGTERM, wait up
# to 10 s, then SIGKILL. --kill sends SIGKILL at once (throwaway data: ~instant instead
# of ~1-2 s per daemon). Removes DIR unless --keep.
set -u
DIR=${1:?usage: stop.sh DIR [--keep] [--kill]}
shift
KEEP=0; SIG=TERM
for a in "$@"; do
  case $a in --keep) KEEP=1 ;; --kill) SIG=KILL ;; *) echo "unknown arg $a" >&2; exit 2 ;; esac
done
[ -f "$DIR/pids" ] || { echo "stop: no $DIR/pids" >&2; exit 1; }

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mapfile -t lines < <(tac "$DIR/pids")
for l in "${lines[@]}"; do
  name=${l% *}; pid=${l#* }
  alive "$pid" && is_ours "$pid" || continue
  kill -"$SIG" "$pid" 2>/dev/null
  for i in $(seq 1 200); do alive "$pid" || break; sleep 0.05; done
  if alive "$pid"; then
    echo "stop: $name ($pid) still alive after SIG$SIG, sending KILL" >&2
    kill -KILL "$pid" 2>/dev/null
    for i in $(seq 1 100); do alive "$pid" || break; sleep 0.05; done
  fi
done
: > "$DIR/pids"
[ $KEEP = 1 ] || rm -rf "$DIR"
exit 0
