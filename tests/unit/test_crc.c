/*
 * test_crc.c -- CRC32C and CRC-64/NVME against published vectors, bitwise references, streaming in
 * pieces, unaligned starts, and agreement of the SSE4.2 and table paths.
 */
#include "util/crc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Test seams in crc.c (not in crc.h): the two CRC32C implementations behind crc32c(). */
uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);
uint32_t crc32c_hw(uint32_t crc, const void *p, size_t n);

static uint32_t
ref_crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
    }
    return ~crc;
}

/* The reference algorithm of protocol doc §6.2, verbatim. */
static uint64_t
ref_crc64(uint64_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ ((crc & 1) ? 0x9A6C9329AC4BC9B5ULL : 0);
    }
    return ~crc;
}

/* xorshift64*: deterministic "random" bytes so failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static void
test_vectors(void)
{
    unsigned char le[8];
    static const unsigned char want_le[8] = {0x88, 0x98, 0x79, 0x0A, 0x86, 0x14, 0x8B, 0xAE};

    CHECK(crc32c(0, "", 0) == 0);
    CHECK(crc32c(0, "123456789", 9) == 0xE3069283u);
    CHECK(crc32c_sw(0, "123456789", 9) == 0xE3069283u);
    /* RFC 3720 B.4: 32 bytes of zeros, of 0xff, and ascending. */
    {
        unsigned char z[32], f[32], asc[32];

        memset(z, 0, sizeof(z));
        memset(f, 0xff, sizeof(f));
        for (int i = 0; i < 32; i++)
            asc[i] = (unsigned char)i;
        CHECK(crc32c(0, z, 32) == 0x8A9136AAu);
        CHECK(crc32c(0, f, 32) == 0x62A8AB43u);
        CHECK(crc32c(0, asc, 32) == 0x46DD794Eu);
        CHECK(crc32c_sw(0, z, 32) == 0x8A9136AAu);
        CHECK(crc32c_sw(0, asc, 32) == 0x46DD794Eu);
    }

    /* §6.2 vectors. */
    CHECK(crc64_nvme(0, "", 0) == 0);
    CHECK(crc64_nvme(0, "123456789", 9) == 0xAE8B14860A799888ull);
    CHECK(crc64_nvme(0, "Hello Azure!", 12) == 0xC7A37FBFA4D9D80Eull);
    CHECK(crc64_nvme(0, "hello world", 11) == 0x8D29D5C3F6EA8EBEull);
    CHECK(crc64_nvme(crc64_nvme(0, "hello", 5), " world", 6) == 0x8D29D5C3F6EA8EBEull);
    CHECK(crc32c(crc32c(0, "hello", 5), " world", 6) == crc32c(0, "hello world", 11));

    crc64_to_le(0xAE8B14860A799888ull, le);
    CHECK(memcmp(le, want_le, 8) == 0); /* base64 of these bytes is "iJh5CoYUi64=" */
    crc64_to_le(0, le);
    CHECK(memcmp(le, "\0\0\0\0\0\0\0\0", 8) == 0);
}

/* Every split point of a buffer, and 1..N byte pieces, give the one-shot value. */
static void
test_streaming(void)
{
    unsigned char buf[200];
    uint32_t want32;
    uint64_t want64;
    int bad32 = 0, bad64 = 0;

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)rng();
    want32 = crc32c(0, buf, sizeof(buf));
    want64 = crc64_nvme(0, buf, sizeof(buf));
    CHECK(want32 == ref_crc32c(0, buf, sizeof(buf)));
    CHECK(want64 == ref_crc64(0, buf, sizeof(buf)));

    for (size_t cut = 0; cut <= sizeof(buf); cut++) {
        uint32_t c32 = crc32c(crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut);
        uint64_t c64 = crc64_nvme(crc64_nvme(0, buf, cut), buf + cut, sizeof(buf) - cut);

        bad32 += c32 != want32;
        bad64 += c64 != want64;
    }
    CHECK(bad32 == 0);
    CHECK(bad64 == 0);

    for (size_t piece = 1; piece <= 17; piece++) {
        uint32_t c32 = 0;
        uint64_t c64 = 0;

        for (size_t off = 0; off < sizeof(buf); off += piece) {
            size_t k = sizeof(buf) - off < piece ? sizeof(buf) - off : piece;

            c32 = crc32c(c32, buf + off, k);
            c64 = crc64_nvme(c64, buf + off, k);
        }
        CHECK(c32 == want32);
        CHECK(c64 == want64);
    }
}

