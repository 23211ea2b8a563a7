/*
 * rados_blob.c -- the RADOS engine's blob records: reads, the compare-and-set commit, listings
 * merged across shards, staged blocks, the tag index, the purge of soft-deleted and expired
 * records, WORM checks of a container, pending copies and the gateways' heartbeat (docs/rados.md,
 * "The blob index" and after).
 *
 * The commit (R1, R2, R5 of rados.c hold here):
 *   1. before it, the secondary entries that must never be missing: the purge entry of a record
 *      it soft-deletes or gives an expiry, and the marker of a copy it makes pending (purge.<k>, copy.<k>) -- each a
 *      superset hint, which the purge and the copy sweep check against the record;
 *   2. a check of each other blob in another shard (a copy's source): one read op asserting its
 *      shard's fence and reading its record, compared whole;
 *   3. one write op on the blob's shard: cmpxattr(state, "open <container>"), omap_cmp of every
 *      record written or checked in that shard, then the records and what follows from them in
 *      the same object -- protection entries (H), tag index entries (T) of the current record,
 *      the staged blocks (U) dropped or added;
 *   4. after it, the removal of entries it made stale (old purge entry, finished copy's marker).
 * Payload references (docs/rados.md, "The pending protocol"): key L<seq> of a shard holds the
 * number of references to payload seq from that shard's records (one per block) and staged
 * blocks, then the payload's vol and len (what a drop names).  The commit op compares and sets every count it changes; before it, a payload going
 * from 0 to referenced is claimed (written by this request) or marked shared (named by a copy's
 * source, checked in step 2), and a payload going to 0 is dropped (the drop taken back if the op
 * loses its compare).
 * A lost compare is told from a closed fence by reading the fence (fence_check), which also
 * waits out a Delete Container in progress and reopens a fence a dead gateway left closing.
 */
#include "engine/rados_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "meta/meta.h"
#include "util/arena.h"
#include "util/crc.h"
#include "util/log.h"

#define FENCE_STALE  (2 * LEASE_SECS) /* a closing fence this old was left by a gateway that died */
#define BEAT_SECS    10               /* the heartbeat's renewal period */
#define ALIVE_SECS   30               /* a gateway not heard of for this long is gone */
#define SWEEP_BEATS  3                /* the copy sweep runs every this many beats */
#define GATEWAYS_OID "gateways"
#define FENCE_RETRY  1

/* ---- shards ------------------------------------------------------------------------------- */

