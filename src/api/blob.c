/*
 * blob.c -- operations on whole blobs: Put Blob (block blobs), Get Blob / Get Blob Properties
 * (GET/HEAD, with ranges), Delete Blob, Get/Set Blob Metadata, Set Blob Properties.
 *
 * Every write follows the commit order of DESIGN.md invariant 1:
 *   1. the payload is already written (the dispatcher streamed it: eng_data_write_*);
 *   2. eng_data_sync() makes it durable (store.h V2);
 *   3. the current record is read, conditions are evaluated against it and the new record is
 *      committed if the current one is still the one read (eng_blob_commit: compare-and-set,
 *      atomic and durable); when another write won meanwhile, the attempt starts again from the
 *      read (api_retry);
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
#include "util/log.h"
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

/* Whether the page blob record r (a snapshot or version kept by a commit) shares the layer
 * page writes go to with cur, the current record the commit stores or checks. */
static int
shares_top_layer(const struct blob_rec *r, const struct blob_rec *cur)
{
    return r != NULL && cur != NULL && r->type == BLOB_PAGE && cur->type == BLOB_PAGE &&
           r->nlayers > 0 && cur->nlayers > 0 && r->layers[0] == cur->layers[0];
}

int
api_blob_commit(struct api_req *q, const struct eng_write *w, size_t n,
                const struct block_ref *stage)
{
    struct eng_blob b = api_blob_ref(q);
    struct eng_write v[8];
    struct blob_rec *cur;
    int rc;

    /* A page blob record kept beside the current one freezes its layers (page.c). */
    for (size_t c = 0; c < n && n <= 8; c++) {
        if (w[c].blob != NULL || w[c].kind != ENG_CURRENT || w[c].rec == NULL)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (i == c || w[i].blob != NULL || w[i].rec == w[i].expect ||
                !shares_top_layer(w[i].rec, w[c].rec))
                continue;
            if ((cur = arena_alloc(q->a, sizeof(*cur))) == NULL)
                return api_fail(q, E_InternalError);
            *cur = *w[c].rec;
            if (api_page_freeze(q, cur) != 0)
                return -1;
            memcpy(v, w, sizeof(*w) * n);
            v[c].rec = cur;
            w = v;
            break;
        }
    }
    rc = eng_blob_commit(&q->srv->eng, &b, w, n, stage);
    return rc == 0 || rc == CO_ECONFLICT ? rc : api_fail_rc(q, rc);
}

/* Attempts before a request gives up on a record that keeps changing under it (each lost race
 * means another write committed: only a stampede on one blob can lose this many). */
#define ATTEMPTS 1000

int
api_retry(struct api_req *q, int (*attempt)(struct api_req *q, void *ctx), void *ctx)
{
    for (int i = 0; i < ATTEMPTS; i++) {
        int rc = attempt(q, ctx);
        if (rc != CO_ECONFLICT)
            return rc == 0 ? 0 : -1;
    }
    log_warn("request %s: %s: the record kept changing: gave up after %d attempts", q->request_id,
             q->route ? q->route->name : "-", ATTEMPTS);
    return api_fail(q, E_InternalError);
}

int
api_blob_load(struct api_req *q, struct blob_rec *r)
{
    struct eng_blob b = api_blob_ref(q);
    int rc = eng_blob_get(&q->srv->eng, q->a, &b, ENG_CURRENT, 0, r);

    if (rc == CO_ENOTFOUND)
        return 0; /* *r is zeroed */
    if (rc != 0)
        return api_fail_rc(q, rc);
    if ((r->flags & BLOB_F_UNCOMMITTED) || r->deleted)
        return 0;
    return api_blob_past_expiry(r, ticks_now()) ? 0 : 1; /* an expired blob is gone */
}

