/*
 * local_int.h -- what the local engine's files share (local.c: containers, service properties,
 * the table; local_blob.c: blob records, staged blocks, tags, copies).
 */
#ifndef COBALT_ENGINE_LOCAL_INT_H
#define COBALT_ENGINE_LOCAL_INT_H

#include "engine/engine.h"
#include "meta/meta.h"

#define SCRATCH_CAP (64u << 20) /* a scratch arena decodes one record */

/* The local engine's state: what it was given. */
struct local {
    struct meta *meta;
    struct store *store;
};

static inline struct meta *
M(struct engine *e)
{
    return ((struct local *)e->impl)->meta;
}

static inline struct store *
S(struct engine *e)
{
    return ((struct local *)e->impl)->store;
}

/* One RocksDB iterator of a listing. */
struct cursor {
    struct meta_iter *it;
    size_t base; /* key bytes before the name (or, for tags, before the position) */
    int deleted; /* container listings: the soft-deleted ('D') side */
};

/* Every listing of the local engine: containers merge two cursors, the others use one. */
struct local_iter {
    struct eng_iter base;
    struct cursor side[2];
    int sides;
    unsigned what;      /* blob listings: ENG_LIST_* */
    const char *prefix; /* names (or positions) begin with this; copied after the struct */
    size_t plen;
    char key[16]; /* blob listings: the key bytes before the name ('B' cid) */
};

void local_iter_free(struct eng_iter *base);

int local_blob_get(struct engine *e, struct arena *a, const struct eng_blob *b, char kind,
                   int64_t id, struct blob_rec *r);
int local_blob_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w,
                      size_t n, const struct block_ref *stage);
/* meta_purge_follow for the local engine (ctx: its struct meta): what the purge of an expired
 * blob's current record takes with it, as a commit removing it would. */
int local_purge_follow(void *ctx, struct meta_txn *t, uint64_t cid, const char *name, size_t nlen,
                       const struct blob_rec *old);
int local_blob_subs(struct engine *e, struct arena *a, const struct eng_blob *b,
                    struct eng_entry **out, size_t *n);
int local_blob_list(struct engine *e, uint64_t cid, const char *prefix, size_t plen,
                    const struct eng_pos *from, unsigned what, struct eng_iter **out);
int local_blob_next(struct eng_iter *it, struct arena *a, struct eng_entry *out);
int local_skip_past(struct eng_iter *it, const char *prefix, size_t len);
int local_blocks_list(struct engine *e, struct arena *a, const struct eng_blob *b, size_t max,
                      struct block_ref **out, size_t *n);
int local_tag_list(struct engine *e, uint64_t cid, const char *key, const char *from, size_t flen,
                   const char *to, size_t tlen, struct eng_iter **out);
int local_tag_next(struct eng_iter *it, struct arena *a, struct eng_tag_entry *out);
long local_copy_recover(struct engine *e, const char *description);
int local_page_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w,
                      size_t n, const struct eng_page_write *pw, size_t npw);
int local_page_list(struct engine *e, struct arena *a, const struct eng_blob *b, uint64_t layer,
                    uint64_t off, uint64_t end, size_t max, struct eng_page **out, size_t *n);

/* ---- page maps (local_pages.c) ---- */
/* Adds the page write pw to the commit's batch t (under the blob's stripe lock).  0 or
 * CO_EBACKEND. */
int local_pages_apply(struct meta *m, struct meta_txn *t, struct arena *a,
                      const struct eng_page_write *pw);
/* A page map key and value ('G' layer end) into its layer and entry: 0, or -1 if malformed. */
int local_page_decode(const char *k, size_t kl, const char *v, size_t vl, uint64_t *layer,
                      struct eng_page *p);
/* The layers the records of one pass name (compaction, fsck). */
struct local_layers {
    uint64_t *v;
    size_t n, cap;
    int sorted;
};
int local_layers_add(struct local_layers *s, const struct blob_rec *r); /* 0 or ENOMEM */
int local_layers_has(struct local_layers *s, uint64_t layer);
void local_layers_free(struct local_layers *s);
/* Deletes the page map entries of layers no record names, from one consistent snapshot (a layer
 * no record names is never named again).  *dropped: how many.  0 or an errno value. */
int local_pages_gc(struct meta *m, uint64_t *dropped);
/* The engine's merge_hint, and the purge round's merge of the blobs whose hints are due. */
int local_merge_hint(struct engine *e, const struct eng_blob *b, int64_t due);
void local_pages_merge_due(struct engine *e, int64_t now);

int local_failed(struct engine *e);
int local_write_begin(struct engine *e, uint64_t len, unsigned flags, struct eng_writer **w);
int local_write(struct engine *e, struct eng_writer *w, const void *p, size_t n);
int local_write_finish(struct engine *e, struct eng_writer *w, struct extent *loc);
void local_write_abort(struct engine *e, struct eng_writer *w);
int local_sync(struct engine *e, const struct extent *loc, size_t n);
void local_release(struct engine *e, const struct extent *loc);
int local_reader_new(struct engine *e, struct eng_reader **r);
void local_reader_free(struct engine *e, struct eng_reader *r);
long local_read(struct engine *e, struct eng_reader *r, struct extent *loc, uint64_t off, void *dst,
                size_t n);

#endif
