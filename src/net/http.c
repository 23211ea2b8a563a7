/*
 * http.c -- libmicrohttpd glue; see http.h.
 *
 * Threads: one thread per connection (MHD_USE_THREAD_PER_CONNECTION).  Handlers block on disk and
 * on group commit, and a blocked thread costs only its stack; with the connection limit this keeps
 * the model simple and every request independent.
 *
 * The raw request-target is taken from MHD's URI log callback, which sees the line exactly as
 * received; MHD's own unescaping is turned off (identity unescape callback), so nothing is
 * normalised before authentication (protocol doc §1.1, trap 2).  That callback also creates the
 * per-request state, so every request has an arena before its first header is looked at.
 *
 * Request life: access_cb is called first when the headers are complete (begin), then once per
 * body piece, then with no data when the body is complete (end).  A response can be queued only
 * before the body is read or after all of it was, so an error found mid-body is kept and sent once
 * the rest has been discarded.
 *
 * Deadlines (slowloris): libmicrohttpd's connection timeout is an idle timeout, so a client that
 * sends one byte now and then keeps its connection and thread for ever.  Every connection
 * therefore carries a deadline, enforced by one reaper thread that shuts the socket down (MHD then
 * sees end-of-stream and closes the connection as if the client had left):
 *   - the request line and headers: within header_timeout_s of the connection opening; on a
 *     kept-alive connection, the request line within the idle timeout plus header_timeout_s of
 *     the last response, and the headers within header_timeout_s of the request line;
 *   - the body: body_timeout_s for every MiB started (Azure allows 10 minutes per MiB), counted
 *     from the end of the headers and extended as bytes arrive;
 *   - none while the request is processed or its response sent (the idle timeout still applies).
 * The deadline is an atomic written by the connection's thread and read by the reaper; the list of
 * connections is under srv->mu, and a connection leaves it in the CLOSED notification, which
 * libmicrohttpd makes before it closes the socket, so the reaper never shuts down a reused fd.
 *
 * Connection floods: a connection costs nothing to open and nothing proves who opened it before
 * its headers are in, so half-open connections are what an unauthenticated client can pile up.
 *   - Per address: at most max_per_address connections from one peer address (libmicrohttpd
 *     accepts and closes the ones beyond it at once).
 *   - Pressure: at its connection limit libmicrohttpd accepts and closes every new connection, so
 *     once the open connections reach 7/8 of the limit, the thread that accepts the next one
 *     closes connections still waiting for a request's headers -- new ones, and kept-alive ones
 *     between requests -- oldest first, until 3/4 of the limit is open, before that new one is
 *     served: a flood that refills as fast as it is cut never gets between a client and a free
 *     slot.  A connection shut down this way still counts for libmicrohttpd until its thread
 *     sees the end of the stream, which under load can take seconds, so libmicrohttpd's own limit
 *     is an eighth above ours (HARD_HEADROOM) and holds only those draining connections.  Under pressure the header deadline thus
 *     shrinks to the age of the youngest one closed, and there is room for a client that sends
 *     its request when it connects (every SDK does) while a flood runs.  The newest 1/32 of the
 *     limit are spared, so a server busy with requests does not close new clients' connections
 *     before they could send anything; connections in a request (authenticated, or being
 *     answered) are never closed for pressure.
 */
#include "net/http.h"
#include "net/tls_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "util/arena.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/metrics.h"

#define REQUEST_ARENA_CAP (64u << 20) /* a request that needs more gets an error, not an abort */
#define STREAM_BLOCK      (256u << 10)
/* Per-connection buffer for headers and body pieces.  libmicrohttpd clears it between requests,
 * so it is kept small: 1 MiB made memset most of the CPU of a 4 KiB GET. */
#define CONNECTION_MEMORY (64u << 10)
#define DISCARD_LIMIT     (16u << 20) /* refused bodies up to this size are read, then answered */
#define TRIM_DROP         256u        /* closed connections that make memory worth handing back */