int
shard_count(struct rados_eng *r, uint64_t cid, unsigned *n)
{
    unsigned slot = (unsigned)(cid % SHARD_CACHE);
    char oid[40], v[16];
    long got;
    int len;

    pthread_mutex_lock(&r->mu);
    *n = r->shards[slot].cid == cid ? r->shards[slot].shards : 0;
    pthread_mutex_unlock(&r->mu);
    if (*n != 0)
        return 0;
    snprintf(oid, sizeof(oid), "cont.%016" PRIx64, cid);
    if ((len = rados_getxattr(r->idx, oid, "shards", v, sizeof(v) - 1)) < 0)
        return len == -ENOENT || len == -ENODATA ? CO_ENOTFOUND : eng_err(len, "getxattr", oid);
    v[len] = 0;
    if ((got = strtol(v, NULL, 10)) <= 0 || got > 65536)
        return CO_EBACKEND;
    *n = (unsigned)got;
    pthread_mutex_lock(&r->mu);
    r->shards[slot].cid = cid;
    r->shards[slot].shards = *n;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

void
shard_oid(char oid[48], uint64_t cid, unsigned k)
{
    snprintf(oid, 48, "idx.%016" PRIx64 ".%u", cid, k);
}

unsigned
shard_of(const char *name, size_t nlen, unsigned shards)
{
    return crc32c(0, name, nlen) % shards;
}

int
blob_shard_oid(struct rados_eng *r, const struct eng_blob *b, char oid[48])
{
    unsigned shards;
    int rc;

    if ((rc = shard_count(r, b->cid, &shards)) != 0)
        return rc;
    shard_oid(oid, b->cid, shard_of(b->name, b->nlen, shards));
    return 0;
}

/* Runs one aio call on every shard of cid at once (set: setxattr(state, value), else remove):
 * 0 or CO_EBACKEND. */
static int
shards_each(struct rados_eng *r, uint64_t cid, unsigned shards, const char *value)
{
    rados_completion_t *done = calloc(shards ? shards : 1, sizeof(*done));
    char oid[48];
    int rc = done != NULL ? 0 : CO_EBACKEND;
    unsigned issued = 0;

    for (; rc == 0 && issued < shards; issued++) {
        shard_oid(oid, cid, issued);
        if (rados_aio_create_completion2(NULL, NULL, &done[issued]) != 0) {
            rc = CO_EBACKEND;
            break;
        }
        if ((value != NULL
                 ? rados_aio_setxattr(r->idx, oid, done[issued], "state", value, strlen(value))
                 : rados_aio_remove(r->idx, oid, done[issued])) != 0) {
            rados_aio_release(done[issued]);
            done[issued] = NULL;
            rc = CO_EBACKEND;
        }
    }
    for (unsigned k = 0; k < issued; k++) {
        int got;
        if (done[k] == NULL)
            continue;
        rados_aio_wait_for_complete(done[k]);
        got = rados_aio_get_return_value(done[k]);
        rados_aio_release(done[k]);
        if (got != 0 && !(got == -ENOENT && value == NULL) && rc == 0) {
            shard_oid(oid, cid, k);
            rc = eng_err(got, value != NULL ? "setxattr" : "remove", oid);
        }
    }
    free(done);
    return rc;
}

int
fence_set(struct rados_eng *r, uint64_t cid, unsigned shards, const char *value)
{
    return shards_each(r, cid, shards, value);
}

int
shards_remove(struct rados_eng *r, uint64_t cid, unsigned shards)
{
    struct engine e = {NULL, r};

    /* Every payload a shard references is dropped first (the shard gone, its drops delete). */
    for (unsigned i = 0; i < shards; i++) {
        struct omap_cursor c = {0};
        char oid[48];
        int rc;
        shard_oid(oid, cid, i);
        buf_putc(&c.prefix, 'L');
        cursor_open(&c, r->idx, oid);
        while ((rc = cursor_next(&c)) == 0 && c.k != NULL) {
            struct extent x = {0};
            char v[80];
            unsigned vol;
            if (c.kl != 17 || c.vl >= sizeof(v))
                continue;
            memcpy(v, c.v, c.vl);
            v[c.vl] = 0;
            x.seq = unhex64(c.k + 1);
            if (sscanf(v, "%*d %u %" SCNu64, &vol, &x.len) == 2) {
                x.vol = vol;
                rdata_drop(&e, &x, oid, NULL); /* a failure is logged: fsck finds it */
            }
        }
        cursor_close(&c);
        if (rc != 0)
            return rc;
    }
    return shards_each(r, cid, shards, NULL);
}

/* ---- keys ---------------------------------------------------------------------------------- */

/* The place of a record of blob `name`: lead, the name encoded and ended, then for a snapshot or
 * version its kind and id.  Lead 'B': the record; 'H': its protection entry. */
static void
place(struct buf *k, const char *name, size_t nlen, char kind, int64_t id)
{
    name_esc(k, name, nlen, 1);
    if (kind != ENG_CURRENT) {
        buf_putc(k, kind);
        hex64(k, (uint64_t)id);
    }
}

void
rec_key(struct buf *k, char lead, const char *name, size_t nlen, char kind, int64_t id)
{
    buf_putc(k, lead);
    place(k, name, nlen, kind, id);
}

/* The kind of the record whose place (after the lead) is p[0..n): ENG_CURRENT, ENG_SNAPSHOT,
 * ENG_VERSION, or -1 when p is not a place; *e: where the name ends. */
static int
place_kind(const char *p, size_t n, size_t *e)
{
    size_t rest;

    if ((*e = name_end(p, n)) == n)
        return -1;
    rest = n - *e - 2;
    if (rest == 0)
        return ENG_CURRENT;
    return rest == 17 && (p[*e + 2] == ENG_SNAPSHOT || p[*e + 2] == ENG_VERSION) ? p[*e + 2] : -1;
}

/* The name, kind and id of the place p[0..n): 0, or -1 when it is not a place. */
int
place_parse(struct arena *a, const char *p, size_t n, const char **name, size_t *nlen, char *kind,
            int64_t *id)
{
    size_t e;
    int k = place_kind(p, n, &e);

    if (k < 0 || (*name = key_dec(a, p, e, nlen)) == NULL)
        return -1;
    *kind = (char)k;
    *id = k == ENG_CURRENT ? 0 : (int64_t)unhex64(p + e + 3);
    return 0;
}

/* 'T' key value 0x00 name, encoded: the tag index entry, whose tail is the encoded position. */
void
tag_key(struct buf *k, const char *key, const char *value, const char *name, size_t nlen)
{
    buf_putc(k, 'T');
    name_esc(k, key, strlen(key), 1);
    name_esc(k, value, strlen(value), 1);
    key_enc(k, name, nlen);
}

/* 'U' name block-id, encoded: a staged block.  id NULL: the prefix of all of the name's. */
void
block_key(struct buf *k, const char *name, size_t nlen, const char *id, size_t idlen)
{
    buf_putc(k, 'U');
    name_esc(k, name, nlen, 1);
    if (id != NULL)
        key_enc(k, id, idlen);
}

/* The purge entry of a record due for purge (soft-deleted or expiring): object purge.<cid mod 8>,
 * key <due>B<cid><place>. */
void
purge_key(char oid[32], struct buf *k, uint64_t cid, int64_t due, const char *name, size_t nlen,
          char kind, int64_t id)
{
    snprintf(oid, 32, "purge.%u", (unsigned)(cid % LIST_SHARDS));
    hex64(k, (uint64_t)due);
    buf_putc(k, 'B');
    hex64(k, cid);
    place(k, name, nlen, kind, id);
}

/* The marker of a pending copy: object copy.<cid mod 8>, key <cid><encoded name, ended><copy
 * id>. */
void
copy_key(char oid[32], struct buf *k, uint64_t cid, const char *name, size_t nlen,
         const char *copy_id)
{
    snprintf(oid, 32, "copy.%u", (unsigned)(cid % LIST_SHARDS));
    hex64(k, cid);
    name_esc(k, name, nlen, 1);
    buf_puts(k, copy_id);
}

/* ---- what a commit writes: the plan --------------------------------------------------------- */

/* The slot after the n elements of size `size` at *v, the array grown (in a) when full. */
static void *
grow(struct arena *a, void **v, size_t n, size_t *cap, size_t size)
{
    if (n == *cap) {
        char *nv = arena_alloc(a, size * (*cap = *cap * 2 + 8));
        if (nv == NULL)
            return NULL;
        if (n)
            memcpy(nv, *v, size * n);
        *v = nv;
    }
    return (char *)*v + size * n;
}

struct side {
    char oid[32];
    const char *k, *v;
    size_t kl, vl;
    int set;
};

#define SIDES 8

/* A change of the reference count of one payload in the commit's shard. */
struct pref {
    struct extent ext;
    int delta;
    int src;      /* named by a record another shard holds (a copy's source) */
    int drop;     /* the count falls to 0: dropped before the op (rdata_drop) */
    uint64_t due; /* ...by the GC-list entry due then */
};

struct plan {
    struct arena *a;
    struct omap_edit ed;
    struct side pre[SIDES], post[SIDES]; /* secondary entries before and after the op */
    size_t npre, npost;
    struct pref *refs;
    size_t nrefs, caprefs;
    int bad;
};

static const char *
plan_dup(struct plan *p, const char *s, size_t n)
{
    char *c = arena_alloc(p->a, n + 1);

    if (c == NULL) {
        p->bad = 1;
        return NULL;
    }
    if (n > 0) /* s may be NULL then */
        memcpy(c, s, n);
    c[n] = 0;
    return c;
}

/* Adds to the op: 'c' compare k with v, 's' set k to v, 'r' remove k.  The bytes are copied. */
static void
plan_op(struct plan *p, char what, const struct buf *k, const char *v, size_t vl)
{
    const char *kc, *vc = "";

    if (!buf_ok(k) || (kc = plan_dup(p, k->p, k->len)) == NULL ||
        (v != NULL && (vc = plan_dup(p, v, vl)) == NULL)) {
        p->bad = 1;
        return;
    }
    if (what == 'c')
        edit_push(&p->ed, 'c', kc, k->len, vc, vl);
    else if (what == 's')
        edit_push(&p->ed, 's', kc, k->len, vc, vl);
    else
        edit_push(&p->ed, 'r', kc, k->len, NULL, 0);
}

/* Compares the record at k with r (NULL: none). */
static void
plan_cmp_rec(struct plan *p, const struct buf *k, const struct blob_rec *r)
{
    struct buf v = BUF_INIT;

    if (r != NULL)
        meta_blob_encode(r, &v);
    if (!buf_ok(&v))
        p->bad = 1;
    plan_op(p, 'c', k, v.p, v.len);
    buf_free(&v);
}

/* A secondary entry of oid to set (value v) or remove, before (post 0) or after the op. */
static void
plan_side(struct plan *p, int post, const char *oid, const struct buf *k, const char *v, size_t vl,
          int set)
{
    struct side *s;

    if ((post ? p->npost : p->npre) == SIDES || !buf_ok(k)) {
        p->bad = 1;
        return;
    }
    s = post ? &p->post[p->npost++] : &p->pre[p->npre++];
    snprintf(s->oid, sizeof(s->oid), "%s", oid);
    s->k = plan_dup(p, k->p, k->len);
    s->kl = k->len;
    s->v = set ? plan_dup(p, v, vl) : NULL;
    s->vl = vl;
    s->set = set;
}

/* Counts delta more references to payload x (none for an empty block). */
static void
plan_ref(struct plan *p, const struct extent *x, int delta, int src)
{
    struct pref *f;

    if (x->len == 0 || rdata_inline(x))
        return; /* an empty block, or an inline payload: in the record itself */
    if ((f = grow(p->a, (void **)&p->refs, p->nrefs, &p->caprefs, sizeof(*f))) == NULL) {
        p->bad = 1;
        return;
    }
    *f = (struct pref){*x, delta, src, 0, 0};
    p->nrefs++;
}

static void
plan_ref_rec(struct plan *p, const struct blob_rec *rec, int delta, int src)
{
    for (size_t i = 0; rec != NULL && i < rec->nblocks; i++)
        plan_ref(p, &rec->blocks[i].ext, delta, src);
}

/* The staged blocks of blob `name` in shard oid lose their references (a range removal). */
static void
plan_unref_staged(struct rados_eng *r, struct plan *p, const char *oid, const char *name,
                  size_t nlen)
{
    struct omap_cursor c = {0};
    struct extent x;

    block_key(&c.prefix, name, nlen, NULL, 0);
    buf_add(&c.seek, c.prefix.p, c.prefix.len);
    cursor_open(&c, r->idx, oid);
    while (cursor_next(&c) == 0 && c.k != NULL)
        if (meta_extent_decode(c.v, c.vl, &x) == 0)
            plan_ref(p, &x, -1, 0);
    if (c.prval != 0 || c.k != NULL)
        p->bad = 1;
    cursor_close(&c);
}

static int
pref_order(const void *a, const void *b)
{
    uint64_t x = ((const struct pref *)a)->ext.seq, y = ((const struct pref *)b)->ext.seq;

    return x < y ? -1 : x > y;
}

/*
 * Turns p->refs into the reference keys' compares and edits of the op on shard oid, claiming or
 * marking shared every payload that becomes referenced there: 0, CO_ECONFLICT (a count changed:
 * read again), CO_EBACKEND (also: a payload this request wrote was given up meanwhile).
 */
static int
plan_refs(struct engine *e, struct plan *p, const char *oid)
{
    struct rados_eng *r = R(e);
    size_t n = 0, nk = 0, nh = 0, gkl, gvl;
    const char **keys;
    size_t *kls;
    uint64_t *hseq;
    const char **hval;
    char *gk, *gv;
    rados_read_op_t op;
    rados_omap_iter_t it = NULL;
    int prval = 0, rc;

    if (p->nrefs == 0)
        return 0;
    qsort(p->refs, p->nrefs, sizeof(*p->refs), pref_order);
    for (size_t i = 0; i < p->nrefs; i++) { /* one entry per payload */
        if (n > 0 && p->refs[n - 1].ext.seq == p->refs[i].ext.seq) {
            p->refs[n - 1].delta += p->refs[i].delta;
            p->refs[n - 1].src |= p->refs[i].src;
        } else {
            p->refs[n++] = p->refs[i];
        }
    }
    p->nrefs = n;
    keys = arena_alloc(p->a, n * sizeof(*keys));
    kls = arena_alloc(p->a, n * sizeof(*kls));
    if (keys == NULL || kls == NULL)
        return CO_EBACKEND;
    for (size_t i = 0; i < n; i++) {
        char *k;
        if (p->refs[i].delta == 0 || (k = arena_alloc(p->a, 18)) == NULL)
            continue;
        rdata_ref_key(&p->refs[i].ext, k);
        keys[nk] = k;
        kls[nk++] = 17;
    }
    if (nk == 0)
        return 0;
    if ((op = rados_create_read_op()) == NULL)
        return CO_EBACKEND;
    rados_read_op_omap_get_vals_by_keys2(op, keys, nk, kls, &it, &prval);
    rc = rados_read_op_operate(op, r->idx, oid, 0);
    rc = rc == 0 && prval < 0 ? prval : rc;
    rc = rc == 0 || rc == -ENOENT ? 0 : eng_err(rc, "omap read", oid);
    /* The counts there are, in key order: the payloads' order (16 hex digits). */
    hseq = arena_alloc(p->a, nk * sizeof(*hseq));
    hval = arena_alloc(p->a, nk * sizeof(*hval));
    if (hseq == NULL || hval == NULL)
        rc = CO_EBACKEND;
    while (rc == 0 && it != NULL && rados_omap_get_next2(it, &gk, &gv, &gkl, &gvl) == 0 &&
           gk != NULL && nh < nk) {
        hseq[nh] = gkl == 17 ? unhex64(gk + 1) : UINT64_MAX;
        if ((hval[nh++] = plan_dup(p, gv, gvl)) == NULL)
            rc = CO_EBACKEND;
    }
    for (size_t i = 0, j = 0; rc == 0 && i < n; i++) {
        struct pref *f = &p->refs[i];
        const char *was = "";
        char num[80];
        long have = 0, now;
        struct buf k = BUF_INIT;
        if (f->delta == 0)
            continue;
        while (j < nh && hseq[j] < f->ext.seq)
            j++;
        if (j < nh && hseq[j] == f->ext.seq)
            have = strtol(was = hval[j], NULL, 10);
        if ((now = have + f->delta) < 0) {
            log_warn("rados: %s: payload %016" PRIx64 " had %ld references, %d removed", oid,
                     f->ext.seq, have, -f->delta);
            now = 0;
        }
        rdata_ref_key(&f->ext, num);
        buf_add(&k, num, 17);
        plan_op(p, 'c', &k, was, strlen(was));
        snprintf(num, sizeof(num), "%ld %u %" PRIu64, now, f->ext.vol, f->ext.len);
        plan_op(p, now ? 's' : 'r', &k, num, strlen(num));
        buf_free(&k);
        f->drop = have > 0 && now == 0;
        if (have == 0 && now > 0 && f->src)
            rc = rdata_share(e, &f->ext);
        else if (have == 0 && now > 0 && (rc = rdata_claim(e, &f->ext, oid)) == CO_ECONFLICT) {
            log_error("rados: payload %016" PRIx64 " was given up before its commit", f->ext.seq);
            rc = CO_EBACKEND;
        }
    }
    if (it != NULL)
        rados_omap_get_end(it);
    rados_release_read_op(op);
    return rc != 0 ? rc : p->bad ? CO_EBACKEND : 0;
}

/* Whether r is due for purge (at == 0) or due at `at`: a soft-deleted record at the end of its
 * retention, a live one at its expiry (Set Blob Expiry). */
int
due_at(const struct blob_rec *r, int64_t at)
{
    return r != NULL && r->purge_at != 0 && (at == 0 || r->purge_at == at);
}

/*
 * Adds to p the write of record kind/id of blob `name` (shard `shard` of cid) from old to rec
 * (either NULL), and what follows from it (the file's top comment).  The compare of old is the
 * caller's.
 */
static void
plan_write(struct rados_eng *r, struct plan *p, uint64_t cid, unsigned shard, const char *name,
           size_t nlen, char kind, int64_t id, const struct blob_rec *old,
           const struct blob_rec *rec)
{
    struct buf k = BUF_INIT, v = BUF_INIT;
    char oid[32], owner[64], soid[48];

    plan_ref_rec(p, old, -1, 0);
    plan_ref_rec(p, rec, 1, 0);
    rec_key(&k, 'B', name, nlen, kind, id);
    if (rec != NULL) {
        meta_blob_encode(rec, &v);
        p->bad |= !buf_ok(&v);
        plan_op(p, 's', &k, v.p, v.len);
    } else {
        plan_op(p, 'r', &k, NULL, 0);
    }
    buf_reset(&k);
    rec_key(&k, 'H', name, nlen, kind, id);
    if (eng_carries_protection(rec))
        plan_op(p, 's', &k, "", 0);
    else if (eng_carries_protection(old))
        plan_op(p, 'r', &k, NULL, 0);
    if (due_at(rec, 0) && !due_at(old, rec->purge_at)) {
        buf_reset(&k);
        buf_reset(&v);
        purge_key(oid, &k, cid, rec->purge_at, name, nlen, kind, id);
        buf_printf(&v, "%u", shard);
        plan_side(p, 0, oid, &k, v.p, v.len, 1);
    }
    if (due_at(old, 0) && !due_at(rec, old->purge_at)) {
        buf_reset(&k);
        purge_key(oid, &k, cid, old->purge_at, name, nlen, kind, id);
        plan_side(p, 1, oid, &k, NULL, 0, 0);
    }
    if (kind == ENG_CURRENT) {
        const struct blob_rec *was = eng_indexed(old), *now = eng_indexed(rec);
        for (size_t i = 0; was != NULL && i < was->ntags; i++) {
            if (eng_has_pair(now, &was->tags[i]))
                continue;
            buf_reset(&k);
            tag_key(&k, was->tags[i].name, was->tags[i].value, name, nlen);
            plan_op(p, 'r', &k, NULL, 0);
        }
        for (size_t i = 0; now != NULL && i < now->ntags; i++) {
            if (eng_has_pair(was, &now->tags[i]))
                continue;
            buf_reset(&k);
            tag_key(&k, now->tags[i].name, now->tags[i].value, name, nlen);
            plan_op(p, 's', &k, "", 0);
        }
        if (eng_staged(old) &&
            !eng_staged(rec)) { /* [U name, U name with its end's last byte + 1) */
            shard_oid(soid, cid, shard);
            plan_unref_staged(r, p, soid, name, nlen);
            buf_reset(&k);
            block_key(&k, name, nlen, NULL, 0);
            p->ed.range.k = plan_dup(p, k.p, k.len);
            p->ed.range.kl = k.len;
            k.p[k.len - 1]++;
            p->ed.range.v = plan_dup(p, k.p, k.len);
            p->ed.range.vl = k.len;
        }
        if (eng_copy_pending(rec) &&
            !(eng_copy_pending(old) && strcmp(old->copy.id, rec->copy.id) == 0)) {
            buf_reset(&k);
            copy_key(oid, &k, cid, name, nlen, rec->copy.id);
            snprintf(owner, sizeof(owner), "%s %u", r->cookie, shard);
            plan_side(p, 0, oid, &k, owner, strlen(owner), 1);
        }
        if (eng_copy_pending(old) &&
            !(eng_copy_pending(rec) && strcmp(old->copy.id, rec->copy.id) == 0)) {
            buf_reset(&k);
            copy_key(oid, &k, cid, name, nlen, old->copy.id);
            plan_side(p, 1, oid, &k, NULL, 0, 0);
        }
    }
    buf_free(&k);
    buf_free(&v);
}

static int
side_run(struct rados_eng *r, const struct side *s)
{
    struct omap_edit ed = {.create = s->set};

    if (s->set)
        edit_push(&ed, 's', s->k, s->kl, s->v, s->vl);
    else
        edit_push(&ed, 'r', s->k, s->kl, NULL, 0);
    return omap_apply(r->idx, s->oid, &ed);
}

static int
blob_reencode(struct arena *a, const char *v, size_t vl, struct buf *out)
{
    struct blob_rec b;

    if (meta_blob_decode(a, v, vl, &b) != 0)
        return -1;
    meta_blob_encode(&b, out);
    return buf_ok(out) ? 0 : -1;
}

/*
 * After a commit on shard oid of blob b failed: 0 when the fence is b's (a record compare lost),
 * FENCE_RETRY when the commit may be tried again (a Delete Container in progress was waited for,
 * or a fence left behind was opened again), CO_ENOCONT when b's container is gone, CO_EBACKEND.
 */
static int
fence_check(struct engine *e, struct arena *a, const struct eng_blob *b, const char *oid,
            const char *want)
{
    struct rados_eng *r = R(e);
    struct timespec pause = {0, 10 * 1000 * 1000};
    struct container_rec c;
    char st[FENCE_MAX];
    rados_write_op_t op;
    int n = rados_getxattr(r->idx, oid, "state", st, sizeof(st) - 1), rc;

    if (n >= 0) {
        st[n] = 0;
        if (strcmp(st, want) == 0)
            return 0;
    } else if (n != -ENOENT && n != -ENODATA) {
        return eng_err(n, "getxattr", oid);
    }
    if ((rc = rados_container_get(e, a, b->account, b->container, &c)) == CO_ENOTFOUND ||
        (rc == 0 && c.id != b->cid))
        return CO_ENOCONT;
    if (rc != 0)
        return rc;
    if (n < 0) {
        log_error("rados: %s has no fence (cobalt fsck repairs it)", oid);
        return CO_EBACKEND;
    }
    if (strncmp(st, "closing ", 8) == 0 &&
        ticks_now() - strtoll(st + 8, NULL, 10) < FENCE_STALE * TICKS_PER_SEC) {
        nanosleep(&pause, NULL); /* a Delete Container is deciding */
        return FENCE_RETRY;
    }
    /* The container is live under this name with this id, yet the fence says otherwise: left by
     * a Delete or Restore Container that died.  Opened again, unless it changed meanwhile. */
    if ((op = rados_create_write_op()) == NULL)
        return CO_EBACKEND;
    rados_write_op_cmpxattr(op, "state", LIBRADOS_CMPXATTR_OP_EQ, st, (size_t)n);
    rados_write_op_setxattr(op, "state", want, strlen(want));
    rc = rados_write_op_operate2(op, r->idx, oid, NULL, 0);
    rados_release_write_op(op);
    if (rc == 0)
        log_warn("rados: %s: fence \"%s\" opened again", oid, st);
    return rc == 0 || rc == -ECANCELED ? FENCE_RETRY : eng_err(rc, "setxattr", oid);
}

/* Checks another blob's record (w->blob, in another shard object): its shard's fence is its
 * container's and the record is w->expect.  0, CO_ECONFLICT, FENCE_RETRY, CO_EBACKEND. */
static int
check_other(struct engine *e, struct arena *a, const struct eng_write *w)
{
    struct rados_eng *r = R(e);
    const struct eng_blob *ob = w->blob;
    rados_read_op_t op;
    rados_omap_iter_t it = NULL;
    struct buf k = BUF_INIT, have = BUF_INIT, want = BUF_INIT;
    char oid[48], fence[FENCE_MAX], *gk, *gv;
    const char *keys[1];
    size_t kls[1], gkl, gvl;
    unsigned shards;
    int rc, prval = 0;

    if ((rc = shard_count(r, ob->cid, &shards)) != 0)
        return rc == CO_ENOTFOUND ? CO_ECONFLICT : rc;
    shard_oid(oid, ob->cid, shard_of(ob->name, ob->nlen, shards));
    fence_open(fence, ob->container);
    rec_key(&k, 'B', ob->name, ob->nlen, w->kind, w->id);
    if (w->expect != NULL)
        meta_blob_encode(w->expect, &want);
    if (!buf_ok(&k) || !buf_ok(&want) || (op = rados_create_read_op()) == NULL) {
        buf_free(&k);
        buf_free(&want);
        return CO_EBACKEND;
    }
    keys[0] = k.p;
    kls[0] = k.len;
    rados_read_op_cmpxattr(op, "state", LIBRADOS_CMPXATTR_OP_EQ, fence, strlen(fence));
    rados_read_op_omap_get_vals_by_keys2(op, keys, 1, kls, &it, &prval);
    rc = rados_read_op_operate(op, r->idx, oid, 0);
    if (rc > 0) /* the OSD answers a true cmpxattr with 1 */
        rc = 0;
    if (rc == 0 && prval < 0)
        rc = prval;
    if (rc == -ECANCELED || rc == -ENODATA || rc == -ENOENT) {
        rc = fence_check(e, a, ob, oid, fence);
        rc = rc == CO_ENOCONT || rc == 0 ? CO_ECONFLICT : rc;
    } else if (rc != 0) {
        rc = eng_err(rc, "omap read", oid);
    } else if (rados_omap_get_next2(it, &gk, &gv, &gkl, &gvl) != 0) {
        rc = CO_EBACKEND;
    } else if (gk == NULL || w->expect == NULL) {
        rc = (gk == NULL) == (w->expect == NULL) ? 0 : CO_ECONFLICT;
    } else { /* compared re-encoded: a record in an older encoding equals its decoded self */
        rc = blob_reencode(a, gv, gvl, &have) != 0                           ? CO_EBACKEND
             : have.len == want.len && memcmp(have.p, want.p, have.len) == 0 ? 0
                                                                             : CO_ECONFLICT;
    }
    if (it != NULL)
        rados_omap_get_end(it);
    rados_release_read_op(op);
    buf_free(&k);
    buf_free(&have);
    buf_free(&want);
    return rc;
}

/* ---- page maps (rados_pages.c has the keys) --------------------------------------------- */

/* Adds the page write pw to the op on shard oid: the entries it overlaps are cut out, its edit
 * (eng_page_edit) set, and the payload references follow.  0 or CO_EBACKEND. */
static int
plan_page(struct rados_eng *r, struct plan *p, const char *oid, const struct eng_page_write *pw)
{
    struct buf k = BUF_INIT, v = BUF_INIT;
    struct eng_page *old, *nv;
    size_t nold, nnew;
    int rc;

    if ((rc = rpage_entries(r, p->a, oid, pw->layer, pw->off, pw->off + pw->len, SIZE_MAX, &old,
                            &nold)) != 0 ||
        (rc = eng_page_edit(p->a, old, nold, pw, &nv, &nnew)) != 0)
        return rc;
    for (size_t i = 0; i < nold; i++) {
        buf_reset(&k);
        rpage_key(&k, pw->layer, old[i].off + old[i].len);
        plan_op(p, 'r', &k, NULL, 0);
        plan_ref(p, &old[i].loc, -1, 0);
    }
    for (size_t i = 0; i < nnew; i++) {
        buf_reset(&k);
        buf_reset(&v);
        rpage_key(&k, pw->layer, nv[i].off + nv[i].len);
        rpage_value(&v, &nv[i]);
        plan_op(p, 's', &k, v.p, v.len);
        plan_ref(p, &nv[i].loc, 1, 0);
    }
    p->bad |= !buf_ok(&v);
    buf_free(&k);
    buf_free(&v);
    return 0;
}

static int
same_layers(const struct blob_rec *x, const struct blob_rec *y)
{
    return x->nlayers == y->nlayers &&
           (x->nlayers == 0 || memcmp(x->layers, y->layers, sizeof(*x->layers) * x->nlayers) == 0);
}

/* Whether records[0..n) name `layer`. */
static int
names_layer(const struct blob_rec *const *recs, size_t n, uint64_t layer)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; recs[i] != NULL && j < recs[i]->nlayers; j++)
            if (recs[i]->layers[j] == layer)
                return 1;
    return 0;
}

