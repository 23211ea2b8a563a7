/*
 * memory_blob.c -- the in-memory engine's blob records, staged blocks, tags and copies.
 *
 * Records are one array sorted by (container id, name bytes, kind, id) -- kind ENG_CURRENT before
 * ENG_SNAPSHOT before ENG_VERSION, the listing order engine.h defines -- and staged blocks one
 * array sorted by (container id, name, block id).  Unlike the local engine this one keeps no
 * secondary index: what the indexes answer there (tags, protection, purge times, pending copies)
 * is found here by scanning the records, which is what a test engine can afford and what makes it
 * a second, independent reading of engine.h's contract.  Everything runs under the engine's one
 * mutex (memory_int.h).
 */
#include "engine/memory_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meta/meta.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/timefmt.h"

static int
kind_rank(char kind)
{
    return kind == ENG_CURRENT ? 0 : kind == ENG_SNAPSHOT ? 1 : 2;
}

static int
cmp_blob(const struct mem_blob *x, uint64_t cid, const char *name, size_t nlen, char kind,
         int64_t id)
{
    int c = (x->cid > cid) - (x->cid < cid);

    if (c == 0)
        c = bytes_cmp(x->name, x->nlen, name, nlen);
    if (c == 0)
        c = kind_rank(x->kind) - kind_rank(kind);
    if (c == 0)
        c = (x->id > id) - (x->id < id);
    return c;
}

