/*
 * versions.c -- snapshots, versions and soft delete: Snapshot Blob, Undelete Blob, reading a
 * snapshot or version (?snapshot= / ?versionid=), removing one (Delete Blob, blob.c, uses these),
 * and the one function every write that replaces a blob's current record goes through
 * (api_blob_replace).
 *
 * Keys (meta.h): the current record at 'B' cid name; snapshots at name 0x00 'S' time, previous
 * versions at name 0x00 'V' version-id -- all sorted right after their blob, so a listing with
 * include=snapshots|versions walks them in one pass, and Delete Container removes them with the
 * rest.  Snapshots, versions and the blob share needles (extents are copied, never the bytes).
 *
 * Versioning (per account, `cobalt serve --versioning`): every Put Blob, Put Block List, Set Blob
 * Metadata and copy gives the current record a new version id and keeps the previous one under
 * its version id; Delete Blob turns the current record into a previous version.
 * Soft delete (service property DeleteRetentionPolicy): Delete marks records deleted with a purge
 * time instead of removing them; reads ignore them, listings show them with include=deleted,
 * Undelete restores them, and the background compactor purges them once their time has come
 * (compact_purge).  A new blob written over a soft-deleted one turns the deleted one into a
 * soft-deleted snapshot, as Azure does.
 */
#include "api/api_int.h"

#include <string.h>

#include "util/arena.h"
#include "util/timefmt.h"

/* The snapshot or version a request names: 0 none, 1 found (kind 'S'/'V', id), -1 described. */
int
api_blob_address(struct api_req *q, char *kind, int64_t *id)
{
    const char *snap = api_query(q, "snapshot"), *ver = api_query(q, "versionid");

    *kind = 0;
    *id = 0;
    if (snap != NULL && ver != NULL)
        return api_fail_query(q, E_InvalidQueryParameterValue, "versionid", ver,
                              "snapshot and versionid cannot be combined.");
    if (snap == NULL && ver == NULL)
        return 0;
    if (parse_iso8601(snap ? snap : ver, id) != 0 || *id <= 0)
        return api_fail_query(q, E_InvalidQueryParameterValue, snap ? "snapshot" : "versionid",
                              snap ? snap : ver, "Not a valid date-time.");
    *kind = snap ? 'S' : 'V';
    return 1;
}

int
api_versioning(const struct api_req *q)
{
    size_t i = (size_t)(q->acct - q->srv->accounts);

    return q->acct != NULL && q->srv->versioning != NULL && q->srv->versioning[i];
}

int
api_blob_expired(const struct blob_rec *r, int64_t now)
{
    return r->deleted && r->purge_at && r->purge_at <= now;
}

int
api_blob_past_expiry(const struct blob_rec *r, int64_t now)
{
    int protected = r->legal_hold || (r->immutable_mode != IMMUT_NONE && r->immutable_until > now);

    return !r->deleted && r->purge_at && r->purge_at <= now && !protected;
}

int
api_blob_load_addressed(struct api_req *q, struct blob_rec *r, int *current)
{
    struct eng_blob b;
    char kind;
    int64_t id;
    int rc, exists;

    *current = 1;
    if ((rc = api_blob_address(q, &kind, &id)) <= 0)
        return rc < 0 ? -1 : api_blob_load(q, r);
    if (kind == 'V') {
        /* The current record answers for its own version id. */
        if ((exists = api_blob_load(q, r)) < 0)
            return -1;
        if (exists && r->version_id == id)
            return 1;
    }
    *current = 0;
    b = api_blob_ref(q);
    rc = eng_blob_get(&q->srv->eng, q->a, &b, kind, id, r);
    if (rc == CO_ENOTFOUND)
        return 0;
    if (rc != 0)
        return api_fail_rc(q, rc);
    return r->deleted ? 0 : 1;
}

/* A new unique time-based id for a snapshot or version of this blob. */
static int64_t
new_id(struct api_req *q)
{
    return (int64_t)eng_next_etag(&q->srv->eng); /* unique and increasing, 100 ns ticks */
}

