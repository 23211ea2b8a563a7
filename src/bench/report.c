/*
 * report.c -- what a `cobalt bench` run measured, and the reports.
 *
 * Each worker keeps its own samples (latency and time to first byte, one pair per successful
 * operation that ended after the warm-up) and counters in a struct wstats: nothing is shared on the
 * fast path but three per-second atomic counters (operations, bytes, errors) that feed the progress
 * line and the steady-state windows.  Percentiles are exact: the samples are merged and sorted at
 * the end (8 bytes per operation).
 *
 * Figures (docs/benchmarks.md explains them to users):
 *   average   successful operations (bytes) after the warm-up / time from the warm-up's end to
 *             the last worker's stop;
 *   median    the median of the whole 1-second windows after the warm-up -- robust to a slow
 *             start or a stall at the end;
 *   latency   request start to last response byte; ttfb: request start to first response byte
 *             (for uploads this includes sending the body).
 *   errors    every failed operation of the whole run, warm-up included, by HTTP status and
 *             x-ms-error-code; a wrong byte in a GET body is status 200 "ContentMismatch", a
 *             wrong length "LengthMismatch", a listing pass that did not see every object
 *             "ListCountMismatch" -- all three are also counted as mismatches.
 */
#include "bench/bench_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MiB (1024.0 * 1024.0)

int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static size_t
nseconds(const struct bench_cfg *cfg)
{
    return cfg->count > 0 ? MAX_SECONDS : (size_t)ceil(cfg->warmup + cfg->duration) + 2;
}

int
report_init(struct report *r, const struct bench_cfg *cfg)
{
    size_t n = nseconds(cfg);
    pthread_mutex_t *mu = malloc(sizeof(*mu));

    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
    r->sec_ops = calloc(n, sizeof(*r->sec_ops));
    r->sec_bytes = calloc(n, sizeof(*r->sec_bytes));
    r->sec_errors = calloc(n, sizeof(*r->sec_errors));
    if (mu == NULL || r->sec_ops == NULL || r->sec_bytes == NULL || r->sec_errors == NULL) {
        free(mu);
        report_free(r);
        return -1;
    }
    pthread_mutex_init(mu, NULL);
    r->errs_mu = mu;
    return 0;
}

void
report_free(struct report *r)
{
    if (r->errs_mu != NULL) {
        pthread_mutex_destroy(r->errs_mu);
        free(r->errs_mu);
    }
    free((void *)r->sec_ops);
    free((void *)r->sec_bytes);
    free((void *)r->sec_errors);
    free(r->errs);
    memset(r, 0, sizeof(*r));
}

static size_t
second_of(const struct report *r, int64_t t_ns)
{
    int64_t s = (t_ns - r->t_start_ns) / 1000000000LL;
    size_t n = nseconds(r->cfg);

    if (s < 0)
        return 0;
    return (size_t)s < n ? (size_t)s : n - 1;
}

static int
after_warmup(const struct report *r, int64_t t_ns)
{
    return (double)(t_ns - r->t_start_ns) >= r->cfg->warmup * 1e9;
}

void
report_ok(struct report *r, struct wstats *w, int64_t t_ns, int64_t lat_ns, uint64_t ttfb_us,
          uint64_t bytes, uint64_t entries, int kind)
{
    size_t s = second_of(r, t_ns), cap;
    uint32_t *p;

    atomic_fetch_add_explicit(&r->sec_ops[s], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sec_bytes[s], bytes, memory_order_relaxed);
    if (!after_warmup(r, t_ns))
        return;
    w->ops++;
    w->bytes += bytes;
    w->entries += entries;
    if (kind >= 0)
        w->kind_ops[kind]++;
    if (w->n == w->cap) {
        cap = w->cap ? w->cap * 2 : 4096;
        if ((p = realloc(w->lat_us, cap * sizeof(*p))) == NULL) {
            w->oom = 1;
            return;
        }
        w->lat_us = p;
        if ((p = realloc(w->ttfb_us, cap * sizeof(*p))) == NULL) {
            w->oom = 1;
            return;
        }
        w->ttfb_us = p;
        w->cap = cap;
    }
    w->lat_us[w->n] = (uint32_t)(lat_ns / 1000 < UINT32_MAX ? lat_ns / 1000 : UINT32_MAX);
    w->ttfb_us[w->n] = (uint32_t)(ttfb_us < UINT32_MAX ? ttfb_us : UINT32_MAX);
    w->n++;
}

