/*
 * engine.h -- the backend seam: the object model (model/model.h) as one table of functions, so
 * that api/ and admin/ never see how records are stored (docs/architecture.md, "The backend
 * seam").  Engines: engine/local.c (RocksDB through meta/, volumes through store/: the format on
 * disk is meta.h's) and engine/memory.c (a sorted in-memory map, for tests); RADOS comes next.
 *
 * What goes through the seam so far: containers and the service properties.  Blob records,
 * staged blocks, tags, copies and the data plane still go to meta/ and store/ directly (the steps
 * that move them are listed in docs/architecture.md).
 *
 * Writes are compare-and-set.  A caller reads a record, checks its conditions against it, builds
 * the new record and hands both to the engine: the write happens only if the current record is
 * still exactly the one it read, else ENG_ECONFLICT, and the caller reads again and re-checks
 * (another writer won the race; its conditions may now fail, as Azure answers a lost race).  The
 * whole record is compared, not only its ETag: a lease operation changes a record but never its
 * ETag, and two lease acquisitions racing on one ETag must not both win.  Engines may lock inside
 * a call (the local one does); callers never hold or depend on an engine's locks.
 *
 * Records handed out are decoded into the caller's arena; records handed in are borrowed for the
 * call.  Every function returns 0 or one of the ENG_E* codes (negative, a range of their own,
 * until the error vocabulary of the architecture issue absorbs them).  Thread safety: every call
 * may be made from any thread at any time; an iterator is used by one thread at a time.
 *
 * Usage, a container write:
 *
 *     for (;;) {
 *         struct container_rec old, c;
 *         if ((rc = eng_container_get(e, a, account, name, &old)) != 0)
 *             break;                             // ENG_ENOTFOUND: 404
 *         ...check conditions and leases against old...
 *         c = old;
 *         ...change c; c.etag = eng_next_etag(e) when the ETag changes...
 *         if ((rc = eng_container_update(e, account, name, &old, &c)) != ENG_ECONFLICT)
 *             break;
 *     }
 */
#ifndef COBALT_ENGINE_H
#define COBALT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

struct arena;
struct meta;

#define ENG_ENOTFOUND (-30800) /* no such record */
#define ENG_EEXISTS   (-30801) /* create or restore: a live container has that name */
#define ENG_ECONFLICT (-30802) /* compare-and-set: the record is not the one the caller read */
#define ENG_EHELD     (-30803) /* delete refused: a legal hold (the container's or a record's) */
#define ENG_EPOLICY   (-30804) /* delete refused: an immutability policy (likewise) */
#define ENG_EIO       (-30805) /* the engine failed (logged there) */

/* A container in a listing: its name and record (deleted ones have rec.deleted != 0), in the
 * arena given to eng_container_next(). */
struct eng_container {
    const char *name;
    struct container_rec rec;
};

struct engine;

/* An iterator: engines embed this as the first member of their own. */
struct eng_iter {
    struct engine *e;
};

/* The table each engine fills; the calls below document each entry. */
struct engine_ops {
    const char *name;
    void (*fini)(struct engine *e);
    uint64_t (*next_etag)(struct engine *e);
    int (*container_get)(struct engine *e, struct arena *a, const char *account, const char *name,
                         struct container_rec *c);
    int (*container_create)(struct engine *e, const char *account, const char *name,
                            struct container_rec *c);
    int (*container_update)(struct engine *e, const char *account, const char *name,
                            const struct container_rec *expect, const struct container_rec *c);
    int (*container_delete)(struct engine *e, const char *account, const char *name,
                            const struct container_rec *expect, const struct container_rec *gone);
    int (*container_restore)(struct engine *e, struct arena *a, const char *account,
                             const char *deleted_name, int64_t deleted, const char *name,
                             struct container_rec *c);
    int (*container_list)(struct engine *e, const char *account, const char *prefix,
                          const char *from, int with_deleted, struct eng_iter **out);
    int (*container_next)(struct eng_iter *it, struct arena *a, struct eng_container *out);
    void (*iter_free)(struct eng_iter *it);
    long (*purge_expired)(struct engine *e, int64_t now);
    int (*service_props_get)(struct engine *e, struct arena *a, const char *account, size_t *n,
                             struct meta_pair **props);
    int (*service_props_set)(struct engine *e, const char *account, size_t nexpect,
                             const struct meta_pair *expect, size_t n,
                             const struct meta_pair *props);
};

/* An engine: its table and its own state.  Held by value by whoever chose it (struct server). */
struct engine {
    const struct engine_ops *ops;
    void *impl;
};

