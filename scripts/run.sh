#!/usr/bin/env bash
# Builds Cobalt and starts it on its defaults: http://127.0.0.1:10000, data in ./cobalt-data,
# the development account devstoreaccount1.  Extra arguments go to `cobalt serve`
# (e.g. scripts/run.sh --port 10010 --data-dir /srv/cobalt).  Stop it with Ctrl-C.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target cobalt
exec build/cobalt serve "$@"
