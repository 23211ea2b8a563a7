/*
 * query.c -- Query Blob Contents (POST ?comp=query): an SQL expression (query_sql.c) run over a
 * blob of CSV or JSON lines, the result as CSV or JSON lines, framed the way the SDKs read it
 * (docs/query.md).
 *
 * The response is an Avro object container file (Content-Type avro/binary), sent chunked as it is
 * produced: the header (magic, the schema below, a random sync marker), a first block with only
 * progress (and a CSV header row), then one Avro block per step, each holding a resultData record (the output bytes of the step, when there are any), an
 * error record for each record that could not be evaluated (non-fatal) or for input that cannot
 * be read at all (fatal: the query stops), and a progress record (bytes scanned so far, blob
 * size); the last block ends with an end record.  The SDKs' readers (azure-storage-blob's
 * DataFileReader, @azure/storage-blob's AvroReader) take exactly this: a null codec, record
 * names as full names, a union of the four records.
 *
 * Memory is bounded whatever the blob's size: a step reads CHUNK bytes through the engine's data
 * plane (eng_data_read: every byte verified), evaluates the whole records among them, keeps the
 * incomplete last record for the next step, and hands its output to net/ before the next step
 * runs.  A record longer than MAX_RECORD is a fatal error.  The stream owns everything it uses (an
 * arena of its own, malloc'd buffers): net/ may destroy the response after the request's arena.
 *
 * What the 200 commits to: the request is checked whole before it (the XML body, the formats, the
 * SQL, the blob and its conditions); what can only be found while reading (a bad record, a header
 * row without a column the query names) is reported in the stream, as Azure does.
 */
#include "api/api_int.h"
#include "api/query_arrow.h"
#include "api/query_sql.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/xml.h"

#define CHUNK      (1u << 20) /* blob bytes read per step */
#define MAX_RECORD (4u << 20) /* a longer record is a fatal error */
#define MAX_RECORD_OUT \
    (64u << 20)                     /* a record's projection may write this much (a column
                                      * selected many times multiplies a record) */
#define OUT_STEP         (4u << 20) /* a step stops taking records once its output is this big */
#define STREAM_CAP       (1u << 20) /* the stream's arena: the query tree and the block list */
#define MAX_SEP          4          /* RecordSeparator: at most this many bytes */
#define JSON_DEPTH       64
#define MAX_ARROW_FIELDS 1000

static const char avro_schema[] =
    "[{\"type\":\"record\",\"name\":\"com.microsoft.azure.storage.queryBlobContents.resultData\","
    "\"fields\":[{\"name\":\"data\",\"type\":\"bytes\"}]},"
    "{\"type\":\"record\",\"name\":\"com.microsoft.azure.storage.queryBlobContents.error\","
    "\"fields\":[{\"name\":\"fatal\",\"type\":\"boolean\"},{\"name\":\"name\",\"type\":\"string\"},"
    "{\"name\":\"description\",\"type\":\"string\"},{\"name\":\"position\",\"type\":\"long\"}]},"
    "{\"type\":\"record\",\"name\":\"com.microsoft.azure.storage.queryBlobContents.progress\","
    "\"fields\":[{\"name\":\"bytesScanned\",\"type\":\"long\"},"
    "{\"name\":\"totalBytes\",\"type\":\"long\"}]},"
    "{\"type\":\"record\",\"name\":\"com.microsoft.azure.storage.queryBlobContents.end\","
    "\"fields\":[{\"name\":\"totalBytes\",\"type\":\"long\"}]}]";

/* The union's branches, in the schema's order. */
enum { REC_DATA, REC_ERROR, REC_PROGRESS, REC_END };

/* ---- the request's formats ------------------------------------------------------------- */

enum fmt { FMT_CSV, FMT_JSON, FMT_ARROW };

struct qformat {
    enum fmt kind;
    char col, quote, esc; /* CSV; quote, esc: 0 = none */
    char rec[MAX_SEP];    /* record separator */
    size_t nrec;
    int headers; /* CSV: the first record names the columns (input) / is written (output) */
    struct arrow_field *fields; /* Arrow: the schema (in the request's arena; the writer's copy
                                 * once the stream has one) */
    size_t nfields;
};

static const struct qformat csv_default = {FMT_CSV, ',', '"', 0, "\n", 1, 0, NULL, 0};
static const struct qformat json_default = {FMT_JSON, 0, 0, 0, "\n", 1, 0, NULL, 0};

/* One character from a configuration node: 0 when empty (allowed only when may_be_empty). */
static int
one_char(struct api_req *q, const struct xml_node *parent, const char *name, char *out,
         int may_be_empty)
{
    const struct xml_node *n = xml_child(parent, name);

    if (n == NULL)
        return 0; /* keeps the default */
    if (n->text_len > 1 || (n->text_len == 0 && !may_be_empty))
        return api_fail_xml_node(q, name, n->text);
    *out = n->text_len ? n->text[0] : 0;
    return 0;
}

static int
record_sep(struct api_req *q, const struct xml_node *parent, struct qformat *f)
{
    const struct xml_node *n = xml_child(parent, "RecordSeparator");

    /* Empty: "\n".  @azure/storage-blob's XML writer trims text, so the "\n" it is given
     * arrives as an empty element, and Azure answers it as a newline. */
    if (n == NULL || n->text_len == 0)
        return 0;
    if (n->text_len > MAX_SEP)
        return api_fail_xml_node(q, "RecordSeparator", n->text);
    memcpy(f->rec, n->text, n->text_len);
    f->nrec = n->text_len;
    return 0;
}

/* A whole non-negative number from node name of parent, at most max; absent: def.  0, or -1. */
static int
read_int(struct api_req *q, const struct xml_node *parent, const char *name, long def, long max,
         int *out)
{
    const struct xml_node *n = xml_child(parent, name);
    char *end;
    long v = def;

    if (n != NULL) {
        errno = 0;
        v = strtol(n->text, &end, 10);
        if (n->text_len == 0 || *end != '\0' || errno != 0 || v < 0 || v > max ||
            n->text[0] == '-' || n->text[0] == '+' || n->text[0] == ' ')
            return api_fail_xml_node(q, name, n->text);
    }
    *out = (int)v;
    return 0;
}

/* ArrowConfiguration: the Schema's fields (Type; Name, optional; Precision and Scale, for
 * decimal).  0 or -1 (described). */
