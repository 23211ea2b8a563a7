# scripts/sanitizers.sh -- sourced by scripts/test.sh and tests/crash/run.sh: how every sanitizer
# build of Cobalt (build-asan, build-tsan, build-fuzz) behaves under test.  Values already in the
# environment win.  The test harnesses scan server logs for the reports and fail the test.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# ASan/UBSan: report every error with its stack and fail loudly.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# TSan: keep running after a report (the log is checked), and do not record the memory accesses
# that libraries built without TSan (RocksDB, libmicrohttpd, libcurl) make through libc
# interceptors: their own synchronisation is invisible to TSan, so those accesses could only yield
# false reports (tests/tsan.supp explains the RocksDB case).  Races between Cobalt's own accesses
# are all still reported.
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0 second_deadlock_stack=1 ignore_noninstrumented_modules=1 history_size=4 suppressions=$_root/tests/tsan.supp}"
unset _root
