/*
 * api_int.h -- what the handlers share, private to api/.  The request, the response and the
 * conditions have headers of their own (request_int.h, respond_int.h, conditions_int.h), included
 * here; the rest are helpers of one operation group used by others, and the handlers the route
 * table (routes.c) names.
 */
#ifndef COBALT_API_INT_H
#define COBALT_API_INT_H

#include <stddef.h>
#include <stdint.h>

#include "api/conditions_int.h"
#include "api/request_int.h"
#include "api/respond_int.h"
#include "engine/engine.h"
#include "model/model.h"
#include "util/buf.h"

/* ---- metadata headers (metadata.c) ------------------------------------------------------- */

/* Metadata from x-ms-meta-* request headers (validated: InvalidMetadata, EmptyMetadataKey,
 * MetadataTooLarge).  0 or -1 (response described). */
int api_read_metadata(struct api_req *q, size_t *n, struct meta_pair **out);
void api_put_metadata_headers(struct api_req *q, size_t n, const struct meta_pair *m);
void api_xml_metadata(struct buf *b, size_t n, const struct meta_pair *m);

/* ---- shared helpers --------------------------------------------------------------------- */

/* Counts blob content made unreachable by a committed delete or overwrite (compaction's trigger). */
static inline void
api_freed(struct api_req *q, uint64_t bytes)
{
    __atomic_add_fetch(&q->srv->freed_bytes, bytes, __ATOMIC_RELAXED);
}

/* ---- blob write helpers (blob.c) ----------------------------------------------------- */

/* Content-Type, -Encoding, -Language, -Disposition, Cache-Control and the stored MD5 from the
 * x-ms-blob-* headers (and, when from_standard, the plain HTTP headers); unsent ones cleared. */
int api_content_props(struct api_req *q, struct blob_rec *r, int from_standard);
/* The addressed blob, as the engine names it. */
static inline struct eng_blob
api_blob_ref(const struct api_req *q)
{
    return (struct eng_blob){q->account, q->container, q->cont.id, q->blob, q->blob_len};
}
/* Commits w[0..n) (and Put Block's stage) for the addressed blob (eng_blob_commit): 0,
 * CO_ECONFLICT (nothing described: read again and check again), or -1 described (404
 * ContainerNotFound when the container went since it was looked up, else 500). */
int api_blob_commit(struct api_req *q, const struct eng_write *w, size_t n,
                    const struct block_ref *stage);
/* Runs attempt(q, ctx) -- read, check, commit -- again for as long as it ends in CO_ECONFLICT
 * (another writer committed between its read and its commit).  Returns 0 when an attempt
 * succeeded, -1 when one failed (its response described). */
int api_retry(struct api_req *q, int (*attempt)(struct api_req *q, void *ctx), void *ctx);
/* 1 if the addressed blob exists (committed), 0 if not, -1 on error (described). */
int api_blob_load(struct api_req *q, struct blob_rec *r);
/* The addressed blob, for a write that needs it to exist and be of `type` (BLOB_APPEND,
 * BLOB_PAGE): 1, or -1 (described: 404 BlobNotFound, 409 InvalidBlobType). */
int api_blob_load_typed(struct api_req *q, struct blob_rec *r, uint8_t type);
/* "BlockBlob", "AppendBlob" or "PageBlob", as x-ms-blob-type and <BlobType> spell them. */
const char *api_blob_type_name(uint8_t type);
/* Reads [off, off + len) of a record r of blob b (a page blob's page map is the blob's) (every
 * byte verified, moved payloads followed: eng_data_read), feeding a payload writer and/or hashes
 * (each may be NULL).  0 or an errno value (copy_source.c). */
int api_read_content(struct engine *e, const struct eng_blob *b, const struct blob_rec *r,
                     uint64_t off, uint64_t len, struct eng_writer *w, MD5_CTX *md5, uint64_t *crc);
/* Writes the content of blocks[0..n) into one new payload, *out (pending until
 * eng_data_release(), not durable until eng_data_sync()).  0, or -1 (described) (append.c). */
int api_coalesce(struct api_req *q, const struct block_ref *blocks, size_t n, struct extent *out);

/* ---- page blobs (page.c) ------------------------------------------------------------------ */
/* A page blob's create (Put Blob): x-ms-blob-content-length (required, a multiple of 512 up to
 * 8 TiB) and x-ms-blob-sequence-number into r, and its first layer.  0 or -1 (described). */
int api_page_create(struct api_req *q, struct blob_rec *r);
/* Puts a new empty layer on top of cur's (in the request arena): the layers it had are frozen
 * for the record kept beside it (a snapshot, a version).  0 or -1 (described). */