/* Plans the removal of the entries of page map layer `layer` of shard oid, with their payloads'
 * references, at most *budget of them (taken from it): 1 when entries are left past the budget,
 * 0 when none, or CO_EBACKEND. */
static int
plan_layer_removal(struct engine *e, struct plan *p, const char *oid, uint64_t layer,
                   size_t *budget)
{
    struct omap_cursor c = {0};
    struct eng_page pg;
    int rc, more = 0;

    rpage_key(&c.prefix, layer, UINT64_MAX);
    buf_add(&c.seek, c.prefix.p, c.prefix.len);
    cursor_open(&c, R(e)->idx, oid);
    while ((rc = cursor_next(&c)) == 0 && c.k != NULL) {
        struct buf k = BUF_INIT;
        if (*budget == 0) {
            more = 1;
            break;
        }
        if (rpage_decode(c.k, c.kl, c.v, c.vl, &pg) != 0) {
            rc = CO_EBACKEND;
            break;
        }
        buf_add(&k, c.k, c.kl);
        plan_op(p, 'r', &k, NULL, 0);
        plan_ref(p, &pg.loc, -1, 0);
        buf_free(&k);
        (*budget)--;
    }
    cursor_close(&c);
    return rc != 0 ? rc : more;
}

/*
 * The page map layers that records of blob b (in shard oid) name before w[0..n) (its own writes)
 * and no record names after: their entries are removed in the same op, with their payloads'
 * references -- DEAD_INLINE entries at most, so that a page blob of millions of written ranges
 * is deleted by an op of bounded size.  The layers with entries left past that go in a GC entry
 * (kind `l`, docs/rados.md), written before the op, that the GC works in batches (gc_layers).
 * Only when a write drops or changes a page blob record's layers.  0 or CO_EBACKEND.
 */