static int
read_arrow(struct api_req *q, const struct xml_node *fmt, struct qformat *f)
{
    const struct xml_node *conf = xml_child(fmt, "ArrowConfiguration");
    const struct xml_node *schema = conf ? xml_child(conf, "Schema") : NULL, *n;
    size_t k = 0;

    for (n = schema ? schema->child : NULL; n != NULL; n = n->next)
        k += strcmp(n->name, "Field") == 0;
    if (k == 0 || k > MAX_ARROW_FIELDS)
        return api_fail_xml_node(q, schema ? "Schema" : "ArrowConfiguration", "");
    if ((f->fields = arena_alloc(q->a, sizeof(*f->fields) * k)) == NULL)
        return api_fail(q, E_InternalError);
    f->nfields = 0;
    for (n = schema->child; n != NULL; n = n->next) {
        struct arrow_field *af = &f->fields[f->nfields];
        const struct xml_node *type = xml_child(n, "Type"), *name = xml_child(n, "Name");
        if (strcmp(n->name, "Field") != 0)
            continue;
        if (type == NULL || arrow_type_parse(type->text, &af->type) != 0)
            return api_fail_xml_node(q, "Type", type ? type->text : "");
        af->name = name != NULL && name->text_len > 0 ? name->text : NULL;
        af->precision = af->scale = 0;
        if (af->type == AT_DECIMAL) {
            const struct xml_node *p = xml_child(n, "Precision");
            if (p == NULL)
                return api_fail_xml_node(q, "Precision", "");
            if (read_int(q, n, "Precision", 0, ARROW_MAX_PRECISION, &af->precision) != 0)
                return -1;
            if (af->precision == 0)
                return api_fail_xml_node(q, "Precision", p->text);
            if (read_int(q, n, "Scale", 0, af->precision, &af->scale) != 0)
                return -1;
        }
        f->nfields++;
    }
    return 0;
}

/*
 * InputSerialization / OutputSerialization (protocol doc §4.11) into *f; ser NULL keeps *f.
 * Arrow is an output format only; Parquet input is refused (docs/query.md says why).  0 or -1
 * (described).
 */
static int
read_format(struct api_req *q, const struct xml_node *ser, struct qformat *f, int output)
{
    const struct xml_node *fmt = ser ? xml_child(ser, "Format") : NULL;
    const struct xml_node *type = fmt ? xml_child(fmt, "Type") : NULL, *c;

    if (ser == NULL)
        return 0;
    if (type == NULL)
        return api_fail(q, E_InvalidXmlDocument);
    if (strcasecmp(type->text, "delimited") == 0) {
        *f = csv_default;
        if ((c = xml_child(fmt, "DelimitedTextConfiguration")) != NULL) {
            const struct xml_node *h = xml_child(c, "HasHeaders");
            if (one_char(q, c, "ColumnSeparator", &f->col, 0) != 0 ||
                one_char(q, c, "FieldQuote", &f->quote, 1) != 0 ||
                one_char(q, c, "EscapeChar", &f->esc, 1) != 0 || record_sep(q, c, f) != 0)
                return -1;
            if (h != NULL && strcasecmp(h->text, "true") != 0 && strcasecmp(h->text, "false") != 0)
                return api_fail_xml_node(q, "HasHeaders", h->text);
            f->headers = h != NULL && strcasecmp(h->text, "true") == 0;
        }
        /* The separators must tell fields, quotes and records apart. */
        if (f->col == f->quote || f->col == f->esc || memchr(f->rec, f->col, f->nrec) != NULL ||
            (f->quote && memchr(f->rec, f->quote, f->nrec) != NULL))
            return api_fail_xml_node(q, "ColumnSeparator", (char[2]){f->col, 0});
        return 0;
    }
    if (strcasecmp(type->text, "json") == 0) {
        *f = json_default;
        if ((c = xml_child(fmt, "JsonTextConfiguration")) != NULL && record_sep(q, c, f) != 0)
            return -1;
        return 0;
    }
    if (output && strcasecmp(type->text, "arrow") == 0) {
        *f = json_default;
        f->kind = FMT_ARROW;
        return read_arrow(q, fmt, f);
    }
    /* "parquet" (input) is Azure's; Cobalt does not read it (docs/query.md) */
    return api_fail_xml_node(q, "Type", type->text);
}

/* ---- Avro ------------------------------------------------------------------------------ */

static void
avro_long(struct buf *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); /* zig-zag */

    while (z >= 0x80) {
        buf_putc(b, (char)(z | 0x80));
        z >>= 7;
    }
    buf_putc(b, (char)z);
}

static void
avro_bytes(struct buf *b, const void *p, size_t n)
{
    avro_long(b, (int64_t)n);
    buf_add(b, p, n);
}

/* ---- the stream -------------------------------------------------------------------------- */

struct field {
    const char *p;
    size_t n;
};

struct qstream {
    struct arena *a;
    struct engine *eng;
    struct eng_reader *reader;
    struct block_ref *blocks; /* copy in a: eng_data_read may update a locator */
    size_t nblocks, bi;
    uint64_t boff;           /* offset in blocks[bi] */
    uint64_t total, scanned; /* blob size; bytes read so far */
    struct qformat in, out;
    struct sql_query *sql;
    struct sql_agg_state *agg;
    struct arrow_writer *arrow; /* Arrow output */
    struct sql_value *vals;     /* Arrow output: the current row's values (one per field) */
    unsigned char sync[16];

    struct buf inb;  /* input not yet consumed, from inbase */
    uint64_t inbase; /* blob offset of inb.p[0] */
    struct buf outb; /* Avro bytes not yet handed to net/, from outpos */
    size_t outpos;
    struct buf data; /* this step's result bytes */
    struct buf recs; /* this step's Avro records */
    size_t nrecs;
    struct buf scratch; /* unescaped fields and strings of the current record */

    struct field *fields; /* the current CSV record */
    size_t nfields, capfields;
    char **hdr; /* CSV with headers: the column names */
    size_t nhdr;
    int header_done;
    struct field *colv;   /* per column reference (sql_col.id): its text in the current record */
    signed char *coltype; /* its enum sql_type, or -1 when missing */
    const char *rec;      /* the current record (JSON) */
    size_t recn;
    uint64_t recpos; /* blob offset of the current record */
    int started, stopped, finished;
    int backlog; /* the last step stopped with whole records left in inb (its output was full) */
};

static void
error_record(struct qstream *s, int fatal, const char *name, const char *desc, uint64_t pos)
{
    avro_long(&s->recs, REC_ERROR);
    buf_putc(&s->recs, (char)(fatal ? 1 : 0));
    avro_bytes(&s->recs, name, strlen(name));
    avro_bytes(&s->recs, desc, strlen(desc));
    avro_long(&s->recs, (int64_t)pos);
    s->nrecs++;
    if (fatal)
        s->stopped = 1;
}

/* Writes this step's records as one block: resultData (if any data), the errors, progress, and
 * end when last. */
