/*
 * tags.c -- blob index tags (protocol doc §2.7, §4.8, §4.9, §5.9): Set Blob Tags, Get Blob Tags,
 * Find Blobs by Tags (account and container level), the x-ms-tags upload header, and the
 * secondary index that makes Find a seek rather than a scan.
 *
 * The index is the engine's (engine.h): every (tag, blob) pair of a container's current blobs has
 * an entry, ordered by tag key, then value, then blob name.  Invariants:
 *  T1  the entries of a blob change in the same commit as its record (the engine derives them
 *      from the records a commit writes), so a committed state never has an entry without its
 *      tag or a tag without its entry; Delete Container drops them with the container.
 *  T2  only current, committed blobs are indexed (not snapshots, versions or staged-only names).
 *  T3  Find never trusts the index alone: each hit is checked against the blob's record (the full
 *      expression, and that the record still holds the indexed value), so a result is always a
 *      blob that matched when it was read.
 *
 * Find Blobs by Tags picks one tag key of the where= expression to walk -- the one compared with
 * '=' if any, else one bounded on both sides, else any range -- seeks to the first entry its
 * comparisons allow and stops after the last, checking each hit (T3).  Results come in index
 * order (container name, then value, then blob name), and NextMarker is the index position of the
 * next match not yet returned, so a client paging with any maxresults gets every blob that
 * matches throughout its paging exactly once, whatever is added or removed between pages.  A page
 * also ends after FIND_BUDGET index entries and containers examined, with a marker, so one request
 * never walks an unbounded run of near-misses.
 */
#include "api/api_int.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "api/parse.h"
#include "api/tagexpr.h"
#include "api/tagset.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/timefmt.h"
#include "util/xml.h"

#define FIND_BUDGET    20000       /* index entries + containers examined per request */
#define RECORD_ARENA   (64u << 20) /* scratch for one blob record read by Find */
#define MARKER_VERSION 1

/* ---- validation and the x-ms-tags header --------------------------------------------------- */

static int
tagset_fail(struct api_req *q, enum tagset_result rc, const char *header)
{
    switch (rc) {
    case TAGSET_OK:
        return 0;
    case TAGSET_TOO_LONG:
    case TAGSET_TOO_MANY:
        return api_fail(q, E_TagsTooLarge);
    case TAGSET_DUPLICATE:
        return api_fail(q, E_DuplicateTagNames);
    case TAGSET_MALFORMED:
        return api_fail_header(q, E_InvalidHeaderValue, header, api_header(q, header));
    case TAGSET_NOMEM:
        return api_fail(q, E_InternalError);
    case TAGSET_BAD_CHAR:
    case TAGSET_EMPTY_KEY:
        break;
    }
    return api_fail(q, E_InvalidTag);
}

int
api_read_tags_header(struct api_req *q, size_t *n, struct meta_pair **out)
{
    const char *h = api_header(q, "x-ms-tags");

    *n = 0;
    *out = NULL;
    if (h == NULL)
        return 0;
    return tagset_fail(q, tagset_parse_header(q->a, h, n, out), "x-ms-tags");
}

void
api_xml_tags(struct buf *b, size_t n, const struct meta_pair *t)
{
    buf_puts(b, "<Tags><TagSet>");
    for (size_t i = 0; i < n; i++) {
        buf_puts(b, "<Tag>");
        xml_elem(b, "Key", t[i].name);
        xml_elem(b, "Value", t[i].value);
        buf_puts(b, "</Tag>");
    }
    buf_puts(b, "</TagSet></Tags>");
}

