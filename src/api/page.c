/*
 * page.c -- page blobs: Put Page (update and clear), Get Page Ranges (and its diff against a
 * snapshot), Resize and Set Sequence Number (Set Blob Properties with x-ms-blob-content-length /
 * x-ms-sequence-number-action), and the reader Get Blob and copies use for a page blob's content.
 * A page blob is created by Put Blob with x-ms-blob-type: PageBlob (op_put_blob).
 *
 * A page blob's record holds its size, sequence number and the layers of its page map; the bytes
 * are in the engine's page map (engine.h, "page maps"), never in the record, so a 512-byte write
 * into a 1 TiB blob costs one payload and a few index entries.  A Put Page writes its body as a
 * payload (synced, V2), then checks the current record (type, lease, conditions, sequence
 * number conditions, the range against the size) and commits the record (new ETag) together with
 * the page map change if the record is still the one checked (eng_page_commit: compare-and-set).
 * Page writes change the current version in place, as appends do (append.c).
 *
 * Layers: page writes go to the record's layers[0].  A commit that keeps a page blob's record as
 * a snapshot or version while the current record goes on (Snapshot Blob, a version kept by
 * versioning) gives the current record a new empty layer on top (api_page_freeze, called by
 * api_blob_commit), so what the kept record names never changes again, and Get Page Ranges Diff
 * reports what the layers above the snapshot's hold.
 *
 * Put Page From URL (copy.c) reads its source range into a payload as if it were the body, then
 * runs op_put_page.  The diff by URL (x-ms-previous-snapshot-url) takes a snapshot of the same
 * blob.  Copy Blob and Incremental Copy of a page blob (copy.c, run by copy_pool.c) write the
 * source's pages into the destination's page map with page_copy: only written (or, for a diff,
 * changed) ranges, COPY_RUN bytes per payload and commit, so the copy stays sparse.
 *
 * Decisions where Azure's documentation is silent:
 *   - Get Page Ranges answers at most MAX_RANGES ranges per response, with a NextMarker (the
 *     offset to go on from) when there are more, whether or not the client asked for paging.
 *   - A diff against a snapshot that does not share the blob's layers (the blob was replaced by
 *     Put Blob since) reports every written range of the blob and no cleared ones.
 */
#include "api/api_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/parse.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/crc.h"
#include "util/timefmt.h"

#define PAGE         512ull
#define MAX_PAGEBLOB (8ull << 40) /* 8 TiB */
#define MAX_RANGES   10000        /* Get Page Ranges: ranges per response */
#define ROUND        1024         /* page map entries resolved at a time */

/* ---- reading a page blob's content -------------------------------------------------------- */

struct page_reader {
    struct engine *eng;
    struct eng_reader *rd;
    struct eng_blob b; /* strings malloc'd: the reader outlives the request's arena */
    uint64_t *layers;
    size_t nlayers;
    uint64_t size;
    struct eng_page *win; /* what the layers hold over [lo, hi), by offset */
    size_t nwin;
    uint64_t lo, hi;
};

void
api_page_reader_free(struct page_reader *pr)
{
    if (pr == NULL)
        return;
    eng_data_reader_free(pr->eng, pr->rd);
    free((char *)pr->b.account);
    free((char *)pr->b.container);
    free((char *)pr->b.name);
    free(pr->layers);
    free(pr->win);
    free(pr);
}

struct page_reader *
api_page_reader_new(struct engine *e, const struct eng_blob *blob, const struct blob_rec *r)
{
    struct page_reader *pr = calloc(1, sizeof(*pr));
    struct eng_blob b = *blob;

    if (pr == NULL)
        return NULL;
    pr->eng = e;
    pr->b.cid = b.cid;
    pr->b.nlen = b.nlen;
    pr->b.account = strdup(b.account ? b.account : "");
    pr->b.container = strdup(b.container ? b.container : "");
    pr->b.name = malloc(b.nlen + 1);
    pr->layers = malloc(sizeof(*pr->layers) * (r->nlayers + 1));
    pr->nlayers = r->nlayers;
    pr->size = r->size;
    if (pr->b.account == NULL || pr->b.container == NULL || pr->b.name == NULL ||
        pr->layers == NULL || eng_data_reader_new(pr->eng, &pr->rd) != 0) {
        api_page_reader_free(pr);
        return NULL;
    }
    memcpy((char *)pr->b.name, b.name, b.nlen);
    if (r->nlayers > 0)
        memcpy(pr->layers, r->layers, sizeof(*pr->layers) * r->nlayers);
    return pr;
}