void
report_error(struct report *r, int64_t t_ns, int status, const char *code)
{
    struct errcount *e;
    size_t i;

    atomic_fetch_add(&r->errors, 1);
    atomic_fetch_add(&r->sec_errors[second_of(r, t_ns)], 1);
    if (strcmp(code, "ContentMismatch") == 0 || strcmp(code, "LengthMismatch") == 0 ||
        strcmp(code, "ListCountMismatch") == 0)
        atomic_fetch_add(&r->mismatches, 1);
    pthread_mutex_lock(r->errs_mu);
    for (i = 0; i < r->nerrs; i++)
        if (r->errs[i].status == status && strcmp(r->errs[i].code, code) == 0)
            break;
    if (i == r->nerrs && (e = realloc(r->errs, (r->nerrs + 1) * sizeof(*e))) != NULL) {
        r->errs = e;
        memset(&e[i], 0, sizeof(*e));
        e[i].status = status;
        snprintf(e[i].code, sizeof(e[i].code), "%s", code);
        r->nerrs++;
    }
    if (i < r->nerrs)
        r->errs[i].n++;
    pthread_mutex_unlock(r->errs_mu);
}

void
report_progress(struct report *r, int s)
{
    uint64_t ops = atomic_load(&r->sec_ops[s]), bytes = atomic_load(&r->sec_bytes[s]);

    fprintf(stderr, "bench %s: %4ds %10.1f ops/s %9.1f MiB/s  errors %" PRIu64 "%s\n",
            r->cfg->workload_name, s + 1, (double)ops, (double)bytes / MiB,
            (uint64_t)atomic_load(&r->errors), (double)s < r->cfg->warmup ? "  (warm-up)" : "");
}

static int
cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

    return a < b ? -1 : a > b;
}

static int
cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return a < b ? -1 : a > b;
}

/* Percentile q (0..1] of sorted v[0..n) in milliseconds: the smallest value with >= q of samples
 * at or below it. */
static double
pct_ms(const uint32_t *v, size_t n, double q)
{
    size_t i;

    if (n == 0)
        return 0;
    i = (size_t)ceil(q * (double)n);
    return (double)v[i > 0 ? i - 1 : 0] / 1000.0;
}

static double
median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct dist {
    double p50, p90, p99, p999, max, mean;
};

static void
dist_of(uint32_t *v, size_t n, struct dist *d)
{
    double sum = 0;
    size_t i;

    qsort(v, n, sizeof(*v), cmp_u32);
    for (i = 0; i < n; i++)
        sum += v[i];
    d->p50 = pct_ms(v, n, 0.50);
    d->p90 = pct_ms(v, n, 0.90);
    d->p99 = pct_ms(v, n, 0.99);
    d->p999 = pct_ms(v, n, 0.999);
    d->max = n > 0 ? (double)v[n - 1] / 1000.0 : 0;
    d->mean = n > 0 ? sum / (double)n / 1000.0 : 0;
}

static void
json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void
json_dist(FILE *f, const char *name, const struct dist *d)
{
    fprintf(f,
            "  \"%s\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"p99_9\": %.3f, "
            "\"max\": %.3f, \"mean\": %.3f},\n",
            name, d->p50, d->p90, d->p99, d->p999, d->max, d->mean);
}

static void
fmt_size(char *out, size_t n, uint64_t v)
{
    if (v >= 1024 * 1024 && v % (1024 * 1024) == 0)
        snprintf(out, n, "%" PRIu64 "MiB", v / (1024 * 1024));
    else if (v >= 1024 && v % 1024 == 0)
        snprintf(out, n, "%" PRIu64 "KiB", v / 1024);
    else
        snprintf(out, n, "%" PRIu64 "B", v);
}

