/*
 * clock.h -- the test clock: time and background rounds that a test harness moves from outside the
 * server process, so tests of leases, retention, rehydration and compaction wait for nothing.
 *
 * Off unless the environment variable COBALT_TEST_CLOCK names a file when the process starts;
 * production never sets it, and nothing reaches it over HTTP (it is neither an option nor a
 * header: only whoever starts the process can turn it on).  The file holds one page the server
 * maps shared, in native byte order, every field 8 bytes, naturally aligned and read or written
 * atomically:
 *
 *   offset 0   int64   offset    ticks (100 ns) added to the real clock by ticks_now(); written
 *                                by the harness, which only ever moves it forward (version and
 *                                snapshot ids must keep increasing)
 *   offset 8   uint64  kicks[CLOCK_ROUNDS]  bumped by the harness: "run a round of this
 *                                background loop now"
 *   offset 24  uint64  done[CLOCK_ROUNDS]   written by the server: the kicks value the loop had
 *                                read when its last finished round began
 *
 * So after the harness writes kicks[i] = k, done[i] >= k means a whole round of loop i ran after
 * the kick (tests/lib/cobalt_server.py, run_background_now).  The harness zeroes kicks and done
 * before it starts the process; the loops count kicks from 0, so one made before a loop's thread
 * started is not missed.  Background intervals themselves stay on the real clock: moving the
 * offset changes what time it is, not when the loops wake.
 *
 * Cost when off: ticks_now() tests one pointer; the background waits are plain timed waits.
 * When on, those waits wake every few milliseconds to look at kicks.
 */
#ifndef COBALT_CLOCK_H
#define COBALT_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* The background loops that report their rounds. */
enum clock_round {
    CLOCK_ROUND_COMPACT, /* admin/compact.c: the purge of expired soft deletes, then compaction */
    CLOCK_ROUND_SCRUB,   /* admin/scrub.c: one integrity scrub pass */
    CLOCK_ROUNDS
};

/* The mapped page; NULL when the test clock is off.  Use the functions below. */
struct clock_page {
    int64_t offset;
    uint64_t kicks[CLOCK_ROUNDS];
    uint64_t done[CLOCK_ROUNDS];
};
extern struct clock_page *clock_test_page;

/*
 * Maps the test clock file at `path` (at least sizeof(struct clock_page) bytes) and turns the test
 * clock on for the rest of the process.  Called before main() when COBALT_TEST_CLOCK is set (a
 * failure there exits with status 2); the unit tests call it directly.  0 or an errno value.
 * Not thread-safe: call before any thread reads the clock.
 */
int clock_test_attach(const char *path);

/* Ticks the test clock adds to the real one (0 when off). */
static inline int64_t
clock_test_offset(void)
{
    return clock_test_page ? __atomic_load_n(&clock_test_page->offset, __ATOMIC_RELAXED) : 0;
}

/* The harness's kicks of loop `which` (0 when off).  A loop reads it just before a round begins. */
uint64_t clock_test_kicks(enum clock_round which);

/* Reports that a round of `which`, begun when kicks was `seen`, has finished.  No-op when off. */
void clock_test_round_done(enum clock_round which, uint64_t seen);

/*
 * pthread_cond_timedwait(cond, mu, until) (CLOCK_REALTIME, mu held) in loop `which`, except that
 * under the test clock a kick -- its kicks no longer `seen` -- ends the wait as if `until` had
 * come.  Returns 0 when signalled (or woken spuriously, as pthread_cond_timedwait may be),
 * ETIMEDOUT otherwise.
 */
int clock_timedwait(pthread_cond_t *cond, pthread_mutex_t *mu, const struct timespec *until,
                    enum clock_round which, uint64_t seen);

#endif
