/*
 * sas.c -- shared access signatures in the query string (protocol doc §3.4-§3.6).
 *
 * Validation order, as Azure does it: parse (duplicates and malformed escapes refused) -> kind
 * (account SAS when ss/srt is present, else service SAS) -> recompute the string-to-sign for the
 * layout `sv` selects and compare HMACs under both keys -> st/se with AUTH_SKEW_SECS of skew ->
 * protocol (spr) -> source address (sip) -> service (ss).  Permissions and resource types are
 * checked per route later, in auth_authorize().
 *
 * sip is compared with the address of the socket peer (req->client_addr), never with a header:
 * X-Forwarded-For and the like are whatever the caller wants them to be.  Behind a proxy every
 * request comes from the proxy's address, so a sip naming end users' addresses refuses them all;
 * there is no trusted-proxy option yet.  An empty sip restricts nothing (it signs as absent).
 *
 * Scope of a service SAS: its canonicalised resource is built from the container, blob, snapshot
 * and version the *request* addresses, so a SAS signed for another container or blob simply fails
 * the signature (403 AuthenticationFailed, as in Azure).  A request that does not address a
 * resource of the SAS's kind at all (a blob SAS on a container URL, sr=bs without ?snapshot=) gets
 * 403 AuthorizationResourceTypeMismatch.
 *
 * Stored access policies (si): the signature covers the SAS's own (possibly empty) sp/st/se; each
 * field the SAS leaves out comes from the container's policy; one given by both is refused, and so
 * is an unknown policy id.  Changing or removing the policy therefore revokes such SASes at once.
 *
 * User delegation SAS (skoid & co., §3.7): a service SAS signed with a user delegation key instead
 * of the account key.  The key is recomputed from the SAS's skoid, sktid, skt, ske, skv (and
 * skdutid) under the directory's secret (auth_delegation_key(), bearer.c), so a key issued under
 * another secret, or with any of those fields changed, fails the signature.  The key must be
 * within its validity (skt..ske, with AUTH_SKEW_SECS) and the SAS may not outlive it; sks must be
 * 'b'; a stored policy (si) is refused.  What it may do is its letters *and* what the roles of
 * its principal (skoid) grant when it is used (auth_authorize()).  A SAS bound to an end user
 * (sduoid) is refused: that needs the user's own bearer token on the same request.
 *
 * Not supported, refused with 403 AuthenticationFailed and a message saying so: directory SAS
 * (sr=d).
 */
#include "auth/auth_int.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <strings.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/timefmt.h"

enum sas_field {
    F_SV,
    F_SS,
    F_SRT,
    F_SR,
    F_SP,
    F_ST,
    F_SE,
    F_SPR,
    F_SIP,
    F_SI,
    F_SIG,
    F_SES,
    F_RSCC,
    F_RSCD,
    F_RSCE,
    F_RSCL,
    F_RSCT,
    F_SKOID,
    F_SKTID,
    F_SKT,
    F_SKE,
    F_SKS,
    F_SKV,
    F_SAOID,
    F_SUOID,
    F_SCID,
    F_SKDUTID,
    F_SDUOID,
    F_SRH,
    F_SRQ,
    F_SDD,
    F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "sv",  "ss",    "srt",   "sr",   "sp",      "st",     "se",    "spr",   "sip", "si",  "sig",
    "ses", "rscc",  "rscd",  "rsce", "rscl",    "rsct",   "skoid", "sktid", "skt", "ske", "sks",
    "skv", "saoid", "suoid", "scid", "skdutid", "sduoid", "srh",   "srq",   "sdd",
};

#define MSG_PROTOCOL_MISMATCH \
    "This request is not authorized to perform this operation using this protocol."
#define MSG_SERVICE_MISMATCH \
    "This request is not authorized to perform this operation using this service."
#define MSG_RESOURCE_TYPE_MISMATCH \
    "This request is not authorized to perform this operation using this resource type."