static void
emit_block(struct qstream *s, int last)
{
    struct buf head = BUF_INIT;
    size_t n = s->nrecs + 1 + (s->data.len > 0) + (last != 0);

    avro_long(&head, (int64_t)n);
    /* the block's byte size: the records written below */
    {
        struct buf body = BUF_INIT;
        if (s->data.len > 0) {
            avro_long(&body, REC_DATA);
            avro_bytes(&body, s->data.p, s->data.len);
        }
        buf_add(&body, s->recs.p, s->recs.len);
        avro_long(&body, REC_PROGRESS);
        avro_long(&body, (int64_t)s->scanned);
        avro_long(&body, (int64_t)s->total);
        if (last) {
            avro_long(&body, REC_END);
            avro_long(&body, (int64_t)s->total);
        }
        avro_long(&head, (int64_t)body.len);
        buf_add(&s->outb, head.p, head.len);
        buf_add(&s->outb, body.p, body.len);
        if (!buf_ok(&body))
            s->outb.oom = 1;
        buf_free(&body);
    }
    buf_add(&s->outb, s->sync, sizeof(s->sync));
    if (!buf_ok(&head))
        s->outb.oom = 1;
    buf_free(&head);
    buf_reset(&s->data);
    buf_reset(&s->recs);
    s->nrecs = 0;
}

static void
emit_header(struct qstream *s)
{
    buf_add(&s->outb, "Obj\x01", 4);
    avro_long(&s->outb, 2); /* the metadata map: one block of two entries */
    avro_bytes(&s->outb, "avro.schema", 11);
    avro_bytes(&s->outb, avro_schema, sizeof(avro_schema) - 1);
    avro_bytes(&s->outb, "avro.codec", 10);
    avro_bytes(&s->outb, "null", 4);
    avro_long(&s->outb, 0);
    buf_add(&s->outb, s->sync, sizeof(s->sync));
}

/* ---- output ------------------------------------------------------------------------------ */

/* A CSV field: quoted when it holds a separator, the quote or a line break (the quote inside
 * doubled, or preceded by the escape character when there is one); without a quote character,
 * those are escaped one by one (or, with neither, written as they are). */
static void
csv_field(struct qstream *s, const char *p, size_t n)
{
    const struct qformat *f = &s->out;
    int special = 0;

    for (size_t i = 0; i < n && !special; i++)
        special = p[i] == f->col || (f->quote && p[i] == f->quote) || p[i] == '\n' ||
                  p[i] == '\r' || memchr(f->rec, p[i], f->nrec) != NULL ||
                  (f->esc && p[i] == f->esc);
    if (!special) {
        buf_add(&s->data, p, n);
        return;
    }
    if (f->quote)
        buf_putc(&s->data, f->quote);
    for (size_t i = 0; i < n; i++) {
        int q = f->quote && p[i] == f->quote;
        if (q || (f->esc && p[i] == f->esc) ||
            (!f->quote && f->esc && (p[i] == f->col || memchr(f->rec, p[i], f->nrec) != NULL)))
            buf_putc(&s->data, f->esc ? f->esc : f->quote);
        buf_putc(&s->data, p[i]);
    }
    if (f->quote)
        buf_putc(&s->data, f->quote);
}

static void
json_string(struct buf *b, const char *p, size_t n)
{
    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') {
            buf_putc(b, '\\');
            buf_putc(b, (char)c);
        } else if (c < 0x20) {
            const char *e = strchr("\bb\ff\nn\rr\tt", c);
            if (e != NULL && c != 0) {
                buf_putc(b, '\\');
                buf_putc(b, e[1]);
            } else {
                buf_printf(b, "\\u%04x", c);
            }
        } else {
            buf_putc(b, (char)c);
        }
    }
    buf_putc(b, '"');
}

/* Raw JSON text without the whitespace between tokens. */
static void
json_compact(struct buf *b, const char *p, size_t n)
{
    int in_str = 0;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            buf_putc(b, c);
            if (c == '\\' && i + 1 < n)
                buf_putc(b, p[++i]);
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
            buf_putc(b, c);
        } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            buf_putc(b, c);
        }
    }
}

/* One value of an output record. */
static void
put_value(struct qstream *s, const struct sql_value *v)
{
    char num[32];
    size_t n;

    if (s->out.kind == FMT_CSV) {
        switch (v->t) {
        case SQL_NULL:
            break;
        case SQL_BOOL:
            buf_puts(&s->data, v->num ? "true" : "false");
            break;
        case SQL_NUM:
            if (v->s != NULL) {
                csv_field(s, v->s, v->n);
            } else {
                n = sql_format_num(v->num, num);
                csv_field(s, num, n);
            }
            break;
        case SQL_RAW: {
            struct buf c = BUF_INIT;
            json_compact(&c, v->s, v->n);
            csv_field(s, c.p ? c.p : "", c.len);
            buf_free(&c);
            break;
        }
        case SQL_STR:
            csv_field(s, v->s, v->n);
            break;
        }
        return;
    }
    switch (v->t) {
    case SQL_NULL:
        buf_puts(&s->data, "null");
        break;
    case SQL_BOOL:
        buf_puts(&s->data, v->num ? "true" : "false");
        break;
    case SQL_NUM:
        if (v->s != NULL) {
            buf_add(&s->data, v->s, v->n);
        } else {
            n = sql_format_num(v->num, num);
            buf_add(&s->data, num, n);
        }
        break;
    case SQL_RAW:
        json_compact(&s->data, v->s, v->n);
        break;
    case SQL_STR:
        json_string(&s->data, v->s, v->n);
        break;
    }
}

/* Starts and ends an output record; sep: between its values. */
static void
out_begin(struct qstream *s)
{
    if (s->out.kind == FMT_JSON)
        buf_putc(&s->data, '{');
}

static void
out_name(struct qstream *s, size_t i, const char *name, size_t n)
{
    if (s->out.kind == FMT_CSV) {
        if (i > 0)
            buf_putc(&s->data, s->out.col);
        return;
    }
    if (i > 0)
        buf_putc(&s->data, ',');
    json_string(&s->data, name, n);
    buf_putc(&s->data, ':');
}

static void
out_end(struct qstream *s)
{
    if (s->out.kind == FMT_JSON)
        buf_putc(&s->data, '}');
    buf_add(&s->data, s->out.rec, s->out.nrec);
}

/* The output's header row (CSV output with HasHeaders), from the names of the columns. */
static void
out_header(struct qstream *s, size_t n, const char *const *names)
{
    if (s->out.kind != FMT_CSV || !s->out.headers)
        return;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_putc(&s->data, s->out.col);
        csv_field(s, names[i], strlen(names[i]));
    }
    buf_add(&s->data, s->out.rec, s->out.nrec);
}

