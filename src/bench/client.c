/*
 * client.c -- the HTTP side of `cobalt bench`: one keep-alive connection per worker thread,
 * requests signed with the project's own Shared Key canonicaliser, and payloads that can be checked
 * byte for byte on the way back.
 *
 * Requests go through the project's HTTP client (net/client.h, libcurl): one client per worker
 * thread keeps its connection alive across requests.  Its per-request cost (~10 us of CPU) is
 * small next to the server's, and we measure it: the profile section of docs/benchmarks.md shows
 * the client's share of the machine.  Bodies are streamed through callbacks in both directions, so
 * a 64 MiB upload or download never sits in memory and a GET is verified as it arrives.
 *
 * Signing: auth_sign_shared_key() in src/auth builds the string-to-sign with the same code the
 * server uses to check it, so there is one canonicaliser in the project.
 */
#include "bench/bench_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "net/client.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/timefmt.h"

#define API_VERSION "2021-12-02" /* accepted by Cobalt, Azurite and Azure */
#define MAX_QUERY   16
#define MAX_HDRS    12
#define ARENA_CAP   (256 * 1024)

/* ---- payloads ---- */

/* SplitMix64's finaliser: a bijection that scatters consecutive inputs. */
static inline uint64_t
mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Word i of a payload; byte `off` is byte off % 8 (little-endian) of word off / 8. */
static inline uint64_t
payload_word(uint64_t seed, uint64_t i)
{
    return mix64(seed + i * 0x9e3779b97f4a7c15ULL);
}

uint64_t
payload_seed(uint64_t run_seed, const char *name, uint64_t gen)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a of the name */

    for (; *name != '\0'; name++)
        h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
    return mix64(h ^ mix64(run_seed) ^ mix64(gen + 0x51));
}

uint64_t
payload_size(const struct bench_cfg *cfg, uint64_t seed)
{
    if (cfg->size_max <= cfg->size_min)
        return cfg->size_min;
    return cfg->size_min + mix64(seed ^ 0x5eedULL) % (cfg->size_max - cfg->size_min + 1);
}

void
payload_fill(uint64_t seed, uint64_t off, void *dst, size_t n)
{
    unsigned char *d = dst;
    uint64_t w;
    size_t k;

    while (n > 0 && (off & 7) != 0) {
        w = payload_word(seed, off >> 3);
        *d++ = (unsigned char)(w >> (8 * (off & 7)));
        off++;
        n--;
    }
    for (; n >= 8; n -= 8, off += 8, d += 8) {
        w = payload_word(seed, off >> 3);
        for (k = 0; k < 8; k++)
            d[k] = (unsigned char)(w >> (8 * k));
    }
    for (; n > 0; n--, off++)
        *d++ = (unsigned char)(payload_word(seed, off >> 3) >> (8 * (off & 7)));
}

int
payload_check(uint64_t seed, uint64_t off, const void *src, size_t n)
{
    unsigned char want[4096];
    const unsigned char *s = src;
    size_t k;

    while (n > 0) {
        k = n < sizeof(want) ? n : sizeof(want);
        payload_fill(seed, off, want, k);
        if (memcmp(want, s, k) != 0)
            return -1;
        s += k;
        off += k;
        n -= k;
    }
    return 0;
}

/* ---- the client ---- */

struct bclient {
    const struct bench_cfg *cfg;
    const char *base; /* the endpoint's "http://host:port" */
    struct http_client *h;
    struct buf url;
    /* per request */
    const struct breq *r;
    struct bresp *out;
    uint64_t sent;
    int64_t t0; /* when the request started, for ttfb */
};

int
bclient_global_init(void)
{
    return http_client_global_init();
}

