/*
 * fuzz_auth.c -- src/auth/auth.h: auth_authenticate() and auth_authorize() on arbitrary requests:
 * Shared Key / Shared Key Lite canonicalisation (header sorting, query decoding, secondary paths),
 * and every SAS field (versions, times, spr, sr, sp, srt, ss, duplicates, escapes).
 *
 * Input: a flags byte, then fields separated by 0xFF:
 *   method, raw path, container, blob, snapshot, versionid, raw query ("a=b&c=d"),
 *   then any number of headers "name:value".
 * An empty container/blob/snapshot/versionid field means NULL.
 *
 * Random signatures never match, so on its own the fuzzer would stop at the HMAC compare.  With
 * flag RESIGN the target signs the request the way a client holding the key would: it takes the
 * string-to-sign the server reports in its AuthenticationErrorDetail (protocol doc §3.1), signs it
 * with the dev key, puts the signature back (Authorization header or `sig`) and authenticates
 * again, which reaches the checks behind the signature (times, spr, sr, sp, srt, authorisation).
 *
 * Contracts checked:
 *   A1  an accepted signed request is refused once its signature is replaced by another
 *       well-formed one (the MAC compare covers the whole signature);
 *   A2  a request re-signed over the reported string-to-sign is never refused for its signature
 *       (the reported string is the one verified);
 *   A3  auth_authorize never lets an anonymous caller into a route that is not public, nor a SAS
 *       caller without one of the route's letters;
 *   A4  failures carry a status (400/403/404/503, or 401 with a Bearer challenge) and an error
 *       code;
 *   A5  an accepted SAS that carries a non-empty sip names the caller's address (the caller is
 *       127.0.0.1, or ::1 with flag F_V6).
 */
#include <stdint.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/auth_int.h"
#include "fuzz_common.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/codec.h"

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define NOW_2025 1735689600LL

#define F_HTTPS    0x01
#define F_RESIGN   0x02
#define F_NOACCT   0x04
#define F_TWOKEYS  0x08
#define F_SECOND   0x10
#define F_LATE     0x20   /* now = 2035 */
#define F_V6       0x80   /* the caller is ::1, else 127.0.0.1 */

#define MAXKV 64

static struct auth_account acct;

static void
init_account(void)
{
    if (acct.name != NULL)
        return;
    acct.name = "devstoreaccount1";
    acct.keylen[0] = (size_t)base64_decode(DEV_KEY, strlen(DEV_KEY), acct.key[0]);
    memcpy(acct.key[1], "second-key-0123456789", 21);
    acct.keylen[1] = 21;
    acct.nkeys = 1;
}

static const char *
opt(char *s)
{
    return s[0] ? s : NULL;
}

static void
check_failure(const struct auth_result *res)
{
    FUZZ_CHECK(res->status == 400 || res->status == 403 || res->status == 404 ||
               res->status == 503 || (res->status == 401 && res->challenge != NULL));
    FUZZ_CHECK(res->code != NULL && res->code[0] != '\0' && res->message != NULL);
}

/* A5: an accepted SAS with a sip names the caller (decoded as the server decodes it). */
static void
check_sip(const struct auth_request *req, const struct auth_result *res)
{
    struct arena *a;
    const char *dec;

    if (res->kind != AUTH_SAS_ACCOUNT && res->kind != AUTH_SAS_SERVICE)
        return;
    a = arena_new(1u << 16);
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcasecmp(req->query[i].name, "sip") != 0)
            continue;
        dec = pct_decode(a, req->query[i].value, strlen(req->query[i].value), NULL);
        FUZZ_CHECK(dec != NULL);
        FUZZ_CHECK(dec[0] == '\0' || auth_sip_match(dec, req->client_addr) == 1);
    }
    arena_free(a);
}

/* The string-to-sign in a signature-mismatch detail, or NULL. */
static char *
reported_sts(const char *detail, size_t *len)
{
    static const char *const marks[] = {"Server used following string to sign: '",
                                        "String to sign used was '"};
    const char *p = NULL, *e;

    if (detail == NULL)
        return NULL;
    /* The marker that matches the detail's own prefix: the string-to-sign itself may contain
     * either marker text (it holds request fields). */
    int k = strncmp(detail, "Signature did not match.", 24) == 0;
    if ((p = strstr(detail, marks[k])) != NULL)
        p += strlen(marks[k]);
    if (p == NULL)
        return NULL;
    e = detail + strlen(detail);
    if (e - p < 2 || e[-1] != '.' || e[-2] != '\'')
        return NULL;
    *len = (size_t)(e - 2 - p);
    return strndup(p, *len);
}

static int
is_sig_mismatch(const struct auth_result *res)
{
    return res->detail != NULL &&
           (strncmp(res->detail, "The MAC signature found in the HTTP request", 43) == 0 ||
            strncmp(res->detail, "Signature did not match.", 24) == 0);
}

