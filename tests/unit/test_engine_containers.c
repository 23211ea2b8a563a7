/*
 * test_engine_containers.c -- the contract of engine.h for containers and service properties,
 * checked the same way against every engine: the local one (RocksDB in a temp directory), the
 * in-memory one, and the RADOS one when a cluster is at hand (CEPH_CONF set: ctest's
 * test_engine_containers_rados starts one with scripts/ceph/with-cluster.sh), in pools of its own.
 * Create and get, compare-and-set updates and their conflicts, soft and hard
 * delete, restore and purge, listing with prefixes, markers and deleted containers, and the
 * service properties.  The WORM refusals of Delete Container need blob records, which only the
 * local engine holds so far: they are checked on it alone, with records written through meta/.
 * On RADOS, two engine instances (two gateways, each its own cluster connection) also race: on
 * one container's compare-and-set, on creating one name, and for ids and ETags.
 */
#include "engine/engine.h"

#include <pthread.h>
#include <rados/librados.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "meta/meta.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/timefmt.h"

#define DAY (86400ll * TICKS_PER_SEC)

static struct container_rec
fresh(struct engine *e, const char *mkey, const char *mval)
{
    static struct meta_pair pair;
    struct container_rec c;

    memset(&c, 0, sizeof(c));
    c.created = c.modified = ticks_now();
    c.etag = eng_next_etag(e);
    if (mkey != NULL) {
        pair.name = mkey;
        pair.value = mval;
        c.nmeta = 1;
        c.meta = &pair;
    }
    return c;
}

static void
create_get(struct engine *e, struct arena *a)
{
    struct container_rec c = fresh(e, "k", "v"), got, d;

    CHECK(eng_container_get(e, a, "acct", "one", &got) == CO_ENOTFOUND);
    CHECK(eng_container_create(e, "acct", "one", &c) == 0);
    CHECK(c.id != 0);
    CHECK(eng_container_get(e, a, "acct", "one", &got) == 0);
    CHECK(got.id == c.id && got.etag == c.etag && got.modified == c.modified);
    CHECK(got.nmeta == 1 && strcmp(got.meta[0].name, "k") == 0 &&
          strcmp(got.meta[0].value, "v") == 0);
    d = fresh(e, NULL, NULL);
    CHECK(eng_container_create(e, "acct", "one", &d) == CO_EEXISTS);
    CHECK(eng_container_get(e, a, "other", "one", &got) == CO_ENOTFOUND); /* per account */
    CHECK(eng_container_create(e, "acct", "two", &d) == 0);
    CHECK(d.id > c.id); /* ids are never reused */
}

static void
cas_update(struct engine *e, struct arena *a)
{
    struct container_rec old, c, lost, got;

    CHECK(eng_container_get(e, a, "acct", "one", &old) == 0);
    c = old;
    c.public_access = PUBLIC_BLOB;
    c.etag = eng_next_etag(e);
    CHECK(eng_container_update(e, "acct", "one", &old, &c) == 0);
    CHECK(eng_container_update(e, "acct", "one", &old, &c) == CO_ECONFLICT); /* stale */
    CHECK(eng_container_get(e, a, "acct", "one", &got) == 0);
    CHECK(got.public_access == PUBLIC_BLOB && got.etag == c.etag && got.id == old.id);

    /* Two lease acquisitions read the same record; leases keep the ETag, yet only one wins. */
    c = lost = got;
    c.lease.state = lost.lease.state = LEASE_LEASED;
    c.lease.duration = lost.lease.duration = -1;
    strcpy(c.lease.id, "11111111-1111-1111-1111-111111111111");
    strcpy(lost.lease.id, "22222222-2222-2222-2222-222222222222");
    CHECK(eng_container_update(e, "acct", "one", &got, &c) == 0);
    CHECK(eng_container_update(e, "acct", "one", &got, &lost) == CO_ECONFLICT);
    CHECK(eng_container_get(e, a, "acct", "one", &got) == 0);
    CHECK_STR(got.lease.id, "11111111-1111-1111-1111-111111111111");
    CHECK(eng_container_update(e, "acct", "nosuch", &got, &c) == CO_ECONFLICT);
}

