/*
 * merge.c -- merging a page blob's inseparable page map layers (engine.h, "Merging"), for every
 * engine: the hints commits leave (eng_pages_hint, through each engine's merge_hint) and the
 * merge the engines' purge rounds run for the blobs whose hints are due (eng_pages_merge).
 *
 * A merge moves the upper layer's entries down into the lower one a step at a time, each step
 * one commit that stores in the lower layer what the two hold over a range and cuts that range
 * from the upper one -- so every record, and every reader that holds a record's layer list, reads
 * the same bytes before and after it -- then drops the emptied layer from every record naming it
 * in one more commit.  Each step checks a record naming both layers: a writer of the blob, or a
 * delete, makes it fail, and the merge starts over from the records it reads again.
 */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/metrics.h"
#include "util/timefmt.h"

static int64_t merge_delay = 3600 * TICKS_PER_SEC;

void
eng_set_merge_delay(int64_t ticks)
{
    __atomic_store_n(&merge_delay, ticks, __ATOMIC_RELAXED);
}

int
eng_pages_hint(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n)
{
    int64_t now = ticks_now(), due = 0, at;

    for (size_t i = 0; i < n; i++) {
        const struct blob_rec *x = w[i].expect, *y = w[i].rec;
        if (w[i].blob != NULL || y == x)
            continue;
        if (x == NULL && y != NULL && y->nlayers > 0)
            return 0; /* a new record takes the layers: a snapshot or a version, no pair */
        if (x == NULL || x->nlayers == 0)
            continue;
        if (y == NULL || y->nlayers != x->nlayers ||
            memcmp(y->layers, x->layers, sizeof(*x->layers) * x->nlayers) != 0)
            at = now; /* removed, or its layers changed */
        else if (y->deleted != 0 && x->deleted == 0)
            at = y->purge_at > now ? y->purge_at : now; /* soft-deleted: gone when purged */
        else
            continue;
        at += __atomic_load_n(&merge_delay, __ATOMIC_RELAXED);
        due = at > due ? at : due;
    }
    return due != 0 ? e->ops->merge_hint(e, b, due) : 0;
}

void
eng_hint_encode(struct buf *v, const struct eng_blob *b)
{
    buf_puts(v, b->account);
    buf_u8(v, 0);
    buf_puts(v, b->container);
    buf_u8(v, 0);
    buf_u64(v, b->cid);
    buf_add(v, b->name, b->nlen);
}

int
eng_hint_decode(struct arena *a, const char *v, size_t vl, struct eng_blob *b)
{
    size_t al = strnlen(v, vl), cl;
    const char *cont = v + al + 1, *rest;
    uint64_t cid = 0;

    if (al == vl)
        return -1;
    cl = strnlen(cont, (size_t)(v + vl - cont));
    rest = cont + cl + 1;
    if (cont + cl == v + vl || rest + 8 > v + vl)
        return -1;
    for (int i = 0; i < 8; i++)
        cid = cid << 8 | (unsigned char)rest[i];
    *b = (struct eng_blob){arena_strndup(a, v, al), arena_strndup(a, cont, cl), cid, rest + 8,
                           (size_t)(v + vl - rest - 8)};
    return b->account != NULL && b->container != NULL ? 0 : -1;
}

static int
cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

    return (a > b) - (a < b);
}

static int
cmp_pair(const void *x, const void *y)
{
    int c = cmp_u64(x, y);

    return c != 0 ? c : cmp_u64((const uint64_t *)x + 1, (const uint64_t *)y + 1);
}

