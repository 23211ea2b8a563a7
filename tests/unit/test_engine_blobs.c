/*
 * test_engine_blobs.c -- the contract of engine.h for blob records, checked the same way against
 * every engine (the local one on RocksDB in a temp directory, the in-memory one): reads of every
 * kind of record, the compare-and-set commit and its conflicts (whole records, a lease change
 * that keeps the ETag, a check of another blob), the container check, staged blocks and their
 * drop, listings (prefix, marker, skip-past, snapshots and versions on request), the tag index
 * following the current record, soft-deleted and expiring records and their purge, WORM refusals
 * of Delete Container, pending copies failed by recovery, and Rename Container.  With a cluster at hand (CEPH_CONF set: ctest's
 * test_engine_blobs_rados starts one with scripts/ceph/with-cluster.sh) the RADOS engine too, in
 * pools of its own, and what only it has: two gateways racing on one blob's record, and listings
 * and tag walks merged across every index shard, equal to what the memory engine gives.
 */
#include "engine/engine.h"

#include <pthread.h>
#include <rados/librados.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "meta/meta.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/crc.h"
#include "util/timefmt.h"

static struct blob_rec
rec(struct engine *e, uint64_t size)
{
    struct blob_rec r;

    memset(&r, 0, sizeof(r));
    r.type = BLOB_BLOCK;
    r.size = size;
    r.created = r.modified = ticks_now();
    r.etag = eng_next_etag(e);
    r.content_type = r.content_encoding = r.content_language = r.content_disposition =
        r.cache_control = "";
    return r;
}

/* A container of account "acct", created for the test. */
static struct eng_blob
container(struct engine *e, const char *name)
{
    struct container_rec c;

    memset(&c, 0, sizeof(c));
    c.created = c.modified = ticks_now();
    c.etag = eng_next_etag(e);
    CHECK(eng_container_create(e, "acct", name, &c) == 0);
    return (struct eng_blob){"acct", name, c.id, NULL, 0};
}

static struct eng_blob
blob(struct eng_blob c, const char *name)
{
    c.name = name;
    c.nlen = strlen(name);
    return c;
}

/* Stores r as the current record of b where there was `old` (NULL: none). */
static int
put(struct engine *e, const struct eng_blob *b, const struct blob_rec *old,
    const struct blob_rec *r)
{
    return eng_blob_commit(e, b, &(struct eng_write){NULL, ENG_CURRENT, 0, old, r}, 1, NULL);
}

static void
records(struct engine *e, struct arena *a)
{
    struct eng_blob c = container(e, "records"), b = blob(c, "a/one"), gone;
    struct blob_rec r = rec(e, 5), got, r2, lost, snap;
    struct eng_entry *subs;
    size_t n;

    CHECK(eng_blob_get(e, a, &b, ENG_CURRENT, 0, &got) == CO_ENOTFOUND);
    CHECK(eng_found(&got) == NULL);
    CHECK(put(e, &b, &r, &r) == CO_ECONFLICT); /* expects a record that is not there */
    CHECK(put(e, &b, NULL, &r) == 0);
    CHECK(put(e, &b, NULL, &r) == CO_ECONFLICT); /* expects none: there is one */
    CHECK(eng_blob_get(e, a, &b, ENG_CURRENT, 0, &got) == 0);
    CHECK(eng_found(&got) != NULL && got.size == 5 && got.etag == r.etag);

    /* Two lease acquisitions read the same record; leases keep the ETag, yet only one wins. */
    r2 = lost = got;
    r2.lease.state = lost.lease.state = LEASE_LEASED;
    strcpy(r2.lease.id, "11111111-1111-1111-1111-111111111111");
    strcpy(lost.lease.id, "22222222-2222-2222-2222-222222222222");
    CHECK(put(e, &b, &got, &r2) == 0);
    CHECK(put(e, &b, &got, &lost) == CO_ECONFLICT);

    /* A snapshot and a version, in one commit with a check of the current record. */
    snap = r2;
    memset(&snap.lease, 0, sizeof(snap.lease));
    CHECK(eng_blob_commit(e, &b,
                          (struct eng_write[]){{NULL, ENG_CURRENT, 0, &r2, &r2},
                                               {NULL, ENG_SNAPSHOT, 100, NULL, &snap},
                                               {NULL, ENG_VERSION, 200, NULL, &snap}},
                          3, NULL) == 0);
    CHECK(eng_blob_get(e, a, &b, ENG_SNAPSHOT, 100, &got) == 0 && got.size == 5);
    CHECK(eng_blob_get(e, a, &b, ENG_VERSION, 200, &got) == 0);
    CHECK(eng_blob_get(e, a, &b, ENG_SNAPSHOT, 200, &got) == CO_ENOTFOUND);
    CHECK(eng_blob_subs(e, a, &b, &subs, &n) == 0 && n == 2);
    CHECK(n == 2 && subs[0].kind == ENG_SNAPSHOT && subs[0].id == 100);
    CHECK(n == 2 && subs[1].kind == ENG_VERSION && subs[1].id == 200);

    /* All or nothing: a stale write among good ones changes nothing. */
    r = rec(e, 9);
    CHECK(eng_blob_commit(e, &b,
                          (struct eng_write[]){{NULL, ENG_CURRENT, 0, &r2, &r},
                                               {NULL, ENG_SNAPSHOT, 100, &r2, NULL}},
                          2, NULL) == CO_ECONFLICT);
    CHECK(eng_blob_get(e, a, &b, ENG_CURRENT, 0, &got) == 0 && got.size == 5);

    /* A check of another blob: the commit waits on that record too. */
    gone = blob(c, "other");
    CHECK(eng_blob_commit(e, &b,
                          (struct eng_write[]){{NULL, ENG_CURRENT, 0, &r2, &r},
                                               {&gone, ENG_CURRENT, 0, &snap, &snap}},
                          2, NULL) == CO_ECONFLICT);
    CHECK(eng_blob_commit(e, &b,
                          (struct eng_write[]){{NULL, ENG_CURRENT, 0, &r2, &r},
                                               {&gone, ENG_CURRENT, 0, NULL, NULL}},
                          2, NULL) == 0);
    CHECK(eng_blob_get(e, a, &b, ENG_CURRENT, 0, &got) == 0 && got.size == 9);

    /* A removed record is gone; a container gone (or re-created) takes no writes. */
    CHECK(put(e, &b, &r, NULL) == 0);
    CHECK(eng_blob_get(e, a, &b, ENG_CURRENT, 0, &got) == CO_ENOTFOUND);
    gone = b;
    gone.cid += 1000;
    CHECK(put(e, &gone, NULL, &r) == CO_ENOCONT);
}

