/*
 * rados_int.h -- what the RADOS engine's files share (rados.c: keys, the one-op write, cursors,
 * counters, containers, the purge and GC lists, set-up; rados_blob.c: blob records, staged blocks,
 * the tag index, pending copies and the gateways' liveness; rados_data.c: payloads and the pending
 * protocol).  docs/rados.md is the layout.
 */
#ifndef COBALT_ENGINE_RADOS_INT_H
#define COBALT_ENGINE_RADOS_INT_H

#include <pthread.h>
#include <stdio.h>
#include <rados/librados.h>

#include "engine/engine.h"
#include "engine/rados_maint.h"
#include "util/buf.h"
#include "util/timefmt.h"

#define SCRATCH_CAP  (64u << 20) /* a scratch arena decodes a few records */
#define LIST_PAGE    256         /* omap keys per listing round trip */
#define LIST_SHARDS  8           /* purge.<k>, gc.<k> and copy.<k> */
#define LEASE_SECS   60          /* purge and GC leases, the fence lock of a container */
#define SHARD_CACHE  1024        /* container ids whose shard count a gateway remembers */
#define RADOS_SHARDS 16          /* blob index shards of a new container (docs/rados.md) */
/* A protected soft-deleted record (or container holding one) is looked at again this much later
 * (a legal hold has no end date), as meta_purge_expired does. */
#define PROTECT_RECHECK (3600 * TICKS_PER_SEC)

struct rados_eng {
    rados_t cluster;
    rados_ioctx_t idx, data; /* the index and data pools */
    char cookie[32];         /* this gateway's lock cookie: its RADOS instance id */
    pthread_mutex_t mu;      /* the ETag block, the shard cache, the copy description */
    uint64_t etag_next, etag_end;
    int64_t etag_at; /* when the block was reserved */
    uint64_t calls;  /* per-call lock cookies */
    struct {
        uint64_t cid;
        unsigned shards;
    } shards[SHARD_CACHE]; /* never changes once written (R3) */
    /* The heartbeat (rados_blob.c): a shared lock on `gateways` renewed by a thread, which also
     * fails the pending copies of gateways that are gone, with the description copy_recover
     * was given. */
    pthread_t beat;
    int beating, stopping;
    pthread_cond_t cv;
    char *copy_desc;
    struct rados_data *dp; /* the data plane (rados_data.c) */
};

static inline struct rados_eng *
R(struct engine *e)
{
    return e->impl;
}

/* An error code (util/error.h) for a librados error (logged: the cluster failed us); -ECANCELED
 * is a lost compare: CO_ECONFLICT. */
int eng_err(int r, const char *what, const char *oid);

/* ---- the operations sent to the cluster, counted (cobalt_rados_ops_total in /metrics) ---- */

/* Counts one operation on io: a write when it may change an object, else a read; in the data pool
 * when io is a data pool's context (rops_data_pool), else in the index pool. */
void rops_count(rados_ioctx_t io, int write);
/* Marks (add) or unmarks io as a data pool's context, for rops_count. */
void rops_data_pool(rados_ioctx_t io, int add);

/* Each librados call of the engine that reaches the cluster, counted where it is made: a
 * function-like macro does not expand inside itself, so the inner call is the library's. */
#define RADOS_COUNTED(write, fn, io, ...) (rops_count((io), (write)), fn(__VA_ARGS__))
#define rados_read_op_operate(op, io, ...) \
    RADOS_COUNTED(0, rados_read_op_operate, io, op, io, __VA_ARGS__)
#define rados_aio_read_op_operate(op, io, ...) \
    RADOS_COUNTED(0, rados_aio_read_op_operate, io, op, io, __VA_ARGS__)
#define rados_write_op_operate2(op, io, ...) \
    RADOS_COUNTED(1, rados_write_op_operate2, io, op, io, __VA_ARGS__)
#define rados_aio_write_op_operate(op, io, ...) \
    RADOS_COUNTED(1, rados_aio_write_op_operate, io, op, io, __VA_ARGS__)
