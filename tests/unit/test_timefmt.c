/*
 * test_timefmt.c -- tick formatting and parsing (src/util/timefmt.c).
 */
#include "util/timefmt.h"

#include <string.h>

#include "check.h"

#define T(secs) ((int64_t)(secs)*TICKS_PER_SEC)

static void
test_rfc1123(void)
{
    char out[30];
    int64_t t = -1;

    fmt_rfc1123(0, out);
    CHECK_STR(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    fmt_rfc1123(T(1704067200), out);
    CHECK_STR(out, "Mon, 01 Jan 2024 00:00:00 GMT");
    fmt_rfc1123(T(1709210096) + 9999999, out); /* fractions are truncated */
    CHECK_STR(out, "Thu, 29 Feb 2024 12:34:56 GMT");
    fmt_rfc1123(T(253402300799), out);
    CHECK_STR(out, "Fri, 31 Dec 9999 23:59:59 GMT");
    fmt_rfc1123(-1, out); /* floor, not truncation */
    CHECK_STR(out, "Wed, 31 Dec 1969 23:59:59 GMT");
    CHECK(strlen(out) == 29);

    CHECK(parse_http_date("Mon, 01 Jan 2024 00:00:00 GMT", &t) == 0 && t == T(1704067200));
    CHECK(parse_http_date("Thu, 29 Feb 2024 12:34:56 GMT", &t) == 0 && t == T(1709210096));
    CHECK(parse_http_date("mon, 01 jan 2024 00:00:00 GMT", &t) == 0 && t == T(1704067200));
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t) == 0 && t == T(784111777));
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t) == 0 && t == T(784111777));
    CHECK(parse_http_date("Sun Nov  6 08:49:37 1994", &t) == 0 && t == T(784111777));
    CHECK(parse_http_date("Sun Nov 16 08:49:37 1994", &t) == 0 && t == T(784111777 + 10 * 86400));
    /* Rejects. */
    CHECK(parse_http_date("", &t) == -1);
    CHECK(parse_http_date("Mon, 01 Jan 2024 00:00:00", &t) == -1);
    CHECK(parse_http_date("Mon, 01 Jan 2024 00:00:00 UTC", &t) == -1);
    CHECK(parse_http_date("Mon, 01 Jan 2024 00:00:00 GMT ", &t) == -1);
    CHECK(parse_http_date("Mon, 1 Jan 2024 00:00:00 GMT", &t) == -1);
    CHECK(parse_http_date("Mon, 30 Feb 2024 00:00:00 GMT", &t) == -1);
    CHECK(parse_http_date("Mon, 29 Feb 2023 00:00:00 GMT", &t) == -1);
    CHECK(parse_http_date("Mon, 01 Foo 2024 00:00:00 GMT", &t) == -1);
    CHECK(parse_http_date("Mon, 01 Jan 2024 24:00:00 GMT", &t) == -1);
    CHECK(parse_http_date("Mon, 01 Jan 2024 00:60:00 GMT", &t) == -1);
    CHECK(parse_http_date("2024-01-01T00:00:00Z", &t) == -1);
}

static void
test_rfc1123_roundtrip(void)
{
    char out[30];
    int64_t t, back, i;
    int ok = 1;

    /* Every ~13 days across 1970..2100, at an odd time of day. */
    for (i = 0; i < 4102444800LL; i += 1123457) {
        t = T(i);
        fmt_rfc1123(t, out);
        if (parse_http_date(out, &back) != 0 || back != t)
            ok = 0;
    }
    CHECK(ok);
}

