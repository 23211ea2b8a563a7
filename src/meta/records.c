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
 * Version 2 of both: the same fields, then the extension fields below.
 * Blob record, version 3: version 2 with every block's extent followed by bytes inline (empty:
 * none): the payload itself, for engines that keep small payloads in the record (struct extent's
 * inl).  Written only by a record that has such a block; every other record stays version 2, so
 * data written without inline payloads reads with older versions.
 * Service properties (no version byte): varint n, n x (bytes section name, bytes section XML)
 */
#include "meta/meta.h"

#include <string.h>

#include "util/arena.h"
#include "util/buf.h"

#define REC_VERSION 2 /* 1: no extension fields; 2: v1 fields then tagged extensions */
#define REC_INLINE  3 /* blob records: 2 with inline payloads after the extents */

/*
 * Extension fields (version 2): after the version 1 fields, any number of (u8 tag, bytes payload).
 * A field at its default value is not written; a decoder skips tags it does not know, so fields
 * can be added without a new record version.
 */
enum ext_tag {
    EXT_VERSION = 1,
    EXT_DELETED,
    EXT_LEASE,
    EXT_TAGS,
    EXT_TIER,
    EXT_COPY,
    EXT_IMMUT,
    EXT_ACL,
    EXT_CONTAINER_IMMUT,
    EXT_APPENDS,
    EXT_PAGES,     /* page blob: sequence number, then its page map layers */
    EXT_INCR_SNAP, /* incremental copy destination: copy.dest_snapshot */
};

void
meta_key_container(struct buf *k, const char *account, const char *name)
{
    buf_u8(k, 'C');
    buf_puts(k, account);
    buf_u8(k, 0);
    buf_puts(k, name);
}

