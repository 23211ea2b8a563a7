/*
 * engine.h -- the backend seam: the object model (model/model.h) as one table of functions, so
 * that api/ and admin/ never see how records are stored (docs/architecture.md, "The backend
 * seam").  Engines: engine/local.c (RocksDB through meta/, volumes through store/: the format on
 * disk is meta.h's) and engine/memory.c (a sorted in-memory map, for tests); RADOS comes next.
 *
 * What goes through the seam: containers, service properties, blob records (current, snapshots,
 * versions) with their staged blocks, tag index and pending copies, and the data plane (payload
 * bytes, named by locators).  admin/'s volume maintenance still goes to store/ and meta/ directly
 * (docs/architecture.md).
 *
 * Writes are compare-and-set.  A caller reads a record, checks its conditions against it, builds
 * the new record and hands both to the engine: the write happens only if the current record is
 * still exactly the one it read, else CO_ECONFLICT, and the caller reads again and re-checks
 * (another writer won the race; its conditions may now fail, as Azure answers a lost race).  The
 * whole record is compared, not only its ETag: a lease operation changes a record but never its
 * ETag, and two lease acquisitions racing on one ETag must not both win.  Engines may lock inside
 * a call (the local one does); callers never hold or depend on an engine's locks.
 *
 * Records handed out are decoded into the caller's arena; records handed in are borrowed for the
 * call.  Every function returns 0 or an error code of util/error.h: Cobalt's own CO_E* (negative)
 * for the object model's answers and CO_EBACKEND when the backend failed (logged there), errno
 * values (positive) from the data plane.  Blob writes are the same
 * compare-and-set, on a list of records at once (eng_blob_commit, below).  Thread safety: every call
 * may be made from any thread at any time; an iterator is used by one thread at a time.
 *
 * Usage, a container write:
 *
 *     for (;;) {
 *         struct container_rec old, c;
 *         if ((rc = eng_container_get(e, a, account, name, &old)) != 0)
 *             break;                             // CO_ENOTFOUND: 404
 *         ...check conditions and leases against old...
 *         c = old;
 *         ...change c; c.etag = eng_next_etag(e) when the ETag changes...
 *         if ((rc = eng_container_update(e, account, name, &old, &c)) != CO_ECONFLICT)
 *             break;
 *     }
 */
#ifndef COBALT_ENGINE_H
#define COBALT_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/model.h"
#include "util/error.h"

struct arena;
struct buf;
struct meta;
struct store;
struct eng_writer;
struct eng_reader;

/* A container in a listing: its name and record (deleted ones have rec.deleted != 0), in the
 * arena given to eng_container_next(). */
struct eng_container {
    const char *name;
    struct container_rec rec;
};

/* A blob: the container it is in -- its account, name and the id eng_container_get() returned,
 * which a commit checks is still the live container's, so nothing is ever written into a
 * container deleted or re-created since it was looked up -- and its name (raw UTF-8, no NUL). */
struct eng_blob {
    const char *account, *container;
    uint64_t cid;
    const char *name;
    size_t nlen;
};

/* Which record of a blob: its current one, one of its snapshots (id: the snapshot's time) or one
 * of its previous versions (id: the version id). */
#define ENG_CURRENT  0
#define ENG_SNAPSHOT 'S'
#define ENG_VERSION  'V'

/* A blob record in a listing or among a blob's snapshots and versions, in the caller's arena. */
struct eng_entry {
    const char *name;
    size_t nlen;
    char kind; /* ENG_CURRENT, ENG_SNAPSHOT or ENG_VERSION */
    int64_t id;
    struct blob_rec rec;
};

/* A position in a blob listing: the entry (name, kind, id) or, kind ENG_CURRENT, the name. */
struct eng_pos {
    const char *name;
    size_t nlen;
    char kind;
    int64_t id;
};

/* One record a blob commit changes or checks. */
struct eng_write {
    const struct eng_blob *blob;   /* NULL: the commit's blob; another blob: a check only */
    char kind;                     /* ENG_CURRENT, ENG_SNAPSHOT or ENG_VERSION */
    int64_t id;                    /* the snapshot's time or the version id */
    const struct blob_rec *expect; /* the record the caller read, NULL when there was none */
    const struct blob_rec *rec;    /* to store; NULL: remove it; == expect: check it only */
};

