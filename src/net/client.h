/*
 * client.h -- Cobalt's one HTTP client, over libcurl's easy interface: `cobalt bench` drives
 * servers with it (bench/client.c) and server-side copies fetch their sources with it
 * (api/fetch.c).  Only net/ sees libcurl.
 *
 * A client is one handle that keeps its connection alive from one call to the next; it is used
 * by one thread at a time.  Bodies stream through callbacks in both directions, so neither side
 * ever holds a whole body.  Call http_client_global_init() once before any thread starts.
 *
 *     struct http_client *c = http_client_new();
 *     struct http_call call = {.method = "GET", .url = url, .on_data = sink, .ctx = &state};
 *     int rc = http_client_call(c, &call, err, sizeof(err));   // HTTP_CALL_*
 *     long status = http_client_status(c);
 */
#ifndef COBALT_NET_CLIENT_H
#define COBALT_NET_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "auth/auth.h"

struct http_client;

struct http_call {
    const char *method; /* "GET" (NULL too), "HEAD", "PUT", "DELETE", ... */
    const char *url;
    const struct auth_kv *headers; /* sent as given (Content-Length of an upload is added) */
    size_t nheaders;
    /* An upload: body_len bytes, pulled from read(ctx, dst, max) (it returns how many it put). */
    size_t (*read)(void *ctx, char *dst, size_t max);
    uint64_t body_len;
    /*
     * The response, as it arrives.  on_header gets each header line as received, CRLF included:
     * a line starting "HTTP/" begins a response (interim and redirect responses come first), an
     * empty line ("\r\n") ends its headers -- http_client_status() and
     * http_client_content_length() then describe it.  on_data gets the final response's body.
     * Each returns 0 to go on, non-zero to stop the transfer (the call then ends HTTP_CALL_STOPPED).
     */
    int (*on_header)(void *ctx, const char *line, size_t n);
    int (*on_data)(void *ctx, const char *p, size_t n);
    /* About once a second, with the body bytes received so far: non-zero stops the transfer. */
    int (*on_progress)(void *ctx, uint64_t received);
    /* Before every connection (redirects included), its address: 0 refuses it -- the transfer
     * then fails as if the host could not be reached. */
    int (*on_connect)(void *ctx, const struct sockaddr *addr);
    void *ctx;
    int follow;         /* follow redirects (at most 5); never from https to plain http */
    int no_proxy;       /* connect directly, whatever the environment names as proxy */
    long connect_secs;  /* 0: 10 */
    long total_secs;    /* 0: 600 */
    long stall_secs;    /* a transfer slower than 1 byte/s for this long fails; 0: no limit */
    const char *agent;  /* User-Agent, or NULL for none */
    const char *cacert; /* HTTPS: trust the CA certificates of this PEM file, NULL: the system's */
};

#define HTTP_CALL_OK      0 /* a whole response arrived (any status) */
#define HTTP_CALL_STOPPED 1 /* a callback stopped the transfer */
#define HTTP_CALL_FAILED  2 /* no (whole) response: err says why */

/* libcurl's global set-up: once, before any thread starts.  0 or -1. */
int http_client_global_init(void);
/* A client; NULL when out of memory. */
struct http_client *http_client_new(void);
void http_client_free(struct http_client *c);
/* Makes the call.  HTTP_CALL_*; err (errlen bytes) describes a failure. */
int http_client_call(struct http_client *c, const struct http_call *call, char *err, size_t errlen);
/* The status code of the response being received (or last received), 0 before one. */
long http_client_status(struct http_client *c);
/* Its Content-Length, -1 when it has none. */
int64_t http_client_content_length(struct http_client *c);

#endif
