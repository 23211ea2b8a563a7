/*
 * query_sql.c -- the SQL of Query Blob Contents: a recursive-descent parser into a tree in an
 * arena, and an evaluator over one record (query_sql.h has the grammar and the value rules).
 *
 * Limits that keep a hostile expression cheap: nesting depth 64 (the recursion is bounded), at
 * most 256 projected items; everything else is bounded by the expression's length, which the
 * request's body limit bounds.
 */
#include "api/query_sql.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/arena.h"

#define MAX_DEPTH 64
#define MAX_ITEMS 256

/* ---- lexer ------------------------------------------------------------------------------ */

enum tok {
    T_END,
    T_NUM,
    T_STR,
    T_IDENT,  /* bare name */
    T_QIDENT, /* "quoted name" */
    T_OP,     /* punctuation: text in tok_s */
    T_BAD,
};

struct parser {
    struct arena *a;
    const char *s;
    size_t n, pos;
    /* the current token */
    enum tok t;
    size_t start;     /* its offset */
    const char *text; /* T_STR, T_QIDENT: unescaped, in the arena; else s + start */
    size_t len;
    double num;
    int depth;
    char *why;
    size_t whylen;
    int failed;
    struct sql_query *q;
};

static int
fail(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    int off;

    if (p->failed)
        return -1;
    p->failed = 1;
    p->t = T_BAD; /* no keyword check may look at a token the lexer gave up on */
    p->len = 0;
    off = snprintf(p->why, p->whylen, "Syntax error at position %zu: ", p->start);
    if (off >= 0 && (size_t)off < p->whylen) {
        va_start(ap, fmt);
        vsnprintf(p->why + off, p->whylen - (size_t)off, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int
is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* A quoted token ('string' or "name"), the quote doubled inside. */
static int
lex_quoted(struct parser *p, char quote)
{
    char *out = arena_alloc(p->a, p->n - p->pos + 1);
    size_t k = 0, i = p->pos + 1;

    if (out == NULL)
        return fail(p, "out of memory");
    for (;;) {
        if (i >= p->n)
            return fail(p, "unterminated %s", quote == '\'' ? "string" : "quoted name");
        if (p->s[i] == quote) {
            if (i + 1 < p->n && p->s[i + 1] == quote) {
                out[k++] = quote;
                i += 2;
                continue;
            }
            i++;
            break;
        }
        out[k++] = p->s[i++];
    }
    out[k] = '\0';
    p->t = quote == '\'' ? T_STR : T_QIDENT;
    p->text = out;
    p->len = k;
    p->pos = i;
    return 0;
}

static int
next(struct parser *p)
{
    static const char *const ops2[] = {"<=", ">=", "<>", "!=", NULL};
    const char *s = p->s;

    while (p->pos < p->n && strchr(" \t\r\n\f\v", s[p->pos]) != NULL && s[p->pos] != '\0')
        p->pos++;
    p->start = p->pos;
    p->text = s + p->pos;
    if (p->pos >= p->n) {
        p->t = T_END;
        p->len = 0;
        return 0;
    }
    if (s[p->pos] == '\'' || s[p->pos] == '"')
        return lex_quoted(p, s[p->pos]);
    if (is_ident_start(s[p->pos])) {
        size_t e = p->pos;
        while (e < p->n && is_ident_char(s[e]))
            e++;
        p->t = T_IDENT;
        p->len = e - p->pos;
        p->pos = e;
        return 0;
    }
    if ((s[p->pos] >= '0' && s[p->pos] <= '9') ||
        (s[p->pos] == '.' && p->pos + 1 < p->n && s[p->pos + 1] >= '0' && s[p->pos + 1] <= '9')) {
        size_t e = p->pos;
        while (e < p->n && ((s[e] >= '0' && s[e] <= '9') || s[e] == '.'))
            e++;
        if (e < p->n && (s[e] == 'e' || s[e] == 'E')) {
            size_t x = e + 1;
            if (x < p->n && (s[x] == '+' || s[x] == '-'))
                x++;
            if (x < p->n && s[x] >= '0' && s[x] <= '9') {
                while (x < p->n && s[x] >= '0' && s[x] <= '9')
                    x++;
                e = x;
            }
        }
        if (!sql_parse_num(s + p->pos, e - p->pos, &p->num))
            return fail(p, "bad number");
        p->t = T_NUM;
        p->len = e - p->pos;
        p->pos = e;
        return 0;
    }
    for (int i = 0; ops2[i] != NULL; i++)
        if (p->pos + 1 < p->n && s[p->pos] == ops2[i][0] && s[p->pos + 1] == ops2[i][1]) {
            p->t = T_OP;
            p->len = 2;
            p->pos += 2;
            return 0;
        }
    if (strchr("=<>+-*/%(),;.", s[p->pos]) != NULL) {
        p->t = T_OP;
        p->len = 1;
        p->pos++;
        return 0;
    }
    p->t = T_BAD;
    p->len = 1;
    return fail(p, "unexpected character");
}

/* Is the current token the keyword (or operator) w? */
static int
is(const struct parser *p, const char *w)
{
    size_t n = strlen(w);

    if (p->t != T_IDENT && p->t != T_OP)
        return 0;
    return p->len == n && strncasecmp(p->text, w, n) == 0;
}

/* Consumes w if it is the current token: 1, else 0. */
static int
accept(struct parser *p, const char *w)
{
    if (!is(p, w))
        return 0;
    return next(p) == 0;
}

static int
expect(struct parser *p, const char *w)
{
    if (accept(p, w))
        return 0;
    return fail(p, "expected %s", w);
}

static int
is_reserved(const struct parser *p)
{
    static const char *const kw[] = {"SELECT", "FROM",    "WHERE", "AND",   "OR",
                                     "NOT",    "IS",      "NULL",  "LIKE",  "ESCAPE",
                                     "IN",     "BETWEEN", "TRUE",  "FALSE", NULL};

    for (int i = 0; kw[i] != NULL; i++)
        if (is(p, kw[i]))
            return 1;
    return 0;
}

/* ---- parser ------------------------------------------------------------------------------ */

static struct sql_node *
node(struct parser *p, enum sql_node_kind kind)
{
    struct sql_node *n = arena_calloc(p->a, sizeof(*n));

    if (n == NULL)
        fail(p, "out of memory");
    else
        n->kind = kind;
    return n;
}

static struct sql_node *parse_expr(struct parser *p);
static struct sql_node *parse_sum(struct parser *p);

static int
add_col(struct parser *p, struct sql_col *c)
{
    struct sql_query *q = p->q;
    struct sql_col **nc;

    if ((q->ncols & (q->ncols + 1)) == 0 || q->ncols == 0) { /* grow at 0, 1, 3, 7, ... */
        nc = arena_alloc(p->a, sizeof(*nc) * (q->ncols * 2 + 2));
        if (nc == NULL)
            return fail(p, "out of memory");
        if (q->ncols > 0)
            memcpy(nc, q->cols, sizeof(*nc) * q->ncols);
        q->cols = nc;
    }
    c->id = q->ncols;
    q->cols[q->ncols++] = c;
    return 0;
}

/* A column: _N, a name, a "quoted name", or a path of them joined by '.'. */
static struct sql_node *
parse_column(struct parser *p)
{
    struct sql_node *n = node(p, SN_COL);
    struct sql_col *c = arena_calloc(p->a, sizeof(*c));
    char *name = arena_alloc(p->a, p->n + 1);
    size_t k = 0;
    int first = 1;

    if (n == NULL || c == NULL || name == NULL) {
        fail(p, "out of memory");
        return NULL;
    }
    for (;;) {
        if (p->t != T_IDENT && p->t != T_QIDENT) {
            fail(p, "expected a column name");
            return NULL;
        }
        /* BlobStorage.x names x: the record is the only table. */
        if (first && p->t == T_IDENT && is(p, "BlobStorage") && p->pos < p->n &&
            p->s[p->pos] == '.') {
            if (next(p) != 0 || next(p) != 0)
                return NULL;
            first = 0;
            continue;
        }
        if (k > 0)
            name[k++] = '.';
        memcpy(name + k, p->text, p->len);
        k += p->len;
        first = 0;
        if (next(p) != 0)
            return NULL;
        if (!is(p, "."))
            break;
        if (next(p) != 0)
            return NULL;
    }
    name[k] = '\0';
    c->name = name;
    c->len = k;
    c->index = -1;
    /* _N: the Nth field (from 1). */
    if (k >= 2 && name[0] == '_' && name[1] >= '1' && name[1] <= '9' && k <= 10 &&
        strspn(name + 1, "0123456789") == k - 1)
        c->index = strtol(name + 1, NULL, 10) - 1;
    n->col = c;
    if (add_col(p, c) != 0)
        return NULL;
    return n;
}

static struct sql_node *
parse_agg(struct parser *p)
{
    static const struct {
        const char *name;
        enum sql_agg kind;
    } aggs[] = {{"COUNT", SA_COUNT},
                {"SUM", SA_SUM},
                {"MIN", SA_MIN},
                {"MAX", SA_MAX},
                {"AVG", SA_AVG}};
    struct sql_node *n = node(p, SN_AGG);
    size_t i;

    if (n == NULL)
        return NULL;
    for (i = 0; i < sizeof(aggs) / sizeof(aggs[0]) && !is(p, aggs[i].name); i++)
        ;
    n->op = aggs[i].kind;
    if (next(p) != 0 || expect(p, "(") != 0)
        return NULL;
    if (n->op == SA_COUNT && accept(p, "*")) {
        n->op = SA_COUNT_STAR;
    } else if ((n->a = parse_expr(p)) == NULL) {
        return NULL;
    }
    if (expect(p, ")") != 0)
        return NULL;
    return n;
}

static int
is_agg_name(const struct parser *p)
{
    static const char *const names[] = {"COUNT", "SUM", "MIN", "MAX", "AVG", NULL};

    if (p->t != T_IDENT || p->pos >= p->n)
        return 0;
    for (int i = 0; names[i] != NULL; i++)
        if (is(p, names[i])) {
            /* a function call: the name followed by '(' */
            size_t k = p->pos;
            while (k < p->n && strchr(" \t\r\n", p->s[k]) != NULL)
                k++;
            return k < p->n && p->s[k] == '(';
        }
    return 0;
}

static struct sql_node *
parse_primary(struct parser *p)
{
    struct sql_node *n;

    if (p->t == T_NUM || p->t == T_STR) {
        if ((n = node(p, SN_LIT)) == NULL)
            return NULL;
        n->lit = p->t == T_NUM ? (struct sql_value){SQL_NUM, p->num, NULL, 0}
                               : (struct sql_value){SQL_STR, 0, p->text, p->len};
        return next(p) == 0 ? n : NULL;
    }
    if (is(p, "TRUE") || is(p, "FALSE") || is(p, "NULL")) {
        if ((n = node(p, SN_LIT)) == NULL)
            return NULL;
        n->lit = is(p, "NULL") ? (struct sql_value){SQL_NULL, 0, NULL, 0}
                               : (struct sql_value){SQL_BOOL, is(p, "TRUE"), NULL, 0};
        return next(p) == 0 ? n : NULL;
    }
    if (accept(p, "(")) {
        if ((n = parse_expr(p)) == NULL || expect(p, ")") != 0)
            return NULL;
        return n;
    }
    if (is_agg_name(p))
        return parse_agg(p);
    if (p->t == T_QIDENT || (p->t == T_IDENT && !is_reserved(p)))
        return parse_column(p);
    fail(p, p->t == T_END ? "unexpected end of the expression" : "unexpected '%.*s'",
         (int)(p->len > 32 ? 32 : p->len), p->text);
    return NULL;
}

static struct sql_node *
parse_unary(struct parser *p)
{
    struct sql_node *n;

    if (!accept(p, "-"))
        return parse_primary(p);
    if (++p->depth > MAX_DEPTH) {
        fail(p, "expression nested too deeply");
        return NULL;
    }
    if ((n = node(p, SN_NEG)) == NULL || (n->a = parse_unary(p)) == NULL)
        return NULL;
    p->depth--;
    return n;
}

static struct sql_node *
binary(struct parser *p, enum sql_node_kind kind, int op, struct sql_node *a, struct sql_node *b)
{
    struct sql_node *n;

    if (a == NULL || b == NULL || (n = node(p, kind)) == NULL)
        return NULL;
    n->op = op;
    n->a = a;
    n->b = b;
    return n;
}

static struct sql_node *
parse_product(struct parser *p)
{
    struct sql_node *n = parse_unary(p);

    while (n != NULL && (is(p, "*") || is(p, "/") || is(p, "%"))) {
        int op = p->text[0];
        if (next(p) != 0)
            return NULL;
        n = binary(p, SN_ARITH, op, n, parse_unary(p));
    }
    return n;
}

static struct sql_node *
parse_sum(struct parser *p)
{
    struct sql_node *n = parse_product(p);

    while (n != NULL && (is(p, "+") || is(p, "-"))) {
        int op = p->text[0];
        if (next(p) != 0)
            return NULL;
        n = binary(p, SN_ARITH, op, n, parse_product(p));
    }
    return n;
}

static struct sql_node *
parse_pred(struct parser *p)
{
    static const struct {
        const char *op;
        enum sql_cmp cmp;
    } cmps[] = {{"=", SC_EQ},  {"!=", SC_NE}, {"<>", SC_NE}, {"<", SC_LT},
                {"<=", SC_LE}, {">", SC_GT},  {">=", SC_GE}};
    struct sql_node *a = parse_sum(p), *n;
    int negate = 0;

    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(cmps) / sizeof(cmps[0]); i++)
        if (is(p, cmps[i].op)) {
            if (next(p) != 0)
                return NULL;
            return binary(p, SN_CMP, cmps[i].cmp, a, parse_sum(p));
        }
    if (accept(p, "IS")) {
        if ((n = node(p, SN_ISNULL)) == NULL)
            return NULL;
        n->negate = accept(p, "NOT");
        n->a = a;
        return expect(p, "NULL") == 0 ? n : NULL;
    }
    if (accept(p, "NOT")) {
        negate = 1;
        if (!is(p, "LIKE") && !is(p, "IN") && !is(p, "BETWEEN")) {
            fail(p, "expected LIKE, IN or BETWEEN after NOT");
            return NULL;
        }
    }
    if (accept(p, "LIKE")) {
        if ((n = binary(p, SN_LIKE, 0, a, parse_sum(p))) == NULL)
            return NULL;
        if (accept(p, "ESCAPE") && (n->c = parse_sum(p)) == NULL)
            return NULL;
    } else if (accept(p, "IN")) {
        if ((n = node(p, SN_IN)) == NULL || expect(p, "(") != 0)
            return NULL;
        n->a = a;
        do {
            struct sql_node *e = parse_expr(p), **nl;
            if (e == NULL)
                return NULL;
            if ((nl = arena_alloc(p->a, sizeof(*nl) * (n->nlist + 1))) == NULL) {
                fail(p, "out of memory");
                return NULL;
            }
            if (n->nlist > 0)
                memcpy(nl, n->list, sizeof(*nl) * n->nlist);
            nl[n->nlist++] = e;
            n->list = nl;
        } while (accept(p, ","));
        if (expect(p, ")") != 0)
            return NULL;
    } else if (accept(p, "BETWEEN")) {
        if ((n = binary(p, SN_BETWEEN, 0, a, parse_sum(p))) == NULL || expect(p, "AND") != 0 ||
            (n->c = parse_sum(p)) == NULL)
            return NULL;
    } else {
        return a;
    }
    n->negate = negate;
    return n;
}

static struct sql_node *
parse_not(struct parser *p)
{
    struct sql_node *n;

    if (!accept(p, "NOT"))
        return parse_pred(p);
    if (++p->depth > MAX_DEPTH) {
        fail(p, "expression nested too deeply");
        return NULL;
    }
    if ((n = node(p, SN_NOT)) == NULL || (n->a = parse_not(p)) == NULL)
        return NULL;
    p->depth--;
    return n;
}

static struct sql_node *
parse_and(struct parser *p)
{
    struct sql_node *n = parse_not(p);

    while (n != NULL && accept(p, "AND"))
        n = binary(p, SN_AND, 0, n, parse_not(p));
    return n;
}

static struct sql_node *
parse_expr(struct parser *p)
{
    struct sql_node *n;

    if (++p->depth > MAX_DEPTH) {
        fail(p, "expression nested too deeply");
        return NULL;
    }
    n = parse_and(p);
    while (n != NULL && accept(p, "OR"))
        n = binary(p, SN_OR, 0, n, parse_and(p));
    p->depth--;
    return n;
}

/* Does e contain an aggregate below its top? */
static int
nested_agg(const struct sql_node *e, int top)
{
    if (e == NULL)
        return 0;
    if (e->kind == SN_AGG && !top)
        return 1;
    if (nested_agg(e->a, 0) || nested_agg(e->b, 0) || nested_agg(e->c, 0))
        return 1;
    for (size_t i = 0; i < e->nlist; i++)
        if (nested_agg(e->list[i], 0))
            return 1;
    return 0;
}

static int
parse_select_list(struct parser *p)
{
    struct sql_query *q = p->q;
    size_t naggs = 0;

    if (accept(p, "*")) {
        q->star = 1;
        return 0;
    }
    q->sel = arena_alloc(p->a, sizeof(*q->sel) * MAX_ITEMS);
    q->sel_names = arena_alloc(p->a, sizeof(*q->sel_names) * MAX_ITEMS);
    if (q->sel == NULL || q->sel_names == NULL)
        return fail(p, "out of memory");
    do {
        struct sql_node *e;
        if (q->nsel == MAX_ITEMS)
            return fail(p, "more than %d items in the select list", MAX_ITEMS);
        if ((e = parse_expr(p)) == NULL)
            return -1;
        if (nested_agg(e, 1))
            return fail(p, "an aggregate must be a whole select item");
        if (e->kind == SN_AGG)
            e->slot = naggs++;
        q->sel_names[q->nsel] = e->kind == SN_COL ? e->col->name
                                                  : arena_printf(p->a, "_%zu", q->nsel + 1);
        if (q->sel_names[q->nsel] == NULL)
            return fail(p, "out of memory");
        q->sel[q->nsel++] = e;
    } while (accept(p, ","));
    if (naggs > 0 && naggs != q->nsel)
        return fail(p, "aggregates cannot be mixed with other select items");
    q->aggregate = naggs > 0;
    return 0;
}

struct sql_query *
sql_parse(struct arena *a, const char *text, size_t n, char *why, size_t whylen)
{
    struct parser p = {.a = a, .s = text, .n = n, .why = why, .whylen = whylen};

    if (whylen > 0)
        why[0] = '\0';
    if ((p.q = arena_calloc(a, sizeof(*p.q))) == NULL)
        return NULL;
    if (next(&p) != 0 || expect(&p, "SELECT") != 0 || parse_select_list(&p) != 0 ||
        expect(&p, "FROM") != 0)
        return NULL;
    if (!is(&p, "BlobStorage")) {
        fail(&p, "expected BlobStorage");
        return NULL;
    }
    if (next(&p) != 0)
        return NULL;
    if (accept(&p, "WHERE")) {
        if ((p.q->where = parse_expr(&p)) == NULL)
            return NULL;
        if (nested_agg(p.q->where, 0)) {
            fail(&p, "aggregates are not allowed in WHERE");
            return NULL;
        }
    }
    accept(&p, ";");
    if (p.failed)
        return NULL;
    if (p.t != T_END) {
        fail(&p, "unexpected '%.*s' after the end of the query", (int)(p.len > 32 ? 32 : p.len),
             p.text);
        return NULL;
    }
    return p.q;
}

/* ---- values ------------------------------------------------------------------------------ */

int
sql_parse_num(const char *s, size_t n, double *out)
{
    char tmp[64], *end;
    size_t i = 0, digits = 0;

    if (n == 0 || n >= sizeof(tmp))
        return 0;
    /* Only decimal notation: strtod would also take hex, "inf" and "nan". */
    if (s[i] == '+' || s[i] == '-')
        i++;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    if (digits == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = ++i;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            e = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == e)
            return 0;
    }
    if (i != n)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, &end);
    return end == tmp + n;
}