/* An entry of the blob index tags: a blob whose current record had tag (key, value) when the
 * entry was written -- a hint: readers check the record.  pos is the entry's position in its
 * key's part of the index, the bytes value 0x00 name (entries are in that byte order). */
struct eng_tag_entry {
    const char *value;
    const char *name;
    size_t nlen;
    const char *pos;
    size_t poslen;
};

/* A run of a page blob's bytes in one layer of its page map (see "page maps" below). */
struct eng_page {
    uint64_t off, len; /* the blob's bytes [off, off + len): multiples of 512 */
    uint64_t at;       /* where byte `off` is in the payload */
    struct extent loc; /* the payload; loc.len == 0: zeros that hide older layers (a clear) */
};

/* A change to one layer of a page blob's page map, made in the same commit as its records:
 * [off, off + len) of the layer then holds exactly put[0..nput) -- by offset, disjoint, within
 * the range; none for a clear that has nothing to hide -- and an entry crossing an edge of the
 * range keeps its part outside. */
struct eng_page_write {
    uint64_t layer;
    uint64_t off, len; /* multiples of 512, len > 0 */
    const struct eng_page *put;
    size_t nput;
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
    int (*container_rename)(struct engine *e, const char *account, const char *from,
                            const struct container_rec *expect, const char *to);
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
    int (*blob_get)(struct engine *e, struct arena *a, const struct eng_blob *b, char kind,
                    int64_t id, struct blob_rec *r);
    int (*blob_commit)(struct engine *e, const struct eng_blob *b, const struct eng_write *w,
                       size_t n, const struct block_ref *stage);
    int (*blob_subs)(struct engine *e, struct arena *a, const struct eng_blob *b,
                     struct eng_entry **out, size_t *n);
    int (*blob_list)(struct engine *e, uint64_t cid, const char *prefix, size_t plen,
                     const struct eng_pos *from, unsigned what, struct eng_iter **out);
    int (*blob_next)(struct eng_iter *it, struct arena *a, struct eng_entry *out);
    int (*skip_past)(struct eng_iter *it, const char *prefix, size_t len);
    int (*blocks_list)(struct engine *e, struct arena *a, const struct eng_blob *b, size_t max,
                       struct block_ref **out, size_t *n);
    int (*tag_list)(struct engine *e, uint64_t cid, const char *key, const char *from, size_t flen,
                    const char *to, size_t tlen, struct eng_iter **out);
    int (*tag_next)(struct eng_iter *it, struct arena *a, struct eng_tag_entry *out);
    long (*copy_recover)(struct engine *e, const char *description);
    int (*page_commit)(struct engine *e, const struct eng_blob *b, const struct eng_write *w,
                       size_t n, const struct eng_page_write *pw, size_t npw);
    int (*page_list)(struct engine *e, struct arena *a, const struct eng_blob *b, uint64_t layer,
                     uint64_t off, uint64_t end, size_t max, struct eng_page **out, size_t *n);
    int (*merge_hint)(struct engine *e, const struct eng_blob *b, int64_t due);
    int (*failed)(struct engine *e);
    int (*write_begin)(struct engine *e, uint64_t len, unsigned flags, struct eng_writer **w);
    int (*write)(struct engine *e, struct eng_writer *w, const void *p, size_t n);
    int (*write_finish)(struct engine *e, struct eng_writer *w, struct extent *loc);
    void (*write_abort)(struct engine *e, struct eng_writer *w);
    int (*sync)(struct engine *e, const struct extent *loc, size_t n);
    void (*release)(struct engine *e, const struct extent *loc);
    int (*reader_new)(struct engine *e, struct eng_reader **r);
    void (*reader_free)(struct engine *e, struct eng_reader *r);
    long (*read)(struct engine *e, struct eng_reader *r, struct extent *loc, uint64_t off,
                 void *dst, size_t n);
};