/* Makes the window start at `at`: 0 or an errno value. */
static int
window(struct page_reader *pr, uint64_t at)
{
    struct arena *a = arena_new(8u << 20);
    struct eng_page *v;
    size_t n;
    int err = ENOMEM;

    if (a == NULL)
        return ENOMEM;
    if (eng_pages_resolve(pr->eng, a, &pr->b, pr->layers, pr->nlayers, at, pr->size, ROUND, &v, &n,
                          &pr->hi) != 0) {
        err = EIO;
        goto out;
    }
    free(pr->win);
    if ((pr->win = malloc(sizeof(*v) * (n + 1))) == NULL) {
        pr->nwin = 0;
        pr->hi = pr->lo = 0;
        goto out;
    }
    if (n > 0)
        memcpy(pr->win, v, sizeof(*v) * n);
    pr->nwin = n;
    pr->lo = at;
    err = 0;
out:
    arena_free(a);
    return err;
}

long
api_page_read(struct page_reader *pr, uint64_t at, char *dst, size_t max)
{
    size_t lo = 0, hi;
    uint64_t stop;
    int err;

    if (at >= pr->size || max == 0)
        return 0;
    if ((at < pr->lo || at >= pr->hi) && (err = window(pr, at)) != 0)
        return -err;
    hi = pr->nwin;
    while (lo < hi) { /* the first entry that ends past `at` */
        size_t mid = lo + (hi - lo) / 2;
        if (pr->win[mid].off + pr->win[mid].len <= at)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < pr->nwin && pr->win[lo].off <= at && pr->win[lo].loc.len > 0) {
        struct eng_page *p = &pr->win[lo];
        uint64_t left = p->off + p->len - at;
        return eng_data_read(pr->eng, pr->rd, &p->loc, p->at + (at - p->off), dst,
                             left < max ? (size_t)left : max);
    }
    /* zeros: up to the next entry with bytes, or the window's end */
    stop = pr->hi;
    for (; lo < pr->nwin; lo++)
        if (pr->win[lo].loc.len > 0) {
            stop = pr->win[lo].off > at ? pr->win[lo].off : pr->win[lo].off + pr->win[lo].len;
            break;
        }
    if (stop - at < max)
        max = (size_t)(stop - at);
    memset(dst, 0, max);
    return (long)max;
}

/* ---- layers ------------------------------------------------------------------------------ */

int
api_page_freeze(struct api_req *q, struct blob_rec *cur)
{
    uint64_t *v = arena_alloc(q->a, sizeof(*v) * (cur->nlayers + 1));

    if (v == NULL)
        return api_fail(q, E_InternalError);
    v[0] = eng_next_etag(&q->srv->eng);
    if (cur->nlayers > 0)
        memcpy(&v[1], cur->layers, sizeof(*v) * cur->nlayers);
    cur->layers = v;
    cur->nlayers++;
    return 0;
}

size_t
api_page_layers_since(const struct blob_rec *prev, const struct blob_rec *cur)
{
    size_t c = 0;

    while (c < prev->nlayers && c < cur->nlayers &&
           prev->layers[prev->nlayers - 1 - c] == cur->layers[cur->nlayers - 1 - c])
        c++;
    return c == prev->nlayers ? cur->nlayers - c : SIZE_MAX;
}

/* ---- copying a page blob's content (copy_pool.c) ---------------------------------------- */

#define COPY_RUN (4ull << 20) /* bytes written per payload and commit by a copy */

struct page_copy {
    struct engine *e;
    const struct eng_blob *dst, *src;
    const struct blob_rec *cur, *sr;
    const int *cancel;
    uint64_t *copied;
    int clear; /* the open run is a clear */
    uint64_t s, e_;
};

/*
 * Clears the run [pc->s, pc->e_) of the destination's layers[0], cutting at most ENG_PAGE_STEP
 * entries per commit, so that a destination of millions of written runs is cleared by commits of
 * bounded size (on RADOS one op could not hold them).  A pending copy's destination is whole only
 * when the copy ends, so its clear need not be one commit.  0 or a code.
 */
