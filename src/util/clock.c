/*
 * clock.c -- the test clock; see clock.h for the file layout and who writes what.
 *
 * The file is attached by a constructor, before main() and before any thread exists, so every
 * subcommand and every thread sees one clock from the first tick, and main.c's options stay free of
 * a testing hook.  The page is never unmapped: it lives as long as the process.
 */
#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLICE_NS 5000000L /* how often a waiting loop looks at kicks under the test clock */

struct clock_page *clock_test_page;

int
clock_test_attach(const char *path)
{
    struct stat st;
    void *p;
    int fd, err = 0;

    if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
        return errno;
    if (fstat(fd, &st) != 0)
        err = errno;
    else if ((size_t)st.st_size < sizeof(struct clock_page))
        err = EINVAL;
    else if ((p = mmap(NULL, sizeof(struct clock_page), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                       0)) == MAP_FAILED)
        err = errno;
    else
        clock_test_page = p;
    close(fd); /* the mapping keeps the file */
    return err;
}

__attribute__((constructor)) static void
clock_test_from_env(void)
{
    const char *path = getenv("COBALT_TEST_CLOCK");
    int err;

    if (path == NULL)
        return;
    if ((err = clock_test_attach(path)) != 0) {
        fprintf(stderr, "cobalt: COBALT_TEST_CLOCK=%s: %s\n", path, strerror(err));
        exit(2);
    }
    fprintf(stderr,
            "cobalt: COBALT_TEST_CLOCK=%s: the clock and background rounds are a test "
            "harness's (testing only)\n",
            path);
}

uint64_t
clock_test_kicks(enum clock_round which)
{
    return clock_test_page ? __atomic_load_n(&clock_test_page->kicks[which], __ATOMIC_ACQUIRE) : 0;
}

void
clock_test_round_done(enum clock_round which, uint64_t seen)
{
    if (clock_test_page)
        __atomic_store_n(&clock_test_page->done[which], seen, __ATOMIC_RELEASE);
}

int
clock_timedwait(pthread_cond_t *cond, pthread_mutex_t *mu, const struct timespec *until,
                enum clock_round which, uint64_t seen)
{
    struct timespec slice;

    if (clock_test_page == NULL)
        return pthread_cond_timedwait(cond, mu, until) == ETIMEDOUT ? ETIMEDOUT : 0;
    /* Short waits until `until`, a signal or a kick: the harness cannot signal the condition. */
    for (;;) {
        if (clock_test_kicks(which) != seen)
            return ETIMEDOUT;
        clock_gettime(CLOCK_REALTIME, &slice);
        slice.tv_nsec += SLICE_NS;
        if (slice.tv_nsec >= 1000000000L) {
            slice.tv_sec++;
            slice.tv_nsec -= 1000000000L;
        }
        if (slice.tv_sec > until->tv_sec ||
            (slice.tv_sec == until->tv_sec && slice.tv_nsec >= until->tv_nsec))
            slice = *until;
        if (pthread_cond_timedwait(cond, mu, &slice) != ETIMEDOUT)
            return 0;
        if (slice.tv_sec == until->tv_sec && slice.tv_nsec == until->tv_nsec)
            return ETIMEDOUT;
    }
}
