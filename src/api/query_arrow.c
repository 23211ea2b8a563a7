/*
 * query_arrow.c -- Arrow IPC stream output for Query Blob Contents (query_arrow.h).
 *
 * The stream format (Arrow's columnar format specification, "IPC streaming format"): each message
 * is the continuation marker 0xFFFFFFFF, the length of its metadata (padded so the body starts on
 * 8 bytes), the metadata -- a FlatBuffers `Message` table -- and the body; the stream ends with
 * 0xFFFFFFFF 0x00000000.  Everything is little-endian; metadata version V5.
 *
 * The metadata is written by a small FlatBuffers writer that lays a buffer out front to back: a
 * table's vtable just before it (a positive soffset), what the table points to after it, each
 * offset patched when its target is placed.  Readers accept any layout that keeps offsets
 * forward and every scalar aligned to its size, which this one does relative to the buffer's
 * start (itself 8-aligned in the stream).
 *
 * Columns are built row by row: a validity bitmap, and the values (8 bytes each for int64, double
 * and timestamp[ms], 16 for decimal, a bitmap for bool, int32 offsets and bytes for string).
 */
#include "api/query_arrow.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/timefmt.h"

#define PAD8(n) (((n) + 7) / 8 * 8)

/* ---- FlatBuffers, front to back ------------------------------------------------------------ */

static void
fb_le(struct buf *b, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_putc(b, (char)(v >> (8 * i)));
}

/* Overwrites n bytes at position at with v, little-endian. */
static void
fb_put_at(struct buf *b, size_t at, uint64_t v, size_t n)
{
    if (buf_ok(b))
        for (size_t i = 0; i < n; i++)
            b->p[at + i] = (char)(v >> (8 * i));
}

/* Zero bytes until (position + extra) is a multiple of align. */
static void
fb_pad(struct buf *f, size_t align, size_t extra)
{
    while ((f->len + extra) % align != 0)
        buf_putc(f, 0);
}

/* Points the offset at slot to position to (forward). */
static void
fb_patch(struct buf *b, size_t slot, size_t to)
{
    fb_put_at(b, slot, to - slot, 4);
}

/* A table field: size 0 is absent; off non-NULL makes it an offset (size 4), its position stored
 * there for fb_patch. */
struct fb_slot {
    unsigned size;
    uint64_t v;
    size_t *off;
};

#define FB_MAX_SLOTS 8

/* Writes a table of n fields (ids 0..n-1) and links the offset at `from` to it. */
static void
fb_table(struct buf *f, size_t from, const struct fb_slot *s, size_t n)
{
    uint16_t at[FB_MAX_SLOTS] = {0};
    size_t tsize = 4, vsize = 4 + 2 * n, vpos, tpos;

    /* fields by decreasing size after the soffset: each aligned, the table 8-aligned */
    for (unsigned sz = 8; sz > 0; sz /= 2)
        for (size_t i = 0; i < n; i++)
            if (s[i].size == sz) {
                tsize = (tsize + sz - 1) / sz * sz;
                at[i] = (uint16_t)tsize;
                tsize += sz;
            }
    fb_pad(f, 8, vsize);
    vpos = f->len;
    fb_le(f, vsize, 2);
    fb_le(f, tsize, 2);
    for (size_t i = 0; i < n; i++)
        fb_le(f, at[i], 2);
    tpos = f->len;
    fb_le(f, tpos - vpos, 4);
    for (size_t pos = 4; pos < tsize;) {
        size_t i;
        for (i = 0; i < n && (s[i].size == 0 || at[i] != pos); i++)
            ;
        if (i == n) {
            buf_putc(f, 0);
            pos++;
            continue;
        }
        if (s[i].off != NULL)
            *s[i].off = f->len;
        fb_le(f, s[i].v, s[i].size);
        pos += s[i].size;
    }
    fb_patch(f, from, tpos);
}

static void
fb_string(struct buf *f, size_t from, const char *str)
{
    size_t n = strlen(str);

    fb_pad(f, 4, 0);
    fb_patch(f, from, f->len);
    fb_le(f, n, 4);
    buf_add(f, str, n);
    buf_putc(f, 0);
}

/* A vector of n elements of size esize (alignment align); the elements' start is returned. */
static size_t
fb_vector(struct buf *f, size_t from, size_t n, size_t esize, size_t align)
{
    size_t start;

    fb_pad(f, align, 4);
    fb_patch(f, from, f->len);
    fb_le(f, n, 4);
    start = f->len;
    if (buf_reserve(f, n * esize) == 0) {
        memset(f->p + f->len, 0, n * esize);
        f->len += n * esize;
    }
    return start;
}