#define rados_getxattr(io, ...)       RADOS_COUNTED(0, rados_getxattr, io, io, __VA_ARGS__)
#define rados_stat(io, ...)           RADOS_COUNTED(0, rados_stat, io, io, __VA_ARGS__)
#define rados_list_lockers(io, ...)   RADOS_COUNTED(0, rados_list_lockers, io, io, __VA_ARGS__)
#define rados_remove(io, ...)         RADOS_COUNTED(1, rados_remove, io, io, __VA_ARGS__)
#define rados_aio_remove(io, ...)     RADOS_COUNTED(1, rados_aio_remove, io, io, __VA_ARGS__)
#define rados_aio_setxattr(io, ...)   RADOS_COUNTED(1, rados_aio_setxattr, io, io, __VA_ARGS__)
#define rados_lock_exclusive(io, ...) RADOS_COUNTED(1, rados_lock_exclusive, io, io, __VA_ARGS__)
#define rados_lock_shared(io, ...)    RADOS_COUNTED(1, rados_lock_shared, io, io, __VA_ARGS__)
#define rados_unlock(io, ...)         RADOS_COUNTED(1, rados_unlock, io, io, __VA_ARGS__)

/* ---- keys (R4) ---- */

/* Appends p[0..n) so that no NUL remains and order is kept: 0x00 becomes 0x01 0x01, 0x01 becomes
 * 0x01 0x02.  A prefix-free code: encoded strings sort as the strings do. */
void key_enc(struct buf *k, const char *p, size_t n);
/* The bytes key_enc() encoded as p[0..n), into a (NUL-terminated, *len bytes); NULL if p is not
 * such an encoding. */
char *key_dec(struct arena *a, const char *p, size_t n, size_t *len);
/* key_enc(name) and, terminate, the encoding of a 0x00 byte: the end of a name in a key. */
void name_esc(struct buf *k, const char *name, size_t n, int terminate);
/* Where the encoded name at p[0..n) ends (its terminator), or n when it has none. */
size_t name_end(const char *p, size_t n);
void hex64(struct buf *k, uint64_t v);
/* The 16 hex digits at p, or UINT64_MAX when they are not. */
uint64_t unhex64(const char *p);

/* ---- one write op on one object: compares, then edits (R1) ---- */

#define ED_MAX 64 /* entries of a kind held in the edit itself; more need ed->a */

struct kv {
    const char *k, *v;
    size_t kl, vl;
};

struct omap_edit {
    int create;        /* create the object when missing (before the compares) */
    const char *fence; /* cmpxattr("state", EQ, fence) first, when set */
    size_t ncmp, nset, nrm;
    int full;                  /* an entry could not be added: the op fails with CO_EBACKEND */
    int lost;                  /* set by omap_apply(): an omap compare is known to have failed */
    struct arena *a;           /* set: the lists grow past ED_MAX in it */
    struct kv *cmp, *set, *rm; /* the inline arrays below until grown (NULL: empty) */
    size_t capcmp, capset, caprm;
    struct kv cmp0[ED_MAX], set0[ED_MAX], rm0[ED_MAX];
    struct kv range; /* omap_rm_range2(range.k, range.v) when range.k is set */
};

void edit_cmp(struct omap_edit *ed, const struct buf *k, const char *v, size_t vl);
void edit_set(struct omap_edit *ed, const struct buf *k, const struct buf *v);
void edit_rm(struct omap_edit *ed, const struct buf *k);
/* Appends one entry to ed's list `what` ('c' compare, 's' set, 'r' remove; the bytes must outlive
 * the op). */
void edit_push(struct omap_edit *ed, char what, const char *k, size_t kl, const char *v, size_t vl);
/* Applies ed to object oid in one op: 0, CO_ECONFLICT (a compare failed, the fence differs, or
 * the object is missing and ed does not create it; ed->lost when an omap compare is known to be
 * the one), CO_EBACKEND. */