int api_page_freeze(struct api_req *q, struct blob_rec *cur);
/* How many of cur's layers lie above prev's -- what changed since the record prev was kept,
 * when cur's layers end with all of prev's (Get Page Ranges Diff, Incremental Copy) -- or
 * SIZE_MAX when they do not (cur was replaced since). */
size_t api_page_layers_since(const struct blob_rec *prev, const struct blob_rec *cur);
/*
 * Copies into layers[0] of page blob dst's current record *cur (each write committed only if
 * dst's record is still *cur) what layers[0..nlayers) of page blob src (record sr) hold over
 * [0, sr->size): data read through all of sr's layers, as new payloads of up to 4 MiB, and, with
 * `clears`, their clears as zeros hiding cur's older layers.  Stops when *cancel (may be NULL)
 * is set; adds the bytes written to *copied (may be NULL).  0, CO_ECONFLICT (dst changed),
 * ECANCELED, or another code.
 */
int page_copy(struct engine *e, const struct eng_blob *dst, const struct blob_rec *cur,
              const struct eng_blob *src, const struct blob_rec *sr, const uint64_t *layers,
              size_t nlayers, int clears, const int *cancel, uint64_t *copied);
/* Clears [off, end) of layers[0] of dst's current record *cur (hiding older layers), checked as
 * by page_copy: 0, CO_ECONFLICT or another code. */
int page_clear(struct engine *e, const struct eng_blob *dst, const struct blob_rec *cur,
               uint64_t off, uint64_t end);
/* A reader of page blob b's content as its record r has it (malloc'd: it may outlive the
 * request's arena; strings and layers are copied).  NULL when out of memory. */
struct page_reader;
struct page_reader *api_page_reader_new(struct engine *e, const struct eng_blob *b,
                                        const struct blob_rec *r);
/* Up to max bytes at blob offset `at` (unwritten pages read as zeros): bytes, 0 at the end, or
 * -errno (eng_data_read's). */
long api_page_read(struct page_reader *pr, uint64_t at, char *dst, size_t max);
void api_page_reader_free(struct page_reader *pr);
/* Route discriminator: Set Blob Properties that resizes a page blob or sets its sequence number
 * (x-ms-blob-content-length, x-ms-sequence-number-action). */
int api_is_page_properties(struct api_req *q);

/* ---- shared checks ---------------------------------------------------------------------- */

/* Container operations honour only the date conditions (§5.1).  0 or -1 (412 described). */
int api_container_dates(struct api_req *q, const struct container_rec *c);
/* Describes a failed engine call on the addressed container: 404 ContainerNotFound for
 * CO_ENOTFOUND, else as api_fail_rc().  Returns -1. */
int api_fail_container(struct api_req *q, int rc);
/* Stamps c as changed now (Last-Modified, a new ETag) and stores it if the container is still
 * `old` (eng_container_update): 0, CO_ECONFLICT (read again and check again), or an error. */
int api_container_store(struct api_req *q, const struct container_rec *old,
                        struct container_rec *c);
/* Answers a container write that api_container_store() ended with rc: 200 with the new ETag and
 * Last-Modified, or the error (api_fail_container). */
void api_container_written(struct api_req *q, int rc, const struct container_rec *c);
/* Write operations may not name a snapshot (or, unless allowed, a version): 400. */
int api_reject_snapshot_write(struct api_req *q);

/* Account settings that change behaviour, from the service properties (props.c). */
struct service_settings {
    int delete_retention_days; /* blob soft delete: 0 = off */
    int allow_permanent_delete;
};
int api_service_settings(struct api_req *q, struct service_settings *out);

/* The static website (the StaticWebsite section; website.c serves it): documents are NULL when
 * not set. */
struct website_settings {
    int enabled;
    const char *index, *error404, *default_index;
};
int api_website_settings(struct api_req *q, struct website_settings *out);

/* CORS (props.c): answers an OPTIONS preflight from the account's rules (no authentication), and
 * adds Access-Control-* headers to a response whose request carries a matching Origin. */
void api_cors_preflight(struct api_req *q);
void api_cors_actual(struct api_req *q);

/* Leases (lease.c). */
uint8_t lease_effective(const struct lease_rec *l, int64_t now);
void api_lease_headers(struct api_req *q, const struct lease_rec *l);
void api_xml_lease(struct buf *b, const struct lease_rec *l);
int api_lease_check_blob(struct api_req *q, int exists, const struct blob_rec *r, int write);
int api_lease_check_container(struct api_req *q, const struct container_rec *c, int is_delete);
/* Rename Container's source: a leased source moves only with its lease id in
 * x-ms-source-lease-id, as a leased container is deleted only with its lease id. */
