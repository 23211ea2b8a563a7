#!/usr/bin/env bash
# Runs every test Cobalt has, the way CI does:
#   1. scripts/deps.sh (Debian + npm packages; fast when already installed)
#   2. release build (build/, -Werror) and ASan/UBSan build (build-asan/, -Werror); the format
#      check (scripts/check-format.sh: src/ and tests/unit/ as .clang-format lays them out)
#   3. ctest in both builds (the *_rados tests each start a throwaway one-OSD Ceph cluster around
#      themselves with scripts/ceph/with-cluster.sh: ~3 s, stopped by PID)
#   4. the pytest conformance suite against the release binary (on the local engine, then on the
#      in-memory one: --backend memory, then on the RADOS one: --backend rados on a throwaway
#      cluster; and tests/rados, three gateways on one cluster, races and faults among them),
#      then against the ASan binary (set COBALT_ASAN_SKIP_HEAVY=1 to skip the large-data tests
#      there if they get slow) and the TSan binary (build-tsan/, without the large-data tests)
#   5. the JS SDK conformance suite (tests/js/*.test.mjs; tests/js/pending/ is not run) and the
#      smoke tests of the az CLI, rclone and AzCopy (release binary), on the local engine, then
#      on the RADOS one (COBALT_BACKEND=rados, one throwaway cluster for the four)
#   6. the front-door suite (tests/door: config, TLS, OAuth, roles; release and ASan binaries), the
#      HTTP abuse suite (release, ASan and TSan binaries), the bench self-test, the
#      crash/fault/bit-rot/TSan suites and a short fuzzing run (FUZZ_SECONDS per target, default 30)
# Exits non-zero if anything failed; the last line is "N passed, N failed" over everything that ran.
#
# Environment knobs: JOBS (build parallelism, default nproc), COBALT_TEST_SKIP_DEPS=1 (skip step 1).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY=/usr/bin/python3
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
LOGDIR="$(mktemp -d "${TMPDIR:-/tmp}/cobalt-test.XXXXXX")"
export PYTHONDONTWRITEBYTECODE=1
# shellcheck source=scripts/sanitizers.sh
. "$ROOT/scripts/sanitizers.sh"

TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()

hr() { printf '\n==================== %s ====================\n' "$*"; }

record() { # name passed failed seconds
    TOTAL_PASSED=$((TOTAL_PASSED + $2))
    TOTAL_FAILED=$((TOTAL_FAILED + $3))
    SUMMARY+=("$(printf '%-34s %5d passed %5d failed %6ss' "$1" "$2" "$3" "$4")")
}

# run_logged LOG TIMEOUT CMD... : runs CMD with output to the console and LOG; returns its status.
run_logged() {
    local log="$1" limit="$2"
    shift 2
    timeout --kill-after=30 "$limit" "$@" 2>&1 | tee "$log"
    return "${PIPESTATUS[0]}"
}

finish() {
    hr "summary"
    local line
    for line in "${SUMMARY[@]}"; do echo "$line"; done
    echo "logs: $LOGDIR"
    echo
    echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
    if [ "$TOTAL_FAILED" -ne 0 ] || [ "$TOTAL_PASSED" -eq 0 ]; then
        exit 1
    fi
    exit 0
}

# ------------------------------------------------------------------------------------------------
hr "dependencies"
t0=$SECONDS
if [ "${COBALT_TEST_SKIP_DEPS:-0}" = "1" ]; then
    echo "skipped (COBALT_TEST_SKIP_DEPS=1)"
elif ! bash scripts/deps.sh; then
    record "deps.sh" 0 1 $((SECONDS - t0))
    finish
fi

# ------------------------------------------------------------------------------------------------
build() { # name dir cmake-args...
    local name="$1" dir="$2"
    shift 2
    hr "build: $name"
    local t=$SECONDS
    if run_logged "$LOGDIR/build-$name.log" 1800 cmake -S . -B "$dir" "$@" &&
       run_logged "$LOGDIR/build-$name.log.2" 1800 cmake --build "$dir" -j "$JOBS"; then
        record "build $name" 1 0 $((SECONDS - t))
        return 0
    fi
    record "build $name" 0 1 $((SECONDS - t))
    return 1
}

RELEASE_OK=0
ASAN_OK=0
TSAN_OK=0
build release build -DCOBALT_WERROR=ON && RELEASE_OK=1
build asan build-asan -DCOBALT_SANITIZE=ON -DCOBALT_WERROR=ON && ASAN_OK=1
build tsan build-tsan -DCOBALT_TSAN=ON -DCOBALT_WERROR=ON && TSAN_OK=1

# ------------------------------------------------------------------------------------------------
# House style: every C file under src/ and tests/unit/ as .clang-format lays it out.
hr "format check"
t=$SECONDS
if run_logged "$LOGDIR/format.log" 300 bash scripts/check-format.sh; then
    record "format check" 1 0 $((SECONDS - t))
else
    record "format check" 0 1 $((SECONDS - t))
