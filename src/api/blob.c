/*
 * blob.c -- operations on whole blobs: Put Blob (block blobs), Get Blob / Get Blob Properties
 * (GET/HEAD, with ranges), Delete Blob, Get/Set Blob Metadata, Set Blob Properties.
 *
 * Every write follows the commit order of DESIGN.md invariant 1:
 *   1. the payload is already in a finished needle (the dispatcher streamed it);
 *   2. store_sync() makes the needle durable (V2);
 *   3. under the container lock (read) and the blob's stripe lock, the current record is read,
 *      conditions are evaluated and the new record is committed in one synced batch (M1-M3);
 *   4. only then is the 2xx described.
 */
#include "api/api_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/parse.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/crc.h"
#include "util/timefmt.h"

#define IN_MEMORY_READ (4u << 20) /* reads up to this size are verified before the status line */

/* ---- shared by the write paths (also used by block.c) ------------------------------------ */

int
api_content_props(struct api_req *q, struct blob_rec *r, int from_standard)
{
    static const struct {
        const char *xms, *std;
        size_t off;
    } props[] = {
        {"x-ms-blob-content-type", "Content-Type", offsetof(struct blob_rec, content_type)},
        {"x-ms-blob-content-encoding", "Content-Encoding",
         offsetof(struct blob_rec, content_encoding)},
        {"x-ms-blob-content-language", "Content-Language",
         offsetof(struct blob_rec, content_language)},
        {"x-ms-blob-content-disposition", NULL, offsetof(struct blob_rec, content_disposition)},
        {"x-ms-blob-cache-control", "Cache-Control", offsetof(struct blob_rec, cache_control)},
    };
    const char *md5 = api_header(q, "x-ms-blob-content-md5");

    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        const char *v = api_header(q, props[i].xms), *name = props[i].xms;
        if (v == NULL && from_standard && props[i].std != NULL)
            v = api_header(q, name = props[i].std);
        /* Listings return these in XML and reads as headers: refuse what neither can carry. */
        if (v != NULL && !header_text_valid(v, strlen(v)))
            return api_fail_header(q, E_InvalidHeaderValue, name, NULL);
        *(const char **)((char *)r + props[i].off) = v ? v : "";
    }
    r->flags &= (uint8_t)~BLOB_F_MD5;
    if (md5 != NULL && *md5) {
        if (base64_decode(md5, strlen(md5), r->md5) != 16)
            return api_fail_header(q, E_InvalidMd5, "x-ms-blob-content-md5", md5);
        r->flags |= BLOB_F_MD5;
    }
    return 0;
}

int
api_txn_put(struct api_req *q, struct meta_txn *t, struct buf *k, struct buf *v)
{
    int ok = buf_ok(k) && buf_ok(v);

    if (ok)
        meta_txn_put(t, k->p, k->len, v->p, v->len);
    buf_free(k);
    buf_free(v);
    return ok ? 0 : api_fail(q, E_InternalError);
}

int
api_put_blob_key(struct api_req *q, struct meta_txn *t, struct buf *k, const struct blob_rec *r)
{
    struct buf v = BUF_INIT;

    if (!buf_ok(k) || meta_txn_index_protection(t, k->p, k->len, r) != 0) {
        buf_free(k);
        return api_fail(q, E_InternalError);
    }
    meta_blob_encode(r, &v);
    return api_txn_put(q, t, k, &v);
}

int
api_put_blob_rec(struct api_req *q, struct meta_txn *t, const struct blob_rec *r)
{
    struct buf k = BUF_INIT;

    meta_key_blob(&k, q->cont.id, q->blob, q->blob_len);
    return api_put_blob_key(q, t, &k, r);
}