/* A payload of the engine's data plane holding p[0..n), written, synced and (like a request
 * after its commit) to be released by the caller. */
static struct extent
payload(struct engine *e, const char *p, size_t n)
{
    struct eng_writer *w;
    struct extent x = {0};

    CHECK(eng_data_write_begin(e, n, 0, &w) == 0 && eng_data_write(e, w, p, n) == 0 &&
          eng_data_write_finish(e, w, &x) == 0 && eng_data_sync(e, &x, 1) == 0);
    return x;
}

static void
staging(struct engine *e, struct arena *a)
{
    struct eng_blob c = container(e, "staging"), b = blob(c, "big");
    struct blob_rec u = rec(e, 0), done = rec(e, 7), got;
    struct block_ref s1 = {"QUFB", 4, payload(e, "AAA", 3)},
                     s2 = {"QkJC", 4, payload(e, "BBBB", 4)}, *list;
    size_t n;

    u.flags = BLOB_F_UNCOMMITTED;
    CHECK(eng_blob_commit(e, &b, &(struct eng_write){NULL, ENG_CURRENT, 0, NULL, &u}, 1, &s2) == 0);
    CHECK(eng_blob_commit(e, &b, &(struct eng_write){NULL, ENG_CURRENT, 0, &u, &u}, 1, &s1) == 0);
    CHECK(eng_blocks_list(e, a, &b, SIZE_MAX, &list, &n) == 0 && n == 2);
    CHECK(n == 2 && list[0].id_len == 4 && memcmp(list[0].id, "QUFB", 4) == 0); /* by id */
    CHECK(n == 2 && list[0].ext.seq == s1.ext.seq && list[1].ext.len == 4);
    CHECK(eng_blocks_list(e, a, &b, 1, &list, &n) == 0 && n == 1);
    /* Committed without the flags: the staged blocks go with that commit. */
    CHECK(put(e, &b, &u, &done) == 0);
    CHECK(eng_blocks_list(e, a, &b, SIZE_MAX, &list, &n) == 0 && n == 0);
    CHECK(eng_blob_get(e, a, &b, ENG_CURRENT, 0, &got) == 0 && got.size == 7);
    eng_data_release(e, &s1.ext);
    eng_data_release(e, &s2.ext);
}

static void
listing(struct engine *e, struct arena *a)
{
    static const char *const names[] = {"a", "a/b", "a/c/d", "a/c/e", "b"};
    struct eng_blob c = container(e, "listing");
    struct blob_rec r = rec(e, 1);
    struct eng_iter *it;
    struct eng_entry x;
    struct eng_pos from;

    for (size_t i = 0; i < 5; i++) {
        struct eng_blob b = blob(c, names[i]);
        CHECK(put(e, &b, NULL, &r) == 0);
    }
    {
        struct eng_blob b = blob(c, "a/b");
        CHECK(eng_blob_commit(e, &b, &(struct eng_write){NULL, ENG_SNAPSHOT, 5, NULL, &r}, 1,
                              NULL) == 0);
    }
    /* Prefix "a/", no snapshots: a/b, a/c/d, a/c/e. */
    CHECK(eng_blob_list(e, c.cid, "a/", 2, NULL, 0, &it) == 0);
    CHECK(eng_blob_next(it, a, &x) == 1 && x.nlen == 3 && memcmp(x.name, "a/b", 3) == 0);
    CHECK(x.kind == ENG_CURRENT);
    CHECK(eng_blob_next(it, a, &x) == 1 && x.nlen == 5 && memcmp(x.name, "a/c/d", 5) == 0);
    /* Skip past "a/c/": nothing else under the prefix. */
    CHECK(eng_iter_skip_past(it, "a/c/", 4) == 0);
    CHECK(eng_blob_next(it, a, &x) == 0);
    eng_iter_free(it);
    /* With snapshots, from the marker of a/b's snapshot: it, then a/c/d. */
    from = (struct eng_pos){"a/b", 3, ENG_SNAPSHOT, 5};
    CHECK(eng_blob_list(e, c.cid, NULL, 0, &from, ENG_LIST_SNAPSHOTS, &it) == 0);
    CHECK(eng_blob_next(it, a, &x) == 1 && x.kind == ENG_SNAPSHOT && x.id == 5);
    CHECK(eng_blob_next(it, a, &x) == 1 && x.nlen == 5 && memcmp(x.name, "a/c/d", 5) == 0);
    eng_iter_free(it);
    /* A marker before the prefix starts at the prefix. */
    from = (struct eng_pos){"a", 1, ENG_CURRENT, 0};
    CHECK(eng_blob_list(e, c.cid, "b", 1, &from, 0, &it) == 0);
    CHECK(eng_blob_next(it, a, &x) == 1 && x.nlen == 1 && x.name[0] == 'b');
    CHECK(eng_blob_next(it, a, &x) == 0);
    eng_iter_free(it);
}

