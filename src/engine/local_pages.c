/*
 * local_pages.c -- the local engine's page maps (engine.h, "page maps") in RocksDB.
 *
 * Keys: 'G' layer(8, BE) end(8, BE) -> varint len, varint at, then the payload's extent
 * (meta_extent_encode; absent for zeros that hide older layers).  Keyed by the entry's end, the
 * entries of a layer over [off, end) start at the first key past (layer, off): one seek, then a
 * run of nexts, however many entries the layer holds.  A page write (local_pages_apply) reads
 * the entries it overlaps and puts their edit (eng_page_edit) in the batch of the blob commit
 * that checks the record naming the layer, under that blob's stripe lock: the record and its page
 * map change together (M1).
 *
 * Garbage: a needle whose entries were all cut out is named by nothing, and compaction's marking
 * (compact_each_needle, which sees 'G' between 'B' and 'U' in the same snapshot) does not find
 * it.  A layer that no record names is dead for good -- records only ever get layers from other
 * records or from fresh ids -- so its entries are dropped by local_pages_gc() at the start of a
 * compaction round, from one consistent snapshot of records and entries.
 */
#include "engine/local_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/buf.h"

#define GC_BATCH 4096 /* dead entries deleted per batch */

static void
page_key(struct buf *k, uint64_t layer, uint64_t end)
{
    buf_u8(k, 'G');
    buf_u64(k, layer);
    buf_u64(k, end);
}

static uint64_t
be64(const char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | (unsigned char)p[i];
    return v;
}

int
local_page_decode(const char *k, size_t kl, const char *v, size_t vl, uint64_t *layer,
                  struct eng_page *p)
{
    struct rd r;
    uint64_t end;

    if (kl != 17 || k[0] != 'G')
        return -1;
    *layer = be64(k + 1);
    end = be64(k + 9);
    memset(p, 0, sizeof(*p));
    rd_init(&r, v, vl);
    if (rd_varint(&r, &p->len) != 0 || rd_varint(&r, &p->at) != 0 || p->len > end)
        return -1;
    p->off = end - p->len;
    if (r.p != r.end && meta_extent_decode((const char *)r.p, (size_t)(r.end - r.p), &p->loc) != 0)
        return -1;
    return 0;
}

static void
page_value(struct buf *v, const struct eng_page *p)
{
    buf_varint(v, p->len);
    buf_varint(v, p->at);
    if (p->loc.len > 0)
        meta_extent_encode(&p->loc, v);
}

/* The entries of `layer` over [off, end), at most max, into *out (in a). */
static int
list(struct meta *m, struct arena *a, uint64_t layer, uint64_t off, uint64_t end, size_t max,
     struct eng_page **out, size_t *n)
{
    struct buf lo = BUF_INIT, hi = BUF_INIT;
    struct meta_iter *it = NULL;
    struct eng_page *v = NULL;
    size_t cap = 0;
    int rc = CO_EBACKEND;

    *n = 0;
    page_key(&lo, layer, off + 1); /* the first entry that ends past off */
    page_key(&hi, layer + 1, 0);   /* the layer's last: the loop stops at the first past `end` */
    if (!buf_ok(&lo) || !buf_ok(&hi) || (it = meta_iter_new(m, lo.p, lo.len, hi.p, hi.len)) == NULL)
        goto out;
    for (; meta_iter_valid(it) && *n < max; meta_iter_next(it)) {
        size_t kl, vl;
        const char *k = meta_iter_key(it, &kl), *val = meta_iter_value(it, &vl);
        uint64_t l;
        struct eng_page p;
        if (local_page_decode(k, kl, val, vl, &l, &p) != 0)
            goto out;
        if (p.off >= end)
            break;
        if (*n == cap) {
            struct eng_page *nv = arena_alloc(a, sizeof(*nv) * (cap = cap ? 2 * cap : 16));
            if (nv == NULL)
                goto out;
            if (*n > 0)
                memcpy(nv, v, sizeof(*v) * *n);
            v = nv;
        }
        v[(*n)++] = p;
    }
    if (meta_iter_status(it) != 0)
        goto out;
    if (v == NULL && (v = arena_alloc(a, sizeof(*v))) == NULL)
        goto out;
    *out = v;
    rc = 0;
out:
    meta_iter_free(it);
    buf_free(&lo);
    buf_free(&hi);
    return rc;
}

int
local_page_list(struct engine *e, struct arena *a, const struct eng_blob *b, uint64_t layer,
                uint64_t off, uint64_t end, size_t max, struct eng_page **out, size_t *n)
{
    (void)b;
    return list(M(e), a, layer, off, end, max, out, n);
}

int
local_pages_apply(struct meta *m, struct meta_txn *t, struct arena *a,
                  const struct eng_page_write *pw)
{
    struct buf k = BUF_INIT, v = BUF_INIT;
    struct eng_page *old, *nv;
    size_t nold, nnew;
    int rc;

    if ((rc = list(m, a, pw->layer, pw->off, pw->off + pw->len, SIZE_MAX, &old, &nold)) != 0 ||
        (rc = eng_page_edit(a, old, nold, pw, &nv, &nnew)) != 0)
        return rc;
    for (size_t i = 0; i < nold; i++) {
        buf_reset(&k);
        page_key(&k, pw->layer, old[i].off + old[i].len);
        meta_txn_delete(t, k.p, k.len);
    }
    for (size_t i = 0; i < nnew; i++) {
        buf_reset(&k);
        buf_reset(&v);
        page_key(&k, pw->layer, nv[i].off + nv[i].len);
        page_value(&v, &nv[i]);
        meta_txn_put(t, k.p, k.len, v.p, v.len);
    }
    rc = buf_ok(&k) && buf_ok(&v) ? 0 : CO_EBACKEND;
    buf_free(&k);
    buf_free(&v);
    return rc;
}

