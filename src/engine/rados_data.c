/*
 * rados_data.c -- the RADOS engine's data plane: a payload is striped over objects of the data
 * pool, written with librados' aio (a writer holds at most WINDOW stripes: one filling, the others
 * in flight), each stripe with one CRC32C per 64 KiB chunk in its `crc` xattr, set in the op that
 * writes the stripe and checked on every read before a byte is handed out.  docs/rados.md
 * ("Payloads", "The pending protocol") is the layout and the protocol with the blob commit.
 *
 * Invariants:
 *  D1  a stripe is written once, by an exclusive create in the op that writes its bytes and CRCs:
 *      never overwritten, so a reader sees a whole stripe or none, and a colliding payload id
 *      would fail the write instead of mixing two payloads.
 *  D2  a payload's pending entry (GC list) is acknowledged before its first stripe is sent, so no
 *      stripe exists that the GC list does not name, until the entry is settled.
 *  D3  eng_data_write_finish() returns only once every stripe op completed: RADOS completes a
 *      write op when every replica of the acting set has it on stable storage, so the payload is
 *      durable when it has a locator, and eng_data_sync() has nothing left to wait for.
 *  D4  a payload's objects are deleted only after its entry is doomed by a compare-and-set (state
 *      `x`) -- after which no claim can succeed -- and only when no claim or a claim whose index
 *      object holds no reference key names it.
 */
#include "engine/rados_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/crc.h"
#include "util/log.h"
#include "util/timefmt.h"

#define CHUNK       (64u << 10)                    /* bytes per CRC */
#define MAX_CHUNKS  (1u << (RDATA_SHIFT_MAX - 16)) /* CRCs of the largest stripe */
#define WINDOW      3                              /* stripe buffers of a writer */
#define READ_SPAN   (4u << 20)                     /* bytes a reader fetches and verifies at once */
#define RM_WINDOW   16                             /* stripe removals in flight */
#define GC_SHARDS   8                              /* gc.<k>, as rados.c's LIST_SHARDS */
#define LOC_FORMAT  1 /* locator version: vol = LOC_FORMAT << 8 | shift (LOC_INLINE: rados_int.h) */
#define PENDING_TTL (6 * 3600 * TICKS_PER_SEC) /* a payload's time to be written and committed */
#define CLAIM_MARGIN \
    (10 * 60 * TICKS_PER_SEC)             /* ...of which at least this is left for the commit */
#define DROP_DELAY (3600 * TICKS_PER_SEC) /* reads begun on a dropped payload may finish */

struct rados_data {
    rados_ioctx_t idx, data;
    unsigned shift; /* stripes of new payloads */
};

int
rdata_new(rados_ioctx_t idx, rados_ioctx_t data, struct rados_data **out)
{
    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return CO_EBACKEND;
    (*out)->idx = idx;
    (*out)->data = data;
    (*out)->shift = RDATA_SHIFT;
    return 0;
}

void
rdata_free(struct rados_data *d)
{
    free(d);
}

int
rdata_set_stripe(struct rados_data *d, unsigned shift)
{
    if (shift < RDATA_SHIFT_MIN || shift > RDATA_SHIFT_MAX)
        return EINVAL;
    d->shift = shift;
    return 0;
}

/* ---- names ---------------------------------------------------------------------------------- */

static int
loc_valid(const struct extent *loc)
{
    unsigned shift = loc->vol & 0xff;

    if (rdata_inline(loc))
        return loc->inl != NULL && loc->len > 0 && loc->len <= INLINE_MAX;
    return loc->vol >> 8 == LOC_FORMAT && shift >= RDATA_SHIFT_MIN && shift <= RDATA_SHIFT_MAX &&
           loc->len > 0;
}

/* An inline payload's bytes, checked against their CRC: 0 or EBADMSG. */
static int
inline_check(const struct extent *loc)
{
    if (crc32c(0, loc->inl, (size_t)loc->len) == (uint32_t)loc->off)
        return 0;
    log_error("rados: inline payload %016" PRIx64 ": CRC mismatch", loc->seq);
    return EBADMSG;
}

static uint64_t
stripe_count(uint64_t len, unsigned shift)
{
    return (len + (1ull << shift) - 1) >> shift;
}

static uint64_t
stripe_len(uint64_t len, unsigned shift, uint64_t i)
{
    uint64_t left = len - (i << shift);

    return left < (1ull << shift) ? left : 1ull << shift;
}