/* A copy of r in the request arena (NULL, described, when out of memory). */
static struct blob_rec *
rec_copy(struct api_req *q, const struct blob_rec *r)
{
    struct blob_rec *c = arena_alloc(q->a, sizeof(*c));

    if (c == NULL)
        api_fail(q, E_InternalError);
    else
        *c = *r;
    return c;
}

int
api_blob_replace(struct api_req *q, const struct blob_rec *old, struct blob_rec *nr,
                 int new_version, const struct eng_write *check)
{
    struct eng_write w[3] = {{NULL, ENG_CURRENT, 0, eng_found(old), nr}};
    size_t n = 1;
    int exists = old->etag != 0 && !old->deleted && !(old->flags & BLOB_F_UNCOMMITTED), rc;
    struct blob_rec *prev;

    if (old->deleted && !api_blob_expired(old, ticks_now())) {
        /* Writing over a soft-deleted blob keeps the deleted one as a deleted snapshot. */
        w[n++] = (struct eng_write){NULL, ENG_SNAPSHOT, new_id(q), NULL, old};
    } else if (exists && api_versioning(q) && new_version) {
        if ((prev = rec_copy(q, old)) == NULL)
            return -1;
        memset(&prev->lease, 0, sizeof(prev->lease)); /* the lease stays with the blob */
        prev->purge_at = 0;                           /* and so does an expiry */
        w[n++] = (struct eng_write){
            NULL, ENG_VERSION, prev->version_id ? prev->version_id : prev->modified, NULL, prev};
    }
    if (api_versioning(q)) {
        if (new_version || nr->version_id == 0)
            nr->version_id = new_id(q);
    } else {
        nr->version_id = 0;
    }
    if (check != NULL)
        w[n++] = *check;
    if ((rc = api_blob_commit(q, w, n, NULL)) == 0 && nr->version_id)
        api_hdr(q, "x-ms-version-id", fmt_id(q, nr->version_id));
    return rc;
}

const char *
fmt_id(struct api_req *q, int64_t id)
{
    char *out = arena_alloc(q->a, 29);

    if (out != NULL)
        fmt_iso8601_7(id, out);
    return out ? out : "";
}

/* ---- Snapshot Blob --------------------------------------------------------------------- */

struct snapshot {
    struct blob_rec r; /* the base as the snapshot was taken */
    int64_t id;
};

static int
snapshot_attempt(struct api_req *q, void *ctx)
{
    struct snapshot *s = ctx;
    struct blob_rec snap;
    int exists;

    if ((exists = api_blob_load(q, &s->r)) < 0)
        return -1;
    if (!exists)
        return api_fail(q, E_BlobNotFound);
    if (s->r.flags & BLOB_F_INCREMENTAL) /* its snapshots are made by incremental copies */
        return api_fail(q, E_OperationNotAllowedOnIncrementalCopyBlob);
    /* The base is not modified, so its lease id is optional (§5.3); but Snapshot Blob is a PUT:
     * If-None-Match and If-Modified-Since fail with 412 ConditionNotMet, never 304. */
    if (api_lease_check_blob(q, 1, &s->r, 0) != 0 ||
        api_check_conditions(q, 1, s->r.etag, s->r.modified, 0, 0) != 0 ||
        api_check_if_tags(q, &s->r) != 0)
        return -1;
    snap = s->r;
    memset(&snap.lease, 0, sizeof(snap.lease)); /* snapshots cannot be leased */
    snap.ntags = 0;                             /* tags belong to the base blob */
    snap.purge_at = 0;                          /* and so does an expiry */
    snap.tags = NULL;
    if (api_header_prefix_present(q, "x-ms-meta-") &&
        api_read_metadata(q, &snap.nmeta, &snap.meta) != 0)
        return -1;
    s->id = new_id(q);
    /* Of the base as read: it must still be that record. */
    return api_blob_commit(q,
                           (struct eng_write[]){{NULL, ENG_CURRENT, 0, &s->r, &s->r},
                                                {NULL, ENG_SNAPSHOT, s->id, NULL, &snap}},
                           2, NULL);
}