/* The names (with "~" after a deleted one) a listing returns, space-separated, in a. */
static const char *
list(struct engine *e, struct arena *a, const char *account, const char *prefix, const char *from,
     int with_deleted)
{
    struct eng_iter *it = NULL;
    struct eng_container c;
    struct buf b = BUF_INIT;
    const char *out;
    int rc;

    CHECK(eng_container_list(e, account, prefix, from, with_deleted, &it) == 0);
    while (it != NULL && (rc = eng_container_next(it, a, &c)) == 1) {
        buf_puts(&b, b.len ? " " : "");
        buf_puts(&b, c.name);
        if (c.rec.deleted)
            buf_putc(&b, '~');
    }
    CHECK(it != NULL && rc == 0);
    eng_iter_free(it);
    out = arena_strndup(a, b.p ? b.p : "", b.len);
    buf_free(&b);
    return out;
}

static void
delete_restore_purge(struct engine *e, struct arena *a)
{
    struct container_rec old, gone, c, got;
    int64_t now = ticks_now();

    /* Soft delete: aside, listed as deleted, restorable with its id. */
    CHECK(eng_container_get(e, a, "acct", "one", &old) == 0);
    gone = old;
    gone.deleted = now;
    gone.purge_at = now + DAY;
    memset(&gone.lease, 0, sizeof(gone.lease));
    c = old;
    c.etag = eng_next_etag(e);
    CHECK(eng_container_delete(e, "acct", "one", &c, &gone) == CO_ECONFLICT); /* stale */
    CHECK(eng_container_delete(e, "acct", "one", &old, &gone) == 0);
    CHECK(eng_container_get(e, a, "acct", "one", &got) == CO_ENOTFOUND);
    CHECK_STR(list(e, a, "acct", "", "", 0), "two");
    CHECK_STR(list(e, a, "acct", "", "", 1), "one~ two");
    CHECK(eng_container_restore(e, a, "acct", "one", now + 1, "one", &got) == CO_ENOTFOUND);
    CHECK(eng_container_restore(e, a, "acct", "one", now, "two", &got) == CO_EEXISTS);
    CHECK(eng_container_restore(e, a, "acct", "one", now, "one", &got) == 0);
    CHECK(got.id == old.id && got.deleted == 0 && got.purge_at == 0 && got.etag == old.etag);
    CHECK(eng_container_get(e, a, "acct", "one", &got) == 0 && got.id == old.id);
    CHECK(eng_container_restore(e, a, "acct", "one", now, "one", &got) == CO_EEXISTS);
    CHECK_STR(list(e, a, "acct", "", "", 1), "one two");

    /* Deleted twice and re-created: live first, then the deleted ones by deletion time. */
    for (int i = 1; i <= 2; i++) {
        CHECK(eng_container_get(e, a, "acct", "one", &old) == 0);
        gone = old;
        gone.deleted = now + i;
        gone.purge_at = i == 1 ? now - 1 : now + DAY; /* the first one's retention is over */
        CHECK(eng_container_delete(e, "acct", "one", &old, &gone) == 0);
        c = fresh(e, NULL, NULL);
        CHECK(eng_container_create(e, "acct", "one", &c) == 0);
    }
    CHECK_STR(list(e, a, "acct", "", "", 1), "one one~ one~ two");
    CHECK(eng_container_restore(e, a, "acct", "one", now + 1, "back", &got) == CO_ENOTFOUND);
    CHECK(eng_purge_expired(e, ticks_now()) == 1);
    CHECK_STR(list(e, a, "acct", "", "", 1), "one one~ two");
    CHECK(eng_container_restore(e, a, "acct", "one", now + 2, "back", &got) == 0); /* renamed */
    CHECK_STR(list(e, a, "acct", "", "", 1), "back one two");

    /* Hard delete: gone, not listed, not restorable. */
    CHECK(eng_container_get(e, a, "acct", "back", &old) == 0);
    CHECK(eng_container_delete(e, "acct", "back", &old, NULL) == 0);
    CHECK(eng_container_get(e, a, "acct", "back", &got) == CO_ENOTFOUND);
    CHECK_STR(list(e, a, "acct", "", "", 1), "one two");
}