static void
stripe_oid(char oid[40], uint64_t id, uint64_t i)
{
    snprintf(oid, 40, "%016" PRIx64 ".%" PRIu64, id, i);
}

/* The GC list object and key of payload id's entry due at `due`. */
static void
entry_name(char oid[16], char key[34], uint64_t id, uint64_t due)
{
    snprintf(oid, 16, "gc.%u", (unsigned)(id % GC_SHARDS));
    snprintf(key, 34, "%016" PRIx64 "d%016" PRIx64, due, id);
}

/* An entry's value: "<shift> <len> <state>", state `-` pending, `x` doomed, or an index object. */
static void
entry_value(struct buf *v, unsigned shift, uint64_t len, const char *state)
{
    buf_printf(v, "%u %" PRIu64 " %s", shift, len, state);
}

/* The key, in payload id's list object, that marks it shared (after every entry: '~'). */
static void
shared_key(char key[20], uint64_t id)
{
    snprintf(key, 20, "~s%016" PRIx64, id);
}

void
rdata_ref_key(const struct extent *loc, char key[18])
{
    snprintf(key, 18, "L%016" PRIx64, loc->seq);
}

/* One op on omap key `key` of oid: if cmp, it must equal cmp[0..cl) first, and if absent, key
 * `absent` must not exist; then set it to v (or remove it, v NULL).  create: the object may not
 * exist yet.  0 or a negative librados error (-ECANCELED: a compare failed). */
static int
entry_op(rados_ioctx_t io, const char *oid, const char *key, const char *cmp, size_t cl,
         const char *absent, const struct buf *v, int create)
{
    rados_write_op_t op = rados_create_write_op();
    size_t kl = strlen(key);
    int prval = 0, prval2 = 0, r;

    if (op == NULL)
        return -ENOMEM;
    if (create)
        rados_write_op_create(op, LIBRADOS_CREATE_IDEMPOTENT, NULL);
    if (cmp != NULL)
        rados_write_op_omap_cmp2(op, key, LIBRADOS_CMPXATTR_OP_EQ, cmp, kl, cl, &prval);
    if (absent != NULL) /* a missing key compares as empty; markers are never empty */
        rados_write_op_omap_cmp2(op, absent, LIBRADOS_CMPXATTR_OP_EQ, "", strlen(absent), 0,
                                 &prval2);
    if (v != NULL)
        rados_write_op_omap_set2(op, &key, (const char *const *)&v->p, &kl, &v->len, 1);
    else
        rados_write_op_omap_rm_keys2(op, &key, &kl, 1);
    r = rados_write_op_operate2(op, io, oid, NULL, 0);
    rados_release_write_op(op);
    return r;
}

/* Removes stripes [0, n) of payload id, RM_WINDOW at a time (a missing one is fine): 0 or errno. */
static int
stripes_remove(struct rados_data *d, uint64_t id, uint64_t n)
{
    rados_completion_t c[RM_WINDOW] = {0};
    char oid[40];
    int err = 0, r;

    for (uint64_t i = 0; i < n + RM_WINDOW; i++) {
        rados_completion_t *s = &c[i % RM_WINDOW];
        if (*s != NULL) { /* the removal RM_WINDOW back */
            rados_aio_wait_for_complete(*s);
            if ((r = rados_aio_get_return_value(*s)) < 0 && r != -ENOENT && err == 0)
                err = -r;
            rados_aio_release(*s);
            *s = NULL;
        }
        if (i >= n || err != 0)
            continue;
        stripe_oid(oid, id, i);
        if (rados_aio_create_completion2(NULL, NULL, s) < 0) {
            err = ENOMEM;
            continue;
        }
        if ((r = rados_aio_remove(d->data, oid, *s)) < 0) {
            rados_aio_release(*s);
            *s = NULL;
            err = -r;
        }
    }
    if (err != 0)
        log_error("rados: removing payload %016" PRIx64 ": %s (the GC list retries)", id,
                  strerror(err));
    return err;
}

/* ---- writing ------------------------------------------------------------------------------ */

struct slot {
    char *p;
    size_t cap, n;        /* the stripe being filled: n of its bytes so far */
    rados_completion_t c; /* its op while in flight */
    rados_write_op_t op;
};