/* ---- messages ----------------------------------------------------------------------------- */

enum { MH_SCHEMA = 1, MH_RECORD_BATCH = 3 }; /* MessageHeader */
enum { T_INT = 2, T_FLOAT = 3, T_UTF8 = 5, T_BOOL = 6, T_DECIMAL = 7, T_TIMESTAMP = 10 }; /* Type */
#define METADATA_V5 4

/* A Message table with its header's type; the header's offset slot in *hdr. */
static void
message(struct buf *f, int type, uint64_t body_len, size_t *hdr)
{
    struct fb_slot m[4] = {
        {2, METADATA_V5, NULL}, /* version */
        {1, (uint64_t)type, NULL},
        {4, 0, hdr},
        {8, body_len, NULL},
    };

    fb_le(f, 0, 4); /* the root offset */
    fb_table(f, 0, m, 4);
}

/* Starts a message in out: the prefix and metadata meta (a FlatBuffer); its body follows. */
static void
frame(struct buf *out, const struct buf *meta)
{
    size_t padded = PAD8(meta->len);
    static const char zeros[8];

    buf_add(out, "\xff\xff\xff\xff", 4);
    fb_le(out, padded, 4);
    buf_add(out, meta->p, meta->len);
    buf_add(out, zeros, padded - meta->len);
    if (!buf_ok(meta))
        out->oom = 1;
}

void
arrow_eos(struct buf *out)
{
    buf_add(out, "\xff\xff\xff\xff\0\0\0\0", 8);
}

/* ---- the writer --------------------------------------------------------------------------- */

struct acol {
    struct buf valid; /* validity bitmap */
    struct buf data;  /* values; bool: a bitmap */
    struct buf offs;  /* string: int32 offsets (the first 0 written at each batch's start) */
    size_t nulls;
};

struct arrow_writer {
    struct arrow_field *f;
    struct acol *c;
    size_t n;
    size_t rows; /* in the pending batch */
};

static const char *const type_names[] = {"int64",  "bool",   "timestamp[ms]",
                                         "string", "double", "decimal"};

int
arrow_type_parse(const char *s, enum arrow_type *out)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (strcasecmp(s, type_names[i]) == 0) {
            *out = (enum arrow_type)i;
            return 0;
        }
    return -1;
}

const char *
arrow_type_name(enum arrow_type t)
{
    return type_names[t];
}

const struct arrow_field *
arrow_field(const struct arrow_writer *w, size_t i)
{
    return &w->f[i];
}

struct arrow_writer *
arrow_new(const struct arrow_field *f, size_t n)
{
    struct arrow_writer *w = calloc(1, sizeof(*w));

    if (w == NULL || (w->f = calloc(n + 1, sizeof(*w->f))) == NULL ||
        (w->c = calloc(n + 1, sizeof(*w->c))) == NULL) {
        arrow_free(w);
        return NULL;
    }
    w->n = n;
    for (size_t i = 0; i < n; i++) {
        w->f[i] = f[i];
        if ((w->f[i].name = strdup(f[i].name ? f[i].name : "")) == NULL) {
            arrow_free(w);
            return NULL;
        }
    }
    return w;
}

void
arrow_free(struct arrow_writer *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; w->f != NULL && i < w->n; i++)
        free((char *)w->f[i].name);
    for (size_t i = 0; w->c != NULL && i < w->n; i++) {
        buf_free(&w->c[i].valid);
        buf_free(&w->c[i].data);
        buf_free(&w->c[i].offs);
    }
    free(w->f);
    free(w->c);
    free(w);
}

/* The Type union's member for field f: its type tag, and the table written at slot from. */
static int
type_table(struct buf *fb, size_t from, const struct arrow_field *f)
{
    switch (f->type) {
    case AT_INT64: {
        struct fb_slot t[2] = {{4, 64, NULL}, {1, 1, NULL}}; /* bitWidth, is_signed */
        fb_table(fb, from, t, 2);
        return T_INT;
    }
    case AT_DOUBLE: {
        struct fb_slot t[1] = {{2, 2, NULL}}; /* precision: DOUBLE */
        fb_table(fb, from, t, 1);
        return T_FLOAT;
    }
    case AT_TIMESTAMP_MS: {
        struct fb_slot t[1] = {{2, 1, NULL}}; /* unit: MILLISECOND, no time zone */
        fb_table(fb, from, t, 1);
        return T_TIMESTAMP;
    }
    case AT_DECIMAL: {
        struct fb_slot t[3] = {{4, (uint64_t)f->precision, NULL},
                               {4, (uint64_t)f->scale, NULL},
                               {4, 128, NULL}};
        fb_table(fb, from, t, 3);
        return T_DECIMAL;
    }
    case AT_BOOL:
        fb_table(fb, from, NULL, 0);
        return T_BOOL;
    case AT_STRING:
    default:
        fb_table(fb, from, NULL, 0);
        return T_UTF8;
    }
}