static int
sas_refuse(struct auth_result *res, const char *detail)
{
    return auth_fail(res, 403, "AuthenticationFailed", MSG_AUTH_FAILED, detail);
}

/*
 * Fills f[] with the decoded SAS fields (NULL when absent).  Names match case-insensitively; a
 * field given twice, a malformed escape or an encoded NUL refuses the SAS.  '+' stays '+'.
 */
static int
parse_fields(const struct auth_request *req, struct arena *a, const char *f[F_COUNT],
             struct auth_result *res)
{
    const char *raw;
    size_t i, len;
    int k;

    memset(f, 0, F_COUNT * sizeof(f[0]));
    for (i = 0; i < req->nquery; i++) {
        if (req->query[i].name == NULL)
            continue;
        for (k = 0; k < F_COUNT && strcasecmp(req->query[i].name, field_names[k]) != 0; k++)
            ;
        if (k == F_COUNT)
            continue;
        if (f[k] != NULL)
            return sas_refuse(res, arena_printf(a,
                                                "The SAS parameter '%s' appears more than "
                                                "once.",
                                                field_names[k]));
        raw = req->query[i].value != NULL ? req->query[i].value : "";
        f[k] = pct_decode(a, raw, strlen(raw), &len);
        if (f[k] == NULL || len != strlen(f[k]))
            return sas_refuse(res, arena_printf(a,
                                                "The SAS parameter '%s' is not correctly "
                                                "percent-encoded.",
                                                field_names[k]));
    }
    return 0;
}

/* "YYYY-MM-DD" with digits where digits belong (then strcmp orders versions). */
static int
version_ok(const char *v)
{
    int i;

    if (v == NULL || strlen(v) != 10)
        return 0;
    for (i = 0; i < 10; i++)
        if (i == 4 || i == 7 ? v[i] != '-' : v[i] < '0' || v[i] > '9')
            return 0;
    return 1;
}

/* Permission letters to bits; -1 for anything but a-z. */
static int
parse_perms(const char *sp, uint32_t *perms)
{
    *perms = 0;
    for (; *sp != '\0'; sp++) {
        if (*sp < 'a' || *sp > 'z')
            return -1;
        *perms |= AUTH_P(*sp);
    }
    return 0;
}

/* Joins fields with LF (and a trailing LF when `trailing`) into b. */
static void
join_lf(struct buf *b, const char *const *fields, size_t n, int trailing)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (i > 0)
            buf_putc(b, '\n');
        buf_puts(b, fields[i] != NULL ? fields[i] : "");
    }
    if (trailing)
        buf_putc(b, '\n');
}

/* Account SAS string-to-sign (§3.6); the caller checked sv >= 2015-04-05. */
static void
account_sts(struct buf *b, const char *account, const char *const f[F_COUNT])
{
    const char *fields[10] = {account, f[F_SP],  f[F_SS],  f[F_SRT], f[F_ST],
                              f[F_SE], f[F_SIP], f[F_SPR], f[F_SV],  f[F_SES]};

    join_lf(b, fields, strcmp(f[F_SV], "2020-12-06") >= 0 ? 10 : 9, 1);
}

/* Service SAS string-to-sign (§3.5) for the layout of sv; the caller checked sv >= 2012-02-12. */
static void
service_sts(struct buf *b, const char *resource, const char *snapshot, const char *const f[F_COUNT])
{
    const char *fields[17];
    const char *sv = f[F_SV];
    size_t n = 0;
    int k;

    fields[n++] = f[F_SP];
    fields[n++] = f[F_ST];
    fields[n++] = f[F_SE];
    fields[n++] = resource;
    fields[n++] = f[F_SI];
    if (strcmp(sv, "2015-04-05") >= 0) {
        fields[n++] = f[F_SIP];
        fields[n++] = f[F_SPR];
    }
    fields[n++] = sv;
    if (strcmp(sv, "2018-11-09") >= 0) {
        fields[n++] = f[F_SR];
        fields[n++] = snapshot;
    }
    if (strcmp(sv, "2020-12-06") >= 0)
        fields[n++] = f[F_SES];
    if (strcmp(sv, "2013-08-15") >= 0)
        for (k = F_RSCC; k <= F_RSCT; k++)
            fields[n++] = f[k];
    join_lf(b, fields, n, 0);
}