size_t
sql_format_num(double d, char *out)
{
    int n;

    if (d == floor(d) && fabs(d) < 1e15)
        n = snprintf(out, 32, "%.0f", d == 0 ? 0.0 : d); /* no "-0" */
    else
        n = snprintf(out, 32, "%.15g", d);
    return n < 0 ? 0 : (size_t)n;
}

/* The value as a number: 1, or 0 when it has none. */
static int
as_num(const struct sql_value *v, double *d)
{
    if (v->t == SQL_NUM || v->t == SQL_BOOL) {
        *d = v->num;
        return 1;
    }
    if (v->t == SQL_STR)
        return sql_parse_num(v->s, v->n, d);
    return 0;
}

static int
bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);

    if (c != 0)
        return c < 0 ? -1 : 1; /* compare() gives 2 a meaning of its own */
    return an < bn ? -1 : an > bn;
}

/* Orders a and b: -1, 0, 1, or 2 when they do not compare (NULL, or a string that is not a number
 * against a number). */
static int
compare(const struct sql_value *a, const struct sql_value *b)
{
    double x, y;

    if (a->t == SQL_NULL || b->t == SQL_NULL)
        return 2;
    if (a->t == SQL_NUM || b->t == SQL_NUM) {
        if (!as_num(a, &x) || !as_num(b, &y))
            return 2;
        return x < y ? -1 : x > y;
    }
    if (a->t == SQL_BOOL || b->t == SQL_BOOL) {
        const struct sql_value *s = a->t == SQL_BOOL ? b : a, *o = a->t == SQL_BOOL ? a : b;
        if (s->t == SQL_BOOL)
            return a->num < b->num ? -1 : a->num > b->num;
        if (s->n == 4 && strncasecmp(s->s, "true", 4) == 0)
            x = 1;
        else if (s->n == 5 && strncasecmp(s->s, "false", 5) == 0)
            x = 0;
        else
            return 2;
        return s == a ? (x < o->num ? -1 : x > o->num) : (o->num < x ? -1 : o->num > x);
    }
    return bytes_cmp(a->s, a->n, b->s, b->n);
}

