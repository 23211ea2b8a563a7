/*
 * test_clock.c -- the test clock (src/util/clock.c): ticks_now() follows the offset a harness
 * writes into the file, a kick ends a background wait at once, and finished rounds are reported
 * back through the file.  The file is written with pwrite(2) as another process would, never
 * through the server's mapping.
 */
#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "util/timefmt.h"

static int64_t
real_ticks(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * TICKS_PER_SEC + ts.tv_nsec / 100;
}

/* Seconds of the monotonic clock, for how long a wait took. */
static double
mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
put64(int fd, off_t off, uint64_t v)
{
    CHECK(pwrite(fd, &v, sizeof(v), off) == (ssize_t)sizeof(v));
}

static uint64_t
get64(int fd, off_t off)
{
    uint64_t v = 0;

    CHECK(pread(fd, &v, sizeof(v), off) == (ssize_t)sizeof(v));
    return v;
}

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int fd;     /* bump kicks through the file, or ... */
    int signal; /* ... signal the condition */
    int io_ok;  /* the poking thread's file I/O worked (CHECK counts on one thread only) */
};

/* Offsets in the file (clock.h). */
#define KICKS_SCRUB (8 + 8 * CLOCK_ROUND_SCRUB)
#define DONE(i)     (8 + 8 * CLOCK_ROUNDS + 8 * (i))

/* After 50 ms: a kick of the scrub loop through the file, or a signal. */
static void *
poke(void *arg)
{
    struct waiter *w = arg;

    usleep(50000);
    if (w->signal) {
        pthread_mutex_lock(&w->mu);
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->mu);
    } else {
        uint64_t v = 0;
        w->io_ok = pread(w->fd, &v, sizeof(v), KICKS_SCRUB) == (ssize_t)sizeof(v);
        v++;
        w->io_ok &= pwrite(w->fd, &v, sizeof(v), KICKS_SCRUB) == (ssize_t)sizeof(v);
    }
    return NULL;
}

/* clock_timedwait() of the scrub loop for up to `secs`, poked by another thread as `w` says; its
 * result and *took. */
static int
wait_poked(struct waiter *w, double secs, uint64_t seen, double *took)
{
    struct timespec until;
    pthread_t t;
    double t0 = mono();
    int rc;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)secs;
    until.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    CHECK(pthread_create(&t, NULL, poke, w) == 0);
    rc = clock_timedwait(&w->cond, &w->mu, &until, CLOCK_ROUND_SCRUB, seen);
    pthread_mutex_unlock(&w->mu);
    pthread_join(t, NULL);
    CHECK(w->signal || w->io_ok);
    *took = mono() - t0;
    return rc;
}

static void
test_off(void)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, -1, 1, 0};
    struct timespec until;
    double took;

    CHECK(clock_test_page == NULL);
    CHECK(clock_test_offset() == 0 && clock_test_kicks(CLOCK_ROUND_COMPACT) == 0);
    CHECK(llabs(ticks_now() - real_ticks()) < TICKS_PER_SEC);
    clock_test_round_done(CLOCK_ROUND_COMPACT, 7); /* a no-op */
    /* A plain timed wait: a signal wakes it, otherwise the deadline. */
    CHECK(wait_poked(&w, 5, 0, &took) == 0 && took < 4);
    clock_gettime(CLOCK_REALTIME, &until);
    pthread_mutex_lock(&w.mu);
    CHECK(clock_timedwait(&w.cond, &w.mu, &until, CLOCK_ROUND_SCRUB, 0) == ETIMEDOUT);
    pthread_mutex_unlock(&w.mu);
}

static void
test_attach_errors(const char *dir)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s/missing", dir);
    CHECK(clock_test_attach(path) == ENOENT);
    snprintf(path, sizeof(path), "%s/short", dir);
    CHECK((fd = open(path, O_RDWR | O_CREAT, 0600)) >= 0);
    CHECK(ftruncate(fd, sizeof(struct clock_page) - 1) == 0);
    close(fd);
    CHECK(clock_test_attach(path) == EINVAL);
    CHECK(clock_test_page == NULL);
}

static void
test_on(const char *dir)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, -1, 0, 0};
    const int64_t hour = 3600 * TICKS_PER_SEC;
    char path[4096];
    double took;
    int64_t d;

    snprintf(path, sizeof(path), "%s/clock", dir);
    CHECK((w.fd = open(path, O_RDWR | O_CREAT, 0600)) >= 0);
    CHECK(ftruncate(w.fd, 4096) == 0);
    CHECK(clock_test_attach(path) == 0);
    CHECK(clock_test_page != NULL);

    /* The offset: none yet, then an hour, then a day and an hour, 100 ns exact. */
    CHECK(llabs(ticks_now() - real_ticks()) < TICKS_PER_SEC);
    put64(w.fd, 0, (uint64_t)hour);
    CHECK(clock_test_offset() == hour);
    d = ticks_now() - real_ticks();
    CHECK(d > hour - TICKS_PER_SEC && d < hour + TICKS_PER_SEC);
    put64(w.fd, 0, (uint64_t)(25 * hour + 1));
    CHECK(clock_test_offset() == 25 * hour + 1);
    d = ticks_now() - real_ticks();
    CHECK(d > 25 * hour - TICKS_PER_SEC && d < 25 * hour + TICKS_PER_SEC);

    /* A kick ends a long wait at once, as its deadline would; a kick that came before the wait
     * (kicks no longer what the loop saw) does not wait at all. */
    CHECK(clock_test_kicks(CLOCK_ROUND_SCRUB) == 0);
    CHECK(wait_poked(&w, 30, 0, &took) == ETIMEDOUT && took < 10);
    CHECK(clock_test_kicks(CLOCK_ROUND_SCRUB) == 1);
    CHECK(clock_test_kicks(CLOCK_ROUND_COMPACT) == 0);
    pthread_mutex_lock(&w.mu);
    {
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 30;
        took = mono();
        CHECK(clock_timedwait(&w.cond, &w.mu, &until, CLOCK_ROUND_SCRUB, 0) == ETIMEDOUT);
        CHECK(mono() - took < 1);
    }
    pthread_mutex_unlock(&w.mu);
    /* A signal still wakes it (0); without either, the deadline ends it -- and another loop's
     * kick is not this one's. */
    w.signal = 1;
    CHECK(wait_poked(&w, 30, 1, &took) == 0 && took < 10);
    pthread_mutex_lock(&w.mu);
    {
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        took = mono();
        CHECK(clock_timedwait(&w.cond, &w.mu, &until, CLOCK_ROUND_COMPACT, 0) == ETIMEDOUT);
        took = mono() - took;
        CHECK(took >= 0.09 && took < 5);
    }
    pthread_mutex_unlock(&w.mu);

    /* Rounds are reported in the file, each loop in its own field. */
    clock_test_round_done(CLOCK_ROUND_COMPACT, 1);
    clock_test_round_done(CLOCK_ROUND_SCRUB, 5);
    CHECK(get64(w.fd, DONE(CLOCK_ROUND_COMPACT)) == 1 && get64(w.fd, DONE(CLOCK_ROUND_SCRUB)) == 5);
    close(w.fd);
}

int
main(void)
{
    char dir[] = "/tmp/cobalt-test-clock.XXXXXX";
    char path[4096 + 16];

    if (mkdtemp(dir) == NULL)
        return 1;
    test_off();
    test_attach_errors(dir);
    test_on(dir);
    snprintf(path, sizeof(path), "%s/short", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/clock", dir);
    unlink(path);
    rmdir(dir);
    return check_report("test_clock");
}
