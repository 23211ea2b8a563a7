/*
 * auth.h -- who is asking, and may they.  Pure functions of (request, account keys, directory,
 * clock): no I/O, no globals, so every rule is unit-tested with the protocol document's vectors.
 *
 * The directory (struct auth_directory) is what OAuth needs: the token issuers Cobalt trusts, each
 * with its signing keys (from a JWKS file read at start-up: no network on the request path) and
 * audiences; the role assignments; and the secret user delegation keys are derived from.
 *
 * Two steps, both run by the dispatcher before any handler:
 *   1. auth_authenticate(): turns the request's credentials (Shared Key header, SAS query, or none)
 *      into an auth_result, or a precise Azure error (403 AuthenticationFailed, 400
 *      InvalidAuthenticationInfo, ...).  Everything bound to the credential itself is checked
 *      here: signature, Shared Key date window, SAS times, protocol (spr), source address (sip).
 *   2. auth_authorize(): checks that result against what the route needs (SAS permission letters,
 *      resource scope, account-key-only routes, public access for anonymous callers).
 * A handler that may overwrite an existing blob calls auth_may_overwrite() once it knows.
 */
#ifndef COBALT_AUTH_H
#define COBALT_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "util/codec.h"

struct arena;

#define AUTH_HMAC_LEN 32 /* HMAC-SHA256 */

struct auth_kv {
    const char *name;  /* header name as received (any case) or query parameter name (raw) */
    const char *value; /* value as received (headers), or raw still-percent-encoded (query) */
};

struct auth_account {
    const char *name;
    unsigned char key[2][64];
    size_t keylen[2];
    int nkeys; /* 1 or 2 */
};

/* A stored access policy of the addressed container (Set Container ACL), for service SAS `si`. */
struct auth_policy {
    const char *id, *start, *expiry, *permission; /* "" when the policy leaves it out */
};

/*
 * Data actions (Azure RBAC's, by their effect here): what a route needs of a bearer caller's or a
 * user delegation SAS's roles (struct auth_need.action; one bit each, or AUTH_ACT_ANY).
 */
#define AUTH_ACT_ANY        0u        /* any role assignment at the scope */
#define AUTH_ACT_READ       (1u << 0) /* blobs/read, containers/read (and list) */
#define AUTH_ACT_WRITE      (1u << 1) /* blobs/write, containers/write */
#define AUTH_ACT_ADD        (1u << 2) /* blobs/add/action (Append Block) */
#define AUTH_ACT_DELETE     (1u << 3) /* blobs/delete, deleteBlobVersion, containers/delete */
#define AUTH_ACT_TAGS_READ  (1u << 4) /* blobs/tags/read */
#define AUTH_ACT_TAGS_WRITE (1u << 5) /* blobs/tags/write */
#define AUTH_ACT_FILTER     (1u << 6) /* blobs/filter/action (Find Blobs by Tags) */
#define AUTH_ACT_IMMUTABLE  (1u << 7) /* blob immutability policies and legal holds */
#define AUTH_ACT_SERVICE    (1u << 8) /* blobServices read/write (service properties) */
#define AUTH_ACT_DELEGATE   (1u << 9) /* generateUserDelegationKey/action */

/* The built-in roles as sets of data actions (Storage Blob Data Owner, Contributor, Reader, and
 * Storage Blob Delegator). */
#define AUTH_ROLE_READER      (AUTH_ACT_READ | AUTH_ACT_DELEGATE)
#define AUTH_ROLE_CONTRIBUTOR (AUTH_ROLE_READER | AUTH_ACT_WRITE | AUTH_ACT_ADD | AUTH_ACT_DELETE)
#define AUTH_ROLE_OWNER       ((AUTH_ACT_DELEGATE << 1) - 1)
#define AUTH_ROLE_DELEGATOR   AUTH_ACT_DELEGATE

struct auth_jwk; /* a token signing key (opaque) */

/* A token issuer Cobalt trusts. */
struct auth_issuer {
    char *iss;        /* the token's "iss", exactly */
    char **audiences; /* accepted on top of the standard ones (auth_bearer) */
    size_t naudiences;
    struct auth_jwk *keys; /* from its JWKS */
    size_t nkeys;
};

enum auth_principal_kind { AUTH_PRINCIPAL_OID, AUTH_PRINCIPAL_SUB, AUTH_PRINCIPAL_GROUP };

/* One role assignment: principal -> role (a set of AUTH_ACT_*) at a scope. */
struct auth_role {
    enum auth_principal_kind kind; /* whose claim names the principal: oid, sub, or groups */
    char *id;
    unsigned actions;
    char *account;
    char *container; /* NULL: the whole account */
};

