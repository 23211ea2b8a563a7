/*
 * extent.h -- where a payload lives in the local engine's volumes: one whole needle.  A plain
 * value, here rather than in store/ because blob records (model.h) carry it; the backend seam
 * turns it into an opaque locator (docs/architecture.md) whose local form is these same bytes.
 */
#ifndef COBALT_MODEL_EXTENT_H
#define COBALT_MODEL_EXTENT_H

#include <stdint.h>

struct extent {
    uint64_t seq; /* the needle's sequence number: its identity, wherever it moves */
    uint32_t vol; /* volume id */
    uint64_t off; /* offset of the needle header in the volume */
    uint64_t len; /* data bytes */
    /* An engine that keeps small payloads inside the record that names them (RADOS: docs/rados.md,
     * "Inline payloads") points here at the len bytes themselves; a blob record then carries them
     * (meta/records.c, version 3).  NULL for every other payload.  Borrowed: from the record's
     * arena, or from the engine until eng_data_release(). */
    const char *inl;
};

#endif