static int
tag_names(struct engine *e, struct arena *a, uint64_t cid, const char *key, char *out, size_t cap)
{
    struct eng_iter *it;
    struct eng_tag_entry t;
    int n = 0, rc;

    out[0] = 0;
    CHECK(eng_tag_list(e, cid, key, NULL, 0, NULL, 0, &it) == 0);
    while ((rc = eng_tag_next(it, a, &t)) == 1) {
        strncat(out, t.value, cap - strlen(out) - 1);
        strncat(out, "=", cap - strlen(out) - 1);
        strncat(out, t.name, cap - strlen(out) - 1);
        strncat(out, ";", cap - strlen(out) - 1);
        n++;
    }
    CHECK(rc == 0);
    eng_iter_free(it);
    return n;
}

static void
tags(struct engine *e, struct arena *a)
{
    struct eng_blob c = container(e, "tags"), x = blob(c, "x"), y = blob(c, "y");
    struct meta_pair t1[] = {{"color", "red"}}, t2[] = {{"color", "blue"}, {"size", "L"}};
    struct blob_rec rx = rec(e, 1), ry = rec(e, 1), ry2, del;
    struct eng_iter *it;
    struct eng_tag_entry t;
    char got[256];

    rx.ntags = 1;
    rx.tags = t1;
    ry.ntags = 2;
    ry.tags = t2;
    CHECK(put(e, &x, NULL, &rx) == 0);
    CHECK(put(e, &y, NULL, &ry) == 0);
    CHECK(tag_names(e, a, c.cid, "color", got, sizeof(got)) == 2);
    CHECK_STR(got, "blue=y;red=x;"); /* by value, then name */
    /* Positions bound a walk: values >= "c". */
    CHECK(eng_tag_list(e, c.cid, "color", "c", 1, NULL, 0, &it) == 0);
    CHECK(eng_tag_next(it, a, &t) == 1 && strcmp(t.value, "red") == 0 && t.nlen == 1);
    CHECK(t.poslen == 5 && memcmp(t.pos, "red\0x", 5) == 0);
    CHECK(eng_tag_next(it, a, &t) == 0);
    eng_iter_free(it);
    /* Retagged: the old entry goes; soft-deleted: out of the index. */
    ry2 = ry;
    ry2.ntags = 1;
    ry2.tags = t1;
    CHECK(put(e, &y, &ry, &ry2) == 0);
    CHECK(tag_names(e, a, c.cid, "color", got, sizeof(got)) == 2);
    CHECK_STR(got, "red=x;red=y;");
    CHECK(tag_names(e, a, c.cid, "size", got, sizeof(got)) == 0);
    del = ry2;
    del.deleted = ticks_now();
    del.purge_at = del.deleted + 1;
    CHECK(put(e, &y, &ry2, &del) == 0);
    CHECK(tag_names(e, a, c.cid, "color", got, sizeof(got)) == 1);
    CHECK(put(e, &y, &del, &ry2) == 0); /* undeleted: back */
    CHECK(tag_names(e, a, c.cid, "color", got, sizeof(got)) == 2);
}

static void
purge_and_worm(struct engine *e, struct arena *a)
{
    struct eng_blob c = container(e, "worm"), b = blob(c, "held"), d = blob(c, "soft");
    struct blob_rec r = rec(e, 1), held, soft, got;
    struct container_rec cr;
    int64_t now = ticks_now();

    soft = r;
    soft.deleted = now;
    soft.purge_at = now + 10;
    CHECK(put(e, &d, NULL, &soft) == 0);
    held = r;
    held.legal_hold = 1;
    CHECK(put(e, &b, NULL, &held) == 0);
    CHECK(eng_purge_expired(e, now) >= 0);
    CHECK(eng_blob_get(e, a, &d, ENG_CURRENT, 0, &got) == 0); /* not due yet */
    CHECK(eng_purge_expired(e, now + 20) >= 1);
    CHECK(eng_blob_get(e, a, &d, ENG_CURRENT, 0, &got) == CO_ENOTFOUND);
    CHECK(eng_container_get(e, a, "acct", "worm", &cr) == 0);
    CHECK(eng_container_delete(e, "acct", "worm", &cr, NULL) == CO_EHELD);
    CHECK(put(e, &b, &held, &r) == 0); /* the hold is lifted */
    CHECK(eng_container_delete(e, "acct", "worm", &cr, NULL) == 0);
    CHECK(eng_blob_get(e, a, &b, ENG_CURRENT, 0, &got) == CO_ENOTFOUND);
}

