/*
 * fetch.c -- GET a copy source over HTTP(S) into payloads (see fetch.h for the contract).
 *
 * The project's HTTP client (net/client.h) drives the transfer on the calling thread.  The header
 * callback collects the properties of the final response (a redirect's headers are forgotten when
 * the next status line arrives); the end of the final response's headers decides how much will be
 * stored, and every later byte goes straight to the current payload writer (known length) or to a
 * FETCH_CHUNK buffer (unknown length).  A source that
 * ignores a Range request and answers 200 is sliced here: bytes before the range are dropped and
 * the transfer stops once the range is complete.
 *
 * The egress policy (fetch.h) is applied in on_connect, on the address of every connection the
 * client makes.
 * A failure before the final answer's body began (policy, DNS, connect, TLS, no answer) gets one
 * message whatever the cause, so a caller cannot probe which internal ports are open; the cause
 * goes to res->detail for the log.  The stall clock (no body byte for stall_secs) runs in
 * on_progress, which the client calls at least once a second even when nothing arrives.
 */
#include "api/fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/md5.h>

#include "api/parse.h"
#include "model/model.h"
#include "net/client.h"
#include "util/arena.h"
#include "util/cidr.h"
#include "util/codec.h"
#include "util/crc.h"
#include "util/log.h"

#define META_PREFIX "x-ms-meta-"
#define UNREACHABLE "the copy source could not be reached"

struct sink {
    struct engine *e;
    struct arena *a;
    const struct fetch_req *fr;
    struct fetch_result *res;
    struct http_client *c;
    int started;
    int location;  /* the current response names a Location (a redirect to follow) */
    int stop_rc;   /* why we stopped the transfer ourselves (an error code), 0 if we did not */
    int complete;  /* the wanted bytes are all stored (a sliced 200) */
    uint64_t skip; /* bytes still to drop before the range (a 200 to a ranged GET) */
    int known;
    uint64_t want;        /* bytes to store, when known */
    uint64_t got;         /* bytes stored */
    struct eng_writer *w; /* the needle being written (known length) */
    uint64_t w_left;
    char *chunk; /* unknown length: the next needle's bytes */
    size_t chunk_len;
    size_t cap_ext;
    size_t cap_meta;
    MD5_CTX md5;
    uint64_t seen;    /* body bytes the client reported at the last progress call */
    time_t last_byte; /* when `seen` last grew (the stall clock) */
};

/* ---- the egress policy ----------------------------------------------------------------------- */

/* 1 for a globally routable IPv4 unicast address (RFC 6890's special-purpose ranges refused). */
static int
v4_global(const unsigned char *a)
{
    static const struct {
        unsigned char net[4];
        unsigned bits;
    } refused[] = {
        {{0, 0, 0, 0}, 8},       /* "this network", 0.0.0.0 */
        {{10, 0, 0, 0}, 8},      /* private */
        {{100, 64, 0, 0}, 10},   /* shared address space (CGNAT) */
        {{127, 0, 0, 0}, 8},     /* loopback */
        {{169, 254, 0, 0}, 16},  /* link-local, the cloud metadata address 169.254.169.254 */
        {{172, 16, 0, 0}, 12},   /* private */
        {{192, 0, 0, 0}, 24},    /* IETF protocol assignments */
        {{192, 0, 2, 0}, 24},    /* documentation */
        {{192, 168, 0, 0}, 16},  /* private */
        {{198, 18, 0, 0}, 15},   /* benchmarking */
        {{198, 51, 100, 0}, 24}, /* documentation */
        {{203, 0, 113, 0}, 24},  /* documentation */
        {{224, 0, 0, 0}, 4},     /* multicast */
        {{240, 0, 0, 0}, 4},     /* reserved, the broadcast address 255.255.255.255 */
    };

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (cidr_prefix_match(a, refused[i].net, refused[i].bits))
            return 0;
    return 1;
}

/* 1 for a globally routable IPv6 unicast address; forms that embed an IPv4 address are judged
 * by that address. */
