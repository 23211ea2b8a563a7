/*
 * local_blob.c -- the local engine's blob records: reads, the compare-and-set commit, listings,
 * staged blocks, the tag index and pending copies, over meta/'s keys (meta.h).
 *
 * The commit (meta.h M1-M4 hold here and nowhere else):
 *   1. under meta/'s container lock (read), each container the commit touches is checked to be
 *      the live one with the id the caller looked up (M3) -- Delete Container takes that lock for
 *      writing, so it never runs between the check and the commit;
 *   2. the stripe locks of the blobs touched, in increasing order (no deadlock between a copy and
 *      a copy the other way round) (M2);
 *   3. every record is read and compared with what the caller read (both re-encoded, so a record
 *      stored in an older format compares equal to its decoded self);
 *   4. one batch: the records, and what follows from them -- the protection index entry of a
 *      protected record (M4), the purge entry of a soft-deleted one, the tag index entries of the
 *      current record (tags.c's T1/T2), the pending-copy marker (copykey.h, C1), the staged
 *      blocks dropped when the current record stops saying they exist -- committed synced (M1).
 */
#include "engine/local_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meta/copykey.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/timefmt.h"

#define MAX_STRIPES 8 /* distinct blobs one commit may touch (its own and a copy source) */

static void
rec_key(struct buf *k, uint64_t cid, const char *name, size_t nlen, char kind, int64_t id)
{
    if (kind == ENG_CURRENT)
        meta_key_blob(k, cid, name, nlen);
    else
        meta_key_blob_sub(k, cid, name, nlen, kind, id);
}

/* Reads and decodes the record at key k into r (zeroed when there is none). */
static int
get_at(struct meta *m, struct arena *a, const struct buf *k, struct blob_rec *r)
{
    char *v;
    size_t vl;
    int rc;

    memset(r, 0, sizeof(*r));
    if (!buf_ok(k))
        return CO_EBACKEND;
    rc = meta_get(m, k->p, k->len, a, &v, &vl);
    if (rc == 0 && meta_blob_decode(a, v, vl, r) != 0)
        rc = CO_EBACKEND;
    return rc;
}

int
local_blob_get(struct engine *e, struct arena *a, const struct eng_blob *b, char kind, int64_t id,
               struct blob_rec *r)
{
    struct buf k = BUF_INIT;
    int rc;

    rec_key(&k, b->cid, b->name, b->nlen, kind, id);
    rc = get_at(M(e), a, &k, r);
    buf_free(&k);
    return rc;
}

/* ---- the commit ---------------------------------------------------------------------------- */

/* 0 when the record at k is `expect` (NULL: there is none), else CO_ECONFLICT or CO_EBACKEND. */
static int
record_is(struct meta *m, struct arena *a, const struct buf *k, const struct blob_rec *expect)
{
    struct buf have = BUF_INIT, want = BUF_INIT;
    struct blob_rec cur;
    int rc = get_at(m, a, k, &cur);

    if (rc == CO_ENOTFOUND)
        return expect == NULL ? 0 : CO_ECONFLICT;
    if (rc != 0 || expect == NULL)
        return rc != 0 ? rc : CO_ECONFLICT;
    meta_blob_encode(&cur, &have);
    meta_blob_encode(expect, &want);
    if (!buf_ok(&have) || !buf_ok(&want))
        rc = CO_EBACKEND;
    else if (have.len != want.len || memcmp(have.p, want.p, have.len) != 0)
        rc = CO_ECONFLICT;
    buf_free(&have);
    buf_free(&want);
    return rc;
}

/* Adds to t the delete (del != 0) or put of the tag entries of `from` that `other` lacks. */
static int
index_diff(struct meta_txn *t, const struct eng_blob *b, const struct blob_rec *from,
           const struct blob_rec *other, int del)
{
    struct buf k = BUF_INIT;
    int ok = 1;

    for (size_t i = 0; from != NULL && i < from->ntags && ok; i++) {
        if (eng_has_pair(other, &from->tags[i]))
            continue;
        buf_reset(&k);
        meta_key_tag(&k, b->cid, from->tags[i].name, from->tags[i].value, b->name, b->nlen);
        if (!(ok = buf_ok(&k)))
            break;
        if (del)
            meta_txn_delete(t, k.p, k.len);
        else
            meta_txn_put(t, k.p, k.len, "", 0);
    }
    buf_free(&k);
    return ok ? 0 : -1;
}

