/*
 * test_metrics.c -- the metrics table and its Prometheus text rendering (src/util/metrics.c).
 */
#include "util/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int
count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void
test_render(void)
{
    size_t need = metrics_render(NULL, 0), got;
    char *text = malloc(need + 1), small[64];

    metric_http_status(201);
    metric_http_status(404);
    metric_http_status(404);
    metric_http_status(99); /* not a status: ignored */
    metric_http_status(600);
    metric_add(M_SCRUB_DAMAGED, 3);
    metric_set(M_STORE_FAILED, 1);
    metric_set(M_STORE_FAILED, 0);
    metric_add(M_HTTP_IN_FLIGHT, 2);
    metric_add(M_HTTP_IN_FLIGHT, -1);

    need = metrics_render(NULL, 0);
    free(text);
    text = malloc(need + 1);
    got = metrics_render(text, need + 1);
    CHECK(got == need && strlen(text) == need);
    CHECK(strstr(text, "cobalt_http_requests_total{class=\"2xx\"} 1\n") != NULL);
    CHECK(strstr(text, "cobalt_http_requests_total{class=\"4xx\"} 2\n") != NULL);
    CHECK(strstr(text, "cobalt_http_requests_total{class=\"1xx\"} 0\n") != NULL);
    CHECK(strstr(text, "cobalt_http_requests_total{class=\"5xx\"} 0\n") != NULL);
    CHECK(strstr(text, "\ncobalt_scrub_damaged_total 3\n") != NULL);
    CHECK(strstr(text, "\ncobalt_store_failed 0\n") != NULL);
    CHECK(strstr(text, "\ncobalt_http_requests_in_flight 1\n") != NULL);
    /* One HELP and one TYPE line per family, before its first sample. */
    CHECK(count(text, "# TYPE cobalt_http_requests_total counter\n") == 1);
    CHECK(count(text, "# HELP cobalt_http_requests_total ") == 1);
    CHECK(strstr(text, "# TYPE cobalt_http_requests_total") <
          strstr(text, "cobalt_http_requests_total{"));
    CHECK(count(text, "# TYPE ") == count(text, "# HELP "));
    CHECK(count(text, "# TYPE cobalt_store_failed gauge\n") == 1);
    CHECK(text[need - 1] == '\n');

    /* Too small a buffer: truncated, NUL-terminated, and the full length is still reported. */
    CHECK(metrics_render(small, sizeof(small)) == need);
    CHECK(strlen(small) == sizeof(small) - 1);
    CHECK(strncmp(small, text, sizeof(small) - 1) == 0);
    free(text);
}

static void *
adder(void *arg)
{
    for (int i = 0; i < 100000; i++)
        metric_add(M_COMPACT_MOVED, 1);
    return arg;
}

static void
test_concurrent_adds(void)
{
    pthread_t t[4];
    int64_t before = metric_get(M_COMPACT_MOVED);

    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, adder, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(metric_get(M_COMPACT_MOVED) - before == 400000);
}

int
main(void)
{
    test_render();
    test_concurrent_adds();
    return check_report("test_metrics");
}
