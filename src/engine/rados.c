/*
 * rados.c -- the RADOS engine: the object model in a Ceph cluster through librados, so that any
 * number of stateless gateways serve the same accounts.  docs/rados.md is the layout (objects,
 * omap keys, xattrs) and says which writes are one compare-and-set op.  This file: the keys, the
 * one-op write and the cursors both files use, ETags, containers, service properties, the purge
 * and GC lists, set-up; rados_blob.c: blob records, staged blocks, tags, pending copies.
 *
 * Invariants (docs/rados.md explains each):
 *  R1  every record write is one RADOS write op on one object whose compares (omap_cmp, cmpxattr,
 *      exclusive create) guard it: it happens whole or not at all, and only if the record is still
 *      the one the caller read.  RADOS acknowledges only when every replica has it.
 *  R2  across objects: the primary record is the one commit point; what is written before it
 *      (a container's head and shards, purge entries and copy markers of a blob commit) is
 *      unreferenced or a superset until then, what is written after it (GC entries, removals of
 *      stale entries) is checked against the record before anything is removed.
 *  R3  no gateway caches a mutable record: only a container id's head, which never changes.
 *  R4  omap keys hold no NUL byte (librados's C API passes start_after and filter_prefix as C
 *      strings): names in keys are encoded (key_enc), numbers are 16 hex digits.
 *  R5  a blob commit carries the fence of its shard (xattr `state` equals "open <container>"):
 *      Delete Container closes every shard under the container's fence lock before it checks
 *      WORM protection and commits, so no blob is committed into a container being deleted.
 *
 * Records are meta/'s encoding (meta_container_encode, meta_blob_encode, meta_props_encode): one
 * format and one decoder for both engines and for fsck.  Calls are synchronous except where
 * several objects are read or written at once (a container's shards: aio).
 */
#include "engine/rados_int.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "meta/meta.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timefmt.h"

#define ETAG_BLOCK 4096 /* ETags reserved per round trip */
#define IDS_OID    "cobalt.ids"

static const struct engine_ops rados_ops;

int
eng_err(int r, const char *what, const char *oid)
{
    if (r == -ECANCELED)
        return CO_ECONFLICT;
    log_error("rados: %s %s: %s", what, oid, strerror(-r));
    return CO_EBACKEND;
}

/* ---- keys (R4) ---------------------------------------------------------------------------- */

void
key_enc(struct buf *k, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)p[i] <= 1) {
            buf_putc(k, 1);
            buf_putc(k, (char)(p[i] + 1));
        } else {
            buf_putc(k, p[i]);
        }
    }
}

char *
key_dec(struct arena *a, const char *p, size_t n, size_t *len)
{
    char *out = arena_alloc(a, n + 1), *o = out;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 1) {
            *o++ = p[i];
            continue;
        }
        if (i + 1 == n || (p[i + 1] != 1 && p[i + 1] != 2))
            return NULL;
        *o++ = (char)(p[++i] - 1);
    }
    *o = 0;
    *len = (size_t)(o - out);
    return out;
}

size_t
name_end(const char *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] != 1)
            continue;
        if (p[i + 1] == 1)
            return i;
        i++;
    }
    return n;
}

void
name_esc(struct buf *k, const char *name, size_t n, int terminate)
{
    key_enc(k, name, n);
    if (terminate)
        buf_add(k, "\1\1", 2);
}

/* The name at the start of an encoded key part (up to its terminator), in a; *rest after it. */
static char *
name_unesc(struct arena *a, const char *p, size_t n, const char **rest)
{
    size_t e = name_end(p, n), len;

    *rest = e + 2 <= n ? p + e + 2 : p + n;
    return key_dec(a, p, e, &len);
}

void
hex64(struct buf *k, uint64_t v)
{
    buf_printf(k, "%016" PRIx64, v);
}

uint64_t
unhex64(const char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 16; i++) {
        int d = p[i] >= '0' && p[i] <= '9'   ? p[i] - '0'
                : p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10
                                             : -1;
        if (d < 0)
            return UINT64_MAX;
        v = v << 4 | (uint64_t)d;
    }
    return v;
}

static void
key_container(struct buf *k, const char *name)
{
    buf_putc(k, 'C');
    buf_puts(k, name);
}

static void
key_deleted(struct buf *k, const char *name, int64_t deleted)
{
    buf_putc(k, 'D');
    name_esc(k, name, strlen(name), 1);
    hex64(k, (uint64_t)deleted);
}

/* The purge entry of a soft-deleted container: its object (purge.<cid mod 8>) and key. */
static void
purge_entry(char *oid, size_t cap, struct buf *k, const struct container_rec *c)
{
    snprintf(oid, cap, "purge.%u", (unsigned)(c->id % LIST_SHARDS));
    hex64(k, (uint64_t)c->purge_at);
    buf_putc(k, 'D');
    hex64(k, c->id);
    hex64(k, (uint64_t)c->deleted);
}

static void
oid_account(char *oid, size_t cap, const char *account)
{
    snprintf(oid, cap, "acct.%s", account);
}

/* ---- one write op on one object: compares, then edits (R1) -------------------------------- */

void
edit_push(struct omap_edit *ed, char what, const char *k, size_t kl, const char *v, size_t vl)
{
    struct kv **list = what == 'c' ? &ed->cmp : what == 's' ? &ed->set : &ed->rm, *grown;
    struct kv *inline0 = what == 'c' ? ed->cmp0 : what == 's' ? ed->set0 : ed->rm0;
    size_t *n = what == 'c' ? &ed->ncmp : what == 's' ? &ed->nset : &ed->nrm;
    size_t *cap = what == 'c' ? &ed->capcmp : what == 's' ? &ed->capset : &ed->caprm;

    if (*list == NULL) {
        *list = inline0;
        *cap = ED_MAX;
    }
    if (*n == *cap) {
        if (ed->a == NULL || (grown = arena_alloc(ed->a, 2 * *cap * sizeof(**list))) == NULL) {
            ed->full = 1;
            return;
        }
        memcpy(grown, *list, *n * sizeof(**list));
        *list = grown;
        *cap *= 2;
    }
    (*list)[(*n)++] = (struct kv){k, v, kl, vl};
}

void
edit_cmp(struct omap_edit *ed, const struct buf *k, const char *v, size_t vl)
{
    edit_push(ed, 'c', k->p, k->len, v, vl);
}

void
edit_set(struct omap_edit *ed, const struct buf *k, const struct buf *v)
{
    edit_push(ed, 's', k->p, k->len, v->p, v->len);
}

void
edit_rm(struct omap_edit *ed, const struct buf *k)
{
    edit_push(ed, 'r', k->p, k->len, NULL, 0);
}

