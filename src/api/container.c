/*
 * container.c -- container operations: Create, Delete, Get Properties, Get/Set Metadata, and
 * List Blobs (flat and hierarchical).
 *
 * Container records change under the container lock held for writing (M2); blob writes hold it
 * for reading around their commit (M3), so a blob is never committed into a container that a
 * concurrent Delete Container has already removed.
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

int
api_put_container_rec(struct api_req *q, struct meta_txn *t, const struct container_rec *c)
{
    struct buf k = BUF_INIT, v = BUF_INIT;

    meta_key_container(&k, q->account, q->container);
    meta_container_encode(c, &v);
    return api_txn_put(q, t, &k, &v);
}

void
op_create_container(struct api_req *q)
{
    struct container_rec c = {0}, old;
    struct meta_txn *t = NULL;
    int rc;

    if (api_read_metadata(q, &c.nmeta, &c.meta) != 0 ||
        public_access_header(q, &c.public_access) != 0)
        return;
    meta_containers_wrlock(q->srv->meta);
    rc = meta_container_get(q->srv->meta, q->a, q->account, q->container, &old);
    if (rc == 0) {
        api_fail(q, E_ContainerAlreadyExists);
        goto out;
    }
    if (rc != META_NOTFOUND || (t = meta_txn_new()) == NULL) {
        api_fail_io(q, META_EIO);
        goto out;
    }
    c.id = meta_next_container_id(q->srv->meta, t);
    c.created = c.modified = ticks_now();
    c.etag = meta_next_etag(q->srv->meta);
    if (api_put_container_rec(q, t, &c) != 0)
        goto out;
    rc = api_commit(q, t);
    t = NULL;
    if (rc != 0)
        goto out;
    api_status(q, 201);
    api_hdr_etag(q, c.etag);
    api_hdr_time(q, "Last-Modified", c.modified);
out:
    meta_txn_free(t);
    meta_containers_unlock(q->srv->meta);
}

int
api_container_dates(struct api_req *q, const struct container_rec *c)
{
    const char *ims = api_header(q, "If-Modified-Since"), *ius = api_header(q, "If-Unmodified-Since");
    int64_t t, mod = c->modified / TICKS_PER_SEC;

    if (ims && parse_http_date(ims, &t) == 0 && mod <= t / TICKS_PER_SEC)
        return api_fail(q, E_ConditionNotMet);
    if (ius && parse_http_date(ius, &t) == 0 && mod > t / TICKS_PER_SEC)
        return api_fail(q, E_ConditionNotMet);
    return 0;
}

/* 1 when the container holds at least one blob record (current, snapshot or version). */
static int
has_blobs(struct api_req *q, uint64_t cid)
{
    struct buf lo = BUF_INIT, hi = BUF_INIT;
    struct meta_iter *it;
    int any = 0;

    meta_key_blob_range(&lo, &hi, cid);
    if (buf_ok(&lo) && buf_ok(&hi) &&
        (it = meta_iter_new(q->srv->meta, lo.p, lo.len, hi.p, hi.len)) != NULL) {
        any = meta_iter_valid(it);
        meta_iter_free(it);
    }
    buf_free(&lo);
    buf_free(&hi);
    return any;
}

/*
 * WORM: a container under a legal hold or a retention policy keeps its blobs, and any container
 * keeps a blob, snapshot or version (soft-deleted ones included) that is under a legal hold or an
 * unexpired immutability policy of its own (meta.h M4) -- with soft delete on too, since the purge
 * would otherwise remove it for good.  The refusal is 409 with the blob-level WORM code of the
 * first protected record found (BlobImmutableDueToLegalHold when it is held, else
 * BlobImmutableDueToPolicy): Azure has no container-level code for version-level protection.
 */