int
api_drop_staged(struct api_req *q, struct meta_txn *t, const struct blob_rec *old)
{
    struct buf lo = BUF_INIT, hi = BUF_INIT;
    struct meta_iter *it = NULL;
    int rc = 0;

    /* Most writes replace blobs that never had staged blocks: nothing to do.  Otherwise point
     * deletions of each staged key -- RocksDB reads pay for range tombstones long after. */
    if (!(old->flags & (BLOB_F_UNCOMMITTED | BLOB_F_STAGED)))
        return 0;
    meta_key_block_range(&lo, &hi, q->cont.id, q->blob, q->blob_len);
    if (!buf_ok(&lo) || !buf_ok(&hi) ||
        (it = meta_iter_new(q->srv->meta, lo.p, lo.len, hi.p, hi.len)) == NULL) {
        rc = api_fail(q, E_InternalError);
        goto out;
    }
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        size_t kl;
        const char *k = meta_iter_key(it, &kl);
        meta_txn_delete(t, k, kl);
    }
    if (meta_iter_status(it) != 0)
        rc = api_fail_io(q, META_EIO);
out:
    meta_iter_free(it);
    buf_free(&lo);
    buf_free(&hi);
    return rc;
}

int
api_blob_lock(struct api_req *q, unsigned *stripe)
{
    meta_containers_rdlock(q->srv->meta);
    if (!meta_container_current(q->srv->meta, q->a, q->account, q->container, q->cont.id)) {
        meta_containers_unlock(q->srv->meta);
        return api_fail(q, E_ContainerNotFound);
    }
    *stripe = meta_blob_lock(q->srv->meta, q->cont.id, q->blob, q->blob_len);
    return 0;
}

void
api_blob_unlock(struct api_req *q, unsigned stripe)
{
    meta_blob_unlock(q->srv->meta, stripe);
    meta_containers_unlock(q->srv->meta);
}

int
api_blob_load(struct api_req *q, struct blob_rec *r)
{
    int rc = meta_blob_get(q->srv->meta, q->a, q->cont.id, q->blob, q->blob_len, r);

    if (rc == META_NOTFOUND)
        return 0; /* *r is zeroed */
    if (rc != 0)
        return api_fail_io(q, rc);
    return (r->flags & BLOB_F_UNCOMMITTED) || r->deleted ? 0 : 1;
}

int
api_reject_snapshot_write(struct api_req *q)
{
    const char *snap = api_query(q, "snapshot");

    if (snap != NULL)
        return api_fail(q, E_InvalidOperation);
    return 0;
}

int
api_blob_immutability(struct api_req *q, const struct blob_rec *r)
{
    int64_t now = ticks_now();

    if (r->legal_hold || q->cont.legal_hold)
        return api_fail(q, E_BlobImmutableDueToLegalHold);
    if (r->immutable_mode != IMMUT_NONE && r->immutable_until > now)
        return api_fail(q, E_BlobImmutableDueToPolicy);
    if (q->cont.immutable_days > 0 &&
        r->created + q->cont.immutable_days * 86400 * TICKS_PER_SEC > now)
        return api_fail(q, E_BlobImmutableDueToPolicy);
    return 0;
}

int
api_blob_write_gate(struct api_req *q, int exists, const struct blob_rec *r, unsigned flags)
{
    if (api_lease_check_blob(q, exists, r, 1) != 0 ||
        api_check_conditions(q, exists, exists ? r->etag : 0, exists ? r->modified : 0, 0,
                             (flags & GATE_CREATE) != 0) != 0)
        return -1;
    if (exists && api_check_if_tags(q, r) != 0)
        return -1;
    if (exists && (flags & GATE_CONTENT) && api_blob_immutability(q, r) != 0)
        return -1;
    return 0;
}

int
api_blob_read_gate(struct api_req *q, const struct blob_rec *r)
{
    if (api_lease_check_blob(q, 1, r, 0) != 0 ||
        api_check_conditions(q, 1, r->etag, r->modified, 1, 0) != 0 || api_check_if_tags(q, r) != 0)
        return -1;
    return 0;
}

const char *
api_blob_type_name(uint8_t type)
{
    return type == BLOB_APPEND ? "AppendBlob" : type == BLOB_PAGE ? "PageBlob" : "BlockBlob";
}

/* ---- Put Blob ------------------------------------------------------------------------- */

