/*
 * auth.c -- the authentication dispatcher (protocol doc §3.1), authorisation of an authenticated
 * caller against a route's needs (§3.8, §3.11), and the helpers the scheme files share.
 *
 * Sits between the HTTP layer and the route table: the dispatcher calls auth_authenticate() then
 * auth_authorize() before any handler runs.  Everything is a pure function of the request, the
 * account's keys and the clock passed in; results live in the request's arena.
 */
#include "auth/auth_int.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/arena.h"
#include "util/codec.h"

int
auth_fail(struct auth_result *res, int status, const char *code, const char *message,
          const char *detail)
{
    res->status = status;
    res->code = code;
    res->message = message;
    res->detail = detail;
    return -1;
}

int
auth_fail_oom(struct auth_result *res)
{
    return auth_fail(res, 503, "ServerBusy", "The server is busy.", NULL);
}

const char *
auth_header(const struct auth_request *req, const char *name, int *count)
{
    const char *found = NULL;
    int n = 0;
    size_t i;

    for (i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, name) != 0)
            continue;
        if (n++ == 0)
            found = req->headers[i].value != NULL ? req->headers[i].value : "";
    }
    if (count != NULL)
        *count = n;
    return found;
}

void
auth_hmac(const struct auth_account *acct, int k, const char *msg, size_t n,
          unsigned char mac[AUTH_HMAC_LEN])
{
    unsigned int len = AUTH_HMAC_LEN;

    HMAC(EVP_sha256(), acct->key[k], (int)acct->keylen[k], (const unsigned char *)msg, n, mac,
         &len);
}

int
auth_sig_matches(const struct auth_account *acct, const char *sig, const char *msg, size_t n)
{
    unsigned char want[48], mac[AUTH_HMAC_LEN];
    size_t siglen = strlen(sig);
    int k, ok = 0;

    /* 44 base64 characters decode to 32 bytes (plus one padding byte's worth). */
    if (siglen != BASE64_LEN(AUTH_HMAC_LEN) || base64_decode(sig, siglen, want) != AUTH_HMAC_LEN)
        return 0;
    for (k = 0; k < acct->nkeys && k < 2; k++) {
        auth_hmac(acct, k, msg, n, mac);
        ok |= CRYPTO_memcmp(mac, want, AUTH_HMAC_LEN) == 0;
    }
    return ok;
}

/* Splits "Scheme rest" into the scheme's length and a pointer to rest (spaces skipped). */
static const char *
split_scheme(const char *v, size_t *schemelen)
{
    const char *sp;

    while (*v == ' ' || *v == '\t')
        v++;
    if ((sp = strpbrk(v, " \t")) == NULL) {
        *schemelen = strlen(v);
        return v + *schemelen;
    }
    *schemelen = (size_t)(sp - v);
    while (*sp == ' ' || *sp == '\t')
        sp++;
    return sp;
}

static int
scheme_is(const char *v, size_t n, const char *scheme)
{
    return strlen(scheme) == n && strncasecmp(v, scheme, n) == 0;
}

static int
query_has_sig(const struct auth_request *req)
{
    size_t i;

    for (i = 0; i < req->nquery; i++)
        if (strcasecmp(req->query[i].name, "sig") == 0)
            return 1;
    return 0;
}

int
auth_authenticate(const struct auth_request *req, const struct auth_account *acct, int64_t now,
                  struct arena *a, struct auth_result *res)
{
    const char *authz, *params;
    size_t schemelen;
    int count;

    memset(res, 0, sizeof(*res));
    authz = auth_header(req, "Authorization", &count);
    if (authz != NULL) {
        if (count > 1)
            return auth_fail(res, 400, "InvalidAuthenticationInfo", MSG_INVALID_AUTH_INFO,
                             "More than one Authorization header was sent.");
        authz += strspn(authz, " \t");
        params = split_scheme(authz, &schemelen);
        if (scheme_is(authz, schemelen, "SharedKey"))
            return auth_sharedkey(req, acct, 0, params, now, a, res);
        if (scheme_is(authz, schemelen, "SharedKeyLite"))
            return auth_sharedkey(req, acct, 1, params, now, a, res);
        if (scheme_is(authz, schemelen, "Bearer")) {
            if (!req->is_https)
                return auth_fail(res, 403, "AuthenticationFailed", MSG_AUTH_FAILED,
                                 "Authentication scheme Bearer is not allowed with HTTP.");
            if (acct == NULL)
                return auth_fail(res, 403, "AuthenticationFailed", MSG_AUTH_FAILED,
                                 "The account of the request does not exist.");
            return auth_bearer(req, params, now, a, res);
        }
        return auth_fail(res, 400, "InvalidAuthenticationInfo", MSG_INVALID_AUTH_INFO,
                         "The authentication scheme is not supported.");
    }
    if (query_has_sig(req))
        return auth_sas(req, acct, now, a, res);
    res->kind = AUTH_ANONYMOUS;
    return 0;
}

