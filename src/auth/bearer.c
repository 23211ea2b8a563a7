/*
 * bearer.c -- OAuth 2.0 bearer tokens (protocol doc §3.10), the roles they are checked against,
 * and user delegation keys (§3.7, §4.10).
 *
 * A token is a JWS-signed JWT.  It is verified entirely from the directory built at start-up --
 * the issuers Cobalt trusts, each with the signing keys of its JWKS file and its audiences -- so
 * the request path makes no network call.  Order, each with Entra ID's wording in the
 * AuthenticationErrorDetail (401 InvalidAuthenticationInfo and a WWW-Authenticate challenge):
 *   1. three base64url parts, a JSON header and JSON claims ("The token is malformed.");
 *   2. alg RS256 or ES256 -- never "none", never an HMAC algorithm (the keys are public);
 *   3. iss one of the configured issuers ("Issuer validation failed");
 *   4. the key: the issuer's key of that kid (or, without a kid, each of its keys of the alg's
 *      type) verifies the signature ("Signature validation failed");
 *   5. exp required and nbf if present, with AUTH_SKEW_SECS of clock skew ("Lifetime validation
 *      failed");
 *   6. aud (a string or an array) one of https://storage.azure.com[/], Azure Storage's application
 *      id, https://<account>.blob.core.windows.net[/], https://<account>.<--host-suffix>[/], or
 *      one configured for the issuer ("Audience validation failed").
 * The principal is the token's oid (Entra ID's object id; sub when there is none), its tid and
 * its groups.  What it may do is auth_grants(): the union of the data actions of every role
 * assignment naming its oid, sub or one of its groups at the account or at the addressed
 * container.
 *
 * User delegation keys are not stored: a key's value is an HMAC, under the directory's secret
 * (--delegation-secret), of the fields Get User Delegation Key returns with it, and sas.c
 * recomputes it from the same fields of a SAS.  Rotating the secret revokes every key issued
 * under the old one, and every SAS signed with those.
 */
#include "auth/auth_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include "util/arena.h"
#include "util/codec.h"

struct auth_jwk {
    char *kid; /* NULL when the JWKS gives none */
    int ec;    /* 1: an EC P-256 key (ES256); 0: an RSA key (RS256) */
    EVP_PKEY *pkey;
};

#define MSG_BEARER_FAILED                                                                \
    "Server failed to authenticate the request. Please refer to the information in the " \
    "www-authenticate header."
#define STORAGE_APP_ID "e406a681-f3d4-42a8-90b6-c2b029497af1"

/* base64url (no padding) of in[0..n) into out (room for n * 3 / 4 + 3 bytes): its length, or -1. */
static long
b64url_decode(const char *in, size_t n, unsigned char *out)
{
    char *t;
    size_t i, m = (n + 3) / 4 * 4;
    long len;

    if (n % 4 == 1 || (t = malloc(m + 1)) == NULL)
        return -1;
    for (i = 0; i < n; i++) {
        char c = in[i];
        if (c == '+' || c == '/' || c == '=') { /* base64url's alphabet only */
            free(t);
            return -1;
        }
        t[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    for (; i < m; i++)
        t[i] = '=';
    len = base64_decode(t, m, out);
    free(t);
    return len;
}

/* A base64url field of a JSON object as bytes in the arena. */
static unsigned char *
b64url_field(struct arena *a, const struct json *obj, const char *key, size_t *len)
{
    const char *s = json_str(obj, key);
    unsigned char *out;
    long n;

    if (s == NULL || (out = arena_alloc(a, strlen(s) * 3 / 4 + 4)) == NULL ||
        (n = b64url_decode(s, strlen(s), out)) <= 0)
        return NULL;
    *len = (size_t)n;
    return out;
}

/* ---- keys ------------------------------------------------------------------------------------ */

static EVP_PKEY *
pkey_from(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/* One JWK (RSA, or EC P-256) into k; -1 when it is of another kind or malformed. */
static int
jwk_load(struct arena *a, const struct json *j, struct auth_jwk *k)
{
    const char *kty = json_str(j, "kty"), *use = json_str(j, "use"), *alg = json_str(j, "alg");
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *n = NULL, *e = NULL;
    unsigned char *x, *y, pub[65];
    size_t nl, el, xl, yl;

    memset(k, 0, sizeof(*k));
    if (bld == NULL || kty == NULL || (use != NULL && strcmp(use, "sig") != 0))
        goto out;
    if (strcmp(kty, "RSA") == 0 && (alg == NULL || strcmp(alg, "RS256") == 0)) {
        unsigned char *nb = b64url_field(a, j, "n", &nl), *eb = b64url_field(a, j, "e", &el);
        if (nb == NULL || eb == NULL || nl < 256 || (n = BN_bin2bn(nb, (int)nl, NULL)) == NULL ||
            (e = BN_bin2bn(eb, (int)el, NULL)) == NULL ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
            goto out;
        k->pkey = pkey_from("RSA", bld);
    } else if (strcmp(kty, "EC") == 0 && (alg == NULL || strcmp(alg, "ES256") == 0) &&
               json_str(j, "crv") != NULL && strcmp(json_str(j, "crv"), "P-256") == 0) {
        if ((x = b64url_field(a, j, "x", &xl)) == NULL ||
            (y = b64url_field(a, j, "y", &yl)) == NULL || xl != 32 || yl != 32)
            goto out;
        pub[0] = 0x04;
        memcpy(pub + 1, x, 32);
        memcpy(pub + 33, y, 32);
        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)))
            goto out;
        k->pkey = pkey_from("EC", bld);
        k->ec = 1;
    }
    if (k->pkey != NULL && json_str(j, "kid") != NULL &&
        (k->kid = strdup(json_str(j, "kid"))) == NULL) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
    }
out:
    BN_free(n);
    BN_free(e);
    OSSL_PARAM_BLD_free(bld);
    return k->pkey != NULL ? 0 : -1;
}

