/*
 * local_fsck.c -- `cobalt fsck` of the local engine: checks that every metadata record points at
 * intact data.
 *
 * For every container, blob record and staged block:
 *   - the record decodes; blobs and staged blocks belong to an existing container (else orphans);
 *   - a blob's extents add up to its size (a page blob's content is in its page map instead:
 *     every entry of a layer some record names decodes and names an intact needle);
 *   - every needle an extent names is whole and intact (store_verify: header, sequence number,
 *     length, trailer, every chunk's CRC32C) -- each distinct needle is read once, however many
 *     records share it;
 *   - no two distinct needles overlap in a volume, and one needle never appears at two places;
 *   - the blob index tags match the records (api/tags.c T1, T2): every tag of a current, committed,
 *     live blob has its 'T' key, and every 'T' key is such a tag (repair adds or deletes keys).
 * Bytes no record references are garbage by design (store.h V3) and are not errors; fsck reports
 * how much there is.
 *
 * Without --repair the metadata is opened read-only, so fsck can run next to a live server (it
 * then sees the state at the moment it opened).  --repair needs the server stopped: it deletes the
 * records whose data is unrecoverable (a blob with any damaged needle, a damaged staged block, an
 * orphan) and says exactly what it deleted; the bytes they pointed to become garbage.
 *
 * Output: one line per problem, a progress line every 2 s on long runs (stderr), and a final
 * summary line scripts can read:
 *   fsck: containers=N blobs=N staged=N needles=N bytes=N garbage_bytes=N problems=N repaired=N
 */
#include "engine/local_maint.h"

#include "engine/local_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meta/meta.h"
#include "store/needle.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/log.h"

struct needle_use {
    uint64_t seq, off, size;
    uint32_t vol;
    int bad;
};

struct fsck {
    struct meta *meta;
    struct store *store;
    int repair, quiet;
    uint64_t containers, blobs, staged, needles, bytes, problems, repaired;
    /* Container ids, sorted. */
    uint64_t *cids;
    size_t ncids, cap_cids;
    /* Distinct needles, in an open-addressing table keyed by sequence number. */
    struct needle_use *tab;
    size_t tab_cap, tab_used;
    struct meta_txn *fix;
    time_t last_progress;
    struct local_layers layers; /* the page map layers blob records name */
};

