/*
 * container.c -- container operations: Create, Delete, Restore, Get Properties, Get/Set Metadata
 * (List Blobs is list.c; ACLs props.c; leases lease.c; WORM settings immutability.c).
 *
 * Container operations go through the engine (engine/engine.h): each reads the record, checks
 * its conditions and lease against it, and writes with compare-and-set, reading and checking again
 * when another writer changed the record in between.  The engine refuses to delete what WORM
 * protects, and keeps M3 for the blob writes that still commit through meta/ directly (a blob is
 * never committed into a container a concurrent Delete Container has already removed: see
 * engine/local.c).
 */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/parse.h"
#include "util/timefmt.h"

static int
public_access_header(struct api_req *q, uint8_t *out)
{
    const char *v = api_header(q, "x-ms-blob-public-access");

    *out = PUBLIC_NONE;
    if (v == NULL || *v == '\0')
        return 0;
    if (strcasecmp(v, "container") == 0)
        *out = PUBLIC_CONTAINER;
    else if (strcasecmp(v, "blob") == 0)
        *out = PUBLIC_BLOB;
    else
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-blob-public-access", v);
    return 0;
}

void
op_create_container(struct api_req *q)
{
    struct container_rec c = {0};
    int rc;

    if (api_read_metadata(q, &c.nmeta, &c.meta) != 0 ||
        public_access_header(q, &c.public_access) != 0)
        return;
    c.created = c.modified = ticks_now();
    c.etag = eng_next_etag(&q->srv->eng);
    if ((rc = eng_container_create(&q->srv->eng, q->account, q->container, &c)) != 0) {
        api_fail_container(q, rc);
        return;
    }
    api_status(q, 201);
    api_hdr_etag(q, c.etag);
    api_hdr_time(q, "Last-Modified", c.modified);
}

int
api_fail_container(struct api_req *q, int rc)
{
    return rc == CO_ENOTFOUND ? api_fail(q, E_ContainerNotFound) : api_fail_rc(q, rc);
}

int
api_container_store(struct api_req *q, const struct container_rec *old, struct container_rec *c)
{
    c->modified = ticks_now();
    c->etag = eng_next_etag(&q->srv->eng);
    return eng_container_update(&q->srv->eng, q->account, q->container, old, c);
}

void
api_container_written(struct api_req *q, int rc, const struct container_rec *c)
{
    if (rc != 0) {
        api_fail_container(q, rc);
        return;
    }
    api_status(q, 200);
    api_hdr_etag(q, c->etag);
    api_hdr_time(q, "Last-Modified", c->modified);
}

int
api_container_dates(struct api_req *q, const struct container_rec *c)
{
    const char *ims = api_header(q, "If-Modified-Since"),
               *ius = api_header(q, "If-Unmodified-Since");
    int64_t t, mod = c->modified / TICKS_PER_SEC;

    if (ims && parse_http_date(ims, &t) == 0 && mod <= t / TICKS_PER_SEC)
        return api_fail(q, E_ConditionNotMet);
    if (ius && parse_http_date(ius, &t) == 0 && mod > t / TICKS_PER_SEC)
        return api_fail(q, E_ConditionNotMet);
    return 0;
}

/*
 * WORM (the engine refuses, engine.h): a container under a legal hold or a retention policy keeps
 * its blobs, and any container keeps a blob, snapshot or version (soft-deleted ones included) that
 * is under a legal hold or an unexpired immutability policy of its own -- with soft delete on too,
 * since the purge would otherwise remove it for good.  The first refusal names the container's own
 * protection; the second is 409 with the blob-level WORM code of the first protected record found
 * (BlobImmutableDueToLegalHold when it is held, else BlobImmutableDueToPolicy): Azure has no
 * container-level code for version-level protection.
 */
static int
worm_refusal(struct api_req *q, const struct container_rec *c, int rc)
{
    if (c->legal_hold || c->immutable_days > 0)
        return api_fail(q, c->legal_hold ? E_ContainerHasLegalHold
                                         : E_ContainerImmutabilityPolicyLocked);
    return api_fail_rc(q, rc); /* the blob-level code */
}

void
op_delete_container(struct api_req *q)
{
    struct container_rec c, gone;
    int days = q->srv->container_soft_delete_days, rc;

    do { /* read, check, delete if unchanged (engine.h) */
        if ((rc = eng_container_get(&q->srv->eng, q->a, q->account, q->container, &c)) != 0) {
            api_fail_container(q, rc);
            return;
        }
        if (api_lease_check_container(q, &c, 1) != 0 || api_container_dates(q, &c) != 0)
            return;
        if (days > 0) {
            /* Soft delete: the record moves aside with its id, so its blobs stay where they are
             * and Restore Container brings everything back. */
            gone = c;
            gone.deleted = ticks_now();
            gone.purge_at = gone.deleted + (int64_t)days * q->srv->day_ticks;
            memset(&gone.lease, 0, sizeof(gone.lease));
        }
        rc = eng_container_delete(&q->srv->eng, q->account, q->container, &c,
                                  days > 0 ? &gone : NULL);
    } while (rc == CO_ECONFLICT);
    if (rc == CO_EHELD || rc == CO_EPOLICY) {
        worm_refusal(q, &c, rc);
        return;
    }
    if (rc != 0) {
        api_fail_container(q, rc);
        return;
    }
    if (days == 0)
        api_freed(q, UINT32_MAX); /* its size is unknown here: make the next check run */
    api_status(q, 202);
}

