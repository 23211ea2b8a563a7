/*
 * monitor.c -- see monitor.h.
 */
#include "admin/monitor.h"

#include <string.h>

#include "util/arena.h"
#include "util/metrics.h"

static int
monitor_begin(void *app, struct http_req *r)
{
    size_t need, len;
    char *text;

    if (strcmp(r->path, "/metrics") != 0 ||
        (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)) {
        http_resp_status(r, 404);
        http_resp_header(r, "Content-Type", "text/plain");
        http_resp_body(r, "only GET /metrics is served here\n", 33);
        return HTTP_RESPOND;
    }
    /* Values move between measuring and rendering: leave room, and render again if it was not
     * enough, so a sample line is never cut. */
    do {
        need = metrics_render(NULL, 0) + 256;
        if ((text = arena_alloc(r->arena, need)) == NULL) {
            http_resp_status(r, 500);
            return HTTP_RESPOND;
        }
    } while ((len = metrics_render(text, need)) >= need);
    http_resp_status(r, 200);
    http_resp_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    http_resp_body(r, text, len);
    return HTTP_RESPOND;
}

static int
monitor_body(void *app, struct http_req *r, const char *p, size_t n)
{
    return 0; /* never called: every request is answered at begin */
}

static void
monitor_end(void *app, struct http_req *r)
{
}

static void
monitor_done(void *app, struct http_req *r)
{
}

void
monitor_app(struct http_app *app)
{
    *app = (struct http_app){monitor_begin, monitor_body, monitor_end, monitor_done, NULL};
}