/* ---- JSON input -------------------------------------------------------------------------- */

static const char *
json_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

static const char *
json_str_end(const char *p, const char *e)
{
    static const char hex[] = "0123456789abcdefABCDEF";

    for (p++; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c != '\\')
            continue;
        if (++p >= e)
            return NULL;
        if (*p == 'u') {
            if (e - p < 5 || !memchr(hex, p[1], 22) || !memchr(hex, p[2], 22) ||
                !memchr(hex, p[3], 22) || !memchr(hex, p[4], 22))
                return NULL;
            p += 4;
        } else if (strchr("\"\\/bfnrt", *p) == NULL || *p == '\0') {
            return NULL;
        }
    }
    return NULL;
}

/* The end of the JSON value at p (after leading whitespace), or NULL when it is not one. */
static const char *
json_value_end(const char *p, const char *e, int depth)
{
    p = json_ws(p, e);
    if (p >= e || depth > JSON_DEPTH)
        return NULL;
    switch (*p) {
    case '"':
        return json_str_end(p, e);
    case '{':
    case '[': {
        char close = *p == '{' ? '}' : ']';
        p = json_ws(p + 1, e);
        if (p < e && *p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                if (p >= e || *p != '"' || (p = json_str_end(p, e)) == NULL)
                    return NULL;
                p = json_ws(p, e);
                if (p >= e || *p++ != ':')
                    return NULL;
            }
            if ((p = json_value_end(p, e, depth + 1)) == NULL)
                return NULL;
            p = json_ws(p, e);
            if (p < e && *p == ',') {
                p = json_ws(p + 1, e);
                continue;
            }
            return p < e && *p == close ? p + 1 : NULL;
        }
    }
    case 't':
        return e - p >= 4 && memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
        return e - p >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
        return e - p >= 4 && memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default: {
        const char *q = p;
        if (q < e && *q == '-')
            q++;
        if (q >= e || *q < '0' || *q > '9')
            return NULL;
        if (*q == '0')
            q++;
        else
            while (q < e && *q >= '0' && *q <= '9')
                q++;
        if (q < e && *q == '.') {
            const char *d = ++q;
            while (q < e && *q >= '0' && *q <= '9')
                q++;
            if (q == d)
                return NULL;
        }
        if (q < e && (*q == 'e' || *q == 'E')) {
            const char *d;
            q++;
            if (q < e && (*q == '+' || *q == '-'))
                q++;
            d = q;
            while (q < e && *q >= '0' && *q <= '9')
                q++;
            if (q == d)
                return NULL;
        }
        return q;
    }
    }
}

