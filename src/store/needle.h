/*
 * needle.h -- the on-disk format of one payload in a volume.  Pure functions, no I/O.
 *
 *   offset 0   header, 32 bytes, integers little-endian:
 *                0  magic "CBN1"
 *                4  u8  format version (1)
 *                5  u8  chunk shift (16: CRCs cover 64 KiB chunks)
 *                6  u16 reserved, 0
 *                8  u64 sequence number (unique per needle in this data directory)
 *               16  u64 data length L
 *               24  u32 reserved, 0
 *               28  u32 CRC32C of bytes 0..27
 *   offset 32  L data bytes
 *   32 + L     trailer: one u32 CRC32C per chunk of data (ceil(L / 64 KiB) entries), then a u32
 *              CRC32C of those entries
 *
 * A needle is written in one pass: data first (streamed as it arrives), then the trailer, then the
 * header, all before the volume is synced; readers verify each chunk they return against its CRC
 * (DESIGN.md invariant 5), so a bit flip anywhere is an error, never wrong bytes.  An empty payload
 * never becomes a needle: a zero-length blob has no extents.
 */
#ifndef COBALT_STORE_NEEDLE_H
#define COBALT_STORE_NEEDLE_H

#include <stddef.h>
#include <stdint.h>

#define NEEDLE_MAGIC       0x314e4243u /* "CBN1" read as little-endian u32 */
#define NEEDLE_VERSION     1
#define NEEDLE_HDR_SIZE    32
#define NEEDLE_CHUNK_SHIFT 16
#define NEEDLE_CHUNK       ((uint64_t)1 << NEEDLE_CHUNK_SHIFT)

struct needle_hdr {
    uint64_t seq;
    uint64_t len;
};

static inline uint64_t
needle_chunks(uint64_t len)
{
    return (len + NEEDLE_CHUNK - 1) >> NEEDLE_CHUNK_SHIFT;
}

/* Bytes of the trailer for L data bytes. */
static inline uint64_t
needle_trailer_size(uint64_t len)
{
    return 4 * needle_chunks(len) + 4;
}

/* Total bytes a needle of L data bytes occupies in its volume. */
static inline uint64_t
needle_size(uint64_t len)
{
    return NEEDLE_HDR_SIZE + len + needle_trailer_size(len);
}

void needle_hdr_encode(const struct needle_hdr *h, unsigned char out[NEEDLE_HDR_SIZE]);
/* 0 when the header is well-formed (magic, version, chunk shift, CRC), else -1. */
int needle_hdr_decode(const unsigned char in[NEEDLE_HDR_SIZE], struct needle_hdr *h);
/* Writes the final CRC over n chunk CRCs already stored at crcs[0..n) (4 bytes each) to crcs[n]. */
void needle_trailer_seal(unsigned char *crcs, uint64_t n);
/* 0 when the trailer of n chunk CRCs is intact, else -1. */
int needle_trailer_check(const unsigned char *crcs, uint64_t n);

#endif
