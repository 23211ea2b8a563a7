/*
 * local.c -- the local engine: the object model in RocksDB through meta/ (keys and record
 * encoding in meta.h and records.c, unchanged on disk): containers, service properties and the
 * table here, blob records in local_blob.c.  With the memory engine it is the only code outside
 * meta/ that knows the keys.
 *
 * Compare-and-set: a container write takes meta/'s container lock for writing, reads the current
 * record, compares it with the one the caller read (both re-encoded, so a record stored in an
 * older format compares equal to its decoded self), and commits under the lock.  Blob commits
 * hold that lock for reading (local_blob.c), so a container this engine deletes is never written
 * into afterwards, and the WORM check of Delete Container sees every blob committed before it
 * (meta.h M3).  The service properties are compared and set under the same lock.
 */
#include "engine/local_int.h"

#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/timefmt.h"

static uint64_t
local_next_etag(struct engine *e)
{
    return meta_next_etag(M(e));
}

static int
local_container_get(struct engine *e, struct arena *a, const char *account, const char *name,
                    struct container_rec *c)
{
    return meta_container_get(M(e), a, account, name, c);
}

/* Puts the encoded record v at key k in a new transaction and commits it (k and v freed). */
static int
put_commit(struct meta *m, struct buf *k, struct buf *v)
{
    struct meta_txn *t = NULL;
    int rc = CO_EBACKEND;

    if (buf_ok(k) && buf_ok(v) && (t = meta_txn_new()) != NULL) {
        meta_txn_put(t, k->p, k->len, v->p, v->len);
        rc = meta_commit(m, t);
    }
    meta_txn_free(t);
    buf_free(k);
    buf_free(v);
    return rc;
}

/*
 * With the container lock held: 0 when the live record of container `name` is `expect`,
 * CO_ECONFLICT when it is another one or none, CO_EBACKEND.  *k is its key.
 */
static int
container_is(struct meta *m, const char *account, const char *name,
             const struct container_rec *expect, struct buf *k)
{
    struct arena *a = arena_new(SCRATCH_CAP);
    struct buf want = BUF_INIT, have = BUF_INIT;
    struct container_rec cur;
    char *v;
    size_t vl;
    int rc = CO_EBACKEND;

    meta_key_container(k, account, name);
    if (a == NULL || !buf_ok(k))
        goto out;
    rc = meta_get(m, k->p, k->len, a, &v, &vl);
    if (rc == 0 && meta_container_decode(a, v, vl, &cur) != 0)
        rc = CO_EBACKEND;
    if (rc != 0) {
        rc = rc == CO_ENOTFOUND ? CO_ECONFLICT : rc;
        goto out;
    }
    meta_container_encode(&cur, &have);
    meta_container_encode(expect, &want);
    if (!buf_ok(&have) || !buf_ok(&want))
        rc = CO_EBACKEND;
    else if (have.len != want.len || memcmp(have.p, want.p, have.len) != 0)
        rc = CO_ECONFLICT;
out:
    arena_free(a);
    buf_free(&want);
    buf_free(&have);
    return rc;
}

static int
local_container_create(struct engine *e, const char *account, const char *name,
                       struct container_rec *c)
{
    struct meta *m = M(e);
    struct arena *a = arena_new(SCRATCH_CAP);
    struct buf k = BUF_INIT, v = BUF_INIT;
    struct container_rec old;
    struct meta_txn *t = NULL;
    int rc;

    meta_containers_wrlock(m);
    rc = a != NULL ? meta_container_get(m, a, account, name, &old) : CO_EBACKEND;
    if (rc != CO_ENOTFOUND) {
        rc = rc == 0 ? CO_EEXISTS : rc;
        goto out;
    }
    rc = CO_EBACKEND;
    if ((t = meta_txn_new()) == NULL)
        goto out;
    c->id = meta_next_container_id(m, t);
    meta_key_container(&k, account, name);
    meta_container_encode(c, &v);
    if (buf_ok(&k) && buf_ok(&v)) {
        meta_txn_put(t, k.p, k.len, v.p, v.len);
        rc = meta_commit(m, t);
    }
out:
    meta_containers_unlock(m);
    meta_txn_free(t);
    arena_free(a);
    buf_free(&k);
    buf_free(&v);
    return rc;
}

