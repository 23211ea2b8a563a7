/*
 * memory.c -- the in-memory engine: the object model in sorted arrays on the heap, for tests of
 * the handlers that need no data directory and no server process.  Nothing survives eng_fini().
 *
 * Containers are one array sorted by (account, name, deleted time), a live container (deleted 0)
 * first; service properties one array by account; blob records and staged blocks are in
 * memory_blob.c.  Records are kept encoded with meta/'s record codec (records.c, no RocksDB in
 * it): that is their deep copy, and compare-and-set compares encodings exactly as the local
 * engine does.  One mutex guards everything: each call is atomic.
 */
#include "engine/memory_int.h"

#include <stdlib.h>
#include <string.h>

#include "meta/meta.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/timefmt.h"

static int
cmp_key(const struct mem_entry *x, const char *account, const char *name, int64_t deleted)
{
    int c = strcmp(x->account, account);

    if (c == 0 && name != NULL)
        c = strcmp(x->name, name);
    if (c == 0)
        c = (x->deleted > deleted) - (x->deleted < deleted);
    return c;
}

/* The index of the first entry >= the key; *found when it is equal. */
static size_t
lower_bound(const struct mem_array *a, const char *account, const char *name, int64_t deleted,
            int *found)
{
    size_t lo = 0, hi = a->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_key(&a->v[mid], account, name, deleted) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < a->n && cmp_key(&a->v[lo], account, name, deleted) == 0;
    return lo;
}

static void
entry_free(struct mem_entry *x)
{
    free(x->account);
    free(x->name);
    free(x->rec);
}

/* Stores the encoding v at the key, replacing what is there.  0 or CO_EBACKEND (out of memory). */
static int
put(struct mem_array *a, const char *account, const char *name, int64_t deleted,
    const struct buf *v)
{
    struct mem_entry x = {0};
    int found;
    size_t i = lower_bound(a, account, name, deleted, &found);

    if (!buf_ok(v) || (x.rec = malloc(v->len ? v->len : 1)) == NULL)
        return CO_EBACKEND;
    memcpy(x.rec, v->p, v->len);
    x.len = v->len;
    if (found) {
        free(a->v[i].rec);
        a->v[i].rec = x.rec;
        a->v[i].len = x.len;
        return 0;
    }
    x.deleted = deleted;
    if ((x.account = strdup(account)) == NULL || (name && (x.name = strdup(name)) == NULL))
        goto oom;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        struct mem_entry *nv = realloc(a->v, cap * sizeof(*nv));
        if (nv == NULL)
            goto oom;
        a->v = nv;
        a->cap = cap;
    }
    memmove(&a->v[i + 1], &a->v[i], (a->n - i) * sizeof(*a->v));
    a->v[i] = x;
    a->n++;
    return 0;
oom:
    entry_free(&x);
    return CO_EBACKEND;
}

static void
drop(struct mem_array *a, size_t i)
{
    entry_free(&a->v[i]);
    memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof(*a->v));
    a->n--;
}

/* The container record at the key into c (in a): 0, CO_ENOTFOUND, CO_EBACKEND. */
static int
get_container(struct mem *m, struct arena *a, const char *account, const char *name,
              int64_t deleted, struct container_rec *c, size_t *at)
{
    int found;
    size_t i = lower_bound(&m->containers, account, name, deleted, &found);

    memset(c, 0, sizeof(*c));
    if (!found)
        return CO_ENOTFOUND;
    if (at != NULL)
        *at = i;
    return meta_container_decode(a, m->containers.v[i].rec, m->containers.v[i].len, c) == 0
               ? 0
               : CO_EBACKEND;
}

int
mem_container_live(struct mem *m, const char *account, const char *name, uint64_t cid)
{
    struct arena *a = arena_new(SCRATCH_CAP);
    struct container_rec c;
    int live = a != NULL && get_container(m, a, account, name, 0, &c, NULL) == 0 && c.id == cid;

    arena_free(a);
    return live;
}

