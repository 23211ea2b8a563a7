/*
 * compact.h -- compaction driven from outside a request: the background maintenance thread of
 * `cobalt serve` and the `cobalt compact` command.  The passes are the local engine's
 * (engine/local_maint.h).
 */
#ifndef COBALT_COMPACT_H
#define COBALT_COMPACT_H

#include <stdint.h>

struct engine;
struct meta;
struct store;

/*
 * The background maintenance of `cobalt serve`: a thread that wakes every few seconds (or when a
 * test harness kicks it: util/clock.h), has the engine purge the soft-deleted records past their
 * retention (eng_purge_expired), and, with the local engine's metadata and volumes (m and s, NULL
 * for other engines), runs compact_run() once *freed (bytes of blob content deleted or
 * overwritten since the last run, counted by api/) passes `trigger` bytes.  compactor_stop()
 * waits for a run in progress.
 */
struct compactor;
struct engine;
struct compactor *compactor_start(struct engine *e, struct meta *m, struct store *s,
                                  double threshold, uint64_t trigger, uint64_t *freed);
void compactor_stop(struct compactor *c);

/* `cobalt compact [--threshold F] DATA_DIR` (server stopped). */
int compact_main(int argc, char **argv);

#endif
