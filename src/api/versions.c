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

static int
get_sub(struct api_req *q, char kind, int64_t id, struct blob_rec *r)
{
    struct buf k = BUF_INIT;
    char *v;
    size_t vl;
    int rc;

    memset(r, 0, sizeof(*r)); /* what a caller reads when there is no record (as meta_blob_get) */
    meta_key_blob_sub(&k, q->cont.id, q->blob, q->blob_len, kind, id);
    rc = buf_ok(&k) ? meta_get(q->srv->meta, k.p, k.len, q->a, &v, &vl) : META_EIO;
    buf_free(&k);
    if (rc == 0 && meta_blob_decode(q->a, v, vl, r) != 0)
        rc = META_EIO;
    return rc;
}

int
api_put_sub_rec(struct api_req *q, struct meta_txn *t, char kind, int64_t id,
                const struct blob_rec *r)
{
    struct buf k = BUF_INIT;

    meta_key_blob_sub(&k, q->cont.id, q->blob, q->blob_len, kind, id);
    return api_put_blob_key(q, t, &k, r);
}

static int
del_sub(struct api_req *q, struct meta_txn *t, char kind, int64_t id)
{
    struct buf k = BUF_INIT;
    int ok;

    meta_key_blob_sub(&k, q->cont.id, q->blob, q->blob_len, kind, id);
    if ((ok = buf_ok(&k)))
        meta_txn_delete(t, k.p, k.len);
    buf_free(&k);
    return ok ? 0 : api_fail(q, E_InternalError);
}

/* Adds (add) or removes the 'Z' purge entry of the record at key (meta.h). */
int
api_purge_mark(struct api_req *q, struct meta_txn *t, int64_t purge_at, const char *key,
               size_t klen, int add)
{
    return meta_txn_purge_mark(t, purge_at, key, klen, add) == 0 ? 0 : api_fail(q, E_InternalError);
}

int
api_purge_mark_blob(struct api_req *q, struct meta_txn *t, char kind, int64_t id, int64_t purge_at,
                    int add)
{
    struct buf k = BUF_INIT;
    int rc;

    if (kind)
        meta_key_blob_sub(&k, q->cont.id, q->blob, q->blob_len, kind, id);
    else
        meta_key_blob(&k, q->cont.id, q->blob, q->blob_len);
    rc = buf_ok(&k) ? api_purge_mark(q, t, purge_at, k.p, k.len, add)
                    : api_fail(q, E_InternalError);
    buf_free(&k);
    return rc;
}

int
api_blob_expired(const struct blob_rec *r, int64_t now)
{
    return r->deleted && r->purge_at && r->purge_at <= now;
}

int
api_blob_load_addressed(struct api_req *q, struct blob_rec *r, int *current)
{
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
    rc = get_sub(q, kind, id, r);
    if (rc == META_NOTFOUND)
        return 0;
    if (rc != 0)
        return api_fail_io(q, rc);
    return r->deleted ? 0 : 1;
}

/* A new unique time-based id for a snapshot or version of this blob. */
static int64_t
new_id(struct api_req *q)
{
    return (int64_t)meta_next_etag(q->srv->meta); /* unique and increasing, 100 ns ticks */
}

int
api_blob_replace(struct api_req *q, struct meta_txn *t, const struct blob_rec *old,
                 struct blob_rec *nr, int new_version)
{
    int exists = old->etag != 0 && !old->deleted && !(old->flags & BLOB_F_UNCOMMITTED);