int
omap_apply(rados_ioctx_t io, const char *oid, struct omap_edit *ed)
{
    rados_write_op_t op;
    size_t most = ed->ncmp > ed->nset ? ed->ncmp : ed->nset;
    const char **sk, **sv, **rk;
    size_t *skl, *svl, *rkl;
    int *prval, r;
    /* One allocation for the arrays librados takes (key and value pointers and lengths). */
    void *mem = calloc(most > ed->nrm ? most : ed->nrm,
                       3 * sizeof(char *) + 3 * sizeof(size_t) + sizeof(int));

    ed->lost = 0;
    if (mem == NULL || ed->full || (op = rados_create_write_op()) == NULL) {
        free(mem);
        return CO_EBACKEND;
    }
    most = most > ed->nrm ? most : ed->nrm;
    sk = mem;
    sv = sk + most;
    rk = sv + most;
    skl = (size_t *)(rk + most);
    svl = skl + most;
    rkl = svl + most;
    prval = (int *)(rkl + most);
    if (ed->create)
        rados_write_op_create(op, LIBRADOS_CREATE_IDEMPOTENT, NULL);
    if (ed->fence != NULL)
        rados_write_op_cmpxattr(op, "state", LIBRADOS_CMPXATTR_OP_EQ, ed->fence, strlen(ed->fence));
    for (size_t i = 0; i < ed->ncmp; i++)
        rados_write_op_omap_cmp2(op, ed->cmp[i].k, LIBRADOS_CMPXATTR_OP_EQ, ed->cmp[i].v,
                                 ed->cmp[i].kl, ed->cmp[i].vl, &prval[i]);
    for (size_t i = 0; i < ed->nrm; i++) {
        rk[i] = ed->rm[i].k;
        rkl[i] = ed->rm[i].kl;
    }
    if (ed->nrm)
        rados_write_op_omap_rm_keys2(op, rk, rkl, ed->nrm);
    if (ed->range.k != NULL)
        rados_write_op_omap_rm_range2(op, ed->range.k, ed->range.kl, ed->range.v, ed->range.vl);
    for (size_t i = 0; i < ed->nset; i++) {
        sk[i] = ed->set[i].k;
        sv[i] = ed->set[i].v;
        skl[i] = ed->set[i].kl;
        svl[i] = ed->set[i].vl;
    }
    if (ed->nset)
        rados_write_op_omap_set2(op, sk, sv, skl, svl, ed->nset);
    r = rados_write_op_operate2(op, io, oid, NULL, 0);
    rados_release_write_op(op);
    for (size_t i = 0; i < ed->ncmp; i++)
        ed->lost |= prval[i] < 0;
    free(mem);
    if ((r == -ENOENT && !ed->create) || (r == -ENODATA && ed->fence != NULL))
        return CO_ECONFLICT;
    return r == 0 ? 0 : eng_err(r, "write", oid);
}

int
omap_get(rados_ioctx_t io, const char *oid, const struct buf *k, struct arena *a, char **v,
         size_t *vl)
{
    rados_read_op_t op = rados_create_read_op();
    rados_omap_iter_t it = NULL;
    const char *keys[1] = {k->p};
    size_t kls[1] = {k->len}, gkl, gvl;
    char *gk, *gv;
    int prval = 0, r;

    if (op == NULL)
        return CO_EBACKEND;
    rados_read_op_omap_get_vals_by_keys2(op, keys, 1, kls, &it, &prval);
    r = rados_read_op_operate(op, io, oid, 0);
    if (r == 0 && prval < 0)
        r = prval;
    if (r == 0) {
        r = -ENODATA;
        if (rados_omap_get_next2(it, &gk, &gv, &gkl, &gvl) == 0 && gk != NULL) {
            r = (*v = arena_alloc(a, gvl + 1)) != NULL ? 0 : -ENOMEM;
            if (r == 0) {
                if (gvl > 0) /* an empty value may come as NULL */
                    memcpy(*v, gv, gvl);
                (*v)[gvl] = 0;
                *vl = gvl;
            }
        }
    }
    if (it != NULL)
        rados_omap_get_end(it);
    rados_release_read_op(op);
    if (r == -ENOENT || r == -ENODATA)
        return CO_ENOTFOUND;
    return r == 0 ? 0 : eng_err(r, "omap read", oid);
}

static int
container_reencode(struct arena *a, const char *v, size_t vl, struct buf *out)
{
    struct container_rec c;

    if (meta_container_decode(a, v, vl, &c) != 0)
        return -1;
    meta_container_encode(&c, out);
    return buf_ok(out) ? 0 : -1;
}

static int
props_reencode(struct arena *a, const char *v, size_t vl, struct buf *out)
{
    struct meta_pair *p;
    size_t n;

    if (meta_props_decode(a, v, vl, &n, &p) != 0)
        return -1;
    meta_props_encode(n, p, out);
    return buf_ok(out) ? 0 : -1;
}

int
cmp_refresh(rados_ioctx_t io, const char *oid, struct omap_edit *ed, struct arena *a,
            reencode_fn reencode)
{
    rados_read_op_t op;
    rados_omap_iter_t it = NULL;
    const char **keys = arena_alloc(a, (ed->ncmp + 1) * sizeof(*keys));
    size_t *kls = arena_alloc(a, (ed->ncmp + 1) * sizeof(*kls)), gkl, gvl;
    struct buf again = BUF_INIT;
    char *gk, *gv;
    int prval = 0, r, changed = 0;

    if (keys == NULL || kls == NULL || (op = rados_create_read_op()) == NULL)
        return 0;
    for (size_t i = 0; i < ed->ncmp; i++) {
        keys[i] = ed->cmp[i].k;
        kls[i] = ed->cmp[i].kl;
    }
    rados_read_op_omap_get_vals_by_keys2(op, keys, ed->ncmp, kls, &it, &prval);
    r = rados_read_op_operate(op, io, oid, 0);
    while (r == 0 && prval == 0 && rados_omap_get_next2(it, &gk, &gv, &gkl, &gvl) == 0 &&
           gk != NULL) {
        for (size_t i = 0; i < ed->ncmp; i++) {
            struct kv *c = &ed->cmp[i];
            char *keep;
            if (c->kl != gkl || memcmp(c->k, gk, gkl) != 0 || c->vl == 0 ||
                (c->vl == gvl && memcmp(c->v, gv, gvl) == 0))
                continue;
            buf_reset(&again);
            if (reencode(a, gv, gvl, &again) == 0 && again.len == c->vl &&
                memcmp(again.p, c->v, c->vl) == 0 && (keep = arena_alloc(a, gvl + 1)) != NULL) {
                c->v = memcpy(keep, gv, gvl);
                c->vl = gvl;
                changed = 1;
            }
        }
    }
    if (it != NULL)
        rados_omap_get_end(it);
    rados_release_read_op(op);
    buf_free(&again);
    return changed;
}

/* omap_apply() whose compares are of records: a compare lost to an older encoding of the same
 * record is made again against the stored bytes (cmp_refresh).  Same results as omap_apply(). */
static int
omap_apply_record(rados_ioctx_t io, const char *oid, struct omap_edit *ed, reencode_fn reencode)
{
    struct arena *a;
    int rc = omap_apply(io, oid, ed);

    if (rc != CO_ECONFLICT || (a = arena_new(SCRATCH_CAP)) == NULL)
        return rc;
    if (cmp_refresh(io, oid, ed, a, reencode))
        rc = omap_apply(io, oid, ed);
    arena_free(a);
    return rc;
}

/* ---- counters: cobalt.ids ----------------------------------------------------------------- */

/* Advances counter xattr `name` of cobalt.ids from its value v to f(v) by compare-and-set, retrying
 * lost races; *old = v.  f: the new value given the old and `arg`.  0 or CO_EBACKEND. */
static int
counter_advance(struct rados_eng *r, const char *name, uint64_t (*f)(uint64_t, uint64_t),
                uint64_t arg, uint64_t *old)
{
    for (;;) {
        char cur[32], next[32];
        rados_write_op_t op;
        int n = rados_getxattr(r->idx, IDS_OID, name, cur, sizeof(cur) - 1), rc;

        if (n < 0)
            return eng_err(n, "getxattr", IDS_OID);
        cur[n] = 0;
        *old = strtoull(cur, NULL, 10);
        snprintf(next, sizeof(next), "%" PRIu64, f(*old, arg));
        if ((op = rados_create_write_op()) == NULL)
            return CO_EBACKEND;
        rados_write_op_cmpxattr(op, name, LIBRADOS_CMPXATTR_OP_EQ, cur, (size_t)n);
        rados_write_op_setxattr(op, name, next, strlen(next));
        rc = rados_write_op_operate2(op, r->idx, IDS_OID, NULL, 0);
        rados_release_write_op(op);
        if (rc != -ECANCELED) /* else another gateway advanced it first */
            return rc == 0 ? 0 : eng_err(rc, "counter", IDS_OID);
    }
}