static void
listing(struct engine *e, struct arena *a)
{
    const char *names[] = {"b1", "a", "b3", "c", "b2"};
    struct container_rec c, old, gone;

    for (size_t i = 0; i < 5; i++) {
        c = fresh(e, NULL, NULL);
        CHECK(eng_container_create(e, "list", names[i], &c) == 0);
    }
    c = fresh(e, NULL, NULL);
    CHECK(eng_container_create(e, "lisu", "b0", &c) == 0); /* an account sorting right after */
    CHECK_STR(list(e, a, "list", NULL, NULL, 0), "a b1 b2 b3 c");
    CHECK_STR(list(e, a, "list", "b", "", 0), "b1 b2 b3");
    CHECK_STR(list(e, a, "list", "b", "b2", 0), "b2 b3");   /* a marker inside the prefix */
    CHECK_STR(list(e, a, "list", "b", "a", 0), "b1 b2 b3"); /* a marker before it */
    CHECK_STR(list(e, a, "list", "b", "b4", 0), "");        /* a marker past it */
    CHECK_STR(list(e, a, "list", "", "b3", 0), "b3 c");
    CHECK_STR(list(e, a, "list", "x", "", 0), "");
    CHECK_STR(list(e, a, "lis", "", "", 0), ""); /* no account prefix match */
    CHECK(eng_container_get(e, a, "list", "b2", &old) == 0);
    gone = old;
    gone.deleted = ticks_now();
    gone.purge_at = gone.deleted + DAY;
    CHECK(eng_container_delete(e, "list", "b2", &old, &gone) == 0);
    CHECK_STR(list(e, a, "list", "b", "", 0), "b1 b3");
    CHECK_STR(list(e, a, "list", "b", "b2", 1), "b2~ b3"); /* a page may start at one */
}

static void
service_props(struct engine *e, struct arena *a)
{
    struct meta_pair one[] = {{"Cors", "<Cors />"}};
    struct meta_pair two[] = {{"Cors", "<Cors />"}, {"Logging", "<Logging></Logging>"}};
    struct meta_pair *got;
    size_t n = 9;

    CHECK(eng_service_props_get(e, a, "acct", &n, &got) == 0 && n == 0);
    CHECK(eng_service_props_set(e, "acct", 1, one, 1, one) == CO_ECONFLICT);
    CHECK(eng_service_props_set(e, "acct", 0, NULL, 1, one) == 0);
    CHECK(eng_service_props_get(e, a, "acct", &n, &got) == 0 && n == 1);
    CHECK(n == 1 && strcmp(got[0].name, "Cors") == 0 && strcmp(got[0].value, "<Cors />") == 0);
    CHECK(eng_service_props_set(e, "acct", 0, NULL, 2, two) == CO_ECONFLICT); /* stale */
    CHECK(eng_service_props_set(e, "acct", n, got, 2, two) == 0);
    CHECK(eng_service_props_get(e, a, "acct", &n, &got) == 0 && n == 2);
    CHECK(n == 2 && strcmp(got[1].value, "<Logging></Logging>") == 0);
    CHECK(eng_service_props_get(e, a, "other", &n, &got) == 0 && n == 0); /* per account */
}

/* More containers than one listing round trip returns (the RADOS engine pages 256 keys), live
 * and deleted, listed whole and from a marker. */
static void
paging(struct engine *e, struct arena *a)
{
    struct eng_iter *it = NULL;
    struct eng_container got;
    struct container_rec c, old, gone;
    char name[16], last[32] = "";
    int n = 0, deleted = 0, order = 1, rc;

    for (int i = 0; i < 600; i++) {
        snprintf(name, sizeof(name), "p%04d", i);
        c = fresh(e, NULL, NULL);
        CHECK(eng_container_create(e, "page", name, &c) == 0);
        if (i % 2 == 0)
            continue;
        CHECK(eng_container_get(e, a, "page", name, &old) == 0);
        gone = old;
        gone.deleted = ticks_now();
        gone.purge_at = gone.deleted + DAY;
        CHECK(eng_container_delete(e, "page", name, &old, &gone) == 0);
    }
    CHECK(eng_container_list(e, "page", "p", "p0100", 1, &it) == 0);
    while (it != NULL && (rc = eng_container_next(it, a, &got)) == 1) {
        char key[32];
        snprintf(key, sizeof(key), "%s%c", got.name, got.rec.deleted ? '~' : ' ');
        order &= strcmp(last, key) < 0;
        snprintf(last, sizeof(last), "%s", key);
        n++;
        deleted += got.rec.deleted != 0;
    }
    CHECK(rc == 0);
    eng_iter_free(it);
    CHECK(n == 500 && deleted == 250 && order);
    CHECK_STR(last, "p0599~");
    CHECK_STR(list(e, a, "page", "p059", "p0597", 0), "p0598");
}