static unsigned
hexval(char c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

/* Decodes the JSON string body p[0..n) (between the quotes, already validated) into dst (at least
 * n bytes: decoding never lengthens).  Returns the decoded length. */
static size_t
json_unescape(const char *p, size_t n, char *dst)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned cp;
        if (p[i] != '\\') {
            dst[k++] = p[i];
            continue;
        }
        switch (p[++i]) {
        case 'b':
            dst[k++] = '\b';
            break;
        case 'f':
            dst[k++] = '\f';
            break;
        case 'n':
            dst[k++] = '\n';
            break;
        case 'r':
            dst[k++] = '\r';
            break;
        case 't':
            dst[k++] = '\t';
            break;
        case 'u':
            cp = hexval(p[i + 1]) << 12 | hexval(p[i + 2]) << 8 | hexval(p[i + 3]) << 4 |
                 hexval(p[i + 4]);
            i += 4;
            /* A surrogate pair makes one 4-byte character (12 escaped bytes for 4). */
            if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < n && p[i + 1] == '\\' && p[i + 2] == 'u') {
                unsigned lo = hexval(p[i + 3]) << 12 | hexval(p[i + 4]) << 8 |
                              hexval(p[i + 5]) << 4 | hexval(p[i + 6]);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp < 0x80) {
                dst[k++] = (char)cp;
            } else if (cp < 0x800) {
                dst[k++] = (char)(0xC0 | cp >> 6);
                dst[k++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                dst[k++] = (char)(0xE0 | cp >> 12);
                dst[k++] = (char)(0x80 | (cp >> 6 & 0x3F));
                dst[k++] = (char)(0x80 | (cp & 0x3F));
            } else {
                dst[k++] = (char)(0xF0 | cp >> 18);
                dst[k++] = (char)(0x80 | (cp >> 12 & 0x3F));
                dst[k++] = (char)(0x80 | (cp >> 6 & 0x3F));
                dst[k++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        default:
            dst[k++] = p[i];
            break; /* \" \\ \/ */
        }
    }
    return k;
}

/* Is the JSON key p[0..n) (between the quotes) the name[0..len)? */
static int
json_key_is(const char *p, size_t n, const char *name, size_t len)
{
    char small[256];
    char *d;
    size_t k;
    int eq;

    if (memchr(p, '\\', n) == NULL)
        return n == len && memcmp(p, name, n) == 0;
    if (len > n)
        return 0;
    d = n <= sizeof(small) ? small : malloc(n);
    if (d == NULL)
        return 0;
    k = json_unescape(p, n, d);
    eq = k == len && memcmp(d, name, k) == 0;
    if (d != small)
        free(d);
    return eq;
}

/* The value of member name[0..len) of the (valid) object p[0..n): 1 with its raw text, or 0. */
static int
json_member(const char *p, size_t n, const char *name, size_t len, struct field *out)
{
    const char *e = p + n, *q = json_ws(p, e);

    if (q >= e || *q != '{')
        return 0;
    q = json_ws(q + 1, e);
    while (q < e && *q == '"') {
        const char *k = q + 1, *ke = json_str_end(q, e), *v, *ve;
        v = json_ws(ke, e) + 1; /* after ':' */
        v = json_ws(v, e);
        ve = json_value_end(v, e, 0);
        if (json_key_is(k, (size_t)(ke - 1 - k), name, len)) {
            *out = (struct field){v, (size_t)(ve - v)};
            return 1;
        }
        q = json_ws(ve, e);
        if (q < e && *q == ',')
            q = json_ws(q + 1, e);
    }
    return 0;
}

/* The value at a column's path ("a.b": member b of member a) in the current JSON record. */
static int
json_lookup(const struct qstream *s, const struct sql_col *c, struct field *out)
{
    struct field cur = {s->rec, s->recn};
    const char *name = c->name, *dot;

    if (json_member(cur.p, cur.n, c->name, c->len, out)) /* a name that holds a '.' itself */
        return 1;
    while ((dot = strchr(name, '.')) != NULL) {
        if (!json_member(cur.p, cur.n, name, (size_t)(dot - name), &cur))
            return 0;
        name = dot + 1;
    }
    return name != c->name && json_member(cur.p, cur.n, name, strlen(name), out);
}

/* ---- evaluating a record ----------------------------------------------------------------- */

/* The value of field f, of the type bind_columns or json_type found. */
static void
typed_value(int type, const struct field *f, struct sql_value *out)
{
    switch (type) {
    case SQL_NULL:
        *out = (struct sql_value){SQL_NULL, 0, NULL, 0};
        return;
    case SQL_BOOL:
        *out = (struct sql_value){SQL_BOOL, f->p[0] == 't', NULL, 0};
        return;
    case SQL_NUM:
        *out = (struct sql_value){SQL_NUM, 0, f->p, f->n};
        sql_parse_num(f->p, f->n, &out->num);
        return;
    default:
        *out = (struct sql_value){(enum sql_type)type, 0, f->p, f->n};
        return;
    }
}

static int
row_get(void *ctx, const struct sql_col *c, struct sql_value *out)
{
    struct qstream *s = ctx;

    /* a CSV record without the field is an error; a JSON member that is absent, NULL */
    if (s->coltype[c->id] == -1 && s->in.kind == FMT_CSV)
        return SQL_EMISSING;
    typed_value(s->coltype[c->id] == -1 ? SQL_NULL : s->coltype[c->id], &s->colv[c->id], out);
    return 0;
}

/* The type of the raw JSON value *f; a string is decoded into scratch (reserved for the record:
 * it never moves while the record is used) and *f becomes its text. */
static int
json_type(struct qstream *s, struct field *f)
{
    double d;

    switch (f->p[0]) {
    case 'n':
        return SQL_NULL;
    case 't':
    case 'f':
        return SQL_BOOL;
    case '{':
    case '[':
        return SQL_RAW;
    case '"': {
        char *dst = s->scratch.p + s->scratch.len;
        size_t n = json_unescape(f->p + 1, f->n - 2, dst);
        s->scratch.len += n;
        *f = (struct field){dst, n};
        return SQL_STR;
    }
    default:
        return sql_parse_num(f->p, f->n, &d) ? SQL_NUM : SQL_RAW;
    }
}

/* Fills colv/coltype for the current record.  0, or -1 out of memory. */
static int
bind_columns(struct qstream *s)
{
    const struct sql_query *q = s->sql;

    for (size_t i = 0; i < q->ncols; i++) {
        const struct sql_col *c = q->cols[i];
        struct field f;
        if (s->in.kind == FMT_CSV) {
            long k = c->index;
            if (k < 0 || (size_t)k >= s->nfields) {
                s->coltype[i] = -1;
                continue;
            }
            s->colv[i] = s->fields[k];
            s->coltype[i] = s->fields[k].n == 0 ? SQL_NULL : SQL_STR;
            continue;
        }
        if (!json_lookup(s, c, &f)) {
            s->coltype[i] = -1;
            continue;
        }
        s->coltype[i] = (signed char)json_type(s, &f);
        s->colv[i] = f;
    }
    return 0;
}

static void
missing_column(struct qstream *s, const struct sql_col *c)
{
    char desc[200];

    snprintf(desc, sizeof(desc), "The record has no column %.120s.", c->name);
    error_record(s, 0, s->in.kind == FMT_CSV ? "InvalidColumnOrdinal" : "InvalidColumnName", desc,
                 s->recpos);
}

/* Arrow output: adds the row s->vals[0..n) to the batch. */
static void
arrow_put(struct qstream *s, size_t n)
{
    char desc[240];
    int rc;

    if (n > s->out.nfields) {
        snprintf(desc, sizeof(desc), "The record has %zu fields; the Arrow schema has %zu.", n,
                 s->out.nfields);
        error_record(s, 0, "InvalidArrowSchema", desc, s->recpos);
        return;
    }
    rc = arrow_row(s->arrow, s->vals, n);
    if (rc < 0) {
        s->data.oom = 1;
    } else if (rc > 0) {
        const struct arrow_field *f = arrow_field(s->arrow, (size_t)rc - 1);
        snprintf(desc, sizeof(desc), "Field %.120s: the value is not a %s; it is written as null.",
                 f->name, arrow_type_name(f->type));
        error_record(s, 0, "InvalidArrowValue", desc, s->recpos);
    }
}

/* SELECT * to Arrow: value i of the record, of type `type` (past the schema's fields: counted,
 * not kept). */
static void
star_value(struct qstream *s, size_t i, int type, const struct field *f)
{
    if (i < s->out.nfields)
        typed_value(type, f, &s->vals[i]);
}

/* SELECT * : the record as it is, in the output format. */
static void
out_star(struct qstream *s)
{
    char name[24];

    if (s->in.kind == FMT_JSON) {
        if (s->out.kind == FMT_JSON) {
            json_compact(&s->data, s->rec, s->recn);
            buf_add(&s->data, s->out.rec, s->out.nrec);
            return;
        }
        /* CSV or Arrow output: the values of the top-level members, in order */
        {
            const char *e = s->rec + s->recn, *q = json_ws(s->rec, e) + 1;
            size_t i = 0;
            q = json_ws(q, e);
            while (q < e && *q == '"') {
                const char *ke = json_str_end(q, e), *v = json_ws(json_ws(ke, e) + 1, e);
                const char *ve = json_value_end(v, e, 0);
                if (s->out.kind == FMT_ARROW) {
                    struct field f = {v, (size_t)(ve - v)};
                    star_value(s, i++, json_type(s, &f), &f);
                    goto next;
                }
                out_name(s, i++, NULL, 0);
                if (*v == '"') {
                    size_t need = (size_t)(ve - v);
                    char *d = malloc(need);
                    if (d == NULL) {
                        s->data.oom = 1;
                        return;
                    }
                    csv_field(s, d, json_unescape(v + 1, need - 2, d));
                    free(d);
                } else if (*v != 'n') {
                    struct sql_value raw = {SQL_RAW, 0, v, (size_t)(ve - v)};
                    put_value(s, &raw);
                }
            next:
                q = json_ws(ve, e);
                if (q < e && *q == ',')
                    q = json_ws(q + 1, e);
            }
            if (s->out.kind == FMT_ARROW)
                arrow_put(s, i);
            else
                buf_add(&s->data, s->out.rec, s->out.nrec);
        }
        return;
    }
    if (s->out.kind == FMT_ARROW) {
        for (size_t i = 0; i < s->nfields; i++)
            star_value(s, i, s->fields[i].n ? SQL_STR : SQL_NULL, &s->fields[i]);
        arrow_put(s, s->nfields);
        return;
    }
    out_begin(s);
    for (size_t i = 0; i < s->nfields; i++) {
        const char *nm = name;
        size_t nl;
        if (s->in.headers && i < s->nhdr) {
            nm = s->hdr[i];
            nl = strlen(nm);
        } else {
            nl = (size_t)snprintf(name, sizeof(name), "_%zu", i + 1);
        }
        out_name(s, i, nm, nl);
        if (s->out.kind == FMT_CSV) {
            csv_field(s, s->fields[i].p, s->fields[i].n);
        } else {
            json_string(&s->data, s->fields[i].p, s->fields[i].n);
        }
    }
    out_end(s);
}

static void
output_too_large(struct qstream *s)
{
    error_record(s, 0, "OutputTooLarge", "The record's projection is larger than 64 MiB.",
                 s->recpos);
}

/* Evaluates the current record (fields or rec set): WHERE, then the projection or the
 * aggregates. */
static void
eval_record(struct qstream *s)
{
    const struct sql_query *q = s->sql;
    struct sql_row row = {row_get, s};
    const struct sql_col *miss = NULL;
    struct sql_value v;
    size_t mark;

    bind_columns(s);
    if (q->where != NULL) {
        if (sql_eval(q->where, &row, &v, &miss) != 0) {
            missing_column(s, miss);
            return;
        }
        if (!sql_true(&v))
            return;
    }
    if (q->aggregate) {
        int rc = sql_agg_step(q, s->agg, &row, &miss);
        if (rc == SQL_EMISSING)
            missing_column(s, miss);
        else if (rc != 0)
            s->data.oom = 1;
        return;
    }
    if (q->star) {
        out_star(s);
        return;
    }
    if (s->out.kind == FMT_ARROW) {
        size_t bytes = 0;
        for (size_t i = 0; i < q->nsel; i++) {
            if (sql_eval(q->sel[i], &row, &s->vals[i], &miss) != 0) {
                missing_column(s, miss);
                return;
            }
            bytes += s->vals[i].s != NULL ? s->vals[i].n : 0;
        }
        if (bytes > MAX_RECORD_OUT) {
            output_too_large(s);
            return;
        }
        arrow_put(s, q->nsel);
        return;
    }
    mark = s->data.len; /* a record missing a column is taken back */
    out_begin(s);
    for (size_t i = 0, k = 0; i < q->nsel; i++) {
        if (sql_eval(q->sel[i], &row, &v, &miss) != 0) {
            s->data.len = mark;
            missing_column(s, miss);
            return;
        }
        /* JSON to JSON: a member the record does not have is left out, as Azure does */
        if (s->out.kind == FMT_JSON && s->in.kind == FMT_JSON && q->sel[i]->kind == SN_COL &&
            s->coltype[q->sel[i]->col->id] == -1)
            continue;
        out_name(s, k++, q->sel_names[i], strlen(q->sel_names[i]));
        put_value(s, &v);
        if (s->data.len - mark > MAX_RECORD_OUT) {
            s->data.len = mark;
            output_too_large(s);
            return;
        }
    }
    out_end(s);
}

/* ---- splitting the input into records ----------------------------------------------------- */

/* The CSV header row: names for the columns, and the query's names bound to positions.  0, or -1
 * (a fatal error recorded). */
static int
csv_header(struct qstream *s)
{
    char desc[200];

    s->hdr = arena_alloc(s->a, sizeof(*s->hdr) * (s->nfields ? s->nfields : 1));
    if (s->hdr == NULL) {
        error_record(s, 1, "HeaderTooLarge", "The header row is too large.", s->recpos);
        return -1;
    }
    for (size_t i = 0; i < s->nfields; i++)
        if ((s->hdr[i] = arena_strndup(s->a, s->fields[i].p, s->fields[i].n)) == NULL) {
            error_record(s, 1, "HeaderTooLarge", "The header row is too large.", s->recpos);
            return -1;
        }
    s->nhdr = s->nfields;
    for (size_t i = 0; i < s->sql->ncols; i++) {
        struct sql_col *c = s->sql->cols[i];
        size_t k;
        if (c->index >= 0)
            continue;
        for (k = 0; k < s->nhdr && strcmp(s->hdr[k], c->name) != 0; k++)
            ;
        if (k == s->nhdr) {
            snprintf(desc, sizeof(desc), "The header row has no column %.120s.", c->name);
            error_record(s, 1, "InvalidColumnName", desc, s->recpos);
            return -1;
        }
        c->index = (long)k;
    }
    s->header_done = 1;
    out_header(s, s->sql->star ? s->nhdr : s->sql->nsel,
               s->sql->star ? (const char *const *)s->hdr : s->sql->sel_names);
    return 0;
}

/* Splits the CSV record p[0..n) into fields (unquoted, unescaped into scratch). */
static int
csv_split(struct qstream *s, const char *p, size_t n)
{
    const struct qformat *f = &s->in;
    char *d;
    size_t k = 0;
    int inq = 0;

    buf_reset(&s->scratch);
    if (buf_reserve(&s->scratch, n + 1) != 0)
        return -1;
    d = s->scratch.p;
    s->nfields = 0;
    for (size_t i = 0;; i++) {
        if (i == n || (!inq && p[i] == f->col)) {
            if (s->nfields == s->capfields) {
                size_t cap = s->capfields ? s->capfields * 2 : 16;
                struct field *nf = realloc(s->fields, sizeof(*nf) * cap);
                if (nf == NULL)
                    return -1;
                s->fields = nf;
                s->capfields = cap;
            }
            s->fields[s->nfields++] = (struct field){d, k};
            d += k;
            k = 0;
            if (i == n)
                break;
            continue;
        }
        if (f->esc && p[i] == f->esc && i + 1 < n) {
            d[k++] = p[++i];
            continue;
        }
        if (f->quote && p[i] == f->quote) {
            if (inq && i + 1 < n && p[i + 1] == f->quote) {
                d[k++] = p[++i]; /* "" inside quotes */
                continue;
            }
            inq = !inq;
            continue;
        }
        d[k++] = p[i];
    }
    return 0;
}

/*
 * The end of the record starting at p (the offset of its separator), or -1 when the separator is
 * not in p[0..n) yet.  CSV: separators inside quotes or after the escape character do not count;
 * JSON: nor inside strings.
 */
static long
record_end(const struct qstream *s, const char *p, size_t n)
{
    const struct qformat *f = &s->in;
    int inq = 0;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (f->kind == FMT_CSV) {
            if (f->esc && c == f->esc) {
                i++;
                continue;
            }
            if (f->quote && c == f->quote) {
                inq = !inq;
                continue;
            }
        } else {
            if (inq && c == '\\') {
                i++;
                continue;
            }
            if (c == '"') {
                inq = !inq;
                continue;
            }
        }
        if (!inq && c == f->rec[0] && n - i >= f->nrec && memcmp(p + i, f->rec, f->nrec) == 0)
            return (long)i;
    }
    return -1;
}