/* Index of the first record >= the key; *found when equal. */
static size_t
blob_bound(const struct mem *m, uint64_t cid, const char *name, size_t nlen, char kind, int64_t id,
           int *found)
{
    size_t lo = 0, hi = m->nblobs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_blob(&m->blobs[mid], cid, name, nlen, kind, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < m->nblobs && cmp_blob(&m->blobs[lo], cid, name, nlen, kind, id) == 0;
    return lo;
}

static void
blob_drop(struct mem *m, size_t i)
{
    free(m->blobs[i].name);
    free(m->blobs[i].rec);
    memmove(&m->blobs[i], &m->blobs[i + 1], (m->nblobs - i - 1) * sizeof(*m->blobs));
    m->nblobs--;
}

/* Stores rec (NULL: removes the record) at the key.  0 or CO_EBACKEND. */
static int
blob_put(struct mem *m, uint64_t cid, const char *name, size_t nlen, char kind, int64_t id,
         const struct blob_rec *rec)
{
    struct buf v = BUF_INIT;
    struct mem_blob x = {cid, NULL, nlen, kind, id, NULL, 0};
    int found;
    size_t i = blob_bound(m, cid, name, nlen, kind, id, &found);

    if (rec == NULL) {
        if (found)
            blob_drop(m, i);
        return 0;
    }
    meta_blob_encode(rec, &v);
    if (!buf_ok(&v) || (x.rec = buf_steal(&v, &x.len)) == NULL) {
        buf_free(&v);
        return CO_EBACKEND;
    }
    if (found) {
        free(m->blobs[i].rec);
        m->blobs[i].rec = x.rec;
        m->blobs[i].len = x.len;
        return 0;
    }
    if ((x.name = malloc(nlen ? nlen : 1)) == NULL)
        goto oom;
    memcpy(x.name, name, nlen);
    if (m->nblobs == m->capblobs) {
        size_t cap = m->capblobs ? m->capblobs * 2 : 64;
        struct mem_blob *nv = realloc(m->blobs, cap * sizeof(*nv));
        if (nv == NULL)
            goto oom;
        m->blobs = nv;
        m->capblobs = cap;
    }
    memmove(&m->blobs[i + 1], &m->blobs[i], (m->nblobs - i) * sizeof(*m->blobs));
    m->blobs[i] = x;
    m->nblobs++;
    return 0;
oom:
    free(x.name);
    free(x.rec);
    return CO_EBACKEND;
}

static int
decode(struct arena *a, const struct mem_blob *x, struct blob_rec *r)
{
    return meta_blob_decode(a, x->rec, x->len, r) == 0 ? 0 : CO_EBACKEND;
}

int
mem_blob_get(struct engine *e, struct arena *a, const struct eng_blob *b, char kind, int64_t id,
             struct blob_rec *r)
{
    struct mem *m = MEM(e);
    int found, rc = CO_ENOTFOUND;
    size_t i;

    memset(r, 0, sizeof(*r));
    pthread_mutex_lock(&m->mu);
    i = blob_bound(m, b->cid, b->name, b->nlen, kind, kind == ENG_CURRENT ? 0 : id, &found);
    if (found)
        rc = decode(a, &m->blobs[i], r);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* ---- staged blocks ----------------------------------------------------------------------- */

static int
cmp_block(const struct mem_block *x, uint64_t cid, const char *name, size_t nlen, const char *bid,
          size_t blen)
{
    int c = (x->cid > cid) - (x->cid < cid);

    if (c == 0)
        c = bytes_cmp(x->name, x->nlen, name, nlen);
    if (c == 0)
        c = bytes_cmp(x->bid, x->blen, bid, blen);
    return c;
}

static size_t
block_bound(const struct mem *m, uint64_t cid, const char *name, size_t nlen, const char *bid,
            size_t blen, int *found)
{
    size_t lo = 0, hi = m->nblocks;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_block(&m->blocks[mid], cid, name, nlen, bid, blen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < m->nblocks && cmp_block(&m->blocks[lo], cid, name, nlen, bid, blen) == 0;
    return lo;
}

static void
block_drop(struct mem *m, size_t i)
{
    free(m->blocks[i].name);
    free(m->blocks[i].bid);
    memmove(&m->blocks[i], &m->blocks[i + 1], (m->nblocks - i - 1) * sizeof(*m->blocks));
    m->nblocks--;
}

static int
same_blob(const struct mem_block *x, uint64_t cid, const char *name, size_t nlen)
{
    return x->cid == cid && x->nlen == nlen && memcmp(x->name, name, nlen) == 0;
}

static void
drop_staged(struct mem *m, uint64_t cid, const char *name, size_t nlen)
{
    int found;
    size_t i = block_bound(m, cid, name, nlen, "", 0, &found);

    while (i < m->nblocks && same_blob(&m->blocks[i], cid, name, nlen))
        block_drop(m, i);
}

static int
stage_block(struct mem *m, const struct eng_blob *b, const struct block_ref *s)
{
    struct mem_block x = {b->cid, NULL, NULL, b->nlen, s->id_len, s->ext};
    int found;
    size_t i = block_bound(m, b->cid, b->name, b->nlen, s->id, s->id_len, &found);

    if (found) {
        m->blocks[i].ext = s->ext;
        return 0;
    }
    if ((x.name = malloc(b->nlen ? b->nlen : 1)) == NULL ||
        (x.bid = malloc(s->id_len ? s->id_len : 1)) == NULL)
        goto oom;
    memcpy(x.name, b->name, b->nlen);
    memcpy(x.bid, s->id, s->id_len);
    if (m->nblocks == m->capblocks) {
        size_t cap = m->capblocks ? m->capblocks * 2 : 64;
        struct mem_block *nv = realloc(m->blocks, cap * sizeof(*nv));
        if (nv == NULL)
            goto oom;
        m->blocks = nv;
        m->capblocks = cap;
    }
    memmove(&m->blocks[i + 1], &m->blocks[i], (m->nblocks - i) * sizeof(*m->blocks));
    m->blocks[i] = x;
    m->nblocks++;
    return 0;
oom:
    free(x.name);
    free(x.bid);
    return CO_EBACKEND;
}

int
mem_blocks_list(struct engine *e, struct arena *a, const struct eng_blob *b, size_t max,
                struct block_ref **out, size_t *n)
{
    struct mem *m = MEM(e);
    int found, rc = 0;
    size_t i, j, cnt = 0;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&m->mu);
    i = block_bound(m, b->cid, b->name, b->nlen, "", 0, &found);
    for (j = i; j < m->nblocks && cnt < max && same_blob(&m->blocks[j], b->cid, b->name, b->nlen);
         j++)
        cnt++;
    if (cnt > 0 && (*out = arena_alloc(a, sizeof(**out) * cnt)) == NULL)
        rc = CO_EBACKEND;
    for (j = 0; rc == 0 && j < cnt; j++) {
        const struct mem_block *x = &m->blocks[i + j];
        if (((*out)[j].id = arena_strndup(a, x->bid, x->blen)) == NULL)
            rc = CO_EBACKEND;
        (*out)[j].id_len = x->blen;
        (*out)[j].ext = x->ext;
    }
    if (rc == 0)
        *n = cnt;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* ---- the commit ---------------------------------------------------------------------------- */

/* 0 when the record at the key is `expect` (NULL: none), else CO_ECONFLICT or CO_EBACKEND. */
static int
record_is(struct mem *m, const struct eng_blob *b, const struct eng_write *w)
{
    struct buf want = BUF_INIT;
    int found, rc = CO_ECONFLICT;
    size_t i = blob_bound(m, b->cid, b->name, b->nlen, w->kind, w->kind ? w->id : 0, &found);

    if (!found || w->expect == NULL)
        return !found && w->expect == NULL ? 0 : CO_ECONFLICT;
    meta_blob_encode(w->expect, &want);
    if (!buf_ok(&want))
        rc = CO_EBACKEND;
    else if (want.len == m->blobs[i].len && memcmp(want.p, m->blobs[i].rec, want.len) == 0)
        rc = 0;
    buf_free(&want);
    return rc;
}

/* The commit of mem_blob_commit() and mem_page_commit(): stage may be NULL, npw 0. */
static int
commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
       const struct block_ref *stage, const struct eng_page_write *pw, size_t npw)
{
    struct mem *m = MEM(e);
    int rc = 0;

    pthread_mutex_lock(&m->mu);
    if (!mem_container_live(m, b->account, b->container, b->cid)) {
        rc = CO_ENOCONT;
        goto out;
    }
    /* Everything is checked before anything is written: the commit is all or nothing. */
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct eng_blob *wb = w[i].blob ? w[i].blob : b;
        if (w[i].blob != NULL && (w[i].rec != w[i].expect ||
                                  !mem_container_live(m, wb->account, wb->container, wb->cid)))
            rc = w[i].rec != w[i].expect ? CO_EBACKEND : CO_ECONFLICT;
        else
            rc = record_is(m, wb, &w[i]);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (w[i].blob != NULL || w[i].rec == w[i].expect)
            continue;
        rc = blob_put(m, b->cid, b->name, b->nlen, w[i].kind, w[i].kind ? w[i].id : 0, w[i].rec);
        if (rc == 0 && w[i].kind == ENG_CURRENT && eng_staged(w[i].expect) && !eng_staged(w[i].rec))
            drop_staged(m, b->cid, b->name, b->nlen);
    }
    if (rc == 0 && stage != NULL)
        rc = stage_block(m, b, stage);
    for (size_t i = 0; i < npw && rc == 0; i++)
        rc = mem_pages_apply(m, &pw[i]);
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int
mem_blob_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
                const struct block_ref *stage)
{
    return commit(e, b, w, n, stage, NULL, 0);
}

int
mem_page_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
                const struct eng_page_write *pw, size_t npw)
{
    return commit(e, b, w, n, NULL, pw, npw);
}