struct auth_directory {
    struct auth_issuer *issuers;
    size_t nissuers;
    struct auth_role *roles;
    size_t nroles;
    unsigned char secret[64]; /* user delegation keys are HMACs under it (auth_delegation_key) */
    size_t secretlen;         /* 0: no user delegation keys */
    const char *host_suffix;  /* --host-suffix: https://<account>.<suffix> is an audience too */
};

/*
 * Building a directory (start-up and reload, not the request path).  Each returns 0, or -1 with a
 * message in err[errlen] that names no secret.  auth_directory_free(NULL) is a no-op.
 *
 *     struct auth_directory *d = auth_directory_new();
 *     auth_issuer_add(d, "https://login.example.com/t/v2.0", jwks_text, auds, 1, err, sizeof err);
 *     auth_role_add(d, "group:7d1c... Contributor acct1/photos", err, sizeof err);
 */
struct auth_directory *auth_directory_new(void);
void auth_directory_free(struct auth_directory *d);
/* Adds an issuer with the RS256 (RSA) and ES256 (EC P-256) keys of a JWKS document; keys of other
 * types are skipped, and a document with none usable is refused. */
int auth_issuer_add(struct auth_directory *d, const char *iss, const char *jwks_text,
                    const char *const *audiences, size_t naudiences, char *err, size_t errlen);
/* "PRINCIPAL ROLE SCOPE": PRINCIPAL is oid:ID, sub:ID or group:ID; ROLE Owner, Contributor,
 * Reader or Delegator; SCOPE an account or account/container. */
int auth_role_add(struct auth_directory *d, const char *spec, char *err, size_t errlen);

/* What the request addresses, already parsed by the dispatcher. */
struct auth_request {
    const char *method;   /* "GET", "PUT", ... upper case */
    const char *raw_path; /* request-target path exactly as received, percent-encoding kept */
    const struct auth_kv *headers;
    size_t nheaders;
    const struct auth_kv *query; /* every query parameter, raw, in request order */
    size_t nquery;
    int is_https;
    const char *client_addr;            /* the caller's IP address as text (the socket peer; an
                                    IPv4-mapped IPv6 peer in IPv4 form), "" if unknown */
    const char *account;                /* account name with any "-secondary" suffix removed */
    int secondary;                      /* the URL named "<account>-secondary" */
    const char *container;              /* decoded; NULL at service level */
    const char *blob;                   /* decoded; NULL unless a blob is addressed */
    const char *snapshot;               /* decoded ?snapshot=, or NULL */
    const char *versionid;              /* decoded ?versionid=, or NULL */
    const struct auth_policy *policies; /* the container's stored access policies */
    size_t npolicies;
    const struct auth_directory *dir; /* issuers, roles, delegation secret; NULL: none */
};

enum auth_kind {
    AUTH_ANONYMOUS,
    AUTH_SHARED_KEY,
    AUTH_SAS_ACCOUNT,
    AUTH_SAS_SERVICE, /* a service SAS, or a user delegation SAS (auth_result.delegated) */
    AUTH_BEARER,      /* an OAuth 2.0 bearer token (JWT) */
};

/* Permission letters as bits: AUTH_P('r') etc. */
#define AUTH_P(c) (1u << ((c) - 'a'))

struct auth_result {
    enum auth_kind kind;
    uint32_t perms; /* SAS: set of granted letters */
    char srt[4];    /* account SAS: resource types ("sco" subset), NUL-terminated */
    char sr[3];     /* service SAS: "c", "b", "bs", "bv" */
    /* Service SAS response-header overrides (rscc, rscd, rsce, rscl, rsct), decoded or NULL. */
    const char *rscc, *rscd, *rsce, *rscl, *rsct;
    /* A bearer token's principal, or a user delegation SAS's (skoid, sktid; no groups) */
    int delegated; /* AUTH_SAS_SERVICE signed with a user delegation key */
    const char *oid, *tid, *sub;
    const char *const *groups;
    size_t ngroups;
    /* On failure: HTTP status, Azure error code, message and optional detail (arena strings). */
    int status;
    const char *code;
    const char *message;
    const char *detail;    /* AuthenticationErrorDetail, e.g. the string-to-sign used */
    const char *challenge; /* a refused bearer token: the WWW-Authenticate value to send */
};

/*
 * Authenticates `req` against `acct` (NULL when the URL names an unknown account: every signed
 * request then fails).  now is Unix seconds.  Returns 0 with res filled, or -1 with res->status,
 * res->code, res->message set.  Decision order per the protocol doc §3.1; Shared Key signatures are
 * tried with culture-aware then byte-order header sorting, '+' kept then '+' as space in query
 * values, and the JS Content-Encoding/Content-Language swap.  A Shared Key (or Lite) request whose
 * signature matches must also carry an RFC 1123 x-ms-date (or Date) within AUTH_DATE_WINDOW of
 * now, else 403 AuthenticationFailed.  SAS fields per §3.4-3.6 with 5 minutes of clock skew
 * allowed on st and se.  A SAS's spr, sip and ss are checked here (403
 * AuthorizationProtocolMismatch, AuthorizationSourceIPMismatch, AuthorizationServiceMismatch; a
 * malformed sip is 403 AuthenticationFailed), its letters and resource types in auth_authorize().
 * Strings in res live in `a`.
 */