#define DEAD_INLINE 1000
static int
plan_dead_layers(struct engine *e, struct plan *p, const char *oid, const struct eng_blob *b,
                 const struct eng_write *w, size_t n)
{
    struct eng_entry *subs;
    struct blob_rec cur;
    const struct blob_rec **after;
    struct buf left = BUF_INIT, k = BUF_INIT, v = BUF_INIT;
    size_t ns, na = 0, budget = DEAD_INLINE, nleft = 0;
    uint64_t first = 0;
    int any = 0, rc;
    char gc[32];

    for (size_t i = 0; i < n; i++)
        any |= w[i].blob == NULL && w[i].rec != w[i].expect && w[i].expect != NULL &&
               w[i].expect->nlayers > 0 &&
               (w[i].rec == NULL || !same_layers(w[i].expect, w[i].rec));
    if (!any)
        return 0;
    if ((rc = rados_blob_get(e, p->a, b, ENG_CURRENT, 0, &cur)) != 0 && rc != CO_ENOTFOUND)
        return rc;
    if ((rc = rados_blob_subs(e, p->a, b, &subs, &ns)) != 0 ||
        (after = arena_alloc(p->a, sizeof(*after) * (ns + 1 + n))) == NULL)
        return rc != 0 ? rc : CO_EBACKEND;
    /* After the commit: each stored record, or what a write puts in its place, and every record
     * the writes store. */
    for (size_t j = 0; j < n; j++)
        if (w[j].blob == NULL)
            after[na++] = w[j].rec;
    for (size_t i = 0; i <= ns; i++) {
        char kind = i < ns ? subs[i].kind : ENG_CURRENT;
        int64_t id = i < ns ? subs[i].id : 0;
        const struct blob_rec *x = i < ns ? &subs[i].rec : eng_found(&cur);
        for (size_t j = 0; j < n; j++)
            if (w[j].blob == NULL && w[j].kind == kind && (kind == ENG_CURRENT || w[j].id == id))
                x = w[j].rec;
        after[na++] = x;
    }
    for (size_t j = 0; j < n; j++) {
        const struct blob_rec *x = w[j].expect;
        for (size_t l = 0; w[j].blob == NULL && x != NULL && l < x->nlayers; l++) {
            int seen = 0;
            for (size_t m = 0; m < j && !seen; m++) /* each layer once */
                seen = w[m].blob == NULL && w[m].expect != NULL &&
                       names_layer(&w[m].expect, 1, x->layers[l]);
            if (seen || names_layer(after, na, x->layers[l]))
                continue;
            if ((rc = plan_layer_removal(e, p, oid, x->layers[l], &budget)) < 0)
                goto out;
            if (rc == 1) {
                first = nleft++ ? first : x->layers[l];
                hex64(&left, x->layers[l]);
            }
        }
    }
    rc = 0;
    if (nleft > 0) { /* value: cid, the shard, the layers, the blob's name (gc_layers) */
        snprintf(gc, sizeof(gc), "gc.%u", (unsigned)(first % LIST_SHARDS));
        hex64(&k, (uint64_t)ticks_now());
        buf_putc(&k, 'l');
        hex64(&k, first);
        hex64(&v, b->cid);
        buf_puts(&v, oid);
        buf_putc(&v, 0);
        hex64(&v, nleft);
        buf_add(&v, left.p, left.len);
        buf_add(&v, b->name, b->nlen);
        plan_side(p, 0, gc, &k, v.p, v.len, 1);
    }
out:
    buf_free(&left);
    buf_free(&k);
    buf_free(&v);
    return rc;
}