/* srh (request headers, "name:value" + LF each) or srq (query parameters, LF + "name:value"
 * each) block of a user delegation SAS >= 2026-04-06 (§3.7): the named values from the request. */
static const char *
bound_block(const struct auth_request *req, const char *names, int query, struct arena *a)
{
    struct buf b = BUF_INIT;
    const char *out, *p = names;

    while (p != NULL && *p != '\0') {
        size_t n = strcspn(p, ",");
        char *name = arena_strndup(a, p, n);
        const char *v = NULL;
        size_t len;

        if (name == NULL)
            break;
        if (!query) {
            v = auth_header(req, name, NULL);
        } else {
            for (size_t i = 0; i < req->nquery && v == NULL; i++)
                if (req->query[i].name != NULL && strcmp(req->query[i].name, name) == 0)
                    v = pct_decode(a, req->query[i].value ? req->query[i].value : "",
                                   strlen(req->query[i].value ? req->query[i].value : ""), &len);
        }
        if (query)
            buf_putc(&b, '\n');
        buf_puts(&b, name);
        buf_putc(&b, ':');
        buf_puts(&b, v != NULL ? v : "");
        if (!query)
            buf_putc(&b, '\n');
        p = p[n] == ',' ? p + n + 1 : NULL;
    }
    out = buf_ok(&b) && b.p != NULL ? arena_strndup(a, b.p, b.len) : "";
    buf_free(&b);
    return out;
}

/* User delegation SAS string-to-sign (§3.7) for the layout of sv (>= 2018-11-09). */
static void
delegation_sts(struct buf *b, const struct auth_request *req, const char *resource,
               const char *snapshot, const char *const f[F_COUNT], struct arena *a)
{
    const char *fields[32];
    const char *sv = f[F_SV];
    size_t n = 0;
    int k;

    fields[n++] = f[F_SP];
    fields[n++] = f[F_ST];
    fields[n++] = f[F_SE];
    fields[n++] = resource;
    for (k = F_SKOID; k <= F_SKV; k++)
        fields[n++] = f[k];
    if (strcmp(sv, "2020-02-10") >= 0) {
        fields[n++] = f[F_SAOID];
        fields[n++] = f[F_SUOID];
        fields[n++] = f[F_SCID];
    }
    if (strcmp(sv, "2025-07-05") >= 0) {
        fields[n++] = f[F_SKDUTID];
        fields[n++] = f[F_SDUOID];
    }
    fields[n++] = f[F_SIP];
    fields[n++] = f[F_SPR];
    fields[n++] = sv;
    fields[n++] = f[F_SR];
    fields[n++] = snapshot;
    if (strcmp(sv, "2020-12-06") >= 0)
        fields[n++] = f[F_SES];
    if (strcmp(sv, "2026-04-06") >= 0) {
        fields[n++] = f[F_SRH] != NULL ? bound_block(req, f[F_SRH], 0, a) : "";
        fields[n++] = f[F_SRQ] != NULL ? bound_block(req, f[F_SRQ], 1, a) : "";
    }
    for (k = F_RSCC; k <= F_RSCT; k++)
        fields[n++] = f[k];
    join_lf(b, fields, n, 0);
}

/*
 * The user delegation key a SAS names, checked (see the top of this file).  0 with key filled, or
 * -1 with res filled.
 */
static int
delegation_key(const struct auth_request *req, const char *const f[F_COUNT], int64_t now,
               struct arena *a, unsigned char key[AUTH_HMAC_LEN], struct auth_result *res)
{
    int64_t skt, ske, se;