/* ---- the directory --------------------------------------------------------------------------- */

struct auth_directory *
auth_directory_new(void)
{
    return calloc(1, sizeof(struct auth_directory));
}

static void
issuer_free(struct auth_issuer *is)
{
    for (size_t k = 0; k < is->nkeys; k++) {
        EVP_PKEY_free(is->keys[k].pkey);
        free(is->keys[k].kid);
    }
    for (size_t k = 0; k < is->naudiences; k++)
        free(is->audiences[k]);
    free(is->keys);
    free(is->audiences);
    free(is->iss);
}

void
auth_directory_free(struct auth_directory *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->nissuers; i++)
        issuer_free(&d->issuers[i]);
    for (size_t i = 0; i < d->nroles; i++) {
        free(d->roles[i].id);
        free(d->roles[i].account);
        free(d->roles[i].container);
    }
    free(d->issuers);
    free(d->roles);
    OPENSSL_cleanse(d->secret, sizeof(d->secret));
    free(d);
}

int
auth_issuer_add(struct auth_directory *d, const char *iss, const char *jwks_text,
                const char *const *audiences, size_t naudiences, char *err, size_t errlen)
{
    struct arena *a = arena_new(4u << 20);
    const struct json *doc, *keys;
    struct auth_issuer is = {0}, *grown;
    int rc = -1;

    if (a == NULL)
        return -1;
    doc = json_parse(a, jwks_text, strlen(jwks_text));
    keys = json_get(doc, "keys");
    if (keys == NULL || keys->type != JSON_ARRAY) {
        snprintf(err, errlen, "the JWKS of issuer %s is not JSON with a \"keys\" array", iss);
        goto out;
    }
    if ((is.keys = calloc(keys->n ? keys->n : 1, sizeof(*is.keys))) == NULL ||
        (is.audiences = calloc(naudiences ? naudiences : 1, sizeof(*is.audiences))) == NULL ||
        (is.iss = strdup(iss)) == NULL)
        goto out;
    for (size_t i = 0; i < keys->n; i++)
        if (jwk_load(a, &keys->items[i], &is.keys[is.nkeys]) == 0)
            is.nkeys++;
    if (is.nkeys == 0) {
        snprintf(err, errlen, "the JWKS of issuer %s has no RS256 or ES256 (P-256) signing key",
                 iss);
        goto out;
    }
    for (; is.naudiences < naudiences; is.naudiences++)
        if ((is.audiences[is.naudiences] = strdup(audiences[is.naudiences])) == NULL)
            goto out;
    if ((grown = realloc(d->issuers, sizeof(*grown) * (d->nissuers + 1))) == NULL)
        goto out;
    d->issuers = grown;
    d->issuers[d->nissuers++] = is;
    memset(&is, 0, sizeof(is));
    rc = 0;
out:
    if (rc != 0)
        issuer_free(&is);
    arena_free(a);
    return rc;
}

