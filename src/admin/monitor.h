/*
 * monitor.h -- the monitoring endpoint of `cobalt serve --metrics-port N`.
 *
 * A second listener, separate from the Blob API so that no Azure route, account name or auth rule
 * is touched: GET /metrics answers util/metrics.h in the Prometheus text format; anything else is
 * 404.  It is unauthenticated, like a Prometheus exporter, and binds the same --host as the API:
 * expose it only where its counters may be read.
 */
#ifndef COBALT_MONITOR_H
#define COBALT_MONITOR_H

#include "net/http.h"

void monitor_app(struct http_app *app);

#endif
