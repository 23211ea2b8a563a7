/*
 * test_engine_data.c -- the data plane of engine.h, checked the same way against the local engine
 * (volumes in a temp directory), the in-memory one and, when a cluster is at hand (CEPH_CONF set:
 * ctest's test_engine_data_rados starts one with scripts/ceph/with-cluster.sh), the RADOS one in
 * pools of its own: a payload written in pieces reads back byte for byte from any offset, reads
 * stop at its end, a writer refuses more than it announced and cannot finish short, an aborted
 * writer leaves nothing readable, and locators are distinct.  The local engine's own properties
 * (durability, compaction moving needles, bit rot) are the crash and compaction suites'
 * (tests/crash, tests/conformance/test_compaction.py); the RADOS engine's (stripe boundaries,
 * CRCs, the pending protocol and its GC, a writer killed mid-write, an OSD restart mid-write)
 * are checked here after the contract.
 *
 * `test_engine_data bench [SECONDS]` measures write and read throughput instead (docs/rados.md,
 * "Measured"); argv[1] of a normal run is scripts/ceph/restart-osd.sh, for the OSD restart.
 */
#include "engine/engine.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <rados/librados.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "engine/rados_int.h"
#include "meta/meta.h"
#include "store/store.h"
#include "util/timefmt.h"

#define LEN 200000

static void
contract(struct engine *e)
{
    static char data[LEN], back[LEN];
    struct eng_writer *w;
    struct eng_reader *r;
    struct extent loc, other;
    uint64_t at = 0;
    long n;

    printf("engine %s\n", e->ops->name);
    for (size_t i = 0; i < LEN; i++)
        data[i] = (char)(i * 7 + i / 251);
    CHECK(eng_failed(e) == 0);
    CHECK(eng_data_write_begin(e, LEN, 0, &w) == 0);
    CHECK(eng_data_write(e, w, data, 1000) == 0);
    CHECK(eng_data_write(e, w, data + 1000, LEN - 1000) == 0);
    CHECK(eng_data_write(e, w, data, 1) == EINVAL); /* more than announced */
    CHECK(eng_data_write_finish(e, w, &loc) == 0);
    CHECK(loc.len == LEN);
    CHECK(eng_data_sync(e, &loc, 1) == 0);

    CHECK(eng_data_reader_new(e, &r) == 0);
    while (at < LEN && (n = eng_data_read(e, r, &loc, at, back + at, LEN - at)) > 0)
        at += (uint64_t)n;
    CHECK(at == LEN && memcmp(back, data, LEN) == 0);
    CHECK(eng_data_read(e, r, &loc, 123457, back, 10) == 10 &&
          memcmp(back, data + 123457, 10) == 0);
    CHECK(eng_data_read(e, r, &loc, LEN - 3, back, 10) == 3); /* stops at the end */
    CHECK(eng_data_read(e, r, &loc, LEN, back, 10) == 0);

    /* A short payload cannot be finished; an aborted one is never named. */
    CHECK(eng_data_write_begin(e, 10, 0, &w) == 0);
    CHECK(eng_data_write(e, w, data, 5) == 0);
    CHECK(eng_data_write_finish(e, w, &other) != 0); /* and the writer is gone */
    CHECK(eng_data_write_begin(e, 10, 0, &w) == 0);
    CHECK(eng_data_write(e, w, data, 5) == 0);
    eng_data_write_abort(e, w);
    CHECK(eng_data_write_begin(e, 10, 0, &w) == 0);
    CHECK(eng_data_write(e, w, data, 10) == 0);
    CHECK(eng_data_write_finish(e, w, &other) == 0);
    CHECK(other.seq != loc.seq && other.len == 10);
    CHECK(eng_data_read(e, r, &other, 0, back, 10) == 10 && memcmp(back, data, 10) == 0);
    eng_data_release(e, &loc);
    eng_data_release(e, &other);
    eng_data_reader_free(e, r);
}

/* ---- the RADOS engine's own checks ------------------------------------------------------- */

#define STRIPE 65536 /* the smallest stripe: the checks cross many boundaries with little data */

static char big[6u << 20], back2[6u << 20];