    for (int k = F_SKOID; k <= F_SKV; k++)
        if (f[k] == NULL)
            return sas_refuse(res, arena_printf(a,
                                                "A user delegation SAS must carry skoid, sktid, "
                                                "skt, ske, sks and skv; '%s' is missing.",
                                                field_names[k]));
    if (f[F_SI] != NULL)
        return sas_refuse(res, "A user delegation SAS cannot name a stored access policy (si).");
    if (strcmp(f[F_SKS], "b") != 0)
        return sas_refuse(res, "The signed key service (sks) must be 'b'.");
    if (f[F_SDUOID] != NULL && f[F_SDUOID][0] != '\0')
        return sas_refuse(res, "A user delegation SAS bound to an end user (sduoid) is not "
                               "supported.");
    if (strcmp(f[F_SV], "2018-11-09") < 0)
        return sas_refuse(res, "User delegation SAS requires sv 2018-11-09 or later.");
    if (parse_iso8601(f[F_SKT], &skt) != 0 || parse_iso8601(f[F_SKE], &ske) != 0)
        return sas_refuse(res, "The signed key start (skt) or expiry (ske) is malformed.");
    if (ske <= (now - AUTH_SKEW_SECS) * TICKS_PER_SEC)
        return sas_refuse(res, "The user delegation key has expired (ske).");
    if (skt > (now + AUTH_SKEW_SECS) * TICKS_PER_SEC)
        return sas_refuse(res, "The user delegation key is not yet valid (skt).");
    if (f[F_SE] != NULL && parse_iso8601(f[F_SE], &se) == 0 && se > ske)
        return sas_refuse(res, "The SAS expiry (se) is after its key's expiry (ske).");
    if (auth_delegation_key(req->dir, f[F_SKOID], f[F_SKTID], f[F_SKT], f[F_SKE], f[F_SKV],
                            f[F_SKDUTID], key) != 0)
        return sas_refuse(res, "User delegation keys are not enabled on this server.");
    return 0;
}

/* 1 if the base64 signature sig is the HMAC-SHA256 of msg under key[0..AUTH_HMAC_LEN). */
static int
sig_matches_key(const unsigned char key[AUTH_HMAC_LEN], const char *sig, const char *msg, size_t n)
{
    unsigned char want[48], mac[AUTH_HMAC_LEN];
    unsigned len = AUTH_HMAC_LEN;

    if (strlen(sig) != BASE64_LEN(AUTH_HMAC_LEN) ||
        base64_decode(sig, strlen(sig), want) != AUTH_HMAC_LEN)
        return 0;
    HMAC(EVP_sha256(), key, AUTH_HMAC_LEN, (const unsigned char *)msg, n, mac, &len);
    return CRYPTO_memcmp(mac, want, AUTH_HMAC_LEN) == 0;
}

/*
 * Service SAS: checks sr against what the request addresses and builds the canonicalised resource
 * and snapshot line.  0, or -1 with res filled.
 */
static int
service_resource(const struct auth_request *req, const char *account, const char *const f[F_COUNT],
                 struct arena *a, const char **resource, const char **snapshot,
                 struct auth_result *res)
{
    const char *sr = f[F_SR], *prefix = strcmp(f[F_SV], "2015-02-21") >= 0 ? "/blob/" : "/";

