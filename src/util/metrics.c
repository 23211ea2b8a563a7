/*
 * metrics.c -- see metrics.h.
 */
#include "util/metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static _Atomic int64_t values[M__COUNT];

static const struct {
    const char *family, *labels, *type, *help;
} defs[M__COUNT] = {
#define METRIC_DEF(id, family, labels, type, help) [M_##id] = {family, labels, type, help},
    METRICS(METRIC_DEF)
#undef METRIC_DEF
};

void
metric_add(enum metric_id id, int64_t n)
{
    atomic_fetch_add_explicit(&values[id], n, memory_order_relaxed);
}

void
metric_set(enum metric_id id, int64_t v)
{
    atomic_store_explicit(&values[id], v, memory_order_relaxed);
}

int64_t
metric_get(enum metric_id id)
{
    return atomic_load_explicit(&values[id], memory_order_relaxed);
}

void
metric_http_status(int status)
{
    if (status >= 100 && status < 600)
        metric_add((enum metric_id)(M_HTTP_1XX + status / 100 - 1), 1);
}

/* Appends to buf what still fits (buf may be NULL when cap is 0); returns the new length, counted
 * whether or not it fit. */
static size_t __attribute__((format(printf, 4, 5)))
append(char *buf, size_t cap, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, fmt, ap);
    va_end(ap);
    return len + (size_t)(n > 0 ? n : 0);
}

size_t
metrics_render(char *buf, size_t cap)
{
    size_t len = 0;

    for (int i = 0; i < M__COUNT; i++) {
        if (i == 0 || strcmp(defs[i].family, defs[i - 1].family) != 0)
            len = append(buf, cap, len, "# HELP %s %s\n# TYPE %s %s\n", defs[i].family,
                         defs[i].help, defs[i].family, defs[i].type);
        len = append(buf, cap, len, "%s%s%s%s %" PRId64 "\n", defs[i].family,
                     defs[i].labels[0] ? "{" : "", defs[i].labels, defs[i].labels[0] ? "}" : "",
                     metric_get((enum metric_id)i));
    }
    return len;
}
