/*
 * copy.c -- Copy Blob, Copy Blob From URL, Abort Copy Blob, Put Blob From URL, Put Block From URL
 * and Append Block From URL (protocol doc §2.4, §2.11, §5.6 the copy status machine), and the
 * x-ms-copy-* properties reads and listings show.  The source (its URL, local or external, how it
 * is authorized and read, §5.1 source conditions) is copy_source.c's; the small pool of threads
 * that runs copies from outside, with the state machine's invariants C1-C3 and the pool's P1-P3,
 * is copy_pool.c's.  copy_int.h is what the three share.
 *
 * Where a source lives decides how it is copied:
 *
 *  - Local: the source URL names this server (its authority is the request's Host, or a loopback
 *    address on our port) and one of our accounts.  The source record is read directly -- no HTTP
 *    loop-back -- after authorizing it like a request of its own: a SAS in the source URL is
 *    checked by auth/ exactly as on a GET; without one, a Shared Key caller may read its own
 *    account, and anyone may read a public container.  Whole-blob copies (Copy Blob, Copy Blob From
 *    URL, Put Blob From URL) only write metadata: the destination record names the source's
 *    needles, which are never duplicated (compaction marks every record's extents, so a needle
 *    lives while any record names it).  Copy Blob therefore completes at once with status success.
 *    Put Block From URL stages one needle per block, so it copies the range's bytes.  A page
 *    blob's pages are in its own page map (page.c), which another blob cannot name: Copy Blob
 *    of a page blob into another blob commits the destination pending and a job of the pool
 *    copies the written pages (copy_pool.c); onto its own blob it shares them (page_dest).
 *    Incremental Copy Blob works the same way (below).
 *
 *  - External: any other http(s) URL is fetched (fetch.c), streamed into payloads.
 *    Copy Blob is asynchronous: the destination is committed as a zero-length blob with status
 *    pending (the engine can find it again: eng_copy_recover), the 202 goes out, and a pool thread
 *    fetches, syncs (V2) and commits the content with status success, or status failed with a
 *    description.  The *From URL operations fetch on the request's thread and answer when done.
 *
 * Commit order as everywhere (DESIGN invariant 1): bytes in needles, store_sync, then the record
 * is read, conditions evaluated and the new record committed if the destination is still the
 * record read (compare-and-set).  A local copy's commit also checks that the source is still the
 * record it copied, so a concurrent change or delete of the source is ordered before the copy
 * read it (the copy reads again) or after the copy committed: the shared needles are referenced
 * by some record at every instant.
 *
 */
#include "api/copy_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/parse.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/crc.h"
#include "util/timefmt.h"
#include "util/xml.h"

#define COPY_SYNC_MAX    (256ull << 20)  /* Copy Blob From URL */
#define PUT_FROM_URL_MAX (5000ull << 20) /* Put Blob From URL */
#define BLOCK_MAX        (4000ull << 20) /* Put Block From URL */
#define APPEND_MAX       (100ull << 20)  /* Append Block From URL */
#define PAGE_MAX         (4ull << 20)    /* Put Page From URL */

enum copy_kind { K_COPY, K_COPY_SYNC, K_PUT_FROM_URL };

/* ---- the route table's discriminators ------------------------------------------------- */

static int
requires_sync(struct api_req *q)
{
    const char *v = api_header(q, "x-ms-requires-sync");

    return v != NULL && strcasecmp(v, "true") == 0;
}

int
api_is_copy_blob(struct api_req *q)
{
    return api_header(q, "x-ms-copy-source") != NULL && api_header(q, "x-ms-blob-type") == NULL &&
           !requires_sync(q);
}

int
api_is_copy_blob_sync(struct api_req *q)
{
    return api_header(q, "x-ms-copy-source") != NULL && api_header(q, "x-ms-blob-type") == NULL &&
           requires_sync(q);
}

int
api_is_put_blob_from_url(struct api_req *q)
{
    const char *t = api_header(q, "x-ms-blob-type");

    return t != NULL && strcasecmp(t, "BlockBlob") == 0 &&
           api_header(q, "x-ms-copy-source") != NULL;
}

int
api_has_copy_source(struct api_req *q)
{
    return api_header(q, "x-ms-copy-source") != NULL;
}

/* ---- copy properties on reads and listings ------------------------------------------------ */

static const char *const status_names[] = {"", "pending", "success", "failed", "aborted"};

void
api_copy_headers(struct api_req *q, const struct blob_rec *r)
{
    const struct copy_rec *c = &r->copy;
    uint64_t copied = c->copied, total = c->total;
    char prog[48], t[29];

    if (r->flags & BLOB_F_INCREMENTAL) {
        api_hdr(q, "x-ms-incremental-copy", "true");
        if (c->dest_snapshot != 0) {
            fmt_iso8601_7(c->dest_snapshot, t);
            api_hdr(q, "x-ms-copy-destination-snapshot", t);
        }
    }
    if (c->status == COPY_NONE || c->status > COPY_ABORTED)
        return;
    if (c->status == COPY_PENDING)
        copy_progress(q->srv->copies, c->id, &copied, &total);
    snprintf(prog, sizeof(prog), "%llu/%llu", (unsigned long long)copied,
             (unsigned long long)total);
    api_hdr(q, "x-ms-copy-id", c->id);
    api_hdr(q, "x-ms-copy-source", c->source ? c->source : "");
    api_hdr(q, "x-ms-copy-status", status_names[c->status]);
    api_hdr(q, "x-ms-copy-progress", prog);
    if (c->completed != 0)
        api_hdr_time(q, "x-ms-copy-completion-time", c->completed);
    if (c->description != NULL && c->description[0])
        api_hdr(q, "x-ms-copy-status-description", c->description);
}