static void
contract(struct engine *e)
{
    struct arena *a = arena_new(64u << 20);

    printf("engine %s\n", e->ops->name);
    create_get(e, a);
    cas_update(e, a);
    delete_restore_purge(e, a);
    listing(e, a);
    paging(e, a);
    service_props(e, a);
    arena_free(a);
}

/* Puts a blob record into container cid through meta/, indexed as the api does (M4). */
static void
put_blob(struct meta *m, uint64_t cid, const char *name, int legal_hold)
{
    struct buf k = BUF_INIT, v = BUF_INIT;
    struct meta_txn *t = meta_txn_new();
    struct blob_rec b;

    memset(&b, 0, sizeof(b));
    b.type = BLOB_BLOCK;
    b.etag = 1;
    b.legal_hold = (uint8_t)legal_hold;
    meta_key_blob(&k, cid, name, strlen(name));
    meta_blob_encode(&b, &v);
    meta_txn_put(t, k.p, k.len, v.p, v.len);
    CHECK(meta_txn_index_protection(t, k.p, k.len, &b) == 0);
    CHECK(meta_commit(m, t) == 0);
    meta_txn_free(t);
    buf_free(&k);
    buf_free(&v);
}

/* Delete Container refuses while something is protected (local engine: blob records exist). */
static void
worm(struct engine *e, struct meta *m)
{
    struct arena *a = arena_new(64u << 20);
    struct container_rec c = fresh(e, NULL, NULL), old, held;

    CHECK(eng_container_create(e, "worm", "c", &c) == 0);
    put_blob(m, c.id, "held", 1);
    CHECK(eng_container_get(e, a, "worm", "c", &old) == 0);
    CHECK(eng_container_delete(e, "worm", "c", &old, NULL) == CO_EHELD); /* a record's hold */
    put_blob(m, c.id, "held", 0);
    held = old;
    held.immutable_days = 1;
    CHECK(eng_container_update(e, "worm", "c", &old, &held) == 0);
    CHECK(eng_container_delete(e, "worm", "c", &held, NULL) == CO_EPOLICY); /* its policy */
    old = held;
    held.immutable_days = 0;
    held.legal_hold = 1;
    CHECK(eng_container_update(e, "worm", "c", &old, &held) == 0);
    CHECK(eng_container_delete(e, "worm", "c", &held, NULL) == CO_EHELD); /* its own hold */
    old = held;
    held.legal_hold = 0;
    CHECK(eng_container_update(e, "worm", "c", &old, &held) == 0);
    CHECK(eng_container_delete(e, "worm", "c", &held, NULL) == 0);
    CHECK(eng_container_get(e, a, "worm", "c", &old) == CO_ENOTFOUND);
    arena_free(a);
}

/* ---- RADOS: two gateways on one cluster ------------------------------------------------- */

#define ROUNDS 200
#define GWS    2

struct gateway {
    struct engine *e;
    int me;
    int wins, creates, errors;
    uint64_t ids[ROUNDS], etags[ROUNDS * 8];
};

static pthread_barrier_t bar;

/* Lease id of gateway g in round i: each gateway's acquisition is distinguishable. */
static void
lease_id(char *out, int g, int i)
{
    snprintf(out, 37, "%08d-0000-0000-0000-%012d", g, i);
}

