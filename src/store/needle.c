/*
 * needle.c -- encoding and checking of needle headers and trailers; see needle.h.
 */
#include "store/needle.h"

#include <string.h>

#include "util/crc.h"

static void
le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
rd64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void
le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void
needle_hdr_encode(const struct needle_hdr *h, unsigned char out[NEEDLE_HDR_SIZE])
{
    memset(out, 0, NEEDLE_HDR_SIZE);
    le32(out, NEEDLE_MAGIC);
    out[4] = NEEDLE_VERSION;
    out[5] = NEEDLE_CHUNK_SHIFT;
    le64(out + 8, h->seq);
    le64(out + 16, h->len);
    le32(out + 28, crc32c(0, out, 28));
}

int
needle_hdr_decode(const unsigned char in[NEEDLE_HDR_SIZE], struct needle_hdr *h)
{
    if (rd32(in) != NEEDLE_MAGIC || in[4] != NEEDLE_VERSION || in[5] != NEEDLE_CHUNK_SHIFT ||
        rd32(in + 28) != crc32c(0, in, 28))
        return -1;
    h->seq = rd64(in + 8);
    h->len = rd64(in + 16);
    return 0;
}

void
needle_trailer_seal(unsigned char *crcs, uint64_t n)
{
    le32(crcs + 4 * n, crc32c(0, crcs, 4 * n));
}

int
needle_trailer_check(const unsigned char *crcs, uint64_t n)
{
    return rd32(crcs + 4 * n) == crc32c(0, crcs, 4 * n) ? 0 : -1;
}