/* Adds to t the removal of every staged block of blob b (point deletions: RocksDB reads pay for
 * range tombstones long after). */
static int
drop_staged(struct meta *m, struct meta_txn *t, const struct eng_blob *b)
{
    struct buf lo = BUF_INIT, hi = BUF_INIT;
    struct meta_iter *it = NULL;
    int rc = CO_EBACKEND;

    meta_key_block_range(&lo, &hi, b->cid, b->name, b->nlen);
    if (buf_ok(&lo) && buf_ok(&hi) && (it = meta_iter_new(m, lo.p, lo.len, hi.p, hi.len)) != NULL) {
        for (; meta_iter_valid(it); meta_iter_next(it)) {
            size_t kl;
            const char *k = meta_iter_key(it, &kl);
            meta_txn_delete(t, k, kl);
        }
        rc = meta_iter_status(it) == 0 ? 0 : CO_EBACKEND;
    }
    meta_iter_free(it);
    buf_free(&lo);
    buf_free(&hi);
    return rc;
}

/* What follows from the current record changing from `old` to `rec` (either NULL): tag index
 * entries, the pending-copy marker and the staged blocks. */
static int
current_follows(struct meta *m, struct meta_txn *t, const struct eng_blob *b,
                const struct blob_rec *old, const struct blob_rec *rec)
{
    struct buf k = BUF_INIT;
    int rc = 0;

    if (index_diff(t, b, eng_indexed(old), eng_indexed(rec), 1) != 0 ||
        index_diff(t, b, eng_indexed(rec), eng_indexed(old), 0) != 0)
        return CO_EBACKEND;
    if (eng_copy_pending(old) || eng_copy_pending(rec)) {
        meta_key_copy_pending(&k, b->cid, b->name, b->nlen);
        if (!buf_ok(&k))
            rc = CO_EBACKEND;
        else if (eng_copy_pending(rec))
            meta_txn_put(t, k.p, k.len, rec->copy.id, strlen(rec->copy.id));
        else
            meta_txn_delete(t, k.p, k.len);
        buf_free(&k);
    }
    if (rc == 0 && eng_staged(old) && !eng_staged(rec))
        rc = drop_staged(m, t, b);
    return rc;
}

int
local_purge_follow(void *ctx, struct meta_txn *t, uint64_t cid, const char *name, size_t nlen,
                   const struct blob_rec *old)
{
    struct eng_blob b = {NULL, NULL, cid, name, nlen};

    return current_follows(ctx, t, &b, old, NULL);
}

/* Adds one write of the commit's own blob to t. */
static int
add_write(struct meta *m, struct meta_txn *t, const struct eng_blob *b, const struct eng_write *w,
          const struct buf *k)
{
    const struct blob_rec *old = w->expect, *rec = w->rec;
    struct buf v = BUF_INIT;

    /* A purge entry follows the record's purge time: a soft delete's end or an expiry. */
    if (old != NULL && meta_txn_purge_mark(t, old->purge_at, k->p, k->len, 0) != 0)
        return CO_EBACKEND;
    if (rec != NULL) {
        meta_blob_encode(rec, &v);
        if (!buf_ok(&v) || meta_txn_index_protection(t, k->p, k->len, rec) != 0) {
            buf_free(&v);
            return CO_EBACKEND;
        }
        meta_txn_put(t, k->p, k->len, v.p, v.len);
        buf_free(&v);
        if (meta_txn_purge_mark(t, rec->purge_at, k->p, k->len, 1) != 0)
            return CO_EBACKEND;
    } else {
        meta_txn_delete(t, k->p, k->len);
    }
    /* The protection index entry goes when nothing protects the record at the key any more. */
    if (eng_carries_protection(old) && !eng_carries_protection(rec) &&
        meta_txn_unindex_protection(t, k->p, k->len) != 0)
        return CO_EBACKEND;
    return w->kind == ENG_CURRENT ? current_follows(m, t, b, old, rec) : 0;
}

static int
cmp_unsigned(const void *x, const void *y)
{
    unsigned a = *(const unsigned *)x, b = *(const unsigned *)y;

    return (a > b) - (a < b);
}