static void *
racer(void *arg)
{
    struct gateway *g = arg;
    struct arena *a = arena_new(64u << 20);
    char name[32];

    for (int i = 0; i < ROUNDS; i++) {
        struct container_rec old, c;
        int rc;
        /* Both read the same record, then both write: exactly one compare-and-set may win. */
        if (eng_container_get(g->e, a, "race", "c", &old) != 0)
            g->errors++;
        pthread_barrier_wait(&bar);
        c = old;
        c.lease.state = LEASE_LEASED;
        c.lease.duration = -1;
        lease_id(c.lease.id, g->me, i);
        rc = eng_container_update(g->e, "race", "c", &old, &c);
        g->wins += rc == 0;
        g->errors += rc != 0 && rc != CO_ECONFLICT;
        /* Both create one name: exactly one gets it, with an id never handed out before. */
        snprintf(name, sizeof(name), "n%d", i);
        c = fresh(g->e, NULL, NULL);
        rc = eng_container_create(g->e, "race", name, &c);
        g->creates += rc == 0;
        g->errors += rc != 0 && rc != CO_EEXISTS;
        g->ids[i] = rc == 0 ? c.id : 0;
        for (int j = 0; j < 8; j++)
            g->etags[i * 8 + j] = eng_next_etag(g->e);
        pthread_barrier_wait(&bar);
        arena_free(a);
        a = arena_new(64u << 20);
    }
    arena_free(a);
    return NULL;
}

static int
cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

    return (a > b) - (a < b);
}

/* Read-check-write with retries from both gateways at once: no update is lost. */
static void *
incrementer(void *arg)
{
    struct gateway *g = arg;
    struct arena *a = arena_new(64u << 20);
    static struct meta_pair pairs[GWS];
    char *val = NULL;

    for (int i = 0; i < ROUNDS / 2; i++) {
        for (;;) {
            struct container_rec old, c;
            int rc;
            if (eng_container_get(g->e, a, "race", "count", &old) != 0) {
                g->errors++;
                break;
            }
            c = old;
            free(val);
            if (asprintf(&val, "%ld", strtol(old.meta[0].value, NULL, 10) + 1) < 0)
                break;
            pairs[g->me].name = "n";
            pairs[g->me].value = val;
            c.meta = &pairs[g->me];
            c.etag = eng_next_etag(g->e);
            if ((rc = eng_container_update(g->e, "race", "count", &old, &c)) == 0)
                break;
            if (rc != CO_ECONFLICT) {
                g->errors++;
                break;
            }
        }
        arena_free(a);
        a = arena_new(64u << 20);
    }
    free(val);
    arena_free(a);
    return NULL;
}

static void
race(struct engine *gw)
{
    struct arena *a = arena_new(64u << 20);
    struct gateway g[GWS];
    pthread_t t[GWS];
    struct container_rec c = fresh(&gw[0], "n", "0"), got;
    static uint64_t all[GWS * ROUNDS * 8];
    int wins = 0, creates = 0, errors = 0, dup = 0, winner = -1;
    size_t n = 0;

    CHECK(eng_container_create(&gw[0], "race", "c", &c) == 0);
    c = fresh(&gw[1], "n", "0");
    CHECK(eng_container_create(&gw[1], "race", "count", &c) == 0);
    pthread_barrier_init(&bar, NULL, GWS);
    for (int i = 0; i < GWS; i++) {
        memset(&g[i], 0, sizeof(g[i]));
        g[i].e = &gw[i];
        g[i].me = i;
        pthread_create(&t[i], NULL, racer, &g[i]);
    }
    for (int i = 0; i < GWS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < GWS; i++) {
        wins += g[i].wins;
        creates += g[i].creates;
        errors += g[i].errors;
        for (int j = 0; j < ROUNDS; j++)
            if (g[i].ids[j] != 0)
                all[n++] = g[i].ids[j];
    }
    printf("race: %d rounds, %d+%d compare-and-set wins, %d+%d creates\n", ROUNDS, g[0].wins,
           g[1].wins, g[0].creates, g[1].creates);
    CHECK(errors == 0);
    CHECK(wins == ROUNDS);    /* exactly one winner per round */
    CHECK(creates == ROUNDS); /* exactly one creator per name */
    CHECK(g[0].wins > 0 && g[1].wins > 0);
    qsort(all, n, sizeof(all[0]), cmp_u64);
    for (size_t i = 1; i < n; i++)
        dup += all[i] == all[i - 1];
    CHECK(n == ROUNDS && dup == 0); /* container ids: unique across gateways */
    /* The stored lease is the last round's winner's. */
    CHECK(eng_container_get(&gw[1], a, "race", "c", &got) == 0);
    for (int i = 0; i < GWS; i++) {
        char id[37];
        lease_id(id, i, ROUNDS - 1);
        if (strcmp(got.lease.id, id) == 0)
            winner = i;
    }
    CHECK(winner >= 0);

    n = 0;
    for (int i = 0; i < GWS; i++)
        for (int j = 0; j < ROUNDS * 8; j++)
            all[n++] = g[i].etags[j];
    qsort(all, n, sizeof(all[0]), cmp_u64);
    dup = 0;
    for (size_t i = 1; i < n; i++)
        dup += all[i] == all[i - 1];
    CHECK(dup == 0); /* ETags: unique across gateways */

    for (int i = 0; i < GWS; i++)
        pthread_create(&t[i], NULL, incrementer, &g[i]);
    for (int i = 0; i < GWS; i++)
        pthread_join(t[i], NULL);
    CHECK(g[0].errors == 0 && g[1].errors == 0);
    CHECK(eng_container_get(&gw[0], a, "race", "count", &got) == 0);
    CHECK(got.nmeta == 1 && strtol(got.meta[0].value, NULL, 10) == GWS * (ROUNDS / 2));
    pthread_barrier_destroy(&bar);
    arena_free(a);
}

