/*
 * local_compact.c -- the local engine's compaction: reclaiming the space of dead needles (see
 * local_maint.h for the algorithm and its crash safety).
 */
#include "engine/local_maint.h"

#include "engine/local_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta.h"
#include "store/needle.h"
#include "store/store.h"
#ifdef COBALT_FAULT_INJECTION
#include "store/faultio.h"
#endif
#include "util/arena.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timefmt.h"

#define MOVE_BATCH 4096 /* relocations per metadata batch */

int
compact_resolve(struct meta *m, struct store *s, struct extent *e)
{
    if (e->len == 0 || store_volume_size(s, e->vol) >= 0)
        return 0;
    return meta_needle_moved(m, e->seq, e) == 0 ? 0 : -1;
}

int
compact_each_needle(struct meta *m, struct store *s, uint64_t *records,
                    int (*fn)(void *ctx, const struct extent *e, const char *key, size_t klen),
                    void *ctx)
{
    struct meta_iter *it = meta_iter_new(m, "B", 1, "V", 1);
    struct local_layers live = {0}; /* the page map layers records name ('B' < 'G') */
    struct arena *a = NULL;
    int rc = 0;

    if (it == NULL)
        return ENOMEM;
    for (; meta_iter_valid(it) && rc == 0; meta_iter_next(it)) {
        size_t kl, vl;
        int stop = 0;
        const char *k = meta_iter_key(it, &kl), *v = meta_iter_value(it, &vl);
        struct blob_rec b;
        struct extent e;

        if (k[0] == 'B') {
            arena_free(a);
            if ((a = arena_new(256u << 20)) == NULL) {
                rc = ENOMEM;
                break;
            }
            if (meta_blob_decode(a, v, vl, &b) != 0) {
                rc = EIO; /* never guess liveness from a record we cannot read */
                break;
            }
            if ((rc = local_layers_add(&live, &b)) != 0)
                break;
            for (size_t i = 0; i < b.nblocks && !stop; i++) {
                e = b.blocks[i].ext;
                if (compact_resolve(m, s, &e) == 0)
                    stop = fn(ctx, &e, k, kl);
            }
        } else if (k[0] == 'G') {
            struct eng_page p;
            uint64_t layer;
            if (local_page_decode(k, kl, v, vl, &layer, &p) != 0) {
                rc = EIO;
                break;
            }
            if (p.loc.len == 0 || !local_layers_has(&live, layer))
                continue; /* zeros, or a dead layer's entry: local_pages_gc() drops it */
            e = p.loc;
            if (compact_resolve(m, s, &e) == 0)
                stop = fn(ctx, &e, k, kl);
        } else if (k[0] == 'U') {
            if (meta_extent_decode(v, vl, &e) != 0) {
                rc = EIO;
                break;
            }
            if (compact_resolve(m, s, &e) == 0)
                stop = fn(ctx, &e, k, kl);
        } else {
            continue;
        }
        (*records)++;
        if (stop)
            break;
    }
    if (rc == 0 && meta_iter_status(it) != 0)
        rc = EIO;
    arena_free(a);
    meta_iter_free(it);
    local_layers_free(&live);
    return rc;
}

struct live_bytes {
    uint64_t *bytes; /* indexed by volume id */
    uint32_t max;
};

static int
count_live(void *ctx, const struct extent *e, const char *key, size_t klen)
{
    struct live_bytes *l = ctx;

    if (e->vol <= l->max)
        l->bytes[e->vol] += needle_size(e->len); /* shared needles count twice: conservative */
    return 0;
}

struct live_set {
    uint32_t vol;
    struct extent *v;
    size_t n, cap;
    int oom;
};

static int
collect(void *ctx, const struct extent *e, const char *key, size_t klen)
{
    struct live_set *l = ctx;

    if (e->vol != l->vol)
        return 0;
    if (l->n == l->cap) {
        struct extent *nv = realloc(l->v, sizeof(*nv) * (l->cap = l->cap * 2 + 1024));
        if (nv == NULL) {
            l->oom = 1;
            return 1;
        }
        l->v = nv;
    }
    l->v[l->n++] = *e;
    return 0;
}