    *snapshot = "";
    if (sr == NULL)
        return sas_refuse(res, "The SAS is missing the signed resource (sr).");
    if (strcmp(sr, "d") == 0)
        return sas_refuse(res, "Directory SAS (sr=d) is not supported.");
    if (strcmp(sr, "c") != 0 && strcmp(sr, "b") != 0 && strcmp(sr, "bs") != 0 &&
        strcmp(sr, "bv") != 0)
        return sas_refuse(res, arena_printf(a, "Unknown signed resource sr=%s.", sr));
    if (req->container == NULL || (sr[0] == 'b' && req->blob == NULL) ||
        (strcmp(sr, "bs") == 0 && req->snapshot == NULL) ||
        (strcmp(sr, "bv") == 0 && req->versionid == NULL))
        return auth_fail(res, 403, "AuthorizationResourceTypeMismatch", MSG_RESOURCE_TYPE_MISMATCH,
                         arena_printf(a,
                                      "The request does not address a resource of the SAS's "
                                      "signed resource type sr=%s.",
                                      sr));
    if (strcmp(sr, "c") == 0)
        *resource = arena_printf(a, "%s%s/%s", prefix, account, req->container);
    else
        *resource = arena_printf(a, "%s%s/%s/%s", prefix, account, req->container, req->blob);
    if (strcmp(sr, "bs") == 0)
        *snapshot = req->snapshot;
    else if (strcmp(sr, "bv") == 0)
        *snapshot = req->versionid;
    if (*resource == NULL)
        return auth_fail_oom(res);
    return 0;
}

/* st/se against now (Unix seconds) with AUTH_SKEW_SECS of skew either way. */
static int
check_times(const char *const f[F_COUNT], int64_t now, struct arena *a, struct auth_result *res)
{
    int64_t st = 0, se;
    char when[30], now_s[30];

    if (f[F_ST] != NULL && f[F_ST][0] != '\0' && parse_iso8601(f[F_ST], &st) != 0)
        return sas_refuse(res, arena_printf(a, "Signed start time '%s' is malformed.", f[F_ST]));
    if (parse_iso8601(f[F_SE], &se) != 0)
        return sas_refuse(res, arena_printf(a, "Signed expiry time '%s' is malformed.", f[F_SE]));
    fmt_rfc1123(now * TICKS_PER_SEC, now_s);
    if (f[F_ST] != NULL && f[F_ST][0] != '\0') {
        fmt_rfc1123(st, when);
        if (se <= st)
            return sas_refuse(res, arena_printf(a,
                                                "Signed expiry time must be after signed "
                                                "start time [%s].",
                                                when));
        if (st > (now + AUTH_SKEW_SECS) * TICKS_PER_SEC)
            return sas_refuse(res, arena_printf(a,
                                                "Signed start time [%s] is after the current "
                                                "time [%s].",
                                                when, now_s));
    }
    if (se <= (now - AUTH_SKEW_SECS) * TICKS_PER_SEC) {
        fmt_rfc1123(se, when);
        return sas_refuse(res, arena_printf(a,
                                            "Signed expiry time [%s] is before the current "
                                            "time [%s].",
                                            when, now_s));
    }
    return 0;
}

/* spr: "https" or "https,http" (tokens in any order).  Plain HTTP needs the "http" token. */
static int
check_protocol(const struct auth_request *req, const char *spr, struct arena *a,
               struct auth_result *res)
{
    const char *p = spr, *e;
    size_t n;
    int http = 0;

    if (spr == NULL)
        return 0;
    for (;;) {
        e = strchr(p, ',');
        n = e != NULL ? (size_t)(e - p) : strlen(p);
        if (n == 4 && strncmp(p, "http", 4) == 0)
            http = 1;
        else if (!(n == 5 && strncmp(p, "https", 5) == 0))
            return sas_refuse(res, arena_printf(a, "Signed protocol '%s' is invalid.", spr));
        if (e == NULL)
            break;
        p = e + 1;
    }
    if (!req->is_https && !http)
        return auth_fail(res, 403, "AuthorizationProtocolMismatch", MSG_PROTOCOL_MISMATCH,
                         "The SAS only allows HTTPS.");
    return 0;
}

/* One address of either family into out (network order): its length (4 or 16), or 0. */
static size_t
parse_addr(const char *s, size_t n, unsigned char out[16])
{
    char t[INET6_ADDRSTRLEN];

    if (n == 0 || n >= sizeof(t))
        return 0;
    memcpy(t, s, n);
    t[n] = '\0';
    if (inet_pton(AF_INET, t, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, t, out) == 1)
        return 16;
    return 0;
}