/* 1 when the head object of container id cid exists (docs/rados.md, cont.<cid>). */
static int
head_exists(rados_ioctx_t io, uint64_t cid)
{
    char oid[40];
    uint64_t size;
    time_t mtime;

    snprintf(oid, sizeof(oid), "cont.%016llx", (unsigned long long)cid);
    return rados_stat(io, oid, &size, &mtime) == 0;
}

struct purger {
    struct engine *e;
    long n;
};

static void *
purge_thread(void *arg)
{
    struct purger *p = arg;

    p->n = eng_purge_expired(p->e, ticks_now());
    return NULL;
}

/*
 * The purge and GC lists: two gateways purge at once and each expired container is purged once;
 * the index objects of hard-deleted and purged containers are dropped, a restored one's kept.
 */
static void
rados_lists(struct engine *gw, rados_ioctx_t io)
{
    struct arena *a = arena_new(64u << 20);
    struct container_rec c, old, gone;
    struct purger p[GWS];
    pthread_t t[GWS];
    uint64_t hard, kept, soft[20];
    int64_t deleted[21];
    char name[16];
    int alive = 0;

    c = fresh(&gw[0], NULL, NULL);
    CHECK(eng_container_create(&gw[0], "gc", "hard", &c) == 0);
    hard = c.id;
    CHECK(head_exists(io, hard));
    CHECK(eng_container_delete(&gw[0], "gc", "hard", &c, NULL) == 0);
    for (int i = 0; i < 21; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        c = fresh(&gw[i % 2], NULL, NULL);
        CHECK(eng_container_create(&gw[i % 2], "gc", name, &c) == 0);
        CHECK(eng_container_get(&gw[i % 2], a, "gc", name, &old) == 0);
        gone = old;
        gone.deleted = deleted[i] = ticks_now();
        gone.purge_at = i < 20 ? gone.deleted - 1 : gone.deleted + DAY; /* s20 is kept */
        CHECK(eng_container_delete(&gw[i % 2], "gc", name, &old, &gone) == 0);
        if (i < 20)
            soft[i] = c.id;
        else
            kept = c.id;
    }
    CHECK(eng_container_restore(&gw[1], a, "gc", "s20", deleted[20], "s20", &c) == 0);
    CHECK(eng_container_restore(&gw[1], a, "gc", "s3", deleted[3], "s3", &c) == CO_ENOTFOUND);
    for (int i = 0; i < GWS; i++) {
        p[i].e = &gw[i];
        pthread_create(&t[i], NULL, purge_thread, &p[i]);
    }
    for (int i = 0; i < GWS; i++)
        pthread_join(t[i], NULL);
    printf("purge: %ld + %ld by two gateways at once\n", p[0].n, p[1].n);
    CHECK(p[0].n >= 0 && p[1].n >= 0 && p[0].n + p[1].n == 20);
    CHECK(eng_purge_expired(&gw[0], ticks_now()) == 0); /* nothing left; GC drops what was queued */
    CHECK_STR(list(&gw[0], a, "gc", "", "", 1), "s20");
    CHECK(!head_exists(io, hard));
    for (int i = 0; i < 20; i++)
        alive += head_exists(io, soft[i]);
    CHECK(alive == 0);
    CHECK(head_exists(io, kept));
    arena_free(a);
}

