#!/usr/bin/env bash
# bench/rados.sh -- the RADOS engine through 1, 2 and 3 gateways, and the local engine, side by
# side on this machine, with the RADOS operations each Blob operation cost.
#
#   bench/rados.sh                        about 5 minutes on 2 cores
#   BENCH_SECONDS=10 bench/rados.sh       longer measured time per run (default 5)
#
# What it does:
#   1. builds Cobalt (cmake, into $BUILD_DIR, default build/) unless $BUILD_DIR/cobalt exists;
#   2. starts a throwaway Ceph cluster (scripts/ceph/start.sh: one monitor, one OSD on a sparse
#      BlueStore file, pool size 1) with two pools of 8 placement groups, cobalt-index and
#      cobalt-data;
#   3. starts three gateways (`cobalt serve --backend rados`) on those pools and one local server
#      (`--fsync always`: durable, as a RADOS write is once the OSD acknowledges it), each on
#      127.0.0.1 with a free port and a /metrics listener;
#   4. runs each workload against the local server and against gateways 1, 1-2 and 1-3 (cobalt
#      bench, worker i on gateway i mod N), one after the other, each in a container of its own
#      prepared by an earlier run (so the measured run does only the workload's requests):
#      4 KiB PUT and GET (32 clients), 1 MiB PUT and GET (8 clients), List Blobs pages of 500
#      over 2,000 blobs (8 clients);
#   5. reads the gateways' /metrics before and after each measured run: the RADOS operations
#      (cobalt_rados_ops_total, by pool and kind) divided by the Blob requests answered
#      (cobalt_http_requests_total) over the run -- the background work of the gateways (a
#      heartbeat every 10 s each) is counted too, a few operations per run;
#   6. prints a markdown table; JSON reports stay in $OUT.
#
# Every process it starts is stopped by PID on exit, failure or Ctrl-C.  Other knobs (env):
#   BENCH_WARMUP (1), BENCH_DIR (/tmp), OUT (a temp dir)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${BENCH_SECONDS:-5}"
WARM="${BENCH_WARMUP:-1}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BENCH_DIR="${BENCH_DIR:-/tmp}"
WORK="$(mktemp -d "$BENCH_DIR/cobalt-rados-bench.XXXXXX")"
OUT="${OUT:-$WORK/results}"
COBALT="$BUILD_DIR/cobalt"
PIDS=()
CEPH_DIR=""

log() { printf '[rados-bench] %s\n' "$*" >&2; }

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -n "$CEPH_DIR" ] && bash "$ROOT/scripts/ceph/stop.sh" "$CEPH_DIR" --kill
    rm -rf "$WORK/local" "$WORK"/gw*
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$COBALT" ]; then
    log "building into $BUILD_DIR"
    cmake -S "$ROOT" -B "$BUILD_DIR" >/dev/null
    cmake --build "$BUILD_DIR" -j "$(nproc)" >/dev/null
fi
mkdir -p "$OUT"

log "starting the Ceph cluster"
CEPH_DIR="$WORK/ceph"
ceph_out="$(bash "$ROOT/scripts/ceph/start.sh" "$CEPH_DIR")"
CONF="$(sed -n 's/^CEPH_CONF=//p' <<<"$ceph_out")"
for pool in cobalt-index cobalt-data; do
    ceph -c "$CONF" osd pool create "$pool" 8 8 >/dev/null 2>&1
done

# start NAME ARGS...: a server with its log in $WORK/NAME.log; sets PORT and MPORT.
start() {
    local name="$1" i
    shift
    "$COBALT" serve --host 127.0.0.1 --port 0 --metrics-port 0 --data-dir "$WORK/$name" "$@" \
        >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    PORT="" MPORT=""
    for i in $(seq 1 200); do
        PORT="$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/$name.log")"
        MPORT="$(sed -n 's/.*metrics at http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/$name.log")"
        [ -n "$PORT" ] && [ -n "$MPORT" ] && return 0
        sleep 0.05
    done
    cat "$WORK/$name.log" >&2
    log "$name did not start"
    exit 1
}

declare -A EP METRICS
start local --fsync always
EP[local]="http://127.0.0.1:$PORT/devstoreaccount1"
for g in 1 2 3; do
    start "gw$g" --backend rados --ceph-conf "$CONF" --pool-index cobalt-index --pool-data cobalt-data
    EP[gw$g]="http://127.0.0.1:$PORT/devstoreaccount1"
    METRICS[gw$g]="http://127.0.0.1:$MPORT/metrics"
