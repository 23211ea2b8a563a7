/*
 * records.c -- key encoding and the binary records of containers, blobs and staged blocks.
 *
 * Records start with a format version byte so later versions can read old data.  Integers are
 * big-endian fixed width or varints; strings are varint-length-prefixed bytes (struct buf's
 * buf_bytes).  Decoders never read past the input (struct rd) and copy strings into the arena,
 * NUL-terminated.
 *
 * Blob record, version 1:
 *   u8 1, u8 type, u8 flags, varint size, u64 etag, u64 created, u64 modified,
 *   5 x bytes (content type, encoding, language, disposition, cache control),
 *   [16 bytes md5 if BLOB_F_MD5], varint nmeta, nmeta x (bytes name, bytes value),
 *   varint nblocks, nblocks x (bytes id, extent)
 * Extent: u64 needle sequence number, u32 volume, u64 offset, varint length
 * Container record, version 1:
 *   u8 1, u64 id, u64 created, u64 modified, u64 etag, u8 public access, metadata as above
 */
#include "meta/meta.h"

#include <string.h>

#include "util/arena.h"
#include "util/buf.h"

#define REC_VERSION 1

void
meta_key_container(struct buf *k, const char *account, const char *name)
{
    buf_u8(k, 'C');
    buf_puts(k, account);
    buf_u8(k, 0);
    buf_puts(k, name);
}

void
meta_key_blob(struct buf *k, uint64_t cid, const char *name, size_t nlen)
{
    buf_u8(k, 'B');
    buf_u64(k, cid);
    buf_add(k, name, nlen);
}

void
meta_key_blob_range(struct buf *lo, struct buf *hi, uint64_t cid)
{
    buf_u8(lo, 'B');
    buf_u64(lo, cid);
    buf_u8(hi, 'B');
    buf_u64(hi, cid + 1);
}

void
meta_key_block(struct buf *k, uint64_t cid, const char *name, size_t nlen, const char *id,
               size_t idlen)
{
    buf_u8(k, 'U');
    buf_u64(k, cid);
    buf_add(k, name, nlen);
    buf_u8(k, 0);
    buf_add(k, id, idlen);
}

void
meta_key_block_range(struct buf *lo, struct buf *hi, uint64_t cid, const char *name, size_t nlen)
{
    buf_u8(lo, 'U');
    buf_u64(lo, cid);
    buf_add(lo, name, nlen);
    buf_u8(lo, 0);
    buf_u8(hi, 'U');
    buf_u64(hi, cid);
    buf_add(hi, name, nlen);
    buf_u8(hi, 1);
}

void
meta_key_block_all(struct buf *lo, struct buf *hi, uint64_t cid)
{
    buf_u8(lo, 'U');
    buf_u64(lo, cid);
    buf_u8(hi, 'U');
    buf_u64(hi, cid + 1);
}

void
meta_key_moved(struct buf *k, uint64_t seq)
{
    buf_u8(k, 'N');
    buf_u64(k, seq);
}

void
meta_key_retired(struct buf *k, uint32_t vol)
{
    buf_u8(k, 'X');
    buf_u32(k, vol);
}

static void
put_meta(struct buf *out, size_t n, const struct meta_pair *p)
{
    buf_varint(out, n);
    for (size_t i = 0; i < n; i++) {
        buf_bytes(out, p[i].name, strlen(p[i].name));
        buf_bytes(out, p[i].value, strlen(p[i].value));
    }
}

static const char *
get_str(struct rd *r, struct arena *a)
{
    const char *p;
    size_t n;

    if (rd_bytes(r, &p, &n) != 0)
        return NULL;
    return arena_strndup(a, p, n);
}

static int
get_meta(struct rd *r, struct arena *a, size_t *n, struct meta_pair **out)
{
    uint64_t cnt;

    if (rd_varint(r, &cnt) != 0 || cnt > 65536)
        return -1;
    *n = (size_t)cnt;
    *out = NULL;
    if (cnt == 0)
        return 0;
    if ((*out = arena_alloc(a, sizeof(**out) * (size_t)cnt)) == NULL)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        (*out)[i].name = get_str(r, a);
        (*out)[i].value = get_str(r, a);
        if ((*out)[i].name == NULL || (*out)[i].value == NULL)
            return -1;
    }
    return 0;
}

void
meta_container_encode(const struct container_rec *c, struct buf *out)
{
    buf_u8(out, REC_VERSION);
    buf_u64(out, c->id);
    buf_u64(out, (uint64_t)c->created);
    buf_u64(out, (uint64_t)c->modified);
    buf_u64(out, c->etag);
    buf_u8(out, c->public_access);
    put_meta(out, c->nmeta, c->meta);
}

int
meta_container_decode(struct arena *a, const char *p, size_t n, struct container_rec *c)
{
    struct rd r;
    uint8_t ver;
    uint64_t created, modified;

    rd_init(&r, p, n);
    if (rd_u8(&r, &ver) != 0 || ver != REC_VERSION || rd_u64(&r, &c->id) != 0 ||
        rd_u64(&r, &created) != 0 || rd_u64(&r, &modified) != 0 || rd_u64(&r, &c->etag) != 0 ||
        rd_u8(&r, &c->public_access) != 0 || get_meta(&r, a, &c->nmeta, &c->meta) != 0)
        return -1;
    c->created = (int64_t)created;
    c->modified = (int64_t)modified;
    return 0;
}

void
meta_extent_encode(const struct extent *e, struct buf *out)
{
    buf_u64(out, e->seq);
    buf_u32(out, e->vol);
    buf_u64(out, e->off);
    buf_varint(out, e->len);
}

