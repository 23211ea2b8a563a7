/*
 * fuzz_query.c -- src/api/query_sql.h: the SQL of Query Blob Contents.
 *
 * Input: the expression text.  Besides crashes (and deep nesting blowing the stack), the target
 * holds the parser and the evaluator to their contracts:
 *  - a failed parse says why (a non-empty, NUL-terminated message);
 *  - trailing whitespace changes nothing: the text parses with and without it, or neither does;
 *  - a parsed query evaluates against records of every shape (fields missing, empty, numeric,
 *    text) to a missing column or a value, WHERE to true or not; aggregates run and give results;
 *  - every column reference is in cols[] under its own id;
 *  - every value a projection gives goes into an Arrow row of each of the six types (converted
 *    or null), and the batch of them is a framed message (src/api/query_arrow.h); the text
 *    itself goes through the decimal and timestamp conversions.
 */
#include <stdint.h>
#include <string.h>

#include "api/query_arrow.h"
#include "api/query_sql.h"
#include "fuzz_common.h"
#include "util/arena.h"

struct rec {
    const char *const *f;
    size_t n;
};

static int
get(void *ctx, const struct sql_col *c, struct sql_value *out)
{
    const struct rec *r = ctx;
    long i = c->index;

    if (i < 0) /* names: by their length, so that some resolve and some do not */
        i = (long)(c->len % 4);
    if ((size_t)i >= r->n)
        return SQL_EMISSING;
    *out = r->f[i][0] ? (struct sql_value){SQL_STR, 0, r->f[i], strlen(r->f[i])}
                      : (struct sql_value){SQL_NULL, 0, NULL, 0};
    return 0;
}

static const struct arrow_field all_types[] = {
    {AT_INT64, "i", 0, 0},  {AT_BOOL, "b", 0, 0},   {AT_TIMESTAMP_MS, "t", 0, 0},
    {AT_STRING, "s", 0, 0}, {AT_DOUBLE, "d", 0, 0}, {AT_DECIMAL, "x", 38, 6},
};

static void
exercise(const struct sql_query *q)
{
    struct arrow_writer *w = arrow_new(all_types, 6);
    struct buf out = BUF_INIT;
    static const char *const a[] = {"apple", "250", "", "-1.5e3"}, *const b[] = {"0", "x%_y"},
                             *const c[] = {"10", "10", "10", "10", "10"};
    const struct rec recs[] = {{a, 4}, {b, 2}, {c, 5}, {a, 0}};
    struct sql_agg_state *st = q->aggregate ? sql_agg_new(q) : NULL;

    for (size_t i = 0; i < q->ncols; i++)
        FUZZ_CHECK(q->cols[i]->id == i && q->cols[i]->name != NULL);
    for (size_t k = 0; k < sizeof(recs) / sizeof(recs[0]); k++) {
        struct sql_row row = {get, (void *)&recs[k]};
        const struct sql_col *miss = NULL;
        struct sql_value v;
        if (q->where != NULL) {
            int rc = sql_eval(q->where, &row, &v, &miss);
            FUZZ_CHECK(rc == 0 || (rc == SQL_EMISSING && miss != NULL));
            if (rc == 0)
                FUZZ_CHECK(sql_true(&v) == 0 || sql_true(&v) == 1);
        }
        if (st != NULL) {
            int rc = sql_agg_step(q, st, &row, &miss);
            FUZZ_CHECK(rc == 0 || rc == SQL_EMISSING || rc == -1);
            continue;
        }
        for (size_t i = 0; i < q->nsel; i++) {
            int rc = sql_eval(q->sel[i], &row, &v, &miss);
            FUZZ_CHECK(rc == 0 || (rc == SQL_EMISSING && miss != NULL));
            if (rc == 0 && v.t == SQL_NUM) {
                char num[32];
                FUZZ_CHECK(sql_format_num(v.num, num) < 32);
            }
            if (rc == 0 && w != NULL) {
                const struct sql_value six[6] = {v, v, v, v, v, v};
                rc = arrow_row(w, six, 6);
                FUZZ_CHECK(rc >= -1 && rc <= 6);
            }
        }
    }
    for (size_t i = 0; st != NULL && i < q->nsel; i++) {
        struct sql_value v;
        sql_agg_result(q, st, i, &v);
        FUZZ_CHECK(v.t == SQL_NULL || v.t == SQL_NUM || v.t == SQL_STR || v.t == SQL_BOOL ||
                   v.t == SQL_RAW);
    }
    sql_agg_free(st);
    if (w != NULL && arrow_pending_rows(w) > 0) {
        arrow_batch(w, &out);
        FUZZ_CHECK(!buf_ok(&out) ||
                   (out.len >= 8 && out.len % 8 == 0 && memcmp(out.p, "\xff\xff\xff\xff", 4) == 0));
        FUZZ_CHECK(arrow_pending_rows(w) == 0);
    }
    buf_free(&out);
    arrow_free(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a = arena_new(64u << 20);
    char why[160], *text = malloc(size + 2);
    struct sql_query *q, *q2;

    if (a == NULL || text == NULL) {
        arena_free(a);
        free(text);
        return 0;
    }
    memcpy(text, data, size);
    {
        __int128 x;
        int64_t t;
        (void)arrow_to_decimal(text, size, ARROW_MAX_PRECISION, (int)(size % 8), &x);
        (void)arrow_to_timestamp_ms(text, size, &t);
    }
    q = sql_parse(a, text, size, why, sizeof(why));
    if (q == NULL)
        FUZZ_CHECK(why[0] != '\0' && memchr(why, '\0', sizeof(why)) != NULL);
    else
        exercise(q);
    text[size] = ' ';
    text[size + 1] = '\n';
    q2 = sql_parse(a, text, size + 2, why, sizeof(why));
    FUZZ_CHECK((q == NULL) == (q2 == NULL));
    arena_free(a);
    free(text);
    return 0;
}
