/*
 * dispatch.c -- from an HTTP request to exactly one handler.
 *
 * Order for every request (protocol doc §1.1, §3.1, §5.1):
 *   1. x-ms-version syntax; path -> account, container, blob (decoded, validated); query decoded.
 *   2. route: (method, level, restype, comp, discriminating header) -> one row of the route table
 *      (routes.c, which also holds each route's body limit, permissions and flags).
 *   3. the container record is loaded for container and blob routes (anonymous access needs its
 *      public access level; its id is the key prefix of its blobs).
 *   4. authentication and authorization, from the route's auth_need -- no handler can skip it.
 *      (The exception is a CORS preflight, OPTIONS, which Azure answers without credentials
 *      from the account's CORS rules, after step 1.)
 *   5. writes through "<account>-secondary" (403: the secondary is read-only), customer keys and
 *      encryption scopes (encryption.c), container existence (404 ContainerNotFound), store
 *      health for writes.
 *   6. the body: XML bodies are buffered (bounded); data bodies stream into a needle while their
 *      MD5 (and CRC64 when sent) is computed; transactional checksums are verified at the end.
 *   7. the handler; then the headers every response carries.
 *
 * This file is the request side: parsing, routing, authentication, the shared checks and the
 * body.  What a response looks like is respond.c's, the conditional headers are conditions.c's,
 * x-ms-meta-* is metadata.c's, and the routes and their facts are routes.c's.
 */
#include "api/api_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "api/parse.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/crc.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/xml.h"

#define DEFAULT_VERSION "2026-10-06"

/* ---- reading the request -------------------------------------------------------------------- */

const char *
api_query(const struct api_req *q, const char *name)
{
    for (size_t i = 0; i < q->nq; i++)
        if (strcasecmp(q->q[i].name, name) == 0)
            return q->q[i].value;
    return NULL;
}

const char *
api_header(const struct api_req *q, const char *name)
{
    return http_header(q->h, name);
}

int
api_header_prefix_present(const struct api_req *q, const char *prefix)
{
    size_t n = strlen(prefix);

    for (size_t i = 0; i < q->h->nheaders; i++)
        if (strncasecmp(q->h->headers[i].name, prefix, n) == 0)
            return 1;
    return 0;
}

struct has_ctx {
    const char *what;
};

static int
item_is(const char *item, size_t n, void *ctx)
{
    const struct has_ctx *h = ctx;

    return strlen(h->what) == n && strncasecmp(item, h->what, n) == 0;
}

int
api_include_has(const char *list, const char *what)
{
    struct has_ctx h = {what};

    return list != NULL && list_each(list, item_is, &h) != 0;
}

/* ---- request parsing -------------------------------------------------------------------- */

