/*
 * copy_source.c -- the source of a copy: its URL parsed (x-ms-copy-source), where it lives, and how
 * it is read -- a local record after authorizing the caller for it, or an external URL fetched on
 * the request's thread -- with the source conditions and checksums of §5.1 and §2.11.
 *
 * Local sources are read directly through the engine (no HTTP loop-back), external ones with the
 * HTTP client (fetch.c); which operation copies what, and how, is in copy.c's file comment.
 */
#include "api/copy_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/parse.h"
#include "api/tagexpr.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/crc.h"
#include "util/log.h"
#include "util/timefmt.h"

#define READ_BUF (1u << 20)

static int
is_sas_param(const char *name, size_t n)
{
    static const char *const sas[] = {"sv",  "ss",   "srt",  "sp",   "se",    "st",    "spr",
                                      "sip", "sig",  "sr",   "si",   "sdd",   "skoid", "sktid",
                                      "skt", "ske",  "sks",  "skv",  "saoid", "suoid", "scid",
                                      "ses", "rscc", "rscd", "rsce", "rscl",  "rsct",  NULL};

    for (const char *const *p = sas; *p; p++)
        if (strlen(*p) == n && strncasecmp(name, *p, n) == 0)
            return 1;
    return 0;
}

/* Splits the copy-source URL.  0, or -1 with 400 InvalidHeaderValue described. */
int
source_parse(struct api_req *q, struct src_url *u)
{
    const char *s = api_header(q, "x-ms-copy-source"), *p, *auth_end, *path_end, *qs;
    struct buf disp = BUF_INIT;
    size_t plen, n, cap;
    char *colon;
    int kept = 0;

    memset(u, 0, sizeof(*u));
    u->url = s;
    if (s == NULL)
        return api_fail_header(q, E_MissingRequiredHeader, "x-ms-copy-source", NULL);
    if (!header_text_valid(s, strlen(s))) /* stored, echoed as a header and in listings */
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source", NULL);
    if (strncasecmp(s, "https://", 8) == 0)
        u->https = 1, p = s + 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        p = s + 7;
    else
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source", s);
    auth_end = p + strcspn(p, "/?#");
    if (auth_end == p || memchr(p, '@', (size_t)(auth_end - p)) != NULL)
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source", s);
    u->authority = arena_strndup(q->a, p, (size_t)(auth_end - p));
    u->port = u->https ? 443 : 80;
    if (u->authority == NULL)
        return api_fail(q, E_InternalError);
    if (u->authority[0] == '[') {
        char *rb = strchr(u->authority, ']');
        if (rb == NULL)
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source", s);
        u->host = arena_strndup(q->a, u->authority + 1, (size_t)(rb - u->authority - 1));
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = strchr(u->authority, ':');
        u->host = colon ? arena_strndup(q->a, u->authority, (size_t)(colon - u->authority))
                        : u->authority;
    }
    if (u->host == NULL)
        return api_fail(q, E_InternalError);
    if (colon != NULL) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end != '\0' || port <= 0 || port > 65535)
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source", s);
        u->port = (int)port;
    }
    path_end = auth_end + strcspn(auth_end, "?#");
    u->raw_path = path_end > auth_end ? arena_strndup(q->a, auth_end, (size_t)(path_end - auth_end))
                                      : "/";
    if (u->raw_path == NULL)
        return api_fail(q, E_InternalError);
    /* Path segments: /account/container/blob... (path-style, §1.1). */
    {
        const char *seg = u->raw_path + 1, *sl = strchr(seg, '/');
        size_t dl;
        char *d;
        if (*seg != '\0') {
            n = sl ? (size_t)(sl - seg) : strlen(seg);
            u->account = pct_decode(q->a, seg, n, &dl);
            if (sl != NULL && sl[1] != '\0') {
                const char *seg2 = sl + 1, *sl2 = strchr(seg2, '/');
                n = sl2 ? (size_t)(sl2 - seg2) : strlen(seg2);
                u->container = pct_decode(q->a, seg2, n, &dl);
                if (sl2 != NULL && sl2[1] != '\0' &&
                    (d = pct_decode(q->a, sl2 + 1, strlen(sl2 + 1), &dl)) != NULL) {
                    for (size_t i = 0; i < dl; i++)
                        if (d[i] == '\\')
                            d[i] = '/';
                    u->blob = d;
                    u->blob_len = dl;
                }
            }
        }
    }
    /* Query: raw pairs for SAS validation; the display URL keeps the non-SAS ones. */
    buf_puts(&disp, u->https ? "https://" : "http://");
    buf_puts(&disp, u->authority);
    buf_puts(&disp, u->raw_path);
    qs = *path_end == '?' ? path_end + 1 : NULL;
    plen = qs ? strcspn(qs, "#") : 0;
    cap = 1;
    for (size_t i = 0; i < plen; i++)
        cap += qs[i] == '&';
    if ((u->query = arena_alloc(q->a, sizeof(*u->query) * cap)) == NULL) {
        buf_free(&disp);
        return api_fail(q, E_InternalError);
    }
    for (const char *it = qs, *end = qs ? qs + plen : NULL; it != NULL && it < end;) {
        const char *amp = memchr(it, '&', (size_t)(end - it)), *e = amp ? amp : end;
        const char *eq = memchr(it, '=', (size_t)(e - it)), *ne = eq ? eq : e;
        size_t dl;
        if (e > it) {
            struct auth_kv *kv = &u->query[u->nquery++];
            kv->name = arena_strndup(q->a, it, (size_t)(ne - it));
            kv->value = eq ? arena_strndup(q->a, eq + 1, (size_t)(e - eq - 1)) : "";
            if (kv->name == NULL || kv->value == NULL) {
                buf_free(&disp);
                return api_fail(q, E_InternalError);
            }
            if (strcasecmp(kv->name, "sig") == 0)
                u->has_sas = 1;
            else if (strcasecmp(kv->name, "snapshot") == 0)
                u->snapshot = pct_decode(q->a, kv->value, strlen(kv->value), &dl);
            else if (strcasecmp(kv->name, "versionid") == 0)
                u->versionid = pct_decode(q->a, kv->value, strlen(kv->value), &dl);
            if (!is_sas_param(it, (size_t)(ne - it))) {
                buf_putc(&disp, kept++ ? '&' : '?');
                buf_add(&disp, it, (size_t)(e - it));
            }
        }
        it = amp ? amp + 1 : end;
    }
    u->display = buf_ok(&disp) && disp.p ? arena_strndup(q->a, disp.p, disp.len) : NULL;
    buf_free(&disp);
    if (u->display == NULL)
        return api_fail(q, E_InternalError);
    return 0;
}

