/*
 * append.c -- append blobs: Append Block and Seal (an append blob is created by Put Blob with
 * x-ms-blob-type: AppendBlob, op_put_blob).
 *
 * An append blob is a blob record like any other: its content is the list of its blocks in
 * order, each one needle.  Append Block writes the body as a needle (synced, V2), then checks the
 * current record and commits it with the new block added at the end if the record is still the
 * one checked (compare-and-set; a lost race checks again) -- metadata only, like Put Block List --
 * so concurrent appenders need no coordination: each append lands whole, after the ones committed
 * before it, and x-ms-blob-append-offset says where.
 *
 * Blocks share needles: once the blob ends in COALESCE_RUN or more extents that hold at most
 * RUN_BYTES together (the new block included), their bytes are rewritten as one needle (read back
 * with every chunk's CRC verified, written and synced before the record that names it is
 * committed, V2) and the record lists that one extent instead.  A log written one line per append
 * would otherwise grow its record by 22 bytes per append, and every append rewrites the record;
 * with coalescing, 50,000 appends of up to 64 KiB leave a few hundred extents, for at most
 * RUN_BYTES copied per COALESCE_RUN appends.  Larger blocks keep their own needles.  The old
 * needles stay referenced by any snapshot or version that has them, and otherwise become garbage
 * for compaction.  `appends` keeps the count clients see.
 *
 * Decisions where Azure's documentation is silent:
 *   - Appending and sealing change the current version in place (same version id): with
 *     versioning on, a version per append would make up to 50,000 versions of one log.  Create
 *     (Put Blob) makes a version like every Put Blob.
 *   - The block size limit is 100 MiB whatever x-ms-version says (Azure: 4 MiB before
 *     2022-11-02); older clients never send more than 4 MiB.
 */
#include "api/api_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/timefmt.h"

#define MAX_APPENDS  50000
#define COALESCE_RUN 256
#define RUN_BYTES    (16u << 20)

/* An x-ms-blob-condition-* header: 1 with *out, 0 when absent, -1 (400 described). */
static int
condition_header(struct api_req *q, const char *name, uint64_t *out)
{
    const char *v = api_header(q, name);
    char *end;

    if (v == NULL)
        return 0;
    errno = 0;
    *out = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno == ERANGE || *out > INT64_MAX) {
        api_fail_header(q, E_InvalidHeaderValue, name, v);
        return -1;
    }
    return 1;
}

int
api_coalesce(struct api_req *q, const struct block_ref *blocks, size_t n, struct extent *out)
{
    struct eng_blob self = api_blob_ref(q);
    struct blob_rec tmp = {0};
    struct eng_writer *w = NULL;
    int err;

    tmp.blocks = (struct block_ref *)blocks;
    tmp.nblocks = n;
    for (size_t i = 0; i < n; i++)
        tmp.size += blocks[i].ext.len;
    if ((err = eng_data_write_begin(&q->srv->eng, tmp.size, 0, &w)) != 0)
        return api_fail_rc(q, err);
    if ((err = api_read_content(&q->srv->eng, &self, &tmp, 0, tmp.size, w, NULL, NULL)) != 0) {
        eng_data_write_abort(&q->srv->eng, w);
        return api_fail_rc(q, err);
    }
    if ((err = eng_data_write_finish(&q->srv->eng, w, out)) != 0)
        return api_fail_rc(q, err);
    return 0;
}

/* Commits r, a changed copy of the current record old, as the current version itself (no new
 * version id): new ETag and Last-Modified.  0, CO_ECONFLICT or -1 (described). */
static int
commit_in_place(struct api_req *q, const struct blob_rec *old, struct blob_rec *r)
{
    r->modified = ticks_now();
    r->etag = eng_next_etag(&q->srv->eng);
    return api_blob_replace(q, old, r, 0, NULL);
}

struct append {
    int has_max, has_pos;
    uint64_t maxsize, appendpos;
    uint64_t offset;   /* where the block landed */
    struct blob_rec r; /* as committed */
};

