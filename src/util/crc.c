/*
 * crc.c -- CRC32C (needle checksums) and CRC-64/NVME (x-ms-content-crc64); see crc.h.
 *
 * Both CRCs are reflected (LSB-first) and use the usual streaming convention: the caller passes the
 * previous *finished* value (0 to start); we undo the final XOR on entry and redo it on exit, so
 * crc(crc(0, a), b) == crc(0, a || b).
 *
 * CRC32C runs on the SSE4.2 `crc32` instruction when the CPU has it.  The check happens once and
 * only that one function is compiled for SSE4.2 (target attribute), so the rest of the build needs
 * no -msse4.2 and the binary still runs on older CPUs.  Everything else (CRC32C without SSE4.2,
 * CRC-64 always) uses slicing-by-8 tables: eight 256-entry tables that let the loop fold 8 input
 * bytes per step with 8 independent lookups.
 *
 * Global state: the tables and the CPU flag, written once under pthread_once and read-only after.
 *
 * crc32c_sw() and crc32c_hw() have external linkage only so tests/unit/test_crc.c can check that
 * the two paths agree; they are not part of crc.h.  crc32c_hw() must not be called unless the CPU
 * supports SSE4.2.
 */
#include "util/crc.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define CRC_HAVE_X86 1
#else
#define CRC_HAVE_X86 0
#endif

#define CRC32C_POLY 0x82F63B78u           /* Castagnoli, reflected */
#define CRC64_POLY  0x9A6C9329AC4BC9B5ull /* CRC-64/NVME, reflected (§6.2) */

uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);
uint32_t crc32c_hw(uint32_t crc, const void *p, size_t n);

static uint32_t crc32c_tab[8][256];
static uint64_t crc64_tab[8][256];
static int have_sse42;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/*
 * Tables for slicing-by-8: tab[0] is the classic byte-at-a-time table; tab[k][i] is the CRC of
 * byte i followed by k zero bytes, so eight lookups advance the CRC over 8 bytes at once.
 */
static void
crc_init(void)
{
    unsigned i, k;

    for (i = 0; i < 256; i++) {
        uint32_t c32 = i;
        uint64_t c64 = i;

        for (k = 0; k < 8; k++) {
            c32 = (c32 >> 1) ^ ((c32 & 1) ? CRC32C_POLY : 0);
            c64 = (c64 >> 1) ^ ((c64 & 1) ? CRC64_POLY : 0);
        }
        crc32c_tab[0][i] = c32;
        crc64_tab[0][i] = c64;
    }
    for (k = 1; k < 8; k++) {
        for (i = 0; i < 256; i++) {
            uint32_t c32 = crc32c_tab[k - 1][i];
            uint64_t c64 = crc64_tab[k - 1][i];

            crc32c_tab[k][i] = (c32 >> 8) ^ crc32c_tab[0][c32 & 0xff];
            crc64_tab[k][i] = (c64 >> 8) ^ crc64_tab[0][c64 & 0xff];
        }
    }
#if CRC_HAVE_X86
    __builtin_cpu_init();
    have_sse42 = __builtin_cpu_supports("sse4.2") != 0;
#endif
}

/* Little-endian 64-bit load from any address (the CRCs are defined on the byte stream). */
static inline uint64_t
load_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

/* Table path; the tables must have been built (crc_init). */
static uint32_t
crc32c_slice8(uint32_t crc, const unsigned char *s, size_t n)
{
    const uint32_t(*t)[256] = (const uint32_t(*)[256])crc32c_tab;

    crc = ~crc;
    while (n >= 8) {
        uint64_t w = load_le64(s);
        uint32_t lo = (uint32_t)w ^ crc, hi = (uint32_t)(w >> 32);

        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
              t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
        s += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ t[0][(crc ^ *s++) & 0xff];
    return ~crc;
}

uint32_t
crc32c_sw(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    return crc32c_slice8(crc, p, n);
}

#if CRC_HAVE_X86
/*
 * One dependent chain of crc32q: about 8 bytes per 3 cycles, several GB/s.  A 3-way interleave
 * with a combine step would triple that; not worth the code until needle CRCs show in profiles.
 */
__attribute__((target("sse4.2"))) uint32_t
crc32c_hw(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t c = (uint32_t)~crc;

    /* Bring s to an 8-byte boundary so the 8-byte loads below never split a cache line. */
    while (n > 0 && ((uintptr_t)s & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *s++);
        n--;
    }
    while (n >= 8) {
        uint64_t w;

        memcpy(&w, s, 8);
        c = _mm_crc32_u64(c, w);
        s += 8;
        n -= 8;
    }
    while (n--)
        c = _mm_crc32_u8((uint32_t)c, *s++);
    return ~(uint32_t)c;
}
#else
uint32_t
crc32c_hw(uint32_t crc, const void *p, size_t n)
{
    return crc32c_sw(crc, p, n);
}
#endif

uint32_t
crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    if (have_sse42)
        return crc32c_hw(crc, p, n);
    return crc32c_slice8(crc, p, n);
}

uint64_t
crc64_nvme(uint64_t crc, const void *p, size_t n)
{
    const unsigned char *s = p;
    const uint64_t(*t)[256];

    pthread_once(&crc_once, crc_init);
    t = (const uint64_t(*)[256])crc64_tab;
    crc = ~crc;
    while (n >= 8) {
        uint64_t w = load_le64(s) ^ crc;

        crc = t[7][w & 0xff] ^ t[6][(w >> 8) & 0xff] ^ t[5][(w >> 16) & 0xff] ^
              t[4][(w >> 24) & 0xff] ^ t[3][(w >> 32) & 0xff] ^ t[2][(w >> 40) & 0xff] ^
              t[1][(w >> 48) & 0xff] ^ t[0][w >> 56];
        s += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ t[0][(crc ^ *s++) & 0xff];
    return ~crc;
}

void
crc64_to_le(uint64_t crc, unsigned char out[8])
{
    int i;

    for (i = 0; i < 8; i++)
        out[i] = (unsigned char)(crc >> (8 * i));
}
