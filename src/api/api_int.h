/*
 * api_int.h -- what the dispatcher and the handlers share: the per-request state, the route
 * table's row, and the response helpers.  Private to api/.
 *
 * Handlers read as straight lines: a helper that fails has already described the error response
 * (api_fail) and returns -1, so a handler is a sequence of `if (helper(q, ...) != 0) return;`.
 */
#ifndef COBALT_API_INT_H
#define COBALT_API_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/md5.h>

#include "api/api.h"
#include "api/errors.h"
#include "meta/meta.h"
#include "store/store.h"
#include "util/buf.h"

struct api_req;

enum level { LVL_SERVICE, LVL_CONTAINER, LVL_BLOB };
enum body_kind { BODY_NONE, BODY_XML, BODY_DATA };

#define M_GET    0x01
#define M_HEAD   0x02
#define M_PUT    0x04
#define M_DELETE 0x08
#define M_POST   0x10

/* One row of the route table (routes.c): an operation and every fact the dispatcher applies. */
struct route {
    const char *name;                 /* the operation, for logs */
    unsigned methods;                 /* M_* bits */
    enum level level;
    const char *restype, *comp;       /* required values; NULL = must be absent */
    int (*applies)(struct api_req *q);/* extra discriminator (a header), or NULL */
    void (*handler)(struct api_req *q);
    struct auth_need need;
    enum body_kind body;
    uint64_t body_max;                /* BODY_XML, BODY_DATA: the largest Content-Length (else 413) */
    unsigned flags;                   /* R_* */
};
#define R_WRITES        0x01   /* refused on the secondary and while the store has failed (V4) */
#define R_ADDRESSABLE   0x02   /* a write that may name ?snapshot= / ?versionid= (else 400) */
#define R_BATCH         0x04   /* may be a Blob Batch part (Delete Blob, Set Blob Tier; §2.8) */
#define R_ANY_CONTAINER 0x08   /* runs whether the container exists or not (else 404) */
#define R_NO_CONTENT    0x10   /* its data body must be empty (else 400 on Content-Length) */

/* The table, in the order rows are tried (routes.c). */
extern const struct route api_routes[];
extern const size_t api_nroutes;

struct qparam {
    const char *name, *value;         /* decoded */
};

struct api_req {
    struct server *srv;
    struct http_req *h;
    struct arena *a;
    const struct route *route;
    int head;                         /* HEAD: headers only */
    char request_id[37];
    const char *version;              /* x-ms-version to echo */

    const char *account;
    const struct auth_account *acct;
    int secondary;
    const char *container;            /* decoded, NULL at service level */
    const char *blob;                 /* decoded, NULL unless a blob is addressed */
    size_t blob_len;
    struct qparam *q;
    size_t nq;
    struct auth_kv *rawq;
    size_t nrawq;

    int have_container;
    struct container_rec cont;
    struct auth_result auth;

    /* Body. */
    struct buf xml;                   /* BODY_XML: the whole body (bounded) */
    struct needle_writer *writer;     /* BODY_DATA: streamed into a needle */
    struct extent ext;                /* BODY_DATA: the finished needle (ext.len == 0: empty) */
    MD5_CTX md5;
    uint64_t crc64;
    uint64_t received;
    unsigned char body_md5[16];

    int responded;
    const char *account_seg;          /* batch part: the account its path leaves out, or NULL */
};

/* ---- helpers (dispatch.c) ------------------------------------------------------------- */

const char *api_query(const struct api_req *q, const char *name);   /* decoded value or NULL */
const char *api_header(const struct api_req *q, const char *name);

/* Describes an error response; returns -1 so helpers can `return api_fail(...)`. */
int api_fail(struct api_req *q, enum az_error e);
/* InvalidHeaderValue / InvalidQueryParameterValue / MissingRequiredHeader with their details. */
int api_fail_header(struct api_req *q, enum az_error e, const char *name, const char *value);
int api_fail_query(struct api_req *q, enum az_error e, const char *name, const char *value,
                   const char *reason);
/* 400 InvalidXmlNodeValue naming the node (XmlNodeName/XmlNodeValue details). */
int api_fail_xml_node(struct api_req *q, const char *name, const char *value);
/* Maps an errno / META_* result of a failed write or read to 500/503 and describes it. */
int api_fail_io(struct api_req *q, int err);

void api_status(struct api_req *q, int status);
void api_hdr(struct api_req *q, const char *name, const char *value);
void api_hdr_u64(struct api_req *q, const char *name, uint64_t v);
void api_hdr_time(struct api_req *q, const char *name, int64_t ticks);
void api_hdr_etag(struct api_req *q, uint64_t etag);
void api_hdr_md5(struct api_req *q, const char *name, const unsigned char md5[16]);
/* Body from a buf: ownership of its memory moves to the request. */
void api_body_xml(struct api_req *q, struct buf *b);

/* "0x8DC..." form (no quotes) into out[19]. */
void fmt_etag(uint64_t etag, char out[19]);

/* Metadata from x-ms-meta-* request headers (validated: InvalidMetadata, EmptyMetadataKey,
 * MetadataTooLarge).  0 or -1 (response described). */
