/*
 * meta.h -- the persistence of the object model (model/model.h) in RocksDB: keys, record encoding,
 * batches, iterators, locks.  Only meta/ includes rocksdb/c.h.
 *
 * Keys (all begin with a type byte so each kind is one contiguous, ordered range):
 *   'C' account 0x00 container-name      -> container record
 *   'B' container-id(u64 BE) blob-name   -> blob record
 *   'U' container-id blob-name 0x00 id   -> staged (uncommitted) block: its extent
 *   'S' "cid"                            -> last container id handed out
 *   'N' needle-seq(u64 BE)               -> where compaction moved that needle (an extent)
 *   'X' volume-id(u32 BE)                -> that volume is retired: its file may be deleted
 *   'B' container-id blob-name 0x00 'S' snapshot-time(u64 BE)  -> a snapshot of that blob
 *   'B' container-id blob-name 0x00 'V' version-id(u64 BE)     -> a previous version
 *   'D' account 0x00 name 0x00 deleted-time(u64 BE)             -> a soft-deleted container
 *   'P' account                          -> service properties (the XML body last set)
 *   'Z' purge-time(u64 BE) key           -> "" : a soft-deleted record ('B' or 'D' key) to purge
 *   'T' container-id tag-key 0x00 tag-value 0x00 blob-name     -> "" (blob index tags)
 *   'H' container-id blob-name [0x00 kind id]  -> "" : the blob record at that 'B' key carries
 *       (or carried) a legal hold or an immutability policy -- the protection index (M4)
 *   'S' "protect-index"                  -> "" : the protection index covers every record
 * Blob keys use the container's numeric id, not its name: deleting a container removes its blobs
 * with two range deletions in the same batch, O(1) whatever its size, and a container re-created
 * under the same name starts empty.  Blob names are raw UTF-8 bytes (never NUL: names with NUL are
 * refused), so the key order is the byte order Azure lists in.
 *
 * Invariants:
 *  M1  every write reaches RocksDB as one write batch committed with a synced WAL (unless
 *      --fsync=never); a 2xx is sent only after meta_commit() returned 0.
 *  M2  the local engine (engine/local*.c) compares and writes a blob's records under that blob's
 *      stripe lock, and a container's under the container lock held for writing, so its writes
 *      are compare-and-set.
 *  M3  a blob write commits only while its container still exists with the id it looked up
 *      (meta_container_current() under the container lock held for reading).
 *  M4  every blob record that carries a legal hold or an immutability policy has its 'H' entry,
 *      written in the batch that first gave that key a protected record (meta_txn_index_protection
 *      from the local engine's blob commit, the one path that writes blob records), and removed
 *      when a commit leaves the key without any; built once from all records when a data directory from before the index
 *      is opened.  Entries are hints checked against the record, so a stale one (protection since
 *      removed or expired, record gone) only costs a lookup.  Nothing that destroys records in
 *      bulk -- Delete Container, the purge of a soft-deleted container, the purge of soft-deleted
 *      blobs -- removes a record that is protected now (meta_blob_protected).
 */
#ifndef COBALT_META_H
#define COBALT_META_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "util/error.h"
#include "store/store.h"

struct arena;
struct buf;
struct meta;
struct meta_txn;
struct meta_iter;

/* Errors (util/error.h): CO_ENOTFOUND, or CO_EBACKEND when RocksDB said no (logged). */

/* Opens (creating if needed) the database in dir.  readonly: no writes, and it may be open in a
 * running server at the same time (fsck's online mode).  cache_bytes: the block cache for
 * records (0: META_CACHE_DEFAULT). */
#define META_CACHE_DEFAULT (256u << 20)
int meta_open(const char *dir, int fsync, int readonly, size_t cache_bytes, struct meta **out);
void meta_close(struct meta *m);
/* Non-zero once a commit has failed: the server then refuses writes until restart. */
int meta_failed(const struct meta *m);

/* Point read.  On 0, the value (*val, *len) lives in `a`. */
int meta_get(struct meta *m, const void *key, size_t klen, struct arena *a, char **val,
             size_t *len);

struct meta_txn *meta_txn_new(void);
void meta_txn_free(struct meta_txn *t);
void meta_txn_put(struct meta_txn *t, const void *k, size_t kl, const void *v, size_t vl);
void meta_txn_delete(struct meta_txn *t, const void *k, size_t kl);
/* Deletes every key in [from, to). */
void meta_txn_delete_range(struct meta_txn *t, const void *from, size_t fl, const void *to,
                           size_t tl);
