/*
 * test_handlers.c -- the REST handlers run in-process on the in-memory engine: no server process,
 * no data directory, no socket.  Each request is built as net/ would hand it over (a local
 * request, http_req_local), signed with Shared Key by the project's own signer, and fed to the
 * API's callbacks (api_app: begin, body, end, done); the response is read back with
 * http_resp_captured.  What the SDK suites check over HTTP end to end, these check in milliseconds
 * and on an engine that shares no code with the local one: conditional writes, leases, versions,
 * snapshots and soft delete, tags and Find Blobs by Tags, and List Blobs paging.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "check.h"
#include "engine/engine.h"
#include "net/http.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/timefmt.h"

#define ARENA (8u << 20)

static struct server srv;
static struct http_app app;
static struct auth_account acct;

struct resp {
    struct arena *a;
    int status;
    const struct auth_kv *headers;
    size_t nheaders;
    const char *body;
    size_t len;
};

static const char *
hdr(const struct resp *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* The body contains s. */
static int
has(const struct resp *r, const char *s)
{
    return r->body != NULL && memmem(r->body, r->len, s, strlen(s)) != NULL;
}

static size_t
split_query(struct arena *a, const char *q, struct auth_kv *kv, size_t max)
{
    char *s = arena_strdup(a, q), *save = NULL, *tok, *eq;
    size_t n = 0;

    for (tok = s ? strtok_r(s, "&", &save) : NULL; tok != NULL && n < max;
         tok = strtok_r(NULL, "&", &save)) {
        if ((eq = strchr(tok, '=')) != NULL)
            *eq++ = '\0';
        kv[n++] = (struct auth_kv){tok, eq ? eq : ""};
    }
    return n;
}

/*
 * One request: method, target ("/acct/container/blob?query"), body (NULL: none), then extra
 * headers as name, value pairs ending with NULL.  The response lives until resp_free().
 */
static struct resp
request(const char *method, const char *target, const char *body, ...)
{
    struct resp out = {arena_new(ARENA), 0, NULL, 0, NULL, 0};
    struct arena *a = out.a;
    struct http_req h;
    struct auth_kv *hv = arena_alloc(a, sizeof(*hv) * 40), query[32];
    struct auth_request ar = {0};
    char date[30], sig[BASE64_LEN(AUTH_HMAC_LEN) + 1], *len;
    const char *q = strchr(target, '?'), *name, *seg;
    size_t n = 0, blen = body ? strlen(body) : 0;
    va_list ap;
    int rc;

    CHECK(http_req_local(&h, a) == 0);
    fmt_rfc1123(ticks_now(), date);
    hv[n++] = (struct auth_kv){"x-ms-date", arena_strdup(a, date)};
    hv[n++] = (struct auth_kv){"x-ms-version", "2025-01-05"};
    if (body != NULL) {
        len = arena_printf(a, "%zu", blen);
        hv[n++] = (struct auth_kv){"Content-Length", len};
        h.has_content_length = 1;
        h.content_length = blen;
    }
    va_start(ap, body);
    while ((name = va_arg(ap, const char *)) != NULL)
        hv[n++] = (struct auth_kv){name, va_arg(ap, const char *)};
    va_end(ap);
    h.method = method;
    h.target = target;
    h.path = q ? arena_strndup(a, target, (size_t)(q - target)) : target;
    h.query = q ? q + 1 : "";
    /* Signed as an SDK signs it (the account is the path's first segment). */
    ar.method = method;
    ar.raw_path = h.path;
    ar.headers = hv;
    ar.nheaders = n;
    ar.query = query;
    ar.nquery = split_query(a, h.query, query, 32);
    seg = strchr(h.path + 1, '/');
    ar.account = arena_strndup(a, h.path + 1,
                               seg ? (size_t)(seg - h.path - 1) : strlen(h.path + 1));
    CHECK(auth_sign_shared_key(&ar, &acct, a, sig) == 0);
    hv[n++] = (struct auth_kv){"Authorization", arena_printf(a, "SharedKey %s:%s", acct.name, sig)};
    h.headers = hv;
    h.nheaders = n;
    rc = app.begin(app.ctx, &h);
    if (rc == HTTP_BODY) {
        rc = blen > 0 ? app.body(app.ctx, &h, body, blen) : 0;
        if (rc != HTTP_RESPOND)
            app.end(app.ctx, &h);
    }
    /* A HEAD response is a length without a body: captured as a stream (-1), headers kept. */
    rc = http_resp_captured(&h, &out.status, &out.headers, &out.nheaders, &out.body, &out.len);
    CHECK(rc == 0 || strcmp(method, "HEAD") == 0);
    app.done(app.ctx, &h);
    return out;
}