/* The Tags body of Set Blob Tags (§4.9).  0, or -1 with 400 described. */
static int
parse_tags_body(struct api_req *q, size_t *n, struct meta_pair **out)
{
    struct xml_node *root, *set, *tag;
    struct meta_pair *t;
    size_t cnt = 0;

    *n = 0;
    *out = NULL;
    root = xml_parse(q->a, q->xml.p ? q->xml.p : "", q->xml.len);
    if (root == NULL || strcmp(root->name, "Tags") != 0)
        return api_fail(q, E_InvalidXmlDocument);
    if ((set = root->child) == NULL)
        return 0; /* <Tags/>: no tags */
    if (strcmp(set->name, "TagSet") != 0 || set->next != NULL)
        return api_fail(q, E_InvalidXmlDocument);
    for (tag = set->child; tag != NULL; tag = tag->next)
        if (++cnt > TAGSET_MAX_TAGS)
            return api_fail(q, E_TagsTooLarge);
    if (cnt == 0)
        return 0;
    if ((t = arena_alloc(q->a, sizeof(*t) * cnt)) == NULL)
        return api_fail(q, E_InternalError);
    cnt = 0;
    for (tag = set->child; tag != NULL; tag = tag->next, cnt++) {
        struct xml_node *k = xml_child(tag, "Key"), *v = xml_child(tag, "Value");
        if (strcmp(tag->name, "Tag") != 0 || k == NULL)
            return api_fail(q, E_InvalidXmlDocument);
        if (strlen(k->text) != k->text_len || (v && strlen(v->text) != v->text_len))
            return api_fail(q, E_InvalidTag); /* a NUL character */
        t[cnt].name = k->text;
        t[cnt].value = v ? v->text : "";
    }
    if (tagset_fail(q, tagset_check(cnt, t), NULL) != 0)
        return -1;
    *n = cnt;
    *out = t;
    return 0;
}

/* ---- Set / Get Blob Tags ----------------------------------------------------------------- */

/*
 * The record a tag operation addresses: the current blob, or with ?versionid= the current blob
 * when it carries that version id, else that previous version.  ?snapshot= is ignored here: tags
 * belong to the base blob (§5.5), so a snapshot's tags are its base blob's.  1 found (*current
 * set; *id the version id when not current), 0 not (404 is the caller's), -1 described.
 */
static int
load_tagged(struct api_req *q, struct blob_rec *r, int *current, int64_t *id)
{
    const char *v = api_query(q, "versionid");
    struct eng_blob b = api_blob_ref(q);
    int exists, rc;

    *current = 1;
    if ((exists = api_blob_load(q, r)) < 0 || v == NULL)
        return exists;
    if (parse_iso8601(v, id) != 0 || *id <= 0)
        return api_fail_query(q, E_InvalidQueryParameterValue, "versionid", v,
                              "Not a valid date-time.");
    if (exists && r->version_id == *id)
        return 1;
    *current = 0;
    rc = eng_blob_get(&q->srv->eng, q->a, &b, ENG_VERSION, *id, r);
    if (rc == CO_ENOTFOUND)
        return 0;
    if (rc != 0)
        return api_fail_rc(q, rc);
    return r->deleted ? 0 : 1;
}

/*
 * The blob-scoped conditions newer versions send on tag operations (x-ms-blob-if-match,
 * -if-none-match, -if-modified-since, -if-unmodified-since): any that fails -> 412.
 */
static int
blob_if_conditions(struct api_req *q, const struct blob_rec *r)
{
    const char *im = api_header(q, "x-ms-blob-if-match"),
               *inm = api_header(q, "x-ms-blob-if-none-match");
    const char *ims = api_header(q, "x-ms-blob-if-modified-since");
    const char *ius = api_header(q, "x-ms-blob-if-unmodified-since");
    int64_t t, mod = r->modified / TICKS_PER_SEC;
    char etag[19];

    fmt_etag(r->etag, etag);
    if (im && strcmp(im, "*") != 0 &&
        !(strlen(im) == 20 && im[0] == '"' && strncmp(im + 1, etag, 18) == 0) &&
        strcmp(im, etag) != 0)
        return api_fail(q, E_ConditionNotMet);
    if (inm && (strcmp(inm, "*") == 0 || strcmp(inm, etag) == 0 ||
                (strlen(inm) == 20 && inm[0] == '"' && strncmp(inm + 1, etag, 18) == 0)))
        return api_fail(q, E_ConditionNotMet);
    if (ims && parse_http_date(ims, &t) == 0 && mod <= t / TICKS_PER_SEC)
        return api_fail(q, E_ConditionNotMet);
    if (ius && parse_http_date(ius, &t) == 0 && mod > t / TICKS_PER_SEC)
        return api_fail(q, E_ConditionNotMet);
    return 0;
}

struct set_tags {
    size_t n;
    struct meta_pair *tags;
};