static int
is_loopback(const char *host)
{
    return strcasecmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0;
}

/* 1 when the URL names this server (then it is never fetched over HTTP). */
int
source_is_local(struct api_req *q, const struct src_url *u)
{
    const char *host = api_header(q, "Host");
    int port = __atomic_load_n(&q->srv->port, __ATOMIC_RELAXED);

    if (host != NULL && strcasecmp(host, u->authority) == 0)
        return 1;
    return port != 0 && u->port == port && is_loopback(u->host);
}

/* ---- local sources ----------------------------------------------------------------------- */

/* Describes a source error: status as the source would have answered (§2.11), with
 * x-ms-copy-source-status-code / -error-code, code CannotVerifyCopySource. */
int
source_fail(struct api_req *q, int status, const char *source_code)
{
    char st[8];

    api_fail(q, E_CannotVerifyCopySource);
    http_resp_status(q->h, status); /* the same body, with the source's status */
    snprintf(st, sizeof(st), "%d", status);
    api_hdr(q, "x-ms-copy-source-status-code", st);
    if (source_code != NULL)
        api_hdr(q, "x-ms-copy-source-error-code", source_code);
    return -1;
}

/*
 * A SAS is checked against the scheme its source is read over (spr).  An external source with an
 * https-only SAS (spr without the "http" token) named with http:// is refused before anything is
 * sent, so the token never travels in clear: 403 with the code the source itself would answer.
 * (fetch.c keeps an https source on https through redirects; local sources: local_open.)
 * 0, or -1 described.
 */
int
source_scheme_check(struct api_req *q, const struct src_url *u)
{
    const char *raw = NULL, *spr, *t;
    size_t dl = 0, n;

    if (u->https || !u->has_sas)
        return 0;
    for (size_t i = 0; i < u->nquery; i++)
        if (strcasecmp(u->query[i].name, "spr") == 0)
            raw = u->query[i].value;
    if (raw == NULL)
        return 0;
    /* An undecodable spr is not known to allow http: refused too. */
    spr = pct_decode(q->a, raw, strlen(raw), &dl);
    for (t = spr; spr != NULL && dl == strlen(spr); t += n + 1) {
        n = strcspn(t, ",");
        if (n == 4 && strncmp(t, "http", 4) == 0)
            return 0;
        if (t[n] == '\0')
            break;
    }
    return source_fail(q, 403, "AuthorizationProtocolMismatch");
}

