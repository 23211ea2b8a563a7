/*
 * crc.h -- checksums: CRC32C (Castagnoli) for needles, CRC-64/NVME for x-ms-content-crc64.
 *
 * Both are streaming: pass the previous result (0 to start) and the next bytes.
 *     crc32c(crc32c(0, "hello", 5), " world", 6) == crc32c(0, "hello world", 11)
 * CRC32C uses the SSE4.2 instruction when the CPU has it (checked once), else a slicing table.
 */
#ifndef COBALT_CRC_H
#define COBALT_CRC_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *p, size_t n);
/* Azure Storage CRC64 (CRC-64/NVME): crc64_nvme(0, "123456789", 9) == 0xAE8B14860A799888. */
uint64_t crc64_nvme(uint64_t crc, const void *p, size_t n);
/* The wire form of x-ms-content-crc64: 8 little-endian bytes. */
void crc64_to_le(uint64_t crc, unsigned char out[8]);

#endif