void
op_put_blob(struct api_req *q)
{
    struct blob_rec r = {0}, old;
    struct block_ref content;
    struct meta_txn *t = NULL;
    const char *crc = api_header(q, "x-ms-content-crc64");
    unsigned stripe;
    int exists, err;

    /* The route chose BlockBlob or AppendBlob (an append blob is created empty: dispatch.c). */
    r.type = strcasecmp(api_header(q, "x-ms-blob-type"), "AppendBlob") == 0 ? BLOB_APPEND
                                                                            : BLOB_BLOCK;
    if (r.type == BLOB_APPEND && api_header(q, "x-ms-access-tier") != NULL) {
        api_fail(q, E_AccessTierNotSupportedForBlobType);
        return;
    }
    if (api_tier_from_upload(q, &r) != 0)
        return;
    if (api_read_metadata(q, &r.nmeta, &r.meta) != 0 || api_content_props(q, &r, 1) != 0 ||
        api_read_tags_header(q, &r.ntags, &r.tags) != 0 || api_immutability_headers_in(q, &r) != 0)
        return;
    if (r.type == BLOB_BLOCK && !(r.flags & BLOB_F_MD5)) {
        memcpy(r.md5, q->body_md5, 16); /* the service stores the MD5 it computed */
        r.flags |= BLOB_F_MD5;
    }
    r.size = q->ext.len;
    if (q->ext.len > 0) {
        content = (struct block_ref){"", 0, q->ext};
        r.blocks = &content;
        r.nblocks = 1;
        if ((err = store_sync(q->srv->store, &q->ext, 1)) != 0) { /* V2 */
            api_fail_io(q, err);
            return;
        }
    }
    if (api_blob_lock(q, &stripe) != 0)
        return;
    if ((exists = api_blob_load(q, &old)) < 0 ||
        api_blob_write_gate(q, exists, &old, GATE_CREATE | GATE_CONTENT) != 0)
        goto out;
    if (exists && !auth_may_overwrite(&q->auth)) {
        api_fail(q, E_AuthorizationPermissionMismatch);
        goto out;
    }
    r.modified = ticks_now();
    r.created = exists ? old.created : r.modified;
    r.etag = meta_next_etag(q->srv->meta);
    if (exists)
        r.lease = old.lease; /* replacing the content keeps the lease (the id was required) */
    if ((t = meta_txn_new()) == NULL) {
        api_fail(q, E_InternalError);
        goto out;
    }
    if (api_blob_replace(q, t, &old, &r, 1) != 0 || api_drop_staged(q, t, &old) != 0 ||
        api_tags_reindex(q, t, q->cont.id, q->blob, q->blob_len, exists ? &old : NULL, &r) != 0)
        goto out;
    err = api_commit(q, t);
    t = NULL;
    if (err != 0)
        goto out;
    if (exists)
        api_freed(q, old.size);
    api_status(q, 201);
    api_hdr_etag(q, r.etag);
    api_hdr_time(q, "Last-Modified", r.modified);
    if (r.type == BLOB_BLOCK)
        api_hdr_md5(q, "Content-MD5", q->body_md5);
    if (crc != NULL)
        api_hdr(q, "x-ms-content-crc64", crc);
    api_hdr(q, "x-ms-request-server-encrypted", "true");
out:
    meta_txn_free(t);
    api_blob_unlock(q, stripe);
}

/* ---- Get Blob / Get Blob Properties ---------------------------------------------------- */

struct stream {
    struct meta *meta;
    struct store_reader *reader;
    uint64_t off; /* blob offset of the response's first byte */
    size_t n;
    struct block_ref *blocks; /* malloc'd copy: outlives the request arena */
    uint64_t *starts;         /* blob offset of each block */
};

static void
stream_free(void *p)
{
    struct stream *s = p;

    if (s == NULL)
        return;
    store_reader_free(s->reader);
    free(s->blocks);
    free(s->starts);
    free(s);
}

/* Reads up to max bytes at blob offset `at`; bytes, or -errno. */
static long
read_at(struct stream *s, uint64_t at, char *dst, size_t max)
{
    size_t lo = 0, hi = s->n;

    while (hi - lo > 1) { /* last block starting at or before `at` */
        size_t mid = (lo + hi) / 2;
        if (s->starts[mid] <= at)
            lo = mid;
        else
            hi = mid;
    }
    for (int tries = 0;; tries++) {
        long n = store_reader_read(s->reader, &s->blocks[lo].ext, at - s->starts[lo], dst, max);
        /* -ENOENT: compaction retired the volume; the needle lives where 'N' says. */
        if (n != -ENOENT || tries > 0 ||
            meta_needle_moved(s->meta, s->blocks[lo].ext.seq, &s->blocks[lo].ext) != 0)
            return n;
    }
}