/* Finds the source's account and container and checks the caller may read it.  0 or -1. */
int
source_open(struct api_req *q, const struct src_url *u, struct local_src *ls)
{
    struct auth_request ar = {0};
    struct auth_result res = {0};
    struct auth_need need = {AUTH_LEVEL_OBJECT, "r", AUTH_SCOPE_BLOB | AUTH_SCOPE_CONTAINER,
                             AUTH_PUBLIC_BLOB, AUTH_ACT_READ};
    enum auth_public pub;
    int rc;

    memset(ls, 0, sizeof(*ls));
    for (size_t i = 0; u->account != NULL && i < q->srv->naccounts; i++)
        if (strcmp(q->srv->accounts[i].name, u->account) == 0)
            ls->acct = &q->srv->accounts[i];
    if (ls->acct == NULL || u->container == NULL || u->blob == NULL)
        return source_fail(q, 404, ls->acct == NULL ? "ResourceNotFound" : "InvalidUri");
    if (container_name_check(u->container, strlen(u->container)) != NAME_OK ||
        blob_name_check(u->blob, u->blob_len) != NAME_OK)
        return source_fail(q, 400, "InvalidResourceName");
    rc = eng_container_get(&q->srv->eng, q->a, u->account, u->container, &ls->cont);
    if (rc != 0 && rc != CO_ENOTFOUND)
        return api_fail_rc(q, rc);
    pub = rc != 0                                      ? AUTH_PUBLIC_NONE
          : ls->cont.public_access == PUBLIC_CONTAINER ? AUTH_PUBLIC_CONTAINER
          : ls->cont.public_access == PUBLIC_BLOB      ? AUTH_PUBLIC_BLOB
                                                       : AUTH_PUBLIC_NONE;
    if (u->has_sas) { /* a SAS is checked exactly as on a GET of the source */
        ar.method = "GET";
        ar.raw_path = u->raw_path;
        ar.query = u->query;
        ar.nquery = u->nquery;
        /* Read as a GET to this server would be: Cobalt serves plain HTTP only, so an https://
         * URL naming it does not make an https-only SAS (spr=https) valid. */
        ar.is_https = 0;
        ar.account = u->account;
        ar.container = u->container;
        ar.blob = u->blob;
        ar.snapshot = u->snapshot;
        ar.versionid = u->versionid;
        if (auth_authenticate(&ar, ls->acct, ticks_now() / TICKS_PER_SEC, q->a, &res) != 0 ||
            auth_authorize(&ar, &need, pub, &res) != 0)
            return source_fail(q, res.status ? res.status : 403,
                               res.code ? res.code : "AuthenticationFailed");
    } else if (q->auth.kind == AUTH_BEARER && strcmp(q->account, u->account) == 0) {
        res = q->auth; /* the caller's roles must let it read the source (auth_authorize) */
        ar.account = u->account;
        ar.container = u->container;
        ar.blob = u->blob;
        ar.dir = __atomic_load_n(&q->srv->dir, __ATOMIC_ACQUIRE);
        if (auth_authorize(&ar, &need, pub, &res) != 0)
            return source_fail(q, res.status, res.code);
    } else if (!(q->auth.kind == AUTH_SHARED_KEY && strcmp(q->account, u->account) == 0) &&
               pub == AUTH_PUBLIC_NONE) {
        /* Shared Key callers read their own account; anyone reads public containers. */
        return source_fail(q, rc != 0 ? 404 : 403,
                           rc != 0 ? "ContainerNotFound" : "AuthorizationFailure");
    }
    if (rc != 0)
        return source_fail(q, 404, "ContainerNotFound");
    ls->blob = (struct eng_blob){u->account, u->container, ls->cont.id, u->blob, u->blob_len};
    return 0;
}

/* Loads the source record (base blob, snapshot or version).  1 found, 0 not, -1 described. */
int
source_load(struct api_req *q, const struct src_url *u, const struct local_src *ls,
            struct blob_rec *r, struct eng_write *check)
{
    const char *sub = u->snapshot ? u->snapshot : u->versionid;
    int64_t id = 0;
    int rc;

    if (sub != NULL && parse_iso8601(sub, &id) != 0)
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-copy-source", u->url);
    *check = (struct eng_write){&ls->blob, u->snapshot ? ENG_SNAPSHOT : ENG_VERSION, id, r, r};
    if (sub != NULL) {
        rc = eng_blob_get(&q->srv->eng, q->a, &ls->blob, check->kind, id, r);
        if (rc != 0 && rc != CO_ENOTFOUND)
            return api_fail_rc(q, rc);
        if (rc == 0)
            return r->deleted == 0;
        if (u->snapshot != NULL)
            return 0;
        /* A version id may name the current version, which lives under the base key. */
    }
    check->kind = ENG_CURRENT;
    check->id = 0;
    rc = eng_blob_get(&q->srv->eng, q->a, &ls->blob, ENG_CURRENT, 0, r);
    if (rc == CO_ENOTFOUND)
        return 0;
    if (rc != 0)
        return api_fail_rc(q, rc);
    if ((r->flags & BLOB_F_UNCOMMITTED) || r->deleted != 0 || api_blob_past_expiry(r, ticks_now()))
        return 0;
    return u->versionid == NULL || r->version_id == id;
}

