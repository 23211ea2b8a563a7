#!/usr/bin/env bash
# bench/scale.sh -- Cobalt with many small blobs: memory and metadata per object, start-up time,
# disk reads per cold GET.  Not part of CI: the default 10 million blobs take hours.
#
#   bench/scale.sh                 10,000,000 blobs of 1 KiB (SCALE_OBJECTS, SCALE_SIZE)
#   SCALE_OBJECTS=200000 bench/scale.sh
#
# Steps: build; start `cobalt serve` (durable) on a free loopback port with an empty data dir
# ($SCALE_DIR, default a temp dir under /tmp); load the blobs as the pool of a `cobalt bench get`
# run (32 writers, kept); then report
#   - RSS per object: the server's VmRSS after the load, divided by the object count (RocksDB's
#     block cache is a fixed 256 MiB, so this falls as the count grows);
#   - metadata bytes per object: the size of DATA/meta (RocksDB, after a restart has flushed it)
#     divided by the count; volume bytes per object likewise;
#   - start-up time: from exec to the port answering, after a restart (nothing is scanned at
#     start-up, so it does not grow with the count);
#   - disk reads per cold GET: drop the page cache (as root), GET 1,000 random blobs, and read the
#     server's read_bytes and the block device's completed reads (/proc/diskstats) before/after;
#     once from a freshly started server (nothing cached), and once more from a server whose
#     record cache (--meta-cache, SCALE_WARM_CACHE_MIB, default 3x the metadata on disk) holds
#     every record after one listing of the container, with its RSS then.
# SCALE_REUSE=1 with SCALE_DIR of an earlier run skips the load and measures that data again.
# Every process it starts is stopped by PID on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${SCALE_OBJECTS:-10000000}"
SIZE="${SCALE_SIZE:-1KiB}"
DIR="${SCALE_DIR:-$(mktemp -d /tmp/cobalt-scale.XXXXXX)}"
BIN="$ROOT/build/cobalt"
PID=""

cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID"
        wait "$PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM

cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$ROOT/build" -j"$(nproc)" --target cobalt >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
EP="http://127.0.0.1:$PORT/devstoreaccount1"

start() {   # extra `cobalt serve` arguments
    local t0
    t0=$(date +%s.%N)
    "$BIN" serve --port "$PORT" --data-dir "$DIR/data" --log-level warn "$@" >>"$DIR/server.log" 2>&1 &
    PID=$!
    until curl -s -o /dev/null "http://127.0.0.1:$PORT/"; do sleep 0.01; done
    STARTUP=$(python3 -c "print(round($(date +%s.%N) - $t0, 3))")
}
stop() {
    kill -TERM "$PID"
    wait "$PID" 2>/dev/null || true
    PID=""
}

if [ "${SCALE_REUSE:-0}" = "1" ]; then
    rss_kib=""
else
    start
    # The load is the pool of a `bench get` run: created by 32 writers, then kept.
    "$BIN" bench get --endpoint "$EP" --container scale --keep --size "$SIZE" --objects "$N" \
        --seed 1 --count 1 --concurrency 32 >"$DIR/load.txt" 2>"$DIR/load.err"
    rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
    stop
fi
start   # restart: measures start-up, and RocksDB has flushed its memtables
startup=$STARTUP
meta_bytes=$(du -sb "$DIR/data/meta" | cut -f1)
vol_bytes=$(du -sb "$DIR/data/volumes" | cut -f1)

# Cold reads: empty the page cache, then GET random blobs and count disk reads.
dev=$(df --output=source "$DIR" | tail -1 | sed 's|/dev/||')
reads() { awk -v d="$dev" '$3 == d {print $4}' /proc/diskstats; }
cold_gets() {
    local r0 r1 b0 b1
    sync
    if ! echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
        echo "not measured (dropping the page cache needs root)"
        return
    fi
    r0=$(reads); b0=$(awk '/read_bytes/ {print $2}' "/proc/$PID/io")
    "$BIN" bench get --endpoint "$EP" --container scale --keep --no-prepare --objects "$N" \
        --seed 1 --size "$SIZE" --count 1000 --concurrency 1 --quiet >>"$DIR/cold.txt" || true
    r1=$(reads); b1=$(awk '/read_bytes/ {print $2}' "/proc/$PID/io")
    echo "$(python3 -c "print(round(($r1 - $r0) / 1000, 2))") device reads, $(( (b1 - b0) / 1000 )) bytes read per GET"
}
cold=$(cold_gets)
stop

# The same with every record in the cache: one listing reads them all.
warm_mib=${SCALE_WARM_CACHE_MIB:-$(( meta_bytes * 3 / 1048576 > 256 ? meta_bytes * 3 / 1048576 : 256 ))}
start --meta-cache "$warm_mib"
"$BIN" bench list --endpoint "$EP" --container scale --keep --no-prepare --objects "$N" \
    --seed 1 --size "$SIZE" --page-size 5000 --count $(( N / 5000 + 1 )) --concurrency 1 \
    --quiet >"$DIR/list.txt"
warm_rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
warm=$(cold_gets)
stop

cat <<EOF2
| figure | value | target |
|---|---|---|
| objects | $N x $SIZE | 10,000,000 |
| RSS per object after the load | ${rss_kib:+$(( rss_kib * 1024 / N )) B ($(( rss_kib / 1024 )) MiB in all)}${rss_kib:-not measured (SCALE_REUSE)} | <= 100 B |
| metadata on disk per object | $(( meta_bytes / N )) B | <= 200 B |
| volume bytes per object | $(( vol_bytes / N )) B | |
| start-up time | ${startup} s | < 1 s |
| cold GET, fresh server | $cold | 1 |
| cold GET, records cached (--meta-cache $warm_mib, after one listing) | $warm | 1 |
| RSS per object with records cached | $(( warm_rss_kib * 1024 / N )) B ($(( warm_rss_kib / 1024 )) MiB in all) | <= 100 B |
EOF2
echo "data kept in $DIR (delete it when done)" >&2