int api_lease_check_source_container(struct api_req *q, const struct container_rec *c);
/* Route discriminator: x-ms-lease-action is "break" (which a SAS may do with 'd' as well as 'w'). */
int api_is_lease_break(struct api_req *q);

/*
 * The checks every blob write makes against the current record, in one place and one order:
 * lease (§5.3), conditions (§5.1) and x-ms-if-tags, then WORM protection (legal hold, version and
 * container immutability policies) when the write changes or removes content.  `exists`: the blob
 * exists (committed).  0 to proceed, or -1 with the response described.
 */
#define GATE_CREATE  0x01 /* creating operation: If-None-Match: * -> 409 BlobAlreadyExists */
#define GATE_CONTENT 0x02 /* replaces or deletes content: immutability applies */
#define GATE_INCR_OK \
    0x04 /* allowed on an incremental copy destination (deletes, the copy itself) */
int api_blob_write_gate(struct api_req *q, int exists, const struct blob_rec *r, unsigned flags);
/* The WORM part alone (409 BlobImmutableDueToLegalHold / BlobImmutableDueToPolicy described). */
int api_blob_immutability(struct api_req *q, const struct blob_rec *r);
/* The same for reads: lease id (optional, must match), conditions with 304, x-ms-if-tags. */
int api_blob_read_gate(struct api_req *q, const struct blob_rec *r);

/* Blob index tags (tags.c; the engine keeps the index, engine.h). */
/* Tags from the x-ms-tags request header (none: n = 0), validated.  0, or -1 with the 400
 * (InvalidTag, TagsTooLarge, DuplicateTagNames, InvalidHeaderValue) described. */
int api_read_tags_header(struct api_req *q, size_t *n, struct meta_pair **out);
/* <Tags><TagSet><Tag><Key>..</Key><Value>..</Value></Tag>...</TagSet></Tags> */
void api_xml_tags(struct buf *b, size_t n, const struct meta_pair *t);

/* ---- snapshots, versions, soft delete (versions.c) ------------------------------------- */

/* The ?snapshot= / ?versionid= a request names: 0 none, 1 (kind 'S' or 'V', id), -1 described. */
int api_blob_address(struct api_req *q, char *kind, int64_t *id);
/* Versioning is on for the request's account. */
int api_versioning(const struct api_req *q);
/* Loads what the request addresses: the blob, a snapshot or a version.  1 found, 0 not (404 is
 * the caller's), -1 described.  *current: it is the current record. */
int api_blob_load_addressed(struct api_req *q, struct blob_rec *r, int *current);
/*
 * Commits nr as the blob's current record if it is still `old` (what api_blob_load() read) and
 * `check` (NULL: none; a copy's source) still holds: a soft-deleted old record becomes a deleted
 * snapshot; with versioning and new_version, the old current record is kept as a previous
 * version and nr gets a new version id (x-ms-version-id is described).  0, CO_ECONFLICT or -1
 * (described), as api_blob_commit().
 */
int api_blob_replace(struct api_req *q, const struct blob_rec *old, struct blob_rec *nr,
                     int new_version, const struct eng_write *check);
/* 1 when r is soft-deleted and its retention ran out: as good as gone (purge is due). */
int api_blob_expired(const struct blob_rec *r, int64_t now);
/* 1 when r is a live blob whose expiry (Set Blob Expiry) passed and that nothing protects now:
 * gone for every reader, awaiting its purge.  A protected one lives on until its protection
 * ends (the purge moves its time on). */
int api_blob_past_expiry(const struct blob_rec *r, int64_t now);
/* The snapshots and versions of the addressed blob (all of them, deleted ones included), in the
 * request arena.  0, or -1 (described). */
int api_blob_subs(struct api_req *q, struct eng_entry **out, size_t *n);
/* The write (into *w) that removes snapshot or version s: soft delete (purge_at != 0, not
 * permanent) keeps it, deleted, until its purge; else it goes.  0, or -1 (described). */
int api_remove_sub(struct api_req *q, const struct eng_entry *s, int64_t purge_at, int permanent,
                   struct eng_write *w);
/* ISO 8601 with 7 fraction digits, in the request arena (snapshot and version ids). */
const char *fmt_id(struct api_req *q, int64_t id);

/* Immutability (immutability.c): the x-ms-immutability-policy-* / x-ms-legal-hold request headers
 * of uploads into r (0 or -1 described), and the same as response headers. */
int api_immutability_headers_in(struct api_req *q, struct blob_rec *r);
void api_immutability_headers_out(struct api_req *q, const struct blob_rec *r);

/* ---- handlers ------------------------------------------------------------------------- */

