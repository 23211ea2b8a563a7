/*
 * test_codec.c -- base64, hex and percent-encoding (src/util/codec.c).
 */
#include "util/codec.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/arena.h"
#include "util/buf.h"

static void
test_base64_roundtrip(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    unsigned char bin[256], back[256];
    char out[400];
    size_t i;
    long n;

    for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        CHECK(base64_encode(plain[i], strlen(plain[i]), out) == strlen(enc[i]));
        CHECK_STR(out, enc[i]);
        n = base64_decode(enc[i], strlen(enc[i]), back);
        CHECK(n == (long)strlen(plain[i]));
        CHECK(n >= 0 && memcmp(back, plain[i], (size_t)n) == 0);
    }
    for (i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(i * 7 + 3);
    for (i = 0; i <= sizeof(bin); i += 17) {
        size_t len = base64_encode(bin, i, out);

        CHECK(len == BASE64_LEN(i));
        CHECK(base64_decode(out, len, back) == (long)i);
        CHECK(memcmp(back, bin, i) == 0);
    }
    /* All 64 digits, including '+' and '/'. */
    memset(bin, 0xfb, 3);
    base64_encode(bin, 3, out);
    CHECK_STR(out, "+/v7");
}

static void
test_base64_strict(void)
{
    unsigned char out[64];

    CHECK(base64_decode("Zg", 2, out) == -1); /* padding required */
    CHECK(base64_decode("Zg=", 3, out) == -1);
    CHECK(base64_decode("Z===", 4, out) == -1); /* at most two '=' */
    CHECK(base64_decode("=Zg=", 4, out) == -1);
    CHECK(base64_decode("Zg==Zg==", 8, out) == -1);  /* padding only at the very end */
    CHECK(base64_decode("Zm9v Zg==", 9, out) == -1); /* no whitespace */
    CHECK(base64_decode("Zm9v\nZg=", 8, out) == -1);
    CHECK(base64_decode("Zm-v", 4, out) == -1); /* base64url is not base64 */
    CHECK(base64_decode("Zm_v", 4, out) == -1);
    CHECK(base64_decode("Zg=a", 4, out) == -1);
    CHECK(base64_decode("Zm9vYmFy", 7, out) == -1); /* length not a multiple of 4 */
    CHECK(base64_decode("", 0, out) == 0);
    /* The dev account key decodes to 64 bytes. */
    CHECK(base64_decode("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
                        "KBHBeksoGMGw==",
                        88, out) == 64);
}

static void
test_hex(void)
{
    static const unsigned char in[] = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff};
    char out[13];

    hex_encode(in, sizeof(in), out);
    CHECK_STR(out, "0001ABCDEFFF");
    hex_encode(in, 0, out);
    CHECK_STR(out, "");
}

static void
test_pct_decode(void)
{
    struct arena *a = arena_new(1 << 20);
    size_t len = 99;
    char *s;

    s = pct_decode(a, "dir%2Fa%20b", 11, &len);
    CHECK_STR(s, "dir/a b");
    CHECK(len == 7);
    CHECK_STR(pct_decode(a, "a+b", 3, NULL), "a+b");       /* '+' stays '+' */
    CHECK_STR(pct_decode(a, "%2b%2B%7e", 9, NULL), "++~"); /* either case of hex */
    CHECK_STR(pct_decode(a, "", 0, &len), "");
    CHECK(len == 0);
    CHECK_STR(pct_decode(a, "abc%20def", 6, NULL), "abc "); /* only n bytes are read */
    CHECK(pct_decode(a, "%zz", 3, NULL) == NULL);
    CHECK(pct_decode(a, "%4", 2, NULL) == NULL);
    CHECK(pct_decode(a, "ab%", 3, NULL) == NULL);
    CHECK(pct_decode(a, "%g0", 3, NULL) == NULL);
    CHECK(pct_decode(a, "%20%2", 5, NULL) == NULL);
    s = pct_decode(a, "a%00b", 5, &len); /* NUL survives, length says so */
    CHECK(s != NULL && len == 3 && strlen(s) == 1 && s[2] == 'b');
    s = pct_decode(a, "%E2%82%AC", 9, &len);
    CHECK(s != NULL && len == 3 && strcmp(s, "\xe2\x82\xac") == 0);
    arena_free(a);

    /* A full arena gives NULL, not a crash. */
    a = arena_new(0);
    CHECK(pct_decode(a, "abc", 3, NULL) == NULL);
    arena_free(a);
}

static void
test_pct_encode(void)
{
    struct arena *a = arena_new(1 << 20);
    struct buf b = BUF_INIT;
    const char *nasty = "dir/hello world (1)+%!'*~._-\xe2\x82\xac";
    char *back;

    pct_encode(&b, "dir/a b", 7, 1);
    CHECK_STR(b.p, "dir/a%20b");
    buf_reset(&b);
    pct_encode(&b, "dir/a b", 7, 0);
    CHECK_STR(b.p, "dir%2Fa%20b");
    buf_reset(&b);
    pct_encode(&b, "AZaz09-._~", 10, 0);
    CHECK_STR(b.p, "AZaz09-._~");
    buf_reset(&b);
    pct_encode(&b, "+=&?#", 5, 1);
    CHECK_STR(b.p, "%2B%3D%26%3F%23");
    buf_reset(&b);
    pct_encode(&b, "", 0, 0);
    CHECK(b.len == 0);
    /* Round trip through the decoder. */
    buf_reset(&b);
    pct_encode(&b, nasty, strlen(nasty), 0);
    back = pct_decode(a, b.p, b.len, NULL);
    CHECK_STR(back, nasty);
    /* Appends, does not overwrite. */
    buf_reset(&b);
    buf_puts(&b, "x=");
    pct_encode(&b, "a b", 3, 0);
    CHECK_STR(b.p, "x=a%20b");
    CHECK(buf_ok(&b));
    buf_free(&b);
    arena_free(a);
}

int
main(void)
{
    test_base64_roundtrip();
    test_base64_strict();
    test_hex();
    test_pct_decode();
    test_pct_encode();
    return check_report("test_codec");
}