/* An engine: its table and its own state.  Held by value by whoever chose it (struct server). */
struct engine {
    const struct engine_ops *ops;
    void *impl;
};

/*
 * The local engine over an open meta/ database and store/ volumes (both owned by the caller, who
 * closes them after eng_fini(); s may be NULL for an engine without a data plane, in tests).
 * 0 or CO_EBACKEND (out of memory).
 */
int eng_local_init(struct engine *e, struct meta *m, struct store *s);
/* The in-memory engine: empty, ids from 1.  0 or CO_EBACKEND (out of memory). */
int eng_memory_init(struct engine *e);
/* The RADOS engine (docs/rados.md): connects as cephx user `user` ("admin" or "client.admin"; NULL:
 * admin) with ceph.conf `conf` to the existing pools `pool_index` (replicated, for omap) and
 * `pool_data`.  0 or CO_EBACKEND (why is logged). */
int eng_rados_init(struct engine *e, const char *conf, const char *user, const char *pool_index,
                   const char *pool_data);
/* The stripe size of the payloads a RADOS engine writes from now on (docs/rados.md, "Objects in
 * the data pool"; each locator keeps its own): a power of two from 64 KiB to 64 MiB.  0, or
 * EINVAL (not such a size, or not a RADOS engine). */
int eng_rados_set_stripe(struct engine *e, uint64_t bytes);
/* Releases what the engine holds (not what it was given).  A zeroed engine is a no-op. */
void eng_fini(struct engine *e);

/* A new ETag value: unique and increasing. */
uint64_t eng_next_etag(struct engine *e);

/* The live container `name` of `account` into c (zeroed when there is none): 0, CO_ENOTFOUND,
 * CO_EBACKEND. */
int eng_container_get(struct engine *e, struct arena *a, const char *account, const char *name,
                      struct container_rec *c);
/* Creates container `name` with record c, whose id the engine assigns (c->id, never reused):
 * 0, CO_EEXISTS, CO_EBACKEND. */
int eng_container_create(struct engine *e, const char *account, const char *name,
                         struct container_rec *c);
/* Stores c as container `name` if its record is still `expect`: 0, CO_ECONFLICT (changed or
 * gone), CO_EBACKEND.  c->id must be expect->id. */
int eng_container_update(struct engine *e, const char *account, const char *name,
                         const struct container_rec *expect, const struct container_rec *c);
/*
 * Deletes container `name` if its record is still `expect`.  gone NULL: for good, with every
 * blob, snapshot, version, staged block and index entry it holds.  Else a soft delete: gone (the
 * record to keep: expect with deleted and purge_at set) is kept aside under (name, gone->deleted)
 * with everything it holds, restorable until gone->purge_at, then purged.  Refused while the
 * container holds a record that is protected now (a legal hold or an unexpired immutability
 * policy of its own), or while it has any blob record and expect carries a legal hold or a
 * retention policy: CO_EHELD for a hold (the container's when it has one), else CO_EPOLICY.
 * 0, CO_ECONFLICT, CO_EHELD, CO_EPOLICY or CO_EBACKEND.
 */
int eng_container_delete(struct engine *e, const char *account, const char *name,
                         const struct container_rec *expect, const struct container_rec *gone);
/* Brings the container soft-deleted as (deleted_name, deleted) back as `name` with its contents,
 * its record into c: 0, CO_EEXISTS (a live `name`), CO_ENOTFOUND (no such deleted container, or
 * its retention ended), CO_EBACKEND. */
int eng_container_restore(struct engine *e, struct arena *a, const char *account,
                          const char *deleted_name, int64_t deleted, const char *name,
                          struct container_rec *c);
/* Moves live container `from`, if its record is still `expect`, to the name `to` with everything
 * it holds (its id, and so its blobs, stay): 0, CO_ECONFLICT (changed or gone), CO_EEXISTS (a
 * live `to`), CO_EBACKEND.  Its soft-deleted namesakes stay under `from`.  A blob write that
 * looked the container up under `from` before the move loses its commit (the container is no
 * longer live under that name). */
int eng_container_rename(struct engine *e, const char *account, const char *from,
                         const struct container_rec *expect, const char *to);