/* A live current record with purge_at set (Set Blob Expiry) is purged at that time with what
 * follows from it -- its tag index entries and staged blocks; a moved expiry moves its purge; a
 * protected one is kept. */
static void
expiry(struct engine *e, struct arena *a)
{
    struct eng_blob c = container(e, "expiry"), x = blob(c, "x"), m = blob(c, "moved"),
                    h = blob(c, "held");
    struct meta_pair t[] = {{"color", "green"}};
    struct blob_rec r = rec(e, 3), later, held, got;
    struct block_ref s = {"QUFB", 4, payload(e, "AAA", 3)}, *list;
    int64_t now = ticks_now();
    char names[256];
    size_t n;

    r.flags = BLOB_F_STAGED;
    r.ntags = 1;
    r.tags = t;
    r.purge_at = now + 10;
    CHECK(eng_blob_commit(e, &x, &(struct eng_write){NULL, ENG_CURRENT, 0, NULL, &r}, 1, &s) == 0);
    eng_data_release(e, &s.ext); /* referenced by the staged block now */
    later = rec(e, 4);
    later.purge_at = now + 10;
    CHECK(put(e, &m, NULL, &later) == 0);
    got = later;
    later.purge_at = now + 100; /* Set Blob Expiry again */
    CHECK(put(e, &m, &got, &later) == 0);
    held = rec(e, 5);
    held.purge_at = now + 10;
    held.legal_hold = 1;
    CHECK(put(e, &h, NULL, &held) == 0);

    CHECK(eng_purge_expired(e, now) >= 0);
    CHECK(eng_blob_get(e, a, &x, ENG_CURRENT, 0, &got) == 0 && got.purge_at == now + 10);
    CHECK(tag_names(e, a, c.cid, "color", names, sizeof(names)) == 1);
    CHECK(eng_blocks_list(e, a, &x, SIZE_MAX, &list, &n) == 0 && n == 1);
    CHECK(eng_purge_expired(e, now + 20) >= 1);
    CHECK(eng_blob_get(e, a, &x, ENG_CURRENT, 0, &got) == CO_ENOTFOUND);
    CHECK(tag_names(e, a, c.cid, "color", names, sizeof(names)) == 0);
    CHECK(eng_blocks_list(e, a, &x, SIZE_MAX, &list, &n) == 0 && n == 0);
    CHECK(eng_blob_get(e, a, &m, ENG_CURRENT, 0, &got) == 0); /* its expiry moved on */
    CHECK(eng_blob_get(e, a, &h, ENG_CURRENT, 0, &got) == 0 && got.legal_hold);
    CHECK(eng_purge_expired(e, now + 200) >= 1);
    CHECK(eng_blob_get(e, a, &m, ENG_CURRENT, 0, &got) == CO_ENOTFOUND);
    CHECK(eng_blob_get(e, a, &h, ENG_CURRENT, 0, &got) == 0 && got.legal_hold);
    CHECK(put(e, &h, &got, NULL) == 0);
}

static void
copies(struct engine *e, struct arena *a)
{
    struct eng_blob c = container(e, "copies"), b = blob(c, "dest");
    struct blob_rec r = rec(e, 0), got;

    r.copy.status = COPY_PENDING;
    strcpy(r.copy.id, "c0c0c0c0-0000-0000-0000-000000000000");
    r.copy.source = r.copy.description = "";
    CHECK(put(e, &b, NULL, &r) == 0);
    CHECK(eng_copy_recover(e, "restarted") == 1);
    CHECK(eng_blob_get(e, a, &b, ENG_CURRENT, 0, &got) == 0);
    CHECK(got.copy.status == COPY_FAILED && strcmp(got.copy.description, "restarted") == 0);
    CHECK(got.etag != r.etag);
    CHECK(eng_copy_recover(e, "restarted") == 0); /* nothing pending any more */
}

/* Rename Container: the id and everything under it move to the new name; the old name is free,
 * and a blob write addressed by the old name no longer commits. */
static void
renames(struct engine *e, struct arena *a)
{
    struct eng_blob c = container(e, "before"), b = blob(c, "kept"), moved, stale;
    struct container_rec cr, other, got;
    struct blob_rec r = rec(e, 3), gr;

    container(e, "taken");
    CHECK(put(e, &b, NULL, &r) == 0);
    CHECK(eng_container_get(e, a, "acct", "before", &cr) == 0);
    CHECK(eng_container_rename(e, "acct", "before", &cr, "taken") == CO_EEXISTS);
    other = cr;
    other.etag++;
    CHECK(eng_container_rename(e, "acct", "before", &other, "after") == CO_ECONFLICT);
    CHECK(eng_container_rename(e, "acct", "before", &cr, "after") == 0);
    CHECK(eng_container_get(e, a, "acct", "before", &got) == CO_ENOTFOUND);
    CHECK(eng_container_get(e, a, "acct", "after", &got) == 0 && got.id == cr.id &&
          got.etag == cr.etag);
    moved = b;
    moved.container = "after";
    CHECK(eng_blob_get(e, a, &moved, ENG_CURRENT, 0, &gr) == 0 && gr.etag == r.etag);
    stale = blob(b, "late");
    CHECK(put(e, &stale, NULL, &r) == CO_ENOCONT);
    CHECK(eng_container_rename(e, "acct", "before", &cr, "again") == CO_ECONFLICT);
    container(e, "before"); /* the old name is free */
}

