#!/bin/sh
# tests/abuse/run.sh [PYTEST_ARGS...] -- the HTTP abuse, auth-matrix and bad-name suites against
# the real server binary.
#
#   COBALT_BIN=build/cobalt tests/abuse/run.sh          default run (about 2 minutes)
#   COBALT_ABUSE_LONG=1 tests/abuse/run.sh              also wait out the 120 s idle timeout
#   COBALT_RUN_KNOWN_BUGS=1 tests/abuse/run.sh          also run the tests of open bugs
#                                                        (KNOWN_BUGS.md; they fail until fixed)
#   COBALT_ABUSE_FIGURES=figures.txt tests/abuse/run.sh  append the measured figures to a file
#
# Python 3 standard library + pytest only (Debian: python3-pytest).  Each server runs on
# 127.0.0.1 with a free port and a temporary data directory and is stopped by its PID.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export COBALT_BIN="${COBALT_BIN:-$root/build/cobalt}"
case "$COBALT_BIN" in /*) ;; *) COBALT_BIN="$PWD/$COBALT_BIN" ;; esac
if [ ! -x "$COBALT_BIN" ]; then
    echo "tests/abuse: server binary $COBALT_BIN not found (build it or set COBALT_BIN)" >&2
    exit 2
fi
cd "$here"
exec /usr/bin/python3 -m pytest -q -rfEs -p no:cacheprovider "$@"
