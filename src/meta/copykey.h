/*
 * copykey.h -- the key of a pending-copy marker (api/copy.c).
 *
 *   'Y' container-id(u64 BE) blob-name   -> the copy id (a GUID) of the pending copy
 *
 * A marker is written in the same batch as a destination record whose copy status becomes
 * pending, and deleted in the batch that ends that copy (success, failure, abort).  Start-up finds
 * copies a crash interrupted by walking these few keys instead of every blob record.  The range
 * lies outside 'B'..'V', so compaction's marking pass and fsck never see it.
 */
#ifndef COBALT_META_COPYKEY_H
#define COBALT_META_COPYKEY_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define META_COPY_MARK 'Y'

static inline void
meta_key_copy_pending(struct buf *k, uint64_t cid, const char *name, size_t nlen)
{
    buf_u8(k, META_COPY_MARK);
    buf_u64(k, cid);
    buf_add(k, name, nlen);
}

#endif
