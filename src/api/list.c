/*
 * list.c -- List Blobs (flat and hierarchical) over the engine's blob listing (eng_blob_list):
 * it starts at the later of the prefix and the marker, skips past every name under a delimiter
 * prefix at once, and asks only for the snapshots or versions requested.
 *
 * NextMarker is base64 of the position to resume at: the name, and for a snapshot or version
 * 0x00, its kind byte and its id (8 bytes, big-endian) -- the same bytes as the local engine's
 * key suffix, so markers handed out by earlier releases keep working.
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
    if (r->type == BLOB_PAGE)
        buf_printf(b, "<x-ms-blob-sequence-number>%llu</x-ms-blob-sequence-number>",
                   (unsigned long long)r->seqno);
    xml_elem(b, "BlobType", api_blob_type_name(r->type));
    api_xml_tier(b, r);
    buf_puts(b, "<ServerEncrypted>false</ServerEncrypted>");
    api_xml_lease(b, &r->lease);
    api_xml_copy(b, r, o->copy);
    if (r->ntags > 0)
        buf_printf(b, "<TagCount>%zu</TagCount>", r->ntags);
    if (r->purge_at && !r->deleted) {
        fmt_rfc1123(r->purge_at, t);
        xml_elem(b, "Expiry-Time", t);
    }
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
    if (api_blob_past_expiry(r, o->now))
        return 0;
    if (kind == 'S')
        return o->snapshots;
    if (kind == 'V')
        return o->versions;
    return !(r->flags & BLOB_F_UNCOMMITTED) || o->uncommitted;
}

/* NextMarker for the entry (or delimiter prefix, kind ENG_CURRENT) at p. */
static void
marker_out(struct buf *b, const struct eng_pos *p)
{
    struct buf raw = BUF_INIT;
    char *enc;

    buf_add(&raw, p->name, p->nlen);
    if (p->kind != ENG_CURRENT) {
        buf_u8(&raw, 0);
        buf_u8(&raw, (uint8_t)p->kind);
        buf_u64(&raw, (uint64_t)p->id);
    }
    enc = buf_ok(&raw) ? malloc(BASE64_LEN(raw.len) + 1) : NULL;
    buf_puts(b, "<NextMarker>");
    if (enc != NULL) {
        base64_encode(raw.p, raw.len, enc);
        buf_puts(b, enc);
        free(enc);
    } else {
        b->oom = 1;
    }
    buf_puts(b, "</NextMarker>");
    buf_free(&raw);
}

/* The position a marker names (marker_out's bytes).  0, or -1 when it is not one. */
static int
marker_in(struct api_req *q, const char *marker, struct eng_pos *p)
{
    size_t ml = strlen(marker);
    char *raw = arena_alloc(q->a, ml + 1), *zero;
    long n;

    if (raw == NULL || (n = base64_decode(marker, ml, raw)) <= 0)
        return -1;
    *p = (struct eng_pos){raw, (size_t)n, ENG_CURRENT, 0};
    if ((zero = memchr(raw, 0, (size_t)n)) != NULL) {
        p->nlen = (size_t)(zero - raw);
        if ((size_t)n - p->nlen != 10)
            return -1;
        p->kind = zero[1];
        p->id = (int64_t)get_be64(zero + 2);
        if (p->kind != ENG_SNAPSHOT && p->kind != ENG_VERSION)
            return -1;
    }
    return 0;
}

void
op_list_blobs(struct api_req *q)
{
    const char *prefix = api_query(q, "prefix"), *delim = api_query(q, "delimiter");
    const char *marker = api_query(q, "marker"), *mr = api_query(q, "maxresults");
    const char *include = api_query(q, "include");
    struct buf b = BUF_INIT;
    struct eng_iter *it = NULL;
    size_t plen = prefix ? strlen(prefix) : 0, dlen = delim ? strlen(delim) : 0;
    int max = 5000, count = 0, rc;
    struct list_opts o = {0};
    struct eng_pos from, next = {0};
    int have_from = 0, have_next = 0;

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
        if (marker_in(q, marker, &from) != 0) {
            api_fail_query(q, E_InvalidQueryParameterValue, "marker", marker, "Invalid marker.");
            return;
        }
        have_from = 1;
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
    if ((rc = eng_blob_list(
             &q->srv->eng, q->cont.id, prefix, plen, have_from ? &from : NULL,
             (o.snapshots ? ENG_LIST_SNAPSHOTS : 0) | (o.versions ? ENG_LIST_VERSIONS : 0), &it)) !=
        0) {
        api_fail_rc(q, rc);
        return;
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
    for (;;) {
        struct eng_entry x;
        const char *d;

        if ((rc = eng_blob_next(it, q->a, &x)) <= 0)
            break;
        if (delim && (d = memmem(x.name + plen, x.nlen - plen, delim, dlen)) != NULL) {
            size_t pl = (size_t)(d - x.name) + dlen;
            if (count == max) {
                next = (struct eng_pos){x.name, pl, ENG_CURRENT, 0};
                have_next = 1;
                break;
            }
            buf_puts(&b, "<BlobPrefix>");
            xml_blob_name(&b, x.name, pl);
            buf_puts(&b, "</BlobPrefix>");
            count++;
            if ((rc = eng_iter_skip_past(it, x.name, pl)) != 0)
                break;
            continue;
        }
        if (!listed(&x.rec, &o, x.kind))
            continue;
        if (count == max) {
            /* The marker names the exact record to resume at. */
            next = (struct eng_pos){x.name, x.nlen, x.kind, x.id};
            have_next = 1;
            break;
        }
        xml_blob(&b, x.name, x.nlen, &x.rec, &o, x.kind, x.id);
        count++;
    }
    if (rc < 0) {
        api_fail_rc(q, rc);
        goto out;
    }
    buf_puts(&b, "</Blobs>");
    if (have_next)
        marker_out(&b, &next);
    else
        buf_puts(&b, "<NextMarker />");
    buf_puts(&b, "</EnumerationResults>");
    api_status(q, 200);
    api_body_xml(q, &b);
out:
    eng_iter_free(it);
    buf_free(&b);
}