/* ---- snapshots and versions, listings ------------------------------------------------------ */

int
mem_blob_subs(struct engine *e, struct arena *a, const struct eng_blob *b, struct eng_entry **out,
              size_t *n)
{
    struct mem *m = MEM(e);
    int found, rc = 0;
    size_t i, cnt = 0;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&m->mu);
    i = blob_bound(m, b->cid, b->name, b->nlen, ENG_SNAPSHOT, INT64_MIN, &found);
    while (i + cnt < m->nblobs && m->blobs[i + cnt].cid == b->cid &&
           bytes_cmp(m->blobs[i + cnt].name, m->blobs[i + cnt].nlen, b->name, b->nlen) == 0)
        cnt++;
    if (cnt > 0 && (*out = arena_alloc(a, sizeof(**out) * cnt)) == NULL)
        rc = CO_EBACKEND;
    for (size_t j = 0; rc == 0 && j < cnt; j++) {
        const struct mem_blob *x = &m->blobs[i + j];
        (*out)[j].name = b->name;
        (*out)[j].nlen = b->nlen;
        (*out)[j].kind = x->kind;
        (*out)[j].id = x->id;
        rc = decode(a, x, &(*out)[j].rec);
    }
    if (rc == 0)
        *n = cnt;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static struct mem_iter *
