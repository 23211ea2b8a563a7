/*
 * meta.c -- RocksDB behind the meta.h interface: open/options, point reads, batches, iterators,
 * locks, id generators, and the purge of soft-deleted records whose retention ended.  Record and
 * key encoding is in records.c, which has no RocksDB in it.  RocksDB errors (char **errptr) become CO_EBACKEND here and are logged and
 * freed at this boundary.
 *
 * Options: a shared 256 MiB LRU block cache with bloom filters (point reads of blob records are
 * the hot path), level compaction, and a synced WAL on every commit unless --fsync=never.
 * Commits run on one long-lived thread (committer), never on the request's own thread, and that
 * thread groups them: what queued while it wrote the last group is written next as one batch with
 * one synced WAL write, so concurrent writers share WAL fsyncs exactly like they share volume
 * fdatasyncs in store/.  Why not on the request's thread, as RocksDB's own write groups would:
 * RocksDB's memtable is a skip list whose node heights come from a thread-local generator seeded
 * with the thread's id, and the server runs a thread per connection.  glibc gives a new thread the
 * id (the stack) of one that just ended, so with a connection per request every insert drew the
 * same first heights and the skip list decayed into a linked list: each lookup, seek and insert
 * walked every entry since the last flush, and the whole server slowed in proportion to what had
 * been written (a 512-byte Put Page went from 1 to 20 ms over 75,000 writes, each a connection).
 * One thread draws one long random sequence whatever the clients' connections do; grouping
 * ourselves also spares RocksDB's leader/follower wake-ups (4 KiB PUT by 32 clients: ~15% more
 * operations per second than with RocksDB's groups, docs/benchmarks.md).
 */
#include "meta/meta.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/timefmt.h"

#define STRIPES      1024
#define BATCH_HEADER 12 /* a WriteBatch's sequence number and count */

struct commit_job {
    rocksdb_writebatch_t *wb;
    int done, failed;
    pthread_cond_t cv; /* under meta.cmu */
    struct commit_job *next;
};

struct meta {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_cache_t *cache;  /* record blocks, uncompressed: the hot ones */
    rocksdb_cache_t *zcache; /* record blocks as stored (LZ4): the rest */
    rocksdb_block_based_table_options_t *topts;
    rocksdb_filterpolicy_t *bloom; /* owned by topts once set */
    rocksdb_writeoptions_t *wopts;
    rocksdb_readoptions_t *ropts;
    pthread_rwlock_t containers;
    pthread_mutex_t stripes[STRIPES];
    pthread_mutex_t idmu;
    pthread_mutex_t cmu; /* the commit queue */
    pthread_cond_t cwork;
    struct commit_job *qhead, **qtail;
    pthread_t committer;
    int committing, cstop;
    uint64_t last_etag, last_cid;
    int failed;
    int readonly;
};

struct meta_txn {
    rocksdb_writebatch_t *wb;
};

struct meta_iter {
    rocksdb_iterator_t *it;
    rocksdb_readoptions_t *ro;
    char *upper;
};

static const char cid_key[] = "Scid";

static int
rerr(const char *what, char *err)
{
    log_error("meta: %s: %s", what, err);
    free(err);
    return CO_EBACKEND;
}

static const char protect_index_key[] = "Sprotect-index";

/*
 * M4 for a data directory written before the protection index existed: one pass over every blob
 * record, once (the marker key says it is done).  A fresh directory pays one seek.
 */