int api_read_metadata(struct api_req *q, size_t *n, struct meta_pair **out);
void api_put_metadata_headers(struct api_req *q, size_t n, const struct meta_pair *m);
void api_xml_metadata(struct buf *b, size_t n, const struct meta_pair *m);

/* An If-Match / If-None-Match value ("*", or one ETag, quoted or not) against an ETag. */
int api_etag_matches(const char *cond, uint64_t etag);

/*
 * Conditional headers (§5.1) against a resource's ETag and Last-Modified; exists == 0 when the
 * resource is missing.  read != 0 for GET/HEAD semantics (304).  0 to proceed, -1 when the
 * response (412/304/400/409) is described.  create_only_409: If-None-Match: * on an existing
 * resource gives 409 BlobAlreadyExists (creating operations).
 */
int api_check_conditions(struct api_req *q, int exists, uint64_t etag, int64_t modified, int read,
                         int create_only_409);

/* 1 when the comma-separated list (an include= value) holds `what`. */
int api_include_has(const char *list, const char *what);

/* Counts blob content made unreachable by a committed delete or overwrite (compaction's trigger). */
static inline void
api_freed(struct api_req *q, uint64_t bytes)
{
    __atomic_add_fetch(&q->srv->freed_bytes, bytes, __ATOMIC_RELAXED);
}

/* Commits a txn (M1), turning failures into 500/503.  0 or -1.  Frees t. */
int api_commit(struct api_req *q, struct meta_txn *t);

/* ---- blob write helpers (blob.c) ----------------------------------------------------- */

/* Content-Type, -Encoding, -Language, -Disposition, Cache-Control and the stored MD5 from the
 * x-ms-blob-* headers (and, when from_standard, the plain HTTP headers); unsent ones cleared. */
int api_content_props(struct api_req *q, struct blob_rec *r, int from_standard);
/* Puts k -> v in t and frees both bufs; 0, or -1 (500 described) when either ran out of memory. */
int api_txn_put(struct api_req *q, struct meta_txn *t, struct buf *k, struct buf *v);
/* Puts blob record r at the blob key k (freed) in t, with its protection index entry when it
 * carries a legal hold or a policy (meta.h M4): every blob record write goes through here or
 * rewrites a record read from the same key.  0, or -1 (500 described). */
int api_put_blob_key(struct api_req *q, struct meta_txn *t, struct buf *k, const struct blob_rec *r);
/* The record of one snapshot ('S') or version ('V') of the addressed blob, into t. */
int api_put_sub_rec(struct api_req *q, struct meta_txn *t, char kind, int64_t id,
                    const struct blob_rec *r);
/* Adds the put of the addressed blob's record / the removal of its staged blocks to t. */
int api_put_blob_rec(struct api_req *q, struct meta_txn *t, const struct blob_rec *r);
int api_drop_staged(struct api_req *q, struct meta_txn *t, const struct blob_rec *old);
/* Takes the container lock (read) after checking the container still exists (M3), then the
 * blob's stripe lock (M2).  0, or -1 with 404 ContainerNotFound described (nothing held). */
int api_blob_lock(struct api_req *q, unsigned *stripe);
void api_blob_unlock(struct api_req *q, unsigned stripe);
/* 1 if the addressed blob exists (committed), 0 if not, -1 on error (described). */
int api_blob_load(struct api_req *q, struct blob_rec *r);
/* "BlockBlob", "AppendBlob" or "PageBlob", as x-ms-blob-type and <BlobType> spell them. */
const char *api_blob_type_name(uint8_t type);

/* ---- shared checks ---------------------------------------------------------------------- */

/* A random (version 4) GUID, e.g. for request, lease and copy ids. */
void api_new_guid(char out[37]);
/* x-ms-if-tags against a record's tags: 0, or -1 with 412 ConditionNotMet / 400 described. */
int api_check_if_tags(struct api_req *q, const struct blob_rec *r);
/* Container operations honour only the date conditions (§5.1).  0 or -1 (412 described). */
int api_container_dates(struct api_req *q, const struct container_rec *c);
/* Adds the put of the addressed container's record to t. */
int api_put_container_rec(struct api_req *q, struct meta_txn *t, const struct container_rec *c);
/* Write operations may not name a snapshot (or, unless allowed, a version): 400. */
int api_reject_snapshot_write(struct api_req *q);

/* Account settings that change behaviour, from the service properties (props.c). */
struct service_settings {
    int delete_retention_days;   /* blob soft delete: 0 = off */
    int allow_permanent_delete;
};
int api_service_settings(struct api_req *q, struct service_settings *out);

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
/* Route discriminator: x-ms-lease-action is "break" (which a SAS may do with 'd' as well as 'w'). */
int api_is_lease_break(struct api_req *q);

/*
 * The checks every blob write makes against the current record, in one place and one order:
 * lease (§5.3), conditions (§5.1) and x-ms-if-tags, then WORM protection (legal hold, version and
 * container immutability policies) when the write changes or removes content.  `exists`: the blob
 * exists (committed).  0 to proceed, or -1 with the response described.
 */