int
auth_sip_match(const char *sip, const char *addr)
{
    unsigned char lo[16], hi[16], ip[16];
    const char *dash = strchr(sip, '-');
    size_t nlo, nhi, nip;

    nlo = parse_addr(sip, dash != NULL ? (size_t)(dash - sip) : strlen(sip), lo);
    nhi = dash != NULL ? parse_addr(dash + 1, strlen(dash + 1), hi) : nlo;
    if (dash == NULL)
        memcpy(hi, lo, sizeof(hi));
    if (nlo == 0 || nhi != nlo || memcmp(lo, hi, nlo) > 0)
        return -1;
    nip = addr != NULL ? parse_addr(addr, strlen(addr), ip) : 0;
    return nip == nlo && memcmp(lo, ip, nip) <= 0 && memcmp(ip, hi, nip) <= 0;
}

/* sip against the caller's address (see the top of this file). */
static int
check_source_ip(const struct auth_request *req, const char *sip, struct arena *a,
                struct auth_result *res)
{
    const char *msg;
    int m;

    if (sip == NULL || sip[0] == '\0')
        return 0;
    if ((m = auth_sip_match(sip, req->client_addr)) < 0)
        return sas_refuse(res, arena_printf(a, "Signed IP '%s' is malformed.", sip));
    if (m == 0) {
        msg = arena_printf(a,
                           "This request is not authorized to perform this operation using "
                           "this source IP %s.",
                           req->client_addr != NULL ? req->client_addr : "");
        return auth_fail(res, 403, "AuthorizationSourceIPMismatch",
                         msg != NULL ? msg
                                     : "This request is not authorized to perform this "
                                       "operation using this source IP.",
                         arena_printf(a, "The SAS allows the source IP range '%s' only.", sip));
    }
    return 0;
}

int
auth_sas(const struct auth_request *req, const struct auth_account *acct, int64_t now,
         struct arena *a, struct auth_result *res)
{
    const char *f[F_COUNT], *resource = NULL, *snapshot = "", *sts_copy;
    const struct auth_policy *policy = NULL;
    struct buf sts = BUF_INIT;
    unsigned char udkey[AUTH_HMAC_LEN];
    int account_sas, delegated, rc = -1, matched;
    size_t len;

    if (parse_fields(req, a, f, res) != 0)
        return -1;
    if (acct == NULL)
        return sas_refuse(res, "The account of the request does not exist.");
    if (!version_ok(f[F_SV]))
        return sas_refuse(res, "The SAS signed version (sv) is missing or malformed.");
    account_sas = f[F_SS] != NULL || f[F_SRT] != NULL;
    delegated = !account_sas && f[F_SKOID] != NULL; /* §3.1's order */
    if (delegated && delegation_key(req, f, now, a, udkey, res) != 0)
        return -1;
    if (f[F_SI] != NULL) {
        size_t i;
        if (account_sas)
            return sas_refuse(res, "An account SAS cannot name a stored access policy (si).");
        for (i = 0; i < req->npolicies && strcmp(req->policies[i].id, f[F_SI]) != 0; i++)
            ;
        if (i == req->npolicies)
            return sas_refuse(res, arena_printf(a,
                                                "The stored access policy '%s' does not exist "
                                                "on the container.",
                                                f[F_SI]));
        policy = &req->policies[i];
        if ((f[F_SP] && policy->permission[0]) || (f[F_ST] && policy->start[0]) ||
            (f[F_SE] && policy->expiry[0]))
            return sas_refuse(res, "A field is specified both in the SAS and in the stored access "
                                   "policy.");
    }
    if (f[F_SIG] == NULL || (policy == NULL && (f[F_SP] == NULL || f[F_SE] == NULL)))
        return sas_refuse(
            res, "The SAS must carry a signature (sig), permissions (sp) and expiry (se).");