static int
append_attempt(struct api_req *q, void *ctx)
{
    struct append *ap = ctx;
    struct blob_rec *r = &ap->r, old;
    struct block_ref *blocks;
    struct extent merged = {0};
    uint64_t run_bytes = 0;
    size_t run = 0;
    int rc, err;

    if (api_blob_load_typed(q, &old, BLOB_APPEND) < 0 ||
        api_blob_write_gate(q, 1, &old, GATE_CONTENT) != 0)
        return -1;
    if (old.flags & BLOB_F_SEALED)
        return api_fail(q, E_BlobIsSealed);
    if (ap->has_max && old.size + q->ext.len > ap->maxsize)
        return api_fail(q, E_MaxBlobSizeConditionNotMet);
    if (ap->has_pos && old.size != ap->appendpos)
        return api_fail(q, E_AppendPositionConditionNotMet);
    if (old.appends >= MAX_APPENDS)
        return api_fail(q, E_BlockCountExceedsLimit);
    if ((blocks = arena_alloc(q->a, sizeof(*blocks) * (old.nblocks + 1))) == NULL)
        return api_fail(q, E_InternalError);
    if (old.nblocks > 0)
        memcpy(blocks, old.blocks, sizeof(*blocks) * old.nblocks);
    blocks[old.nblocks] = (struct block_ref){"", 0, q->ext};
    *r = old;
    ap->offset = old.size;
    r->blocks = blocks;
    r->nblocks = old.nblocks + 1;
    r->size = old.size + q->ext.len;
    r->appends = old.appends + 1;
    while (run < r->nblocks && run_bytes + r->blocks[r->nblocks - 1 - run].ext.len <= RUN_BYTES)
        run_bytes += r->blocks[r->nblocks - 1 - run++].ext.len;
    if (run >= COALESCE_RUN) {
        if (api_coalesce(q, &r->blocks[r->nblocks - run], run, &merged) != 0)
            return -1;
        if ((err = eng_data_sync(&q->srv->eng, &merged, 1)) != 0) { /* V2 */
            eng_data_release(&q->srv->eng, &merged);
            return api_fail_rc(q, err);
        }
        r->nblocks -= run - 1;
        r->blocks[r->nblocks - 1] = (struct block_ref){"", 0, merged};
    }
    rc = commit_in_place(q, &old, r);
    if (merged.len > 0) {
        if (rc == 0)
            api_freed(q, merged.len); /* the coalesced needles, unless a snapshot keeps them */
        eng_data_release(&q->srv->eng, &merged); /* committed or abandoned (V6) */
    }
    return rc;
}

void
op_append_block(struct api_req *q)
{
    const char *crc = api_header(q, "x-ms-content-crc64");
    struct append ap = {0};
    int err;

    if (api_reject_snapshot_write(q) != 0)
        return;
    if (q->ext.len == 0) {
        api_fail_header(q, E_InvalidHeaderValue, "Content-Length", "0");
        return;
    }
    if ((ap.has_max = condition_header(q, "x-ms-blob-condition-maxsize", &ap.maxsize)) < 0 ||
        (ap.has_pos = condition_header(q, "x-ms-blob-condition-appendpos", &ap.appendpos)) < 0)
        return;
    if ((err = eng_data_sync(&q->srv->eng, &q->ext, 1)) != 0) { /* V2 */
        api_fail_rc(q, err);
        return;
    }
    if (api_retry(q, append_attempt, &ap) != 0)
        return;
    api_status(q, 201);
    api_hdr_etag(q, ap.r.etag);
    api_hdr_time(q, "Last-Modified", ap.r.modified);
    api_hdr_md5(q, "Content-MD5", q->body_md5);
    if (crc != NULL)
        api_hdr(q, "x-ms-content-crc64", crc);
    api_hdr_u64(q, "x-ms-blob-append-offset", ap.offset);
    api_hdr_u64(q, "x-ms-blob-committed-block-count", ap.r.appends);
    api_hdr(q, "x-ms-request-server-encrypted", "false");
}

struct seal {
    int has_pos;
    uint64_t appendpos;
    struct blob_rec r;
};

static int
seal_attempt(struct api_req *q, void *ctx)
{
    struct seal *sl = ctx;
    struct blob_rec old;

    if (api_blob_load_typed(q, &old, BLOB_APPEND) < 0 || api_blob_write_gate(q, 1, &old, 0) != 0)
        return -1;
    if (sl->has_pos && old.size != sl->appendpos)
        return api_fail(q, E_AppendPositionConditionNotMet);
    sl->r = old;
    sl->r.flags |= BLOB_F_SEALED; /* sealing a sealed blob changes nothing */
    return old.flags & BLOB_F_SEALED ? 0 : commit_in_place(q, &old, &sl->r);
}

void
op_seal_blob(struct api_req *q)
{
    struct seal sl = {0};

    if (api_reject_snapshot_write(q) != 0)
        return;
    if ((sl.has_pos = condition_header(q, "x-ms-blob-condition-appendpos", &sl.appendpos)) < 0)
        return;
    if (api_retry(q, seal_attempt, &sl) != 0)
        return;
    api_status(q, 200);
    api_hdr_etag(q, sl.r.etag);
    api_hdr_time(q, "Last-Modified", sl.r.modified);
    api_hdr(q, "x-ms-blob-sealed", "true");
}