iter_new(struct engine *e)
{
    struct mem_iter *it = calloc(1, sizeof(*it));

    if (it != NULL)
        it->base.e = e;
    return it;
}

/* Moves the listing's position to (name, kind, id); 0 or CO_EBACKEND. */
static int
set_pos(struct mem_iter *it, const char *name, size_t nlen, char kind, int64_t id, int after)
{
    char *copy = malloc(nlen ? nlen : 1);

    if (copy == NULL)
        return CO_EBACKEND;
    memcpy(copy, name, nlen);
    free(it->last);
    it->last = copy;
    it->lastlen = nlen;
    it->kind = kind;
    it->id = id;
    it->after = after;
    return 0;
}

int
mem_blob_list(struct engine *e, uint64_t cid, const char *prefix, size_t plen,
              const struct eng_pos *from, unsigned what, struct eng_iter **out)
{
    struct mem_iter *it = iter_new(e);
    int rc;

    *out = NULL;
    if (it == NULL || (it->prefix = malloc(plen ? plen : 1)) == NULL) {
        mem_iter_free(it ? &it->base : NULL);
        return CO_EBACKEND;
    }
    memcpy(it->prefix, prefix, plen);
    it->plen = plen;
    it->cid = cid;
    it->what = what;
    /* Start at the later of the prefix and `from`. */
    if (from != NULL && (bytes_cmp(from->name, from->nlen, prefix, plen) > 0 ||
                         (bytes_cmp(from->name, from->nlen, prefix, plen) == 0 && from->kind)))
        rc = set_pos(it, from->name, from->nlen, from->kind, from->id, 0);
    else
        rc = set_pos(it, prefix, plen, ENG_CURRENT, INT64_MIN, 0);
    if (rc != 0) {
        mem_iter_free(&it->base);
        return rc;
    }
    *out = &it->base;
    return 0;
}

static int
wanted(const struct mem_iter *it, char kind)
{
    return kind == ENG_CURRENT || (kind == ENG_SNAPSHOT && (it->what & ENG_LIST_SNAPSHOTS)) ||
           (kind == ENG_VERSION && (it->what & ENG_LIST_VERSIONS));
}

/* The entry after the position is found anew on every call, so the records may change between
 * calls (as a RocksDB iterator sees a snapshot, this sees the records as they are). */