/* The drops of the payloads whose count the op takes to 0, written before it (R2: a gateway
 * dying right after the op leaves them queued): 0 or CO_EBACKEND (those written taken back). */
static int
plan_drops(struct engine *e, struct plan *p, const char *oid)
{
    for (size_t i = 0; i < p->nrefs; i++) {
        if (!p->refs[i].drop || rdata_drop(e, &p->refs[i].ext, oid, &p->refs[i].due) == 0)
            continue;
        while (i-- > 0)
            if (p->refs[i].drop)
                rdata_undrop(e, &p->refs[i].ext, oid, p->refs[i].due);
        return CO_EBACKEND;
    }
    return 0;
}

/* The secondary entries that go before the op (R2): 0 or CO_EBACKEND (nothing committed). */
static int
plan_pre(struct rados_eng *r, struct plan *p)
{
    if (p->bad || p->ed.full)
        return CO_EBACKEND;
    for (size_t i = 0; i < p->npre; i++)
        if (side_run(r, &p->pre[i]) != 0)
            return CO_EBACKEND;
    return 0;
}

/*
 * The op on shard oid, then the entries that go after it.  b NULL: no fence and no checks (the
 * purge and the copy sweep, which compare their record).  Else b's fence, and the checks of
 * w[0..n) on blobs in other shards before every attempt.  0, CO_ECONFLICT, CO_ENOCONT, CO_EBACKEND.
 */
static int
plan_commit(struct engine *e, struct plan *p, const char *oid, const struct eng_blob *b,
            const struct eng_write *w, size_t n, const char *other)
{
    struct rados_eng *r = R(e);
    int rc, refreshed = 0, again = 0;

    if ((rc = plan_refs(e, p, oid)) != 0 || (rc = plan_drops(e, p, oid)) != 0)
        return rc;
    for (int tries = 0; tries < FENCE_STALE * 100 + 1000; tries++) {
        rc = 0;
        for (size_t i = 0; b != NULL && i < n && rc == 0; i++)
            if (other[i])
                rc = check_other(e, p->a, &w[i]);
        if (rc == FENCE_RETRY)
            continue;
        if (rc != 0)
            break;
        if ((rc = omap_apply(r->idx, oid, &p->ed)) != CO_ECONFLICT)
            break;
        if (b != NULL && !p->ed.lost) {
            /* The fence, or a compare?  A fence found open again after a refused Delete
             * Container may have been closed when the op ran: then the op is tried once more. */
            if ((rc = fence_check(e, p->a, b, oid, p->ed.fence)) == FENCE_RETRY)
                continue;
            if (rc != 0)
                break;
            if (!again++)
                continue;
        }
        rc = CO_ECONFLICT;
        if (refreshed || !cmp_refresh(r->idx, oid, &p->ed, p->a, blob_reencode))
            break;
        refreshed = 1; /* a record in an older encoding: compared with its stored bytes */
    }
    if (rc == FENCE_RETRY) {
        log_error("rados: %s: the fence stayed closed", oid);
        rc = CO_EBACKEND;
    }
    for (size_t i = 0; rc == 0 && i < p->npost; i++)
        if (side_run(r, &p->post[i]) != 0)
            log_warn("rados: %s: a stale entry left (checked against the record when used)",
                     p->post[i].oid);
    for (size_t i = 0; (rc == CO_ECONFLICT || rc == CO_ENOCONT) && i < p->nrefs; i++)
        if (p->refs[i].drop) /* the op wrote nothing: the references stay */
            rdata_undrop(e, &p->refs[i].ext, oid, p->refs[i].due);
    return rc;
}

/* ---- reads --------------------------------------------------------------------------------- */

int
rados_blob_get(struct engine *e, struct arena *a, const struct eng_blob *b, char kind, int64_t id,
               struct blob_rec *rec)
{
    struct rados_eng *r = R(e);
    struct buf k = BUF_INIT;
    char oid[48], *v;
    size_t vl;
    unsigned shards;
    int rc;

    memset(rec, 0, sizeof(*rec));
    if ((rc = shard_count(r, b->cid, &shards)) != 0)
        return rc;
    shard_oid(oid, b->cid, shard_of(b->name, b->nlen, shards));
    rec_key(&k, 'B', b->name, b->nlen, kind, id);
    rc = buf_ok(&k) ? omap_get(r->idx, oid, &k, a, &v, &vl) : CO_EBACKEND;
    if (rc == 0 && meta_blob_decode(a, v, vl, rec) != 0)
        rc = CO_EBACKEND;
    buf_free(&k);
    return rc;
}

/* ---- the commit ---------------------------------------------------------------------------- */

/* The commit of rados_blob_commit() and rados_page_commit(): stage may be NULL, npw 0. */
static int
commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
       const struct block_ref *stage, const struct eng_page_write *pw, size_t npw)
{
    struct rados_eng *r = R(e);
    struct plan *p = calloc(1, sizeof(*p));
    struct buf k = BUF_INIT, v = BUF_INIT;
    char oid[48], fence[FENCE_MAX], *other = calloc(n ? n : 1, 1);
    unsigned shards, shard;
    int rc;

    if (p == NULL || other == NULL || (p->a = p->ed.a = arena_new(SCRATCH_CAP)) == NULL) {
        rc = CO_EBACKEND;
        goto out;
    }
    if ((rc = shard_count(r, b->cid, &shards)) != 0) {
        rc = rc == CO_ENOTFOUND ? CO_ENOCONT : rc; /* no head: the id is gone */
        goto out;
    }
    shard = shard_of(b->name, b->nlen, shards);
    shard_oid(oid, b->cid, shard);
    fence_open(fence, b->container);
    p->ed.fence = fence;
    for (size_t i = 0; i < n; i++) {
        const struct eng_blob *wb = w[i].blob != NULL ? w[i].blob : b;
        if (w[i].blob != NULL && w[i].rec != w[i].expect) {
            rc = CO_EBACKEND; /* another blob is only checked */
            goto out;
        }
        if (w[i].blob != NULL)
            plan_ref_rec(p, w[i].expect, 0, 1);
        if (w[i].blob != NULL &&
            (wb->cid != b->cid || shard_of(wb->name, wb->nlen, shards) != shard)) {
            other[i] = 1; /* checked by its own read op (docs/rados.md, "Copies") */
            continue;
        }
        buf_reset(&k);
        rec_key(&k, 'B', wb->name, wb->nlen, w[i].kind, w[i].id);
        plan_cmp_rec(p, &k, w[i].expect);
        if (w[i].blob == NULL && w[i].rec != w[i].expect)
            plan_write(r, p, b->cid, shard, b->name, b->nlen, w[i].kind, w[i].id, w[i].expect,
                       w[i].rec);
    }
    if (stage != NULL) { /* replaces a staged block of that id, compared */
        struct extent was;
        char *sv;
        size_t svl;
        buf_reset(&k);
        block_key(&k, b->name, b->nlen, stage->id, stage->id_len);
        rc = buf_ok(&k) ? omap_get(r->idx, oid, &k, p->a, &sv, &svl) : CO_EBACKEND;
        if (rc == 0 && meta_extent_decode(sv, svl, &was) == 0)
            plan_ref(p, &was, -1, 0);
        else if (rc == CO_ENOTFOUND)
            svl = 0;
        else
            goto out;
        plan_op(p, 'c', &k, svl ? sv : "", svl);
        plan_ref(p, &stage->ext, 1, 0);
        meta_extent_encode(&stage->ext, &v);
        p->bad |= !buf_ok(&v);
        plan_op(p, 's', &k, v.p, v.len);
    }
    for (size_t i = 0; i < npw; i++)
        if ((rc = plan_page(r, p, oid, &pw[i])) != 0)
            goto out;
    if ((rc = plan_dead_layers(e, p, oid, b, w, n)) != 0)
        goto out;
    if ((rc = plan_pre(r, p)) == 0)
        rc = plan_commit(e, p, oid, b, w, n, other);
out:
    if (p != NULL)
        arena_free(p->a);
    free(p);
    free(other);
    buf_free(&k);
    buf_free(&v);
    return rc;
}