void
api_xml_copy(struct buf *b, const struct blob_rec *r, int with_copy)
{
    const struct copy_rec *c = &r->copy;
    uint64_t copied = c->copied, total = c->total;
    char t[30];

    if (with_copy && c->status != COPY_NONE && c->status <= COPY_ABORTED) {
        xml_elem(b, "CopyId", c->id);
        xml_elem(b, "CopyStatus", status_names[c->status]);
        xml_elem(b, "CopySource", c->source ? c->source : "");
        buf_printf(b, "<CopyProgress>%llu/%llu</CopyProgress>", (unsigned long long)copied,
                   (unsigned long long)total);
        if (c->completed != 0) {
            fmt_rfc1123(c->completed, t);
            xml_elem(b, "CopyCompletionTime", t);
        }
        if (c->description != NULL && c->description[0])
            xml_elem(b, "CopyStatusDescription", c->description);
    }
    if (r->flags & BLOB_F_INCREMENTAL) {
        xml_elem(b, "IncrementalCopy", "true");
        if (c->dest_snapshot != 0) {
            fmt_iso8601_7(c->dest_snapshot, t);
            xml_elem(b, "DestinationSnapshot", t);
        }
    }
}

/* ---- the destination ---------------------------------------------------------------------- */

static int
truthy_default(const char *v, int dflt)
{
    if (v == NULL)
        return dflt;
    return strcasecmp(v, "false") != 0;
}

/* HTTP properties the request names explicitly override the ones taken from the source. */
static int
override_props(struct api_req *q, struct blob_rec *r)
{
    static const struct {
        const char *name;
        size_t off;
    } props[] = {
        {"x-ms-blob-content-type", offsetof(struct blob_rec, content_type)},
        {"x-ms-blob-content-encoding", offsetof(struct blob_rec, content_encoding)},
        {"x-ms-blob-content-language", offsetof(struct blob_rec, content_language)},
        {"x-ms-blob-content-disposition", offsetof(struct blob_rec, content_disposition)},
        {"x-ms-blob-cache-control", offsetof(struct blob_rec, cache_control)},
    };
    const char *md5 = api_header(q, "x-ms-blob-content-md5");

    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        const char *v = api_header(q, props[i].name);
        if (v != NULL && !header_text_valid(v, strlen(v)))
            return api_fail_header(q, E_InvalidHeaderValue, props[i].name, NULL);
        if (v != NULL)
            *(const char **)((char *)r + props[i].off) = v;
    }
    if (md5 != NULL && *md5) {
        if (base64_decode(md5, strlen(md5), r->md5) != 16)
            return api_fail_header(q, E_InvalidMd5, "x-ms-blob-content-md5", md5);
        r->flags |= BLOB_F_MD5;
    }
    return 0;
}

/*
 * The new destination record from a source record `src` (a local record, or the description of
 * fetched content), per operation kind.  Request metadata (nmeta > 0) replaces the source's.
 */
static int
build_dest(struct api_req *q, enum copy_kind kind, const struct blob_rec *src, size_t nmeta,
           struct meta_pair *meta, const char *copy_id, const char *display, struct blob_rec *r)
{
    int64_t now = ticks_now();

    memset(r, 0, sizeof(*r));
    r->type = kind == K_PUT_FROM_URL ? BLOB_BLOCK : src->type;
    r->size = src->size;
    r->nblocks = src->nblocks;
    r->blocks = src->blocks;
    if (kind == K_PUT_FROM_URL && src->nblocks > 0) {
        /* Put Blob content has no committed block ids. */
        if ((r->blocks = arena_alloc(q->a, sizeof(*r->blocks) * src->nblocks)) == NULL)
            return api_fail(q, E_InternalError);
        for (size_t i = 0; i < src->nblocks; i++)
            r->blocks[i] = (struct block_ref){"", 0, src->blocks[i].ext};
    }
    r->content_type = r->content_encoding = r->content_language = r->content_disposition =
        r->cache_control = "";
    if (kind != K_PUT_FROM_URL ||
        truthy_default(api_header(q, "x-ms-copy-source-blob-properties"), 1)) {
        r->content_type = src->content_type;
        r->content_encoding = src->content_encoding;
        r->content_language = src->content_language;
        r->content_disposition = src->content_disposition;
        r->cache_control = src->cache_control;
        r->flags |= src->flags & BLOB_F_MD5;
        memcpy(r->md5, src->md5, 16);
    }
    /* x-ms-access-tier names the destination's tier (block blobs only, as on Put Blob). */
    if (r->type != BLOB_BLOCK && api_header(q, "x-ms-access-tier") != NULL)
        return api_fail(q, E_AccessTierNotSupportedForBlobType);
    if (api_tier_from_upload(q, r) != 0)
        return -1;
    /* A copied append blob is open for appends unless the copy seals it. */
    r->appends = r->type == BLOB_APPEND ? src->appends : 0;
    if (r->type == BLOB_APPEND && truthy_default(api_header(q, "x-ms-seal-blob"), 0))
        r->flags |= BLOB_F_SEALED;
    if (kind == K_PUT_FROM_URL) {
        if (override_props(q, r) != 0)
            return -1;
        r->nmeta = nmeta;
        r->meta = meta;
    } else {
        r->nmeta = nmeta > 0 ? nmeta : src->nmeta;
        r->meta = nmeta > 0 ? meta : src->meta;
        r->copy.status = COPY_SUCCESS;
        snprintf(r->copy.id, sizeof(r->copy.id), "%s", copy_id);
        r->copy.source = display;
        r->copy.copied = r->copy.total = src->size;
        r->copy.completed = now;
        r->copy.description = "";
    }
    /* Tags are never copied implicitly: x-ms-tags sets them, or x-ms-copy-source-tag-option:
     * COPY takes the source's (not with x-ms-tags); an overwritten destination loses its own. */
    {
        const char *opt = api_header(q, "x-ms-copy-source-tag-option");
        if (opt != NULL && strcasecmp(opt, "COPY") != 0 && strcasecmp(opt, "REPLACE") != 0)
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source-tag-option", opt);
        if (opt != NULL && strcasecmp(opt, "COPY") == 0) {
            if (api_header(q, "x-ms-tags") != NULL)
                return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source-tag-option", opt);
            r->ntags = src->ntags;
            r->tags = src->tags;
        } else if (api_read_tags_header(q, &r->ntags, &r->tags) != 0) {
            return -1;
        }
    }
    r->modified = now;
    return 0;
}

