/*
 * buf.c -- growable buffers and their readers; see buf.h.
 */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}

int
buf_reserve(struct buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (b->oom)
        return -1;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    if ((p = realloc(b->p, cap)) == NULL) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return;
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void
buf_putc(struct buf *b, char c)
{
    buf_add(b, &c, 1);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void
buf_u8(struct buf *b, uint8_t v)
{
    buf_add(b, &v, 1);
}

void
buf_u32(struct buf *b, uint32_t v)
{
    unsigned char t[4];

    put_be32(t, v);
    buf_add(b, t, 4);
}

void
buf_u64(struct buf *b, uint64_t v)
{
    unsigned char t[8];

    put_be64(t, v);
    buf_add(b, t, 8);
}

void
buf_varint(struct buf *b, uint64_t v)
{
    unsigned char t[10];
    size_t n = 0;

    while (v >= 0x80) {
        t[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (unsigned char)v;
    buf_add(b, t, n);
}

void
buf_bytes(struct buf *b, const void *p, size_t n)
{
    buf_varint(b, n);
    buf_add(b, p, n);
}

char *
buf_steal(struct buf *b, size_t *len)
{
    char *p = b->p;

    if (len != NULL)
        *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void
rd_init(struct rd *r, const void *p, size_t n)
{
    r->p = p;
    r->end = r->p + n;
    r->bad = 0;
}

int
rd_raw(struct rd *r, size_t n, const void **p)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return -1;
    }
    *p = r->p;
    r->p += n;
    return 0;
}

int
rd_u8(struct rd *r, uint8_t *v)
{
    const void *p;

    if (rd_raw(r, 1, &p) != 0)
        return -1;
    *v = *(const uint8_t *)p;
    return 0;
}

int
rd_u32(struct rd *r, uint32_t *v)
{
    const void *p;

    if (rd_raw(r, 4, &p) != 0)
        return -1;
    *v = get_be32(p);
    return 0;
}

int
rd_u64(struct rd *r, uint64_t *v)
{
    const void *p;

    if (rd_raw(r, 8, &p) != 0)
        return -1;
    *v = get_be64(p);
    return 0;
}

int
rd_varint(struct rd *r, uint64_t *v)
{
    uint64_t x = 0;
    int shift;

    for (shift = 0; shift < 64; shift += 7) {
        if (r->bad || r->p >= r->end)
            break;
        x |= (uint64_t)(*r->p & 0x7f) << shift;
        if ((*r->p++ & 0x80) == 0) {
            *v = x;
            return 0;
        }
    }
    r->bad = 1;
    return -1;
}

int
rd_bytes(struct rd *r, const char **p, size_t *n)
{
    uint64_t len;
    const void *q;

    if (rd_varint(r, &len) != 0 || rd_raw(r, (size_t)len, &q) != 0)
        return -1;
    *p = q;
    *n = (size_t)len;
    return 0;
}

uint64_t
get_be64(const void *p)
{
    const unsigned char *s = p;

    return (uint64_t)get_be32(s) << 32 | get_be32(s + 4);
}

uint32_t
get_be32(const void *p)
{
    const unsigned char *s = p;

    return (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
}

void
put_be64(void *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32((unsigned char *)p + 4, (uint32_t)v);
}

void
put_be32(void *p, uint32_t v)
{
    unsigned char *s = p;

    s[0] = (unsigned char)(v >> 24);
    s[1] = (unsigned char)(v >> 16);
    s[2] = (unsigned char)(v >> 8);
    s[3] = (unsigned char)v;
}

uint32_t
get_le32(const void *p)
{
    const unsigned char *s = p;

    return (uint32_t)s[3] << 24 | (uint32_t)s[2] << 16 | (uint32_t)s[1] << 8 | s[0];
}

void
put_le32(void *p, uint32_t v)
{
    unsigned char *s = p;

    s[0] = (unsigned char)v;
    s[1] = (unsigned char)(v >> 8);
    s[2] = (unsigned char)(v >> 16);
    s[3] = (unsigned char)(v >> 24);
}

int
bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n > 0 ? memcmp(a, b, n) : 0; /* (an empty side may be a NULL pointer) */

    return c != 0 ? c : (an > bn) - (an < bn);
}
