/*
 * bench.c -- `cobalt bench`: the command line, the workloads and the run.
 *
 *   cobalt bench put|get|stat|delete|list|mixed|block [options]     (usage() lists them)
 *
 * A run: create the container (unless it exists), create the pool of objects the workload reads
 * (get, stat, delete, list, mixed), then release --concurrency workers, each a thread with its own
 * keep-alive connection, for --warmup + --duration seconds or until --count operations are done.
 * The main thread prints a progress line each second and, at the end, the report (report.c).  A
 * container the tool named itself is deleted at the end unless --keep.
 *
 * Correctness is part of every figure: an object's bytes are a pure function of (run seed, name,
 * generation) (client.c), every GET body is compared with them as it arrives and its length with
 * the object's, every HEAD's Content-Length likewise, every listing pass must see the whole pool,
 * and every status must be the one the operation returns on success.  Anything else is an error,
 * reported by status and x-ms-error-code, and makes the exit status 1.
 *
 * Who touches which object (so that expectations are exact without locks):
 *   get, stat   any pool object, read-only;
 *   delete      pool object i belongs to worker i % concurrency, deleted once;
 *   mixed       likewise owned, and the owner tracks each object's generation and existence;
 *   put, block  new names per worker ("put/w007-0000000042").
 */
#include "bench/bench.h"
#include "bench/bench_int.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/codec.h"

#define DEV_ENDPOINT "http://127.0.0.1:10000/devstoreaccount1"
#define DEV_ACCOUNT  "devstoreaccount1"
#define DEV_KEY \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static const char *const workload_names[] = {"put",  "get",   "stat", "delete",
                                             "list", "mixed", "block"};

struct ctx {
    const struct bench_cfg *cfg;
    struct report *rep;
    atomic_int stop;
    _Atomic uint64_t tickets;  /* --count: operations handed out */
    _Atomic uint64_t prepared; /* pool objects created so far */
    atomic_int failed_prepare;
    atomic_int finished; /* workers that have returned */
};

struct worker {
    int id;
    struct ctx *ctx;
    struct bclient *cl;
    struct wstats st;
    struct buf body; /* list pages and error bodies */
    struct buf xml;  /* Put Block List body */
    uint64_t rng;
    uint64_t seq;          /* put, block: the worker's next new object */
    uint64_t nslice;       /* delete, mixed: pool objects this worker owns */
    uint64_t next;         /* delete: next owned object to delete */
    uint32_t *gen;         /* mixed: generation of each owned object */
    unsigned char *exists; /* mixed: whether it exists now */
    char *marker;          /* list: continuation of the current pass */
    uint64_t pass_entries;
    int64_t t_last; /* when its last operation ended */
    pthread_t thread;
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: cobalt bench WORKLOAD [options]\n"
               "\n"
               "workloads:\n"
               "  put     Put Blob of new objects          get     Get Blob of pool objects\n"
               "  stat    Get Blob Properties (HEAD)       delete  Delete Blob of pool objects\n"
               "  list    List Blobs pages over the pool   block   Put Block x N + Put Block List\n"
               "  mixed   45%% get, 30%% stat, 15%% put, 10%% delete over the pool\n"
               "\n"
               "options:\n"
               "  --endpoint URL      blob endpoint (default " DEV_ENDPOINT "); repeat it for\n"
               "                      gateways of one store: worker i uses endpoint i mod N\n"
               "  --account NAME      Shared Key account (default " DEV_ACCOUNT ")\n"
               "  --key BASE64        its key (default the development key)\n"
               "  --sas QUERY         sign nothing; append this SAS query string to every request\n"
               "  --cacert FILE       trust this PEM CA for an https endpoint (else the system's)\n"
               "  --container NAME    container to use (created if missing; default a new\n"
               "                      cobalt-bench-* container, deleted at the end)\n"
               "  --keep              do not delete the container the tool created\n"
               "  --no-prepare        the pool exists: an earlier run with --keep and the same\n"
               "                      --container, --seed, --size and --objects made it\n"
               "  --size N|MIN:MAX    object size, fixed or uniform in [MIN, MAX] (default 4KiB);\n"
               "                      suffixes K/KiB, M/MiB, G/GiB are binary\n"
               "  --block-size N      block workload and pool objects larger than this are\n"
               "                      uploaded in blocks of N (default 4MiB)\n"
               "  --concurrency N     workers, each with one keep-alive connection (default 32)\n"
               "  --duration SECS     measured time (default 10)\n"
               "  --count N           stop after N operations instead (warm-up ops included)\n"
               "  --warmup SECS       not measured, before --duration (default 1; 0 with --count)\n"
               "  --objects N         pool size for get/stat/delete/list/mixed (default 1000;\n"
               "                      delete: --count, or 100000)\n"
               "  --page-size N       list: maxresults per page (default 5000)\n"
               "  --seed N            payload seed (default from the clock)\n"
               "  --json FILE         also write the report as JSON ('-' for stdout)\n"
               "  --quiet             no progress line\n"
               "\n"
               "Every GET body and length is checked against what was written; any mismatch or\n"
               "unexpected status is an error, and errors make the exit status 1.\n");
}