void op_list_containers(struct api_req *q);
void op_user_delegation_key(struct api_req *q);
void op_account_info(struct api_req *q);
void op_service_stats(struct api_req *q);
void op_create_container(struct api_req *q);
void op_delete_container(struct api_req *q);
void op_container_props(struct api_req *q);
void op_container_metadata_get(struct api_req *q);
void op_container_metadata_set(struct api_req *q);
void op_list_blobs(struct api_req *q);
void op_put_blob(struct api_req *q);
void op_get_blob(struct api_req *q);
void op_delete_blob(struct api_req *q);
void op_blob_metadata_get(struct api_req *q);
void op_blob_metadata_set(struct api_req *q);
void op_blob_properties_set(struct api_req *q);
void op_put_block(struct api_req *q);
void op_put_block_list(struct api_req *q);
void op_append_block(struct api_req *q);
void op_append_block_from_url(struct api_req *q);
void op_seal_blob(struct api_req *q);
void op_put_page(struct api_req *q);
void op_page_properties(struct api_req *q);
void op_get_page_ranges(struct api_req *q);
void op_get_block_list(struct api_req *q);
void op_lease_blob(struct api_req *q);
void op_snapshot_blob(struct api_req *q);
void op_restore_container(struct api_req *q);
void op_rename_container(struct api_req *q);
void op_blob_immutability_set(struct api_req *q);
void op_blob_immutability_delete(struct api_req *q);
void op_blob_legal_hold(struct api_req *q);
void op_set_blob_expiry(struct api_req *q);

/* Refuses customer-provided keys and encryption scopes other than the account's (encryption.c):
 * 0, or -1 (described).  The dispatcher runs it for every request. */
int api_encryption_gate(struct api_req *q);
void op_container_immutability_set(struct api_req *q);
void op_container_immutability_delete(struct api_req *q);
void op_container_legal_hold(struct api_req *q);
void op_undelete_blob(struct api_req *q);
void op_service_props_get(struct api_req *q);
void op_service_props_set(struct api_req *q);
void op_container_acl_get(struct api_req *q);
void op_container_acl_set(struct api_req *q);
void op_lease_container(struct api_req *q);
void op_set_blob_tags(struct api_req *q);
void op_get_blob_tags(struct api_req *q);
void op_find_blobs(struct api_req *q);
void op_query_blob(struct api_req *q); /* Query Blob Contents (query.c) */

/* ---- Blob Batch (batch.c) and access tiers (tier.c) ----------------------------------- */

void op_batch(struct api_req *q);
void op_set_blob_tier(struct api_req *q);

/* x-ms-access-tier on an upload (Put Blob, Put Block List) into r->tier; absent: inferred Hot.
 * 0, or -1 with 400 InvalidHeaderValue described. */
int api_tier_from_upload(struct api_req *q, struct blob_rec *r);
/* Get Blob Properties headers / List Blobs elements for the blob's tier as of now. */
void api_tier_headers(struct api_req *q, const struct blob_rec *r);
void api_xml_tier(struct buf *b, const struct blob_rec *r);
/* Reading or changing the content of an archived blob (also while it rehydrates): 409
 * BlobArchived described and -1; else 0. */
int api_tier_content_gate(struct api_req *q, const struct blob_rec *r);

/* ---- copies (copy.c, copy_source.c, copy_pool.c) ----------------------------------------- */

/* Route discriminators: Copy Blob (x-ms-copy-source, no x-ms-blob-type), its synchronous form
 * (x-ms-requires-sync: true), Put Blob From URL (BlockBlob + x-ms-copy-source), and the
 * x-ms-copy-source of Put Block From URL. */
int api_is_copy_blob(struct api_req *q);
int api_is_copy_blob_sync(struct api_req *q);
int api_is_put_blob_from_url(struct api_req *q);
int api_has_copy_source(struct api_req *q);
void op_copy_blob(struct api_req *q);
void op_copy_blob_sync(struct api_req *q);
void op_abort_copy(struct api_req *q);
void op_incremental_copy(struct api_req *q);
void op_put_blob_from_url(struct api_req *q);
void op_put_block_from_url(struct api_req *q);
void op_put_page_from_url(struct api_req *q);
/* x-ms-copy-* headers (Get Blob, Get Blob Properties; a pending copy shows its live progress)
 * and the Copy* elements of List Blobs (with_copy: include=copy; progress as last recorded) of
 * a record that was a copy destination, with x-ms-incremental-copy and
 * x-ms-copy-destination-snapshot (IncrementalCopy, DestinationSnapshot) of an incremental copy
 * destination; nothing otherwise. */
void api_copy_headers(struct api_req *q, const struct blob_rec *r);
void api_xml_copy(struct buf *b, const struct blob_rec *r, int with_copy);

#endif