/*
 * The write gate, the pending-copy rule, then the commit of the new record if the destination
 * (and `check`, a local source, when not NULL) is still what was read: 0, CO_ECONFLICT, or -1
 * (described).
 */
static int
commit_dest(struct api_req *q, enum copy_kind kind, struct blob_rec *r,
            const struct eng_write *check)
{
    struct blob_rec old;
    int exists, rc;

    if ((exists = api_blob_load(q, &old)) < 0 ||
        api_blob_write_gate(q, exists, &old, GATE_CREATE | GATE_CONTENT) != 0)
        return -1;
    if (exists && old.copy.status == COPY_PENDING && kind != K_PUT_FROM_URL)
        return api_fail(q, E_PendingCopyOperation);
    if (exists && !auth_may_overwrite(&q->auth))
        return api_fail(q, E_AuthorizationPermissionMismatch);
    r->created = exists ? old.created : r->modified;
    r->etag = eng_next_etag(&q->srv->eng);
    /* Replacing the content keeps the lease (its id was required). */
    r->lease = exists ? old.lease : (struct lease_rec){0};
    /* Through api_blob_replace: a copy makes a new version, and keeps a soft-deleted blob it
     * replaces as a deleted snapshot, like any other write of content.  The engine keeps the
     * pending-copy marker (C1) with the record. */
    if ((rc = api_blob_replace(q, &old, r, 1, check)) != 0)
        return rc;
    if (exists)
        api_freed(q, old.size);
    if (exists && old.copy.status == COPY_PENDING)
        copy_cancel(q->srv->copies, old.copy.id); /* a Put Blob From URL replaced it */
    return 0;
}

static void
respond_dest(struct api_req *q, enum copy_kind kind, const struct blob_rec *r,
             const unsigned char *content_md5, const char *crc_b64)
{
    api_status(q, kind == K_PUT_FROM_URL ? 201 : 202);
    api_hdr_etag(q, r->etag);
    api_hdr_time(q, "Last-Modified", r->modified);
    if (kind != K_PUT_FROM_URL) {
        api_hdr(q, "x-ms-copy-id", r->copy.id);
        api_hdr(q, "x-ms-copy-status", status_names[r->copy.status]);
    }
    if (kind != K_COPY && content_md5 != NULL)
        api_hdr_md5(q, "Content-MD5", content_md5);
    if (kind != K_COPY && crc_b64 != NULL)
        api_hdr(q, "x-ms-content-crc64", crc_b64);
    if (kind == K_PUT_FROM_URL)
        api_hdr(q, "x-ms-request-server-encrypted", "false");
}

static const char *
crc_header(struct api_req *q, uint64_t crc)
{
    unsigned char le[8];
    char *b64 = arena_alloc(q->a, BASE64_LEN(8) + 1);

    if (b64 == NULL || api_header(q, "x-ms-source-content-crc64") == NULL)
        return NULL;
    crc64_to_le(crc, le);
    base64_encode(le, 8, b64);
    return b64;
}

/* Whole-blob copy of a local source: metadata only (the needles are shared).  The commit checks
 * the source is still the record read, so it never refers to content that a change of the source
 * has freed meanwhile.  A page blob source is the exception (below). */
struct local_copy {
    enum copy_kind kind;
    const struct src_url *u;
    struct local_src ls;
    size_t nmeta;
    struct meta_pair *meta;
    struct blob_rec src;    /* the source as read */
    struct eng_write check; /* the commit's check that the source is still src */
    struct blob_rec r;      /* the destination as committed */
    unsigned char md5[16];
    uint64_t crc;
    int verified;
    int fill;             /* a page blob destination committed pending, its pages still to copy */
    struct copy_job *job; /* that copies them (admitted, P1) */
};

/* Payloads a request wrote, released when it ends (after its commit, V6). */
struct held {
    struct engine *e;
    struct extent *ext;
    size_t n;
};

static void
held_release(void *p)
{
    struct held *h = p;

    for (size_t i = 0; i < h->n; i++)
        eng_data_release(h->e, &h->ext[i]);
}

/*
 * Put Blob From URL of a page blob: its bytes (zeros where unwritten) written as the payloads of
 * a block blob, PUT_SEGMENT bytes each, with their MD5 and CRC-64 (lc->md5, lc->crc), into
 * *content (the source record with those blocks).  0 or -1 (described).
 */