/* ---- which layers records name ------------------------------------------------------------ */

static int
cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

    return (a > b) - (a < b);
}

int
local_layers_add(struct local_layers *s, const struct blob_rec *r)
{
    for (size_t i = 0; i < r->nlayers; i++) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 256;
            uint64_t *v = realloc(s->v, cap * sizeof(*v));
            if (v == NULL)
                return ENOMEM;
            s->v = v;
            s->cap = cap;
        }
        s->v[s->n++] = r->layers[i];
        s->sorted = 0;
    }
    return 0;
}

int
local_layers_has(struct local_layers *s, uint64_t layer)
{
    if (!s->sorted && s->n > 0) { /* (no layers: v may be NULL, which qsort may not take) */
        qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
        s->sorted = 1;
    }
    return s->n > 0 && bsearch(&layer, s->v, s->n, sizeof(*s->v), cmp_u64) != NULL;
}

void
local_layers_free(struct local_layers *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

int
local_pages_gc(struct meta *m, uint64_t *dropped)
{
    struct meta_iter *it = meta_iter_new(m, "B", 1, "H", 1); /* records, then page entries */
    struct local_layers live = {0};
    struct meta_txn *t = NULL;
    struct arena *a = NULL;
    size_t pending = 0;
    int rc = 0;

    *dropped = 0;
    if (it == NULL)
        return ENOMEM;
    for (; meta_iter_valid(it) && rc == 0; meta_iter_next(it)) {
        size_t kl, vl;
        const char *k = meta_iter_key(it, &kl), *v = meta_iter_value(it, &vl);
        struct blob_rec r;
        struct eng_page p;
        uint64_t layer;
        if (k[0] == 'B') {
            arena_free(a);
            if ((a = arena_new(SCRATCH_CAP)) == NULL)
                rc = ENOMEM;
            else if (meta_blob_decode(a, v, vl, &r) != 0)
                rc = EIO; /* never guess liveness from a record we cannot read */
            else
                rc = local_layers_add(&live, &r);
        } else if (k[0] == 'G') {
            if (local_page_decode(k, kl, v, vl, &layer, &p) != 0) {
                rc = EIO;
            } else if (!local_layers_has(&live, layer)) {
                if (t == NULL && (t = meta_txn_new()) == NULL) {
                    rc = ENOMEM;
                    break;
                }
                meta_txn_delete(t, k, kl);
                (*dropped)++;
                if (++pending == GC_BATCH) {
                    rc = meta_commit(m, t) == 0 ? 0 : EIO;
                    meta_txn_free(t);
                    t = NULL;
                    pending = 0;
                }
            }
        }
    }
    if (rc == 0 && meta_iter_status(it) != 0)
        rc = EIO;
    if (rc == 0 && pending > 0 && meta_commit(m, t) != 0)
        rc = EIO;
    meta_txn_free(t);
    meta_iter_free(it);
    arena_free(a);
    local_layers_free(&live);
    return rc;
}

/* ---- merge hints (engine.h, "Merging") ---------------------------------------------------
 * 'M' due(8, BE) id(8, BE) -> the blob (eng_hint_encode).  Keyed by due
 * time, so the purge round reads only the hints due; the id (an ETag value) keeps each hint its
 * own key, so one written while the round merges that blob is not lost when the round deletes
 * the hints it read. */

int
local_merge_hint(struct engine *e, const struct eng_blob *b, int64_t due)
{
    struct buf k = BUF_INIT, v = BUF_INIT;
    struct meta_txn *t = meta_txn_new();
    int rc = CO_EBACKEND;

    buf_u8(&k, 'M');
    buf_u64(&k, (uint64_t)due);
    buf_u64(&k, eng_next_etag(e));
    eng_hint_encode(&v, b);
    if (t != NULL && buf_ok(&k) && buf_ok(&v)) {
        meta_txn_put(t, k.p, k.len, v.p, v.len);
        rc = meta_commit(M(e), t) == 0 ? 0 : CO_EBACKEND;
    }
    meta_txn_free(t);
    buf_free(&k);
    buf_free(&v);
    return rc;
}

void
local_pages_merge_due(struct engine *e, int64_t now)
{
    struct buf hi = BUF_INIT;
    struct meta_iter *it;

    buf_u8(&hi, 'M');
    buf_u64(&hi, (uint64_t)now + 1);
    if (!buf_ok(&hi) || (it = meta_iter_new(M(e), "M", 1, hi.p, hi.len)) == NULL) {
        buf_free(&hi);
        return;
    }
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        struct arena *a = arena_new(SCRATCH_CAP);
        struct meta_txn *t;
        struct eng_blob b;
        uint64_t moved = 0;
        size_t kl, vl;
        const char *k = meta_iter_key(it, &kl), *v = meta_iter_value(it, &vl);
        int rc = a == NULL ? CO_EBACKEND : eng_hint_decode(a, v, vl, &b) != 0 ? 0 : 1;
        if (rc == 1)
            rc = eng_pages_merge(e, &b, &moved);
        if ((rc == 0 || rc == CO_ENOCONT) && (t = meta_txn_new()) != NULL) {
            meta_txn_delete(t, k, kl); /* done; else kept for the next round */
            (void)meta_commit(M(e), t);
            meta_txn_free(t);
        }
        arena_free(a);
    }
    meta_iter_free(it);
    buf_free(&hi);
}