void
api_new_guid(char out[37])
{
    static __thread uint64_t s[2];
    unsigned char b[16];

    if (s[0] == 0 && s[1] == 0 && getrandom(s, sizeof(s), 0) != sizeof(s))
        s[0] = (uint64_t)ticks_now() | 1;
    for (int i = 0; i < 2; i++) { /* xorshift128+ */
        uint64_t x = s[0], y = s[1];
        s[0] = y;
        x ^= x << 23;
        s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
        put_be64(b + 8 * i, s[1] + y);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static int
parse_query(struct api_req *q)
{
    const char *s = q->h->query;
    size_t cnt = *s ? 1 : 0;

    for (const char *p = s; *p; p++)
        cnt += *p == '&';
    q->q = arena_alloc(q->a, sizeof(*q->q) * (cnt ? cnt : 1));
    q->rawq = arena_alloc(q->a, sizeof(*q->rawq) * (cnt ? cnt : 1));
    if (q->q == NULL || q->rawq == NULL)
        return api_fail(q, E_InternalError);
    while (*s) {
        const char *amp = strchr(s, '&'), *end = amp ? amp : s + strlen(s);
        const char *eq = memchr(s, '=', (size_t)(end - s));
        const char *nend = eq ? eq : end;
        size_t nl, vl;
        if (end > s) {
            char *name = pct_decode(q->a, s, (size_t)(nend - s), &nl);
            char *value = eq ? pct_decode(q->a, eq + 1, (size_t)(end - eq - 1), &vl) : "";
            if (name == NULL || value == NULL)
                return api_fail_query(q, E_InvalidQueryParameterValue,
                                      arena_strndup(q->a, s, (size_t)(nend - s)), NULL,
                                      "Invalid percent-encoding.");
            q->rawq[q->nrawq].name = arena_strndup(q->a, s, (size_t)(nend - s));
            q->rawq[q->nrawq].value = eq ? arena_strndup(q->a, eq + 1, (size_t)(end - eq - 1)) : "";
            q->nrawq++;
            q->q[q->nq].name = name;
            q->q[q->nq].value = value;
            q->nq++;
        }
        s = amp ? amp + 1 : end;
    }
    return 0;
}

static const struct auth_account *
find_account(const struct server *srv, const char *name)
{
    /* SIGHUP replaces the array (main.c); the replaced one stays allocated */
    const struct auth_account *accounts = __atomic_load_n(&srv->accounts, __ATOMIC_ACQUIRE);

    for (size_t i = 0; i < srv->naccounts; i++)
        if (strcmp(accounts[i].name, name) == 0)
            return &accounts[i];
    return NULL;
}

/* Splits the path: /account[/container[/blob...]] (path-style, protocol doc §1.1). */
static int
parse_path(struct api_req *q)
{
    const char *p = q->h->path, *seg, *slash;
    size_t n, sl;
    char *acct;
    enum name_check nc;

    if (*p != '/')
        return api_fail(q, E_InvalidUri);
    if (q->account_seg != NULL) { /* a batch part whose path leaves the account out (§2.8) */
        seg = q->account_seg;
        slash = p;
        n = strlen(seg);
    } else {
        seg = p + 1;
        slash = strchr(seg, '/');
        n = slash ? (size_t)(slash - seg) : strlen(seg);
    }
    if ((acct = pct_decode(q->a, seg, n, &sl)) == NULL || sl != strlen(acct) || sl == 0)
        return api_fail(q, E_InvalidUri);
    if (sl > 10 && strcmp(acct + sl - 10, "-secondary") == 0) {
        acct[sl - 10] = '\0';
        q->secondary = 1;
    }
    q->account = acct;
    q->acct = find_account(q->srv, acct);
    if (slash == NULL || slash[1] == '\0')
        return 0;
    seg = slash + 1;
    slash = strchr(seg, '/');
    n = slash ? (size_t)(slash - seg) : strlen(seg);
    if ((q->container = pct_decode(q->a, seg, n, &sl)) == NULL || sl != strlen(q->container))
        return api_fail(q, E_InvalidResourceName);
    nc = container_name_check(q->container, sl);
    if (nc != NAME_OK)
        return api_fail(q, nc == NAME_LENGTH ? E_OutOfRangeInput : E_InvalidResourceName);
    if (slash == NULL || slash[1] == '\0')
        return 0;
    seg = slash + 1;
    {
        char *b = pct_decode(q->a, seg, strlen(seg), &sl);
        if (b == NULL)
            return api_fail(q, E_InvalidResourceName);
        for (size_t i = 0; i < sl; i++) /* Azure turns '\' into '/' in blob names */
            if (b[i] == '\\')
                b[i] = '/';
        nc = blob_name_check(b, sl);
        if (nc != NAME_OK)
            return api_fail(q, nc == NAME_LENGTH ? E_OutOfRangeInput : E_InvalidResourceName);
        q->blob = b;
        q->blob_len = sl;
    }
    return 0;
}

static unsigned
method_bit(const char *m)
{
    static const struct {
        const char *name;
        unsigned bit;
    } t[] = {{"GET", M_GET},
             {"HEAD", M_HEAD},
             {"PUT", M_PUT},
             {"DELETE", M_DELETE},
             {"POST", M_POST}};

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(m, t[i].name) == 0)
            return t[i].bit;
    return 0;
}

static int
same_opt(const char *want, const char *have)
{
    return want == NULL ? have == NULL : have != NULL && strcmp(want, have) == 0;
}

static int
find_route(struct api_req *q)
{
    enum level lvl = q->blob ? LVL_BLOB : q->container ? LVL_CONTAINER : LVL_SERVICE;
    const char *restype = api_query(q, "restype"), *comp = api_query(q, "comp");
    unsigned m = method_bit(q->h->method);
    int shape = 0;

    if (m == 0)
        return api_fail(q, E_InvalidHttpVerb);
    /* "restype=container" is how container operations are told apart from blob ones. */
    if (lvl == LVL_CONTAINER && restype == NULL)
        return api_fail(q, E_InvalidUri);
    for (size_t i = 0; i < api_nroutes; i++) {
        const struct route *r = &api_routes[i];
        if (r->level != lvl || !same_opt(r->restype, restype) || !same_opt(r->comp, comp))
            continue;
        shape = 1;
        if ((r->methods & m) == 0 || (r->applies != NULL && !r->applies(q)))
            continue;
        q->route = r;
        return 0;
    }
    if (shape) {
        if (m == M_PUT && lvl == LVL_BLOB && comp == NULL) {
            if (api_header(q, "x-ms-copy-source") != NULL)
                return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source",
                                       api_header(q, "x-ms-copy-source"));
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-blob-type", NULL);
        }
        return api_fail(q, E_UnsupportedHttpVerb);
    }
    if (comp != NULL)
        return api_fail_query(q, E_InvalidQueryParameterValue, "comp", comp,
                              "Unknown or unsupported value for this resource.");
    if (restype != NULL)
        return api_fail_query(q, E_InvalidQueryParameterValue, "restype", restype,
                              "Unknown or unsupported value for this resource.");
    return api_fail(q, E_InvalidUri);
}

