/*
 * test_protect.c -- the protection index and the purges (meta.h M4), on a real RocksDB in a temp
 * directory: a data directory from before the index gets it built at open; a soft-deleted blob
 * record or a soft-deleted container that still protects something is kept past its purge time
 * and purged once the protection is gone.  (The API paths cannot create a soft-deleted protected
 * record any more, so these cases -- data left by older versions -- are driven at this level.)
 */
#include "meta/meta.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/arena.h"
#include "util/buf.h"

#define T0   1000000000000000ll /* an arbitrary "now" in 100 ns ticks */
#define HOUR (3600ll * 10000000)

/* The purge's follow-up for a live record: none is ever due here, so reaching it fails the purge. */
static int
no_live_record(void *ctx, struct meta_txn *t, uint64_t cid, const char *name, size_t nlen,
               const struct blob_rec *old)
{
    (void)ctx, (void)t, (void)cid, (void)name, (void)nlen, (void)old;
    return CO_EBACKEND;
}

static void
put_blob(struct meta *m, uint64_t cid, const char *name, const struct blob_rec *b, int index)
{
    struct buf k = BUF_INIT, v = BUF_INIT, z = BUF_INIT;
    struct meta_txn *t = meta_txn_new();

    meta_key_blob(&k, cid, name, strlen(name));
    meta_blob_encode(b, &v);
    meta_txn_put(t, k.p, k.len, v.p, v.len);
    if (index)
        CHECK(meta_txn_index_protection(t, k.p, k.len, b) == 0);
    if (b->deleted) {
        meta_key_purge(&z, b->purge_at, k.p, k.len);
        meta_txn_put(t, z.p, z.len, "", 0);
    }
    CHECK(meta_commit(m, t) == 0);
    meta_txn_free(t);
    buf_free(&k);
    buf_free(&v);
    buf_free(&z);
}

/* 1 when the record exists; *b holds it (strings in a). */
static int
get_blob(struct meta *m, struct arena *a, uint64_t cid, const char *name, struct blob_rec *b)
{
    return meta_blob_get(m, a, cid, name, strlen(name), b) == 0;
}

static struct blob_rec
record(int64_t deleted, int64_t purge_at)
{
    struct blob_rec b;

    memset(&b, 0, sizeof(b));
    b.type = BLOB_BLOCK;
    b.etag = 1;
    b.created = b.modified = T0 - HOUR;
    b.deleted = deleted;
    b.purge_at = purge_at;
    return b;
}

static void
test_index_built_for_old_data(const char *dir)
{
    struct meta *m;
    struct meta_txn *t;
    struct blob_rec b = record(0, 0);
    int held = -1;

    CHECK(meta_open(dir, 1, 0, 0, &m) == 0);
    b.legal_hold = 1;
    put_blob(m, 7, "held-before-the-index", &b, 0); /* as an older version wrote it */
    t = meta_txn_new();
    meta_txn_delete(t, "Sprotect-index", 14);
    CHECK(meta_commit(m, t) == 0);
    meta_txn_free(t);
    CHECK(meta_container_protected(m, 7, T0, &held) == 0); /* not indexed yet */
    meta_close(m);

    CHECK(meta_open(dir, 1, 0, 0, &m) == 0); /* builds the index */
    CHECK(meta_container_protected(m, 7, T0, &held) == 1 && held == 1);
    CHECK(meta_container_protected(m, 8, T0, &held) == 0);
    meta_close(m);
}

