/*
 * metrics.h -- the server's counters and gauges, for operators' monitoring.
 *
 * One process-wide table of 64-bit values, updated with relaxed atomics from any thread (a
 * counter costs one uncontended atomic add; nothing here takes a lock), and rendered in the
 * Prometheus text exposition format (version 0.0.4) by `cobalt serve --metrics-port`.
 * Counters only grow; gauges are set.  Adding a metric is one line in METRICS below.
 */
#ifndef COBALT_METRICS_H
#define COBALT_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* X(id, family, labels, type, help) -- series of one family must be adjacent. */
#define METRICS(X)                                                                                \
    X(HTTP_1XX, "cobalt_http_requests_total", "class=\"1xx\"", "counter",                         \
      "Requests answered, by status class")                                                       \
    X(HTTP_2XX, "cobalt_http_requests_total", "class=\"2xx\"", "counter", "")                     \
    X(HTTP_3XX, "cobalt_http_requests_total", "class=\"3xx\"", "counter", "")                     \
    X(HTTP_4XX, "cobalt_http_requests_total", "class=\"4xx\"", "counter", "")                     \
    X(HTTP_5XX, "cobalt_http_requests_total", "class=\"5xx\"", "counter", "")                     \
    X(HTTP_IN_FLIGHT, "cobalt_http_requests_in_flight", "", "gauge",                              \
      "Requests between their headers and the end of their response")                             \
    X(HTTP_DEADLINE_CLOSED, "cobalt_http_deadline_closes_total", "", "counter",                   \
      "Connections closed because their headers or body came too slowly")                         \
    X(STORE_SYNCS, "cobalt_store_fdatasyncs_total", "", "counter",                                \
      "Group fdatasyncs of volume files (each covers every writer waiting on it)")                \
    X(STORE_FAILED, "cobalt_store_failed", "", "gauge",                                           \
      "1 once a volume write or sync failed: writes are refused until a restart")                 \
    X(SCRUB_PASSES, "cobalt_scrub_passes_total", "", "counter", "Scrub passes completed")         \
    X(SCRUB_NEEDLES, "cobalt_scrub_needles_total", "", "counter",                                 \
      "Stored needles verified by the scrub")                                                     \
    X(SCRUB_BYTES, "cobalt_scrub_bytes_total", "", "counter", "Bytes verified by the scrub")      \
    X(SCRUB_DAMAGED, "cobalt_scrub_damaged_total", "", "counter",                                 \
      "Damaged needles found by the scrub (each is also logged with the blob that names it)")     \
    X(SCRUB_LAST_DAMAGED, "cobalt_scrub_last_pass_damaged", "", "gauge",                          \
      "Damaged needles found by the last completed scrub pass")                                   \
    X(SCRUB_LAST_END, "cobalt_scrub_last_pass_end_time_seconds", "", "gauge",                     \
      "Unix time the last scrub pass completed")                                                  \
    X(COMPACT_VOLUMES, "cobalt_compact_volumes_total", "", "counter",                             \
      "Volume files compacted (live needles moved, file deleted)")                                \
    X(COMPACT_MOVED, "cobalt_compact_moved_bytes_total", "", "counter",                           \
      "Live bytes moved by compaction")                                                           \
    X(COMPACT_RECLAIMED, "cobalt_compact_reclaimed_bytes_total", "", "counter",                   \
      "Disk bytes reclaimed by compaction")                                                       \
    X(PAGE_LAYERS_MERGED, "cobalt_page_layers_merged_total", "", "counter",                       \
      "Page map layers merged into the layer under them")                                         \
    X(PAGE_ENTRIES_MERGED, "cobalt_page_merged_entries_total", "", "counter",                     \
      "Page map entries moved down by layer merges")                                              \
    X(RADOS_IDX_READS, "cobalt_rados_ops_total", "pool=\"index\",kind=\"read\"", "counter",       \
      "Operations the RADOS engine sent to the cluster (a read changes nothing)")                 \
    X(RADOS_IDX_WRITES, "cobalt_rados_ops_total", "pool=\"index\",kind=\"write\"", "counter", "") \
    X(RADOS_DATA_READS, "cobalt_rados_ops_total", "pool=\"data\",kind=\"read\"", "counter", "")   \
    X(RADOS_DATA_WRITES, "cobalt_rados_ops_total", "pool=\"data\",kind=\"write\"", "counter", "")

enum metric_id {
#define METRIC_ENUM(id, family, labels, type, help) M_##id,
    METRICS(METRIC_ENUM)
#undef METRIC_ENUM
        M__COUNT
};

void metric_add(enum metric_id id, int64_t n);
void metric_set(enum metric_id id, int64_t v);
int64_t metric_get(enum metric_id id);
/* Counts a response by its status class. */
void metric_http_status(int status);
/* Renders every metric into buf (NUL-terminated); the length, or the size needed if >= cap. */
size_t metrics_render(char *buf, size_t cap);

#endif
