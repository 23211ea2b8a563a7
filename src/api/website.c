/*
 * website.c -- the static website: the `$web` container served read-only, without authentication,
 * on a listener of its own (`--web-port`), as Azure's web endpoint (<account>.z*.web.core...)
 * serves it.  docs/website.md has the rules; in short:
 *
 *  - Which account: the first one configured (--account / --accounts-file order).  The web
 *    endpoint of Azure is per account and its URL names no account, so one port serves one.
 *  - The StaticWebsite section of the account's service properties decides: disabled -> 400
 *    WebsiteDisabled.  A path names the blob `$web/<path>` (percent-decoded).  A path that is empty
 *    or ends in '/' is a directory: its IndexDocument (or, instead, the one DefaultIndexDocumentPath
 *    for every directory); a path with no blob of its name is tried as a directory too.
 *  - Nothing found: the ErrorDocument404Path blob with status 404 (whole, whatever the request's
 *    ranges and conditions), else a short HTML page, status 404, x-ms-error-code
 *    WebContentNotFound.
 *  - A blob found is answered by Get Blob itself (op_get_blob, blob.c): Content-Type and the other
 *    stored properties, Range, If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since
 *    (304, 412), HEAD -- one implementation of reading a blob, not two.
 *  - GET and HEAD only (else 405).  Listing, query parameters and SAS do not apply.
 */
#include "api/api_int.h"

#include <string.h>
#include <strings.h>

#include "util/arena.h"
#include "util/codec.h"
#include "util/timefmt.h"

/* Azure's web endpoint answers its errors as a small HTML page, with x-ms-error-code. */
static void
web_error(struct api_req *q, int status, const char *code, const char *message)
{
    char when[32];
    const char *page;

    fmt_iso8601_7(ticks_now(), when);
    api_status(q, status);
    api_hdr(q, "x-ms-error-code", code);
    api_hdr(q, "Content-Type", "text/html");
    page = arena_printf(q->a,
                        "<!DOCTYPE html><html><head><title>%s</title></head><body>"
                        "<h1>%s</h1><p><ul><li>HttpStatusCode: %d</li><li>ErrorCode: %s</li>"
                        "<li>RequestId : %s</li><li>TimeStamp : %s</li></ul></p></body></html>",
                        message, message, status, code, q->request_id, when);
    if (page == NULL || q->head)
        http_resp_body(q->h, "", 0);
    else
        http_resp_body(q->h, page, strlen(page));
}

/* Points the request at blob `name` of $web: 1 when it exists, 0 when not, -1 (described). */
static int
address(struct api_req *q, const char *name)
{
    struct blob_rec r;

    q->blob = name;
    q->blob_len = strlen(name);
    if (q->blob_len == 0 || q->blob_len > 1024)
        return 0;
    return api_blob_load(q, &r);
}

/* The request's headers without those that make a read partial or conditional (and no x-ms-*),
 * for the 404 document, which is sent whole whatever the request asked of the missing page. */
static void
drop_conditions(struct api_req *q)
{
    struct auth_kv *kept = arena_alloc(q->a, sizeof(*kept) * (q->h->nheaders + 1));
    size_t n = 0;

    if (kept == NULL)
        return;
    for (size_t i = 0; i < q->h->nheaders; i++) {
        const char *name = q->h->headers[i].name;
        if (strcasecmp(name, "Range") == 0 || strncasecmp(name, "If-", 3) == 0 ||
            strncasecmp(name, "x-ms-", 5) == 0)
            continue;
        kept[n++] = q->h->headers[i];
    }
    q->h->headers = kept;
    q->h->nheaders = n;
}

/* The document for a directory path (ends in '/' or empty): its index, or NULL. */
static const char *
directory_index(struct api_req *q, const struct website_settings *ws, const char *dir)
{
    if (ws->default_index != NULL)
        return ws->default_index[0] == '/' ? ws->default_index + 1 : ws->default_index;
    if (ws->index == NULL)
        return NULL;
    return arena_printf(q->a, "%s%s", dir, ws->index);
}

static void
serve(struct api_req *q)
{
    struct website_settings ws;
    const char *path = q->h->path, *name;
    size_t len;
    char *p;
    int rc;

    if (q->srv->naccounts == 0) {
        web_error(q, 404, "WebContentNotFound", "The requested content does not exist.");
        return;
    }
    q->account = q->srv->accounts[0].name;
    q->acct = &q->srv->accounts[0];
    q->container = "$web";
    if (api_website_settings(q, &ws) != 0)
        return;
    if (!ws.enabled) {
        web_error(q, 400, "WebsiteDisabled",
                  "The account being accessed does not have a web site enabled.");
        return;
    }
    rc = eng_container_get(&q->srv->eng, q->a, q->account, "$web", &q->cont);
    if (rc == CO_ENOTFOUND) {
        web_error(q, 404, "WebContentNotFound", "The requested content does not exist.");
        return;
    }
    if (rc != 0) {
        api_fail_rc(q, rc);
        return;
    }
    if ((p = pct_decode(q->a, path + (*path == '/'), strlen(path + (*path == '/')), &len)) ==
            NULL ||
        len != strlen(p)) {
        web_error(q, 400, "InvalidUri", "The requested URI does not represent any resource.");
        return;
    }
    rc = len > 0 && p[len - 1] != '/' ? address(q, p) : 0;
    if (rc == 0) { /* a directory, or a name with no blob: tried as one */
        const char *dir = len == 0 || p[len - 1] == '/' ? p : arena_printf(q->a, "%s/", p);
        name = dir ? directory_index(q, &ws, dir) : NULL;
        rc = name ? address(q, name) : 0;
    }
    if (rc < 0)
        return;
    if (rc > 0) {
        op_get_blob(q);
        return;
    }
    if (ws.error404 != NULL && (rc = address(q, ws.error404 + (ws.error404[0] == '/'))) != 0) {
        if (rc < 0)
            return;
        drop_conditions(q);
        op_get_blob(q);
        api_status(q, 404);
        return;
    }
    web_error(q, 404, "WebContentNotFound", "The requested content does not exist.");
}

static int
web_begin(void *ctx, struct http_req *h)
{
    struct api_req *q = arena_calloc(h->arena, sizeof(*q));

    if (q == NULL) {
        http_resp_status(h, 503);
        return HTTP_RESPOND;
    }
    h->app = q;
    q->srv = ctx;
    q->h = h;
    q->a = h->arena;
    q->head = strcmp(h->method, "HEAD") == 0;
    api_new_guid(q->request_id);
    if (h->framing_error != NULL)
        web_error(q, 400, "InvalidHeaderValue", "The request's message framing is ambiguous.");
    else if (!q->head && strcmp(h->method, "GET") != 0)
        web_error(q, 405, "UnsupportedHttpVerb", "The resource doesn't support the HTTP verb.");
    else
        serve(q);
    api_hdr(q, "x-ms-request-id", q->request_id);
    api_hdr(q, "Server", "Cobalt/" COBALT_VERSION);
    return HTTP_RESPOND;
}

static int
web_body(void *ctx, struct http_req *h, const char *p, size_t n)
{
    return HTTP_RESPOND; /* never asked for: web_begin always responds */
}

static void
web_end(void *ctx, struct http_req *h)
{
}

static void
web_done(void *ctx, struct http_req *h)
{
}

void
api_website_app(struct server *srv, struct http_app *app)
{
    app->begin = web_begin;
    app->body = web_body;
    app->end = web_end;
    app->done = web_done;
    app->ctx = srv;
}