/* Writes p[0..len) as one payload in pieces of `piece` bytes: 0 and *loc, or the error. */
static int
put(struct engine *e, const char *p, uint64_t len, size_t piece, struct extent *loc)
{
    struct eng_writer *w;
    int rc;

    if ((rc = eng_data_write_begin(e, len, 0, &w)) != 0)
        return rc;
    for (uint64_t at = 0; at < len; at += piece) {
        if ((rc = eng_data_write(e, w, p + at, len - at < piece ? len - at : piece)) != 0) {
            eng_data_write_abort(e, w);
            return rc;
        }
    }
    return eng_data_write_finish(e, w, loc);
}

/* Reads [off, off + n) of *loc into dst, over as many short reads as it takes: 0 or -errno. */
static long
get(struct engine *e, struct eng_reader *r, struct extent *loc, uint64_t off, char *dst, size_t n)
{
    while (n > 0) {
        long got = eng_data_read(e, r, loc, off, dst, n);
        if (got <= 0)
            return got < 0 ? got : -EIO;
        off += (uint64_t)got;
        dst += got;
        n -= (size_t)got;
    }
    return 0;
}

/* The number of objects in pool io. */
static long
objects(rados_ioctx_t io)
{
    rados_list_ctx_t ctx;
    const char *entry;
    long n = 0;

    if (rados_nobjects_list_open(io, &ctx) < 0)
        return -1;
    while (rados_nobjects_list_next(ctx, &entry, NULL, NULL) == 0)
        n++;
    rados_nobjects_list_close(ctx);
    return n;
}

/* The number of payload entries (kind d) on the GC list. */
static long
gc_entries(rados_ioctx_t idx)
{
    long n = 0;

    for (int k = 0; k < 8; k++) {
        rados_read_op_t op = rados_create_read_op();
        rados_omap_iter_t it = NULL;
        unsigned char more = 0;
        char oid[16], *key, *val;
        size_t kl, vl;
        int prval = 0;

        snprintf(oid, sizeof(oid), "gc.%d", k);
        rados_read_op_omap_get_vals2(op, "", "", 1000, &it, &more, &prval);
        if (rados_read_op_operate(op, idx, oid, 0) == 0)
            while (rados_omap_get_next2(it, &key, &val, &kl, &vl) == 0 && key != NULL)
                n += kl == 33 && key[16] == 'd';
        if (it != NULL)
            rados_omap_get_end(it);
        rados_release_read_op(op);
    }
    return n;
}

/* Sets (set) or removes omap key `key` of oid: what a blob commit does with a reference key. */
static int
ref_put(rados_ioctx_t idx, const char *oid, const struct extent *loc, int set)
{
    rados_write_op_t op = rados_create_write_op();
    char key[18];
    const char *k = key, *v = "";
    size_t kl = 17, vl = 0;
    int rc;

    rdata_ref_key(loc, key);
    rados_write_op_create(op, LIBRADOS_CREATE_IDEMPOTENT, NULL);
    if (set)
        rados_write_op_omap_set2(op, &k, &v, &kl, &vl, 1);
    else
        rados_write_op_omap_rm_keys2(op, &k, &kl, 1);
    rc = rados_write_op_operate2(op, idx, oid, NULL, 0);
    rados_release_write_op(op);
    return rc;
}

/* Reads at both sides of every stripe boundary, and across them. */
static void
stripes(struct engine *e, rados_ioctx_t data)
{
    struct rados_data *d = R(e)->dp;
    struct eng_reader *r = NULL;
    struct extent loc;
    uint64_t len = 5 * STRIPE + 12345, mib = 1u << 20;

    CHECK(rdata_set_stripe(d, RDATA_SHIFT_MIN - 1) == EINVAL);
    CHECK(rdata_set_stripe(d, RDATA_SHIFT_MAX + 1) == EINVAL);
    CHECK(rdata_set_stripe(d, RDATA_SHIFT_MIN) == 0);
    CHECK(eng_data_reader_new(e, &r) == 0);
    CHECK(put(e, big, len, 7777, &loc) == 0 && loc.len == len);
    CHECK(eng_data_sync(e, &loc, 1) == 0);
    CHECK(objects(data) == 6); /* 6 stripes, the last one short */
    for (uint64_t b = 0; b <= len; b += STRIPE)
        for (uint64_t off = b < 3 ? 0 : b - 3; off < b + 3 && off < len; off++) {
            size_t n = len - off < 7 ? (size_t)(len - off) : 7;
            CHECK(get(e, r, &loc, off, back2, n) == 0 && memcmp(back2, big + off, n) == 0);
        }
    CHECK(eng_data_read(e, r, &loc, STRIPE - 1, back2, 10) == 1); /* stops at the stripe's end */
    CHECK(eng_data_read(e, r, &loc, len, back2, 10) == 0);
    CHECK(eng_data_read(e, r, &loc, len + 1, back2, 10) == -EIO);
    CHECK(get(e, r, &loc, 0, back2, len) == 0 && memcmp(back2, big, len) == 0);
    eng_data_release(e, &loc); /* no commit claimed it: deleted now */
    CHECK(objects(data) == 0);

    /* The default stripe, 4 MiB: 6 MiB is two objects, the boundary read from both sides. */
    CHECK(rdata_set_stripe(d, RDATA_SHIFT) == 0);
    CHECK(put(e, big, 6 * mib, mib, &loc) == 0);
    CHECK(objects(data) == 2);
    CHECK(get(e, r, &loc, 4 * mib - 100, back2, 200) == 0 &&
          memcmp(back2, big + 4 * mib - 100, 200) == 0);
    CHECK(get(e, r, &loc, 0, back2, 6 * mib) == 0 && memcmp(back2, big, 6 * mib) == 0);
    eng_data_release(e, &loc);
    CHECK(objects(data) == 0);
    eng_data_reader_free(e, r);
}