static int
set_tags_attempt(struct api_req *q, void *ctx)
{
    struct set_tags *st = ctx;
    struct blob_rec old, *r;
    int64_t id = 0;
    int exists, current;

    if ((exists = load_tagged(q, &old, &current, &id)) < 0)
        return -1;
    if (!exists)
        return api_fail(q, E_BlobNotFound);
    /* The lease id is optional here but must match when sent (§2.7); tags are not content. */
    if ((current && api_lease_check_blob(q, 1, &old, 0) != 0) ||
        api_check_conditions(q, 1, old.etag, old.modified, 0, 0) != 0 ||
        api_check_if_tags(q, &old) != 0 || blob_if_conditions(q, &old) != 0)
        return -1;
    if ((r = arena_alloc(q->a, sizeof(*r))) == NULL)
        return api_fail(q, E_InternalError);
    *r = old; /* ETag and Last-Modified stay: tags are not part of the blob's state */
    r->ntags = st->n;
    r->tags = st->tags;
    return api_blob_commit(
        q,
        &(struct eng_write){NULL, current ? ENG_CURRENT : ENG_VERSION, current ? 0 : id, &old, r},
        1, NULL);
}

void
op_set_blob_tags(struct api_req *q)
{
    struct set_tags st;

    if (api_reject_snapshot_write(q) != 0 || parse_tags_body(q, &st.n, &st.tags) != 0)
        return;
    if (api_retry(q, set_tags_attempt, &st) != 0)
        return;
    api_status(q, 204);
    http_resp_body(q->h, "", 0);
}

void
op_get_blob_tags(struct api_req *q)
{
    struct blob_rec r;
    struct buf b = BUF_INIT;
    int64_t id;
    int exists, current;

    if ((exists = load_tagged(q, &r, &current, &id)) < 0)
        return;
    if (!exists) {
        api_fail(q, E_BlobNotFound);
        return;
    }
    if (api_blob_read_gate(q, &r) != 0 || blob_if_conditions(q, &r) != 0)
        return;
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    api_xml_tags(&b, r.ntags, r.tags);
    api_status(q, 200);
    api_body_xml(q, &b);
}

/* ---- Find Blobs by Tags ----------------------------------------------------------------- */

/* Where a page resumes: a container and a position inside its part of the index (the bytes after
 * "tag-key 0x00": value 0x00 blob-name).  The marker is base64 of: version, container, 0x00, pos. */
struct pos {
    const char *container;
    const char *at;
    size_t at_len;
};

struct find {
    struct api_req *q;
    const struct tagexpr *e;
    const char *key;   /* the tag key whose index entries are walked */
    struct buf lo, hi; /* bounds on the position (value part); hi.len == 0: none */
    int have_hi;
    const char *keys[11]; /* tag keys the filter uses, reported with each match */
    int nkeys;
    const char *only; /* @container = '...' (service level), or NULL */
    int only_none;    /* two different @container values: nothing can match */
    int max, count, budget;
    struct buf out;  /* the <Blob> entries */
    struct buf next; /* NextMarker (raw bytes before base64), empty when done */
    int done;
};

struct pick {
    const char *keys[11];
    int nkeys;
    const char *only;
    int only_none;
};

struct score_ctx {
    const char *key;
    int eq, lo, hi;
};

static void
score_cmp(const struct tagexpr *c, void *ctx)
{
    struct score_ctx *s = ctx;

    if (strcmp(c->key, s->key) != 0)
        return;
    s->eq |= c->op == TOP_EQ;
    s->lo |= c->op == TOP_GT || c->op == TOP_GE;
    s->hi |= c->op == TOP_LT || c->op == TOP_LE;
}

static void
collect_keys(const struct tagexpr *c, void *ctx)
{
    struct pick *p = ctx;

    if (strcmp(c->key, "@container") == 0) {
        if (p->only != NULL && strcmp(p->only, c->value) != 0)
            p->only_none = 1;
        p->only = c->value;
        return;
    }
    for (int i = 0; i < p->nkeys; i++)
        if (strcmp(p->keys[i], c->key) == 0)
            return;
    if (p->nkeys < 11)
        p->keys[p->nkeys++] = c->key;
}