int
report_finish(struct report *r, struct wstats *const *w, int nw, int64_t t_end_ns)
{
    const struct bench_cfg *cfg = r->cfg;
    uint64_t ops = 0, bytes = 0, entries = 0, kinds[4] = {0}, errors = atomic_load(&r->errors);
    size_t n = 0, i, k, nwin = 0, first, last;
    uint32_t *lat = NULL, *ttfb = NULL;
    double *wops = NULL, *wmib = NULL, secs, med_ops, med_mib;
    struct dist dl, dt;
    char smin[32], smax[32], sizes[80];
    FILE *f = NULL;
    int rc = 0, oom = 0;

    for (i = 0; i < (size_t)nw; i++)
        n += w[i]->n;
    lat = malloc((n + 1) * sizeof(*lat));
    ttfb = malloc((n + 1) * sizeof(*ttfb));
    if (lat == NULL || ttfb == NULL) {
        fprintf(stderr, "bench: out of memory merging %zu samples\n", n);
        rc = -1;
        goto done;
    }
    for (i = 0, n = 0; i < (size_t)nw; i++) {
        memcpy(lat + n, w[i]->lat_us, w[i]->n * sizeof(*lat));
        memcpy(ttfb + n, w[i]->ttfb_us, w[i]->n * sizeof(*ttfb));
        n += w[i]->n;
        ops += w[i]->ops;
        bytes += w[i]->bytes;
        entries += w[i]->entries;
        for (k = 0; k < 4; k++)
            kinds[k] += w[i]->kind_ops[k];
        oom |= w[i]->oom;
    }
    dist_of(lat, n, &dl);
    dist_of(ttfb, n, &dt);

    secs = (double)(t_end_ns - r->t_start_ns) / 1e9 - cfg->warmup;
    if (secs <= 0)
        secs = 1e-9;
    /* Whole seconds after the warm-up that ended before the last worker stopped. */
    first = (size_t)ceil(cfg->warmup);
    last = (size_t)((t_end_ns - r->t_start_ns) / 1000000000LL);
    if (last > first) {
        wops = malloc((last - first) * sizeof(*wops));
        wmib = malloc((last - first) * sizeof(*wmib));
        if (wops == NULL || wmib == NULL) {
            rc = -1;
            goto done;
        }
        for (i = first; i < last; i++, nwin++) {
            wops[nwin] = (double)atomic_load(&r->sec_ops[i]);
            wmib[nwin] = (double)atomic_load(&r->sec_bytes[i]) / MiB;
        }
    }
    med_ops = nwin > 0 ? median(wops, nwin) : (double)ops / secs;
    med_mib = nwin > 0 ? median(wmib, nwin) : (double)bytes / MiB / secs;

    fmt_size(smin, sizeof(smin), cfg->size_min);
    fmt_size(smax, sizeof(smax), cfg->size_max);
    if (cfg->size_min == cfg->size_max)
        snprintf(sizes, sizeof(sizes), "%s", smin);
    else
        snprintf(sizes, sizeof(sizes), "%s:%s", smin, smax);

    printf("cobalt bench %s: %s objects, %d workers, %.1f s measured after %.1f s warm-up\n",
           cfg->workload_name, sizes, cfg->concurrency, secs, cfg->warmup);
    printf("  endpoint     %s%s", cfg->base[0], cfg->prefix);
    for (int e = 1; e < cfg->nendpoints; e++)
        printf(", %s%s", cfg->base[e], cfg->prefix);
    printf(" (container %s, %s)\n", cfg->container, cfg->sas != NULL ? "SAS" : "Shared Key");
    printf("  operations   %" PRIu64 " ok, %" PRIu64 " errors (%" PRIu64 " content mismatches)\n",
           ops, errors, (uint64_t)atomic_load(&r->mismatches));
    printf("  ops/s        %.1f average, %.1f median of %zu 1-s windows\n", (double)ops / secs,
           med_ops, nwin);
    printf("  MiB/s        %.2f average, %.2f median\n", (double)bytes / MiB / secs, med_mib);
    if (cfg->workload == W_LIST)
        printf("  entries/s    %.1f (%" PRIu64 " entries listed)\n", (double)entries / secs,
               entries);
    if (cfg->workload == W_MIXED)
        printf("  mix          get %" PRIu64 ", stat %" PRIu64 ", put %" PRIu64 ", delete %" PRIu64
               "\n",
               kinds[0], kinds[1], kinds[2], kinds[3]);
    printf("  latency ms   p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n", dl.p50,
           dl.p90, dl.p99, dl.p999, dl.max, dl.mean);
    printf("  ttfb ms      p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n", dt.p50,
           dt.p90, dt.p99, dt.p999, dt.max, dt.mean);
    for (i = 0; i < r->nerrs; i++)
        printf("  error        %3d %-32s %" PRIu64 "\n", r->errs[i].status,
               r->errs[i].code[0] != '\0' ? r->errs[i].code : "-", r->errs[i].n);
    if (oom)
        printf("  warning      out of memory for samples: percentiles cover part of the run\n");

    if (cfg->json_path == NULL)
        goto done;
    if (strcmp(cfg->json_path, "-") == 0)
        f = stdout;
    else if ((f = fopen(cfg->json_path, "w")) == NULL) {
        fprintf(stderr, "bench: %s: %s\n", cfg->json_path, strerror(errno));
        rc = -1;
        goto done;
    }
    fprintf(f, "{\n  \"workload\": ");
    json_str(f, cfg->workload_name);
    fprintf(f, ",\n  \"endpoint\": ");
    json_str(f, cfg->endpoint[0]);
    fprintf(f, ",\n  \"endpoints\": [");
    for (int e = 0; e < cfg->nendpoints; e++) {
        fputs(e > 0 ? ", " : "", f);
        json_str(f, cfg->endpoint[e]);
    }
    fprintf(f, "]");
    fprintf(f, ",\n  \"container\": ");
    json_str(f, cfg->container);
    fprintf(f,
            ",\n  \"auth\": \"%s\",\n  \"size_min\": %" PRIu64 ",\n  \"size_max\": %" PRIu64
            ",\n  \"block_size\": %" PRIu64 ",\n  \"concurrency\": %d,\n"
            "  \"objects\": %" PRIu64 ",\n  \"warmup_s\": %.3f,\n  \"measured_s\": %.3f,\n"
            "  \"ops\": %" PRIu64 ",\n  \"bytes\": %" PRIu64 ",\n  \"entries\": %" PRIu64 ",\n"
            "  \"errors\": %" PRIu64 ",\n  \"mismatches\": %" PRIu64 ",\n"
            "  \"ops_per_s\": %.3f,\n  \"mib_per_s\": %.3f,\n  \"entries_per_s\": %.3f,\n"
            "  \"windows\": %zu,\n  \"median_ops_per_s\": %.3f,\n  \"median_mib_per_s\": %.3f,\n",
            cfg->sas != NULL ? "sas" : "sharedkey", cfg->size_min, cfg->size_max, cfg->block_size,
            cfg->concurrency, cfg->objects, cfg->warmup, secs, ops, bytes, entries, errors,
            (uint64_t)atomic_load(&r->mismatches), (double)ops / secs, (double)bytes / MiB / secs,
            (double)entries / secs, nwin, med_ops, med_mib);
    fprintf(f,
            "  \"mix\": {\"get\": %" PRIu64 ", \"stat\": %" PRIu64 ", \"put\": %" PRIu64
            ", \"delete\": %" PRIu64 "},\n",
            kinds[0], kinds[1], kinds[2], kinds[3]);
    json_dist(f, "latency_ms", &dl);
    json_dist(f, "ttfb_ms", &dt);
    fprintf(f, "  \"errors_by\": [");
    for (i = 0; i < r->nerrs; i++) {
        fprintf(f, "%s{\"status\": %d, \"code\": ", i ? ", " : "", r->errs[i].status);
        json_str(f, r->errs[i].code);
        fprintf(f, ", \"count\": %" PRIu64 "}", r->errs[i].n);
    }
    fprintf(f, "]\n}\n");
    if (f != stdout && fclose(f) != 0) {
        fprintf(stderr, "bench: %s: %s\n", cfg->json_path, strerror(errno));
        rc = -1;
    }
done:
    free(lat);
    free(ttfb);
    free(wops);
    free(wmib);
    return rc;
}
