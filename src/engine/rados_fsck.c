/*
 * rados_fsck.c -- `cobalt fsck --backend rados`: the index pool checked against the data pool, both
 * ways, next to serving gateways (docs/rados.md, "fsck").
 *
 * The walk, in this order (what makes an orphan certain on a live cluster):
 *   1. the data pool's objects are listed: every payload that has stripes;
 *   2. the GC lists are read: payload entries (pending, or dropped and due) and shared marks;
 *   3. the index pool: every account's containers, every container head, and every index shard
 *      key by key -- records (B), page map entries (G), protection entries (H), reference counts
 *      (L), tag entries (T), staged blocks (U).  A shard whose first read finds a problem is read again and only that
 *      second read is reported, so a commit landing mid-read is not taken for damage;
 *   4. the GC lists again, then the purge list and the copy markers.
 * A payload with stripes (1) that no record or staged block and no reference key names (3), and no
 * entry or shared mark (2, 4), is an orphan: its entry is written before its first stripe and
 * removed only after a commit set its reference key (D2, D4 of rados_data.c), and a commit that
 * removes a reference key writes a drop entry after it.
 *
 * Checked, and what --repair does (every fix is one op compared with what was read, so a gateway
 * that changed the same keys meanwhile wins and the fix is skipped):
 *  - every payload a record or staged block names is present, of its size, every CRC right
 *    (rdata_verify; each distinct payload read once) -- reported, never repaired: the record stays
 *    for the operator to decide;
 *  - a shard's L<seq> holds the number of references its records, page map entries and staged
 *    blocks make -- set to
 *    it (a count that falls to 0 is removed and the payload dropped, as a commit does);
 *  - H and T entries exist exactly for the records that call for them, staged blocks (U) only
 *    while the current record says so -- added or removed, compared with the record;
 *  - purge entries name a record (a blob's, kind B; a container's, kind D) soft-deleted with that
 *    purge time, and every such record has one; copy markers name a pending copy -- stale ones
 *    removed, missing purge entries added.
 *    Both are written before their commit, so a finding is looked at again 2 s later and only
 *    what is still wrong then is reported;
 *  - orphan payloads -- put on the GC list, due now (`cobalt gc` deletes them);
 *  - payloads a copy marked shared that nothing references any more, the mark older than an hour
 *    and unchanged through the walk -- the mark replaced by a GC entry, due now (check_shared);
 *  - container heads and index shards that no container record names, older than an hour
 *    (younger ones may be a Create Container in progress) -- the head's drop is queued on the GC
 *    list; shards without a head are removed (their payloads dropped first);
 *  - objects of the data pool that are no payload's stripe -- reported.
 * Records and keys that do not decode are reported and left alone.
 *
 * Output (stdout), in the local fsck's style: "fsck: " and one line per problem, "fsck: repair: "
 * per fix, and the summary line
 *   fsck: containers=N blobs=N staged=N payloads=N bytes=N orphans=N problems=N repaired=N
 */
#include "engine/rados_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "meta/meta.h"
#include "util/arena.h"
#include "util/log.h"

#define SHARD_ARENA (1ull << 30) /* one shard's keys and records, decoded */
#define YOUNG_SECS  3600         /* index objects younger than this may be a commit in flight */
#define RECHECK_SEC 2            /* a hint written before its commit is looked at again after */

/* A payload, by id. */
#define P_DATA     0x01 /* it has stripes in the data pool */
#define P_NAMED    0x02 /* a record, staged block or reference key names it */
#define P_ENTRY    0x04 /* a GC entry or a shared mark names it */
#define P_MARK1    0x08 /* marked shared in the first walk of the GC lists (shared_at: since when) */
#define P_MARK2    0x10 /* ... and in the second, with the same time */
#define SHARE_SECS 3600 /* a shared mark this old has no copy commit in flight behind it */
struct payload {
    uint64_t seq;
    uint64_t stripes;  /* the highest stripe index seen, plus one */
    int64_t shared_at; /* the time its shared mark holds (P_MARK1) */
    uint8_t flags;
    uint8_t verified;
    int err; /* rdata_verify()'s answer, once verified */
};

struct fsck {
    struct engine *e;
    struct rados_eng *r;
    int repair, quiet;
    int silent;     /* a first read of a shard: count problems, print and repair nothing */
    uint64_t found; /* problems of the silent read */
    uint64_t containers, blobs, staged, payloads, bytes, orphans, problems, repaired;
    struct payload *tab;
    size_t cap, used;
    uint64_t *cids; /* container ids some C or D record names, sorted */
    size_t ncids;
    struct recheck *again; /* hints to look at again (a list) */
    time_t last_progress;
    int gc_walks;  /* walks of the GC lists begun: 1, then 2 */
    int64_t began; /* ticks */
};