/*
 * The containers of `account` whose names begin with `prefix` ("" or NULL: all), from the first
 * name >= `from` ("" or NULL: the start), in name order; with_deleted: soft-deleted ones too, each
 * after a live container of the same name, in the order they were deleted.  *out is freed with
 * eng_iter_free().  0 or CO_EBACKEND.
 */
int eng_container_list(struct engine *e, const char *account, const char *prefix, const char *from,
                       int with_deleted, struct eng_iter **out);
/* The next container into *out (in a): 1, 0 at the end, CO_EBACKEND. */
int eng_container_next(struct eng_iter *it, struct arena *a, struct eng_container *out);
void eng_iter_free(struct eng_iter *it);
/* Purges the records whose time came by `now`: soft-deleted ones whose retention ended, blobs
 * whose expiry passed (keeping protected ones, whose purge moves on).  The number purged, or -1
 * on an engine error. */
long eng_purge_expired(struct engine *e, int64_t now);

/* The service properties of `account`: the n (section name, XML) pairs last set, in a (none:
 * n = 0).  0 or CO_EBACKEND. */
int eng_service_props_get(struct engine *e, struct arena *a, const char *account, size_t *n,
                          struct meta_pair **props);
/* Replaces them with props[0..n) if they are still expect[0..nexpect) (as read, in that order):
 * 0, CO_ECONFLICT, CO_EBACKEND. */
int eng_service_props_set(struct engine *e, const char *account, size_t nexpect,
                          const struct meta_pair *expect, size_t n, const struct meta_pair *props);

/*
 * ---- blob records ----
 *
 * A blob has at most one current record (kind ENG_CURRENT; it may be flagged BLOB_F_UNCOMMITTED
 * -- only staged blocks exist -- or be soft-deleted), any number of snapshots and previous
 * versions, and staged blocks.  What an engine keeps true with every commit, so callers never
 * write index entries themselves:
 *   - staged blocks exist exactly while the current record carries BLOB_F_STAGED or
 *     BLOB_F_UNCOMMITTED: a commit that stores a current record without either flag, or removes
 *     it, drops them;
 *   - the current record, when committed (not BLOB_F_UNCOMMITTED) and not soft-deleted, is found
 *     by each of its tags (eng_tag_list);
 *   - a record with purge_at set -- soft-deleted (deleted set), or a live current record with an
 *     expiry (Set Blob Expiry) -- is purged by eng_purge_expired() once purge_at has passed,
 *     unless it is protected then; an expired current record goes with what follows from its
 *     removal (tag index entries, staged blocks, a pending copy's marker);
 *   - a record under a legal hold or an immutability policy makes eng_container_delete() refuse,
 *     and is never purged while protected;
 *   - a current record whose copy status is COPY_PENDING is found by eng_copy_recover().
 * The tests of a record (NULL: none) these name, for every engine:
 */

/* Staged blocks exist while the current record r has one of these flags. */
static inline int
eng_staged(const struct blob_rec *r)
{
    return r != NULL && (r->flags & (BLOB_F_UNCOMMITTED | BLOB_F_STAGED)) != 0;
}

/* r when its tags are in the tag index (committed, not soft-deleted), else NULL. */
static inline const struct blob_rec *
eng_indexed(const struct blob_rec *r)
{
    return r != NULL && !(r->flags & BLOB_F_UNCOMMITTED) && r->deleted == 0 ? r : NULL;
}

/* Whether r carries tag t (name and value). */
static inline int
eng_has_pair(const struct blob_rec *r, const struct meta_pair *t)
{
    for (size_t i = 0; r != NULL && i < r->ntags; i++)
        if (strcmp(r->tags[i].name, t->name) == 0 && strcmp(r->tags[i].value, t->value) == 0)
            return 1;
    return 0;
}

/* r has a legal hold or a policy, expired or not: an engine indexes it for the WORM checks. */
static inline int
eng_carries_protection(const struct blob_rec *r)
{
    return r != NULL && (r->legal_hold || r->immutable_mode != IMMUT_NONE);
}