/* 1 if any letter of `letters` is granted in perms; an empty or NULL list asks for any grant. */
static int
perms_allow(uint32_t perms, const char *letters)
{
    if (letters == NULL || letters[0] == '\0')
        return perms != 0;
    for (; *letters != '\0'; letters++)
        if (*letters >= 'a' && *letters <= 'z' && (perms & AUTH_P(*letters)) != 0)
            return 1;
    return 0;
}

#define MSG_PERMISSION_MISMATCH \
    "This request is not authorized to perform this operation using this permission."
#define MSG_RESOURCE_TYPE_MISMATCH \
    "This request is not authorized to perform this operation using this resource type."

/* The request headers that set blob-level WORM state on an upload or copy. */
static const char *const worm_headers[] = {"x-ms-immutability-policy-until-date",
                                           "x-ms-immutability-policy-mode", "x-ms-legal-hold"};

/*
 * The checks every SAS caller passes after the route's scope: no SAS on an account-key-only route
 * (AUTH_PERMS_ACCOUNT_KEY), one of the route's letters, and 'i' when the request sets WORM state
 * through headers.
 */
static int
authorize_sas_letters(const struct auth_request *req, const struct auth_need *need,
                      struct auth_result *res)
{
    size_t i;

    if (need->perms != NULL && strcmp(need->perms, AUTH_PERMS_ACCOUNT_KEY) == 0)
        return auth_fail(res, 403, "AuthorizationPermissionMismatch", MSG_PERMISSION_MISMATCH,
                         "This operation needs the account key; no SAS grants it.");
    if (!perms_allow(res->perms, need->perms))
        return auth_fail(res, 403, "AuthorizationPermissionMismatch", MSG_PERMISSION_MISMATCH,
                         NULL);
    for (i = 0; i < sizeof(worm_headers) / sizeof(worm_headers[0]); i++)
        if (auth_header(req, worm_headers[i], NULL) != NULL && (res->perms & AUTH_P('i')) == 0)
            return auth_fail(res, 403, "AuthorizationPermissionMismatch", MSG_PERMISSION_MISMATCH,
                             "Setting an immutability policy or legal hold needs the SAS "
                             "permission 'i'.");
    return 0;
}

/*
 * Anonymous callers: a route opts in with need->anonymous (the minimum public access level of the
 * container), and the container's level must reach it (CONTAINER > BLOB > NONE).
 *
 * Refusals.  Azure hides the existence of private containers and blobs from anonymous callers with
 * 404 ResourceNotFound, and SDKs handle that (e.g. exists() is false); we do the same for every
 * container- and object-level route, writes included, so an anonymous caller cannot tell a private
 * container from a missing one.  Service-level routes have nothing to hide: there Azure answers 401
 * NoAuthenticationInformation with a Bearer challenge, which only makes sense once we serve OAuth,
 * so we answer like Azurite, 403 AuthorizationFailure (SDKs accept either).
 */
static int
authorize_anonymous(const struct auth_need *need, enum auth_public pub, struct auth_result *res)
{
    if (need->anonymous != AUTH_PUBLIC_NONE && pub >= need->anonymous)
        return 0;
    if (need->level == AUTH_LEVEL_SERVICE)
        return auth_fail(res, 403, "AuthorizationFailure",
                         "This request is not authorized to perform this operation.", NULL);
    return auth_fail(res, 404, "ResourceNotFound", "The specified resource does not exist.", NULL);
}

/*
 * Blob Batch (POST with comp=batch first, as the router reads it; a percent-encoded value only
 * makes this stricter).  An account SAS of any resource type may send one, as Azure accepts (its
 * SDKs' live tests send account-scoped batches with srt=co, the Azure team's emulator with srt=o):
 * the batch itself touches nothing, and each part is then authorized for its own blob, 'o' and
 * the part's letter included (api/batch.c).
 */
static int
is_blob_batch(const struct auth_request *req)
{
    size_t i;

    if (strcmp(req->method, "POST") != 0)
        return 0;
    for (i = 0; i < req->nquery; i++)
        if (strcasecmp(req->query[i].name, "comp") == 0)
            return req->query[i].value != NULL && strcmp(req->query[i].value, "batch") == 0;
    return 0;
}

/* The SAS letters a set of data actions stands for, so that the checks handlers make of a SAS's
 * letters (overwrite, delete of a version, permanent delete) read a bearer caller's roles. */
