/*
 * sharedkey.c -- "Authorization: SharedKey account:sig" and "SharedKeyLite account:sig" (protocol
 * doc §3.2, §3.3).
 *
 * The server recomputes the string-to-sign from the request and compares HMACs.  Clients disagree
 * on a few details, so a request is accepted if any of these variants matches under either key:
 *
 *   header order   culture-aware (.NET service, JS/Python/.NET/C++ SDKs) or byte order (Go: azcopy,
 *                  rclone); only tried twice when the two orders differ;
 *   '+' in query   kept (SDKs) or read as a space (some third-party clients); only when a '+' occurs;
 *   CE/CL slots    Content-Encoding, Content-Language as specified, or swapped (JS SDK);
 *                  only when both headers are present and differ;
 *   path           raw path, or, for "-secondary" path-style URLs, with the first segment's
 *                  "-secondary" stripped (SDKs sign the primary name).
 *
 * At most 16 strings-to-sign and 32 HMACs per request.  The string-to-sign reported back on
 * failure is the first variant (culture order, '+' kept, specified slots, raw path) -- what Azure
 * itself would have used.  The key never appears in any output.
 *
 * Replay window: once the signature matches, the request's date -- x-ms-date, or Date when
 * x-ms-date is absent, as Azure takes it -- must be an RFC 1123 date no more than
 * AUTH_DATE_WINDOW (15 minutes) from the server clock either way, so a captured request stops
 * working a quarter of an hour after it was signed.  The date is checked after the signature so a
 * request with both wrong reports the string-to-sign (what a client debugging its signer needs).
 */
#include "auth/auth_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/timefmt.h"

/* ---- the culture-aware comparator (§3.2) ---- */

/* Weight of s[i] in a pass; 1 past the end; 0 means "ignore in this pass". */
static unsigned
culture_weight(int pass, const char *s, size_t n, size_t i)
{
    static const unsigned short digit[10] = {0xD03, 0xD1A, 0xD1C, 0xD1E, 0xD20,
                                             0xD22, 0xD24, 0xD26, 0xD28, 0xD2A};
    static const unsigned short letter[26] = {
        0xE02, 0xE09, 0xE0A, 0xE1A, 0xE21, 0xE23, 0xE25, 0xE2C, 0xE32, 0xE35, 0xE36, 0xE48, 0xE51,
        0xE70, 0xE7C, 0xE7E, 0xE89, 0xE8A, 0xE91, 0xE99, 0xE9F, 0xEA2, 0xEA4, 0xEA6, 0xEA7, 0xEA9};
    unsigned char c;

    if (i >= n)
        return 1;
    c = (unsigned char)s[i];
    if (pass == 1) {
        if (c >= '0' && c <= '9')
            return digit[c - '0'];
        if (c >= 'a' && c <= 'z')
            return letter[c - 'a'];
        if (c >= 'A' && c <= 'Z')
            return letter[c - 'A'];
        switch (c) {
        case '!':
            return 0x71C;
        case '#':
            return 0x71F;
        case '$':
            return 0x721;
        case '%':
            return 0x723;
        case '&':
            return 0x725;
        case '*':
            return 0x72D;
        case '+':
            return 0x803;
        case '.':
            return 0x733;
        case '^':
            return 0x743;
        case '_':
            return 0x744;
        case '`':
            return 0x748;
        case '|':
            return 0x74C;
        case '~':
            return 0x750;
        default:
            return 0;
        }
    }
    if (pass == 2)
        return c >= 'A' && c <= 'Z' ? 0x12 : 0;
    if (c == '\'')
        return 0x8012;
    if (c == '-')
        return 0x8212;
    return 0;
}

int
auth_culture_cmp(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b), i = 0, j = 0;
    unsigned w1, w2;
    int pass = 1;

    while (pass <= 3) {
        if (pass == 3 && i != j)
            return i > j ? -1 : 1; /* the SDKs' quirk, reproduced as is */
        w1 = culture_weight(pass, a, na, i);
        w2 = culture_weight(pass, b, nb, j);
        if (w1 == 1 && w2 == 1) {
            pass++;
            i = j = 0;
        } else if (w1 == w2) {
            i++;
            j++;
        } else if (w1 == 0) {
            i++;
        } else if (w2 == 0) {
            j++;
        } else {
            return w1 < w2 ? -1 : 1;
        }
    }
    return 0;
}