static int
clear_run(struct page_copy *pc)
{
    struct eng_write w = {NULL, ENG_CURRENT, 0, pc->cur, pc->cur}; /* checked only */
    int rc = 0;

    while (rc == 0 && pc->s < pc->e_) {
        struct arena *a = arena_new(8u << 20);
        struct eng_page *v, hide;
        struct eng_page_write pw;
        uint64_t to = pc->e_;
        size_t n;
        if (a == NULL)
            return ENOMEM;
        rc = eng_page_list(pc->e, a, pc->dst, pc->cur->layers[0], pc->s, pc->e_, ENG_PAGE_STEP + 1,
                           &v, &n);
        if (rc == 0 && n > ENG_PAGE_STEP)
            to = v[ENG_PAGE_STEP - 1].off + v[ENG_PAGE_STEP - 1].len;
        hide = (struct eng_page){pc->s, to - pc->s, 0, {0}};
        pw = (struct eng_page_write){pc->cur->layers[0], pc->s, to - pc->s, &hide,
                                     pc->cur->nlayers > 1};
        if (rc == 0)
            rc = eng_page_commit(pc->e, pc->dst, &w, 1, &pw, 1);
        arena_free(a);
        pc->s = to;
    }
    return rc;
}

/* Writes the run [pc->s, pc->e_) into the destination's layers[0]: 0 or a code. */
static int
flush_run(struct page_copy *pc)
{
    struct engine *e = pc->e;
    struct eng_write w = {NULL, ENG_CURRENT, 0, pc->cur, pc->cur}; /* checked only */
    struct eng_page one = {pc->s, pc->e_ - pc->s, 0, {0}};
    struct eng_page_write pw = {pc->cur->layers[0], pc->s, pc->e_ - pc->s, &one, 1};
    struct eng_writer *wr = NULL;
    int rc;

    if (pc->e_ == pc->s)
        return 0;
    if (pc->cancel != NULL && __atomic_load_n(pc->cancel, __ATOMIC_RELAXED))
        return ECANCELED;
    if (pc->clear)
        return clear_run(pc);
    if ((rc = eng_data_write_begin(e, pc->e_ - pc->s, 0, &wr)) != 0)
        return rc;
    if ((rc = api_read_content(e, pc->src, pc->sr, pc->s, pc->e_ - pc->s, wr, NULL, NULL)) != 0) {
        eng_data_write_abort(e, wr);
        return rc;
    }
    if ((rc = eng_data_write_finish(e, wr, &one.loc)) != 0)
        return rc;
    if ((rc = eng_data_sync(e, &one.loc, 1)) != 0) { /* V2 */
        eng_data_release(e, &one.loc);
        return rc;
    }
    rc = eng_page_commit(e, pc->dst, &w, 1, &pw, 1);
    eng_data_release(e, &one.loc);
    if (rc == 0 && pc->copied != NULL)
        __atomic_add_fetch(pc->copied, pc->e_ - pc->s, __ATOMIC_RELAXED);
    pc->s = pc->e_;
    return rc;
}

/* Adds [s, e) of kind `clear` to the open run, writing the run out when it cannot grow. */
static int
add_run(struct page_copy *pc, uint64_t s, uint64_t e, int clear)
{
    int rc;

    while (s < e) {
        uint64_t stop;
        if (pc->e_ != s || pc->clear != clear || (!clear && pc->e_ - pc->s == COPY_RUN)) {
            if ((rc = flush_run(pc)) != 0)
                return rc;
            pc->s = pc->e_ = s;
            pc->clear = clear;
        }
        stop = clear ? e : (e - pc->s < COPY_RUN ? e : pc->s + COPY_RUN);
        pc->e_ = stop;
        s = stop;
    }
    return 0;
}

int
page_copy(struct engine *e, const struct eng_blob *dst, const struct blob_rec *cur,
          const struct eng_blob *src, const struct blob_rec *sr, const uint64_t *layers,
          size_t nlayers, int clears, const int *cancel, uint64_t *copied)
{
    struct page_copy pc = {e, dst, src, cur, sr, cancel, copied, 0, 0, 0};
    uint64_t pos = 0, upto;
    int rc = 0;

    while (rc == 0 && pos < sr->size) {
        struct arena *a = arena_new(8u << 20);
        struct eng_page *v;
        size_t n;
        if (a == NULL)
            return ENOMEM;
        rc = eng_pages_resolve(e, a, src, layers, nlayers, pos, sr->size, ROUND, &v, &n, &upto);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (v[i].loc.len > 0 || clears)
                rc = add_run(&pc, v[i].off, v[i].off + v[i].len, v[i].loc.len == 0);
        arena_free(a);
        pos = upto;
    }
    return rc != 0 ? rc : flush_run(&pc);
}

int
page_clear(struct engine *e, const struct eng_blob *dst, const struct blob_rec *cur, uint64_t off,
           uint64_t end)
{
    struct page_copy pc = {e, dst, NULL, cur, NULL, NULL, NULL, 1, off, end};

    return flush_run(&pc);
}

/* ---- shared checks --------------------------------------------------------------------------- */

