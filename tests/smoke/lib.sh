# tests/smoke/lib.sh -- sourced by the command-line tool smoke tests (az.sh, rclone.sh, azcopy.sh).
#
# smoke_start NAME starts the real cobalt binary ($COBALT_BIN, default build/cobalt) on 127.0.0.1
# with a free port and a data directory in a fresh temporary directory, and arranges for it to be
# stopped by its PID on exit (its log is printed when the test failed).  It sets:
#   ROOT  the repository        TMP   the temporary directory (removed on exit)
#   PORT  the server's port     URL   http://127.0.0.1:$PORT/devstoreaccount1
#   CS    the connection string for the dev account
# fail MSG ends the test; make_tree DIR writes the file tree every tool uploads; account_sas PERMS
# prints an account SAS query string (signed by tests/abuse/abuselib.py, checked against the
# protocol doc's vectors by the abuse suite).  Each tool command runs under `timeout
# $SMOKE_TIMEOUT` (300 s): a client that keeps retrying a dead server must not hang the suite.
# COBALT_BACKEND=memory|rados runs the server on that engine (`--backend`); rados uses the cluster
# of CEPH_CONF (scripts/ceph/with-cluster.sh runs a test inside a throwaway one) with a pair of
# pools of its own.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${COBALT_BIN:-$ROOT/build/cobalt}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
SMOKE_NAME=smoke
SMOKE_TIMEOUT=300
TMP=""
PID=""

fail() { echo "$SMOKE_NAME smoke: FAIL: $*" >&2; exit 1; }

_smoke_cleanup() {
    local rc=$?
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 1 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
    fi
    if [ $rc -ne 0 ] && [ -f "$TMP/server.log" ]; then
        echo "--- server log (tail) ---" >&2; tail -n 40 "$TMP/server.log" >&2
    fi
    [ -n "$TMP" ] && rm -rf "$TMP"
    exit $rc
}

smoke_start() {
    SMOKE_NAME="$1"
    [ -x "$BIN" ] || fail "server binary $BIN missing"
    TMP="$(mktemp -d "${TMPDIR:-/tmp}/cobalt-$SMOKE_NAME.XXXXXX")"
    trap _smoke_cleanup EXIT
    PORT="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    local engine=() pool
    case "${COBALT_BACKEND:-local}" in
    local) ;;
    rados)
        [ -n "${CEPH_CONF:-}" ] || fail "COBALT_BACKEND=rados needs CEPH_CONF (scripts/ceph/with-cluster.sh)"
        engine=(--backend rados --ceph-conf "$CEPH_CONF" --ceph-user admin)
        for pool in index data; do
            timeout 60 ceph -c "$CEPH_CONF" osd pool create "${TMP##*/}-$pool" 1 1 >/dev/null 2>&1 ||
                fail "cannot create pool ${TMP##*/}-$pool"
            engine+=("--pool-$pool" "${TMP##*/}-$pool")
        done ;;
    *) engine=(--backend "$COBALT_BACKEND") ;;
    esac
    "$BIN" serve --host 127.0.0.1 --port "$PORT" --data-dir "$TMP/data" --log-level warn \
        "${engine[@]}" >"$TMP/server.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
        kill -0 "$PID" 2>/dev/null || fail "server exited early"
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || fail "server did not accept connections"
    URL="http://127.0.0.1:$PORT/devstoreaccount1"
    CS="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$KEY;BlobEndpoint=$URL;"
}

# About twenty files: empty, one byte, 4 KiB, 100 kB, 5 MiB, 9 MiB + 7 B, nested directories,
# a name with spaces.
make_tree() {
    local d="$1"
    mkdir -p "$d/docs/nested" "$d/img"
    : > "$d/empty.txt"
    echo "hello $SMOKE_NAME" > "$d/hello.txt"
    printf 'x' > "$d/one-byte.bin"
    head -c 4096 /dev/urandom > "$d/docs/4k.bin"
    head -c 100000 /dev/urandom > "$d/docs/100k.bin"
    head -c $((9 * 1024 * 1024 + 7)) /dev/urandom > "$d/img/large.bin"
    head -c $((5 * 1024 * 1024)) /dev/urandom > "$d/img/five-mib.bin"
    for i in $(seq 1 12); do
        head -c $((i * 1537)) /dev/urandom > "$d/docs/nested/file-$i.dat"
    done
    echo "name with spaces" > "$d/docs/a file with spaces.txt"
}

account_sas() {
    (cd "$ROOT/tests/abuse" && /usr/bin/python3 -c \
        'import sys; from abuselib import account_sas; print(account_sas(sys.argv[1]))' "$1")
}

# create_container NAME: a signed Create Container (for tools that cannot create one themselves).
create_container() {
    (cd "$ROOT/tests/abuse" && /usr/bin/python3 -c \
        'import sys; from abuselib import create_container; create_container(int(sys.argv[1]), sys.argv[2])' \
        "$PORT" "$1") || fail "create container $1"
}