/* Narrows [lo, hi) on the position by one comparison of the walked key. */
static void
bound_lo(struct find *f, const char *v, uint8_t last)
{
    struct buf c = BUF_INIT;

    buf_puts(&c, v);
    buf_u8(&c, last);
    if (buf_ok(&c) && (f->lo.len == 0 || bytes_cmp(c.p, c.len, f->lo.p, f->lo.len) > 0)) {
        buf_reset(&f->lo);
        buf_add(&f->lo, c.p, c.len);
    }
    if (!buf_ok(&c))
        f->lo.oom = 1;
    buf_free(&c);
}

static void
bound_hi(struct find *f, const char *v, uint8_t last)
{
    struct buf c = BUF_INIT;

    buf_puts(&c, v);
    buf_u8(&c, last);
    if (buf_ok(&c) && (!f->have_hi || bytes_cmp(c.p, c.len, f->hi.p, f->hi.len) < 0)) {
        buf_reset(&f->hi);
        buf_add(&f->hi, c.p, c.len);
        f->have_hi = 1;
    }
    if (!buf_ok(&c))
        f->hi.oom = 1;
    buf_free(&c);
}

/*
 * Entries of one key sort by "value 0x00 name": a value V's entries are [V 0x00, V 0x01), every
 * longer value starting with V sorts after V 0x01 (tag characters are >= 0x20), so
 *   = V: [V 0x00, V 0x01)   > V: [V 0x01, -)   >= V: [V 0x00, -)   < V: [-, V 0x00)   <= V: [-, V 0x01)
 */
static void
add_bound(const struct tagexpr *c, void *ctx)
{
    struct find *f = ctx;

    if (strcmp(c->key, f->key) != 0)
        return;
    switch (c->op) {
    case TOP_EQ:
        bound_lo(f, c->value, 0);
        bound_hi(f, c->value, 1);
        break;
    case TOP_GT:
        bound_lo(f, c->value, 1);
        break;
    case TOP_GE:
        bound_lo(f, c->value, 0);
        break;
    case TOP_LT:
        bound_hi(f, c->value, 0);
        break;
    case TOP_LE:
        bound_hi(f, c->value, 1);
        break;
    case TOP_NE:
        break; /* not in where= */
    }
}

/* Chooses the walked key and its bounds.  0, or -1 with 400 described. */
static int
plan(struct find *f, const char *where)
{
    struct pick p = {0};
    int best = -1;

    tagexpr_each_cmp(f->e, collect_keys, &p);
    if (p.nkeys == 0)
        return api_fail_query(f->q, E_InvalidQueryParameterValue, "where", where,
                              "The expression must compare at least one tag.");
    for (int i = 0; i < p.nkeys; i++) {
        struct score_ctx s = {p.keys[i], 0, 0, 0};
        int score;
        tagexpr_each_cmp(f->e, score_cmp, &s);
        score = s.eq ? 3 : s.lo + s.hi; /* '=' first, then a range bounded on both sides */
        if (score > best) {
            best = score;
            f->key = p.keys[i];
        }
    }
    memcpy(f->keys, p.keys, sizeof(f->keys));
    f->nkeys = p.nkeys;
    f->only = p.only;
    f->only_none = p.only_none;
    tagexpr_each_cmp(f->e, add_bound, f);
    if (!buf_ok(&f->lo) || !buf_ok(&f->hi))
        return api_fail(f->q, E_InternalError);
    return 0;
}

static const char *
find_tag(const struct blob_rec *r, const char *key)
{
    for (size_t i = 0; i < r->ntags; i++)
        if (strcmp(r->tags[i].name, key) == 0)
            return r->tags[i].value;
    return NULL;
}

static void
emit(struct find *f, const char *container, const char *name, size_t nlen, const struct blob_rec *r)
{
    struct buf *b = &f->out;

    buf_puts(b, "<Blob>");
    xml_blob_name(b, name, nlen);
    xml_elem(b, "ContainerName", container);
    buf_puts(b, "<Tags><TagSet>");
    for (int i = 0; i < f->nkeys; i++) { /* only the tags the filter used (§4.8) */
        const char *v = find_tag(r, f->keys[i]);
        if (v == NULL)
            continue;
        buf_puts(b, "<Tag>");
        xml_elem(b, "Key", f->keys[i]);
        xml_elem(b, "Value", v);
        buf_puts(b, "</Tag>");
    }
    buf_puts(b, "</TagSet></Tags></Blob>");
}