static void
contract(struct engine *e)
{
    struct arena *a = arena_new(64u << 20);

    printf("engine %s\n", e->ops->name);
    records(e, a);
    staging(e, a);
    listing(e, a);
    tags(e, a);
    purge_and_worm(e, a);
    expiry(e, a);
    copies(e, a);
    renames(e, a);
    arena_free(a);
}

/* ---- RADOS only ---------------------------------------------------------------------------- */

#define GWS               2   /* gateways: engines with connections of their own */
#define ROUNDS            200 /* race rounds */
#define RADOS_SHARDS_SEEN 16  /* the shard count of a new container (docs/rados.md) */

static pthread_barrier_t bar;

struct racer {
    struct engine *e;
    struct eng_blob c;
    int me, wins, creates, errors;
};

static void
lease_id(char *id, int me, int round)
{
    snprintf(id, 37, "%08d-0000-0000-0000-%012d", me, round);
}

/* Each round both gateways read the record, then both change its lease (the ETag stays) from what
 * they read, and both create one new name: one winner each time. */
static void *
racer(void *arg)
{
    struct racer *g = arg;
    struct eng_blob b = blob(g->c, "raced");
    struct arena *a = arena_new(64u << 20);

    for (int i = 0; i < ROUNDS; i++) {
        struct blob_rec old, next, fresh = rec(g->e, 3);
        char name[16];
        struct eng_blob n;
        int rc;
        pthread_barrier_wait(&bar);
        if (eng_blob_get(g->e, a, &b, ENG_CURRENT, 0, &old) != 0)
            g->errors++;
        pthread_barrier_wait(&bar); /* both hold the same record */
        next = old;
        next.lease.state = LEASE_LEASED;
        next.lease.duration = -1;
        lease_id(next.lease.id, g->me, i);
        rc = put(g->e, &b, &old, &next);
        g->wins += rc == 0;
        g->errors += rc != 0 && rc != CO_ECONFLICT;
        snprintf(name, sizeof(name), "new%d", i);
        n = blob(g->c, name);
        rc = put(g->e, &n, NULL, &fresh); /* If-None-Match: * */
        g->creates += rc == 0;
        g->errors += rc != 0 && rc != CO_ECONFLICT;
        pthread_barrier_wait(&bar);
        arena_free(a);
        a = arena_new(64u << 20);
    }
    arena_free(a);
    return NULL;
}

static void
race(struct engine *gw)
{
    struct arena *a = arena_new(64u << 20);
    struct eng_blob c = container(&gw[0], "race"), b = blob(c, "raced");
    struct blob_rec r = rec(&gw[0], 1), got;
    struct racer g[GWS];
    pthread_t t[GWS];
    int wins = 0, creates = 0, errors = 0, winner = -1;

    CHECK(put(&gw[0], &b, NULL, &r) == 0);
    pthread_barrier_init(&bar, NULL, GWS);
    for (int i = 0; i < GWS; i++) {
        g[i] = (struct racer){&gw[i], c, i, 0, 0, 0};
        pthread_create(&t[i], NULL, racer, &g[i]);
    }
    for (int i = 0; i < GWS; i++) {
        pthread_join(t[i], NULL);
        wins += g[i].wins;
        creates += g[i].creates;
        errors += g[i].errors;
    }
    printf("blob race: %d rounds, %d+%d lease wins, %d+%d creates\n", ROUNDS, g[0].wins, g[1].wins,
           g[0].creates, g[1].creates);
    CHECK(errors == 0);
    CHECK(wins == ROUNDS);    /* exactly one winner per round */
    CHECK(creates == ROUNDS); /* exactly one creator per name */
    CHECK(g[0].wins > 0 && g[1].wins > 0);
    CHECK(eng_blob_get(&gw[1], a, &b, ENG_CURRENT, 0, &got) == 0 && got.etag == r.etag);
    for (int i = 0; i < GWS; i++) {
        char id[37];
        lease_id(id, i, ROUNDS - 1);
        if (strcmp(got.lease.id, id) == 0)
            winner = i;
    }
    CHECK(winner >= 0); /* the last round's winner's lease is the one stored */
    pthread_barrier_destroy(&bar);
    arena_free(a);
}

/* One listing, paged `page` entries at a time from the marker of the entry after each page,
 * with a delimiter '/' after the prefix (each prefix once, then skip_past) when delim; into out. */
static void
walk(struct engine *e, uint64_t cid, const char *prefix, unsigned what, int delim, size_t page,
     struct buf *out)
{
    struct arena *a = arena_new(64u << 20);
    struct eng_pos at, *from = NULL;
    char last[256];
    size_t plen = strlen(prefix);

    for (int pages = 0; pages < 2000; pages++) { /* ends far sooner unless a marker loops */
        struct eng_iter *it;
        struct eng_entry x;
        size_t n = 0;
        int rc;
        CHECK(eng_blob_list(e, cid, prefix, plen, from, what, &it) == 0);
        while ((rc = eng_blob_next(it, a, &x)) == 1) {
            const char *slash = delim ? memchr(x.name + plen, '/', x.nlen - plen) : NULL;
            if (n == page)
                break; /* x is the next page's marker */
            if (slash != NULL) {
                buf_puts(out, "P:");
                buf_add(out, x.name, (size_t)(slash - x.name) + 1);
                buf_putc(out, '\n');
                CHECK(eng_iter_skip_past(it, x.name, (size_t)(slash - x.name) + 1) == 0);
            } else {
                buf_add(out, x.name, x.nlen);
                buf_printf(out, "|%c|%lld\n", x.kind ? x.kind : 'C', (long long)x.id);
            }
            n++;
        }
        CHECK(rc >= 0);
        eng_iter_free(it);
        if (rc != 1)
            break;
        CHECK(x.nlen < sizeof(last));
        memcpy(last, x.name, x.nlen);
        at = (struct eng_pos){last, x.nlen, x.kind, x.id};
        from = &at;
        arena_free(a);
        a = arena_new(64u << 20);
    }
    arena_free(a);
}

