#!/usr/bin/env bash
# tests/crash/run.sh [--long] [pytest args...] -- the crash, fault, bit-rot and TSan suites.
#
#   test_kill9.py      kill -9 under load                 short 50 cycles,  long 1,000
#   test_pages_kill9.py kill -9 under page writes,        short 12 cycles,  long 200
#                      snapshots and offline compaction
#   test_powerloss.py  simulated power loss (I/O seam)    short 300 points, long 10,000
#                      and crashes inside compaction      (every sync/unlink, each loss mode in long)
#   test_faults.py     EIO / ENOSPC / short writes on the Nth call, once and always; real ENOSPC
#                      on a 16 MiB tmpfs (needs root; skipped otherwise)
#   test_bitrot.py     flipped bits in live needles: read errors, fsck and scrub reports
#   test_tsan.py       concurrency under ThreadSanitizer (build-tsan), 0 reports
#   test_restart.py    restarts with ~1,100 volume files; dead space from before a restart
#
# Builds (incrementally) build-fault (-DCOBALT_FAULT_INJECTION=ON) and build-tsan (-DCOBALT_TSAN=ON)
# unless COBALT_CRASH_SKIP_BUILD=1; the release binary build/cobalt must exist (scripts/test.sh
# builds it).  COBALT_CRASH_SEED=N replays a run.  The last line is "N passed, N failed"; the exit
# status is non-zero on any failure.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
if [ "${1:-}" = "--long" ]; then
    export COBALT_CRASH_LONG=1
    shift
fi
export PYTHONDONTWRITEBYTECODE=1
# shellcheck source=scripts/sanitizers.sh
. "$ROOT/scripts/sanitizers.sh"
# Our own pytest temp root: other pytest runs on the machine rotate /tmp/pytest-of-$USER, and the
# data dirs and server logs of a failed crash run are the evidence (the last 3 runs are kept).
export PYTEST_DEBUG_TEMPROOT="${PYTEST_DEBUG_TEMPROOT:-${TMPDIR:-/tmp}/cobalt-crash-tmp}"
mkdir -p "$PYTEST_DEBUG_TEMPROOT"
failed_builds=0
if [ "${COBALT_CRASH_SKIP_BUILD:-0}" != "1" ]; then
    for spec in "build-fault -DCOBALT_FAULT_INJECTION=ON" "build-tsan -DCOBALT_TSAN=ON"; do
        dir=${spec%% *}
        flag=${spec#* }
        if ! { cmake -S . -B "$dir" "$flag" -DCOBALT_WERROR=ON >/dev/null &&
               cmake --build "$dir" -j "$JOBS" --target cobalt >/dev/null; }; then
            echo "build of $dir failed"
            failed_builds=$((failed_builds + 1))
        fi
    done
fi
log="$(mktemp "${TMPDIR:-/tmp}/cobalt-crash.XXXXXX.log")"
/usr/bin/python3 -m pytest tests/crash -p no:cacheprovider -q -rfEsx --durations=10 "$@" 2>&1 |
    tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error|errors|skipped|xfailed|deselected)' "$log" | tail -1)
passed=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)
xfailed=$(echo "$summary" | grep -oE '[0-9]+ xfailed' | grep -oE '[0-9]+' || true)
failed=$(echo "$summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || true)
errors=$(echo "$summary" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+' || true)
passed=$(( ${passed:-0} + ${xfailed:-0} ))
failed=$(( ${failed:-0} + ${errors:-0} + failed_builds ))
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
