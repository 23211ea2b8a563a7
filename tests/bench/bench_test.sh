#!/usr/bin/env bash
# tests/bench/bench_test.sh -- `cobalt bench` proves itself against the real server, in seconds.
#
#   tests/bench/bench_test.sh [path/to/cobalt]        (default: build/cobalt)
#
# Starts `cobalt serve` (durable, --fsync always) on a free loopback port with an empty temp data
# dir, runs every workload briefly and asserts correctness, not speed: exit status 0, zero errors,
# zero content mismatches, and a JSON report whose fields are present and consistent (ops > 0,
# bytes = what the sizes imply, p50 <= p90 <= p99 <= p99.9 <= max).  Then the checks that the
# checker works: a GET pool read back under another seed must be reported as content mismatches
# (exit 1), a wrong key as 403s, and SAS must work as well as Shared Key.
# Prints one line per check and a final "N passed, M failed"; exits 1 if any failed.
set -u

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
COBALT="${1:-$ROOT/build/cobalt}"
COBALT="$(cd "$(dirname "$COBALT")" && pwd)/$(basename "$COBALT")"
TMP="$(mktemp -d /tmp/cobalt-bench-test.XXXXXX)"
SERVER_PID=""
PASS=0
FAIL=0
KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

ok()  { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }

"$COBALT" serve --host 127.0.0.1 --port 0 --data-dir "$TMP/data" --fsync always \
    >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 100); do
    PORT="$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/server.log")"
    [ -n "$PORT" ] && break
    sleep 0.05
done
if [ -z "$PORT" ]; then
    cat "$TMP/server.log"
    echo "0 passed, 1 failed"
    exit 1
fi
EP="http://127.0.0.1:$PORT/devstoreaccount1"

# check_json FILE WORKLOAD SIZE: the report's fields are there and agree with each other.
check_json() {
    python3 - "$@" <<'EOF'
import json, sys
path, workload, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.load(open(path))
need = ["workload", "endpoint", "container", "auth", "size_min", "size_max", "concurrency",
        "objects", "warmup_s", "measured_s", "ops", "bytes", "entries", "errors", "mismatches",
        "ops_per_s", "mib_per_s", "entries_per_s", "windows", "median_ops_per_s",
        "median_mib_per_s", "mix", "latency_ms", "ttfb_ms", "errors_by"]
missing = [k for k in need if k not in r]
assert not missing, "missing fields %s" % missing
assert r["workload"] == workload, r["workload"]
assert r["errors"] == 0 and r["mismatches"] == 0 and r["errors_by"] == [], r["errors_by"]
assert r["ops"] > 0 and r["ops_per_s"] > 0 and r["measured_s"] > 0, (r["ops"], r["measured_s"])
for d in ("latency_ms", "ttfb_ms"):
    v = r[d]
    assert 0 <= v["p50"] <= v["p90"] <= v["p99"] <= v["p99_9"] <= v["max"], (d, v)
assert r["ttfb_ms"]["p50"] <= r["latency_ms"]["max"]
if workload in ("put", "get", "block") and r["size_min"] == r["size_max"]:
    assert r["bytes"] == r["ops"] * size, (r["bytes"], r["ops"], size)
if workload == "stat" or workload == "delete":
    assert r["bytes"] == 0
if workload == "list":
    assert r["entries"] > 0 and r["entries_per_s"] > 0
if workload == "mixed":
    m = r["mix"]
    assert sum(m.values()) == r["ops"] and m["get"] > 0 and m["stat"] > 0 and m["put"] > 0, m
EOF
}

# run NAME SIZE WORKLOAD ARGS...: a workload that must succeed with a sane report.
run() {
    local name="$1" size="$2" wl="$3"
    shift 3
    if "$COBALT" bench "$wl" --endpoint "$EP" --quiet --json "$TMP/$name.json" "$@" \
        >"$TMP/$name.out" 2>&1; then
        if err="$(check_json "$TMP/$name.json" "$wl" "$size" 2>&1)"; then
            ok "$name"
        else
            bad "$name: $(echo "$err" | tail -1)"
        fi
    else
        bad "$name: exit status $? -- $(grep -E 'error|bench:' "$TMP/$name.out" | head -3 | tr '\n' ' ')"
    fi
}

Q=(--duration 1 --warmup 0.2 --concurrency 4)
run put-4k         4096    put    "${Q[@]}"
run get-4k         4096    get    "${Q[@]}" --objects 64
run stat-4k        4096    stat   "${Q[@]}" --objects 64
run delete-count   4096    delete --count 200 --concurrency 4
run list-pages     0       list   "${Q[@]}" --objects 1200 --page-size 500 --size 0
run mixed-dist     0       mixed  "${Q[@]}" --objects 64 --size 1KiB:64KiB
run block-3blocks  2621440 block  --count 6 --concurrency 2 --size 2560KiB --block-size 1MiB
run get-blocks     2621440 get    --count 12 --concurrency 2 --objects 4 --size 2560KiB \
                                  --block-size 1MiB