static void
one_record(struct qstream *s, const char *p, size_t n)
{
    /* "\r\n" ends a record when the separator is "\n" */
    if (s->in.nrec == 1 && s->in.rec[0] == '\n' && n > 0 && p[n - 1] == '\r')
        n--;
    if (s->in.kind == FMT_JSON) {
        const char *e = p + n, *v = json_ws(p, e), *ve;
        if (v == e)
            return; /* a blank line */
        ve = *v == '{' ? json_value_end(v, e, 0) : NULL;
        if (ve == NULL || json_ws(ve, e) != e) {
            error_record(s, 1, "InvalidJsonRecord", "A record is not a JSON object.", s->recpos);
            return;
        }
        buf_reset(&s->scratch);
        if (buf_reserve(&s->scratch, n + 1) != 0) {
            s->data.oom = 1;
            return;
        }
        s->rec = v;
        s->recn = (size_t)(ve - v);
        eval_record(s);
        return;
    }
    if (n == 0)
        return; /* an empty line */
    if (csv_split(s, p, n) != 0) {
        s->data.oom = 1;
        return;
    }
    if (s->in.headers && !s->header_done) {
        csv_header(s);
        return;
    }
    eval_record(s);
}

/* Evaluates the whole records in inb; at_end: what is left is the last record.  Returns 1 when it
 * stopped early, its output full (OUT_STEP), with records left for the next step. */