/* An unsigned decimal header up to INT64_MAX: 1 with *out, 0 when absent, -1 (400 described). */
static int
u63_header(struct api_req *q, const char *name, uint64_t *out)
{
    const char *v = api_header(q, name);
    char *end;

    if (v == NULL)
        return 0;
    errno = 0;
    *out = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno == ERANGE || *out > INT64_MAX) {
        api_fail_header(q, E_InvalidHeaderValue, name, v);
        return -1;
    }
    return 1;
}

int
api_page_create(struct api_req *q, struct blob_rec *r)
{
    uint64_t size, seq = 0;
    int has;

    if ((has = u63_header(q, "x-ms-blob-content-length", &size)) < 0)
        return -1;
    if (!has)
        return api_fail_header(q, E_MissingRequiredHeader, "x-ms-blob-content-length", NULL);
    if (size % PAGE != 0 || size > MAX_PAGEBLOB)
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-blob-content-length",
                               api_header(q, "x-ms-blob-content-length"));
    if (u63_header(q, "x-ms-blob-sequence-number", &seq) < 0)
        return -1;
    r->size = size;
    r->seqno = seq;
    r->nlayers = 0;
    return api_page_freeze(q, r);
}

/* The page range of x-ms-range (or Range) as [*off, *off + *len): 1, 0 when absent and not
 * required, -1 (described: 400 when unparsable, 416 InvalidPageRange when not page-aligned).
 * An open range ("bytes=<s>-") is taken only when not required (Get Page Ranges). */
static int
page_range(struct api_req *q, int required, uint64_t *off, uint64_t *len)
{
    const char *name = "x-ms-range", *v = api_header(q, name);
    uint64_t s, e;

    if (v == NULL)
        v = api_header(q, name = "Range");
    if (v == NULL)
        return required ? api_fail_header(q, E_MissingRequiredHeader, "x-ms-range", NULL) : 0;
    if (!range_parse(v, &s, &e) || (required && e == UINT64_MAX))
        return api_fail_header(q, E_InvalidHeaderValue, name, v);
    if (s % PAGE != 0 || (e != UINT64_MAX && (e + 1) % PAGE != 0))
        return api_fail(q, E_InvalidPageRange);
    *off = s;
    *len = e == UINT64_MAX ? UINT64_MAX - s : e - s + 1; /* "bytes=<s>-": to the end */
    return 1;
}

/* Commits nr (a changed copy of the current record old: new ETag, Last-Modified) with the page
 * write pw (NULL: none).  0, CO_ECONFLICT or -1 (described). */
static int
commit(struct api_req *q, const struct blob_rec *old, struct blob_rec *nr,
       const struct eng_page_write *pw)
{
    struct eng_blob b = api_blob_ref(q);
    struct eng_write w = {NULL, ENG_CURRENT, 0, old, nr};
    int rc;

    nr->modified = ticks_now();
    nr->etag = eng_next_etag(&q->srv->eng);
    rc = pw != NULL ? eng_page_commit(&q->srv->eng, &b, &w, 1, pw, 1)
                    : eng_blob_commit(&q->srv->eng, &b, &w, 1, NULL);
    return rc == 0 || rc == CO_ECONFLICT ? rc : api_fail_rc(q, rc);
}

/* Bytes of layer `layer` over [off, off + len) (what a write there makes garbage). */
static uint64_t
held(struct api_req *q, uint64_t layer, uint64_t off, uint64_t len)
{
    struct eng_blob b = api_blob_ref(q);
    struct eng_page *v;
    uint64_t sum = 0;
    size_t n;

    if (eng_page_list(&q->srv->eng, q->a, &b, layer, off, off + len, ROUND, &v, &n) != 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t s = v[i].off > off ? v[i].off : off;
        uint64_t e = v[i].off + v[i].len < off + len ? v[i].off + v[i].len : off + len;
        if (v[i].loc.len > 0)
            sum += e - s;
    }
    return sum;
}

/*
 * The page write that clears [off, off + len) of record old, committed as nr, into *pw (its one
 * entry, zeros hiding older layers, in *hide).  The commit costs the same however many entries
 * the range holds:
 *   - over the whole blob, in a new top layer that takes the old one's place.  The old top layer
 *     is named by no other record (a kept record always leaves the current one a new top), so it
 *     is then dead and goes as any dead layer does (the engines' GC);
 *   - over a range where the top layer holds more than ENG_PAGE_STEP entries, in a new top layer
 *     pushed over the old one, holding a zeros entry over the range.  The old top layer is then
 *     named only under the new one: the engine's background work cuts the entries hidden and
 *     merges the two (eng_pages_merge);
 *   - else in old's top layer, its entries over the range cut in the commit.
 * (Cutting a million entries in one commit would, on RADOS, pass Ceph's op size limit.)
 * 1 and *pw set, 0 when nothing is to be written (the new layer is empty), -1 described.
 */