static uint64_t
plus(uint64_t v, uint64_t n)
{
    return v + n;
}

/* An ETag block starts at the later of the counter and the clock. */
static uint64_t
etag_block(uint64_t v, uint64_t now)
{
    return (v > now ? v : now) + ETAG_BLOCK;
}

/*
 * ETags: blocks of ETAG_BLOCK values reserved on cobalt.ids never overlap, so values are unique
 * across gateways; a block older than a second is dropped so values follow the clock.  If the
 * cluster cannot be reached the value comes from the clock alone, with the low bits of this
 * gateway's instance id: a write needing it cannot commit in that state anyway.
 */
uint64_t
rados_etag(struct rados_eng *r)
{
    int64_t now = ticks_now();
    uint64_t v, base;

    pthread_mutex_lock(&r->mu);
    if (r->etag_next == r->etag_end || now > r->etag_at + TICKS_PER_SEC) {
        if (counter_advance(r, "etag", etag_block, (uint64_t)now, &base) == 0) {
            r->etag_next = base > (uint64_t)now ? base : (uint64_t)now;
            r->etag_end = r->etag_next + ETAG_BLOCK;
        } else {
            r->etag_next = ((uint64_t)now & ~0xfffffull) |
                           (rados_get_instance_id(r->cluster) & 0xfffff);
            r->etag_end = r->etag_next + 1;
        }
        r->etag_at = now;
    }
    v = r->etag_next++;
    pthread_mutex_unlock(&r->mu);
    return v;
}

static uint64_t
rados_next_etag(struct engine *e)
{
    return rados_etag(R(e));
}

/* ---- containers --------------------------------------------------------------------------- */

/* The record at key k of acct.<account> into c (in a): 0, CO_ENOTFOUND, CO_EBACKEND. */
static int
record_get(struct rados_eng *r, struct arena *a, const char *account, const struct buf *k,
           struct container_rec *c)
{
    char oid[300], *v;
    size_t vl;
    int rc;

    memset(c, 0, sizeof(*c));
    oid_account(oid, sizeof(oid), account);
    if (!buf_ok(k))
        return CO_EBACKEND;
    if ((rc = omap_get(r->idx, oid, k, a, &v, &vl)) != 0)
        return rc;
    return meta_container_decode(a, v, vl, c) == 0 ? 0 : CO_EBACKEND;
}

int
rados_container_get(struct engine *e, struct arena *a, const char *account, const char *name,
                    struct container_rec *c)
{
    struct buf k = BUF_INIT;
    int rc;

    key_container(&k, name);
    rc = record_get(R(e), a, account, &k, c);
    buf_free(&k);
    return rc;
}

/* Writes the head of container id c->id (docs/rados.md, cont.<cid>): exclusive create + xattrs. */
static int
head_create(struct rados_eng *r, const char *account, uint64_t cid)
{
    rados_write_op_t op = rados_create_write_op();
    char oid[40], shards[16];
    int rc;

    if (op == NULL)
        return CO_EBACKEND;
    snprintf(oid, sizeof(oid), "cont.%016" PRIx64, cid);
    snprintf(shards, sizeof(shards), "%d", RADOS_SHARDS);
    rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
    rados_write_op_setxattr(op, "account", account, strlen(account));
    rados_write_op_setxattr(op, "shards", shards, strlen(shards));
    rc = rados_write_op_operate2(op, r->idx, oid, NULL, 0);
    rados_release_write_op(op);
    return rc == 0 ? 0 : eng_err(rc, "create", oid);
}

/* Removes what a container id was given before its record (its shards, then its head), after
 * its create lost or failed; what it cannot remove, cobalt fsck does. */
static void
id_remove(struct rados_eng *r, uint64_t cid)
{
    char oid[40];
    int rc;

    snprintf(oid, sizeof(oid), "cont.%016" PRIx64, cid);
    if (shards_remove(r, cid, RADOS_SHARDS) != 0 ||
        ((rc = rados_remove(r->idx, oid)) != 0 && rc != -ENOENT))
        log_warn("rados: container id %" PRIu64 " left behind (cobalt fsck removes it)", cid);
}

static int
rados_container_create(struct engine *e, const char *account, const char *name,
                       struct container_rec *c)
{
    struct rados_eng *r = R(e);
    struct omap_edit ed = {.create = 1};
    struct buf k = BUF_INIT, v = BUF_INIT;
    char oid[300], fence[FENCE_MAX];
    uint64_t last;
    int rc;

    /* The id first (never reused), then its head and open shards, then the record that names it
     * (R2). */
    if ((rc = counter_advance(r, "cid", plus, 1, &last)) != 0)
        return rc;
    c->id = last + 1;
    if ((rc = head_create(r, account, c->id)) != 0)
        return rc;
    fence_open(fence, name);
    if ((rc = fence_set(r, c->id, RADOS_SHARDS, fence)) != 0) {
        id_remove(r, c->id);
        return rc;
    }
    oid_account(oid, sizeof(oid), account);
    key_container(&k, name);
    meta_container_encode(c, &v);
    rc = CO_EBACKEND;
    if (buf_ok(&k) && buf_ok(&v)) {
        edit_cmp(&ed, &k, "", 0); /* absent */
        edit_set(&ed, &k, &v);
        rc = omap_apply(r->idx, oid, &ed);
    }
    if (rc != 0)
        id_remove(r, c->id);
    buf_free(&k);
    buf_free(&v);
    return rc == CO_ECONFLICT ? CO_EEXISTS : rc;
}

static int
rados_container_update(struct engine *e, const char *account, const char *name,
                       const struct container_rec *expect, const struct container_rec *c)
{
    struct omap_edit ed = {0};
    struct buf k = BUF_INIT, want = BUF_INIT, v = BUF_INIT;
    char oid[300];
    int rc = CO_EBACKEND;

    oid_account(oid, sizeof(oid), account);
    key_container(&k, name);
    meta_container_encode(expect, &want);
    meta_container_encode(c, &v);
    if (buf_ok(&k) && buf_ok(&want) && buf_ok(&v)) {
        edit_cmp(&ed, &k, want.p, want.len);
        edit_set(&ed, &k, &v);
        rc = omap_apply_record(R(e)->idx, oid, &ed, container_reencode);
    }
    buf_free(&k);
    buf_free(&want);
    buf_free(&v);
    return rc;
}

int
entry_put(rados_ioctx_t io, const char *oid, const struct buf *k, const struct buf *v, int set)
{
    struct omap_edit ed = {.create = set};

    if (!buf_ok(k) || (v != NULL && !buf_ok(v)))
        return CO_EBACKEND;
    if (set)
        edit_set(&ed, k, v);
    else
        edit_rm(&ed, k);
    return omap_apply(io, oid, &ed);
}

/* Queues the drop of container id cid of account on the GC list (docs/rados.md, kind `c`). */
int
gc_drop_container(struct rados_eng *r, const char *account, uint64_t cid)
{
    struct buf k = BUF_INIT, v = BUF_INIT;
    char oid[32];
    int rc;

    snprintf(oid, sizeof(oid), "gc.%u", (unsigned)(cid % LIST_SHARDS));
    hex64(&k, (uint64_t)ticks_now());
    buf_putc(&k, 'c');
    hex64(&k, cid);
    buf_puts(&v, account);
    rc = entry_put(r->idx, oid, &k, &v, 1);
    buf_free(&k);
    buf_free(&v);
    return rc;
}

static int drop_container(struct rados_eng *r, struct arena *a, const char *account, uint64_t cid);

/* The fence lock of container id cid (an exclusive lock on its head, cookie unique to the call):
 * Delete and Restore Container hold it from closing or opening the shards' fences to their
 * commit, so that one never reopens shards another has closed (R5).  Waits while another call
 * holds it.  0 (held: *cookie), CO_ECONFLICT (no head: the id is gone), CO_EBACKEND. */