static int
authenticate(struct api_req *q)
{
    struct auth_request ar = {0};
    enum auth_public pub = AUTH_PUBLIC_NONE;
    const char *detail = NULL;
    char *extra = NULL;

    ar.method = q->h->method;
    ar.raw_path = q->h->path;
    ar.headers = q->h->headers;
    ar.nheaders = q->h->nheaders;
    ar.query = q->rawq;
    ar.nquery = q->nrawq;
    ar.client_addr = q->h->client_addr;
    ar.is_https = q->h->is_https;
    ar.dir = __atomic_load_n(&q->srv->dir, __ATOMIC_ACQUIRE);
    ar.account = q->account;
    ar.secondary = q->secondary;
    ar.container = q->container;
    ar.blob = q->blob;
    ar.snapshot = api_query(q, "snapshot");
    ar.versionid = api_query(q, "versionid");
    if (q->have_container && q->cont.nacl > 0) {
        struct auth_policy *pol = arena_alloc(q->a, sizeof(*pol) * q->cont.nacl);
        if (pol == NULL)
            return api_fail(q, E_InternalError);
        for (size_t i = 0; i < q->cont.nacl; i++)
            pol[i] = (struct auth_policy){q->cont.acl[i].id, q->cont.acl[i].start,
                                          q->cont.acl[i].expiry, q->cont.acl[i].permission};
        ar.policies = pol;
        ar.npolicies = q->cont.nacl;
    }
    if (auth_authenticate(&ar, q->acct, ticks_now() / TICKS_PER_SEC, q->a, &q->auth) != 0)
        goto refused;
    if (q->auth.kind == AUTH_ANONYMOUS && q->acct == NULL)
        return api_fail(q, E_ResourceNotFound);
    if (q->have_container)
        pub = q->cont.public_access == PUBLIC_CONTAINER ? AUTH_PUBLIC_CONTAINER
              : q->cont.public_access == PUBLIC_BLOB    ? AUTH_PUBLIC_BLOB
                                                        : AUTH_PUBLIC_NONE;
    if (auth_authorize(&ar, &q->route->need, pub, &q->auth) != 0)
        goto refused;
    return 0;

refused:
    detail = q->auth.detail;
    if (detail != NULL) {
        struct buf x = BUF_INIT;
        xml_elem(&x, "AuthenticationErrorDetail", detail);
        extra = buf_ok(&x) && x.p ? arena_strdup(q->a, x.p) : NULL;
        buf_free(&x);
    }
    log_info("request %s: %s %s refused: %s", q->request_id, q->h->method, q->h->path,
             q->auth.code ? q->auth.code : "?");
    if (q->auth.challenge != NULL)
        api_hdr(q, "WWW-Authenticate", q->auth.challenge);
    return api_respond_error(q, q->auth.status ? q->auth.status : 403,
                             q->auth.code ? q->auth.code : "AuthenticationFailed",
                             q->auth.message ? q->auth.message : "Authentication failed.", extra);
}