static int
clear_write(struct api_req *q, const struct blob_rec *old, struct blob_rec *nr, uint64_t off,
            uint64_t len, struct eng_page_write *pw, struct eng_page *hide)
{
    struct eng_blob b = api_blob_ref(q);
    int whole = off == 0 && len >= old->size;
    struct eng_page *v;
    uint64_t *lv;
    size_t n = 0;

    *hide = (struct eng_page){off, len, 0, {0}};
    *pw = (struct eng_page_write){old->layers[0], off, len, hide, old->nlayers > 1};
    if (!whole && eng_page_list(&q->srv->eng, q->a, &b, old->layers[0], off, off + len,
                                ENG_PAGE_STEP + 1, &v, &n) != 0)
        return api_fail(q, E_InternalError);
    if (!whole && n <= ENG_PAGE_STEP)
        return 1;
    if ((lv = arena_alloc(q->a, sizeof(*lv) * (old->nlayers + 1))) == NULL)
        return api_fail(q, E_InternalError);
    lv[0] = pw->layer = eng_next_etag(&q->srv->eng);
    memcpy(&lv[1], &old->layers[whole], sizeof(*lv) * (old->nlayers - (size_t)whole));
    nr->layers = lv;
    nr->nlayers = old->nlayers + !whole;
    pw->nput = nr->nlayers > 1;
    return (int)pw->nput;
}

/* ---- one page write of a blob at a time ------------------------------------------------------ */

/*
 * Page writes of one blob run one at a time in this process, from the read of the record to its
 * commit.  Each rewrites the record (a new ETag), so concurrent ones -- a disk's queue depth --
 * would lose the engine's compare to each other and retry: on RADOS an op and a read each time,
 * and 8 writers of one blob wrote fewer pages per second than one.  Striped by the blob's name, as
 * the local engine's commits are; the payloads are written and synced before, in parallel.
 */
#define WRITE_STRIPES 256
static pthread_mutex_t write_stripes[WRITE_STRIPES] = {
    [0 ... WRITE_STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};

/* api_retry(q, attempt, ctx) under the addressed blob's stripe. */
static int
serialised(struct api_req *q, int (*attempt)(struct api_req *, void *), void *ctx)
{
    uint64_t cid = q->cont.id;
    pthread_mutex_t *mu =
        &write_stripes[crc32c(crc32c(0, &cid, sizeof(cid)), q->blob, q->blob_len) % WRITE_STRIPES];
    int rc;

    pthread_mutex_lock(mu);
    rc = api_retry(q, attempt, ctx);
    pthread_mutex_unlock(mu);
    return rc;
}

/* ---- Put Page -------------------------------------------------------------------------------- */

struct put_page {
    int clear;
    uint64_t off, len;
    int has_le, has_lt, has_eq;
    uint64_t le, lt, eq;
    struct blob_rec r; /* as committed */
};

static int
put_page_attempt(struct api_req *q, void *ctx)
{
    struct put_page *pp = ctx;
    struct blob_rec old;
    struct eng_page one;
    struct eng_page_write pw;
    uint64_t freed;
    int rc, write = 1;

    if (api_blob_load_typed(q, &old, BLOB_PAGE) < 0 ||
        api_blob_write_gate(q, 1, &old, GATE_CONTENT) != 0)
        return -1;
    if ((pp->has_le && old.seqno > pp->le) || (pp->has_lt && old.seqno >= pp->lt) ||
        (pp->has_eq && old.seqno != pp->eq))
        return api_fail(q, E_SequenceNumberConditionNotMet);
    if (pp->off + pp->len > old.size || old.nlayers == 0)
        return api_fail(q, E_InvalidPageRange);
    pp->r = old;
    one = (struct eng_page){pp->off, pp->len, 0, q->ext};
    pw = (struct eng_page_write){old.layers[0], pp->off, pp->len, &one, 1};
    if (pp->clear && (write = clear_write(q, &old, &pp->r, pp->off, pp->len, &pw, &one)) < 0)
        return -1;
    freed = held(q, old.layers[0], pp->off, pp->len);
    if ((rc = commit(q, &old, &pp->r, write ? &pw : NULL)) == 0)
        api_freed(q, freed);
    return rc;
}

void
op_put_page(struct api_req *q)
{
    const char *how = api_header(q, "x-ms-page-write"), *crc = api_header(q, "x-ms-content-crc64");
    struct put_page pp = {0};
    int err;

    if (api_reject_snapshot_write(q) != 0)
        return;
    if (how == NULL) {
        api_fail_header(q, E_MissingRequiredHeader, "x-ms-page-write", NULL);
        return;
    }
    if (strcasecmp(how, "update") != 0 && strcasecmp(how, "clear") != 0) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-page-write", how);
        return;
    }
    pp.clear = strcasecmp(how, "clear") == 0;
    if (page_range(q, 1, &pp.off, &pp.len) < 0)
        return;
    if (pp.clear ? q->ext.len != 0 : q->ext.len != pp.len) { /* From URL: the source's length */
        api_fail_header(q, E_InvalidHeaderValue, "Content-Length", api_header(q, "Content-Length"));
        return;
    }
    if ((pp.has_le = u63_header(q, "x-ms-if-sequence-number-le", &pp.le)) < 0 ||
        (pp.has_lt = u63_header(q, "x-ms-if-sequence-number-lt", &pp.lt)) < 0 ||
        (pp.has_eq = u63_header(q, "x-ms-if-sequence-number-eq", &pp.eq)) < 0)
        return;
    if (!pp.clear && (err = eng_data_sync(&q->srv->eng, &q->ext, 1)) != 0) { /* V2 */
        api_fail_rc(q, err);
        return;
    }
    if (serialised(q, put_page_attempt, &pp) != 0)
        return;
    api_status(q, 201);
    api_hdr_etag(q, pp.r.etag);
    api_hdr_time(q, "Last-Modified", pp.r.modified);
    if (!pp.clear) {
        api_hdr_md5(q, "Content-MD5", q->body_md5);
        if (crc != NULL)
            api_hdr(q, "x-ms-content-crc64", crc);
    }
    api_hdr_u64(q, "x-ms-blob-sequence-number", pp.r.seqno);
    api_hdr(q, "x-ms-request-server-encrypted", "true");
}

