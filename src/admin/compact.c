/*
 * compact.c -- compaction driven from outside a request: the background maintenance thread of
 * `cobalt serve` and `cobalt compact` (the passes themselves are the local engine's:
 * engine/local_maint.h).
 */
#include "admin/compact.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/local_maint.h"
#include "meta/meta.h"
#include "store/store.h"
#ifdef COBALT_FAULT_INJECTION
#include "store/faultio.h"
#endif
#include "util/clock.h"
#include "util/log.h"
#include "util/timefmt.h"

struct compactor {
    struct engine *e;
    struct meta *m;
    struct store *s;
    double threshold;
    uint64_t trigger, *freed;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stop;
};

static void *
compactor_loop(void *arg)
{
    struct compactor *c = arg;
    struct compact_stats st;
    struct timespec until;
    uint64_t seen = 0; /* the test clock's kicks this loop has acted on (util/clock.h) */
    int rc;

    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        clock_timedwait(&c->cond, &c->mu, &until, CLOCK_ROUND_COMPACT, seen);
        if (c->stop)
            continue;
        pthread_mutex_unlock(&c->mu);
        seen = clock_test_kicks(CLOCK_ROUND_COMPACT);
        /* Soft-deleted records past their retention and blobs past their expiry (the local
         * engine: one seek into its 'Z' range).  What they held is dead space: a compaction run
         * follows. */
        if (!eng_failed(c->e) && eng_purge_expired(c->e, ticks_now()) > 0)
            __atomic_add_fetch(c->freed, c->trigger, __ATOMIC_RELAXED);
        if (c->m != NULL && c->threshold > 0 &&
            __atomic_load_n(c->freed, __ATOMIC_RELAXED) >= c->trigger) {
            __atomic_store_n(c->freed, 0, __ATOMIC_RELAXED);
            if (!store_failed(c->s) && !meta_failed(c->m) &&
                (rc = compact_run(c->m, c->s, c->threshold, &st)) != 0)
                log_warn("compact: run stopped: %s", strerror(rc));
        }
        clock_test_round_done(CLOCK_ROUND_COMPACT, seen);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

struct compactor *
compactor_start(struct engine *e, struct meta *m, struct store *s, double threshold,
                uint64_t trigger, uint64_t *freed)
{
    struct compactor *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    *c = (struct compactor){.e = e,
                            .m = m,
                            .s = s,
                            .threshold = threshold,
                            .trigger = trigger,
                            .freed = freed};
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    if (pthread_create(&c->thread, NULL, compactor_loop, c) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void
compactor_stop(struct compactor *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
}

int
compact_main(int argc, char **argv)
{
    static const struct option opts[] = {{"threshold", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    struct store_config sc = {0};
    struct compact_stats st;
    struct meta *m = NULL;
    struct store *s = NULL;
    double threshold = 0.05; /* on demand: reclaim nearly everything */
    char path[4096], *end;
    int c, rc = 2;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 't')
            goto usage;
        threshold = strtod(optarg, &end);
        if (*end != '\0' || threshold < 0 || threshold > 1)
            goto usage;
    }
    if (optind != argc - 1)
        goto usage;
    snprintf(path, sizeof(path), "%s/meta", argv[optind]);
    if (meta_open(path, 1, 0, 0, &m) != 0) {
        fprintf(stderr, "compact: cannot open %s (is a server still running on it?)\n", path);
        return 2;
    }
    snprintf(path, sizeof(path), "%s/volumes", argv[optind]);
    sc.dir = path;
    sc.fsync = 1;
#ifdef COBALT_FAULT_INJECTION
    /* Test builds only (tests/crash): crashes inside an offline compaction. */
    if (getenv("COBALT_IO_FAULTS") != NULL &&
        (sc.io = faultio_setup(getenv("COBALT_IO_FAULTS"))) == NULL) {
        fprintf(stderr, "compact: cannot parse COBALT_IO_FAULTS\n");
        meta_close(m);
        return 2;
    }
#endif
    if ((rc = store_open(&sc, &s)) != 0 || (rc = compact_recover(m, s)) != 0 ||
        (rc = compact_run(m, s, threshold, &st)) != 0) {
        fprintf(stderr, "compact: %s\n", strerror(rc));
        rc = 1;
    } else {
        printf("compact: volumes=%llu needles_moved=%llu bytes_moved=%llu bytes_reclaimed=%llu\n",
               (unsigned long long)st.volumes_compacted, (unsigned long long)st.needles_moved,
               (unsigned long long)st.bytes_moved, (unsigned long long)st.bytes_reclaimed);
    }
    store_close(s);
    meta_close(m);
    return rc;
usage:
    fprintf(stderr, "usage: cobalt compact [--threshold 0..1] DATA_DIR\n");
    return 2;
}
