/*
 * codec.c -- base64, hex and percent-encoding; see codec.h.
 *
 * Everything here is a pure function of its input.  The decoders are strict on purpose: they sit
 * on the authentication path (SAS signatures, Shared Key MACs) and on block ids, where accepting a
 * sloppy encoding would make two different wire strings mean the same thing.
 */
#include "util/codec.h"

#include "util/arena.h"
#include "util/buf.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hex_upper[] = "0123456789ABCDEF";

size_t
base64_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;
    size_t i, o = 0;
    uint32_t v;

    for (i = 0; i + 3 <= n; i += 3) {
        v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        v = (uint32_t)p[i] << 16;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

/* Value of one base64 digit, or -1. */
static int
b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/*
 * Padding is required and may only appear as the last one or two characters of the last quantum.
 * Non-zero bits under the padding are accepted (as .NET's Convert.FromBase64String does); the
 * encoder never produces them.
 */
long
base64_decode(const char *in, size_t n, void *out)
{
    const unsigned char *s = (const unsigned char *)in;
    unsigned char *o = out;
    size_t i, len = 0;
    int k, pad, d[4];

    if (n % 4 != 0)
        return -1;
    for (i = 0; i < n; i += 4) {
        pad = 0;
        for (k = 0; k < 4; k++) {
            if (s[i + k] == '=') {
                /* '=' only in positions 2 and 3 of the final quantum, and then to its end. */
                if (i + 4 != n || k < 2)
                    return -1;
                pad++;
                d[k] = 0;
            } else {
                if (pad > 0 || (d[k] = b64_value(s[i + k])) < 0)
                    return -1;
            }
        }
        o[len++] = (unsigned char)(d[0] << 2 | d[1] >> 4);
        if (pad < 2)
            o[len++] = (unsigned char)((d[1] & 15) << 4 | d[2] >> 2);
        if (pad < 1)
            o[len++] = (unsigned char)((d[2] & 3) << 6 | d[3]);
    }
    return (long)len;
}

void
hex_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex_upper[p[i] >> 4];
        out[2 * i + 1] = hex_upper[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *
pct_decode(struct arena *a, const char *s, size_t n, size_t *outlen)
{
    char *out = arena_alloc(a, n + 1);
    size_t i, o = 0;
    int hi, lo;

    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        if (n - i < 3 || (hi = hex_value((unsigned char)s[i + 1])) < 0 ||
            (lo = hex_value((unsigned char)s[i + 2])) < 0)
            return NULL; /* the arena bytes are not reclaimed; they die with the request */
        out[o++] = (char)(hi << 4 | lo);
        i += 2;
    }
    out[o] = '\0';
    if (outlen != NULL)
        *outlen = o;
    return out;
}

static int
unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void
pct_encode(struct buf *b, const char *s, size_t n, int keep_slash)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i, run = 0;
    char esc[3];

    if (buf_reserve(b, n) != 0)
        return;
    esc[0] = '%';
    for (i = 0; i < n; i++) {
        if (unreserved(p[i]) || (keep_slash && p[i] == '/'))
            continue;
        /* Flush the literal run before this byte, then its escape. */
        buf_add(b, s + run, i - run);
        esc[1] = hex_upper[p[i] >> 4];
        esc[2] = hex_upper[p[i] & 15];
        buf_add(b, esc, 3);
        run = i + 1;
    }
    buf_add(b, s + run, n - run);
}

/*
 * Length in bytes of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 when it is not one.  `avail` >= 1.
 */
size_t
utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t len, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (avail < len)
        return 0;
    for (i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    /* The second byte's range rules out overlong 3/4-byte forms, surrogates and > U+10FFFF. */
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return len;
}
