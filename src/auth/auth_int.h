/*
 * auth_int.h -- private interface between the files of src/auth/:
 *
 *   auth.c       dispatcher (§3.1 decision order), authorisation (§3.8, §3.11), shared helpers
 *   sharedkey.c  Shared Key and Shared Key Lite (§3.2, §3.3), the culture-aware header comparator
 *   sas.c        account, service and user delegation SAS (§3.4-§3.7)
 *   bearer.c     OAuth bearer tokens (§3.10): JWKS keys, JWT verification, role grants, the
 *                directory, user delegation keys
 *   json.c       the JSON reader bearer.c uses
 *
 * Nothing here is used outside src/auth/ except by tests/unit/test_auth.c and src/bench/ (the
 * client-side signer, auth_sign_shared_key()).
 */
#ifndef COBALT_AUTH_INT_H
#define COBALT_AUTH_INT_H

#include "auth/auth.h"
#include "util/codec.h"

#define AUTH_SKEW_SECS   300 /* clock skew allowed on SAS st and se */
#define AUTH_DATE_WINDOW 900 /* Shared Key: x-ms-date / Date at most 15 minutes from now (Azure) */

/* Azure's standard messages for the codes auth produces. */
#define MSG_AUTH_FAILED                                                                          \
    "Server failed to authenticate the request. Make sure the value of Authorization header is " \
    "formed correctly including the signature."
#define MSG_INVALID_AUTH_INFO                                                            \
    "Authentication information is not given in the correct format. Check the value of " \
    "Authorization header."

/*
 * Fills res with a failure (status, code, message and an optional detail already in the arena)
 * and returns -1, so callers can `return auth_fail(...)`.
 */
int auth_fail(struct auth_result *res, int status, const char *code, const char *message,
              const char *detail);
/* 503 ServerBusy: the request's arena is exhausted. */
int auth_fail_oom(struct auth_result *res);

/* First header named `name` (case-insensitive), or NULL.  *count (if not NULL) gets how many. */
const char *auth_header(const struct auth_request *req, const char *name, int *count);

/* HMAC-SHA256 of msg[0..n) under key `k` (0 or 1) of acct into mac. */
void auth_hmac(const struct auth_account *acct, int k, const char *msg, size_t n,
               unsigned char mac[AUTH_HMAC_LEN]);
/*
 * 1 if the base64 signature `sig` equals the HMAC of msg under any of acct's keys (compared in
 * constant time with CRYPTO_memcmp), else 0.  A signature that is not base64 of 32 bytes never
 * matches.
 */
int auth_sig_matches(const struct auth_account *acct, const char *sig, const char *msg, size_t n);

/* Shared Key / Shared Key Lite: `lite` selects §3.3.  `params` is the Authorization value after
 * the scheme ("account:signature").  now (Unix seconds) bounds the request's date. */
int auth_sharedkey(const struct auth_request *req, const struct auth_account *acct, int lite,
                   const char *params, int64_t now, struct arena *a, struct auth_result *res);

/*
 * SAS `sip` against the caller's address: a single address ("10.1.2.3", "2001:db8::1") or an
 * inclusive range of one family ("10.1.0.0-10.1.255.255").  1 when addr is inside, 0 when not (an
 * address of the other family, or one that does not parse, is never inside), -1 when sip itself
 * is malformed (not addresses, mixed families, or a range whose start is after its end).
 */
int auth_sip_match(const char *sip, const char *addr);

/* Account or service SAS (the query carries `sig`). */
int auth_sas(const struct auth_request *req, const struct auth_account *acct, int64_t now,
             struct arena *a, struct auth_result *res);

/* OAuth bearer token (the Authorization value after "Bearer"), over HTTPS: verified against
 * req->dir's issuers; fills the principal (oid, tid, sub, groups).  401 InvalidAuthenticationInfo
 * with a WWW-Authenticate challenge when the token is refused. */
int auth_bearer(const struct auth_request *req, const char *token, int64_t now, struct arena *a,
                struct auth_result *res);

/* The data actions the directory's roles grant res's principal at the scope the request
 * addresses (the account, or a container of it). */
unsigned auth_grants(const struct auth_request *req, const struct auth_result *res);

/* A JSON value (json.c): a tree in an arena. */
enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };
struct json {
    enum json_type type;
    const char *key; /* a member of an object: its name */
    const char *str; /* JSON_STRING: decoded, NUL-terminated (an encoded NUL is refused) */
    size_t len;
    double num;         /* JSON_NUMBER */
    int boolean;        /* JSON_BOOL */
    struct json *items; /* JSON_ARRAY, JSON_OBJECT: n items or members, in order */
    size_t n;
};
/* Parses text[0..n) (NUL-terminated at n) whole; NULL when malformed, too deep, or an object
 * repeats a member. */
struct json *json_parse(struct arena *a, const char *text, size_t n);
/* Member `key` of an object, or NULL; json_str: the same when it is a string. */
const struct json *json_get(const struct json *obj, const char *key);
const char *json_str(const struct json *obj, const char *key);

/*
 * The culture-aware (en-US) string comparison the Azure SDKs and service use to sort canonicalised
 * headers (§3.2).  Returns < 0, 0 or > 0 like strcmp.
 */
int auth_culture_cmp(const char *a, const char *b);

#endif