void
arrow_schema(const struct arrow_writer *w, struct buf *out)
{
    struct buf meta = BUF_INIT;
    size_t hdr = 0, fields = 0, vec;

    message(&meta, MH_SCHEMA, 0, &hdr);
    {
        struct fb_slot s[2] = {{2, 0, NULL}, {4, 0, &fields}}; /* endianness: Little; fields */
        fb_table(&meta, hdr, s, 2);
    }
    vec = fb_vector(&meta, fields, w->n, 4, 4);
    for (size_t i = 0; i < w->n; i++) {
        size_t name = 0, type = 0, children = 0, tag_at = 0;
        /* name, nullable, type_type, type, dictionary (absent), children */
        struct fb_slot s[6] = {{4, 0, &name}, {1, 1, NULL}, {1, 0, &tag_at},
                               {4, 0, &type}, {0, 0, NULL}, {4, 0, &children}};
        fb_table(&meta, vec + 4 * i, s, 6);
        fb_string(&meta, name, w->f[i].name);
        fb_put_at(&meta, tag_at, (uint64_t)type_table(&meta, type, &w->f[i]), 1);
        fb_vector(&meta, children, 0, 4, 4);
    }
    frame(out, &meta);
    buf_free(&meta);
}

/* ---- conversions -------------------------------------------------------------------------- */

/* s[0..n) as a decimal scaled by 10^scale, in at most `precision` digits; rounded half away from
 * zero, or, when exact, refused unless nothing is lost.  0, or -1. */
static int
decimal_parse(const char *s, size_t n, int precision, int scale, int exact, __int128 *out)
{
    char dig[ARROW_MAX_PRECISION + 2];
    size_t nd = 0, i = 0;
    long frac = 0, exp = 0, k;
    int neg = 0, any = 0, round_up = 0, lost = 0, seen_dot = 0;
    unsigned __int128 v = 0, limit = 1;

    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    /* the significant digits (leading zeros dropped), how many follow the point, the exponent */
    for (; i < n; i++) {
        if (s[i] == '.' && !seen_dot) {
            seen_dot = 1;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            break;
        any = 1;
        frac += seen_dot;
        if (nd == 0 && s[i] == '0')
            continue;
        if (nd < sizeof(dig)) {
            dig[nd++] = s[i];
        } else if (seen_dot) {
            frac--; /* a fraction digit past any precision: it can only be lost */
            lost |= s[i] != '0';
        } else {
            return -1; /* an integer part longer than any precision */
        }
    }
    if (!any)
        return -1;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0, edig = 0;
        if (++i < n && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, edig = 1)
            if (exp < 100000)
                exp = exp * 10 + (s[i] - '0');
        if (!edig)
            return -1;
        if (eneg)
            exp = -exp;
    }
    if (i != n)
        return -1;
    /* the value is dig * 10^(exp - frac); scaled, dig * 10^k */
    k = exp - frac + scale;
    if (k < 0) {
        size_t keep = (size_t)-k >= nd ? 0 : nd - (size_t)-k;
        round_up = (size_t)-k <= nd && dig[keep] >= '5';
        for (size_t j = keep; j < nd; j++)
            lost |= dig[j] != '0';
        nd = keep;
        k = 0;
    }
    if ((exact && lost) || (nd > 0 && (long)nd + k > precision))
        return -1;
    for (size_t j = 0; j < nd; j++)
        v = v * 10 + (unsigned)(dig[j] - '0');
    for (long j = 0; nd > 0 && j < k; j++)
        v *= 10;
    v += (unsigned)(round_up && !exact);
    for (int j = 0; j < precision; j++)
        limit *= 10;
    if (v >= limit)
        return -1;
    *out = neg ? -(__int128)v : (__int128)v;
    return 0;
}

int
arrow_to_decimal(const char *s, size_t n, int precision, int scale, __int128 *out)
{
    return decimal_parse(s, n, precision, scale, 0, out);
}

int
arrow_to_timestamp_ms(const char *s, size_t n, int64_t *out)
{
    char text[64];
    int64_t ticks;

    if (n >= sizeof(text) || memchr(s, '\0', n) != NULL)
        return -1;
    memcpy(text, s, n);
    text[n] = '\0';
    if (parse_iso8601_data(text, &ticks) != 0)
        return -1;
    /* ticks of 100 ns to milliseconds, rounding down (toward the earlier instant) */
    *out = ticks / 10000 - (ticks % 10000 < 0);
    return 0;
}