int
rados_blob_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
                  const struct block_ref *stage)
{
    return commit(e, b, w, n, stage, NULL, 0);
}

int
rados_page_commit(struct engine *e, const struct eng_blob *b, const struct eng_write *w, size_t n,
                  const struct eng_page_write *pw, size_t npw)
{
    return commit(e, b, w, n, NULL, pw, npw);
}

/* ---- snapshots, versions, staged blocks: one shard's keys of one name ------------------------ */

/* Opens c on the keys of blob b that begin with lead and its ended name: 0, CO_ENOTFOUND (the
 * container id is gone), CO_EBACKEND. */
static int
name_cursor(struct rados_eng *r, const struct eng_blob *b, char lead, struct omap_cursor *c,
            char oid[48])
{
    unsigned shards;
    int rc;

    if ((rc = shard_count(r, b->cid, &shards)) != 0)
        return rc;
    shard_oid(oid, b->cid, shard_of(b->name, b->nlen, shards));
    buf_putc(&c->prefix, lead);
    name_esc(&c->prefix, b->name, b->nlen, 1);
    buf_add(&c->seek, c->prefix.p, c->prefix.len);
    cursor_open(c, r->idx, oid);
    return buf_ok(&c->prefix) && buf_ok(&c->seek) ? 0 : CO_EBACKEND;
}

int
rados_blob_subs(struct engine *e, struct arena *a, const struct eng_blob *b, struct eng_entry **out,
                size_t *n)
{
    struct omap_cursor c = {0};
    char oid[48];
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = name_cursor(R(e), b, 'B', &c, oid)) != 0) {
        cursor_close(&c);
        return rc == CO_ENOTFOUND ? 0 : rc;
    }
    while ((rc = cursor_next(&c)) == 0 && c.k != NULL) {
        const char *tail = c.k + c.prefix.len;
        struct eng_entry *x;
        if (c.kl != c.prefix.len + 17 || (tail[0] != ENG_SNAPSHOT && tail[0] != ENG_VERSION))
            continue; /* the current record */
        if ((x = grow(a, (void **)out, *n, &cap, sizeof(**out))) == NULL) {
            rc = CO_EBACKEND;
            break;
        }
        x->name = b->name;
        x->nlen = b->nlen;
        x->kind = tail[0];
        x->id = (int64_t)unhex64(tail + 1);
        if (meta_blob_decode(a, c.v, c.vl, &x->rec) != 0) {
            rc = CO_EBACKEND;
            break;
        }
        (*n)++;
    }
    cursor_close(&c);
    return rc;
}

int
rados_blocks_list(struct engine *e, struct arena *a, const struct eng_blob *b, size_t max,
                  struct block_ref **out, size_t *n)
{
    struct omap_cursor c = {0};
    char oid[48];
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = name_cursor(R(e), b, 'U', &c, oid)) != 0) {
        cursor_close(&c);
        return rc == CO_ENOTFOUND ? 0 : rc;
    }
    while (*n < max && (rc = cursor_next(&c)) == 0 && c.k != NULL) {
        struct block_ref *x;
        if ((x = grow(a, (void **)out, *n, &cap, sizeof(**out))) == NULL) {
            rc = CO_EBACKEND;
            break;
        }
        if ((x->id = key_dec(a, c.k + c.prefix.len, c.kl - c.prefix.len, &x->id_len)) == NULL ||
            meta_extent_decode(c.v, c.vl, &x->ext) != 0) {
            rc = CO_EBACKEND;
            break;
        }
        (*n)++;
    }
    cursor_close(&c);
    return rc;
}

/* ---- listings and tag walks: every shard's range, merged by key ------------------------------ */

/* A merge of every shard of cid on keys that begin with prefix, from the first key >= seek. */
static int
merge_open(struct engine *e, uint64_t cid, const struct buf *prefix, const struct buf *seek,
           struct rados_iter **out)
{
    struct rados_eng *r = R(e);
    struct rados_iter *it = calloc(1, sizeof(*it));
    unsigned shards = 0;
    int rc;

    *out = NULL;
    if (it == NULL || !buf_ok(prefix) || !buf_ok(seek)) {
        free(it);
        return CO_EBACKEND;
    }
    it->base.e = e;
    it->plen = prefix->len;
    if ((rc = shard_count(r, cid, &shards)) == CO_ENOTFOUND)
        shards = 0, rc = 0; /* no such id: nothing in it */
    if (rc == 0 && shards > 0 &&
        ((it->shards = calloc(shards, sizeof(*it->shards))) == NULL ||
         (it->oids = calloc(shards, sizeof(*it->oids))) == NULL))
        rc = CO_EBACKEND;
    for (unsigned k = 0; rc == 0 && k < shards; k++) {
        struct omap_cursor *c = &it->shards[k];
        shard_oid(it->oids[k], cid, k);
        buf_add(&c->prefix, prefix->p, prefix->len);
        buf_add(&c->seek, seek->p, seek->len);
        cursor_open(c, r->idx, it->oids[k]);
        it->nshards++;
    }
    if (rc == 0)
        rc = cursors_start(it->shards, it->nshards);
    if (rc != 0) {
        rados_iter_free(&it->base);
        return rc;
    }
    *out = it;
    return 0;
}

/* The shard cursor with the least key, or NULL when all are at their end. */
static struct omap_cursor *
merge_least(struct rados_iter *it)
{
    struct omap_cursor *least = NULL;

    for (unsigned k = 0; k < it->nshards; k++) {
        struct omap_cursor *c = &it->shards[k];
        if (c->k != NULL && (least == NULL || bytes_cmp(c->k, c->kl, least->k, least->kl) < 0))
            least = c;
    }
    return least;
}

int
rados_blob_list(struct engine *e, uint64_t cid, const char *prefix, size_t plen,
                const struct eng_pos *from, unsigned what, struct eng_iter **out)
{
    struct buf pk = BUF_INIT, fk = BUF_INIT;
    struct rados_iter *it;
    int rc;

    buf_putc(&pk, 'B');
    key_enc(&pk, prefix, plen);
    if (from != NULL)
        rec_key(&fk, 'B', from->name, from->nlen, from->kind, from->id);
    /* Start at the later of the prefix and `from`. */
    rc = merge_open(e, cid, &pk,
                    from != NULL && bytes_cmp(fk.p, fk.len, pk.p, pk.len) > 0 ? &fk : &pk, &it);
    if (rc == 0) {
        it->what = what;
        *out = &it->base;
    }
    buf_free(&pk);
    buf_free(&fk);
    return rc;
}

int
rados_blob_next(struct eng_iter *base, struct arena *a, struct eng_entry *out)
{
    struct rados_iter *it = (struct rados_iter *)base;
    struct omap_cursor *c;

    while ((c = merge_least(it)) != NULL) {
        size_t e;
        int kind = place_kind(c->k + 1, c->kl - 1, &e);
        int want = kind == ENG_CURRENT ||
                   (kind == ENG_SNAPSHOT && (it->what & ENG_LIST_SNAPSHOTS)) ||
                   (kind == ENG_VERSION && (it->what & ENG_LIST_VERSIONS));
        if (want && (place_parse(a, c->k + 1, c->kl - 1, &out->name, &out->nlen, &out->kind,
                                 &out->id) != 0 ||
                     meta_blob_decode(a, c->v, c->vl, &out->rec) != 0))
            return CO_EBACKEND;
        if (cursor_next(c) != 0)
            return CO_EBACKEND;
        if (want)
            return 1;
    }
    return 0;
}

int
rados_skip_past(struct eng_iter *base, const char *prefix, size_t len)
{
    struct rados_iter *it = (struct rados_iter *)base;
    struct buf k = BUF_INIT;
    int rc = 0;

    /* 0xFF never occurs in UTF-8 names: B prefix 0xFF is past every key under the prefix. */
    buf_putc(&k, 'B');
    key_enc(&k, prefix, len);
    buf_u8(&k, 0xff);
    if (!buf_ok(&k))
        rc = CO_EBACKEND;
    for (unsigned i = 0; rc == 0 && i < it->nshards; i++) {
        struct omap_cursor *c = &it->shards[i];
        if (c->k != NULL && bytes_cmp(c->k, c->kl, k.p, k.len) < 0)
            rc = cursor_seek(c, k.p, k.len);
    }
    buf_free(&k);
    return rc;
}

