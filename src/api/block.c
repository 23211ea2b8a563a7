/*
 * block.c -- block blob staging: Put Block, Put Block List, Get Block List.
 *
 * A staged block is one needle plus a 'U' key (container id, blob name, block id) -> extent.  Put
 * Block List only writes metadata: the new blob record lists the chosen needles in order, and the
 * staged keys are removed in the same batch, so committing a 190 TiB blob moves no data.
 * A blob that has staged blocks but was never committed has a record flagged BLOB_F_UNCOMMITTED:
 * invisible to reads (404) and listed only with include=uncommittedblobs.
 */
#include "api/api_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/parse.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/timefmt.h"
#include "util/xml.h"

#define MAX_BLOCKS 50000

/* The block id query value, validated (§2.4).  NULL with the response described. */
static const char *
block_id(struct api_req *q)
{
    const char *id = api_query(q, "blockid");
    int n;

    if (id == NULL) {
        api_fail_query(q, E_MissingRequiredQueryParameter, "blockid", NULL, "Required.");
        return NULL;
    }
    n = blockid_check(id, strlen(id));
    if (n == 0) {
        api_fail_query(q, E_InvalidQueryParameterValue, "blockid", id,
                       "Not a valid Base64 string.");
        return NULL;
    }
    if (n < 0) {
        api_fail_query(q, E_OutOfRangeQueryParameterValue, "blockid", id,
                       "Block ids decode to at most 64 bytes.");
        return NULL;
    }
    return id;
}

/* Length of the encoded ids this blob already uses (0 if none): all must be the same (§2.4).
 * -1 (described) on an engine error. */
static long
id_length_in_use(struct api_req *q, const struct blob_rec *r)
{
    struct eng_blob b = api_blob_ref(q);
    struct block_ref *staged;
    size_t n;
    int rc;

    for (size_t i = 0; i < r->nblocks; i++)
        if (r->blocks[i].id_len > 0)
            return (long)r->blocks[i].id_len;
    if ((rc = eng_blocks_list(&q->srv->eng, q->a, &b, 1, &staged, &n)) != 0)
        return api_fail_rc(q, rc);
    return n > 0 ? (long)staged[0].id_len : 0;
}

static int
put_block_attempt(struct api_req *q, void *ctx)
{
    const struct block_ref *stage = ctx;
    struct eng_blob b = api_blob_ref(q);
    struct blob_rec r, *nr = &r;
    long in_use;
    int rc, exists;

    rc = eng_blob_get(&q->srv->eng, q->a, &b, ENG_CURRENT, 0, &r);
    if (rc != 0 && rc != CO_ENOTFOUND)
        return api_fail_rc(q, rc);
    exists = rc == 0 && !api_blob_past_expiry(&r, ticks_now()); /* an expired one is gone */
    if (exists && r.type != BLOB_BLOCK)
        return api_fail(q, E_InvalidBlobType);
    /* The staged list belongs to the blob: a leased blob needs its lease id (§5.3). */
    if (api_lease_check_blob(q, exists && !(r.flags & BLOB_F_UNCOMMITTED), &r, 1) != 0)
        return -1;
    if ((in_use = id_length_in_use(q, &r)) < 0)
        return -1;
    if (in_use != 0 && (size_t)in_use != stage->id_len)
        return api_fail(q, E_InvalidBlobOrBlock);
    if (!exists || !(r.flags & (BLOB_F_UNCOMMITTED | BLOB_F_STAGED))) {
        if ((nr = arena_alloc(q->a, sizeof(*nr))) == NULL)
            return api_fail(q, E_InternalError);
        if (exists) {
            /* Remember that staged blocks exist, so the next commit drops them. */
            *nr = r;
            nr->flags |= BLOB_F_STAGED;
        } else {
            /* The name now exists as an uncommitted blob (listed with
             * include=uncommittedblobs). */
            memset(nr, 0, sizeof(*nr));
            nr->type = BLOB_BLOCK;
            nr->flags = BLOB_F_UNCOMMITTED;
            nr->created = nr->modified = ticks_now();
            nr->content_type = nr->content_encoding = nr->content_language =
                nr->content_disposition = nr->cache_control = "";
        }
    }
    return api_blob_commit(q, &(struct eng_write){NULL, ENG_CURRENT, 0, eng_found(&r), nr}, 1,
                           stage);
}

