/*
 * test_query_arrow.c -- Arrow output of Query Blob Contents (api/query_arrow.h): the conversions
 * (decimal from text, exact and rounded half away from zero; ISO 8601 timestamps), and the
 * stream's framing and buffers walked byte by byte: messages 8-aligned, the Message table's
 * header type and body length through its vtable, validity bitmaps only where there are nulls,
 * string offsets, a batch per call and none without rows.  Apache Arrow's own reader reads the
 * server's output in tests/js/query.test.mjs.
 */
#include "api/query_arrow.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

static int
dec(const char *s, int precision, int scale, long long want)
{
    __int128 v;

    return arrow_to_decimal(s, strlen(s), precision, scale, &v) == 0 && v == (__int128)want;
}

static int
dec_fails(const char *s, int precision, int scale)
{
    __int128 v;

    return arrow_to_decimal(s, strlen(s), precision, scale, &v) != 0;
}

static int
ts(const char *s, long long want)
{
    int64_t v;

    return arrow_to_timestamp_ms(s, strlen(s), &v) == 0 && v == want;
}

static int
ts_fails(const char *s)
{
    int64_t v;

    return arrow_to_timestamp_ms(s, strlen(s), &v) != 0;
}

static uint64_t
le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

struct msg {
    int type;
    const unsigned char *meta, *body;
    size_t body_len;
};

/* Splits stream p[0..n) into messages; the count, or -1 when the framing is wrong. */
static int
walk(const unsigned char *p, size_t n, struct msg *m, int max)
{
    size_t pos = 0;
    int k = 0;

    for (;;) {
        size_t len, root, vt;
        const unsigned char *meta;
        if (pos + 8 > n || pos % 8 != 0 || le(p + pos, 4) != 0xFFFFFFFFu)
            return -1;
        len = le(p + pos + 4, 4);
        pos += 8;
        if (len == 0)
            return pos == n ? k : -1;
        if (len % 8 != 0 || pos + len > n || k == max)
            return -1;
        meta = p + pos;
        root = le(meta, 4);
        vt = root - (size_t)(int32_t)le(meta + root, 4);
        if (le(meta + root + le(meta + vt + 4, 2), 2) != 4) /* version V5 */
            return -1;
        m[k].type = meta[root + le(meta + vt + 6, 2)];
        m[k].meta = meta;
        m[k].body_len = le(meta + root + le(meta + vt + 10, 2), 8);
        pos += len;
        m[k].body = p + pos;
        pos += m[k].body_len;
        k++;
    }
}