static int
protect_index_build(struct meta *m)
{
    struct meta_txn *t = NULL;
    struct meta_iter *it = NULL;
    char *err = NULL, *v;
    size_t vl, n = 0;
    int rc = CO_EBACKEND;

    v = rocksdb_get(m->db, m->ropts, protect_index_key, sizeof(protect_index_key) - 1, &vl, &err);
    if (err != NULL)
        return rerr("read protection index marker", err);
    if (v != NULL) {
        free(v);
        return 0;
    }
    if ((t = meta_txn_new()) == NULL || (it = meta_iter_new(m, "B", 1, "C", 1)) == NULL)
        goto out;
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        struct arena *a = arena_new(64u << 20);
        struct blob_rec b;
        size_t kl, bl;
        const char *k = meta_iter_key(it, &kl), *bv = meta_iter_value(it, &bl);
        int bad = a == NULL || (meta_blob_decode(a, bv, bl, &b) == 0 &&
                                meta_txn_index_protection(t, k, kl, &b) != 0);
        n += !bad && (b.legal_hold || b.immutable_mode != IMMUT_NONE);
        arena_free(a);
        if (bad)
            goto out;
    }
    if (meta_iter_status(it) != 0)
        goto out;
    meta_txn_put(t, protect_index_key, sizeof(protect_index_key) - 1, "", 0);
    if ((rc = meta_commit(m, t)) == 0 && n > 0)
        log_info("meta: protection index built: %zu protected records", n);
out:
    meta_iter_free(it);
    meta_txn_free(t);
    return rc;
}

/*
 * One group's batches as one: a WriteBatch's bytes are its WAL record -- an 8-byte sequence
 * number, a 4-byte little-endian count, then the operations -- so the operations of several,
 * one after another under the sum of their counts, are one batch that applies them in order.
 * 0; -1 when nothing was written (no memory to group them); CO_EBACKEND when RocksDB refused the
 * write, and the store is then failed.
 */
static int
write_group(struct meta *m, struct commit_job *first)
{
    rocksdb_writebatch_t *wb = first->wb;
    struct buf rep = BUF_INIT;
    uint32_t count = 0;
    char *err = NULL;

    if (first->next != NULL) {
        buf_add(&rep, "\0\0\0\0\0\0\0\0\0\0\0\0", BATCH_HEADER);
        for (struct commit_job *j = first; j != NULL; j = j->next) {
            size_t n;
            const char *d = rocksdb_writebatch_data(j->wb, &n);
            buf_add(&rep, d + BATCH_HEADER, n - BATCH_HEADER);
            count += (uint32_t)rocksdb_writebatch_count(j->wb);
        }
        if (!buf_ok(&rep)) {
            buf_free(&rep);
            log_error("meta: no memory to group commits");
            return -1;
        }
        for (int i = 0; i < 4; i++)
            rep.p[8 + i] = (char)(count >> 8 * i);
        wb = rocksdb_writebatch_create_from(rep.p, rep.len);
    }
    rocksdb_write(m->db, m->wopts, wb, &err);
    if (wb != first->wb)
        rocksdb_writebatch_destroy(wb);
    buf_free(&rep);
    if (err != NULL) {
        /* Like a failed fsync: the WAL's state is unknown, so stop acknowledging writes. */
        __atomic_store_n(&m->failed, 1, __ATOMIC_RELEASE);
        return rerr("commit (refusing writes until restart)", err);
    }
    return 0;
}

/* The commit thread (see the top of this file): applies what is queued, all of it at once,
 * until meta_close. */
static void *
committer(void *arg)
{
    struct meta *m = arg;

    pthread_setname_np(pthread_self(), "meta-commit");
    pthread_mutex_lock(&m->cmu);
    for (;;) {
        struct commit_job *first = m->qhead, *next;
        int failed;
        if (first == NULL) {
            if (m->cstop)
                break;
            pthread_cond_wait(&m->cwork, &m->cmu);
            continue;
        }
        m->qhead = NULL;
        m->qtail = &m->qhead;
        pthread_mutex_unlock(&m->cmu);
        failed = meta_failed(m) || write_group(m, first) != 0;
        pthread_mutex_lock(&m->cmu);
        for (struct commit_job *j = first; j != NULL; j = next) {
            next = j->next; /* j is gone once its waiter sees done */
            j->failed = failed;
            j->done = 1;
            pthread_cond_signal(&j->cv);
        }
    }
    pthread_mutex_unlock(&m->cmu);
    return NULL;
}