done

# The sums of the gateways' counters, as "http idx_read idx_write data_read data_write".
counters() {
    local g
    for g in 1 2 3; do curl -fsS "${METRICS[gw$g]}"; done | awk '
        /^cobalt_http_requests_total/ { h += $2 }
        /^cobalt_rados_ops_total\{pool="index",kind="read"\}/ { ir += $2 }
        /^cobalt_rados_ops_total\{pool="index",kind="write"\}/ { iw += $2 }
        /^cobalt_rados_ops_total\{pool="data",kind="read"\}/ { dr += $2 }
        /^cobalt_rados_ops_total\{pool="data",kind="write"\}/ { dw += $2 }
        END { printf "%d %d %d %d %d\n", h, ir, iw, dr, dw }'
}

# Each workload: its name and `cobalt bench` arguments.
WORKLOADS=(
    "put-4k|put --size 4KiB --concurrency 32"
    "get-4k|get --size 4KiB --concurrency 32 --objects 1000"
    "put-1m|put --size 1MiB --concurrency 8"
    "get-1m|get --size 1MiB --concurrency 8 --objects 64"
    "list|list --size 0 --concurrency 8 --objects 2000 --page-size 500"
)
TARGETS=(local rados1 rados2 rados3)

for wl in "${WORKLOADS[@]}"; do
    name="${wl%%|*}"
    read -r -a args <<<"${wl#*|}"
    for t in "${TARGETS[@]}"; do
        eps=()
        case "$t" in
        local) eps=(--endpoint "${EP[local]}") ;;
        rados*) for g in $(seq 1 "${t#rados}"); do eps+=(--endpoint "${EP[gw$g]}"); done ;;
        esac
        container="b-$name-$t"
        seed=$((RANDOM * 32768 + RANDOM))
        # The container, and the pool of a read workload, made by a run of its own.
        "$COBALT" bench "${args[@]}" "${eps[@]}" --container "$container" --seed "$seed" \
            --count 1 --quiet >/dev/null
        before=""
        [ "$t" = local ] || before="$(counters)"
        log "$name on $t"
        "$COBALT" bench "${args[@]}" "${eps[@]}" --container "$container" --seed "$seed" \
            --no-prepare --duration "$SECS" --warmup "$WARM" --quiet --json "$OUT/$name-$t.json" \
            >/dev/null
        if [ "$t" != local ]; then
            echo "$before $(counters)" >"$OUT/$name-$t.ops"
        fi
    done
done

python3 - "$OUT" "$SECS" <<'EOF'
import json, os, sys
out, secs = sys.argv[1], sys.argv[2]
names = {"put-4k": "4 KiB PUT (32)", "get-4k": "4 KiB GET (32)", "put-1m": "1 MiB PUT (8)",
         "get-1m": "1 MiB GET (8)", "list": "List Blobs, 500/page (8)"}
targets = {"local": "local", "rados1": "RADOS, 1 gw", "rados2": "RADOS, 2 gw",
           "rados3": "RADOS, 3 gw"}
print(f"\n{secs} s measured per run; RADOS ops per Blob request: index reads + writes / data "
      "reads + writes\n")
print("| workload | target | ops/s | MiB/s | p50 ms | p99 ms | vs local | RADOS ops per request |")
print("|---|---|---|---|---|---|---|---|")
for wl, wname in names.items():
    base = None
    for t, tname in targets.items():
        r = json.load(open(os.path.join(out, f"{wl}-{t}.json")))
        base = base or r["ops_per_s"]
        opsfile = os.path.join(out, f"{wl}-{t}.ops")
        cost = ""
        if os.path.exists(opsfile):
            v = [int(x) for x in open(opsfile).read().split()]
            d = [b - a for a, b in zip(v[:5], v[5:])]
            n = max(d[0], 1)
            cost = f"{d[1]/n:.2f} + {d[2]/n:.2f} / {d[3]/n:.2f} + {d[4]/n:.2f}"
        assert r["errors"] == 0, (wl, t, r["errors_by"])
        lat = r["latency_ms"]
        print(f"| {wname} | {tname} | {r['ops_per_s']:,.0f} | {r['mib_per_s']:,.1f} | "
              f"{lat['p50']:.2f} | {lat['p99']:.2f} | {r['ops_per_s'] / base:.2f} | {cost} |")
EOF
log "reports in $OUT"
