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

/* Length of the encoded ids this blob already uses (0 if none): all must be the same (§2.4). */
static size_t
id_length_in_use(struct api_req *q, const struct blob_rec *r)
{
    struct buf lo = BUF_INIT, hi = BUF_INIT;
    struct meta_iter *it;
    size_t len = 0, klen;

    for (size_t i = 0; i < r->nblocks; i++)
        if (r->blocks[i].id_len > 0)
            return r->blocks[i].id_len;
    meta_key_block_range(&lo, &hi, q->cont.id, q->blob, q->blob_len);
    if (buf_ok(&lo) && buf_ok(&hi) &&
        (it = meta_iter_new(q->srv->meta, lo.p, lo.len, hi.p, hi.len)) != NULL) {
        if (meta_iter_valid(it)) {
            meta_iter_key(it, &klen);
            len = klen - lo.len;
        }
        meta_iter_free(it);
    }
    buf_free(&lo);
    buf_free(&hi);
    return len;
}

void
op_put_block(struct api_req *q)
{
    const char *id = block_id(q), *crc = api_header(q, "x-ms-content-crc64");
    struct blob_rec r;
    struct buf k = BUF_INIT, v = BUF_INIT;
    struct meta_txn *t = NULL;
    size_t idlen;
    unsigned stripe;
    int rc, exists;

    if (id == NULL)
        return;
    if (q->ext.len == 0) {
        api_fail_header(q, E_InvalidHeaderValue, "Content-Length", "0");
        return;
    }
    idlen = strlen(id);
    if ((rc = store_sync(q->srv->store, &q->ext, 1)) != 0) { /* V2 */
        api_fail_io(q, rc);
        return;
    }
    if (api_blob_lock(q, &stripe) != 0)
        return;
    rc = meta_blob_get(q->srv->meta, q->a, q->cont.id, q->blob, q->blob_len, &r);
    if (rc != 0 && rc != META_NOTFOUND) {
        api_fail_io(q, rc);
        goto out;
    }
    exists = rc == 0;
    if (exists && r.type != BLOB_BLOCK) {
        api_fail(q, E_InvalidBlobType);
        goto out;
    }
    /* The staged list belongs to the blob: a leased blob needs its lease id (§5.3). */
    if (api_lease_check_blob(q, exists && !(r.flags & BLOB_F_UNCOMMITTED), &r, 1) != 0)
        goto out;
    {
        size_t in_use = id_length_in_use(q, exists ? &r : &(struct blob_rec){0});
        if (in_use != 0 && in_use != idlen) {
            api_fail(q, E_InvalidBlobOrBlock);
            goto out;
        }
    }
    if ((t = meta_txn_new()) == NULL) {
        api_fail(q, E_InternalError);
        goto out;
    }
    if (!exists) {
        /* The name now exists as an uncommitted blob (listed with include=uncommittedblobs). */
        memset(&r, 0, sizeof(r));
        r.type = BLOB_BLOCK;
        r.flags = BLOB_F_UNCOMMITTED;
        r.created = r.modified = ticks_now();
        r.content_type = r.content_encoding = r.content_language = r.content_disposition =
            r.cache_control = "";
        if (api_put_blob_rec(q, t, &r) != 0)
            goto out;
    } else if (!(r.flags & (BLOB_F_UNCOMMITTED | BLOB_F_STAGED))) {
        /* Remember that staged blocks exist, so the next commit knows to drop them. */
        r.flags |= BLOB_F_STAGED;
        if (api_put_blob_rec(q, t, &r) != 0)
            goto out;
    }
    meta_key_block(&k, q->cont.id, q->blob, q->blob_len, id, idlen);
    meta_extent_encode(&q->ext, &v);
    if (!buf_ok(&k) || !buf_ok(&v)) {
        api_fail(q, E_InternalError);
        goto out;
    }
    meta_txn_put(t, k.p, k.len, v.p, v.len);
    rc = api_commit(q, t);
    t = NULL;
    if (rc == 0) {
        api_status(q, 201);
        api_hdr_md5(q, "Content-MD5", q->body_md5);
        if (crc != NULL)
            api_hdr(q, "x-ms-content-crc64", crc);
        api_hdr(q, "x-ms-request-server-encrypted", "true");
    }
out:
    meta_txn_free(t);
    buf_free(&k);
    buf_free(&v);
    api_blob_unlock(q, stripe);
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

/* Looks a staged block up; 1 found, 0 not, -1 error (described). */
static int
staged_block(struct api_req *q, const struct wanted *w, struct extent *e)
{
    struct buf k = BUF_INIT;
    char *v;
    size_t vl;
    int rc;

    meta_key_block(&k, q->cont.id, q->blob, q->blob_len, w->id, w->len);
    rc = buf_ok(&k) ? meta_get(q->srv->meta, k.p, k.len, q->a, &v, &vl) : META_EIO;
    buf_free(&k);
    if (rc == META_NOTFOUND)
        return 0;
    if (rc != 0 || meta_extent_decode(v, vl, e) != 0)
        return api_fail_io(q, META_EIO);
    return 1;
}

void
op_put_block_list(struct api_req *q)
{
    struct wanted *want = NULL;
    struct blob_rec r = {0}, old;
    struct block_ref *sorted = NULL, key;
    struct meta_txn *t = NULL;
    long cnt;
    unsigned stripe;
    int exists, rc;

    if ((cnt = parse_block_list(q, &want)) < 0)
        return;
    r.type = BLOB_BLOCK;
    if (api_tier_from_upload(q, &r) != 0)
        return;
    if (api_read_metadata(q, &r.nmeta, &r.meta) != 0 || api_content_props(q, &r, 0) != 0 ||
        api_read_tags_header(q, &r.ntags, &r.tags) != 0)
        return;
    if (api_blob_lock(q, &stripe) != 0)
        return;
    rc = meta_blob_get(q->srv->meta, q->a, q->cont.id, q->blob, q->blob_len, &old);
    if (rc != 0 && rc != META_NOTFOUND) {
        api_fail_io(q, rc);
        goto out;
    }
    exists = rc == 0 && !(old.flags & BLOB_F_UNCOMMITTED);
    if (rc == 0 && old.type != BLOB_BLOCK) {
        api_fail(q, E_InvalidBlobType);
        goto out;
    }
    if (api_blob_write_gate(q, exists, &old, GATE_CREATE | GATE_CONTENT) != 0)
        goto out;
    if (exists && !auth_may_overwrite(&q->auth)) {
        api_fail(q, E_AuthorizationPermissionMismatch);
        goto out;
    }
    /* Committed blocks by id, for <Committed> and <Latest> lookups. */
    if (exists && old.nblocks > 0) {
        if ((sorted = arena_alloc(q->a, sizeof(*sorted) * old.nblocks)) == NULL) {
            api_fail(q, E_InternalError);
            goto out;
        }
        memcpy(sorted, old.blocks, sizeof(*sorted) * old.nblocks);
        qsort(sorted, old.nblocks, sizeof(*sorted), cmp_ref);
    }
    if (cnt > 0 && (r.blocks = arena_alloc(q->a, sizeof(*r.blocks) * (size_t)cnt)) == NULL) {
        api_fail(q, E_InternalError);
        goto out;
    }
    for (long i = 0; i < cnt; i++) {
        struct block_ref *found = NULL;
        struct extent e;
        int got = 0;
        if (want[i].which != W_COMMITTED && (got = staged_block(q, &want[i], &e)) < 0)
            goto out;
        if (!got && want[i].which != W_UNCOMMITTED && sorted != NULL) {
            key.id = want[i].id;
            key.id_len = want[i].len;
            found = bsearch(&key, sorted, old.nblocks, sizeof(*sorted), cmp_ref);
            if (found != NULL) {
                e = found->ext;
                got = 1;
            }
        }
        if (!got) {
            api_fail(q, E_InvalidBlockList);
            goto out;
        }
        r.blocks[i] = (struct block_ref){want[i].id, want[i].len, e};
        r.size += e.len;
    }
    r.nblocks = (size_t)cnt;
    r.modified = ticks_now();
    r.created = exists ? old.created : r.modified;
    r.etag = meta_next_etag(q->srv->meta);
    if (exists)
        r.lease = old.lease;
    if ((t = meta_txn_new()) == NULL) {
        api_fail(q, E_InternalError);
        goto out;
    }
    if (api_blob_replace(q, t, &old, &r, 1) != 0 || api_drop_staged(q, t, &old) != 0 ||
        api_tags_reindex(q, t, q->cont.id, q->blob, q->blob_len, exists ? &old : NULL, &r) != 0)
        goto out;
    rc = api_commit(q, t);
    t = NULL;
    if (rc == 0) {
        if (exists)
            api_freed(q, old.size);
        api_status(q, 201);
        api_hdr_etag(q, r.etag);
        api_hdr_time(q, "Last-Modified", r.modified);
        api_hdr_md5(q, "Content-MD5", q->body_md5);
        api_hdr(q, "x-ms-request-server-encrypted", "true");
    }
out:
    meta_txn_free(t);
    api_blob_unlock(q, stripe);
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
    struct buf b = BUF_INIT, lo = BUF_INIT, hi = BUF_INIT;
    struct meta_iter *it = NULL;

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
        rc = meta_blob_get(q->srv->meta, q->a, q->cont.id, q->blob, q->blob_len, &r);
        if (rc == META_NOTFOUND || (rc == 0 && r.deleted)) {
            api_fail(q, E_BlobNotFound);
            return;
        }
        if (rc != 0) {
            api_fail_io(q, rc);
            return;
        }
    }
    if (api_lease_check_blob(q, !(r.flags & BLOB_F_UNCOMMITTED), &r, 0) != 0)
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
        meta_key_block_range(&lo, &hi, q->cont.id, q->blob, q->blob_len);
        if (!buf_ok(&lo) || !buf_ok(&hi) ||
            (it = meta_iter_new(q->srv->meta, lo.p, lo.len, hi.p, hi.len)) == NULL) {
            api_fail(q, E_InternalError);
            goto out;
        }
        buf_puts(&b, "<UncommittedBlocks>");
        for (; meta_iter_valid(it); meta_iter_next(it)) {
            size_t kl, vl;
            const char *k = meta_iter_key(it, &kl), *v = meta_iter_value(it, &vl);
            struct extent e;
            if (meta_extent_decode(v, vl, &e) != 0) {
                api_fail_io(q, META_EIO);
                goto out;
            }
            xml_block(&b, k + lo.len, kl - lo.len, e.len);
        }
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
    meta_iter_free(it);
    buf_free(&b);
    buf_free(&lo);
    buf_free(&hi);
}