/* Prepares to receive a data body: Content-Length rules, checksum headers, the needle. */
static int
begin_data(struct api_req *q)
{
    const char *md5 = api_header(q, "Content-MD5"), *crc = api_header(q, "x-ms-content-crc64");
    unsigned char tmp[16];
    int err;

    if (!q->h->has_content_length)
        return api_fail(q, E_MissingContentLengthHeader);
    if (q->h->content_length > q->route->body_max)
        return api_fail(q, E_RequestBodyTooLarge);
    if (q->h->content_length != 0 && (q->route->flags & R_NO_CONTENT))
        return api_fail_header(q, E_InvalidHeaderValue, "Content-Length",
                               api_header(q, "Content-Length"));
    if (md5 && crc)
        return api_fail(q, E_BothCrc64AndMd5HeaderPresent);
    if (md5 && base64_decode(md5, strlen(md5), tmp) != 16)
        return api_fail_header(q, E_InvalidMd5, "Content-MD5", md5);
    if (crc && (strlen(crc) != 12 || base64_decode(crc, 12, tmp) != 8))
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-content-crc64", crc);
    MD5_Init(&q->md5);
    if (q->h->content_length > 0 &&
        (err = eng_data_write_begin(&q->srv->eng, q->h->content_length,
                                    q->route->flags & R_WHOLE ? ENG_W_WHOLE : 0, &q->writer)) != 0)
        return api_fail_rc(q, err);
    return 0;
}

static int
end_data(struct api_req *q)
{
    const char *md5 = api_header(q, "Content-MD5"), *crc = api_header(q, "x-ms-content-crc64");
    unsigned char want[16], le[8];
    struct eng_writer *w = q->writer;
    int err;

    MD5_Final(q->body_md5, &q->md5);
    q->writer = NULL;
    if (q->received != q->h->content_length) {
        eng_data_write_abort(&q->srv->eng, w);
        return api_fail(q, E_InvalidBlobOrBlock);
    }
    if (md5 && (base64_decode(md5, strlen(md5), want) != 16 || memcmp(want, q->body_md5, 16))) {
        char got[BASE64_LEN(16) + 1];
        const char *kv[] = {"UserSpecifiedMd5", md5, "ServerCalculatedMd5", got, NULL};
        eng_data_write_abort(&q->srv->eng, w);
        base64_encode(q->body_md5, 16, got);
        return api_fail_details(q, E_Md5Mismatch, kv);
    }
    if (crc) {
        crc64_to_le(q->crc64, le);
        if (base64_decode(crc, strlen(crc), want) != 8 || memcmp(want, le, 8) != 0) {
            eng_data_write_abort(&q->srv->eng, w);
            return api_fail(q, E_Crc64Mismatch);
        }
    }
    memset(&q->ext, 0, sizeof(q->ext));
    if (w != NULL && (err = eng_data_write_finish(&q->srv->eng, w, &q->ext)) != 0)
        return api_fail_rc(q, err);
    return 0;
}

/* Headers every response carries (§1.5); net/ adds Date and Content-Length. */
static void
finish(struct api_req *q)
{
    const char *crid = api_header(q, "x-ms-client-request-id");

    if (!q->responded)
        api_fail(q, E_InternalError);
    api_hdr(q, "x-ms-request-id", q->request_id);
    api_hdr(q, "x-ms-version", q->version);
    if (crid != NULL)
        api_hdr(q, "x-ms-client-request-id", crid);
    api_hdr(q, "Server", "Cobalt/" COBALT_VERSION);
    if (strcmp(q->h->method, "OPTIONS") != 0)
        api_cors_actual(q); /* only when the request carries an Origin */
}