static void
tag_walk(struct engine *e, uint64_t cid, const char *from, size_t flen, const char *to, size_t tlen,
         struct buf *out)
{
    struct arena *a = arena_new(64u << 20);
    struct eng_iter *it;
    struct eng_tag_entry t;
    int rc;

    CHECK(eng_tag_list(e, cid, "color", from, flen, to, tlen, &it) == 0);
    while ((rc = eng_tag_next(it, a, &t)) == 1) {
        buf_printf(out, "%s=", t.value);
        buf_add(out, t.name, t.nlen);
        buf_putc(out, '\n');
    }
    CHECK(rc == 0);
    eng_iter_free(it);
    arena_free(a);
}

/* The same blobs in the RADOS engine and the memory engine, names spread over every shard: the
 * listings (prefixes, pages, markers, delimiters, snapshots and versions) and tag walks agree. */
static void
shard_merge(struct engine *rados, struct engine *mem)
{
    static const struct meta_pair red[] = {{"color", "red"}}, blue[] = {{"color", "blue"}};
    struct engine *es[2] = {rados, mem};
    struct eng_blob c[2];
    unsigned seen[RADOS_SHARDS_SEEN] = {0}, nseen = 0;
    struct buf out[2] = {BUF_INIT, BUF_INIT};
    static const struct {
        const char *prefix;
        unsigned what;
        int delim;
        size_t page;
    } walks[] = {{"", 0, 0, 13},
                 {"", ENG_LIST_SNAPSHOTS | ENG_LIST_VERSIONS, 0, 7},
                 {"", ENG_LIST_SNAPSHOTS, 1, 5},
                 {"d1", ENG_LIST_VERSIONS, 0, 1000},
                 {"d1", 0, 1, 3},
                 {"d07/", ENG_LIST_SNAPSHOTS | ENG_LIST_VERSIONS, 1, 2},
                 {"zzz", 0, 0, 10}};

    for (int i = 0; i < 2; i++)
        c[i] = container(es[i], "spread");
    for (int i = 0; i < 300; i++) {
        char name[64];
        if (i % 3 == 0)
            snprintf(name, sizeof(name), "d%02d/f%03d", i % 20, i);
        else if (i % 3 == 1)
            snprintf(name, sizeof(name), "x%03d", i);
        else
            snprintf(name, sizeof(name), i % 2 ? "esc\001%d" : "\xc3\xa9t\xc3\xa9/%d", i);
        if (!seen[crc32c(0, name, strlen(name)) % RADOS_SHARDS_SEEN]++)
            nseen++;
        for (int j = 0; j < 2; j++) {
            struct eng_blob b = blob(c[j], name);
            struct blob_rec r = rec(es[j], (uint64_t)i);
            r.etag = (uint64_t)i + 1; /* the same in both engines */
            r.created = r.modified = 1000;
            if (i % 5 == 0) {
                r.ntags = 1;
                r.tags = (struct meta_pair *)(i % 2 ? red : blue);
            }
            CHECK(put(es[j], &b, NULL, &r) == 0);
            if (i % 7 == 0)
                CHECK(eng_blob_commit(es[j], &b,
                                      (struct eng_write[]){{NULL, ENG_SNAPSHOT, 50 + i, NULL, &r},
                                                           {NULL, ENG_SNAPSHOT, 40, NULL, &r}},
                                      2, NULL) == 0);
            if (i % 11 == 0)
                CHECK(eng_blob_commit(es[j], &b,
                                      &(struct eng_write){NULL, ENG_VERSION, 9, NULL, &r}, 1,
                                      NULL) == 0);
        }
    }
    CHECK(nseen == RADOS_SHARDS_SEEN); /* every shard holds names */
    for (size_t w = 0; w < sizeof(walks) / sizeof(walks[0]); w++) {
        for (int j = 0; j < 2; j++) {
            buf_reset(&out[j]);
            walk(es[j], c[j].cid, walks[w].prefix, walks[w].what, walks[w].delim, walks[w].page,
                 &out[j]);
            CHECK(buf_ok(&out[j]));
        }
        CHECK(out[0].len == out[1].len && memcmp(out[0].p, out[1].p, out[0].len) == 0);
        CHECK(walks[w].prefix[0] == 'z' ? out[0].len == 0 : out[0].len > 0);
    }
    for (int j = 0; j < 2; j++) {
        buf_reset(&out[j]);
        tag_walk(es[j], c[j].cid, "", 0, NULL, 0, &out[j]);
        tag_walk(es[j], c[j].cid, "blue\0x", 6, "red\0d", 5, &out[j]);
        CHECK(buf_ok(&out[j]));
    }
    CHECK(out[0].len > 0 && out[0].len == out[1].len &&
          memcmp(out[0].p, out[1].p, out[0].len) == 0);
    buf_free(&out[0]);
    buf_free(&out[1]);
}