static void
check_authorize(struct auth_request *req, const struct auth_result *res0)
{
    static const struct auth_need needs[] = {
        {AUTH_LEVEL_SERVICE, "l", AUTH_SCOPE_NONE, AUTH_PUBLIC_NONE, AUTH_ACT_READ},
        {AUTH_LEVEL_CONTAINER, "cw", AUTH_SCOPE_NONE, AUTH_PUBLIC_NONE, AUTH_ACT_WRITE},
        {AUTH_LEVEL_CONTAINER, "r", AUTH_SCOPE_NONE, AUTH_PUBLIC_CONTAINER, AUTH_ACT_READ},
        {AUTH_LEVEL_CONTAINER, "l", AUTH_SCOPE_CONTAINER, AUTH_PUBLIC_CONTAINER, AUTH_ACT_READ},
        {AUTH_LEVEL_OBJECT, "r", AUTH_SCOPE_BLOB | AUTH_SCOPE_CONTAINER, AUTH_PUBLIC_BLOB,
         AUTH_ACT_READ},
        {AUTH_LEVEL_OBJECT, "d", AUTH_SCOPE_BLOB | AUTH_SCOPE_CONTAINER, AUTH_PUBLIC_NONE,
         AUTH_ACT_DELETE},
        {AUTH_LEVEL_OBJECT, "w", AUTH_SCOPE_BLOB | AUTH_SCOPE_CONTAINER, AUTH_PUBLIC_NONE,
         AUTH_ACT_WRITE},
    };

    for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
        for (int pub = AUTH_PUBLIC_NONE; pub <= AUTH_PUBLIC_CONTAINER; pub++) {
            struct auth_result res = *res0;
            int ok = auth_authorize(req, &needs[i], (enum auth_public)pub, &res) == 0;
            if (!ok) {
                check_failure(&res);
                continue;
            }
            if (res0->kind == AUTH_ANONYMOUS)   /* A3 */
                FUZZ_CHECK(needs[i].anonymous != AUTH_PUBLIC_NONE && pub >= (int)needs[i].anonymous);
            if (res0->kind == AUTH_SAS_ACCOUNT || res0->kind == AUTH_SAS_SERVICE) {
                int any = 0;
                for (const char *l = needs[i].perms; *l; l++)
                    any |= (res0->perms & AUTH_P(*l)) != 0;
                FUZZ_CHECK(any);
            }
            if (res0->kind == AUTH_SAS_SERVICE)
                FUZZ_CHECK(needs[i].service_sas != AUTH_SCOPE_NONE);
            if (res0->kind == AUTH_SAS_ACCOUNT)
                FUZZ_CHECK(strchr(res0->srt, (int)needs[i].level) != NULL);
        }
}