/* The commit of local_blob_commit() and local_page_commit(): stage may be NULL, npw 0. */
static int
commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
       const struct block_ref *stage, const struct eng_page_write *pw, size_t npw)
{
    struct meta *m = M(e);
    struct arena *a = arena_new(SCRATCH_CAP);
    struct meta_txn *t = meta_txn_new();
    struct buf k = BUF_INIT, v = BUF_INIT;
    unsigned stripes[MAX_STRIPES];
    size_t ns = 0, held = 0;
    int rc = CO_EBACKEND;

    if (a == NULL || t == NULL)
        goto free;
    stripes[ns++] = meta_blob_stripe(b->cid, b->name, b->nlen);
    for (size_t i = 0; i < n; i++)
        if (w[i].blob != NULL && ns < MAX_STRIPES)
            stripes[ns++] = meta_blob_stripe(w[i].blob->cid, w[i].blob->name, w[i].blob->nlen);
    qsort(stripes, ns, sizeof(*stripes), cmp_unsigned);
    meta_containers_rdlock(m);
    rc = CO_ENOCONT;
    if (!meta_container_current(m, a, b->account, b->container, b->cid))
        goto unlock;
    rc = CO_ECONFLICT; /* another blob's container went: that record is not what was read */
    for (size_t i = 0; i < n; i++)
        if (w[i].blob != NULL &&
            !meta_container_current(m, a, w[i].blob->account, w[i].blob->container, w[i].blob->cid))
            goto unlock;
    for (; held < ns; held++)
        if (held == 0 || stripes[held] != stripes[held - 1])
            meta_stripe_lock(m, stripes[held]);
    for (size_t i = 0; i < n; i++) {
        const struct eng_blob *wb = w[i].blob != NULL ? w[i].blob : b;
        buf_reset(&k);
        rec_key(&k, wb->cid, wb->name, wb->nlen, w[i].kind, w[i].id);
        if ((rc = record_is(m, a, &k, w[i].expect)) != 0)
            goto unlock;
        if (w[i].rec == w[i].expect)
            continue; /* a check only */
        rc = CO_EBACKEND;
        if (w[i].blob != NULL || (rc = add_write(m, t, b, &w[i], &k)) != 0)
            goto unlock;
    }
    if (stage != NULL) {
        buf_reset(&k);
        meta_key_block(&k, b->cid, b->name, b->nlen, stage->id, stage->id_len);
        meta_extent_encode(&stage->ext, &v);
        rc = CO_EBACKEND;
        if (!buf_ok(&k) || !buf_ok(&v))
            goto unlock;
        meta_txn_put(t, k.p, k.len, v.p, v.len);
    }
    for (size_t i = 0; i < npw; i++)
        if ((rc = local_pages_apply(m, t, a, &pw[i])) != 0)
            goto unlock;
    rc = meta_commit(m, t);
unlock:
    while (held-- > 0)
        if (held == 0 || stripes[held] != stripes[held - 1])
            meta_stripe_unlock(m, stripes[held]);
    meta_containers_unlock(m);
free:
    meta_txn_free(t);
    arena_free(a);
    buf_free(&k);
    buf_free(&v);
    return rc;
}

int
local_blob_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
                  const struct block_ref *stage)
{
    return commit(e, b, w, n, stage, NULL, 0);
}

int
local_page_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
                  const struct eng_page_write *pw, size_t npw)
{
    return commit(e, b, w, n, NULL, pw, npw);
}

/* ---- snapshots and versions of one blob --------------------------------------------------- */

/* Appends an entry to a growing array in the arena. */
static struct eng_entry *
grow(struct arena *a, struct eng_entry **v, size_t n, size_t *cap)
{
    if (n == *cap) {
        struct eng_entry *nv = arena_alloc(a, sizeof(*nv) * (*cap = *cap * 2 + 8));
        if (nv == NULL)
            return NULL;
        if (n)
            memcpy(nv, *v, sizeof(*nv) * n);
        *v = nv;
    }
    return &(*v)[n];
}