/* ---- parsing ---- */

/* "4096", "4k", "4KiB", "1M", "1MiB", "2G": binary units.  -1 when malformed. */
static int
parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    uint64_t mul = 1;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (end == s || errno != 0)
        return -1;
    switch (*end) {
    case 'k':
    case 'K':
        mul = 1ULL << 10;
        end++;
        break;
    case 'm':
    case 'M':
        mul = 1ULL << 20;
        end++;
        break;
    case 'g':
    case 'G':
        mul = 1ULL << 30;
        end++;
        break;
    default:
        break;
    }
    if (mul > 1 && (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0))
        end += strlen(end);
    if (*end == 'B' && mul == 1)
        end++;
    if (*end != '\0')
        return -1;
    *out = (uint64_t)v * mul;
    return 0;
}

static int
parse_sizes(const char *s, uint64_t *lo, uint64_t *hi)
{
    const char *colon = strchr(s, ':');
    char first[64];

    if (colon == NULL) {
        if (parse_size(s, lo) != 0)
            return -1;
        *hi = *lo;
        return 0;
    }
    if ((size_t)(colon - s) >= sizeof(first))
        return -1;
    memcpy(first, s, (size_t)(colon - s));
    first[colon - s] = '\0';
    return parse_size(first, lo) != 0 || parse_size(colon + 1, hi) != 0 || *hi < *lo ? -1 : 0;
}

static int
parse_secs(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || v < 0 || (*end != '\0' && strcmp(end, "s") != 0))
        return -1;
    *out = v;
    return 0;
}

/* Splits endpoint i, "http://host:port/path", into its base and path prefix (no trailing '/');
 * every endpoint must have the first one's prefix (the same account). */
static int
parse_endpoint(struct bench_cfg *cfg, int i)
{
    const char *url = cfg->endpoint[i], *hostp, *slash;
    char *prefix;
    size_t n;

    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return -1;
    hostp = strstr(url, "://") + 3;
    slash = strchr(hostp, '/');
    n = slash != NULL ? (size_t)(slash - url) : strlen(url);
    cfg->base[i] = strndup(url, n);
    prefix = strdup(slash != NULL ? slash : "");
    if (cfg->base[i] == NULL || prefix == NULL) {
        free(prefix);
        return -1;
    }
    n = strlen(prefix);
    while (n > 0 && prefix[n - 1] == '/')
        prefix[--n] = '\0';
    if (i == 0) {
        cfg->prefix = prefix;
        return 0;
    }
    n = strcmp(prefix, cfg->prefix) == 0 ? 0 : 1;
    free(prefix);
    return n == 0 ? 0 : -1;
}

/* ---- checking answers ---- */