int omap_apply(rados_ioctx_t io, const char *oid, struct omap_edit *ed);
/* The value of omap key k of oid into *v (in a): 0, CO_ENOTFOUND (no key or no object),
 * CO_EBACKEND. */
int omap_get(rados_ioctx_t io, const char *oid, const struct buf *k, struct arena *a, char **v,
             size_t *vl);
/* Re-encodes a stored record with today's encoder (out), or fails (-1). */
typedef int (*reencode_fn)(struct arena *a, const char *v, size_t vl, struct buf *out);
/* After a lost compare: reads the keys ed compares, and where the stored bytes are an older
 * encoding of the expected record, compares with them instead (docs/rados.md, "Whole records
 * compared").  1 when a compare was replaced (try again), 0 when none was. */
int cmp_refresh(rados_ioctx_t io, const char *oid, struct omap_edit *ed, struct arena *a,
                reencode_fn reencode);
/* Adds (set) or removes (!set) one omap key of oid (no compare): a secondary entry (R2). */
int entry_put(rados_ioctx_t io, const char *oid, const struct buf *k, const struct buf *v, int set);

/* ---- paging one prefix of an omap object ---- */

/* One prefix of an omap object, paged in key order from a seek key, one key at a time. */
struct omap_cursor {
    rados_ioctx_t io;
    const char *oid;
    struct buf prefix; /* filter_prefix */
    struct buf seek;   /* keys before it are skipped (start_after is only "after") */
    struct buf after;  /* start_after of the next page: the last key seen */
    rados_read_op_t op;
    rados_omap_iter_t it;
    unsigned char more;
    int started, prval;
    char *k, *v; /* the current entry (valid until the next page), k NULL at the end */
    size_t kl, vl;
};

/* Opens c (prefix and seek set) on oid; the first cursor_next() reads the first page. */
void cursor_open(struct omap_cursor *c, rados_ioctx_t io, const char *oid);
void cursor_close(struct omap_cursor *c);
/* Moves to the next entry (c->k NULL at the end): 0 or CO_EBACKEND. */
int cursor_next(struct omap_cursor *c);
/* Moves an open cursor to the first key >= k[0..kl) (its page is read again): 0 or CO_EBACKEND. */
int cursor_seek(struct omap_cursor *c, const char *k, size_t kl);
/* Reads the first page of each of c[0..n) at once (aio), then positions each as cursor_next()
 * does: 0 or CO_EBACKEND. */
int cursors_start(struct omap_cursor *c, size_t n);

/* ---- leases ---- */

/* Takes (or, renew, extends) the exclusive lock `name` of oid for `secs`, cookie `cookie`: 1 held,
 * 0 another holds it, CO_EBACKEND. */
int lock_take(struct rados_eng *r, const char *oid, const char *name, const char *cookie, int secs,
              int renew);
void lock_give(struct rados_eng *r, const char *oid, const char *name, const char *cookie);

/* ---- containers (rados.c) for the blob calls ---- */

/* A new ETag value (eng_next_etag). */
uint64_t rados_etag(struct rados_eng *r);
int rados_container_get(struct engine *e, struct arena *a, const char *account, const char *name,
                        struct container_rec *c);

/* Queues the drop of container id cid of account on the GC list (kind `c`): 0 or CO_EBACKEND. */
int gc_drop_container(struct rados_eng *r, const char *account, uint64_t cid);

/* ---- page maps (rados_pages.c; the commit's side in rados_blob.c) ---- */

/* The key of a page map entry: G<hex16 layer><hex16 end> (end UINT64_MAX: the layer's prefix). */
void rpage_key(struct buf *k, uint64_t layer, uint64_t end);
void rpage_value(struct buf *v, const struct eng_page *p);
/* A page map key and value into its entry: 0, or -1 if malformed. */
int rpage_decode(const char *k, size_t kl, const char *v, size_t vl, struct eng_page *p);
/* The entries of `layer` in shard oid over [off, end), at most max, into *out (in a): 0 or
 * CO_EBACKEND. */