int
local_blob_subs(struct engine *e, struct arena *a, const struct eng_blob *b, struct eng_entry **out,
                size_t *n)
{
    struct buf lo = BUF_INIT, hi = BUF_INIT;
    struct meta_iter *it = NULL;
    size_t cap = 0;
    int rc = CO_EBACKEND;

    *out = NULL;
    *n = 0;
    meta_key_blob_subs(&lo, &hi, b->cid, b->name, b->nlen);
    if (!buf_ok(&lo) || !buf_ok(&hi) ||
        (it = meta_iter_new(M(e), lo.p, lo.len, hi.p, hi.len)) == NULL)
        goto out;
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        size_t kl, vl;
        const char *k = meta_iter_key(it, &kl), *v = meta_iter_value(it, &vl);
        struct eng_entry *x;
        if (kl != lo.len + 9)
            continue;
        if ((x = grow(a, out, *n, &cap)) == NULL || meta_blob_decode(a, v, vl, &x->rec) != 0)
            goto out;
        x->name = b->name;
        x->nlen = b->nlen;
        x->kind = k[lo.len];
        x->id = (int64_t)get_be64(k + lo.len + 1);
        (*n)++;
    }
    rc = meta_iter_status(it) == 0 ? 0 : CO_EBACKEND;
out:
    meta_iter_free(it);
    buf_free(&lo);
    buf_free(&hi);
    return rc;
}

/* ---- List Blobs ---------------------------------------------------------------------------- */

/* Moves the cursor to the first key after every key that begins with key[0..len) followed by a
 * byte below `next`. */
static int
seek_past(struct meta_iter *it, const char *key, size_t len, uint8_t next)
{
    struct buf s = BUF_INIT;
    int ok;

    buf_add(&s, key, len);
    buf_u8(&s, next);
    if ((ok = buf_ok(&s)))
        meta_iter_seek(it, s.p, s.len);
    buf_free(&s);
    return ok ? 0 : CO_EBACKEND;
}

/* The key suffix a listing position names: name [0x00 kind id]. */
static void
pos_bytes(struct buf *s, const struct eng_pos *p)
{
    buf_add(s, p->name, p->nlen);
    if (p->kind != ENG_CURRENT) {
        buf_u8(s, 0);
        buf_u8(s, (uint8_t)p->kind);
        buf_u64(s, (uint64_t)p->id);
    }
}

int
local_blob_list(struct engine *e, uint64_t cid, const char *prefix, size_t plen,
                const struct eng_pos *from, unsigned what, struct eng_iter **out)
{
    struct local_iter *it = calloc(1, sizeof(*it) + plen + 1);
    struct buf lo = BUF_INIT, hi = BUF_INIT, seek = BUF_INIT, f = BUF_INIT;
    int rc = CO_EBACKEND;

    *out = NULL;
    if (it == NULL)
        return CO_EBACKEND;
    it->base.e = e;
    it->sides = 1;
    it->what = what;
    it->prefix = memcpy((char *)(it + 1), prefix, plen);
    it->plen = plen;
    meta_key_blob_range(&lo, &hi, cid);
    if (from != NULL)
        pos_bytes(&f, from);
    /* Start at the later of the prefix and `from`. */
    buf_add(&seek, lo.p, lo.len);
    if (from != NULL && buf_ok(&f) && bytes_cmp(f.p, f.len, prefix, plen) > 0)
        buf_add(&seek, f.p, f.len);
    else
        buf_add(&seek, prefix, plen);
    if (buf_ok(&lo) && buf_ok(&hi) && buf_ok(&seek) && buf_ok(&f) && lo.len <= sizeof(it->key) &&
        (it->side[0].it = meta_iter_new(M(e), seek.p, seek.len, hi.p, hi.len)) != NULL) {
        memcpy(it->key, lo.p, lo.len);
        it->side[0].base = lo.len;
        *out = &it->base;
        rc = 0;
    } else {
        local_iter_free(&it->base);
    }
    buf_free(&lo);
    buf_free(&hi);
    buf_free(&seek);
    buf_free(&f);
    return rc;
}

