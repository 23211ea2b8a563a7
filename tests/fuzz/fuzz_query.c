/*
 * fuzz_query.c -- src/api/query_sql.h: the SQL of Query Blob Contents.
 *
 * Input: the expression text.  Besides crashes (and deep nesting blowing the stack), the target
 * holds the parser and the evaluator to their contracts:
 *  - a failed parse says why (a non-empty, NUL-terminated message);
 *  - trailing whitespace changes nothing: the text parses with and without it, or neither does;
 *  - a parsed query evaluates against records of every shape (fields missing, empty, numeric,
 *    text) to a missing column or a value, WHERE to true or not; aggregates run and give results;
 *  - every column reference is in cols[] under its own id.
 */
#include <stdint.h>
#include <string.h>

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

static void
exercise(const struct sql_query *q)
{
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
        }
    }
    for (size_t i = 0; st != NULL && i < q->nsel; i++) {
        struct sql_value v;
        sql_agg_result(q, st, i, &v);
        FUZZ_CHECK(v.t == SQL_NULL || v.t == SQL_NUM || v.t == SQL_STR || v.t == SQL_BOOL ||
                   v.t == SQL_RAW);
    }
    sql_agg_free(st);
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