int
api_blob_load_typed(struct api_req *q, struct blob_rec *r, uint8_t type)
{
    int exists = api_blob_load(q, r);

    if (exists < 0)
        return -1;
    if (!exists)
        return api_fail(q, E_BlobNotFound);
    if (r->type != type)
        return api_fail(q, E_InvalidBlobType);
    return 1;
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
    /* An incremental copy destination changes only by incremental copies (copy.c). */
    if (exists && (r->flags & BLOB_F_INCREMENTAL) && !(flags & GATE_INCR_OK))
        return api_fail(q, E_OperationNotAllowedOnIncrementalCopyBlob);
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

static int
put_blob_attempt(struct api_req *q, void *ctx)
{
    struct blob_rec *r = ctx, old;
    int exists, rc;

    if ((exists = api_blob_load(q, &old)) < 0 ||
        api_blob_write_gate(q, exists, &old, GATE_CREATE | GATE_CONTENT) != 0)
        return -1;
    if (exists && !auth_may_overwrite(&q->auth))
        return api_fail(q, E_AuthorizationPermissionMismatch);
    r->modified = ticks_now();
    r->created = exists ? old.created : r->modified;
    r->etag = eng_next_etag(&q->srv->eng);
    /* Replacing the content keeps the lease (the id was required). */
    r->lease = exists ? old.lease : (struct lease_rec){0};
    if ((rc = api_blob_replace(q, &old, r, 1, NULL)) == 0 && exists)
        api_freed(q, old.size);
    return rc;
}

void
op_put_blob(struct api_req *q)
{
    struct blob_rec r = {0};
    struct block_ref content;
    const char *crc = api_header(q, "x-ms-content-crc64");
    int err;

    /* The route chose the type (append and page blobs are created empty: routes.c). */
    r.type = strcasecmp(api_header(q, "x-ms-blob-type"), "AppendBlob") == 0 ? BLOB_APPEND
             : strcasecmp(api_header(q, "x-ms-blob-type"), "PageBlob") == 0 ? BLOB_PAGE
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
    if (r.type == BLOB_PAGE && api_page_create(q, &r) != 0)
        return;
    if (q->ext.len > 0) {
        content = (struct block_ref){"", 0, q->ext};
        r.blocks = &content;
        r.nblocks = 1;
        if ((err = eng_data_sync(&q->srv->eng, &q->ext, 1)) != 0) { /* V2 */
            api_fail_rc(q, err);
            return;
        }
    }
    if (api_retry(q, put_blob_attempt, &r) != 0)
        return;
    api_status(q, 201);
    api_hdr_etag(q, r.etag);
    api_hdr_time(q, "Last-Modified", r.modified);
    if (r.type == BLOB_BLOCK)
        api_hdr_md5(q, "Content-MD5", q->body_md5);
    if (crc != NULL)
        api_hdr(q, "x-ms-content-crc64", crc);
    api_hdr(q, "x-ms-request-server-encrypted", "false");
}

/* ---- Get Blob / Get Blob Properties ---------------------------------------------------- */

struct stream {
    struct engine *eng;
    struct eng_reader *reader;
    uint64_t off; /* blob offset of the response's first byte */
    size_t n;
    struct block_ref *blocks;  /* malloc'd copy: outlives the request arena */
    uint64_t *starts;          /* blob offset of each block */
    struct page_reader *pages; /* a page blob's content (instead of blocks) */
};

static void
stream_free(void *p)
{
    struct stream *s = p;

    if (s == NULL)
        return;
    eng_data_reader_free(s->eng, s->reader);
    api_page_reader_free(s->pages);
    free(s->blocks);
    free(s->starts);
    free(s);
}

/* Reads up to max bytes at blob offset `at`; bytes, or -errno. */
static long
read_at(struct stream *s, uint64_t at, char *dst, size_t max)
{
    size_t lo = 0, hi = s->n;

    if (s->pages != NULL)
        return api_page_read(s->pages, at, dst, max);
    while (hi - lo > 1) { /* last block starting at or before `at` */
        size_t mid = (lo + hi) / 2;
        if (s->starts[mid] <= at)
            lo = mid;
        else
            hi = mid;
    }
    return eng_data_read(s->eng, s->reader, &s->blocks[lo].ext, at - s->starts[lo], dst, max);
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
    struct eng_blob b = api_blob_ref(q);
    struct stream *s = calloc(1, sizeof(*s));
    uint64_t at = 0;
    size_t n = 0;

    if (s == NULL)
        return NULL;
    s->eng = &q->srv->eng;
    s->off = off;
    if (r->type == BLOB_PAGE && (s->pages = api_page_reader_new(&q->srv->eng, &b, r)) == NULL) {
        stream_free(s);
        return NULL;
    }
    s->blocks = malloc(sizeof(*s->blocks) * (r->nblocks ? r->nblocks : 1));
    s->starts = malloc(sizeof(*s->starts) * (r->nblocks ? r->nblocks : 1));
    if (s->blocks == NULL || s->starts == NULL || eng_data_reader_new(s->eng, &s->reader) != 0) {
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
        api_hdr(q, "x-ms-blob-sealed", r->flags & BLOB_F_SEALED ? "true" : "false");
    }
    if (r->type == BLOB_PAGE)
        api_hdr_u64(q, "x-ms-blob-sequence-number", r->seqno);
    api_lease_headers(q, &r->lease);
    api_immutability_headers_out(q, r);
    api_copy_headers(q, r);
    if (r->purge_at && !r->deleted)
        api_hdr_time(q, "x-ms-expiry-time", r->purge_at); /* Set Blob Expiry (expiry.c) */
    api_hdr(q, "x-ms-server-encrypted", "false");
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
            api_fail_rc(q, n < 0 ? (int)-n : ENOMEM);
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
    /* Larger reads stream; every chunk is verified before it is sent (eng_data_read). */
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
struct update {
    int which;
    struct blob_rec r;
};

static int
update_attempt(struct api_req *q, void *ctx)
{
    struct update *u = ctx;
    struct blob_rec old;
    int exists;

    if ((exists = api_blob_load(q, &old)) < 0)
        return -1;
    if (!exists)
        return api_fail(q, E_BlobNotFound);
    if (api_blob_write_gate(q, 1, &old, 0) != 0 || api_tier_content_gate(q, &old) != 0)
        return -1;
    u->r = old;
    if (u->which == 0 ? api_read_metadata(q, &u->r.nmeta, &u->r.meta) != 0
                      : api_content_props(q, &u->r, 0) != 0) /* unspecified ones are cleared */
        return -1;
    u->r.modified = ticks_now();
    u->r.etag = eng_next_etag(&q->srv->eng);
    return api_blob_replace(q, &old, &u->r, u->which == 0, NULL);
}

static void
update_blob(struct api_req *q, int which)
{
    struct update u = {.which = which};

    if (api_retry(q, update_attempt, &u) != 0)
        return;
    api_status(q, 200);
    api_hdr_etag(q, u.r.etag);
    api_hdr_time(q, "Last-Modified", u.r.modified);
    if (which == 0)
        api_hdr(q, "x-ms-request-server-encrypted", "false");
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

struct delete_blob {
    const char *ds; /* x-ms-delete-snapshots */
    int addressed;  /* a snapshot or version is named */
    char kind;      /* ...which */
    int64_t id;
    int64_t purge_at; /* soft delete on: when what is deleted now is purged */
    int permanent;
    int removed_current;
    uint64_t size; /* of the current record removed */
};

/* Deleting a named snapshot or version: the writes into w (1). */
static int
delete_addressed(struct api_req *q, struct delete_blob *d, const struct blob_rec *r, int exists,
                 const struct eng_entry *subs, size_t nsubs, struct eng_write *w)
{
    size_t i;

    if (d->kind == ENG_VERSION && exists && r->version_id == d->id) {
        /* The current version itself: the blob keeps only its previous versions. */
        if (api_blob_write_gate(q, 1, r, GATE_CONTENT | GATE_INCR_OK) != 0)
            return -1;
        *w = (struct eng_write){NULL, ENG_CURRENT, 0, r, NULL};
        d->removed_current = 1;
        return 1;
    }
    for (i = 0; i < nsubs && !(subs[i].kind == d->kind && subs[i].id == d->id); i++)
        ;
    if (i == nsubs || (subs[i].rec.deleted && !d->permanent) ||
        api_blob_expired(&subs[i].rec, ticks_now()))
        return api_fail(q, E_BlobNotFound);
    /* Snapshots and versions keep their own WORM protection (and conditions). */
    if (api_blob_write_gate(q, 1, &subs[i].rec, GATE_CONTENT | GATE_INCR_OK) != 0 ||
        api_remove_sub(q, &subs[i], d->purge_at, d->permanent, w) != 0)
        return -1;
    return 1;
}

/* Deleting the blob (and, with x-ms-delete-snapshots, its snapshots): the writes into w. */
static int
delete_base(struct api_req *q, struct delete_blob *d, const struct blob_rec *r, int exists,
            const struct eng_entry *subs, size_t nsubs, struct eng_write *w)
{
    size_t live_snaps = 0, n = 0;
    struct blob_rec *gone;

    if (!exists)
        return api_fail(q, E_BlobNotFound);
    if (api_blob_write_gate(q, 1, r, GATE_CONTENT | GATE_INCR_OK) != 0)
        return -1;
    for (size_t i = 0; i < nsubs; i++)
        live_snaps += subs[i].kind == ENG_SNAPSHOT && !subs[i].rec.deleted;
    if (live_snaps > 0 && d->ds == NULL)
        return api_fail(q, E_SnapshotsPresent);
    /* Each snapshot removed with its blob keeps its own WORM protection. */
    for (size_t i = 0; d->ds != NULL && i < nsubs; i++)
        if (subs[i].kind == ENG_SNAPSHOT && !subs[i].rec.deleted &&
            (api_blob_immutability(q, &subs[i].rec) != 0 ||
             api_remove_sub(q, &subs[i], d->purge_at, 0, &w[n++]) != 0))
            return -1;
    if (d->ds != NULL && strcasecmp(d->ds, "include") != 0)
        return (int)n; /* "only": the snapshots */
    if (api_versioning(q)) {
        /* The current record becomes a previous version (without its lease). */
        if ((gone = arena_alloc(q->a, sizeof(*gone))) == NULL)
            return api_fail(q, E_InternalError);
        *gone = *r;
        memset(&gone->lease, 0, sizeof(gone->lease));
        gone->flags &= (uint8_t)~BLOB_F_STAGED; /* its staged blocks go with the blob */
        gone->purge_at = 0;                     /* an expiry belongs to the current blob */
        w[n++] = (struct eng_write){
            NULL, ENG_VERSION, gone->version_id ? gone->version_id : gone->modified, NULL, gone};
        w[n++] = (struct eng_write){NULL, ENG_CURRENT, 0, r, NULL};
    } else if (d->purge_at) {
        if ((gone = arena_alloc(q->a, sizeof(*gone))) == NULL)
            return api_fail(q, E_InternalError);
        *gone = *r;
        gone->deleted = ticks_now();
        gone->purge_at = d->purge_at;
        gone->flags &= (uint8_t)~BLOB_F_STAGED; /* its staged blocks go */
        w[n++] = (struct eng_write){NULL, ENG_CURRENT, 0, r, gone};
    } else {
        w[n++] = (struct eng_write){NULL, ENG_CURRENT, 0, r, NULL};
    }
    d->removed_current = 1;
    d->size = r->size;
    return (int)n;
}

static int
delete_attempt(struct api_req *q, void *ctx)
{
    struct delete_blob *d = ctx;
    struct blob_rec *r = arena_alloc(q->a, sizeof(*r));
    struct eng_entry *subs = NULL;
    struct eng_write *w;
    size_t nsubs = 0;
    int exists, n;

    d->removed_current = 0;
    if (r == NULL)
        return api_fail(q, E_InternalError);
    if ((exists = api_blob_load(q, r)) < 0 || api_blob_subs(q, &subs, &nsubs) != 0)
        return -1;
    if ((w = arena_alloc(q->a, sizeof(*w) * (nsubs + 2))) == NULL)
        return api_fail(q, E_InternalError);
    n = d->addressed ? delete_addressed(q, d, r, exists, subs, nsubs, w)
                     : delete_base(q, d, r, exists, subs, nsubs, w);
    return n <= 0 ? n : api_blob_commit(q, w, (size_t)n, NULL);
}

void
op_delete_blob(struct api_req *q)
{
    const char *dt = api_query(q, "deletetype");
    struct delete_blob d = {.ds = api_header(q, "x-ms-delete-snapshots")};
    struct service_settings set;

    if (d.ds != NULL && strcasecmp(d.ds, "include") != 0 && strcasecmp(d.ds, "only") != 0) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-delete-snapshots", d.ds);
        return;
    }
    if (dt != NULL) {
        if (strcasecmp(dt, "permanent") != 0) {
            api_fail_query(q, E_InvalidQueryParameterValue, "deletetype", dt,
                           "Only 'permanent' is supported.");
            return;
        }
        d.permanent = 1;
    }
    if ((d.addressed = api_blob_address(q, &d.kind, &d.id)) < 0 ||
        api_service_settings(q, &set) != 0)
        return;
    if (d.addressed && d.ds != NULL) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-delete-snapshots", d.ds);
        return;
    }
    /* The route lets 'd' or 'x' in: a version needs 'x', everything else 'd' (§3.8). */
    if (q->auth.kind == AUTH_SAS_ACCOUNT || q->auth.kind == AUTH_SAS_SERVICE) {
        uint32_t need = d.addressed && d.kind == ENG_VERSION ? AUTH_P('x') : AUTH_P('d');
        if (!(q->auth.perms & need)) {
            api_fail(q, E_AuthorizationPermissionMismatch);
            return;
        }
    }
    if (d.permanent && !d.addressed) {
        api_fail_query(q, E_InvalidQueryParameterValue, "deletetype", dt,
                       "Permanent delete applies to a snapshot or a version.");
        return;
    }
    if (d.permanent && !set.allow_permanent_delete) {
        api_fail(q, E_PermanentDeleteNotEnabled);
        return;
    }
    if (d.permanent && q->auth.kind != AUTH_SHARED_KEY && !(q->auth.perms & AUTH_P('y'))) {
        api_fail(q, E_AuthorizationPermissionMismatch); /* permanent delete needs 'y' */
        return;
    }
    if (set.delete_retention_days > 0)
        d.purge_at = ticks_now() + (int64_t)set.delete_retention_days * q->srv->day_ticks;
    if (api_retry(q, delete_attempt, &d) != 0)
        return;
    if (d.removed_current && !d.purge_at && !api_versioning(q))
        api_freed(q, d.size);
    api_status(q, 202);
    api_hdr(q, "x-ms-delete-type-permanent",
            d.purge_at && !d.permanent               ? "false"
            : api_versioning(q) && d.removed_current ? "false"
                                                     : "true");
}
