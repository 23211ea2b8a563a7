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