void
op_put_block(struct api_req *q)
{
    const char *id = block_id(q), *crc = api_header(q, "x-ms-content-crc64");
    struct block_ref stage;
    int rc;

    if (id == NULL)
        return;
    if (q->ext.len == 0) {
        api_fail_header(q, E_InvalidHeaderValue, "Content-Length", "0");
        return;
    }
    if ((rc = eng_data_sync(&q->srv->eng, &q->ext, 1)) != 0) { /* V2 */
        api_fail_rc(q, rc);
        return;
    }
    stage = (struct block_ref){id, strlen(id), q->ext};
    if (api_retry(q, put_block_attempt, &stage) != 0)
        return;
    api_status(q, 201);
    api_hdr_md5(q, "Content-MD5", q->body_md5);
    if (crc != NULL)
        api_hdr(q, "x-ms-content-crc64", crc);
    api_hdr(q, "x-ms-request-server-encrypted", "false");
}

/* ---- Put Block List ----------------------------------------------------------------------- */

enum which { W_COMMITTED, W_UNCOMMITTED, W_LATEST };

struct wanted {
    const char *id;
    size_t len;
    enum which which;
};

static int
cmp_ref(const void *a, const void *b)
{
    const struct block_ref *x = a, *y = b;
    int c = memcmp(x->id, y->id, x->id_len < y->id_len ? x->id_len : y->id_len);

    return c != 0 ? c : (x->id_len > y->id_len) - (x->id_len < y->id_len);
}

/* Parses the BlockList body (§4.4).  Returns the entry count, or -1 (response described). */
static long
parse_block_list(struct api_req *q, struct wanted **out)
{
    struct xml_node *root = xml_parse(q->a, q->xml.p ? q->xml.p : "", q->xml.len), *n;
    struct wanted *w;
    long cnt = 0;

    if (root == NULL || strcmp(root->name, "BlockList") != 0)
        return api_fail(q, E_InvalidXmlDocument);
    for (n = root->child; n != NULL; n = n->next)
        cnt++;
    if (cnt > MAX_BLOCKS)
        return api_fail(q, E_BlockListTooLong);
    if ((w = arena_alloc(q->a, sizeof(*w) * (size_t)(cnt ? cnt : 1))) == NULL)
        return api_fail(q, E_InternalError);
    cnt = 0;
    for (n = root->child; n != NULL; n = n->next, cnt++) {
        if (strcmp(n->name, "Committed") == 0)
            w[cnt].which = W_COMMITTED;
        else if (strcmp(n->name, "Uncommitted") == 0)
            w[cnt].which = W_UNCOMMITTED;
        else if (strcmp(n->name, "Latest") == 0)
            w[cnt].which = W_LATEST;
        else
            return api_fail(q, E_InvalidXmlDocument);
        if (blockid_check(n->text, n->text_len) <= 0)
            return api_fail(q, E_InvalidBlockList);
        w[cnt].id = n->text;
        w[cnt].len = n->text_len;
    }
    *out = w;
    return cnt;
}

/* A block by id among n sorted by id (cmp_ref), or NULL. */
static const struct block_ref *
find_block(const struct block_ref *sorted, size_t n, const struct wanted *w)
{
    struct block_ref key = {w->id, w->len, {0}};

    return n > 0 ? bsearch(&key, sorted, n, sizeof(*sorted), cmp_ref) : NULL;
}