/* An integer: exactly (2.5 is not one), from the text when there is one.  0, or -1. */
static int
to_int64(const struct sql_value *v, int64_t *out)
{
    __int128 x;
    double d = v->num;

    if (v->t != SQL_NUM && v->t != SQL_STR)
        return -1;
    if (v->s != NULL) {
        if (decimal_parse(v->s, v->n, 19, 0, 1, &x) != 0 || x > INT64_MAX || x < INT64_MIN)
            return -1;
        *out = (int64_t)x;
        return 0;
    }
    if (d != d || d < -9223372036854775808.0 || d >= 9223372036854775808.0 ||
        d != (double)(int64_t)d)
        return -1;
    *out = (int64_t)d;
    return 0;
}

static int
to_double(const struct sql_value *v, double *out)
{
    if (v->t == SQL_NUM) {
        *out = v->num;
        return 0;
    }
    return v->t == SQL_STR && sql_parse_num(v->s, v->n, out) ? 0 : -1;
}

static int
to_bool(const struct sql_value *v, int *out)
{
    if (v->t == SQL_BOOL) {
        *out = v->num != 0;
        return 0;
    }
    if (v->t == SQL_STR && (v->n == 4 || v->n == 5)) {
        if (v->n == 4 && strncasecmp(v->s, "true", 4) == 0)
            return *out = 1, 0;
        if (v->n == 5 && strncasecmp(v->s, "false", 5) == 0)
            return *out = 0, 0;
    }
    return -1;
}

static int
to_decimal(const struct sql_value *v, const struct arrow_field *f, __int128 *out)
{
    char num[32];

    if (v->t != SQL_NUM && v->t != SQL_STR)
        return -1;
    /* Digits past the field's precision are kept, not refused: the value stays exact (Arrow's
     * readers take it; the precision is the schema's word on what to expect), where Azure writes
     * such a value unscaled -- 400 in decimal(4,2) reads back as 4.00 (docs/query.md). */
    if (v->s != NULL)
        return arrow_to_decimal(v->s, v->n, ARROW_MAX_PRECISION, f->scale, out);
    return arrow_to_decimal(num, sql_format_num(v->num, num), ARROW_MAX_PRECISION, f->scale, out);
}

static int
to_timestamp(const struct sql_value *v, int64_t *out)
{
    if (v->t == SQL_STR && arrow_to_timestamp_ms(v->s, v->n, out) == 0)
        return 0;
    return v->t == SQL_NUM ? to_int64(v, out) : -1; /* milliseconds since the epoch */
}

/* ---- rows and batches --------------------------------------------------------------------- */

static void
bit_append(struct buf *b, size_t row, int set)
{
    if (row % 8 == 0)
        buf_putc(b, 0);
    if (set && buf_ok(b))
        b->p[row / 8] |= (char)(1u << (row % 8));
}

/* Adds value v (NULL: null) to column i; 0, or -1 when v does not convert (null added). */
static int
col_add(struct arrow_writer *w, size_t i, const struct sql_value *v)
{
    struct acol *c = &w->c[i];
    const struct arrow_field *f = &w->f[i];
    int bad = 0, ok;
    union {
        int64_t i;
        double d;
        __int128 x;
        int b;
    } u;
    char num[32];
    const char *str = NULL;
    size_t slen = 0;

    memset(&u, 0, sizeof(u));
    if (v == NULL || v->t == SQL_NULL) {
        ok = 0;
    } else {
        switch (f->type) {
        case AT_INT64:
            ok = to_int64(v, &u.i) == 0;
            break;
        case AT_DOUBLE:
            ok = to_double(v, &u.d) == 0;
            break;
        case AT_BOOL:
            ok = to_bool(v, &u.b) == 0;
            break;
        case AT_TIMESTAMP_MS:
            ok = to_timestamp(v, &u.i) == 0;
            break;
        case AT_DECIMAL:
            ok = to_decimal(v, f, &u.x) == 0;
            break;
        case AT_STRING:
        default:
            ok = 1;
            if (v->t == SQL_BOOL) {
                str = v->num ? "true" : "false";
                slen = strlen(str);
            } else if (v->s != NULL) {
                str = v->s;
                slen = v->n;
            } else {
                slen = sql_format_num(v->num, num);
                str = num;
            }
            break;
        }
        bad = !ok;
    }
    bit_append(&c->valid, w->rows, ok);
    c->nulls += !ok;
    switch (f->type) {
    case AT_BOOL:
        bit_append(&c->data, w->rows, ok && u.b);
        break;
    case AT_STRING:
        if (w->rows == 0)
            buf_add(&c->offs, "\0\0\0\0", 4);
        buf_add(&c->data, str, ok ? slen : 0);
        fb_le(&c->offs, c->data.len, 4);
        break;
    case AT_DECIMAL:
        buf_add(&c->data, &u.x, 16); /* little-endian two's complement, as Arrow's */
        break;
    case AT_DOUBLE:
        buf_add(&c->data, &u.d, 8);
        break;
    default:
        buf_add(&c->data, &u.i, 8);
        break;
    }
    return bad ? -1 : 0;
}