static int
process(struct qstream *s, int at_end)
{
    size_t pos = 0;
    int full = 0;

    while (!s->stopped && pos < s->inb.len) {
        long e;
        size_t n;
        if (s->data.len >= OUT_STEP ||
            (s->arrow != NULL && arrow_pending_bytes(s->arrow) >= OUT_STEP)) {
            full = 1;
            break;
        }
        e = record_end(s, s->inb.p + pos, s->inb.len - pos);
        n = e >= 0 ? (size_t)e : s->inb.len - pos;
        if (e < 0 && !at_end)
            break;
        s->recpos = s->inbase + pos;
        one_record(s, s->inb.p + pos, n);
        pos += n + (e >= 0 ? s->in.nrec : 0);
    }
    if (!full && !s->stopped && s->inb.len - pos > MAX_RECORD)
        error_record(s, 1, "RecordTooLarge", "A record is larger than 4 MiB.", s->inbase + pos);
    memmove(s->inb.p, s->inb.p + pos, s->inb.len - pos);
    s->inb.len -= pos;
    s->inbase += pos;
    return full;
}

/* Appends up to CHUNK bytes of the blob to inb.  0, or an errno value. */
static int
read_chunk(struct qstream *s)
{
    size_t want = CHUNK;

    if (buf_reserve(&s->inb, CHUNK) != 0)
        return ENOMEM;
    while (want > 0 && s->bi < s->nblocks) {
        struct block_ref *b = &s->blocks[s->bi];
        long n;
        if (s->boff >= b->ext.len) {
            s->bi++;
            s->boff = 0;
            continue;
        }
        n = eng_data_read(s->eng, s->reader, &b->ext, s->boff, s->inb.p + s->inb.len, want);
        if (n <= 0)
            return n < 0 ? (int)-n : EIO;
        s->boff += (uint64_t)n;
        s->inb.len += (size_t)n;
        s->scanned += (uint64_t)n;
        want -= (size_t)n;
    }
    return 0;
}

/* The final output: the aggregates' one record. */
static void
out_aggregates(struct qstream *s)
{
    const struct sql_query *q = s->sql;
    struct sql_value v;

    if (s->out.kind == FMT_ARROW) {
        for (size_t i = 0; i < q->nsel; i++)
            sql_agg_result(q, s->agg, i, &s->vals[i]);
        arrow_put(s, q->nsel);
        return;
    }
    out_begin(s);
    for (size_t i = 0; i < q->nsel; i++) {
        sql_agg_result(q, s->agg, i, &v);
        out_name(s, i, q->sel_names[i], strlen(q->sel_names[i]));
        put_value(s, &v);
    }
    out_end(s);
}

/* One step: the header, or the next chunk's records, or the end.  0, or -1 (abort the body). */
static int
step(struct qstream *s)
{
    int err;

    if (!s->started) {
        s->started = 1;
        emit_header(s);
        /* A CSV header row on output: from the input's header row when it has one (csv_header),
         * else the projection's names; SELECT * without input names writes none.  Arrow: the
         * schema. */
        if (s->arrow != NULL)
            arrow_schema(s->arrow, &s->data);
        else if (!(s->in.kind == FMT_CSV && s->in.headers) && !s->sql->star)
            out_header(s, s->sql->nsel, s->sql->sel_names);
        /* A first block before any error can be: azure-storage-blob's reader cannot take an
         * error as the stream's first record. */
        emit_block(s, 0);
        return buf_ok(&s->outb) && buf_ok(&s->data) ? 0 : -1;
    }
    if (!s->stopped && (s->backlog || s->scanned < s->total)) {
        /* a read failure cuts the stream: the client never sees wrong rows */
        if (!s->backlog && (err = read_chunk(s)) != 0)
            return -1;
        s->backlog = process(s, s->scanned == s->total);
        if (s->arrow != NULL)
            arrow_batch(s->arrow, &s->data);
        emit_block(s, 0);
        return buf_ok(&s->outb) && buf_ok(&s->data) ? 0 : -1;
    }
    if (!s->stopped && s->sql->aggregate)
        out_aggregates(s);
    if (s->arrow != NULL) {
        arrow_batch(s->arrow, &s->data);
        arrow_eos(&s->data);
    }
    emit_block(s, 1);
    s->finished = 1;
    return buf_ok(&s->outb) && buf_ok(&s->data) ? 0 : -1;
}

static long
qs_read(void *ctx, uint64_t pos, char *dst, size_t max)
{
    struct qstream *s = ctx;
    size_t n;

    (void)pos;
    while (s->outpos == s->outb.len) {
        if (s->finished)
            return 0;
        buf_reset(&s->outb);
        s->outpos = 0;
        if (step(s) != 0)
            return -1;
    }
    n = s->outb.len - s->outpos;
    if (n > max)
        n = max;
    memcpy(dst, s->outb.p + s->outpos, n);
    s->outpos += n;
    return (long)n;
}