static void
set_next(struct find *f, const char *container, const char *at, size_t at_len)
{
    buf_reset(&f->next);
    buf_u8(&f->next, MARKER_VERSION);
    buf_puts(&f->next, container);
    buf_u8(&f->next, 0);
    buf_add(&f->next, at, at_len);
    f->done = 1;
}

/*
 * Checks one index entry against its blob's record (T3).  1 match (r filled, in `a`), 0 not,
 * -1 on a read error.
 */
static int
check_hit(struct find *f, struct arena *a, uint64_t cid, const char *container, const char *value,
          const char *name, size_t nlen, struct blob_rec *r)
{
    const char *v;
    struct eng_blob b = {f->q->account, container, cid, name, nlen};
    int rc = eng_blob_get(&f->q->srv->eng, a, &b, ENG_CURRENT, 0, r);

    if (rc == CO_ENOTFOUND)
        return 0;
    if (rc != 0)
        return -1;
    if ((r->flags & BLOB_F_UNCOMMITTED) || r->deleted || api_blob_past_expiry(r, ticks_now()))
        return 0;
    if ((v = find_tag(r, f->key)) == NULL || strcmp(v, value) != 0)
        return 0; /* the entry is not this record's (T1 makes this unreachable) */
    return tagexpr_eval(f->e, r->ntags, r->tags, container);
}

/* Walks one container's entries of the chosen key from `from` (a position, or NULL).  0, or -1
 * with the response described. */
static int
walk_container(struct find *f, uint64_t cid, const char *container, const char *from,
               size_t from_len)
{
    struct eng_iter *it = NULL;
    struct arena *a = NULL;
    int rc;

    if (from == NULL || bytes_cmp(from, from_len, f->lo.p ? f->lo.p : "", f->lo.len) <= 0) {
        from = f->lo.p ? f->lo.p : "";
        from_len = f->lo.len;
    }
    if ((rc = eng_tag_list(&f->q->srv->eng, cid, f->key, from, from_len,
                           f->have_hi ? f->hi.p : NULL, f->hi.len, &it)) != 0)
        return api_fail_rc(f->q, rc);
    for (;;) {
        struct eng_tag_entry te;
        struct blob_rec r;
        int hit;

        arena_free(a);
        if ((a = arena_new(RECORD_ARENA)) == NULL) {
            rc = api_fail(f->q, E_InternalError);
            break;
        }
        if ((rc = eng_tag_next(it, a, &te)) <= 0) {
            rc = rc == 0 ? 0 : api_fail_rc(f->q, rc);
            break;
        }
        rc = 0;
        if (f->budget-- <= 0) {
            set_next(f, container, te.pos, te.poslen);
            break;
        }
        if ((hit = check_hit(f, a, cid, container, te.value, te.name, te.nlen, &r)) < 0) {
            rc = api_fail_rc(f->q, CO_EBACKEND);
            break;
        }
        if (hit > 0 && f->count == f->max)
            set_next(f, container, te.pos, te.poslen); /* the next page starts at this match */
        else if (hit > 0) {
            emit(f, container, te.name, te.nlen, &r);
            f->count++;
        }
        if (f->done)
            break;
    }
    arena_free(a);
    eng_iter_free(it);
    return rc;
}

/* Service level: every container of the account in name order (or only @container's). */
static int
walk_account(struct find *f, const struct pos *start)
{
    const char *from = NULL;
    struct eng_iter *it = NULL;
    int rc;

    if (f->only_none)
        return 0;
    if (f->only != NULL && (start == NULL || strcmp(start->container, f->only) <= 0))
        from = f->only;
    else if (start != NULL)
        from = start->container;
    if ((rc = eng_container_list(&f->q->srv->eng, f->q->account, NULL, from, 0, &it)) != 0)
        return api_fail_rc(f->q, rc);
    while (!f->done) {
        struct arena *a = arena_new(1u << 20);
        struct eng_container c;
        int resume;

        if (a == NULL || (rc = eng_container_next(it, a, &c)) < 0) {
            arena_free(a);
            rc = api_fail_rc(f->q, a == NULL ? ENOMEM : rc);
            break;
        }
        if (rc == 0 || (f->only != NULL && strcmp(c.name, f->only) != 0)) {
            arena_free(a);
            rc = 0;
            break;
        }
        if (f->budget-- <= 0) {
            set_next(f, c.name, "", 0);
            arena_free(a);
            rc = 0;
            break;
        }
        resume = start != NULL && strcmp(c.name, start->container) == 0;
        rc = walk_container(f, c.rec.id, c.name, resume ? start->at : NULL,
                            resume ? start->at_len : 0);
        arena_free(a);
        if (rc != 0)
            break;
    }
    eng_iter_free(it);
    return rc;
}

