#!/usr/bin/env bash
# Installs everything Cobalt's build and test suites need on Debian 12.
# Idempotent: when every package is already present the apt step is skipped, and npm only
# reinstalls node_modules when package-lock.json changed.
#
#   scripts/deps.sh            everything: build and test dependencies
#   scripts/deps.sh build      only what building and running the server needs
# Run as root, or as a user with sudo.
#
# Only the Debian archive and the npm registry are contacted.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[deps] %s\n' "$*" >&2; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        log "not root and sudo is missing: cannot install packages"
        exit 1
    fi
fi

WHAT="${1:-all}"
PKGS=(
    build-essential cmake pkg-config
    libmicrohttpd-dev libgnutls28-dev librocksdb-dev libexpat1-dev libssl-dev libcurl4-openssl-dev
    librados-dev                # the RADOS engine (src/engine/rados.c)
)
if [ "$WHAT" != build ]; then
    PKGS+=(python3 python3-pytest python3-azure-storage azure-cli ca-certificates
           rclone libsecret-1-0        # libsecret: AzCopy (npm) links it
           clang libclang-rt-14-dev    # clang: the libFuzzer targets of tests/fuzz
           clang-format                # the format check of scripts/test.sh
           ceph-mon ceph-osd ceph-common              # scripts/ceph/: a throwaway cluster for the RADOS tests
           openssl python3-jwt python3-cryptography   # tests/door: test CA, JWKS, tokens
           pgbackrest postgresql duplicity            # tests/door: applications over HTTPS
           gdb)                                       # tests/lib: the stacks of a server that will not stop
fi
# Node.js (tests only): only install Debian's when no node is on the machine (a NodeSource build may already
# be there, and Debian's npm package conflicts with its bundled npm).
if [ "$WHAT" != build ] && ! command -v node >/dev/null 2>&1; then
    PKGS+=(nodejs)
fi
if [ "$WHAT" != build ] && ! command -v npm >/dev/null 2>&1; then
    PKGS+=(npm)
fi

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    log "Debian packages already installed"
fi

if [ "$WHAT" = build ]; then
    log "done"
    exit 0
fi

# npm packages (the JS SDK and AzCopy for the smoke tests), into ./node_modules at the repo root.
# A stamp holding the lock file's hash makes repeated runs instant.
stamp="node_modules/.cobalt-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -d node_modules/@azure/storage-blob ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "node_modules up to date"
else
    log "installing npm packages"
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund --loglevel=error
    else
        npm install --no-audit --no-fund --loglevel=error
    fi
    sha256sum package-lock.json | cut -d' ' -f1 > "$stamp"
fi
log "done"
