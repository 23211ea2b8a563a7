/*
 * tagexpr.c -- parser and evaluator for tag expressions; see tagexpr.h.  A recursive-descent
 * parser over the grammar of protocol doc §5.9, with the limits Azure applies to `where=`.
 */
#include "api/tagexpr.h"

#include <string.h>
#include <strings.h>

#include "model/model.h"
#include "util/arena.h"
#include "util/buf.h"

#define MAX_DEPTH 32

struct parser {
    struct arena *a;
    const char *p;
    enum tagexpr_mode mode;
    const char *why;
    int depth;
};

static int
tag_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr(" +-./:=_", c) != NULL;
}

static void
skip_ws(struct parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t')
        ps->p++;
}

static struct tagexpr *
fail(struct parser *ps, const char *why)
{
    if (ps->why == NULL)
        ps->why = why;
    return NULL;
}

/* A quoted string: q is the quote character, doubled inside to escape it. */
static const char *
quoted(struct parser *ps, char q, size_t max, int tag_chars_only)
{
    struct buf b = BUF_INIT;
    const char *out;

    ps->p++; /* opening quote */
    for (;;) {
        char c = *ps->p;
        if (c == '\0') {
            buf_free(&b);
            return fail(ps, "unterminated quoted string"), NULL;
        }
        if (c == q) {
            if (ps->p[1] != q)
                break;
            ps->p++; /* doubled quote: one literal quote */
        } else if (tag_chars_only && !tag_char(c)) {
            buf_free(&b);
            return fail(ps, "character not allowed in a tag"), NULL;
        }
        buf_putc(&b, c);
        ps->p++;
    }
    ps->p++; /* closing quote */
    if (b.len > max) {
        buf_free(&b);
        return fail(ps, "tag key or value too long"), NULL;
    }
    out = buf_ok(&b) ? arena_strndup(ps->a, b.p ? b.p : "", b.len) : NULL;
    buf_free(&b);
    return out ? out : (fail(ps, "out of memory"), NULL);
}

static int
keyword(struct parser *ps, const char *kw)
{
    size_t n = strlen(kw);
    char after;

    skip_ws(ps);
    if (strncasecmp(ps->p, kw, n) != 0)
        return 0;
    after = ps->p[n];
    if (after != '\0' && after != ' ' && after != '\t' && after != '(' && after != '"' &&
        after != '@')
        return 0;
    ps->p += n;
    return 1;
}

static struct tagexpr *parse_or(struct parser *ps);

static struct tagexpr *
parse_cmp(struct parser *ps)
{
    struct tagexpr *e;
    const char *key, *start;
    static const struct {
        const char *tok;
        enum tagexpr_op op;
    } ops[] = {{"<>", TOP_NE}, {">=", TOP_GE}, {"<=", TOP_LE},
               {"=", TOP_EQ},  {">", TOP_GT},  {"<", TOP_LT}};
    size_t i;

    skip_ws(ps);
    if (*ps->p == '(') {
        struct tagexpr *inner;
        if (++ps->depth > MAX_DEPTH)
            return fail(ps, "expression nested too deeply");
        ps->p++;
        if ((inner = parse_or(ps)) == NULL)
            return NULL;
        skip_ws(ps);
        if (*ps->p != ')')
            return fail(ps, "missing ')'");
        ps->p++;
        ps->depth--;
        return inner;
    }
    if (*ps->p == '"') {
        if ((key = quoted(ps, '"', 128, ps->mode == TAGEXPR_WHERE)) == NULL)
            return NULL;
        if (*key == '\0')
            return fail(ps, "empty tag key");
    } else if (*ps->p == '@') {
        start = ps->p++;
        while ((*ps->p >= 'a' && *ps->p <= 'z') || (*ps->p >= 'A' && *ps->p <= 'Z'))
            ps->p++;
        if ((size_t)(ps->p - start) != 10 || strncasecmp(start, "@container", 10) != 0 ||
            ps->mode != TAGEXPR_WHERE)
            return fail(ps, "unknown '@' key");
        key = "@container";
    } else {
        start = ps->p;
        while ((*ps->p >= 'a' && *ps->p <= 'z') || (*ps->p >= 'A' && *ps->p <= 'Z') ||
               (*ps->p >= '0' && *ps->p <= '9') || *ps->p == '_')
            ps->p++;
        if (ps->p == start || ps->p - start > 128)
            return fail(ps, "expected a tag key");
        key = arena_strndup(ps->a, start, (size_t)(ps->p - start));
    }
    skip_ws(ps);
    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strncmp(ps->p, ops[i].tok, strlen(ops[i].tok)) == 0)
            break;
    if (i == sizeof(ops) / sizeof(ops[0]))
        return fail(ps, "expected a comparison operator");
    if (ops[i].op == TOP_NE && ps->mode == TAGEXPR_WHERE)
        return fail(ps, "'<>' is not allowed here");
    ps->p += strlen(ops[i].tok);
    skip_ws(ps);
    if (*ps->p != '\'')
        return fail(ps, "expected a quoted value");
    if ((e = arena_calloc(ps->a, sizeof(*e))) == NULL)
        return fail(ps, "out of memory");
    e->kind = TX_CMP;
    e->key = key;
    e->op = ops[i].op;
    if ((e->value = quoted(ps, '\'', 256, 1)) == NULL)
        return NULL;
    if (strcmp(key, "@container") == 0 && e->op != TOP_EQ)
        return fail(ps, "@container only supports '='");
    return e;
}

