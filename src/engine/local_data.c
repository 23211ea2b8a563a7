/*
 * local_data.c -- the local engine's data plane: payloads are needles in store/'s volumes and a
 * locator is the needle's extent (model/extent.h), byte for byte what blob records always held.
 * Compaction moves live needles to new volumes and records each move in meta/ ('N' keys, keyed
 * by the needle's sequence number); a read that finds its volume retired follows that record.
 */
#include "engine/local_int.h"

#include <errno.h>

#include "store/store.h"

int
local_failed(struct engine *e)
{
    return store_failed(S(e)) ? store_failed(S(e)) : meta_failed(M(e)) ? EIO : 0;
}

int
local_write_begin(struct engine *e, uint64_t len, unsigned flags, struct eng_writer **w)
{
    (void)flags; /* every payload is a needle: small ones share volumes already */
    return store_write_begin(S(e), len, (struct needle_writer **)w);
}

int
local_write(struct engine *e, struct eng_writer *w, const void *p, size_t n)
{
    (void)e;
    return store_write((struct needle_writer *)w, p, n);
}

int
local_write_finish(struct engine *e, struct eng_writer *w, struct extent *loc)
{
    (void)e;
    return store_write_finish((struct needle_writer *)w, loc);
}

void
local_write_abort(struct engine *e, struct eng_writer *w)
{
    (void)e;
    store_write_abort((struct needle_writer *)w);
}

int
local_sync(struct engine *e, const struct extent *loc, size_t n)
{
    return store_sync(S(e), loc, n);
}

void
local_release(struct engine *e, const struct extent *loc)
{
    store_release(S(e), loc);
}

int
local_reader_new(struct engine *e, struct eng_reader **r)
{
    return store_reader_new(S(e), (struct store_reader **)r);
}

void
local_reader_free(struct engine *e, struct eng_reader *r)
{
    (void)e;
    store_reader_free((struct store_reader *)r);
}

long
local_read(struct engine *e, struct eng_reader *r, struct extent *loc, uint64_t off, void *dst,
           size_t n)
{
    long got = store_reader_read((struct store_reader *)r, loc, off, dst, n);

    /* -ENOENT: compaction retired the volume; the needle lives where its 'N' record says. */
    if (got == -ENOENT && meta_needle_moved(M(e), loc->seq, loc) == 0)
        got = store_reader_read((struct store_reader *)r, loc, off, dst, n);
    return got == -ENOENT ? -EIO : got;
}
