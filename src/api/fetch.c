/*
 * fetch.c -- GET a copy source over HTTP(S) into needles (see fetch.h for the contract).
 *
 * libcurl drives the transfer on the calling thread.  Its header callback collects the properties
 * of the final response (a redirect's headers are forgotten when the next status line arrives);
 * the first body byte decides how much will be stored, and every later byte goes straight to the
 * current needle writer (known length) or to a FETCH_CHUNK buffer (unknown length).  A source that
 * ignores a Range request and answers 200 is sliced here: bytes before the range are dropped and
 * the transfer stops once the range is complete.
 */
#include "api/fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/md5.h>

#include "meta/meta.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/crc.h"

#define META_PREFIX   "x-ms-meta-"
#define MAX_REDIRECTS 5L

struct sink {
    struct store *s;
    struct arena *a;
    const struct fetch_req *fr;
    struct fetch_result *res;
    CURL *c;
    int started;
    int stop_rc;                /* why we stopped the transfer ourselves (FETCH_*), 0 if we did not */
    int complete;               /* the wanted bytes are all stored (a sliced 200) */
    uint64_t skip;              /* bytes still to drop before the range (a 200 to a ranged GET) */
    int known;
    uint64_t want;              /* bytes to store, when known */
    uint64_t got;               /* bytes stored */
    struct needle_writer *w;    /* the needle being written (known length) */
    uint64_t w_left;
    char *chunk;                /* unknown length: the next needle's bytes */
    size_t chunk_len;
    size_t cap_ext;
    size_t cap_meta;
    MD5_CTX md5;
};

