/*
 * list.c -- List Blobs (flat and hierarchical): one iterator seek to the later of the prefix and
 * the marker, then a run of nexts over the container's blob keys, with one seek past every name
 * under a delimiter prefix and past the snapshots or versions not asked for.
 *
 * It still reads meta/'s blob keys itself: it moves onto the engine's blob listing
 * (eng_blob_list, docs/architecture.md) with the blob records.
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

static const char *const blob_includes[] = {"snapshots",
                                            "metadata",
                                            "uncommittedblobs",
                                            "copy",
                                            "deleted",
                                            "tags",
                                            "versions",
                                            "deletedwithversions",
                                            "immutabilitypolicy",
                                            "legalhold",
                                            "permissions",
                                            NULL};

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
    buf_puts(
        &b,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<EnumerationResults ServiceEndpoint=\"http://");
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
            next_len = full; /* the marker names the exact record to resume at */
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
        marker_out(&b, next, next_len); /* borrowed from the iterator: still positioned */
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
