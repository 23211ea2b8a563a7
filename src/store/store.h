/*
 * store.h -- the data plane: object bytes as needles in append-only volume files.
 *
 * A blob's bytes are a list of extents; each extent is one whole needle (needle.h) named by its
 * volume and offset.  Writers stream a payload into a reserved region of the active volume; once
 * every needle a request wrote is finished, store_sync() makes them durable (group fdatasync shared
 * by concurrent writers) and only then may metadata that references them be committed.
 *
 * Invariants (the crash and fault tests cite them by number):
 *  V1  volumes are append-only: bytes of a finished needle are never rewritten in place.
 *  V2  a needle is fdatasync'd (store_sync) before any metadata points at it.
 *  V3  bytes that no committed metadata references are garbage: a crash mid-write leaves only
 *      garbage, which compaction reclaims.
 *  V4  after a failed write or sync the store refuses every further write until restart
 *      (store_failed()); a failed fsync is never retried and then acknowledged.  A full disk
 *      (ENOSPC from pwrite, before any sync) only refuses that write: nothing was acknowledged,
 *      and writes are taken again once space is freed.
 *  V5  a new volume file is fsync'd together with its directory before a needle is written to it.
 *  V6  a volume is compacted only when it is not the active one and no needle written to it is
 *      still pending (written but its request not ended): every needle it holds is then either
 *      referenced by committed metadata or garbage for good.
 *  V7  a retired volume's file is unlinked only after the relocations of its live needles are
 *      durable in the metadata (admin/compact.c); readers that still pin it finish first.
 *
 * Thread safety: every function may be called from any thread; a needle_writer or store_reader is
 * used by one thread at a time.
 */
#ifndef COBALT_STORE_H
#define COBALT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "model/extent.h"
#include "store/io.h"

struct store_config {
    const char *dir;         /* directory for volume files (created if missing) */
    const struct io_ops *io; /* NULL = io_posix */
    int fsync;               /* 0: --fsync=never (development only) */
    uint64_t volume_size;    /* start a new volume past this many bytes; 0 = 1 GiB */
};

struct store;
struct needle_writer;
struct store_reader;

/* Opens or creates the store.  0, or an errno value. */
int store_open(const struct store_config *cfg, struct store **out);
void store_close(struct store *s);

/* Non-zero (the errno that caused it) once a write or sync has failed (V4). */
int store_failed(const struct store *s);

/*
 * Reserves room for a needle of exactly `len` (> 0) data bytes and returns a writer for it.
 * 0, or an errno value (the store's failure code when it has failed).
 */
int store_write_begin(struct store *s, uint64_t len, struct needle_writer **w);
/* Appends the next bytes of the payload.  Writing more than `len` bytes in total fails (EINVAL). */
int store_write(struct needle_writer *w, const void *p, size_t n);
/* Writes trailer and header once exactly `len` bytes were written; frees w; *e describes the
 * needle.  The needle is not durable until store_sync().  0 or errno. */
int store_write_finish(struct needle_writer *w, struct extent *e);
/* Frees a writer that will not be finished; its region becomes garbage (V3).  NULL is a no-op. */
void store_write_abort(struct needle_writer *w);
/*
 * Ends the "pending" state of a needle returned by store_write_finish() or store_copy(): call it
 * once the metadata that references the needle is committed (or will never be).  Until then the
 * needle's volume is not compacted (V6).
 */
void store_release(struct store *s, const struct extent *e);

/*
 * Makes every needle finished so far in the volumes of e[0..n) durable (V2), sharing fdatasyncs
 * with concurrent callers.  A no-op with fsync disabled.  0, or errno (and the store fails, V4).
 */
int store_sync(struct store *s, const struct extent *e, size_t n);

/* A reader verifies each 64 KiB chunk against its CRC32C before handing out any byte of it. */
int store_reader_new(struct store *s, struct store_reader **r);
void store_reader_free(struct store_reader *r);
/*
 * Copies up to n bytes of needle e starting at data offset off into dst, each 64 KiB chunk
 * verified against its CRC32C.  Returns the number of bytes copied (> 0 unless n == 0 or
 * off == e->len), or -errno: -EIO for an I/O error, -EBADMSG when a checksum does not match,
 * -ENOENT when the volume was retired by compaction (the needle has moved: see
 * meta_needle_moved()).  After an error dst holds unverified bytes: never use or send them.
 */
long store_reader_read(struct store_reader *r, const struct extent *e, uint64_t off, void *dst,
                       size_t n);

/*
 * Checks needle e end to end: header (magic, version, its CRC, sequence number and length as the
 * extent says), trailer CRC, and every chunk's CRC32C.  Returns 0, -EBADMSG with a description in
 * why[] when the needle is damaged or not where the extent says, or -errno on an I/O error.
 */
int store_verify(struct store *s, const struct extent *e, char *why, size_t whylen);
/* Size in bytes of volume `vol`, or -1 if there is no such volume. */
int64_t store_volume_size(struct store *s, uint32_t vol);

/*
 * Copies needle src (same sequence number) to the active volume, verifying every chunk on the
 * way; *dst is its new place, pending until store_release().  Not durable until store_sync().
 * 0, -EBADMSG if src is damaged (nothing copied), -ENOENT if its volume is gone, or -errno.
 */
int store_copy(struct store *s, const struct extent *src, struct extent *dst);

struct store_volume_info {
    uint32_t id;
    uint64_t size;
    int active;
    unsigned pending;
};
/* A snapshot of the volumes (not retired), in id order; free(*out). */
int store_volumes(struct store *s, struct store_volume_info **out, size_t *n);
/* Retires a volume: it disappears for new readers, its file is unlinked (and the directory
 * synced), and it is closed when the last reader lets go.  EBUSY for the active volume. */
int store_retire(struct store *s, uint32_t vol);

#endif