/*
 * A record an older encoder wrote (version 1: no extension fields) compares equal to its decoded
 * self: an update with it as `expect` succeeds, once, instead of conflicting for ever.  Written
 * straight into the layout of docs/rados.md (key C<name> of acct.<account>).
 */
static void
old_format(struct engine *e, rados_ioctx_t io)
{
    struct arena *a = arena_new(64u << 20);
    struct container_rec c = fresh(e, "k", "v"), got, next;
    struct buf v = BUF_INIT;
    const char *keys[] = {"Cold"};
    size_t klen[] = {4};
    rados_write_op_t op = rados_create_write_op();
    const char *vals[1];

    c.id = 77;
    meta_container_encode(&c, &v); /* no extension fields: version 1 but for its first byte */
    v.p[0] = 1;
    vals[0] = v.p;
    rados_write_op_create(op, LIBRADOS_CREATE_IDEMPOTENT, NULL);
    rados_write_op_omap_set2(op, keys, vals, klen, &v.len, 1);
    CHECK(rados_write_op_operate2(op, io, "acct.fmt", NULL, 0) == 0);
    rados_release_write_op(op);
    CHECK(eng_container_get(e, a, "fmt", "old", &got) == 0 && got.id == 77 && got.nmeta == 1);
    next = got;
    next.public_access = PUBLIC_CONTAINER;
    CHECK(eng_container_update(e, "fmt", "old", &got, &next) == 0);
    CHECK(eng_container_update(e, "fmt", "old", &got, &next) == CO_ECONFLICT);
    CHECK(eng_container_get(e, a, "fmt", "old", &got) == 0 &&
          got.public_access == PUBLIC_CONTAINER);
    buf_free(&v);
    arena_free(a);
}

/* Against the cluster of $CEPH_CONF, in two fresh pools: the contract, then two gateways. */
static void
rados_checks(const char *conf)
{
    char idx[64], data[64];
    struct engine gw[GWS];
    rados_t cl;
    rados_ioctx_t io = NULL;

    snprintf(idx, sizeof(idx), "cobalt-test-%d-index", (int)getpid());
    snprintf(data, sizeof(data), "cobalt-test-%d-data", (int)getpid());
    CHECK(rados_create2(&cl, "ceph", "client.admin", 0) == 0);
    CHECK(rados_conf_read_file(cl, conf) == 0);
    CHECK(rados_connect(cl) == 0);
    CHECK(rados_pool_create(cl, idx) == 0);
    CHECK(rados_pool_create(cl, data) == 0);
    memset(gw, 0, sizeof(gw));
    for (int i = 0; i < GWS; i++)
        CHECK(eng_rados_init(&gw[i], conf, i ? "client.admin" : "admin", idx, data) == 0);
    CHECK(rados_ioctx_create(cl, idx, &io) == 0);
    if (gw[0].ops != NULL && gw[1].ops != NULL && io != NULL) {
        contract(&gw[0]);
        race(gw);
        rados_lists(gw, io);
        old_format(&gw[1], io);
    }
    if (io != NULL)
        rados_ioctx_destroy(io);
    for (int i = 0; i < GWS; i++)
        eng_fini(&gw[i]);
    CHECK(eng_rados_init(&gw[0], conf, "admin", "no-such-pool", data) == CO_EBACKEND);
    rados_pool_delete(cl, idx);
    rados_pool_delete(cl, data);
    rados_shutdown(cl);
}

int
main(void)
{
    char dir[] = "/tmp/cobalt-test-engine-XXXXXX";
    char cmd[64];
    struct engine e = {0};
    struct meta *m = NULL;

    CHECK(mkdtemp(dir) != NULL);
    CHECK(meta_open(dir, 0, 0, 0, &m) == 0);
    CHECK(eng_local_init(&e, m, NULL) == 0);
    contract(&e);
    worm(&e, m);
    eng_fini(&e);
    meta_close(m);

    CHECK(eng_memory_init(&e) == 0);
    contract(&e);
    eng_fini(&e);

    if (getenv("CEPH_CONF") != NULL)
        rados_checks(getenv("CEPH_CONF"));

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report("test_engine_containers");
}