/* ---- canonicalisation ---- */

/* One canonical x-ms-* header: lower-cased name, trimmed value (duplicates joined with ','). */
struct hdr {
    char *name;
    char *value;
};

static int
hdr_cmp_culture(const void *x, const void *y)
{
    const struct hdr *a = x, *b = y;
    int c = auth_culture_cmp(a->name, b->name);

    return c != 0 ? c : strcmp(a->name, b->name);
}

static int
hdr_cmp_bytes(const void *x, const void *y)
{
    return strcmp(((const struct hdr *)x)->name, ((const struct hdr *)y)->name);
}

static const char *
skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Value with surrounding blanks removed, as a new arena string. */
static char *
trim_dup(struct arena *a, const char *v)
{
    size_t n;

    if (v == NULL)
        v = "";
    v = skip_ws(v);
    n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return arena_strndup(a, v, n);
}

/*
 * Collects the x-ms-* headers into a new arena array (*out, *nout).  Header values are trimmed
 * but internal whitespace is kept: the SDKs sign values as sent.  Returns 0, or -1 on OOM.
 */
static int
canon_headers(const struct auth_request *req, struct arena *a, struct hdr **out, size_t *nout)
{
    struct hdr *h = arena_alloc(a, (req->nheaders + 1) * sizeof(*h));
    size_t i, k, n = 0;
    char *name, *value, *p;

    if (h == NULL)
        return -1;
    for (i = 0; i < req->nheaders; i++) {
        if (strncasecmp(req->headers[i].name, "x-ms-", 5) != 0)
            continue;
        if ((name = trim_dup(a, req->headers[i].name)) == NULL ||
            (value = trim_dup(a, req->headers[i].value)) == NULL)
            return -1;
        for (p = name; *p != '\0'; p++)
            *p = (char)tolower((unsigned char)*p);
        for (k = 0; k < n && strcmp(h[k].name, name) != 0; k++)
            ;
        if (k < n) {
            if ((h[k].value = arena_printf(a, "%s,%s", h[k].value, value)) == NULL)
                return -1;
            continue;
        }
        h[n].name = name;
        h[n].value = value;
        n++;
    }
    *out = h;
    *nout = n;
    return 0;
}

/* A decoded query parameter. */
struct qp {
    char *name;
    char *value;
};

static int
qp_cmp(const void *x, const void *y)
{
    const struct qp *a = x, *b = y;
    int c = strcmp(a->name, b->name);

    return c != 0 ? c : strcmp(a->value, b->value);
}

/* Percent-decodes s (after turning '+' into ' ' if asked); the raw text when malformed. */
static char *
query_decode(struct arena *a, const char *s, int plus_as_space)
{
    char *raw, *dec, *p;

    if ((raw = arena_strdup(a, s != NULL ? s : "")) == NULL)
        return NULL;
    if (plus_as_space)
        for (p = raw; *p != '\0'; p++)
            if (*p == '+')
                *p = ' ';
    dec = pct_decode(a, raw, strlen(raw), NULL);
    return dec != NULL ? dec : raw;
}

/*
 * Appends the query part of the canonicalised resource to b: for each lower-cased name in byte
 * order, "\nname:v1,v2" with the decoded values sorted.  Parameters with an empty name are not
 * parameters.  Returns 0, or -1 on OOM.
 */
static int
canon_query(const struct auth_request *req, struct arena *a, int plus_as_space, struct buf *b)
{
    struct qp *q = arena_alloc(a, (req->nquery + 1) * sizeof(*q));
    size_t i, n = 0;
    char *p;

    if (q == NULL)
        return -1;
    for (i = 0; i < req->nquery; i++) {
        if (req->query[i].name == NULL || req->query[i].name[0] == '\0')
            continue;
        if ((q[n].name = query_decode(a, req->query[i].name, plus_as_space)) == NULL ||
            (q[n].value = query_decode(a, req->query[i].value, plus_as_space)) == NULL)
            return -1;
        for (p = q[n].name; *p != '\0'; p++)
            *p = (char)tolower((unsigned char)*p);
        n++;
    }
    qsort(q, n, sizeof(*q), qp_cmp);
    for (i = 0; i < n; i++) {
        if (i > 0 && strcmp(q[i - 1].name, q[i].name) == 0) {
            buf_putc(b, ',');
        } else {
            buf_putc(b, '\n');
            buf_puts(b, q[i].name);
            buf_putc(b, ':');
        }
        buf_puts(b, q[i].value);
    }
    return 0;
}