struct bclient *
bclient_new(const struct bench_cfg *cfg, int which)
{
    struct bclient *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->cfg = cfg;
    c->base = cfg->base[which % cfg->nendpoints];
    if ((c->h = http_client_new()) == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void
bclient_free(struct bclient *c)
{
    if (c == NULL)
        return;
    http_client_free(c->h);
    buf_free(&c->url);
    free(c);
}

static size_t
on_read(void *arg, char *dst, size_t max)
{
    struct bclient *c = arg;
    const struct breq *r = c->r;
    uint64_t left = r->body_len - c->sent;
    size_t n = max < left ? max : (size_t)left;

    if (r->body_mem != NULL)
        memcpy(dst, r->body_mem + c->sent, n);
    else
        payload_fill(r->body_seed, r->body_off + c->sent, dst, n);
    c->sent += n;
    return n;
}

static int
on_write(void *arg, const char *p, size_t n)
{
    struct bclient *c = arg;
    struct bresp *out = c->out;

    if (c->r->resp_mode == BODY_KEEP || (out->status >= 300 && c->r->resp_buf != NULL)) {
        if (c->r->resp_buf != NULL)
            buf_add(c->r->resp_buf, p, n);
    } else if (c->r->resp_mode == BODY_VERIFY && out->status < 300 && !out->mismatch &&
               payload_check(c->r->resp_seed, out->body_bytes, p, n) != 0) {
        out->mismatch = 1;
    }
    out->body_bytes += n;
    return 0;
}

/* Header lines: the status line (reset on each, for 100 Continue), the two headers we read. */
static int
on_header(void *arg, const char *p, size_t n)
{
    struct bresp *out = ((struct bclient *)arg)->out;
    size_t k;
    const char *v;

    if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* The first status line marks the answer (not the start of an upload): time it here. */
        if (out->ttfb_us == 0)
            out->ttfb_us = (uint64_t)(now_ns() - ((struct bclient *)arg)->t0) / 1000;
        v = memchr(p, ' ', n);
        out->status = v != NULL ? atoi(v + 1) : 0;
        out->code[0] = '\0';
        out->content_length = -1;
        return 0;
    }
    if (n > 16 && strncasecmp(p, "x-ms-error-code:", 16) == 0) {
        for (v = p + 16; v < p + n && *v == ' '; v++)
            ;
        for (k = 0; v + k < p + n && v[k] != '\r' && v[k] != '\n' && k + 1 < sizeof(out->code); k++)
            out->code[k] = v[k];
        out->code[k] = '\0';
    } else if (n > 15 && strncasecmp(p, "content-length:", 15) == 0) {
        out->content_length = strtoll(p + 15, NULL, 10);
    }
    return 0;
}

/* Splits a copy of "a=b&c=d" into kv pairs (raw).  Returns how many, at most MAX_QUERY. */
static size_t
split_query(struct arena *a, const char *q, struct auth_kv *kv)
{
    char *s, *save = NULL, *tok, *eq;
    size_t n = 0;

    if (q == NULL || (s = arena_strdup(a, q)) == NULL)
        return 0;
    for (tok = strtok_r(s, "&", &save); tok != NULL && n < MAX_QUERY;
         tok = strtok_r(NULL, "&", &save)) {
        eq = strchr(tok, '=');
        if (eq != NULL)
            *eq++ = '\0';
        kv[n].name = tok;
        kv[n].value = eq != NULL ? eq : "";
        n++;
    }
    return n;
}

/*
 * The request's headers into hk (at least MAX_HDRS), with the Authorization header when signing:
 * what is sent is what is signed.  How many, or -1 when out of memory.
 */
static int
build_headers(struct bclient *c, const struct breq *r, struct arena *a, struct auth_kv *hk)
{
    const struct bench_cfg *cfg = c->cfg;
    struct auth_kv qk[MAX_QUERY];
    struct auth_request ar;
    char *date = arena_alloc(a, 30), sig[BASE64_LEN(AUTH_HMAC_LEN) + 1], *line, *colon, clen[24];
    size_t nh = 0, i;

    if (date == NULL)
        return -1;
    fmt_rfc1123(ticks_now(), date);
    hk[nh++] = (struct auth_kv){"x-ms-date", date};
    hk[nh++] = (struct auth_kv){"x-ms-version", API_VERSION};
    for (i = 0; i < 3 && r->hdrs[i] != NULL; i++) {
        if ((line = arena_strdup(a, r->hdrs[i])) == NULL || (colon = strchr(line, ':')) == NULL)
            return -1;
        *colon++ = '\0';
        while (*colon == ' ')
            colon++;
        hk[nh++] = (struct auth_kv){line, colon};
    }
    if (cfg->sas != NULL)
        return (int)nh;

    /* The client sends Content-Length itself for uploads; it is signed, not added. */
    if (r->upload) {
        snprintf(clen, sizeof(clen), "%llu", (unsigned long long)r->body_len);
        hk[nh] = (struct auth_kv){"Content-Length", clen};
    }
    memset(&ar, 0, sizeof(ar));
    ar.method = r->method;
    if ((ar.raw_path = arena_printf(a, "%s%s", cfg->prefix, r->path)) == NULL)
        return -1;
    ar.headers = hk;
    ar.nheaders = nh + (r->upload ? 1 : 0);
    ar.query = qk;
    ar.nquery = split_query(a, r->query, qk);
    ar.account = cfg->acct.name;
    if (auth_sign_shared_key(&ar, &cfg->acct, a, sig) != 0 ||
        (line = arena_printf(a, "SharedKey %s:%s", cfg->acct.name, sig)) == NULL)
        return -1;
    hk[nh++] = (struct auth_kv){"Authorization", line};
    return (int)nh;
}

int
bclient_do(struct bclient *c, const struct breq *r, struct bresp *out)
{
    const struct bench_cfg *cfg = c->cfg;
    struct arena *a = NULL;
    struct auth_kv hk[MAX_HDRS];
    struct http_call call = {0};
    char err[256];
    int rc = -1, nh;

    memset(out, 0, sizeof(*out));
    out->content_length = -1;
    c->r = r;
    c->out = out;
    c->sent = 0;

    buf_reset(&c->url);
    buf_puts(&c->url, c->base);
    buf_puts(&c->url, cfg->prefix);
    buf_puts(&c->url, r->path);
    if (r->query != NULL) {
        buf_putc(&c->url, '?');
        buf_puts(&c->url, r->query);
    }
    if (cfg->sas != NULL) {
        buf_putc(&c->url, r->query != NULL ? '&' : '?');
        buf_puts(&c->url, cfg->sas);
    }
    if ((a = arena_new(ARENA_CAP)) == NULL || !buf_ok(&c->url) ||
        (nh = build_headers(c, r, a, hk)) < 0) {
        snprintf(out->code, sizeof(out->code), "ClientOutOfMemory");
        goto done;
    }
    call.method = r->method;
    call.url = c->url.p;
    call.headers = hk;
    call.nheaders = (size_t)nh;
    if (r->upload) {
        call.read = on_read;
        call.body_len = r->body_len;
    }
    call.on_header = on_header;
    call.on_data = on_write;
    call.ctx = c;
    call.cacert = cfg->cacert;
    c->t0 = now_ns();
    if (http_client_call(c->h, &call, err, sizeof(err)) != HTTP_CALL_OK) {
        out->status = 0;
        snprintf(out->code, sizeof(out->code), "%.63s", err);
        goto done;
    }
    rc = 0;
done:
    arena_free(a);
    c->r = NULL;
    c->out = NULL;
    return rc;
}