int rpage_entries(struct rados_eng *r, struct arena *a, const char *oid, uint64_t layer,
                  uint64_t off, uint64_t end, size_t max, struct eng_page **out, size_t *n);
int rados_page_list(struct engine *e, struct arena *a, const struct eng_blob *b, uint64_t layer,
                    uint64_t off, uint64_t end, size_t max, struct eng_page **out, size_t *n);
int rados_page_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w,
                      size_t n, const struct eng_page_write *pw, size_t npw);
/* The blob index shard object of blob b: 0, CO_ENOTFOUND (its container id is gone),
 * CO_EBACKEND. */
int blob_shard_oid(struct rados_eng *r, const struct eng_blob *b, char oid[48]);

/* ---- blob index shards (rados_blob.c) for the container calls ---- */

/* The shard count of container id cid (its head's xattr, cached): 0, CO_ENOTFOUND (no head: the
 * id is gone), CO_EBACKEND. */
int shard_count(struct rados_eng *r, uint64_t cid, unsigned *n);
/* The fence of a shard (xattr `state`, R5): "open <container name>" while blobs may be committed
 * into it by that name, "closing <ticks>" from when a Delete Container began. */
#define FENCE_MAX 300
static inline void
fence_open(char v[FENCE_MAX], const char *container)
{
    snprintf(v, FENCE_MAX, "open %s", container);
}
/* Sets the fence of every shard of cid to `value`, all at once (aio), creating missing shards:
 * 0 or CO_EBACKEND. */
int fence_set(struct rados_eng *r, uint64_t cid, unsigned shards, const char *value);
/* Removes every shard object of cid (a missing one is fine): 0 or CO_EBACKEND. */
int shards_remove(struct rados_eng *r, uint64_t cid, unsigned shards);
/* ---- keys of a shard (rados_blob.c; docs/rados.md, "idx.<cid>.<k>") for fsck ---- */

void shard_oid(char oid[48], uint64_t cid, unsigned k);
/* The shard of blob `name` among `shards`. */
unsigned shard_of(const char *name, size_t nlen, unsigned shards);
/* lead ('B' record, 'H' protection entry), the name encoded and ended, kind and id. */
void rec_key(struct buf *k, char lead, const char *name, size_t nlen, char kind, int64_t id);
/* The name, kind and id of the place p[0..n) (a record key after its lead): 0, or -1. */
int place_parse(struct arena *a, const char *p, size_t n, const char **name, size_t *nlen,
                char *kind, int64_t *id);
/* 'T' key value name: a tag index entry. */
void tag_key(struct buf *k, const char *key, const char *value, const char *name, size_t nlen);
/* 'U' name block-id: a staged block (id NULL: the prefix of all of the name's). */
void block_key(struct buf *k, const char *name, size_t nlen, const char *id, size_t idlen);
/* The purge entry of a soft-deleted record: its object and key. */
void purge_key(char oid[32], struct buf *k, uint64_t cid, int64_t due, const char *name,
               size_t nlen, char kind, int64_t id);
/* The marker of a pending copy: its object and key. */
void copy_key(char oid[32], struct buf *k, uint64_t cid, const char *name, size_t nlen,
              const char *copy_id);
/* r is due for purge (soft-deleted, or live with an expiry): at all (at 0) or at `at`. */
int due_at(const struct blob_rec *r, int64_t at);
/* The record at key bk of shard oid, decoded into rec, its stored bytes into *v: 0, CO_ENOTFOUND,
 * CO_EBACKEND. */
int stored_get(struct rados_eng *r, struct arena *a, const char *oid, const struct buf *bk,
               struct blob_rec *rec, char **v, size_t *vl);

/* The WORM refusal of deleting container c (engine.h): 0, CO_EHELD, CO_EPOLICY, CO_EBACKEND. */
int worm_check(struct rados_eng *r, struct arena *a, const struct container_rec *c, int64_t now);
/* Whether container id cid holds a record protected at `now`: 0 no, 1 a policy, 2 a legal hold,
 * CO_EBACKEND. */