static int
local_container_update(struct engine *e, const char *account, const char *name,
                       const struct container_rec *expect, const struct container_rec *c)
{
    struct meta *m = M(e);
    struct buf k = BUF_INIT, v = BUF_INIT;
    int rc;

    meta_containers_wrlock(m);
    if ((rc = container_is(m, account, name, expect, &k)) == 0) {
        meta_container_encode(c, &v);
        rc = put_commit(m, &k, &v);
    }
    meta_containers_unlock(m);
    buf_free(&k);
    buf_free(&v);
    return rc;
}

/* 1 when the container holds at least one blob record (current, snapshot or version). */
static int
has_blobs(struct meta *m, uint64_t cid)
{
    struct buf lo = BUF_INIT, hi = BUF_INIT;
    struct meta_iter *it;
    int any = 0;

    meta_key_blob_range(&lo, &hi, cid);
    if (buf_ok(&lo) && buf_ok(&hi) && (it = meta_iter_new(m, lo.p, lo.len, hi.p, hi.len)) != NULL) {
        any = meta_iter_valid(it);
        meta_iter_free(it);
    }
    buf_free(&lo);
    buf_free(&hi);
    return any;
}

/*
 * WORM: a container under a legal hold or a retention policy keeps its blobs, and any container
 * keeps a blob, snapshot or version (soft-deleted ones included) that is under a legal hold or an
 * unexpired immutability policy of its own (meta.h M4) -- with soft delete on too, since the purge
 * would otherwise remove it for good.  0, CO_EHELD, CO_EPOLICY or CO_EBACKEND.
 */
static int
worm_check(struct meta *m, const struct container_rec *c)
{
    int held = 0, rc;

    if ((c->legal_hold || c->immutable_days > 0) && has_blobs(m, c->id))
        return c->legal_hold ? CO_EHELD : CO_EPOLICY;
    if ((rc = meta_container_protected(m, c->id, ticks_now(), &held)) < 0)
        return CO_EBACKEND;
    if (rc == 1)
        return held ? CO_EHELD : CO_EPOLICY;
    return 0;
}

static int
local_container_delete(struct engine *e, const char *account, const char *name,
                       const struct container_rec *expect, const struct container_rec *gone)
{
    struct meta *m = M(e);
    struct buf k = BUF_INIT, dk = BUF_INIT, v = BUF_INIT;
    struct meta_txn *t = NULL;
    int rc;

    meta_containers_wrlock(m);
    if ((rc = container_is(m, account, name, expect, &k)) != 0 || (rc = worm_check(m, expect)) != 0)
        goto out;
    rc = CO_EBACKEND;
    if ((t = meta_txn_new()) == NULL)
        goto out;
    meta_txn_delete(t, k.p, k.len);
    if (gone != NULL) {
        /* Soft delete: the record moves aside with its id, so its blobs stay where they are
         * and Restore Container brings everything back. */
        meta_key_deleted_container(&dk, account, name, gone->deleted);
        meta_container_encode(gone, &v);
        if (!buf_ok(&dk) || !buf_ok(&v))
            goto out;
        meta_txn_put(t, dk.p, dk.len, v.p, v.len);
        if (meta_txn_purge_mark(t, gone->purge_at, dk.p, dk.len, 1) != 0)
            goto out;
    } else if (meta_txn_drop_container(t, expect->id) != 0) { /* the blobs go in the same batch */
        goto out;
    }
    rc = meta_commit(m, t);
out:
    meta_containers_unlock(m);
    meta_txn_free(t);
    buf_free(&k);
    buf_free(&dk);
    buf_free(&v);
    return rc;
}