static int
query_has_plus(const struct auth_request *req)
{
    size_t i;

    for (i = 0; i < req->nquery; i++)
        if (strchr(req->query[i].name, '+') != NULL ||
            (req->query[i].value != NULL && strchr(req->query[i].value, '+') != NULL))
            return 1;
    return 0;
}

/* ---- strings to sign ---- */

/* What every variant shares. */
struct sk_ctx {
    const struct auth_request *req;
    int lite;
    const char *std[11]; /* the eleven standard header slots, trimmed, "" when absent */
    struct hdr *hdrs[2]; /* x-ms-* headers in culture order, then byte order */
    size_t nhdrs;
    int norders;                /* 1 when both orders agree */
    const char *resource[2][2]; /* [path variant][plus variant] */
    int npaths, nplus;
    int nswap; /* 2 when the CE/CL swap is worth trying */
};

enum { S_CE, S_CL, S_CLEN, S_MD5, S_CT, S_DATE, S_IMS, S_IM, S_INM, S_IUS, S_RANGE };

static const char *const std_names[11] = {
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-MD5",
    "Content-Type",
    "Date",
    "If-Modified-Since",
    "If-Match",
    "If-None-Match",
    "If-Unmodified-Since",
    "Range",
};

static void
build_sts(struct buf *b, const struct sk_ctx *c, int order, int swap, const char *resource)
{
    const struct hdr *h = c->hdrs[order];
    size_t i;
    int s;

    buf_puts(b, c->req->method);
    buf_putc(b, '\n');
    if (c->lite) {
        buf_puts(b, c->std[S_MD5]);
        buf_putc(b, '\n');
        buf_puts(b, c->std[S_CT]);
        buf_putc(b, '\n');
        buf_puts(b, c->std[S_DATE]);
        buf_putc(b, '\n');
    } else {
        for (i = 0; i < 11; i++) {
            s = (int)i;
            if (swap && (s == S_CE || s == S_CL))
                s = s == S_CE ? S_CL : S_CE;
            buf_puts(b, c->std[s]);
            buf_putc(b, '\n');
        }
    }
    for (i = 0; i < c->nhdrs; i++) {
        buf_puts(b, h[i].name);
        buf_putc(b, ':');
        buf_puts(b, h[i].value);
        buf_putc(b, '\n');
    }
    buf_puts(b, resource);
}

/*
 * The canonicalised resource for one path and '+' interpretation: "/" + account + path, then the
 * query lines (Shared Key) or "?comp=value" (Shared Key Lite).  NULL on OOM.
 */
static const char *
build_resource(const struct sk_ctx *c, struct arena *a, const char *account, const char *path,
               int plus_as_space)
{
    struct buf b = BUF_INIT;
    const char *comp = NULL;
    char *out = NULL;
    size_t i;

    buf_putc(&b, '/');
    buf_puts(&b, account);
    buf_puts(&b, path[0] != '\0' ? path : "/");
    if (!c->lite) {
        if (canon_query(c->req, a, plus_as_space, &b) != 0)
            goto done;
    } else {
        for (i = 0; i < c->req->nquery && comp == NULL; i++)
            if (strcasecmp(c->req->query[i].name, "comp") == 0)
                comp = c->req->query[i].value != NULL ? c->req->query[i].value : "";
        if (comp != NULL) {
            if ((comp = query_decode(a, comp, plus_as_space)) == NULL)
                goto done;
            buf_puts(&b, "?comp=");
            buf_puts(&b, comp);
        }
    }
    if (buf_ok(&b))
        out = arena_strndup(a, b.p, b.len);
done:
    buf_free(&b);
    return out;
}

/* The raw path with "<account>-secondary" as first segment turned into "<account>", or NULL. */
static const char *
strip_secondary(struct arena *a, const char *path, const char *account)
{
    size_t n = strlen(account);

    if (path[0] != '/' || strncmp(path + 1, account, n) != 0 ||
        strncmp(path + 1 + n, "-secondary", 10) != 0 ||
        (path[n + 11] != '\0' && path[n + 11] != '/'))
        return NULL;
    return arena_printf(a, "/%s%s", account, path + n + 11);
}