static int
fence_lock(struct rados_eng *r, uint64_t cid, char *oid, size_t ocap, char *cookie, size_t ccap)
{
    struct timespec pause = {0, 20 * 1000 * 1000};
    uint64_t size;
    time_t mtime;
    int rc;

    snprintf(oid, ocap, "cont.%016" PRIx64, cid);
    pthread_mutex_lock(&r->mu);
    snprintf(cookie, ccap, "%s.%" PRIu64, r->cookie, ++r->calls);
    pthread_mutex_unlock(&r->mu);
    if ((rc = rados_stat(r->idx, oid, &size, &mtime)) != 0) /* a lock would create the head */
        return rc == -ENOENT ? CO_ECONFLICT : eng_err(rc, "stat", oid);
    for (int i = 0; i < LEASE_SECS * 50; i++) {
        if ((rc = lock_take(r, oid, "fence", cookie, LEASE_SECS, 0)) != 0)
            return rc == 1 ? 0 : rc;
        nanosleep(&pause, NULL);
    }
    log_error("rados: %s: the fence lock stayed taken", oid);
    return CO_EBACKEND;
}

/*
 * Under the container's fence lock: every shard is closed (R5), so no blob can be committed
 * while the WORM refusals are checked; then the commit.  Soft delete: the record moves from
 * C<name> to D<name><deleted> in one op; then the purge entry.  Hard delete: C<name> goes; then
 * the GC entry that drops the id, and the drop itself (the GC entry is for a crash in between).
 * A crash after the commit leaves a deleted container the purge list does not know (soft) or an
 * id's objects nothing references (hard): cobalt fsck finds both.  A refusal or a lost commit
 * opens the shards again.
 */
static int
rados_container_delete(struct engine *e, const char *account, const char *name,
                       const struct container_rec *expect, const struct container_rec *gone)
{
    struct rados_eng *r = R(e);
    struct omap_edit ed = {0};
    struct arena *a = arena_new(SCRATCH_CAP);
    struct buf k = BUF_INIT, want = BUF_INIT, dk = BUF_INIT, dv = BUF_INIT, pk = BUF_INIT,
               pv = BUF_INIT;
    char oid[300], poid[32], hoid[40], cookie[64], fence[FENCE_MAX];
    unsigned shards = 0;
    int64_t began;
    int rc, locked = 0, closed = 0;

    if (a == NULL)
        return CO_EBACKEND;
    if ((rc = shard_count(r, expect->id, &shards)) != 0 ||
        (rc = fence_lock(r, expect->id, hoid, sizeof(hoid), cookie, sizeof(cookie))) != 0) {
        rc = rc == CO_ENOTFOUND ? CO_ECONFLICT : rc; /* no head: the record read is stale */
        goto out;
    }
    locked = 1;
    began = ticks_now(); /* the lock's time runs from here */
    snprintf(fence, sizeof(fence), "closing %" PRId64, began);
    if ((rc = fence_set(r, expect->id, shards, fence)) != 0)
        goto out;
    closed = 1;
    if ((rc = worm_check(r, a, expect, ticks_now())) != 0)
        goto out;
    if (ticks_now() - began > LEASE_SECS / 2 * TICKS_PER_SEC) {
        log_error("rados: delete of %s/%s took too long under its fence lock", account, name);
        rc = CO_EBACKEND;
        goto out;
    }
    oid_account(oid, sizeof(oid), account);
    key_container(&k, name);
    meta_container_encode(expect, &want);
    rc = CO_EBACKEND;
    if (!buf_ok(&k) || !buf_ok(&want))
        goto out;
    edit_cmp(&ed, &k, want.p, want.len);
    edit_rm(&ed, &k);
    if (gone != NULL) {
        key_deleted(&dk, name, gone->deleted);
        meta_container_encode(gone, &dv);
        if (!buf_ok(&dk) || !buf_ok(&dv))
            goto out;
        edit_set(&ed, &dk, &dv);
    }
    if ((rc = omap_apply_record(r->idx, oid, &ed, container_reencode)) != 0)
        goto out;
    closed = 0; /* for good */
    if (gone != NULL) {
        purge_entry(poid, sizeof(poid), &pk, gone);
        buf_puts(&pv, account);
        buf_putc(&pv, 0);
        buf_add(&pv, dk.p, dk.len);
        if (entry_put(r->idx, poid, &pk, &pv, 1) != 0)
            log_error("rados: no purge entry for %s/%s (cobalt fsck adds it)", account, name);
    } else if (gc_drop_container(r, account, expect->id) != 0) {
        log_error("rados: no GC entry for container id %" PRIu64 " (cobalt fsck drops it)",
                  expect->id);
    } else {
        locked = drop_container(r, a, account, expect->id) < 0; /* the head (and lock) go */
    }
out:
    fence_open(fence, name);
    if (closed && fence_set(r, expect->id, shards, fence) != 0)
        log_error("rados: shards of %s/%s left closed (blob commits reopen them)", account, name);
    if (locked)
        lock_give(r, hoid, "fence", cookie);
    arena_free(a);
    buf_free(&k);
    buf_free(&want);
    buf_free(&dk);
    buf_free(&dv);
    buf_free(&pk);
    buf_free(&pv);
    return rc;
}

static int
rados_container_restore(struct engine *e, struct arena *a, const char *account,
                        const char *deleted_name, int64_t deleted, const char *name,
                        struct container_rec *c)
{
    struct rados_eng *r = R(e);
    struct omap_edit ed = {0};
    struct buf k = BUF_INIT, dk = BUF_INIT, want = BUF_INIT, v = BUF_INIT, pk = BUF_INIT;
    struct container_rec live;
    char oid[300], poid[32], hoid[40], cookie[64], fence[FENCE_MAX];
    unsigned shards;
    int rc, locked = 0;

    /* Absent live name first (CO_EEXISTS wins over CO_ENOTFOUND, as in the other engines). */
    key_container(&k, name);
    if ((rc = record_get(r, a, account, &k, &live)) != CO_ENOTFOUND) {
        rc = rc == 0 ? CO_EEXISTS : rc;
        goto out;
    }
    if (deleted <= 0) { /* 0 would name a live container */
        rc = CO_ENOTFOUND;
        goto out;
    }
    key_deleted(&dk, deleted_name, deleted);
    if ((rc = record_get(r, a, account, &dk, c)) != 0)
        goto out;
    if (c->purge_at <= ticks_now()) { /* past retention: gone, awaiting its purge */
        rc = CO_ENOTFOUND;
        goto out;
    }
    meta_container_encode(c, &want);
    purge_entry(poid, sizeof(poid), &pk, c);
    c->deleted = c->purge_at = 0;
    meta_container_encode(c, &v);
    rc = CO_EBACKEND;
    if (!buf_ok(&want) || !buf_ok(&v) || !buf_ok(&pk))
        goto out;
    edit_cmp(&ed, &dk, want.p, want.len);
    edit_cmp(&ed, &k, "", 0);
    edit_rm(&ed, &dk);
    edit_set(&ed, &k, &v);
    oid_account(oid, sizeof(oid), account);
    /* Under the fence lock: the commit, then the shards open under the new name (R5). */
    if ((rc = shard_count(r, c->id, &shards)) != 0 ||
        (rc = fence_lock(r, c->id, hoid, sizeof(hoid), cookie, sizeof(cookie))) != 0) {
        rc = rc == CO_ENOTFOUND || rc == CO_ECONFLICT ? CO_ENOTFOUND : rc; /* purged */
        goto out;
    }
    locked = 1;
    if ((rc = omap_apply_record(r->idx, oid, &ed, container_reencode)) == CO_ECONFLICT) {
        /* A live name appeared, or the deleted record was restored or purged meanwhile. */
        rc = record_get(r, a, account, &k, &live) == 0 ? CO_EEXISTS : CO_ENOTFOUND;
        goto out;
    }
    fence_open(fence, name);
    if (rc == 0 && fence_set(r, c->id, shards, fence) != 0)
        log_error("rados: shards of %s/%s left closed (blob commits reopen them)", account, name);
    if (rc == 0 && entry_put(r->idx, poid, &pk, NULL, 0) != 0) /* a stale entry is harmless */
        log_warn("rados: purge entry of restored %s/%s left behind", account, name);
out:
    if (locked)
        lock_give(r, hoid, "fence", cookie);
    buf_free(&k);
    buf_free(&dk);
    buf_free(&want);
    buf_free(&v);
    buf_free(&pk);
    return rc;
}