#define PUT_SEGMENT (256ull << 20)
static int
page_as_blocks(struct api_req *q, struct local_copy *lc, struct blob_rec *content)
{
    struct engine *e = &q->srv->eng;
    size_t n = (size_t)((lc->src.size + PUT_SEGMENT - 1) / PUT_SEGMENT);
    struct held *h = arena_calloc(q->a, sizeof(*h));
    struct block_ref *b = arena_calloc(q->a, sizeof(*b) * (n ? n : 1));
    MD5_CTX c;
    int err;

    if (h == NULL || b == NULL ||
        (h->ext = arena_calloc(q->a, sizeof(*h->ext) * (n ? n : 1))) == NULL ||
        arena_on_free(q->a, held_release, h) != 0)
        return api_fail(q, E_InternalError);
    h->e = e;
    MD5_Init(&c);
    lc->crc = 0;
    for (uint64_t off = 0; h->n < n; off += PUT_SEGMENT) {
        uint64_t len = lc->src.size - off < PUT_SEGMENT ? lc->src.size - off : PUT_SEGMENT;
        struct eng_writer *w;
        if ((err = eng_data_write_begin(e, len, 0, &w)) != 0)
            return api_fail_rc(q, err);
        if ((err = api_read_content(&q->srv->eng, &lc->ls.blob, &lc->src, off, len, w, &c,
                                    &lc->crc)) != 0) {
            eng_data_write_abort(e, w);
            return api_fail_rc(q, err);
        }
        if ((err = eng_data_write_finish(e, w, &h->ext[h->n])) != 0)
            return api_fail_rc(q, err);
        b[h->n] = (struct block_ref){"", 0, h->ext[h->n]};
        h->n++;
    }
    MD5_Final(lc->md5, &c);
    lc->verified = 1;
    if ((err = eng_data_sync(e, h->ext, h->n)) != 0) /* V2 */
        return api_fail_rc(q, err);
    if (source_verify_checksums(q, lc->md5, lc->crc) != 0)
        return -1;
    *content = lc->src;
    content->type = BLOB_BLOCK;
    content->blocks = b;
    content->nblocks = n;
    return 0;
}

static int
same_blob(const struct eng_blob *a, const struct eng_blob *b)
{
    return a->cid == b->cid && a->nlen == b->nlen && memcmp(a->name, b->name, a->nlen) == 0;
}

/*
 * Admits the job that will copy a page blob's pages (P1), once per request: 0, or -1 (described:
 * 503 ServerBusy when the account's queue is full).
 */
static int
page_job(struct api_req *q, const struct src_url *u, struct copy_job **job)
{
    if (*job != NULL)
        return 0;
    if ((*job = copy_job_new(q, u->url, 0)) == NULL)
        return api_fail(q, E_InternalError);
    if (copy_admit(q->srv->copies, *job) != 0) {
        copy_job_free(*job);
        *job = NULL;
        return api_fail(q, E_ServerBusy);
    }
    return 0;
}

/* Gives back a job page_job admitted and that was not queued. */
static void
page_job_drop(struct api_req *q, struct copy_job **job)
{
    if (*job == NULL)
        return;
    copy_unadmit(q->srv->copies, *job);
    copy_job_free(*job);
    *job = NULL;
}

/*
 * A page blob destination of Copy Blob.  From a record of the same blob (a snapshot restored
 * over it, say) the new record names the source's layers under a new empty one: page maps are
 * per blob, so nothing is copied.  From another blob, the record is committed pending with an
 * empty layer, and a job of the pool copies the written pages (copy_pool.c, page_copy).
 */
static int
page_dest(struct api_req *q, struct local_copy *lc)
{
    struct eng_blob self = api_blob_ref(q);

    lc->r.seqno = lc->src.seqno;
    lc->fill = !same_blob(&lc->ls.blob, &self);
    lc->r.layers = lc->fill ? NULL : lc->src.layers;
    lc->r.nlayers = lc->fill ? 0 : lc->src.nlayers;
    if (lc->fill) {
        if (page_job(q, lc->u, &lc->job) != 0 ||
            copy_job_set_pages(lc->job, JOB_PAGES, &lc->ls.blob, lc->check.kind, lc->check.id,
                               lc->src.etag, 0, 0) != 0)
            return lc->job == NULL ? -1 : api_fail(q, E_InternalError);
        lc->r.copy.status = COPY_PENDING;
        snprintf(lc->r.copy.id, sizeof(lc->r.copy.id), "%s", copy_job_id(lc->job));
        lc->r.copy.copied = 0;
        lc->r.copy.completed = 0;
    }
    return api_page_freeze(q, &lc->r);
}

