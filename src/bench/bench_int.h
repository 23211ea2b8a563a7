/*
 * bench_int.h -- private interface between the files of src/bench/:
 *
 *   bench.c    the command line, the workloads and the run (workers, warm-up, progress line)
 *   client.c   one keep-alive HTTP connection per worker (net/client.h), request signing, payloads
 *   report.c   what a run measured: samples, 1-s windows, errors; the text and JSON reports
 *
 * Data flows bench.c -> client.c for each request and bench.c -> report.c for each result.
 */
#ifndef COBALT_BENCH_INT_H
#define COBALT_BENCH_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"

struct buf;

/* ---- configuration (bench.c fills it from the command line; read-only during a run) ---- */

enum bench_workload { W_PUT, W_GET, W_STAT, W_DELETE, W_LIST, W_MIXED, W_BLOCK };
enum { K_GET, K_STAT, K_PUT, K_DELETE }; /* the operations a mixed run draws from */

#define MAX_ENDPOINTS 16

struct bench_cfg {
    enum bench_workload workload;
    const char *workload_name;
    /* Each --endpoint as given and its "http://host:port"; worker i sends every request to
     * endpoint i mod nendpoints (gateways of one store), the set-up and clean-up to the first. */
    const char *endpoint[MAX_ENDPOINTS];
    char *base[MAX_ENDPOINTS];
    int nendpoints;
    char *prefix;             /* the endpoints' path ("/devstoreaccount1"), "" for host-style */
    struct auth_account acct; /* Shared Key; unused when sas is set */
    const char *sas;          /* query string appended to every request, or NULL */
    const char *cacert;       /* --cacert: PEM CA file that verifies an https endpoint, or NULL */
    const char *container;
    uint64_t size_min, size_max;
    uint64_t block_size;
    int concurrency;
    double duration, warmup; /* seconds */
    uint64_t count;          /* total operations; 0 = run for `duration` */
    uint64_t objects;        /* pool size for get/stat/delete/list/mixed */
    int page_size;           /* list: maxresults */
    uint64_t seed;
    const char *json_path;
    int keep, quiet;
    int no_prepare; /* the pool exists already (an earlier run with --keep) */
};

/* ---- payloads: bytes that are a pure function of (object seed, offset) ---- */

/* The seed of one version of one object: a hash of the run seed, its name and its generation. */
uint64_t payload_seed(uint64_t run_seed, const char *name, uint64_t gen);
/* The size of that version, drawn uniformly from [cfg->size_min, cfg->size_max]. */
uint64_t payload_size(const struct bench_cfg *cfg, uint64_t seed);
/* Writes bytes [off, off + n) of the payload into dst. */
void payload_fill(uint64_t seed, uint64_t off, void *dst, size_t n);
/* 0 when src[0..n) equals bytes [off, off + n) of the payload, else -1. */
int payload_check(uint64_t seed, uint64_t off, const void *src, size_t n);

/* ---- the HTTP client ---- */

enum { BODY_DISCARD, BODY_VERIFY, BODY_KEEP };

struct breq {
    const char *method;  /* "GET", "HEAD", "PUT", "DELETE" */
    const char *path;    /* after the endpoint's path, e.g. "/c/o1"; already URL-safe */
    const char *query;   /* raw "restype=container&comp=list", or NULL */
    const char *hdrs[3]; /* extra "Name: value" headers, NULL-terminated if fewer */
    /* Request body: body_len bytes, from body_mem or else generated from (body_seed, body_off). */
    uint64_t body_len;
    const char *body_mem;
    uint64_t body_seed, body_off;
    int upload; /* PUT with a body (possibly empty) */
    /* Response body: dropped, checked against (resp_seed, offset 0), or appended to resp_buf. */
    int resp_mode;
    uint64_t resp_seed;
    struct buf *resp_buf;
};

struct bresp {
    int status;             /* HTTP status, 0 when the request never got an answer */
    char code[64];          /* x-ms-error-code, or the transport error, or "" */
    int64_t content_length; /* -1 when absent */
    uint64_t body_bytes;    /* response body bytes received */
    int mismatch;           /* BODY_VERIFY: some byte differed from the payload */
    uint64_t ttfb_us;       /* request start to the status line's arrival */
};

struct bclient;

/* Global set-up (http_client_global_init); call once before any thread starts.  0 or -1. */
int bclient_global_init(void);
/* A client owning one keep-alive connection (opened on first use) to endpoint `which` mod
 * cfg->nendpoints.  NULL on OOM. */
struct bclient *bclient_new(const struct bench_cfg *cfg, int which);
void bclient_free(struct bclient *c);
/*
 * Sends one request and fills *out.  Returns 0 when an HTTP answer arrived (any status), -1 on a
 * transport error (out->status 0, out->code says why).  Signs with Shared Key unless cfg->sas.
 */
int bclient_do(struct bclient *c, const struct breq *r, struct bresp *out);

/* ---- what a run measured ---- */

struct wstats {                 /* one worker's, merged at the end: no locks on the hot path */
    uint32_t *lat_us, *ttfb_us; /* one per successful operation after the warm-up */
    size_t n, cap;
    uint64_t ops, bytes, entries;
    uint64_t kind_ops[4]; /* mixed: get, stat, put, delete */
    int oom;
};

#define MAX_SECONDS (7 * 24 * 3600)

struct report {
    const struct bench_cfg *cfg;
    int64_t t_start_ns;        /* when the workers were released */
    _Atomic uint64_t *sec_ops; /* successful operations completed in second s of the run */
    _Atomic uint64_t *sec_bytes;
    _Atomic uint64_t *sec_errors;
    _Atomic uint64_t errors, mismatches;
    /* errors by (status, code); a mutex is fine: errors are rare and never on the fast path */
    struct errcount {
        int status;
        char code[64];
        uint64_t n;
    } * errs;
    size_t nerrs;
    void *errs_mu;     /* pthread_mutex_t *, kept opaque here */
    uint64_t prepared; /* objects created before the run */
};

int64_t now_ns(void);

int report_init(struct report *r, const struct bench_cfg *cfg);
void report_free(struct report *r);
/* Records one successful operation that ended at t_ns; kind is K_* of a mixed run, else -1. */
void report_ok(struct report *r, struct wstats *w, int64_t t_ns, int64_t lat_ns, uint64_t ttfb_us,
               uint64_t bytes, uint64_t entries, int kind);
/* Records one failed operation by status and code ("ContentMismatch", "LengthMismatch" and
 * "ListCountMismatch" are ours: wrong bytes, wrong length, a listing that missed objects). */
void report_error(struct report *r, int64_t t_ns, int status, const char *code);
/* The progress line for second `s` (stderr). */
void report_progress(struct report *r, int s);
/*
 * Merges the workers' stats and prints the text report (stdout) and, when cfg->json_path, the
 * JSON one.  t_end_ns is when the last worker stopped.  Returns 0, or -1 when the JSON file could
 * not be written.
 */
int report_finish(struct report *r, struct wstats *const *w, int nw, int64_t t_end_ns);

#endif