/*
 * Under the container's fence lock, as Delete Container: every shard closed, so no blob commit
 * made under the old name lands after the move (R5); the move of C<from> to C<to> in one op;
 * then the shards open under the name the container now has.  A gateway dying in between leaves
 * closed fences that the first commit under the live name opens again (fence_check).
 */
static int
rados_container_rename(struct engine *e, const char *account, const char *from,
                       const struct container_rec *expect, const char *to)
{
    struct rados_eng *r = R(e);
    struct omap_edit ed = {0};
    struct arena *a = arena_new(SCRATCH_CAP);
    struct buf k = BUF_INIT, nk = BUF_INIT, want = BUF_INIT;
    struct container_rec other;
    char oid[300], hoid[40], cookie[64], fence[FENCE_MAX];
    unsigned shards = 0;
    int rc, locked = 0, closed = 0;

    if (a == NULL)
        return CO_EBACKEND;
    key_container(&k, from);
    key_container(&nk, to);
    meta_container_encode(expect, &want);
    rc = CO_EBACKEND;
    if (!buf_ok(&k) || !buf_ok(&nk) || !buf_ok(&want))
        goto out;
    if ((rc = record_get(r, a, account, &nk, &other)) != CO_ENOTFOUND) {
        rc = rc == 0 ? CO_EEXISTS : rc;
        goto out;
    }
    if ((rc = shard_count(r, expect->id, &shards)) != 0 ||
        (rc = fence_lock(r, expect->id, hoid, sizeof(hoid), cookie, sizeof(cookie))) != 0) {
        rc = rc == CO_ENOTFOUND ? CO_ECONFLICT : rc; /* no head: the record read is stale */
        goto out;
    }
    locked = 1;
    snprintf(fence, sizeof(fence), "closing %" PRId64, ticks_now());
    if ((rc = fence_set(r, expect->id, shards, fence)) != 0)
        goto out;
    closed = 1;
    edit_cmp(&ed, &k, want.p, want.len);
    edit_cmp(&ed, &nk, "", 0);
    edit_rm(&ed, &k);
    edit_set(&ed, &nk, &want);
    oid_account(oid, sizeof(oid), account);
    if ((rc = omap_apply_record(r->idx, oid, &ed, container_reencode)) == CO_ECONFLICT &&
        record_get(r, a, account, &nk, &other) == 0)
        rc = CO_EEXISTS;
out:
    fence_open(fence, rc == 0 ? to : from);
    if (closed && fence_set(r, expect->id, shards, fence) != 0)
        log_error("rados: shards of %s/%s left closed (blob commits reopen them)", account,
                  rc == 0 ? to : from);
    if (locked)
        lock_give(r, hoid, "fence", cookie);
    arena_free(a);
    buf_free(&k);
    buf_free(&nk);
    buf_free(&want);
    return rc;
}

/* ---- List Containers: a merge of the C and D keys of acct.<account> ------------------------ */

/* start_after for the first key >= seek: the greatest key below it that no real key lies between
 * (docs/rados.md): seek minus its last byte, that byte less one, and 0xff; keys between that and
 * seek are filtered out by cursor_next(). */
static void
cursor_after(struct omap_cursor *c)
{
    unsigned char last;

    buf_reset(&c->after);
    if (c->seek.len > c->prefix.len) {
        last = (unsigned char)c->seek.p[c->seek.len - 1];
        buf_add(&c->after, c->seek.p, c->seek.len - 1);
        if (last > 1) {
            buf_u8(&c->after, (uint8_t)(last - 1));
            buf_u8(&c->after, 0xff);
        }
    }
}

void
cursor_open(struct omap_cursor *c, rados_ioctx_t io, const char *oid)
{
    c->io = io;
    c->oid = oid;
    cursor_after(c);
}

/* Drops the page in hand. */
static void
cursor_drop(struct omap_cursor *c)
{
    if (c->it != NULL)
        rados_omap_get_end(c->it);
    if (c->op != NULL)
        rados_release_read_op(c->op);
    c->it = NULL;
    c->op = NULL;
}

void
cursor_close(struct omap_cursor *c)
{
    cursor_drop(c);
    buf_free(&c->prefix);
    buf_free(&c->seek);
    buf_free(&c->after);
}

/* The read op of the next page (after c->after): 0 or CO_EBACKEND. */
static int
cursor_request(struct omap_cursor *c)
{
    c->started = 1;
    c->prval = 0;
    if (!buf_ok(&c->prefix) || !buf_ok(&c->seek) || !buf_ok(&c->after) ||
        (c->op = rados_create_read_op()) == NULL)
        return CO_EBACKEND;
    rados_read_op_omap_get_vals2(c->op, c->after.p ? c->after.p : "",
                                 c->prefix.p ? c->prefix.p : "", LIST_PAGE, &c->it, &c->more,
                                 &c->prval);
    return 0;
}

/* The page has come back with result r: 0 or CO_EBACKEND. */
static int
cursor_landed(struct omap_cursor *c, int r)
{
    if (r == 0 && c->prval < 0)
        r = c->prval;
    if (r == -ENOENT) { /* no object: no keys */
        cursor_drop(c);
        c->more = 0;
        c->k = NULL;
        return 0;
    }
    return r == 0 ? 0 : eng_err(r, "omap list", c->oid);
}

int
cursor_next(struct omap_cursor *c)
{
    int r, cmp;
    size_t n;

    for (;;) {
        if (c->it != NULL) {
            if (rados_omap_get_next2(c->it, &c->k, &c->v, &c->kl, &c->vl) != 0)
                return CO_EBACKEND;
            if (c->k != NULL) {
                buf_reset(&c->after);
                buf_add(&c->after, c->k, c->kl);
                if (!buf_ok(&c->after))
                    return CO_EBACKEND;
                n = c->kl < c->seek.len ? c->kl : c->seek.len;
                cmp = n ? memcmp(c->k, c->seek.p, n) : 0;
                if (cmp < 0 || (cmp == 0 && c->kl < c->seek.len))
                    continue; /* below the seek key */
                return 0;
            }
            cursor_drop(c);
            if (!c->more)
                return 0; /* c->k is NULL: the end */
        } else if (c->started) {
            c->k = NULL;
            return 0;
        }
        if ((r = cursor_request(c)) != 0)
            return r;
        if ((r = cursor_landed(c, rados_read_op_operate(c->op, c->io, c->oid, 0))) != 0)
            return r;
        if (c->it == NULL)
            return 0;
    }
}

int
cursor_seek(struct omap_cursor *c, const char *k, size_t kl)
{
    cursor_drop(c);
    buf_reset(&c->seek);
    buf_add(&c->seek, k, kl);
    cursor_after(c);
    c->started = 0;
    c->more = 0;
    return cursor_next(c);
}