/* x-ms-source-if-* and x-ms-source-lease-id against the source record (§5.1): 0, or -1 (412). */
int
source_conditions(struct api_req *q, const struct src_url *u, const struct blob_rec *r)
{
    const char *im = api_header(q, "x-ms-source-if-match");
    const char *inm = api_header(q, "x-ms-source-if-none-match");
    const char *ims = api_header(q, "x-ms-source-if-modified-since");
    const char *ius = api_header(q, "x-ms-source-if-unmodified-since");
    const char *tags = api_header(q, "x-ms-source-if-tags");
    const char *lease = api_header(q, "x-ms-source-lease-id"), *why = NULL;
    int64_t t, mod_s = r->modified / TICKS_PER_SEC;
    struct tagexpr *e;

    if (im != NULL && !api_etag_matches(im, r->etag))
        return api_fail(q, E_SourceConditionNotMet);
    if (ius != NULL && parse_http_date(ius, &t) == 0 && mod_s > t / TICKS_PER_SEC)
        return api_fail(q, E_SourceConditionNotMet);
    if (inm != NULL && api_etag_matches(inm, r->etag))
        return api_fail(q, E_SourceConditionNotMet);
    if (ims != NULL && parse_http_date(ims, &t) == 0 && mod_s <= t / TICKS_PER_SEC)
        return api_fail(q, E_SourceConditionNotMet);
    if (tags != NULL) {
        if ((e = tagexpr_parse(q->a, tags, TAGEXPR_IF_TAGS, &why)) == NULL)
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-source-if-tags", tags);
        if (!tagexpr_eval(e, r->ntags, r->tags, u->container))
            return api_fail(q, E_SourceConditionNotMet);
    }
    if (lease != NULL) {
        uint8_t st = lease_effective(&r->lease, ticks_now());
        if (st != LEASE_LEASED && st != LEASE_BREAKING)
            return api_fail(q, E_LeaseNotPresentWithBlobOperation);
        if (!guid_equal(lease, r->lease.id))
            return api_fail(q, E_LeaseIdMismatchWithBlobOperation);
    }
    return 0;
}

/* One piece of the source read: into the digests asked for and the writer w (if any). */
static int
take(struct engine *e, struct eng_writer *w, MD5_CTX *md5, uint64_t *crc, const char *buf, size_t n)
{
    if (md5 != NULL)
        MD5_Update(md5, buf, n);
    if (crc != NULL)
        *crc = crc64_nvme(*crc, buf, n);
    return w != NULL ? eng_data_write(e, w, buf, n) : 0;
}

