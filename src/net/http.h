/*
 * http.h -- the HTTP front end.  Only net/ includes microhttpd.h.
 *
 * net/ assembles each request (raw request-target, headers, Content-Length) into a struct
 * http_req, streams its body to the application in pieces, and sends the response the application
 * describes: from memory, or from a read callback (object downloads).  The application is a table
 * of four callbacks (struct http_app), called on the connection's thread:
 *
 *   begin(r)        headers are complete.  Either describe a response and return HTTP_RESPOND, or
 *                   return HTTP_BODY to receive the body (possibly empty).
 *   body(r, p, n)   the next piece of the body.  Return 0 to go on, or HTTP_RESPOND after
 *                   describing an (error) response: the rest of the body is read and discarded.
 *   end(r)          the whole body arrived: describe the response.
 *   done(r)         the exchange is over (sent, or the client went away mid-way); release
 *                   everything.  Called exactly once for every request that reached begin().
 *
 * Memory: every request owns r->arena (created by net/, freed after done()).  Strings given to
 * http_resp_* are copied unless stated otherwise.
 */
#ifndef COBALT_NET_HTTP_H
#define COBALT_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth/auth.h"

struct arena;

#define HTTP_BODY    1
#define HTTP_RESPOND 2

struct http_req {
    struct arena *arena;
    const char *method;      /* as received, e.g. "GET" */
    const char *target;      /* raw request-target: path and query, percent-encoding kept */
    const char *path;        /* target up to '?' */
    const char *query;       /* after '?', "" if none */
    struct auth_kv *headers; /* in arrival order */
    size_t nheaders;
    int has_content_length;
    uint64_t content_length;
    /* Ambiguous message framing (Content-Length with Transfer-Encoding, or several
     * Content-Length headers): the application must refuse the request; net/ then closes the
     * connection after the response, so nothing after it on the wire is taken as a request. */
    const char *framing_error; /* the offending header's name, or NULL */
    /* The client's address as text ("192.0.2.1", "2001:db8::1"; an IPv4-mapped IPv6 peer is given
     * in IPv4 form), "" for a local request: the socket's peer, or, when that peer is a trusted
     * proxy (http_config.trusted_proxies), the address its X-Forwarded-For names (see http.c). */
    char client_addr[46];
    int is_https; /* it came over TLS (a listener with http_config.tls_cert) */
    /* Host-style addressing (http_config.host_suffix): the account label of a Host header
     * "ACCOUNT.SUFFIX[:port]" (ACCOUNT possibly ending in "-secondary"); NULL otherwise. */
    const char *host_account;
    void *app;              /* the application's per-request state */
    struct http_resp *resp; /* private to net/ */
};

/*
 * Stream source for a response body: read(ctx, pos, buf, max) returns bytes written to buf (> 0),
 * or -1 to abort the connection (the client then sees a short body, never wrong bytes with a 200).
 */
typedef long (*http_read_fn)(void *ctx, uint64_t pos, char *buf, size_t max);

struct http_app {
    int (*begin)(void *app, struct http_req *r);
    int (*body)(void *app, struct http_req *r, const char *p, size_t n);
    void (*end)(void *app, struct http_req *r);
    void (*done)(void *app, struct http_req *r);
    void *ctx;
};

struct http_config {
    const char *host;
    int port;                  /* 0: any free port (see http_port()) */
    unsigned max_connections;  /* open at once; near it, connections waiting for headers are
                                  * closed oldest first (see http.c) */
    unsigned timeout_s;        /* idle connection timeout */
    unsigned header_timeout_s; /* request line and headers must arrive within this */
    unsigned body_timeout_s;   /* a body may take this long per MiB */
    int metrics;               /* count requests in the cobalt_http_* metrics */
    unsigned max_per_address;  /* open at once from one peer address; 0: no limit */
    /* --trusted-proxy: peers whose X-Forwarded-For names the client (util/cidr.h); NULL: none,
     * and then the client is always the socket's peer. */
    const struct cidr_list *trusted_proxies;
    /* HTTPS: the PEM certificate chain (leaf first) and private key this listener presents, TLS
     * 1.2 and 1.3 only; NULL: plain HTTP.  One HTTPS listener per process (net/tls.c). */
    const char *tls_cert, *tls_key;
    const char *host_suffix; /* --host-suffix: see http_req.host_account; NULL: path-style only */
};

struct http_server;

/* Starts listening and serving on background threads.  0, or -1 (logged). */
int http_start(const struct http_config *cfg, const struct http_app *app, struct http_server **out);
/* The bound port. */
int http_port(const struct http_server *s);
/* An HTTPS listener: loads its certificate and key files again and presents them from the next
 * handshake on; open connections are not touched.  0, or -1 (logged) keeping the current pair. */
int http_tls_reload(struct http_server *s);
/* Whether the certificate and key files load as a pair (for `cobalt config check` and start-up).
 * 0, or -1 (logged). */
int http_tls_check(const char *cert, const char *key);
/* Stops accepting, lets in-flight requests finish (up to `grace_s` seconds), then stops. */
void http_stop(struct http_server *s, unsigned grace_s);

/* Request header by name (case-insensitive), trimmed; NULL if absent.  Borrowed for the request. */
const char *http_header(const struct http_req *r, const char *name);

/* Response description.  Call before returning HTTP_RESPOND / from end(). */
void http_resp_status(struct http_req *r, int status);
void http_resp_header(struct http_req *r, const char *name, const char *value);
/* Body from memory; p must stay valid until done() (arena memory is fine). */
void http_resp_body(struct http_req *r, const char *p, size_t n);
/* Body of `len` bytes from a callback; for HEAD, only Content-Length is sent.  free_fn(ctx) runs
 * when the response is destroyed (may be NULL).  len HTTP_LEN_UNKNOWN: a body whose length is
 * known only at its end, sent chunked; its read callback returns 0 at the end. */
#define HTTP_LEN_UNKNOWN UINT64_MAX
void http_resp_stream(struct http_req *r, uint64_t len, http_read_fn fn, void *ctx,
                      void (*free_fn)(void *));
/* HEAD-style: Content-Length `len` but no body (used for HEAD on blobs). */
void http_resp_length_only(struct http_req *r, uint64_t len);

/*
 * A local request: one that never crossed a socket (a Blob Batch sub-request parsed from another
 * request's body).  Sets r->arena = a and gives r a response record in `a`; the caller fills
 * method, target, path, query, headers and the content length.  Responses described on it with
 * http_resp_* stay in memory for http_resp_captured().  0, or -1 when `a` is exhausted.
 */
int http_req_local(struct http_req *r, struct arena *a);
/*
 * The response described on a local request: status, headers in the order added, and the body
 * (borrowed: valid as long as `a` and whatever the describer said).  A streamed body cannot be
 * captured: its free function is run and -1 returned (callers only run bodiless operations).
 */
int http_resp_captured(struct http_req *r, int *status, const struct auth_kv **headers,
                       size_t *nheaders, const char **body, size_t *len);

#endif