void
op_restore_container(struct api_req *q)
{
    const char *name = api_header(q, "x-ms-deleted-container-name");
    const char *ver = api_header(q, "x-ms-deleted-container-version");
    struct container_rec c;
    unsigned long long deleted;
    char *end;
    int rc;

    if (name == NULL || ver == NULL) {
        api_fail_header(q, E_MissingRequiredHeader,
                        name ? "x-ms-deleted-container-version" : "x-ms-deleted-container-name",
                        NULL);
        return;
    }
    deleted = strtoull(ver, &end, 16);
    if (*end != '\0' || end == ver) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-deleted-container-version", ver);
        return;
    }
    rc = eng_container_restore(&q->srv->eng, q->a, q->account, name, (int64_t)deleted, q->container,
                               &c);
    if (rc != 0) {
        api_fail_container(q, rc);
        return;
    }
    api_status(q, 201);
    api_hdr_etag(q, c.etag);
    api_hdr_time(q, "Last-Modified", c.modified);
}

/*
 * Rename Container: the container named by x-ms-source-container-name takes the request's name,
 * with its blobs, metadata, ACL, lease and ETag (its id moves, nothing is copied).  Account-level
 * authority only (routes.c), since it acts on two containers.
 */
void
op_rename_container(struct api_req *q)
{
    const char *from = api_header(q, "x-ms-source-container-name");
    struct container_rec c;
    int rc;

    if (from == NULL) {
        api_fail_header(q, E_MissingRequiredHeader, "x-ms-source-container-name", NULL);
        return;
    }
    if (container_name_check(from, strlen(from)) != NAME_OK) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-source-container-name", from);
        return;
    }
    do { /* read, check, move if unchanged (engine.h) */
        if ((rc = eng_container_get(&q->srv->eng, q->a, q->account, from, &c)) != 0) {
            api_fail_container(q, rc);
            return;
        }
        if (api_lease_check_source_container(q, &c) != 0)
            return;
        rc = eng_container_rename(&q->srv->eng, q->account, from, &c, q->container);
    } while (rc == CO_ECONFLICT);
    if (rc != 0) {
        api_fail_container(q, rc);
        return;
    }
    api_status(q, 200);
}

static int
container_headers(struct api_req *q)
{
    const struct container_rec *c = &q->cont;

    if (api_lease_check_container(q, c, 0) != 0)
        return -1;
    api_status(q, 200);
    api_hdr_etag(q, c->etag);
    api_hdr_time(q, "Last-Modified", c->modified);
    api_put_metadata_headers(q, c->nmeta, c->meta);
    http_resp_body(q->h, "", 0);
    return 0;
}

void
op_container_props(struct api_req *q)
{
    if (container_headers(q) != 0)
        return;
    api_lease_headers(q, &q->cont.lease);
    if (q->cont.public_access == PUBLIC_CONTAINER)
        api_hdr(q, "x-ms-blob-public-access", "container");
    else if (q->cont.public_access == PUBLIC_BLOB)
        api_hdr(q, "x-ms-blob-public-access", "blob");
    api_hdr(q, "x-ms-has-immutability-policy", q->cont.immutable_days > 0 ? "true" : "false");
    api_hdr(q, "x-ms-has-legal-hold", q->cont.legal_hold ? "true" : "false");
    api_hdr(q, "x-ms-default-encryption-scope", "$account-encryption-key");
    api_hdr(q, "x-ms-deny-encryption-scope-override", "false");
}

void
op_container_metadata_get(struct api_req *q)
{
    (void)container_headers(q);
}

void
op_container_metadata_set(struct api_req *q)
{
    struct container_rec old, c;
    const char *ims = api_header(q, "If-Modified-Since");
    int64_t when;
    int rc;

    do { /* read, check, update if unchanged (engine.h) */
        if ((rc = eng_container_get(&q->srv->eng, q->a, q->account, q->container, &old)) != 0)
            break;
        if (api_lease_check_container(q, &old, 0) != 0)
            return;
        if (ims && parse_http_date(ims, &when) == 0 &&
            old.modified / TICKS_PER_SEC <= when / TICKS_PER_SEC) {
            api_fail(q, E_ConditionNotMet);
            return;
        }
        c = old;
        if (api_read_metadata(q, &c.nmeta, &c.meta) != 0)
            return;
        rc = api_container_store(q, &old, &c);
    } while (rc == CO_ECONFLICT);
    api_container_written(q, rc, &c);
}
