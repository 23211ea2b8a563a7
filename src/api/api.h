/*
 * api.h -- the Azure Blob protocol on top of net/, meta/ and store/.
 *
 * api_app() returns the callbacks net/ drives for every request.  The dispatcher (dispatch.c)
 * parses the URL, finds the operation in the route table, authenticates and authorizes it once for
 * every route, applies the checks every operation shares, receives the body, and calls exactly one
 * handler; handlers live one file per operation group (service.c, container.c, blob.c, block.c).
 */
#ifndef COBALT_API_H
#define COBALT_API_H

#include <stddef.h>

#include "auth/auth.h"
#include "net/http.h"

struct meta;
struct store;

/* The single server object: everything mutable that outlives a request hangs off it. */
struct server {
    struct auth_account *accounts;
    size_t naccounts;
    struct meta *meta;
    struct store *store;
    uint64_t freed_bytes;   /* content deleted or overwritten since compaction last ran (atomic) */
};

void api_app(struct server *srv, struct http_app *app);

#endif
