/*
 * compact.h -- reclaiming the space of dead needles, and background integrity scrub.
 *
 * Liveness is decided by marking, not by reference counts: one pass over a consistent RocksDB
 * snapshot of every blob record and staged block finds the needles still referenced.  Sharing a
 * needle between records (Put Block List, and later snapshots and copies) then costs nothing on
 * the write path and cannot drift, and the same pass is what fsck does.  See docs/storage.md.
 *
 * Compacting a volume V (sealed, nothing pending in it: store.h V6):
 *   1. copy every live needle of V to the active volume (same sequence number, every chunk
 *      verified on the way) and fdatasync;
 *   2. commit, in one synced batch, 'N' seq -> new place for each moved needle and 'X' V;
 *   3. retire V: unlink its file once readers let go (V7).
 * Records keep naming V; readers that find V gone follow 'N' (meta_needle_moved).  A crash before
 * step 2 leaves V intact and the copies as garbage; after it, start-up finishes step 3
 * (compact_recover).
 */
#ifndef COBALT_COMPACT_H
#define COBALT_COMPACT_H

#include <stddef.h>
#include <stdint.h>

struct extent;
struct meta;
struct store;

struct compact_stats {
    uint64_t scanned_records;
    uint64_t volumes_compacted;
    uint64_t needles_moved, bytes_moved;
    uint64_t bytes_reclaimed;
};

/*
 * Compacts every sealed volume whose dead fraction is at least `threshold` (0..1).  Safe to run
 * while the server serves requests.  0, or an errno value (the stats say what was done).
 */
int compact_run(struct meta *m, struct store *s, double threshold, struct compact_stats *st);
/*
 * One consistent pass (one RocksDB snapshot) over every blob record and staged block, calling
 * fn(ctx, extent, record key) for each needle they reference, at its current place; fn returns
 * non-zero to stop.  *records counts the records seen.  0, or an errno value (EIO when a record
 * cannot be decoded: liveness is never guessed).
 */
int compact_each_needle(struct meta *m, struct store *s, uint64_t *records,
                        int (*fn)(void *ctx, const struct extent *e, const char *key, size_t klen),
                        void *ctx);
/* Finishes retirements a crash interrupted.  Call once at start-up.  0 or errno. */
int compact_recover(struct meta *m, struct store *s);
/* The current place of a needle named by a record: e itself, or where compaction moved it.
 * 0, or -1 when it is nowhere (a metadata error). */
int compact_resolve(struct meta *m, struct store *s, struct extent *e);

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
