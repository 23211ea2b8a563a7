/*
 * query_sql.h -- the SQL of Query Blob Contents (docs/query.md): parse an expression into a tree in
 * an arena, evaluate it against one record at a time.  Pure: no I/O, no request; the record comes
 * through a lookup callback, so the same code serves CSV and JSON input (query.c) and the fuzzer.
 *
 *     char why[128];
 *     struct sql_query *s = sql_parse(a, "SELECT _2 FROM BlobStorage WHERE _1 > 250", n, why,
 *                                     sizeof(why));
 *     if (s == NULL) -> 400 ErrorProcessingQueryExpression (why says what and where)
 *     for each record: sql_eval(s->where, &row, &v) == 0 && sql_true(&v) -> project s->sel[...]
 *
 * The grammar (keywords and function names case-insensitive, an optional trailing ';'):
 *
 *   query   := SELECT ( '*' | item (',' item)* ) FROM BlobStorage [WHERE expr]
 *   item    := expr                -- aggregates (COUNT/SUM/MIN/MAX/AVG) only at the top of an item,
 *                                     and then every item must be one
 *   expr    := or ; or := and (OR and)* ; and := not (AND not)* ; not := NOT not | pred
 *   pred    := sum [ cmp sum | [NOT] LIKE sum [ESCAPE sum] | IS [NOT] NULL
 *                  | [NOT] IN '(' expr (',' expr)* ')' | [NOT] BETWEEN sum AND sum ]
 *   cmp     := = | != | <> | < | <= | > | >=
 *   sum     := product (('+' | '-') product)* ; product := unary (('*' | '/' | '%') unary)*
 *   unary   := '-' unary | primary
 *   primary := number | 'string' ('' inside) | TRUE | FALSE | NULL | column | '(' expr ')'
 *              | COUNT '(' '*' ')' | (COUNT|SUM|MIN|MAX|AVG) '(' expr ')'
 *   column  := _N (the Nth field, from 1) | name | "quoted name" ("" inside), and a JSON path
 *              of names joined by '.'; a leading BlobStorage. is dropped.
 *
 * Values and comparisons: NULL, numbers (double), strings, booleans, and raw JSON (an object or
 * array, compared as text).  Comparing a string with a number converts the string when all of it
 * is a number, else the comparison is unknown; strings compare bytewise; any NULL makes a
 * comparison unknown (three-valued logic: WHERE keeps a record only when its condition is true).
 */
#ifndef COBALT_API_QUERY_SQL_H
#define COBALT_API_QUERY_SQL_H

#include <stddef.h>

struct arena;

enum sql_type { SQL_NULL, SQL_NUM, SQL_STR, SQL_BOOL, SQL_RAW };

/* A value.  s[0..n) is its text (SQL_STR, SQL_RAW; a number read from input keeps its text too,
 * s == NULL when computed).  Borrowed: valid while the record it came from is. */
struct sql_value {
    enum sql_type t;
    double num; /* SQL_NUM; SQL_BOOL: 0 or 1 */
    const char *s;
    size_t n;
};

/* A column reference.  index: the field's position from 0 (from `_N`, or bound from a header row
 * by the caller), -1 when only the name is known. */
struct sql_col {
    const char *name; /* NUL-terminated; for a path, the names joined by '.' */
    size_t len;
    long index;
    size_t id; /* its position in sql_query.cols */
};

enum sql_node_kind {
    SN_COL,
    SN_LIT,
    SN_AND,
    SN_OR,
    SN_NOT,
    SN_CMP,
    SN_LIKE,
    SN_ISNULL,
    SN_IN,
    SN_BETWEEN,
    SN_ARITH,
    SN_NEG,
    SN_AGG,
};
enum sql_cmp { SC_EQ, SC_NE, SC_LT, SC_LE, SC_GT, SC_GE };
enum sql_agg { SA_COUNT_STAR, SA_COUNT, SA_SUM, SA_MIN, SA_MAX, SA_AVG };

struct sql_node {
    enum sql_node_kind kind;
    int op;     /* SN_CMP: enum sql_cmp; SN_ARITH: '+' '-' '*' '/' '%'; SN_AGG: enum sql_agg */
    int negate; /* NOT LIKE, IS NOT NULL, NOT IN, NOT BETWEEN */
    struct sql_node *a, *b, *c; /* operands (LIKE: a LIKE b ESCAPE c; BETWEEN: a, b, c) */
    struct sql_node **list;     /* SN_IN */
    size_t nlist;
    struct sql_value lit; /* SN_LIT */
    struct sql_col *col;  /* SN_COL */
    size_t slot;          /* SN_AGG: its index in the aggregate state */
};

struct sql_query {
    int star;               /* SELECT * */
    size_t nsel;            /* projected items (0 with star) */
    struct sql_node **sel;  /* their expressions */
    const char **sel_names; /* their output names: the column's name, else "_<position>" */
    struct sql_node *where; /* NULL: every record */
    int aggregate;          /* every item is an aggregate: one output record at the end */
    size_t ncols;           /* every column reference, for the caller to bind header names */
    struct sql_col **cols;
};

/*
 * Parses text[0..n).  The query, in arena a, or NULL on a syntax error with `why` (NUL-terminated,
 * at most whylen bytes) saying what was expected where.  Also NULL when the arena is exhausted.
 */
struct sql_query *sql_parse(struct arena *a, const char *text, size_t n, char *why, size_t whylen);

/* A record, as the evaluator sees it: get() fills *out with the value of column c and returns 0,
 * or returns SQL_EMISSING when the record has no such field. */
#define SQL_EMISSING 1
struct sql_row {
    int (*get)(void *ctx, const struct sql_col *c, struct sql_value *out);
    void *ctx;
};

/* Evaluates e against the record: 0, or SQL_EMISSING (the missing column in *missing).  e must
 * not contain aggregates (sql_agg_step evaluates those items). */
int sql_eval(const struct sql_node *e, const struct sql_row *row, struct sql_value *out,
             const struct sql_col **missing);
/* 1 when v is the boolean true (a WHERE keeps the record), else 0. */
int sql_true(const struct sql_value *v);

/* Aggregate state: one slot per aggregate item; strings MIN/MAX keep are copied (sql_agg_free). */
struct sql_agg_state;
struct sql_agg_state *sql_agg_new(const struct sql_query *q);
void sql_agg_free(struct sql_agg_state *st);
/* Adds a record that passed WHERE: 0, SQL_EMISSING (*missing set), or -1 out of memory. */
int sql_agg_step(const struct sql_query *q, struct sql_agg_state *st, const struct sql_row *row,
                 const struct sql_col **missing);
/* The result of item i once every record was added (borrowed from st). */
void sql_agg_result(const struct sql_query *q, const struct sql_agg_state *st, size_t i,
                    struct sql_value *out);

/* A number as the output writes it: integers without a fraction, others with up to 15
 * significant digits.  out: at least 32 bytes.  Returns the length. */
size_t sql_format_num(double d, char *out);
/* Parses s[0..n) when all of it is a decimal number (sign, digits, fraction, exponent).  1 or 0. */
int sql_parse_num(const char *s, size_t n, double *out);

#endif