struct rdata_writer {
    struct rados_data *d;
    uint64_t id, len, got, due;
    uint64_t next; /* the stripe being filled */
    unsigned shift, cur;
    int err;               /* the first failure (errno) */
    char *inl;             /* an inline payload: its bytes (no stripes, no entry) */
    int entry;             /* the pending entry: 0 not acknowledged yet, 1 written, -1 failed */
    rados_completion_t ec; /* its op while in flight */
    rados_write_op_t eop;
    struct slot s[WINDOW];
};

/* Waits for op c (with its op) to complete; a failure becomes w->err.  The librados result. */
static int
op_wait(struct rdata_writer *w, rados_completion_t *c, rados_write_op_t *op, const char *what)
{
    int r;

    rados_aio_wait_for_complete(*c);
    r = rados_aio_get_return_value(*c);
    rados_aio_release(*c);
    rados_release_write_op(*op);
    *c = NULL;
    *op = NULL;
    if (r < 0 && w->err == 0) {
        w->err = r == -EEXIST ? EIO : -r;
        log_error("rados: writing payload %016" PRIx64 " (%s): %s", w->id, what, strerror(-r));
    }
    return r;
}

/* An op librados refused to send (r): its completion never fires. */
static void
op_unsent(struct rdata_writer *w, rados_completion_t *c, rados_write_op_t *op, int r)
{
    rados_aio_release(*c);
    rados_release_write_op(*op);
    *c = NULL;
    *op = NULL;
    if (w->err == 0)
        w->err = -r;
    log_error("rados: writing payload %016" PRIx64 ": %s", w->id, strerror(-r));
}

static void
entry_wait(struct rdata_writer *w)
{
    if (w->ec != NULL)
        w->entry = op_wait(w, &w->ec, &w->eop, "pending entry") == 0 ? 1 : -1;
}

static void
slot_wait(struct rdata_writer *w, struct slot *s)
{
    if (s->c != NULL)
        op_wait(w, &s->c, &s->op, "stripe");
}

/* Sends the full stripe of slot w->cur (after the pending entry, D2) and makes the next slot
 * ready to fill: 0 or errno. */
static int
stripe_send(struct rdata_writer *w)
{
    struct slot *s = &w->s[w->cur];
    unsigned char crc[MAX_CHUNKS * 4];
    size_t nc = 0;
    char oid[40];
    int r;

    entry_wait(w);
    if (w->err != 0)
        return w->err;
    for (size_t at = 0; at < s->n; at += CHUNK, nc++)
        put_le32(crc + nc * 4, crc32c(0, s->p + at, s->n - at < CHUNK ? s->n - at : CHUNK));
    if ((s->op = rados_create_write_op()) == NULL ||
        rados_aio_create_completion2(NULL, NULL, &s->c) < 0) {
        rados_release_write_op(s->op);
        s->op = NULL;
        return w->err = ENOMEM;
    }
    rados_write_op_create(s->op, LIBRADOS_CREATE_EXCLUSIVE, NULL); /* D1 */
    rados_write_op_write_full(s->op, s->p, s->n);
    rados_write_op_setxattr(s->op, "crc", (const char *)crc, nc * 4);
    stripe_oid(oid, w->id, w->next);
    if ((r = rados_aio_write_op_operate(s->op, w->d->data, s->c, oid, NULL, 0)) < 0)
        op_unsent(w, &s->c, &s->op, r);
    w->next++;
    w->cur = (w->cur + 1) % WINDOW;
    s = &w->s[w->cur];
    slot_wait(w, s);
    s->n = 0;
    return w->err;
}