int
meta_open(const char *dir, int fsync, int readonly, size_t cache_bytes, struct meta **out)
{
    struct meta *m = calloc(1, sizeof(*m));
    char *err = NULL, *v;
    size_t vl;

    if (m == NULL)
        return CO_EBACKEND;
    pthread_rwlock_init(&m->containers, NULL);
    pthread_mutex_init(&m->idmu, NULL);
    pthread_mutex_init(&m->cmu, NULL);
    pthread_cond_init(&m->cwork, NULL);
    m->qtail = &m->qhead;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&m->stripes[i], NULL);
    m->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(m->opts, 1);
    rocksdb_options_increase_parallelism(m->opts, 2);
    rocksdb_options_set_max_open_files(m->opts, 4096);
    /* A quarter of the budget holds blocks ready to use, the rest blocks as stored: compressed,
     * twice as many records fit, and a hit there costs an LZ4 decompression of one block instead
     * of a disk read.  (RocksDB 7.8's block_cache_compressed; later releases call it a compressed
     * secondary cache.) */
    if (cache_bytes == 0)
        cache_bytes = META_CACHE_DEFAULT;
    m->cache = rocksdb_cache_create_lru(cache_bytes / 4);
    m->zcache = rocksdb_cache_create_lru(cache_bytes - cache_bytes / 4);
    m->topts = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(m->topts, m->cache);
    rocksdb_block_based_options_set_block_cache_compressed(m->topts, m->zcache);
    m->bloom = rocksdb_filterpolicy_create_bloom_full(10);
    rocksdb_block_based_options_set_filter_policy(m->topts, m->bloom);
    /* Index and bloom filter blocks stay in memory with their open tables, outside the block
     * cache, so record blocks can never evict them: a lookup costs at most one read (the record's
     * data block), never extra ones for index or filter.  They take about 2 bytes per record (a
     * 4 KiB block's index entry, 10 filter bits per key); max_open_files keeps every table open
     * up to billions of records. */
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(m->topts, 0);
    rocksdb_options_set_block_based_table_factory(m->opts, m->topts);
    rocksdb_options_set_compression(m->opts, rocksdb_lz4_compression);
    m->readonly = readonly;
    m->db = readonly ? rocksdb_open_for_read_only(m->opts, dir, 0, &err)
                     : rocksdb_open(m->opts, dir, &err);
    if (err != NULL) {
        rerr("open", err);
        meta_close(m);
        return CO_EBACKEND;
    }
    m->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(m->wopts, fsync ? 1 : 0);
    m->ropts = rocksdb_readoptions_create();
    if (pthread_create(&m->committer, NULL, committer, m) != 0) {
        log_error("meta: cannot start the commit thread");
        meta_close(m);
        return CO_EBACKEND;
    }
    m->committing = 1;
    v = rocksdb_get(m->db, m->ropts, cid_key, sizeof(cid_key) - 1, &vl, &err);
    if (err != NULL) {
        rerr("read container id", err);
        meta_close(m);
        return CO_EBACKEND;
    }
    if (v != NULL && vl == 8)
        m->last_cid = get_be64(v);
    free(v);
    if (!readonly && protect_index_build(m) != 0) {
        meta_close(m);
        return CO_EBACKEND;
    }
    m->last_etag = (uint64_t)ticks_now();
    *out = m;
    return 0;
}

void
meta_close(struct meta *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->cmu);
    m->cstop = 1;
    pthread_cond_broadcast(&m->cwork);
    pthread_mutex_unlock(&m->cmu);
    if (m->committing)
        pthread_join(m->committer, NULL);
    if (m->db != NULL && !m->readonly && !meta_failed(m)) {
        /* A clean stop leaves nothing in the WAL to replay: the next start-up is quick. */
        rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
        char *err = NULL;
        rocksdb_flushoptions_set_wait(fo, 1);
        rocksdb_flush(m->db, fo, &err);
        if (err != NULL)
            rerr("flush at close", err);
        rocksdb_flushoptions_destroy(fo);
    }
    if (m->db != NULL)
        rocksdb_close(m->db);
    if (m->wopts != NULL)
        rocksdb_writeoptions_destroy(m->wopts);
    if (m->ropts != NULL)
        rocksdb_readoptions_destroy(m->ropts);
    rocksdb_options_destroy(m->opts);
    rocksdb_block_based_options_destroy(m->topts);
    rocksdb_cache_destroy(m->cache);
    rocksdb_cache_destroy(m->zcache);
    pthread_rwlock_destroy(&m->containers);
    pthread_cond_destroy(&m->cwork);
    pthread_mutex_destroy(&m->cmu);
    free(m);
}