/* r is a copy in progress, which eng_copy_recover() finds. */
static inline int
eng_copy_pending(const struct blob_rec *r)
{
    return r != NULL && r->copy.status == COPY_PENDING;
}

/* The record `kind`/`id` of blob b (b->account and b->container are not used) into r, in a,
 * as stored -- uncommitted and soft-deleted records included: 0, CO_ENOTFOUND (r zeroed),
 * CO_EBACKEND. */
int eng_blob_get(struct engine *e, struct arena *a, const struct eng_blob *b, char kind, int64_t id,
                 struct blob_rec *r);
/* Every stored record has a type: r, or NULL when it is the zeroed record of eng_blob_get()'s
 * CO_ENOTFOUND -- what a commit expects in either case. */
static inline const struct blob_rec *
eng_found(const struct blob_rec *r)
{
    return r->type != 0 ? r : NULL;
}
/*
 * Applies w[0..n) to blob b in one atomic, durable commit, if every record is still the one its
 * write expects (whole records compared) and b's container is still the live one with id b->cid:
 * 0, CO_ECONFLICT (nothing written: read again, check again), CO_ENOCONT, CO_EBACKEND.  A write on
 * another blob (w->blob set, e.g. a copy's source) only checks: its rec must be its expect.
 * stage: Put Block's staged block (id and content) to add -- then w must hold the current
 * record, stored or checked with BLOB_F_STAGED or BLOB_F_UNCOMMITTED -- or NULL.
 */
int eng_blob_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
                    const struct block_ref *stage);
/* The snapshots and versions of blob b (soft-deleted ones included), snapshots first, each kind
 * by id, into *out (in a; *n of them; name and nlen are b's).  0 or CO_EBACKEND. */
int eng_blob_subs(struct engine *e, struct arena *a, const struct eng_blob *b,
                  struct eng_entry **out, size_t *n);
/*
 * The blob records of container `cid` whose names begin with prefix[0..plen), from `from` (NULL:
 * the start), in listing order: by name (bytes), each blob's current record first, then its
 * snapshots and then its versions, each by id.  what: ENG_LIST_SNAPSHOTS and/or
 * ENG_LIST_VERSIONS to include those (soft-deleted and uncommitted records always come: callers
 * decide).  0 or CO_EBACKEND; *out is freed with eng_iter_free().
 */
#define ENG_LIST_SNAPSHOTS 0x01
#define ENG_LIST_VERSIONS  0x02
int eng_blob_list(struct engine *e, uint64_t cid, const char *prefix, size_t plen,
                  const struct eng_pos *from, unsigned what, struct eng_iter **out);
/* The next entry into *out (in a): 1, 0 at the end, CO_EBACKEND. */
int eng_blob_next(struct eng_iter *it, struct arena *a, struct eng_entry *out);
/* Moves a blob listing past every name that begins with prefix[0..len) (a delimiter's prefix):
 * O(1) seeks, whatever is under it.  0 or CO_EBACKEND. */
int eng_iter_skip_past(struct eng_iter *it, const char *prefix, size_t len);
/* Up to max staged blocks of blob b (id and content), by id (bytes), into *out (in a).  0 or
 * CO_EBACKEND. */
int eng_blocks_list(struct engine *e, struct arena *a, const struct eng_blob *b, size_t max,
                    struct block_ref **out, size_t *n);
/* The tag index entries of tag `key` in container `cid` with from <= pos < to (positions as in
 * struct eng_tag_entry; to NULL: no upper bound), in position order.  0 or CO_EBACKEND. */
int eng_tag_list(struct engine *e, uint64_t cid, const char *key, const char *from, size_t flen,
                 const char *to, size_t tlen, struct eng_iter **out);
int eng_tag_next(struct eng_iter *it, struct arena *a, struct eng_tag_entry *out);
/* At start-up: every pending copy (its worker died with the process that ran it) becomes failed
 * with this description.  The number failed, or -1 on an engine error. */
long eng_copy_recover(struct engine *e, const char *description);