int
cursors_start(struct omap_cursor *c, size_t n)
{
    rados_completion_t *done = calloc(n ? n : 1, sizeof(*done));
    int rc = done != NULL ? 0 : CO_EBACKEND;
    size_t issued = 0;

    for (; rc == 0 && issued < n; issued++) {
        if ((rc = cursor_request(&c[issued])) != 0 ||
            rados_aio_create_completion2(NULL, NULL, &done[issued]) != 0)
            rc = CO_EBACKEND;
        else if (rados_aio_read_op_operate(c[issued].op, c[issued].io, done[issued], c[issued].oid,
                                           0) != 0) {
            rados_aio_release(done[issued]);
            done[issued] = NULL;
            rc = CO_EBACKEND;
        }
    }
    for (size_t i = 0; i < issued; i++) {
        if (done[i] == NULL)
            continue;
        rados_aio_wait_for_complete(done[i]);
        if (rc == 0)
            rc = cursor_landed(&c[i], rados_aio_get_return_value(done[i]));
        rados_aio_release(done[i]);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = c[i].it != NULL ? cursor_next(&c[i]) : 0;
    free(done);
    return rc;
}

void
rados_iter_free(struct eng_iter *base)
{
    struct rados_iter *it = (struct rados_iter *)base;

    if (it == NULL)
        return;
    for (int i = 0; i < 2; i++)
        cursor_close(&it->side[i]);
    for (unsigned i = 0; it->shards != NULL && i < it->nshards; i++)
        cursor_close(&it->shards[i]);
    free(it->shards);
    free(it->oids);
    buf_free(&it->stop);
    free(it);
}

static int
rados_container_list(struct engine *e, const char *account, const char *prefix, const char *from,
                     int with_deleted, struct eng_iter **out)
{
    struct rados_iter *it = calloc(1, sizeof(*it));
    int rc = 0;

    *out = NULL;
    if (it == NULL)
        return CO_EBACKEND;
    it->base.e = e;
    oid_account(it->oid, sizeof(it->oid), account);
    if (strcmp(from, prefix) < 0) /* start at the later of the prefix and `from` */
        from = prefix;
    it->sides = with_deleted ? 2 : 1;
    key_container(&it->side[0].prefix, prefix);
    key_container(&it->side[0].seek, from);
    buf_putc(&it->side[1].prefix, 'D');
    name_esc(&it->side[1].prefix, prefix, strlen(prefix), 0);
    buf_putc(&it->side[1].seek, 'D');
    name_esc(&it->side[1].seek, from, strlen(from), 0);
    for (int i = 0; i < it->sides && rc == 0; i++) {
        cursor_open(&it->side[i], R(e)->idx, it->oid);
        rc = cursor_next(&it->side[i]);
    }
    if (rc != 0) {
        rados_iter_free(&it->base);
        return rc;
    }
    *out = &it->base;
    return 0;
}

static int
rados_container_next(struct eng_iter *base, struct arena *a, struct eng_container *out)
{
    struct rados_iter *it = (struct rados_iter *)base;
    const char *name[2] = {NULL, NULL}, *rest;
    struct omap_cursor *c;
    int pick;

    if (it->side[0].k != NULL &&
        (name[0] = arena_strndup(a, it->side[0].k + 1, it->side[0].kl - 1)) == NULL)
        return CO_EBACKEND;
    if (it->sides > 1 && it->side[1].k != NULL &&
        (name[1] = name_unesc(a, it->side[1].k + 1, it->side[1].kl - 1, &rest)) == NULL)
        return CO_EBACKEND;
    if (name[0] == NULL && name[1] == NULL)
        return 0;
    /* Merge by name; a live container comes before deleted ones of the same name. */
    pick = name[1] == NULL ? 0 : name[0] == NULL ? 1 : strcmp(name[0], name[1]) <= 0 ? 0 : 1;
    c = &it->side[pick];
    out->name = name[pick];
    if (meta_container_decode(a, c->v, c->vl, &out->rec) != 0)
        return CO_EBACKEND;
    return cursor_next(c) == 0 ? 1 : CO_EBACKEND;
}

/* ---- the purge and GC lists ------------------------------------------------------------- */

int
lock_take(struct rados_eng *r, const char *oid, const char *name, const char *cookie, int secs,
          int renew)
{
    struct timeval d = {secs, 0};
    int rc = rados_lock_exclusive(r->idx, oid, name, cookie, "cobalt", &d,
                                  renew ? LIBRADOS_LOCK_FLAG_RENEW : 0);

    if (rc == -EBUSY || rc == -EEXIST)
        return 0;
    return rc == 0 ? 1 : eng_err(rc, "lock", oid);
}

void
lock_give(struct rados_eng *r, const char *oid, const char *name, const char *cookie)
{
    int rc = rados_unlock(r->idx, oid, name, cookie);

    if (rc != 0 && rc != -ENOENT)
        log_warn("rados: unlock %s: %s (the lock runs out by itself)", oid, strerror(-rc));
}

/* 1 when a C or D record of acct.<account> has id cid, 0 when none does, CO_EBACKEND. */
static int
id_referenced(struct rados_eng *r, struct arena *a, const char *account, uint64_t cid)
{
    struct omap_cursor c = {0};
    struct container_rec rec;
    char oid[300];
    int rc;

    oid_account(oid, sizeof(oid), account);
    cursor_open(&c, r->idx, oid);
    while ((rc = cursor_next(&c)) == 0 && c.k != NULL) {
        if ((c.k[0] == 'C' || c.k[0] == 'D') && meta_container_decode(a, c.v, c.vl, &rec) == 0 &&
            rec.id == cid) {
            rc = 1;
            break;
        }
    }
    cursor_close(&c);
    return rc;
}

/* Drops container id cid's objects (its index shards and head) unless a record still names it:
 * 1 dropped, 0 nothing to do, or CO_EBACKEND. */
static int
drop_container(struct rados_eng *r, struct arena *a, const char *account, uint64_t cid)
{
    char oid[48];
    unsigned shards;
    int rc;

    if ((rc = id_referenced(r, a, account, cid)) != 0)
        return rc == 1 ? 0 : rc;
    if ((rc = shard_count(r, cid, &shards)) != 0)
        return rc == CO_ENOTFOUND ? 0 : rc;
    if ((rc = shards_remove(r, cid, shards)) != 0)
        return rc;
    snprintf(oid, sizeof(oid), "cont.%016" PRIx64, cid);
    if ((rc = rados_remove(r->idx, oid)) != 0 && rc != -ENOENT)
        return eng_err(rc, "remove", oid);
    return 1;
}

/*
 * One purge entry (kind D): the soft-deleted container whose record key is in the value.  Removes
 * the record if it is still the one read and its time has come, queues its id's drop, and says
 * what to do with the entry: 1 purged (remove the entry), 0 gone already (remove it), 2 keep it.
 */
static int
purge_container(struct rados_eng *r, struct arena *a, const char *val, size_t vl, uint64_t cid,
                int64_t now)
{
    const char *account = val, *dkp = memchr(val, 0, vl);
    struct omap_edit ed = {0};
    struct container_rec c;
    struct buf dk = BUF_INIT, pk = BUF_INIT, pv = BUF_INIT, nv = BUF_INIT;
    char oid[300], poid[32], *v;
    size_t rawl;
    int rc, held;

    if (dkp == NULL)
        return 0; /* not an entry this version writes */
    buf_add(&dk, dkp + 1, vl - (size_t)(dkp + 1 - val));
    buf_add(&pv, val, vl);
    oid_account(oid, sizeof(oid), account);
    rc = buf_ok(&dk) ? omap_get(r->idx, oid, &dk, a, &v, &rawl) : CO_EBACKEND;
    if (rc == CO_ENOTFOUND) { /* restored, or purged by a round that died before this entry */
        rc = gc_drop_container(r, account, cid) == 0 ? 0 : 2;
        goto out;
    }
    if (rc != 0 || meta_container_decode(a, v, rawl, &c) != 0) {
        rc = 2; /* unreadable: left for the next round and fsck */
        goto out;
    }
    if (c.purge_at > now) { /* its time moved: an entry at the new time replaces this one */
        purge_entry(poid, sizeof(poid), &pk, &c);
        rc = entry_put(r->idx, poid, &pk, &pv, 1) == 0 ? 0 : 2;
        goto out;
    }
    rc = 2;
    edit_cmp(&ed, &dk, v, rawl);
    if ((held = container_protected(r, a, c.id, now)) < 0)
        goto out;
    if (held) { /* it holds protected records: it stays restorable, looked at again later */
        c.purge_at = now + PROTECT_RECHECK;
        meta_container_encode(&c, &nv);
        purge_entry(poid, sizeof(poid), &pk, &c);
        edit_set(&ed, &dk, &nv);
        if (buf_ok(&nv) && entry_put(r->idx, poid, &pk, &pv, 1) == 0 &&
            omap_apply(r->idx, oid, &ed) == 0)
            rc = 0;
        goto out;
    }
    edit_rm(&ed, &dk);
    if (omap_apply(r->idx, oid, &ed) == 0 && gc_drop_container(r, account, c.id) == 0)
        rc = 1;
out:
    buf_free(&nv);
    buf_free(&dk);
    buf_free(&pk);
    buf_free(&pv);
    return rc;
}

/* ---- merge hints (engine.h, "Merging"): GC entries of kind 'm' ------------------------------ */

static int
rados_merge_hint(struct engine *e, const struct eng_blob *b, int64_t due)
{
    struct buf k = BUF_INIT, v = BUF_INIT;
    char oid[32];
    int rc = CO_EBACKEND;

    snprintf(oid, sizeof(oid), "gc.%u", (unsigned)(b->cid % LIST_SHARDS));
    hex64(&k, (uint64_t)due);
    buf_putc(&k, 'm');
    hex64(&k, eng_next_etag(e)); /* each hint its own entry: a round drops only what it read */
    eng_hint_encode(&v, b);
    if (buf_ok(&k) && buf_ok(&v) && entry_put(R(e)->idx, oid, &k, &v, 1) == 0)
        rc = 0;
    buf_free(&k);
    buf_free(&v);
    return rc;
}

/* Merges the layers of the blob of hint v: 1 done (the entry goes), 2 kept for the next round. */
static int
gc_merge(struct rados_eng *r, struct arena *a, const char *v, size_t vl)
{
    struct engine e = {&rados_ops, r};
    struct eng_blob b;
    uint64_t moved = 0;
    int rc;

    if (eng_hint_decode(a, v, vl, &b) != 0)
        return 1; /* not an entry this version writes */
    rc = eng_pages_merge(&e, &b, &moved);
    return rc == 0 || rc == CO_ENOCONT ? 1 : 2;
}

/* Works the due entries of one list object under its lease; kinds: 'D' and 'B' purge, 'c', 'd'
 * (payloads, rados_data.c), 'l' (page map layers, rados_blob.c) and 'm' (merge hints) GC.
 * wait: when another gateway holds the lease, wait for it (up to
 * twice its duration) rather than skip the object.  What it did is added to *st.  0, or -1 when
 * the cluster failed us (or, wait, the lease never came). */
static int
work_list(struct rados_eng *r, const char *oid, int64_t now, int wait, struct rados_gc_stats *st)
{
    struct arena *a = NULL;
    struct omap_cursor c = {0};
    struct buf k = BUF_INIT;
    struct timespec t, renewed;
    int n = 0, rc, tries = 0;

    while ((rc = lock_take(r, oid, "lease", r->cookie, LEASE_SECS, 0)) == 0 && wait &&
           tries++ < 2 * LEASE_SECS)
        sleep(1); /* a gateway's round holds it: it ends, or its lease runs out */
    if (rc != 1) {
        if (wait)
            log_error("rados: %s: the lease did not come free", oid);
        return rc == 0 && !wait ? 0 : -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &renewed);
    if ((a = arena_new(SCRATCH_CAP)) == NULL) {
        n = -1;
        goto out;
    }
    cursor_open(&c, r->idx, oid);
    while ((rc = cursor_next(&c)) == 0 && c.k != NULL) {
        char due[17], id[17];
        int done;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - renewed.tv_sec > LEASE_SECS / 3) { /* lost: another gateway goes on */
            if (lock_take(r, oid, "lease", r->cookie, LEASE_SECS, 1) != 1)
                break;
            renewed = t;
        }
        if (c.k[0] == '~')
            break; /* past the entries: marks (rados_data.c) */
        if (c.kl < 33)
            continue; /* not an entry */
        memcpy(due, c.k, 16);
        due[16] = 0;
        if ((int64_t)strtoull(due, NULL, 16) > now)
            break; /* keys sort by due time */
        memcpy(id, c.k + 17, 16);
        id[16] = 0;
        if (c.k[16] == 'D' || c.k[16] == 'B') {
            done = c.k[16] == 'D' ? purge_container(r, a, c.v, c.vl, strtoull(id, NULL, 16), now)
                                  : purge_blob(r, a, c.k + 17, c.kl - 17, c.v, c.vl,
                                               (int64_t)strtoull(due, NULL, 16), now);
            st->records += done == 1;
        } else if (c.k[16] == 'c') {
            done = drop_container(r, a, c.v, strtoull(id, NULL, 16));
            st->containers += done == 1;
            done = done < 0 ? 2 : 0;
        } else if (c.k[16] == 'd') {
            done = rdata_gc_entry(r->dp, oid, c.k, c.kl, c.v, c.vl);
            st->payloads += done == 1;
        } else if (c.k[16] == 'l') {
            done = gc_layers(r, c.v, c.vl, (int64_t)strtoull(due, NULL, 16), now);
        } else if (c.k[16] == 'm') {
            done = gc_merge(r, a, c.v, c.vl);
        } else {
            done = 2;
        }
        st->left += done == 2;
        if (done != 2) {
            buf_reset(&k);
            buf_add(&k, c.k, c.kl);
            if (entry_put(r->idx, oid, &k, NULL, 0) != 0)
                log_warn("rados: %s: entry left for the next round", oid);
        }
    }
    if (rc != 0)
        n = -1;
out:
    cursor_close(&c);
    lock_give(r, oid, "lease", r->cookie);
    arena_free(a);
    buf_free(&k);
    return n;
}