static int
worm_check(struct api_req *q, const struct container_rec *c)
{
    int held = 0, rc;

    if ((c->legal_hold || c->immutable_days > 0) && has_blobs(q, c->id))
        return api_fail(q, c->legal_hold ? E_ContainerHasLegalHold
                                         : E_ContainerImmutabilityPolicyLocked);
    if ((rc = meta_container_protected(q->srv->meta, c->id, ticks_now(), &held)) < 0)
        return api_fail_io(q, rc);
    if (rc == 1)
        return api_fail(q, held ? E_BlobImmutableDueToLegalHold : E_BlobImmutableDueToPolicy);
    return 0;
}

void
op_delete_container(struct api_req *q)
{
    struct buf k = BUF_INIT, dk = BUF_INIT, v = BUF_INIT;
    struct container_rec c;
    struct meta_txn *t = NULL;
    int days = q->srv->container_soft_delete_days, rc;

    meta_containers_wrlock(q->srv->meta);
    rc = meta_container_get(q->srv->meta, q->a, q->account, q->container, &c);
    if (rc != 0) {
        rc == META_NOTFOUND ? api_fail(q, E_ContainerNotFound) : api_fail_io(q, rc);
        goto out;
    }
    if (api_lease_check_container(q, &c, 1) != 0 || api_container_dates(q, &c) != 0)
        goto out;
    if (worm_check(q, &c) != 0)
        goto out;
    meta_key_container(&k, q->account, q->container);
    if (!buf_ok(&k) || (t = meta_txn_new()) == NULL) {
        api_fail(q, E_InternalError);
        goto out;
    }
    meta_txn_delete(t, k.p, k.len);
    if (days > 0) {
        /* Soft delete: the record moves aside with its id, so its blobs stay where they are
         * and Restore Container brings everything back. */
        c.deleted = ticks_now();
        c.purge_at = c.deleted + (int64_t)days * q->srv->day_ticks;
        memset(&c.lease, 0, sizeof(c.lease));
        meta_key_deleted_container(&dk, q->account, q->container, c.deleted);
        meta_container_encode(&c, &v);
        if (!buf_ok(&dk) || !buf_ok(&v)) {
            api_fail(q, E_InternalError);
            goto out;
        }
        meta_txn_put(t, dk.p, dk.len, v.p, v.len);
        if (api_purge_mark(q, t, c.purge_at, dk.p, dk.len, 1) != 0)
            goto out;
    } else if (meta_txn_drop_container(t, c.id) != 0) {   /* the blobs go in the same batch */
        api_fail(q, E_InternalError);
        goto out;
    }
    rc = api_commit(q, t);
    t = NULL;
    if (rc == 0) {
        if (days == 0)
            api_freed(q, UINT32_MAX);   /* its size is unknown here: make the next check run */
        api_status(q, 202);
    }
out:
    meta_txn_free(t);
    meta_containers_unlock(q->srv->meta);
    buf_free(&k);
    buf_free(&dk);
    buf_free(&v);
}