static long
stream_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = ctx;
    long n = read_at(s, s->off + pos, buf, max);

    return n > 0 ? n : -1;
}

static struct stream *
stream_new(struct api_req *q, const struct blob_rec *r, uint64_t off)
{
    struct stream *s = calloc(1, sizeof(*s));
    uint64_t at = 0;
    size_t n = 0;

    if (s == NULL)
        return NULL;
    s->meta = q->srv->meta;
    s->off = off;
    s->blocks = malloc(sizeof(*s->blocks) * (r->nblocks ? r->nblocks : 1));
    s->starts = malloc(sizeof(*s->starts) * (r->nblocks ? r->nblocks : 1));
    if (s->blocks == NULL || s->starts == NULL ||
        store_reader_new(q->srv->store, &s->reader) != 0) {
        stream_free(s);
        return NULL;
    }
    for (size_t i = 0; i < r->nblocks; i++) {
        if (r->blocks[i].ext.len == 0)
            continue;
        s->blocks[n] = r->blocks[i];
        s->blocks[n].id = NULL; /* ids live in the arena; the stream does not need them */
        s->starts[n++] = at;
        at += r->blocks[i].ext.len;
    }
    s->n = n;
    return s;
}

static int
truthy(const char *v)
{
    return v != NULL && strcasecmp(v, "true") == 0;
}

static void
blob_headers(struct api_req *q, const struct blob_rec *r)
{
    const struct auth_result *a = &q->auth;
    const char *ct = r->content_type[0] ? r->content_type : "application/octet-stream";

    api_hdr_etag(q, r->etag);
    api_hdr_time(q, "Last-Modified", r->modified);
    api_hdr_time(q, "x-ms-creation-time", r->created);
    /* Service SAS response-header overrides replace the stored values (§3.4). */
    api_hdr(q, "Content-Type", a->rsct ? a->rsct : ct);
    if (a->rsce || r->content_encoding[0])
        api_hdr(q, "Content-Encoding", a->rsce ? a->rsce : r->content_encoding);
    if (a->rscl || r->content_language[0])
        api_hdr(q, "Content-Language", a->rscl ? a->rscl : r->content_language);
    if (a->rscd || r->content_disposition[0])
        api_hdr(q, "Content-Disposition", a->rscd ? a->rscd : r->content_disposition);
    if (a->rscc || r->cache_control[0])
        api_hdr(q, "Cache-Control", a->rscc ? a->rscc : r->cache_control);
    api_hdr(q, "Accept-Ranges", "bytes");
    api_hdr(q, "x-ms-blob-type", api_blob_type_name(r->type));
    if (r->type == BLOB_APPEND) {
        api_hdr_u64(q, "x-ms-blob-committed-block-count", r->appends);
        if (r->flags & BLOB_F_SEALED)
            api_hdr(q, "x-ms-blob-sealed", "true");
    }
    api_lease_headers(q, &r->lease);
    api_immutability_headers_out(q, r);
    api_copy_headers(q, &r->copy);
    api_hdr(q, "x-ms-server-encrypted", "true");
    api_put_metadata_headers(q, r->nmeta, r->meta);
    if (r->ntags > 0)
        api_hdr_u64(q, "x-ms-tag-count", r->ntags);
}

