/*
 * fuzz_codec.c -- src/util/codec.h: base64, hex and percent-encoding.
 *
 * Input: one selector byte, then the bytes to decode or encode.  Output buffers are allocated at
 * exactly the size the contract promises is enough, so ASan catches a decoder that writes past
 * it.  Round trips are checked: decode(encode(x)) == x for base64 and percent-encoding, and a
 * strict base64 decoder's output re-encodes to its input.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/codec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    uint8_t sel = fz_u8(&f);
    size_t n;
    uint8_t *in = fz_rest(&f, &n);

    switch (sel % 4) {
    case 0: { /* strict decode of arbitrary text */
        size_t cap = (n / 4) * 3;
        unsigned char *out = malloc(cap ? cap : 1);
        long r = base64_decode((const char *)in, n, out);
        if (r >= 0) {
            char *again = malloc(BASE64_LEN((size_t)r) + 1);
            FUZZ_CHECK(n % 4 == 0 && (size_t)r <= cap);
            base64_encode(out, (size_t)r, again);
            /* Strict (padding required, no whitespace): only canonical text decodes, except for
             * non-zero unused bits in the last quantum, which some decoders tolerate. */
            FUZZ_CHECK(strlen(again) == n);
            free(again);
        }
        free(out);
        break;
    }
    case 1: { /* encode then decode */
        char *enc = malloc(BASE64_LEN(n) + 1);
        unsigned char *dec = malloc(n ? n : 1);
        size_t el = base64_encode(in, n, enc);
        FUZZ_CHECK(el == BASE64_LEN(n) && strlen(enc) == el);
        FUZZ_CHECK(base64_decode(enc, el, dec) == (long)n);
        FUZZ_CHECK(memcmp(dec, in, n) == 0);
        free(enc);
        free(dec);
        break;
    }
    case 2: { /* percent-decode arbitrary text */
        struct arena *a = arena_new(1u << 20);
        size_t ol = 12345;
        char *d = pct_decode(a, (const char *)in, n, &ol);
        if (d != NULL) {
            FUZZ_CHECK(ol <= n && d[ol] == '\0');
            /* Every escape shrinks by two: the length tells how many there were. */
            size_t pct = 0;
            for (size_t i = 0; i < n; i++)
                pct += in[i] == '%';
            FUZZ_CHECK(n - ol == 2 * pct);
        }
        /* NULL: a malformed escape, or the arena is full; nothing more to check. */
        arena_free(a);
        break;
    }
    default: { /* percent-encode then decode; hex */
        struct arena *a = arena_new(1u << 22);
        struct buf b = BUF_INIT;
        size_t ol;
        char *hex = malloc(2 * n + 1), *d;
        pct_encode(&b, (const char *)in, n, sel & 0x80);
        FUZZ_CHECK(buf_ok(&b));
        for (size_t i = 0; i < b.len; i++) {
            char c = b.p[i];
            FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       strchr("-._~%", c) != NULL || ((sel & 0x80) && c == '/'));
        }
        d = pct_decode(a, b.p ? b.p : "", b.len, &ol);
        FUZZ_CHECK(d != NULL && ol == n && memcmp(d, in, n) == 0);
        hex_encode(in, n, hex);
        FUZZ_CHECK(strlen(hex) == 2 * n);
        free(hex);
        buf_free(&b);
        arena_free(a);
        break;
    }
    }
    free(in);
    return 0;
}