    if (old->deleted && !api_blob_expired(old, ticks_now())) {
        /* Writing over a soft-deleted blob keeps the deleted one as a deleted snapshot. */
        int64_t id = new_id(q);
        if (api_put_sub_rec(q, t, 'S', id, old) != 0 ||
            api_purge_mark_blob(q, t, 0, 0, old->purge_at, 0) != 0 ||
            api_purge_mark_blob(q, t, 'S', id, old->purge_at, 1) != 0)
            return -1;
    } else if (exists && api_versioning(q) && new_version) {
        struct blob_rec prev = *old;
        memset(&prev.lease, 0, sizeof(prev.lease)); /* the lease stays with the blob */
        if (api_put_sub_rec(q, t, 'V', prev.version_id ? prev.version_id : prev.modified, &prev) !=
            0)
            return -1;
    }
    if (api_versioning(q)) {
        if (new_version || nr->version_id == 0)
            nr->version_id = new_id(q);
    } else {
        nr->version_id = 0;
    }
    if (api_put_blob_rec(q, t, nr) != 0)
        return -1;
    if (nr->version_id)
        api_hdr(q, "x-ms-version-id", fmt_id(q, nr->version_id));
    return 0;
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

void
op_snapshot_blob(struct api_req *q)
{
    struct blob_rec r, snap;
    struct meta_txn *t = NULL;
    unsigned stripe;
    int exists;
    int64_t id;

    if (api_blob_lock(q, &stripe) != 0)
        return;
    if ((exists = api_blob_load(q, &r)) < 0)
        goto out;
    if (!exists) {
        api_fail(q, E_BlobNotFound);
        goto out;
    }
    if (api_blob_read_gate(q, &r) != 0) /* the base is not modified: lease id optional */
        goto out;
    snap = r;
    memset(&snap.lease, 0, sizeof(snap.lease)); /* snapshots cannot be leased */
    snap.ntags = 0;                             /* tags belong to the base blob */
    snap.tags = NULL;
    if (api_header_prefix_present(q, "x-ms-meta-") &&
        api_read_metadata(q, &snap.nmeta, &snap.meta) != 0)
        goto out;
    id = new_id(q);
    if ((t = meta_txn_new()) == NULL) {
        api_fail(q, E_InternalError);
        goto out;
    }
    if (api_put_sub_rec(q, t, 'S', id, &snap) != 0)
        goto out;
    if (api_commit(q, t) == 0) {
        api_status(q, 201);
        api_hdr(q, "x-ms-snapshot", fmt_id(q, id));
        api_hdr_etag(q, r.etag);
        api_hdr_time(q, "Last-Modified", r.modified);
        if (r.version_id)
            api_hdr(q, "x-ms-version-id", fmt_id(q, r.version_id));
        api_hdr(q, "x-ms-request-server-encrypted", "true");
    }
    t = NULL;
out:
    meta_txn_free(t);
    api_blob_unlock(q, stripe);
}

/* ---- a blob's snapshots and versions ------------------------------------------------------ */

int
api_blob_subs(struct api_req *q, struct blob_sub **out, size_t *n)
{
    struct buf lo = BUF_INIT, hi = BUF_INIT;
    struct meta_iter *it = NULL;
    size_t cap = 0;
    int rc = 0;

    *out = NULL;
    *n = 0;
    meta_key_blob_subs(&lo, &hi, q->cont.id, q->blob, q->blob_len);
    if (!buf_ok(&lo) || !buf_ok(&hi) ||
        (it = meta_iter_new(q->srv->meta, lo.p, lo.len, hi.p, hi.len)) == NULL) {
        rc = api_fail(q, E_InternalError);
        goto out;
    }
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        size_t kl, vl;
        const char *k = meta_iter_key(it, &kl), *v = meta_iter_value(it, &vl);
        if (kl != lo.len + 9)
            continue;
        if (*n == cap) {
            struct blob_sub *ns = arena_alloc(q->a, sizeof(*ns) * (cap = cap * 2 + 8));
            if (ns == NULL) {
                rc = api_fail(q, E_InternalError);
                goto out;
            }
            if (*n)
                memcpy(ns, *out, sizeof(*ns) * *n);
            *out = ns;
        }
        (*out)[*n].kind = k[lo.len];
        (*out)[*n].id = (int64_t)get_be64(k + lo.len + 1);
        if (meta_blob_decode(q->a, v, vl, &(*out)[*n].r) != 0) {
            rc = api_fail_io(q, META_EIO);
            goto out;
        }
        (*n)++;
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
api_remove_sub(struct api_req *q, struct meta_txn *t, struct blob_sub *s, int64_t purge_at,
               int permanent)
{
    if (purge_at && !permanent && !s->r.deleted) {
        s->r.deleted = ticks_now();
        s->r.purge_at = purge_at;
        return api_put_sub_rec(q, t, s->kind, s->id, &s->r) != 0 ||
                       api_purge_mark_blob(q, t, s->kind, s->id, purge_at, 1) != 0
                   ? -1
                   : 0;
    }
    if (s->r.deleted && api_purge_mark_blob(q, t, s->kind, s->id, s->r.purge_at, 0) != 0)
        return -1;
    return del_sub(q, t, s->kind, s->id);
}

/* ---- Undelete Blob --------------------------------------------------------------------- */

void
op_undelete_blob(struct api_req *q)
{
    struct blob_rec r;
    struct blob_sub *subs = NULL;
    struct meta_txn *t = NULL;
    size_t nsubs = 0;
    int rc, found = 0, restored = 0;
    int64_t now = ticks_now();
    unsigned stripe;

    if (api_blob_lock(q, &stripe) != 0)
        return;
    rc = meta_blob_get(q->srv->meta, q->a, q->cont.id, q->blob, q->blob_len, &r);
    if ((rc != 0 && rc != META_NOTFOUND) || api_blob_subs(q, &subs, &nsubs) != 0) {
        if (rc != 0 && rc != META_NOTFOUND)
            api_fail_io(q, rc);
        goto out;
    }
    if ((t = meta_txn_new()) == NULL) {
        api_fail(q, E_InternalError);
        goto out;
    }
    if (rc == 0) {
        found = 1;
        restored += !api_blob_expired(&r, now);
        if (r.deleted && !api_blob_expired(&r, now)) {
            if (api_purge_mark_blob(q, t, 0, 0, r.purge_at, 0) != 0)
                goto out;
            r.deleted = r.purge_at = 0;
            if (api_put_blob_rec(q, t, &r) != 0 ||
                api_tags_reindex(q, t, q->cont.id, q->blob, q->blob_len, NULL, &r) != 0)
                goto out;
        }
    }
    for (size_t i = 0; i < nsubs; i++) {
        found = 1;
        restored += !api_blob_expired(&subs[i].r, now);
        if (subs[i].r.deleted && !api_blob_expired(&subs[i].r, now)) {
            if (api_purge_mark_blob(q, t, subs[i].kind, subs[i].id, subs[i].r.purge_at, 0) != 0)
                goto out;
            subs[i].r.deleted = subs[i].r.purge_at = 0;
            if (api_put_sub_rec(q, t, subs[i].kind, subs[i].id, &subs[i].r) != 0)
                goto out;
        }
    }
    if (!found || restored == 0) {
        /* Nothing left to restore (never deleted counts as restored; past retention does not). */
        api_fail(q, E_BlobNotFound);
        goto out;
    }
    if (api_commit(q, t) == 0)
        api_status(q, 200);
    t = NULL;
out:
    meta_txn_free(t);
    api_blob_unlock(q, stripe);
}
