/*
 * engine.c -- the calls of engine.h, each through the engine's table (contracts in engine.h).
 */
#include "engine/engine.h"

#include <string.h>

void
eng_fini(struct engine *e)
{
    if (e->ops != NULL && e->ops->fini != NULL)
        e->ops->fini(e);
    memset(e, 0, sizeof(*e));
}

uint64_t
eng_next_etag(struct engine *e)
{
    return e->ops->next_etag(e);
}

int
eng_container_get(struct engine *e, struct arena *a, const char *account, const char *name,
                  struct container_rec *c)
{
    return e->ops->container_get(e, a, account, name, c);
}

int
eng_container_create(struct engine *e, const char *account, const char *name,
                     struct container_rec *c)
{
    return e->ops->container_create(e, account, name, c);
}

int
eng_container_update(struct engine *e, const char *account, const char *name,
                     const struct container_rec *expect, const struct container_rec *c)
{
    return e->ops->container_update(e, account, name, expect, c);
}

int
eng_container_delete(struct engine *e, const char *account, const char *name,
                     const struct container_rec *expect, const struct container_rec *gone)
{
    return e->ops->container_delete(e, account, name, expect, gone);
}

int
eng_container_restore(struct engine *e, struct arena *a, const char *account,
                      const char *deleted_name, int64_t deleted, const char *name,
                      struct container_rec *c)
{
    return e->ops->container_restore(e, a, account, deleted_name, deleted, name, c);
}

int
eng_container_rename(struct engine *e, const char *account, const char *from,
                     const struct container_rec *expect, const char *to)
{
    return e->ops->container_rename(e, account, from, expect, to);
}

int
eng_container_list(struct engine *e, const char *account, const char *prefix, const char *from,
                   int with_deleted, struct eng_iter **out)
{
    return e->ops->container_list(e, account, prefix ? prefix : "", from ? from : "", with_deleted,
                                  out);
}

int
eng_container_next(struct eng_iter *it, struct arena *a, struct eng_container *out)
{
    return it->e->ops->container_next(it, a, out);
}

void
eng_iter_free(struct eng_iter *it)
{
    if (it != NULL)
        it->e->ops->iter_free(it);
}

long
eng_purge_expired(struct engine *e, int64_t now)
{
    return e->ops->purge_expired(e, now);
}

int
eng_service_props_get(struct engine *e, struct arena *a, const char *account, size_t *n,
                      struct meta_pair **props)
{
    return e->ops->service_props_get(e, a, account, n, props);
}

int
eng_service_props_set(struct engine *e, const char *account, size_t nexpect,
                      const struct meta_pair *expect, size_t n, const struct meta_pair *props)
{
    return e->ops->service_props_set(e, account, nexpect, expect, n, props);
}

int
eng_blob_get(struct engine *e, struct arena *a, const struct eng_blob *b, char kind, int64_t id,
             struct blob_rec *r)
{
    return e->ops->blob_get(e, a, b, kind, id, r);
}

int
eng_blob_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
                const struct block_ref *stage)
{
    int rc = eng_pages_hint(e, b, w, n);

    return rc != 0 ? rc : e->ops->blob_commit(e, b, w, n, stage);
}

int
eng_blob_subs(struct engine *e, struct arena *a, const struct eng_blob *b, struct eng_entry **out,
              size_t *n)
{
    return e->ops->blob_subs(e, a, b, out, n);
}

int
eng_blob_list(struct engine *e, uint64_t cid, const char *prefix, size_t plen,
              const struct eng_pos *from, unsigned what, struct eng_iter **out)
{
    return e->ops->blob_list(e, cid, prefix ? prefix : "", prefix ? plen : 0, from, what, out);
}

int
eng_blob_next(struct eng_iter *it, struct arena *a, struct eng_entry *out)
{
    return it->e->ops->blob_next(it, a, out);
}

int
eng_iter_skip_past(struct eng_iter *it, const char *prefix, size_t len)
{
    return it->e->ops->skip_past(it, prefix, len);
}

int
eng_blocks_list(struct engine *e, struct arena *a, const struct eng_blob *b, size_t max,
                struct block_ref **out, size_t *n)
{
    return e->ops->blocks_list(e, a, b, max, out, n);
}

int
eng_tag_list(struct engine *e, uint64_t cid, const char *key, const char *from, size_t flen,
             const char *to, size_t tlen, struct eng_iter **out)
{
    return e->ops->tag_list(e, cid, key, from ? from : "", from ? flen : 0, to, tlen, out);
}

int
eng_tag_next(struct eng_iter *it, struct arena *a, struct eng_tag_entry *out)
{
    return it->e->ops->tag_next(it, a, out);
}

long
eng_copy_recover(struct engine *e, const char *description)
{
    return e->ops->copy_recover(e, description);
}

int
eng_failed(struct engine *e)
{
    return e->ops->failed(e);
}

int
eng_data_write_begin(struct engine *e, uint64_t len, unsigned flags, struct eng_writer **w)
{
    return e->ops->write_begin(e, len, flags, w);
}

int
eng_data_write(struct engine *e, struct eng_writer *w, const void *p, size_t n)
{
    return e->ops->write(e, w, p, n);
}

int
eng_data_write_finish(struct engine *e, struct eng_writer *w, struct extent *loc)
{
    *loc = (struct extent){0}; /* engines set their fields: inl stays NULL unless set */
    return e->ops->write_finish(e, w, loc);
}

void
eng_data_write_abort(struct engine *e, struct eng_writer *w)
{
    if (w != NULL)
        e->ops->write_abort(e, w);
}

int
eng_data_sync(struct engine *e, const struct extent *loc, size_t n)
{
    return e->ops->sync(e, loc, n);
}

void
eng_data_release(struct engine *e, const struct extent *loc)
{
    e->ops->release(e, loc);
}

int
eng_data_reader_new(struct engine *e, struct eng_reader **r)
{
    return e->ops->reader_new(e, r);
}

void
eng_data_reader_free(struct engine *e, struct eng_reader *r)
{
    if (r != NULL)
        e->ops->reader_free(e, r);
}

long
eng_data_read(struct engine *e, struct eng_reader *r, struct extent *loc, uint64_t off, void *dst,
              size_t n)
{
    return e->ops->read(e, r, loc, off, dst, n);
}

int
eng_page_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
                const struct eng_page_write *pw, size_t npw)
{
    int rc = eng_pages_hint(e, b, w, n);

    return rc != 0 ? rc : e->ops->page_commit(e, b, w, n, pw, npw);
}