static uint64_t
rng_next(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/*
 * 0 when the request got an answer with status `want`; otherwise records the error and returns -1.
 */
static int
expect_status(struct worker *w, int rc, const struct bresp *resp, int want)
{
    if (rc == 0 && resp->status == want)
        return 0;
    report_error(w->ctx->rep, now_ns(), resp->status, resp->code[0] != '\0' ? resp->code : "-");
    return -1;
}

static int
fail(struct worker *w, int status, const char *code)
{
    report_error(w->ctx->rep, now_ns(), status, code);
    return -1;
}

/* ---- operations: each returns 0 (and its payload bytes in *bytes), or -1 (error recorded) ---- */

static void
object_path(const struct worker *w, char *out, size_t n, const char *name)
{
    snprintf(out, n, "/%s/%s", w->ctx->cfg->container, name);
}

static void
pool_name(char *out, size_t n, uint64_t i)
{
    snprintf(out, n, "pool/%010" PRIu64, i);
}

/*
 * Put Blob (blocks 0), or Put Block x N + Put Block List (blocks 1), or whichever fits the size
 * (blocks -1: blocks when larger than --block-size).  *ttfb_us: to the final answer's first byte.
 */
static int
op_upload(struct worker *w, const char *name, uint64_t gen, int blocks, uint64_t *bytes,
          uint64_t *ttfb_us)
{
    const struct bench_cfg *cfg = w->ctx->cfg;
    uint64_t seed = payload_seed(cfg->seed, name, gen), size = payload_size(cfg, seed), off;
    struct breq rq = {0};
    struct bresp resp;
    struct buf q = BUF_INIT;
    char path[512], raw[16], id[32];
    int64_t t0 = now_ns(), tlast;
    unsigned nb = 0;
    int rc = -1;

    if (blocks < 0)
        blocks = size > cfg->block_size;
    object_path(w, path, sizeof(path), name);
    rq.method = "PUT";
    rq.path = path;
    rq.upload = 1;
    rq.body_seed = seed;
    rq.resp_buf = &w->body;
    if (!blocks) {
        rq.hdrs[0] = "x-ms-blob-type: BlockBlob";
        rq.hdrs[1] = "Content-Type: application/octet-stream";
        rq.body_len = size;
        buf_reset(&w->body);
        if (expect_status(w, bclient_do(w->cl, &rq, &resp), &resp, 201) != 0)
            return -1;
        *bytes = size;
        *ttfb_us = resp.ttfb_us;
        return 0;
    }

    buf_reset(&w->xml);
    buf_puts(&w->xml, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for (off = 0; off < size; off += cfg->block_size, nb++) {
        snprintf(raw, sizeof(raw), "blk-%08u", nb); /* 12 bytes: 16 base64 chars */
        base64_encode(raw, 12, id);
        buf_reset(&q);
        buf_puts(&q, "comp=block&blockid=");
        pct_encode(&q, id, strlen(id), 0);
        rq.query = q.p;
        rq.body_off = off;
        rq.body_len = size - off < cfg->block_size ? size - off : cfg->block_size;
        buf_reset(&w->body);
        if (!buf_ok(&q) || expect_status(w, bclient_do(w->cl, &rq, &resp), &resp, 201) != 0)
            goto done;
        buf_printf(&w->xml, "<Latest>%s</Latest>", id);
    }
    buf_puts(&w->xml, "</BlockList>");
    if (!buf_ok(&w->xml)) {
        fail(w, 0, "ClientOutOfMemory");
        goto done;
    }
    rq.query = "comp=blocklist";
    rq.body_mem = w->xml.p;
    rq.body_len = w->xml.len;
    rq.body_off = 0;
    rq.hdrs[0] = "Content-Type: application/xml";
    tlast = now_ns();
    buf_reset(&w->body);
    if (expect_status(w, bclient_do(w->cl, &rq, &resp), &resp, 201) != 0)
        goto done;
    *bytes = size;
    *ttfb_us = (uint64_t)(tlast - t0) / 1000 + resp.ttfb_us;
    rc = 0;
done:
    buf_free(&q);
    return rc;
}

/* Get Blob, checked byte for byte and for length. */
static int
op_get(struct worker *w, const char *name, uint64_t gen, uint64_t *bytes, uint64_t *ttfb_us)
{
    const struct bench_cfg *cfg = w->ctx->cfg;
    uint64_t seed = payload_seed(cfg->seed, name, gen), size = payload_size(cfg, seed);
    struct breq rq = {0};
    struct bresp resp;
    char path[512];

    object_path(w, path, sizeof(path), name);
    rq.method = "GET";
    rq.path = path;
    rq.resp_mode = BODY_VERIFY;
    rq.resp_seed = seed;
    if (expect_status(w, bclient_do(w->cl, &rq, &resp), &resp, 200) != 0)
        return -1;
    if (resp.mismatch)
        return fail(w, 200, "ContentMismatch");
    if (resp.body_bytes != size ||
        (resp.content_length >= 0 && (uint64_t)resp.content_length != size))
        return fail(w, 200, "LengthMismatch");
    *bytes = size;
    *ttfb_us = resp.ttfb_us;
    return 0;
}

/* Get Blob Properties: 200 and the object's Content-Length. */
static int
op_stat(struct worker *w, const char *name, uint64_t gen, uint64_t *ttfb_us)
{
    const struct bench_cfg *cfg = w->ctx->cfg;
    uint64_t size = payload_size(cfg, payload_seed(cfg->seed, name, gen));
    struct breq rq = {0};
    struct bresp resp;
    char path[512];

    object_path(w, path, sizeof(path), name);
    rq.method = "HEAD";
    rq.path = path;
    if (expect_status(w, bclient_do(w->cl, &rq, &resp), &resp, 200) != 0)
        return -1;
    if (resp.content_length < 0 || (uint64_t)resp.content_length != size)
        return fail(w, 200, "LengthMismatch");
    *ttfb_us = resp.ttfb_us;
    return 0;
}

static int
op_delete(struct worker *w, const char *name, uint64_t *ttfb_us)
{
    struct breq rq = {0};
    struct bresp resp;
    char path[512];

    object_path(w, path, sizeof(path), name);
    rq.method = "DELETE";
    rq.path = path;
    rq.resp_buf = &w->body;
    buf_reset(&w->body);
    if (expect_status(w, bclient_do(w->cl, &rq, &resp), &resp, 202) != 0)
        return -1;
    *ttfb_us = resp.ttfb_us;
    return 0;
}

/* Text between <tag> and </tag> in s, XML entities undone, as a new string; NULL if absent/empty.
 */
static char *
xml_text(const char *s, const char *open, const char *close)
{
    const char *p = strstr(s, open), *e;
    char *out, *o;

    if (p == NULL)
        return NULL;
    p += strlen(open);
    if ((e = strstr(p, close)) == NULL || e == p || (out = malloc((size_t)(e - p) + 1)) == NULL)
        return NULL;
    for (o = out; p < e; p++) {
        static const struct {
            const char *ent;
            char c;
        } ents[] = {{"&amp;", '&'},
                    {"&lt;", '<'},
                    {"&gt;", '>'},
                    {"&quot;", '"'},
                    {"&apos;", '\''}};
        size_t k;

        for (k = 0; k < 5; k++)
            if (strncmp(p, ents[k].ent, strlen(ents[k].ent)) == 0)
                break;
        if (k < 5) {
            *o++ = ents[k].c;
            p += strlen(ents[k].ent) - 1;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* One List Blobs page of the pool; at the end of a pass, checks that it saw every object. */
static int
op_list(struct worker *w, uint64_t *bytes, uint64_t *entries, uint64_t *ttfb_us)
{
    const struct bench_cfg *cfg = w->ctx->cfg;
    struct breq rq = {0};
    struct bresp resp;
    struct buf q = BUF_INIT;
    char path[512];
    const char *p;
    uint64_t n = 0;
    int rc = -1;

    snprintf(path, sizeof(path), "/%s", cfg->container);
    buf_printf(&q, "restype=container&comp=list&prefix=pool%%2F&maxresults=%d", cfg->page_size);
    if (w->marker != NULL) {
        buf_puts(&q, "&marker=");
        pct_encode(&q, w->marker, strlen(w->marker), 0);
    }
    if (!buf_ok(&q)) {
        fail(w, 0, "ClientOutOfMemory");
        goto done;
    }
    rq.method = "GET";
    rq.path = path;
    rq.query = q.p;
    rq.resp_mode = BODY_KEEP;
    rq.resp_buf = &w->body;
    buf_reset(&w->body);
    if (expect_status(w, bclient_do(w->cl, &rq, &resp), &resp, 200) != 0 || !buf_ok(&w->body)) {
        free(w->marker);
        w->marker = NULL;
        w->pass_entries = 0;
        goto done;
    }
    for (p = w->body.p; p != NULL && (p = strstr(p, "<Blob>")) != NULL; p += 6)
        n++;
    free(w->marker);
    w->marker = xml_text(w->body.p, "<NextMarker>", "</NextMarker>");
    w->pass_entries += n;
    if (w->marker == NULL) {
        uint64_t seen = w->pass_entries;

        w->pass_entries = 0;
        if (seen != cfg->objects) {
            fail(w, 200, "ListCountMismatch");
            goto done;
        }
    }
    *bytes = resp.body_bytes;
    *entries = n;
    *ttfb_us = resp.ttfb_us;
    rc = 0;
done:
    buf_free(&q);
    return rc;
}

/* ---- workers ---- */

/*
 * One operation of the workload.  0 ok, -1 failed (recorded), 1 nothing left to do.  *kind: which
 * operation a mixed run drew (K_*), else -1.
 */
static int
one_op(struct worker *w, uint64_t *bytes, uint64_t *entries, uint64_t *ttfb, int *kind_out)
{
    const struct bench_cfg *cfg = w->ctx->cfg;
    char name[128];
    uint64_t j, r;
    int kind, rc;

    switch (cfg->workload) {
    case W_PUT:
    case W_BLOCK:
        snprintf(name, sizeof(name), "%s/w%03d-%010" PRIu64, cfg->workload == W_PUT ? "put" : "blk",
                 w->id, w->seq++);
        return op_upload(w, name, 0, cfg->workload == W_BLOCK, bytes, ttfb);
    case W_GET:
        pool_name(name, sizeof(name), rng_next(&w->rng) % cfg->objects);
        return op_get(w, name, 0, bytes, ttfb);
    case W_STAT:
        pool_name(name, sizeof(name), rng_next(&w->rng) % cfg->objects);
        return op_stat(w, name, 0, ttfb);
    case W_DELETE:
        if (w->next >= w->nslice)
            return 1;
        pool_name(name, sizeof(name), (uint64_t)w->id + w->next++ * (uint64_t)cfg->concurrency);
        return op_delete(w, name, ttfb);
    case W_LIST:
        return op_list(w, bytes, entries, ttfb);
    case W_MIXED:
        break;
    }
    if (w->nslice == 0)
        return 1;
    r = rng_next(&w->rng) % 100;
    kind = r < 45 ? K_GET : r < 75 ? K_STAT : r < 90 ? K_PUT : K_DELETE;
    j = rng_next(&w->rng) % w->nslice;
    if (kind != K_PUT && !w->exists[j])
        kind = K_PUT;
    pool_name(name, sizeof(name), (uint64_t)w->id + j * (uint64_t)cfg->concurrency);
    switch (kind) {
    case K_GET:
        rc = op_get(w, name, w->gen[j], bytes, ttfb);
        break;
    case K_STAT:
        rc = op_stat(w, name, w->gen[j], ttfb);
        break;
    case K_PUT:
        w->gen[j]++;
        w->exists[j] = 1;
        rc = op_upload(w, name, w->gen[j], -1, bytes, ttfb);
        break;
    default:
        if ((rc = op_delete(w, name, ttfb)) == 0)
            w->exists[j] = 0;
        break;
    }
    *kind_out = kind;
    return rc;
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct ctx *c = w->ctx;
    uint64_t bytes, entries, ttfb;
    int64_t t0, t1;
    int rc, kind;

    while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        if (c->cfg->workload == W_DELETE && w->next >= w->nslice)
            break; /* before taking a ticket another could use */
        if (c->cfg->count > 0 && atomic_fetch_add(&c->tickets, 1) >= c->cfg->count)
            break;
        bytes = entries = ttfb = 0;
        kind = -1;
        t0 = now_ns();
        rc = one_op(w, &bytes, &entries, &ttfb, &kind);
        if (rc > 0)
            break;
        t1 = now_ns();
        w->t_last = t1;
        if (rc == 0)
            report_ok(c->rep, &w->st, t1, t1 - t0, ttfb, bytes, entries, kind);
    }
    atomic_fetch_add(&c->finished, 1);
    return NULL;
}

/* Creates the pool objects this worker owns (i % concurrency == id), at generation 0. */
static void *
prepare_main(void *arg)
{
    struct worker *w = arg;
    struct ctx *c = w->ctx;
    const struct bench_cfg *cfg = c->cfg;
    uint64_t i, bytes, ttfb;
    char name[64];

    for (i = (uint64_t)w->id; i < cfg->objects && !atomic_load(&c->failed_prepare);
         i += (uint64_t)cfg->concurrency) {
        pool_name(name, sizeof(name), i);
        if (op_upload(w, name, 0, -1, &bytes, &ttfb) != 0) {
            atomic_store(&c->failed_prepare, 1);
            break;
        }
        atomic_fetch_add(&c->prepared, 1);
    }
    atomic_fetch_add(&c->finished, 1);
    return NULL;
}

/* Runs fn on every worker and waits; the main thread prints progress when `label`. */
static int
run_threads(struct worker *ws, int n, void *(*fn)(void *), struct ctx *c, const char *label)
{
    struct timespec ts = {0, 200 * 1000 * 1000};
    int i, started = 0, last = -1;
    int64_t t0 = now_ns();

    atomic_store(&c->finished, 0);
    for (i = 0; i < n; i++, started++)
        if (pthread_create(&ws[i].thread, NULL, fn, &ws[i]) != 0)
            break;
    if (started < n) {
        atomic_store(&c->stop, 1);
        atomic_store(&c->failed_prepare, 1);
    }
    while (atomic_load(&c->finished) < started) {
        int s = (int)((now_ns() - t0) / 1000000000LL);

        nanosleep(&ts, NULL);
        if (label != NULL && !c->cfg->quiet && s != last && s > 0) {
            fprintf(stderr, "bench %s: %4ds  %" PRIu64 " of %" PRIu64 " objects created\n", label,
                    s, (uint64_t)atomic_load(&c->prepared), c->cfg->objects);
            last = s;
        }
    }
    for (i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    return started == n ? 0 : -1;
}

/* Creates (PUT) or deletes (DELETE) the container.  0, or -1 with the answer printed. */
static int
container_op(struct bench_cfg *cfg, struct bclient *cl, int create)
{
    struct breq rq = {0};
    struct bresp resp;
    struct buf body = BUF_INIT;
    char path[512];
    int rc;

    snprintf(path, sizeof(path), "/%s", cfg->container);
    rq.method = create ? "PUT" : "DELETE";
    rq.path = path;
    rq.query = "restype=container";
    rq.upload = create;
    rq.resp_buf = &body;
    rc = bclient_do(cl, &rq, &resp);
    if (rc == 0 && (resp.status == (create ? 201 : 202) || (create && resp.status == 409))) {
        buf_free(&body);
        return 0;
    }
    fprintf(stderr, "bench: %s container %s: %d %s\n%s\n", create ? "create" : "delete",
            cfg->container, resp.status, resp.code, body.p != NULL ? body.p : "");
    buf_free(&body);
    return -1;
}

static int
needs_pool(const struct bench_cfg *cfg)
{
    return cfg->workload != W_PUT && cfg->workload != W_BLOCK;
}

/* The run itself: pool, workers, progress, report.  Returns the exit status. */
static int
run(struct bench_cfg *cfg)
{
    struct ctx c;
    struct report rep;
    struct worker *ws = NULL;
    struct wstats **sts = NULL;
    struct bclient *admin = NULL;
    int i, s, nw = 0, rc = 1, created = 0, have_rep = 0;
    int64_t t_end = 0, next;
    struct timespec ts;

    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.rep = &rep;
    if (bclient_global_init() != 0 || (admin = bclient_new(cfg, 0)) == NULL ||
        (ws = calloc((size_t)cfg->concurrency, sizeof(*ws))) == NULL ||
        (sts = calloc((size_t)cfg->concurrency, sizeof(*sts))) == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        goto done;
    }
    if (container_op(cfg, admin, 1) != 0)
        goto done;
    created = 1;
    if (report_init(&rep, cfg) != 0)
        goto done;
    have_rep = 1;
    for (i = 0; i < cfg->concurrency; i++) {
        struct worker *w = &ws[i];

        nw = i + 1;
        sts[i] = &w->st;
        w->id = i;
        w->ctx = &c;
        w->rng = (cfg->seed + (uint64_t)i) * 0x9e3779b97f4a7c15ULL | 1;
        w->nslice = (uint64_t)i < cfg->objects
                        ? (cfg->objects - (uint64_t)i + (uint64_t)cfg->concurrency - 1) /
                              (uint64_t)cfg->concurrency
                        : 0;
        if ((w->cl = bclient_new(cfg, i)) == NULL)
            goto oom;
        if (cfg->workload == W_MIXED) {
            w->gen = calloc(w->nslice + 1, sizeof(*w->gen));
            w->exists = malloc(w->nslice + 1);
            if (w->gen == NULL || w->exists == NULL)
                goto oom;
            memset(w->exists, 1, w->nslice + 1);
        }
    }

    if (needs_pool(cfg) && !cfg->no_prepare) {
        if (run_threads(ws, cfg->concurrency, prepare_main, &c, "prepare") != 0 ||
            atomic_load(&c.failed_prepare)) {
            fprintf(stderr, "bench: creating the %" PRIu64 " pool objects failed\n", cfg->objects);
            report_finish(&rep, sts, cfg->concurrency, now_ns());
            goto done;
        }
        rep.prepared = cfg->objects;
    }

    /* Release the workers; the main thread wakes on each second boundary to report it. */
    atomic_store(&c.finished, 0);
    rep.t_start_ns = now_ns();
    for (i = 0; i < cfg->concurrency; i++)
        if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "bench: cannot start worker %d\n", i);
            atomic_store(&c.stop, 1);
            cfg->concurrency = i;
            break;
        }
    for (s = 0; atomic_load(&c.finished) < cfg->concurrency;) {
        next = rep.t_start_ns + (int64_t)(s + 1) * 1000000000LL;
        while (now_ns() < next && atomic_load(&c.finished) < cfg->concurrency) {
            int64_t left = next - now_ns();

            ts.tv_sec = 0;
            ts.tv_nsec = left > 50000000 ? 50000000 : left > 0 ? left : 0;
            nanosleep(&ts, NULL);
        }
        if (now_ns() < next)
            break;
        if (!cfg->quiet)
            report_progress(&rep, s);
        s++;
        if (cfg->count == 0 && s >= cfg->warmup + cfg->duration)
            atomic_store(&c.stop, 1);
    }
    atomic_store(&c.stop, 1);
    for (i = 0; i < cfg->concurrency; i++) {
        pthread_join(ws[i].thread, NULL);
        if (ws[i].t_last > t_end)
            t_end = ws[i].t_last;
    }
    if (t_end == 0)
        t_end = now_ns();
    if (report_finish(&rep, sts, cfg->concurrency, t_end) == 0 && atomic_load(&rep.errors) == 0)
        rc = 0;
    goto done;

oom:
    fprintf(stderr, "bench: out of memory\n");
done:
    if (created && !cfg->keep && container_op(cfg, admin, 0) != 0)
        rc = 1;
    for (i = 0; ws != NULL && i < nw; i++) {
        bclient_free(ws[i].cl);
        buf_free(&ws[i].body);
        buf_free(&ws[i].xml);
        free(ws[i].st.lat_us);
        free(ws[i].st.ttfb_us);
        free(ws[i].gen);
        free(ws[i].exists);
        free(ws[i].marker);
    }
    free(ws);
    free(sts);
    bclient_free(admin);
    if (have_rep)
        report_free(&rep);
    return rc;
}

int
bench_main(int argc, char **argv)
{
    static const struct option opts[] = {{"endpoint", required_argument, NULL, 'e'},
                                         {"account", required_argument, NULL, 'a'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"sas", required_argument, NULL, 'S'},
                                         {"cacert", required_argument, NULL, 'C'},
                                         {"container", required_argument, NULL, 'c'},
                                         {"size", required_argument, NULL, 's'},
                                         {"block-size", required_argument, NULL, 'b'},
                                         {"concurrency", required_argument, NULL, 'n'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"count", required_argument, NULL, 'N'},
                                         {"objects", required_argument, NULL, 'o'},
                                         {"warmup", required_argument, NULL, 'w'},
                                         {"page-size", required_argument, NULL, 'p'},
                                         {"seed", required_argument, NULL, 'r'},
                                         {"json", required_argument, NULL, 'j'},
                                         {"keep", no_argument, NULL, 'K'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"no-prepare", no_argument, NULL, 'P'},
                                         {NULL, 0, NULL, 0}};
    struct bench_cfg cfg;
    const char *key = DEV_KEY;
    char container[64];
    int c, i, li = 0, warmup_set = 0, objects_set = 0, rc;
    long n;

    memset(&cfg, 0, sizeof(cfg));
    cfg.acct.name = DEV_ACCOUNT;
    cfg.size_min = cfg.size_max = 4096;
    cfg.block_size = 4 << 20;
    cfg.concurrency = 32;
    cfg.duration = 10;
    cfg.warmup = 1;
    cfg.objects = 1000;
    cfg.page_size = 5000;
    cfg.seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);

    if (argc < 2 || argv[1][0] == '-') {
        usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    for (i = 0; i < 7 && strcmp(argv[1], workload_names[i]) != 0; i++)
        ;
    if (i == 7) {
        fprintf(stderr, "cobalt bench: unknown workload '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    cfg.workload = (enum bench_workload)i;
    cfg.workload_name = workload_names[i];
    argc--;
    argv++;

    while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
        switch (c) {
        case 'e':
            if (cfg.nendpoints == MAX_ENDPOINTS) {
                fprintf(stderr, "cobalt bench: at most %d --endpoint\n", MAX_ENDPOINTS);
                return 2;
            }
            cfg.endpoint[cfg.nendpoints++] = optarg;
            break;
        case 'a':
            cfg.acct.name = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'S':
            cfg.sas = optarg[0] == '?' ? optarg + 1 : optarg;
            break;
        case 'C':
            cfg.cacert = optarg;
            break;
        case 'c':
            cfg.container = optarg;
            break;
        case 'K':
            cfg.keep = 1;
            break;
        case 'q':
            cfg.quiet = 1;
            break;
        case 'P':
            cfg.no_prepare = 1;
            break;
        case 'j':
            cfg.json_path = optarg;
            break;
        case 's':
            if (parse_sizes(optarg, &cfg.size_min, &cfg.size_max) != 0)
                goto bad;
            break;
        case 'b':
            if (parse_size(optarg, &cfg.block_size) != 0 || cfg.block_size == 0)
                goto bad;
            break;
        case 'n':
        case 'p':
            n = strtol(optarg, NULL, 10);
            if (n < 1 || n > 100000)
                goto bad;
            if (c == 'n')
                cfg.concurrency = (int)n;
            else
                cfg.page_size = (int)n;
            break;
        case 'd':
            if (parse_secs(optarg, &cfg.duration) != 0)
                goto bad;
            break;
        case 'w':
            if (parse_secs(optarg, &cfg.warmup) != 0)
                goto bad;
            warmup_set = 1;
            break;
        case 'N':
        case 'o':
        case 'r': {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 10);

            if (end == optarg || *end != '\0')
                goto bad;
            if (c == 'N')
                cfg.count = v;
            else if (c == 'o')
                cfg.objects = v, objects_set = 1;
            else
                cfg.seed = v;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cobalt bench: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (cfg.count > 0 && !warmup_set)
        cfg.warmup = 0;
    if (cfg.workload == W_DELETE && !objects_set)
        cfg.objects = cfg.count > 0 ? cfg.count : 100000;
    if (needs_pool(&cfg) && cfg.objects == 0) {
        fprintf(stderr, "cobalt bench: --objects must be at least 1\n");
        return 2;
    }
    if (cfg.count == 0 && cfg.duration <= 0) {
        fprintf(stderr, "cobalt bench: --duration must be positive (or give --count)\n");
        return 2;
    }
    if (cfg.nendpoints == 0)
        cfg.endpoint[cfg.nendpoints++] = DEV_ENDPOINT;
    for (i = 0; i < cfg.nendpoints; i++) {
        if (parse_endpoint(&cfg, i) != 0) {
            fprintf(stderr, "cobalt bench: --endpoint must be http[s]://host[:port][/path], "
                            "each with the same path\n");
            rc = 2;
            goto out;
        }
    }
    if (cfg.sas == NULL) {
        n = strlen(key) <= 88 ? base64_decode(key, strlen(key), cfg.acct.key[0]) : -1;
        if (n <= 0) {
            fprintf(stderr, "cobalt bench: --key must be base64 of at most 64 bytes\n");
            rc = 2;
            goto out;
        }
        cfg.acct.keylen[0] = (size_t)n;
        cfg.acct.nkeys = 1;
    }
    if (cfg.container == NULL) {
        snprintf(container, sizeof(container), "cobalt-bench-%08x",
                 (unsigned)(cfg.seed ^ (cfg.seed >> 32)));
        cfg.container = container;
    } else {
        cfg.keep = 1; /* never delete a container the user named */
    }
    rc = run(&cfg);
out:
    for (i = 0; i < cfg.nendpoints; i++)
        free(cfg.base[i]);
    free(cfg.prefix);
    return rc;

bad:
    fprintf(stderr, "cobalt bench: bad value '%s' for --%s\n", optarg, opts[li].name);
    return 2;
}