static int
get_extent(struct rd *r, struct extent *e)
{
    return rd_u64(r, &e->seq) != 0 || rd_u32(r, &e->vol) != 0 || rd_u64(r, &e->off) != 0 ||
                   rd_varint(r, &e->len) != 0
               ? -1
               : 0;
}

int
meta_extent_decode(const char *p, size_t n, struct extent *e)
{
    struct rd r;

    rd_init(&r, p, n);
    return get_extent(&r, e) != 0 || r.p != r.end ? -1 : 0;
}

void
meta_blob_encode(const struct blob_rec *b, struct buf *out)
{
    const char *props[5] = {b->content_type, b->content_encoding, b->content_language,
                            b->content_disposition, b->cache_control};

    buf_u8(out, REC_VERSION);
    buf_u8(out, b->type);
    buf_u8(out, b->flags);
    buf_varint(out, b->size);
    buf_u64(out, b->etag);
    buf_u64(out, (uint64_t)b->created);
    buf_u64(out, (uint64_t)b->modified);
    for (int i = 0; i < 5; i++)
        buf_bytes(out, props[i] ? props[i] : "", props[i] ? strlen(props[i]) : 0);
    if (b->flags & BLOB_F_MD5)
        buf_add(out, b->md5, 16);
    put_meta(out, b->nmeta, b->meta);
    buf_varint(out, b->nblocks);
    for (size_t i = 0; i < b->nblocks; i++) {
        buf_bytes(out, b->blocks[i].id, b->blocks[i].id_len);
        meta_extent_encode(&b->blocks[i].ext, out);
    }
}

int
meta_blob_decode(struct arena *a, const char *p, size_t n, struct blob_rec *b)
{
    const char **props[5] = {&b->content_type, &b->content_encoding, &b->content_language,
                             &b->content_disposition, &b->cache_control};
    struct rd r;
    uint8_t ver;
    uint64_t created, modified, nblocks;
    const void *md5;

    memset(b, 0, sizeof(*b));
    rd_init(&r, p, n);
    if (rd_u8(&r, &ver) != 0 || ver != REC_VERSION || rd_u8(&r, &b->type) != 0 ||
        rd_u8(&r, &b->flags) != 0 || rd_varint(&r, &b->size) != 0 || rd_u64(&r, &b->etag) != 0 ||
        rd_u64(&r, &created) != 0 || rd_u64(&r, &modified) != 0)
        return -1;
    b->created = (int64_t)created;
    b->modified = (int64_t)modified;
    for (int i = 0; i < 5; i++)
        if ((*props[i] = get_str(&r, a)) == NULL)
            return -1;
    if (b->flags & BLOB_F_MD5) {
        if (rd_raw(&r, 16, &md5) != 0)
            return -1;
        memcpy(b->md5, md5, 16);
    }
    if (get_meta(&r, a, &b->nmeta, &b->meta) != 0 || rd_varint(&r, &nblocks) != 0 ||
        nblocks > (uint64_t)(r.end - r.p))
        return -1;
    b->nblocks = (size_t)nblocks;
    if (nblocks > 0 && (b->blocks = arena_alloc(a, sizeof(*b->blocks) * b->nblocks)) == NULL)
        return -1;
    for (size_t i = 0; i < b->nblocks; i++) {
        const char *id;
        if (rd_bytes(&r, &id, &b->blocks[i].id_len) != 0 ||
            (b->blocks[i].id = arena_strndup(a, id, b->blocks[i].id_len)) == NULL ||
            get_extent(&r, &b->blocks[i].ext) != 0)
            return -1;
    }
    return r.p == r.end ? 0 : -1;
}

int
meta_container_get(struct meta *m, struct arena *a, const char *account, const char *name,
                   struct container_rec *c)
{
    struct buf k = BUF_INIT;
    char *v;
    size_t vl;
    int rc;

    meta_key_container(&k, account, name);
    rc = buf_ok(&k) ? meta_get(m, k.p, k.len, a, &v, &vl) : META_EIO;
    buf_free(&k);
    if (rc == 0 && meta_container_decode(a, v, vl, c) != 0)
        rc = META_EIO;
    return rc;
}

int
meta_blob_get(struct meta *m, struct arena *a, uint64_t cid, const char *name, size_t nlen,
              struct blob_rec *b)
{
    struct buf k = BUF_INIT;
    char *v;
    size_t vl;
    int rc;

    meta_key_blob(&k, cid, name, nlen);
    rc = buf_ok(&k) ? meta_get(m, k.p, k.len, a, &v, &vl) : META_EIO;
    buf_free(&k);
    if (rc == 0 && meta_blob_decode(a, v, vl, b) != 0)
        rc = META_EIO;
    return rc;
}

int
meta_container_current(struct meta *m, struct arena *a, const char *account, const char *name,
                       uint64_t cid)
{
    struct container_rec c;

    return meta_container_get(m, a, account, name, &c) == 0 && c.id == cid;
}

int
meta_needle_moved(struct meta *m, uint64_t seq, struct extent *e)
{
    struct arena *a = arena_new(4096);
    struct buf k = BUF_INIT;
    char *v;
    size_t vl;
    int rc = META_EIO;

    meta_key_moved(&k, seq);
    if (a != NULL && buf_ok(&k))
        rc = meta_get(m, k.p, k.len, a, &v, &vl);
    if (rc == 0 && meta_extent_decode(v, vl, e) != 0)
        rc = META_EIO;
    buf_free(&k);
    arena_free(a);
    return rc;
}