int
rdata_write_begin(struct engine *e, uint64_t len, unsigned flags, struct eng_writer **out)
{
    struct rados_data *d = R(e)->dp;
    struct rdata_writer *w;
    struct buf v = BUF_INIT;
    char oid[16], key[34];
    const char *k = key;
    size_t kl;
    int r = ENOMEM;

    if (len == 0)
        return EINVAL;
    if ((w = calloc(1, sizeof(*w))) == NULL)
        return ENOMEM;
    w->d = d;
    w->len = len;
    if ((flags & ENG_W_WHOLE) && len <= INLINE_MAX) { /* kept in its record: no RADOS op */
        if ((w->inl = malloc(len)) == NULL) {
            free(w);
            return ENOMEM;
        }
        w->id = eng_next_etag(e);
        *out = (struct eng_writer *)w;
        return 0;
    }
    w->shift = d->shift;
    w->id = eng_next_etag(e); /* unique across gateways (docs/rados.md, cobalt.ids) */
    w->due = (uint64_t)(ticks_now() + PENDING_TTL);
    entry_name(oid, key, w->id, w->due);
    entry_value(&v, w->shift, len, "-");
    kl = strlen(key);
    /* The pending entry goes out now; the first stripe waits for it (D2). */
    if (buf_ok(&v) && (w->eop = rados_create_write_op()) != NULL &&
        rados_aio_create_completion2(NULL, NULL, &w->ec) == 0) {
        rados_write_op_create(w->eop, LIBRADOS_CREATE_IDEMPOTENT, NULL);
        rados_write_op_omap_set2(w->eop, &k, (const char *const *)&v.p, &kl, &v.len, 1);
        if ((r = rados_aio_write_op_operate(w->eop, d->idx, w->ec, oid, NULL, 0)) < 0) {
            op_unsent(w, &w->ec, &w->eop, r);
            w->entry = -1;
        }
        r = w->err;
    }
    buf_free(&v);
    if (r != 0) {
        rdata_write_abort(e, (struct eng_writer *)w);
        return r;
    }
    *out = (struct eng_writer *)w;
    return 0;
}

int
rdata_write(struct engine *e, struct eng_writer *ew, const void *p, size_t n)
{
    struct rdata_writer *w = (struct rdata_writer *)ew;
    const char *src = p;

    (void)e;
    if (n > w->len - w->got)
        return EINVAL;
    if (w->inl != NULL) {
        memcpy(w->inl + w->got, src, n);
        w->got += n;
        return 0;
    }
    while (n > 0 && w->err == 0) {
        struct slot *s = &w->s[w->cur];
        size_t need = (size_t)stripe_len(w->len, w->shift, w->next), take;
        if (s->cap < need) {
            free(s->p);
            if ((s->p = malloc(need)) == NULL) {
                s->cap = 0;
                return w->err = ENOMEM;
            }
            s->cap = need;
        }
        take = need - s->n < n ? need - s->n : n;
        memcpy(s->p + s->n, src, take);
        s->n += take;
        w->got += take;
        src += take;
        n -= take;
        if (s->n == need)
            stripe_send(w);
    }
    return w->err;
}

/* Waits for everything in flight and frees w. */
static void
writer_free(struct rdata_writer *w)
{
    entry_wait(w);
    if (w->eop != NULL) /* never sent */
        rados_release_write_op(w->eop);
    for (int i = 0; i < WINDOW; i++) {
        slot_wait(w, &w->s[i]);
        free(w->s[i].p);
    }
    free(w);
}

int
rdata_write_finish(struct engine *e, struct eng_writer *ew, struct extent *loc)
{
    struct rdata_writer *w = (struct rdata_writer *)ew;
    int err;

    if (w->inl != NULL) {
        if (w->got != w->len) {
            rdata_write_abort(e, ew);
            return EINVAL;
        }
        *loc = (struct extent){w->id, LOC_INLINE << 8, crc32c(0, w->inl, (size_t)w->len), w->len,
                               w->inl}; /* the bytes are the caller's until eng_data_release() */
        free(w);
        return 0;
    }
    for (int i = 0; i < WINDOW; i++) /* D3 */
        slot_wait(w, &w->s[i]);
    entry_wait(w);
    err = w->got != w->len ? EINVAL : w->err;
    if (err == 0 && (int64_t)w->due - ticks_now() < CLAIM_MARGIN) {
        log_error("rados: payload %016" PRIx64 " took longer than its pending time", w->id);
        err = ETIMEDOUT; /* the GC may give it up before its commit */
    }
    if (err != 0) {
        rdata_write_abort(e, ew);
        return err;
    }
    *loc = (struct extent){w->id, LOC_FORMAT << 8 | w->shift, w->due, w->len, NULL};
    writer_free(w);
    return 0;
}

/* What an aborted writer sent is removed now, and its entry with it; what cannot be is left to
 * the entry (the GC list deletes it when it is due). */
void
rdata_write_abort(struct engine *e, struct eng_writer *ew)
{
    struct rdata_writer *w = (struct rdata_writer *)ew;
    char oid[16], key[34];

    (void)e;
    free(w->inl);
    entry_wait(w);
    for (int i = 0; i < WINDOW; i++)
        slot_wait(w, &w->s[i]);
    if (w->entry == 1 && stripes_remove(w->d, w->id, w->next) == 0) {
        entry_name(oid, key, w->id, w->due);
        if (entry_op(w->d->idx, oid, key, NULL, 0, NULL, NULL, 0) < 0)
            log_warn("rados: pending entry of payload %016" PRIx64 " left for the GC", w->id);
    }
    writer_free(w);
}