int container_protected(struct rados_eng *r, struct arena *a, uint64_t cid, int64_t now);
/* One purge entry of kind B (a soft-deleted or expiring blob record): key[0..kl) after "<due>B", value its
 * shard.  1 purged, 0 nothing to do (remove the entry), 2 keep the entry. */
int purge_blob(struct rados_eng *r, struct arena *a, const char *key, size_t kl, const char *val,
               size_t vl, int64_t due, int64_t now);
/* One GC entry of kind l (page map layers a commit found dead with more entries than it removed
 * itself; value as plan_dead_layers writes it), written at `written` (ticks): removes their
 * entries, with their payloads' references, in ops of bounded size.  1 done, 0 not an entry
 * (remove it), 2 keep the entry. */
int gc_layers(struct rados_eng *r, const char *v, size_t vl, int64_t written, int64_t now);
/* The heartbeat: starts (0 or CO_EBACKEND) and stops it (at fini). */
int heartbeat_start(struct rados_eng *r);
void heartbeat_stop(struct rados_eng *r);

int rados_blob_get(struct engine *e, struct arena *a, const struct eng_blob *b, char kind,
                   int64_t id, struct blob_rec *r);
int rados_blob_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w,
                      size_t n, const struct block_ref *stage);
int rados_blob_subs(struct engine *e, struct arena *a, const struct eng_blob *b,
                    struct eng_entry **out, size_t *n);
int rados_blob_list(struct engine *e, uint64_t cid, const char *prefix, size_t plen,
                    const struct eng_pos *from, unsigned what, struct eng_iter **out);
int rados_blob_next(struct eng_iter *it, struct arena *a, struct eng_entry *out);
int rados_skip_past(struct eng_iter *it, const char *prefix, size_t len);
int rados_blocks_list(struct engine *e, struct arena *a, const struct eng_blob *b, size_t max,
                      struct block_ref **out, size_t *n);
int rados_tag_list(struct engine *e, uint64_t cid, const char *key, const char *from, size_t flen,
                   const char *to, size_t tlen, struct eng_iter **out);
int rados_tag_next(struct eng_iter *it, struct arena *a, struct eng_tag_entry *out);
long rados_copy_recover(struct engine *e, const char *description);

/* ---- the data plane (rados_data.c): payloads striped over the data pool ---- */

struct rados_data;

/* The data plane over the index pool io (the GC list) and the data pool data, both borrowed until
 * rdata_free().  Stripes of 1 << RDATA_SHIFT bytes until rdata_set_stripe().  0 or CO_EBACKEND. */
#define RDATA_SHIFT     22 /* 4 MiB stripes */
#define RDATA_SHIFT_MIN 16 /* one CRC chunk */
#define RDATA_SHIFT_MAX 26 /* 64 MiB: under Ceph's 90 MB op and 128 MiB object limits */
int rdata_new(rados_ioctx_t idx, rados_ioctx_t data, struct rados_data **out);
/* Inline payloads (docs/rados.md, "Inline payloads"): a blob's whole content of at most INLINE_MAX
 * bytes (eng_data_write_begin's ENG_W_WHOLE) is kept in its record, not in the data pool.  Its
 * locator: vol LOC_INLINE << 8, off the CRC32C of its bytes, inl the bytes.  No data object, no
 * pending entry, no reference key: the record holds it whole, and copies of the record carry it. */
#define INLINE_MAX (4u << 10)
#define LOC_INLINE 2
static inline int
rdata_inline(const struct extent *x)
{
    return x->vol >> 8 == LOC_INLINE;
}
void rdata_free(struct rados_data *d);
/* The stripe size of payloads written from now on, 1 << shift bytes (RDATA_SHIFT_MIN..MAX):
 * 0 or EINVAL.  Each locator keeps its own, so payloads of any size stay readable. */
int rdata_set_stripe(struct rados_data *d, unsigned shift);