/* ---- Resize and Set Sequence Number ------------------------------------------------------ */

int
api_is_page_properties(struct api_req *q)
{
    return api_header(q, "x-ms-blob-content-length") != NULL ||
           api_header(q, "x-ms-sequence-number-action") != NULL;
}

enum seq_action { SEQ_NONE, SEQ_MAX, SEQ_UPDATE, SEQ_INCREMENT };

struct page_props {
    int resize;
    uint64_t size;
    enum seq_action action;
    uint64_t seq;
    struct blob_rec r;
};

static int
page_props_attempt(struct api_req *q, void *ctx)
{
    struct page_props *pg = ctx;
    struct blob_rec old;
    struct eng_page hide;
    struct eng_page_write pw, *pwp = NULL;
    uint64_t freed = 0;
    int rc;

    if (api_blob_load_typed(q, &old, BLOB_PAGE) < 0 ||
        api_blob_write_gate(q, 1, &old, pg->resize ? GATE_CONTENT : 0) != 0)
        return -1;
    pg->r = old;
    if (pg->action == SEQ_INCREMENT && old.seqno == INT64_MAX)
        return api_fail(q, E_SequenceNumberIncrementTooLarge);
    pg->r.seqno = pg->action == SEQ_UPDATE                       ? pg->seq
                  : pg->action == SEQ_MAX && pg->seq > old.seqno ? pg->seq
                  : pg->action == SEQ_INCREMENT                  ? old.seqno + 1
                                                                 : old.seqno;
    if (pg->resize) {
        pg->r.size = pg->size;
        if (pg->size < old.size && old.nlayers > 0) { /* shrinking drops the pages past it */
            if ((rc = clear_write(q, &old, &pg->r, pg->size, old.size - pg->size, &pw, &hide)) < 0)
                return -1;
            pwp = rc ? &pw : NULL;
            freed = held(q, old.layers[0], pg->size, old.size - pg->size);
        }
    }
    if ((rc = commit(q, &old, &pg->r, pwp)) == 0)
        api_freed(q, freed);
    return rc;
}

