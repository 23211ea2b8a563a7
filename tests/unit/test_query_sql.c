/*
 * test_query_sql.c -- the SQL of Query Blob Contents (api/query_sql.h): what parses and what is a
 * syntax error, evaluation over a record of text fields (comparisons with number conversion,
 * three-valued logic, LIKE, IN, BETWEEN, IS NULL, arithmetic), aggregates, number formatting.
 */
#include "api/query_sql.h"
#include "check.h"
#include "util/arena.h"

#include <stdio.h>
#include <string.h>

static struct arena *A;

/* A record of fields: "" is NULL; names for header binding. */
struct rec {
    const char *const *fields;
    size_t n;
    const char *const *names;
};

static int
rec_get(void *ctx, const struct sql_col *c, struct sql_value *out)
{
    const struct rec *r = ctx;
    long i = c->index;

    if (i < 0 && r->names != NULL)
        for (size_t k = 0; k < r->n; k++)
            if (strcmp(r->names[k], c->name) == 0)
                i = (long)k;
    if (i < 0 || (size_t)i >= r->n)
        return SQL_EMISSING;
    if (r->fields[i][0] == '\0')
        *out = (struct sql_value){SQL_NULL, 0, NULL, 0};
    else
        *out = (struct sql_value){SQL_STR, 0, r->fields[i], strlen(r->fields[i])};
    return 0;
}

static const char *const F[] = {"apple", "250", "", "3.5", "a%b"};
static const char *const N[] = {"name", "qty", "note", "price", "code"};
static struct rec R = {F, 5, N};

static struct sql_query *
parse(const char *s)
{
    char why[160];

    return sql_parse(A, s, strlen(s), why, sizeof(why));
}

/* WHERE over R: 1 kept, 0 not, -1 syntax error, -2 missing column. */
static int
where(const char *cond)
{
    char text[512];
    struct sql_query *q;
    struct sql_row row = {rec_get, &R};
    struct sql_value v;
    const struct sql_col *miss;

    snprintf(text, sizeof(text), "SELECT * FROM BlobStorage WHERE %s", cond);
    if ((q = parse(text)) == NULL)
        return -1;
    if (sql_eval(q->where, &row, &v, &miss) != 0)
        return -2;
    return sql_true(&v);
}