static void problem(struct fsck *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
problem(struct fsck *f, const char *fmt, ...)
{
    va_list ap;

    f->problems++;
    va_start(ap, fmt);
    fputs("fsck: ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

static void
progress(struct fsck *f)
{
    time_t now = time(NULL);

    if (f->quiet || now - f->last_progress < 2)
        return;
    f->last_progress = now;
    fprintf(stderr, "fsck: %llu blobs, %llu staged blocks, %llu needles (%llu MiB) verified...\n",
            (unsigned long long)f->blobs, (unsigned long long)f->staged,
            (unsigned long long)f->needles, (unsigned long long)(f->bytes >> 20));
}

static int
has_cid(const struct fsck *f, uint64_t cid)
{
    size_t lo = 0, hi = f->ncids;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (f->cids[mid] == cid)
            return 1;
        if (f->cids[mid] < cid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static struct needle_use *
slot(struct fsck *f, uint64_t seq)
{
    size_t i = (size_t)(seq * 0x9E3779B97F4A7C15ull) & (f->tab_cap - 1);

    while (f->tab[i].seq != 0 && f->tab[i].seq != seq)
        i = (i + 1) & (f->tab_cap - 1);
    return &f->tab[i];
}

static int
grow(struct fsck *f)
{
    struct needle_use *old = f->tab;
    size_t oldcap = f->tab_cap;

    f->tab_cap = oldcap ? oldcap * 2 : 1024;
    if ((f->tab = calloc(f->tab_cap, sizeof(*f->tab))) == NULL)
        return -1;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].seq != 0)
            *slot(f, old[i].seq) = old[i];
    free(old);
    return 0;
}

/* Verifies a needle once; returns 0 if intact, -1 if damaged (the problem is reported once). */
static int
check_extent(struct fsck *f, const struct extent *named, const char *owner)
{
    struct extent moved = *named, *e = &moved;
    struct needle_use *u;
    char why[160];
    int rc;

    if (e->len == 0)
        return 0;
    if (compact_resolve(f->meta, f->store, e) != 0) {
        problem(f, "%s: needle %llu: volume %u is gone and no relocation is recorded", owner,
                (unsigned long long)e->seq, e->vol);
        return -1;
    }
    if ((f->tab_used + 1) * 2 > f->tab_cap && grow(f) != 0) {
        problem(f, "out of memory");
        return -1;
    }
    u = slot(f, e->seq);
    if (u->seq == e->seq) {
        if (u->vol != e->vol || u->off != e->off) {
            problem(f,
                    "%s: needle %llu is referenced at two places (volume %u at %llu and "
                    "volume %u at %llu)",
                    owner, (unsigned long long)e->seq, u->vol, (unsigned long long)u->off, e->vol,
                    (unsigned long long)e->off);
            return -1;
        }
        return u->bad ? -1 : 0;
    }
    *u = (struct needle_use){e->seq, e->off, needle_size(e->len), e->vol, 0};
    f->tab_used++;
    rc = store_verify(f->store, e, why, sizeof(why));
    f->needles++;
    f->bytes += e->len;
    progress(f);
    if (rc == 0)
        return 0;
    u->bad = 1;
    problem(f, "%s: needle %llu in volume %u at %llu: %s", owner, (unsigned long long)e->seq,
            e->vol, (unsigned long long)e->off, rc == -EBADMSG ? why : strerror(-rc));
    return -1;
}

static void
drop(struct fsck *f, const char *k, size_t kl, const char *what)
{
    if (!f->repair)
        return;
    meta_txn_delete(f->fix, k, kl);
    f->repaired++;
    printf("fsck: repair: deleted %s\n", what);
}

static void
describe(char *out, size_t n, const char *prefix, uint64_t cid, const char *name, size_t nl)
{
    snprintf(out, n, "%s %llu/%.*s", prefix, (unsigned long long)cid, (int)(nl > 300 ? 300 : nl),
             name);
}

static int
scan_containers(struct fsck *f, struct arena *a)
{
    /* Live ('C') and soft-deleted ('D') containers: both own their blobs until purged. */
    struct meta_iter *it = meta_iter_new(f->meta, "C", 1, "E", 1);

    if (it == NULL)
        return -1;
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        size_t kl, vl;
        const char *k = meta_iter_key(it, &kl), *v = meta_iter_value(it, &vl);
        struct container_rec c;
        if (meta_container_decode(a, v, vl, &c) != 0) {
            problem(f, "container record %.*s does not decode", (int)(kl - 1), k + 1);
            drop(f, k, kl, "an undecodable container record");
            continue;
        }
        f->containers++;
        if (f->ncids == f->cap_cids) {
            uint64_t *n = realloc(f->cids, sizeof(*n) * (f->cap_cids = f->cap_cids * 2 + 64));
            if (n == NULL)
                break;
            f->cids = n;
        }
        f->cids[f->ncids++] = c.id;
    }
    meta_iter_free(it);
    for (size_t i = 1; i < f->ncids; i++) /* insertion sort: ids are nearly sorted */
        for (size_t j = i; j > 0 && f->cids[j - 1] > f->cids[j]; j--) {
            uint64_t t = f->cids[j];
            f->cids[j] = f->cids[j - 1];
            f->cids[j - 1] = t;
        }
    return 0;
}

/* T2 of api/tags.c: the records the tag index covers. */
static int
tag_indexed(const struct blob_rec *b)
{
    return !(b->flags & BLOB_F_UNCOMMITTED) && b->deleted == 0;
}

/* Every tag of a current blob record has its index key. */
static void
check_tag_keys(struct fsck *f, uint64_t cid, const char *name, size_t nl, const struct blob_rec *b,
               const char *who)
{
    struct buf k = BUF_INIT;

    if (memchr(name, 0, nl) != NULL || !tag_indexed(b))
        return; /* a snapshot or version, staged only or soft-deleted: not indexed */
    for (size_t i = 0; i < b->ntags; i++) {
        struct arena *a = arena_new(4096);
        char *v;
        size_t vl;
        int rc;

        buf_reset(&k);
        meta_key_tag(&k, cid, b->tags[i].name, b->tags[i].value, name, nl);
        rc = a && buf_ok(&k) ? meta_get(f->meta, k.p, k.len, a, &v, &vl) : CO_EBACKEND;
        arena_free(a);
        if (rc == CO_ENOTFOUND) {
            problem(f, "%s: tag '%s' is missing from the tag index", who, b->tags[i].name);
            if (f->repair) {
                meta_txn_put(f->fix, k.p, k.len, "", 0);
                f->repaired++;
                printf("fsck: repair: indexed tag '%s' of %s\n", b->tags[i].name, who);
            }
        }
    }
    buf_free(&k);
}

static int
scan_blobs(struct fsck *f)
{
    struct meta_iter *it = meta_iter_new(f->meta, "B", 1, "C", 1);
    char who[400];

    if (it == NULL)
        return -1;
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        struct arena *a = arena_new(256u << 20);
        size_t kl, vl;
        const char *k = meta_iter_key(it, &kl), *v = meta_iter_value(it, &vl);
        struct blob_rec b;
        uint64_t cid = kl >= 9 ? get_be64(k + 1) : 0, sum = 0;
        int bad = 0;

        describe(who, sizeof(who), "blob", cid, k + 9, kl >= 9 ? kl - 9 : 0);
        if (a == NULL || kl < 9 || meta_blob_decode(a, v, vl, &b) != 0) {
            problem(f, "%s: record does not decode", who);
            drop(f, k, kl, who);
            arena_free(a);
            continue;
        }
        f->blobs++;
        if (!has_cid(f, cid)) {
            problem(f, "%s: orphan (no container has id %llu)", who, (unsigned long long)cid);
            drop(f, k, kl, who);
            arena_free(a);
            continue;
        }
        for (size_t i = 0; i < b.nblocks; i++) {
            sum += b.blocks[i].ext.len;
            if (check_extent(f, &b.blocks[i].ext, who) != 0)
                bad = 1;
        }
        check_tag_keys(f, cid, k + 9, kl - 9, &b, who);
        if (local_layers_add(&f->layers, &b) != 0) {
            meta_iter_free(it);
            arena_free(a);
            return -1;
        }
        if (b.type != BLOB_PAGE && sum != b.size) {
            problem(f, "%s: extents hold %llu bytes but the size is %llu", who,
                    (unsigned long long)sum, (unsigned long long)b.size);
            bad = 1;
        }
        if (bad)
            drop(f, k, kl, who);
        arena_free(a);
    }
    meta_iter_free(it);
    return 0;
}

/* Every page map entry of a layer a record names decodes and names an intact needle; a damaged
 * one is dropped by --repair (its pages then read from older layers, or as zeros).  Entries of
 * layers no record names are garbage that compaction drops (local_pages.c). */
static int
scan_pages(struct fsck *f)
{
    struct meta_iter *it = meta_iter_new(f->meta, "G", 1, "H", 1);
    char who[80];

    if (it == NULL)
        return -1;
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        size_t kl, vl;
        const char *k = meta_iter_key(it, &kl), *v = meta_iter_value(it, &vl);
        struct eng_page p;
        uint64_t layer;
        if (local_page_decode(k, kl, v, vl, &layer, &p) != 0) {
            problem(f, "page map entry: does not decode");
            drop(f, k, kl, "a page map entry");
            continue;
        }
        snprintf(who, sizeof(who), "page map layer %llu at %llu", (unsigned long long)layer,
                 (unsigned long long)p.off);
        if (p.loc.len > 0 && local_layers_has(&f->layers, layer) &&
            (p.loc.len < p.at + p.len || check_extent(f, &p.loc, who) != 0)) {
            if (p.loc.len < p.at + p.len)
                problem(f, "%s: runs past its needle", who);
            drop(f, k, kl, who);
        }
    }
    meta_iter_free(it);
    return 0;
}