int
main(void)
{
    enum arrow_type t;

    /* Types by Azure's names, any case. */
    CHECK(arrow_type_parse("Timestamp[MS]", &t) == 0 && t == AT_TIMESTAMP_MS);
    CHECK(arrow_type_parse("decimal", &t) == 0 && t == AT_DECIMAL);
    CHECK(arrow_type_parse("int32", &t) != 0);
    CHECK_STR(arrow_type_name(AT_BOOL), "bool");

    /* Decimals: scaled, rounded half away from zero, within the precision. */
    CHECK(dec("12.345", 10, 2, 1235));
    CHECK(dec("-12.345", 10, 2, -1235));
    CHECK(dec("12.344", 10, 2, 1234));
    CHECK(dec("-0.005", 10, 2, -1));
    CHECK(dec("0.004", 10, 2, 0));
    CHECK(dec("0.0000000000000000000000000000000000000000000009", 10, 2, 0));
    CHECK(dec("1e3", 10, 2, 100000));
    CHECK(dec("15E-1", 10, 0, 2));
    CHECK(dec("+7.", 3, 0, 7));
    CHECK(dec(".5", 3, 1, 5));
    CHECK(dec("000123.4500", 5, 2, 12345));
    CHECK(dec("99.99", 4, 2, 9999));
    CHECK(dec_fails("99.995", 4, 2)); /* rounds to 100.00: five digits */
    CHECK(dec_fails("400", 4, 2));
    CHECK(dec_fails("1e99999999999", 38, 0));
    CHECK(dec("1e-99999999999", 38, 0, 0));
    CHECK(dec_fails("", 10, 0));
    CHECK(dec_fails("-", 10, 0));
    CHECK(dec_fails(".", 10, 0));
    CHECK(dec_fails("1e", 10, 0));
    CHECK(dec_fails("1..2", 10, 0));
    CHECK(dec_fails("12a", 10, 0));
    CHECK(dec_fails("0x10", 10, 0));
    {
        /* 38 nines fit; 39 digits do not */
        char big[64];
        __int128 v, want = 0;
        memset(big, '9', 38);
        big[38] = '\0';
        for (int i = 0; i < 38; i++)
            want = want * 10 + 9;
        CHECK(arrow_to_decimal(big, 38, 38, 0, &v) == 0 && v == want);
        big[38] = '9';
        big[39] = '\0';
        CHECK(dec_fails(big, 38, 0));
    }

    /* Timestamps, in milliseconds since the epoch, UTC. */
    CHECK(ts("1970-01-01", 0));
    CHECK(ts("2024-02-29", 1709164800000LL));
    CHECK(ts("2024-01-02T03:04:05.678Z", 1704164645678LL));
    CHECK(ts("2024-01-02 03:04:05.6789", 1704164645678LL)); /* past the millisecond: truncated */
    CHECK(ts("2024-06-01T12:00:00+02:00", 1717236000000LL));
    CHECK(ts("2024-06-01T12:00-0130", 1717248600000LL));
    CHECK(ts("1969-12-31T23:59:59.999Z", -1));
    CHECK(ts("1600-03-01", -11670912000000LL));
    CHECK(ts_fails("2023-02-29"));
    CHECK(ts_fails("2024-13-01"));
    CHECK(ts_fails("2024-04-31"));
    CHECK(ts_fails("2024-01-01T24:00"));
    CHECK(ts_fails("2024-01-01T10"));
    CHECK(ts_fails("2024-01-01T10:00:00."));
    CHECK(ts_fails("2024-01-01Z"));
    CHECK(ts_fails("2024-1-01"));
    CHECK(ts_fails("yesterday"));

    /* A stream: schema, two batches, the end. */
    {
        struct arrow_field f[3] = {{AT_INT64, "i", 0, 0},
                                   {AT_STRING, "s", 0, 0},
                                   {AT_BOOL, "b", 0, 0}};
        struct arrow_writer *w = arrow_new(f, 3);
        struct buf out = BUF_INIT;
        struct sql_value row[3];
        struct msg m[8];
        int n;

        CHECK(w != NULL);
        if (w == NULL)
            return check_report("test_query_arrow");
        CHECK_STR(arrow_field(w, 1)->name, "s");
        arrow_schema(w, &out);
        row[0] = (struct sql_value){SQL_STR, 0, "5", 1};
        row[1] = (struct sql_value){SQL_STR, 0, "ab", 2};
        row[2] = (struct sql_value){SQL_BOOL, 1, NULL, 0};
        CHECK(arrow_row(w, row, 3) == 0);
        row[0] = (struct sql_value){SQL_NUM, 2.5, NULL, 0}; /* not an int64 */
        row[1] = (struct sql_value){SQL_NUM, 7, NULL, 0};
        CHECK(arrow_row(w, row, 2) == 1); /* the first bad value is field 0; b is null */
        CHECK(arrow_pending_rows(w) == 2 && arrow_pending_bytes(w) > 0);
        arrow_batch(w, &out);
        arrow_batch(w, &out); /* no rows: nothing */
        row[0] = (struct sql_value){SQL_NUM, -3, NULL, 0};
        CHECK(arrow_row(w, row, 1) == 0);
        arrow_batch(w, &out);
        arrow_eos(&out);
        CHECK(buf_ok(&out));

        n = walk((const unsigned char *)out.p, out.len, m, 8);
        CHECK(n == 3);
        if (n == 3) {
            const unsigned char *b = m[1].body;
            CHECK(m[0].type == 1 && m[0].body_len == 0);
            CHECK(memmem(m[0].meta, 256, "s\0", 2) != NULL);
            CHECK(m[1].type == 3 && m[2].type == 3);
            /* batch 1: i (validity 0b01, 5, 0), s (no validity, offsets 0 2 3, "ab7"),
             * b (validity 0b01, values 0b01); each buffer padded to 8 */
            CHECK(m[1].body_len == 8 + 16 + 16 + 8 + 8 + 8);
            CHECK(b[0] == 0x01 && le(b + 8, 8) == 5 && le(b + 16, 8) == 0);
            CHECK(le(b + 24, 4) == 0 && le(b + 28, 4) == 2 && le(b + 32, 4) == 3);
            CHECK(memcmp(b + 40, "ab7", 3) == 0);
            CHECK(b[48] == 0x01 && b[56] == 0x01);
            /* batch 2: i = -3 and nothing else set: s and b null */
            b = m[2].body;
            CHECK(le(b, 8) == (uint64_t)-3);
        }
        buf_free(&out);
        arrow_free(w);
    }
    return check_report("test_query_arrow");
}