static int
local_container_restore(struct engine *e, struct arena *a, const char *account,
                        const char *deleted_name, int64_t deleted, const char *name,
                        struct container_rec *c)
{
    struct meta *m = M(e);
    struct buf dk = BUF_INIT, k = BUF_INIT, v = BUF_INIT;
    struct meta_txn *t = NULL;
    char *val;
    size_t vl;
    int rc;

    meta_containers_wrlock(m);
    rc = meta_container_get(m, a, account, name, c);
    if (rc != CO_ENOTFOUND) {
        rc = rc == 0 ? CO_EEXISTS : rc;
        goto out;
    }
    meta_key_deleted_container(&dk, account, deleted_name, deleted);
    rc = buf_ok(&dk) ? meta_get(m, dk.p, dk.len, a, &val, &vl) : CO_EBACKEND;
    if (rc == 0 && meta_container_decode(a, val, vl, c) != 0)
        rc = CO_EBACKEND;
    if (rc != 0)
        goto out;
    if (c->purge_at <= ticks_now()) { /* past retention: gone, awaiting its purge */
        rc = CO_ENOTFOUND;
        goto out;
    }
    rc = CO_EBACKEND;
    if ((t = meta_txn_new()) == NULL || meta_txn_purge_mark(t, c->purge_at, dk.p, dk.len, 0) != 0)
        goto out;
    c->deleted = c->purge_at = 0;
    meta_key_container(&k, account, name);
    meta_container_encode(c, &v);
    if (!buf_ok(&k) || !buf_ok(&v))
        goto out;
    meta_txn_delete(t, dk.p, dk.len);
    meta_txn_put(t, k.p, k.len, v.p, v.len);
    rc = meta_commit(m, t);
out:
    meta_containers_unlock(m);
    meta_txn_free(t);
    buf_free(&dk);
    buf_free(&k);
    buf_free(&v);
    return rc;
}

static int
local_container_rename(struct engine *e, const char *account, const char *from,
                       const struct container_rec *expect, const char *to)
{
    struct meta *m = M(e);
    struct arena *a = arena_new(SCRATCH_CAP);
    struct buf k = BUF_INIT, nk = BUF_INIT, v = BUF_INIT;
    struct container_rec other;
    struct meta_txn *t = NULL;
    int rc;

    meta_containers_wrlock(m);
    rc = a != NULL ? meta_container_get(m, a, account, to, &other) : CO_EBACKEND;
    if (rc != CO_ENOTFOUND) {
        rc = rc == 0 ? CO_EEXISTS : rc;
        goto out;
    }
    if ((rc = container_is(m, account, from, expect, &k)) != 0)
        goto out;
    rc = CO_EBACKEND;
    meta_key_container(&nk, account, to);
    meta_container_encode(expect, &v);
    if ((t = meta_txn_new()) == NULL || !buf_ok(&nk) || !buf_ok(&v))
        goto out;
    meta_txn_delete(t, k.p, k.len);
    meta_txn_put(t, nk.p, nk.len, v.p, v.len);
    rc = meta_commit(m, t);
out:
    meta_containers_unlock(m);
    meta_txn_free(t);
    arena_free(a);
    buf_free(&k);
    buf_free(&nk);
    buf_free(&v);
    return rc;
}

/* ---- List Containers: a merge of live ('C') and soft-deleted ('D') keys ------------------- */

/* The name of the entry under the cursor, or NULL when it is done (or out of the prefix). */
static const char *
cur_name(struct cursor *c, const char *prefix, size_t plen, size_t *n)
{
    size_t klen;
    const char *k, *zero;

    if (c->it == NULL || !meta_iter_valid(c->it))
        return NULL;
    k = meta_iter_key(c->it, &klen);
    *n = klen - c->base;
    if (c->deleted && (zero = memchr(k + c->base, 0, *n)) != NULL)
        *n = (size_t)(zero - (k + c->base));
    if (*n < plen || memcmp(k + c->base, prefix, plen) != 0)
        return NULL;
    return k + c->base;
}