void
op_page_properties(struct api_req *q)
{
    const char *act = api_header(q, "x-ms-sequence-number-action");
    struct page_props pg = {0};
    int has_seq;

    if (api_reject_snapshot_write(q) != 0)
        return;
    if ((pg.resize = u63_header(q, "x-ms-blob-content-length", &pg.size)) < 0)
        return;
    if (pg.resize && (pg.size % PAGE != 0 || pg.size > MAX_PAGEBLOB)) {
        api_fail_header(q, E_InvalidHeaderValue, "x-ms-blob-content-length",
                        api_header(q, "x-ms-blob-content-length"));
        return;
    }
    if ((has_seq = u63_header(q, "x-ms-blob-sequence-number", &pg.seq)) < 0)
        return;
    if (act != NULL) {
        pg.action = strcasecmp(act, "max") == 0         ? SEQ_MAX
                    : strcasecmp(act, "update") == 0    ? SEQ_UPDATE
                    : strcasecmp(act, "increment") == 0 ? SEQ_INCREMENT
                                                        : SEQ_NONE;
        if (pg.action == SEQ_NONE) {
            api_fail_header(q, E_InvalidHeaderValue, "x-ms-sequence-number-action", act);
            return;
        }
        if (pg.action == SEQ_INCREMENT && has_seq) {
            api_fail_header(q, E_InvalidHeaderValue, "x-ms-blob-sequence-number",
                            api_header(q, "x-ms-blob-sequence-number"));
            return;
        }
        if (pg.action != SEQ_INCREMENT && !has_seq) {
            api_fail_header(q, E_MissingRequiredHeader, "x-ms-blob-sequence-number", NULL);
            return;
        }
    }
    if (serialised(q, page_props_attempt, &pg) != 0)
        return;
    api_status(q, 200);
    api_hdr_etag(q, pg.r.etag);
    api_hdr_time(q, "Last-Modified", pg.r.modified);
    api_hdr_u64(q, "x-ms-blob-sequence-number", pg.r.seqno);
}

/* ---- Get Page Ranges ------------------------------------------------------------------------ */

/* A range being written out: PageRange (data) or ClearRange. */
struct ranges {
    struct buf *b;
    size_t n, max;
    int open, clear;
    uint64_t s, e; /* the open range [s, e) */
    uint64_t next; /* where the next page starts, once max ranges are out; 0 none */
};

static void
flush(struct ranges *rg)
{
    const char *tag = rg->clear ? "ClearRange" : "PageRange";

    if (!rg->open)
        return;
    buf_printf(rg->b, "<%s><Start>%llu</Start><End>%llu</End></%s>", tag, (unsigned long long)rg->s,
               (unsigned long long)(rg->e - 1), tag);
    rg->open = 0;
    rg->n++;
}

/* Adds [s, e) of kind `clear`: 1 when the page is full (rg->next set), else 0. */
static int
add_range(struct ranges *rg, uint64_t s, uint64_t e, int clear)
{
    if (rg->open && rg->e == s && rg->clear == clear) {
        rg->e = e;
        return 0;
    }
    flush(rg);
    if (rg->n == rg->max) {
        rg->next = s;
        return 1;
    }
    *rg = (struct ranges){rg->b, rg->n, rg->max, 1, clear, s, e, 0};
    return 0;
}

/*
 * The snapshot time x-ms-previous-snapshot-url names, when it is a snapshot of the addressed
 * blob on this server (http(s)://host/account/container/blob?snapshot=..., path-style, as
 * Cobalt's URLs are).  NULL when it is not (400 InvalidHeaderValue, or 409
 * PreviousSnapshotNotFound for a snapshot of another blob: page maps are per blob).
 */
static const char *
snapshot_of_this_blob(struct api_req *q, const char *url)
{
    const char *p = strstr(url, "://"), *path, *qs, *snap;
    char *dec, *c, *b;
    size_t n, al = strlen(q->account), cl = strlen(q->container);

    if (p == NULL || (path = strchr(p + 3, '/')) == NULL || (qs = strchr(path, '?')) == NULL ||
        (snap = strstr(qs, "snapshot=")) == NULL || (snap != qs + 1 && snap[-1] != '&'))
        goto bad;
    snap += strlen("snapshot=");
    if ((dec = pct_decode(q->a, path + 1, (size_t)(qs - path - 1), &n)) == NULL ||
        (snap = pct_decode(q->a, snap, strcspn(snap, "&#"), NULL)) == NULL)
        goto bad;
    c = dec + al + 1; /* account/container/blob */
    b = c + cl + 1;
    if (n < al + cl + 2 || memcmp(dec, q->account, al) != 0 || dec[al] != '/' ||
        memcmp(c, q->container, cl) != 0 || c[cl] != '/' || (size_t)(dec + n - b) != q->blob_len ||
        memcmp(b, q->blob, q->blob_len) != 0) {
        api_fail(q, E_PreviousSnapshotNotFound);
        return NULL;
    }
    return snap;
bad:
    api_fail_header(q, E_InvalidHeaderValue, "x-ms-previous-snapshot-url", url);
    return NULL;
}