struct block_list {
    const struct wanted *want;
    long cnt;
    struct blob_rec r; /* the blob to commit: properties from the request, blocks added here */
};

static int
block_list_attempt(struct api_req *q, void *ctx)
{
    struct block_list *bl = ctx;
    struct eng_blob b = api_blob_ref(q);
    struct blob_rec *r = &bl->r, old;
    struct block_ref *sorted = NULL, *staged = NULL;
    size_t nstaged = 0;
    int exists, rc;

    rc = eng_blob_get(&q->srv->eng, q->a, &b, ENG_CURRENT, 0, &old);
    if (rc != 0 && rc != CO_ENOTFOUND)
        return api_fail_rc(q, rc);
    exists = rc == 0 && !(old.flags & BLOB_F_UNCOMMITTED) && !old.deleted &&
             !api_blob_past_expiry(&old, ticks_now());
    if (rc == 0 && old.type != BLOB_BLOCK)
        return api_fail(q, E_InvalidBlobType);
    if (api_blob_write_gate(q, exists, &old, GATE_CREATE | GATE_CONTENT) != 0)
        return -1;
    if (exists && !auth_may_overwrite(&q->auth))
        return api_fail(q, E_AuthorizationPermissionMismatch);
    /* Committed blocks by id, for <Committed> and <Latest> lookups; staged ones come by id. */
    if (exists && old.nblocks > 0) {
        if ((sorted = arena_alloc(q->a, sizeof(*sorted) * old.nblocks)) == NULL)
            return api_fail(q, E_InternalError);
        memcpy(sorted, old.blocks, sizeof(*sorted) * old.nblocks);
        qsort(sorted, old.nblocks, sizeof(*sorted), cmp_ref);
    }
    if ((old.flags & (BLOB_F_UNCOMMITTED | BLOB_F_STAGED)) &&
        (rc = eng_blocks_list(&q->srv->eng, q->a, &b, SIZE_MAX, &staged, &nstaged)) != 0)
        return api_fail_rc(q, rc);
    if (bl->cnt > 0 &&
        (r->blocks = arena_alloc(q->a, sizeof(*r->blocks) * (size_t)bl->cnt)) == NULL)
        return api_fail(q, E_InternalError);
    r->size = 0;
    for (long i = 0; i < bl->cnt; i++) {
        const struct wanted *w = &bl->want[i];
        const struct block_ref *found = NULL;
        if (w->which != W_COMMITTED)
            found = find_block(staged, nstaged, w);
        if (found == NULL && w->which != W_UNCOMMITTED)
            found = find_block(sorted, sorted ? old.nblocks : 0, w);
        if (found == NULL)
            return api_fail(q, E_InvalidBlockList);
        r->blocks[i] = (struct block_ref){w->id, w->len, found->ext};
        r->size += found->ext.len;
    }
    r->nblocks = (size_t)bl->cnt;
    r->modified = ticks_now();
    r->created = exists ? old.created : r->modified;
    r->etag = eng_next_etag(&q->srv->eng);
    r->lease = exists ? old.lease : (struct lease_rec){0};
    if ((rc = api_blob_replace(q, &old, r, 1, NULL)) == 0 && exists)
        api_freed(q, old.size);
    return rc;
}

void
op_put_block_list(struct api_req *q)
{
    struct wanted *want = NULL;
    struct block_list bl = {0};

    if ((bl.cnt = parse_block_list(q, &want)) < 0)
        return;
    bl.want = want;
    bl.r.type = BLOB_BLOCK;
    if (api_tier_from_upload(q, &bl.r) != 0)
        return;
    if (api_read_metadata(q, &bl.r.nmeta, &bl.r.meta) != 0 || api_content_props(q, &bl.r, 0) != 0 ||
        api_read_tags_header(q, &bl.r.ntags, &bl.r.tags) != 0)
        return;
    if (api_retry(q, block_list_attempt, &bl) != 0)
        return;
    api_status(q, 201);
    api_hdr_etag(q, bl.r.etag);
    api_hdr_time(q, "Last-Modified", bl.r.modified);
    api_hdr_md5(q, "Content-MD5", q->body_md5);
    api_hdr(q, "x-ms-request-server-encrypted", "false");
}

