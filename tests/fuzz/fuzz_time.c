/*
 * fuzz_time.c -- src/util/timefmt.h: HTTP dates (RFC 1123, RFC 850, asctime) and the ISO 8601
 * forms of SAS fields and snapshot ids.
 *
 * Input: one selector byte, then the text (or 8 bytes of ticks).  Checked: anything a parser
 * accepts is a real calendar instant that prints and parses back to the same value
 * (parse(fmt(t)) == t, to the second for HTTP dates and to the tick for ISO 8601), and the
 * formatters write exactly their fixed width for any instant in years 0-9999; the wider ISO 8601
 * forms of data (parse_iso8601_data) accept every strict one with the same meaning.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "util/timefmt.h"

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.9999999Z in ticks. */
#define MIN_TICKS (-62167219200LL * TICKS_PER_SEC)
#define MAX_TICKS (253402300800LL * TICKS_PER_SEC - 1)

static void
check_fmt(int64_t t)
{
    char a[30], b[29];
    int64_t back;

    memset(a, 'x', sizeof(a));
    memset(b, 'x', sizeof(b));
    fmt_rfc1123(t, a);
    fmt_iso8601_7(t, b);
    FUZZ_CHECK(strlen(a) == 29 && strlen(b) == 28);
    FUZZ_CHECK(parse_iso8601(b, &back) == 0 && back == t);
    FUZZ_CHECK(parse_http_date(a, &back) == 0);
    /* RFC 1123 has whole seconds: the instant comes back floored to its second. */
    FUZZ_CHECK(back == t - ((t % TICKS_PER_SEC) + TICKS_PER_SEC) % TICKS_PER_SEC);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    uint8_t sel = fz_u8(&f);
    int64_t t = 0;
    char *s;

    switch (sel % 3) {
    case 0:
        s = fz_field(&f, 0, NULL);
        if (parse_http_date(s, &t) == 0) {
            FUZZ_CHECK(t % TICKS_PER_SEC == 0);
            FUZZ_CHECK(t >= MIN_TICKS && t <= MAX_TICKS);
            check_fmt(t);
        }
        free(s);
        break;
    case 1:
        s = fz_field(&f, 0, NULL);
        if (parse_iso8601(s, &t) == 0) {
            int64_t t2;
            FUZZ_CHECK(t >= MIN_TICKS && t <= MAX_TICKS);
            check_fmt(t);
            /* the wider forms include the strict ones, with the same meaning */
            FUZZ_CHECK(parse_iso8601_data(s, &t2) == 0 && t2 == t);
        } else if (parse_iso8601_data(s, &t) == 0) {
            /* an offset can move a time out of the years 0000-9999 by a day */
            FUZZ_CHECK(t >= MIN_TICKS - 86400LL * 10000000 && t <= MAX_TICKS + 86400LL * 10000000);
        }
        free(s);
        break;
    default: {
        uint64_t u = fz_u64(&f);
        /* Any instant the formats can express. */
        t = MIN_TICKS + (int64_t)(u % (uint64_t)(MAX_TICKS - MIN_TICKS + 1));
        check_fmt(t);
        break;
    }
    }
    return 0;
}
