/*
 * test_meta_commit.c -- meta_commit (meta.c, its top comment): batches committed from many threads
 * at once, which the commit thread writes as groups, each apply whole and in order; and commits
 * from short-lived threads -- one per connection in the server -- leave RocksDB's memtable a
 * balanced skip list.  The second is counted, not timed: RocksDB's perf context counts the key
 * comparisons of one lookup, a few dozen in a skip list of 20,000 entries and thousands in one
 * that decayed into a list.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "check.h"
#include "meta/meta.h"
#include "util/arena.h"

#define WRITERS 8
#define ROUNDS  400
#define FRESH   20000 /* commits, each from a thread of its own */

static struct meta *m;

static void
key(char *k, const char *kind, unsigned a, unsigned b)
{
    snprintf(k, 32, "T%s-%05u-%05u", kind, a, b);
}

/* Writer w: ROUNDS batches of two puts (its own key, and "last" over and over) and a delete of
 * the key of two rounds back, so each batch must apply whole and after the ones before it. */
static void *
writer(void *arg)
{
    unsigned w = (unsigned)(uintptr_t)arg;
    int bad = 0;

    for (unsigned r = 0; r < ROUNDS; r++) {
        struct meta_txn *t = meta_txn_new();
        char k[32], v[32];
        key(k, "w", w, r);
        meta_txn_put(t, k, strlen(k), "x", 1);
        key(k, "last", w, 0);
        snprintf(v, sizeof(v), "%u", r);
        meta_txn_put(t, k, strlen(k), v, strlen(v));
        if (r >= 2) {
            key(k, "w", w, r - 2);
            meta_txn_delete(t, k, strlen(k));
        }
        bad |= meta_commit(m, t) != 0;
        meta_txn_free(t);
    }
    return (void *)(uintptr_t)bad;
}

static void *
fresh(void *arg)
{
    unsigned i = (unsigned)(uintptr_t)arg;
    struct meta_txn *t = meta_txn_new();
    char k[32];
    int rc;

    key(k, "f", (i * 7919u) % FRESH, 0); /* keys in scattered order */
    meta_txn_put(t, k, strlen(k), "y", 1);
    rc = meta_commit(m, t);
    meta_txn_free(t);
    return (void *)(uintptr_t)(rc != 0);
}

static int
has(const char *k, const char *want)
{
    struct arena *a = arena_new(4096);
    char *v;
    size_t vl;
    int rc = meta_get(m, k, strlen(k), a, &v, &vl);
    int ok = want == NULL ? rc == CO_ENOTFOUND
                          : rc == 0 && vl == strlen(want) && memcmp(v, want, vl) == 0;
    arena_free(a);
    return ok;
}

int
main(void)
{
    char dir[] = "/tmp/cobalt-test-meta-XXXXXX", cmd[64], k[32], v[32];
    pthread_t th[WRITERS];
    int bad = 0;

    if (mkdtemp(dir) == NULL || meta_open(dir, 0, 0, 0, &m) != 0) {
        fprintf(stderr, "cannot open a meta store in %s\n", dir);
        return 1;
    }

    /* Concurrent batches: all applied, each whole, each writer's in its order. */
    for (unsigned w = 0; w < WRITERS; w++)
        CHECK(pthread_create(&th[w], NULL, writer, (void *)(uintptr_t)w) == 0);
    for (unsigned w = 0; w < WRITERS; w++) {
        void *r;
        pthread_join(th[w], &r);
        bad |= r != NULL;
    }
    CHECK(!bad);
    for (unsigned w = 0; w < WRITERS; w++) {
        int kept = 1, gone = 1;
        for (unsigned r = 0; r < ROUNDS; r++) {
            key(k, "w", w, r);
            if (r >= ROUNDS - 2)
                kept &= has(k, "x");
            else
                gone &= has(k, NULL);
        }
        CHECK(kept);
        CHECK(gone);
        key(k, "last", w, 0);
        snprintf(v, sizeof(v), "%u", ROUNDS - 1);
        CHECK(has(k, v));
    }

    /* A thread per commit, as a connection per request makes them. */
    bad = 0;
    for (unsigned i = 0; i < FRESH && !bad; i++) {
        pthread_t t;
        void *r;
        if (pthread_create(&t, NULL, fresh, (void *)(uintptr_t)i) != 0)
            break;
        pthread_join(t, &r);
        bad |= r != NULL;
    }
    CHECK(!bad);
    {
        rocksdb_perfcontext_t *pc = rocksdb_perfcontext_create();
        uint64_t cmp;
        rocksdb_set_perf_level(rocksdb_enable_count);
        rocksdb_perfcontext_reset(pc);
        key(k, "f", FRESH / 2, 0);
        CHECK(has(k, "y"));
        cmp = rocksdb_perfcontext_metric(pc, rocksdb_user_key_comparison_count);
        rocksdb_set_perf_level(rocksdb_disable);
        rocksdb_perfcontext_destroy(pc);
        printf("one lookup among %u entries: %llu key comparisons\n", FRESH + WRITERS * 3,
               (unsigned long long)cmp);
        CHECK(cmp > 0 && cmp < 200);
    }

    meta_close(m);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_report("test_meta_commit");
}
