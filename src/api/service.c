/*
 * service.c -- service-level operations: List Containers, Get Account Information.
 */
#include "api/api_int.h"

#include <string.h>

#include "api/parse.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/xml.h"

void
op_account_info(struct api_req *q)
{
    api_status(q, 200);
    api_hdr(q, "x-ms-sku-name", "Standard_LRS");
    api_hdr(q, "x-ms-account-kind", "StorageV2");
    api_hdr(q, "x-ms-is-hns-enabled", "false");
    http_resp_body(q->h, "", 0);
}

static void
endpoint(struct api_req *q, struct buf *b)
{
    const char *host = api_header(q, "Host");

    buf_puts(b, " ServiceEndpoint=\"http://");
    xml_text(b, host ? host : "127.0.0.1", strlen(host ? host : "127.0.0.1"));
    buf_putc(b, '/');
    xml_text(b, q->account, strlen(q->account));
    buf_puts(b, "/\"");
}

static int
check_container_include(const char *item, size_t n, void *ctx)
{
    return !(n == 8 && strncmp(item, "metadata", 8) == 0) &&
           !(n == 6 && strncmp(item, "system", 6) == 0) &&
           !(n == 7 && strncmp(item, "deleted", 7) == 0);
}

/* One side of the List Containers merge: live ('C') or soft-deleted ('D') containers. */
struct cursor {
    struct meta_iter *it;
    size_t base;        /* key bytes before the name */
    int deleted;
};

/* The name of the entry under the cursor, or NULL when it is done (or out of the prefix). */
static const char *
cur_name(struct cursor *c, const char *prefix, size_t plen, size_t *n)
{
    size_t klen;
    const char *k, *zero;

    if (c->it == NULL || !meta_iter_valid(c->it))
        return NULL;
    k = meta_iter_key(c->it, &klen);
    *n = klen - c->base;
    if (c->deleted && (zero = memchr(k + c->base, 0, *n)) != NULL)
        *n = (size_t)(zero - (k + c->base));
    if (*n < plen || memcmp(k + c->base, prefix, plen) != 0)
        return NULL;
    return k + c->base;
}

static struct meta_iter *
open_side(struct api_req *q, char type, const char *from, size_t *base)
{
    struct buf lo = BUF_INIT, hi = BUF_INIT;
    struct meta_iter *it = NULL;

    buf_u8(&lo, (uint8_t)type);
    buf_puts(&lo, q->account);
    buf_u8(&lo, 0);
    *base = lo.len;
    buf_add(&hi, lo.p, lo.len - 1);
    buf_u8(&hi, 1);
    buf_puts(&lo, from);
    if (buf_ok(&lo) && buf_ok(&hi))
        it = meta_iter_new(q->srv->meta, lo.p, lo.len, hi.p, hi.len);
    buf_free(&lo);
    buf_free(&hi);
    return it;
}

static void
xml_container(struct buf *b, const char *name, size_t n, const struct container_rec *c,
              int with_meta, int64_t now, int64_t day_ticks)
{
    char etag[19], t[30];

    buf_puts(b, "<Container><Name>");
    xml_text(b, name, n);
    buf_puts(b, "</Name>");
    if (c->deleted)
        buf_printf(b, "<Deleted>true</Deleted><Version>%016llX</Version>",
                   (unsigned long long)c->deleted);
    buf_puts(b, "<Properties>");
    fmt_rfc1123(c->modified, t);
    xml_elem(b, "Last-Modified", t);
    fmt_etag(c->etag, etag);
    buf_printf(b, "<Etag>\"%s\"</Etag>", etag);
    api_xml_lease(b, &c->lease);
    if (c->public_access == PUBLIC_CONTAINER)
        buf_puts(b, "<PublicAccess>container</PublicAccess>");
    else if (c->public_access == PUBLIC_BLOB)
        buf_puts(b, "<PublicAccess>blob</PublicAccess>");
    buf_printf(b, "<HasImmutabilityPolicy>%s</HasImmutabilityPolicy>"
                  "<HasLegalHold>%s</HasLegalHold>",
               c->immutable_days > 0 ? "true" : "false", c->legal_hold ? "true" : "false");
    buf_puts(b, "<DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope>"
                "<DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride>");
    if (c->deleted) {
        fmt_rfc1123(c->deleted, t);
        xml_elem(b, "DeletedTime", t);
        buf_printf(b, "<RemainingRetentionDays>%lld</RemainingRetentionDays>",
                   (long long)((c->purge_at - now) / day_ticks + 1));
    }
    buf_puts(b, "</Properties>");
    if (with_meta)
        api_xml_metadata(b, c->nmeta, c->meta);
    buf_puts(b, "</Container>");
}