static void
test_blob_purge(const char *dir)
{
    struct arena *a = arena_new(1 << 20);
    struct meta *m;
    struct blob_rec b = record(T0 - HOUR, T0), got;
    int held;

    CHECK(meta_open(dir, 1, 0, 0, &m) == 0);
    /* Held: kept, looked at again an hour later. */
    b.legal_hold = 1;
    put_blob(m, 9, "held", &b, 1);
    /* Under a policy until T0 + 5 h: kept until then. */
    b.legal_hold = 0;
    b.immutable_mode = IMMUT_LOCKED;
    b.immutable_until = T0 + 5 * HOUR;
    put_blob(m, 9, "policy", &b, 1);
    /* Its policy expired: purged, and its index entry with it. */
    b.immutable_mode = IMMUT_UNLOCKED;
    b.immutable_until = T0 - 1;
    put_blob(m, 9, "expired", &b, 1);

    CHECK(meta_purge_expired(m, T0, no_live_record, NULL) == 1);
    CHECK(!get_blob(m, a, 9, "expired", &got));
    CHECK(get_blob(m, a, 9, "held", &got) && got.deleted && got.purge_at == T0 + HOUR);
    CHECK(get_blob(m, a, 9, "policy", &got) && got.purge_at == T0 + 5 * HOUR);
    CHECK(meta_purge_expired(m, T0 + 2 * HOUR, no_live_record, NULL) ==
          0); /* still held; the policy still runs */
    CHECK(get_blob(m, a, 9, "held", &got) && got.purge_at == T0 + 3 * HOUR);
    CHECK(meta_container_protected(m, 9, T0, &held) == 1);

    /* The hold is lifted (rewritten as the API does, same purge time): purged next time. */
    got.legal_hold = 0;
    put_blob(m, 9, "held", &got, 1);
    CHECK(meta_purge_expired(m, T0 + 6 * HOUR, no_live_record, NULL) == 2);
    CHECK(!get_blob(m, a, 9, "held", &got) && !get_blob(m, a, 9, "policy", &got));
    CHECK(meta_container_protected(m, 9, T0, &held) == 0);
    meta_close(m);
    arena_free(a);
}

static void
test_container_purge(const char *dir)
{
    struct arena *a = arena_new(1 << 20);
    struct buf dk = BUF_INIT, v = BUF_INIT, z = BUF_INIT;
    struct container_rec c;
    struct meta_txn *t;
    struct meta *m;
    struct blob_rec b = record(0, 0), got;
    char *val;
    size_t vl;

    CHECK(meta_open(dir, 1, 0, 0, &m) == 0);
    /* A container soft-deleted (by an older version) with a held version inside. */
    memset(&c, 0, sizeof(c));
    c.id = 11;
    c.deleted = T0 - HOUR;
    c.purge_at = T0;
    meta_key_deleted_container(&dk, "acct", "gone", c.deleted);
    meta_container_encode(&c, &v);
    meta_key_purge(&z, c.purge_at, dk.p, dk.len);
    t = meta_txn_new();
    meta_txn_put(t, dk.p, dk.len, v.p, v.len);
    meta_txn_put(t, z.p, z.len, "", 0);
    CHECK(meta_commit(m, t) == 0);
    meta_txn_free(t);
    put_blob(m, 11, "free", &b, 1);
    b.legal_hold = 1;
    put_blob(m, 11, "evidence", &b, 1);

    CHECK(meta_purge_expired(m, T0, no_live_record, NULL) == 0);
    CHECK(meta_get(m, dk.p, dk.len, a, &val, &vl) == 0 &&
          meta_container_decode(a, val, vl, &c) == 0 && c.purge_at == T0 + HOUR);
    CHECK(get_blob(m, a, 11, "evidence", &got) && get_blob(m, a, 11, "free", &got));

    b.legal_hold = 0;
    put_blob(m, 11, "evidence", &b, 1);
    CHECK(meta_purge_expired(m, T0 + 2 * HOUR, no_live_record, NULL) == 1);
    CHECK(meta_get(m, dk.p, dk.len, a, &val, &vl) == CO_ENOTFOUND);
    CHECK(!get_blob(m, a, 11, "evidence", &got) && !get_blob(m, a, 11, "free", &got));
    meta_close(m);
    buf_free(&dk);
    buf_free(&v);
    buf_free(&z);
    arena_free(a);
}

int
main(void)
{
    char dir[] = "/tmp/cobalt-test-protect-XXXXXX";
    char cmd[64];

    CHECK(mkdtemp(dir) != NULL);
    test_index_built_for_old_data(dir);
    test_blob_purge(dir);
    test_container_purge(dir);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report("test_protect");
}