enum req_state { ST_NEW, ST_READY, ST_BODY, ST_DISCARD, ST_QUEUED };

struct http_resp {
    int status;
    struct auth_kv *headers;
    size_t nheaders, cap;
    const char *body;
    size_t body_len;
    int stream;
    uint64_t stream_len;
    http_read_fn read;
    void *read_ctx;
    void (*read_free)(void *);
};

/* One per TCP connection (MHD's socket context). */
struct conn {
    struct conn *prev, *next; /* srv->conns, under srv->mu */
    int fd;
    int shut;                   /* shut down by the reaper, not yet closed; under srv->mu */
    _Atomic int64_t deadline;   /* CLOCK_MONOTONIC ms; 0: none */
    _Atomic int64_t idle_since; /* ms since when it waits for a request's headers; 0: in one */
    int64_t body_start;         /* ms, when the headers were complete */
    uint64_t body_seen;         /* body bytes so far */
};

struct conn_req {
    struct http_req r;
    struct http_resp resp;
    enum req_state state;
    int begun;
    struct http_server *srv;
    struct conn *conn;
};

struct http_server {
    struct MHD_Daemon *d;
    struct http_app app;
    struct http_config cfg;
    int port;
    pthread_mutex_t mu;
    unsigned active;        /* requests between begin and done */
    struct conn *conns;     /* every open connection, under mu */
    unsigned nconns, nshut; /* in conns, and of those shut down already; under mu */
    unsigned peak, last;    /* most open since the last trim, and at the last round; the
                                   * reaper's own */
    pthread_t reaper;
    pthread_cond_t reaper_cv; /* signalled to stop the reaper */
    int64_t pressure_logged;  /* ms; the reaper's own */
    unsigned pressure_closed; /* since then */
    int stopping;             /* under mu */
};

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
set_deadline(struct conn *cn, int64_t at)
{
    if (cn != NULL)
        atomic_store_explicit(&cn->deadline, at, memory_order_relaxed);
}

/* Body allowance: body_timeout_s for every MiB started, counted from the end of the headers. */
static void
body_deadline(const struct http_server *srv, struct conn *cn)
{
    if (cn != NULL)
        set_deadline(cn, cn->body_start + (int64_t)srv->cfg.body_timeout_s * 1000 *
                                              (int64_t)(1 + (cn->body_seen >> 20)));
}

/* Room above the connection limit for connections shut down but not yet closed. */
#define HARD_HEADROOM(max) ((max) / 8)

/* Pressure marks: relieve_pressure() starts at `high` open connections and closes down to `low`. */
static unsigned
pressure_high(const struct http_server *srv)
{
    return srv->cfg.max_connections - srv->cfg.max_connections / 8;
}

static unsigned
pressure_low(const struct http_server *srv)
{
    return srv->cfg.max_connections - srv->cfg.max_connections / 4;
}

/* The newest connections waiting for headers that pressure never closes: a server busy with
 * requests has few, and they are new clients about to send theirs, not a flood. */
static unsigned
pressure_spared(const struct http_server *srv)
{
    return srv->cfg.max_connections / 32 + 1;
}

/* Shuts a connection down; MHD closes it as if the client had left.  Under srv->mu. */
static void
conn_shut(struct http_server *srv, struct conn *cn)
{
    cn->shut = 1;
    srv->nshut++;
    if (srv->cfg.metrics)
        metric_add(M_HTTP_DEADLINE_CLOSED, 1);
    shutdown(cn->fd, SHUT_RDWR);
}

struct idle_conn {
    int64_t since;
    struct conn *cn;
};

static int
idle_older(const void *a, const void *b)
{
    int64_t x = ((const struct idle_conn *)a)->since, y = ((const struct idle_conn *)b)->since;

    return x < y ? -1 : x > y;
}

/*
 * Near the connection limit: closes connections waiting for a request's headers, oldest first,
 * until no more than pressure_low() are open (see the file-top comment).  Under srv->mu.
 */