static void
resp_free(struct resp *r)
{
    arena_free(r->a);
}

/* Status of a request whose response is not looked at further. */
#define STATUS(...)                                  \
    ({                                               \
        struct resp r_ = request(__VA_ARGS__, NULL); \
        int s_ = r_.status;                          \
        resp_free(&r_);                              \
        s_;                                          \
    })

static char *
etag_of(const char *target)
{
    struct resp r = request("HEAD", target, NULL, NULL);
    char *e = strdup(hdr(&r, "ETag") ? hdr(&r, "ETag") : "");

    resp_free(&r);
    return e;
}

static void
conditions(void)
{
    char *e;

    CHECK(STATUS("PUT", "/acct/cont?restype=container", NULL) == 201);
    CHECK(STATUS("PUT", "/acct/cont/b", "hello", "x-ms-blob-type", "BlockBlob") == 201);
    e = etag_of("/acct/cont/b");
    CHECK(strlen(e) > 2);
    CHECK(STATUS("PUT", "/acct/cont/b", "new", "x-ms-blob-type", "BlockBlob", "If-None-Match",
                 "*") == 409); /* BlobAlreadyExists */
    CHECK(STATUS("PUT", "/acct/cont/b", "new", "x-ms-blob-type", "BlockBlob", "If-Match",
                 "\"0x1\"") == 412);
    CHECK(STATUS("GET", "/acct/cont/b", NULL, "If-None-Match", e) == 304);
    CHECK(STATUS("PUT", "/acct/cont/b", "newer", "x-ms-blob-type", "BlockBlob", "If-Match", e) ==
          201);
    CHECK(STATUS("PUT", "/acct/cont/b", "stale", "x-ms-blob-type", "BlockBlob", "If-Match", e) ==
          412); /* the ETag moved on */
    {
        struct resp r = request("GET", "/acct/cont/b", NULL, NULL);
        CHECK(r.status == 200 && r.len == 5 && memcmp(r.body, "newer", 5) == 0);
        resp_free(&r);
    }
    CHECK(STATUS("GET", "/acct/cont/missing", NULL) == 404);
    CHECK(STATUS("PUT", "/acct/nocontainer/b", "x", "x-ms-blob-type", "BlockBlob") == 404);
    free(e);
}

static void
leases(void)
{
    const char *id = "11111111-2222-3333-4444-555555555555";
    struct resp r;

    CHECK(STATUS("PUT", "/acct/cont/leased", "data", "x-ms-blob-type", "BlockBlob") == 201);
    CHECK(STATUS("PUT", "/acct/cont/leased?comp=lease", NULL, "x-ms-lease-action", "acquire",
                 "x-ms-lease-duration", "-1", "x-ms-proposed-lease-id", id) == 201);
    CHECK(STATUS("PUT", "/acct/cont/leased?comp=lease", NULL, "x-ms-lease-action", "acquire",
                 "x-ms-lease-duration", "-1", "x-ms-proposed-lease-id",
                 "99999999-2222-3333-4444-555555555555") == 409); /* LeaseAlreadyPresent */
    CHECK(STATUS("PUT", "/acct/cont/leased", "x", "x-ms-blob-type", "BlockBlob") ==
          412); /* LeaseIdMissing */
    CHECK(STATUS("PUT", "/acct/cont/leased", "x", "x-ms-blob-type", "BlockBlob", "x-ms-lease-id",
                 id) == 201);
    r = request("HEAD", "/acct/cont/leased", NULL, NULL);
    CHECK(r.status == 200 && hdr(&r, "x-ms-lease-state") != NULL &&
          strcmp(hdr(&r, "x-ms-lease-state"), "leased") == 0); /* kept across the overwrite */
    resp_free(&r);
    CHECK(STATUS("PUT", "/acct/cont/leased?comp=lease", NULL, "x-ms-lease-action", "break",
                 "x-ms-lease-break-period", "0") == 202);
    CHECK(STATUS("DELETE", "/acct/cont/leased", NULL) == 202); /* broken: no id needed */
}