static void
test_iso8601(void)
{
    char out[29];
    int64_t t = -1, back;

    fmt_iso8601_7(0, out);
    CHECK_STR(out, "1970-01-01T00:00:00.0000000Z");
    fmt_iso8601_7(T(1704067200) + 1234567, out);
    CHECK_STR(out, "2024-01-01T00:00:00.1234567Z");
    fmt_iso8601_7(T(1709210096) + 1, out);
    CHECK_STR(out, "2024-02-29T12:34:56.0000001Z");
    CHECK(strlen(out) == 28);
    CHECK(parse_iso8601(out, &back) == 0 && back == T(1709210096) + 1);

    CHECK(parse_iso8601("2024-01-01T00:00:00.1234567Z", &t) == 0 && t == T(1704067200) + 1234567);
    CHECK(parse_iso8601("2024-01-01", &t) == 0 && t == T(1704067200));
    CHECK(parse_iso8601("2024-01-01T10:20Z", &t) == 0 && t == T(1704067200 + 37200));
    CHECK(parse_iso8601("2024-01-01T10:20:30Z", &t) == 0 && t == T(1704067200 + 37230));
    CHECK(parse_iso8601("2024-01-01T10:20:30.5Z", &t) == 0 && t == T(1704067200 + 37230) + 5000000);
    CHECK(parse_iso8601("2024-01-01T10:20:30.123Z", &t) == 0 &&
          t == T(1704067200 + 37230) + 1230000);
    CHECK(parse_iso8601("2030-01-01T00:00:00Z", &t) == 0 && t == T(1893456000));
    /* Rejects. */
    CHECK(parse_iso8601("", &t) == -1);
    CHECK(parse_iso8601("2024-1-01", &t) == -1);
    CHECK(parse_iso8601("2024-13-01", &t) == -1);
    CHECK(parse_iso8601("2024-02-30", &t) == -1);
    CHECK(parse_iso8601("2024-01-01T", &t) == -1);
    CHECK(parse_iso8601("2024-01-01T10Z", &t) == -1);
    CHECK(parse_iso8601("2024-01-01T10:20", &t) == -1);
    CHECK(parse_iso8601("2024-01-01T10:20:30", &t) == -1);
    CHECK(parse_iso8601("2024-01-01T10:20:30.Z", &t) == -1);
    CHECK(parse_iso8601("2024-01-01T10:20:30.12345678Z", &t) == -1);
    CHECK(parse_iso8601("2024-01-01T24:00:00Z", &t) == -1);
    CHECK(parse_iso8601("2024-01-01T10:20:30Zjunk", &t) == -1);
    CHECK(parse_iso8601("2024-01-01 10:20:30Z", &t) == -1);
    CHECK(parse_iso8601("2024-01-01T10:20:30+01:00", &t) == -1);

    /* The forms data carries: a space, no zone (UTC), an offset, long fractions. */
    CHECK(parse_iso8601_data("2024-01-01T10:20:30.5Z", &t) == 0 &&
          t == T(1704067200 + 37230) + 5000000);
    CHECK(parse_iso8601_data("2024-01-01 10:20", &t) == 0 && t == T(1704067200 + 37200));
    CHECK(parse_iso8601_data("2024-01-01T10:20:30+01:30", &t) == 0 &&
          t == T(1704067200 + 37230 - 5400));
    CHECK(parse_iso8601_data("2024-01-01T10:20:30-0100", &t) == 0 &&
          t == T(1704067200 + 37230 + 3600));
    CHECK(parse_iso8601_data("2024-01-01T10:20:30.123456789Z", &t) == 0 &&
          t == T(1704067200 + 37230) + 1234567);
    CHECK(parse_iso8601_data("2024-01-01T10:20:30+01", &t) == -1);
    CHECK(parse_iso8601_data("2024-01-01T10:20:30+24:00", &t) == -1);
    CHECK(parse_iso8601_data("2024-01-01T10:20:30Z+01:00", &t) == -1);
    CHECK(parse_iso8601_data("2024-01-01 ", &t) == -1);
    CHECK(parse_iso8601_data("2024-01-01Z", &t) == -1);
}

static void
test_iso8601_roundtrip(void)
{
    char out[29];
    int64_t t, back, i;
    int ok = 1;

    for (i = 0; i < 4102444800LL * TICKS_PER_SEC; i += 7777777777777LL) {
        t = i + (i / 3) % TICKS_PER_SEC;
        fmt_iso8601_7(t, out);
        if (parse_iso8601(out, &back) != 0 || back != t)
            ok = 0;
    }
    CHECK(ok);
}

static void
test_now(void)
{
    int64_t a = ticks_now(), b = ticks_now();

    CHECK(a > T(1700000000));
    CHECK(b >= a);
}

int
main(void)
{
    test_rfc1123();
    test_rfc1123_roundtrip();
    test_iso8601();
    test_iso8601_roundtrip();
    test_now();
    return check_report("test_timefmt");
}