int
mem_blob_next(struct eng_iter *base, struct arena *a, struct eng_entry *out)
{
    struct mem_iter *it = (struct mem_iter *)base;
    struct mem *m = MEM(it->base.e);
    int found, rc = 0;
    size_t i;

    pthread_mutex_lock(&m->mu);
    i = blob_bound(m, it->cid, it->last, it->lastlen, it->kind, it->id, &found);
    if (found && it->after)
        i++;
    for (; i < m->nblobs; i++) {
        const struct mem_blob *x = &m->blobs[i];
        if (x->cid != it->cid || x->nlen < it->plen || memcmp(x->name, it->prefix, it->plen) != 0)
            break;
        if (!wanted(it, x->kind))
            continue;
        if ((out->name = arena_strndup(a, x->name, x->nlen)) == NULL ||
            decode(a, x, &out->rec) != 0 || set_pos(it, x->name, x->nlen, x->kind, x->id, 1) != 0) {
            rc = CO_EBACKEND;
            break;
        }
        out->nlen = x->nlen;
        out->kind = x->kind;
        out->id = x->id;
        rc = 1;
        break;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int
mem_skip_past(struct eng_iter *base, const char *prefix, size_t len)
{
    struct mem_iter *it = (struct mem_iter *)base;
    struct buf k = BUF_INIT;
    int rc;

    /* 0xFF never occurs in UTF-8 names: prefix 0xFF sorts after every name under prefix. */
    buf_add(&k, prefix, len);
    buf_u8(&k, 0xff);
    rc = buf_ok(&k) ? set_pos(it, k.p, k.len, ENG_CURRENT, INT64_MIN, 0) : CO_EBACKEND;
    buf_free(&k);
    return rc;
}

/* ---- tags: a scan of the current records -------------------------------------------------- */

static int
cmp_tag_entry(const void *x, const void *y)
{
    const struct eng_tag_entry *a = x, *b = y;

    return bytes_cmp(a->pos, a->poslen, b->pos, b->poslen);
}

int
mem_tag_list(struct engine *e, uint64_t cid, const char *key, const char *from, size_t flen,
             const char *to, size_t tlen, struct eng_iter **out)
{
    struct mem *m = MEM(e);
    struct mem_iter *it = iter_new(e);
    struct arena *a = arena_new(SCRATCH_CAP);
    size_t cap = 0;
    int rc = 0, found;

    *out = NULL;
    if (it == NULL || a == NULL) {
        arena_free(a);
        mem_iter_free(it ? &it->base : NULL);
        return CO_EBACKEND;
    }
    pthread_mutex_lock(&m->mu);
    for (size_t i = blob_bound(m, cid, "", 0, ENG_CURRENT, 0, &found);
         rc == 0 && i < m->nblobs && m->blobs[i].cid == cid; i++) {
        const struct mem_blob *x = &m->blobs[i];
        struct blob_rec r;
        if (x->kind != ENG_CURRENT)
            continue;
        if ((rc = decode(a, x, &r)) != 0)
            break;
        if ((r.flags & BLOB_F_UNCOMMITTED) || r.deleted)
            continue; /* only committed, live current records are found by their tags */
        for (size_t t = 0; rc == 0 && t < r.ntags; t++) {
            size_t vlen = strlen(r.tags[t].value), plen = vlen + 1 + x->nlen;
            char *pos;
            if (strcmp(r.tags[t].name, key) != 0)
                continue;
            if ((pos = malloc(plen)) == NULL) {
                rc = CO_EBACKEND;
                break;
            }
            memcpy(pos, r.tags[t].value, vlen + 1);
            memcpy(pos + vlen + 1, x->name, x->nlen);
            if (bytes_cmp(pos, plen, from, flen) < 0 ||
                (to != NULL && bytes_cmp(pos, plen, to, tlen) >= 0)) {
                free(pos);
                continue;
            }
            if (it->ntags == cap) {
                size_t nc = cap ? cap * 2 : 16;
                struct eng_tag_entry *nt = realloc(it->tags, nc * sizeof(*nt));
                char **nb = realloc(it->tagbufs, nc * sizeof(*nb));
                if (nt != NULL)
                    it->tags = nt;
                if (nb != NULL)
                    it->tagbufs = nb;
                if (nt == NULL || nb == NULL) {
                    free(pos);
                    rc = CO_EBACKEND;
                    break;
                }
                cap = nc;
            }
            it->tags[it->ntags] = (struct eng_tag_entry){pos, pos + vlen + 1, x->nlen, pos, plen};
            it->tagbufs[it->ntags++] = pos;
        }
    }
    pthread_mutex_unlock(&m->mu);
    arena_free(a);
    if (rc != 0) {
        mem_iter_free(&it->base);
        return rc;
    }
    if (it->ntags > 1)
        qsort(it->tags, it->ntags, sizeof(*it->tags), cmp_tag_entry);
    *out = &it->base;
    return 0;
}

int
mem_tag_next(struct eng_iter *base, struct arena *a, struct eng_tag_entry *out)
{
    struct mem_iter *it = (struct mem_iter *)base;
    const struct eng_tag_entry *x;

    if (it->at == it->ntags)
        return 0;
    x = &it->tags[it->at++];
    if ((out->pos = arena_strndup(a, x->pos, x->poslen)) == NULL ||
        (out->value = arena_strdup(a, x->value)) == NULL)
        return CO_EBACKEND;
    out->poslen = x->poslen;
    out->name = out->pos + strlen(x->value) + 1;
    out->nlen = x->nlen;
    return 1;
}

/* ---- what the local engine's indexes answer, by scans ----------------------------------------- */

int
mem_container_protected(struct mem *m, uint64_t cid, int64_t now)
{
    struct arena *a = arena_new(SCRATCH_CAP);
    int found, held = -1;

    if (a == NULL)
        return 1; /* cannot tell: keep it */
    for (size_t i = blob_bound(m, cid, "", 0, ENG_CURRENT, 0, &found);
         i < m->nblobs && m->blobs[i].cid == cid; i++) {
        struct blob_rec r;
        if (decode(a, &m->blobs[i], &r) != 0) {
            held = 0; /* unreadable: kept, as if under a policy */
            break;
        }
        if (meta_blob_protected(&r, now)) {
            held = r.legal_hold;
            break;
        }
    }
    arena_free(a);
    return held < 0 ? 0 : held ? 2 : 1;
}

int
mem_worm_check(struct mem *m, const struct container_rec *c)
{
    int found, p;
    size_t i = blob_bound(m, c->id, "", 0, ENG_CURRENT, 0, &found);
    int any = i < m->nblobs && m->blobs[i].cid == c->id;

    if ((c->legal_hold || c->immutable_days > 0) && any)
        return c->legal_hold ? CO_EHELD : CO_EPOLICY;
    if ((p = mem_container_protected(m, c->id, ticks_now())) != 0)
        return p == 2 ? CO_EHELD : CO_EPOLICY;
    return 0;
}

void
mem_drop_container(struct mem *m, uint64_t cid)
{
    int found;
    size_t i = blob_bound(m, cid, "", 0, ENG_CURRENT, 0, &found), j = i;

    while (j < m->nblobs && m->blobs[j].cid == cid) {
        free(m->blobs[j].name);
        free(m->blobs[j].rec);
        j++;
    }
    if (j > i) {
        memmove(&m->blobs[i], &m->blobs[j], (m->nblobs - j) * sizeof(*m->blobs));
        m->nblobs -= j - i;
    }
    for (i = 0; i < m->nblocks;)
        if (m->blocks[i].cid == cid)
            block_drop(m, i);
        else
            i++;
}

long
mem_purge_blobs(struct mem *m, int64_t now)
{
    struct arena *a = arena_new(SCRATCH_CAP);
    long n = 0;

    if (a == NULL)
        return 0;
    for (size_t i = 0; i < m->nblobs;) {
        struct blob_rec r;
        struct mem_blob *x = &m->blobs[i];
        /* Soft-deleted records at the end of retention, live ones at their expiry. */
        if (decode(a, x, &r) == 0 && r.purge_at && r.purge_at <= now &&
            !meta_blob_protected(&r, now)) {
            if (x->kind == ENG_CURRENT && eng_staged(&r))
                drop_staged(m, x->cid, x->name, x->nlen);
            blob_drop(m, i);
            n++;
        } else {
            i++;
        }
    }
    arena_free(a);
    return n;
}

long
mem_copy_recover(struct engine *e, const char *description)
{
    struct mem *m = MEM(e);
    struct arena *a = arena_new(SCRATCH_CAP);
    long n = 0;

    if (a == NULL)
        return -1;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nblobs && n >= 0; i++) {
        struct mem_blob *x = &m->blobs[i];
        struct blob_rec r;
        if (x->kind != ENG_CURRENT || decode(a, x, &r) != 0 || r.copy.status != COPY_PENDING)
            continue;
        r.copy.status = COPY_FAILED;
        r.copy.completed = ticks_now();
        r.copy.description = description;
        r.modified = r.copy.completed;
        r.etag = mem_etag_locked(m);
        n = blob_put(m, x->cid, x->name, x->nlen, ENG_CURRENT, 0, &r) == 0 ? n + 1 : -1;
    }
    pthread_mutex_unlock(&m->mu);
    arena_free(a);
    return n;
}

void
mem_blobs_free(struct mem *m)
{
    for (size_t i = 0; i < m->nblobs; i++) {
        free(m->blobs[i].name);
        free(m->blobs[i].rec);
    }
    for (size_t i = 0; i < m->nblocks; i++) {
        free(m->blocks[i].name);
        free(m->blocks[i].bid);
    }
    free(m->blobs);
    free(m->blocks);
}