int
rdata_failed(struct engine *e)
{
    (void)e;
    return 0; /* nothing in this process is left half-done by a failed op: D1, D3 */
}

int
rdata_sync(struct engine *e, const struct extent *loc, size_t n)
{
    (void)e;
    for (size_t i = 0; i < n; i++)
        if (!loc_valid(&loc[i]))
            return EINVAL;
    return 0; /* durable since write_finish (D3) */
}

/* ---- the pending protocol ----------------------------------------------------------------- */

/* The value of omap key `key` of oid into v: 0, 1 (no such key or object), or -1 (an error). */
static int
omap_value(rados_ioctx_t io, const char *oid, const char *key, struct buf *v)
{
    struct arena *a = arena_new(1u << 16);
    struct buf k = BUF_INIT;
    char *val;
    size_t vl;
    int rc;

    buf_puts(&k, key);
    rc = a == NULL ? CO_EBACKEND : omap_get(io, oid, &k, a, &val, &vl);
    if (rc == 0)
        buf_add(v, val, vl);
    arena_free(a);
    buf_free(&k);
    return rc == 0 ? (buf_ok(v) ? 0 : -1) : rc == CO_ENOTFOUND ? 1 : -1;
}

/*
 * Settles the entry `key` of list object oid, whose value v was read: the payload is kept when the
 * index object its claim names holds its reference key or it is marked shared, else deleted (D4,
 * the doom compared with the shared mark's absence); then the entry goes.
 * 0 done (kept), 1 done (deleted), 2 keep the entry (it changed meanwhile, or the cluster failed
 * us).
 */
static int
settle(struct rados_data *d, const char *oid, const char *key, const char *v, size_t vl)
{
    struct buf doomed = BUF_INIT, val = BUF_INIT, refv = BUF_INIT;
    char state[200], ref[18], shared[20];
    unsigned shift;
    uint64_t len, id;
    int used = 0, rc = 2, r;

    buf_add(&val, v, vl);
    buf_putc(&val, 0);
    if (!buf_ok(&val) || sscanf(val.p, "%u %" SCNu64 " %199s", &shift, &len, state) != 3 ||
        shift < RDATA_SHIFT_MIN || shift > RDATA_SHIFT_MAX ||
        sscanf(key + 17, "%16" SCNx64, &id) != 1) {
        log_warn("rados: %s: entry %s is not a payload entry this version knows", oid, key);
        goto out;
    }
    if (strcmp(state, "-") != 0 && strcmp(state, "x") != 0) { /* claimed by index object `state` */
        rdata_ref_key(&(struct extent){.seq = id}, ref);
        if ((r = omap_value(d->idx, state, ref, &refv)) < 0)
            goto out;
        used = r == 0;
    }
    shared_key(shared, id);
    if (!used && strcmp(state, "x") != 0) { /* shared: kept, whatever one index object says */
        if ((r = omap_value(d->idx, oid, shared, &refv)) < 0)
            goto out;
        used = r == 0;
    }
    if (used) {
        rc = entry_op(d->idx, oid, key, v, vl, NULL, NULL, 0) == 0 ? 0 : 2;
        goto out;
    }
    if (strcmp(state, "x") != 0) { /* doom it: no claim succeeds from here on (D4) */
        entry_value(&doomed, shift, len, "x");
        if (!buf_ok(&doomed) || entry_op(d->idx, oid, key, v, vl, shared, &doomed, 0) != 0)
            goto out;
    }
    if (stripes_remove(d, id, stripe_count(len, shift)) == 0 &&
        entry_op(d->idx, oid, key, NULL, 0, NULL, NULL, 0) == 0)
        rc = 1;
out:
    buf_free(&doomed);
    buf_free(&val);
    buf_free(&refv);
    return rc;
}

/* Ends the pending state: settles the entry now, so a payload no commit took is deleted at once
 * and one a commit took stops being pending.  What fails here the GC list does when it is due. */