fi

# ------------------------------------------------------------------------------------------------
run_ctest() { # name dir
    local name="$1" dir="$2" log="$LOGDIR/ctest-$1.log"
    hr "ctest: $name"
    local t=$SECONDS rc passed failed total
    run_logged "$log" 900 ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$JOBS"
    rc=$?
    # "100% tests passed, 0 tests failed out of 12"
    failed=$(sed -n 's/.* tests passed, \([0-9]\+\) tests\? failed out of \([0-9]\+\).*/\1/p' "$log" | tail -1)
    total=$(sed -n 's/.* tests passed, \([0-9]\+\) tests\? failed out of \([0-9]\+\).*/\2/p' "$log" | tail -1)
    failed=${failed:-0}
    total=${total:-0}
    passed=$((total - failed))
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
    record "ctest $name" "$passed" "$failed" $((SECONDS - t))
}

[ $RELEASE_OK = 1 ] && run_ctest release build
[ $ASAN_OK = 1 ] && run_ctest asan build-asan
[ $TSAN_OK = 1 ] && run_ctest tsan build-tsan

# ------------------------------------------------------------------------------------------------
run_pytest() { # name binary test-dir [extra env...]
    local name="$1" bin="$2" dir="$3" log="$LOGDIR/pytest-$1.log"
    shift 3
    hr "pytest $name ($dir, $bin)"
    local t=$SECONDS rc passed failed errors summary
    run_logged "$log" 1500 env COBALT_BIN="$bin" "$@" "$PY" -m pytest "$dir" \
        -p no:cacheprovider -q -rfEs --durations=10 --junitxml="$LOGDIR/pytest-$name.xml"
    rc=$?
    # Final summary line, e.g. "3 failed, 90 passed, 2 skipped, 1 error in 312.20s (0:05:12)".
    summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error|errors|skipped|deselected)' "$log" | tail -1)
    passed=$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)
    failed=$(echo "$summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || true)
    errors=$(echo "$summary" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+' || true)
    passed=${passed:-0}
    failed=$(( ${failed:-0} + ${errors:-0} ))
    # Exit 5 = no tests collected; any non-zero exit without counted failures is still a failure.
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
    if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: treated as a failure"; fi
    record "pytest $name" "$passed" "$failed" $((SECONDS - t))
}

if [ $RELEASE_OK = 1 ]; then
    run_pytest conformance-release "$ROOT/build/cobalt" tests/conformance
    # The same suite on the in-memory engine: the handlers hold no assumption about the engine.
    run_pytest conformance-memory "$ROOT/build/cobalt" tests/conformance COBALT_BACKEND=memory \
        COBALT_SKIP_HEAVY=1
    # And on the RADOS engine: one throwaway cluster for the run, pools of its own per server
    # (tests/lib/cobalt_server.py); about 2 minutes.  The heavy tests are skipped: the two
    # large-data ones pass in 10 s, but 50,000 one-byte appends (a few ms each through RADOS on
    # one OSD) take many minutes.
    run_pytest conformance-rados "$ROOT/build/cobalt" tests/conformance COBALT_BACKEND=rados \
        COBALT_SKIP_HEAVY=1
    # Three gateways on one cluster: reads, listings and races across them, kill -9 of a gateway,
    # the OSD restarted and kept down under load (test_faults.py, about 2 minutes), fsck and gc,
    # the op counters, and a 20,000-blob container listed with markers at three page sizes (~20 s;
    # COBALT_SOAK=1 makes it 1,000,000 blobs and the fault tests a soak, run by hand).
    run_pytest rados-gateways "$ROOT/build/cobalt" tests/rados
else
    record "pytest conformance-release (no binary)" 0 1 0
fi
if [ $ASAN_OK = 1 ]; then
    run_pytest conformance-asan "$ROOT/build-asan/cobalt" tests/conformance \
        COBALT_SKIP_HEAVY="${COBALT_ASAN_SKIP_HEAVY:-0}"
else
    record "pytest conformance-asan (no binary)" 0 1 0
fi
if [ $TSAN_OK = 1 ]; then
    run_pytest conformance-tsan "$ROOT/build-tsan/cobalt" tests/conformance COBALT_SKIP_HEAVY=1
else
    record "pytest conformance-tsan (no binary)" 0 1 0
fi

# ------------------------------------------------------------------------------------------------
run_js() { # name [extra env...]
    local name="$1" t=$SECONDS log="$LOGDIR/${1// /_}.log" rc p f c
    shift
    hr "JS SDK conformance suite ($name)"
    run_logged "$log" 600 env COBALT_BIN="$ROOT/build/cobalt" "$@" node --test --test-reporter=tap \
        tests/js/*.test.mjs
    rc=$?
    p=$(sed -n 's/^# pass \([0-9]\+\)$/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^# fail \([0-9]\+\)$/\1/p' "$log" | tail -1)
    c=$(sed -n 's/^# cancelled \([0-9]\+\)$/\1/p' "$log" | tail -1)
    p=${p:-0}
    f=$(( ${f:-0} + ${c:-0} ))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ]; then f=1; fi
    record "$name" "$p" "$f" $((SECONDS - t))
}

run_smoke() { # tool name [extra env...]
    local tool="$1" name="$2" t=$SECONDS
    shift 2
    hr "$tool smoke test ($name)"
    if run_logged "$LOGDIR/${name// /_}.log" 900 env COBALT_BIN="$ROOT/build/cobalt" "$@" bash "tests/smoke/$tool.sh"; then
        record "$name" 1 0 $((SECONDS - t))
    else
        record "$name" 0 1 $((SECONDS - t))
    fi
}

if [ $RELEASE_OK = 1 ]; then
    run_js "js conformance"
    for tool in az rclone azcopy; do run_smoke "$tool" "$tool smoke"; done
    # The same clients on the RADOS engine, on one throwaway cluster (pools of their own per
    # server): the JS suite ~55 s, az ~40 s, rclone ~4 s, AzCopy ~13 s, about 2 minutes in all.
    ceph_dir="$(mktemp -d "${TMPDIR:-/tmp}/cobalt-ceph.XXXXXX")"
    if ceph_out="$(bash scripts/ceph/start.sh "$ceph_dir")"; then
        ceph_conf="$(echo "$ceph_out" | sed -n 's/^CEPH_CONF=//p')"
        run_js "js conformance rados" COBALT_BACKEND=rados CEPH_CONF="$ceph_conf"
        for tool in az rclone azcopy; do
            run_smoke "$tool" "$tool smoke rados" COBALT_BACKEND=rados CEPH_CONF="$ceph_conf"
        done
        bash scripts/ceph/stop.sh "$ceph_dir" --kill
    else
        record "ceph cluster for the clients" 0 1 0
    fi
else
    for tool in js az rclone azcopy; do record "$tool smoke (no binary)" 0 1 0; done
fi

# ------------------------------------------------------------------------------------------------
# The front door: config files, HTTPS, bearer tokens, roles, user delegation SAS, host-style URLs,
# with the SDKs and tools over TLS (tests/door).
if [ $RELEASE_OK = 1 ]; then run_pytest door-release "$ROOT/build/cobalt" tests/door
else record "pytest door-release (no binary)" 0 1 0; fi
if [ $ASAN_OK = 1 ]; then run_pytest door-asan "$ROOT/build-asan/cobalt" tests/door
else record "pytest door-asan (no binary)" 0 1 0; fi

# ------------------------------------------------------------------------------------------------
if [ -d tests/abuse ]; then
    if [ $RELEASE_OK = 1 ]; then run_pytest abuse-release "$ROOT/build/cobalt" tests/abuse
    else record "pytest abuse-release (no binary)" 0 1 0; fi
    if [ $ASAN_OK = 1 ]; then run_pytest abuse-asan "$ROOT/build-asan/cobalt" tests/abuse
    else record "pytest abuse-asan (no binary)" 0 1 0; fi
    if [ $TSAN_OK = 1 ]; then run_pytest abuse-tsan "$ROOT/build-tsan/cobalt" tests/abuse
    else record "pytest abuse-tsan (no binary)" 0 1 0; fi
fi

# run_script NAME TIMEOUT CMD... : a suite that ends with an "N passed, N failed" line.
run_script() {
    local name="$1" limit="$2" t=$SECONDS log line p f rc
    shift 2
    hr "$name"
    log="$LOGDIR/$(echo "$name" | tr ' /' '__').log"
    run_logged "$log" "$limit" "$@"
    rc=$?
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    p=$(echo "$line" | sed -n 's/^\([0-9]\+\) passed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.* \([0-9]\+\) failed.*/\1/p')
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    record "$name" "$p" "$f" $((SECONDS - t))
}

if [ -f tests/bench/bench_test.sh ]; then
    if [ $RELEASE_OK = 1 ]; then
        run_script "bench self-test" 900 bash tests/bench/bench_test.sh "$ROOT/build/cobalt"
    else
        record "bench self-test (no binary)" 0 1 0
    fi
fi

# Crash, power-loss, I/O-fault, bit-rot and TSan suites (tests/crash/run.sh --long: long mode).
if [ -x tests/crash/run.sh ]; then
    if [ $RELEASE_OK = 1 ]; then
        run_script "crash suites" 1800 env COBALT_BIN="$ROOT/build/cobalt" JOBS="$JOBS" \
            bash tests/crash/run.sh
    else
        record "crash suites (no binary)" 0 1 0
    fi
fi

# Fuzzers: replay every past crasher and the corpus, then fuzz each target briefly
# (FUZZ_SECONDS per target; tests/fuzz/run.sh --long is the long mode).
if [ -x tests/fuzz/run.sh ]; then
    run_script "fuzz" 1800 tests/fuzz/run.sh "${FUZZ_SECONDS:-30}"
fi

finish
