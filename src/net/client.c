/*
 * client.c -- the HTTP client of client.h over libcurl's easy interface.
 *
 * Why libcurl and not a socket loop of our own: the client must reach Azure itself and any copy
 * source (HTTPS, redirects, chunked bodies, 100-continue, proxies when wanted) as well as Cobalt,
 * and curl's easy interface gives exactly the shape both users want -- one handle per thread that
 * keeps its connection alive, TCP_NODELAY, bodies through callbacks.  Its per-request cost (~10 us
 * of CPU) is small next to a server's, and `cobalt bench` measures it (docs/benchmarks.md).
 */
#include "net/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>

#define MAX_REDIRECTS 5L

struct http_client {
    CURL *h;
    const struct http_call *call; /* the call in progress */
    int stopped;                  /* a callback stopped it */
    long status;
    int64_t content_length;
};

int
http_client_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

struct http_client *
http_client_new(void)
{
    struct http_client *c = calloc(1, sizeof(*c));

    if (c != NULL && (c->h = curl_easy_init()) == NULL) {
        free(c);
        c = NULL;
    }
    return c;
}

void
http_client_free(struct http_client *c)
{
    if (c == NULL)
        return;
    curl_easy_cleanup(c->h);
    free(c);
}

long
http_client_status(struct http_client *c)
{
    return c->status;
}

int64_t
http_client_content_length(struct http_client *c)
{
    return c->content_length;
}

static size_t
on_read(char *dst, size_t size, size_t nitems, void *arg)
{
    struct http_client *c = arg;

    return c->call->read(c->call->ctx, dst, size * nitems);
}

static size_t
on_write(char *p, size_t size, size_t nmemb, void *arg)
{
    struct http_client *c = arg;
    size_t n = size * nmemb;

    if (c->call->on_data != NULL && c->call->on_data(c->call->ctx, p, n) != 0) {
        c->stopped = 1;
        return 0; /* fewer bytes than given: curl stops with CURLE_WRITE_ERROR */
    }
    return n;
}

static size_t
on_header(char *p, size_t size, size_t nitems, void *arg)
{
    struct http_client *c = arg;
    size_t n = size * nitems;

    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a response begins: forget the last one's */
        const char *sp = memchr(p, ' ', n);
        c->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
        c->content_length = -1;
    } else if (n <= 2 && (p[0] == '\r' || p[0] == '\n')) {
        curl_off_t cl = -1;
        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &c->status);
        if (curl_easy_getinfo(c->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK)
            c->content_length = cl;
    }
    if (c->call->on_header != NULL && c->call->on_header(c->call->ctx, p, n) != 0) {
        c->stopped = 1;
        return 0;
    }
    return n;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct http_client *c = arg;

    (void)dltotal, (void)ultotal, (void)ulnow;
    if (c->call->on_progress(c->call->ctx, dlnow > 0 ? (uint64_t)dlnow : 0) != 0) {
        c->stopped = 1;
        return 1;
    }
    return 0;
}

static curl_socket_t
on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct http_client *c = arg;

    (void)purpose;
    if (!c->call->on_connect(c->call->ctx, &addr->addr))
        return CURL_SOCKET_BAD;
    return socket(addr->family, addr->socktype, addr->protocol);
}

/* The headers as a curl list; NULL when out of memory. */
static struct curl_slist *
header_list(const struct http_call *call)
{
    struct curl_slist *list = NULL, *nl;
    char line[8192];

    /* "Expect:" with no value: no 100-continue round trip before a body. */
    if ((list = curl_slist_append(NULL, "Expect:")) == NULL)
        return NULL;
    for (size_t i = 0; i < call->nheaders; i++) {
        if (snprintf(line, sizeof(line), "%s: %s", call->headers[i].name, call->headers[i].value) >=
                (int)sizeof(line) ||
            (nl = curl_slist_append(list, line)) == NULL) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = nl;
    }
    return list;
}

int
http_client_call(struct http_client *c, const struct http_call *call, char *err, size_t errlen)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = header_list(call);
    const char *method = call->method != NULL ? call->method : "GET";
    CURL *h = c->h;
    CURLcode cc;

    c->call = call;
    c->stopped = 0;
    c->status = 0;
    c->content_length = -1;
    if (hdrs == NULL) {
        snprintf(err, errlen, "out of memory");
        return HTTP_CALL_FAILED;
    }
    /* The handle is reused: every option a call may set is set (or reset) here. */
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L); /* resets NOBODY and UPLOAD */
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (call->read != NULL) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)call->body_len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, c);
        if (strcmp(method, "PUT") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(h, CURLOPT_URL, call->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, call->follow ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
    /* A URL named with https is fetched over https all the way: a redirect may not downgrade it
     * (an https-only SAS, spr=https, must not travel in clear). */
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
                     strncasecmp(call->url, "https:", 6) == 0 ? "https" : "http,https");
    curl_easy_setopt(h, CURLOPT_PROXY, call->no_proxy ? "" : NULL);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, call->on_connect != NULL ? on_open : NULL);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, call->agent);
    curl_easy_setopt(h, CURLOPT_CAINFO, call->cacert);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, call->on_progress != NULL ? on_progress : NULL);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, call->on_progress != NULL ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, call->connect_secs > 0 ? call->connect_secs : 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, call->total_secs > 0 ? call->total_secs : 600L);
    /* A trickle below 1 byte/s over the stall time fails too. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, call->stall_secs > 0 ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, call->stall_secs > 0 ? call->stall_secs : 0L);
    cc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    c->call = NULL;
    if (c->stopped)
        return HTTP_CALL_STOPPED;
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
        return HTTP_CALL_FAILED;
    }
    return HTTP_CALL_OK;
}