/*
 * A copy pending on one gateway is not failed by another gateway's recovery while the first one
 * lives; once it is gone (its liveness lock is released at shutdown, or runs out after a crash)
 * it is, unless it finished meanwhile.
 */
static void
copy_owners(struct engine *gw, const char *conf, const char *idx, const char *data)
{
    struct arena *a = arena_new(64u << 20);
    struct eng_blob c = container(&gw[0], "owners"), b = blob(c, "dest"), d = blob(c, "done");
    struct blob_rec r = rec(&gw[0], 0), fin, got;

    r.copy.status = COPY_PENDING;
    strcpy(r.copy.id, "c1c1c1c1-0000-0000-0000-000000000000");
    r.copy.source = r.copy.description = "";
    CHECK(put(&gw[0], &b, NULL, &r) == 0);
    CHECK(put(&gw[0], &d, NULL, &r) == 0);
    fin = r;
    fin.copy.status = COPY_SUCCESS;
    CHECK(put(&gw[0], &d, &r, &fin) == 0);             /* this one finished */
    CHECK(eng_copy_recover(&gw[1], "restarted") == 0); /* gateway 0 runs it */
    CHECK(eng_blob_get(&gw[1], a, &b, ENG_CURRENT, 0, &got) == 0);
    CHECK(got.copy.status == COPY_PENDING);
    eng_fini(&gw[0]);
    CHECK(eng_copy_recover(&gw[1], "restarted") == 1); /* gone: its copy failed */
    CHECK(eng_blob_get(&gw[1], a, &b, ENG_CURRENT, 0, &got) == 0);
    CHECK(got.copy.status == COPY_FAILED && strcmp(got.copy.description, "restarted") == 0);
    CHECK(eng_blob_get(&gw[1], a, &d, ENG_CURRENT, 0, &got) == 0);
    CHECK(got.copy.status == COPY_SUCCESS);
    CHECK(eng_copy_recover(&gw[1], "restarted") == 0);
    CHECK(eng_rados_init(&gw[0], conf, "admin", idx, data) == 0);
    arena_free(a);
}

struct fence_side {
    struct engine *e;
    struct eng_blob b;
    int rc, delay_ms;  /* the writer starts this much after the delete */
    int wins, errors;  /* the writer's held blobs committed, unexpected answers */
    volatile int done; /* the delete has answered */
};

/* Commits held blobs one after another until told the container is gone, or the delete has
 * answered (then once more). */
static void *
hold_writer(void *arg)
{
    struct fence_side *f = arg, *d = f + 1;
    struct blob_rec held = rec(f->e, 1);

    held.legal_hold = 1;
    pthread_barrier_wait(&bar);
    usleep((useconds_t)f->delay_ms * 1000);
    for (int j = 0, last = 0; j < 1000 && !last; j++) {
        char name[16];
        struct eng_blob b = f->b;
        last = __atomic_load_n(&d->done, __ATOMIC_ACQUIRE);
        snprintf(name, sizeof(name), "held%d", j);
        b.name = name;
        b.nlen = strlen(name);
        if ((f->rc = put(f->e, &b, NULL, &held)) == CO_ENOCONT)
            break;
        f->wins += f->rc == 0;
        f->errors += f->rc != 0;
    }
    return NULL;
}

static void *
deleter(void *arg)
{
    struct fence_side *f = arg;
    struct arena *a = arena_new(1u << 20);
    struct container_rec cr;

    CHECK(eng_container_get(f->e, a, "acct", f->b.container, &cr) == 0);
    pthread_barrier_wait(&bar);
    f->rc = eng_container_delete(f->e, "acct", f->b.container, &cr, NULL);
    __atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
    arena_free(a);
    return NULL;
}

/* Delete Container on one gateway while another commits blobs under a legal hold into it: either
 * a blob is committed and the delete refused, or the delete happens and no commit succeeded --
 * never a held blob deleted with its container. */
static void
fence_race(struct engine *gw)
{
    int held = 0, deleted = 0;

    pthread_barrier_init(&bar, NULL, 2);
    for (int i = 0; i < 20; i++) {
        char name[16];
        struct fence_side f[2]; /* the writer, the delete */
        pthread_t t[2];
        snprintf(name, sizeof(name), "fence%d", i);
        memset(f, 0, sizeof(f));
        f[0].e = &gw[0];
        f[0].b = blob(container(&gw[0], name), "held");
        f[0].b.container = name;
        f[0].delay_ms = i % 10;
        f[1].e = &gw[1];
        f[1].b = f[0].b;
        pthread_create(&t[0], NULL, hold_writer, &f[0]);
        pthread_create(&t[1], NULL, deleter, &f[1]);
        pthread_join(t[0], NULL);
        pthread_join(t[1], NULL);
        held += f[1].rc == CO_EHELD;
        deleted += f[1].rc == 0;
        CHECK(f[0].errors == 0);
        CHECK((f[1].rc == CO_EHELD && f[0].wins > 0) ||
              (f[1].rc == 0 && f[0].wins == 0 && f[0].rc == CO_ENOCONT));
    }
    printf("fence race: 20 rounds, %d held, %d deleted\n", held, deleted);
    CHECK(held > 0 && deleted > 0); /* both orders happened */
    pthread_barrier_destroy(&bar);
}

