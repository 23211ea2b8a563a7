/*
 * pages.c -- the page map algebra every engine shares: the edit each engine applies to a layer
 * (eng_page_edit) and the resolution of a stack of layers into what a reader sees
 * (eng_pages_resolve), over eng_page_list.  engine.h ("page maps") has the model; merge.c merges
 * layers.
 */
#include "engine/engine.h"

#include "util/arena.h"

int
eng_page_list(struct engine *e, struct arena *a, const struct eng_blob *b, uint64_t layer,
              uint64_t off, uint64_t end, size_t max, struct eng_page **out, size_t *n)
{
    return e->ops->page_list(e, a, b, layer, off, end, max, out, n);
}

/* p cut to [from, to) (which it overlaps). */
static struct eng_page
cut(const struct eng_page *p, uint64_t from, uint64_t to)
{
    struct eng_page c = *p;
    uint64_t end = p->off + p->len;

    if (from > c.off) {
        if (c.loc.len > 0)
            c.at += from - c.off;
        c.off = from;
    }
    c.len = (end < to ? end : to) - c.off;
    return c;
}

int
eng_page_edit(struct arena *a, const struct eng_page *old, size_t nold,
              const struct eng_page_write *pw, struct eng_page **out, size_t *n)
{
    uint64_t end = pw->off + pw->len;
    struct eng_page *v = arena_alloc(a, sizeof(*v) * (pw->nput + 2));

    if (v == NULL)
        return CO_EBACKEND;
    *n = 0;
    if (nold > 0 && old[0].off < pw->off)
        v[(*n)++] = cut(&old[0], old[0].off, pw->off);
    for (size_t i = 0; i < pw->nput; i++)
        v[(*n)++] = pw->put[i];
    if (nold > 0 && old[nold - 1].off + old[nold - 1].len > end)
        v[(*n)++] = cut(&old[nold - 1], end, old[nold - 1].off + old[nold - 1].len);
    *out = v;
    return 0;
}

/*
 * r[0..nr) (sorted, disjoint) with the parts of l[0..nl) (sorted, disjoint) that r does not
 * cover, by offset, into *out.
 */
static int
under(struct arena *a, const struct eng_page *r, size_t nr, const struct eng_page *l, size_t nl,
      struct eng_page **out, size_t *n)
{
    struct eng_page *p = arena_alloc(a, sizeof(*p) * (nl + nr + 1));
    struct eng_page *v = arena_alloc(a, sizeof(*v) * (2 * nr + nl + 1));
    size_t np = 0, j = 0, i, k;

    if (p == NULL || v == NULL)
        return CO_EBACKEND;
    for (i = 0; i < nl; i++) {
        uint64_t s = l[i].off, e = l[i].off + l[i].len;
        while (j < nr && r[j].off + r[j].len <= s)
            j++;
        for (k = j; s < e;) {
            if (k < nr && r[k].off + r[k].len <= s) {
                k++;
            } else if (k < nr && r[k].off <= s) {
                s = r[k].off + r[k].len;
                k++;
            } else {
                uint64_t stop = k < nr && r[k].off < e ? r[k].off : e;
                p[np++] = cut(&l[i], s, stop);
                s = stop;
            }
        }
    }
    for (i = 0, j = 0, k = 0; i < nr || j < np;)
        v[k++] = j == np || (i < nr && r[i].off < p[j].off) ? r[i++] : p[j++];
    *out = v;
    *n = k;
    return 0;
}

int
eng_pages_resolve(struct engine *e, struct arena *a, const struct eng_blob *b,
                  const uint64_t *layers, size_t nlayers, uint64_t off, uint64_t end, size_t max,
                  struct eng_page **out, size_t *n, uint64_t *upto)
{
    struct eng_page *r = NULL, *l;
    size_t nr = 0, nl;
    int rc;

    *upto = end;
    for (size_t i = 0; i < nlayers && off < *upto; i++) {
        if ((rc = eng_page_list(e, a, b, layers[i], off, *upto, max, &l, &nl)) != 0)
            return rc;
        if (nl == max && nl > 0 && l[nl - 1].off + l[nl - 1].len < *upto) {
            *upto = l[nl - 1].off + l[nl - 1].len; /* this layer has more past here */
            while (nr > 0 && r[nr - 1].off >= *upto)
                nr--;
        }
        for (size_t j = 0; j < nl; j++)
            l[j] = cut(&l[j], off, *upto);
        for (size_t j = 0; j < nr; j++)
            r[j] = cut(&r[j], off, *upto);
        if ((rc = under(a, r, nr, l, nl, &r, &nr)) != 0)
            return rc;
    }
    if (nr > max) {
        nr = max;
        *upto = r[nr - 1].off + r[nr - 1].len;
    }
    *out = r;
    *n = nr;
    return 0;
}
