/*
 * rados_pages.c -- the RADOS engine's page maps (engine.h, "page maps"; docs/rados.md, "Page
 * blobs").
 *
 * A page blob's entries live in the omap of its blob index shard, beside its records, so that
 * a page write is one op on one object with the record's compare (R1): key
 * G<hex16 layer><hex16 end> -> varint len, varint at, then the payload's extent
 * (meta_extent_encode; absent for zeros that hide older layers).  Keyed by the entry's end, the
 * entries of a layer over [off, end) start at the first key past (layer, off): one omap read from
 * there.  The commit's side (the edit, the payload references, the layers no record names any
 * more) is in rados_blob.c, which owns the plan of a commit.
 */
#include "engine/rados_int.h"

#include <stdint.h>
#include <string.h>

#include "meta/meta.h"
#include "util/arena.h"

void
rpage_key(struct buf *k, uint64_t layer, uint64_t end)
{
    buf_putc(k, 'G');
    hex64(k, layer);
    if (end != UINT64_MAX)
        hex64(k, end);
}

void
rpage_value(struct buf *v, const struct eng_page *p)
{
    buf_varint(v, p->len);
    buf_varint(v, p->at);
    if (p->loc.len > 0)
        meta_extent_encode(&p->loc, v);
}

int
rpage_decode(const char *k, size_t kl, const char *v, size_t vl, struct eng_page *p)
{
    struct rd r;
    uint64_t end;

    if (kl != 33 || k[0] != 'G' || (end = unhex64(k + 17)) == UINT64_MAX)
        return -1;
    memset(p, 0, sizeof(*p));
    rd_init(&r, v, vl);
    if (rd_varint(&r, &p->len) != 0 || rd_varint(&r, &p->at) != 0 || p->len > end)
        return -1;
    p->off = end - p->len;
    if (r.p != r.end && meta_extent_decode((const char *)r.p, (size_t)(r.end - r.p), &p->loc) != 0)
        return -1;
    return 0;
}

int
rpage_entries(struct rados_eng *r, struct arena *a, const char *oid, uint64_t layer, uint64_t off,
              uint64_t end, size_t max, struct eng_page **out, size_t *n)
{
    struct omap_cursor c = {0};
    struct eng_page *v = NULL;
    size_t cap = 0;
    int rc;

    *n = 0;
    rpage_key(&c.prefix, layer, UINT64_MAX);
    rpage_key(&c.seek, layer, off + 1); /* the first entry that ends past off */
    rc = buf_ok(&c.prefix) && buf_ok(&c.seek) ? 0 : CO_EBACKEND;
    if (rc == 0)
        cursor_open(&c, r->idx, oid);
    while (rc == 0 && *n < max && (rc = cursor_next(&c)) == 0 && c.k != NULL) {
        struct eng_page p;
        if (rpage_decode(c.k, c.kl, c.v, c.vl, &p) != 0) {
            rc = CO_EBACKEND;
            break;
        }
        if (p.off >= end)
            break;
        if (*n == cap) {
            struct eng_page *nv = arena_alloc(a, sizeof(*nv) * (cap = cap ? 2 * cap : 16));
            if (nv == NULL) {
                rc = CO_EBACKEND;
                break;
            }
            if (*n > 0)
                memcpy(nv, v, sizeof(*v) * *n);
            v = nv;
        }
        v[(*n)++] = p;
    }
    cursor_close(&c);
    if (rc == 0 && v == NULL && (v = arena_alloc(a, sizeof(*v))) == NULL)
        rc = CO_EBACKEND;
    *out = v;
    return rc;
}

int
rados_page_list(struct engine *e, struct arena *a, const struct eng_blob *b, uint64_t layer,
                uint64_t off, uint64_t end, size_t max, struct eng_page **out, size_t *n)
{
    char oid[48];
    int rc;

    if ((rc = blob_shard_oid(R(e), b, oid)) != 0)
        return rc == CO_ENOTFOUND ? CO_EBACKEND : rc;
    return rpage_entries(R(e), a, oid, layer, off, end, max, out, n);
}