struct purger {
    struct engine *e;
    int64_t now;
    long n;
};

static void *
purge_thread(void *arg)
{
    struct purger *p = arg;

    pthread_barrier_wait(&bar);
    p->n = eng_purge_expired(p->e, p->now);
    return NULL;
}

/* Blob "soft<i>" of container c, its name in name[16]. */
static struct eng_blob
numbered(struct eng_blob c, char *name, int i)
{
    snprintf(name, 16, "soft%d", i);
    return blob(c, name);
}

/* Two gateways purge at once: each due soft-deleted record (current, snapshot, version) is purged
 * once; one under a legal hold is kept with its purge time moved on. */
static void
purge_race(struct engine *gw)
{
    struct arena *a = arena_new(64u << 20);
    struct eng_blob c = container(&gw[0], "purges"), h = blob(c, "held");
    struct blob_rec r = rec(&gw[0], 1), soft, held, got;
    int64_t now = ticks_now();
    struct purger p[GWS];
    pthread_t t[GWS];
    struct eng_entry *subs;
    size_t n;

    soft = r;
    soft.deleted = now;
    soft.purge_at = now + 5;
    for (int i = 0; i < 12; i++) {
        char name[16];
        struct eng_blob b = numbered(c, name, i);
        CHECK(eng_blob_commit(&gw[i % GWS], &b,
                              (struct eng_write[]){{NULL, ENG_CURRENT, 0, NULL, &soft},
                                                   {NULL, ENG_SNAPSHOT, 7, NULL, &soft},
                                                   {NULL, ENG_VERSION, 8, NULL, &soft}},
                              3, NULL) == 0);
    }
    held = soft;
    held.legal_hold = 1;
    CHECK(put(&gw[0], &h, NULL, &held) == 0);
    pthread_barrier_init(&bar, NULL, GWS);
    for (int i = 0; i < GWS; i++) {
        p[i] = (struct purger){&gw[i], now + 10, 0};
        pthread_create(&t[i], NULL, purge_thread, &p[i]);
    }
    for (int i = 0; i < GWS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&bar);
    printf("blob purge: %ld + %ld by two gateways at once\n", p[0].n, p[1].n);
    CHECK(p[0].n >= 0 && p[1].n >= 0 && p[0].n + p[1].n == 36);
    for (int i = 0; i < 12; i++) {
        char name[16];
        struct eng_blob b = numbered(c, name, i);
        CHECK(eng_blob_get(&gw[1], a, &b, ENG_CURRENT, 0, &got) == CO_ENOTFOUND);
        CHECK(eng_blob_subs(&gw[1], a, &b, &subs, &n) == 0 && n == 0);
    }
    CHECK(eng_blob_get(&gw[1], a, &h, ENG_CURRENT, 0, &got) == 0);
    CHECK(got.legal_hold && got.purge_at > now + 10); /* kept, looked at again later */
    CHECK(eng_purge_expired(&gw[1], now + 10) == 0);
    arena_free(a);
}

/* Against the cluster of $CEPH_CONF, in two fresh pools: the contract, then two gateways. */
static void
rados_checks(const char *conf)
{
    char idx[64], data[64];
    struct engine gw[GWS], mem = {0};
    rados_t cl;

    snprintf(idx, sizeof(idx), "cobalt-blobs-%d-index", (int)getpid());
    snprintf(data, sizeof(data), "cobalt-blobs-%d-data", (int)getpid());
    CHECK(rados_create2(&cl, "ceph", "client.admin", 0) == 0);
    CHECK(rados_conf_read_file(cl, conf) == 0);
    CHECK(rados_connect(cl) == 0);
    CHECK(rados_pool_create(cl, idx) == 0);
    CHECK(rados_pool_create(cl, data) == 0);
    memset(gw, 0, sizeof(gw));
    for (int i = 0; i < GWS; i++)
        CHECK(eng_rados_init(&gw[i], conf, "admin", idx, data) == 0);
    CHECK(eng_memory_init(&mem) == 0);
    if (gw[0].ops != NULL && gw[1].ops != NULL && mem.ops != NULL) {
        contract(&gw[0]);
        race(gw);
        fence_race(gw);
        purge_race(gw);
        shard_merge(&gw[1], &mem);
        copy_owners(gw, conf, idx, data);
    }
    eng_fini(&mem);
    for (int i = 0; i < GWS; i++)
        eng_fini(&gw[i]);
    rados_pool_delete(cl, idx);
    rados_pool_delete(cl, data);
    rados_shutdown(cl);
}

int
main(void)
{
    char dir[] = "/tmp/cobalt-test-engine-XXXXXX";
    char cmd[64], path[64];
    struct store_config sc = {0};
    struct engine e = {0};
    struct meta *m = NULL;
    struct store *s = NULL;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/meta", dir);
    CHECK(meta_open(path, 1, 0, 0, &m) == 0);
    snprintf(path, sizeof(path), "%s/volumes", dir);
    sc.dir = path;
    CHECK(store_open(&sc, &s) == 0);
    CHECK(eng_local_init(&e, m, s) == 0);
    contract(&e);
    eng_fini(&e);
    store_close(s);
    meta_close(m);

    CHECK(eng_memory_init(&e) == 0);
    contract(&e);
    eng_fini(&e);

    if (getenv("CEPH_CONF") != NULL)
        rados_checks(getenv("CEPH_CONF"));

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report("test_engine_blobs");
}