void
rdata_release(struct engine *e, const struct extent *loc)
{
    struct rados_data *d = R(e)->dp;
    struct buf v = BUF_INIT;
    char oid[16], key[34];

    if (!loc_valid(loc))
        return;
    if (rdata_inline(loc)) { /* committed with its record, or not: the bytes go */
        free((char *)loc->inl);
        return;
    }
    entry_name(oid, key, loc->seq, loc->off);
    if (omap_value(d->idx, oid, key, &v) != 0 || settle(d, oid, key, v.p, v.len) == 2)
        log_warn("rados: payload %016" PRIx64 " left to the GC list", loc->seq);
    buf_free(&v);
}

int
rdata_claim(struct engine *e, const struct extent *loc, const char *index_oid)
{
    struct rados_data *d = R(e)->dp;
    struct buf pending = BUF_INIT, claimed = BUF_INIT, now = BUF_INIT;
    char oid[16], key[34];
    int r, rc = CO_EBACKEND;

    if (!loc_valid(loc) || (int64_t)loc->off - ticks_now() < CLAIM_MARGIN / 2)
        return CO_ECONFLICT; /* the GC may be about to give it up */
    entry_name(oid, key, loc->seq, loc->off);
    entry_value(&pending, loc->vol & 0xff, loc->len, "-");
    entry_value(&claimed, loc->vol & 0xff, loc->len, index_oid);
    if (!buf_ok(&pending) || !buf_ok(&claimed))
        goto out;
    r = entry_op(d->idx, oid, key, pending.p, pending.len, NULL, &claimed, 0);
    if (r == -ECANCELED || r == -ENOENT) { /* claimed already (a retried commit), or given up */
        r = omap_value(d->idx, oid, key, &now);
        rc = r < 0 ? CO_EBACKEND
             : r == 0 && now.len == claimed.len && memcmp(now.p, claimed.p, now.len) == 0
                 ? 0
                 : CO_ECONFLICT;
    } else if (r == 0) {
        rc = 0;
    } else {
        log_error("rados: claiming payload %016" PRIx64 ": %s", loc->seq, strerror(-r));
    }
out:
    buf_free(&pending);
    buf_free(&claimed);
    buf_free(&now);
    return rc;
}

int
rdata_drop(struct engine *e, const struct extent *loc, const char *index_oid, uint64_t *due)
{
    struct rados_data *d = R(e)->dp;
    struct buf v = BUF_INIT;
    uint64_t at = (uint64_t)(ticks_now() + DROP_DELAY);
    char oid[16], key[34];
    int r = -ENOMEM;

    if (!loc_valid(loc))
        return CO_EBACKEND;
    entry_name(oid, key, loc->seq, at);
    entry_value(&v, loc->vol & 0xff, loc->len, index_oid);
    if (buf_ok(&v))
        r = entry_op(d->idx, oid, key, NULL, 0, NULL, &v, 1);
    buf_free(&v);
    if (r < 0)
        log_error("rados: dropping payload %016" PRIx64 ": %s", loc->seq, strerror(-r));
    if (due != NULL)
        *due = at;
    return r < 0 ? CO_EBACKEND : 0;
}

void
rdata_undrop(struct engine *e, const struct extent *loc, const char *index_oid, uint64_t due)
{
    struct buf v = BUF_INIT;
    char oid[16], key[34];
    int r = -ENOMEM;

    entry_name(oid, key, loc->seq, due);
    entry_value(&v, loc->vol & 0xff, loc->len, index_oid);
    if (buf_ok(&v)) /* compared: an entry the GC doomed meanwhile is its to finish */
        r = entry_op(R(e)->dp->idx, oid, key, v.p, v.len, NULL, NULL, 0);
    if (r < 0 && r != -ECANCELED)
        log_warn("rados: payload %016" PRIx64 ": a drop left (kept when due: still referenced)",
                 loc->seq);
    buf_free(&v);
}

int
rdata_share(struct engine *e, const struct extent *loc)
{
    struct buf v = BUF_INIT;
    char oid[16], key[34], shared[20];
    int r = -ENOMEM;

    if (!loc_valid(loc))
        return CO_EBACKEND;
    entry_name(oid, key, loc->seq, 0);
    shared_key(shared, loc->seq);
    buf_printf(&v, "%" PRId64, ticks_now()); /* when: fsck reclaims only marks long settled */
    if (buf_ok(&v))
        r = entry_op(R(e)->dp->idx, oid, shared, NULL, 0, NULL, &v, 1);
    buf_free(&v);
    if (r < 0)
        log_error("rados: marking payload %016" PRIx64 " shared: %s", loc->seq, strerror(-r));
    return r < 0 ? CO_EBACKEND : 0;
}