static struct tagexpr *
join(struct parser *ps, int kind, struct tagexpr *l, struct tagexpr *r)
{
    struct tagexpr *e = arena_calloc(ps->a, sizeof(*e));

    if (e == NULL)
        return fail(ps, "out of memory");
    e->kind = kind;
    e->left = l;
    e->right = r;
    return e;
}

static struct tagexpr *
parse_and(struct parser *ps)
{
    struct tagexpr *e = parse_cmp(ps), *r;

    while (e != NULL && keyword(ps, "AND")) {
        if ((r = parse_cmp(ps)) == NULL)
            return NULL;
        e = join(ps, TX_AND, e, r);
    }
    return e;
}

static struct tagexpr *
parse_or(struct parser *ps)
{
    struct tagexpr *e = parse_and(ps), *r;

    while (e != NULL && keyword(ps, "OR")) {
        if (ps->mode == TAGEXPR_WHERE)
            return fail(ps, "'OR' is not allowed here");
        if ((r = parse_and(ps)) == NULL)
            return NULL;
        e = join(ps, TX_OR, e, r);
    }
    return e;
}

struct where_check {
    const char *keys[11];
    int nkeys, eq_twice, too_many;
    const struct tagexpr *eqs[32];
    int neqs;
};

static void
check_where(const struct tagexpr *c, void *ctx)
{
    struct where_check *w = ctx;
    int i;

    if (strcmp(c->key, "@container") == 0)
        return;
    for (i = 0; i < w->nkeys && strcmp(w->keys[i], c->key) != 0; i++)
        ;
    if (i == w->nkeys) {
        if (w->nkeys == 10)
            w->too_many = 1;
        else
            w->keys[w->nkeys++] = c->key;
    }
    if (c->op == TOP_EQ) {
        for (int j = 0; j < w->neqs; j++)
            if (strcmp(w->eqs[j]->key, c->key) == 0)
                w->eq_twice = 1;
        if (w->neqs < 32)
            w->eqs[w->neqs++] = c;
    }
}

struct tagexpr *
tagexpr_parse(struct arena *a, const char *s, enum tagexpr_mode mode, const char **why)
{
    struct parser ps = {a, s, mode, NULL, 0};
    struct tagexpr *e = parse_or(&ps);

    if (e != NULL) {
        skip_ws(&ps);
        if (*ps.p != '\0')
            e = fail(&ps, "unexpected text after the expression");
    }
    if (e != NULL && mode == TAGEXPR_WHERE) {
        struct where_check w = {0};
        tagexpr_each_cmp(e, check_where, &w);
        if (w.too_many)
            e = fail(&ps, "more than 10 distinct tag keys");
        else if (w.eq_twice)
            e = fail(&ps, "a tag key may be compared for equality only once");
    }
    *why = ps.why;
    return e;
}

static const char *
find_tag(size_t n, const struct meta_pair *tags, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tags[i].name, key) == 0)
            return tags[i].value;
    return NULL;
}

int
tagexpr_eval(const struct tagexpr *e, size_t ntags, const struct meta_pair *tags,
             const char *container)
{
    const char *v;
    int c;

    switch (e->kind) {
    case TX_AND:
        return tagexpr_eval(e->left, ntags, tags, container) &&
               tagexpr_eval(e->right, ntags, tags, container);
    case TX_OR:
        return tagexpr_eval(e->left, ntags, tags, container) ||
               tagexpr_eval(e->right, ntags, tags, container);
    case TX_CMP:
        break;
    }
    v = strcmp(e->key, "@container") == 0 ? container : find_tag(ntags, tags, e->key);
    if (v == NULL)
        return e->op == TOP_NE;
    c = strcmp(v, e->value); /* byte-wise: lexicographic on UTF-8 */
    switch (e->op) {
    case TOP_EQ:
        return c == 0;
    case TOP_NE:
        return c != 0;
    case TOP_LT:
        return c < 0;
    case TOP_LE:
        return c <= 0;
    case TOP_GT:
        return c > 0;
    case TOP_GE:
        return c >= 0;
    }
    return 0;
}

void
tagexpr_each_cmp(const struct tagexpr *e, void (*fn)(const struct tagexpr *cmp, void *ctx),
                 void *ctx)
{
    if (e->kind == TX_CMP) {
        fn(e, ctx);
        return;
    }
    tagexpr_each_cmp(e->left, fn, ctx);
    tagexpr_each_cmp(e->right, fn, ctx);
}
