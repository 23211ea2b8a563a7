/*
 * memory_pages.c -- the in-memory engine's page maps (engine.h, "page maps"): one array of
 * entries sorted by (layer, end of the entry), so the entries over [off, end) of a layer start at
 * the first whose end passes off.  A write replaces a contiguous run of the array; a layer no
 * record names is dropped by the purge round (mem_pages_gc).  Payloads are heap buffers that
 * live until eng_fini() (memory_data.c), as every payload of this engine.
 */
#include "engine/memory_int.h"

#include <stdlib.h>
#include <string.h>

#include "meta/meta.h"
#include "util/arena.h"

/* The first entry of `layer` whose end is past off (or the first of a later layer). */
static size_t
lower(const struct mem *m, uint64_t layer, uint64_t off)
{
    size_t lo = 0, hi = m->npages;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct mem_page *x = &m->pages[mid];
        if (x->layer < layer || (x->layer == layer && x->p.off + x->p.len <= off))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The run [i, j) of entries of `layer` over [off, end). */
static size_t
run_end(const struct mem *m, size_t i, uint64_t layer, uint64_t end)
{
    while (i < m->npages && m->pages[i].layer == layer && m->pages[i].p.off < end)
        i++;
    return i;
}

int
mem_page_list(struct engine *e, struct arena *a, const struct eng_blob *b, uint64_t layer,
              uint64_t off, uint64_t end, size_t max, struct eng_page **out, size_t *n)
{
    struct mem *m = MEM(e);
    int rc = 0;

    (void)b;
    pthread_mutex_lock(&m->mu);
    size_t i = lower(m, layer, off), j = run_end(m, i, layer, end);
    if (j - i > max)
        j = i + max;
    *n = j - i;
    if ((*out = arena_alloc(a, sizeof(**out) * (*n + 1))) == NULL)
        rc = CO_EBACKEND;
    for (size_t k = 0; rc == 0 && k < *n; k++)
        (*out)[k] = m->pages[i + k].p;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int
mem_pages_apply(struct mem *m, const struct eng_page_write *pw)
{
    struct arena *a = arena_new(SCRATCH_CAP);
    size_t i = lower(m, pw->layer, pw->off), j = run_end(m, i, pw->layer, pw->off + pw->len);
    struct eng_page *old, *nv;
    size_t nnew, need;
    int rc = CO_EBACKEND;

    if (a == NULL || (old = arena_alloc(a, sizeof(*old) * (j - i + 1))) == NULL)
        goto out;
    for (size_t k = i; k < j; k++)
        old[k - i] = m->pages[k].p;
    if (eng_page_edit(a, old, j - i, pw, &nv, &nnew) != 0)
        goto out;
    need = m->npages - (j - i) + nnew;
    if (need > m->cappages) {
        size_t cap = need > 2 * m->cappages ? need + 64 : 2 * m->cappages;
        struct mem_page *v = realloc(m->pages, cap * sizeof(*v));
        if (v == NULL)
            goto out;
        m->pages = v;
        m->cappages = cap;
    }
    if (m->npages > j)
        memmove(&m->pages[i + nnew], &m->pages[j], (m->npages - j) * sizeof(*m->pages));
    for (size_t k = 0; k < nnew; k++)
        m->pages[i + k] = (struct mem_page){pw->layer, nv[k]};
    m->npages = need;
    rc = 0;
out:
    arena_free(a);
    return rc;
}

static int
cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

    return (a > b) - (a < b);
}

void
mem_pages_gc(struct mem *m)
{
    struct arena *a;
    uint64_t *live = NULL;
    size_t nlive = 0, cap = 0, k = 0;

    if (m->npages == 0 || (a = arena_new(SCRATCH_CAP)) == NULL)
        return;
    for (size_t i = 0; i < m->nblobs; i++) {
        struct blob_rec r;
        if (meta_blob_decode(a, m->blobs[i].rec, m->blobs[i].len, &r) != 0)
            goto out; /* cannot tell what is live: keep everything */
        for (size_t l = 0; l < r.nlayers; l++) {
            if (nlive == cap) {
                uint64_t *v = realloc(live, (cap = cap ? 2 * cap : 64) * sizeof(*v));
                if (v == NULL)
                    goto out;
                live = v;
            }
            live[nlive++] = r.layers[l];
        }
    }
    if (nlive > 0)
        qsort(live, nlive, sizeof(*live), cmp_u64);
    for (size_t i = 0; i < m->npages; i++)
        if (nlive > 0 && bsearch(&m->pages[i].layer, live, nlive, sizeof(*live), cmp_u64) != NULL)
            m->pages[k++] = m->pages[i];
    m->npages = k;
out:
    free(live);
    arena_free(a);
}

/* ---- merge hints (engine.h, "Merging") --------------------------------------------------- */

static void
hint_free(struct mem_hint *h)
{
    free((char *)h->b.account);
    free((char *)h->b.container);
    free((char *)h->b.name);
}

/* Appends h (its strings then the list's) with m->mu held: 0 or CO_EBACKEND (h freed). */
static int
hint_add(struct mem *m, struct mem_hint *h)
{
    if (m->nhints == m->caphints) {
        size_t cap = m->caphints ? 2 * m->caphints : 16;
        struct mem_hint *v = realloc(m->hints, cap * sizeof(*v));
        if (v == NULL) {
            hint_free(h);
            return CO_EBACKEND;
        }
        m->hints = v;
        m->caphints = cap;
    }
    m->hints[m->nhints++] = *h;
    return 0;
}

int
mem_merge_hint(struct engine *e, const struct eng_blob *b, int64_t due)
{
    struct mem *m = MEM(e);
    struct mem_hint h = {
        {strdup(b->account), strdup(b->container), b->cid, malloc(b->nlen + 1), b->nlen},
        due};
    int rc;

    if (h.b.account == NULL || h.b.container == NULL || h.b.name == NULL) {
        hint_free(&h);
        return CO_EBACKEND;
    }
    memcpy((char *)h.b.name, b->name, b->nlen);
    pthread_mutex_lock(&m->mu);
    rc = hint_add(m, &h);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void
mem_pages_merge_due(struct engine *e, int64_t now)
{
    struct mem *m = MEM(e);
    struct mem_hint *due = NULL;
    size_t ndue = 0, k = 0;

    pthread_mutex_lock(&m->mu);
    if (m->nhints > 0 && (due = malloc(m->nhints * sizeof(*due))) != NULL) {
        for (size_t i = 0; i < m->nhints; i++) {
            if (m->hints[i].due <= now)
                due[ndue++] = m->hints[i];
            else
                m->hints[k++] = m->hints[i];
        }
        m->nhints = k;
    }
    pthread_mutex_unlock(&m->mu);
    for (size_t i = 0; i < ndue; i++) {
        uint64_t moved = 0;
        int rc = eng_pages_merge(e, &due[i].b, &moved);
        if (rc == 1 || rc == CO_EBACKEND) { /* kept for the next round */
            pthread_mutex_lock(&m->mu);
            (void)hint_add(m, &due[i]);
            pthread_mutex_unlock(&m->mu);
        } else {
            hint_free(&due[i]);
        }
    }
    free(due);
}

void
mem_hints_free(struct mem *m)
{
    for (size_t i = 0; i < m->nhints; i++)
        hint_free(&m->hints[i]);
    free(m->hints);
}