/* Reads [off, off + len) of a record's content, feeding a payload writer and/or hashes. */
int
api_read_content(struct engine *e, const struct eng_blob *b, const struct blob_rec *r, uint64_t off,
                 uint64_t len, struct eng_writer *w, MD5_CTX *md5, uint64_t *crc)
{
    struct eng_reader *rd = NULL;
    struct page_reader *pr = NULL;
    char *buf = malloc(READ_BUF);
    uint64_t at = 0;
    int err = 0;

    if (buf == NULL || eng_data_reader_new(e, &rd) != 0 ||
        (r->type == BLOB_PAGE && (pr = api_page_reader_new(e, b, r)) == NULL)) {
        err = ENOMEM;
        goto out;
    }
    while (pr != NULL && len > 0) { /* a page blob: its page map, zeros where unwritten */
        long n = api_page_read(pr, off, buf, len < READ_BUF ? (size_t)len : READ_BUF);
        if (n <= 0) {
            err = n < 0 ? (int)-n : EIO;
            goto out;
        }
        if ((err = take(e, w, md5, crc, buf, (size_t)n)) != 0)
            goto out;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    for (size_t i = 0; i < r->nblocks && len > 0; i++) {
        struct extent x = r->blocks[i].ext;
        uint64_t in = 0;
        if (at + x.len <= off) {
            at += x.len;
            continue;
        }
        in = off > at ? off - at : 0;
        while (in < x.len && len > 0) {
            size_t want = x.len - in < READ_BUF ? (size_t)(x.len - in) : READ_BUF;
            long n;
            if (want > len)
                want = (size_t)len;
            if ((n = eng_data_read(e, rd, &x, in, buf, want)) <= 0) {
                err = n < 0 ? (int)-n : EIO;
                goto out;
            }
            if ((err = take(e, w, md5, crc, buf, (size_t)n)) != 0)
                goto out;
            in += (uint64_t)n;
            len -= (uint64_t)n;
        }
        at += x.len;
    }
    if (len > 0)
        err = EIO; /* the record holds fewer bytes than its size says */
out:
    api_page_reader_free(pr);
    eng_data_reader_free(e, rd);
    free(buf);
    return err;
}

/* x-ms-source-content-md5 / -crc64 against computed values: 0, or -1 (400 described). */
int
source_verify_checksums(struct api_req *q, const unsigned char md5[16], uint64_t crc)
{
    const char *want_md5 = api_header(q, "x-ms-source-content-md5");
    const char *want_crc = api_header(q, "x-ms-source-content-crc64");
    unsigned char w[16], le[8];

    if (want_md5 != NULL) {
        if (base64_decode(want_md5, strlen(want_md5), w) != 16)
            return api_fail_header(q, E_InvalidMd5, "x-ms-source-content-md5", want_md5);
        if (memcmp(w, md5, 16) != 0)
            return api_fail(q, E_Md5Mismatch);
    }
    if (want_crc != NULL) {
        crc64_to_le(crc, le);
        if (strlen(want_crc) != 12 || base64_decode(want_crc, 12, w) != 8)
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-source-content-crc64", want_crc);
        if (memcmp(w, le, 8) != 0)
            return api_fail(q, E_Crc64Mismatch);
    }
    return 0;
}

int
source_wants_checksum(struct api_req *q)
{
    return api_header(q, "x-ms-source-content-md5") != NULL ||
           api_header(q, "x-ms-source-content-crc64") != NULL;
}

/* ---- external sources -------------------------------------------------------------------- */

/* A fetch that did not succeed, as the response of a synchronous operation. */
static void
fail_fetch(struct api_req *q, int rc, const struct fetch_result *res)
{
    switch (rc) {
    case CO_ESOURCE:
        if (res->status == 304 || res->status == 412)
            api_fail(q, E_SourceConditionNotMet);
        else
            source_fail(q, res->status >= 400 && res->status <= 599 ? res->status : 500,
                        res->error_code);
        return;
    case CO_ETOOBIG:
        api_fail(q, E_RequestBodyTooLarge);
        return;
    default:
        if (rc > 0) { /* storing it failed */
            api_fail_rc(q, rc);
            return;
        }
        log_info("request %s: copy source: %s%s%s", q->request_id, res->message,
                 res->detail[0] ? ": " : "", res->detail);
        source_fail(q, 500, NULL);
        return;
    }
}

struct fetch_cleanup {
    struct engine *e;
    struct fetch_result res;
};

static void
fetch_cleanup(void *p)
{
    struct fetch_cleanup *c = p;

    fetch_result_release(c->e, &c->res);
}

/*
 * Fetches an external source on the request's thread.  The payloads are released when the request
 * ends (after the commit, V6).  Returns the result, or NULL with the response described.
 */
struct fetch_result *
source_fetch(struct api_req *q, const struct src_url *u, uint64_t max, int ranged, uint64_t start,
             uint64_t end)
{
    struct fetch_cleanup *c = arena_calloc(q->a, sizeof(*c));
    struct fetch_req fr = {0};
    int rc;

    if (c == NULL || arena_on_free(q->a, fetch_cleanup, c) != 0) {
        api_fail(q, E_InternalError);
        return NULL;
    }
    c->e = &q->srv->eng;
    fr.url = u->url;
    fr.authorization = api_header(q, "x-ms-copy-source-authorization");
    fr.if_match = api_header(q, "x-ms-source-if-match");
    fr.if_none_match = api_header(q, "x-ms-source-if-none-match");
    fr.if_modified_since = api_header(q, "x-ms-source-if-modified-since");
    fr.if_unmodified_since = api_header(q, "x-ms-source-if-unmodified-since");
    fr.max_size = max;
    fr.stall_secs = q->srv->copy_stall_secs;
    fr.egress = q->srv->egress;
    fr.ranged = ranged;
    fr.start = start;
    fr.end = end;
    rc = fetch_into(&q->srv->eng, q->a, &fr, &c->res);
    if (rc != 0) {
        fail_fetch(q, rc, &c->res);
        return NULL;
    }
    if (source_verify_checksums(q, c->res.md5, c->res.crc64) != 0)
        return NULL;
    return &c->res;
}