int
main(void)
{
    char why[160], num[32];
    struct sql_query *q;
    struct sql_value v;
    const struct sql_col *miss;
    struct sql_row row = {rec_get, &R};

    A = arena_new(16 << 20);

    /* Shapes that parse. */
    q = parse("SELECT * FROM BlobStorage");
    CHECK(q != NULL && q->star && q->where == NULL && !q->aggregate);
    q = parse("select _2, name from blobstorage where _1 > 250;");
    CHECK(q != NULL && q->nsel == 2 && q->sel[0]->col->index == 1 && q->sel[1]->col->index == -1);
    CHECK(q != NULL && strcmp(q->sel_names[0], "_2") == 0 && strcmp(q->sel_names[1], "name") == 0);
    CHECK(q != NULL && q->ncols == 3);
    q = parse("SELECT \"Repo Path\", BlobStorage.a.b FROM BlobStorage");
    CHECK(q != NULL && strcmp(q->sel[0]->col->name, "Repo Path") == 0);
    CHECK(q != NULL && strcmp(q->sel[1]->col->name, "a.b") == 0);
    q = parse("SELECT COUNT(*), sum(_2), Min(_1), MAX(_1), AVG(_2) FROM BlobStorage");
    CHECK(q != NULL && q->aggregate && q->nsel == 5);
    q = parse("SELECT _1 + 1, -_2 FROM BlobStorage");
    CHECK(q != NULL && strcmp(q->sel_names[0], "_1") == 0 && strcmp(q->sel_names[1], "_2") == 0);

    /* Syntax errors, with where they are. */
    CHECK(sql_parse(A, "SELECT FROM BlobStorage", 23, why, sizeof(why)) == NULL);
    CHECK(strstr(why, "position 7") != NULL);
    CHECK(parse("SELECT * FROM Other") == NULL);
    CHECK(parse("SELECT * BlobStorage") == NULL);
    CHECK(parse("SELECT * FROM BlobStorage WHERE") == NULL);
    CHECK(parse("SELECT * FROM BlobStorage WHERE _1 = 'x") == NULL);
    CHECK(parse("SELECT * FROM BlobStorage WHERE _1 = 'x' junk") == NULL);
    CHECK(parse("SELECT * FROM BlobStorage WHERE (_1 = 'x'") == NULL);
    CHECK(parse("SELECT * FROM BlobStorage WHERE _1 # 2") == NULL);
    CHECK(parse("SELECT COUNT(*), _1 FROM BlobStorage") == NULL);          /* mixed */
    CHECK(parse("SELECT COUNT(*) + 1 FROM BlobStorage") == NULL);          /* nested */
    CHECK(parse("SELECT * FROM BlobStorage WHERE COUNT(_1) > 1") == NULL); /* in WHERE */
    CHECK(parse("SELECT * FROM BlobStorage WHERE _1 NOT = 1") == NULL);
    CHECK(parse("SELECT * FROM BlobStorage WHERE _1 IS 1") == NULL);
    CHECK(parse("SELECT * FROM BlobStorage WHERE 1e") == NULL);
    CHECK(parse("") == NULL);
    {
        char deep[400] = "SELECT * FROM BlobStorage WHERE ";
        size_t k = strlen(deep);
        memset(deep + k, '(', 200);
        snprintf(deep + k + 200, sizeof(deep) - k - 200, "1");
        CHECK(sql_parse(A, deep, strlen(deep), why, sizeof(why)) == NULL);
        CHECK(strstr(why, "deeply") != NULL);
    }

    /* Comparisons: strings bytewise, numbers when both sides are numbers. */
    CHECK(where("_1 = 'apple'") == 1);
    CHECK(where("name = 'apple'") == 1);
    CHECK(where("_1 <> 'apple'") == 0);
    CHECK(where("_1 != 'pear'") == 1);
    CHECK(where("_1 <> 'a'") == 1); /* memcmp's result is not just -1, 0, 1 */
    CHECK(where("_1 > 'Zebra'") == 1);
    CHECK(where("_1 < 'b'") == 1);
    CHECK(where("_2 > 99") == 1);   /* 250 > 99 numerically ('250' < '99' as text) */
    CHECK(where("_2 > '99'") == 0); /* both text: bytewise */
    CHECK(where("_2 >= 250.0") == 1);
    CHECK(where("_4 = 3.5") == 1);
    CHECK(where("_1 > 5") == 0);     /* 'apple' is not a number: unknown */
    CHECK(where("NOT _1 > 5") == 0); /* NOT unknown is unknown */
    CHECK(where("_2 * 2 = 500") == 1);
    CHECK(where("_2 / 0 IS NULL") == 1);
    CHECK(where("_2 % 7 = 5") == 1);
    CHECK(where("-_2 < 0") == 1);
    CHECK(where("_2 - 50 = 200 AND _4 + 0.5 = 4") == 1);

    /* NULL (an empty field) and three-valued logic. */
    CHECK(where("_3 IS NULL") == 1);
    CHECK(where("note IS NOT NULL") == 0);
    CHECK(where("_1 IS NOT NULL") == 1);
    CHECK(where("_3 = 'x' OR _1 = 'apple'") == 1);
    CHECK(where("_3 = 'x' AND _1 = 'apple'") == 0);
    CHECK(where("NOT (_3 = 'x')") == 0);
    CHECK(where("NOT _1 = 'pear'") == 1);
    CHECK(where("TRUE") == 1);
    CHECK(where("FALSE OR NULL IS NULL") == 1);
    CHECK(where("_1 = 'x' OR _1 = 'y' OR _2 = 250 AND _4 < 4") == 1); /* AND binds tighter */

    /* LIKE, IN, BETWEEN. */
    CHECK(where("_1 LIKE 'app%'") == 1);
    CHECK(where("_1 LIKE '_pple'") == 1);
    CHECK(where("_1 LIKE '%pl%'") == 1);
    CHECK(where("_1 LIKE 'app'") == 0);
    CHECK(where("_1 NOT LIKE 'b%'") == 1);
    CHECK(where("_5 LIKE 'a!%b' ESCAPE '!'") == 1);
    CHECK(where("_1 LIKE 'a!%b' ESCAPE '!'") == 0);
    CHECK(where("_1 LIKE '%%%e'") == 1);
    CHECK(where("_2 IN (1, 250, 3)") == 1);
    CHECK(where("_1 IN ('pear', 'plum')") == 0);
    CHECK(where("_1 NOT IN ('pear', 'plum')") == 1);
    CHECK(where("_2 BETWEEN 200 AND 300") == 1);
    CHECK(where("_2 NOT BETWEEN 200 AND 300") == 0);

    /* Keywords in any case; quoted names; a missing column is reported. */
    CHECK(where("_1 like 'APP%' or _1 Like 'app%'") == 1);
    CHECK(where("\"name\" = 'apple'") == 1);
    CHECK(where("_9 = 'x'") == -2);
    CHECK(where("nosuch = 'x'") == -2);
    q = parse("SELECT * FROM BlobStorage WHERE _9 = 1");
    CHECK(q != NULL && sql_eval(q->where, &row, &v, &miss) == SQL_EMISSING &&
          strcmp(miss->name, "_9") == 0);

    /* Aggregates over three records. */
    {
        static const char *const r1[] = {"b", "10"}, *const r2[] = {"a", ""},
                                 *const r3[] = {"c", "2.5"};
        struct rec recs[] = {{r1, 2, NULL}, {r2, 2, NULL}, {r3, 2, NULL}};
        struct sql_agg_state *st;
        q = parse("SELECT COUNT(*), COUNT(_2), SUM(_2), MIN(_1), MAX(_1), AVG(_2), MIN(_2) FROM "
                  "BlobStorage");
        CHECK(q != NULL);
        st = q ? sql_agg_new(q) : NULL;
        CHECK(st != NULL);
        for (size_t i = 0; st != NULL && i < 3; i++) {
            struct sql_row rr = {rec_get, &recs[i]};
            CHECK(sql_agg_step(q, st, &rr, &miss) == 0);
        }
        if (st != NULL) {
            sql_agg_result(q, st, 0, &v);
            CHECK(v.t == SQL_NUM && v.num == 3);
            sql_agg_result(q, st, 1, &v);
            CHECK(v.t == SQL_NUM && v.num == 2);
            sql_agg_result(q, st, 2, &v);
            CHECK(v.t == SQL_NUM && v.num == 12.5);
            sql_agg_result(q, st, 3, &v);
            CHECK(v.t == SQL_STR && v.n == 1 && v.s[0] == 'a');
            sql_agg_result(q, st, 4, &v);
            CHECK(v.t == SQL_STR && v.n == 1 && v.s[0] == 'c');
            sql_agg_result(q, st, 5, &v);
            CHECK(v.t == SQL_NUM && v.num == 6.25);
            sql_agg_result(q, st, 6, &v); /* '10' vs '2.5' as text: '10' is smaller */
            CHECK(v.t == SQL_STR && v.n == 2);
        }
        sql_agg_free(st);
        q = parse("SELECT SUM(_2), AVG(_2), MAX(_2) FROM BlobStorage");
        st = q ? sql_agg_new(q) : NULL;
        if (st != NULL) { /* no records: NULL, not 0 */
            sql_agg_result(q, st, 0, &v);
            CHECK(v.t == SQL_NULL);
            sql_agg_result(q, st, 1, &v);
            CHECK(v.t == SQL_NULL);
        }
        sql_agg_free(st);
    }

    /* Numbers. */
    CHECK(sql_format_num(3, num) == 1 && strcmp(num, "3") == 0);
    CHECK(sql_format_num(-0.0, num) == 1 && strcmp(num, "0") == 0);
    sql_format_num(2.5, num);
    CHECK_STR(num, "2.5");
    sql_format_num(1.0 / 3, num);
    CHECK_STR(num, "0.333333333333333");
    {
        double d;
        CHECK(sql_parse_num("-1.5e3", 6, &d) && d == -1500);
        CHECK(!sql_parse_num("0x10", 4, &d));
        CHECK(!sql_parse_num("inf", 3, &d));
        CHECK(!sql_parse_num("1.", 2, &d) || d == 1);
        CHECK(!sql_parse_num("", 0, &d));
        CHECK(!sql_parse_num("12a", 3, &d));
        CHECK(!sql_parse_num(".", 1, &d));
    }

    arena_free(A);
    return check_report("test_query_sql");
}
