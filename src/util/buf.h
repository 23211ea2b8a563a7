/*
 * buf.h -- a growable byte buffer (malloc-backed), used to build response bodies, keys and
 * records.  The bytes are always followed by a NUL that is not counted in len, so a buf holding
 * text can be used as a C string.
 *
 *     struct buf b = BUF_INIT;
 *     buf_puts(&b, "<Name>");  ...  send(b.p, b.len);  buf_free(&b);
 *
 * Allocation failure sets b->oom and turns further appends into no-ops, so callers check once at
 * the end (buf_ok()) instead of after every append.
 */
#ifndef COBALT_BUF_H
#define COBALT_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

/* clang-format off */
#define BUF_INIT {NULL, 0, 0, 0}
/* clang-format on */

void buf_free(struct buf *b);
void buf_reset(struct buf *b);                /* len = 0, keeps the memory */
int buf_reserve(struct buf *b, size_t extra); /* 0, or -1 (and b->oom) on OOM */
void buf_add(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Big-endian fixed-width integers and length-prefixed byte strings, for keys and records. */
void buf_u8(struct buf *b, uint8_t v);
void buf_u32(struct buf *b, uint32_t v);
void buf_u64(struct buf *b, uint64_t v);
void buf_varint(struct buf *b, uint64_t v);
void buf_bytes(struct buf *b, const void *p, size_t n); /* varint length, then the bytes */
static inline int
buf_ok(const struct buf *b)
{
    return !b->oom;
}
/* Hands the bytes over to the caller (free() them); the buf is left empty. */
char *buf_steal(struct buf *b, size_t *len);

/*
 * A reader for what the writers above produce.  Every getter fails (returns -1 and sets r->bad)
 * when the input is short, so a corrupt record is detected, never read past.
 */
struct rd {
    const unsigned char *p, *end;
    int bad;
};

void rd_init(struct rd *r, const void *p, size_t n);
int rd_u8(struct rd *r, uint8_t *v);
int rd_u32(struct rd *r, uint32_t *v);
int rd_u64(struct rd *r, uint64_t *v);
int rd_varint(struct rd *r, uint64_t *v);
/* A borrowed view into the input: valid as long as the input is. */
int rd_bytes(struct rd *r, const char **p, size_t *n);
int rd_raw(struct rd *r, size_t n, const void **p);

/* Byte-wise order of a[0..an) and b[0..bn) (a prefix sorts first): <0, 0, >0. */
int bytes_cmp(const char *a, size_t an, const char *b, size_t bn);

uint64_t get_be64(const void *p);
uint32_t get_be32(const void *p);
void put_be64(void *p, uint64_t v);
void put_be32(void *p, uint32_t v);
uint32_t get_le32(const void *p);
void put_le32(void *p, uint32_t v);

#endif
