/*
 * timefmt.c -- the protocol's time formats; see timefmt.h.
 *
 * Calendar arithmetic is done here with the proleptic Gregorian day-count formulas (H. Hinnant's
 * days_from_civil / civil_from_days) instead of gmtime_r/timegm: they are exact for every tick
 * value, need no locale or TZ environment, and are trivially thread-safe.
 */
#include "util/timefmt.h"

#include <string.h>
#include <strings.h>

#include "util/clock.h"

static const char *const wday_names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const wday_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
static const char *const mon_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dim[m - 1];
}

/* A broken-down UTC time. */
struct civil {
    int64_t year;
    unsigned mon, day, hour, min, sec, wday;
    unsigned frac; /* ticks within the second, 0..9999999 */
};

/* Floor division of ticks into days and time of day, then into calendar fields. */
static void
split_ticks(int64_t ticks, struct civil *c)
{
    const int64_t per_day = 86400 * TICKS_PER_SEC;
    int64_t days = ticks / per_day, rem = ticks % per_day, secs;

    if (rem < 0) {
        rem += per_day;
        days--;
    }
    civil_from_days(days, &c->year, &c->mon, &c->day);
    c->wday = (unsigned)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    secs = rem / TICKS_PER_SEC;
    c->frac = (unsigned)(rem % TICKS_PER_SEC);
    c->hour = (unsigned)(secs / 3600);
    c->min = (unsigned)(secs / 60 % 60);
    c->sec = (unsigned)(secs % 60);
}

int64_t
ticks_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * TICKS_PER_SEC + ts.tv_nsec / 100 + clock_test_offset();
}

/* Years outside 0..9999 cannot be printed in the fixed widths; they are clamped. */
static void
clamp_year(struct civil *c)
{
    if (c->year < 0)
        c->year = 0;
    if (c->year > 9999)
        c->year = 9999;
}

/* Writes v as exactly `width` decimal digits. */
static void
put_digits(char *out, int64_t v, int width)
{
    while (width-- > 0) {
        out[width] = (char)('0' + v % 10);
        v /= 10;
    }
}

void
fmt_rfc1123(int64_t ticks, char out[30])
{
    struct civil c;

    split_ticks(ticks, &c);
    clamp_year(&c);
    memcpy(out, wday_names[c.wday], 3);
    memcpy(out + 3, ", ", 2);
    put_digits(out + 5, c.day, 2);
    out[7] = ' ';
    memcpy(out + 8, mon_names[c.mon - 1], 3);
    out[11] = ' ';
    put_digits(out + 12, c.year, 4);
    out[16] = ' ';
    put_digits(out + 17, c.hour, 2);
    out[19] = ':';
    put_digits(out + 20, c.min, 2);
    out[22] = ':';
    put_digits(out + 23, c.sec, 2);
    memcpy(out + 25, " GMT", 5); /* with the NUL */
}

void
fmt_iso8601_7(int64_t ticks, char out[29])
{
    struct civil c;

    split_ticks(ticks, &c);
    clamp_year(&c);
    put_digits(out, c.year, 4);
    out[4] = '-';
    put_digits(out + 5, c.mon, 2);
    out[7] = '-';
    put_digits(out + 8, c.day, 2);
    out[10] = 'T';
    put_digits(out + 11, c.hour, 2);
    out[13] = ':';
    put_digits(out + 14, c.min, 2);
    out[16] = ':';
    put_digits(out + 17, c.sec, 2);
    out[19] = '.';
    put_digits(out + 20, c.frac, 7);
    memcpy(out + 27, "Z", 2); /* with the NUL */
}

/*
 * A tiny cursor for the parsers: each reader consumes exactly what it expects or fails, so the
 * parsers read as the grammar.
 */
struct cur {
    const char *p;
    int bad;
};

/* Exactly n digits. */
static int64_t
cur_digits(struct cur *c, int n)
{
    int64_t v = 0;

    while (n-- > 0) {
        if (*c->p < '0' || *c->p > '9') {
            c->bad = 1;
            return 0;
        }
        v = v * 10 + (*c->p++ - '0');
    }
    return v;
}

static void
cur_lit(struct cur *c, const char *lit)
{
    size_t n = strlen(lit);

    if (strncmp(c->p, lit, n) != 0)
        c->bad = 1;
    else
        c->p += n;
}

/* One of `names` (case-insensitive, as HTTP dates are); returns its index, or -1 (and bad). */
static int
cur_name(struct cur *c, const char *const *names, int count, int len)
{
    int i;

    for (i = 0; i < count; i++) {
        if (strncasecmp(c->p, names[i], (size_t)(len ? len : (int)strlen(names[i]))) == 0) {
            c->p += len ? len : (int)strlen(names[i]);
            return i;
        }
    }
    c->bad = 1;
    return -1;
}