static struct meta_iter *
open_side(struct meta *m, const char *account, char type, const char *from, size_t *base)
{
    struct buf lo = BUF_INIT, hi = BUF_INIT;
    struct meta_iter *it = NULL;

    buf_u8(&lo, (uint8_t)type);
    buf_puts(&lo, account);
    buf_u8(&lo, 0);
    *base = lo.len;
    buf_add(&hi, lo.p, lo.len - 1);
    buf_u8(&hi, 1);
    buf_puts(&lo, from);
    if (buf_ok(&lo) && buf_ok(&hi))
        it = meta_iter_new(m, lo.p, lo.len, hi.p, hi.len);
    buf_free(&lo);
    buf_free(&hi);
    return it;
}

void
local_iter_free(struct eng_iter *base)
{
    struct local_iter *it = (struct local_iter *)base;

    meta_iter_free(it->side[0].it);
    meta_iter_free(it->side[1].it);
    free(it);
}

static int
local_container_list(struct engine *e, const char *account, const char *prefix, const char *from,
                     int with_deleted, struct eng_iter **out)
{
    size_t plen = strlen(prefix);
    struct local_iter *it = calloc(1, sizeof(*it) + plen + 1);

    *out = NULL;
    if (it == NULL)
        return CO_EBACKEND;
    it->base.e = e;
    it->prefix = memcpy((char *)(it + 1), prefix, plen + 1);
    it->plen = plen;
    /* Start at the later of the prefix and `from` (the first entry not yet returned). */
    if (strcmp(from, prefix) < 0)
        from = prefix;
    it->sides = with_deleted ? 2 : 1;
    it->side[1].deleted = 1;
    for (int i = 0; i < it->sides; i++)
        if ((it->side[i].it = open_side(M(e), account, i ? 'D' : 'C', from, &it->side[i].base)) ==
            NULL) {
            local_iter_free(&it->base);
            return CO_EBACKEND;
        }
    *out = &it->base;
    return 0;
}

static int
local_container_next(struct eng_iter *base, struct arena *a, struct eng_container *out)
{
    struct local_iter *it = (struct local_iter *)base;
    size_t n[2] = {0, 0}, vlen;
    const char *name[2], *v;
    int pick;

    name[0] = cur_name(&it->side[0], it->prefix, it->plen, &n[0]);
    name[1] = it->sides > 1 ? cur_name(&it->side[1], it->prefix, it->plen, &n[1]) : NULL;
    if (name[0] == NULL && name[1] == NULL) {
        for (int i = 0; i < it->sides; i++)
            if (meta_iter_status(it->side[i].it) != 0)
                return CO_EBACKEND;
        return 0;
    }
    /* Merge by name; a live container comes before deleted ones of the same name. */
    if (name[1] == NULL)
        pick = 0;
    else if (name[0] == NULL)
        pick = 1;
    else {
        int cmp = memcmp(name[0], name[1], n[0] < n[1] ? n[0] : n[1]);
        pick = cmp < 0 || (cmp == 0 && n[0] <= n[1]) ? 0 : 1;
    }
    v = meta_iter_value(it->side[pick].it, &vlen);
    if ((out->name = arena_strndup(a, name[pick], n[pick])) == NULL ||
        meta_container_decode(a, v, vlen, &out->rec) != 0)
        return CO_EBACKEND;
    meta_iter_next(it->side[pick].it);
    return 1;
}

static long
local_purge_expired(struct engine *e, int64_t now)
{
    long n = meta_purge_expired(M(e), now, local_purge_follow, M(e));

    local_pages_merge_due(e, now);
    return n;
}