/* ---- Get Block List ------------------------------------------------------------------------ */

static void
xml_block(struct buf *b, const char *id, size_t idlen, uint64_t size)
{
    buf_puts(b, "<Block><Name>");
    xml_text(b, id, idlen);
    buf_printf(b, "</Name><Size>%llu</Size></Block>", (unsigned long long)size);
}

void
op_get_block_list(struct api_req *q)
{
    const char *type = api_query(q, "blocklisttype");
    int committed = 1, uncommitted = 0, rc, addressed, current = 1;
    char kind;
    int64_t id;
    struct blob_rec r;
    struct buf b = BUF_INIT;
    struct eng_blob eb = api_blob_ref(q);
    struct block_ref *staged = NULL;
    size_t nstaged = 0;

    if (type != NULL) {
        if (strcasecmp(type, "all") == 0)
            uncommitted = 1;
        else if (strcasecmp(type, "uncommitted") == 0)
            committed = 0, uncommitted = 1;
        else if (strcasecmp(type, "committed") != 0) {
            api_fail_query(q, E_InvalidQueryParameterValue, "blocklisttype", type,
                           "Must be committed, uncommitted or all.");
            return;
        }
    }
    if ((addressed = api_blob_address(q, &kind, &id)) < 0)
        return;
    if (addressed) {
        /* A snapshot or version: its committed blocks; it has no staged ones. */
        if ((rc = api_blob_load_addressed(q, &r, &current)) <= 0) {
            if (rc == 0)
                api_fail(q, E_BlobNotFound);
            return;
        }
        if (!current)
            uncommitted = 0;
    } else {
        rc = eng_blob_get(&q->srv->eng, q->a, &eb, ENG_CURRENT, 0, &r);
        if (rc == CO_ENOTFOUND ||
            (rc == 0 && (r.deleted || api_blob_past_expiry(&r, ticks_now())))) {
            api_fail(q, E_BlobNotFound);
            return;
        }
        if (rc != 0) {
            api_fail_rc(q, rc);
            return;
        }
    }
    if (api_lease_check_blob(q, !(r.flags & BLOB_F_UNCOMMITTED), &r, 0) != 0 ||
        api_check_if_tags(q, &r) != 0) /* a blob with only staged blocks has no tags */
        return;
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BlockList>");
    if (committed) {
        buf_puts(&b, "<CommittedBlocks>");
        for (size_t i = 0; i < r.nblocks; i++)
            if (r.blocks[i].id_len > 0)
                xml_block(&b, r.blocks[i].id, r.blocks[i].id_len, r.blocks[i].ext.len);
        buf_puts(&b, "</CommittedBlocks>");
    }
    if (uncommitted) {
        if ((rc = eng_blocks_list(&q->srv->eng, q->a, &eb, SIZE_MAX, &staged, &nstaged)) != 0) {
            api_fail_rc(q, rc);
            goto out;
        }
        buf_puts(&b, "<UncommittedBlocks>");
        for (size_t i = 0; i < nstaged; i++)
            xml_block(&b, staged[i].id, staged[i].id_len, staged[i].ext.len);
        buf_puts(&b, "</UncommittedBlocks>");
    }
    buf_puts(&b, "</BlockList>");
    api_status(q, 200);
    if (!(r.flags & BLOB_F_UNCOMMITTED)) {
        api_hdr_etag(q, r.etag);
        api_hdr_time(q, "Last-Modified", r.modified);
        api_hdr_u64(q, "x-ms-blob-content-length", r.size);
    }
    api_body_xml(q, &b);
out:
    buf_free(&b);
}