/* A stripe changed behind the engine's back never yields bytes: -EBADMSG (bad CRC, wrong size),
 * -EIO (gone); the chunks it did not touch still read. */
static void
corruption(struct engine *e, rados_ioctx_t data)
{
    struct eng_reader *r = NULL;
    struct extent loc;
    uint64_t s = 2 * STRIPE; /* stripes of two CRC chunks */
    char oid[40];

    CHECK(rdata_set_stripe(R(e)->dp, 17) == 0);
    CHECK(put(e, big, 3 * s, 50000, &loc) == 0);
    snprintf(oid, sizeof(oid), "%016" PRIx64 ".1", loc.seq);
    CHECK(rados_write(data, oid, "garbage!", 8, 100) == 0); /* stripe 1, chunk 0 */
    CHECK(eng_data_reader_new(e, &r) == 0);
    CHECK(get(e, r, &loc, s + STRIPE, back2, 10) == 0 && memcmp(back2, big + s + STRIPE, 10) == 0);
    CHECK(eng_data_read(e, r, &loc, s + 200, back2, 10) == -EBADMSG);
    CHECK(eng_data_read(e, r, &loc, s + 100, back2, 8) == -EBADMSG);
    CHECK(get(e, r, &loc, 0, back2, 10) == 0 && memcmp(back2, big, 10) == 0);
    snprintf(oid, sizeof(oid), "%016" PRIx64 ".2", loc.seq);
    CHECK(rados_trunc(data, oid, 1000) == 0);
    CHECK(eng_data_read(e, r, &loc, 2 * s, back2, 10) == -EBADMSG);
    snprintf(oid, sizeof(oid), "%016" PRIx64 ".0", loc.seq);
    CHECK(rados_remove(data, oid) == 0);
    CHECK(eng_data_read(e, r, &loc, 0, back2, 10) == -EIO);
    eng_data_reader_free(e, r);
    eng_data_release(e, &loc);
    CHECK(objects(data) == 0);
}

/* Inline payloads (docs/rados.md): a blob's whole content of up to INLINE_MAX bytes costs no RADOS
 * op -- no data object, no pending entry -- reads back from any offset through its locator, and a
 * changed byte is -EBADMSG; one byte more, or a payload that is not a whole blob, is striped. */
