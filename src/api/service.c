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

void
op_list_containers(struct api_req *q)
{
    const char *prefix = api_query(q, "prefix"), *marker = api_query(q, "marker");
    const char *mr = api_query(q, "maxresults"), *include = api_query(q, "include");
    struct buf lo = BUF_INIT, hi = BUF_INIT, b = BUF_INIT, seek = BUF_INIT;
    struct meta_iter *it = NULL;
    int max = 5000, count = 0, with_meta;
    size_t base, klen, vlen, plen = prefix ? strlen(prefix) : 0;
    const char *k, *v;
    char etag[19];
    char t[30];

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
    with_meta = include != NULL && api_include_has(include, "metadata");
    meta_key_container(&lo, q->account, "");
    base = lo.len;
    buf_add(&hi, lo.p, lo.len - 1);
    buf_u8(&hi, 1);
    buf_add(&seek, lo.p, lo.len);
    if (prefix != NULL)
        buf_puts(&seek, prefix);
    if (marker != NULL && *marker) {
        struct buf m = BUF_INIT;
        buf_add(&m, lo.p, lo.len);
        buf_puts(&m, marker);
        if (m.len > seek.len || memcmp(m.p, seek.p, m.len < seek.len ? m.len : seek.len) > 0) {
            buf_free(&seek);
            seek = m;
        } else {
            buf_free(&m);
        }
    }
    if (!buf_ok(&lo) || !buf_ok(&hi) || !buf_ok(&seek) ||
        (it = meta_iter_new(q->srv->meta, seek.p, seek.len, hi.p, hi.len)) == NULL) {
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
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        struct container_rec c;
        k = meta_iter_key(it, &klen);
        if (klen - base < plen || memcmp(k + base, prefix ? prefix : "", plen) != 0)
            break;
        if (count == max) {
            buf_puts(&b, "</Containers><NextMarker>");
            xml_text(&b, k + base, klen - base);
            buf_puts(&b, "</NextMarker></EnumerationResults>");
            goto done;
        }
        v = meta_iter_value(it, &vlen);
        if (meta_container_decode(q->a, v, vlen, &c) != 0) {
            api_fail_io(q, META_EIO);
            goto out;
        }
        buf_puts(&b, "<Container><Name>");
        xml_text(&b, k + base, klen - base);
        buf_puts(&b, "</Name><Properties>");
        fmt_rfc1123(c.modified, t);
        xml_elem(&b, "Last-Modified", t);
        fmt_etag(c.etag, etag);
        buf_printf(&b, "<Etag>\"%s\"</Etag>", etag);
        api_xml_lease(&b, &c.lease);
        if (c.public_access == PUBLIC_CONTAINER)
            buf_puts(&b, "<PublicAccess>container</PublicAccess>");
        else if (c.public_access == PUBLIC_BLOB)
            buf_puts(&b, "<PublicAccess>blob</PublicAccess>");
        buf_puts(&b, "<HasImmutabilityPolicy>false</HasImmutabilityPolicy>"
                     "<HasLegalHold>false</HasLegalHold>"
                     "<DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope>"
                     "<DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride>"
                     "</Properties>");
        if (with_meta)
            api_xml_metadata(&b, c.nmeta, c.meta);
        buf_puts(&b, "</Container>");
        count++;
    }
    if (meta_iter_status(it) != 0) {
        api_fail_io(q, META_EIO);
        goto out;
    }
    buf_puts(&b, "</Containers><NextMarker /></EnumerationResults>");
done:
    api_status(q, 200);
    api_body_xml(q, &b);
out:
    meta_iter_free(it);
    buf_free(&lo);
    buf_free(&hi);
    buf_free(&seek);
    buf_free(&b);
}