void
op_get_blob(struct api_req *q)
{
    struct blob_rec r;
    const char *rh = api_header(q, "x-ms-range"), *want_md5, *want_crc;
    uint64_t start, end, off = 0, len, size;
    int ranged = 0, exists;
    struct stream *s;
    char cr[80];
    int current;

    if ((exists = api_blob_load_addressed(q, &r, &current)) < 0)
        return;
    if (!exists) {
        api_fail(q, E_BlobNotFound);
        return;
    }
    if (api_blob_read_gate(q, &r) != 0 || (!q->head && api_tier_content_gate(q, &r) != 0))
        return;
    size = r.size;
    len = size;
    if (rh == NULL)
        rh = api_header(q, "Range");
    if (rh != NULL && range_parse(rh, &start, &end)) { /* unparsable: whole blob, like Azure */
        if (range_resolve(start, end, size, &off, &len) != 0) {
            snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
            api_hdr(q, "Content-Range", cr);
            api_fail(q, E_InvalidRange);
            return;
        }
        ranged = 1;
    }
    want_md5 = api_header(q, "x-ms-range-get-content-md5");
    want_crc = api_header(q, "x-ms-range-get-content-crc64");
    if (truthy(want_md5) && truthy(want_crc)) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-range-get-content-crc64", want_crc);
        return;
    }
    if ((truthy(want_md5) || truthy(want_crc)) && (!ranged || len > (4u << 20))) {
        api_fail_header(q, E_OutOfRangeInput,
                        truthy(want_md5) ? "x-ms-range-get-content-md5"
                                         : "x-ms-range-get-content-crc64",
                        "true");
        return;
    }
    api_status(q, ranged ? 206 : 200);
    blob_headers(q, &r);
    if (r.version_id) {
        api_hdr(q, "x-ms-version-id", fmt_id(q, r.version_id));
        api_hdr(q, "x-ms-is-current-version", current ? "true" : "false");
    }
    if (ranged) {
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)off,
                 (unsigned long long)(off + len - 1), (unsigned long long)size);
        api_hdr(q, "Content-Range", cr);
        if (r.flags & BLOB_F_MD5)
            api_hdr_md5(q, "x-ms-blob-content-md5", r.md5);
    } else if (r.flags & BLOB_F_MD5) {
        api_hdr_md5(q, "Content-MD5", r.md5);
    }
    if (q->head) {
        api_tier_headers(q, &r);
        http_resp_length_only(q->h, len);
        return;
    }
    if (len == 0) {
        http_resp_body(q->h, "", 0);
        return;
    }
    if ((s = stream_new(q, &r, off)) == NULL) {
        api_fail(q, E_InternalError);
        return;
    }
    if (len <= IN_MEMORY_READ) {
        /* Small reads are verified before the status line: corruption becomes a clean 500. */
        char *buf = arena_alloc(q->a, (size_t)len);
        uint64_t got = 0;
        long n = 0;
        while (buf != NULL && got < len && (n = read_at(s, off + got, buf + got, len - got)) > 0)
            got += (uint64_t)n;
        stream_free(s);
        if (buf == NULL || got < len) {
            api_fail_io(q, n < 0 ? (int)-n : ENOMEM);
            return;
        }
        if (truthy(want_md5)) {
            unsigned char md5[16];
            MD5((unsigned char *)buf, (size_t)len, md5);
            api_hdr_md5(q, "Content-MD5", md5);
        } else if (truthy(want_crc)) {
            unsigned char le[8];
            char b64[BASE64_LEN(8) + 1];
            crc64_to_le(crc64_nvme(0, buf, (size_t)len), le);
            base64_encode(le, 8, b64);
            api_hdr(q, "x-ms-content-crc64", b64);
        }
        http_resp_body(q->h, buf, (size_t)len);
        return;
    }
    /* Larger reads stream; every chunk is verified before it is sent (store_reader_read). */
    http_resp_stream(q->h, len, stream_read, s, stream_free);
}

/* ---- metadata and properties ----------------------------------------------------------- */

void
op_blob_metadata_get(struct api_req *q)
{
    struct blob_rec r;
    int exists, current;

    if ((exists = api_blob_load_addressed(q, &r, &current)) < 0)
        return;
    if (!exists) {
        api_fail(q, E_BlobNotFound);
        return;
    }
    if (api_blob_read_gate(q, &r) != 0)
        return;
    api_status(q, 200);
    api_hdr_etag(q, r.etag);
    api_hdr_time(q, "Last-Modified", r.modified);
    api_put_metadata_headers(q, r.nmeta, r.meta);
    http_resp_body(q->h, "", 0);
}