int auth_authenticate(const struct auth_request *req, const struct auth_account *acct, int64_t now,
                      struct arena *a, struct auth_result *res);

/*
 * The client side of Shared Key (§3.2), for `cobalt bench`: signs `req` as the SDKs do (culture
 * header order, the canonicalised resource from req->raw_path and req->query) under key 0 of acct
 * and writes the base64 signature, NUL-terminated, into sig.  The caller sends
 * "Authorization: SharedKey <acct->name>:<sig>".  Scratch memory comes from `a`.  0, or -1 on OOM.
 *
 *     char sig[BASE64_LEN(AUTH_HMAC_LEN) + 1];
 *     if (auth_sign_shared_key(&req, &acct, a, sig) == 0) ...
 */
int auth_sign_shared_key(const struct auth_request *req, const struct auth_account *acct,
                         struct arena *a, char sig[BASE64_LEN(AUTH_HMAC_LEN) + 1]);

/* Resource level an operation acts on (account SAS srt letter). */
enum auth_level { AUTH_LEVEL_SERVICE = 's', AUTH_LEVEL_CONTAINER = 'c', AUTH_LEVEL_OBJECT = 'o' };

/* Public access level of a container. */
enum auth_public { AUTH_PUBLIC_NONE, AUTH_PUBLIC_BLOB, AUTH_PUBLIC_CONTAINER };

/* What one route needs; part of the route table. */
struct auth_need {
    enum auth_level level;
    const char *perms;          /* any one of these SAS letters suffices, e.g. "cw";
                                    NULL or "" = any granted letter;
                                    AUTH_PERMS_ACCOUNT_KEY = no SAS at all */
    unsigned service_sas;       /* AUTH_SCOPE_* bits: which service-SAS scopes may call it */
    enum auth_public anonymous; /* minimum public access that lets anonymous callers in */
    unsigned action; /* the data action a bearer caller's roles must grant (AUTH_ACT_*) */
};
/* perms of a management-plane act (container immutability policy, container legal hold): in
 * Azure no SAS can do them.  Only the account key (Shared Key) may; every SAS, account or service,
 * gets 403 AuthorizationPermissionMismatch whatever its letters. */
#define AUTH_PERMS_ACCOUNT_KEY "!"
/* perms of Get User Delegation Key: only a bearer token (every other credential gets 403
 * AuthenticationFailed, "Only authentication scheme Bearer is supported"). */
#define AUTH_PERMS_BEARER    "~"
#define AUTH_SCOPE_NONE      0u
#define AUTH_SCOPE_BLOB      1u /* sr=b|bs|bv naming exactly this blob */
#define AUTH_SCOPE_CONTAINER 2u /* sr=c naming this container */
#define AUTH_ANON_NEVER      AUTH_PUBLIC_NONE

/*
 * Checks an authenticated caller against a route's needs.  `pub` is the container's public access
 * (AUTH_PUBLIC_NONE when there is no container).  Returns 0, or -1 with res->status/code/message
 * set: 403 AuthorizationPermissionMismatch, AuthorizationResourceTypeMismatch, or, for anonymous
 * callers, 404 ResourceNotFound on container/object routes (existence is hidden) or 403
 * AuthorizationFailure on service-level routes.
 *
 * A SAS request that carries x-ms-immutability-policy-until-date, x-ms-immutability-policy-mode or
 * x-ms-legal-hold (an upload or copy setting blob-level WORM state) also needs the SAS letter 'i',
 * on top of the route's letters, as in Azure.
 */
int auth_authorize(const struct auth_request *req, const struct auth_need *need,
                   enum auth_public pub, struct auth_result *res);

/* For SAS callers: 1 if the SAS carries 'w' (needed to overwrite an existing blob), else 0.
 * Shared Key callers always may; bearer callers may when their roles grant writes. */
int auth_may_overwrite(const struct auth_result *res);

/*
 * The value of the user delegation key Get User Delegation Key issues for (oid, tid, start,
 * expiry, version, delegated user tenant or NULL), as the strings it returns them: HMAC-SHA256
 * under dir->secret of those fields joined with LF, so no key is stored and rotating the secret
 * revokes every key and SAS signed with one.  0, or -1 when dir has no secret.
 */
int auth_delegation_key(const struct auth_directory *dir, const char *oid, const char *tid,
                        const char *start, const char *expiry, const char *version,
                        const char *dutid, unsigned char key[AUTH_HMAC_LEN]);

#endif