    if (account_sas) {
        if (f[F_SS] == NULL || f[F_SRT] == NULL)
            return sas_refuse(res, "An account SAS must carry both ss and srt.");
        if (strcmp(f[F_SV], "2015-04-05") < 0)
            return sas_refuse(res, "Account SAS requires sv 2015-04-05 or later.");
        account_sts(&sts, acct->name, f);
    } else {
        if (strcmp(f[F_SV], "2012-02-12") < 0)
            return sas_refuse(res, "Service SAS requires sv 2012-02-12 or later.");
        if (service_resource(req, acct->name, f, a, &resource, &snapshot, res) != 0)
            goto done;
        if (delegated)
            delegation_sts(&sts, req, resource, snapshot, f, a);
        else
            service_sts(&sts, resource, snapshot, f);
    }
    if (!buf_ok(&sts)) {
        rc = auth_fail_oom(res);
        goto done;
    }
    matched = delegated ? sig_matches_key(udkey, f[F_SIG], sts.p, sts.len)
                        : auth_sig_matches(acct, f[F_SIG], sts.p, sts.len);
    OPENSSL_cleanse(udkey, sizeof(udkey));
    if (!matched) {
        sts_copy = arena_strndup(a, sts.p, sts.len);
        rc = sas_refuse(res, arena_printf(a,
                                          "Signature did not match. String to sign used was "
                                          "'%s'.",
                                          sts_copy != NULL ? sts_copy : ""));
        goto done;
    }
    if (policy != NULL) {
        /* The signature covered the SAS's own fields; the policy supplies the rest. */
        if (f[F_SP] == NULL)
            f[F_SP] = policy->permission;
        if (f[F_ST] == NULL && policy->start[0])
            f[F_ST] = policy->start;
        if (f[F_SE] == NULL)
            f[F_SE] = policy->expiry;
        if (f[F_SE][0] == '\0' || f[F_SP][0] == '\0') {
            rc = sas_refuse(res, "Neither the SAS nor its stored access policy gives an expiry "
                                 "and permissions.");
            goto done;
        }
    }
    if (check_times(f, now, a, res) != 0 || check_protocol(req, f[F_SPR], a, res) != 0 ||
        check_source_ip(req, f[F_SIP], a, res) != 0)
        goto done;
    if (parse_perms(f[F_SP], &res->perms) != 0) {
        rc = sas_refuse(res, "The signed permissions (sp) are malformed.");
        goto done;
    }

    if (account_sas) {
        if (strchr(f[F_SS], 'b') == NULL) {
            rc = auth_fail(res, 403, "AuthorizationServiceMismatch", MSG_SERVICE_MISMATCH,
                           "The SAS does not grant access to the blob service (ss).");
            goto done;
        }
        len = strlen(f[F_SRT]);
        if (len == 0 || len >= sizeof(res->srt) || strspn(f[F_SRT], "sco") != len) {
            rc = sas_refuse(res, "The signed resource types (srt) are malformed.");
            goto done;
        }
        memcpy(res->srt, f[F_SRT], len + 1);
        res->kind = AUTH_SAS_ACCOUNT;
    } else {
        memcpy(res->sr, f[F_SR], strlen(f[F_SR]) + 1);
        /* The overrides are honoured only where the signature covers them. */
        if (strcmp(f[F_SV], "2013-08-15") >= 0) {
            res->rscc = f[F_RSCC];
            res->rscd = f[F_RSCD];
            res->rsce = f[F_RSCE];
            res->rscl = f[F_RSCL];
            res->rsct = f[F_RSCT];
        }
        res->kind = AUTH_SAS_SERVICE;
        res->delegated = delegated;
        if (delegated) { /* its principal, whose roles auth_authorize() checks */
            res->oid = f[F_SKOID];
            res->tid = f[F_SKTID];
        }
    }
    rc = 0;
done:
    buf_free(&sts);
    return rc;
}