run put-1m-count   1048576 put    --count 40 --concurrency 8 --size 1MiB
run get-empty      0       get    --count 20 --concurrency 2 --objects 4 --size 0

# The checker catches wrong bytes: a pool written under seed 1, read back expecting seed 2.
"$COBALT" bench get --endpoint "$EP" --quiet --container bench-mismatch --seed 1 --objects 8 \
    --count 8 --concurrency 2 >"$TMP/mm1.out" 2>&1
"$COBALT" bench get --endpoint "$EP" --quiet --container bench-mismatch --seed 2 --objects 8 \
    --count 8 --concurrency 2 --no-prepare --json "$TMP/mm.json" >"$TMP/mm2.out" 2>&1
st=$?
if [ "$st" -eq 1 ] && python3 -c '
import json, sys; r = json.load(open(sys.argv[1]))
assert r["mismatches"] == 8 and r["errors"] == 8 and r["ops"] == 0, r
assert r["errors_by"] == [{"status": 200, "code": "ContentMismatch", "count": 8}], r["errors_by"]
' "$TMP/mm.json" 2>"$TMP/mm.err"; then
    ok "detects-content-mismatch"
else
    bad "detects-content-mismatch: exit $st $(tail -1 "$TMP/mm.err")"
fi

# Errors are reported by status and code: a wrong key is 403 AuthenticationFailed.
WRONG="$(printf 'x%.0s' $(seq 1 64) | base64 -w0)"
"$COBALT" bench put --endpoint "$EP" --quiet --key "$WRONG" --container bench-wrong-key \
    --count 3 --concurrency 1 >"$TMP/wk.out" 2>&1
st=$?
if [ "$st" -eq 1 ] && grep -q '403 AuthenticationFailed' "$TMP/wk.out"; then
    ok "reports-403-by-code"
else
    bad "reports-403-by-code: exit $st $(head -2 "$TMP/wk.out" | tr '\n' ' ')"
fi

# SAS instead of Shared Key: an account SAS (protocol doc §3.6) on a container made beforehand.
SAS="$(python3 - "$KEY" <<'EOF'
import base64, hashlib, hmac, sys, urllib.parse, datetime
key = base64.b64decode(sys.argv[1])
se = (datetime.datetime.utcnow() + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
f = {"sv": "2021-08-06", "ss": "b", "srt": "sco", "sp": "racwdl", "se": se, "spr": "http,https"}
# sv >= 2020-12-06 signs an (empty) encryption scope after sv, and ends with a newline.
sts = "\n".join(["devstoreaccount1", f["sp"], f["ss"], f["srt"], "", f["se"], "", f["spr"],
                 f["sv"], "", ""])
f["sig"] = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha256).digest()).decode()
print(urllib.parse.urlencode(f))
EOF
)"
run sas-put 4096 put --sas "$SAS" --container bench-sas --count 20 --concurrency 2
run sas-get 4096 get --sas "$SAS" --container bench-sas --count 20 --concurrency 2 --objects 5

# Several endpoints (the gateways of one store): worker i uses endpoint i mod N, so with a dead
# second endpoint the odd workers' requests fail, and with two live ones every request succeeds.
"$COBALT" bench put --endpoint "$EP" --endpoint "http://127.0.0.1:1/devstoreaccount1" --quiet \
    --container bench-two-eps --count 8 --concurrency 2 --json "$TMP/dead.json" >"$TMP/dead.out" 2>&1
st=$?
if [ "$st" -eq 1 ] && python3 -c '
import json, sys; r = json.load(open(sys.argv[1]))
assert len(r["endpoints"]) == 2 and r["ops"] > 0 and r["errors"] > 0, r
assert all(e["status"] == 0 for e in r["errors_by"]), r["errors_by"]
' "$TMP/dead.json" 2>"$TMP/dead.err"; then
    ok "endpoints-alternate"
else
    bad "endpoints-alternate: exit $st $(tail -1 "$TMP/dead.err")"
fi
run two-endpoints 4096 get "${Q[@]}" --objects 16 --endpoint "http://localhost:$PORT/devstoreaccount1"

# Usage errors are exit status 2 (endpoints must share the account path).
"$COBALT" bench nosuch >/dev/null 2>&1
st=$?
if [ "$st" -eq 2 ]; then ok "usage-error"; else bad "usage-error: exit $st"; fi
"$COBALT" bench put --endpoint "$EP" --endpoint "http://127.0.0.1:$PORT/other" >/dev/null 2>&1
st=$?
if [ "$st" -eq 2 ]; then ok "endpoints-one-account"; else bad "endpoints-one-account: exit $st"; fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