static int
local_copy_attempt(struct api_req *q, void *ctx)
{
    struct local_copy *lc = ctx;
    struct blob_rec content;
    char id[37];
    int rc;

    lc->fill = 0;
    if ((rc = source_load(q, lc->u, &lc->ls, &lc->src, &lc->check)) <= 0)
        return rc < 0 ? -1 : source_fail(q, 404, "BlobNotFound");
    if (source_conditions(q, lc->u, &lc->src) != 0)
        return -1;
    /* Copy Blob From URL takes block and append blobs (Azure: block blobs). */
    if (lc->src.type == BLOB_PAGE && lc->kind == K_COPY_SYNC)
        return api_fail(q, E_InvalidSourceBlobType);
    /* A synchronous copy reads the content now: not from an archived source (an asynchronous
     * Copy Blob may copy one within the account, as Azure's rehydrating copy does). */
    if (lc->kind != K_COPY && api_tier_content_gate(q, &lc->src) != 0)
        return -1;
    if (lc->src.size > (lc->kind == K_COPY_SYNC      ? COPY_SYNC_MAX
                        : lc->kind == K_PUT_FROM_URL ? PUT_FROM_URL_MAX
                                                     : UINT64_MAX))
        return api_fail(q, E_RequestBodyTooLarge);
    content = lc->src;
    if (lc->src.type == BLOB_PAGE && lc->kind == K_PUT_FROM_URL) {
        if (page_as_blocks(q, lc, &content) != 0)
            return -1;
    } else if (lc->kind != K_COPY && source_wants_checksum(q)) {
        /* Checksums the client names are computed from the bytes (CRC32Cs verified too). */
        MD5_CTX c;
        int err;
        MD5_Init(&c);
        lc->crc = 0;
        if ((err = api_read_content(&q->srv->eng, &lc->ls.blob, &lc->src, 0, lc->src.size, NULL, &c,
                                    &lc->crc)) != 0)
            return api_fail_rc(q, err);
        MD5_Final(lc->md5, &c);
        if (source_verify_checksums(q, lc->md5, lc->crc) != 0)
            return -1;
        lc->verified = 1;
    }
    api_new_guid(id);
    if (build_dest(q, lc->kind, &content, lc->nmeta, lc->meta, id, lc->u->display, &lc->r) != 0)
        return -1;
    if (lc->r.type == BLOB_PAGE && page_dest(q, lc) != 0)
        return -1;
    return commit_dest(q, lc->kind, &lc->r, &lc->check);
}

static void
copy_local(struct api_req *q, enum copy_kind kind, const struct src_url *u, size_t nmeta,
           struct meta_pair *meta)
{
    struct local_copy lc = {.kind = kind, .u = u, .nmeta = nmeta, .meta = meta};
    const unsigned char *m;
    int rc;

    rc = source_open(q, u, &lc.ls) != 0 || api_retry(q, local_copy_attempt, &lc) != 0;
    if (rc != 0 || !lc.fill) {
        page_job_drop(q, &lc.job); /* admitted by an attempt a later one made unneeded */
        if (rc != 0)
            return;
    } else {
        copy_enqueue(q->srv->copies, lc.job); /* after the commit (C2) */
    }
    m = lc.verified ? lc.md5 : (lc.r.flags & BLOB_F_MD5) ? lc.r.md5 : NULL;
    respond_dest(q, kind, &lc.r, m, lc.verified ? crc_header(q, lc.crc) : NULL);
}

struct dest {
    enum copy_kind kind;
    struct blob_rec r;
};

static int
dest_attempt(struct api_req *q, void *ctx)
{
    struct dest *d = ctx;

    return commit_dest(q, d->kind, &d->r, NULL);
}

/* Copy Blob From URL / Put Blob From URL of an external source: fetch, sync, commit. */
static void
copy_external_sync(struct api_req *q, enum copy_kind kind, const struct src_url *u, size_t nmeta,
                   struct meta_pair *meta)
{
    struct fetch_result *res;
    struct blob_rec src = {0};
    struct dest d = {.kind = kind};
    char id[37];
    int err;

    res = source_fetch(q, u, kind == K_COPY_SYNC ? COPY_SYNC_MAX : PUT_FROM_URL_MAX, 0, 0, 0);
    if (res == NULL)
        return;
    if ((err = eng_data_sync(&q->srv->eng, res->ext, res->next)) != 0) { /* V2 */
        api_fail_rc(q, err);
        return;
    }
    src.type = BLOB_BLOCK;
    src.size = res->size;
    src.nblocks = res->next;
    if (res->next > 0 &&
        (src.blocks = arena_calloc(q->a, sizeof(*src.blocks) * res->next)) == NULL) {
        api_fail(q, E_InternalError);
        return;
    }
    for (size_t i = 0; i < res->next; i++)
        src.blocks[i] = (struct block_ref){"", 0, res->ext[i]};
    src.content_type = res->content_type ? res->content_type : "";
    src.content_encoding = res->content_encoding ? res->content_encoding : "";
    src.content_language = res->content_language ? res->content_language : "";
    src.content_disposition = res->content_disposition ? res->content_disposition : "";
    src.cache_control = res->cache_control ? res->cache_control : "";
    memcpy(src.md5, res->has_content_md5 ? res->content_md5 : res->md5, 16);
    src.flags = BLOB_F_MD5;
    src.nmeta = res->nmeta;
    src.meta = res->meta;
    api_new_guid(id);
    if (build_dest(q, kind, &src, nmeta, meta, id, u->display, &d.r) != 0 ||
        api_retry(q, dest_attempt, &d) != 0)
        return;
    respond_dest(q, kind, &d.r, res->md5, crc_header(q, res->crc64));
}

/* Copy Blob of an external source: a pending destination now, the content later (pool).  The
 * job is queued after the commit: an Abort Copy that comes first finds no job to cancel, and the
 * job, when it ends, finds its record no longer pending with its id and records nothing (C2). */
static void
copy_external_async(struct api_req *q, const struct src_url *u, size_t nmeta,
                    struct meta_pair *meta)
{
    struct copy_job *j = copy_job_new(q, u->url, nmeta == 0);
    struct dest d = {.kind = K_COPY};
    struct blob_rec *r = &d.r;