static void
relieve_pressure(struct http_server *srv, int64_t now)
{
    unsigned open = srv->nconns - srv->nshut, n = 0, closed = 0;
    struct idle_conn *idle;

    if (open < pressure_high(srv) || (idle = malloc(sizeof(*idle) * open)) == NULL)
        return;
    for (struct conn *cn = srv->conns; cn != NULL && n < open; cn = cn->next) {
        int64_t since = atomic_load_explicit(&cn->idle_since, memory_order_relaxed);
        if (!cn->shut && since != 0)
            idle[n++] = (struct idle_conn){since, cn};
    }
    qsort(idle, n, sizeof(*idle), idle_older);
    n -= n < pressure_spared(srv) ? n : pressure_spared(srv);
    for (unsigned i = 0; i < n && open > pressure_low(srv); i++) {
        int64_t since = idle[i].since;
        /* Not if its headers came in meanwhile: a request under way is never cut for pressure. */
        if (!atomic_compare_exchange_strong(&idle[i].cn->idle_since, &since, 0))
            continue;
        conn_shut(srv, idle[i].cn);
        open--;
        closed++;
    }
    free(idle);
    srv->pressure_closed += closed;
    if (srv->pressure_closed > 0 && now - srv->pressure_logged >= 10000) {
        log_warn("http: near the limit of %u connections: closed %u waiting for request headers "
                 "(oldest first) in the last %lld s",
                 srv->cfg.max_connections, srv->pressure_closed,
                 (long long)(now - srv->pressure_logged) / 1000);
        srv->pressure_logged = now;
        srv->pressure_closed = 0;
    }
}

static void
conn_notify(void *cls, struct MHD_Connection *c, void **socket_ctx,
            enum MHD_ConnectionNotificationCode code)
{
    struct http_server *srv = cls;
    struct conn *cn = *socket_ctx;
    const union MHD_ConnectionInfo *ci;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci == NULL || (cn = calloc(1, sizeof(*cn))) == NULL)
            return; /* no deadline for this one; the idle timeout still applies */
        cn->fd = ci->connect_fd;
        atomic_init(&cn->deadline, now_ms() + (int64_t)srv->cfg.header_timeout_s * 1000);
        atomic_init(&cn->idle_since, now_ms());
        pthread_mutex_lock(&srv->mu);
        cn->next = srv->conns;
        if (srv->conns != NULL)
            srv->conns->prev = cn;
        srv->conns = cn;
        if (++srv->nconns - srv->nshut >= pressure_high(srv))
            relieve_pressure(srv, now_ms());
        pthread_mutex_unlock(&srv->mu);
        *socket_ctx = cn;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && cn != NULL) {
        pthread_mutex_lock(&srv->mu);
        if (cn->prev != NULL)
            cn->prev->next = cn->next;
        else
            srv->conns = cn->next;
        if (cn->next != NULL)
            cn->next->prev = cn->prev;
        srv->nconns--;
        srv->nshut -= cn->shut;
        pthread_mutex_unlock(&srv->mu);
        free(cn);
        *socket_ctx = NULL;
    }
}

static void *
reaper_main(void *arg)
{
    struct http_server *srv = arg;
    struct timespec ts;
    int64_t now, at;

    pthread_mutex_lock(&srv->mu);
    while (!srv->stopping) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&srv->reaper_cv, &srv->mu, &ts);
        now = now_ms();
        for (struct conn *cn = srv->conns; cn != NULL; cn = cn->next) {
            at = atomic_load_explicit(&cn->deadline, memory_order_relaxed);
            if (cn->shut || at == 0 || at > now ||
                !atomic_compare_exchange_strong(&cn->deadline, &at, 0))
                continue;
            log_info("http: closing a connection that missed its deadline (slow headers or body)");
            conn_shut(srv, cn);
        }
        relieve_pressure(srv, now);
        /* Freed request memory is kept for reuse (main.c's mallopt), up to 32 MiB per malloc
         * arena: once a crowd of connections is gone -- stalled uploads, a flood -- and the count
         * has stopped falling, hand what they used back to the system.  Never under steady load,
         * where it would be reused. */
        srv->peak = srv->nconns > srv->peak ? srv->nconns : srv->peak;
        if (srv->peak - srv->nconns >= TRIM_DROP && srv->nconns >= srv->last) {
            srv->peak = srv->nconns;
            pthread_mutex_unlock(&srv->mu);
            malloc_trim(0);
            pthread_mutex_lock(&srv->mu);
        }
        srv->last = srv->nconns;
    }
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