/* Read-modify-write of a blob record's metadata (which == 0) or HTTP properties (which == 1). */
static void
update_blob(struct api_req *q, int which)
{
    struct blob_rec r, old;
    struct meta_txn *t = NULL;
    unsigned stripe;
    int exists, rc;

    if (api_blob_lock(q, &stripe) != 0)
        return;
    if ((exists = api_blob_load(q, &r)) < 0)
        goto out;
    if (!exists) {
        api_fail(q, E_BlobNotFound);
        goto out;
    }
    if (api_blob_write_gate(q, 1, &r, 0) != 0 || api_tier_content_gate(q, &r) != 0)
        goto out;
    old = r;
    if (which == 0 ? api_read_metadata(q, &r.nmeta, &r.meta) != 0
                   : api_content_props(q, &r, 0) != 0) /* unspecified properties are cleared */
        goto out;
    r.modified = ticks_now();
    r.etag = meta_next_etag(q->srv->meta);
    if ((t = meta_txn_new()) == NULL) {
        api_fail(q, E_InternalError);
        goto out;
    }
    if (api_blob_replace(q, t, &old, &r, which == 0) != 0)
        goto out;
    rc = api_commit(q, t);
    t = NULL;
    if (rc == 0) {
        api_status(q, 200);
        api_hdr_etag(q, r.etag);
        api_hdr_time(q, "Last-Modified", r.modified);
        if (which == 0)
            api_hdr(q, "x-ms-request-server-encrypted", "true");
    }
out:
    meta_txn_free(t);
    api_blob_unlock(q, stripe);
}

void
op_blob_metadata_set(struct api_req *q)
{
    update_blob(q, 0);
}

void
op_blob_properties_set(struct api_req *q)
{
    update_blob(q, 1);
}

/* ---- Delete Blob ----------------------------------------------------------------------- */