void
op_restore_container(struct api_req *q)
{
    const char *name = api_header(q, "x-ms-deleted-container-name");
    const char *ver = api_header(q, "x-ms-deleted-container-version");
    struct buf dk = BUF_INIT, k = BUF_INIT, v = BUF_INIT;
    struct container_rec c;
    struct meta_txn *t = NULL;
    unsigned long long deleted;
    char *val, *end;
    size_t vl;
    int rc;

    if (name == NULL || ver == NULL) {
        api_fail_header(q, E_MissingRequiredHeader, name ? "x-ms-deleted-container-version"
                                                         : "x-ms-deleted-container-name", NULL);
        return;
    }
    deleted = strtoull(ver, &end, 16);
    if (*end != '\0' || end == ver) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-deleted-container-version", ver);
        return;
    }
    meta_containers_wrlock(q->srv->meta);
    rc = meta_container_get(q->srv->meta, q->a, q->account, q->container, &c);
    if (rc == 0) {
        api_fail(q, E_ContainerAlreadyExists);
        goto out;
    }
    meta_key_deleted_container(&dk, q->account, name, (int64_t)deleted);
    rc = buf_ok(&dk) ? meta_get(q->srv->meta, dk.p, dk.len, q->a, &val, &vl) : META_EIO;
    if (rc == 0 && meta_container_decode(q->a, val, vl, &c) != 0)
        rc = META_EIO;
    if (rc == META_NOTFOUND || (rc == 0 && c.purge_at <= ticks_now())) {
        api_fail(q, E_ContainerNotFound);
        goto out;
    }
    if (rc != 0) {
        api_fail_io(q, rc);
        goto out;
    }
    if ((t = meta_txn_new()) == NULL) {
        api_fail(q, E_InternalError);
        goto out;
    }
    if (api_purge_mark(q, t, c.purge_at, dk.p, dk.len, 0) != 0)
        goto out;
    c.deleted = c.purge_at = 0;
    meta_key_container(&k, q->account, q->container);
    meta_container_encode(&c, &v);
    if (!buf_ok(&k) || !buf_ok(&v)) {
        api_fail(q, E_InternalError);
        goto out;
    }
    meta_txn_delete(t, dk.p, dk.len);
    meta_txn_put(t, k.p, k.len, v.p, v.len);
    if (api_commit(q, t) == 0) {
        api_status(q, 201);
        api_hdr_etag(q, c.etag);
        api_hdr_time(q, "Last-Modified", c.modified);
    }
    t = NULL;
out:
    meta_txn_free(t);
    meta_containers_unlock(q->srv->meta);
    buf_free(&dk);
    buf_free(&k);
    buf_free(&v);
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
    struct container_rec c;
    struct meta_txn *t = NULL;
    const char *ims = api_header(q, "If-Modified-Since");
    int64_t when;
    int rc;

    meta_containers_wrlock(q->srv->meta);
    rc = meta_container_get(q->srv->meta, q->a, q->account, q->container, &c);
    if (rc != 0) {
        rc == META_NOTFOUND ? api_fail(q, E_ContainerNotFound) : api_fail_io(q, rc);
        goto out;
    }
    if (api_lease_check_container(q, &c, 0) != 0)
        goto out;
    if (ims && parse_http_date(ims, &when) == 0 &&
        c.modified / TICKS_PER_SEC <= when / TICKS_PER_SEC) {
        api_fail(q, E_ConditionNotMet);
        goto out;
    }
    if (api_read_metadata(q, &c.nmeta, &c.meta) != 0)
        goto out;
    c.modified = ticks_now();
    c.etag = meta_next_etag(q->srv->meta);
    if ((t = meta_txn_new()) == NULL || api_put_container_rec(q, t, &c) != 0) {
        if (t == NULL)
            api_fail(q, E_InternalError);
        goto out;
    }
    rc = api_commit(q, t);
    t = NULL;
    if (rc == 0) {
        api_status(q, 200);
        api_hdr_etag(q, c.etag);
        api_hdr_time(q, "Last-Modified", c.modified);
    }
out:
    meta_txn_free(t);
    meta_containers_unlock(q->srv->meta);
}

/* ---- List Blobs ------------------------------------------------------------------------- */

static const char *const blob_includes[] = {
    "snapshots", "metadata", "uncommittedblobs", "copy", "deleted", "tags", "versions",
    "deletedwithversions", "immutabilitypolicy", "legalhold", "permissions", NULL};

static int
unknown_include(const char *item, size_t n, void *ctx)
{
    for (const char *const *p = blob_includes; *p; p++)
        if (strlen(*p) == n && strncasecmp(item, *p, n) == 0)
            return 0;
    return 1;
}

/* What a List Blobs request asked to include. */
struct list_opts {
    int metadata, tags, uncommitted, snapshots, versions, deleted, copy, immutability, legalhold;
    int64_t now, day_ticks;
};