int
meta_failed(const struct meta *m)
{
    return __atomic_load_n(&m->failed, __ATOMIC_ACQUIRE);
}

int
meta_get(struct meta *m, const void *key, size_t klen, struct arena *a, char **val, size_t *len)
{
    char *err = NULL, *v;
    size_t vl;

    v = rocksdb_get(m->db, m->ropts, key, klen, &vl, &err);
    if (err != NULL)
        return rerr("get", err);
    if (v == NULL)
        return CO_ENOTFOUND;
    *val = arena_strndup(a, v, vl);
    free(v);
    if (*val == NULL)
        return CO_EBACKEND;
    *len = vl;
    return 0;
}

struct meta_txn *
meta_txn_new(void)
{
    struct meta_txn *t = malloc(sizeof(*t));

    if (t != NULL)
        t->wb = rocksdb_writebatch_create();
    return t;
}

void
meta_txn_free(struct meta_txn *t)
{
    if (t == NULL)
        return;
    rocksdb_writebatch_destroy(t->wb);
    free(t);
}

void
meta_txn_put(struct meta_txn *t, const void *k, size_t kl, const void *v, size_t vl)
{
    rocksdb_writebatch_put(t->wb, k, kl, v, vl);
}

void
meta_txn_delete(struct meta_txn *t, const void *k, size_t kl)
{
    rocksdb_writebatch_delete(t->wb, k, kl);
}

void
meta_txn_delete_range(struct meta_txn *t, const void *from, size_t fl, const void *to, size_t tl)
{
    rocksdb_writebatch_delete_range(t->wb, from, fl, to, tl);
}

int
meta_commit(struct meta *m, struct meta_txn *t)
{
    struct commit_job j = {.wb = t->wb};

    if (meta_failed(m))
        return CO_EBACKEND;
    pthread_cond_init(&j.cv, NULL);
    pthread_mutex_lock(&m->cmu);
    if (m->cstop) { /* closing: nothing would apply it */
        pthread_mutex_unlock(&m->cmu);
        pthread_cond_destroy(&j.cv);
        return CO_EBACKEND;
    }
    *m->qtail = &j;
    m->qtail = &j.next;
    pthread_cond_signal(&m->cwork);
    while (!j.done)
        pthread_cond_wait(&j.cv, &m->cmu);
    pthread_mutex_unlock(&m->cmu);
    pthread_cond_destroy(&j.cv);
    return j.failed ? CO_EBACKEND : 0;
}

struct meta_iter *
meta_iter_new(struct meta *m, const void *lower, size_t ll, const void *upper, size_t ul)
{
    struct meta_iter *it = calloc(1, sizeof(*it));

    if (it == NULL || (it->upper = malloc(ul ? ul : 1)) == NULL) {
        free(it);
        return NULL;
    }
    memcpy(it->upper, upper, ul);
    it->ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(it->ro, it->upper, ul);
    it->it = rocksdb_create_iterator(m->db, it->ro);
    rocksdb_iter_seek(it->it, lower, ll);
    return it;
}

void
meta_iter_free(struct meta_iter *it)
{
    if (it == NULL)
        return;
    rocksdb_iter_destroy(it->it);
    rocksdb_readoptions_destroy(it->ro);
    free(it->upper);
    free(it);
}

void
meta_iter_seek(struct meta_iter *it, const void *k, size_t kl)
{
    rocksdb_iter_seek(it->it, k, kl);
}

