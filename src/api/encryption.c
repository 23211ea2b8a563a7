/*
 * encryption.c -- what Cobalt answers to Azure's encryption choices: customer-provided keys (CPK)
 * and encryption scopes.
 *
 * Cobalt does not encrypt with a key the client holds, and it has one encryption scope, the
 * account's own ("$account-encryption-key", the scope every Azure account has and the one Get
 * Container Properties reports).  Accepting a customer key and storing the data without it would
 * be the worst answer: the client would believe only its key can read the blob, and a read
 * without the key would succeed.  So every request that carries one is refused before its handler
 * runs, with Azure's code for a header the service does not support, naming the header:
 *
 *   x-ms-encryption-key, -key-sha256, -algorithm (and the x-ms-source-encryption-* forms of the
 *   copy operations)                                  -> 400 UnsupportedHeader
 *   x-ms-encryption-scope, x-ms-default-encryption-scope other than $account-encryption-key
 *                                                     -> 400 InvalidHeaderValue
 *   x-ms-deny-encryption-scope-override: true         -> 400 UnsupportedHeader (not stored;
 *                                                        with one scope there is nothing to deny)
 *   a SAS whose ses names another scope               -> 400 InvalidQueryParameterValue
 *
 * Naming the account scope is accepted wherever a scope is (it is what Azure uses anyway).
 * docs/encryption.md says why Cobalt refuses rather than enforces customer keys for now.
 */
#include "api/api_int.h"

#include <string.h>
#include <strings.h>

#define ACCOUNT_SCOPE "$account-encryption-key"

int
api_encryption_gate(struct api_req *q)
{
    static const char *const cpk[] = {
        "x-ms-encryption-key",
        "x-ms-encryption-key-sha256",
        "x-ms-encryption-algorithm",
        "x-ms-source-encryption-key",
        "x-ms-source-encryption-key-sha256",
        "x-ms-source-encryption-algorithm",
    };
    static const char *const scopes[] = {"x-ms-encryption-scope", "x-ms-default-encryption-scope"};
    const char *v;

    for (size_t i = 0; i < sizeof(cpk) / sizeof(cpk[0]); i++)
        if ((v = api_header(q, cpk[i])) != NULL)
            return api_fail_header(q, E_UnsupportedHeader, cpk[i], v);
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
        if ((v = api_header(q, scopes[i])) != NULL && strcmp(v, ACCOUNT_SCOPE) != 0)
            return api_fail_header(q, E_InvalidHeaderValue, scopes[i], v);
    if ((v = api_header(q, "x-ms-deny-encryption-scope-override")) != NULL) {
        if (strcasecmp(v, "true") == 0)
            return api_fail_header(q, E_UnsupportedHeader, "x-ms-deny-encryption-scope-override",
                                   v);
        if (strcasecmp(v, "false") != 0)
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-deny-encryption-scope-override",
                                   v);
    }
    if ((v = api_query(q, "ses")) != NULL && v[0] != '\0' && strcmp(v, ACCOUNT_SCOPE) != 0)
        return api_fail_query(q, E_InvalidQueryParameterValue, "ses", v,
                              "The only encryption scope is $account-encryption-key.");
    return 0;
}
