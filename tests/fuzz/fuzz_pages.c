/*
 * fuzz_pages.c -- the page map algebra every engine shares (src/engine/pages.c: eng_page_edit,
 * eng_pages_resolve) against a model that keeps one value per page.
 *
 * A blob of NPAGES pages and up to NLAYERS layers (layer 0 newest).  Each op is three bytes:
 * which layer and what (update, clear, clear that hides), the first page, the page count.  The
 * layers are kept as an engine would keep them (sorted entries, each write's edit replacing the
 * entries it overlaps), through a fake engine whose page_list serves them.  After every op, and
 * for every window and limit the input picks, the resolution of the stack must equal the model
 * (the newest layer with a value for a page wins; zeros hide) and be sorted, disjoint, clipped
 * to the window, within the limit, with *upto where it stopped.
 */
#include <stdint.h>
#include <string.h>

#include "engine/engine.h"
#include "fuzz_common.h"
#include "util/arena.h"

#define NPAGES  64
#define NLAYERS 3
#define P       512u
#define NONE    (-1)

struct layer {
    struct eng_page v[2 * NPAGES + 4];
    size_t n;
};

static struct layer layers[NLAYERS];
static int model[NLAYERS][NPAGES]; /* per page: NONE, 0 (zeros) or the payload seq * 1000 +
                                      the page's index in it, + 1 */

static int
fake_list(struct engine *e, struct arena *a, const struct eng_blob *b, uint64_t layer, uint64_t off,
          uint64_t end, size_t max, struct eng_page **out, size_t *n)
{
    struct layer *l = &layers[layer];
    struct eng_page *v = arena_alloc(a, sizeof(*v) * (l->n + 1));

    (void)e, (void)b;
    FUZZ_CHECK(v != NULL);
    *n = 0;
    for (size_t i = 0; i < l->n && *n < max; i++)
        if (l->v[i].off + l->v[i].len > off && l->v[i].off < end)
            v[(*n)++] = l->v[i];
    *out = v;
    return 0;
}

static const struct engine_ops ops = {.name = "fuzz", .page_list = fake_list};

/* The page's value as an entry gives it. */
static int
value(const struct eng_page *p, uint64_t page)
{
    if (p->loc.len == 0)
        return 0;
    return (int)(p->loc.seq * 1000 + (p->at + page * P - p->off) / P) + 1;
}

static void
apply(struct arena *a, int layer, const struct eng_page_write *pw)
{
    struct layer *l = &layers[layer];
    struct eng_page old[2 * NPAGES + 4], *nv;
    size_t nold = 0, i = 0, j, nnew;

    while (i < l->n && l->v[i].off + l->v[i].len <= pw->off)
        i++;
    for (j = i; j < l->n && l->v[j].off < pw->off + pw->len; j++)
        old[nold++] = l->v[j];
    FUZZ_CHECK(eng_page_edit(a, old, nold, pw, &nv, &nnew) == 0);
    FUZZ_CHECK(l->n - nold + nnew <= sizeof(l->v) / sizeof(l->v[0]));
    memmove(&l->v[i + nnew], &l->v[j], (l->n - j) * sizeof(l->v[0]));
    memcpy(&l->v[i], nv, nnew * sizeof(*nv));
    l->n = l->n - nold + nnew;
    for (size_t k = 0; k + 1 < l->n; k++) /* sorted, disjoint */
        FUZZ_CHECK(l->v[k].off + l->v[k].len <= l->v[k + 1].off);
}

static void
check(struct engine *e, struct arena *a, int nl, uint64_t from, uint64_t to, size_t max)
{
    uint64_t ids[NLAYERS] = {0, 1, 2}, upto, at;
    struct eng_page *v;
    size_t n;

    FUZZ_CHECK(
        eng_pages_resolve(e, a, NULL, ids, (size_t)nl, from * P, to * P, max, &v, &n, &upto) == 0);
    FUZZ_CHECK(n <= max && upto > from * P && upto <= to * P && upto % P == 0);
    at = from * P;
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(v[i].off >= at && v[i].len > 0 && v[i].off + v[i].len <= upto);
        FUZZ_CHECK(v[i].off % P == 0 && v[i].len % P == 0);
        for (uint64_t pg = at / P; pg < v[i].off / P; pg++) /* a gap: no layer has the page */
            for (int l = 0; l < nl; l++)
                FUZZ_CHECK(model[l][pg] == NONE);
        for (uint64_t pg = v[i].off / P; pg < (v[i].off + v[i].len) / P; pg++) {
            int want = NONE;
            for (int l = 0; l < nl && want == NONE; l++)
                want = model[l][pg];
            FUZZ_CHECK(want == value(&v[i], pg));
        }
        at = v[i].off + v[i].len;
    }
    for (uint64_t pg = at / P; pg < upto / P; pg++)
        for (int l = 0; l < nl; l++)
            FUZZ_CHECK(model[l][pg] == NONE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    struct engine e = {&ops, NULL};
    struct arena *a = arena_new(64u << 20);
    uint64_t seq = 0;

    FUZZ_CHECK(a != NULL);
    memset(layers, 0, sizeof(layers));
    for (int l = 0; l < NLAYERS; l++)
        for (int pg = 0; pg < NPAGES; pg++)
            model[l][pg] = NONE;
    while (f.n >= 3) {
        uint8_t what = fz_u8(&f), first = fz_u8(&f) % NPAGES, count = fz_u8(&f);
        int layer = (what >> 2) % NLAYERS, kind = what & 3;
        uint64_t len = 1 + count % (NPAGES - first);
        struct eng_page one = {first * P, len * P, 0, {++seq, 1, 0, len * P, NULL}};
        struct eng_page_write pw = {(uint64_t)layer, first * P, len * P, &one,
                                    kind == 0 || kind == 2};
        if (kind != 0)
            one.loc = (struct extent){0}; /* zeros */
        if (kind == 3) {                  /* a resolution check over a window the bytes pick */
            int nl = 1 + layer;
            uint64_t to = first + len;
            check(&e, a, nl, first, to, 1 + count % 7);
            check(&e, a, nl, 0, NPAGES, 1000);
            continue;
        }
        apply(a, layer, &pw);
        for (uint64_t pg = first; pg < first + len; pg++)
            model[layer][pg] = kind == 0   ? (int)(seq * 1000 + (pg - first)) + 1
                               : kind == 2 ? 0
                                           : NONE;
        for (int nl = 1; nl <= NLAYERS; nl++)
            check(&e, a, nl, 0, NPAGES, 1000);
    }
    arena_free(a);
    return 0;
}