static struct sql_value
boolean(int b)
{
    return (struct sql_value){SQL_BOOL, b ? 1 : 0, NULL, 0};
}

static const struct sql_value null_value = {SQL_NULL, 0, NULL, 0};

/* LIKE: % any run, _ one byte, esc (or -1) makes the next pattern byte literal. */
static int
like(const char *s, size_t n, const char *p, size_t m, int esc)
{
    size_t i = 0, j = 0, star_j = (size_t)-1, star_i = 0;

    while (i < n) {
        if (j < m && p[j] == '%') {
            star_j = j++;
            star_i = i;
            continue;
        }
        if (j < m && (int)(unsigned char)p[j] == esc && j + 1 < m) {
            if (s[i] == p[j + 1]) {
                i++;
                j += 2;
                continue;
            }
        } else if (j < m && (p[j] == '_' || p[j] == s[i])) {
            i++;
            j++;
            continue;
        }
        if (star_j == (size_t)-1)
            return 0;
        j = star_j + 1;
        i = ++star_i;
    }
    while (j < m && p[j] == '%')
        j++;
    return j == m;
}

int
sql_true(const struct sql_value *v)
{
    return v->t == SQL_BOOL && v->num != 0;
}

int
sql_eval(const struct sql_node *e, const struct sql_row *row, struct sql_value *out,
         const struct sql_col **missing)
{
    struct sql_value a, b, c;
    double x, y;
    int rc, k;

#define EVAL(n, v)                                        \
    do {                                                  \
        if ((rc = sql_eval((n), row, (v), missing)) != 0) \
            return rc;                                    \
    } while (0)

    switch (e->kind) {
    case SN_COL:
        if (row->get(row->ctx, e->col, out) != 0) {
            *missing = e->col;
            return SQL_EMISSING;
        }
        return 0;
    case SN_LIT:
        *out = e->lit;
        return 0;
    case SN_AND:
    case SN_OR:
        EVAL(e->a, &a);
        /* Short cut: false AND x, true OR x (x is not evaluated, as in SQL engines). */
        if (a.t == SQL_BOOL && (a.num != 0) == (e->kind == SN_OR)) {
            *out = a;
            return 0;
        }
        EVAL(e->b, &b);
        if (b.t == SQL_BOOL && (b.num != 0) == (e->kind == SN_OR))
            *out = b;
        else if (a.t == SQL_BOOL && b.t == SQL_BOOL)
            *out = a;
        else
            *out = null_value;
        return 0;
    case SN_NOT:
        EVAL(e->a, &a);
        *out = a.t == SQL_BOOL ? boolean(a.num == 0) : null_value;
        return 0;
    case SN_CMP:
        EVAL(e->a, &a);
        EVAL(e->b, &b);
        k = compare(&a, &b);
        if (k == 2) {
            *out = null_value;
            return 0;
        }
        switch (e->op) {
        case SC_EQ:
            *out = boolean(k == 0);
            break;
        case SC_NE:
            *out = boolean(k != 0);
            break;
        case SC_LT:
            *out = boolean(k < 0);
            break;
        case SC_LE:
            *out = boolean(k <= 0);
            break;
        case SC_GT:
            *out = boolean(k > 0);
            break;
        default:
            *out = boolean(k >= 0);
            break;
        }
        return 0;
    case SN_LIKE:
        EVAL(e->a, &a);
        EVAL(e->b, &b);
        c = null_value;
        if (e->c != NULL)
            EVAL(e->c, &c);
        if (a.t != SQL_STR || b.t != SQL_STR || (e->c != NULL && (c.t != SQL_STR || c.n != 1))) {
            *out = null_value;
            return 0;
        }
        *out = boolean(like(a.s, a.n, b.s, b.n, e->c ? (unsigned char)c.s[0] : -1) != e->negate);
        return 0;
    case SN_ISNULL:
        EVAL(e->a, &a);
        *out = boolean((a.t == SQL_NULL) != e->negate);
        return 0;
    case SN_IN:
        EVAL(e->a, &a);
        k = 0; /* 1 found, 2 a comparison was unknown */
        for (size_t i = 0; i < e->nlist && k != 1; i++) {
            int r;
            EVAL(e->list[i], &b);
            r = compare(&a, &b);
            k = r == 0 ? 1 : r == 2 ? 2 : k;
        }
        *out = k == 2 ? null_value : boolean((k == 1) != e->negate);
        return 0;
    case SN_BETWEEN:
        EVAL(e->a, &a);
        EVAL(e->b, &b);
        EVAL(e->c, &c);
        if ((k = compare(&a, &b)) == 2 || (rc = compare(&a, &c)) == 2) {
            *out = null_value;
            return 0;
        }
        *out = boolean((k >= 0 && rc <= 0) != e->negate);
        return 0;
    case SN_ARITH:
        EVAL(e->a, &a);
        EVAL(e->b, &b);
        if (!as_num(&a, &x) || !as_num(&b, &y) || ((e->op == '/' || e->op == '%') && y == 0)) {
            *out = null_value;
            return 0;
        }
        out->t = SQL_NUM;
        out->s = NULL;
        out->n = 0;
        out->num = e->op == '+'   ? x + y
                   : e->op == '-' ? x - y
                   : e->op == '*' ? x * y
                   : e->op == '/' ? x / y
                                  : fmod(x, y);
        return 0;
    case SN_NEG:
        EVAL(e->a, &a);
        if (!as_num(&a, &x)) {
            *out = null_value;
            return 0;
        }
        *out = (struct sql_value){SQL_NUM, -x, NULL, 0};
        return 0;
    case SN_AGG:
        break;
    }
#undef EVAL
    *out = null_value; /* aggregates are evaluated by sql_agg_step */
    return 0;
}

