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