static uint32_t
letters_of(unsigned actions)
{
    static const struct {
        unsigned action;
        const char *letters;
    } map[] = {{AUTH_ACT_READ, "rl"},    {AUTH_ACT_WRITE, "cwu"},   {AUTH_ACT_ADD, "a"},
               {AUTH_ACT_DELETE, "dxy"}, {AUTH_ACT_TAGS_READ, "t"}, {AUTH_ACT_TAGS_WRITE, "t"},
               {AUTH_ACT_FILTER, "f"},   {AUTH_ACT_IMMUTABLE, "i"}};
    uint32_t perms = 0;

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (actions & map[i].action)
            for (const char *l = map[i].letters; *l; l++)
                perms |= AUTH_P(*l);
    return perms;
}

/*
 * A bearer caller, or a user delegation SAS's principal: the roles assigned at the addressed
 * scope must grant the route's data action (any role at all for AUTH_ACT_ANY), and the blob
 * immutability action when the request sets WORM state through headers.
 */
static int
authorize_roles(const struct auth_request *req, const struct auth_need *need,
                struct auth_result *res)
{
    unsigned grants = auth_grants(req, res), want = need->action;
    size_t i;

    if (need->perms != NULL && strcmp(need->perms, AUTH_PERMS_ACCOUNT_KEY) == 0)
        return auth_fail(res, 403, "AuthorizationPermissionMismatch", MSG_PERMISSION_MISMATCH,
                         "This operation needs the account key; no role grants it.");
    for (i = 0; i < sizeof(worm_headers) / sizeof(worm_headers[0]); i++)
        if (auth_header(req, worm_headers[i], NULL) != NULL)
            want |= AUTH_ACT_IMMUTABLE;
    if (grants == 0 || (grants & want) != want)
        return auth_fail(res, 403, "AuthorizationPermissionMismatch", MSG_PERMISSION_MISMATCH,
                         NULL);
    if (res->kind == AUTH_BEARER)
        res->perms = letters_of(grants);
    return 0;
}

int
auth_authorize(const struct auth_request *req, const struct auth_need *need, enum auth_public pub,
               struct auth_result *res)
{
    unsigned scope;

    if (need->perms != NULL && strcmp(need->perms, AUTH_PERMS_BEARER) == 0 &&
        res->kind != AUTH_BEARER)
        return auth_fail(res, 403, "AuthenticationFailed", MSG_AUTH_FAILED,
                         "Only authentication scheme Bearer is supported");
    if (res->kind == AUTH_SHARED_KEY)
        return 0;
    if (res->kind == AUTH_BEARER)
        return authorize_roles(req, need, res);
    if (res->kind == AUTH_ANONYMOUS)
        return authorize_anonymous(need, pub, res);
    if (res->kind == AUTH_SAS_ACCOUNT) {
        if (strchr(res->srt, (int)need->level) == NULL && !is_blob_batch(req))
            return auth_fail(res, 403, "AuthorizationResourceTypeMismatch",
                             MSG_RESOURCE_TYPE_MISMATCH, NULL);
        return authorize_sas_letters(req, need, res);
    }
    /*
     * Service SAS.  A route that no service SAS may call (service-level and container-management
     * routes) is a permission problem: no letter of a service SAS grants it.  A route that takes
     * another scope (List Blobs with a blob SAS) is a resource-type problem.  The resource itself
     * (which container, which blob) was bound by the signature in auth_authenticate().
     */
    scope = res->sr[0] == 'c' ? AUTH_SCOPE_CONTAINER : AUTH_SCOPE_BLOB;
    if (need->service_sas == AUTH_SCOPE_NONE)
        return auth_fail(res, 403, "AuthorizationPermissionMismatch", MSG_PERMISSION_MISMATCH,
                         NULL);
    if ((need->service_sas & scope) == 0)
        return auth_fail(res, 403, "AuthorizationResourceTypeMismatch", MSG_RESOURCE_TYPE_MISMATCH,
                         NULL);
    if (authorize_sas_letters(req, need, res) != 0)
        return -1;
    /* A user delegation SAS: its letters, and its principal's roles now (§3.7). */
    return res->delegated ? authorize_roles(req, need, res) : 0;
}

int
auth_may_overwrite(const struct auth_result *res)
{
    switch (res->kind) {
    case AUTH_SHARED_KEY:
        return 1;
    case AUTH_SAS_ACCOUNT:
    case AUTH_SAS_SERVICE:
    case AUTH_BEARER: /* its roles' letters (authorize_roles) */
        return (res->perms & AUTH_P('w')) != 0;
    case AUTH_ANONYMOUS:
        break;
    }
    return 0;
}