/* Parses "account:signature" into arena strings.  0, -1 when malformed, -2 on OOM. */
static int
split_params(struct arena *a, const char *params, char **account, char **sig)
{
    const char *colon = strchr(params, ':');
    size_t n;

    if (colon == NULL || colon == params)
        return -1;
    n = strlen(colon + 1);
    while (n > 0 && (colon[n] == ' ' || colon[n] == '\t'))
        n--;
    if (n == 0)
        return -1;
    *account = arena_strndup(a, params, (size_t)(colon - params));
    *sig = arena_strndup(a, colon + 1, n);
    if (*account == NULL || *sig == NULL)
        return -2;
    if (strpbrk(*account, " \t") != NULL || strpbrk(*sig, " \t") != NULL)
        return -1;
    return 0;
}

/*
 * Fills what every string-to-sign variant of `req` shares: the trimmed standard header slots, the
 * x-ms-* headers in both orders, and which variants are worth trying.  0, or -1 on OOM.
 */
static int
sk_prepare(const struct auth_request *req, int lite, struct arena *a, struct sk_ctx *c)
{
    const char *version;
    size_t i;

    memset(c, 0, sizeof(*c));
    c->req = req;
    c->lite = lite;
    for (i = 0; i < 11; i++) {
        if ((c->std[i] = trim_dup(a, auth_header(req, std_names[i], NULL))) == NULL)
            return -1;
    }
    /* Content-Length 0 signs as empty since 2015-02-21 (every current SDK). */
    if ((version = auth_header(req, "x-ms-version", NULL)) != NULL &&
        (version = trim_dup(a, version)) == NULL)
        return -1;
    if (strcmp(c->std[S_CLEN], "0") == 0 && (version == NULL || strcmp(version, "2015-02-21") >= 0))
        c->std[S_CLEN] = "";
    c->nswap = !lite && c->std[S_CE][0] != '\0' && c->std[S_CL][0] != '\0' &&
                       strcmp(c->std[S_CE], c->std[S_CL]) != 0
                   ? 2
                   : 1;

    if (canon_headers(req, a, &c->hdrs[0], &c->nhdrs) != 0 ||
        (c->hdrs[1] = arena_alloc(a, (c->nhdrs + 1) * sizeof(struct hdr))) == NULL)
        return -1;
    memcpy(c->hdrs[1], c->hdrs[0], c->nhdrs * sizeof(struct hdr));
    qsort(c->hdrs[0], c->nhdrs, sizeof(struct hdr), hdr_cmp_culture);
    qsort(c->hdrs[1], c->nhdrs, sizeof(struct hdr), hdr_cmp_bytes);
    c->norders = 1;
    for (i = 0; i < c->nhdrs; i++)
        if (c->hdrs[0][i].name != c->hdrs[1][i].name)
            c->norders = 2;
    return 0;
}

/* The request's date: x-ms-date when sent non-empty, else Date; NULL when neither is. */
static const char *
request_date(const struct auth_request *req)
{
    const char *d = auth_header(req, "x-ms-date", NULL);

    if (d == NULL || d[0] == '\0')
        d = auth_header(req, "Date", NULL);
    return d != NULL && d[0] != '\0' ? d : NULL;
}

/* The request's date against now (Unix seconds): 0, or -1 with 403 AuthenticationFailed. */
static int
check_date(const char *date, int64_t now, struct arena *a, struct auth_result *res)
{
    int64_t t;

    /* RFC 1123 only ("Mon, 01 Jan 2024 00:00:00 GMT"): parse_http_date's other forms are not. */
    if (strlen(date) < 4 || date[3] != ',' || parse_http_date(date, &t) != 0)
        return auth_fail(
            res, 403, "AuthenticationFailed", MSG_AUTH_FAILED,
            arena_printf(a, "The Date header in the request is incorrect: '%s'.", date));
    t /= TICKS_PER_SEC;
    if (t < now - AUTH_DATE_WINDOW)
        return auth_fail(res, 403, "AuthenticationFailed", MSG_AUTH_FAILED,
                         arena_printf(a, "Request date header too old: '%s'.", date));
    if (t > now + AUTH_DATE_WINDOW)
        return auth_fail(res, 403, "AuthenticationFailed", MSG_AUTH_FAILED,
                         arena_printf(a, "Request date header not yet valid: '%s'.", date));
    return 0;
}