static size_t
unescape_identity(void *cls, struct MHD_Connection *c, char *s)
{
    return strlen(s);
}

/* The peer address as text; an IPv4-mapped IPv6 address in IPv4 form. */
static void
peer_text(const struct sockaddr *sa, char out[46])
{
    out[0] = '\0';
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, 46);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6))
            inet_ntop(AF_INET, a6->s6_addr + 12, out, 46);
        else
            inet_ntop(AF_INET6, a6, out, 46);
    }
}

/* One X-Forwarded-For entry (trimmed, n bytes) as a socket address.  1, or 0 if not an address. */
static int
xff_entry(const char *p, size_t n, struct sockaddr_in6 *sa)
{
    char text[INET6_ADDRSTRLEN];
    struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)sa;

    while (n > 0 && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof(text))
        return 0;
    memcpy(text, p, n);
    text[n] = '\0';
    memset(sa, 0, sizeof(*sa));
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        return 1;
    }
    sa->sin6_family = AF_INET6;
    return inet_pton(AF_INET6, text, &sa->sin6_addr) == 1;
}

/*
 * The client behind a trusted proxy: X-Forwarded-For lists the addresses each proxy saw, the
 * client's first; every proxy appends, so only the right end can be believed.  Walking from the
 * right, the first address that is not itself a trusted proxy is the client (all trusted: the
 * leftmost).  Every X-Forwarded-For header counts, in order.  An entry that is not an address
 * (a forged or garbled list) stops the walk: the client is then the last address believed, at
 * worst the proxy itself, so a SAS `sip` fails closed rather than open.
 */
static void
forwarded_client(const struct http_server *srv, struct http_req *r)
{
    struct sockaddr_in6 sa, found;
    int have = 0;

    for (size_t h = r->nheaders; h-- > 0;) {
        const char *v = r->headers[h].value;
        size_t end;
        if (strcasecmp(r->headers[h].name, "X-Forwarded-For") != 0 || v == NULL)
            continue;
        for (end = strlen(v);;) {
            size_t start = end;
            while (start > 0 && v[start - 1] != ',')
                start--;
            if (!xff_entry(v + start, end - start, &sa))
                goto done;
            found = sa;
            have = 1;
            if (!cidr_list_match(srv->cfg.trusted_proxies, (struct sockaddr *)&sa))
                goto done;
            if (start == 0)
                break;
            end = start - 1;
        }
    }
done:
    if (have)
        peer_text((struct sockaddr *)&found, r->client_addr);
}

/*
 * Host-style addressing: the Host header "ACCOUNT.SUFFIX" or "ACCOUNT.SUFFIX:PORT" (the suffix
 * compared case-insensitively, as host names are) names the account; the label must be
 * non-empty and hold no dot.  Anything else (an IP literal, another name) stays path-style.
 */
static const char *
host_account(const struct http_server *srv, struct http_req *r)
{
    const char *host = http_header(r, "Host"), *dot, *colon;
    size_t hl, sl = strlen(srv->cfg.host_suffix);

    if (host == NULL || host[0] == '[' || (dot = strchr(host, '.')) == NULL || dot == host)
        return NULL;
    colon = strchr(dot, ':');
    hl = colon != NULL ? (size_t)(colon - dot - 1) : strlen(dot + 1);
    if (hl != sl || strncasecmp(dot + 1, srv->cfg.host_suffix, sl) != 0)
        return NULL;
    return arena_strndup(r->arena, host, (size_t)(dot - host));
}