/* A1: with its signature swapped for a wrong one, an accepted signed request must fail. */
static void
check_tamper(struct auth_request *req, struct auth_kv *h, size_t nh, struct auth_kv *q, size_t nq,
             const struct auth_result *res0, int64_t now)
{
    static const char zero_sig[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const char *saved[MAXKV + 1];
    char *authz = NULL;
    struct arena *a;
    struct auth_result res;
    size_t i;

    if (res0->kind == AUTH_ANONYMOUS)
        return;
    if (res0->kind == AUTH_SHARED_KEY) {
        for (i = 0; i < nh; i++) {
            saved[i] = h[i].value;
            if (strcasecmp(h[i].name, "Authorization") == 0) {
                const char *colon = strchr(h[i].value, ':');
                if (colon == NULL)
                    abort();
                if (asprintf(&authz, "%.*s:%s", (int)(colon - h[i].value), h[i].value,
                             zero_sig) < 0)
                    abort();
                h[i].value = authz;
            }
        }
    } else {
        for (i = 0; i < nq; i++) {
            saved[i] = q[i].value;
            if (strcasecmp(q[i].name, "sig") == 0)
                q[i].value = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D";
        }
    }
    a = arena_new(16u << 20);
    FUZZ_CHECK(auth_authenticate(req, &acct, now, a, &res) != 0);
    check_failure(&res);
    arena_free(a);
    if (res0->kind == AUTH_SHARED_KEY)
        for (i = 0; i < nh; i++)
            h[i].value = saved[i];
    else
        for (i = 0; i < nq; i++)
            q[i].value = saved[i];
    free(authz);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    uint8_t flags = fz_u8(&f);
    char *fld[7], *qs, *hv[MAXKV];
    struct auth_kv h[MAXKV + 1], q[MAXKV + 1];
    struct auth_request req;
    struct auth_result res;
    struct arena *a;
    size_t nh = 0, nq = 0;
    int64_t now = flags & F_LATE ? NOW_2025 + 10LL * 365 * 86400 : NOW_2025;
    int rc;

    init_account();
    acct.nkeys = flags & F_TWOKEYS ? 2 : 1;
    for (int i = 0; i < 7; i++)
        fld[i] = fz_field(&f, 0xFF, NULL);
    while (f.n > 0 && nh < MAXKV) {
        char *colon;
        hv[nh] = fz_field(&f, 0xFF, NULL);
        colon = strchr(hv[nh], ':');
        if (colon != NULL) {
            *colon = '\0';
            h[nh].name = hv[nh];
            h[nh].value = colon + 1;
        } else {
            h[nh].name = hv[nh];
            h[nh].value = "";
        }
        nh++;
    }
    /* The query, split as the dispatcher splits it (raw names and values). */
    qs = strdup(fld[6]);
    for (char *p = qs, *amp; p != NULL && *p != '\0' && nq < MAXKV; p = amp) {
        char *eq;
        if ((amp = strchr(p, '&')) != NULL)
            *amp++ = '\0';
        if (*p == '\0')
            continue;
        q[nq].name = p;
        if ((eq = strchr(p, '=')) != NULL) {
            *eq = '\0';
            q[nq].value = eq + 1;
        } else {
            q[nq].value = "";
        }
        nq++;
    }

    memset(&req, 0, sizeof(req));
    req.method = fld[0];
    req.raw_path = fld[1];
    req.headers = h;
    req.nheaders = nh;
    req.query = q;
    req.nquery = nq;
    req.is_https = flags & F_HTTPS;
    req.client_addr = flags & F_V6 ? "::1" : "127.0.0.1";
    req.account = "devstoreaccount1";
    req.secondary = (flags & F_SECOND) != 0;
    req.container = opt(fld[2]);
    req.blob = req.container ? opt(fld[3]) : NULL;
    req.snapshot = opt(fld[4]);
    req.versionid = opt(fld[5]);

    a = arena_new(flags & 0x40 ? (1u << 14) : (16u << 20));
    rc = auth_authenticate(&req, flags & F_NOACCT ? NULL : &acct, now, a, &res);
    if (getenv("FUZZ_AUTH_DEBUG") != NULL)   /* to see what a corpus file does */
        fprintf(stderr, "auth: rc=%d kind=%d status=%d code=%s detail=%s\n", rc, (int)res.kind,
                res.status, res.code ? res.code : "-", res.detail ? res.detail : "-");
    if (rc != 0) {
        check_failure(&res);
    } else {
        check_sip(&req, &res);
        check_authorize(&req, &res);
        check_tamper(&req, h, nh, q, nq, &res, now);
    }

    if ((flags & F_RESIGN) && rc != 0 && is_sig_mismatch(&res) && !(flags & 0x40)) {
        size_t slen;
        char *sts = reported_sts(res.detail, &slen);
        if (sts != NULL) {
            unsigned char mac[AUTH_HMAC_LEN];
            char sig[BASE64_LEN(AUTH_HMAC_LEN) + 1];
            char *authz = NULL, *encsig = NULL;
            struct buf eb = BUF_INIT;
            int is_sas = strncmp(res.detail, "Signature did not match.", 24) == 0;
            struct arena *a2 = arena_new(16u << 20);
            struct auth_result res2;

            auth_hmac(&acct, 0, sts, slen, mac);
            base64_encode(mac, sizeof(mac), sig);
            if (is_sas) {
                pct_encode(&eb, sig, strlen(sig), 0);
                buf_putc(&eb, '\0');
                encsig = eb.p;
                for (size_t i = 0; i < nq; i++)
                    if (strcasecmp(q[i].name, "sig") == 0)
                        q[i].value = encsig;
            } else {
                for (size_t i = 0; i < nh; i++)
                    if (strcasecmp(h[i].name, "Authorization") == 0) {
                        const char *v = h[i].value + strspn(h[i].value, " \t");
                        int lite = strncasecmp(v, "SharedKeyLite", 13) == 0;
                        const char *colon = strchr(v, ':');
                        const char *sp = strchr(v, ' ');
                        int n = colon && sp && sp < colon ? (int)(colon - sp - 1) : 0;
                        if (asprintf(&authz, "%s %.*s:%s", lite ? "SharedKeyLite" : "SharedKey", n,
                                     sp ? sp + 1 : "", sig) < 0)
                            abort();
                        h[i].value = authz;
                    }
            }
            rc = auth_authenticate(&req, &acct, now, a2, &res2);
            if (getenv("FUZZ_AUTH_DEBUG") != NULL)
                fprintf(stderr, "re-signed: rc=%d kind=%d status=%d code=%s detail=%s\n", rc,
                        (int)res2.kind, res2.status, res2.code ? res2.code : "-",
                        res2.detail ? res2.detail : "-");
            if (rc != 0) {
                check_failure(&res2);
                if (is_sig_mismatch(&res2)) {
                    fprintf(stderr, "re-signed request refused; string-to-sign was:\n%.*s\n",
                            (int)slen, sts);
                    FUZZ_CHECK(!"A2: signed over the reported string-to-sign, still refused");
                }
            } else {
                FUZZ_CHECK(res2.kind != AUTH_ANONYMOUS);
                check_sip(&req, &res2);
                check_authorize(&req, &res2);
                check_tamper(&req, h, nh, q, nq, &res2, now);
            }
            arena_free(a2);
            free(authz);
            buf_free(&eb);
            free(sts);
        }
    }

    arena_free(a);
    free(qs);
    for (int i = 0; i < 7; i++)
        free(fld[i]);
    for (size_t i = 0; i < nh; i++)
        free(hv[i]);
    return 0;
}