int
rados_tag_list(struct engine *e, uint64_t cid, const char *key, const char *from, size_t flen,
               const char *to, size_t tlen, struct eng_iter **out)
{
    struct buf pk = BUF_INIT, seek = BUF_INIT;
    struct rados_iter *it;
    int rc;

    buf_putc(&pk, 'T');
    name_esc(&pk, key, strlen(key), 1);
    buf_add(&seek, pk.p, pk.len);
    key_enc(&seek, from, flen);
    rc = merge_open(e, cid, &pk, &seek, &it);
    if (rc == 0 && to != NULL) {
        buf_add(&it->stop, pk.p, pk.len);
        key_enc(&it->stop, to, tlen);
        if (!buf_ok(&it->stop)) {
            rados_iter_free(&it->base);
            rc = CO_EBACKEND;
        }
    }
    if (rc == 0)
        *out = &it->base;
    buf_free(&pk);
    buf_free(&seek);
    return rc;
}

int
rados_tag_next(struct eng_iter *base, struct arena *a, struct eng_tag_entry *out)
{
    struct rados_iter *it = (struct rados_iter *)base;
    struct omap_cursor *c;

    while ((c = merge_least(it)) != NULL) {
        size_t vlen;
        char *pos;
        if (it->stop.len > 0 && bytes_cmp(c->k, c->kl, it->stop.p, it->stop.len) >= 0)
            return 0;
        pos = key_dec(a, c->k + it->plen, c->kl - it->plen, &out->poslen);
        if (pos != NULL && (vlen = strnlen(pos, out->poslen)) < out->poslen) {
            out->pos = pos;
            if ((out->value = arena_strndup(a, pos, vlen)) == NULL)
                return CO_EBACKEND;
            out->name = pos + vlen + 1;
            out->nlen = out->poslen - vlen - 1;
            return cursor_next(c) == 0 ? 1 : CO_EBACKEND;
        }
        if (cursor_next(c) != 0) /* not an entry */
            return CO_EBACKEND;
    }
    return 0;
}

/* ---- WORM and purge ------------------------------------------------------------------------ */

/* Whether any shard of cid holds a blob record: 1, 0, CO_EBACKEND. */
static int
any_blob(struct engine *e, uint64_t cid)
{
    struct buf pk = BUF_INIT;
    struct rados_iter *it;
    int rc;

    buf_putc(&pk, 'B');
    if ((rc = merge_open(e, cid, &pk, &pk, &it)) == 0) {
        rc = merge_least(it) != NULL;
        rados_iter_free(&it->base);
    }
    buf_free(&pk);
    return rc;
}

int
container_protected(struct rados_eng *r, struct arena *a, uint64_t cid, int64_t now)
{
    struct engine e = {NULL, r};
    struct buf hk = BUF_INIT, bk = BUF_INIT;
    struct rados_iter *it;
    struct omap_cursor *c;
    int rc;

    buf_putc(&hk, 'H');
    if ((rc = merge_open(&e, cid, &hk, &hk, &it)) != 0) {
        buf_free(&hk);
        return rc;
    }
    while ((c = merge_least(it)) != NULL) {
        struct blob_rec b;
        char *v;
        size_t vl;
        buf_reset(&bk);
        buf_putc(&bk, 'B');
        buf_add(&bk, c->k + 1, c->kl - 1);
        rc = buf_ok(&bk) ? omap_get(r->idx, c->oid, &bk, a, &v, &vl) : CO_EBACKEND;
        if (rc == 0 && meta_blob_decode(a, v, vl, &b) != 0)
            rc = CO_EBACKEND;
        if (rc == CO_EBACKEND)
            break;
        if (rc == 0 && meta_blob_protected(&b, now)) {
            rc = b.legal_hold ? 2 : 1;
            break;
        }
        rc = 0;
        if (cursor_next(c) != 0) {
            rc = CO_EBACKEND;
            break;
        }
    }
    rados_iter_free(&it->base);
    buf_free(&hk);
    buf_free(&bk);
    return rc;
}

int
worm_check(struct rados_eng *r, struct arena *a, const struct container_rec *c, int64_t now)
{
    struct engine e = {NULL, r};
    int rc;

    if ((c->legal_hold || c->immutable_days > 0) && (rc = any_blob(&e, c->id)) != 0)
        return rc < 0 ? rc : c->legal_hold ? CO_EHELD : CO_EPOLICY;
    rc = container_protected(r, a, c->id, now);
    return rc < 0 ? rc : rc == 2 ? CO_EHELD : rc == 1 ? CO_EPOLICY : 0;
}

/* Reads the record at B<place> of shard oid into *rec, its stored bytes into *v: 0,
 * CO_ENOTFOUND, CO_EBACKEND. */
int
stored_get(struct rados_eng *r, struct arena *a, const char *oid, const struct buf *bk,
           struct blob_rec *rec, char **v, size_t *vl)
{
    int rc = buf_ok(bk) ? omap_get(r->idx, oid, bk, a, v, vl) : CO_EBACKEND;

    if (rc == 0 && meta_blob_decode(a, *v, *vl, rec) != 0)
        rc = CO_EBACKEND;
    return rc;
}

/* How long after its GC entry a commit may still land (its payload drops, written between the
 * two, can take a while), so that a layer still named is not yet proof that it failed. */
#define LAYERS_GRACE (3600 * TICKS_PER_SEC)

int
gc_layers(struct rados_eng *r, const char *v, size_t vl, int64_t written, int64_t now)
{
    struct engine e = {NULL, r};
    const char *oid, *layers, *name;
    uint64_t cid, n;
    size_t olen, ns, nlen;
    struct eng_blob b;
    struct eng_entry *subs;
    struct blob_rec cur;
    const struct blob_rec **recs;
    struct arena *a = arena_new(SCRATCH_CAP);
    int rc = 2, wait = 0;

    if (a == NULL)
        return 2;
    if (vl < 17 || (cid = unhex64(v)) == UINT64_MAX || (olen = strnlen(v + 16, vl - 16)) >= 48 ||
        vl < 16 + olen + 1 + 16 || (n = unhex64(v + 16 + olen + 1)) == UINT64_MAX ||
        n > (vl - 16 - olen - 1 - 16) / 16) {
        rc = 0; /* not an entry this version writes */
        goto out;
    }
    oid = arena_strndup(a, v + 16, olen);
    layers = v + 16 + olen + 1 + 16;
    name = layers + 16 * n;
    nlen = (size_t)(v + vl - name);
    b = (struct eng_blob){NULL, NULL, cid, name, nlen};
    rc = rados_blob_get(&e, a, &b, ENG_CURRENT, 0, &cur);
    if (rc == CO_ENOTFOUND && shard_count(r, cid, &(unsigned){0}) == CO_ENOTFOUND) {
        rc = 1; /* the container id is gone: its drop removed the shard */
        goto out;
    }
    if ((rc != 0 && rc != CO_ENOTFOUND) || rados_blob_subs(&e, a, &b, &subs, &ns) != 0 ||
        (recs = arena_alloc(a, sizeof(*recs) * (ns + 1))) == NULL) {
        rc = 2;
        goto out;
    }
    for (size_t i = 0; i < ns; i++)
        recs[i] = &subs[i].rec;
    recs[ns] = eng_found(&cur);
    rc = 1;
    for (uint64_t i = 0; i < n && rc == 1; i++) {
        uint64_t layer = unhex64(layers + 16 * i);
        if (layer == UINT64_MAX)
            continue;
        /* Still named: the commit that wrote the entry has not landed yet, or it failed -- the
         * entry is stale once the commit would have landed long ago. */
        if (names_layer(recs, ns + 1, layer)) {
            wait |= now - written < LAYERS_GRACE;
            continue;
        }
        for (int more = 1; more == 1 && rc == 1;) {
            struct arena *pa = arena_new(SCRATCH_CAP);
            struct plan p = {.a = pa, .ed.a = pa};
            size_t budget = DEAD_INLINE;
            if (pa == NULL || (more = plan_layer_removal(&e, &p, oid, layer, &budget)) < 0 ||
                (budget < DEAD_INLINE &&
                 (plan_pre(r, &p) != 0 || plan_commit(&e, &p, oid, NULL, NULL, 0, NULL) != 0)))
                rc = 2; /* the next round goes on */
            arena_free(pa);
        }
    }
    if (rc == 1 && wait)
        rc = 2; /* the next round looks again */
out:
    arena_free(a);
    return rc;
}