static int
cmp_seq(const void *a, const void *b)
{
    const struct extent *x = a, *y = b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Moves the live needles of one volume and retires it. */
static int
compact_volume(struct meta *m, struct store *s, uint32_t vol, uint64_t size,
               struct compact_stats *st)
{
    struct live_set live = {vol, NULL, 0, 0, 0};
    struct extent *moved = NULL;
    struct meta_txn *t = NULL;
    struct buf k = BUF_INIT, v = BUF_INIT;
    size_t n = 0, done = 0;
    uint64_t live_bytes = 0;
    int rc;

    if ((rc = compact_each_needle(m, s, &st->scanned_records, collect, &live)) != 0 || live.oom) {
        rc = rc ? rc : ENOMEM;
        goto out;
    }
    if (live.n > 0) /* (qsort's pointer must not be NULL, even for no elements) */
        qsort(live.v, live.n, sizeof(*live.v), cmp_seq);
    for (size_t i = 0; i < live.n; i++) /* each shared needle once */
        if (n == 0 || live.v[n - 1].seq != live.v[i].seq)
            live.v[n++] = live.v[i];
    if ((moved = malloc(sizeof(*moved) * (n ? n : 1))) == NULL) {
        rc = ENOMEM;
        goto out;
    }
    for (done = 0; done < n; done++) {
        if ((rc = store_copy(s, &live.v[done], &moved[done])) != 0) {
            rc = -rc;
            log_error("compact: volume %u kept: needle %llu could not be copied (%s)", vol,
                      (unsigned long long)live.v[done].seq, strerror(rc));
            goto out;
        }
        live_bytes += needle_size(live.v[done].len);
    }
    if (n > 0 && (rc = store_sync(s, moved, n)) != 0)
        goto out;
    /* Relocations, then the retirement marker last: until it commits, V is still the truth. */
    for (size_t i = 0; i < n || t == NULL; i++) {
        if (t == NULL && (t = meta_txn_new()) == NULL) {
            rc = ENOMEM;
            goto out;
        }
        if (i < n) {
            buf_reset(&k);
            buf_reset(&v);
            meta_key_moved(&k, moved[i].seq);
            meta_extent_encode(&moved[i], &v);
            meta_txn_put(t, k.p, k.len, v.p, v.len);
        }
        if (i + 1 >= n) {
            buf_reset(&k);
            meta_key_retired(&k, vol);
            meta_txn_put(t, k.p, k.len, "", 0);
        }
        if (!buf_ok(&k) || !buf_ok(&v)) {
            rc = ENOMEM;
            goto out;
        }
        if ((i + 1) % MOVE_BATCH == 0 || i + 1 >= n) {
            if (meta_commit(m, t) != 0) {
                rc = EIO;
                goto out;
            }
            meta_txn_free(t);
            t = NULL;
            if (i + 1 >= n)
                break;
        }
    }
    if ((rc = store_retire(s, vol)) != 0)
        log_warn("compact: volume %u retired but not yet deleted: %s", vol, strerror(rc));
    rc = 0;
    st->volumes_compacted++;
    st->needles_moved += n;
    st->bytes_moved += live_bytes;
    st->bytes_reclaimed += size > live_bytes ? size - live_bytes : 0;
    metric_add(M_COMPACT_VOLUMES, 1);
    metric_add(M_COMPACT_MOVED, (int64_t)live_bytes);
    metric_add(M_COMPACT_RECLAIMED, (int64_t)(size > live_bytes ? size - live_bytes : 0));
    log_info("compact: volume %u: moved %zu live needles (%llu bytes), reclaimed %llu bytes", vol,
             n, (unsigned long long)live_bytes,
             (unsigned long long)(size > live_bytes ? size - live_bytes : 0));
out:
    for (size_t i = 0; moved != NULL && i < done; i++)
        store_release(s, &moved[i]);
    meta_txn_free(t);
    buf_free(&k);
    buf_free(&v);
    free(moved);
    free(live.v);
    return rc;
}

int
compact_run(struct meta *m, struct store *s, double threshold, struct compact_stats *st)
{
    struct store_volume_info *vols = NULL;
    struct live_bytes lb = {NULL, 0};
    size_t nv = 0;
    int rc;

    memset(st, 0, sizeof(*st));
    if ((rc = local_pages_gc(m, &st->page_entries_dropped)) != 0)
        return rc;
    if ((rc = store_volumes(s, &vols, &nv)) != 0)
        return rc;
    for (size_t i = 0; i < nv; i++)
        if (vols[i].id > lb.max)
            lb.max = vols[i].id;
    if ((lb.bytes = calloc((size_t)lb.max + 1, sizeof(*lb.bytes))) == NULL) {
        rc = ENOMEM;
        goto out;
    }
    if ((rc = compact_each_needle(m, s, &st->scanned_records, count_live, &lb)) != 0)
        goto out;
    for (size_t i = 0; i < nv; i++) {
        struct store_volume_info *v = &vols[i];
        double dead;
        if (v->active || v->pending > 0 || v->size == 0)
            continue; /* V6 */
        dead = 1.0 - (double)(lb.bytes[v->id] < v->size ? lb.bytes[v->id] : v->size) / v->size;
        if (dead < threshold)
            continue;
        if ((rc = compact_volume(m, s, v->id, v->size, st)) != 0)
            break;
    }
out:
    free(lb.bytes);
    free(vols);
    return rc;
}

int
compact_recover(struct meta *m, struct store *s)
{
    struct meta_iter *it = meta_iter_new(m, "X", 1, "Y", 1);
    int rc = 0;

    if (it == NULL)
        return ENOMEM;
    for (; meta_iter_valid(it); meta_iter_next(it)) {
        size_t kl;
        const char *k = meta_iter_key(it, &kl);
        if (kl == 5 && store_volume_size(s, get_be32(k + 1)) >= 0) {
            log_info("compact: finishing the retirement of volume %u", get_be32(k + 1));
            if ((rc = store_retire(s, get_be32(k + 1))) != 0)
                break;
        }
    }
    meta_iter_free(it);
    return rc;
}