static const struct {
    const char *name;
    unsigned actions;
} role_names[] = {
    {"Owner", AUTH_ROLE_OWNER},
    {"Contributor", AUTH_ROLE_CONTRIBUTOR},
    {"Reader", AUTH_ROLE_READER},
    {"Delegator", AUTH_ROLE_DELEGATOR},
};

int
auth_role_add(struct auth_directory *d, const char *spec, char *err, size_t errlen)
{
    char principal[256], role[64], scope[256], extra[2], *slash;
    struct auth_role r = {0}, *grown;
    size_t i;

    if (sscanf(spec, "%255s %63s %255s %1s", principal, role, scope, extra) != 3) {
        snprintf(err, errlen, "a role assignment is 'oid:ID|sub:ID|group:ID ROLE SCOPE'");
        return -1;
    }
    if (strncmp(principal, "oid:", 4) == 0)
        r.kind = AUTH_PRINCIPAL_OID;
    else if (strncmp(principal, "sub:", 4) == 0)
        r.kind = AUTH_PRINCIPAL_SUB;
    else if (strncmp(principal, "group:", 6) == 0)
        r.kind = AUTH_PRINCIPAL_GROUP;
    else {
        snprintf(err, errlen, "the principal '%s' is not oid:ID, sub:ID or group:ID", principal);
        return -1;
    }
    for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
        if (strcmp(role, role_names[i].name) == 0)
            break;
    if (i == sizeof(role_names) / sizeof(role_names[0])) {
        snprintf(err, errlen, "the role '%s' is not Owner, Contributor, Reader or Delegator", role);
        return -1;
    }
    r.actions = role_names[i].actions;
    if ((slash = strchr(scope, '/')) != NULL) {
        *slash = '\0';
        if (slash[1] == '\0' || strchr(slash + 1, '/') != NULL) {
            snprintf(err, errlen, "the scope is an account or account/container");
            return -1;
        }
    }
    if ((r.id = strdup(strchr(principal, ':') + 1)) == NULL ||
        (r.account = strdup(scope)) == NULL ||
        (slash != NULL && (r.container = strdup(slash + 1)) == NULL) ||
        (grown = realloc(d->roles, sizeof(*grown) * (d->nroles + 1))) == NULL) {
        free(r.id);
        free(r.account);
        free(r.container);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    d->roles = grown;
    d->roles[d->nroles++] = r;
    return 0;
}

static int
principal_has(const struct auth_result *res, const struct auth_role *r)
{
    switch (r->kind) {
    case AUTH_PRINCIPAL_OID:
        return res->oid != NULL && strcmp(res->oid, r->id) == 0;
    case AUTH_PRINCIPAL_SUB:
        return res->sub != NULL && strcmp(res->sub, r->id) == 0;
    case AUTH_PRINCIPAL_GROUP:
        for (size_t i = 0; i < res->ngroups; i++)
            if (strcmp(res->groups[i], r->id) == 0)
                return 1;
    }
    return 0;
}

unsigned
auth_grants(const struct auth_request *req, const struct auth_result *res)
{
    unsigned grants = 0;

    if (req->dir == NULL)
        return 0;
    for (size_t i = 0; i < req->dir->nroles; i++) {
        const struct auth_role *r = &req->dir->roles[i];
        if (strcmp(r->account, req->account) != 0 || !principal_has(res, r))
            continue;
        if (r->container == NULL ||
            (req->container != NULL && strcmp(r->container, req->container) == 0))
            grants |= r->actions;
    }
    return grants;
}

int
auth_delegation_key(const struct auth_directory *dir, const char *oid, const char *tid,
                    const char *start, const char *expiry, const char *version, const char *dutid,
                    unsigned char key[AUTH_HMAC_LEN])
{
    char msg[1024];
    unsigned len = AUTH_HMAC_LEN;
    int n;

    if (dir == NULL || dir->secretlen == 0)
        return -1;
    n = snprintf(msg, sizeof(msg), "%s\n%s\n%s\n%s\nb\n%s%s%s", oid, tid, start, expiry, version,
                 dutid != NULL ? "\n" : "", dutid != NULL ? dutid : "");
    if (n < 0 || (size_t)n >= sizeof(msg))
        return -1;
    HMAC(EVP_sha256(), dir->secret, (int)dir->secretlen, (const unsigned char *)msg, (size_t)n, key,
         &len);
    return 0;
}

/* ---- verifying a token ------------------------------------------------------------------------ */

/* 401 InvalidAuthenticationInfo with `why` as the detail, and the challenge Azure sends (fixed
 * text: `why` may quote the token, whose bytes have no place in a header). */
static int
bearer_refuse(struct arena *a, struct auth_result *res, const char *why)
{
    res->challenge = "Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/"
                     "authorize resource_id=https://storage.azure.com";
    return auth_fail(res, 401, "InvalidAuthenticationInfo", MSG_BEARER_FAILED,
                     why != NULL ? why : "The token is invalid.");
}

/* The signature sig[0..n) over data, by key k (ES256's is r || s, 32 bytes each). */
static int
signature_ok(const struct auth_jwk *k, const char *data, size_t len, const unsigned char *sig,
             size_t n)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80], *p = der;
    const unsigned char *s = sig;
    ECDSA_SIG *es = NULL;
    int ok = 0, dl;

    if (md == NULL)
        return 0;
    if (k->ec) {
        BIGNUM *r, *ss;
        if (n != 64 || (es = ECDSA_SIG_new()) == NULL)
            goto out;
        r = BN_bin2bn(sig, 32, NULL);
        ss = BN_bin2bn(sig + 32, 32, NULL);
        if (r == NULL || ss == NULL || !ECDSA_SIG_set0(es, r, ss)) {
            BN_free(r);
            BN_free(ss);
            goto out;
        }
        if ((dl = i2d_ECDSA_SIG(es, NULL)) <= 0 || dl > (int)sizeof(der) ||
            i2d_ECDSA_SIG(es, &p) != dl)
            goto out;
        s = der;
        n = (size_t)dl;
    }
    ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
         EVP_DigestVerify(md, s, n, (const unsigned char *)data, len) == 1;
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    return ok;
}