/* Every tag index key ('T' cid key 0x00 value 0x00 name) is a tag of a current blob record. */
static int
scan_tags(struct fsck *f)
{
    struct meta_iter *it = meta_iter_new(f->meta, "T", 1, "U", 1);
    char who[400];

    if (it == NULL)
        return -1;
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        size_t kl;
        const char *k = meta_iter_key(it, &kl), *key = k + 9, *z1, *z2 = NULL, *name, *val;
        uint64_t cid = kl >= 9 ? get_be64(k + 1) : 0;
        struct arena *a;
        struct blob_rec b;
        int ok = 0;

        if (kl > 9 && (z1 = memchr(key, 0, kl - 9)) != NULL)
            z2 = memchr(z1 + 1, 0, (size_t)(k + kl - z1 - 1));
        if (z2 == NULL) {
            problem(f, "tag index key of container %llu does not parse", (unsigned long long)cid);
            drop(f, k, kl, "an unparsable tag index key");
            continue;
        }
        val = z1 + 1;
        name = z2 + 1;
        describe(who, sizeof(who), "tag index entry of blob", cid, name, (size_t)(k + kl - name));
        if ((a = arena_new(256u << 20)) != NULL &&
            meta_blob_get(f->meta, a, cid, name, (size_t)(k + kl - name), &b) == 0 &&
            tag_indexed(&b)) {
            for (size_t i = 0; i < b.ntags && !ok; i++)
                ok = strcmp(b.tags[i].name, key) == 0 && strcmp(b.tags[i].value, val) == 0;
        }
        arena_free(a);
        if (!ok) {
            problem(f, "%s: stale (the blob has no tag '%s' = '%s')", who, key, val);
            drop(f, k, kl, who);
        }
    }
    meta_iter_free(it);
    return 0;
}