static void
qs_free(void *ctx)
{
    struct qstream *s = ctx;

    if (s == NULL)
        return;
    eng_data_reader_free(s->eng, s->reader);
    sql_agg_free(s->agg);
    arrow_free(s->arrow);
    buf_free(&s->inb);
    buf_free(&s->outb);
    buf_free(&s->data);
    buf_free(&s->recs);
    buf_free(&s->scratch);
    free(s->fields);
    arena_free(s->a);
    free(s);
}

/* ---- the request ------------------------------------------------------------------------- */

/* Arrow output: the writer, its fields named (a field without a Name takes the projection's
 * name, or _N for SELECT *), and the row of values.  0, or -1 (described). */
static int
arrow_open(struct api_req *q, struct qstream *s)
{
    struct qformat *out = &s->out;
    char why[160];

    if (!s->sql->star && s->sql->nsel != out->nfields) {
        snprintf(why, sizeof(why),
                 "The query selects %zu columns; the Arrow schema has %zu fields.", s->sql->nsel,
                 out->nfields);
        api_respond_error(q, az_error_status(E_ErrorProcessingQueryExpression),
                          az_error_code(E_ErrorProcessingQueryExpression), why, NULL);
        return -1;
    }
    for (size_t i = 0; i < out->nfields; i++) {
        char name[24];
        if (out->fields[i].name != NULL)
            continue;
        snprintf(name, sizeof(name), "_%zu", i + 1);
        out->fields[i].name = arena_strdup(q->a, s->sql->star ? name : s->sql->sel_names[i]);
    }
    if ((s->arrow = arrow_new(out->fields, out->nfields)) == NULL ||
        (s->vals = arena_alloc(s->a, sizeof(*s->vals) * out->nfields)) == NULL) {
        api_fail(q, E_InternalError);
        return -1;
    }
    /* the schema is in the request's arena, which the stream outlives: the writer holds it now */
    out->fields = NULL;
    return 0;
}

/* The stream for blob r with the request's formats; the SQL is parsed here (400 described). */
static struct qstream *
qs_new(struct api_req *q, const struct blob_rec *r, const char *expr, const struct qformat *in,
       const struct qformat *out)
{
    struct qstream *s = calloc(1, sizeof(*s));
    char why[256];

    if (s == NULL || (s->a = arena_new(STREAM_CAP + strlen(expr) * 16)) == NULL) {
        free(s);
        api_fail(q, E_InternalError);
        return NULL;
    }
    s->eng = &q->srv->eng;
    s->in = *in;
    s->out = *out;
    s->total = r->size;
    if ((s->sql = sql_parse(s->a, expr, strlen(expr), why, sizeof(why))) == NULL) {
        api_respond_error(q, az_error_status(E_ErrorProcessingQueryExpression),
                          az_error_code(E_ErrorProcessingQueryExpression),
                          why[0] ? why : az_error_message(E_ErrorProcessingQueryExpression), NULL);
        goto fail;
    }
    /* Without a header row, CSV columns have no names: only _N can name them. */
    for (size_t i = 0; in->kind == FMT_CSV && !in->headers && i < s->sql->ncols; i++)
        if (s->sql->cols[i]->index < 0) {
            snprintf(why, sizeof(why),
                     "Column %.120s: the input has no header row; name columns _1, _2, ...",
                     s->sql->cols[i]->name);
            api_respond_error(q, az_error_status(E_ErrorProcessingQueryExpression),
                              az_error_code(E_ErrorProcessingQueryExpression), why, NULL);
            goto fail;
        }
    if (out->kind == FMT_ARROW && arrow_open(q, s) != 0)
        goto fail;
    s->colv = arena_alloc(s->a, sizeof(*s->colv) * (s->sql->ncols + 1));
    s->coltype = arena_alloc(s->a, s->sql->ncols + 1);
    s->blocks = arena_alloc(s->a, sizeof(*s->blocks) * (r->nblocks + 1));
    if (s->colv == NULL || s->coltype == NULL || s->blocks == NULL ||
        (s->sql->aggregate && (s->agg = sql_agg_new(s->sql)) == NULL) ||
        eng_data_reader_new(s->eng, &s->reader) != 0 || RAND_bytes(s->sync, 16) != 1) {
        api_fail(q, E_InternalError);
        goto fail;
    }
    for (size_t i = 0; i < r->nblocks; i++)
        if (r->blocks[i].ext.len > 0) {
            s->blocks[s->nblocks] = r->blocks[i];
            s->blocks[s->nblocks++].id = NULL; /* ids live in the request arena */
        }
    return s;
fail:
    qs_free(s);
    return NULL;
}

void
op_query_blob(struct api_req *q)
{
    struct xml_node *root = xml_parse(q->a, q->xml.p ? q->xml.p : "", q->xml.len);
    const struct xml_node *type, *expr;
    struct qformat in = csv_default, out;
    struct blob_rec r;
    struct qstream *s;
    int exists, current;

    if (root == NULL || strcmp(root->name, "QueryRequest") != 0) {
        api_fail(q, E_InvalidXmlDocument);
        return;
    }
    if ((type = xml_child(root, "QueryType")) != NULL && strcmp(type->text, "SQL") != 0) {
        api_fail_xml_node(q, "QueryType", type->text);
        return;
    }
    if ((expr = xml_child(root, "Expression")) == NULL || expr->text_len == 0) {
        api_fail_xml_node(q, "Expression", expr ? expr->text : "");
        return;
    }
    if (read_format(q, xml_child(root, "InputSerialization"), &in, 0) != 0)
        return;
    out = in; /* no OutputSerialization: the input's format */
    out.headers = 0;
    if (read_format(q, xml_child(root, "OutputSerialization"), &out, 1) != 0)
        return;
    if ((exists = api_blob_load_addressed(q, &r, &current)) < 0)
        return;
    if (!exists) {
        api_fail(q, E_BlobNotFound);
        return;
    }
    if (api_blob_read_gate(q, &r) != 0 || api_tier_content_gate(q, &r) != 0)
        return;
    if ((s = qs_new(q, &r, expr->text, &in, &out)) == NULL)
        return;
    api_status(q, 200);
    api_hdr(q, "Content-Type", "avro/binary");
    api_hdr_etag(q, r.etag);
    api_hdr_time(q, "Last-Modified", r.modified);
    api_hdr_time(q, "x-ms-creation-time", r.created);
    api_hdr(q, "x-ms-blob-type", api_blob_type_name(r.type));
    api_lease_headers(q, &r.lease);
    api_put_metadata_headers(q, r.nmeta, r.meta);
    api_hdr(q, "x-ms-server-encrypted", "false");
    http_resp_stream(q->h, HTTP_LEN_UNKNOWN, qs_read, s, qs_free);
}