/* Commits atomically and durably (M1).  0 or CO_EBACKEND. */
int meta_commit(struct meta *m, struct meta_txn *t);

/* Iterators over [lower, upper); keys and values are borrowed until the next move. */
struct meta_iter *meta_iter_new(struct meta *m, const void *lower, size_t ll, const void *upper,
                                size_t ul);
void meta_iter_free(struct meta_iter *it);
void meta_iter_seek(struct meta_iter *it, const void *k, size_t kl);
int meta_iter_valid(struct meta_iter *it);
void meta_iter_next(struct meta_iter *it);
const char *meta_iter_key(struct meta_iter *it, size_t *len);
const char *meta_iter_value(struct meta_iter *it, size_t *len);
/* CO_EBACKEND if the iteration stopped on an error rather than at the end. */
int meta_iter_status(struct meta_iter *it);

/* Locks (M2, M3). */
void meta_containers_rdlock(struct meta *m);
void meta_containers_wrlock(struct meta *m);
void meta_containers_unlock(struct meta *m);
/* A blob's stripe (the index of its lock); stripes are taken in increasing order. */
unsigned meta_blob_stripe(uint64_t cid, const char *name, size_t nlen);
void meta_stripe_lock(struct meta *m, unsigned stripe);
void meta_stripe_unlock(struct meta *m, unsigned stripe);

/* A new ETag value: unique and increasing (100 ns ticks, bumped past the last one issued). */
uint64_t meta_next_etag(struct meta *m);
/* Next container id, persisted by the caller's txn (meta_txn_put of the 'S' key is done here). */
uint64_t meta_next_container_id(struct meta *m, struct meta_txn *t);

void meta_key_container(struct buf *k, const char *account, const char *name);
void meta_key_blob(struct buf *k, uint64_t cid, const char *name, size_t nlen);
/* Key range of every blob of a container, or of every staged block of one blob. */
void meta_key_blob_range(struct buf *lo, struct buf *hi, uint64_t cid);
/* Snapshot ('S') and previous-version ('V') keys sort right after their blob's key. */
void meta_key_blob_sub(struct buf *k, uint64_t cid, const char *name, size_t nlen, char kind,
                       int64_t id);
/* Range of every snapshot and version of one blob (not the blob itself). */
void meta_key_blob_subs(struct buf *lo, struct buf *hi, uint64_t cid, const char *name,
                        size_t nlen);
void meta_key_block(struct buf *k, uint64_t cid, const char *name, size_t nlen, const char *id,
                    size_t idlen);
void meta_key_block_range(struct buf *lo, struct buf *hi, uint64_t cid, const char *name,
                          size_t nlen);
void meta_key_block_all(struct buf *lo, struct buf *hi, uint64_t cid);

/*
 * Blob index tags ('T'): one key per (tag, blob) of a container, so Find Blobs by Tags seeks to a
 * tag key (and value) instead of scanning blobs.  Tag keys and values never hold NUL (tag
 * characters are a subset of ASCII), so the key is unambiguous and values sort byte-wise, the
 * order where= compares them in.  value NULL: the prefix of every entry of that tag key
 * ('T' cid key 0x00); name NULL: the prefix of every entry of that key and value.
 */
void meta_key_tag(struct buf *k, uint64_t cid, const char *key, const char *value, const char *name,
                  size_t nlen);
/* Range of every 'T' key of a container (removed with it). */
void meta_key_tag_all(struct buf *lo, struct buf *hi, uint64_t cid);
/* Range of every 'H' (protection index) key of a container (removed with it). */
void meta_key_protect_all(struct buf *lo, struct buf *hi, uint64_t cid);

/* 'D' key of a soft-deleted container (deleted: when, also its restore "version"). */
void meta_key_deleted_container(struct buf *k, const char *account, const char *name,
                                int64_t deleted);
/* Adds to t the removal of everything container `cid` holds: blobs (with their snapshots and
 * versions), staged blocks, tag and protection index entries -- range deletions, O(1) whatever
 * its size.  Callers first make sure nothing in it is protected (meta_container_protected, M4).
 * 0, or -1 when out of memory. */
int meta_txn_drop_container(struct meta_txn *t, uint64_t cid);

/* The 'H' key of the blob record at `key` ('B' cid name [0x00 kind id]): the same bytes after
 * 'H'.  0, or -1 for a key that is not a blob record's or when out of memory. */