/* Decodes a NextMarker.  0 (start filled, in the arena), or -1 with 400 described. */
static int
parse_marker(struct api_req *q, const char *marker, struct pos *start)
{
    size_t ml = strlen(marker);
    char *raw = arena_alloc(q->a, ml + 1);
    long n = raw ? base64_decode(marker, ml, raw) : -1;
    size_t clen;

    if (n < 2 || raw[0] != MARKER_VERSION ||
        (clen = strnlen(raw + 1, (size_t)n - 1)) == (size_t)n - 1)
        return api_fail_query(q, E_InvalidQueryParameterValue, "marker", marker, "Invalid marker.");
    start->container = raw + 1;
    start->at = raw + 2 + clen;
    start->at_len = (size_t)n - 2 - clen;
    if (q->container != NULL && strcmp(start->container, q->container) != 0)
        return api_fail_query(q, E_InvalidQueryParameterValue, "marker", marker,
                              "The marker belongs to another container.");
    return 0;
}

void
op_find_blobs(struct api_req *q)
{
    const char *where = api_query(q, "where"), *marker = api_query(q, "marker");
    const char *mr = api_query(q, "maxresults"), *why = NULL, *host = api_header(q, "Host");
    struct find f = {0};
    struct pos start, *from = NULL;
    struct buf b = BUF_INIT;
    int rc;

    f.q = q;
    f.max = 5000;
    f.budget = FIND_BUDGET;
    if (where == NULL || *where == '\0') {
        api_fail_query(q, E_MissingRequiredQueryParameter, "where", NULL, "Required.");
        return;
    }
    if ((f.e = tagexpr_parse(q->a, where, TAGEXPR_WHERE, &why)) == NULL) {
        api_fail_query(q, E_InvalidQueryParameterValue, "where", where, why ? why : "Invalid.");
        return;
    }
    if (mr != NULL && (f.max = maxresults_parse(mr)) < 0) {
        api_fail_query(q, E_OutOfRangeQueryParameterValue, "maxresults", mr,
                       "Must be between 1 and 5000.");
        return;
    }
    if (marker != NULL && *marker) {
        if (parse_marker(q, marker, &start) != 0)
            return;
        from = &start;
    }
    if (plan(&f, where) != 0)
        goto out;
    if (q->container != NULL)
        rc = walk_container(&f, q->cont.id, q->container, from ? from->at : NULL,
                            from ? from->at_len : 0);
    else
        rc = walk_account(&f, from);
    if (rc != 0)
        goto out;
    buf_puts(
        &b,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<EnumerationResults ServiceEndpoint=\"http://");
    if (host == NULL)
        host = "127.0.0.1";
    xml_text(&b, host, strlen(host));
    buf_putc(&b, '/');
    xml_text(&b, q->account, strlen(q->account));
    buf_puts(&b, "/\">");
    xml_elem(&b, "Where", where);
    buf_puts(&b, "<Blobs>");
    if (f.out.len > 0)
        buf_add(&b, f.out.p, f.out.len);
    buf_puts(&b, "</Blobs>");
    if (f.next.len > 0 && buf_ok(&f.next)) {
        char *enc = arena_alloc(q->a, BASE64_LEN(f.next.len) + 1);
        if (enc == NULL) {
            api_fail(q, E_InternalError);
            goto out;
        }
        base64_encode(f.next.p, f.next.len, enc);
        xml_elem(&b, "NextMarker", enc);
    } else {
        buf_puts(&b, "<NextMarker />");
    }
    buf_puts(&b, "</EnumerationResults>");
    if (!buf_ok(&f.out) || !buf_ok(&f.next)) {
        api_fail(q, E_InternalError);
        goto out;
    }
    api_status(q, 200);
    api_body_xml(q, &b);
out:
    buf_free(&b);
    buf_free(&f.out);
    buf_free(&f.next);
    buf_free(&f.lo);
    buf_free(&f.hi);
}