/* A base64url part of the token decoded as JSON. */
static const struct json *
json_part(struct arena *a, const char *p, size_t n)
{
    unsigned char *raw = arena_alloc(a, n * 3 / 4 + 4);
    long len;

    if (raw == NULL || (len = b64url_decode(p, n, raw)) <= 0)
        return NULL;
    raw[len] = '\0';
    return json_parse(a, (const char *)raw, (size_t)len);
}

static int
audience_ok(const struct auth_request *req, const struct auth_issuer *is, const char *aud)
{
    const char *acct = req->account, *suffix = req->dir->host_suffix;
    size_t n = strlen(aud);
    char host[512];

    if (n > 0 && aud[n - 1] == '/')
        n--; /* the standard audiences are accepted with or without their trailing slash */
    if ((n == 25 && strncmp(aud, "https://storage.azure.com", n) == 0) ||
        strcmp(aud, STORAGE_APP_ID) == 0)
        return 1;
    snprintf(host, sizeof(host), "https://%s.blob.core.windows.net", acct);
    if (strlen(host) == n && strncmp(aud, host, n) == 0)
        return 1;
    if (suffix != NULL) {
        snprintf(host, sizeof(host), "https://%s.%s", acct, suffix);
        if (strlen(host) == n && strncmp(aud, host, n) == 0)
            return 1;
    }
    for (size_t i = 0; i < is->naudiences; i++)
        if (strcmp(aud, is->audiences[i]) == 0)
            return 1;
    return 0;
}

/* exp, nbf: whole seconds (JSON numbers; fractions are truncated). */
static int
time_claim(const struct json *claims, const char *name, int64_t *out)
{
    const struct json *v = json_get(claims, name);

    if (v == NULL)
        return 0;
    if (v->type != JSON_NUMBER || v->num < 0 || v->num > 253402300799.0)
        return -1;
    *out = (int64_t)v->num;
    return 1;
}