static int
scan_staged(struct fsck *f)
{
    struct meta_iter *it = meta_iter_new(f->meta, "U", 1, "V", 1);
    char who[400];

    if (it == NULL)
        return -1;
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        size_t kl, vl;
        const char *k = meta_iter_key(it, &kl), *v = meta_iter_value(it, &vl);
        const char *zero = kl > 9 ? memchr(k + 9, 0, kl - 9) : NULL;
        uint64_t cid = kl >= 9 ? get_be64(k + 1) : 0;
        struct extent e;

        describe(who, sizeof(who), "staged block of", cid, k + 9,
                 zero ? (size_t)(zero - (k + 9)) : 0);
        f->staged++;
        if (zero == NULL || meta_extent_decode(v, vl, &e) != 0) {
            problem(f, "%s: record does not decode", who);
            drop(f, k, kl, who);
            continue;
        }
        if (!has_cid(f, cid)) {
            problem(f, "%s: orphan (no container has id %llu)", who, (unsigned long long)cid);
            drop(f, k, kl, who);
            continue;
        }
        if (check_extent(f, &e, who) != 0)
            drop(f, k, kl, who);
    }
    meta_iter_free(it);
    return 0;
}

static int
cmp_use(const void *a, const void *b)
{
    const struct needle_use *x = a, *y = b;

    if (x->vol != y->vol)
        return x->vol < y->vol ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Overlaps between distinct needles, and garbage per volume. */
static uint64_t
check_layout(struct fsck *f)
{
    struct needle_use *v = malloc(sizeof(*v) * (f->tab_used ? f->tab_used : 1));
    size_t n = 0;
    uint64_t live = 0, total = 0;
    uint32_t last_vol = 0;

    if (v == NULL)
        return 0;
    for (size_t i = 0; i < f->tab_cap; i++)
        if (f->tab[i].seq != 0)
            v[n++] = f->tab[i];
    qsort(v, n, sizeof(*v), cmp_use);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && v[i].vol == v[i - 1].vol && v[i - 1].off + v[i - 1].size > v[i].off)
            problem(f, "needles %llu and %llu overlap in volume %u",
                    (unsigned long long)v[i - 1].seq, (unsigned long long)v[i].seq, v[i].vol);
        live += v[i].size;
        if (v[i].vol != last_vol) {
            int64_t sz = store_volume_size(f->store, v[i].vol);
            total += sz > 0 ? (uint64_t)sz : 0;
            last_vol = v[i].vol;
        }
    }
    free(v);
    return total > live ? total - live : 0;
}

int
local_fsck(const char *dir, int repair, int quiet)
{
    struct fsck f = {0};
    struct store_config sc = {0};
    struct arena *a = NULL;
    char path[4096];
    uint64_t garbage = 0;
    int rc = 2, err;

    f.repair = repair;
    f.quiet = quiet;
    snprintf(path, sizeof(path), "%s/meta", dir);
    if (meta_open(path, 1, !f.repair, 0, &f.meta) != 0) {
        fprintf(stderr, "fsck: cannot open %s%s\n", path,
                f.repair ? " (is a server still running on it?)" : "");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/volumes", dir);
    sc.dir = path;
    sc.fsync = 1;
    if ((err = store_open(&sc, &f.store)) != 0) {
        fprintf(stderr, "fsck: cannot open %s: %s\n", path, strerror(err));
        goto out;
    }
    f.last_progress = time(NULL);
    if ((a = arena_new(64u << 20)) == NULL || (f.fix = meta_txn_new()) == NULL ||
        scan_containers(&f, a) != 0 || scan_blobs(&f) != 0 || scan_pages(&f) != 0 ||
        scan_staged(&f) != 0 || scan_tags(&f) != 0) {
        fprintf(stderr, "fsck: out of memory or metadata error\n");
        goto out;
    }
    garbage = check_layout(&f);
    if (f.repair && f.repaired > 0 && meta_commit(f.meta, f.fix) != 0) {
        fprintf(stderr, "fsck: could not commit the repairs\n");
        goto out;
    }
    printf("fsck: containers=%llu blobs=%llu staged=%llu needles=%llu bytes=%llu "
           "garbage_bytes=%llu problems=%llu repaired=%llu\n",
           (unsigned long long)f.containers, (unsigned long long)f.blobs,
           (unsigned long long)f.staged, (unsigned long long)f.needles, (unsigned long long)f.bytes,
           (unsigned long long)garbage, (unsigned long long)f.problems,
           (unsigned long long)f.repaired);
    rc = f.problems == 0 ? 0 : 1;
out:
    meta_txn_free(f.fix);
    arena_free(a);
    free(f.cids);
    free(f.tab);
    local_layers_free(&f.layers);
    store_close(f.store);
    meta_close(f.meta);
    return rc;
}