int
local_blob_next(struct eng_iter *base, struct arena *a, struct eng_entry *out)
{
    struct local_iter *it = (struct local_iter *)base;
    struct meta_iter *mi = it->side[0].it;
    size_t bl = it->side[0].base;

    while (meta_iter_valid(mi)) {
        size_t klen, vlen;
        const char *k = meta_iter_key(mi, &klen), *name = k + bl, *zero, *v;
        size_t nlen = klen - bl;
        char kind = ENG_CURRENT;
        int64_t id = 0;

        if ((zero = memchr(name, 0, nlen)) != NULL) { /* a snapshot or version (meta.h) */
            if (nlen - (size_t)(zero - name) != 10) {
                meta_iter_next(mi);
                continue;
            }
            nlen = (size_t)(zero - name);
            kind = zero[1];
            id = (int64_t)get_be64(zero + 2);
        }
        if (nlen < it->plen || memcmp(name, it->prefix, it->plen) != 0)
            return 0;
        if ((kind == ENG_SNAPSHOT && !(it->what & ENG_LIST_SNAPSHOTS)) ||
            (kind == ENG_VERSION && !(it->what & ENG_LIST_VERSIONS))) {
            /* Not asked for: past all of this blob's snapshots (or versions) at once. */
            if (seek_past(mi, k, bl + nlen + 1, (uint8_t)(kind + 1)) != 0)
                return CO_EBACKEND;
            continue;
        }
        v = meta_iter_value(mi, &vlen);
        if ((out->name = arena_strndup(a, name, nlen)) == NULL ||
            meta_blob_decode(a, v, vlen, &out->rec) != 0)
            return CO_EBACKEND;
        out->nlen = nlen;
        out->kind = kind;
        out->id = id;
        meta_iter_next(mi);
        return 1;
    }
    return meta_iter_status(mi) == 0 ? 0 : CO_EBACKEND;
}

int
local_skip_past(struct eng_iter *base, const char *prefix, size_t len)
{
    struct local_iter *it = (struct local_iter *)base;
    struct buf k = BUF_INIT;
    int rc;

    /* 0xFF never occurs in UTF-8 names: key bytes, prefix, 0xFF is past all of them. */
    buf_add(&k, it->key, it->side[0].base);
    buf_add(&k, prefix, len);
    rc = buf_ok(&k) ? seek_past(it->side[0].it, k.p, k.len, 0xff) : CO_EBACKEND;
    buf_free(&k);
    return rc;
}

/* ---- staged blocks ----------------------------------------------------------------------- */

int
local_blocks_list(struct engine *e, struct arena *a, const struct eng_blob *b, size_t max,
                  struct block_ref **out, size_t *n)
{
    struct buf lo = BUF_INIT, hi = BUF_INIT;
    struct meta_iter *it = NULL;
    size_t cap = 0;
    int rc = CO_EBACKEND;

    *out = NULL;
    *n = 0;
    meta_key_block_range(&lo, &hi, b->cid, b->name, b->nlen);
    if (!buf_ok(&lo) || !buf_ok(&hi) ||
        (it = meta_iter_new(M(e), lo.p, lo.len, hi.p, hi.len)) == NULL)
        goto out;
    for (; *n < max && meta_iter_valid(it); meta_iter_next(it)) {
        size_t kl, vl;
        const char *k = meta_iter_key(it, &kl), *v = meta_iter_value(it, &vl);
        struct block_ref *x;
        if (*n == cap) {
            struct block_ref *nv = arena_alloc(a, sizeof(*nv) * (cap = cap * 2 + 8));
            if (nv == NULL)
                goto out;
            if (*n)
                memcpy(nv, *out, sizeof(*nv) * *n);
            *out = nv;
        }
        x = &(*out)[*n];
        x->id_len = kl - lo.len;
        if ((x->id = arena_strndup(a, k + lo.len, x->id_len)) == NULL ||
            meta_extent_decode(v, vl, &x->ext) != 0)
            goto out;
        (*n)++;
    }
    rc = meta_iter_status(it) == 0 ? 0 : CO_EBACKEND;
out:
    meta_iter_free(it);
    buf_free(&lo);
    buf_free(&hi);
    return rc;
}

/* ---- the tag index ------------------------------------------------------------------------- */