/* ---- service properties ('P') ------------------------------------------------------------ */

static int
local_service_props_get(struct engine *e, struct arena *a, const char *account, size_t *n,
                        struct meta_pair **props)
{
    struct buf k = BUF_INIT;
    char *v;
    size_t vl;
    int rc;

    *n = 0;
    *props = NULL;
    meta_key_service_props(&k, account);
    rc = buf_ok(&k) ? meta_get(M(e), k.p, k.len, a, &v, &vl) : CO_EBACKEND;
    buf_free(&k);
    if (rc == CO_ENOTFOUND)
        return 0;
    if (rc == 0 && meta_props_decode(a, v, vl, n, props) != 0)
        rc = CO_EBACKEND;
    return rc;
}

static int
local_service_props_set(struct engine *e, const char *account, size_t nexpect,
                        const struct meta_pair *expect, size_t n, const struct meta_pair *props)
{
    struct meta *m = M(e);
    struct arena *a = arena_new(SCRATCH_CAP);
    struct buf k = BUF_INIT, v = BUF_INIT, want = BUF_INIT, have = BUF_INIT;
    struct meta_pair *cur;
    size_t ncur;
    int rc = CO_EBACKEND;

    meta_containers_wrlock(m); /* serialises read-compare-write of the document */
    if (a == NULL || (rc = local_service_props_get(e, a, account, &ncur, &cur)) != 0)
        goto out;
    meta_props_encode(ncur, cur, &have);
    meta_props_encode(nexpect, expect, &want);
    rc = CO_EBACKEND;
    if (!buf_ok(&have) || !buf_ok(&want))
        goto out;
    rc = CO_ECONFLICT;
    if (have.len != want.len || memcmp(have.p, want.p, have.len) != 0)
        goto out;
    meta_key_service_props(&k, account);
    meta_props_encode(n, props, &v);
    rc = put_commit(m, &k, &v);
out:
    meta_containers_unlock(m);
    arena_free(a);
    buf_free(&k);
    buf_free(&v);
    buf_free(&want);
    buf_free(&have);
    return rc;
}

static void
local_fini(struct engine *e)
{
    free(e->impl);
}

static const struct engine_ops local_ops = {
    .name = "local",
    .fini = local_fini,
    .next_etag = local_next_etag,
    .container_get = local_container_get,
    .container_create = local_container_create,
    .container_update = local_container_update,
    .container_delete = local_container_delete,
    .container_restore = local_container_restore,
    .container_rename = local_container_rename,
    .container_list = local_container_list,
    .container_next = local_container_next,
    .iter_free = local_iter_free,
    .purge_expired = local_purge_expired,
    .service_props_get = local_service_props_get,
    .service_props_set = local_service_props_set,
    .blob_get = local_blob_get,
    .blob_commit = local_blob_commit,
    .blob_subs = local_blob_subs,
    .blob_list = local_blob_list,
    .blob_next = local_blob_next,
    .skip_past = local_skip_past,
    .blocks_list = local_blocks_list,
    .tag_list = local_tag_list,
    .tag_next = local_tag_next,
    .copy_recover = local_copy_recover,
    .page_commit = local_page_commit,
    .page_list = local_page_list,
    .merge_hint = local_merge_hint,
    .failed = local_failed,
    .write_begin = local_write_begin,
    .write = local_write,
    .write_finish = local_write_finish,
    .write_abort = local_write_abort,
    .sync = local_sync,
    .release = local_release,
    .reader_new = local_reader_new,
    .reader_free = local_reader_free,
    .read = local_read,
};

int
eng_local_init(struct engine *e, struct meta *m, struct store *s)
{
    struct local *l = malloc(sizeof(*l));

    if (l == NULL)
        return CO_EBACKEND;
    l->meta = m;
    l->store = s;
    e->ops = &local_ops;
    e->impl = l;
    return 0;
}