static void
inline_payloads(struct engine *e, rados_ioctx_t idx, rados_ioctx_t data)
{
    static char copy[INLINE_MAX];
    struct eng_writer *w;
    struct eng_reader *r = NULL;
    struct extent a, b, c;

    CHECK(eng_data_write_begin(e, INLINE_MAX, ENG_W_WHOLE, &w) == 0);
    CHECK(eng_data_write(e, w, big, 100) == 0);
    CHECK(eng_data_write(e, w, big + 100, INLINE_MAX - 100) == 0);
    CHECK(eng_data_write(e, w, big, 1) == EINVAL);
    CHECK(eng_data_write_finish(e, w, &a) == 0);
    CHECK(rdata_inline(&a) && a.inl != NULL && a.len == INLINE_MAX);
    CHECK(objects(data) == 0 && gc_entries(idx) == 0);
    CHECK(eng_data_sync(e, &a, 1) == 0);
    CHECK(eng_data_reader_new(e, &r) == 0);
    CHECK(get(e, r, &a, 0, back2, INLINE_MAX) == 0 && memcmp(back2, big, INLINE_MAX) == 0);
    CHECK(get(e, r, &a, 1000, back2, 10) == 0 && memcmp(back2, big + 1000, 10) == 0);
    CHECK(eng_data_read(e, r, &a, INLINE_MAX, back2, 10) == 0);
    memcpy(copy, a.inl, INLINE_MAX);
    copy[7] ^= 1;
    b = a;
    b.inl = copy;
    CHECK(eng_data_read(e, r, &b, 0, back2, 10) == -EBADMSG);
    CHECK(rdata_verify(e, &b) == EBADMSG && rdata_verify(e, &a) == 0);
    eng_data_release(e, &a); /* the bytes are freed */
    CHECK(eng_data_write_begin(e, INLINE_MAX + 1, ENG_W_WHOLE, &w) == 0);
    CHECK(eng_data_write(e, w, big, INLINE_MAX + 1) == 0);
    CHECK(eng_data_write_finish(e, w, &c) == 0);
    CHECK(!rdata_inline(&c) && c.inl == NULL && objects(data) == 1);
    eng_data_release(e, &c);
    CHECK(put(e, big, 10, 10, &c) == 0); /* a block, an append: never inline */
    CHECK(!rdata_inline(&c) && objects(data) == 1);
    eng_data_release(e, &c);
    CHECK(eng_data_write_begin(e, 10, ENG_W_WHOLE, &w) == 0); /* aborted: nothing kept */
    CHECK(eng_data_write(e, w, big, 5) == 0);
    eng_data_write_abort(e, w);
    CHECK(eng_data_write_begin(e, 10, ENG_W_WHOLE, &w) == 0);
    CHECK(eng_data_write(e, w, big, 5) == 0);
    CHECK(eng_data_write_finish(e, w, &c) == EINVAL); /* short */
    CHECK(objects(data) == 0 && gc_entries(idx) == 0);
    eng_data_reader_free(e, r);
}

/* The child of the "killed mid-write" check: begins a payload of 4 stripes, sends 3, and exits
 * without finishing or aborting, as a gateway killed mid-upload. */
static int
crash_writer(const char *conf, const char *idx, const char *data)
{
    struct engine e = {0};
    struct eng_writer *w;

    if (eng_rados_init(&e, conf, "admin", idx, data) != 0 ||
        rdata_set_stripe(R(&e)->dp, RDATA_SHIFT_MIN) != 0 ||
        eng_data_write_begin(&e, 4 * STRIPE, 0, &w) != 0 ||
        eng_data_write(&e, w, big, 3 * STRIPE + 5) != 0)
        return 1;
    sleep(1); /* the stripes sent land */
    _exit(0);
}

/* The pending protocol (docs/rados.md): what a commit claimed and references stays, everything
 * else goes -- at release, at a drop's time, or when a writer that died is past its pending
 * time. */