int
auth_sharedkey(const struct auth_request *req, const struct auth_account *acct, int lite,
               const char *params, int64_t now, struct arena *a, struct auth_result *res)
{
    struct sk_ctx c;
    struct buf sts = BUF_INIT;
    const char *first = NULL, *paths[2], *detail, *date;
    char *hdr_account, *sig, *secondary_name;
    int p, q, order, swap, rc = -1;

    if ((rc = split_params(a, params, &hdr_account, &sig)) == -2)
        return auth_fail_oom(res);
    if (rc != 0)
        return auth_fail(res, 400, "InvalidAuthenticationInfo", MSG_INVALID_AUTH_INFO,
                         "The Authorization header must be '<scheme> <account>:<signature>'.");
    rc = -1;
    if (acct == NULL)
        return auth_fail(res, 403, "AuthenticationFailed", MSG_AUTH_FAILED,
                         "The account of the request does not exist.");
    if ((secondary_name = arena_printf(a, "%s-secondary", acct->name)) == NULL)
        return auth_fail_oom(res);
    if (strcmp(hdr_account, acct->name) != 0 &&
        !(req->secondary && strcmp(hdr_account, secondary_name) == 0))
        return auth_fail(res, 403, "AuthenticationFailed", MSG_AUTH_FAILED,
                         "The account in the Authorization header does not match the account "
                         "of the request.");
    if ((date = request_date(req)) == NULL)
        return auth_fail(res, 403, "AuthenticationFailed", MSG_AUTH_FAILED,
                         "Request date header not specified.");

    if (sk_prepare(req, lite, a, &c) != 0)
        return auth_fail_oom(res);

    paths[0] = req->raw_path != NULL ? req->raw_path : "";
    paths[1] = req->secondary ? strip_secondary(a, paths[0], acct->name) : NULL;
    c.npaths = paths[1] != NULL ? 2 : 1;
    c.nplus = query_has_plus(req) ? 2 : 1;
    for (p = 0; p < c.npaths; p++)
        for (q = 0; q < c.nplus; q++)
            if ((c.resource[p][q] = build_resource(&c, a, acct->name, paths[p], q)) == NULL)
                return auth_fail_oom(res);

    for (p = 0; p < c.npaths; p++)
        for (q = 0; q < c.nplus; q++)
            for (order = 0; order < c.norders; order++)
                for (swap = 0; swap < c.nswap; swap++) {
                    buf_reset(&sts);
                    build_sts(&sts, &c, order, swap, c.resource[p][q]);
                    if (!buf_ok(&sts)) {
                        rc = auth_fail_oom(res);
                        goto done;
                    }
                    if (first == NULL && (first = arena_strndup(a, sts.p, sts.len)) == NULL) {
                        rc = auth_fail_oom(res);
                        goto done;
                    }
                    if (auth_sig_matches(acct, sig, sts.p, sts.len)) {
                        rc = check_date(date, now, a, res);
                        if (rc == 0)
                            res->kind = AUTH_SHARED_KEY;
                        goto done;
                    }
                }

    detail = arena_printf(a,
                          "The MAC signature found in the HTTP request '%s' is not the same as "
                          "any computed signature. Server used following string to sign: '%s'.",
                          sig, first);
    rc = auth_fail(res, 403, "AuthenticationFailed", MSG_AUTH_FAILED, detail);
done:
    buf_free(&sts);
    return rc;
}

int
auth_sign_shared_key(const struct auth_request *req, const struct auth_account *acct,
                     struct arena *a, char sig[BASE64_LEN(AUTH_HMAC_LEN) + 1])
{
    struct sk_ctx c;
    struct buf sts = BUF_INIT;
    unsigned char mac[AUTH_HMAC_LEN];
    const char *resource;
    int rc = -1;

    if (sk_prepare(req, 0, a, &c) != 0 ||
        (resource = build_resource(&c, a, acct->name, req->raw_path, 0)) == NULL)
        return -1;
    build_sts(&sts, &c, 0, 0, resource);
    if (buf_ok(&sts)) {
        auth_hmac(acct, 0, sts.p, sts.len, mac);
        base64_encode(mac, AUTH_HMAC_LEN, sig);
        rc = 0;
    }
    buf_free(&sts);
    return rc;
}
