/*
 * respond.c -- describing the response: status line, headers, XML bodies, and Azure's error
 * responses (x-ms-error-code and the <Error> body with its details).
 *
 * Nothing is sent here: net/ sends what the request's http_req describes once the handler
 * returns.  Every error goes through api_respond_error(), so every error response has the same
 * shape (§1.5); the api_fail*() helpers return -1 for handlers' straight-line style.
 */
#include "api/respond_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/xml.h"

void
api_status(struct api_req *q, int status)
{
    http_resp_status(q->h, status);
    q->responded = 1;
}

void
api_hdr(struct api_req *q, const char *name, const char *value)
{
    http_resp_header(q->h, name, value);
}

void
api_hdr_u64(struct api_req *q, const char *name, uint64_t v)
{
    char t[24];

    snprintf(t, sizeof(t), "%llu", (unsigned long long)v);
    api_hdr(q, name, t);
}

void
api_hdr_time(struct api_req *q, const char *name, int64_t ticks)
{
    char t[30];

    fmt_rfc1123(ticks, t);
    api_hdr(q, name, t);
}

void
fmt_etag(uint64_t etag, char out[19])
{
    snprintf(out, 19, "0x%016llX", (unsigned long long)etag);
}

void
api_hdr_etag(struct api_req *q, uint64_t etag)
{
    char t[19], quoted[22];

    fmt_etag(etag, t);
    snprintf(quoted, sizeof(quoted), "\"%s\"", t);
    api_hdr(q, "ETag", quoted);
}

void
api_hdr_md5(struct api_req *q, const char *name, const unsigned char md5[16])
{
    char t[BASE64_LEN(16) + 1];

    base64_encode(md5, 16, t);
    api_hdr(q, name, t);
}

static void
free_buf_mem(void *p)
{
    free(p);
}

void
api_body_xml(struct api_req *q, struct buf *b)
{
    size_t n;
    char *p;

    if (!buf_ok(b)) {
        buf_free(b);
        api_fail(q, E_InternalError);
        return;
    }
    p = buf_steal(b, &n);
    if (p == NULL || arena_on_free(q->a, free_buf_mem, p) != 0) {
        free(p);
        api_fail(q, E_InternalError);
        return;
    }
    api_hdr(q, "Content-Type", "application/xml");
    if (q->head)
        http_resp_length_only(q->h, n);
    else
        http_resp_body(q->h, p, n);
}

int
api_respond_error(struct api_req *q, int status, const char *code, const char *message,
                  const char *extra_xml)
{
    struct buf b = BUF_INIT;
    char now[29];

    http_resp_status(q->h, status);
    q->responded = 1;
    api_hdr(q, "x-ms-error-code", code);
    if (status >= 400 && status != 304 && !q->head) {
        fmt_iso8601_7(ticks_now(), now);
        buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Error><Code>");
        buf_puts(&b, code);
        buf_puts(&b, "</Code><Message>");
        xml_text(&b, message, strlen(message));
        buf_printf(&b, "\nRequestId:%s\nTime:%s</Message>", q->request_id, now);
        if (extra_xml != NULL)
            buf_puts(&b, extra_xml);
        buf_puts(&b, "</Error>");
        api_body_xml(q, &b);
    } else {
        http_resp_body(q->h, "", 0);
    }
    return -1;
}

int
api_fail(struct api_req *q, enum az_error e)
{
    return api_respond_error(q, az_error_status(e), az_error_code(e), az_error_message(e), NULL);
}

int
api_fail_details(struct api_req *q, enum az_error e, const char *const *kv)
{
    struct buf x = BUF_INIT;
    char *s;

    for (; kv[0] != NULL; kv += 2)
        if (kv[1] != NULL)
            xml_elem(&x, kv[0], kv[1]);
    s = buf_ok(&x) && x.p ? arena_strdup(q->a, x.p) : NULL;
    buf_free(&x);
    return api_respond_error(q, az_error_status(e), az_error_code(e), az_error_message(e), s);
}

int
api_fail_header(struct api_req *q, enum az_error e, const char *name, const char *value)
{
    const char *kv[] = {"HeaderName", name, "HeaderValue", value ? value : "", NULL};

    return api_fail_details(q, e, kv);
}

int
api_fail_query(struct api_req *q, enum az_error e, const char *name, const char *value,
               const char *reason)
{
    const char *kv[] = {"QueryParameterName",
                        name,
                        "QueryParameterValue",
                        value ? value : "",
                        "Reason",
                        reason,
                        NULL};

    return api_fail_details(q, e, kv);
}

int
api_fail_xml_node(struct api_req *q, const char *name, const char *value)
{
    const char *kv[] = {"XmlNodeName", name, "XmlNodeValue", value ? value : "", NULL};

    return api_fail_details(q, E_InvalidXmlNodeValue, kv);
}

int
api_fail_rc(struct api_req *q, int rc)
{
    switch (rc) {
    case ENOSPC:
        return api_respond_error(q, 503, "ServerBusy", "Insufficient disk space on the server.",
                                 NULL);
    case CO_ENOCONT: /* the container went while the request ran */
        return api_fail(q, E_ContainerNotFound);
    case CO_EEXISTS: /* only containers are created by name */
        return api_fail(q, E_ContainerAlreadyExists);
    case CO_EHELD:
        return api_fail(q, E_BlobImmutableDueToLegalHold);
    case CO_EPOLICY:
        return api_fail(q, E_BlobImmutableDueToPolicy);
    default: /* the server's own failure: logged, and 500 */
        log_error("request %s: %s: %s", q->request_id, q->route ? q->route->name : "-",
                  co_strerror(rc));
        return api_fail(q, E_InternalError);
    }
}