/*
 * ---- page maps ----
 *
 * A page blob's content is not in its record but in its page map, kept by the engine beside the
 * records: layers of entries (struct eng_page), each entry a run of the blob's bytes and where
 * they are in a payload.  A record names its layers (blob_rec.layers, newest first); a byte reads
 * from the first layer with an entry over it (zeros when that entry is a clear), zeros when none
 * has.  Unwritten and cleared pages therefore cost nothing, and a page write costs one payload
 * and a few index entries, however large the blob.
 *
 * Layers make snapshots cheap: the current record writes only to layers[0], and a record that is
 * kept (a snapshot, a version) freezes the layers it names, because the current record then gets
 * a new empty layer on top (api/page.c; layer ids are eng_next_etag() values, never reused).
 * What changed since a snapshot is what the layers above the snapshot's hold.  A layer that no
 * record names is garbage, with the payloads only it names: the engines drop it in their
 * background work (engine/local_pages.c, memory_pages.c, rados_pages.c).
 *
 * Merging.  Layers u over l are inseparable when every record naming either names u directly
 * over l: after a kept record that named l as its top is deleted, or when a clear pushed u over
 * the current record's top (api/page.c).  Then l's entries under u's are hidden from every
 * reader, and the two layers can become one: eng_pages_merge() moves u's entries down into l
 * (cutting what they hide), a bounded step per commit, each leaving what every record reads
 * unchanged, then drops u from the records.  So reads do not slow down as snapshots come and go,
 * and the space hidden entries hold comes back.  A commit that may make layers inseparable (one
 * that removes a page blob's record or changes its layers, with no new record taking them, or
 * soft-deletes one) first leaves the engine a hint (merge_hint: a GC entry on RADOS, a key
 * locally), due a delay (eng_set_merge_delay) after the change (after the purge, for a soft delete) so that
 * reads begun on a record's old layers finish first; the engine's purge round
 * (eng_purge_expired) merges the blobs whose hints are due.
 */

/* The most entries of one layer a commit should cut or move: past it, on RADOS, an op would pass
 * Ceph's size limit.  Callers with more split their work or hide the entries under a new layer. */
#define ENG_PAGE_STEP 1000
/* How long after a hint its blob's layers are merged, in ticks, for every engine of the process
 * (`cobalt serve --page-merge-delay`; an hour unless set). */
void eng_set_merge_delay(int64_t ticks);

/* Applies w[0..n) as eng_blob_commit() does and, in the same atomic commit, the page writes
 * pw[0..npw) (each to a different layer) to blob b's page map.  Payloads no entry names any more
 * are garbage the engine reclaims.  0, CO_ECONFLICT, CO_ENOCONT, CO_EBACKEND. */
int eng_page_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
                    const struct eng_page_write *pw, size_t npw);
/* The entries of layer `layer` of blob b's page map that overlap [off, end), by offset, at most
 * max of them, into *out (in a).  0 or CO_EBACKEND. */
int eng_page_list(struct engine *e, struct arena *a, const struct eng_blob *b, uint64_t layer,
                  uint64_t off, uint64_t end, size_t max, struct eng_page **out, size_t *n);
/*
 * What layers[0..nlayers) (newest first) hold over [off, end): the entry of the newest layer
 * for each byte any of them has, clipped to [off, end), by offset, at most max entries (zeros
 * entries included: callers skip them for reads, report them as cleared for diffs).  *upto: how
 * far the answer is complete (end, or less when max cut it).  0 or CO_EBACKEND.
 */
int eng_pages_resolve(struct engine *e, struct arena *a, const struct eng_blob *b,
                      const uint64_t *layers, size_t nlayers, uint64_t off, uint64_t end,
                      size_t max, struct eng_page **out, size_t *n, uint64_t *upto);
/* For engines: the entries to store in place of old[0..nold) (a layer's entries over pw's range,
 * by offset) once pw is applied -- the parts of old outside the range, and pw's own entries --
 * by offset, into *out (in a).  0 or CO_EBACKEND. */
int eng_page_edit(struct arena *a, const struct eng_page *old, size_t nold,
                  const struct eng_page_write *pw, struct eng_page **out, size_t *n);
