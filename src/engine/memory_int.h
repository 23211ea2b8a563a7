/*
 * memory_int.h -- what the in-memory engine's files share (memory.c: containers, service
 * properties, the table; memory_blob.c: blob records, staged blocks, tags, copies).
 */
#ifndef COBALT_ENGINE_MEMORY_INT_H
#define COBALT_ENGINE_MEMORY_INT_H

#include <pthread.h>

#include "engine/engine.h"

#define SCRATCH_CAP (64u << 20)

struct mem_entry {
    char *account, *name; /* name: the container's, or NULL for service properties */
    int64_t deleted;      /* soft-deleted at; 0 live */
    char *rec;            /* encoded record (malloc'd) */
    size_t len;
};

struct mem_array {
    struct mem_entry *v;
    size_t n, cap;
};

/* One blob record: (container id, name, kind, id) -> its encoding. */
struct mem_blob {
    uint64_t cid;
    char *name;
    size_t nlen;
    char kind;
    int64_t id;
    char *rec;
    size_t len;
};

/* One staged block: (container id, blob name, block id) -> its content. */
struct mem_block {
    uint64_t cid;
    char *name, *bid;
    size_t nlen, blen;
    struct extent ext;
};

/* One payload of the data plane (memory_data.c). */
struct mem_payload {
    char *p;
    uint64_t len;
};

/* One page map entry (memory_pages.c): layer and entry, by (layer, end of the entry). */
struct mem_page {
    uint64_t layer;
    struct eng_page p;
};

/* A merge hint (memory_pages.c; engine.h, "Merging"): blob b's layers, from `due`. */
struct mem_hint {
    struct eng_blob b; /* strings malloc'd */
    int64_t due;
};

struct mem {
    pthread_mutex_t mu;           /* guards everything: each call is atomic */
    struct mem_payload *payloads; /* locator seq - 1 */
    size_t npayloads, cappayloads;
    struct mem_array containers, props;
    struct mem_blob *blobs; /* by (cid, name, kind, id) */
    size_t nblobs, capblobs;
    struct mem_block *blocks; /* by (cid, name, block id) */
    size_t nblocks, capblocks;
    struct mem_page *pages; /* by (layer, end) */
    size_t npages, cappages;
    struct mem_hint *hints;
    size_t nhints, caphints;
    uint64_t last_id, last_etag;
};

static inline struct mem *
MEM(struct engine *e)
{
    return e->impl;
}

/* With m->mu held. */
uint64_t mem_etag_locked(struct mem *m);
/* 1 when container `name` of `account` is live with id cid. */
int mem_container_live(struct mem *m, const char *account, const char *name, uint64_t cid);
/* WORM check of a container about to be deleted (engine.h): 0, CO_EHELD, CO_EPOLICY, CO_EBACKEND. */
int mem_worm_check(struct mem *m, const struct container_rec *c);
/* Removes every blob record and staged block of container cid. */
void mem_drop_container(struct mem *m, uint64_t cid);
/* 1 when container cid holds a record protected at `now`. */
int mem_container_protected(struct mem *m, uint64_t cid, int64_t now);
/* Purges the blob records due by `now` (soft-deleted ones at the end of retention, live ones at
 * their expiry) and not protected then: how many. */
long mem_purge_blobs(struct mem *m, int64_t now);
void mem_blobs_free(struct mem *m);
/* Applies a page write (memory_pages.c), with m->mu held: 0 or CO_EBACKEND. */
/* The engine's merge_hint. */
int mem_merge_hint(struct engine *e, const struct eng_blob *b, int64_t due);
/* Merges the blobs whose hints are due by `now` (m->mu not held). */
void mem_pages_merge_due(struct engine *e, int64_t now);
void mem_hints_free(struct mem *m);
int mem_pages_apply(struct mem *m, const struct eng_page_write *pw);
/* Drops the entries of layers no blob record names, with m->mu held. */
void mem_pages_gc(struct mem *m);

int mem_blob_get(struct engine *e, struct arena *a, const struct eng_blob *b, char kind, int64_t id,
                 struct blob_rec *r);
int mem_blob_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
                    const struct block_ref *stage);
int mem_page_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
                    const struct eng_page_write *pw, size_t npw);
int mem_page_list(struct engine *e, struct arena *a, const struct eng_blob *b, uint64_t layer,
                  uint64_t off, uint64_t end, size_t max, struct eng_page **out, size_t *n);
int mem_blob_subs(struct engine *e, struct arena *a, const struct eng_blob *b,
                  struct eng_entry **out, size_t *n);
int mem_blob_list(struct engine *e, uint64_t cid, const char *prefix, size_t plen,
                  const struct eng_pos *from, unsigned what, struct eng_iter **out);
int mem_blob_next(struct eng_iter *it, struct arena *a, struct eng_entry *out);
int mem_skip_past(struct eng_iter *it, const char *prefix, size_t len);
int mem_blocks_list(struct engine *e, struct arena *a, const struct eng_blob *b, size_t max,
                    struct block_ref **out, size_t *n);
int mem_tag_list(struct engine *e, uint64_t cid, const char *key, const char *from, size_t flen,
                 const char *to, size_t tlen, struct eng_iter **out);
int mem_tag_next(struct eng_iter *it, struct arena *a, struct eng_tag_entry *out);
long mem_copy_recover(struct engine *e, const char *description);

int mem_failed(struct engine *e);
int mem_write_begin(struct engine *e, uint64_t len, unsigned flags, struct eng_writer **w);
int mem_write(struct engine *e, struct eng_writer *w, const void *p, size_t n);
int mem_write_finish(struct engine *e, struct eng_writer *w, struct extent *loc);
void mem_write_abort(struct engine *e, struct eng_writer *w);
int mem_sync(struct engine *e, const struct extent *loc, size_t n);
void mem_release(struct engine *e, const struct extent *loc);
int mem_reader_new(struct engine *e, struct eng_reader **r);
void mem_reader_free(struct engine *e, struct eng_reader *r);
long mem_read(struct engine *e, struct eng_reader *r, struct extent *loc, uint64_t off, void *dst,
              size_t n);

/* Every iterator of this engine: containers use the name fields, blob listings the position,
 * tag walks the sorted entries taken when the walk began. */
struct mem_iter {
    struct eng_iter base;
    char *account, *prefix;
    char *last; /* containers: the name last returned (with last_deleted), NULL before the first;
                   blobs: the name of the position */
    size_t plen, lastlen;
    int64_t last_deleted;
    int with_deleted;
    /* blob listings: the next entry is the first at or after (last, kind, id) -- after it when
     * `after` -- whose kind `what` admits */
    uint64_t cid;
    char kind;
    int64_t id;
    int after;
    unsigned what;
    /* tag walks */
    struct eng_tag_entry *tags;
    char **tagbufs;
    size_t ntags, at;
};

void mem_iter_free(struct eng_iter *base);

#endif