#define GATE_CREATE     0x01   /* creating operation: If-None-Match: * -> 409 BlobAlreadyExists */
#define GATE_CONTENT    0x02   /* replaces or deletes content: immutability applies */
int api_blob_write_gate(struct api_req *q, int exists, const struct blob_rec *r, unsigned flags);
/* The WORM part alone (409 BlobImmutableDueToLegalHold / BlobImmutableDueToPolicy described). */
int api_blob_immutability(struct api_req *q, const struct blob_rec *r);
/* The same for reads: lease id (optional, must match), conditions with 304, x-ms-if-tags. */
int api_blob_read_gate(struct api_req *q, const struct blob_rec *r);

/*
 * Blob index tags (tags.c).  Every commit that changes the tags of a blob's current record adds
 * api_tags_reindex() to the same txn as the record (invariant T1 in tags.c): old = the record
 * being replaced or removed (NULL if none or only staged), new_ = the record being written (NULL
 * on delete).  Removing a container: api_tags_drop_container().  Both 0, or -1 (500 described).
 */
int api_tags_reindex(struct api_req *q, struct meta_txn *t, uint64_t cid, const char *name,
                     size_t nlen, const struct blob_rec *old, const struct blob_rec *new_);
int api_tags_drop_container(struct api_req *q, struct meta_txn *t, uint64_t cid);
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
 * Commits nr as the blob's current record (adds to t): a soft-deleted old record becomes a
 * deleted snapshot; with versioning and new_version, the old current record is kept as a
 * previous version and nr gets a new version id (x-ms-version-id is described).  `old` is what
 * api_blob_load() returned (zeroed when there was none).  0 or -1 (described).
 */
int api_blob_replace(struct api_req *q, struct meta_txn *t, const struct blob_rec *old,
                     struct blob_rec *nr, int new_version);
/* Adds (add != 0) or removes the purge entry of a soft-deleted record at key.  0 or -1. */
int api_purge_mark(struct api_req *q, struct meta_txn *t, int64_t purge_at, const char *key,
                   size_t klen, int add);
/* ISO 8601 with 7 fraction digits, in the request arena (snapshot and version ids). */
const char *fmt_id(struct api_req *q, int64_t id);
/* 1 when some request header name starts with prefix (case-insensitive). */
int api_header_prefix_present(const struct api_req *q, const char *prefix);

/* Immutability (immutability.c): the x-ms-immutability-policy-* / x-ms-legal-hold request headers
 * of uploads into r (0 or -1 described), and the same as response headers. */
int api_immutability_headers_in(struct api_req *q, struct blob_rec *r);
void api_immutability_headers_out(struct api_req *q, const struct blob_rec *r);

/* ---- handlers ------------------------------------------------------------------------- */

void op_list_containers(struct api_req *q);
void op_account_info(struct api_req *q);
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
/* Writes the content of blocks[0..n) into one new needle, *out (pending until store_release(),
 * not durable until store_sync()).  0, or -1 (described). */
int api_coalesce(struct api_req *q, const struct block_ref *blocks, size_t n, struct extent *out);
void op_seal_blob(struct api_req *q);
void op_get_block_list(struct api_req *q);
void op_lease_blob(struct api_req *q);
void op_snapshot_blob(struct api_req *q);
void op_restore_container(struct api_req *q);
void op_blob_immutability_set(struct api_req *q);
void op_blob_immutability_delete(struct api_req *q);
void op_blob_legal_hold(struct api_req *q);
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

/* ---- Blob Batch (batch.c) and access tiers (tier.c) ----------------------------------- */

/*
 * A request that arrived inside another one's body (a Blob Batch part) goes through the same steps
 * as a top-level request, in two calls so that the batch can look at every part's route before any
 * part runs (one parse of a part decides both what it is and what runs):
 *
 *   api_route_local() parses and routes it: the returned request's `route` is the row that will
 *     run, or NULL when the part was answered already (an unparsable or unroutable part: its error
 *     is described on h).  NULL return: out of memory (503 described on h).
 *   api_run_local() then authenticates and authorizes it, applies the shared checks, calls the
 *     handler (a route with a body gets 400) and adds the headers every response carries.
 *
 * `h` is a local request (http_req_local) in the outer request's arena; its response is described
 * on h.  The part inherits outer's x-ms-version when it sends none, and outer's peer address;
 * account_seg (raw, as in a path) names the account when the part's path leaves it out
 * ("/container/blob"), else NULL.
 */
struct api_req *api_route_local(struct api_req *outer, struct http_req *h,
                                const char *account_seg);
void api_run_local(struct api_req *q);
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

/* ---- copies (copy.c) ------------------------------------------------------------------- */

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
void op_put_blob_from_url(struct api_req *q);
void op_put_block_from_url(struct api_req *q);
/* x-ms-copy-* headers (Get Blob, Get Blob Properties; a pending copy shows its live progress)
 * and the Copy* elements of List Blobs (include=copy; progress as last recorded) of a record
 * that was a copy destination; nothing otherwise. */
void api_copy_headers(struct api_req *q, const struct copy_rec *c);
void api_xml_copy(struct buf *b, const struct copy_rec *c);

#endif