static int
respond(struct api_req *q)
{
    finish(q);
    return HTTP_RESPOND;
}

/* ---- the http_app callbacks ------------------------------------------------------------ */

/*
 * Step 1 (see the top of this file) for a request whose headers are complete: a top-level one
 * (app_begin) or a Blob Batch part (api_route_local).  q->version holds the default x-ms-version
 * on entry.  0, or -1 with the response described.
 */
static int
front_parse(struct api_req *q)
{
    const char *v;

    api_new_guid(q->request_id);
    if ((v = api_header(q, "x-ms-version")) != NULL) {
        if (!version_valid(v))
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-version", v);
        q->version = v;
    }
    if (parse_query(q) != 0)
        return -1;
    if (api_header(q, "x-ms-version") == NULL && (v = api_query(q, "sv")) != NULL &&
        version_valid(v))
        q->version = v;
    if (q->account_seg == NULL)
        q->account_seg = q->h->host_account; /* host-style: the path starts at the container */
    return parse_path(q);
}

/*
 * Steps 3-5 for a routed request.  0 when the route's body and handler come next, or -1 with the
 * response described.
 *
 * The secondary ("<account>-secondary") is read-only, as Azure's RA-GRS secondary is: every route
 * that writes is refused there with 403 InsufficientAccountPermissions, once the caller is
 * authenticated (so the answer says nothing to a caller without credentials).
 */
static int
front_gate(struct api_req *q)
{
    if (q->container != NULL && q->acct != NULL) {
        int rc = eng_container_get(&q->srv->eng, q->a, q->account, q->container, &q->cont);
        if (rc != 0 && rc != CO_ENOTFOUND)
            return api_fail_rc(q, rc);
        q->have_container = rc == 0;
    }
    if (authenticate(q) != 0)
        return -1;
    if (q->secondary && (q->route->flags & R_WRITES))
        return api_fail(q, E_InsufficientAccountPermissions);
    if (api_encryption_gate(q) != 0)
        return -1;
    if (q->container != NULL && !q->have_container && !(q->route->flags & R_ANY_CONTAINER))
        return api_fail(q, E_ContainerNotFound);
    if ((q->route->flags & R_WRITES) && q->route->level == LVL_BLOB &&
        !(q->route->flags & R_ADDRESSABLE) &&
        (api_query(q, "snapshot") != NULL || api_query(q, "versionid") != NULL))
        return api_fail(q, E_InvalidOperation); /* snapshots and versions are read-only */
    if ((q->route->flags & R_WRITES) && eng_failed(&q->srv->eng))
        return api_fail(q, E_InternalError);
    return 0;
}

static int
app_begin(void *ctx, struct http_req *h)
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
    q->version = DEFAULT_VERSION;
    if (h->framing_error != NULL) {
        api_new_guid(q->request_id);
        api_fail_header(q, E_InvalidHeaderValue, h->framing_error,
                        http_header(h, h->framing_error));
        return respond(q);
    }
    if (front_parse(q) != 0)
        return respond(q);
    if (strcmp(q->h->method, "OPTIONS") == 0) {
        api_cors_preflight(q); /* CORS preflight: the one request that needs no auth (§3.1) */
        return respond(q);
    }
    if (find_route(q) != 0 || front_gate(q) != 0)
        return respond(q);
    switch (q->route->body) {
    case BODY_NONE:
        q->route->handler(q);
        return respond(q);
    case BODY_XML:
        if (!q->h->has_content_length)
            api_fail(q, E_MissingContentLengthHeader);
        else if (q->h->content_length > q->route->body_max)
            api_fail(q, E_RequestBodyTooLarge);
        else
            return HTTP_BODY;
        return respond(q);
    case BODY_DATA:
        if (begin_data(q) != 0)
            return respond(q);
        return HTTP_BODY;
    }
    return respond(q);
}