void
op_get_page_ranges(struct api_req *q)
{
    const char *prev = api_query(q, "prevsnapshot"), *marker = api_query(q, "marker");
    const char *mr = api_query(q, "maxresults"), *url = api_header(q, "x-ms-previous-snapshot-url");
    struct eng_blob eb = api_blob_ref(q);
    struct blob_rec r, ps;
    struct buf b = BUF_INIT;
    struct ranges rg = {&b, 0, MAX_RANGES, 0, 0, 0, 0, 0};
    uint64_t off = 0, len = 0, end, pos, upto;
    const uint64_t *layers;
    size_t nlayers;
    int64_t prev_id = 0;
    int exists, current, has_range, max, rc, done = 0;
    char kind;
    int64_t id;

    if (url != NULL) {
        if (prev != NULL) {
            api_fail_header(q, E_InvalidHeaderValue, "x-ms-previous-snapshot-url", url);
            return;
        }
        if ((prev = snapshot_of_this_blob(q, url)) == NULL)
            return;
    }
    if (mr != NULL) {
        if ((max = maxresults_parse(mr)) < 0) {
            api_fail_query(q, E_OutOfRangeQueryParameterValue, "maxresults", mr,
                           "Must be between 1 and 5000.");
            return;
        }
        rg.max = (size_t)max;
    }
    if (prev != NULL && (parse_iso8601(prev, &prev_id) != 0 || prev_id <= 0)) {
        api_fail_query(q, E_InvalidQueryParameterValue, "prevsnapshot", prev,
                       "Not a valid date-time.");
        return;
    }
    if ((has_range = page_range(q, 0, &off, &len)) < 0)
        return;
    if ((exists = api_blob_load_addressed(q, &r, &current)) < 0)
        return;
    if (!exists) {
        api_fail(q, E_BlobNotFound);
        return;
    }
    if (r.type != BLOB_PAGE) {
        api_fail(q, E_InvalidBlobType);
        return;
    }
    if (api_blob_read_gate(q, &r) != 0)
        return;
    layers = r.layers;
    nlayers = r.nlayers;
    if (prev != NULL) {
        size_t c;
        if (api_blob_address(q, &kind, &id) > 0 && kind == ENG_SNAPSHOT && prev_id >= id) {
            api_fail(q, E_PreviousSnapshotCannotBeNewer);
            return;
        }
        rc = eng_blob_get(&q->srv->eng, q->a, &eb, ENG_SNAPSHOT, prev_id, &ps);
        if (rc == CO_ENOTFOUND || (rc == 0 && (ps.deleted || ps.type != BLOB_PAGE))) {
            api_fail(q, E_PreviousSnapshotNotFound);
            return;
        }
        if (rc != 0) {
            api_fail_rc(q, rc);
            return;
        }
        if ((c = api_page_layers_since(&ps, &r)) != SIZE_MAX)
            nlayers = c;
    }
    end = has_range ? (off + len < r.size ? off + len : r.size) : r.size;
    pos = off;
    if (marker != NULL && *marker) {
        char *e;
        errno = 0;
        pos = strtoull(marker, &e, 10);
        if (marker[0] < '0' || marker[0] > '9' || *e != '\0' || errno == ERANGE ||
            pos % PAGE != 0) {
            api_fail_query(q, E_InvalidQueryParameterValue, "marker", marker, "Invalid marker.");
            return;
        }
        if (pos < off)
            pos = off;
    }
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<PageList>");
    while (!done && pos < end) {
        struct eng_page *v;
        size_t n;
        if ((rc = eng_pages_resolve(&q->srv->eng, q->a, &eb, layers, nlayers, pos, end, ROUND, &v,
                                    &n, &upto)) != 0) {
            api_fail_rc(q, rc);
            goto out;
        }
        for (size_t i = 0; i < n && !done; i++)
            if (v[i].loc.len > 0 || prev != NULL)
                done = add_range(&rg, v[i].off, v[i].off + v[i].len, v[i].loc.len == 0);
        pos = upto;
    }
    if (!done)
        flush(&rg);
    if (rg.next != 0)
        buf_printf(&b, "<NextMarker>%llu</NextMarker>", (unsigned long long)rg.next);
    else
        buf_puts(&b, "<NextMarker />");
    buf_puts(&b, "</PageList>");
    api_status(q, 200);
    api_hdr_etag(q, r.etag);
    api_hdr_time(q, "Last-Modified", r.modified);
    api_hdr_u64(q, "x-ms-blob-content-length", r.size);
    api_body_xml(q, &b);
out:
    buf_free(&b);
}