/*
 * The local engine over an open meta/ database (owned by the caller, who closes it after
 * eng_fini()).  Nothing to fail: the state is the pointer.
 */
void eng_local_init(struct engine *e, struct meta *m);
/* The in-memory engine: empty, ids from 1.  0 or ENG_EIO (out of memory). */
int eng_memory_init(struct engine *e);
/* The RADOS engine (docs/rados.md): connects as cephx user `user` ("admin" or "client.admin"; NULL:
 * admin) with ceph.conf `conf` to the existing pools `pool_index` (replicated, for omap) and
 * `pool_data`.  0 or ENG_EIO (why is logged). */
int eng_rados_init(struct engine *e, const char *conf, const char *user, const char *pool_index,
                   const char *pool_data);
/* Releases what the engine holds (not what it was given).  A zeroed engine is a no-op. */
void eng_fini(struct engine *e);

/* A new ETag value: unique and increasing. */
uint64_t eng_next_etag(struct engine *e);

/* The live container `name` of `account` into c (zeroed when there is none): 0, ENG_ENOTFOUND,
 * ENG_EIO. */
int eng_container_get(struct engine *e, struct arena *a, const char *account, const char *name,
                      struct container_rec *c);
/* Creates container `name` with record c, whose id the engine assigns (c->id, never reused):
 * 0, ENG_EEXISTS, ENG_EIO. */
int eng_container_create(struct engine *e, const char *account, const char *name,
                         struct container_rec *c);
/* Stores c as container `name` if its record is still `expect`: 0, ENG_ECONFLICT (changed or
 * gone), ENG_EIO.  c->id must be expect->id. */
int eng_container_update(struct engine *e, const char *account, const char *name,
                         const struct container_rec *expect, const struct container_rec *c);
/*
 * Deletes container `name` if its record is still `expect`.  gone NULL: for good, with every
 * blob, snapshot, version, staged block and index entry it holds.  Else a soft delete: gone (the
 * record to keep: expect with deleted and purge_at set) is kept aside under (name, gone->deleted)
 * with everything it holds, restorable until gone->purge_at, then purged.  Refused while the
 * container holds a record that is protected now (a legal hold or an unexpired immutability
 * policy of its own), or while it has any blob record and expect carries a legal hold or a
 * retention policy: ENG_EHELD for a hold (the container's when it has one), else ENG_EPOLICY.
 * 0, ENG_ECONFLICT, ENG_EHELD, ENG_EPOLICY or ENG_EIO.
 */
int eng_container_delete(struct engine *e, const char *account, const char *name,
                         const struct container_rec *expect, const struct container_rec *gone);
/* Brings the container soft-deleted as (deleted_name, deleted) back as `name` with its contents,
 * its record into c: 0, ENG_EEXISTS (a live `name`), ENG_ENOTFOUND (no such deleted container, or
 * its retention ended), ENG_EIO. */
int eng_container_restore(struct engine *e, struct arena *a, const char *account,
                          const char *deleted_name, int64_t deleted, const char *name,
                          struct container_rec *c);
/*
 * The containers of `account` whose names begin with `prefix` ("" or NULL: all), from the first
 * name >= `from` ("" or NULL: the start), in name order; with_deleted: soft-deleted ones too, each
 * after a live container of the same name, in the order they were deleted.  *out is freed with
 * eng_iter_free().  0 or ENG_EIO.
 */
int eng_container_list(struct engine *e, const char *account, const char *prefix, const char *from,
                       int with_deleted, struct eng_iter **out);
/* The next container into *out (in a): 1, 0 at the end, ENG_EIO. */
int eng_container_next(struct eng_iter *it, struct arena *a, struct eng_container *out);
void eng_iter_free(struct eng_iter *it);
/* Purges the soft-deleted records whose retention ended by `now` (keeping protected ones, whose
 * purge moves on).  The number purged, or -1 on an engine error. */
long eng_purge_expired(struct engine *e, int64_t now);

/* The service properties of `account`: the n (section name, XML) pairs last set, in a (none:
 * n = 0).  0 or ENG_EIO. */
int eng_service_props_get(struct engine *e, struct arena *a, const char *account, size_t *n,
                          struct meta_pair **props);
/* Replaces them with props[0..n) if they are still expect[0..nexpect) (as read, in that order):
 * 0, ENG_ECONFLICT, ENG_EIO. */
int eng_service_props_set(struct engine *e, const char *account, size_t nexpect,
                          const struct meta_pair *expect, size_t n, const struct meta_pair *props);

#endif