static int
app_body(void *ctx, struct http_req *h, const char *p, size_t n)
{
    struct api_req *q = h->app;
    int err;

    q->received += n;
    if (q->route->body == BODY_XML) {
        if (q->received > q->route->body_max) {
            api_fail(q, E_RequestBodyTooLarge);
            return respond(q);
        }
        buf_add(&q->xml, p, n);
        return 0;
    }
    if (q->received > q->h->content_length) {
        api_fail(q, E_InvalidBlobOrBlock);
        return respond(q);
    }
    MD5_Update(&q->md5, p, n);
    if (api_header(q, "x-ms-content-crc64") != NULL)
        q->crc64 = crc64_nvme(q->crc64, p, n);
    if (q->writer != NULL && (err = eng_data_write(&q->srv->eng, q->writer, p, n)) != 0) {
        eng_data_write_abort(&q->srv->eng, q->writer);
        q->writer = NULL;
        api_fail_rc(q, err);
        return respond(q);
    }
    return 0;
}

static void
app_end(void *ctx, struct http_req *h)
{
    struct api_req *q = h->app;
    const char *md5;
    unsigned char want[16];

    if (q->route->body == BODY_DATA) {
        if (end_data(q) != 0) {
            finish(q);
            return;
        }
    } else if (q->route->body == BODY_XML) {
        if (!buf_ok(&q->xml)) {
            api_fail(q, E_InternalError);
            finish(q);
            return;
        }
        MD5_Init(&q->md5);
        MD5_Update(&q->md5, q->xml.p ? q->xml.p : "", q->xml.len);
        MD5_Final(q->body_md5, &q->md5);
        md5 = api_header(q, "Content-MD5");
        if (md5 &&
            (base64_decode(md5, strlen(md5), want) != 16 || memcmp(want, q->body_md5, 16) != 0)) {
            api_fail(q, base64_decode(md5, strlen(md5), want) != 16 ? E_InvalidMd5 : E_Md5Mismatch);
            finish(q);
            return;
        }
    }
    q->route->handler(q);
    finish(q);
}

static void
app_done(void *ctx, struct http_req *h)
{
    struct api_req *q = h->app;

    if (q == NULL)
        return;
    eng_data_write_abort(&q->srv->eng, q->writer);
    eng_data_release(&q->srv->eng, &q->ext); /* committed or abandoned: no longer pending (V6) */
    buf_free(&q->xml);
    log_debug("request %s: %s %s -> %s", q->request_id, h->method, h->target,
              q->route ? q->route->name : "-");
}

struct api_req *
api_route_local(struct api_req *outer, struct http_req *h, const char *account_seg)
{
    struct api_req *q = arena_calloc(h->arena, sizeof(*q));

    if (q == NULL) {
        http_resp_status(h, 503);
        return NULL;
    }
    h->app = q;
    q->srv = outer->srv;
    q->h = h;
    q->a = h->arena;
    q->head = strcmp(h->method, "HEAD") == 0;
    q->version = outer->version;
    q->account_seg = account_seg;
    memcpy(h->client_addr, outer->h->client_addr, sizeof(h->client_addr));
    h->is_https = outer->h->is_https;
    if (front_parse(q) != 0 || find_route(q) != 0)
        q->route = NULL; /* answered: the part's response is described */
    return q;
}

void
api_run_local(struct api_req *q)
{
    if (q->route != NULL && front_gate(q) == 0) {
        if (q->route->body != BODY_NONE) /* batch parts carry no body (§2.8) */
            api_fail(q, E_InvalidInput);
        else
            q->route->handler(q);
    }
    finish(q);
    log_debug("request %s: batch part %s %s -> %s", q->request_id, q->h->method, q->h->target,
              q->route ? q->route->name : "-");
}

void
api_app(struct server *srv, struct http_app *app)
{
    app->begin = app_begin;
    app->body = app_body;
    app->end = app_end;
    app->done = app_done;
    app->ctx = srv;
}
