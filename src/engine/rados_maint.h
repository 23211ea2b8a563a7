/*
 * rados_maint.h -- the RADOS engine's maintenance, for admin/ and main.c: `cobalt gc --backend
 * rados` (the purge and GC lists worked now, rados.c) and `cobalt fsck --backend rados` (the
 * check of the index pool against the data pool, rados_fsck.c).  Both work on the engine's
 * objects and keys directly, which is why they live here; both run next to serving gateways
 * (docs/rados.md, "fsck" and "gc").
 */
#ifndef COBALT_ENGINE_RADOS_MAINT_H
#define COBALT_ENGINE_RADOS_MAINT_H

#include <stdint.h>

struct engine;

/* What a round of the purge and GC lists did. */
struct rados_gc_stats {
    uint64_t records;    /* soft-deleted records and containers purged */
    uint64_t payloads;   /* payloads whose objects were deleted */
    uint64_t containers; /* container ids whose index shards and head were dropped */
    uint64_t left;       /* due entries kept for a later round (the cluster failed us) */
};

/*
 * Works every entry of the purge list and the GC list due by `now`, to the end of each list
 * object, under the same per-object leases as the gateways' background round -- waiting for a
 * lease a gateway holds rather than skipping its object -- so it never races a gateway.  e must
 * be a RADOS engine.  What was done is added to *st.  0, or CO_EBACKEND (the cluster failed us,
 * or a lease did not come free within two lease periods: the rest was still worked).
 */
int rados_gc_run(struct engine *e, int64_t now, struct rados_gc_stats *st);

/*
 * `cobalt fsck --backend rados` over the engine's pools (rados_fsck.c's file comment says what is
 * checked): one line per problem and the summary line on stdout.  repair: fix what can be fixed
 * (records whose data is lost are reported, never dropped); quiet: no progress lines.  Returns
 * the process exit code: 0 clean, 1 problems found (with repair: some could not be fixed, or
 * were), 2 the pools could not be read.
 */
int rados_fsck(struct engine *e, int repair, int quiet);

#endif