    if (j == NULL) {
        api_fail(q, E_InternalError);
        return;
    }
    r->type = BLOB_BLOCK;
    r->content_type = r->content_encoding = r->content_language = r->content_disposition =
        r->cache_control = "";
    r->nmeta = nmeta;
    r->meta = meta;
    r->modified = ticks_now();
    r->copy.status = COPY_PENDING;
    snprintf(r->copy.id, sizeof(r->copy.id), "%s", copy_job_id(j));
    r->copy.source = u->display;
    r->copy.description = "";
    if (api_tier_from_upload(q, r) != 0) {
        copy_job_free(j);
        return;
    }
    if (copy_admit(q->srv->copies, j) != 0) { /* P1 */
        copy_job_free(j);
        api_fail(q, E_ServerBusy);
        return;
    }
    if (api_retry(q, dest_attempt, &d) != 0) {
        copy_unadmit(q->srv->copies, j);
        copy_job_free(j);
        return;
    }
    copy_enqueue(q->srv->copies, j);
    respond_dest(q, K_COPY, r, NULL, NULL);
}

static void
copy_blob(struct api_req *q, enum copy_kind kind)
{
    struct src_url u;
    struct meta_pair *meta = NULL;
    size_t nmeta = 0;

    if (api_reject_snapshot_write(q) != 0 || source_parse(q, &u) != 0 ||
        api_read_metadata(q, &nmeta, &meta) != 0)
        return;
    if (source_is_local(q, &u))
        copy_local(q, kind, &u, nmeta, meta);
    else if (source_scheme_check(q, &u) != 0)
        return;
    else if (kind == K_COPY)
        copy_external_async(q, &u, nmeta, meta);
    else
        copy_external_sync(q, kind, &u, nmeta, meta);
}

void
op_copy_blob(struct api_req *q)
{
    copy_blob(q, K_COPY);
}

void
op_copy_blob_sync(struct api_req *q)
{
    copy_blob(q, K_COPY_SYNC);
}

void
op_put_blob_from_url(struct api_req *q)
{
    if (q->h->content_length != 0) {
        api_fail_header(q, E_InvalidHeaderValue, "Content-Length", "must be 0");
        return;
    }
    copy_blob(q, K_PUT_FROM_URL);
}

/* ---- Incremental Copy Blob ------------------------------------------------------------------ */

/*
 * PUT ?comp=incrementalcopy: copies a snapshot of a page blob on this server into the
 * destination, an incremental copy blob, then takes a snapshot of the destination
 * (x-ms-copy-destination-snapshot).  The first copy copies every written page; each later one
 * only what changed between the snapshot it copied last and the new one -- read from the
 * source's page map layers, as Get Page Ranges Diff reads them -- or, when those snapshots do not
 * share their layers (the source was replaced since, or the last copy did not succeed), the whole
 * snapshot over a cleared destination.  The destination is read-only but for incremental copies
 * from the same source blob (GATE_INCR_OK); its snapshots are ordinary page blob snapshots.
 * Like a page blob's Copy Blob, the destination is committed pending and a job of the pool
 * copies the pages (copy_pool.c), then takes the snapshot.
 */
struct incr {
    struct src_url u;
    struct local_src ls;
    struct blob_rec src;    /* the source snapshot */
    struct eng_write check; /* it is still there */
    struct blob_rec old;    /* the destination before (exists) */
    struct blob_rec r;      /* the destination committed pending */
    int exists;
    struct copy_job *job; /* that copies the pages (page_job) */
};

/* The snapshot time the copy source URL `stored` names (0: none) and, in *same, whether it
 * names the blob of u. */
static int64_t
stored_source(struct api_req *q, const char *stored, const struct src_url *u, int *same)
{
    const char *p = strstr(stored, "://"), *path, *qs, *snap;
    size_t al = strlen(u->account), cl = strlen(u->container), n;
    char *dec;
    int64_t id = 0;

    *same = 0;
    if (p == NULL || (path = strchr(p + 3, '/')) == NULL)
        return 0;
    qs = path + strcspn(path, "?#");
    if ((dec = pct_decode(q->a, path + 1, (size_t)(qs - path - 1), &n)) != NULL &&
        n == al + cl + 2 + u->blob_len && memcmp(dec, u->account, al) == 0 && dec[al] == '/' &&
        memcmp(dec + al + 1, u->container, cl) == 0 && dec[al + 1 + cl] == '/' &&
        memcmp(dec + al + cl + 2, u->blob, u->blob_len) == 0)
        *same = 1;
    if (*qs == '?' && (snap = strstr(qs, "snapshot=")) != NULL &&
        (snap == qs + 1 || snap[-1] == '&') &&
        (snap = pct_decode(q->a, snap + 9, strcspn(snap + 9, "&#"), NULL)) != NULL &&
        parse_iso8601(snap, &id) != 0)
        id = 0;
    return id;
}