int
rdata_list_key(const char *k, size_t kl, uint64_t *seq)
{
    char hex[17];

    if (kl == 33 && k[16] == 'd')
        memcpy(hex, k + 17, 16);
    else if (kl == 18 && k[0] == '~' && k[1] == 's')
        memcpy(hex, k + 2, 16);
    else
        return 0;
    hex[16] = 0;
    if ((*seq = unhex64(hex)) == UINT64_MAX)
        return 0;
    return k[0] == '~' ? 's' : 'd';
}

int
rdata_orphan(struct rados_data *d, uint64_t seq, uint64_t stripes)
{
    struct buf v = BUF_INIT;
    char oid[16], key[34];
    int r = -ENOMEM;

    /* The entry only has to name every stripe: any stripe size does, the smallest is exact. */
    entry_name(oid, key, seq, (uint64_t)ticks_now());
    entry_value(&v, RDATA_SHIFT_MIN, stripes << RDATA_SHIFT_MIN, "-");
    if (buf_ok(&v))
        r = entry_op(d->idx, oid, key, NULL, 0, NULL, &v, 1);
    buf_free(&v);
    return r < 0 ? CO_EBACKEND : 0;
}

int
rdata_unshare(struct rados_data *d, uint64_t seq, uint64_t stripes, const char *mark, size_t ml)
{
    struct buf v = BUF_INIT;
    char oid[16], key[34], shared[20];
    const char *k[1];
    size_t kl[1];
    rados_write_op_t op;
    int prval = 0, r = -ENOMEM;

    entry_name(oid, key, seq, (uint64_t)ticks_now());
    shared_key(shared, seq);
    entry_value(&v, RDATA_SHIFT_MIN, stripes << RDATA_SHIFT_MIN, "-");
    if (buf_ok(&v) && (op = rados_create_write_op()) != NULL) {
        k[0] = shared;
        kl[0] = strlen(shared);
        rados_write_op_omap_cmp2(op, shared, LIBRADOS_CMPXATTR_OP_EQ, mark, kl[0], ml, &prval);
        rados_write_op_omap_rm_keys2(op, k, kl, 1);
        k[0] = key;
        kl[0] = strlen(key);
        rados_write_op_omap_set2(op, k, (const char *const *)&v.p, kl, &v.len, 1);
        r = rados_write_op_operate2(op, d->idx, oid, NULL, 0);
        rados_release_write_op(op);
    }
    buf_free(&v);
    return r == -ECANCELED ? CO_ECONFLICT : r < 0 ? CO_EBACKEND : 0;
}

int
rdata_object(const char *oid, uint64_t *seq, uint64_t *stripe)
{
    char hex[17], *end;

    if (strlen(oid) < 18 || oid[16] != '.' || oid[17] < '0' || oid[17] > '9')
        return -1;
    memcpy(hex, oid, 16);
    hex[16] = 0;
    *stripe = strtoull(oid + 17, &end, 10);
    return (*seq = unhex64(hex)) == UINT64_MAX || *end != 0 ? -1 : 0;
}

int
rdata_gc_entry(struct rados_data *d, const char *oid, const char *k, size_t kl, const char *v,
               size_t vl)
{
    char key[34];

    if (kl != 33)
        return 2;
    memcpy(key, k, kl);
    key[kl] = 0;
    return settle(d, oid, key, v, vl);
}

/* ---- reading ------------------------------------------------------------------------------ */

/* A reader keeps the last span it verified, so sequential reads of any size cost one round trip
 * per READ_SPAN. */
struct rdata_reader {
    uint64_t id; /* the payload of the span (0: none) */
    uint64_t at; /* its payload offset */
    size_t n, cap;
    char *buf;
};

int
rdata_reader_new(struct engine *e, struct eng_reader **out)
{
    (void)e;
    *out = calloc(1, sizeof(struct rdata_reader));
    return *out != NULL ? 0 : ENOMEM;
}

void
rdata_reader_free(struct engine *e, struct eng_reader *er)
{
    struct rdata_reader *r = (struct rdata_reader *)er;

    (void)e;
    if (r != NULL)
        free(r->buf);
    free(r);
}

/* Reads and verifies the span of stripe i of *loc that starts at the chunk holding stripe offset
 * so: 0, -EIO, -EBADMSG. */
