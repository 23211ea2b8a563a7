/*
 * routes.c -- the route table: every operation Cobalt answers, one row each, with every fact the
 * dispatcher (dispatch.c) applies before the handler runs.
 *
 * A row reads as a sentence: "<name> is <methods> on a <level> with restype=<restype> and
 * comp=<comp> (NULL: absent), when <applies> says so (NULL: always); <handler> runs it; the
 * caller needs <need>; it takes a <body> of at most <body_max> bytes; <flags>."  Rows are tried in
 * order and the first whose shape, method and discriminator match wins, so a row with a
 * discriminator comes before the catch-all row of the same shape.
 *
 * tests/abuse/test_auth_matrix.py reads this table (the rows, the NEED_* and ANY_SAS_LETTER
 * macros) to build a request for every route: keep one row per `{...}` and the macros in the
 * one-line form below.
 */
#include "api/api_int.h"

#include <strings.h>

/* Body limits: the largest Content-Length each body kind accepts. */
#define XML_MAX      (4ull << 20)    /* XML bodies are buffered whole */
#define MAX_PUT_BLOB (5000ull << 20) /* 5000 MiB (version >= 2019-12-12) */
#define MAX_BLOCK    (4000ull << 20) /* 4000 MiB */
#define MAX_APPEND   (100ull << 20)  /* 100 MiB (version >= 2022-11-02) */
#define MAX_PAGE     (4ull << 20)    /* Put Page: 4 MiB */

/*
 * Who may call a route (struct auth_need, auth/auth.h), named by the resource it acts on.  `p`
 * holds the SAS permission letters any one of which suffices (§3.8); `a` the data action a bearer
 * token's (or a user delegation SAS's) roles must grant (AUTH_ACT_*: READ, WRITE, ADD, DELETE,
 * TAGS_READ, TAGS_WRITE, FILTER, IMMUTABLE, SERVICE, DELEGATE, or ANY role at the scope).
 * Service SAS scopes: container-level routes take no service SAS unless named IN_CONTAINER;
 * blob-level routes take a blob SAS for that blob or a container SAS for its container.
 * _PUBLIC: anonymous callers get in when the container's public access level allows at least
 * that much.
 */
