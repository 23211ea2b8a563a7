/*
 * parse.c -- validators and parsers for request fields; see parse.h.
 *
 * Everything here is a pure function of its input bytes: no allocation, no globals, no I/O.  The
 * handlers and the dispatcher turn the results into Azure errors (protocol doc §5.7 for names,
 * §5.2 for ranges).  Where Azure's exact rule is unknown the checks lean strict on things that
 * could confuse our own storage or logs (control characters, "." and ".." path segments), and
 * lenient on things clients legitimately send (any Unicode in blob names, oversized maxresults).
 */
#include "api/parse.h"

#include <string.h>
#include <strings.h>

#include "util/codec.h"
#include "util/xml.h"

static int
is_lower_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int
is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

enum name_check
container_name_check(const char *s, size_t n)
{
    static const char *const system[] = {"$root", "$logs", "$web", "$blobchangefeed"};
    size_t i;

    for (i = 0; i < sizeof(system) / sizeof(system[0]); i++)
        if (n == strlen(system[i]) && memcmp(s, system[i], n) == 0)
            return NAME_OK;
    /* Length first, as Azurite does: "A_" is OutOfRangeInput, not InvalidResourceName. */
    if (n < 3 || n > 63)
        return NAME_LENGTH;
    if (!is_lower_alnum((unsigned char)s[0]) || !is_lower_alnum((unsigned char)s[n - 1]))
        return NAME_INVALID;
    for (i = 1; i < n - 1; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '-') {
            if (s[i + 1] == '-')
                return NAME_INVALID;
        } else if (!is_lower_alnum(c)) {
            return NAME_INVALID;
        }
    }
    return NAME_OK;
}

enum name_check
blob_name_check(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, seg = 0, chars = 0; /* seg: start of the current path segment */

    /* The limit is 1,024 characters (code points), so up to 4,096 bytes of UTF-8. */
    if (n == 0 || n > 4096)
        return NAME_LENGTH;
    while (i <= n) {
        size_t len;

        /*
         * '\' counts as a separator too: Azure turns it into '/', so "a\..\b" must be refused
         * like "a/../b".
         */
        if (i == n || s[i] == '/' || s[i] == '\\') {
            if ((i - seg == 1 && s[seg] == '.') ||
                (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.'))
                return NAME_INVALID;
            seg = i + 1;
            chars += i < n; /* the separator is a character too */
            i++;
            continue;
        }
        if (s[i] < 0x20 || s[i] == 0x7F)
            return NAME_INVALID;
        if ((len = utf8_seq(s + i, n - i)) == 0)
            return NAME_INVALID;
        i += len;
        chars++;
    }
    return chars > 1024 ? NAME_LENGTH : NAME_OK;
}

int
metadata_name_valid(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
              (i > 0 && is_digit(c))))
            return 0;
    }
    return 1;
}

int
header_text_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7F)
            return 0;
    return xml_is_safe(s, n);
}

/* Parses 1+ decimal digits at *sp into *v, advancing *sp.  0 on no digits or uint64 overflow. */
static int
parse_u64(const char **sp, uint64_t *v)
{
    const char *s = *sp;
    uint64_t x = 0;

    if (!is_digit((unsigned char)*s))
        return 0;
    for (; is_digit((unsigned char)*s); s++) {
        unsigned d = (unsigned)(*s - '0');

        if (x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *sp = s;
    *v = x;
    return 1;
}

int
range_parse(const char *s, uint64_t *start, uint64_t *end)
{
    uint64_t a, b = UINT64_MAX;

    /* The unit is case-insensitive (RFC 9110 §14.1); nothing else is: no spaces, no lists. */
    if (s == NULL || strncasecmp(s, "bytes=", 6) != 0)
        return 0;
    s += 6;
    if (!parse_u64(&s, &a) || *s++ != '-')
        return 0;
    if (*s != '\0' && (!parse_u64(&s, &b) || *s != '\0'))
        return 0;
    if (a > b)
        return 0;
    *start = a;
    *end = b;
    return 1;
}

int
range_resolve(uint64_t start, uint64_t end, uint64_t size, uint64_t *off, uint64_t *len)
{
    if (start >= size || start > end)
        return -1;
    if (end > size - 1)
        end = size - 1;
    *off = start;
    *len = end - start + 1;
    return 0;
}

int
blockid_check(const char *s, size_t n)
{
    /*
     * 64 bytes encode to 88 characters, so a valid id fits in one decode into a small stack
     * buffer.  Longer input is still decoded (in 88-character pieces) so that "valid base64 but
     * too long" (-1) is told apart from "not base64" (0); padding may only end the last piece.
     */
    enum { PIECE = 88 };
    unsigned char out[PIECE / 4 * 3];
    size_t off, total = 0;

    if (n == 0 || n % 4 != 0)
        return 0;
    for (off = 0; off < n; off += PIECE) {
        size_t k = n - off < PIECE ? n - off : PIECE;
        long r = base64_decode(s + off, k, out);

        if (r < 0)
            return 0;
        if (off + k < n && (size_t)r != k / 4 * 3)
            return 0;
        total += (size_t)r;
    }
    if (total == 0)
        return 0;
    return total > 64 ? -1 : (int)total;
}

int
maxresults_parse(const char *s)
{
    unsigned long v = 0;

    if (s == NULL || !is_digit((unsigned char)*s))
        return -1;
    for (; is_digit((unsigned char)*s); s++) {
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > 5000)
            v = 5001; /* saturate: any longer run of digits is still "more than 5000" */
    }
    if (*s != '\0' || v == 0)
        return -1;
    return v > 5000 ? 5000 : (int)v;
}

int
version_valid(const char *s)
{
    int month, day;
    size_t i;

    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !is_digit((unsigned char)s[i]))
            return 0;
    /* Azure versions start at 2009-09-19; any 2xxx year is plausible for future ones. */
    month = (s[5] - '0') * 10 + (s[6] - '0');
    day = (s[8] - '0') * 10 + (s[9] - '0');
    return s[0] == '2' && month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

int
list_each(const char *s, int (*fn)(const char *item, size_t len, void *ctx), void *ctx)
{
    if (s == NULL)
        return 0;
    for (;;) {
        const char *e = strchr(s, ',');
        const char *stop = e != NULL ? e : s + strlen(s);
        const char *a = s, *b = stop;
        int r;

        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a && (r = fn(a, (size_t)(b - a), ctx)) != 0)
            return r;
        if (e == NULL)
            return 0;
        s = e + 1;
    }
}

/* The 32 hex digits of a GUID in any form guid_valid() accepts, lowercased into out: 1, or 0. */
static int
guid_digits(const char *s, char out[32])
{
    size_t i, n = s ? strlen(s) : 0, digits = 0;

    if (n == 38 && ((s[0] == '{' && s[37] == '}') || (s[0] == '(' && s[37] == ')'))) {
        s++;
        n = 36;
    }
    if (n != 32 && n != 36)
        return 0;
    for (i = 0; i < n; i++) {
        if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s[i] != '-')
                return 0;
        } else if (is_hex((unsigned char)s[i])) {
            out[digits++] = (char)(s[i] | 0x20); /* ASCII letters and digits: lowercase */
        } else {
            return 0;
        }
    }
    return digits == 32;
}

int
guid_valid(const char *s)
{
    char d[32];

    return guid_digits(s, d);
}

int
guid_equal(const char *a, const char *b)
{
    char da[32], db[32];

    return guid_digits(a, da) && guid_digits(b, db) && memcmp(da, db, sizeof(da)) == 0;
}