static void *
uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct conn_req *cr = calloc(1, sizeof(*cr));
    const union MHD_ConnectionInfo *ci;
    const char *q;

    if (cr == NULL)
        return NULL;
    cr->srv = cls;
    if ((cr->r.arena = arena_new(REQUEST_ARENA_CAP)) == NULL ||
        (cr->r.target = arena_strdup(cr->r.arena, uri)) == NULL) {
        arena_free(cr->r.arena);
        free(cr);
        return NULL;
    }
    q = strchr(cr->r.target, '?');
    cr->r.path = q ? arena_strndup(cr->r.arena, cr->r.target, (size_t)(q - cr->r.target))
                   : cr->r.target;
    cr->r.query = q ? q + 1 : "";
    cr->r.resp = &cr->resp;
    cr->resp.status = 500;
    if ((ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) != NULL)
        peer_text(ci->client_addr, cr->r.client_addr);
    cr->r.is_https = cr->srv->cfg.tls_cert != NULL;
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if ((cr->conn = ci != NULL ? ci->socket_context : NULL) != NULL) {
        int64_t at = now_ms() + (int64_t)cr->srv->cfg.header_timeout_s * 1000,
                cur = atomic_load_explicit(&cr->conn->deadline, memory_order_relaxed);
        set_deadline(cr->conn, cur != 0 && cur < at ? cur : at);
    }
    return cr;
}

static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct conn_req *cr = cls;
    struct http_req *r = &cr->r;
    struct auth_kv *nh;

    if ((r->nheaders & (r->nheaders - 1)) == 0) { /* grow at powers of two */
        nh = arena_alloc(r->arena, sizeof(*nh) * (r->nheaders ? r->nheaders * 2 : 16));
        if (nh == NULL)
            return MHD_NO;
        if (r->nheaders)
            memcpy(nh, r->headers, sizeof(*nh) * r->nheaders);
        r->headers = nh;
    }
    r->headers[r->nheaders].name = key;
    r->headers[r->nheaders].value = value ? value : "";
    r->nheaders++;
    return MHD_YES;
}