/* Emits one <Blob> entry (§4.2): the blob, or (kind 'S'/'V') one of its snapshots or versions. */
static void
xml_blob(struct buf *b, const char *name, size_t n, const struct blob_rec *r,
         const struct list_opts *o, char kind, int64_t id)
{
    char t[30], etag[19], md5[BASE64_LEN(16) + 1], iso[29];

    buf_puts(b, "<Blob>");
    xml_blob_name(b, name, n);
    if (r->deleted)
        buf_puts(b, "<Deleted>true</Deleted>");
    if (kind == 'S') {
        fmt_iso8601_7(id, iso);
        xml_elem(b, "Snapshot", iso);
    }
    if (r->version_id && (kind == 'V' || (kind == 0 && o->versions))) {
        fmt_iso8601_7(r->version_id, iso);
        xml_elem(b, "VersionId", iso);
        if (kind == 0)
            buf_puts(b, "<IsCurrentVersion>true</IsCurrentVersion>");
    }
    buf_puts(b, "<Properties>");
    fmt_rfc1123(r->created, t);
    xml_elem(b, "Creation-Time", t);
    fmt_rfc1123(r->modified, t);
    xml_elem(b, "Last-Modified", t);
    fmt_etag(r->etag, etag);
    xml_elem(b, "Etag", etag);
    buf_printf(b, "<Content-Length>%llu</Content-Length>", (unsigned long long)r->size);
    xml_elem(b, "Content-Type", r->content_type[0] ? r->content_type : "application/octet-stream");
    xml_elem(b, "Content-Encoding", r->content_encoding);
    xml_elem(b, "Content-Language", r->content_language);
    if (r->flags & BLOB_F_MD5) {
        base64_encode(r->md5, 16, md5);
        xml_elem(b, "Content-MD5", md5);
    } else {
        xml_elem(b, "Content-MD5", NULL);
    }
    xml_elem(b, "Content-Disposition", r->content_disposition);
    xml_elem(b, "Cache-Control", r->cache_control);
    xml_elem(b, "BlobType", api_blob_type_name(r->type));
    api_xml_tier(b, r);
    buf_puts(b, "<ServerEncrypted>true</ServerEncrypted>");
    api_xml_lease(b, &r->lease);
    if (o->copy)
        api_xml_copy(b, &r->copy);
    if (r->ntags > 0)
        buf_printf(b, "<TagCount>%zu</TagCount>", r->ntags);
    if (r->type == BLOB_APPEND)
        xml_elem(b, "Sealed", r->flags & BLOB_F_SEALED ? "true" : "false");
    if (o->immutability && r->immutable_mode != IMMUT_NONE) {
        fmt_rfc1123(r->immutable_until, t);
        xml_elem(b, "ImmutabilityPolicyUntilDate", t);
        xml_elem(b, "ImmutabilityPolicyMode",
                 r->immutable_mode == IMMUT_LOCKED ? "locked" : "unlocked");
    }
    if (o->legalhold)
        xml_elem(b, "LegalHold", r->legal_hold ? "true" : "false");
    if (r->deleted) {
        fmt_rfc1123(r->deleted, t);
        xml_elem(b, "DeletedTime", t);
        if (r->purge_at)
            buf_printf(b, "<RemainingRetentionDays>%lld</RemainingRetentionDays>",
                       (long long)((r->purge_at - o->now) / o->day_ticks + 1));
    }
    buf_puts(b, "</Properties>");
    if (o->metadata)
        api_xml_metadata(b, r->nmeta, r->meta);
    if (o->tags && r->ntags > 0)
        api_xml_tags(b, r->ntags, r->tags);
    buf_puts(b, "</Blob>");
}

/* Whether a listing shows this record (kind 0: the blob itself; 'S'/'V': a snapshot/version). */
static int
listed(const struct blob_rec *r, const struct list_opts *o, char kind)
{
    if (r->deleted && (!o->deleted || (r->purge_at && r->purge_at <= o->now)))
        return 0;
    if (kind == 'S')
        return o->snapshots;
    if (kind == 'V')
        return o->versions;
    return !(r->flags & BLOB_F_UNCOMMITTED) || o->uncommitted;
}

