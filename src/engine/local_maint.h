/*
 * local_maint.h -- the local engine's maintenance, for admin/ and main.c: compaction of its volumes
 * and the check of a data directory (`cobalt fsck`).  These work on the engine's keys and volumes
 * directly, which is why they live here: nothing outside engine/, meta/ and store/ knows either.
 *
 * Compaction.
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
#ifndef COBALT_ENGINE_LOCAL_MAINT_H
#define COBALT_ENGINE_LOCAL_MAINT_H

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
    uint64_t page_entries_dropped; /* of page map layers no record names (local_pages_gc) */
};

/*
 * Compacts every sealed volume whose dead fraction is at least `threshold` (0..1).  Safe to run
 * while the server serves requests.  0, or an errno value (the stats say what was done).
 */
int compact_run(struct meta *m, struct store *s, double threshold, struct compact_stats *st);
/*
 * One consistent pass (one RocksDB snapshot) over every blob record, page map entry of a layer
 * a record names, and staged block, calling
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
 * `cobalt fsck` of the data directory `dir` (local_fsck.c's file comment says what is checked):
 * problems on stderr, the summary line on stdout.  repair: drop what cannot be recovered (the
 * server must be stopped); quiet: no progress lines.  Returns the process exit code: 0 clean, 1
 * problems found (and, with repair, dropped), 2 the data directory cannot be opened.
 */
int local_fsck(const char *dir, int repair, int quiet);

#endif