/*
 * Merges the inseparable layers of blob b (above), *moved counting the entries moved.  0 when
 * none are left, 1 when it stopped for now (writers kept changing the blob, or it is a pending
 * copy's destination: the caller keeps its hint), CO_ENOCONT (the container is gone), CO_EBACKEND.
 */
int eng_pages_merge(struct engine *e, const struct eng_blob *b, uint64_t *moved);
/* For eng_blob_commit() and eng_page_commit(): the merge hint for blob b, first, when the commit
 * of w[0..n) may leave it with inseparable layers.  0 or CO_EBACKEND. */
int eng_pages_hint(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n);
/* For engines: a hint's blob as bytes (account, container, container id, name), and back (the
 * strings in a, the name pointing into v): 0, or -1 when v is not one. */
void eng_hint_encode(struct buf *v, const struct eng_blob *b);
int eng_hint_decode(struct arena *a, const char *v, size_t vl, struct eng_blob *b);

/*
 * ---- the data plane ----
 *
 * A payload (a blob's content, a block, an append) is written once, in one piece of known length,
 * and named by a locator (struct extent, model/extent.h).  To callers a locator is opaque except
 * for its len (the payload's bytes) and seq (its identity, shared by every record that names the
 * same payload); they store it in blob records (block_ref.ext) and hand it back to read.  The
 * local engine's locator is the needle's place in its volumes (store.h).
 *
 * The order that makes an acknowledged write durable (DESIGN.md invariant 1, store.h V2/V3/V6):
 * write and finish the payload, eng_data_sync() it, commit the record that names it, then
 * eng_data_release() it (also when the commit failed: the payload is then garbage, which the
 * engine reclaims).  These calls return 0 or a positive errno value (ENOSPC: the engine is full),
 * reads the bytes copied or -errno.
 */

/* Non-zero (the errno that caused it) once a write or sync has failed: the engine takes no more
 * writes until restart (store.h V4). */
int eng_failed(struct engine *e);
/* A writer for a payload of exactly len (> 0) bytes.  flags: ENG_W_WHOLE when the payload is a
 * blob's whole content, named by a record of that one block (Put Blob): an engine may then keep a
 * small payload inside the record itself (its locator's inl; RADOS: docs/rados.md, "Inline
 * payloads") -- never for blocks, appends or pages, whose records would grow with every one. */
#define ENG_W_WHOLE 0x01
int eng_data_write_begin(struct engine *e, uint64_t len, unsigned flags, struct eng_writer **w);
/* The next bytes of the payload (more than len in all: EINVAL). */
int eng_data_write(struct engine *e, struct eng_writer *w, const void *p, size_t n);
/* Once exactly len bytes were written: the payload's locator into *loc; frees w.  The payload is
 * pending (kept whatever happens) until eng_data_release(), and not durable until
 * eng_data_sync(). */
int eng_data_write_finish(struct engine *e, struct eng_writer *w, struct extent *loc);
/* Frees a writer that will not be finished (NULL: nothing); what it wrote is garbage. */
void eng_data_write_abort(struct engine *e, struct eng_writer *w);
/* Makes loc[0..n) durable, sharing the cost with concurrent callers. */
int eng_data_sync(struct engine *e, const struct extent *loc, size_t n);
/* Ends the pending state of a payload eng_data_write_finish() returned. */
void eng_data_release(struct engine *e, const struct extent *loc);
/* A reader: one thread at a time. */
int eng_data_reader_new(struct engine *e, struct eng_reader **r);
void eng_data_reader_free(struct engine *e, struct eng_reader *r);
/*
 * Copies up to n bytes of the payload at *loc from offset off into dst, every byte verified
 * against its checksum before it is handed out.  Returns the bytes copied (> 0 unless n == 0 or
 * off == loc->len) or -errno: -EIO, -EBADMSG (a checksum mismatch: dst holds unverified bytes,
 * never use them).  When the engine has moved the payload since *loc was read (compaction), it
 * follows it and updates *loc, so the next read goes straight there.
 */
long eng_data_read(struct engine *e, struct eng_reader *r, struct extent *loc, uint64_t off,
                   void *dst, size_t n);

#endif