void
op_delete_blob(struct api_req *q)
{
    const char *ds = api_header(q, "x-ms-delete-snapshots"), *dt = api_query(q, "deletetype");
    struct service_settings set;
    struct blob_rec r;
    struct blob_sub *subs = NULL;
    struct meta_txn *t = NULL;
    struct buf k = BUF_INIT;
    size_t nsubs = 0, live_snaps = 0;
    int64_t purge_at = 0, id;
    int permanent = 0, exists, rc, addressed, removed_current = 0;
    char kind;
    unsigned stripe;

    if (ds != NULL && strcasecmp(ds, "include") != 0 && strcasecmp(ds, "only") != 0) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-delete-snapshots", ds);
        return;
    }
    if (dt != NULL) {
        if (strcasecmp(dt, "permanent") != 0) {
            api_fail_query(q, E_InvalidQueryParameterValue, "deletetype", dt,
                           "Only 'permanent' is supported.");
            return;
        }
        permanent = 1;
    }
    if ((addressed = api_blob_address(q, &kind, &id)) < 0 || api_service_settings(q, &set) != 0)
        return;
    if (addressed && ds != NULL) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-delete-snapshots", ds);
        return;
    }
    /* The route lets 'd' or 'x' in: a version needs 'x', everything else 'd' (§3.8). */
    if (q->auth.kind == AUTH_SAS_ACCOUNT || q->auth.kind == AUTH_SAS_SERVICE) {
        uint32_t need = addressed && kind == 'V' ? AUTH_P('x') : AUTH_P('d');
        if (!(q->auth.perms & need)) {
            api_fail(q, E_AuthorizationPermissionMismatch);
            return;
        }
    }
    if (permanent && !addressed) {
        api_fail_query(q, E_InvalidQueryParameterValue, "deletetype", dt,
                       "Permanent delete applies to a snapshot or a version.");
        return;
    }
    if (permanent && !set.allow_permanent_delete) {
        api_fail(q, E_PermanentDeleteNotEnabled);
        return;
    }
    if (permanent && q->auth.kind != AUTH_SHARED_KEY && !(q->auth.perms & AUTH_P('y'))) {
        api_fail(q, E_AuthorizationPermissionMismatch); /* permanent delete needs 'y' */
        return;
    }
    if (set.delete_retention_days > 0)
        purge_at = ticks_now() + (int64_t)set.delete_retention_days * q->srv->day_ticks;
    if (api_blob_lock(q, &stripe) != 0)
        return;
    if ((exists = api_blob_load(q, &r)) < 0 || api_blob_subs(q, &subs, &nsubs) != 0)
        goto out;
    if ((t = meta_txn_new()) == NULL) {
        api_fail(q, E_InternalError);
        goto out;
    }
    if (addressed) {
        size_t i;
        if (kind == 'V' && exists && r.version_id == id) {
            /* The current version itself: the blob keeps only its previous versions. */
            if (api_blob_write_gate(q, 1, &r, GATE_CONTENT) != 0)
                goto out;
            meta_key_blob(&k, q->cont.id, q->blob, q->blob_len);
            if (!buf_ok(&k)) {
                api_fail(q, E_InternalError);
                goto out;
            }
            meta_txn_delete(t, k.p, k.len);
            if (api_tags_reindex(q, t, q->cont.id, q->blob, q->blob_len, &r, NULL) != 0)
                goto out;
            removed_current = 1;
        } else {
            for (i = 0; i < nsubs && !(subs[i].kind == kind && subs[i].id == id); i++)
                ;
            if (i == nsubs || (subs[i].r.deleted && !permanent) ||
                api_blob_expired(&subs[i].r, ticks_now())) {
                api_fail(q, E_BlobNotFound);
                goto out;
            }
            /* Snapshots and versions keep their own WORM protection (and conditions). */
            if (api_blob_write_gate(q, 1, &subs[i].r, GATE_CONTENT) != 0)
                goto out;
            if (api_remove_sub(q, t, &subs[i], purge_at, permanent) != 0)
                goto out;
        }
    } else {
        if (!exists) {
            api_fail(q, E_BlobNotFound);
            goto out;
        }
        if (api_blob_write_gate(q, 1, &r, GATE_CONTENT) != 0)
            goto out;
        for (size_t i = 0; i < nsubs; i++)
            live_snaps += subs[i].kind == 'S' && !subs[i].r.deleted;
        if (live_snaps > 0 && ds == NULL) {
            api_fail(q, E_SnapshotsPresent);
            goto out;
        }
        /* Each snapshot removed with its blob keeps its own WORM protection. */
        for (size_t i = 0; ds != NULL && i < nsubs; i++)
            if (subs[i].kind == 'S' && !subs[i].r.deleted &&
                (api_blob_immutability(q, &subs[i].r) != 0 ||
                 api_remove_sub(q, t, &subs[i], purge_at, 0) != 0))
                goto out;
        if (ds == NULL || strcasecmp(ds, "include") == 0) {
            meta_key_blob(&k, q->cont.id, q->blob, q->blob_len);
            if (!buf_ok(&k)) {
                api_fail(q, E_InternalError);
                goto out;
            }
            /* No current blob any more: out of the tag index (before r is marked deleted). */
            if (api_tags_reindex(q, t, q->cont.id, q->blob, q->blob_len, &r, NULL) != 0)
                goto out;
            if (api_versioning(q)) {
                /* The current record becomes a previous version (without its lease). */
                struct blob_rec prev = r;
                memset(&prev.lease, 0, sizeof(prev.lease));
                if (api_put_sub_rec(q, t, 'V', prev.version_id ? prev.version_id : prev.modified,
                                    &prev))
                    goto out;
                meta_txn_delete(t, k.p, k.len);
            } else if (purge_at) {
                r.deleted = ticks_now();
                r.purge_at = purge_at;
                if (api_put_blob_rec(q, t, &r) != 0 ||
                    api_purge_mark_blob(q, t, 0, 0, purge_at, 1) != 0)
                    goto out;
            } else {
                meta_txn_delete(t, k.p, k.len);
            }
            removed_current = 1;
            if (api_drop_staged(q, t, &r) != 0)
                goto out;
        }
    }
    rc = api_commit(q, t);
    t = NULL;
    if (rc == 0) {
        if (removed_current && !purge_at && !api_versioning(q))
            api_freed(q, r.size);
        api_status(q, 202);
        api_hdr(q, "x-ms-delete-type-permanent",
                purge_at && !permanent                 ? "false"
                : api_versioning(q) && removed_current ? "false"
                                                       : "true");
    }
out:
    meta_txn_free(t);
    buf_free(&k);
    api_blob_unlock(q, stripe);
}