/* 0 when the live container `name` is `expect`, else CO_ECONFLICT (or CO_EBACKEND). */
static int
container_is(struct mem *m, const char *account, const char *name,
             const struct container_rec *expect)
{
    struct buf want = BUF_INIT;
    const struct mem_entry *x;
    int found, rc = CO_ECONFLICT;
    size_t i = lower_bound(&m->containers, account, name, 0, &found);

    if (!found)
        return CO_ECONFLICT;
    x = &m->containers.v[i];
    meta_container_encode(expect, &want);
    if (!buf_ok(&want))
        rc = CO_EBACKEND;
    else if (want.len == x->len && memcmp(want.p, x->rec, want.len) == 0)
        rc = 0;
    buf_free(&want);
    return rc;
}

uint64_t
mem_etag_locked(struct mem *m)
{
    uint64_t now = (uint64_t)ticks_now();

    return m->last_etag = now > m->last_etag ? now : m->last_etag + 1;
}

static uint64_t
mem_next_etag(struct engine *e)
{
    struct mem *m = MEM(e);
    uint64_t v;

    pthread_mutex_lock(&m->mu);
    v = mem_etag_locked(m);
    pthread_mutex_unlock(&m->mu);
    return v;
}

static int
mem_container_get(struct engine *e, struct arena *a, const char *account, const char *name,
                  struct container_rec *c)
{
    struct mem *m = MEM(e);
    int rc;

    pthread_mutex_lock(&m->mu);
    rc = get_container(m, a, account, name, 0, c, NULL);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int
mem_container_create(struct engine *e, const char *account, const char *name,
                     struct container_rec *c)
{
    struct mem *m = MEM(e);
    struct buf v = BUF_INIT;
    int found, rc = CO_EEXISTS;

    pthread_mutex_lock(&m->mu);
    lower_bound(&m->containers, account, name, 0, &found);
    if (!found) {
        c->id = m->last_id + 1;
        meta_container_encode(c, &v);
        if ((rc = put(&m->containers, account, name, 0, &v)) == 0)
            m->last_id++;
    }
    pthread_mutex_unlock(&m->mu);
    buf_free(&v);
    return rc;
}

static int
mem_container_update(struct engine *e, const char *account, const char *name,
                     const struct container_rec *expect, const struct container_rec *c)
{
    struct mem *m = MEM(e);
    struct buf v = BUF_INIT;
    int rc;

    pthread_mutex_lock(&m->mu);
    if ((rc = container_is(m, account, name, expect)) == 0) {
        meta_container_encode(c, &v);
        rc = put(&m->containers, account, name, 0, &v);
    }
    pthread_mutex_unlock(&m->mu);
    buf_free(&v);
    return rc;
}

static int
mem_container_delete(struct engine *e, const char *account, const char *name,
                     const struct container_rec *expect, const struct container_rec *gone)
{
    struct mem *m = MEM(e);
    struct buf v = BUF_INIT;
    int found, rc;
    size_t i;

    pthread_mutex_lock(&m->mu);
    if ((rc = container_is(m, account, name, expect)) != 0 || (rc = mem_worm_check(m, expect)) != 0)
        goto out;
    if (gone == NULL)
        mem_drop_container(m, expect->id);
    else {
        meta_container_encode(gone, &v);
        if ((rc = put(&m->containers, account, name, gone->deleted, &v)) != 0)
            goto out;
    }
    i = lower_bound(&m->containers, account, name, 0, &found);
    drop(&m->containers, i);
out:
    pthread_mutex_unlock(&m->mu);
    buf_free(&v);
    return rc;
}

static int
mem_container_restore(struct engine *e, struct arena *a, const char *account,
                      const char *deleted_name, int64_t deleted, const char *name,
                      struct container_rec *c)
{
    struct mem *m = MEM(e);
    struct buf v = BUF_INIT;
    size_t at = 0;
    int found, rc = CO_EEXISTS;