static int
incr_attempt(struct api_req *q, void *ctx)
{
    struct incr *ic = ctx;
    int rc, same;
    int64_t prev_id = 0;

    if ((rc = source_load(q, &ic->u, &ic->ls, &ic->src, &ic->check)) <= 0)
        return rc < 0 ? -1 : source_fail(q, 404, "BlobNotFound");
    if (ic->src.type != BLOB_PAGE)
        return api_fail(q, E_InvalidSourceBlobType);
    if ((ic->exists = api_blob_load(q, &ic->old)) < 0 ||
        api_blob_write_gate(q, ic->exists, &ic->old, GATE_CREATE | GATE_CONTENT | GATE_INCR_OK) !=
            0)
        return -1;
    if (ic->exists) {
        prev_id = stored_source(q, ic->old.copy.source ? ic->old.copy.source : "", &ic->u, &same);
        if (!(ic->old.flags & BLOB_F_INCREMENTAL) || !same)
            return api_fail(q, E_IncrementalCopyBlobMismatch);
        if (ic->old.copy.status == COPY_PENDING)
            return api_fail(q, E_PendingCopyOperation);
        if (ic->check.id <= prev_id)
            return api_fail(q, E_IncrementalCopyOfEarlierVersionSnapshotNotAllowed);
        if (ic->old.copy.status != COPY_SUCCESS) /* what the destination holds is not prev's */
            prev_id = 0;
    } else if (!auth_may_overwrite(&q->auth) && ic->old.etag != 0) {
        return api_fail(q, E_AuthorizationPermissionMismatch);
    }
    if (page_job(q, &ic->u, &ic->job) != 0)
        return -1;
    if (copy_job_set_pages(ic->job, JOB_INCREMENTAL, &ic->ls.blob, ic->check.kind, ic->check.id,
                           ic->src.etag, prev_id, ic->exists ? ic->old.size : 0) != 0)
        return api_fail(q, E_InternalError);
    if (build_dest(q, K_COPY, &ic->src, 0, NULL, copy_job_id(ic->job), ic->u.display, &ic->r) != 0)
        return -1;
    ic->r.flags |= BLOB_F_INCREMENTAL;
    ic->r.seqno = ic->src.seqno;
    ic->r.copy.status = COPY_PENDING;
    ic->r.copy.copied = 0;
    ic->r.copy.completed = 0;
    ic->r.etag = eng_next_etag(&q->srv->eng);
    if (ic->exists) { /* the same blob, going on in its layers */
        ic->r.created = ic->old.created;
        ic->r.layers = ic->old.layers;
        ic->r.nlayers = ic->old.nlayers;
        ic->r.lease = ic->old.lease;
        ic->r.ntags = ic->old.ntags;
        ic->r.tags = ic->old.tags;
        ic->r.version_id = ic->old.version_id;
        ic->r.copy.dest_snapshot = ic->old.copy.dest_snapshot;
    } else {
        ic->r.created = ic->r.modified;
        if (api_page_freeze(q, &ic->r) != 0)
            return -1;
    }
    return api_blob_replace(q, &ic->old, &ic->r, 0, &ic->check);
}

void
op_incremental_copy(struct api_req *q)
{
    struct incr *ic = arena_calloc(q->a, sizeof(*ic));

    if (ic == NULL) {
        api_fail(q, E_InternalError);
        return;
    }
    if (api_reject_snapshot_write(q) != 0 || source_parse(q, &ic->u) != 0)
        return;
    if (!source_is_local(q, &ic->u)) { /* the pages of a source elsewhere are not fetched */
        api_fail(q, E_CopyAcrossAccountsNotSupported);
        return;
    }
    if (ic->u.snapshot == NULL) {
        api_fail(q, E_IncrementalCopySourceMustBeSnapshot);
        return;
    }
    if (source_open(q, &ic->u, &ic->ls) != 0 || api_retry(q, incr_attempt, ic) != 0) {
        page_job_drop(q, &ic->job);
        return;
    }
    copy_enqueue(q->srv->copies, ic->job); /* after the commit (C2) */
    respond_dest(q, K_COPY, &ic->r, NULL, NULL);
}

/* ---- Abort Copy Blob -------------------------------------------------------------------------- */

struct abort_copy {
    const char *id;
    struct blob_rec r;
};

static int
abort_attempt(struct api_req *q, void *ctx)
{
    struct abort_copy *ac = ctx;
    struct blob_rec old, *r = &ac->r;
    int exists;

    if ((exists = api_blob_load(q, &old)) < 0)
        return -1;
    if (!exists)
        return api_fail(q, E_BlobNotFound);
    if (api_lease_check_blob(q, 1, &old, 1) != 0)
        return -1;
    if (old.copy.status != COPY_PENDING)
        return api_fail(q, E_NoPendingCopyOperation);
    if (strcasecmp(old.copy.id, ac->id) != 0)
        return api_fail(q, E_CopyIdMismatch);
    /* The destination keeps its metadata and becomes zero-length, status aborted (§2.11). */
    *r = old;
    copy_progress(q->srv->copies, r->copy.id, &r->copy.copied, &r->copy.total);
    r->copy.status = COPY_ABORTED;
    r->copy.completed = ticks_now();
    r->copy.description = "";
    r->size = 0;
    r->nblocks = 0;
    r->blocks = NULL;
    r->modified = r->copy.completed;
    r->etag = eng_next_etag(&q->srv->eng);
    return api_blob_commit(q, &(struct eng_write){NULL, ENG_CURRENT, 0, &old, r}, 1, NULL);
}

void
op_abort_copy(struct api_req *q)
{
    const char *action = api_header(q, "x-ms-copy-action");
    struct abort_copy ac = {.id = api_query(q, "copyid")};

    if (ac.id == NULL) {
        api_fail_query(q, E_MissingRequiredQueryParameter, "copyid", NULL, "Required.");
        return;
    }
    if (action == NULL) {
        api_fail_header(q, E_MissingRequiredHeader, "x-ms-copy-action", NULL);
        return;
    }
    if (strcasecmp(action, "abort") != 0) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-action", action);
        return;
    }
    if (api_reject_snapshot_write(q) != 0 || api_retry(q, abort_attempt, &ac) != 0)
        return;
    copy_cancel(q->srv->copies, ac.id); /* its worker finds the copy no longer pending (C2) */
    api_status(q, 204);
    http_resp_body(q->h, "", 0);
}

/* ---- Put Block From URL ----------------------------------------------------------------------- */