void
op_snapshot_blob(struct api_req *q)
{
    struct snapshot s;

    if (api_retry(q, snapshot_attempt, &s) != 0)
        return;
    api_status(q, 201);
    api_hdr(q, "x-ms-snapshot", fmt_id(q, s.id));
    api_hdr_etag(q, s.r.etag);
    api_hdr_time(q, "Last-Modified", s.r.modified);
    if (s.r.version_id)
        api_hdr(q, "x-ms-version-id", fmt_id(q, s.r.version_id));
    api_hdr(q, "x-ms-request-server-encrypted", "false");
}

/* ---- a blob's snapshots and versions ------------------------------------------------------ */

int
api_blob_subs(struct api_req *q, struct eng_entry **out, size_t *n)
{
    struct eng_blob b = api_blob_ref(q);
    int rc = eng_blob_subs(&q->srv->eng, q->a, &b, out, n);

    return rc == 0 ? 0 : api_fail_rc(q, rc);
}

int
api_remove_sub(struct api_req *q, const struct eng_entry *s, int64_t purge_at, int permanent,
               struct eng_write *w)
{
    struct blob_rec *gone = NULL;

    if (purge_at && !permanent && !s->rec.deleted) {
        if ((gone = rec_copy(q, &s->rec)) == NULL)
            return -1;
        gone->deleted = ticks_now();
        gone->purge_at = purge_at;
    }
    *w = (struct eng_write){NULL, s->kind, s->id, &s->rec, gone};
    return 0;
}

/* ---- Undelete Blob --------------------------------------------------------------------- */

/* The write that brings back r (of kind/id) if it is soft-deleted and not yet due for purge:
 * 1 (w filled), 0 (nothing to do), -1 (described).  *restored counts records not past it. */
static int
undelete_one(struct api_req *q, char kind, int64_t id, const struct blob_rec *r, int64_t now,
             int *restored, struct eng_write *w)
{
    struct blob_rec *back;

    *restored += !api_blob_expired(r, now);
    if (!r->deleted || api_blob_expired(r, now))
        return 0;
    if ((back = rec_copy(q, r)) == NULL)
        return -1;
    back->deleted = back->purge_at = 0;
    *w = (struct eng_write){NULL, kind, id, r, back};
    return 1;
}

static int
undelete_attempt(struct api_req *q, void *ctx)
{
    struct blob_rec r;
    struct eng_entry *subs = NULL;
    struct eng_write *w;
    size_t nsubs = 0, n = 0;
    int rc, found = 0, restored = 0;
    int64_t now = ticks_now();
    struct eng_blob b = api_blob_ref(q);

    (void)ctx;
    rc = eng_blob_get(&q->srv->eng, q->a, &b, ENG_CURRENT, 0, &r);
    if ((rc != 0 && rc != CO_ENOTFOUND) || api_blob_subs(q, &subs, &nsubs) != 0)
        return rc != 0 && rc != CO_ENOTFOUND ? api_fail_rc(q, rc) : -1;
    if ((w = arena_alloc(q->a, sizeof(*w) * (nsubs + 1))) == NULL)
        return api_fail(q, E_InternalError);
    if (rc == 0) {
        found = 1;
        if ((rc = undelete_one(q, ENG_CURRENT, 0, &r, now, &restored, &w[n])) < 0)
            return -1;
        n += (size_t)rc;
    }
    for (size_t i = 0; i < nsubs; i++) {
        found = 1;
        if ((rc = undelete_one(q, subs[i].kind, subs[i].id, &subs[i].rec, now, &restored, &w[n])) <
            0)
            return -1;
        n += (size_t)rc;
    }
    if (!found || restored == 0) {
        /* Nothing left to restore (never deleted counts as restored; past retention does not). */
        return api_fail(q, E_BlobNotFound);
    }
    return n > 0 ? api_blob_commit(q, w, n, NULL) : 0;
}

void
op_undelete_blob(struct api_req *q)
{
    if (api_retry(q, undelete_attempt, NULL) == 0)
        api_status(q, 200);
}