int
auth_bearer(const struct auth_request *req, const char *token, int64_t now, struct arena *a,
            struct auth_result *res)
{
    const char *dot1 = strchr(token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    const struct json *hdr, *claims, *aud, *groups;
    const struct auth_issuer *is = NULL;
    const char *alg, *kid, *iss;
    unsigned char *sig;
    long siglen;
    int64_t exp, nbf;
    int ec, verified = 0, has;
    size_t i;

    if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL ||
        (hdr = json_part(a, token, (size_t)(dot1 - token))) == NULL ||
        (claims = json_part(a, dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL ||
        hdr->type != JSON_OBJECT || claims->type != JSON_OBJECT ||
        (sig = arena_alloc(a, strlen(dot2 + 1) * 3 / 4 + 4)) == NULL)
        return bearer_refuse(a, res, "The token is malformed.");
    alg = json_str(hdr, "alg");
    if (alg == NULL || (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0) ||
        json_get(hdr, "crit") != NULL)
        return bearer_refuse(a, res,
                             "Signature validation failed. The token's algorithm is not "
                             "supported (RS256 and ES256 are).");
    ec = strcmp(alg, "ES256") == 0;
    iss = json_str(claims, "iss");
    for (i = 0; iss != NULL && req->dir != NULL && i < req->dir->nissuers; i++)
        if (strcmp(req->dir->issuers[i].iss, iss) == 0)
            is = &req->dir->issuers[i];
    if (is == NULL)
        return bearer_refuse(a, res, "Issuer validation failed. Issuer did not match.");
    if ((siglen = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig)) <= 0)
        return bearer_refuse(a, res, "The token is malformed.");
    kid = json_str(hdr, "kid");
    for (i = 0, has = 0; i < is->nkeys && !verified; i++) {
        const struct auth_jwk *k = &is->keys[i];
        if (k->ec != ec || (kid != NULL && (k->kid == NULL || strcmp(k->kid, kid) != 0)))
            continue;
        has = 1;
        verified = signature_ok(k, token, (size_t)(dot2 - token), sig, (size_t)siglen);
    }
    if (!has)
        return bearer_refuse(a, res,
                             arena_printf(a,
                                          "Signature validation failed. Unable to match key: "
                                          "kid: '%s'.",
                                          kid != NULL ? kid : ""));
    if (!verified)
        return bearer_refuse(a, res, "Signature validation failed. The signature is invalid.");
    if (time_claim(claims, "exp", &exp) != 1 || time_claim(claims, "nbf", &nbf) < 0)
        return bearer_refuse(a, res, "Lifetime validation failed. The token has no valid exp.");
    if (exp <= now - AUTH_SKEW_SECS)
        return bearer_refuse(a, res, "Lifetime validation failed. The token is expired.");
    if (time_claim(claims, "nbf", &nbf) == 1 && nbf > now + AUTH_SKEW_SECS)
        return bearer_refuse(a, res, "Lifetime validation failed. The token is not yet valid.");
    aud = json_get(claims, "aud");
    has = 0;
    if (aud != NULL && aud->type == JSON_STRING)
        has = audience_ok(req, is, aud->str);
    for (i = 0; aud != NULL && aud->type == JSON_ARRAY && i < aud->n && !has; i++)
        has = aud->items[i].type == JSON_STRING && audience_ok(req, is, aud->items[i].str);
    if (!has)
        return bearer_refuse(a, res, "Audience validation failed. Audience did not match.");

    res->kind = AUTH_BEARER;
    res->sub = json_str(claims, "sub");
    res->oid = json_str(claims, "oid") != NULL ? json_str(claims, "oid") : res->sub;
    res->tid = json_str(claims, "tid") != NULL ? json_str(claims, "tid") : "";
    if (res->oid == NULL)
        return bearer_refuse(a, res, "The token names no principal (oid or sub).");
    groups = json_get(claims, "groups");
    if (groups != NULL && groups->type == JSON_ARRAY && groups->n > 0) {
        const char **g = arena_alloc(a, sizeof(*g) * groups->n);
        if (g == NULL)
            return auth_fail_oom(res);
        for (i = 0; i < groups->n; i++)
            if (groups->items[i].type == JSON_STRING)
                g[res->ngroups++] = groups->items[i].str;
        res->groups = g;
    }
    return 0;
}