static int
to_ticks(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s, int64_t frac,
         int64_t *ticks)
{
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo) || h > 23 || mi > 59 ||
        s > 59)
        return -1;
    *ticks = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s) *
              TICKS_PER_SEC) +
             frac;
    return 0;
}

int
parse_http_date(const char *s, int64_t *ticks)
{
    struct cur c = {s, 0};
    int64_t y, mo, d, h, mi, sec;

    if (strlen(s) >= 4 && s[3] == ',') {
        /* RFC 1123: "Sun, 06 Nov 1994 08:49:37 GMT" */
        cur_name(&c, wday_names, 7, 3);
        cur_lit(&c, ", ");
        d = cur_digits(&c, 2);
        cur_lit(&c, " ");
        mo = cur_name(&c, mon_names, 12, 3) + 1;
        cur_lit(&c, " ");
        y = cur_digits(&c, 4);
    } else if (strlen(s) >= 4 && s[3] == ' ') {
        /* asctime: "Sun Nov  6 08:49:37 1994" */
        cur_name(&c, wday_names, 7, 3);
        cur_lit(&c, " ");
        mo = cur_name(&c, mon_names, 12, 3) + 1;
        cur_lit(&c, " ");
        if (*c.p == ' ') {
            c.p++;
            d = cur_digits(&c, 1);
        } else {
            d = cur_digits(&c, 2);
        }
        cur_lit(&c, " ");
        h = cur_digits(&c, 2);
        cur_lit(&c, ":");
        mi = cur_digits(&c, 2);
        cur_lit(&c, ":");
        sec = cur_digits(&c, 2);
        cur_lit(&c, " ");
        y = cur_digits(&c, 4);
        if (c.bad || *c.p != '\0')
            return -1;
        return to_ticks(y, mo, d, h, mi, sec, 0, ticks);
    } else {
        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years as 19xx/20xx (< 70: 20xx). */
        cur_name(&c, wday_long, 7, 0);
        cur_lit(&c, ", ");
        d = cur_digits(&c, 2);
        cur_lit(&c, "-");
        mo = cur_name(&c, mon_names, 12, 3) + 1;
        cur_lit(&c, "-");
        y = cur_digits(&c, 2);
        y += y < 70 ? 2000 : 1900;
    }
    cur_lit(&c, " ");
    h = cur_digits(&c, 2);
    cur_lit(&c, ":");
    mi = cur_digits(&c, 2);
    cur_lit(&c, ":");
    sec = cur_digits(&c, 2);
    cur_lit(&c, " GMT");
    if (c.bad || *c.p != '\0')
        return -1;
    return to_ticks(y, mo, d, h, mi, sec, 0, ticks);
}

/* parse_iso8601, or with `data` parse_iso8601_data's wider forms. */
static int
iso8601(const char *s, int data, int64_t *ticks)
{
    struct cur c = {s, 0};
    int64_t y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, zone = 0;
    int digits;

    y = cur_digits(&c, 4);
    cur_lit(&c, "-");
    mo = cur_digits(&c, 2);
    cur_lit(&c, "-");
    d = cur_digits(&c, 2);
    if (c.bad)
        return -1;
    if (*c.p == '\0')
        return to_ticks(y, mo, d, 0, 0, 0, 0, ticks);
    cur_lit(&c, data && *c.p == ' ' ? " " : "T");
    h = cur_digits(&c, 2);
    cur_lit(&c, ":");
    mi = cur_digits(&c, 2);
    if (!c.bad && *c.p == ':') {
        c.p++;
        sec = cur_digits(&c, 2);
        if (!c.bad && *c.p == '.') {
            c.p++;
            for (digits = 0; *c.p >= '0' && *c.p <= '9'; digits++, c.p++) {
                if (digits >= 7) {
                    if (!data)
                        return -1;
                    continue; /* past the tick: truncated */
                }
                frac = frac * 10 + (*c.p - '0');
            }
            if (digits == 0)
                return -1;
            for (; digits < 7; digits++)
                frac *= 10;
        }
    }
    if (data && (*c.p == '+' || *c.p == '-')) {
        int64_t sign = *c.p++ == '-' ? -1 : 1, zh, zm;
        zh = cur_digits(&c, 2);
        if (*c.p == ':')
            c.p++;
        zm = cur_digits(&c, 2);
        if (zh > 23 || zm > 59)
            return -1;
        zone = sign * (zh * 60 + zm) * 60 * TICKS_PER_SEC;
    } else if (!data || *c.p != '\0') {
        cur_lit(&c, "Z");
    }
    if (c.bad || *c.p != '\0' || to_ticks(y, mo, d, h, mi, sec, frac, ticks) != 0)
        return -1;
    *ticks -= zone;
    return 0;
}

int
parse_iso8601(const char *s, int64_t *ticks)
{
    return iso8601(s, 0, ticks);
}

int
parse_iso8601_data(const char *s, int64_t *ticks)
{
    return iso8601(s, 1, ticks);
}