/* The ops table entries (engine.h, "the data plane"). */
int rdata_failed(struct engine *e);
int rdata_write_begin(struct engine *e, uint64_t len, unsigned flags, struct eng_writer **w);
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
 * commit op writes (which sets key rdata_ref_key() in that same op); before a commit op that
 * removes the last reference from an index object (and its reference key), rdata_drop() queues
 * the payload's deletion an hour on (its due time into *due, if not NULL) -- a superset hint: a
 * payload whose index object still holds the key when the drop is due is kept, so a gateway that
 * dies right after the op leaves nothing unqueued.  Both: 0, CO_ECONFLICT (claim: the payload was
 * given up -- released or past its pending time -- and must not be committed), CO_EBACKEND.
 * rdata_undrop() takes back a drop whose op wrote nothing (a lost compare).
 */
int rdata_claim(struct engine *e, const struct extent *loc, const char *index_oid);
int rdata_drop(struct engine *e, const struct extent *loc, const char *index_oid, uint64_t *due);
void rdata_undrop(struct engine *e, const struct extent *loc, const char *index_oid, uint64_t due);
/* Before a commit op that makes an index object reference a payload another index object
 * references (a copy's source, checked just before the op): marks the payload shared, so that
 * no drop deletes it from then on (a shared payload is reclaimed by fsck, not by a drop: the mark
 * holds the time it was set, rdata_unshare()).
 * 0 or CO_EBACKEND. */
int rdata_share(struct engine *e, const struct extent *loc);
/* The omap key that says index object X references payload loc: "L" and 16 hex digits of seq. */
void rdata_ref_key(const struct extent *loc, char key[18]);

/* A due GC-list entry of kind 'd' (key k, value v) in list object oid: settles it (deletes the
 * payload's objects unless its claimed index object references it) and removes it.  0 done (the
 * payload is referenced), 1 done (deleted), 2 keep it for the next round. */
int rdata_gc_entry(struct rados_data *d, const char *oid, const char *k, size_t kl, const char *v,
                   size_t vl);

/* What key k[0..kl) of a GC list object is: 'd' a payload entry, 's' a shared mark (*seq: the
 * payload), 0 anything else. */
int rdata_list_key(const char *k, size_t kl, uint64_t *seq);
/* Puts payload seq, whose objects no record, reference key or entry names (fsck found them), on
 * the GC list, due now and unclaimed, naming stripes [0, stripes): 0 or CO_EBACKEND. */
int rdata_orphan(struct rados_data *d, uint64_t seq, uint64_t stripes);
/* Replaces payload seq's shared mark, if its value is still mark[0..ml) (the time it was set), by
 * a GC entry due now and unclaimed over stripes [0, stripes), in one op: fsck, once no reference
 * key names the payload any more.  0, CO_ECONFLICT (the mark changed: a copy shares the payload
 * again), CO_EBACKEND. */
int rdata_unshare(struct rados_data *d, uint64_t seq, uint64_t stripes, const char *mark,
                  size_t ml);
/* The payload and stripe of data object oid: 0, or -1 when it is not a stripe's name. */
int rdata_object(const char *oid, uint64_t *seq, uint64_t *stripe);
/* Reads every byte of payload loc and checks it (size, CRCs): 0, EINVAL (not a locator of this
 * engine), EIO (a stripe missing or unreadable), EBADMSG (short, or a CRC mismatch). */
int rdata_verify(struct engine *e, const struct extent *loc);

/* Every iterator of this engine is freed by rados_iter_free(); a blob listing or tag walk marks
 * itself with `shards` != NULL. */
struct rados_iter {
    struct eng_iter base;
    struct omap_cursor side[2]; /* containers: C (live) and D (deleted) keys */
    int sides;
    char oid[300];
    /* blob listings and tag walks: one cursor per shard, merged by key */
    struct omap_cursor *shards;
    char (*oids)[48];
    unsigned nshards;
    unsigned what;   /* ENG_LIST_* */
    size_t plen;     /* the length of the key prefix every cursor filters on */
    struct buf stop; /* tag walks: keys from this one on are past the walk (empty: none) */
};

void rados_iter_free(struct eng_iter *base);

#endif
