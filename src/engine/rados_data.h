/*
 * rados_data.h -- the RADOS engine's data plane (rados_data.c) as the rest of the engine sees it:
 * the engine.h data-plane entries of rados.c's ops table, the GC-list hook rados.c's list worker
 * calls for payload entries, and the two calls the blob commit makes around its commit op
 * (docs/rados.md, "Payloads" and "The pending protocol").
 */
#ifndef COBALT_ENGINE_RADOS_DATA_H
#define COBALT_ENGINE_RADOS_DATA_H

#include <rados/librados.h>

#include "engine/engine.h"

struct arena;
struct buf;

struct rados_data;

/* The data plane over the index pool io (the GC list) and the data pool data, both borrowed until
 * rdata_free().  Stripes of 1 << RDATA_SHIFT bytes until rdata_set_stripe().  0 or CO_EBACKEND. */
#define RDATA_SHIFT     22 /* 4 MiB stripes */
#define RDATA_SHIFT_MIN 16 /* one CRC chunk */
#define RDATA_SHIFT_MAX 26 /* 64 MiB: under Ceph's 90 MB op and 128 MiB object limits */
int rdata_new(rados_ioctx_t idx, rados_ioctx_t data, struct rados_data **out);
void rdata_free(struct rados_data *d);
/* The stripe size of payloads written from now on, 1 << shift bytes (RDATA_SHIFT_MIN..MAX):
 * 0 or EINVAL.  Each locator keeps its own, so payloads of any size stay readable. */
int rdata_set_stripe(struct rados_data *d, unsigned shift);

/* Defined in rados.c, where the engine's state is: the engine's data plane, and the value of
 * omap key k of oid into *v (in a): 0, CO_ENOTFOUND (no key or no object), CO_EBACKEND. */
struct rados_data *rados_data_of(struct engine *e);
int omap_get(rados_ioctx_t io, const char *oid, const struct buf *k, struct arena *a, char **v,
             size_t *vl);

/* The ops table entries (engine.h, "the data plane"). */
int rdata_failed(struct engine *e);
int rdata_write_begin(struct engine *e, uint64_t len, struct eng_writer **w);
int rdata_write(struct engine *e, struct eng_writer *w, const void *p, size_t n);
int rdata_write_finish(struct engine *e, struct eng_writer *w, struct extent *loc);
void rdata_write_abort(struct engine *e, struct eng_writer *w);
int rdata_sync(struct engine *e, const struct extent *loc, size_t n);
void rdata_release(struct engine *e, const struct extent *loc);
int rdata_reader_new(struct engine *e, struct eng_reader **r);
void rdata_reader_free(struct engine *e, struct eng_reader *r);
long rdata_read(struct engine *e, struct eng_reader *r, struct extent *loc, uint64_t off, void *dst,
                size_t n);

/*
 * The blob commit's side of the pending protocol (docs/rados.md).  Before a commit op that makes
 * a record reference a payload this request wrote, rdata_claim() names the index object the
 * commit op writes (which sets key rdata_ref_key() in that same op); after a commit that removed
 * the last reference from an index object (and its reference key), rdata_drop() queues the
 * payload's deletion.  Both: 0, CO_ECONFLICT (claim: the payload was given up -- released or past
 * its pending time -- and must not be committed), CO_EBACKEND.
 */
int rdata_claim(struct engine *e, const struct extent *loc, const char *index_oid);
int rdata_drop(struct engine *e, const struct extent *loc, const char *index_oid);
/* The omap key that says index object X references payload loc: "L" and 16 hex digits of seq. */
void rdata_ref_key(const struct extent *loc, char key[18]);

/* A due GC-list entry of kind 'd' (key k, value v) in list object oid: settles it (deletes the
 * payload's objects unless its claimed index object references it) and removes it.  0 done, 2
 * keep it for the next round. */
int rdata_gc_entry(struct rados_data *d, const char *oid, const char *k, size_t kl, const char *v,
                   size_t vl);

#endif