static int
bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);

    return c != 0 ? c : (an > bn) - (an < bn);
}

static void
marker_out(struct buf *b, const char *name, size_t n)
{
    char *enc = malloc(BASE64_LEN(n) + 1);

    buf_puts(b, "<NextMarker>");
    if (enc != NULL) {
        base64_encode(name, n, enc);
        buf_puts(b, enc);
        free(enc);
    } else {
        b->oom = 1;
    }
    buf_puts(b, "</NextMarker>");
}

/* Moves `it` to the first key after every key that begins with key[0..len) followed by a byte
 * below `next`.  0, or -1 out of memory. */
static int
seek_past(struct meta_iter *it, const char *key, size_t len, uint8_t next)
{
    struct buf s = BUF_INIT;
    int ok;

    buf_add(&s, key, len);
    buf_u8(&s, next);
    if ((ok = buf_ok(&s)))
        meta_iter_seek(it, s.p, s.len);
    buf_free(&s);
    return ok ? 0 : -1;
}

void
op_list_blobs(struct api_req *q)
{
    const char *prefix = api_query(q, "prefix"), *delim = api_query(q, "delimiter");
    const char *marker = api_query(q, "marker"), *mr = api_query(q, "maxresults");
    const char *include = api_query(q, "include");
    struct buf lo = BUF_INIT, hi = BUF_INIT, seek = BUF_INIT, b = BUF_INIT;
    struct meta_iter *it = NULL;
    size_t plen = prefix ? strlen(prefix) : 0, dlen = delim ? strlen(delim) : 0, base;
    int max = 5000, count = 0;
    struct list_opts o = {0};
    char *mname = NULL;
    long mlen = 0;
    const char *next = NULL;
    size_t next_len = 0;

    if (mr != NULL && (max = maxresults_parse(mr)) < 0) {
        api_fail_query(q, E_OutOfRangeQueryParameterValue, "maxresults", mr,
                       "Must be between 1 and 5000.");
        return;
    }
    if (include != NULL && list_each(include, unknown_include, NULL) != 0) {
        api_fail_query(q, E_InvalidQueryParameterValue, "include", include, "Unknown value.");
        return;
    }
    if (marker != NULL && *marker) {
        size_t ml = strlen(marker);
        if ((mname = arena_alloc(q->a, ml + 1)) == NULL ||
            (mlen = base64_decode(marker, ml, mname)) <= 0) {
            api_fail_query(q, E_InvalidQueryParameterValue, "marker", marker, "Invalid marker.");
            return;
        }
    }
    if (dlen == 0)
        delim = NULL;
    o.metadata = api_include_has(include, "metadata");
    o.uncommitted = api_include_has(include, "uncommittedblobs");
    o.snapshots = api_include_has(include, "snapshots");
    o.versions = api_include_has(include, "versions");
    o.deleted = api_include_has(include, "deleted");
    o.tags = api_include_has(include, "tags");
    o.immutability = api_include_has(include, "immutabilitypolicy");
    o.legalhold = api_include_has(include, "legalhold");
    o.day_ticks = q->srv->day_ticks;
    o.copy = api_include_has(include, "copy");
    o.now = ticks_now();
    meta_key_blob_range(&lo, &hi, q->cont.id);
    base = lo.len;
    /* Start at the later of the prefix and the marker (the first entry not yet returned). */
    buf_add(&seek, lo.p, lo.len);
    if (mname != NULL && bytes_cmp(mname, (size_t)mlen, prefix ? prefix : "", plen) > 0)
        buf_add(&seek, mname, (size_t)mlen);
    else if (prefix)
        buf_puts(&seek, prefix);
    if (!buf_ok(&lo) || !buf_ok(&hi) || !buf_ok(&seek) ||
        (it = meta_iter_new(q->srv->meta, seek.p, seek.len, hi.p, hi.len)) == NULL) {
        api_fail(q, E_InternalError);
        goto out;
    }
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<EnumerationResults ServiceEndpoint=\"http://");
    {
        const char *host = api_header(q, "Host");
        if (host == NULL)
            host = "127.0.0.1";
        xml_text(&b, host, strlen(host));
    }
    buf_putc(&b, '/');
    xml_text(&b, q->account, strlen(q->account));
    buf_puts(&b, "/\" ContainerName=\"");
    xml_text(&b, q->container, strlen(q->container));
    buf_puts(&b, "\">");
    if (prefix)
        xml_elem(&b, "Prefix", prefix);
    if (marker)
        xml_elem(&b, "Marker", marker);
    if (mr)
        buf_printf(&b, "<MaxResults>%d</MaxResults>", max);
    if (delim)
        xml_elem(&b, "Delimiter", delim);
    buf_puts(&b, "<Blobs>");
    while (meta_iter_valid(it)) {
        size_t klen, vlen;
        const char *k = meta_iter_key(it, &klen), *v, *name = k + base, *d, *zero;
        size_t nlen = klen - base, full = nlen;
        struct blob_rec r;
        char kind = 0;
        int64_t id = 0;

        /* A snapshot or version: name 0x00 kind id (meta.h). */
        if ((zero = memchr(name, 0, nlen)) != NULL) {
            nlen = (size_t)(zero - name);
            if (full == nlen + 10) {
                kind = zero[1];
                id = (int64_t)get_be64(zero + 2);
            }
        }
        if (nlen < plen || memcmp(name, prefix ? prefix : "", plen) != 0)
            break;
        if (delim && (d = memmem(name + plen, nlen - plen, delim, dlen)) != NULL) {
            size_t pl = (size_t)(d - name) + dlen;
            if (count == max) {
                next = name;
                next_len = pl;
                break;
            }
            buf_puts(&b, "<BlobPrefix>");
            xml_blob_name(&b, name, pl);
            buf_puts(&b, "</BlobPrefix>");
            count++;
            /* Jump past every name under this prefix: 0xFF never occurs in UTF-8 names. */
            if (seek_past(it, k, base + pl, 0xff) != 0) {
                api_fail(q, E_InternalError);
                goto out;
            }
            continue;
        }
        if ((kind == 'S' && !o.snapshots) || (kind == 'V' && !o.versions)) {
            /* Not asked for: jump past all of this blob's snapshots (or versions) at once. */
            if (seek_past(it, k, base + nlen + 1, (uint8_t)(kind + 1)) != 0) {
                api_fail(q, E_InternalError);
                goto out;
            }
            continue;
        }
        v = meta_iter_value(it, &vlen);
        if (meta_blob_decode(q->a, v, vlen, &r) != 0) {
            api_fail_io(q, META_EIO);
            goto out;
        }
        if (!listed(&r, &o, kind)) {
            meta_iter_next(it);
            continue;
        }
        if (count == max) {
            next = name;
            next_len = full;   /* the marker names the exact record to resume at */
            break;
        }
        xml_blob(&b, name, nlen, &r, &o, kind, id);
        count++;
        meta_iter_next(it);
    }
    if (meta_iter_status(it) != 0) {
        api_fail_io(q, META_EIO);
        goto out;
    }
    buf_puts(&b, "</Blobs>");
    if (next != NULL)
        marker_out(&b, next, next_len);   /* borrowed from the iterator: still positioned */
    else
        buf_puts(&b, "<NextMarker />");
    buf_puts(&b, "</EnumerationResults>");
    api_status(q, 200);
    api_body_xml(q, &b);
out:
    meta_iter_free(it);
    buf_free(&lo);
    buf_free(&hi);
    buf_free(&seek);
    buf_free(&b);
}