static void
versions_and_soft_delete(void)
{
    static const char props[] =
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><StorageServiceProperties>"
        "<DeleteRetentionPolicy><Enabled>true</Enabled><Days>1</Days></DeleteRetentionPolicy>"
        "</StorageServiceProperties>";
    struct resp r;

    CHECK(STATUS("PUT", "/acct/?restype=service&comp=properties", props) == 202);
    CHECK(STATUS("PUT", "/acct/cont/soft", "v1", "x-ms-blob-type", "BlockBlob") == 201);
    r = request("PUT", "/acct/cont/soft?comp=snapshot", NULL, NULL);
    CHECK(r.status == 201 && hdr(&r, "x-ms-snapshot") != NULL);
    resp_free(&r);
    CHECK(STATUS("DELETE", "/acct/cont/soft", NULL) == 409); /* SnapshotsPresent */
    CHECK(STATUS("DELETE", "/acct/cont/soft", NULL, "x-ms-delete-snapshots", "include") == 202);
    CHECK(STATUS("GET", "/acct/cont/soft", NULL) == 404);
    r = request("GET", "/acct/cont?restype=container&comp=list&include=deleted,snapshots", NULL,
                NULL);
    CHECK(r.status == 200 && has(&r, "<Name>soft</Name><Deleted>true</Deleted>"));
    CHECK(has(&r, "<Snapshot>"));
    resp_free(&r);
    CHECK(STATUS("PUT", "/acct/cont/soft?comp=undelete", NULL) == 200);
    r = request("GET", "/acct/cont/soft", NULL, NULL);
    CHECK(r.status == 200 && r.len == 2 && memcmp(r.body, "v1", 2) == 0);
    resp_free(&r);
    /* Versioning on: each write keeps the previous version. */
    srv.versioning[0] = 1;
    CHECK(STATUS("PUT", "/acct/cont/ver", "one", "x-ms-blob-type", "BlockBlob") == 201);
    CHECK(STATUS("PUT", "/acct/cont/ver", "two", "x-ms-blob-type", "BlockBlob") == 201);
    r = request("GET", "/acct/cont?restype=container&comp=list&include=versions&prefix=ver", NULL,
                NULL);
    CHECK(r.status == 200 && has(&r, "<IsCurrentVersion>true</IsCurrentVersion>"));
    {
        const char *p = r.body, *end = r.body + r.len;
        int n = 0;
        while ((p = memmem(p, (size_t)(end - p), "<VersionId>", 11)) != NULL)
            n++, p += 11;
        CHECK(n == 2);
    }
    resp_free(&r);
    srv.versioning[0] = 0;
}

