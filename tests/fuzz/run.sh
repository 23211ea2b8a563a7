#!/bin/bash
# tests/fuzz/run.sh [SECONDS_PER_TARGET | --long] -- build and run every libFuzzer target.
#
# For each target (fuzz_*.c here):
#   1. replay every past crasher in crashers/<target>/ (kept forever: each one is a bug that was
#      fixed; the replay proves it stays fixed);
#   2. replay the committed seed corpus in corpus/<target>/;
#   3. fuzz for SECONDS_PER_TARGET (default 60) from the seed corpus plus whatever earlier runs
#      found (kept in $FUZZ_OUT/work/<target>, not committed), with ASan + UBSan,
#      -rss_limit_mb=2048 (memory stays bounded or the run fails).
# --long: instead of a time budget, FUZZ_LONG_RUNS executions per target (default 20,000,000,
#   i.e. 1.6 x 10^8 in total over the eight targets).  Throughput differs a lot per target: about
#   300k exec/s for fuzz_parse and fuzz_time, 100k for fuzz_codec, but 7-100k for fuzz_xml and
#   fuzz_auth once their corpora hold large inputs, so plan one to two hours on one core (run
#   targets in parallel with FUZZ_TARGETS=... in separate shells).
#
# Exit status 0 only if nothing crashed, leaked, timed out or broke a contract.  A new crash
# leaves its input in $FUZZ_OUT/artifacts/<target>/; once the bug is fixed, copy that file into
# crashers/<target>/ so it is replayed forever.
#
# Environment: FUZZ_OUT (default build-fuzz/ at the repo root), FUZZ_NO_BUILD=1 to reuse the
# binaries, CC (default clang), FUZZ_TARGETS="fuzz_auth fuzz_xml" to run a subset.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${FUZZ_OUT:-$root/build-fuzz}
secs=60
long=0
case "${1:-}" in
    --long) long=1 ;;
    "") ;;
    *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET | --long]" >&2; exit 2 ;;
    *) secs=$1 ;;
esac
runs=${FUZZ_LONG_RUNS:-20000000}
targets=${FUZZ_TARGETS:-"fuzz_parse fuzz_codec fuzz_time fuzz_xml fuzz_auth fuzz_records fuzz_query fuzz_pages"}

max_len() {
    case $1 in
        fuzz_time) echo 256 ;;
        fuzz_parse) echo 2048 ;;
        fuzz_query) echo 4096 ;;
        fuzz_pages) echo 600 ;;
        fuzz_xml) echo 65536 ;;
        *) echo 8192 ;;
    esac
}

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    "$here/build.sh" "$out" >/dev/null || { echo "fuzz build failed"; echo "0 passed, 1 failed"; exit 1; }
fi

pass=0
fail=0
total_execs=0
common="-rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1"
for t in $targets; do
    bin=$out/$t
    log=$out/logs/$t
    mkdir -p "$out/logs" "$out/artifacts/$t" "$out/work/$t" "$here/crashers/$t"

    # 1. past crashers (an empty directory passes).
    files=$(find "$here/crashers/$t" -type f ! -name '.*' ! -name '*.md' | sort)
    if [ -z "$files" ] || "$bin" $common $files >"$log.crashers" 2>&1; then
        echo "PASS $t: replayed $(echo "$files" | grep -c .) crasher(s)"
        pass=$((pass + 1))
    else
        echo "FAIL $t: a past crasher fails again (log: $log.crashers)"
        tail -30 "$log.crashers"
        fail=$((fail + 1))
    fi

    # 2. the committed corpus.
    files=$(find "$here/corpus/$t" -type f | sort)
    if "$bin" $common $files >"$log.corpus" 2>&1; then
        echo "PASS $t: replayed $(echo "$files" | grep -c .) corpus file(s)"
        pass=$((pass + 1))
    else
        echo "FAIL $t: the seed corpus fails (log: $log.corpus)"
        tail -30 "$log.corpus"
        fail=$((fail + 1))
    fi

    # 3. fuzz.
    if [ $long = 1 ]; then budget="-runs=$runs"; else budget="-max_total_time=$secs"; fi
    "$bin" $common $budget -max_len="$(max_len "$t")" -artifact_prefix="$out/artifacts/$t/" \
        "$out/work/$t" "$here/corpus/$t" >"$log.fuzz" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log.fuzz" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log.fuzz" | tail -1)
    execs=${execs:-0}
    total_execs=$((total_execs + execs))
    if [ $rc = 0 ]; then
        echo "PASS $t: fuzzed $execs executions, peak RSS ${rss:-?} MB"
        pass=$((pass + 1))
    else
        echo "FAIL $t: fuzzing found a crash after $execs executions (exit $rc; log: $log.fuzz;" \
             "input in $out/artifacts/$t/)"
        grep -m1 -A25 "ERROR\|contract violated\|==ERROR" "$log.fuzz" | head -40
        fail=$((fail + 1))
    fi
done
echo "total fuzz executions: $total_execs"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