int
local_tag_list(struct engine *e, uint64_t cid, const char *key, const char *from, size_t flen,
               const char *to, size_t tlen, struct eng_iter **out)
{
    struct local_iter *it = calloc(1, sizeof(*it));
    struct buf lo = BUF_INIT, hi = BUF_INIT;
    int rc = CO_EBACKEND;

    *out = NULL;
    if (it == NULL)
        return CO_EBACKEND;
    it->base.e = e;
    it->sides = 1;
    meta_key_tag(&lo, cid, key, NULL, NULL, 0); /* 'T' cid key 0x00 */
    it->side[0].base = lo.len;
    buf_add(&hi, lo.p, lo.len);
    if (to != NULL)
        buf_add(&hi, to, tlen);
    else if (buf_ok(&hi))
        hi.p[hi.len - 1] = 1; /* 'T' cid key 0x01: just past every entry of the key */
    buf_add(&lo, from, flen);
    if (buf_ok(&lo) && buf_ok(&hi) &&
        (it->side[0].it = meta_iter_new(M(e), lo.p, lo.len, hi.p, hi.len)) != NULL) {
        *out = &it->base;
        rc = 0;
    } else {
        local_iter_free(&it->base);
    }
    buf_free(&lo);
    buf_free(&hi);
    return rc;
}

int
local_tag_next(struct eng_iter *base, struct arena *a, struct eng_tag_entry *out)
{
    struct local_iter *it = (struct local_iter *)base;
    struct meta_iter *mi = it->side[0].it;
    size_t bl = it->side[0].base;

    for (; meta_iter_valid(mi); meta_iter_next(mi)) {
        size_t klen, at_len, vlen;
        const char *k = meta_iter_key(mi, &klen), *at = k + bl;

        if (klen <= bl)
            continue;
        at_len = klen - bl;
        if ((vlen = strnlen(at, at_len)) == at_len)
            continue; /* not an entry: value 0x00 name */
        if ((out->pos = arena_strndup(a, at, at_len)) == NULL ||
            (out->value = arena_strndup(a, at, vlen)) == NULL)
            return CO_EBACKEND;
        out->poslen = at_len;
        out->name = out->pos + vlen + 1;
        out->nlen = at_len - vlen - 1;
        meta_iter_next(mi);
        return 1;
    }
    return meta_iter_status(mi) == 0 ? 0 : CO_EBACKEND;
}

/* ---- pending copies (copykey.h) ------------------------------------------------------------ */

long
local_copy_recover(struct engine *e, const char *description)
{
    static const char lo[1] = {META_COPY_MARK}, hi[1] = {META_COPY_MARK + 1};
    struct meta *m = M(e);
    struct meta_iter *it = meta_iter_new(m, lo, 1, hi, 1);
    struct meta_txn *t = meta_txn_new();
    struct arena *a = arena_new(SCRATCH_CAP);
    struct buf k = BUF_INIT, v = BUF_INIT;
    long n = 0;

    if (it == NULL || t == NULL || a == NULL) {
        n = -1;
        goto out;
    }
    for (; meta_iter_valid(it) && n >= 0; meta_iter_next(it)) {
        size_t kl, vl;
        const char *mk = meta_iter_key(it, &kl), *mv = meta_iter_value(it, &vl);
        struct blob_rec r;
        uint64_t cid;

        if (kl < 9)
            continue;
        cid = get_be64(mk + 1);
        if (meta_blob_get(m, a, cid, mk + 9, kl - 9, &r) == 0 && r.copy.status == COPY_PENDING &&
            strlen(r.copy.id) == vl && strncasecmp(r.copy.id, mv, vl) == 0) {
            r.copy.status = COPY_FAILED;
            r.copy.completed = ticks_now();
            r.copy.description = description;
            r.modified = r.copy.completed;
            r.etag = meta_next_etag(m);
            buf_reset(&k);
            buf_reset(&v);
            meta_key_blob(&k, cid, mk + 9, kl - 9);
            meta_blob_encode(&r, &v);
            if (!buf_ok(&k) || !buf_ok(&v))
                n = -1;
            else {
                meta_txn_put(t, k.p, k.len, v.p, v.len);
                n++;
            }
        }
        meta_txn_delete(t, mk, kl);
    }
    if (n >= 0 && (meta_iter_status(it) != 0 || meta_commit(m, t) != 0))
        n = -1;
out:
    meta_iter_free(it);
    meta_txn_free(t);
    arena_free(a);
    buf_free(&k);
    buf_free(&v);
    return n;
}