static void
tags(void)
{
    static const char set[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Tags><TagSet>"
                              "<Tag><Key>project</Key><Value>alpha</Value></Tag>"
                              "</TagSet></Tags>";
    struct resp r;

    CHECK(STATUS("PUT", "/acct/cont/t1", "x", "x-ms-blob-type", "BlockBlob", "x-ms-tags",
                 "project=alpha&size=S") == 201);
    CHECK(STATUS("PUT", "/acct/cont/t2", "x", "x-ms-blob-type", "BlockBlob") == 201);
    CHECK(STATUS("PUT", "/acct/cont/t2?comp=tags", set) == 204);
    r = request("GET", "/acct/?comp=blobs&where=project%3D%27alpha%27", NULL, NULL);
    CHECK(r.status == 200 && has(&r, "<Name>t1</Name>") && has(&r, "<Name>t2</Name>"));
    resp_free(&r);
    r = request("GET", "/acct/cont?restype=container&comp=blobs&where=size%3D%27S%27", NULL, NULL);
    CHECK(r.status == 200 && has(&r, "<Name>t1</Name>") && !has(&r, "<Name>t2</Name>"));
    resp_free(&r);
    CHECK(STATUS("DELETE", "/acct/cont/t1", NULL) == 202);
    r = request("GET", "/acct/?comp=blobs&where=project%3D%27alpha%27", NULL, NULL);
    CHECK(r.status == 200 && !has(&r, "<Name>t1</Name>") && has(&r, "<Name>t2</Name>"));
    resp_free(&r);
}

/* Pages through List Blobs with maxresults 2 (and an optional delimiter), collecting names. */
static void
list_all(const char *extra, char *out, size_t cap)
{
    char marker[512] = "";

    out[0] = 0;
    for (int pages = 0; pages < 20; pages++) {
        char *t = NULL;
        struct resp r;
        const char *p, *m;
        if (asprintf(&t, "/acct/pages?restype=container&comp=list&maxresults=2%s%s%s", extra,
                     marker[0] ? "&marker=" : "", marker) < 0)
            return;
        r = request("GET", t, NULL, NULL);
        free(t);
        CHECK(r.status == 200);
        for (p = r.body; p != NULL && (p = memmem(p, r.len - (size_t)(p - r.body), "<Name>", 6));) {
            const char *e = memmem(p, r.len - (size_t)(p - r.body), "</Name>", 7);
            strncat(out, p + 6,
                    (size_t)(e - p - 6) < cap - strlen(out) - 2 ? (size_t)(e - p - 6) : 0);
            strcat(out, ",");
            p = e;
        }
        marker[0] = 0;
        if ((m = memmem(r.body, r.len, "<NextMarker>", 12)) != NULL) {
            const char *e = memmem(m, r.len - (size_t)(m - r.body), "</NextMarker>", 13);
            snprintf(marker, sizeof(marker), "%.*s", (int)(e - m - 12), m + 12);
        }
        resp_free(&r);
        if (!marker[0])
            return;
    }
}

static void
listing(void)
{
    static const char *const names[] = {"a1", "a2", "d/x", "d/y", "d/z", "e", "f"};
    char got[512];

    CHECK(STATUS("PUT", "/acct/pages?restype=container", NULL) == 201);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char t[64];
        snprintf(t, sizeof(t), "/acct/pages/%s", names[i]);
        CHECK(STATUS("PUT", t, "x", "x-ms-blob-type", "BlockBlob") == 201);
    }
    list_all("", got, sizeof(got));
    CHECK_STR(got, "a1,a2,d/x,d/y,d/z,e,f,");
    list_all("&delimiter=/", got, sizeof(got));
    CHECK_STR(got, "a1,a2,d/,e,f,"); /* the prefix is one entry, counted once across pages */
    list_all("&prefix=d/", got, sizeof(got));
    CHECK_STR(got, "d/x,d/y,d/z,");
}

int
main(void)
{
    static unsigned char versioning[1];
    static const char key[] =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
        "KBHBeksoGMGw==";

    acct.name = "acct";
    acct.keylen[0] = (size_t)base64_decode(key, strlen(key), acct.key[0]);
    acct.nkeys = 1;
    srv.accounts = &acct;
    srv.naccounts = 1;
    srv.versioning = versioning;
    srv.day_ticks = 86400ll * TICKS_PER_SEC;
    CHECK(eng_memory_init(&srv.eng) == 0);
    api_app(&srv, &app);

    conditions();
    leases();
    versions_and_soft_delete();
    tags();
    listing();

    eng_fini(&srv.eng);
    return check_report("test_handlers");
}
