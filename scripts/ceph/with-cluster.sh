#!/bin/bash
# scripts/ceph/with-cluster.sh -- runs a command with a throwaway cluster around it: starts one
# (scripts/ceph/start.sh, in a temp dir), exports CEPH_CONF, CEPH_DIR and CEPH_POOL, runs the
# command, stops the cluster by the PIDs it started (also when the command fails or the script is
# interrupted) and exits with the command's status.  ctest runs the RADOS engine's C tests
# through it; it is also the quickest way to try the engine by hand:
#
#   scripts/ceph/with-cluster.sh build/tests/unit/test_engine_containers rados
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -gt 0 ] || { echo "usage: with-cluster.sh COMMAND [ARGS...]" >&2; exit 2; }

DIR="$(mktemp -d "${TMPDIR:-/tmp}/cobalt-ceph.XXXXXX")"
out="$("$HERE/start.sh" "$DIR")" || { echo "with-cluster: the cluster did not start" >&2; exit 1; }
stop() { "$HERE/stop.sh" "$DIR" --kill; }
trap 'stop; exit 130' INT TERM
eval "$(echo "$out" | grep -E '^CEPH_(DIR|CONF|POOL)=' | sed 's/^/export /')"
"$@"
rc=$?
stop
exit $rc