const char *
http_header(const struct http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void
http_resp_status(struct http_req *r, int status)
{
    r->resp->status = status;
}

void
http_resp_header(struct http_req *r, const char *name, const char *value)
{
    struct http_resp *p = r->resp;
    struct auth_kv *nh;

    if (p->nheaders == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 32;
        if ((nh = arena_alloc(r->arena, sizeof(*nh) * p->cap)) == NULL)
            return;
        if (p->nheaders)
            memcpy(nh, p->headers, sizeof(*nh) * p->nheaders);
        p->headers = nh;
    }
    p->headers[p->nheaders].name = arena_strdup(r->arena, name);
    p->headers[p->nheaders].value = arena_strdup(r->arena, value);
    if (p->headers[p->nheaders].name && p->headers[p->nheaders].value)
        p->nheaders++;
}

void
http_resp_body(struct http_req *r, const char *p, size_t n)
{
    r->resp->body = p;
    r->resp->body_len = n;
    r->resp->stream = 0;
}

void
http_resp_stream(struct http_req *r, uint64_t len, http_read_fn fn, void *ctx,
                 void (*free_fn)(void *))
{
    r->resp->stream = 1;
    r->resp->stream_len = len;
    r->resp->read = fn;
    r->resp->read_ctx = ctx;
    r->resp->read_free = free_fn;
}

static long
no_body(void *ctx, uint64_t pos, char *buf, size_t max)
{
    return -1;
}

void
http_resp_length_only(struct http_req *r, uint64_t len)
{
    http_resp_stream(r, len, no_body, NULL, NULL);
}

int
http_req_local(struct http_req *r, struct arena *a)
{
    memset(r, 0, sizeof(*r));
    r->arena = a;
    if ((r->resp = arena_calloc(a, sizeof(*r->resp))) == NULL)
        return -1;
    r->resp->status = 500;
    return 0;
}

int
http_resp_captured(struct http_req *r, int *status, const struct auth_kv **headers,
                   size_t *nheaders, const char **body, size_t *len)
{
    struct http_resp *p = r->resp;

    *status = p->status;
    *headers = p->headers;
    *nheaders = p->nheaders;
    *body = p->body ? p->body : "";
    *len = p->body ? p->body_len : 0;
    if (p->stream) {
        if (p->read_free != NULL)
            p->read_free(p->read_ctx);
        p->read_free = NULL;
        *len = 0;
        return -1;
    }
    return 0;
}

struct stream_ctx {
    http_read_fn read;
    void *ctx;
    void (*free_fn)(void *);
    int chunked; /* HTTP_LEN_UNKNOWN: 0 from read() is the end of the body */
};

static ssize_t
stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream_ctx *s = cls;
    long n = s->read(s->ctx, pos, buf, max);

    if (n == 0 && s->chunked)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void
stream_free(void *cls)
{
    struct stream_ctx *s = cls;

    if (s->free_fn != NULL)
        s->free_fn(s->ctx);
    free(s);
}

/* Request smuggling defences (RFC 9112 §6.3): what makes the message length ambiguous. */
static const char *
framing(const struct http_req *r)
{
    size_t lengths = 0;

    for (size_t i = 0; i < r->nheaders; i++)
        lengths += strcasecmp(r->headers[i].name, "Content-Length") == 0;
    if (lengths > 1)
        return "Content-Length";
    if (lengths == 1 && http_header(r, "Transfer-Encoding") != NULL)
        return "Transfer-Encoding";
    return NULL;
}

static enum MHD_Result
queue(struct MHD_Connection *c, struct conn_req *cr)
{
    struct http_resp *p = &cr->resp;
    struct MHD_Response *resp;
    struct stream_ctx *sc;
    enum MHD_Result rc;

    cr->state = ST_QUEUED;
    set_deadline(cr->conn, 0);
    if (cr->srv->cfg.metrics)
        metric_http_status(p->status);
    if (p->stream) {
        if ((sc = malloc(sizeof(*sc))) == NULL)
            return MHD_NO;
        *sc = (struct stream_ctx){p->read, p->read_ctx, p->read_free,
                                  p->stream_len == HTTP_LEN_UNKNOWN};
        p->read_free = NULL; /* owned by the MHD response now */
        resp = MHD_create_response_from_callback(
            p->stream_len == HTTP_LEN_UNKNOWN ? MHD_SIZE_UNKNOWN : p->stream_len, STREAM_BLOCK,
            stream_cb, sc, stream_free);
        if (resp == NULL) {
            stream_free(sc);
            return MHD_NO;
        }
    } else {
        resp = MHD_create_response_from_buffer(p->body_len, (void *)(p->body ? p->body : ""),
                                               MHD_RESPMEM_PERSISTENT);
        if (resp == NULL)
            return MHD_NO;
    }
    for (size_t i = 0; i < p->nheaders; i++)
        MHD_add_response_header(resp, p->headers[i].name, p->headers[i].value);
    if (cr->r.framing_error != NULL)
        MHD_add_response_header(resp, "Connection", "close");
    rc = MHD_queue_response(c, (unsigned)p->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
    struct http_server *srv = cls;
    struct conn_req *cr = *req_cls;
    const union MHD_ConnectionInfo *ci;
    struct http_req *r;
    const char *cl;
    int rc;

    if (cr == NULL)
        return MHD_NO;
    r = &cr->r;
    switch (cr->state) {
    case ST_NEW:
        r->method = method;
        MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, cr);
        r->framing_error = framing(r);
        if (srv->cfg.trusted_proxies != NULL &&
            (ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) != NULL &&
            cidr_list_match(srv->cfg.trusted_proxies, ci->client_addr))
            forwarded_client(srv, r);
        if (srv->cfg.host_suffix != NULL)
            r->host_account = host_account(srv, r);
        if ((cl = http_header(r, "Content-Length")) != NULL) {
            char *end;
            errno = 0;
            r->content_length = strtoull(cl, &end, 10);
            r->has_content_length = errno == 0 && end != cl && *end == '\0' && cl[0] != '-';
        }
        pthread_mutex_lock(&srv->mu);
        srv->active++;
        pthread_mutex_unlock(&srv->mu);
        if (srv->cfg.metrics)
            metric_add(M_HTTP_IN_FLIGHT, 1);
        cr->begun = 1;
        set_deadline(cr->conn, 0);
        if (cr->conn != NULL)
            atomic_store_explicit(&cr->conn->idle_since, 0, memory_order_relaxed);
        rc = srv->app.begin(srv->app.ctx, r);
        if (rc == HTTP_RESPOND && r->framing_error != NULL)
            return queue(c, cr); /* never read an ambiguous body: answer and close */
        if (rc == HTTP_RESPOND) {
            const char *expect = http_header(r, "Expect");
            /* A response queued before the request is complete makes MHD close the connection
             * afterwards.  Without a body, answer on the next call and keep the connection.  A
             * client waiting for "100 Continue" has sent no body: answer now.  A small body is
             * read and dropped first, so the client is not cut off mid-upload (it would see a
             * reset instead of the error); a large one is not worth reading: answer and close. */
            int body = (r->has_content_length && r->content_length > 0) ||
                       http_header(r, "Transfer-Encoding") != NULL;
            if (!body) {
                cr->state = ST_READY;
                return MHD_YES;
            }
            if ((expect != NULL && strcasecmp(expect, "100-continue") == 0) ||
                !r->has_content_length || r->content_length > DISCARD_LIMIT)
                return queue(c, cr);
            cr->state = ST_DISCARD;
        } else {
            cr->state = ST_BODY;
        }
        if (cr->conn != NULL) {
            cr->conn->body_start = now_ms();
            cr->conn->body_seen = 0;
            body_deadline(srv, cr->conn);
        }
        return MHD_YES;
    case ST_READY:
        if (*upload_data_size > 0) {
            *upload_data_size = 0;
            return MHD_YES;
        }
        return queue(c, cr);
    case ST_BODY:
    case ST_DISCARD:
        if (*upload_data_size > 0) {
            if (cr->conn != NULL) {
                cr->conn->body_seen += *upload_data_size;
                body_deadline(srv, cr->conn);
            }
            if (cr->state == ST_BODY &&
                srv->app.body(srv->app.ctx, r, upload_data, *upload_data_size) == HTTP_RESPOND)
                cr->state = ST_DISCARD;
            *upload_data_size = 0;
            return MHD_YES;
        }
        set_deadline(cr->conn, 0); /* processing is not the client's time */
        if (cr->state == ST_BODY)
            srv->app.end(srv->app.ctx, r);
        return queue(c, cr);
    case ST_QUEUED:
        break;
    }
    *upload_data_size = 0;
    return MHD_YES;
}

static void
completed_cb(void *cls, struct MHD_Connection *c, void **req_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct conn_req *cr = *req_cls;

    if (cr == NULL)
        return;
    /* Keep-alive: the next request line may come after an idle spell. */
    set_deadline(cr->conn,
                 now_ms() + ((int64_t)srv->cfg.timeout_s + srv->cfg.header_timeout_s) * 1000);
    if (cr->conn != NULL)
        atomic_store_explicit(&cr->conn->idle_since, now_ms(), memory_order_relaxed);
    if (cr->begun) {
        srv->app.done(srv->app.ctx, &cr->r);
        pthread_mutex_lock(&srv->mu);
        srv->active--;
        pthread_mutex_unlock(&srv->mu);
        if (srv->cfg.metrics)
            metric_add(M_HTTP_IN_FLIGHT, -1);
    }
    if (cr->resp.read_free != NULL) /* a stream described but never queued */
        cr->resp.read_free(cr->resp.read_ctx);
    arena_free(cr->r.arena);
    free(cr);
    *req_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];

    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_debug("http: %s", line);
}