int
purge_blob(struct rados_eng *r, struct arena *a, const char *key, size_t kl, const char *val,
           size_t vl, int64_t due, int64_t now)
{
    struct engine e = {NULL, r};
    struct plan p = {.a = a, .ed.a = a};
    struct blob_rec rec, moved;
    struct buf bk = BUF_INIT;
    const char *name;
    char oid[48], kind, *v, sv[16];
    size_t nlen, svl;
    uint64_t cid;
    int64_t id;
    unsigned shard;
    struct eng_blob pb;
    struct eng_write pw;
    int rc, purge;

    if (kl < 16 || vl == 0 || vl >= sizeof(sv) || (cid = unhex64(key)) == UINT64_MAX ||
        place_parse(a, key + 16, kl - 16, &name, &nlen, &kind, &id) != 0)
        return 0; /* not an entry this version writes */
    memcpy(sv, val, vl);
    sv[vl] = 0;
    shard = (unsigned)strtoul(sv, NULL, 10);
    shard_oid(oid, cid, shard);
    buf_putc(&bk, 'B');
    buf_add(&bk, key + 16, kl - 16);
    rc = stored_get(r, a, oid, &bk, &rec, &v, &svl);
    if (rc != 0 || !due_at(&rec, due)) {
        buf_free(&bk);
        /* gone, undeleted, or due at another time (that has an entry of its own) */
        return rc == 0 || rc == CO_ENOTFOUND ? 0 : 2;
    }
    plan_op(&p, 'c', &bk, v, svl);
    moved = rec; /* protected: kept, and looked at again later (M4) */
    moved.purge_at = rec.legal_hold ? now + PROTECT_RECHECK : rec.immutable_until;
    purge = !meta_blob_protected(&rec, now);
    plan_write(r, &p, cid, shard, name, nlen, kind, id, &rec, purge ? NULL : &moved);
    buf_free(&bk);
    pb = (struct eng_blob){NULL, NULL, cid, name, nlen};
    pw = (struct eng_write){NULL, kind, id, &rec, purge ? NULL : &moved};
    if (plan_dead_layers(&e, &p, oid, &pb, &pw, 1) != 0 || plan_pre(r, &p) != 0 ||
        plan_commit(&e, &p, oid, NULL, NULL, 0, NULL) != 0)
        return 2;
    return purge;
}

/* ---- pending copies and the gateways' heartbeat ---------------------------------------------- */

/* Takes or renews this gateway's share of the lock "alive" on `gateways` (docs/rados.md,
 * "Pending copies"): 0 or CO_EBACKEND. */
static int
alive_renew(struct rados_eng *r)
{
    struct timeval d = {ALIVE_SECS, 0};
    int rc = rados_lock_shared(r->idx, GATEWAYS_OID, "alive", r->cookie, "cobalt", "gateway", &d,
                               LIBRADOS_LOCK_FLAG_RENEW);

    return rc == 0 || rc == -EEXIST ? 0 : eng_err(rc, "lock", GATEWAYS_OID);
}

/* The cookies of the live gateways ('\0'-separated, *n of them) into a: 0 or CO_EBACKEND. */
static int
alive_list(struct rados_eng *r, struct arena *a, char **cookies, size_t *n)
{
    size_t cap = 1 << 16;

    for (;;) {
        size_t tl = 64, cl = cap, kl = cap, al = cap;
        char tag[64], *clients = arena_alloc(a, cap), *addrs = arena_alloc(a, cap);
        int excl;
        ssize_t got;
        if (clients == NULL || addrs == NULL || (*cookies = arena_alloc(a, cap)) == NULL)
            return CO_EBACKEND;
        got = rados_list_lockers(r->idx, GATEWAYS_OID, "alive", &excl, tag, &tl, clients, &cl,
                                 *cookies, &kl, addrs, &al);
        if (got == -ERANGE && cap < (1u << 24)) {
            cap *= 4;
            continue;
        }
        if (got < 0)
            return eng_err((int)got, "list lockers", GATEWAYS_OID);
        *n = (size_t)got;
        return 0;
    }
}

static int
alive_has(const char *cookies, size_t n, const char *cookie, size_t len)
{
    for (size_t i = 0; i < n; i++, cookies += strlen(cookies) + 1)
        if (strlen(cookies) == len && memcmp(cookies, cookie, len) == 0)
            return 1;
    return 0;
}

/*
 * Fails the pending copies whose gateway is gone (startup: and this gateway's own, none of which
 * runs yet) with `desc`, from the markers of copy.<k>; drops markers the record no longer
 * matches.  The number failed, or -1.
 */
static long
copy_sweep(struct rados_eng *r, const char *desc, int startup)
{
    struct engine eng = {NULL, r};
    struct arena *a = arena_new(SCRATCH_CAP);
    char *cookies;
    size_t nalive = 0;
    long n = 0;

    if (a == NULL || alive_list(r, a, &cookies, &nalive) != 0) {
        arena_free(a);
        return -1;
    }
    for (int s = 0; s < LIST_SHARDS && n >= 0; s++) {
        struct omap_cursor c = {0};
        struct buf mk = BUF_INIT, bk = BUF_INIT;
        char moid[32], oid[48];
        int rc;
        snprintf(moid, sizeof(moid), "copy.%d", s);
        cursor_open(&c, r->idx, moid);
        while ((rc = cursor_next(&c)) == 0 && c.k != NULL) {
            const char *sp = memchr(c.v, ' ', c.vl), *name;
            size_t e, nlen, vl;
            struct blob_rec rec, failed;
            struct plan p = {.a = a, .ed.a = a};
            char *v, *copy_id;
            uint64_t cid;
            if (sp == NULL || c.kl < 18 || (cid = unhex64(c.k)) == UINT64_MAX ||
                (e = name_end(c.k + 16, c.kl - 16)) == c.kl - 16)
                continue;
            if (alive_has(cookies, nalive, c.v, (size_t)(sp - c.v)) &&
                !(startup && (size_t)(sp - c.v) == strlen(r->cookie) &&
                  memcmp(c.v, r->cookie, strlen(r->cookie)) == 0))
                continue; /* its gateway runs it */
            if ((name = key_dec(a, c.k + 16, e, &nlen)) == NULL ||
                (copy_id = arena_strndup(a, c.k + 16 + e + 2, c.kl - 16 - e - 2)) == NULL) {
                n = -1;
                break;
            }
            shard_oid(oid, cid, (unsigned)strtoul(sp + 1, NULL, 10));
            buf_reset(&bk);
            rec_key(&bk, 'B', name, nlen, ENG_CURRENT, 0);
            buf_reset(&mk);
            buf_add(&mk, c.k, c.kl);
            rc = stored_get(r, a, oid, &bk, &rec, &v, &vl);
            if (rc == CO_EBACKEND)
                continue; /* the next sweep tries again */
            if (rc != 0 || !eng_copy_pending(&rec) || strcasecmp(rec.copy.id, copy_id) != 0) {
                entry_put(r->idx, moid, &mk, NULL, 0); /* stale */
                continue;
            }
            failed = rec;
            failed.copy.status = COPY_FAILED;
            failed.copy.completed = failed.modified = ticks_now();
            failed.copy.description = desc;
            failed.etag = rados_etag(r);
            plan_op(&p, 'c', &bk, v, vl);
            plan_write(r, &p, cid, (unsigned)strtoul(sp + 1, NULL, 10), name, nlen, ENG_CURRENT, 0,
                       &rec, &failed);
            if ((rc = plan_pre(r, &p)) == 0)
                rc = plan_commit(&eng, &p, oid, NULL, NULL, 0, NULL);
            if (rc == 0)
                n++;
            else if (rc != CO_ECONFLICT) /* a conflict: it changed meanwhile, seen next time */
                n = -1;
        }
        if (rc != 0)
            n = -1;
        cursor_close(&c);
        buf_free(&mk);
        buf_free(&bk);
    }
    arena_free(a);
    return n;
}

long
rados_copy_recover(struct engine *e, const char *description)
{
    struct rados_eng *r = R(e);
    char *d = strdup(description);

    if (d == NULL)
        return -1;
    pthread_mutex_lock(&r->mu);
    free(r->copy_desc);
    r->copy_desc = d;
    pthread_mutex_unlock(&r->mu);
    return copy_sweep(r, description, 1);
}

/* Renews this gateway's liveness every BEAT_SECS; every SWEEP_BEATS, once copy_recover has run,
 * fails the copies of gateways gone since. */
static void *
heartbeat(void *arg)
{
    struct rados_eng *r = arg;
    unsigned beats = 0;

    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        struct timespec until;
        char *desc;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += BEAT_SECS;
        pthread_cond_timedwait(&r->cv, &r->mu, &until);
        if (r->stopping)
            break;
        desc = ++beats % SWEEP_BEATS == 0 && r->copy_desc != NULL ? strdup(r->copy_desc) : NULL;
        pthread_mutex_unlock(&r->mu);
        if (alive_renew(r) != 0)
            log_warn("rados: could not renew this gateway's liveness");
        if (desc != NULL && copy_sweep(r, desc, 0) < 0)
            log_warn("rados: the copy sweep failed (the next one tries again)");
        free(desc);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int
heartbeat_start(struct rados_eng *r)
{
    if (alive_renew(r) != 0)
        return CO_EBACKEND;
    if (pthread_create(&r->beat, NULL, heartbeat, r) != 0)
        return CO_EBACKEND;
    r->beating = 1;
    return 0;
}

void
heartbeat_stop(struct rados_eng *r)
{
    if (!r->beating)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->beat, NULL);
    r->beating = 0;
    lock_give(r, GATEWAYS_OID, "alive", r->cookie);
}