static void
pending(struct engine *e, rados_ioctx_t idx, rados_ioctx_t data, const char *conf, const char *ip,
        const char *dp)
{
    const int64_t hour = 3600 * TICKS_PER_SEC;
    const char *shard = "idx.0000000000000001.3";
    struct eng_writer *w;
    struct eng_reader *r = NULL;
    struct extent a, b, c;
    int status = -1;
    pid_t pid;

    CHECK(rdata_set_stripe(R(e)->dp, RDATA_SHIFT_MIN) == 0);
    CHECK(eng_data_reader_new(e, &r) == 0);
    /* Aborted after three stripes were sent: nothing left, not even its entry. */
    CHECK(eng_data_write_begin(e, 4 * STRIPE, 0, &w) == 0);
    CHECK(eng_data_write(e, w, big, 3 * STRIPE + 5) == 0);
    CHECK(gc_entries(idx) == 1); /* acknowledged before the first stripe went out (D2) */
    eng_data_write_abort(e, w);
    CHECK(objects(data) == 0 && gc_entries(idx) == 0);

    /* Claimed, committed (the reference key), released: kept, and no longer pending. */
    CHECK(put(e, big, STRIPE + 1, 4096, &a) == 0);
    CHECK(rdata_claim(e, &a, shard) == 0);
    CHECK(rdata_claim(e, &a, shard) == 0); /* a commit tried again */
    CHECK(rdata_claim(e, &a, "idx.0000000000000001.4") == CO_ECONFLICT);
    CHECK(ref_put(idx, shard, &a, 1) == 0);
    eng_data_release(e, &a);
    CHECK(objects(data) == 2 && gc_entries(idx) == 0);
    CHECK(get(e, r, &a, 0, back2, STRIPE + 1) == 0 && memcmp(back2, big, STRIPE + 1) == 0);

    /* Claimed, but the commit failed (no reference key): released, deleted at once. */
    CHECK(put(e, big, 3 * STRIPE, STRIPE, &b) == 0);
    CHECK(rdata_claim(e, &b, shard) == 0);
    eng_data_release(e, &b);
    CHECK(objects(data) == 2 && gc_entries(idx) == 0);
    CHECK(rdata_claim(e, &b, shard) == CO_ECONFLICT); /* given up: no commit may take it now */

    /* Dropped while an index object references it again: kept.  Dropped for good: deleted once
     * the drop is due (readers that began before it may finish). */
    CHECK(rdata_drop(e, &a, shard, NULL) == 0 && gc_entries(idx) == 1);
    CHECK(eng_purge_expired(e, ticks_now() + 2 * hour) >= 0);
    CHECK(objects(data) == 2 && gc_entries(idx) == 0);
    CHECK(ref_put(idx, shard, &a, 0) == 0);
    CHECK(rdata_drop(e, &a, shard, NULL) == 0);
    CHECK(eng_purge_expired(e, ticks_now()) >= 0); /* not due yet */
    CHECK(objects(data) == 2 && gc_entries(idx) == 1);
    CHECK(eng_purge_expired(e, ticks_now() + 2 * hour) >= 0);
    CHECK(objects(data) == 0 && gc_entries(idx) == 0);

    /* Finished but never released (its gateway died before the commit): pending for 6 hours,
     * then deleted, and no commit can claim it any more. */
    CHECK(put(e, big, 2 * STRIPE, STRIPE, &c) == 0);
    CHECK(eng_purge_expired(e, ticks_now() + hour) >= 0);
    CHECK(objects(data) == 2 && gc_entries(idx) == 1);
    CHECK(eng_purge_expired(e, ticks_now() + 7 * hour) >= 0);
    CHECK(objects(data) == 0 && gc_entries(idx) == 0);
    CHECK(rdata_claim(e, &c, shard) == CO_ECONFLICT);

    /* A writer killed mid-write, in another process: its stripes are on the GC list. */
    if ((pid = fork()) == 0) {
        execl("/proc/self/exe", "test_engine_data", "crash-writer", conf, ip, dp, (char *)NULL);
        _exit(127);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
    CHECK(objects(data) == 3 && gc_entries(idx) == 1);
    CHECK(eng_purge_expired(e, ticks_now() + 7 * hour) >= 0);
    CHECK(objects(data) == 0 && gc_entries(idx) == 0);
    eng_data_reader_free(e, r);
}

/* A committed record of one block, payload x, as the current record of blob b where there was
 * `old` (NULL: none); the payload released after the commit, as a request does. */
static int
commit_one(struct engine *e, const struct eng_blob *b, const struct blob_rec *old,
           struct blob_rec *r, struct block_ref *blk, const struct extent *x)
{
    int rc;

    memset(r, 0, sizeof(*r));
    memset(blk, 0, sizeof(*blk));
    blk->id = "";
    blk->ext = *x;
    r->type = BLOB_BLOCK;
    r->size = x->len;
    r->created = r->modified = ticks_now();
    r->etag = eng_next_etag(e);
    r->content_type = r->content_encoding = r->content_language = r->content_disposition =
        r->cache_control = "";
    r->nblocks = 1;
    r->blocks = blk;
    rc = eng_blob_commit(e, b, &(struct eng_write){NULL, ENG_CURRENT, 0, old, r}, 1, NULL);
    eng_data_release(e, x);
    return rc;
}

/* Container `name` of account "acct", created: a blob of it named "", to be named. */
static struct eng_blob
container_new(struct engine *e, const char *name)
{
    struct container_rec c;

    memset(&c, 0, sizeof(c));
    c.created = c.modified = ticks_now();
    c.etag = eng_next_etag(e);
    CHECK(eng_container_create(e, "acct", name, &c) == 0);
    return (struct eng_blob){"acct", name, c.id, "", 0};
}

static struct eng_blob
named(struct eng_blob c, const char *name)
{
    c.name = name;
    c.nlen = strlen(name);
    return c;
}

/*
 * The pending protocol through the blob commit (docs/rados.md): what a record references stays;
 * what an overwrite or a delete leaves unreferenced goes once its drop is due; a copy in another
 * container shares its source's payload, which then outlives the source; a commit that lost its
 * race leaves its payload to the release, which deletes it.
 */
static void
referenced(struct engine *e, rados_ioctx_t idx, rados_ioctx_t data)
{
    const int64_t hour = 3600 * TICKS_PER_SEC;
    struct eng_blob c1 = container_new(e, "refs1"), one = named(c1, "one"), two = named(c1, "two"),
                    three = named(container_new(e, "refs2"), "three");
    struct blob_rec a, a2, b, cp, lost, stale;
    struct block_ref ba, ba2, bb, bl;
    struct extent pa, pa2, pb, pl;
    struct eng_reader *r = NULL;
    long o0 = objects(data), g0 = gc_entries(idx); /* what the checks before left */

    CHECK(rdata_set_stripe(R(e)->dp, RDATA_SHIFT_MIN) == 0);
    CHECK(eng_data_reader_new(e, &r) == 0);
    CHECK(put(e, big, STRIPE + 1, STRIPE, &pa) == 0 &&
          commit_one(e, &one, NULL, &a, &ba, &pa) == 0);
    CHECK(put(e, big + 7, STRIPE, STRIPE, &pb) == 0 &&
          commit_one(e, &two, NULL, &b, &bb, &pb) == 0);
    CHECK(objects(data) == o0 + 3 && gc_entries(idx) == g0 + 0);

    /* Overwritten, deleted: both dropped, their objects kept until the drops are due. */
    CHECK(put(e, big + 3, 100, 100, &pa2) == 0 && commit_one(e, &one, &a, &a2, &ba2, &pa2) == 0);
    CHECK(eng_blob_commit(e, &two, &(struct eng_write){NULL, ENG_CURRENT, 0, &b, NULL}, 1, NULL) ==
          0);
    CHECK(objects(data) == o0 + 4 && gc_entries(idx) == g0 + 2);

    /* A copy into another container: the source's payload, checked and shared. */
    cp = a2;
    cp.etag = eng_next_etag(e);
    CHECK(eng_blob_commit(e, &three,
                          (struct eng_write[]){{NULL, ENG_CURRENT, 0, NULL, &cp},
                                               {&one, ENG_CURRENT, 0, &a2, &a2}},
                          2, NULL) == 0);

    /* A commit that lost its race (it expected the first record): its payload goes at release. */
    CHECK(put(e, big, 10, 10, &pl) == 0);
    CHECK(commit_one(e, &one, &a, &lost, &bl, &pl) == CO_ECONFLICT);
    CHECK(objects(data) == o0 + 4 && gc_entries(idx) == g0 + 2);
    /* One that expected the current content under another ETag: the drop of that content, written
     * before its op, is taken back with the op refused. */
    stale = a2;
    stale.etag = eng_next_etag(e);
    CHECK(put(e, big, 10, 10, &pl) == 0);
    CHECK(commit_one(e, &one, &stale, &lost, &bl, &pl) == CO_ECONFLICT);
    CHECK(objects(data) == o0 + 4 && gc_entries(idx) == g0 + 2);

    CHECK(eng_purge_expired(e, ticks_now() + 2 * hour) >= 0);
    CHECK(objects(data) == o0 + 1 && gc_entries(idx) == g0 + 0);
    memset(back2, 0, 100);
    CHECK(get(e, r, &pa2, 0, back2, 100) == 0 && memcmp(back2, big + 3, 100) == 0);
    CHECK(get(e, r, &pa, 0, back2, 1) == -EIO && get(e, r, &pb, 0, back2, 1) == -EIO);

    /* The source deleted: the copy still reads it, whatever the GC does. */
    CHECK(eng_blob_commit(e, &one, &(struct eng_write){NULL, ENG_CURRENT, 0, &a2, NULL}, 1, NULL) ==
          0);
    CHECK(gc_entries(idx) == g0 + 1);
    CHECK(eng_purge_expired(e, ticks_now() + 2 * hour) >= 0);
    CHECK(objects(data) == o0 + 1 && gc_entries(idx) == g0 + 0);
    memset(back2, 0, 100);
    CHECK(get(e, r, &cp.blocks[0].ext, 0, back2, 100) == 0 && memcmp(back2, big + 3, 100) == 0);
    eng_data_reader_free(e, r);
}

struct restart {
    const char *script;
    int rc;
};

static void *
restart_osd(void *arg)
{
    struct restart *rs = arg;
    char cmd[1024];

    usleep(300000);
    snprintf(cmd, sizeof(cmd), "bash %s %s KILL >&2", rs->script, getenv("CEPH_DIR"));
    rs->rc = system(cmd);
    return NULL;
}

/* The OSD killed and restarted while a payload is being written: the write completes and reads
 * back right, or fails and leaves nothing once the GC has run -- never a payload that reads
 * wrong. */
static void
osd_restart(struct engine *e, rados_ioctx_t idx, rados_ioctx_t data, const char *script)
{
    struct restart rs = {script, -1};
    struct eng_reader *r = NULL;
    struct eng_writer *w = NULL;
    struct extent loc;
    pthread_t t;
    size_t at = 0;
    int rc, joined = 0;

    if (script == NULL || getenv("CEPH_DIR") == NULL) {
        printf("no OSD restart check: run through scripts/ceph/with-cluster.sh with the script\n");
        return;
    }
    CHECK(rdata_set_stripe(R(e)->dp, 20) == 0);
    CHECK(pthread_create(&t, NULL, restart_osd, &rs) == 0);
    /* 6 MiB in 64 KiB pieces, 20 ms apart; the last piece waits until the OSD is back, so the
     * restart happens mid-write whatever the machine's speed. */
    rc = eng_data_write_begin(e, sizeof(big), 0, &w);
    for (; rc == 0 && at < sizeof(big); at += STRIPE) {
        if (at + STRIPE == sizeof(big))
            joined = pthread_join(t, NULL) == 0;
        if ((rc = eng_data_write(e, w, big + at, STRIPE)) != 0)
            eng_data_write_abort(e, w);
        usleep(20000);
    }
    rc = rc == 0 ? eng_data_write_finish(e, w, &loc) : rc;
    if (!joined)
        pthread_join(t, NULL);
    CHECK(rs.rc == 0);
    printf("write across an OSD restart: %s\n", rc == 0 ? "completed" : strerror(rc));
    if (rc == 0) {
        CHECK(eng_data_sync(e, &loc, 1) == 0);
        CHECK(eng_data_reader_new(e, &r) == 0);
        CHECK(get(e, r, &loc, 0, back2, sizeof(big)) == 0 && memcmp(back2, big, sizeof(big)) == 0);
        eng_data_reader_free(e, r);
        eng_data_release(e, &loc);
    }
    CHECK(eng_purge_expired(e, ticks_now() + 7 * 3600 * TICKS_PER_SEC) >= 0);
    CHECK(objects(data) == 0 && gc_entries(idx) == 0);
}

/* Two fresh pools on the cluster of conf; *io opened on each. */
static void
pools_create(rados_t *cl, const char *conf, char idx[64], char data[64], rados_ioctx_t io[2])
{
    snprintf(idx, 64, "cobalt-data-%d-index", (int)getpid());
    snprintf(data, 64, "cobalt-data-%d-data", (int)getpid());
    CHECK(rados_create2(cl, "ceph", "client.admin", 0) == 0);
    CHECK(rados_conf_read_file(*cl, conf) == 0);
    CHECK(rados_connect(*cl) == 0);
    CHECK(rados_pool_create(*cl, idx) == 0);
    CHECK(rados_pool_create(*cl, data) == 0);
    CHECK(rados_ioctx_create(*cl, idx, &io[0]) == 0);
    CHECK(rados_ioctx_create(*cl, data, &io[1]) == 0);
}

static void
pools_delete(rados_t cl, const char *idx, const char *data, rados_ioctx_t io[2])
{
    rados_ioctx_destroy(io[0]);
    rados_ioctx_destroy(io[1]);
    rados_pool_delete(cl, idx);
    rados_pool_delete(cl, data);
    rados_shutdown(cl);
}

static void
rados_checks(const char *conf, const char *restart_script)
{
    char idx[64], data[64];
    struct engine e = {0};
    rados_ioctx_t io[2];
    rados_t cl;

    pools_create(&cl, conf, idx, data, io);
    CHECK(eng_rados_init(&e, conf, "admin", idx, data) == 0);
    if (e.ops != NULL) {
        CHECK(rdata_set_stripe(R(&e)->dp, RDATA_SHIFT_MIN) == 0);
        contract(&e); /* 200000 bytes: four stripes */
        CHECK(objects(io[1]) == 0 && gc_entries(io[0]) == 0);
        stripes(&e, io[1]);
        corruption(&e, io[1]);
        inline_payloads(&e, io[0], io[1]);
        pending(&e, io[0], io[1], conf, idx, data);
        osd_restart(&e, io[0], io[1], restart_script);
        referenced(&e, io[0], io[1]);
    }
    eng_fini(&e);
    pools_delete(cl, idx, data, io);
}

/* ---- bench ---------------------------------------------------------------------------------- */

#define BENCH_MAX 20000

/* Writes payloads of `size` for `secs` (each written, synced; kept), then reads them all back;
 * prints MB/s and payloads/s of both, then releases them. */
static void
bench_size(struct engine *e, const char *engine, char *buf, size_t size, double secs)
{
    static struct extent loc[BENCH_MAX];
    struct eng_reader *r = NULL;
    struct timespec t0, t1;
    double wt = 0, rt;
    size_t n = 0, piece = size < (1u << 20) ? size : 1u << 20;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (put(e, buf, size, piece, &loc[n]) != 0 || eng_data_sync(e, &loc[n], 1) != 0) {
            printf("%s: write failed\n", engine);
            break;
        }
        n++;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        wt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    } while (wt < secs && n < BENCH_MAX);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (eng_data_reader_new(e, &r) == 0) {
        for (size_t i = 0; i < n; i++)
            for (uint64_t at = 0; at < size; at += piece)
                if (get(e, r, &loc[i], at, buf, size - at < piece ? size - at : piece) != 0)
                    printf("%s: read failed\n", engine);
        eng_data_reader_free(e, r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%-6s %8zu B  write %8.1f MB/s %8.1f/s   read %8.1f MB/s %8.1f/s   (%zu payloads)\n",
           engine, size, (double)(n * size) / wt / 1e6, (double)n / wt,
           (double)(n * size) / rt / 1e6, (double)n / rt, n);
    for (size_t i = 0; i < n; i++)
        eng_data_release(e, &loc[i]);
}

static void
bench_engine(struct engine *e, double secs)
{
    static const size_t sizes[] = {4096, 1u << 20, 64u << 20};
    char *buf = malloc(64u << 20);

    for (size_t i = 0; buf != NULL && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        memset(buf, (int)i + 1, sizes[i]);
        bench_size(e, e->ops->name, buf, sizes[i], secs);
    }
    free(buf);
}

static int
bench(double secs)
{
    char dir[] = "/tmp/cobalt-bench-data-XXXXXX", path[64], cmd[64], idx[64], data[64];
    struct store_config sc = {0};
    struct engine e = {0};
    struct meta *m = NULL;
    struct store *s = NULL;
    rados_ioctx_t io[2];
    rados_t cl;

    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/meta", dir);
    CHECK(meta_open(path, 1, 0, 0, &m) == 0);
    snprintf(path, sizeof(path), "%s/volumes", dir);
    sc.dir = path;
    sc.fsync = 1;
    CHECK(store_open(&sc, &s) == 0);
    CHECK(eng_local_init(&e, m, s) == 0);
    bench_engine(&e, secs);
    eng_fini(&e);
    store_close(s);
    meta_close(m);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    if (getenv("CEPH_CONF") != NULL) {
        pools_create(&cl, getenv("CEPH_CONF"), idx, data, io);
        CHECK(eng_rados_init(&e, getenv("CEPH_CONF"), "admin", idx, data) == 0);
        bench_engine(&e, secs);
        eng_fini(&e);
        pools_delete(cl, idx, data, io);
    }
    return check_report("bench");
}

int
main(int argc, char **argv)
{
    char dir[] = "/tmp/cobalt-test-data-XXXXXX", path[64], cmd[64];
    struct store_config sc = {0};
    struct engine e = {0};
    struct meta *m = NULL;
    struct store *s = NULL;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 131 + i / 65521);
    if (argc == 5 && strcmp(argv[1], "crash-writer") == 0)
        return crash_writer(argv[2], argv[3], argv[4]);
    if (argc >= 2 && strcmp(argv[1], "bench") == 0)
        return bench(argc > 2 ? atof(argv[2]) : 5);

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/meta", dir);
    CHECK(meta_open(path, 1, 0, 0, &m) == 0);
    snprintf(path, sizeof(path), "%s/volumes", dir);
    sc.dir = path;
    sc.fsync = 1;
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
        rados_checks(getenv("CEPH_CONF"), argc > 1 ? argv[1] : NULL);

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report("test_engine_data");
}