int
http_start(const struct http_config *cfg, const struct http_app *app, struct http_server **out)
{
    struct http_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr *sa;
    /* poll(), not select(): volume files take descriptors too, and select() cannot watch a
     * socket numbered past FD_SETSIZE (1024). */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    struct MHD_OptionItem tls[] = {{MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)tls_retrieve},
                                   {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
                                   {MHD_OPTION_END, 0, NULL}};
    int err;

    if (s == NULL)
        return -1;
    if (cfg->tls_cert != NULL) {
        if (!MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK)) {
            log_error("http: this libmicrohttpd cannot serve HTTPS (built without GnuTLS)");
            free(s);
            return -1;
        }
        if (tls_load(cfg->tls_cert, cfg->tls_key, 1) != 0) {
            free(s);
            return -1;
        }
        flags |= MHD_USE_TLS;
    } else {
        tls[0].option = MHD_OPTION_END;
    }
    s->app = *app;
    s->cfg = *cfg;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->reaper_cv, NULL);
    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));
    if (inet_pton(AF_INET, cfg->host, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&sin;
    } else if (inet_pton(AF_INET6, cfg->host, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&sin6;
        flags |= MHD_USE_IPv6;
    } else {
        log_error("http: --host must be an IPv4 or IPv6 address, not '%s'", cfg->host);
        free(s);
        return -1;
    }
    s->d = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, access_cb, s, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_URI_LOG_CALLBACK, uri_cb, s, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
        MHD_OPTION_NOTIFY_CONNECTION, conn_notify, s, MHD_OPTION_UNESCAPE_CALLBACK,
        unescape_identity, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY, MHD_OPTION_CONNECTION_LIMIT,
        cfg->max_connections + HARD_HEADROOM(cfg->max_connections),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_per_address, MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->timeout_s, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512u << 10),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (s->d == NULL) {
        log_error("http: cannot listen on %s:%d (see the libmicrohttpd message above)", cfg->host,
                  cfg->port);
        goto fail;
    }
    if ((err = pthread_create(&s->reaper, NULL, reaper_main, s)) != 0) {
        log_error("http: cannot start the deadline thread: %s", strerror(err));
        MHD_stop_daemon(s->d);
        goto fail;
    }
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->port;
    *out = s;
    return 0;

fail:
    if (cfg->tls_cert != NULL)
        tls_unload();
    free(s);
    return -1;
}

int
http_tls_check(const char *cert, const char *key)
{
    return tls_load(cert, key, 0);
}

int
http_tls_reload(struct http_server *s)
{
    return s != NULL && s->cfg.tls_cert != NULL ? tls_load(s->cfg.tls_cert, s->cfg.tls_key, 1) : 0;
}

int
http_port(const struct http_server *s)
{
    return s->port;
}

void
http_stop(struct http_server *s, unsigned grace_s)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    unsigned waited = 0, active;

    if (s == NULL)
        return;
    MHD_quiesce_daemon(s->d);
    for (;;) {
        pthread_mutex_lock(&s->mu);
        active = s->active;
        pthread_mutex_unlock(&s->mu);
        if (active == 0 || waited >= grace_s * 50)
            break;
        nanosleep(&ts, NULL);
        waited++;
    }
    if (active > 0)
        log_warn("http: stopping with %u requests still in flight", active);
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_signal(&s->reaper_cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->reaper, NULL);
    MHD_stop_daemon(s->d);
    if (s->cfg.tls_cert != NULL)
        tls_unload();
    pthread_cond_destroy(&s->reaper_cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
