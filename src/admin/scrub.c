/*
 * scrub.c -- see scrub.h.
 */
#include "admin/scrub.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/local_maint.h"
#include "meta/meta.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"

struct scrubber {
    struct meta *m;
    struct store *s;
    uint64_t rate;
    unsigned interval;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stop;
    uint64_t seen; /* test clock kicks acted on: read as the last pass began (util/clock.h) */
    /* The pass in progress. */
    uint64_t needles, bytes, damaged;
    struct timespec started;
};

/* Sleeps until `until` or until stopped; 1 if stopped.  A test harness's kick ends the nap: it
 * starts the next pass at once, and lifts the rate limit of the pass in progress. */
static int
nap(struct scrubber *c, const struct timespec *until)
{
    int stop;

    pthread_mutex_lock(&c->mu);
    while (!c->stop &&
           clock_timedwait(&c->cond, &c->mu, until, CLOCK_ROUND_SCRUB, c->seen) != ETIMEDOUT)
        ;
    stop = c->stop;
    pthread_mutex_unlock(&c->mu);
    return stop;
}

static int
scrub_one(void *ctx, const struct extent *e, const char *key, size_t klen)
{
    struct scrubber *c = ctx;
    struct timespec due;
    char why[160];
    double secs;
    int rc;

    if (e->len == 0)
        return 0;
    rc = store_verify(c->s, e, why, sizeof(why));
    c->needles++;
    c->bytes += e->len;
    metric_add(M_SCRUB_NEEDLES, 1);
    metric_add(M_SCRUB_BYTES, (int64_t)e->len);
    if (rc != 0) {
        c->damaged++;
        metric_add(M_SCRUB_DAMAGED, 1);
        log_error("scrub: %s %llu/%.*s: needle %llu in volume %u at %llu: %s",
                  key[0] == 'U' ? "staged block of" : "blob",
                  (unsigned long long)(klen >= 9 ? get_be64(key + 1) : 0),
                  (int)(klen > 9 ? (klen - 9 > 300 ? 300 : klen - 9) : 0), key + 9,
                  (unsigned long long)e->seq, e->vol, (unsigned long long)e->off,
                  rc == -EBADMSG ? why : strerror(-rc));
    }
    /* Rate limit: the pass may not get ahead of bytes / rate seconds. */
    secs = (double)c->bytes / (double)c->rate;
    due = c->started;
    due.tv_sec += (time_t)secs;
    due.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
    if (due.tv_nsec >= 1000000000L) {
        due.tv_sec++;
        due.tv_nsec -= 1000000000L;
    }
    return nap(c, &due);
}

static void *
scrub_loop(void *arg)
{
    struct scrubber *c = arg;
    struct timespec next, now;
    uint64_t records = 0;
    int rc;

    clock_gettime(CLOCK_REALTIME, &next);
    next.tv_sec += c->interval < 60 ? c->interval : 60; /* let start-up traffic settle */
    while (!nap(c, &next)) {
        c->seen = clock_test_kicks(CLOCK_ROUND_SCRUB);
        c->needles = c->bytes = c->damaged = 0;
        clock_gettime(CLOCK_REALTIME, &c->started);
        rc = compact_each_needle(c->m, c->s, &records, scrub_one, c);
        clock_gettime(CLOCK_REALTIME, &now);
        if (rc == 0 && !c->stop) {
            metric_add(M_SCRUB_PASSES, 1);
            metric_set(M_SCRUB_LAST_DAMAGED, (int64_t)c->damaged);
            metric_set(M_SCRUB_LAST_END, (int64_t)now.tv_sec);
        }
        log_info("scrub: pass %s: needles=%llu bytes=%llu damaged=%llu seconds=%ld",
                 rc != 0   ? "stopped"
                 : c->stop ? "interrupted"
                           : "done",
                 (unsigned long long)c->needles, (unsigned long long)c->bytes,
                 (unsigned long long)c->damaged, (long)(now.tv_sec - c->started.tv_sec));
        clock_test_round_done(CLOCK_ROUND_SCRUB, c->seen);
        next = c->started;
        next.tv_sec += c->interval;
    }
    return NULL;
}

struct scrubber *
scrubber_start(struct meta *m, struct store *s, uint64_t rate, unsigned interval)
{
    struct scrubber *c = calloc(1, sizeof(*c));

    if (c == NULL || rate == 0)
        return (free(c), NULL);
    c->m = m;
    c->s = s;
    c->rate = rate;
    c->interval = interval;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    if (pthread_create(&c->thread, NULL, scrub_loop, c) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void
scrubber_stop(struct scrubber *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
}