int
fetch_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
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
    struct needle_writer *w = NULL;
    struct extent e;
    int err;

    if ((err = store_write_begin(k->s, n, &w)) != 0)
        return err;
    if ((err = store_write(w, p, n)) != 0) {
        store_write_abort(w);
        return err;
    }
    if ((err = store_write_finish(w, &e)) != 0)
        return err;
    if ((err = add_extent(k, &e)) != 0)
        store_release(k->s, &e);   /* not referenced by anything: garbage (V3) */
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
            if ((err = store_write_begin(k->s, seg, &k->w)) != 0) {
                k->w = NULL;
                return err;
            }
            k->w_left = seg;
        }
        m = n < k->w_left ? n : (size_t)k->w_left;
        if ((err = store_write(k->w, p, m)) != 0)
            return err;
        k->w_left -= m;
        k->got += m;   /* counted here for the segment arithmetic; see on_data */
        p += m;
        n -= m;
        if (k->w_left == 0) {
            struct extent e;
            struct needle_writer *w = k->w;
            k->w = NULL;
            if ((err = store_write_finish(w, &e)) != 0)
                return err;
            if ((err = add_extent(k, &e)) != 0) {
                store_release(k->s, &e);
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
    long code = 0;
    curl_off_t cl = -1;

    k->started = 1;
    curl_easy_getinfo(k->c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(k->c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    k->res->status = (int)code;
    if (code < 200 || code > 299) {
        snprintf(k->res->message, sizeof(k->res->message), "the copy source answered HTTP %ld%s%s",
                 code, k->res->error_code ? " " : "",
                 k->res->error_code ? k->res->error_code : "");
        k->stop_rc = FETCH_HTTP;
        return -1;
    }
    if (fr->ranged) {
        k->res->has_content_md5 = 0;   /* the header describes the whole blob, not the range */
        if (code != 206) {
            k->skip = fr->start;
            if (cl >= 0) {
                uint64_t last = fr->end < (uint64_t)cl ? fr->end : (uint64_t)cl - 1;
                if (fr->start >= (uint64_t)cl) {
                    k->res->status = 416;
                    snprintf(k->res->message, sizeof(k->res->message),
                             "the source range starts past the end of the source");
                    k->stop_rc = FETCH_HTTP;
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
        k->stop_rc = FETCH_TOO_LARGE;
        return -1;
    }
    if (k->known && fr->total != NULL)
        __atomic_store_n(fr->total, k->want, __ATOMIC_RELAXED);
    if (!k->known && (k->chunk = malloc(FETCH_CHUNK)) == NULL) {
        k->res->err = ENOMEM;
        k->stop_rc = FETCH_STORE;
        return -1;
    }
    return 0;
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
    struct sink *k = ctx;
    size_t n = size * nmemb, whole = n;
    int err;

    if (cancelled(k)) {
        k->stop_rc = FETCH_CANCELLED;
        return 0;
    }
    if (!k->started && begin_body(k) != 0)
        return 0;
    if (k->skip > 0) {
        size_t d = k->skip < n ? (size_t)k->skip : n;
        p += d;
        n -= d;
        k->skip -= d;
        if (n == 0)
            return whole;
    }
    if (k->known && n > k->want - k->got) {
        n = (size_t)(k->want - k->got);   /* only when slicing a 200: stop after the range */
        k->complete = 1;
    }
    if (!k->known && k->fr->max_size != 0 && k->got + n > k->fr->max_size) {
        snprintf(k->res->message, sizeof(k->res->message),
                 "the copy source is larger than this operation allows");
        k->stop_rc = FETCH_TOO_LARGE;
        return 0;
    }
    if ((err = store_bytes(k, p, n)) != 0) {
        k->res->err = err;
        snprintf(k->res->message, sizeof(k->res->message), "storing the copy failed: %s",
                 strerror(err));
        k->stop_rc = FETCH_STORE;
        return 0;
    }
    if (!k->known)
        k->got += n;   /* (known lengths count in store_bytes, per segment) */
    k->res->size = k->got;
    if (k->fr->progress != NULL)
        __atomic_store_n(k->fr->progress, k->got, __ATOMIC_RELAXED);
    if (k->known && k->got == k->want && k->skip == 0 && k->fr->ranged)
        k->complete = 1;
    return k->complete ? 0 : whole;
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

static size_t
on_header(char *line, size_t size, size_t nmemb, void *ctx)
{
    struct sink *k = ctx;
    struct fetch_result *r = k->res;
    size_t n = size * nmemb, nl;
    const char *colon = memchr(line, ':', n);
    char *v;

    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {   /* a new response: forget the last one's */
        r->error_code = r->content_type = r->content_encoding = r->content_language = NULL;
        r->content_disposition = r->cache_control = NULL;
        r->has_content_md5 = 0;
        r->nmeta = 0;
        return n;
    }
    if (colon == NULL)
        return n;
    nl = (size_t)(colon - line);
    if ((v = trimmed(k->a, colon + 1, n - nl - 1)) == NULL)
        return 0;   /* over the arena's cap: a hostile source */
#define IS(h) (nl == sizeof(h) - 1 && strncasecmp(line, h, nl) == 0)
    if (IS("x-ms-error-code"))
        r->error_code = v;
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
    else if (nl > sizeof(META_PREFIX) - 1 && strncasecmp(line, META_PREFIX, sizeof(META_PREFIX) - 1) == 0) {
        if (r->nmeta == k->cap_meta) {
            size_t cap = k->cap_meta ? k->cap_meta * 2 : 8;
            struct meta_pair *m = arena_alloc(k->a, sizeof(*m) * cap);
            if (m == NULL)
                return 0;
            if (r->nmeta)
                memcpy(m, r->meta, sizeof(*m) * r->nmeta);
            r->meta = m;
            k->cap_meta = cap;
        }
        r->meta[r->nmeta].name = arena_strndup(k->a, line + sizeof(META_PREFIX) - 1,
                                               nl - (sizeof(META_PREFIX) - 1));
        r->meta[r->nmeta].value = v;
        if (r->meta[r->nmeta].name == NULL)
            return 0;
        r->nmeta++;
    }
#undef IS
    return n;
}

static int
on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct sink *k = ctx;

    if (cancelled(k)) {
        k->stop_rc = FETCH_CANCELLED;
        return 1;
    }
    return 0;
}

static struct curl_slist *
add_header(struct curl_slist *l, struct arena *a, const char *name, const char *value, int *oom)
{
    struct curl_slist *n;
    char *h;

    if (value == NULL || *oom)
        return l;
    if ((h = arena_printf(a, "%s: %s", name, value)) == NULL ||
        (n = curl_slist_append(l, h)) == NULL) {
        *oom = 1;
        return l;
    }
    return n;
}

int
fetch_into_store(struct store *s, struct arena *a, const struct fetch_req *fr,
                 struct fetch_result *res)
{
    struct sink k = {0};
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE] = "", range[64];
    CURLcode cr;
    int rc = FETCH_OK, oom = 0;

    memset(res, 0, sizeof(*res));
    k.s = s;
    k.a = a;
    k.fr = fr;
    k.res = res;
    MD5_Init(&k.md5);
    if ((k.c = curl_easy_init()) == NULL) {
        snprintf(res->message, sizeof(res->message), "out of memory");
        return FETCH_NET;
    }
    hdrs = add_header(hdrs, a, "Authorization", fr->authorization, &oom);
    hdrs = add_header(hdrs, a, "If-Match", fr->if_match, &oom);
    hdrs = add_header(hdrs, a, "If-None-Match", fr->if_none_match, &oom);
    hdrs = add_header(hdrs, a, "If-Modified-Since", fr->if_modified_since, &oom);
    hdrs = add_header(hdrs, a, "If-Unmodified-Since", fr->if_unmodified_since, &oom);
    hdrs = add_header(hdrs, a, "x-ms-version", "2021-12-02", &oom);   /* Azure sources */
    if (fr->ranged) {
        if (fr->end == UINT64_MAX)
            snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)fr->start);
        else
            snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)fr->start,
                     (unsigned long long)fr->end);
        hdrs = add_header(hdrs, a, "Range", range, &oom);
    }
    if (oom) {
        snprintf(res->message, sizeof(res->message), "out of memory");
        rc = FETCH_NET;
        goto out;
    }
    curl_easy_setopt(k.c, CURLOPT_URL, fr->url);
    curl_easy_setopt(k.c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k.c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k.c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k.c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(k.c, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
    curl_easy_setopt(k.c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(k.c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(k.c, CURLOPT_LOW_SPEED_TIME, fr->stall_secs > 0 ? fr->stall_secs : 60L);
    curl_easy_setopt(k.c, CURLOPT_USERAGENT, "Cobalt/" COBALT_VERSION " (copy)");
    curl_easy_setopt(k.c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(k.c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(k.c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(k.c, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(k.c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(k.c, CURLOPT_HEADERDATA, &k);
    curl_easy_setopt(k.c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(k.c, CURLOPT_XFERINFODATA, &k);
    curl_easy_setopt(k.c, CURLOPT_NOPROGRESS, 0L);
    cr = curl_easy_perform(k.c);
    if (k.stop_rc == 0 && cr == CURLE_OK && !k.started)
        (void)begin_body(&k);   /* a body-less answer: a failure sets stop_rc */
    if (k.stop_rc != 0) {
        rc = k.stop_rc;
    } else if (cr != CURLE_OK && !(cr == CURLE_WRITE_ERROR && k.complete)) {
        rc = cancelled(&k) ? FETCH_CANCELLED : FETCH_NET;
        snprintf(res->message, sizeof(res->message), "fetching the copy source failed: %s",
                 errbuf[0] ? errbuf : curl_easy_strerror(cr));
    } else if (!k.known && k.chunk_len > 0) {
        int err = write_needle(&k, k.chunk, k.chunk_len);
        if (err != 0) {
            res->err = err;
            snprintf(res->message, sizeof(res->message), "storing the copy failed: %s",
                     strerror(err));
            rc = FETCH_STORE;
        }
    } else if (k.known && k.got < k.want) {
        snprintf(res->message, sizeof(res->message),
                 "the copy source ended after %llu of %llu bytes", (unsigned long long)k.got,
                 (unsigned long long)k.want);
        rc = FETCH_SHORT;
    }
    if (rc == FETCH_CANCELLED && res->message[0] == '\0')
        snprintf(res->message, sizeof(res->message), "the copy was stopped");
out:
    store_write_abort(k.w);   /* an unfinished needle: garbage (V3) */
    free(k.chunk);
    MD5_Final(res->md5, &k.md5);
    res->size = rc == FETCH_OK ? k.got : res->size;
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(k.c);
    return rc;
}

void
fetch_result_release(struct store *s, struct fetch_result *res)
{
    for (size_t i = 0; i < res->next; i++)
        store_release(s, &res->ext[i]);
    free(res->ext);
    res->ext = NULL;
    res->next = 0;
}
