/*
 * api.h -- the Azure Blob protocol on top of net/, the engine (engine/), meta/ and store/.
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
#include "engine/engine.h"
#include "net/http.h"

struct cidr_list;
struct copy_pool;
struct meta;
struct store;

/* The single server object: everything mutable that outlives a request hangs off it. */
struct server {
    struct auth_account *accounts;
    size_t naccounts;
    struct meta *meta;
    struct store *store;
    struct engine eng;    /* the object model (engine/engine.h), chosen at start-up */
    uint64_t freed_bytes; /* content deleted or overwritten since compaction last ran (atomic) */
    unsigned rehydrate_delay;       /* seconds from Set Tier out of Archive to rehydrated */
    unsigned char *versioning;      /* per account (same index as accounts): blob versioning on */
    int container_soft_delete_days; /* 0: Delete Container removes at once */
    int64_t day_ticks; /* length of a retention "day": 86400 s (COBALT_DAY_SECONDS in tests) */
    struct copy_pool *copies; /* asynchronous copies from outside (copy.c) */
    int port;                 /* the bound port, once known (atomic): local copy sources */
    struct cidr_list *egress; /* --egress-allow: what server-side fetches may reach beyond the
                                    default policy (api/fetch.h); NULL: nothing more */
    unsigned copy_stall_secs; /* --copy-stall-timeout: a fetch receiving nothing this long fails */
    unsigned copy_queue_max;  /* --copy-queue: an account's copies waiting for a worker */
    /* Token issuers, role assignments and the user delegation secret (auth/auth.h); main.c
     * replaces it on SIGHUP (atomic store; a replaced one lives until exit). */
    struct auth_directory *dir;
};

void api_app(struct server *srv, struct http_app *app);
/* The static website's callbacks (website.c): the first account's $web container, read-only and
 * without authentication, for a listener of its own (--web-port). */
void api_website_app(struct server *srv, struct http_app *app);

/*
 * The pool of threads that runs asynchronous copies (copy.c).  Start it before serving: it first
 * marks failed every copy a crash left pending.  Stop it after the HTTP server: copies still
 * running are marked failed.  0 or an errno value.
 */
int copy_pool_start(struct server *srv);
void copy_pool_stop(struct server *srv);

#endif