/* The same bytes at every alignment give the same CRC; §6.2's check string too. */
static void
test_unaligned(void)
{
    unsigned char store[64 + 16];
    int bad = 0;

    for (size_t shift = 0; shift < 16; shift++) {
        memcpy(store + shift, "123456789", 9);
        bad += crc32c(0, store + shift, 9) != 0xE3069283u;
        bad += crc32c_sw(0, store + shift, 9) != 0xE3069283u;
        bad += crc64_nvme(0, store + shift, 9) != 0xAE8B14860A799888ull;
        for (size_t i = 0; i < 64; i++)
            store[shift + i] = (unsigned char)(i * 7 + 3);
        bad += crc32c(0, store + shift, 64) != ref_crc32c(0, store + shift, 64);
        bad += crc64_nvme(0, store + shift, 64) != ref_crc64(0, store + shift, 64);
    }
    CHECK(bad == 0);
}

/* Random data of many lengths at random offsets: hardware, table and bitwise paths all agree. */
static void
test_paths_agree(void)
{
    enum { MAX = 4096 + 64 };
    unsigned char *buf = malloc(MAX);
    int hw = 0, bad_sw = 0, bad_hw = 0, bad_64 = 0, bad_api = 0;

#if defined(__x86_64__) || defined(__i386__)
    hw = __builtin_cpu_supports("sse4.2") != 0;
#endif
    printf("test_crc: sse4.2 path %s\n", hw ? "tested" : "not available on this CPU");
    CHECK(buf != NULL);
    if (buf == NULL)
        return;
    for (size_t i = 0; i < MAX; i++)
        buf[i] = (unsigned char)rng();
    for (size_t len = 0; len <= 4096; len += len < 80 ? 1 : 1 + (size_t)(rng() % 97)) {
        size_t off = (size_t)(rng() % 64);
        uint32_t seed = (uint32_t)rng();
        uint32_t ref = ref_crc32c(seed, buf + off, len);

        bad_sw += crc32c_sw(seed, buf + off, len) != ref;
        bad_api += crc32c(seed, buf + off, len) != ref;
        if (hw)
            bad_hw += crc32c_hw(seed, buf + off, len) != ref;
        bad_64 += crc64_nvme(seed, buf + off, len) != ref_crc64(seed, buf + off, len);
    }
    CHECK(bad_sw == 0);
    CHECK(bad_hw == 0);
    CHECK(bad_api == 0);
    CHECK(bad_64 == 0);

    /* A large buffer: 1 MiB + odd tail. */
    {
        size_t n = (1u << 20) + 13;
        unsigned char *big = malloc(n);

        CHECK(big != NULL);
        if (big != NULL) {
            for (size_t i = 0; i < n; i++)
                big[i] = (unsigned char)(i ^ (i >> 9));
            CHECK(crc32c_sw(0, big + 1, n - 1) == ref_crc32c(0, big + 1, n - 1));
            if (hw)
                CHECK(crc32c_hw(0, big + 1, n - 1) == ref_crc32c(0, big + 1, n - 1));
            CHECK(crc64_nvme(0, big + 3, n - 3) == ref_crc64(0, big + 3, n - 3));
            free(big);
        }
    }
    free(buf);
}

int
main(void)
{
    test_vectors();
    test_streaming();
    test_unaligned();
    test_paths_agree();
    return check_report("test_crc");
}