static long
span_fill(struct rados_data *d, struct rdata_reader *r, const struct extent *loc, uint64_t i,
          uint64_t so)
{
    unsigned shift = loc->vol & 0xff;
    uint64_t slen = stripe_len(loc->len, shift, i), cs = so / CHUNK * CHUNK, size = 0;
    size_t span = slen - cs < READ_SPAN ? (size_t)(slen - cs) : READ_SPAN, got = 0, vl = 0;
    rados_read_op_t op = rados_create_read_op();
    rados_xattrs_iter_t xi = NULL;
    const char *name, *val = NULL, *crc = NULL;
    int p1 = 0, p2 = 0, p3 = 0, rc;
    char oid[40];

    r->id = 0;
    if (op == NULL)
        return -EIO;
    if (r->cap < span) {
        free(r->buf);
        r->cap = (r->buf = malloc(span)) != NULL ? span : 0;
    }
    if (r->buf == NULL) {
        rados_release_read_op(op);
        return -EIO;
    }
    stripe_oid(oid, loc->seq, i);
    rados_read_op_stat(op, &size, NULL, &p1);
    rados_read_op_read(op, cs, span, r->buf, &got, &p2);
    rados_read_op_getxattrs(op, &xi, &p3);
    rc = rados_read_op_operate(op, d->data, oid, 0);
    if (rc == 0)
        rc = p1 < 0 ? p1 : p2 < 0 ? p2 : p3;
    if (rc == 0) {
        size_t nl;
        while (rados_getxattrs_next(xi, &name, &val, &nl) == 0 && name != NULL)
            if (strcmp(name, "crc") == 0) {
                crc = val;
                vl = nl;
                break;
            }
    }
    if (rc != 0) {
        log_error("rados: reading %s: %s", oid, strerror(-rc));
        rc = -EIO;
    } else if (size != slen || got != span || crc == NULL || vl != (slen + CHUNK - 1) / CHUNK * 4) {
        log_error("rados: %s is not the stripe its locator names (size %" PRIu64 ")", oid, size);
        rc = -EBADMSG;
    } else {
        for (size_t at = 0; at < span && rc == 0; at += CHUNK)
            if (crc32c(0, r->buf + at, span - at < CHUNK ? span - at : CHUNK) !=
                get_le32(crc + (cs + at) / CHUNK * 4)) {
                log_error("rados: %s: CRC mismatch at offset %" PRIu64, oid, cs + at);
                rc = -EBADMSG;
            }
    }
    if (xi != NULL)
        rados_getxattrs_end(xi);
    rados_release_read_op(op);
    if (rc == 0) {
        r->id = loc->seq;
        r->at = (i << shift) + cs;
        r->n = span;
    }
    return rc;
}

long
rdata_read(struct engine *e, struct eng_reader *er, struct extent *loc, uint64_t off, void *dst,
           size_t n)
{
    struct rdata_reader *r = (struct rdata_reader *)er;
    unsigned shift = loc->vol & 0xff;
    size_t take;
    long rc;

    if (!loc_valid(loc) || off > loc->len)
        return -EIO;
    if (n == 0 || off == loc->len)
        return 0;
    if (rdata_inline(loc)) {
        if (inline_check(loc) != 0)
            return -EBADMSG;
        take = loc->len - off < n ? (size_t)(loc->len - off) : n;
        memcpy(dst, loc->inl + off, take);
        return (long)take;
    }
    if ((r->id != loc->seq || off < r->at || off >= r->at + r->n) &&
        (rc = span_fill(R(e)->dp, r, loc, off >> shift, off & ((1ull << shift) - 1))) != 0)
        return rc;
    take = r->at + r->n - off < n ? (size_t)(r->at + r->n - off) : n;
    memcpy(dst, r->buf + (off - r->at), take);
    return (long)take;
}

int
rdata_verify(struct engine *e, const struct extent *loc)
{
    struct rdata_reader r = {0};
    unsigned shift = loc->vol & 0xff;
    uint64_t off = 0;
    long rc = 0;

    if (!loc_valid(loc))
        return EINVAL;
    if (rdata_inline(loc))
        return inline_check(loc);
    while (off < loc->len && rc == 0) {
        if ((rc = span_fill(R(e)->dp, &r, loc, off >> shift, off & ((1ull << shift) - 1))) == 0)
            off = r.at + r.n;
    }
    free(r.buf);
    return (int)-rc;
}