/* Copies a local source range into one new needle (a staged block is one needle). */
static int
local_block(struct api_req *q, const struct src_url *u, int ranged, uint64_t start, uint64_t end,
            uint64_t max, unsigned char md5[16], uint64_t *crc)
{
    struct local_src ls;
    struct blob_rec src;
    struct eng_write check; /* unused: the bytes are copied, not shared */
    struct eng_writer *w = NULL;
    uint64_t off = 0, len;
    MD5_CTX c;
    int rc, err;

    if (source_open(q, u, &ls) != 0 || (rc = source_load(q, u, &ls, &src, &check)) < 0)
        return -1;
    if (rc == 0)
        return source_fail(q, 404, "BlobNotFound");
    if (source_conditions(q, u, &src) != 0 || api_tier_content_gate(q, &src) != 0)
        return -1;
    len = src.size;
    if (ranged && range_resolve(start, end, src.size, &off, &len) != 0)
        return api_fail(q, E_InvalidRange);
    if (len == 0)
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-source-range", "empty");
    if (len > max)
        return api_fail(q, E_RequestBodyTooLarge);
    if ((err = eng_data_write_begin(&q->srv->eng, len, 0, &w)) != 0)
        return api_fail_rc(q, err);
    MD5_Init(&c);
    *crc = 0;
    if ((err = api_read_content(&q->srv->eng, &ls.blob, &src, off, len, w, &c, crc)) != 0) {
        eng_data_write_abort(&q->srv->eng, w);
        return api_fail_rc(q, err);
    }
    MD5_Final(md5, &c);
    if ((err = eng_data_write_finish(&q->srv->eng, w, &q->ext)) !=
        0) /* released when the request ends */
        return api_fail_rc(q, err);
    return 0;
}

/* Re-writes the needles of a chunked external source as one (staged as one block): q->ext. */
static int
coalesce(struct api_req *q, const struct fetch_result *res)
{
    struct block_ref *b = arena_calloc(q->a, sizeof(*b) * res->next);

    if (b == NULL)
        return api_fail(q, E_InternalError);
    for (size_t i = 0; i < res->next; i++)
        b[i].ext = res->ext[i];
    return api_coalesce(q, b, res->next, &q->ext);
}

/*
 * The source of Put Block From URL and Append Block From URL (x-ms-copy-source, optionally
 * x-ms-source-range), at most `max` bytes, read into one new needle as if it were the request
 * body: q->ext, q->body_md5, q->crc64.  0, or -1 (described).
 */
static int
block_from_url(struct api_req *q, uint64_t max)
{
    const char *rh = api_header(q, "x-ms-source-range");
    struct src_url u;
    uint64_t start = 0, end = UINT64_MAX, crc = 0;
    unsigned char md5[16];
    int ranged = 0;

    if (rh != NULL) {
        if (!range_parse(rh, &start, &end))
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-source-range", rh);
        ranged = 1;
        if (end != UINT64_MAX && end - start + 1 > max)
            return api_fail(q, E_RequestBodyTooLarge);
    }
    if (source_parse(q, &u) != 0)
        return -1;
    if (source_is_local(q, &u)) {
        if (local_block(q, &u, ranged, start, end, max, md5, &crc) != 0 ||
            source_verify_checksums(q, md5, crc) != 0)
            return -1;
    } else {
        struct fetch_result *res;
        if (source_scheme_check(q, &u) != 0 ||
            (res = source_fetch(q, &u, max, ranged, start, end)) == NULL)
            return -1;
        if (res->next == 1) {
            q->ext = res->ext[0]; /* the request owns it now (released in app_done) */
            res->next = 0;
        } else if (res->next > 1 && coalesce(q, res) != 0) {
            return -1;
        }
        memcpy(md5, res->md5, 16);
        crc = res->crc64;
    }
    memcpy(q->body_md5, md5, 16);
    q->crc64 = crc;
    return 0;
}

void
op_put_block_from_url(struct api_req *q)
{
    if (api_query(q, "blockid") == NULL) {
        api_fail_query(q, E_MissingRequiredQueryParameter, "blockid", NULL, "Required.");
        return;
    }
    if (block_from_url(q, BLOCK_MAX) == 0)
        op_put_block(q); /* the staging itself: sync (V2), locks, lease, block id rules */
}

void
op_append_block_from_url(struct api_req *q)
{
    if (block_from_url(q, APPEND_MAX) == 0)
        op_append_block(q); /* the append itself: sync (V2), locks, conditions, sealing */
}

void
op_put_page_from_url(struct api_req *q)
{
    const char *src = api_header(q, "x-ms-source-range"), *dst = api_header(q, "x-ms-range");
    const char *how = api_header(q, "x-ms-page-write");
    uint64_t s0, e0, s1, e1;

    if (how == NULL || src == NULL || dst == NULL) {
        api_fail_header(q, E_MissingRequiredHeader,
                        how == NULL   ? "x-ms-page-write"
                        : src == NULL ? "x-ms-source-range"
                                      : "x-ms-range",
                        NULL);
        return;
    }
    if (strcasecmp(how, "update") != 0) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-page-write", how);
        return;
    }
    /* Both ranges closed and of one length; the page rules are Put Page's (op_put_page). */
    if (!range_parse(src, &s0, &e0) || e0 == UINT64_MAX || !range_parse(dst, &s1, &e1) ||
        e1 == UINT64_MAX || e0 - s0 != e1 - s1) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-source-range", src);
        return;
    }
    if (block_from_url(q, PAGE_MAX) == 0)
        op_put_page(q); /* the write itself: sync (V2), conditions, sequence numbers */
}