void
op_list_containers(struct api_req *q)
{
    const char *prefix = api_query(q, "prefix"), *marker = api_query(q, "marker");
    const char *mr = api_query(q, "maxresults"), *include = api_query(q, "include");
    struct cursor side[2] = {{NULL, 0, 0}, {NULL, 0, 1}};
    struct buf b = BUF_INIT;
    const char *from = "";
    int max = 5000, count = 0, with_meta, with_deleted, sides;
    size_t plen = prefix ? strlen(prefix) : 0;
    int64_t now = ticks_now();

    if (mr != NULL && (max = maxresults_parse(mr)) < 0) {
        api_fail_query(q, E_OutOfRangeQueryParameterValue, "maxresults", mr,
                       "Must be between 1 and 5000.");
        return;
    }
    if (include != NULL && list_each(include, check_container_include, NULL) != 0) {
        api_fail_query(q, E_InvalidQueryParameterValue, "include", include,
                       "Unknown value.");
        return;
    }
    with_meta = api_include_has(include, "metadata");
    with_deleted = api_include_has(include, "deleted");
    /* Start at the later of the prefix and the marker (the first entry not yet returned). */
    if (prefix != NULL)
        from = prefix;
    if (marker != NULL && strcmp(marker, from) > 0)
        from = marker;
    sides = with_deleted ? 2 : 1;
    for (int i = 0; i < sides; i++)
        if ((side[i].it = open_side(q, i ? 'D' : 'C', from, &side[i].base)) == NULL) {
            api_fail(q, E_InternalError);
            goto out;
        }
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<EnumerationResults");
    endpoint(q, &b);
    buf_putc(&b, '>');
    if (prefix)
        xml_elem(&b, "Prefix", prefix);
    if (marker)
        xml_elem(&b, "Marker", marker);
    if (mr)
        buf_printf(&b, "<MaxResults>%d</MaxResults>", max);
    buf_puts(&b, "<Containers>");
    for (;;) {
        size_t n[2] = {0, 0}, vlen;
        const char *name[2], *v;
        struct container_rec c;
        int pick;

        name[0] = cur_name(&side[0], prefix ? prefix : "", plen, &n[0]);
        name[1] = sides > 1 ? cur_name(&side[1], prefix ? prefix : "", plen, &n[1]) : NULL;
        if (name[0] == NULL && name[1] == NULL)
            break;
        /* Merge by name; a live container comes before deleted ones of the same name. */
        if (name[1] == NULL)
            pick = 0;
        else if (name[0] == NULL)
            pick = 1;
        else {
            int cmp = memcmp(name[0], name[1], n[0] < n[1] ? n[0] : n[1]);
            pick = cmp < 0 || (cmp == 0 && n[0] <= n[1]) ? 0 : 1;
        }
        v = meta_iter_value(side[pick].it, &vlen);
        if (meta_container_decode(q->a, v, vlen, &c) != 0) {
            api_fail_io(q, META_EIO);
            goto out;
        }
        if (pick == 1 && c.purge_at <= now) {   /* past retention: gone, awaiting its purge */
            meta_iter_next(side[1].it);
            continue;
        }
        if (count == max) {
            buf_puts(&b, "</Containers><NextMarker>");
            xml_text(&b, name[pick], n[pick]);
            buf_puts(&b, "</NextMarker></EnumerationResults>");
            goto done;
        }
        xml_container(&b, name[pick], n[pick], &c, with_meta, now, q->srv->day_ticks);
        count++;
        meta_iter_next(side[pick].it);
    }
    for (int i = 0; i < sides; i++)
        if (meta_iter_status(side[i].it) != 0) {
            api_fail_io(q, META_EIO);
            goto out;
        }
    buf_puts(&b, "</Containers><NextMarker /></EnumerationResults>");
done:
    api_status(q, 200);
    api_body_xml(q, &b);
out:
    meta_iter_free(side[0].it);
    meta_iter_free(side[1].it);
    buf_free(&b);
}