int
arrow_row(struct arrow_writer *w, const struct sql_value *v, size_t n)
{
    int first_bad = 0;

    for (size_t i = 0; i < w->n; i++)
        if (col_add(w, i, i < n ? &v[i] : NULL) != 0 && first_bad == 0)
            first_bad = (int)i + 1;
    w->rows++;
    for (size_t i = 0; i < w->n; i++)
        if (!buf_ok(&w->c[i].valid) || !buf_ok(&w->c[i].data) || !buf_ok(&w->c[i].offs))
            return -1;
    return first_bad;
}

size_t
arrow_pending_rows(const struct arrow_writer *w)
{
    return w->rows;
}

size_t
arrow_pending_bytes(const struct arrow_writer *w)
{
    size_t n = 0;

    for (size_t i = 0; i < w->n; i++)
        n += w->c[i].valid.len + w->c[i].data.len + w->c[i].offs.len;
    return n;
}

/* The body buffers of column i, in Arrow's order: validity (empty when nothing is null), offsets
 * (string), values.  Returns how many. */
static size_t
col_buffers(const struct arrow_writer *w, size_t i, const struct buf *out[3], size_t len[3])
{
    const struct acol *c = &w->c[i];
    size_t k = 0;

    out[k] = &c->valid;
    len[k++] = c->nulls ? c->valid.len : 0;
    if (w->f[i].type == AT_STRING) {
        out[k] = &c->offs;
        len[k++] = c->offs.len;
    }
    out[k] = &c->data;
    len[k++] = c->data.len;
    return k;
}

void
arrow_batch(struct arrow_writer *w, struct buf *out)
{
    static const char zeros[8];
    struct buf meta = BUF_INIT;
    const struct buf *b[3];
    size_t len[3], hdr = 0, nodes_at = 0, bufs_at = 0, nodes, bufs, nbuf = 0, body_len = 0, k;

    if (w->rows == 0)
        return;
    for (size_t i = 0; i < w->n; i++) {
        size_t m = col_buffers(w, i, b, len);
        nbuf += m;
        for (size_t j = 0; j < m; j++)
            body_len += PAD8(len[j]);
    }
    message(&meta, MH_RECORD_BATCH, body_len, &hdr);
    {
        /* length, nodes, buffers */
        struct fb_slot s[3] = {{8, w->rows, NULL}, {4, 0, &nodes_at}, {4, 0, &bufs_at}};
        fb_table(&meta, hdr, s, 3);
    }
    nodes = fb_vector(&meta, nodes_at, w->n, 16, 8);
    bufs = fb_vector(&meta, bufs_at, nbuf, 16, 8);
    body_len = 0; /* now: where the next buffer starts */
    k = 0;
    for (size_t i = 0; i < w->n; i++) {
        size_t m = col_buffers(w, i, b, len);
        fb_put_at(&meta, nodes + 16 * i, w->rows, 8);
        fb_put_at(&meta, nodes + 16 * i + 8, w->c[i].nulls, 8);
        for (size_t j = 0; j < m; j++, k++) {
            fb_put_at(&meta, bufs + 16 * k, body_len, 8);
            fb_put_at(&meta, bufs + 16 * k + 8, len[j], 8);
            body_len += PAD8(len[j]);
        }
    }
    frame(out, &meta);
    /* the body: the columns' buffers as they are, each padded to 8 */
    for (size_t i = 0; i < w->n; i++) {
        size_t m = col_buffers(w, i, b, len);
        for (size_t j = 0; j < m; j++) {
            buf_add(out, b[j]->p, len[j]);
            buf_add(out, zeros, PAD8(len[j]) - len[j]);
        }
        buf_reset(&w->c[i].valid);
        buf_reset(&w->c[i].data);
        buf_reset(&w->c[i].offs);
        w->c[i].nulls = 0;
    }
    buf_free(&meta);
    w->rows = 0;
}