int meta_key_protect(struct buf *k, const char *key, size_t klen);
/* 1 when b is under a legal hold, or an immutability policy (Unlocked or Locked) whose until-date
 * is after `now`. */
int meta_blob_protected(const struct blob_rec *b, int64_t now);
/* Adds to t the protection index entry (M4) of the blob record b stored at `key` (a 'B' key) when
 * b carries a legal hold or a policy, expired or not.  0, or -1 when out of memory. */
int meta_txn_index_protection(struct meta_txn *t, const char *key, size_t klen,
                              const struct blob_rec *b);
/* Adds to t the removal of that entry (the record no longer carries any protection). */
int meta_txn_unindex_protection(struct meta_txn *t, const char *key, size_t klen);
/*
 * Looks for a record of container `cid` (a blob, snapshot or version, soft-deleted ones included)
 * that is protected at `now`: 1 for the first one found (*held: 1 when that is a legal hold, 0 a
 * policy), 0 when none, CO_EBACKEND.  Costs one seek plus one point read per 'H' entry of the
 * container -- the records ever put under protection there, not the size of the container.
 */
int meta_container_protected(struct meta *m, uint64_t cid, int64_t now, int *held);

/* Adds (add != 0) or removes the 'Z' purge entry of the record at key, due at purge_at (nothing
 * when 0).  0, or -1 when out of memory. */
int meta_txn_purge_mark(struct meta_txn *t, int64_t purge_at, const char *key, size_t klen,
                        int add);
/* 'Z' entry: the record at `key` (soft-deleted, or live and expiring) is to be purged at
 * `purge_at`. */
void meta_key_purge(struct buf *k, int64_t purge_at, const char *key, size_t klen);
/*
 * What the engine adds to t when the purge removes the live current record `old` of blob `name`
 * of container cid (a blob whose expiry passed): the index entries that follow the current
 * record (tags, a pending copy's marker, staged blocks).  0 or CO_EBACKEND.
 */
typedef int (*meta_purge_follow)(void *ctx, struct meta_txn *t, uint64_t cid, const char *name,
                                 size_t nlen, const struct blob_rec *old);
/*
 * Purges the records whose time has come -- soft-deleted ones at the end of their retention,
 * live current blob records at their expiry (Set Blob Expiry), deleted containers with all their
 * contents -- each under the lock its writers take, re-checking the record first; `follow` adds
 * what the removal of a live record takes with it.  A record that is protected (M4), or a deleted
 * container holding one, is not purged: its purge time moves to when the protection can next have
 * ended (a policy's until-date; a legal hold is looked at again an hour later).  Returns the
 * number purged, or -1 on a metadata error.
 */
long meta_purge_expired(struct meta *m, int64_t now, meta_purge_follow follow, void *ctx);

void meta_key_moved(struct buf *k, uint64_t seq);
void meta_key_retired(struct buf *k, uint32_t vol);
/* Where needle `seq` lives now if compaction moved it: 0 (and *e), CO_ENOTFOUND or CO_EBACKEND. */
int meta_needle_moved(struct meta *m, uint64_t seq, struct extent *e);

void meta_container_encode(const struct container_rec *c, struct buf *out);
int meta_container_decode(struct arena *a, const char *p, size_t n, struct container_rec *c);
void meta_blob_encode(const struct blob_rec *b, struct buf *out);
int meta_blob_decode(struct arena *a, const char *p, size_t n, struct blob_rec *b);
void meta_extent_encode(const struct extent *e, struct buf *out);
int meta_extent_decode(const char *p, size_t n, struct extent *e);

/* 'P' key: the service properties of an account, a list of (section name, section XML). */
void meta_key_service_props(struct buf *k, const char *account);
void meta_props_encode(size_t n, const struct meta_pair *props, struct buf *out);
/* At most 16 sections; strings in a.  0, or -1 for a malformed record or out of memory. */
int meta_props_decode(struct arena *a, const char *p, size_t len, size_t *n,
                      struct meta_pair **out);

/* Typed reads: 0, CO_ENOTFOUND or CO_EBACKEND.  The record is zeroed unless it was read. */
int meta_container_get(struct meta *m, struct arena *a, const char *account, const char *name,
                       struct container_rec *c);
int meta_blob_get(struct meta *m, struct arena *a, uint64_t cid, const char *name, size_t nlen,
                  struct blob_rec *b);
/* 1 when container `name` exists with id `cid` (call with the container lock held, M3). */
int meta_container_current(struct meta *m, struct arena *a, const char *account, const char *name,
                           uint64_t cid);

#endif