void
meta_key_service_props(struct buf *k, const char *account)
{
    buf_u8(k, 'P');
    buf_puts(k, account);
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
meta_key_blob_sub(struct buf *k, uint64_t cid, const char *name, size_t nlen, char kind, int64_t id)
{
    meta_key_blob(k, cid, name, nlen);
    buf_u8(k, 0);
    buf_u8(k, (uint8_t)kind);
    buf_u64(k, (uint64_t)id);
}

void
meta_key_blob_subs(struct buf *lo, struct buf *hi, uint64_t cid, const char *name, size_t nlen)
{
    meta_key_blob(lo, cid, name, nlen);
    buf_u8(lo, 0);
    meta_key_blob(hi, cid, name, nlen);
    buf_u8(hi, 1);
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
meta_key_tag(struct buf *k, uint64_t cid, const char *key, const char *value, const char *name,
             size_t nlen)
{
    buf_u8(k, 'T');
    buf_u64(k, cid);
    buf_puts(k, key);
    buf_u8(k, 0);
    if (value == NULL)
        return;
    buf_puts(k, value);
    buf_u8(k, 0);
    if (name != NULL)
        buf_add(k, name, nlen);
}

void
meta_key_tag_all(struct buf *lo, struct buf *hi, uint64_t cid)
{
    buf_u8(lo, 'T');
    buf_u64(lo, cid);
    buf_u8(hi, 'T');
    buf_u64(hi, cid + 1);
}

void
meta_key_protect_all(struct buf *lo, struct buf *hi, uint64_t cid)
{
    buf_u8(lo, 'H');
    buf_u64(lo, cid);
    buf_u8(hi, 'H');
    buf_u64(hi, cid + 1);
}

void
meta_key_deleted_container(struct buf *k, const char *account, const char *name, int64_t deleted)
{
    buf_u8(k, 'D');
    buf_puts(k, account);
    buf_u8(k, 0);
    buf_puts(k, name);
    buf_u8(k, 0);
    buf_u64(k, (uint64_t)deleted);
}

void
meta_key_purge(struct buf *k, int64_t purge_at, const char *key, size_t klen)
{
    buf_u8(k, 'Z');
    buf_u64(k, (uint64_t)purge_at);
    buf_add(k, key, klen);
}

int
meta_key_protect(struct buf *k, const char *key, size_t klen)
{
    if (klen < 9 || key[0] != 'B')
        return -1;
    buf_u8(k, 'H');
    buf_add(k, key + 1, klen - 1);
    return buf_ok(k) ? 0 : -1;
}

int
meta_blob_protected(const struct blob_rec *b, int64_t now)
{
    return b->legal_hold || (b->immutable_mode != IMMUT_NONE && b->immutable_until > now);
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

static void
ext_begin(struct buf *sub)
{
    buf_reset(sub);
}

static void
ext_end(struct buf *out, struct buf *sub, uint8_t tag)
{
    buf_u8(out, tag);
    buf_bytes(out, sub->p ? sub->p : "", sub->len);
    if (!buf_ok(sub))
        out->oom = 1;
}

static void
put_lease(struct buf *out, struct buf *sub, const struct lease_rec *l)
{
    if (l->state == LEASE_AVAILABLE && l->id[0] == '\0')
        return;
    ext_begin(sub);
    buf_u8(sub, l->state);
    buf_u32(sub, (uint32_t)l->duration);
    buf_u64(sub, (uint64_t)l->until);
    buf_bytes(sub, l->id, strlen(l->id));
    ext_end(out, sub, EXT_LEASE);
}

static int
get_lease(struct rd *r, struct lease_rec *l)
{
    uint32_t d;
    uint64_t until;
    const char *id;
    size_t n;

    if (rd_u8(r, &l->state) != 0 || rd_u32(r, &d) != 0 || rd_u64(r, &until) != 0 ||
        rd_bytes(r, &id, &n) != 0 || n >= sizeof(l->id))
        return -1;
    l->duration = (int32_t)d;
    l->until = (int64_t)until;
    memcpy(l->id, id, n);
    l->id[n] = '\0';
    return 0;
}

/* EXT_DELETED: u64 deleted-at, u64 purge-at; present when either is set (a live blob with an
 * expiry has a purge time only). */
static void
put_deleted(struct buf *out, struct buf *sub, int64_t deleted, int64_t purge_at)
{
    if (deleted == 0 && purge_at == 0)
        return;
    ext_begin(sub);
    buf_u64(sub, (uint64_t)deleted);
    buf_u64(sub, (uint64_t)purge_at);
    ext_end(out, sub, EXT_DELETED);
}

static int
get_deleted(struct rd *r, int64_t *deleted, int64_t *purge_at)
{
    uint64_t d, p;

    if (rd_u64(r, &d) != 0 || rd_u64(r, &p) != 0)
        return -1;
    *deleted = (int64_t)d;
    *purge_at = (int64_t)p;
    return 0;
}

static void
put_u64_ext(struct buf *out, struct buf *sub, uint8_t tag, int64_t v)
{
    if (v == 0)
        return;
    ext_begin(sub);
    buf_u64(sub, (uint64_t)v);
    ext_end(out, sub, tag);
}

void
meta_container_encode(const struct container_rec *c, struct buf *out)
{
    struct buf sub = BUF_INIT;

    buf_u8(out, REC_VERSION);
    buf_u64(out, c->id);
    buf_u64(out, (uint64_t)c->created);
    buf_u64(out, (uint64_t)c->modified);
    buf_u64(out, c->etag);
    buf_u8(out, c->public_access);
    put_meta(out, c->nmeta, c->meta);
    put_deleted(out, &sub, c->deleted, c->purge_at);
    put_lease(out, &sub, &c->lease);
    if (c->nacl > 0) {
        ext_begin(&sub);
        buf_varint(&sub, c->nacl);
        for (size_t i = 0; i < c->nacl; i++) {
            const char *f[4] = {c->acl[i].id, c->acl[i].start, c->acl[i].expiry,
                                c->acl[i].permission};
            for (int j = 0; j < 4; j++)
                buf_bytes(&sub, f[j] ? f[j] : "", f[j] ? strlen(f[j]) : 0);
        }
        ext_end(out, &sub, EXT_ACL);
    }
    if (c->immutable_days || c->immutable_locked || c->legal_hold) {
        ext_begin(&sub);
        buf_u64(&sub, (uint64_t)c->immutable_days);
        buf_u8(&sub, c->immutable_locked);
        buf_u8(&sub, c->legal_hold);
        ext_end(out, &sub, EXT_CONTAINER_IMMUT);
    }
    buf_free(&sub);
}

/* Walks the extension fields of a version 2 record, calling fn for each. */
static int
each_ext(struct rd *r, int (*fn)(uint8_t tag, struct rd *field, void *ctx), void *ctx)
{
    while (r->p < r->end) {
        uint8_t tag;
        const char *p;
        size_t n;
        struct rd field;
        if (rd_u8(r, &tag) != 0 || rd_bytes(r, &p, &n) != 0)
            return -1;
        rd_init(&field, p, n);
        if (fn(tag, &field, ctx) != 0)
            return -1;
    }
    return 0;
}

struct container_ext {
    struct container_rec *c;
    struct arena *a;
};

static int
container_field(uint8_t tag, struct rd *f, void *ctx)
{
    struct container_ext *x = ctx;
    struct container_rec *c = x->c;
    uint64_t v, n;

    switch (tag) {
    case EXT_DELETED:
        return get_deleted(f, &c->deleted, &c->purge_at);
    case EXT_LEASE:
        return get_lease(f, &c->lease);
    case EXT_ACL:
        if (rd_varint(f, &n) != 0 || n > 64)
            return -1;
        if ((c->acl = arena_calloc(x->a, sizeof(*c->acl) * (size_t)(n ? n : 1))) == NULL)
            return -1;
        c->nacl = (size_t)n;
        for (size_t i = 0; i < c->nacl; i++) {
            const char **f4[4] = {&c->acl[i].id, &c->acl[i].start, &c->acl[i].expiry,
                                  &c->acl[i].permission};
            for (int j = 0; j < 4; j++)
                if ((*f4[j] = get_str(f, x->a)) == NULL)
                    return -1;
        }
        return 0;
    case EXT_CONTAINER_IMMUT:
        if (rd_u64(f, &v) != 0 || rd_u8(f, &c->immutable_locked) != 0 ||
            rd_u8(f, &c->legal_hold) != 0)
            return -1;
        c->immutable_days = (int64_t)v;
        return 0;
    default:
        return 0; /* written by a newer version: skipped */
    }
}

int
meta_container_decode(struct arena *a, const char *p, size_t n, struct container_rec *c)
{
    struct rd r;
    uint8_t ver;
    uint64_t created, modified;

    memset(c, 0, sizeof(*c));
    rd_init(&r, p, n);
    if (rd_u8(&r, &ver) != 0 || ver < 1 || ver > REC_VERSION || rd_u64(&r, &c->id) != 0 ||
        rd_u64(&r, &created) != 0 || rd_u64(&r, &modified) != 0 || rd_u64(&r, &c->etag) != 0 ||
        rd_u8(&r, &c->public_access) != 0 || get_meta(&r, a, &c->nmeta, &c->meta) != 0)
        return -1;
    c->created = (int64_t)created;
    c->modified = (int64_t)modified;
    if (ver == 1)
        return r.p == r.end ? 0 : -1;
    {
        struct container_ext x = {c, a};
        return each_ext(&r, container_field, &x);
    }
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
    e->inl = NULL;
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
    struct buf sub = BUF_INIT;
    int inl = 0;

    for (size_t i = 0; i < b->nblocks && !inl; i++)
        inl = b->blocks[i].ext.inl != NULL;
    buf_u8(out, inl ? REC_INLINE : REC_VERSION);
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
        if (inl)
            buf_bytes(out, b->blocks[i].ext.inl, b->blocks[i].ext.inl ? b->blocks[i].ext.len : 0);
    }
    put_u64_ext(out, &sub, EXT_VERSION, b->version_id);
    put_u64_ext(out, &sub, EXT_APPENDS, (int64_t)b->appends);
    put_u64_ext(out, &sub, EXT_INCR_SNAP, b->copy.dest_snapshot);
    put_deleted(out, &sub, b->deleted, b->purge_at);
    put_lease(out, &sub, &b->lease);
    if (b->type == BLOB_PAGE) {
        ext_begin(&sub);
        buf_u64(&sub, b->seqno);
        buf_varint(&sub, b->nlayers);
        for (size_t i = 0; i < b->nlayers; i++)
            buf_u64(&sub, b->layers[i]);
        ext_end(out, &sub, EXT_PAGES);
    }
    if (b->ntags > 0) {
        ext_begin(&sub);
        put_meta(&sub, b->ntags, b->tags);
        ext_end(out, &sub, EXT_TAGS);
    }
    if (b->tier.tier || b->tier.explicit_ || b->tier.rehydrate_to || b->tier.changed) {
        ext_begin(&sub);
        buf_u8(&sub, b->tier.tier);
        buf_u8(&sub, b->tier.explicit_);
        buf_u8(&sub, b->tier.rehydrate_to);
        buf_u8(&sub, b->tier.priority);
        buf_u64(&sub, (uint64_t)b->tier.changed);
        buf_u64(&sub, (uint64_t)b->tier.rehydrated_at);
        ext_end(out, &sub, EXT_TIER);
    }
    if (b->copy.status != COPY_NONE) {
        const char *src = b->copy.source ? b->copy.source : "";
        const char *desc = b->copy.description ? b->copy.description : "";
        ext_begin(&sub);
        buf_u8(&sub, b->copy.status);
        buf_bytes(&sub, b->copy.id, strlen(b->copy.id));
        buf_bytes(&sub, src, strlen(src));
        buf_u64(&sub, b->copy.copied);
        buf_u64(&sub, b->copy.total);
        buf_u64(&sub, (uint64_t)b->copy.completed);
        buf_bytes(&sub, desc, strlen(desc));
        ext_end(out, &sub, EXT_COPY);
    }
    if (b->immutable_until || b->immutable_mode || b->legal_hold) {
        ext_begin(&sub);
        buf_u64(&sub, (uint64_t)b->immutable_until);
        buf_u8(&sub, b->immutable_mode);
        buf_u8(&sub, b->legal_hold);
        ext_end(out, &sub, EXT_IMMUT);
    }
    buf_free(&sub);
}

struct blob_ext {
    struct blob_rec *b;
    struct arena *a;
};

static int
blob_field(uint8_t tag, struct rd *f, void *ctx)
{
    struct blob_ext *x = ctx;
    struct blob_rec *b = x->b;
    uint64_t v, w, t;
    const char *p;
    size_t n;

    switch (tag) {
    case EXT_VERSION:
        if (rd_u64(f, &v) != 0)
            return -1;
        b->version_id = (int64_t)v;
        return 0;
    case EXT_APPENDS:
        return rd_u64(f, &b->appends);
    case EXT_INCR_SNAP:
        if (rd_u64(f, &v) != 0)
            return -1;
        b->copy.dest_snapshot = (int64_t)v;
        return 0;
    case EXT_PAGES:
        if (rd_u64(f, &b->seqno) != 0 || rd_varint(f, &v) != 0 || v > (size_t)(f->end - f->p) / 8 ||
            (v > 0 && (b->layers = arena_alloc(x->a, sizeof(*b->layers) * v)) == NULL))
            return -1;
        b->nlayers = (size_t)v;
        for (size_t i = 0; i < b->nlayers; i++)
            if (rd_u64(f, &b->layers[i]) != 0)
                return -1;
        return 0;
    case EXT_DELETED:
        return get_deleted(f, &b->deleted, &b->purge_at);
    case EXT_LEASE:
        return get_lease(f, &b->lease);
    case EXT_TAGS:
        return get_meta(f, x->a, &b->ntags, &b->tags);
    case EXT_TIER:
        if (rd_u8(f, &b->tier.tier) != 0 || rd_u8(f, &b->tier.explicit_) != 0 ||
            rd_u8(f, &b->tier.rehydrate_to) != 0 || rd_u8(f, &b->tier.priority) != 0 ||
            rd_u64(f, &v) != 0 || rd_u64(f, &w) != 0)
            return -1;
        b->tier.changed = (int64_t)v;
        b->tier.rehydrated_at = (int64_t)w;
        return 0;
    case EXT_COPY:
        if (rd_u8(f, &b->copy.status) != 0 || rd_bytes(f, &p, &n) != 0 || n >= sizeof(b->copy.id))
            return -1;
        memcpy(b->copy.id, p, n);
        b->copy.id[n] = '\0';
        if ((b->copy.source = get_str(f, x->a)) == NULL || rd_u64(f, &v) != 0 ||
            rd_u64(f, &w) != 0 || rd_u64(f, &t) != 0 ||
            (b->copy.description = get_str(f, x->a)) == NULL)
            return -1;
        b->copy.copied = v;
        b->copy.total = w;
        b->copy.completed = (int64_t)t;
        return 0;
    case EXT_IMMUT:
        if (rd_u64(f, &v) != 0 || rd_u8(f, &b->immutable_mode) != 0 ||
            rd_u8(f, &b->legal_hold) != 0)
            return -1;
        b->immutable_until = (int64_t)v;
        return 0;
    default:
        return 0; /* written by a newer version: skipped */
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
    if (rd_u8(&r, &ver) != 0 || ver < 1 || ver > REC_INLINE || rd_u8(&r, &b->type) != 0 ||
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
        struct extent *e = &b->blocks[i].ext;
        const char *id, *inl;
        size_t il;
        char *copy;
        if (rd_bytes(&r, &id, &b->blocks[i].id_len) != 0 ||
            (b->blocks[i].id = arena_strndup(a, id, b->blocks[i].id_len)) == NULL ||
            get_extent(&r, e) != 0)
            return -1;
        e->inl = NULL;
        if (ver < REC_INLINE)
            continue;
        if (rd_bytes(&r, &inl, &il) != 0 || (il != 0 && il != e->len))
            return -1;
        if (il != 0) {
            if ((copy = arena_alloc(a, il)) == NULL)
                return -1;
            memcpy(copy, inl, il);
            e->inl = copy;
        }
    }
    if (ver == 1)
        return r.p == r.end ? 0 : -1;
    {
        struct blob_ext x = {b, a};
        return each_ext(&r, blob_field, &x);
    }
}

int
meta_container_get(struct meta *m, struct arena *a, const char *account, const char *name,
                   struct container_rec *c)
{
    struct buf k = BUF_INIT;
    char *v;
    size_t vl;
    int rc;

    memset(c, 0, sizeof(*c)); /* what a caller reads when there is no record */
    meta_key_container(&k, account, name);
    rc = buf_ok(&k) ? meta_get(m, k.p, k.len, a, &v, &vl) : CO_EBACKEND;
    buf_free(&k);
    if (rc == 0 && meta_container_decode(a, v, vl, c) != 0)
        rc = CO_EBACKEND;
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

    memset(b, 0, sizeof(*b)); /* what a caller reads when there is no record */
    meta_key_blob(&k, cid, name, nlen);
    rc = buf_ok(&k) ? meta_get(m, k.p, k.len, a, &v, &vl) : CO_EBACKEND;
    buf_free(&k);
    if (rc == 0 && meta_blob_decode(a, v, vl, b) != 0)
        rc = CO_EBACKEND;
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
    int rc = CO_EBACKEND;

    meta_key_moved(&k, seq);
    if (a != NULL && buf_ok(&k))
        rc = meta_get(m, k.p, k.len, a, &v, &vl);
    if (rc == 0 && meta_extent_decode(v, vl, e) != 0)
        rc = CO_EBACKEND;
    buf_free(&k);
    arena_free(a);
    return rc;
}

void
meta_props_encode(size_t n, const struct meta_pair *props, struct buf *out)
{
    buf_varint(out, n);
    for (size_t i = 0; i < n; i++) {
        buf_bytes(out, props[i].name, strlen(props[i].name));
        buf_bytes(out, props[i].value ? props[i].value : "",
                  props[i].value ? strlen(props[i].value) : 0);
    }
}

int
meta_props_decode(struct arena *a, const char *p, size_t len, size_t *n, struct meta_pair **out)
{
    struct rd r;
    uint64_t cnt;

    *n = 0;
    *out = NULL;
    rd_init(&r, p, len);
    if (rd_varint(&r, &cnt) != 0 || cnt > 16 ||
        (*out = arena_calloc(a, sizeof(**out) * (size_t)(cnt ? cnt : 1))) == NULL)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        const char *q;
        size_t ql;
        if (rd_bytes(&r, &q, &ql) != 0 || ((*out)[i].name = arena_strndup(a, q, ql)) == NULL ||
            rd_bytes(&r, &q, &ql) != 0 || ((*out)[i].value = arena_strndup(a, q, ql)) == NULL)
            return -1;
    }
    *n = (size_t)cnt;
    return 0;
}