/* clang-format off */
#define ANY_SAS_LETTER           "racwdxyltfimeop"
#define BLOB_OR_CONTAINER_SAS    (AUTH_SCOPE_BLOB | AUTH_SCOPE_CONTAINER)
#define NEED_ACCOUNT(p, a) \
    {AUTH_LEVEL_SERVICE, p, AUTH_SCOPE_NONE, AUTH_ANON_NEVER, AUTH_ACT_##a}
#define NEED_ACCOUNT_OBJECTS(p, a) \
    {AUTH_LEVEL_OBJECT, p, AUTH_SCOPE_NONE, AUTH_ANON_NEVER, AUTH_ACT_##a}
#define NEED_CONTAINER(p, a) \
    {AUTH_LEVEL_CONTAINER, p, AUTH_SCOPE_NONE, AUTH_ANON_NEVER, AUTH_ACT_##a}
#define NEED_CONTAINER_PUBLIC(p, a) \
    {AUTH_LEVEL_CONTAINER, p, AUTH_SCOPE_NONE, AUTH_PUBLIC_CONTAINER, AUTH_ACT_##a}
#define NEED_IN_CONTAINER(p, a) \
    {AUTH_LEVEL_CONTAINER, p, AUTH_SCOPE_CONTAINER, AUTH_ANON_NEVER, AUTH_ACT_##a}
#define NEED_IN_CONTAINER_PUBLIC(p, a) \
    {AUTH_LEVEL_CONTAINER, p, AUTH_SCOPE_CONTAINER, AUTH_PUBLIC_CONTAINER, AUTH_ACT_##a}
#define NEED_BLOB(p, a) \
    {AUTH_LEVEL_OBJECT, p, BLOB_OR_CONTAINER_SAS, AUTH_ANON_NEVER, AUTH_ACT_##a}
#define NEED_BLOB_PUBLIC(p, a) \
    {AUTH_LEVEL_OBJECT, p, BLOB_OR_CONTAINER_SAS, AUTH_PUBLIC_BLOB, AUTH_ACT_##a}
/* Container-level WORM controls are management-plane acts in Azure: the account key only. */
#define NEED_ACCOUNT_KEY \
    {AUTH_LEVEL_CONTAINER, AUTH_PERMS_ACCOUNT_KEY, AUTH_SCOPE_NONE, AUTH_ANON_NEVER, AUTH_ACT_ANY}
/* Get User Delegation Key: a bearer token only, whose roles grant the delegation action. */
#define NEED_BEARER(a) \
    {AUTH_LEVEL_SERVICE, AUTH_PERMS_BEARER, AUTH_SCOPE_NONE, AUTH_ANON_NEVER, AUTH_ACT_##a}
/* clang-format on */

/* ---- discriminators: what tells rows of the same shape apart ---------------------------- */

static int
is_blob_put(struct api_req *q, const char *type)
{
    const char *t = api_header(q, "x-ms-blob-type");

    return t != NULL && strcasecmp(t, type) == 0 && api_header(q, "x-ms-copy-source") == NULL;
}

static int
is_block_blob_put(struct api_req *q)
{
    return is_blob_put(q, "BlockBlob");
}

static int
is_append_blob_put(struct api_req *q)
{
    return is_blob_put(q, "AppendBlob");
}

static int
is_page_blob_put(struct api_req *q)
{
    return is_blob_put(q, "PageBlob");
}

/* clang-format off */
const struct route api_routes[] = {
    /* service */
    {"ListContainers", M_GET, LVL_SERVICE, NULL, "list", NULL, op_list_containers,
     NEED_ACCOUNT("l", READ), BODY_NONE, 0, 0},
    /* Blob Batch: any credential; every part is authorized on its own (batch.c, §3.8). */
    {"BlobBatch", M_POST, LVL_SERVICE, NULL, "batch", NULL, op_batch,
     NEED_ACCOUNT(ANY_SAS_LETTER, ANY), BODY_XML, XML_MAX, R_WRITES},
    /* The JS SDK's BlobBatchClient takes a path-style account URL ("/account") for a container
     * URL and sends restype=container: still the account-scoped batch. */
    {"BlobBatch", M_POST, LVL_SERVICE, "container", "batch", NULL, op_batch,
     NEED_ACCOUNT(ANY_SAS_LETTER, ANY), BODY_XML, XML_MAX, R_WRITES},
    {"GetAccountInfo", M_GET | M_HEAD, LVL_SERVICE, "account", "properties", NULL, op_account_info,
     NEED_ACCOUNT(ANY_SAS_LETTER, ANY), BODY_NONE, 0, 0},
    {"GetServiceProperties", M_GET, LVL_SERVICE, "service", "properties", NULL,
     op_service_props_get, NEED_ACCOUNT("r", SERVICE), BODY_NONE, 0, 0},
    {"SetServiceProperties", M_PUT, LVL_SERVICE, "service", "properties", NULL,
     op_service_props_set, NEED_ACCOUNT("w", SERVICE), BODY_XML, XML_MAX, R_WRITES},
    {"GetServiceStats", M_GET, LVL_SERVICE, "service", "stats", NULL, op_service_stats,
     NEED_ACCOUNT("r", SERVICE), BODY_NONE, 0, 0},
    /* Find Blobs by Tags reads objects: an account SAS needs srt 'o' for it (§3.8). */
    {"GetUserDelegationKey", M_POST, LVL_SERVICE, "service", "userdelegationkey", NULL,
     op_user_delegation_key, NEED_BEARER(DELEGATE), BODY_XML, XML_MAX, 0},
    {"FindBlobsByTags", M_GET, LVL_SERVICE, NULL, "blobs", NULL, op_find_blobs,
     NEED_ACCOUNT_OBJECTS("f", FILTER), BODY_NONE, 0, 0},
    /* container */
    {"GetAccountInfo", M_GET | M_HEAD, LVL_CONTAINER, "account", "properties", NULL,
     op_account_info, NEED_IN_CONTAINER(ANY_SAS_LETTER, ANY), BODY_NONE, 0, R_ANY_CONTAINER},
    {"CreateContainer", M_PUT, LVL_CONTAINER, "container", NULL, NULL, op_create_container,
     NEED_CONTAINER("cw", WRITE), BODY_NONE, 0, R_WRITES | R_ANY_CONTAINER},
    {"GetContainerProperties", M_GET | M_HEAD, LVL_CONTAINER, "container", NULL, NULL,
     op_container_props, NEED_CONTAINER_PUBLIC("r", READ), BODY_NONE, 0, 0},
    {"DeleteContainer", M_DELETE, LVL_CONTAINER, "container", NULL, NULL, op_delete_container,
     NEED_CONTAINER("d", DELETE), BODY_NONE, 0, R_WRITES},
    {"GetContainerMetadata", M_GET | M_HEAD, LVL_CONTAINER, "container", "metadata", NULL,
     op_container_metadata_get, NEED_CONTAINER_PUBLIC("r", READ), BODY_NONE, 0, 0},
    {"SetContainerMetadata", M_PUT, LVL_CONTAINER, "container", "metadata", NULL,
     op_container_metadata_set, NEED_CONTAINER("w", WRITE), BODY_NONE, 0, R_WRITES},
    {"GetContainerACL", M_GET | M_HEAD, LVL_CONTAINER, "container", "acl", NULL,
     op_container_acl_get, NEED_CONTAINER("r", READ), BODY_NONE, 0, 0},
    {"SetContainerACL", M_PUT, LVL_CONTAINER, "container", "acl", NULL, op_container_acl_set,
     NEED_CONTAINER("w", WRITE), BODY_XML, XML_MAX, R_WRITES},
    {"SetContainerImmutabilityPolicy", M_PUT, LVL_CONTAINER, "container", "immutabilityPolicies",
     NULL, op_container_immutability_set, NEED_ACCOUNT_KEY, BODY_NONE, 0, R_WRITES},
    {"DeleteContainerImmutabilityPolicy", M_DELETE, LVL_CONTAINER, "container",
     "immutabilityPolicies", NULL, op_container_immutability_delete,
     NEED_ACCOUNT_KEY, BODY_NONE, 0, R_WRITES},
    {"SetContainerLegalHold", M_PUT, LVL_CONTAINER, "container", "legalhold", NULL,
     op_container_legal_hold, NEED_ACCOUNT_KEY, BODY_NONE, 0, R_WRITES},
    {"RestoreContainer", M_PUT, LVL_CONTAINER, "container", "undelete", NULL, op_restore_container,
     NEED_CONTAINER("cw", WRITE), BODY_NONE, 0, R_WRITES | R_ANY_CONTAINER},
    /* Two containers at once: no SAS or role scoped to one of them may do it. */
    {"RenameContainer", M_PUT, LVL_CONTAINER, "container", "rename", NULL, op_rename_container,
     NEED_ACCOUNT_KEY, BODY_NONE, 0, R_WRITES | R_ANY_CONTAINER},
    /* Leases: break takes 'w' or 'd'; acquire, renew, change and release take 'w' (§3.8). */
    {"BreakLeaseContainer", M_PUT, LVL_CONTAINER, "container", "lease", api_is_lease_break,
     op_lease_container, NEED_CONTAINER("wd", WRITE), BODY_NONE, 0, R_WRITES},
    {"LeaseContainer", M_PUT, LVL_CONTAINER, "container", "lease", NULL, op_lease_container,
     NEED_CONTAINER("w", WRITE), BODY_NONE, 0, R_WRITES},
    {"ListBlobs", M_GET, LVL_CONTAINER, "container", "list", NULL, op_list_blobs,
     NEED_IN_CONTAINER_PUBLIC("l", READ), BODY_NONE, 0, 0},
    {"ContainerBatch", M_POST, LVL_CONTAINER, "container", "batch", NULL, op_batch,
     NEED_IN_CONTAINER(ANY_SAS_LETTER, ANY), BODY_XML, XML_MAX, R_WRITES},
    {"FindBlobsByTagsInContainer", M_GET, LVL_CONTAINER, "container", "blobs", NULL, op_find_blobs,
     NEED_IN_CONTAINER("f", FILTER), BODY_NONE, 0, 0},
    /* blob */
    {"GetAccountInfo", M_GET | M_HEAD, LVL_BLOB, "account", "properties", NULL, op_account_info,
     NEED_BLOB(ANY_SAS_LETTER, ANY), BODY_NONE, 0, R_ANY_CONTAINER},
    {"PutBlob", M_PUT, LVL_BLOB, NULL, NULL, is_block_blob_put, op_put_blob,
     NEED_BLOB("cw", WRITE), BODY_DATA, MAX_PUT_BLOB, R_WRITES | R_WHOLE},
    {"CreateAppendBlob", M_PUT, LVL_BLOB, NULL, NULL, is_append_blob_put, op_put_blob,
     NEED_BLOB("cw", WRITE), BODY_DATA, MAX_PUT_BLOB, R_WRITES | R_NO_CONTENT},
    {"CreatePageBlob", M_PUT, LVL_BLOB, NULL, NULL, is_page_blob_put, op_put_blob,
     NEED_BLOB("cw", WRITE), BODY_DATA, MAX_PUT_BLOB, R_WRITES | R_NO_CONTENT},
    {"PutBlobFromURL", M_PUT, LVL_BLOB, NULL, NULL, api_is_put_blob_from_url, op_put_blob_from_url,
     NEED_BLOB("cw", WRITE), BODY_NONE, 0, R_WRITES},
    {"CopyBlob", M_PUT, LVL_BLOB, NULL, NULL, api_is_copy_blob, op_copy_blob,
     NEED_BLOB("cw", WRITE), BODY_NONE, 0, R_WRITES},
    {"CopyBlobFromURL", M_PUT, LVL_BLOB, NULL, NULL, api_is_copy_blob_sync, op_copy_blob_sync,
     NEED_BLOB("cw", WRITE), BODY_NONE, 0, R_WRITES},
    {"AbortCopyBlob", M_PUT, LVL_BLOB, NULL, "copy", NULL, op_abort_copy,
     NEED_BLOB("w", WRITE), BODY_NONE, 0, R_WRITES},
    {"IncrementalCopyBlob", M_PUT, LVL_BLOB, NULL, "incrementalcopy", NULL, op_incremental_copy,
     NEED_BLOB("cw", WRITE), BODY_NONE, 0, R_WRITES},
    {"GetBlob", M_GET | M_HEAD, LVL_BLOB, NULL, NULL, NULL, op_get_blob,
     NEED_BLOB_PUBLIC("r", READ), BODY_NONE, 0, 0},
    {"DeleteBlob", M_DELETE, LVL_BLOB, NULL, NULL, NULL, op_delete_blob,
     NEED_BLOB("dx", DELETE), BODY_NONE, 0, R_WRITES | R_ADDRESSABLE | R_BATCH},
    {"SetImmutabilityPolicy", M_PUT, LVL_BLOB, NULL, "immutabilityPolicies", NULL,
     op_blob_immutability_set, NEED_BLOB("i", IMMUTABLE), BODY_NONE, 0, R_WRITES | R_ADDRESSABLE},
    {"DeleteImmutabilityPolicy", M_DELETE, LVL_BLOB, NULL, "immutabilityPolicies", NULL,
     op_blob_immutability_delete, NEED_BLOB("i", IMMUTABLE), BODY_NONE, 0,
     R_WRITES | R_ADDRESSABLE},
    {"SetLegalHold", M_PUT, LVL_BLOB, NULL, "legalhold", NULL, op_blob_legal_hold,
     NEED_BLOB("i", IMMUTABLE), BODY_NONE, 0, R_WRITES | R_ADDRESSABLE},
    {"SnapshotBlob", M_PUT, LVL_BLOB, NULL, "snapshot", NULL, op_snapshot_blob,
     NEED_BLOB("cw", WRITE), BODY_NONE, 0, R_WRITES},
    {"UndeleteBlob", M_PUT, LVL_BLOB, NULL, "undelete", NULL, op_undelete_blob,
     NEED_BLOB("w", WRITE), BODY_NONE, 0, R_WRITES},
    {"GetBlobMetadata", M_GET | M_HEAD, LVL_BLOB, NULL, "metadata", NULL, op_blob_metadata_get,
     NEED_BLOB_PUBLIC("r", READ), BODY_NONE, 0, 0},
    {"SetBlobMetadata", M_PUT, LVL_BLOB, NULL, "metadata", NULL, op_blob_metadata_set,
     NEED_BLOB("w", WRITE), BODY_NONE, 0, R_WRITES},
    {"SetPageBlobProperties", M_PUT, LVL_BLOB, NULL, "properties", api_is_page_properties,
     op_page_properties, NEED_BLOB("w", WRITE), BODY_NONE, 0, R_WRITES},
    {"SetBlobProperties", M_PUT, LVL_BLOB, NULL, "properties", NULL, op_blob_properties_set,
     NEED_BLOB("w", WRITE), BODY_NONE, 0, R_WRITES},
    {"SetBlobExpiry", M_PUT, LVL_BLOB, NULL, "expiry", NULL, op_set_blob_expiry,
     NEED_BLOB("w", WRITE), BODY_NONE, 0, R_WRITES},
    {"SetBlobTier", M_PUT, LVL_BLOB, NULL, "tier", NULL, op_set_blob_tier,
     NEED_BLOB("w", WRITE), BODY_NONE, 0, R_WRITES | R_ADDRESSABLE | R_BATCH},
    /* before PutBlock: the same shape, told apart by x-ms-copy-source */
    {"PutBlockFromURL", M_PUT, LVL_BLOB, NULL, "block", api_has_copy_source, op_put_block_from_url,
     NEED_BLOB("w", WRITE), BODY_NONE, 0, R_WRITES},
    {"PutBlock", M_PUT, LVL_BLOB, NULL, "block", NULL, op_put_block,
     NEED_BLOB("w", WRITE), BODY_DATA, MAX_BLOCK, R_WRITES},
    {"PutBlockList", M_PUT, LVL_BLOB, NULL, "blocklist", NULL, op_put_block_list,
     NEED_BLOB("w", WRITE), BODY_XML, XML_MAX, R_WRITES},
    {"AppendBlockFromURL", M_PUT, LVL_BLOB, NULL, "appendblock", api_has_copy_source,
     op_append_block_from_url, NEED_BLOB("aw", ADD), BODY_NONE, 0, R_WRITES},
    {"AppendBlock", M_PUT, LVL_BLOB, NULL, "appendblock", NULL, op_append_block,
     NEED_BLOB("aw", ADD), BODY_DATA, MAX_APPEND, R_WRITES},
    {"PutPageFromURL", M_PUT, LVL_BLOB, NULL, "page", api_has_copy_source, op_put_page_from_url,
     NEED_BLOB("w", WRITE), BODY_NONE, 0, R_WRITES},
    {"PutPage", M_PUT, LVL_BLOB, NULL, "page", NULL, op_put_page,
     NEED_BLOB("w", WRITE), BODY_DATA, MAX_PAGE, R_WRITES},
    {"GetPageRanges", M_GET, LVL_BLOB, NULL, "pagelist", NULL, op_get_page_ranges,
     NEED_BLOB_PUBLIC("r", READ), BODY_NONE, 0, 0},
    {"SealBlob", M_PUT, LVL_BLOB, NULL, "seal", NULL, op_seal_blob,
     NEED_BLOB("w", WRITE), BODY_NONE, 0, R_WRITES},
    {"BreakLeaseBlob", M_PUT, LVL_BLOB, NULL, "lease", api_is_lease_break, op_lease_blob,
     NEED_BLOB("wd", WRITE), BODY_NONE, 0, R_WRITES},
    {"LeaseBlob", M_PUT, LVL_BLOB, NULL, "lease", NULL, op_lease_blob,
     NEED_BLOB("w", WRITE), BODY_NONE, 0, R_WRITES},
    {"GetBlockList", M_GET, LVL_BLOB, NULL, "blocklist", NULL, op_get_block_list,
     NEED_BLOB_PUBLIC("r", READ), BODY_NONE, 0, 0},
    {"SetBlobTags", M_PUT, LVL_BLOB, NULL, "tags", NULL, op_set_blob_tags,
     NEED_BLOB("t", TAGS_WRITE), BODY_XML, XML_MAX, R_WRITES | R_ADDRESSABLE},
    {"GetBlobTags", M_GET, LVL_BLOB, NULL, "tags", NULL, op_get_blob_tags,
     NEED_BLOB("t", TAGS_READ), BODY_NONE, 0, 0},
    /* Query Blob Contents reads: a POST that needs only 'r' (query.c). */
    {"QueryBlobContents", M_POST, LVL_BLOB, NULL, "query", NULL, op_query_blob,
     NEED_BLOB("r", READ), BODY_XML, XML_MAX, 0},
};
/* clang-format on */

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