/* How many of sorted v[0..n) are x. */
static size_t
count(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n, c = 0;

    while (lo < hi) { /* the first not below x */
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (lo + c < n && v[lo + c] == x)
        c++;
    return c;
}

/*
 * An inseparable pair of layers among recs[0..n): u named as often as l, and as often as the two
 * are named adjacent, u over l.  1 with *u, *l; 0 when there is none; -1 out of memory.
 */
static int
find_pair(struct arena *a, const struct blob_rec *const *recs, size_t n, uint64_t *u, uint64_t *l)
{
    size_t total = 0, nl = 0, np = 0;
    uint64_t *layers, *pairs;

    for (size_t i = 0; i < n; i++)
        total += recs[i]->nlayers;
    if (total < 2)
        return 0;
    if ((layers = arena_alloc(a, sizeof(*layers) * total)) == NULL ||
        (pairs = arena_alloc(a, sizeof(*pairs) * 2 * total)) == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < recs[i]->nlayers; j++) {
            layers[nl++] = recs[i]->layers[j];
            if (j + 1 < recs[i]->nlayers) {
                pairs[2 * np] = recs[i]->layers[j];
                pairs[2 * np++ + 1] = recs[i]->layers[j + 1];
            }
        }
    qsort(layers, nl, sizeof(*layers), cmp_u64);
    qsort(pairs, np, 2 * sizeof(*pairs), cmp_pair);
    for (size_t i = 0, c; i < np; i += c) {
        for (c = 1; i + c < np && pairs[2 * (i + c)] == pairs[2 * i] &&
                    pairs[2 * (i + c) + 1] == pairs[2 * i + 1];
             c++)
            ;
        if (count(layers, nl, pairs[2 * i]) == c && count(layers, nl, pairs[2 * i + 1]) == c) {
            *u = pairs[2 * i];
            *l = pairs[2 * i + 1];
            return 1;
        }
    }
    return 0;
}

/* Whether r names layer x. */
static int
names(const struct blob_rec *r, uint64_t x)
{
    for (size_t i = 0; i < r->nlayers; i++)
        if (r->layers[i] == x)
            return 1;
    return 0;
}

/*
 * Moves u's entries down into l: each step takes what [u, l] hold over a range with at most
 * ENG_PAGE_STEP entries of each, stores it in l and cuts it from u, in one commit that checks
 * the record *w (one that names both: a writer or a delete then makes the step fail, and the
 * merge starts over from the records).  0 once u holds nothing, CO_ECONFLICT, CO_EBACKEND.
 */
static int
move_down(struct engine *e, const struct eng_blob *b, const struct eng_write *w, uint64_t u,
          uint64_t l, uint64_t *moved)
{
    const uint64_t pair[2] = {u, l};
    int rc = 0;

    for (uint64_t pos = 0; rc == 0;) {
        struct arena *a = arena_new(8u << 20);
        struct eng_page *first, *r;
        size_t n, nr;
        uint64_t s, upto;
        if (a == NULL)
            return CO_EBACKEND;
        if ((rc = eng_page_list(e, a, b, u, pos, UINT64_MAX, 1, &first, &n)) == 0 && n == 0) {
            arena_free(a);
            return 0;
        }
        s = n > 0 ? first[0].off : pos;
        if (rc == 0 && (rc = eng_pages_resolve(e, a, b, pair, 2, s, UINT64_MAX, ENG_PAGE_STEP, &r,
                                               &nr, &upto)) == 0) {
            if (upto == UINT64_MAX) /* complete: up to the last entry's end */
                upto = nr > 0 ? r[nr - 1].off + r[nr - 1].len : s + 1;
            struct eng_page_write pw[2] = {{l, s, upto - s, r, nr}, {u, s, upto - s, NULL, 0}};
            if ((rc = e->ops->page_commit(e, b, w, 1, pw, 2)) == 0) {
                *moved += nr;
                metric_add(M_PAGE_ENTRIES_MERGED, (int64_t)nr);
            }
            pos = upto;
        }
        arena_free(a);
    }
    return rc;
}

/* Drops u from every record of recs[0..n) (kinds[i], ids[i]) that names it, in one commit that
 * checks them all.  0, CO_ECONFLICT, CO_EBACKEND. */
static int
drop_layer(struct engine *e, struct arena *a, const struct eng_blob *b,
           const struct blob_rec *const *recs, const char *kinds, const int64_t *ids, size_t n,
           uint64_t u)
{
    struct eng_write *w = arena_alloc(a, sizeof(*w) * (n + 1));
    size_t nw = 0;

    if (w == NULL)
        return CO_EBACKEND;
    for (size_t i = 0; i < n; i++) {
        struct blob_rec *y;
        uint64_t *lv;
        size_t k = 0;
        if (!names(recs[i], u))
            continue;
        if ((y = arena_alloc(a, sizeof(*y))) == NULL ||
            (lv = arena_alloc(a, sizeof(*lv) * recs[i]->nlayers)) == NULL)
            return CO_EBACKEND;
        for (size_t j = 0; j < recs[i]->nlayers; j++)
            if (recs[i]->layers[j] != u)
                lv[k++] = recs[i]->layers[j];
        *y = *recs[i];
        y->layers = lv;
        y->nlayers = k;
        w[nw++] = (struct eng_write){NULL, kinds[i], ids[i], recs[i], y};
    }
    return nw > 0 ? e->ops->blob_commit(e, b, w, nw, NULL) : 0;
}

#define MERGE_TRIES 20 /* conflicts with writers before a merge gives up for this round */

int
eng_pages_merge(struct engine *e, const struct eng_blob *b, uint64_t *moved)
{
    int conflicts = 0, rc = 0, done = 0;

    while (!done && conflicts < MERGE_TRIES) {
        struct arena *a = arena_new(8u << 20);
        struct blob_rec cur, *rv;
        const struct blob_rec **recs;
        struct eng_entry *subs;
        char *kinds;
        int64_t *ids;
        size_t ns, n = 0, anchor = 0;
        uint64_t u, l;
        if (a == NULL)
            return CO_EBACKEND;
        if ((rc = eng_blob_get(e, a, b, ENG_CURRENT, 0, &cur)) != 0 && rc != CO_ENOTFOUND)
            goto out;
        rv = rc == 0 ? &cur : NULL;
        if ((rc = eng_blob_subs(e, a, b, &subs, &ns)) != 0)
            goto out;
        rc = CO_EBACKEND;
        if ((recs = arena_alloc(a, sizeof(*recs) * (ns + 1))) == NULL ||
            (kinds = arena_alloc(a, ns + 1)) == NULL ||
            (ids = arena_alloc(a, sizeof(*ids) * (ns + 1))) == NULL)
            goto out;
        if (rv != NULL) {
            if (eng_copy_pending(rv)) {
                rc = 1; /* the copy writes its layers with the record checked: after it */
                goto out;
            }
            recs[n] = rv;
            kinds[n] = ENG_CURRENT;
            ids[n++] = 0;
        }
        for (size_t i = 0; i < ns; i++) {
            recs[n] = &subs[i].rec;
            kinds[n] = subs[i].kind;
            ids[n++] = subs[i].id;
        }
        if ((rc = find_pair(a, recs, n, &u, &l)) <= 0) {
            rc = rc < 0 ? CO_EBACKEND : 0;
            done = 1;
            goto out;
        }
        while (!names(recs[anchor], u)) /* one names it: find_pair found it there */
            anchor++;
        rc = move_down(
            e, b, &(struct eng_write){NULL, kinds[anchor], ids[anchor], recs[anchor], recs[anchor]},
            u, l, moved);
        if (rc == 0 && (rc = drop_layer(e, a, b, recs, kinds, ids, n, u)) == 0)
            metric_add(M_PAGE_LAYERS_MERGED, 1);
        conflicts += rc == CO_ECONFLICT;
        rc = rc == CO_ECONFLICT ? 0 : rc;
    out:
        arena_free(a);
        if (rc != 0)
            return rc;
    }
    return done ? 0 : 1;
}