/* Works the purge list, then the GC list (wait: for each shard's lease): 0 or -1. */
static int
work_lists(struct rados_eng *r, int64_t now, int wait, struct rados_gc_stats *st)
{
    char oid[32];
    int rc = 0;

    for (int k = 0; k < 2 * LIST_SHARDS; k++) {
        snprintf(oid, sizeof(oid), "%s.%d", k < LIST_SHARDS ? "purge" : "gc", k % LIST_SHARDS);
        if (work_list(r, oid, now, wait, st) < 0)
            rc = -1;
    }
    return rc;
}

/* The engine's background round: the purge list, then the GC list (engine.h has no call of its
 * own for the GC; `cobalt gc` runs the same round at once: rados_gc_run). */
static long
rados_purge_expired(struct engine *e, int64_t now)
{
    struct rados_gc_stats st = {0};

    return work_lists(R(e), now, 0, &st) < 0 ? -1 : (long)st.records;
}

int
rados_gc_run(struct engine *e, int64_t now, struct rados_gc_stats *st)
{
    if (e->ops != &rados_ops)
        return CO_EBACKEND;
    return work_lists(R(e), now, 1, st) < 0 ? CO_EBACKEND : 0;
}

/* ---- service properties (key P of acct.<account>) ----------------------------------------- */