/* ---- aggregates -------------------------------------------------------------------------- */

struct agg_slot {
    double count, sum;
    struct sql_value best; /* MIN/MAX so far (a string is copied into `copy`) */
    char *copy;
};

struct sql_agg_state {
    size_t n;
    struct agg_slot slot[];
};

struct sql_agg_state *
sql_agg_new(const struct sql_query *q)
{
    struct sql_agg_state *st = calloc(1, sizeof(*st) + sizeof(struct agg_slot) * q->nsel);

    if (st != NULL)
        st->n = q->nsel;
    return st;
}

void
sql_agg_free(struct sql_agg_state *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->n; i++)
        free(st->slot[i].copy);
    free(st);
}

int
sql_agg_step(const struct sql_query *q, struct sql_agg_state *st, const struct sql_row *row,
             const struct sql_col **missing)
{
    for (size_t i = 0; i < q->nsel; i++) {
        const struct sql_node *e = q->sel[i];
        struct agg_slot *s = &st->slot[e->slot];
        struct sql_value v;
        double d;
        int rc, k;

        if (e->op == SA_COUNT_STAR) {
            s->count++;
            continue;
        }
        if ((rc = sql_eval(e->a, row, &v, missing)) != 0)
            return rc;
        if (v.t == SQL_NULL)
            continue;
        switch (e->op) {
        case SA_COUNT:
            s->count++;
            break;
        case SA_SUM:
        case SA_AVG:
            if (as_num(&v, &d)) { /* values that are not numbers are left out */
                s->sum += d;
                s->count++;
            }
            break;
        default: /* MIN, MAX */
            k = s->count == 0 ? 0 : compare(&v, &s->best);
            if (s->count > 0 && (k == 2 || (e->op == SA_MIN ? k >= 0 : k <= 0)))
                break;
            if (v.t == SQL_STR || v.t == SQL_RAW || v.s != NULL) {
                char *c = malloc(v.n + 1);
                if (c == NULL)
                    return -1;
                memcpy(c, v.s, v.n);
                free(s->copy);
                s->copy = c;
                v.s = c;
            }
            s->best = v;
            s->count++;
            break;
        }
    }
    return 0;
}

void
sql_agg_result(const struct sql_query *q, const struct sql_agg_state *st, size_t i,
               struct sql_value *out)
{
    const struct sql_node *e = q->sel[i];
    const struct agg_slot *s = &st->slot[e->slot];

    *out = null_value;
    switch (e->op) {
    case SA_COUNT_STAR:
    case SA_COUNT:
        *out = (struct sql_value){SQL_NUM, s->count, NULL, 0};
        break;
    case SA_SUM:
        if (s->count > 0)
            *out = (struct sql_value){SQL_NUM, s->sum, NULL, 0};
        break;
    case SA_AVG:
        if (s->count > 0)
            *out = (struct sql_value){SQL_NUM, s->sum / s->count, NULL, 0};
        break;
    default:
        if (s->count > 0)
            *out = s->best;
        break;
    }
}