int
meta_iter_valid(struct meta_iter *it)
{
    return rocksdb_iter_valid(it->it);
}

void
meta_iter_next(struct meta_iter *it)
{
    rocksdb_iter_next(it->it);
}

const char *
meta_iter_key(struct meta_iter *it, size_t *len)
{
    return rocksdb_iter_key(it->it, len);
}

const char *
meta_iter_value(struct meta_iter *it, size_t *len)
{
    return rocksdb_iter_value(it->it, len);
}

int
meta_iter_status(struct meta_iter *it)
{
    char *err = NULL;

    rocksdb_iter_get_error(it->it, &err);
    return err != NULL ? rerr("iterate", err) : 0;
}

void
meta_containers_rdlock(struct meta *m)
{
    pthread_rwlock_rdlock(&m->containers);
}

void
meta_containers_wrlock(struct meta *m)
{
    pthread_rwlock_wrlock(&m->containers);
}

void
meta_containers_unlock(struct meta *m)
{
    pthread_rwlock_unlock(&m->containers);
}

unsigned
meta_blob_stripe(uint64_t cid, const char *name, size_t nlen)
{
    uint64_t h = 1469598103934665603ull ^ cid; /* FNV-1a */

    for (size_t i = 0; i < nlen; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
    return (unsigned)(h % STRIPES);
}

void
meta_stripe_lock(struct meta *m, unsigned stripe)
{
    pthread_mutex_lock(&m->stripes[stripe]);
}

void
meta_stripe_unlock(struct meta *m, unsigned stripe)
{
    pthread_mutex_unlock(&m->stripes[stripe]);
}

uint64_t
meta_next_etag(struct meta *m)
{
    uint64_t now = (uint64_t)ticks_now(), v;

    pthread_mutex_lock(&m->idmu);
    v = m->last_etag = now > m->last_etag ? now : m->last_etag + 1;
    pthread_mutex_unlock(&m->idmu);
    return v;
}

uint64_t
meta_next_container_id(struct meta *m, struct meta_txn *t)
{
    unsigned char v[8];
    uint64_t id;

    pthread_mutex_lock(&m->idmu);
    id = ++m->last_cid;
    pthread_mutex_unlock(&m->idmu);
    put_be64(v, id);
    meta_txn_put(t, cid_key, sizeof(cid_key) - 1, v, 8);
    return id;
}

int
meta_txn_drop_container(struct meta_txn *t, uint64_t cid)
{
    void (*ranges[4])(struct buf *, struct buf *, uint64_t) = {
        meta_key_blob_range, meta_key_block_all, meta_key_tag_all, meta_key_protect_all};
    int ok = 1;

    for (int i = 0; i < 4 && ok; i++) {
        struct buf lo = BUF_INIT, hi = BUF_INIT;
        ranges[i](&lo, &hi, cid);
        if ((ok = buf_ok(&lo) && buf_ok(&hi)))
            meta_txn_delete_range(t, lo.p, lo.len, hi.p, hi.len);
        buf_free(&lo);
        buf_free(&hi);
    }
    return ok ? 0 : -1;
}

/* Reads and decodes the record at key into a fresh arena (*a, freed by the caller): 0,
 * CO_ENOTFOUND or CO_EBACKEND. */
static int
get_blob_scratch(struct meta *m, const char *key, size_t kl, struct arena **a, struct blob_rec *b)
{
    char *v;
    size_t vl;
    int rc;

    if ((*a = arena_new(64u << 20)) == NULL)
        return CO_EBACKEND;
    rc = meta_get(m, key, kl, *a, &v, &vl);
    if (rc == 0 && meta_blob_decode(*a, v, vl, b) != 0)
        rc = CO_EBACKEND;
    return rc;
}

int
meta_container_protected(struct meta *m, uint64_t cid, int64_t now, int *held)
{
    struct buf lo = BUF_INIT, hi = BUF_INIT, k = BUF_INIT;
    struct meta_iter *it = NULL;
    int rc = CO_EBACKEND, found = 0;

    meta_key_protect_all(&lo, &hi, cid);
    if (!buf_ok(&lo) || !buf_ok(&hi) || (it = meta_iter_new(m, lo.p, lo.len, hi.p, hi.len)) == NULL)
        goto out;
    for (rc = 0; rc == 0 && !found && meta_iter_valid(it); meta_iter_next(it)) {
        struct arena *a = NULL;
        struct blob_rec b;
        size_t kl;
        const char *hk = meta_iter_key(it, &kl);

        buf_reset(&k);
        buf_u8(&k, 'B'); /* the entry names the record: the same key after its type byte */
        buf_add(&k, hk + 1, kl - 1);
        rc = buf_ok(&k) ? get_blob_scratch(m, k.p, k.len, &a, &b) : CO_EBACKEND;
        if (rc == 0 && meta_blob_protected(&b, now)) {
            found = 1;
            *held = b.legal_hold;
        }
        rc = rc == CO_ENOTFOUND ? 0 : rc; /* a stale entry: the record is gone */
        arena_free(a);
    }
    if (rc == 0)
        rc = meta_iter_status(it);
out:
    meta_iter_free(it);
    buf_free(&lo);
    buf_free(&hi);
    buf_free(&k);
    return rc != 0 ? rc : found;
}

/* When a protected soft-deleted record is looked at again: a legal hold has no end date, a
 * policy ends at its until-date. */
#define PROTECT_RECHECK (3600 * TICKS_PER_SEC)

/* Keeps the soft-deleted record at key (encoded in v, whose purge time is now `at`) and files
 * its 'Z' entry under that time, in t. */
static int
purge_later(struct meta_txn *t, const char *key, size_t kl, int64_t at, const struct buf *v)
{
    struct buf z = BUF_INIT;
    int ok;

    meta_key_purge(&z, at, key, kl);
    if ((ok = buf_ok(&z) && buf_ok(v))) {
        meta_txn_put(t, key, kl, v->p, v->len);
        meta_txn_put(t, z.p, z.len, "", 0);
    }
    buf_free(&z);
    return ok ? 0 : CO_EBACKEND;
}

/* Purges one 'Z' entry's record if it still has that purge time (soft-deleted, or live and
 * expiring: `follow` adds what goes with a live current record) and protects nothing (M4); a
 * protected one is kept and looked at again later. */
static int
purge_one(struct meta *m, struct arena *a, const char *zk, size_t zkl, int64_t when, int64_t now,
          meta_purge_follow follow, void *ctx)
{
    const char *key = zk + 9;
    size_t kl = zkl - 9;
    struct meta_txn *t = meta_txn_new();
    char *v;
    size_t vl;
    struct buf nv = BUF_INIT;
    int rc, drop = 0, held;

    if (t == NULL)
        return -1;
    meta_txn_delete(t, zk, zkl);
    if (key[0] == 'B' && kl >= 9) {
        struct blob_rec b;
        const char *zero = memchr(key + 9, 0, kl - 9);
        size_t nlen = zero ? (size_t)(zero - (key + 9)) : kl - 9;
        unsigned stripe;
        meta_containers_rdlock(m);
        stripe = meta_blob_stripe(get_be64(key + 1), key + 9, nlen);
        meta_stripe_lock(m, stripe);
        rc = meta_get(m, key, kl, a, &v, &vl);
        if (rc == 0 && meta_blob_decode(a, v, vl, &b) == 0 && b.purge_at == when) {
            if (meta_blob_protected(&b, now)) {
                b.purge_at = b.legal_hold ? now + PROTECT_RECHECK : b.immutable_until;
                meta_blob_encode(&b, &nv);
                rc = purge_later(t, key, kl, b.purge_at, &nv);
            } else {
                meta_txn_delete(t, key, kl);
                rc = meta_txn_unindex_protection(t, key, kl) == 0 ? 0 : CO_EBACKEND;
                if (rc == 0 && !b.deleted && zero == NULL) /* an expired blob */
                    rc = follow(ctx, t, get_be64(key + 1), key + 9, nlen, &b);
                drop = 1;
            }
        }
        rc = rc == CO_ENOTFOUND ? 0 : rc;
        if (rc == 0)
            rc = meta_commit(m, t);
        meta_stripe_unlock(m, stripe);
        meta_containers_unlock(m);
    } else if (key[0] == 'D') {
        struct container_rec c;
        meta_containers_wrlock(m);
        rc = meta_get(m, key, kl, a, &v, &vl);
        if (rc == 0 && meta_container_decode(a, v, vl, &c) == 0 && c.purge_at == when) {
            rc = meta_container_protected(m, c.id, now, &held);
            if (rc == 1) { /* it holds protected records: it stays restorable */
                c.purge_at = now + PROTECT_RECHECK;
                meta_container_encode(&c, &nv);
                rc = purge_later(t, key, kl, c.purge_at, &nv);
            } else if (rc == 0) {
                meta_txn_delete(t, key, kl);
                rc = meta_txn_drop_container(t, c.id) == 0 ? 0 : CO_EBACKEND;
                drop = 1;
            }
        }
        rc = rc == CO_ENOTFOUND ? 0 : rc;
        if (rc == 0)
            rc = meta_commit(m, t);
        meta_containers_unlock(m);
    } else {
        rc = meta_commit(m, t); /* not ours to understand: drop the entry */
    }
    meta_txn_free(t);
    buf_free(&nv);
    return rc != 0 ? -1 : drop;
}

long
meta_purge_expired(struct meta *m, int64_t now, meta_purge_follow follow, void *ctx)
{
    struct buf hi = BUF_INIT;
    struct meta_iter *it;
    long n = 0;

    buf_u8(&hi, 'Z');
    buf_u64(&hi, (uint64_t)now + 1);
    if (!buf_ok(&hi) || (it = meta_iter_new(m, "Z", 1, hi.p, hi.len)) == NULL) {
        buf_free(&hi);
        return -1;
    }
    for (; meta_iter_valid(it) && n >= 0; meta_iter_next(it)) {
        struct arena *a = arena_new(64u << 20);
        size_t kl;
        const char *k = meta_iter_key(it, &kl);
        int rc = a != NULL && kl > 9
                     ? purge_one(m, a, k, kl, (int64_t)get_be64(k + 1), now, follow, ctx)
                     : -1;
        arena_free(a);
        n = rc < 0 ? -1 : n + rc;
    }
    meta_iter_free(it);
    buf_free(&hi);
    return n;
}

int
meta_txn_index_protection(struct meta_txn *t, const char *key, size_t klen,
                          const struct blob_rec *b)
{
    struct buf k = BUF_INIT;
    int rc = 0;

    if (!b->legal_hold && b->immutable_mode == IMMUT_NONE)
        return 0;
    if ((rc = meta_key_protect(&k, key, klen)) == 0)
        meta_txn_put(t, k.p, k.len, "", 0);
    buf_free(&k);
    return rc;
}

int
meta_txn_unindex_protection(struct meta_txn *t, const char *key, size_t klen)
{
    struct buf k = BUF_INIT;
    int rc;

    if ((rc = meta_key_protect(&k, key, klen)) == 0)
        meta_txn_delete(t, k.p, k.len);
    buf_free(&k);
    return rc;
}

int
meta_txn_purge_mark(struct meta_txn *t, int64_t purge_at, const char *key, size_t klen, int add)
{
    struct buf z = BUF_INIT;
    int ok;

    if (purge_at == 0)
        return 0;
    meta_key_purge(&z, purge_at, key, klen);
    if ((ok = buf_ok(&z))) {
        if (add)
            meta_txn_put(t, z.p, z.len, "", 0);
        else
            meta_txn_delete(t, z.p, z.len);
    }
    buf_free(&z);
    return ok ? 0 : -1;
}