static int
rados_service_props_get(struct engine *e, struct arena *a, const char *account, size_t *n,
                        struct meta_pair **props)
{
    struct buf k = BUF_INIT;
    char oid[300], *v;
    size_t vl;
    int rc;

    *n = 0;
    *props = NULL;
    oid_account(oid, sizeof(oid), account);
    buf_putc(&k, 'P');
    rc = buf_ok(&k) ? omap_get(R(e)->idx, oid, &k, a, &v, &vl) : CO_EBACKEND;
    buf_free(&k);
    if (rc == CO_ENOTFOUND)
        return 0;
    if (rc == 0 && meta_props_decode(a, v, vl, n, props) != 0)
        rc = CO_EBACKEND;
    return rc;
}

/* None set is no key: so "expect none" is one compare with the empty value. */
static int
rados_service_props_set(struct engine *e, const char *account, size_t nexpect,
                        const struct meta_pair *expect, size_t n, const struct meta_pair *props)
{
    struct omap_edit ed = {.create = 1};
    struct buf k = BUF_INIT, want = BUF_INIT, v = BUF_INIT;
    char oid[300];
    int rc = CO_EBACKEND;

    oid_account(oid, sizeof(oid), account);
    buf_putc(&k, 'P');
    if (nexpect)
        meta_props_encode(nexpect, expect, &want);
    if (n)
        meta_props_encode(n, props, &v);
    if (buf_ok(&k) && buf_ok(&want) && buf_ok(&v)) {
        edit_cmp(&ed, &k, want.p ? want.p : "", want.len);
        if (n)
            edit_set(&ed, &k, &v);
        else
            edit_rm(&ed, &k);
        rc = omap_apply_record(R(e)->idx, oid, &ed, props_reencode);
    }
    buf_free(&k);
    buf_free(&want);
    buf_free(&v);
    return rc;
}

/* ---- counting the operations ---------------------------------------------------------------- */

/* The data pools' contexts of the engines of this process (one in a gateway). */
#define DATA_IOS 16
static _Atomic(rados_ioctx_t) data_ios[DATA_IOS];

void
rops_data_pool(rados_ioctx_t io, int add)
{
    rados_ioctx_t want = add ? NULL : io;

    for (size_t i = 0; i < DATA_IOS; i++) {
        rados_ioctx_t cur = want;

        if (atomic_compare_exchange_strong(&data_ios[i], &cur, add ? io : NULL))
            return;
    }
}

void
rops_count(rados_ioctx_t io, int write)
{
    int data = 0;

    for (size_t i = 0; i < DATA_IOS && !data; i++)
        data = atomic_load_explicit(&data_ios[i], memory_order_relaxed) == io;
    metric_add(data ? (write ? M_RADOS_DATA_WRITES : M_RADOS_DATA_READS)
                    : (write ? M_RADOS_IDX_WRITES : M_RADOS_IDX_READS),
               1);
}

/* ---- set-up ------------------------------------------------------------------------------- */

static void
rados_fini(struct engine *e)
{
    struct rados_eng *r = R(e);

    heartbeat_stop(r);
    rdata_free(r->dp);
    if (r->data != NULL) {
        rops_data_pool(r->data, 0);
        rados_ioctx_destroy(r->data);
    }
    if (r->idx != NULL)
        rados_ioctx_destroy(r->idx);
    if (r->cluster != NULL)
        rados_shutdown(r->cluster);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r->copy_desc);
    free(r);
}

static const struct engine_ops rados_ops = {
    .name = "rados",
    .fini = rados_fini,
    .next_etag = rados_next_etag,
    .container_get = rados_container_get,
    .container_create = rados_container_create,
    .container_update = rados_container_update,
    .container_delete = rados_container_delete,
    .container_restore = rados_container_restore,
    .container_rename = rados_container_rename,
    .container_list = rados_container_list,
    .container_next = rados_container_next,
    .iter_free = rados_iter_free,
    .purge_expired = rados_purge_expired,
    .service_props_get = rados_service_props_get,
    .service_props_set = rados_service_props_set,
    .blob_get = rados_blob_get,
    .blob_commit = rados_blob_commit,
    .blob_subs = rados_blob_subs,
    .blob_list = rados_blob_list,
    .blob_next = rados_blob_next,
    .skip_past = rados_skip_past,
    .blocks_list = rados_blocks_list,
    .tag_list = rados_tag_list,
    .tag_next = rados_tag_next,
    .copy_recover = rados_copy_recover,
    .page_commit = rados_page_commit,
    .page_list = rados_page_list,
    .merge_hint = rados_merge_hint,
    .failed = rdata_failed,
    .write_begin = rdata_write_begin,
    .write = rdata_write,
    .write_finish = rdata_write_finish,
    .write_abort = rdata_write_abort,
    .sync = rdata_sync,
    .release = rdata_release,
    .reader_new = rdata_reader_new,
    .reader_free = rdata_reader_free,
    .read = rdata_read,
};

int
eng_rados_set_stripe(struct engine *e, uint64_t bytes)
{
    unsigned shift = 0;

    if (e->ops != &rados_ops || bytes == 0 || (bytes & (bytes - 1)) != 0)
        return EINVAL;
    while (1ull << shift < bytes)
        shift++;
    return rdata_set_stripe(R(e)->dp, shift);
}

/* Creates cobalt.ids with both counters at 0 unless a gateway did already. */
static int
ids_init(struct rados_eng *r)
{
    rados_write_op_t op = rados_create_write_op();
    int rc;

    if (op == NULL)
        return CO_EBACKEND;
    rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
    rados_write_op_setxattr(op, "cid", "0", 1);
    rados_write_op_setxattr(op, "etag", "0", 1);
    rc = rados_write_op_operate2(op, r->idx, IDS_OID, NULL, 0);
    rados_release_write_op(op);
    return rc == 0 || rc == -EEXIST ? 0 : eng_err(rc, "create", IDS_OID);
}

int
eng_rados_init(struct engine *e, const char *conf, const char *user, const char *pool_index,
               const char *pool_data)
{
    struct rados_eng *r = calloc(1, sizeof(*r));
    const char *step = "rados_create2";
    char name[128];
    int rc;

    if (r == NULL)
        return CO_EBACKEND;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    e->ops = &rados_ops;
    e->impl = r;
    if (user == NULL)
        user = "admin";
    snprintf(name, sizeof(name), "%s%s", strncmp(user, "client.", 7) == 0 ? "" : "client.", user);
    if ((rc = rados_create2(&r->cluster, "ceph", name, 0)) < 0)
        goto fail;
    step = "reading the configuration";
    if ((rc = rados_conf_read_file(r->cluster, conf)) < 0)
        goto fail;
    /* A request fails (503) rather than hangs while the cluster is unreachable. */
    rados_conf_set(r->cluster, "rados_osd_op_timeout", "30");
    rados_conf_set(r->cluster, "rados_mon_op_timeout", "30");
    step = "connecting";
    if ((rc = rados_connect(r->cluster)) < 0)
        goto fail;
    step = "opening the index pool";
    if ((rc = rados_ioctx_create(r->cluster, pool_index, &r->idx)) < 0)
        goto fail;
    step = "opening the data pool";
    if ((rc = rados_ioctx_create(r->cluster, pool_data, &r->data)) < 0)
        goto fail;
    rops_data_pool(r->data, 1);
    snprintf(r->cookie, sizeof(r->cookie), "%" PRIu64, rados_get_instance_id(r->cluster));
    if (ids_init(r) != 0 || rdata_new(r->idx, r->data, &r->dp) != 0 || heartbeat_start(r) != 0) {
        eng_fini(e);
        return CO_EBACKEND;
    }
    return 0;
fail:
    log_error("rados: %s (conf %s, user %s): %s", step, conf, name, strerror(-rc));
    eng_fini(e);
    return CO_EBACKEND;
}