    pthread_mutex_lock(&m->mu);
    lower_bound(&m->containers, account, name, 0, &found);
    if (found)
        goto out;
    if (deleted <= 0) { /* 0 would name a live container */
        rc = CO_ENOTFOUND;
        goto out;
    }
    if ((rc = get_container(m, a, account, deleted_name, deleted, c, &at)) != 0)
        goto out;
    if (c->purge_at <= ticks_now()) { /* past retention: gone, awaiting its purge */
        rc = CO_ENOTFOUND;
        goto out;
    }
    c->deleted = c->purge_at = 0;
    meta_container_encode(c, &v);
    drop(&m->containers, at);
    rc = put(&m->containers, account, name, 0, &v);
out:
    pthread_mutex_unlock(&m->mu);
    buf_free(&v);
    return rc;
}

static int
mem_container_rename(struct engine *e, const char *account, const char *from,
                     const struct container_rec *expect, const char *to)
{
    struct mem *m = MEM(e);
    struct buf v = BUF_INIT;
    size_t i;
    int found, rc;

    pthread_mutex_lock(&m->mu);
    lower_bound(&m->containers, account, to, 0, &found);
    if (found) {
        rc = CO_EEXISTS;
        goto out;
    }
    if ((rc = container_is(m, account, from, expect)) != 0)
        goto out;
    meta_container_encode(expect, &v);
    if ((rc = put(&m->containers, account, to, 0, &v)) != 0)
        goto out;
    i = lower_bound(&m->containers, account, from, 0, &found);
    drop(&m->containers, i);
out:
    pthread_mutex_unlock(&m->mu);
    buf_free(&v);
    return rc;
}

void
mem_iter_free(struct eng_iter *base)
{
    struct mem_iter *it = (struct mem_iter *)base;

    if (it == NULL)
        return;
    free(it->account);
    free(it->prefix);
    free(it->last);
    for (size_t i = 0; i < it->ntags; i++)
        free(it->tagbufs[i]);
    free(it->tagbufs);
    free(it->tags);
    free(it);
}

static int
mem_container_list(struct engine *e, const char *account, const char *prefix, const char *from,
                   int with_deleted, struct eng_iter **out)
{
    struct mem_iter *it = calloc(1, sizeof(*it));

    *out = NULL;
    if (it == NULL)
        return CO_EBACKEND;
    it->base.e = e;
    it->with_deleted = with_deleted;
    /* Start at the later of the prefix and `from`: just before it, as if it had been returned. */
    if (strcmp(from, prefix) < 0)
        from = prefix;
    it->last_deleted = -1;
    if ((it->account = strdup(account)) == NULL || (it->prefix = strdup(prefix)) == NULL ||
        (it->last = strdup(from)) == NULL) {
        mem_iter_free(&it->base);
        return CO_EBACKEND;
    }
    *out = &it->base;
    return 0;
}

/* The entry after (last, last_deleted) is found anew on every call, so the map may change
 * between calls (as a RocksDB iterator sees a snapshot, this sees the map as it is). */
static int
mem_container_next(struct eng_iter *base, struct arena *a, struct eng_container *out)
{
    struct mem_iter *it = (struct mem_iter *)base;
    struct mem *m = MEM(it->base.e);
    size_t plen = strlen(it->prefix), i;
    int found, rc = 0;
    char *last;

    pthread_mutex_lock(&m->mu);
    i = lower_bound(&m->containers, it->account, it->last, it->last_deleted + 1, &found);
    for (; i < m->containers.n; i++) {
        const struct mem_entry *x = &m->containers.v[i];
        if (strcmp(x->account, it->account) != 0 || strncmp(x->name, it->prefix, plen) != 0)
            break;
        if (x->deleted != 0 && !it->with_deleted)
            continue;
        if ((last = strdup(x->name)) == NULL || (out->name = arena_strdup(a, x->name)) == NULL ||
            meta_container_decode(a, x->rec, x->len, &out->rec) != 0) {
            free(last);
            rc = CO_EBACKEND;
            break;
        }
        free(it->last);
        it->last = last;
        it->last_deleted = x->deleted;
        rc = 1;
        break;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static long
mem_purge_expired(struct engine *e, int64_t now)
{
    struct mem *m = MEM(e);
    struct arena *a = arena_new(SCRATCH_CAP);
    long n = 0;

    if (a == NULL)
        return -1;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->containers.n && n >= 0;) {
        struct container_rec c;
        struct mem_entry *x = &m->containers.v[i];
        if (x->deleted == 0) {
            i++;
            continue;
        }
        if (meta_container_decode(a, x->rec, x->len, &c) != 0) {
            n = -1;
        } else if (c.purge_at <= now && !mem_container_protected(m, c.id, now)) {
            mem_drop_container(m, c.id);
            drop(&m->containers, i);
            n++;
        } else {
            i++;
        }
    }
    if (n >= 0)
        n += mem_purge_blobs(m, now);
    mem_pages_gc(m);
    pthread_mutex_unlock(&m->mu);
    arena_free(a);
    mem_pages_merge_due(e, now);
    return n;
}

static int
props_get(struct mem *m, struct arena *a, const char *account, size_t *n, struct meta_pair **props)
{
    int found;
    size_t i = lower_bound(&m->props, account, NULL, 0, &found);

    *n = 0;
    *props = NULL;
    if (!found)
        return 0;
    return meta_props_decode(a, m->props.v[i].rec, m->props.v[i].len, n, props) == 0 ? 0
                                                                                     : CO_EBACKEND;
}

static int
mem_service_props_get(struct engine *e, struct arena *a, const char *account, size_t *n,
                      struct meta_pair **props)
{
    struct mem *m = MEM(e);
    int rc;

    pthread_mutex_lock(&m->mu);
    rc = props_get(m, a, account, n, props);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int
mem_service_props_set(struct engine *e, const char *account, size_t nexpect,
                      const struct meta_pair *expect, size_t n, const struct meta_pair *props)
{
    struct mem *m = MEM(e);
    struct arena *a = arena_new(SCRATCH_CAP);
    struct buf want = BUF_INIT, have = BUF_INIT, v = BUF_INIT;
    struct meta_pair *cur;
    size_t ncur;
    int rc = CO_EBACKEND;

    if (a == NULL)
        return CO_EBACKEND;
    pthread_mutex_lock(&m->mu);
    if ((rc = props_get(m, a, account, &ncur, &cur)) != 0)
        goto out;
    meta_props_encode(ncur, cur, &have);
    meta_props_encode(nexpect, expect, &want);
    rc = CO_EBACKEND;
    if (!buf_ok(&have) || !buf_ok(&want))
        goto out;
    rc = CO_ECONFLICT;
    if (have.len != want.len || memcmp(have.p, want.p, have.len) != 0)
        goto out;
    meta_props_encode(n, props, &v);
    rc = put(&m->props, account, NULL, 0, &v);
out:
    pthread_mutex_unlock(&m->mu);
    arena_free(a);
    buf_free(&want);
    buf_free(&have);
    buf_free(&v);
    return rc;
}

static void
mem_fini(struct engine *e)
{
    struct mem *m = MEM(e);

    for (size_t i = 0; i < m->containers.n; i++)
        entry_free(&m->containers.v[i]);
    for (size_t i = 0; i < m->props.n; i++)
        entry_free(&m->props.v[i]);
    free(m->containers.v);
    free(m->props.v);
    mem_blobs_free(m);
    free(m->pages);
    mem_hints_free(m);
    for (size_t i = 0; i < m->npayloads; i++)
        free(m->payloads[i].p);
    free(m->payloads);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static const struct engine_ops memory_ops = {
    .name = "memory",
    .fini = mem_fini,
    .next_etag = mem_next_etag,
    .container_get = mem_container_get,
    .container_create = mem_container_create,
    .container_update = mem_container_update,
    .container_delete = mem_container_delete,
    .container_restore = mem_container_restore,
    .container_rename = mem_container_rename,
    .container_list = mem_container_list,
    .container_next = mem_container_next,
    .iter_free = mem_iter_free,
    .purge_expired = mem_purge_expired,
    .service_props_get = mem_service_props_get,
    .service_props_set = mem_service_props_set,
    .blob_get = mem_blob_get,
    .blob_commit = mem_blob_commit,
    .blob_subs = mem_blob_subs,
    .blob_list = mem_blob_list,
    .blob_next = mem_blob_next,
    .skip_past = mem_skip_past,
    .blocks_list = mem_blocks_list,
    .tag_list = mem_tag_list,
    .tag_next = mem_tag_next,
    .copy_recover = mem_copy_recover,
    .page_commit = mem_page_commit,
    .page_list = mem_page_list,
    .merge_hint = mem_merge_hint,
    .failed = mem_failed,
    .write_begin = mem_write_begin,
    .write = mem_write,
    .write_finish = mem_write_finish,
    .write_abort = mem_write_abort,
    .sync = mem_sync,
    .release = mem_release,
    .reader_new = mem_reader_new,
    .reader_free = mem_reader_free,
    .read = mem_read,
};

int
eng_memory_init(struct engine *e)
{
    struct mem *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return CO_EBACKEND;
    pthread_mutex_init(&m->mu, NULL);
    m->last_etag = (uint64_t)ticks_now();
    e->ops = &memory_ops;
    e->impl = m;
    return 0;
}