static void problem(struct fsck *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fixed(struct fsck *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
problem(struct fsck *f, const char *fmt, ...)
{
    va_list ap;

    if (f->silent) {
        f->found++;
        return;
    }
    f->problems++;
    va_start(ap, fmt);
    fputs("fsck: ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

static void
fixed(struct fsck *f, const char *fmt, ...)
{
    va_list ap;

    f->repaired++;
    va_start(ap, fmt);
    fputs("fsck: repair: ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

static void
progress(struct fsck *f, const char *what)
{
    time_t now = time(NULL);

    if (f->quiet || now - f->last_progress < 2)
        return;
    f->last_progress = now;
    fprintf(stderr, "fsck: ... %s (blobs=%" PRIu64 " payloads=%" PRIu64 ")\n", what, f->blobs,
            f->payloads);
}

/* ---- the payload table ---------------------------------------------------------------------- */

static struct payload *
payload(struct fsck *f, uint64_t seq)
{
    size_t i;

    if (f->used * 2 >= f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 4096;
        struct payload *nt = calloc(ncap, sizeof(*nt)), *old = f->tab;
        if (nt == NULL)
            return NULL;
        for (size_t j = 0; j < f->cap; j++) {
            if (old[j].seq == 0)
                continue;
            for (i = old[j].seq % ncap; nt[i].seq != 0; i = (i + 1) % ncap)
                ;
            nt[i] = old[j];
        }
        free(old);
        f->tab = nt;
        f->cap = ncap;
    }
    for (i = seq % f->cap; f->tab[i].seq != 0 && f->tab[i].seq != seq; i = (i + 1) % f->cap)
        ;
    if (f->tab[i].seq == 0) {
        f->tab[i].seq = seq;
        f->used++;
    }
    return &f->tab[i];
}

/* Payload x is named by a record or staged block: checked (once), a problem reported per naming
 * record when it is damaged.  0, or -1 out of memory. */
static int
payload_named(struct fsck *f, const struct extent *x, const char *oid, const char *who)
{
    struct payload *p;

    if (x->len == 0)
        return 0;
    if (x->seq == 0 || (p = payload(f, x->seq)) == NULL)
        return x->seq == 0 ? 0 : -1;
    p->flags |= P_NAMED;
    if (!p->verified) {
        p->verified = 1;
        p->err = rdata_verify(f->e, x);
        f->payloads++;
        f->bytes += x->len;
    }
    if (p->err != 0)
        problem(f, "%s %s: payload %016" PRIx64 " (%" PRIu64 " bytes) is %s: the data is lost", oid,
                who, x->seq, x->len,
                p->err == EINVAL ? "not a locator of this engine"
                : p->err == EIO  ? "missing or unreadable"
                                 : "short or fails its CRC");
    return 0;
}

/* ---- step 1 and 2: the data pool and the GC lists ------------------------------------------ */

static int
walk_data(struct fsck *f)
{
    rados_list_ctx_t ctx;
    const char *oid;
    int rc;

    if ((rc = rados_nobjects_list_open(f->r->data, &ctx)) < 0)
        return eng_err(rc, "list", "the data pool");
    while ((rc = rados_nobjects_list_next(ctx, &oid, NULL, NULL)) == 0) {
        uint64_t seq, i;
        struct payload *p;
        if (rdata_object(oid, &seq, &i) != 0) {
            problem(f, "data pool: object %s is no payload's stripe (left alone)", oid);
            continue;
        }
        if ((p = payload(f, seq)) == NULL) {
            rc = -ENOMEM;
            break;
        }
        p->flags |= P_DATA;
        if (i + 1 > p->stripes)
            p->stripes = i + 1;
    }
    rados_nobjects_list_close(ctx);
    return rc == -ENOENT ? 0 : eng_err(rc, "list", "the data pool");
}

/* A shared mark of payload p, value v (the time it was set), in the current walk of the GC lists. */
static void
mark_seen(struct fsck *f, struct payload *p, const char *v, size_t vl)
{
    char t[24], *end;
    int64_t at;

    if (vl == 0 || vl >= sizeof(t))
        return; /* not a time: never reclaimed */
    memcpy(t, v, vl);
    t[vl] = 0;
    at = strtoll(t, &end, 10);
    if (*end != 0)
        return;
    if (f->gc_walks == 1) {
        p->flags |= P_MARK1;
        p->shared_at = at;
    } else if ((p->flags & P_MARK1) && p->shared_at == at) {
        p->flags |= P_MARK2;
    }
}

static int
walk_gc(struct fsck *f)
{
    f->gc_walks++;
    for (int k = 0; k < LIST_SHARDS; k++) {
        struct omap_cursor c = {0};
        char oid[16];
        int rc;
        snprintf(oid, sizeof(oid), "gc.%d", k);
        cursor_open(&c, f->r->idx, oid);
        while ((rc = cursor_next(&c)) == 0 && c.k != NULL) {
            uint64_t seq;
            struct payload *p;
            int kind = rdata_list_key(c.k, c.kl, &seq);
            if (kind == 0)
                continue;
            if ((p = payload(f, seq)) == NULL) {
                rc = CO_EBACKEND;
                break;
            }
            p->flags |= P_ENTRY;
            if (kind == 's')
                mark_seen(f, p, c.v, c.vl);
        }
        cursor_close(&c);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- step 3: one index shard --------------------------------------------------------------- */

struct key {
    char *k, *v;
    size_t kl, vl;
};

/* A shard read whole: its keys in order. */
struct shard {
    const char *oid;
    uint64_t cid;
    unsigned k;
    struct arena *a;
    struct key *keys;
    size_t n;
    struct ref *refs; /* references made by records and staged blocks */
    size_t nrefs, caprefs;
    uint64_t blobs, staged; /* records and staged blocks read */
};

struct ref {
    struct extent x;
    long count;
};

static int
shard_read(struct fsck *f, struct shard *s)
{
    struct omap_cursor c = {0};
    size_t cap = 0;
    int rc;

    cursor_open(&c, f->r->idx, s->oid);
    while ((rc = cursor_next(&c)) == 0 && c.k != NULL) {
        struct key *k;
        if (s->n == cap) {
            struct key *nk = arena_alloc(s->a, (cap = cap * 2 + 256) * sizeof(*nk));
            if (nk == NULL) {
                rc = CO_EBACKEND;
                break;
            }
            if (s->n > 0)
                memcpy(nk, s->keys, s->n * sizeof(*nk));
            s->keys = nk;
        }
        k = &s->keys[s->n];
        if ((k->k = arena_alloc(s->a, c.kl + 1)) == NULL ||
            (k->v = arena_alloc(s->a, c.vl + 1)) == NULL) {
            rc = CO_EBACKEND;
            break;
        }
        memcpy(k->k, c.k, c.kl);
        if (c.vl > 0)
            memcpy(k->v, c.v, c.vl);
        k->k[c.kl] = k->v[c.vl] = 0;
        k->kl = c.kl;
        k->vl = c.vl;
        s->n++;
    }
    cursor_close(&c);
    return rc;
}

/* The key k[0..kl) of s, or NULL. */
static struct key *
shard_find(const struct shard *s, const char *k, size_t kl)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = bytes_cmp(s->keys[mid].k, s->keys[mid].kl, k, kl);
        if (c == 0)
            return &s->keys[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The record at key bk of s, decoded (in s->a) into *rec: its key, or NULL when there is none or
 * it does not decode. */
static struct key *
shard_rec(const struct shard *s, const struct buf *bk, struct blob_rec *rec)
{
    struct key *k = buf_ok(bk) ? shard_find(s, bk->p, bk->len) : NULL;

    return k != NULL && meta_blob_decode(s->a, k->v, k->vl, rec) == 0 ? k : NULL;
}

/* Counts n more references of s to payload x (merged by payload in refs_merge()). */
static void
ref_add(struct shard *s, const struct extent *x, long n)
{
    if (x->len == 0 || rdata_inline(x))
        return; /* as the commit counts (plan_ref) */
    if (s->nrefs == s->caprefs) {
        struct ref *nr = arena_alloc(s->a, (s->caprefs = s->caprefs * 2 + 64) * sizeof(*nr));
        if (nr == NULL)
            return; /* the count stays short: reported, and repair finds the arena full too */
        if (s->nrefs > 0)
            memcpy(nr, s->refs, s->nrefs * sizeof(*nr));
        s->refs = nr;
    }
    s->refs[s->nrefs++] = (struct ref){*x, n};
}

static int
ref_order(const void *a, const void *b)
{
    uint64_t x = ((const struct ref *)a)->x.seq, y = ((const struct ref *)b)->x.seq;

    return (x > y) - (x < y);
}

/* One entry per payload in s->refs, sorted by payload. */
static void
refs_merge(struct shard *s)
{
    size_t n = 0;

    if (s->nrefs == 0)
        return;
    qsort(s->refs, s->nrefs, sizeof(*s->refs), ref_order);
    for (size_t i = 0; i < s->nrefs; i++) {
        if (n > 0 && s->refs[n - 1].x.seq == s->refs[i].x.seq)
            s->refs[n - 1].count += s->refs[i].count;
        else
            s->refs[n++] = s->refs[i];
    }
    s->nrefs = n;
}

/* The references of s to payload seq (after refs_merge()), or NULL. */
static struct ref *
ref_find(struct shard *s, uint64_t seq)
{
    struct ref key = {.x.seq = seq};

    return s->nrefs > 0 ? bsearch(&key, s->refs, s->nrefs, sizeof(key), ref_order) : NULL;
}

/* One op on shard s: compare the record key bk with its stored bytes (rk NULL: absent), then set
 * (v non-NULL) or remove key k.  0 or an error code (CO_ECONFLICT: it changed meanwhile). */
static int
fix_key(struct fsck *f, const struct shard *s, const struct buf *bk, const struct key *rk,
        const struct buf *k, const struct buf *v)
{
    struct omap_edit ed = {0};

    edit_cmp(&ed, bk, rk != NULL ? rk->v : "", rk != NULL ? rk->vl : 0);
    if (v != NULL)
        edit_set(&ed, k, v);
    else
        edit_rm(&ed, k);
    return omap_apply(f->r->idx, s->oid, &ed);
}

/* A hint to look at again after RECHECK_SEC (it is written before its commit). */
struct recheck {
    struct recheck *next;
    /* a purge entry that looks stale ('p': of a blob record, 'q': of a container) or missing
     * ('P', 'Q'); 'c' a copy marker that looks stale */
    char kind;
    char loid[32]; /* the list object */
    struct buf key, val;
    char soid[48]; /* the record's object: a shard, or acct.<account> ('q', 'Q') */
    struct buf bk; /* the record's key there */
    int64_t due;   /* purge entries: the purge time */
    char copy_id[41];
};

static void
recheck_add(struct fsck *f, char kind, const char *loid, const char *k, size_t kl, const char *v,
            size_t vl, const char *soid, const struct buf *bk, int64_t due, const char *copy_id)
{
    struct recheck *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return;
    c->kind = kind;
    snprintf(c->loid, sizeof(c->loid), "%s", loid);
    snprintf(c->soid, sizeof(c->soid), "%s", soid);
    buf_add(&c->key, k, kl);
    buf_add(&c->val, v, vl);
    buf_add(&c->bk, bk->p, bk->len);
    c->due = due;
    snprintf(c->copy_id, sizeof(c->copy_id), "%s", copy_id != NULL ? copy_id : "");
    c->next = f->again;
    f->again = c;
}

/* Shows a name for messages: at most 200 bytes of it. */
#define SHOWN(n, nl) (int)((nl) > 200 ? 200 : (nl)), (n)

/* The records of s: payloads, H and T entries they call for, purge entries and copy markers. */
static void
check_records(struct fsck *f, struct shard *s)
{
    struct buf k = BUF_INIT, v = BUF_INIT;

    for (size_t i = 0; i < s->n; i++) {
        struct key *key = &s->keys[i];
        struct blob_rec rec;
        const char *name;
        size_t nlen;
        char kind, who[300], poid[32];
        int64_t id;
        if (key->k[0] != 'B')
            continue;
        if (place_parse(s->a, key->k + 1, key->kl - 1, &name, &nlen, &kind, &id) != 0 ||
            meta_blob_decode(s->a, key->v, key->vl, &rec) != 0) {
            problem(f, "%s: record key of %zu bytes does not decode (left alone)", s->oid, key->kl);
            continue;
        }
        s->blobs++;
        if (kind == ENG_CURRENT)
            snprintf(who, sizeof(who), "'%.*s'", SHOWN(name, nlen));
        else
            snprintf(who, sizeof(who), "'%.*s' %s %" PRId64, SHOWN(name, nlen),
                     kind == ENG_SNAPSHOT ? "snapshot" : "version", id);
        for (size_t b = 0; b < rec.nblocks; b++) {
            ref_add(s, &rec.blocks[b].ext, 1);
            payload_named(f, &rec.blocks[b].ext, s->oid, who);
        }
        buf_reset(&k);
        rec_key(&k, 'H', name, nlen, kind, id);
        if (eng_carries_protection(&rec) && buf_ok(&k) && shard_find(s, k.p, k.len) == NULL) {
            problem(f, "%s %s: protected, but not in the protection index", s->oid, who);
            buf_reset(&v);
            if (!f->silent && f->repair &&
                fix_key(f, s, &(struct buf){.p = key->k, .len = key->kl}, key, &k, &v) == 0)
                fixed(f, "%s %s: protection entry added", s->oid, who);
        }
        for (size_t t = 0; kind == ENG_CURRENT && eng_indexed(&rec) && t < rec.ntags; t++) {
            buf_reset(&k);
            tag_key(&k, rec.tags[t].name, rec.tags[t].value, name, nlen);
            if (!buf_ok(&k) || shard_find(s, k.p, k.len) != NULL)
                continue;
            problem(f, "%s %s: tag '%s' not in the tag index", s->oid, who, rec.tags[t].name);
            buf_reset(&v);
            if (!f->silent && f->repair &&
                fix_key(f, s, &(struct buf){.p = key->k, .len = key->kl}, key, &k, &v) == 0)
                fixed(f, "%s %s: tag '%s' indexed", s->oid, who, rec.tags[t].name);
        }
        if (f->silent && due_at(&rec, 0)) { /* its purge entry, looked up later */
            struct buf bk = {.p = key->k, .len = key->kl};
            buf_reset(&k);
            buf_reset(&v);
            purge_key(poid, &k, s->cid, rec.purge_at, name, nlen, kind, id);
            buf_printf(&v, "%u", s->k);
            if (buf_ok(&k) && buf_ok(&v))
                recheck_add(f, 'P', poid, k.p, k.len, v.p, v.len, s->oid, &bk, rec.purge_at, NULL);
        }
    }
    buf_free(&k);
    buf_free(&v);
}

/* The H, T and U keys of s: each must belong to a record that calls for it.  G keys (page map
 * entries) are counted as the references to page payloads they are; whether their layer is still
 * some record's is not judged here (the commit that drops a layer removes its entries). */
static void
check_hints(struct fsck *f, struct shard *s)
{
    struct buf bk = BUF_INIT, k = BUF_INIT;

    for (size_t i = 0; i < s->n; i++) {
        struct key *key = &s->keys[i], *rk = NULL;
        struct blob_rec rec;
        struct extent x = {0};
        const char *name = NULL, *what;
        size_t nlen = 0, e;
        char kind = ENG_CURRENT, lead = key->k[0];
        int64_t id = 0;
        int ok;
        if (lead == 'G') { /* a page map entry: a reference to its payload, as the commit counts */
            struct eng_page pg;
            if (rpage_decode(key->k, key->kl, key->v, key->vl, &pg) != 0) {
                problem(f, "%s: page map key of %zu bytes does not decode (left alone)", s->oid,
                        key->kl);
                continue;
            }
            ref_add(s, &pg.loc, 1);
            if (pg.loc.len > 0)
                payload_named(f, &pg.loc, s->oid, "page");
            continue;
        }
        if (lead != 'H' && lead != 'T' && lead != 'U')
            continue;
        buf_reset(&bk);
        if (lead == 'H') {
            what = "protection entry";
            ok = place_parse(s->a, key->k + 1, key->kl - 1, &name, &nlen, &kind, &id) == 0;
        } else if (lead == 'T') { /* T esc(key) esc(value) enc(name) */
            what = "tag index entry";
            e = name_end(key->k + 1, key->kl - 1);
            e += e < key->kl - 1 ? name_end(key->k + 1 + e + 2, key->kl - 1 - e - 2) + 2 : 0;
            ok = e + 3 <= key->kl - 1 &&
                 (name = key_dec(s->a, key->k + 1 + e + 2, key->kl - 1 - e - 2, &nlen)) != NULL;
        } else { /* U esc(name) enc(block id) */
            what = "staged block";
            e = name_end(key->k + 1, key->kl - 1);
            ok = e < key->kl - 1 && (name = key_dec(s->a, key->k + 1, e, &nlen)) != NULL &&
                 meta_extent_decode(key->v, key->vl, &x) == 0;
        }
        if (!ok) {
            problem(f, "%s: %s key of %zu bytes does not decode (left alone)", s->oid, what,
                    key->kl);
            continue;
        }
        rec_key(&bk, 'B', name, nlen, kind, id);
        rk = shard_rec(s, &bk, &rec);
        if (lead == 'H')
            ok = rk != NULL && eng_carries_protection(&rec);
        else if (lead == 'U')
            ok = rk != NULL && eng_staged(&rec);
        else { /* the record has the tag the key names */
            buf_reset(&k);
            ok = 0;
            for (size_t t = 0; rk != NULL && eng_indexed(&rec) && t < rec.ntags && !ok; t++) {
                buf_reset(&k);
                tag_key(&k, rec.tags[t].name, rec.tags[t].value, name, nlen);
                ok = buf_ok(&k) && bytes_cmp(k.p, k.len, key->k, key->kl) == 0;
            }
        }
        if (lead == 'U') {
            ref_add(s, &x, 1);
            s->staged++;
            payload_named(f, &x, s->oid, "staged block");
        }
        if (ok)
            continue;
        problem(f, "%s '%.*s': %s without a record that calls for it", s->oid, SHOWN(name, nlen),
                what);
        if (f->silent || !f->repair)
            continue;
        if (rk == NULL && shard_find(s, bk.p, bk.len) != NULL)
            continue; /* the record does not decode: reported above, left alone */
        buf_reset(&k);
        buf_add(&k, key->k, key->kl);
        if (fix_key(f, s, &bk, rk, &k, NULL) == 0) {
            fixed(f, "%s '%.*s': %s removed", s->oid, SHOWN(name, nlen), what);
            if (lead == 'U')
                ref_add(s, &x, -1);
        }
    }
    buf_free(&bk);
    buf_free(&k);
}

/* The L keys of s against the references counted. */
static void
check_counts(struct fsck *f, struct shard *s)
{
    struct engine e = {NULL, f->r};
    struct buf k = BUF_INIT, v = BUF_INIT;

    refs_merge(s);
    /* Every L key, with its count; then every counted payload without one. */
    for (size_t i = 0; i < s->n; i++) {
        struct key *key = &s->keys[i];
        struct extent x = {0};
        unsigned vol;
        struct ref *ref;
        long have, want = 0;
        if (key->k[0] != 'L')
            continue;
        if (key->kl != 17 || (x.seq = unhex64(key->k + 1)) == UINT64_MAX ||
            sscanf(key->v, "%ld %u %" SCNu64, &have, &vol, &x.len) != 3) {
            problem(f, "%s: reference key %.*s does not decode (left alone)", s->oid, (int)key->kl,
                    key->k);
            continue;
        }
        x.vol = vol;
        if ((ref = ref_find(s, x.seq)) != NULL) {
            want = ref->count;
            ref->count = -1 - want; /* seen */
        }
        if (payload(f, x.seq) != NULL)
            payload(f, x.seq)->flags |= P_NAMED;
        if (have == want)
            continue;
        problem(f, "%s: payload %016" PRIx64 " has %ld references here, its count says %ld", s->oid,
                x.seq, want, have);
        if (f->silent || !f->repair)
            continue;
        buf_reset(&k);
        buf_add(&k, key->k, key->kl);
        buf_reset(&v);
        buf_printf(&v, "%ld %u %" PRIu64, want, x.vol, x.len);
        {
            struct omap_edit ed = {0};
            edit_cmp(&ed, &k, key->v, key->vl);
            if (want > 0)
                edit_set(&ed, &k, &v);
            else
                edit_rm(&ed, &k);
            if (omap_apply(f->r->idx, s->oid, &ed) != 0)
                continue;
        }
        fixed(f, "%s: payload %016" PRIx64 " count set to %ld", s->oid, x.seq, want);
        if (want == 0 && rdata_drop(&e, &x, s->oid, NULL) == 0)
            fixed(f, "%s: payload %016" PRIx64 " dropped (the GC deletes it)", s->oid, x.seq);
    }
    for (size_t j = 0; j < s->nrefs; j++) {
        struct ref *r = &s->refs[j];
        if (r->count <= 0)
            continue; /* seen, or no reference left */
        problem(f, "%s: payload %016" PRIx64 " has %ld references here and no count", s->oid,
                r->x.seq, r->count);
        if (f->silent || !f->repair)
            continue;
        buf_reset(&k);
        {
            char rk[18];
            struct omap_edit ed = {0};
            rdata_ref_key(&r->x, rk);
            buf_add(&k, rk, 17);
            buf_reset(&v);
            buf_printf(&v, "%ld %u %" PRIu64, r->count, r->x.vol, r->x.len);
            edit_cmp(&ed, &k, "", 0);
            edit_set(&ed, &k, &v);
            if (omap_apply(f->r->idx, s->oid, &ed) == 0)
                fixed(f, "%s: payload %016" PRIx64 " count set to %ld", s->oid, r->x.seq, r->count);
        }
    }
    buf_free(&k);
    buf_free(&v);
}

/* One read of shard k of cid, checked (f->silent: the first read, which also notes the purge
 * entries its soft-deleted records call for).  The number of problems it found, or -1. */
static long
shard_pass(struct fsck *f, const char *oid, uint64_t cid, unsigned k)
{
    struct shard s = {.oid = oid, .cid = cid, .k = k};
    uint64_t before = f->silent ? f->found : f->problems;
    int rc;

    if ((s.a = arena_new(SHARD_ARENA)) == NULL)
        return -1;
    if ((rc = shard_read(f, &s)) == 0) {
        check_records(f, &s);
        check_hints(f, &s);
        check_counts(f, &s);
    }
    arena_free(s.a);
    if (rc == CO_ENOTFOUND)
        return 0; /* dropped meanwhile */
    if (rc != 0)
        return -1;
    f->blobs += s.blobs;
    f->staged += s.staged;
    return (long)((f->silent ? f->found : f->problems) - before);
}

/* Shard k of cid: read once quietly; when that read finds a problem, read again and report (a
 * commit that landed mid-read is then seen whole). */
static int
check_shard(struct fsck *f, uint64_t cid, unsigned k)
{
    uint64_t blobs = f->blobs, staged = f->staged;
    char oid[48];
    long n;

    shard_oid(oid, cid, k);
    f->silent = 1;
    n = shard_pass(f, oid, cid, k);
    f->silent = 0;
    if (n > 0) {
        f->blobs = blobs; /* counted by the read reported */
        f->staged = staged;
        n = shard_pass(f, oid, cid, k);
    }
    if (n < 0)
        fprintf(stderr, "fsck: cannot read %s\n", oid);
    return n < 0 ? -1 : 0;
}

/* ---- step 3: accounts, container heads, shards ---------------------------------------------- */

struct obj {
    uint64_t cid;
    unsigned k;
    char *oid;
};

static int
obj_order(const void *a, const void *b)
{
    const struct obj *x = a, *y = b;

    return x->cid != y->cid ? (x->cid < y->cid ? -1 : 1) : (x->k > y->k) - (x->k < y->k);
}

static int
u64_order(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

static int
cid_named(const struct fsck *f, uint64_t cid)
{
    return f->ncids > 0 && bsearch(&cid, f->cids, f->ncids, sizeof(cid), u64_order) != NULL;
}

static int
has_head(const struct obj *heads, size_t n, uint64_t cid)
{
    struct obj key = {.cid = cid};

    return n > 0 && bsearch(&key, heads, n, sizeof(key), obj_order) != NULL;
}

/* Whether index object oid was written less than YOUNG_SECS ago (or cannot be stat'ed). */
static int
young(struct fsck *f, const char *oid)
{
    time_t mtime = 0;
    uint64_t size;

    return rados_stat(f->r->idx, oid, &size, &mtime) != 0 || time(NULL) - mtime < YOUNG_SECS;
}

/* The containers of account `oid` (acct.<account>): their ids into f->cids. */
static int
walk_account(struct fsck *f, struct arena *a, const char *oid, size_t *cap)
{
    struct omap_cursor c = {0};
    int rc;

    cursor_open(&c, f->r->idx, oid);
    while ((rc = cursor_next(&c)) == 0 && c.k != NULL) {
        struct container_rec rec;
        if (c.k[0] != 'C' && c.k[0] != 'D')
            continue;
        if (meta_container_decode(a, c.v, c.vl, &rec) != 0) {
            problem(f, "%s: container record of %zu bytes does not decode (left alone)", oid, c.vl);
            continue;
        }
        f->containers++;
        if (c.k[0] == 'D' && rec.purge_at != 0) { /* its purge entry, looked up later */
            struct buf k = BUF_INIT, v = BUF_INIT, dk = {.p = c.k, .len = c.kl};
            char loid[32];
            snprintf(loid, sizeof(loid), "purge.%u", (unsigned)(rec.id % LIST_SHARDS));
            hex64(&k, (uint64_t)rec.purge_at);
            buf_putc(&k, 'D');
            hex64(&k, rec.id);
            hex64(&k, (uint64_t)rec.deleted);
            buf_puts(&v, oid + 5);
            buf_putc(&v, 0);
            buf_add(&v, c.k, c.kl);
            if (buf_ok(&k) && buf_ok(&v))
                recheck_add(f, 'Q', loid, k.p, k.len, v.p, v.len, oid, &dk, rec.purge_at, NULL);
            buf_free(&k);
            buf_free(&v);
        }
        if (f->ncids == *cap) {
            uint64_t *n = realloc(f->cids, (*cap = *cap * 2 + 64) * sizeof(*n));
            if (n == NULL) {
                rc = CO_EBACKEND;
                break;
            }
            f->cids = n;
        }
        f->cids[f->ncids++] = rec.id;
    }
    cursor_close(&c);
    return rc;
}

/* A head no record names: reported and, repair, its drop queued (the GC checks again that no
 * record names the id before it drops anything). */
static void
orphan_head(struct fsck *f, const struct obj *h)
{
    char account[256];
    int len;

    if (young(f, h->oid))
        return;
    problem(f, "%s: a container head no container record names", h->oid);
    if (!f->repair)
        return;
    if ((len = rados_getxattr(f->r->idx, h->oid, "account", account, sizeof(account) - 1)) < 0)
        return;
    account[len] = 0;
    if (gc_drop_container(f->r, account, h->cid) == 0)
        fixed(f, "%s: its drop is on the GC list", h->oid);
}

static int
walk_index(struct fsck *f)
{
    struct obj *heads = NULL, *shards = NULL;
    char **accounts = NULL;
    size_t nheads = 0, nshards = 0, naccounts = 0, caph = 0, caps = 0, capa = 0, capc = 0;
    struct arena *a = arena_new(SCRATCH_CAP);
    rados_list_ctx_t ctx = NULL;
    const char *oid;
    int rc;

    if (a == NULL)
        return CO_EBACKEND;
    if ((rc = rados_nobjects_list_open(f->r->idx, &ctx)) < 0) {
        rc = eng_err(rc, "list", "the index pool");
        ctx = NULL;
        goto out;
    }
    while ((rc = rados_nobjects_list_next(ctx, &oid, NULL, NULL)) == 0) {
        struct obj o = {0};
        char *end;
        if (strncmp(oid, "acct.", 5) == 0) {
            if (naccounts == capa &&
                (accounts = realloc(accounts, (capa = capa * 2 + 16) * sizeof(*accounts))) == NULL)
                break;
            if ((accounts[naccounts] = strdup(oid)) == NULL)
                break;
            naccounts++;
            continue;
        }
        if (strncmp(oid, "cont.", 5) == 0 && strlen(oid) == 21) {
            o.cid = unhex64(oid + 5);
            if (nheads == caph &&
                (heads = realloc(heads, (caph = caph * 2 + 16) * sizeof(o))) == NULL)
                break;
            if ((o.oid = strdup(oid)) == NULL)
                break;
            heads[nheads++] = o;
        } else if (strncmp(oid, "idx.", 4) == 0 && strlen(oid) >= 22 && oid[20] == '.') {
            o.cid = unhex64(oid + 4);
            o.k = (unsigned)strtoul(oid + 21, &end, 10);
            if (*end != 0)
                continue;
            if (nshards == caps &&
                (shards = realloc(shards, (caps = caps * 2 + 64) * sizeof(o))) == NULL)
                break;
            if ((o.oid = strdup(oid)) == NULL)
                break;
            shards[nshards++] = o;
        }
    }
    if (rc != -ENOENT) {
        rc = rc == 0 ? CO_EBACKEND : eng_err(rc, "list", "the index pool");
        goto out;
    }
    rc = 0;
    for (size_t i = 0; i < naccounts && rc == 0; i++)
        rc = walk_account(f, a, accounts[i], &capc);
    if (rc != 0)
        goto out;
    if (f->ncids > 0)
        qsort(f->cids, f->ncids, sizeof(*f->cids), u64_order);
    if (nheads > 0)
        qsort(heads, nheads, sizeof(*heads), obj_order);
    if (nshards > 0)
        qsort(shards, nshards, sizeof(*shards), obj_order);
    for (size_t i = 0; i < nheads; i++)
        if (!cid_named(f, heads[i].cid))
            orphan_head(f, &heads[i]);
    for (size_t i = 0; i < nshards && rc == 0; i++) {
        const struct obj *s = &shards[i];
        progress(f, s->oid);
        if (cid_named(f, s->cid) && has_head(heads, nheads, s->cid)) {
            rc = check_shard(f, s->cid, s->k);
        } else if (has_head(heads, nheads, s->cid)) {
            continue; /* its head's drop takes it */
        } else if (cid_named(f, s->cid)) {
            problem(f, "%s: its container is named by a record, but its head is missing", s->oid);
        } else if (!young(f, s->oid) && (i + 1 == nshards || shards[i + 1].cid != s->cid)) {
            /* the last shard of a container id nothing knows */
            problem(f, "idx.%016" PRIx64 ".*: index shards of a container id nothing names",
                    s->cid);
            if (f->repair && shards_remove(f->r, s->cid, s->k + 1) == 0)
                fixed(f, "idx.%016" PRIx64 ".*: removed, their payloads dropped", s->cid);
        }
    }
out:
    if (ctx != NULL)
        rados_nobjects_list_close(ctx);
    for (size_t i = 0; i < naccounts; i++)
        free(accounts[i]);
    for (size_t i = 0; i < nheads; i++)
        free(heads[i].oid);
    for (size_t i = 0; i < nshards; i++)
        free(shards[i].oid);
    free(accounts);
    free(heads);
    free(shards);
    arena_free(a);
    return rc;
}

/* ---- step 4: orphans, the purge list, the copy markers, the second look -------------------- */

static void
check_orphans(struct fsck *f)
{
    for (size_t i = 0; i < f->cap; i++) {
        struct payload *p = &f->tab[i];
        if (p->seq == 0 || !(p->flags & P_DATA) || (p->flags & (P_NAMED | P_ENTRY)))
            continue;
        f->orphans++;
        problem(f, "payload %016" PRIx64 ": %" PRIu64 " stripe(s) nothing names (an orphan)",
                p->seq, p->stripes);
        if (f->repair && rdata_orphan(f->r->dp, p->seq, p->stripes) == 0)
            fixed(f, "payload %016" PRIx64 ": on the GC list, due now", p->seq);
    }
}

/*
 * Shared payloads nothing references any more: a copy marked each, and every index object that
 * referenced it has dropped its reference since (docs/rados.md, "Payloads shared between index
 * objects").  Reclaimed only when both walks of the GC lists saw the same mark, set more than
 * SHARE_SECS before this check began: a copy sets the mark anew before its commit op (which lands
 * within seconds), and a reference made after an index object was read here can only come from
 * such a copy, whose mark is then younger or changed.  The repair replaces the mark, compared, by
 * a GC entry due now.
 */
static void
check_shared(struct fsck *f)
{
    char mark[24];

    for (size_t i = 0; i < f->cap; i++) {
        struct payload *p = &f->tab[i];
        if (p->seq == 0 || (p->flags & (P_DATA | P_MARK2 | P_NAMED)) != (P_DATA | P_MARK2) ||
            p->shared_at > f->began - (int64_t)SHARE_SECS * TICKS_PER_SEC)
            continue;
        problem(f, "payload %016" PRIx64 ": shared by a copy, and nothing references it any more",
                p->seq);
        snprintf(mark, sizeof(mark), "%" PRId64, p->shared_at);
        if (f->repair && rdata_unshare(f->r->dp, p->seq, p->stripes, mark, strlen(mark)) == 0)
            fixed(f, "payload %016" PRIx64 ": on the GC list, due now", p->seq);
    }
}

/* The purge entries and the copy markers: each names its record, looked up now (a container's:
 * later) and, when it looks stale, again later. */
static int
walk_lists(struct fsck *f, struct arena *a)
{
    for (int l = 0; l < 2 * LIST_SHARDS; l++) {
        struct omap_cursor c = {0};
        char loid[32];
        int copies = l >= LIST_SHARDS, rc;
        snprintf(loid, sizeof(loid), "%s.%d", copies ? "copy" : "purge", l % LIST_SHARDS);
        cursor_open(&c, f->r->idx, loid);
        while ((rc = cursor_next(&c)) == 0 && c.k != NULL) {
            struct buf bk = BUF_INIT;
            struct blob_rec rec;
            const char *name, *p = c.k;
            char soid[48], kind = ENG_CURRENT, sv[80], *v, *copy_id = NULL;
            size_t nlen, vl, e;
            int64_t id = 0, due = 0;
            uint64_t cid;
            int ok = 0;
            if (!copies && c.kl == 49 && c.k[16] == 'D') { /* <due>D<cid><deleted>: a container */
                const char *nul = memchr(c.v, 0, c.vl);
                struct buf dk = BUF_INIT;
                if (nul == NULL || nul - c.v > 30) {
                    problem(f, "%s: entry of %zu bytes does not decode (left alone)", loid, c.kl);
                    continue;
                }
                snprintf(soid, sizeof(soid), "acct.%.*s", (int)(nul - c.v), c.v);
                buf_add(&dk, nul + 1, c.vl - (size_t)(nul + 1 - c.v));
                recheck_add(f, 'q', loid, c.k, c.kl, c.v, c.vl, soid, &dk, (int64_t)unhex64(c.k),
                            NULL);
                buf_free(&dk);
                continue;
            }
            if (!copies) { /* <due>B<cid><place>, value the shard */
                if (c.kl < 34 || c.k[16] != 'B' || c.vl == 0 || c.vl >= sizeof(sv))
                    continue;
                due = (int64_t)unhex64(c.k);
                p = c.k + 17;
                memcpy(sv, c.v, c.vl);
                sv[c.vl] = 0;
                ok = place_parse(a, p + 16, c.kl - 33, &name, &nlen, &kind, &id) == 0;
            } else { /* <cid><esc(name)><copy id>, value "<owner> <shard>" */
                const char *sp = memchr(c.v, ' ', c.vl);
                if (c.kl < 19 || sp == NULL || c.vl >= sizeof(sv))
                    continue;
                memcpy(sv, sp + 1, c.vl - (size_t)(sp + 1 - c.v));
                sv[c.vl - (size_t)(sp + 1 - c.v)] = 0;
                e = name_end(c.k + 16, c.kl - 16);
                ok = e < c.kl - 16 && (name = key_dec(a, c.k + 16, e, &nlen)) != NULL &&
                     (copy_id = arena_strndup(a, c.k + 16 + e + 2, c.kl - 16 - e - 2)) != NULL;
            }
            if (!ok || (cid = unhex64(p)) == UINT64_MAX) {
                problem(f, "%s: entry of %zu bytes does not decode (left alone)", loid, c.kl);
                continue;
            }
            shard_oid(soid, cid, (unsigned)strtoul(sv, NULL, 10));
            rec_key(&bk, 'B', name, nlen, kind, id);
            rc = stored_get(f->r, a, soid, &bk, &rec, &v, &vl); /* CO_EBACKEND: not judged */
            if (rc == CO_ENOTFOUND ||
                (rc == 0 && (copies ? !eng_copy_pending(&rec) || strcasecmp(rec.copy.id, copy_id)
                                    : !due_at(&rec, due))))
                recheck_add(f, copies ? 'c' : 'p', loid, c.k, c.kl, c.v, c.vl, soid, &bk, due,
                            copy_id);
            buf_free(&bk);
            rc = 0;
        }
        cursor_close(&c);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Whether the record purge entry c names is due for purge at c's time: 1, 0 (not, or
 * gone), CO_EBACKEND. */
static int
record_due(struct fsck *f, struct arena *a, const struct recheck *c)
{
    struct container_rec cr;
    struct blob_rec rec;
    char *v;
    size_t vl;
    int rc;

    if (c->kind == 'q' || c->kind == 'Q') {
        if ((rc = omap_get(f->r->idx, c->soid, &c->bk, a, &v, &vl)) == 0)
            rc = meta_container_decode(a, v, vl, &cr) != 0
                     ? CO_EBACKEND
                     : cr.deleted != 0 && cr.purge_at == c->due;
    } else if ((rc = stored_get(f->r, a, c->soid, &c->bk, &rec, &v, &vl)) == 0) {
        rc = due_at(&rec, c->due);
    }
    return rc == CO_ENOTFOUND ? 0 : rc;
}

/* Whether the copy marker c names no pending copy of that id: 1, 0, CO_EBACKEND. */
static int
copy_stale(struct fsck *f, struct arena *a, const struct recheck *c)
{
    struct blob_rec rec;
    char *v;
    size_t vl;
    int rc = stored_get(f->r, a, c->soid, &c->bk, &rec, &v, &vl);

    if (rc == CO_ENOTFOUND)
        return 1;
    return rc != 0 ? rc : !eng_copy_pending(&rec) || strcasecmp(rec.copy.id, c->copy_id) != 0;
}

/* The second look at the hints noted (RECHECK_SEC after the first). */
static void
recheck_all(struct fsck *f, struct arena *a)
{
    if (f->again != NULL)
        sleep(RECHECK_SEC);
    while (f->again != NULL) {
        struct recheck *c = f->again;
        struct buf kb = BUF_INIT;
        int missing = c->kind == 'P' || c->kind == 'Q',
            container = c->kind == 'q' || c->kind == 'Q';
        int stale = c->kind == 'c' ? copy_stale(f, a, c) : record_due(f, a, c), erc;
        char *ev;
        size_t evl;
        buf_add(&kb, c->key.p, c->key.len);
        erc = omap_get(f->r->idx, c->loid, &kb, a, &ev, &evl);
        if (c->kind != 'c' && stale >= 0)
            stale = !stale; /* record_due() said whether the record calls for the entry */
        if (stale < 0 || erc == CO_EBACKEND) {
            /* unreadable now: nothing said */
        } else if (missing) {
            if (!stale && erc == CO_ENOTFOUND) {
                problem(f, "%s: a soft-deleted %s without its purge entry (never purged)", c->soid,
                        container ? "container" : "record");
                if (f->repair && entry_put(f->r->idx, c->loid, &c->key, &c->val, 1) == 0)
                    fixed(f, "%s: purge entry added to %s", c->soid, c->loid);
            }
        } else if (stale && erc == 0 && evl == c->val.len && memcmp(ev, c->val.p, evl) == 0) {
            struct omap_edit ed = {0};
            problem(f, "%s: %s naming no such record in %s", c->loid,
                    c->kind == 'c' ? "a copy marker" : "a purge entry", c->soid);
            edit_cmp(&ed, &c->key, c->val.p, c->val.len);
            edit_rm(&ed, &c->key);
            if (f->repair && omap_apply(f->r->idx, c->loid, &ed) == 0)
                fixed(f, "%s: stale entry removed", c->loid);
        }
        f->again = c->next;
        buf_free(&kb);
        buf_free(&c->key);
        buf_free(&c->val);
        buf_free(&c->bk);
        free(c);
    }
}

int
rados_fsck(struct engine *e, int repair, int quiet)
{
    struct fsck f = {.e = e, .r = e->impl, .repair = repair, .quiet = quiet, .began = ticks_now()};
    struct arena *a = NULL;
    int rc;

    if (strcmp(e->ops->name, "rados") != 0)
        return 2;
    /* The order is what makes an orphan certain (the file comment). */
    if ((rc = walk_data(&f)) == 0 && (rc = walk_gc(&f)) == 0 && (rc = walk_index(&f)) == 0 &&
        (rc = walk_gc(&f)) == 0) {
        check_orphans(&f);
        check_shared(&f);
        if ((a = arena_new(SCRATCH_CAP)) == NULL || (rc = walk_lists(&f, a)) != 0)
            rc = CO_EBACKEND;
        else
            recheck_all(&f, a);
    }
    while (f.again != NULL) { /* left by a failure */
        struct recheck *c = f.again;
        f.again = c->next;
        buf_free(&c->key);
        buf_free(&c->val);
        buf_free(&c->bk);
        free(c);
    }
    arena_free(a);
    free(f.tab);
    free(f.cids);
    if (rc != 0) {
        fprintf(stderr, "fsck: cannot read the pools (the log says why)\n");
        return 2;
    }
    printf("fsck: containers=%" PRIu64 " blobs=%" PRIu64 " staged=%" PRIu64 " payloads=%" PRIu64
           " bytes=%" PRIu64 " orphans=%" PRIu64 " problems=%" PRIu64 " repaired=%" PRIu64 "\n",
           f.containers, f.blobs, f.staged, f.payloads, f.bytes, f.orphans, f.problems, f.repaired);
    return f.problems > 0 ? 1 : 0;
}