static int
v6_global(const unsigned char *a)
{
    static const unsigned char zero[12] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char siit[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
    static const unsigned char teredo_etc[3] = {0x20, 0x01, 0};   /* 2001::/23 */
    static const unsigned char doc[4] = {0x20, 0x01, 0x0d, 0xb8}; /* 2001:db8::/32 */
    static const unsigned char discard[8] = {1, 0, 0, 0, 0, 0, 0, 0};

    /* ::/96 (compatible, and so :: and ::1), ::ffff:0:0/96 (mapped), ::ffff:0:0:0/96 (SIIT),
     * 64:ff9b::/96 (NAT64): the IPv4 address in the last four bytes decides. */
    if (memcmp(a, zero, 12) == 0 || memcmp(a, mapped, 12) == 0 || memcmp(a, siit, 12) == 0 ||
        memcmp(a, nat64, 12) == 0)
        return v4_global(a + 12);
    if (a[0] == 0x20 && a[1] == 0x02) /* 6to4 2002::/16: the IPv4 address in bytes 2..5 */
        return v4_global(a + 2);
    if ((a[0] & 0xe0) != 0x20) /* outside 2000::/3 (global unicast): ULA fc00::/7,
                                           link-local fe80::/10, site-local, multicast ff00::/8,
                                           64:ff9b:1::/48, 100::/64 and unassigned space */
        return 0;
    return !(cidr_prefix_match(a, teredo_etc, 23) || cidr_prefix_match(a, doc, 32) ||
             cidr_prefix_match(a, nat64_local, 48) || cidr_prefix_match(a, discard, 64));
}

int
egress_permits(const struct cidr_list *allow, const struct sockaddr *sa)
{
    const unsigned char *a;
    int family = cidr_addr(sa, &a);

    if (family == 0)
        return 0;
    if (cidr_list_match(allow, sa))
        return 1;
    return family == AF_INET ? v4_global(a) : v6_global(a);
}

/* Every address the client is about to connect to (redirects included): the egress policy. */
static int
on_connect(void *ctx, const struct sockaddr *sa)
{
    struct sink *k = ctx;
    char text[INET6_ADDRSTRLEN] = "?";
    const void *in = sa->sa_family == AF_INET6
                         ? (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr
                         : (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;

    if ((sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
        egress_permits(k->fr->egress, sa))
        return 1;
    inet_ntop(sa->sa_family, in, text, sizeof(text));
    snprintf(k->res->detail, sizeof(k->res->detail),
             "the egress policy refuses %s (see --egress-allow)", text);
    /* An SSRF attempt, or a source to allow-list.  (The query is left out: it may hold a SAS.) */
    log_warn("copy source %.*s: %s", (int)strcspn(k->fr->url, "?#"), k->fr->url, k->res->detail);
    return 0;
}

int
fetch_global_init(void)
{
    return http_client_global_init();
}

static int
cancelled(const struct sink *k)
{
    return k->fr->cancel != NULL && __atomic_load_n(k->fr->cancel, __ATOMIC_RELAXED) != 0;
}

static int
add_extent(struct sink *k, const struct extent *e)
{
    struct fetch_result *r = k->res;

    if (r->next == k->cap_ext) {
        size_t cap = k->cap_ext ? k->cap_ext * 2 : 8;
        struct extent *n = realloc(r->ext, sizeof(*n) * cap);
        if (n == NULL)
            return ENOMEM;
        r->ext = n;
        k->cap_ext = cap;
    }
    r->ext[r->next++] = *e;
    return 0;
}

/* Writes one whole needle from memory. */
static int
write_needle(struct sink *k, const char *p, size_t n)
{
    struct eng_writer *w = NULL;
    struct extent e;
    int err;

    if ((err = eng_data_write_begin(k->e, n, 0, &w)) != 0)
        return err;
    if ((err = eng_data_write(k->e, w, p, n)) != 0) {
        eng_data_write_abort(k->e, w);
        return err;
    }
    if ((err = eng_data_write_finish(k->e, w, &e)) != 0)
        return err;
    if ((err = add_extent(k, &e)) != 0)
        eng_data_release(k->e, &e); /* not referenced by anything: garbage (V3) */
    return err;
}

/* Stores the next n bytes of the body.  0 or an errno value. */
static int
store_bytes(struct sink *k, const char *p, size_t n)
{
    int err;

    MD5_Update(&k->md5, p, n);
    k->res->crc64 = crc64_nvme(k->res->crc64, p, n);
    if (!k->known) {
        while (n > 0) {
            size_t m = FETCH_CHUNK - k->chunk_len;
            if (m > n)
                m = n;
            memcpy(k->chunk + k->chunk_len, p, m);
            k->chunk_len += m;
            p += m;
            n -= m;
            if (k->chunk_len == FETCH_CHUNK) {
                if ((err = write_needle(k, k->chunk, k->chunk_len)) != 0)
                    return err;
                k->chunk_len = 0;
            }
        }
        return 0;
    }
    while (n > 0) {
        size_t m;
        if (k->w == NULL) {
            uint64_t seg = k->want - k->got;
            if (k->fr->seg_max != 0 && seg > k->fr->seg_max)
                seg = k->fr->seg_max;
            if ((err = eng_data_write_begin(k->e, seg, 0, &k->w)) != 0) {
                k->w = NULL;
                return err;
            }
            k->w_left = seg;
        }
        m = n < k->w_left ? n : (size_t)k->w_left;
        if ((err = eng_data_write(k->e, k->w, p, m)) != 0)
            return err;
        k->w_left -= m;
        k->got += m; /* counted here for the segment arithmetic; see on_data */
        p += m;
        n -= m;
        if (k->w_left == 0) {
            struct extent e;
            struct eng_writer *w = k->w;
            k->w = NULL;
            if ((err = eng_data_write_finish(k->e, w, &e)) != 0)
                return err;
            if ((err = add_extent(k, &e)) != 0) {
                eng_data_release(k->e, &e);
                return err;
            }
        }
    }
    return 0;
}

/* The first body byte (or the end of a body-less answer): decide what to store. */
static int
begin_body(struct sink *k)
{
    const struct fetch_req *fr = k->fr;
    long code = http_client_status(k->c);
    int64_t cl = http_client_content_length(k->c);

    k->started = 1;
    k->res->status = (int)code;
    if (code < 200 || code > 299) {
        snprintf(k->res->message, sizeof(k->res->message), "the copy source answered HTTP %ld%s%s",
                 code, k->res->error_code ? " " : "", k->res->error_code ? k->res->error_code : "");
        k->stop_rc = CO_ESOURCE;
        return -1;
    }
    if (fr->ranged) {
        k->res->has_content_md5 = 0; /* the header describes the whole blob, not the range */
        if (code != 206) {
            k->skip = fr->start;
            if (cl >= 0) {
                uint64_t last = fr->end < (uint64_t)cl ? fr->end : (uint64_t)cl - 1;
                if (fr->start >= (uint64_t)cl) {
                    k->res->status = 416;
                    snprintf(k->res->message, sizeof(k->res->message),
                             "the source range starts past the end of the source");
                    k->stop_rc = CO_ESOURCE;
                    return -1;
                }
                k->known = 1;
                k->want = last - fr->start + 1;
            } else if (fr->end != UINT64_MAX) {
                k->known = 1;
                k->want = fr->end - fr->start + 1;
            }
        } else if (cl >= 0) {
            k->known = 1;
            k->want = (uint64_t)cl;
        }
    } else if (cl >= 0) {
        k->known = 1;
        k->want = (uint64_t)cl;
    }
    if (k->known && fr->max_size != 0 && k->want > fr->max_size) {
        snprintf(k->res->message, sizeof(k->res->message),
                 "the copy source is larger than this operation allows");
        k->stop_rc = CO_ETOOBIG;
        return -1;
    }
    if (k->known && fr->total != NULL)
        __atomic_store_n(fr->total, k->want, __ATOMIC_RELAXED);
    if (!k->known && (k->chunk = malloc(FETCH_CHUNK)) == NULL) {
        k->stop_rc = ENOMEM;
        return -1;
    }
    return 0;
}

/* The body as it arrives: 0 to go on, -1 to stop (stop_rc says why, or complete). */
static int
on_data(void *ctx, const char *p, size_t n)
{
    struct sink *k = ctx;
    int err;

    if (cancelled(k)) {
        k->stop_rc = ECANCELED;
        return -1;
    }
    if (!k->started && begin_body(k) != 0)
        return -1;
    if (k->skip > 0) {
        size_t d = k->skip < n ? (size_t)k->skip : n;
        p += d;
        n -= d;
        k->skip -= d;
        if (n == 0)
            return 0;
    }
    if (k->known && n > k->want - k->got) {
        n = (size_t)(k->want - k->got); /* only when slicing a 200: stop after the range */
        k->complete = 1;
    }
    if (!k->known && k->fr->max_size != 0 && k->got + n > k->fr->max_size) {
        snprintf(k->res->message, sizeof(k->res->message),
                 "the copy source is larger than this operation allows");
        k->stop_rc = CO_ETOOBIG;
        return -1;
    }
    if ((err = store_bytes(k, p, n)) != 0) {
        snprintf(k->res->message, sizeof(k->res->message), "storing the copy failed: %s",
                 strerror(err));
        k->stop_rc = err;
        return -1;
    }
    if (!k->known)
        k->got += n; /* (known lengths count in store_bytes, per segment) */
    k->res->size = k->got;
    if (k->fr->progress != NULL)
        __atomic_store_n(k->fr->progress, k->got, __ATOMIC_RELAXED);
    if (k->known && k->got == k->want && k->skip == 0 && k->fr->ranged)
        k->complete = 1;
    return k->complete ? -1 : 0;
}

static char *
trimmed(struct arena *a, const char *v, size_t n)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return arena_strndup(a, v, n);
}

/* Each header line of each response: 0 to go on, -1 to stop. */
static int
on_header(void *ctx, const char *line, size_t n)
{
    struct sink *k = ctx;
    struct fetch_result *r = k->res;
    size_t nl;
    const char *colon = memchr(line, ':', n);
    char *v;

    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) { /* a new response: forget the last one's */
        r->error_code = r->content_type = r->content_encoding = r->content_language = NULL;
        r->content_disposition = r->cache_control = NULL;
        r->has_content_md5 = 0;
        r->nmeta = 0;
        k->location = 0;
        return 0;
    }
    if (n <= 2 && (line[0] == '\r' || line[0] == '\n')) {
        /* The end of a response's headers: unless it is an interim answer or a redirect the client
         * follows, it is the final one, and its status and length decide now -- a source that
         * announces too much is refused before it sends a byte. */
        long code = http_client_status(k->c);
        if (code < 200 || (code / 100 == 3 && k->location) || k->started)
            return 0;
        return begin_body(k);
    }
    if (colon == NULL)
        return 0;
    nl = (size_t)(colon - line);
    if ((v = trimmed(k->a, colon + 1, n - nl - 1)) == NULL)
        return -1; /* over the arena's cap: a hostile source */
    /* A value Cobalt could not store and echo (control characters, invalid UTF-8, characters XML
     * cannot carry) is the source's problem, not the copy's: it is left out like an absent one. */
    if (!header_text_valid(v, strlen(v)))
        return 0;
#define IS(h) (nl == sizeof(h) - 1 && strncasecmp(line, h, nl) == 0)
    if (IS("x-ms-error-code"))
        r->error_code = v;
    else if (IS("Location"))
        k->location = 1;
    else if (IS("Content-Type"))
        r->content_type = v;
    else if (IS("Content-Encoding"))
        r->content_encoding = v;
    else if (IS("Content-Language"))
        r->content_language = v;
    else if (IS("Content-Disposition"))
        r->content_disposition = v;
    else if (IS("Cache-Control"))
        r->cache_control = v;
    else if (IS("Content-MD5"))
        r->has_content_md5 = base64_decode(v, strlen(v), r->content_md5) == 16;
    else if (nl > sizeof(META_PREFIX) - 1 &&
             strncasecmp(line, META_PREFIX, sizeof(META_PREFIX) - 1) == 0 &&
             metadata_name_valid(line + sizeof(META_PREFIX) - 1, nl - (sizeof(META_PREFIX) - 1))) {
        if (r->nmeta == k->cap_meta) {
            size_t cap = k->cap_meta ? k->cap_meta * 2 : 8;
            struct meta_pair *m = arena_alloc(k->a, sizeof(*m) * cap);
            if (m == NULL)
                return -1;
            if (r->nmeta)
                memcpy(m, r->meta, sizeof(*m) * r->nmeta);
            r->meta = m;
            k->cap_meta = cap;
        }
        r->meta[r->nmeta].name = arena_strndup(k->a, line + sizeof(META_PREFIX) - 1,
                                               nl - (sizeof(META_PREFIX) - 1));
        r->meta[r->nmeta].value = v;
        if (r->meta[r->nmeta].name == NULL)
            return -1;
        r->nmeta++;
    }
#undef IS
    return 0;
}

static time_t
now_secs(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static int
on_progress(void *ctx, uint64_t dlnow)
{
    struct sink *k = ctx;
    long stall = k->fr->stall_secs > 0 ? k->fr->stall_secs : 60;
    time_t now = now_secs();

    if (cancelled(k)) {
        k->stop_rc = ECANCELED;
        return 1;
    }
    if (dlnow > k->seen) {
        k->seen = dlnow;
        k->last_byte = now;
    } else if (now - k->last_byte >= stall) {
        if (k->started)
            snprintf(k->res->message, sizeof(k->res->message),
                     "the copy source sent nothing for %ld seconds", stall);
        else
            snprintf(k->res->message, sizeof(k->res->message), UNREACHABLE);
        snprintf(k->res->detail, sizeof(k->res->detail), "no data for %ld seconds", stall);
        k->stop_rc = CO_EUNREACHABLE;
        return 1;
    }
    return 0;
}

int
fetch_into(struct engine *e, struct arena *a, const struct fetch_req *fr, struct fetch_result *res)
{
    struct sink k = {0};
    struct auth_kv hdrs[7];
    struct http_call call = {0};
    char errbuf[256] = "", range[64];
    int rc = 0, cr;
    size_t nh = 0;

    memset(res, 0, sizeof(*res));
    k.e = e;
    k.a = a;
    k.fr = fr;
    k.res = res;
    k.last_byte = now_secs();
    MD5_Init(&k.md5);
    if ((k.c = http_client_new()) == NULL) {
        snprintf(res->message, sizeof(res->message), "out of memory");
        return CO_EUNREACHABLE;
    }
#define ADD(name, value) \
    if ((value) != NULL) \
        hdrs[nh++] = (struct auth_kv){name, value};
    ADD("Authorization", fr->authorization)
    ADD("If-Match", fr->if_match)
    ADD("If-None-Match", fr->if_none_match)
    ADD("If-Modified-Since", fr->if_modified_since)
    ADD("If-Unmodified-Since", fr->if_unmodified_since)
    ADD("x-ms-version", "2021-12-02") /* Azure sources */
#undef ADD
    if (fr->ranged) {
        if (fr->end == UINT64_MAX)
            snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)fr->start);
        else
            snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)fr->start,
                     (unsigned long long)fr->end);
        hdrs[nh++] = (struct auth_kv){"Range", range};
    }
    call.url = fr->url;
    call.headers = hdrs;
    call.nheaders = nh;
    call.on_header = on_header;
    call.on_data = on_data;
    call.on_progress = on_progress;
    call.on_connect = on_connect;
    call.ctx = &k;
    call.follow = 1;
    call.no_proxy = 1; /* no environment proxy: on_connect sees the target */
    call.connect_secs = 30;
    call.total_secs = fr->max_secs;
    call.stall_secs = fr->stall_secs > 0 ? fr->stall_secs : 60;
    call.agent = "Cobalt/" COBALT_VERSION " (copy)";
    cr = http_client_call(k.c, &call, errbuf, sizeof(errbuf));
    if (k.stop_rc == 0 && cr == HTTP_CALL_OK && !k.started)
        (void)begin_body(&k); /* a body-less answer: a failure sets stop_rc */
    if (k.stop_rc != 0) {
        rc = k.stop_rc;
    } else if (cr != HTTP_CALL_OK && !(cr == HTTP_CALL_STOPPED && k.complete)) {
        rc = cancelled(&k) ? ECANCELED : CO_EUNREACHABLE;
        if (res->detail[0] == '\0') /* (on_connect's refusal is more precise than curl's text) */
            snprintf(res->detail, sizeof(res->detail), "%s", errbuf);
        /* Before the body: refused, unresolvable, closed or silent must look alike. */
        if (k.started)
            snprintf(res->message, sizeof(res->message),
                     "the transfer from the copy source failed: %.200s", res->detail);
        else
            snprintf(res->message, sizeof(res->message), UNREACHABLE);
    } else if (!k.known && k.chunk_len > 0) {
        int err = write_needle(&k, k.chunk, k.chunk_len);
        if (err != 0) {
            snprintf(res->message, sizeof(res->message), "storing the copy failed: %s",
                     strerror(err));
            rc = err;
        }
    } else if (k.known && k.got < k.want) {
        snprintf(res->message, sizeof(res->message),
                 "the copy source ended after %llu of %llu bytes", (unsigned long long)k.got,
                 (unsigned long long)k.want);
        rc = CO_ESHORT;
    }
    if (rc == ECANCELED && res->message[0] == '\0')
        snprintf(res->message, sizeof(res->message), "the copy was stopped");
    eng_data_write_abort(k.e, k.w); /* an unfinished payload: garbage (V3) */
    free(k.chunk);
    MD5_Final(res->md5, &k.md5);
    res->size = rc == 0 ? k.got : res->size;
    http_client_free(k.c);
    return rc;
}

void
fetch_result_release(struct engine *e, struct fetch_result *res)
{
    for (size_t i = 0; i < res->next; i++)
        eng_data_release(e, &res->ext[i]);
    free(res->ext);
    res->ext = NULL;
    res->next = 0;
}
