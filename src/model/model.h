/*
 * model.h -- the object model's plain types: containers, blob records (with their leases, tiers,
 * copies and immutability), stored access policies, name/value pairs.  No functions, nothing about
 * how or where they are stored: api/ and admin/ build and read these, engines (engine/) persist
 * them -- the local one through meta/'s record encoding (meta/records.c), which is the on-disk
 * format and does not change when these types move.
 *
 * Strings and arrays in a record are borrowed: they live in the arena the record was decoded into
 * (or wherever the caller that built it keeps them), never owned by the record.
 */
#ifndef COBALT_MODEL_H
#define COBALT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "model/extent.h"

struct meta_pair {
    const char *name, *value; /* NUL-terminated */
};

enum public_access { PUBLIC_NONE = 0, PUBLIC_BLOB = 1, PUBLIC_CONTAINER = 2 };

/*
 * A lease as stored.  Time moves it on without a write: a fixed-duration lease past `until` is
 * expired, a breaking lease past `until` is broken (lease_effective() in api/lease.c).
 */
enum lease_state { LEASE_AVAILABLE = 0, LEASE_LEASED, LEASE_BREAKING, LEASE_BROKEN, LEASE_EXPIRED };
struct lease_rec {
    uint8_t state;
    int32_t duration; /* seconds, or -1 for an infinite lease */
    int64_t until;    /* leased (fixed): expiry; breaking: end of the break period */
    char id[40];      /* the lease id (a GUID), "" when none */
};

/* A stored access policy of a container ACL (at most 5). */
struct signed_id {
    const char *id, *start, *expiry, *permission; /* as sent ("" when absent) */
};

struct container_rec {
    uint64_t id;
    int64_t created, modified;
    uint64_t etag;
    uint8_t public_access;
    size_t nmeta;
    struct meta_pair *meta;
    /* Version 2 fields (absent from version 1 records: zero). */
    struct lease_rec lease;
    int64_t deleted;  /* soft-deleted at (a record under a 'D' key), 0 when live */
    int64_t purge_at; /* soft-deleted: removed for good at this time */
    size_t nacl;
    struct signed_id *acl;
    int64_t immutable_days; /* container immutability policy: retention in days, 0 none */
    uint8_t immutable_locked;
    uint8_t legal_hold;
};

enum blob_type { BLOB_BLOCK = 1, BLOB_PAGE = 2, BLOB_APPEND = 3 };
#define BLOB_F_MD5         0x01 /* md5 holds the stored Content-MD5 */
#define BLOB_F_UNCOMMITTED 0x02 /* only staged blocks exist: invisible to reads (404) */
#define BLOB_F_STAGED      0x04 /* staged blocks exist besides the committed content */
#define BLOB_F_SEALED      0x08 /* append blob: sealed, no further appends */
#define BLOB_F_INCREMENTAL 0x10 /* page blob: the destination of incremental copies (copy.c) */

enum access_tier { TIER_HOT = 0, TIER_COOL, TIER_COLD, TIER_ARCHIVE };
struct tier_rec {
    uint8_t tier;
    uint8_t explicit_;     /* set by the client (else "inferred": Hot) */
    uint8_t rehydrate_to;  /* archive rehydration in progress to this tier + 1, 0 when none */
    uint8_t priority;      /* 0 Standard, 1 High */
    int64_t changed;       /* x-ms-access-tier-change-time */
    int64_t rehydrated_at; /* when the pending rehydration completes */
};

enum copy_status { COPY_NONE = 0, COPY_PENDING, COPY_SUCCESS, COPY_FAILED, COPY_ABORTED };
struct copy_rec {
    uint8_t status;
    char id[40];
    const char *source; /* "" when none */
    uint64_t copied, total;
    int64_t completed;
    const char *description; /* "" when none */
    int64_t dest_snapshot;   /* incremental copy: the snapshot the last one made, 0 none */
};

enum immutability_mode { IMMUT_NONE = 0, IMMUT_UNLOCKED, IMMUT_LOCKED };

struct block_ref {
    const char *id; /* base64 block id as sent; "" for Put Blob content */
    size_t id_len;
    struct extent ext; /* ext.len == 0 only for an empty block (never stored) */
};

struct blob_rec {
    uint8_t type, flags;
    uint64_t size, etag;
    int64_t created, modified;
    const char *content_type, *content_encoding, *content_language, *content_disposition,
        *cache_control; /* "" when unset */
    unsigned char md5[16];
    size_t nmeta;
    struct meta_pair *meta;
    size_t nblocks;
    struct block_ref *blocks; /* the content, in order */
    /* Version 2 fields (absent from version 1 records: zero). */
    int64_t version_id; /* this record's version (versioning on), 0 otherwise */
    int64_t deleted;    /* soft-deleted at, 0 when live */
    int64_t purge_at;   /* removed for good at this time (0: never): soft-deleted, the end of
                           retention; a live current record, its expiry (Set Blob Expiry) */
    struct lease_rec lease;
    size_t ntags;
    struct meta_pair *tags;
    struct tier_rec tier;
    struct copy_rec copy;
    int64_t immutable_until; /* version-level immutability policy */
    uint8_t immutable_mode;
    uint8_t legal_hold;
    uint64_t appends; /* append blob: Append Blocks committed (x-ms-blob-committed-
                                    block-count); small ones share needles, so nblocks may be less */
    /* Page blob: its content is in the engine's page map (engine.h, "page maps"), never in
     * blocks.  layers[0] is the layer its page writes go to, the others older layers frozen by
     * snapshots and versions, newest first: a page's bytes are those of the first layer that
     * holds it, zeros when none does. */
    uint64_t seqno; /* x-ms-blob-sequence-number */
    size_t nlayers;
    uint64_t *layers;
};

#endif
