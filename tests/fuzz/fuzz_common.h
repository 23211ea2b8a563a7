/*
 * fuzz_common.h -- helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * Each target takes libFuzzer's raw bytes and cuts them into the arguments its parser wants.  The
 * cutting is deliberately simple (a selector byte, then fields separated by 0xFF or NUL) so that a
 * seed corpus file is readable and easy to write by hand (see corpus/<target>/).
 *
 * Targets do more than look for crashes: where a parser has a contract (a round trip, a bound on
 * its result, a property of what it accepts) the target checks it and calls FUZZ_CHECK, which
 * aborts, so libFuzzer records the input as a crasher.
 */
#ifndef COBALT_FUZZ_COMMON_H
#define COBALT_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: contract violated: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

/* A reader over the fuzz input. */
struct fz {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t
fz_u8(struct fz *f)
{
    uint8_t v;

    if (f->n == 0)
        return 0;
    v = *f->p++;
    f->n--;
    return v;
}

static inline uint64_t
fz_u64(struct fz *f)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | fz_u8(f);
    return v;
}

/*
 * The next field: bytes up to (not including) the next `sep` byte, or the rest.  Returned as a
 * malloc'd, NUL-terminated copy (the field itself may contain NUL bytes when sep != 0; *len gets
 * its length).  The caller frees it.  Fresh allocations let ASan see over-reads past the end.
 */
static inline char *
fz_field(struct fz *f, uint8_t sep, size_t *len)
{
    const uint8_t *e = memchr(f->p, sep, f->n);
    size_t n = e ? (size_t)(e - f->p) : f->n;
    char *s = malloc(n + 1);

    if (s == NULL)
        abort();
    memcpy(s, f->p, n);
    s[n] = '\0';
    f->p += n;
    f->n -= n;
    if (e != NULL) {
        f->p++;
        f->n--;
    }
    if (len != NULL)
        *len = n;
    return s;
}

/* An exact-size heap copy of the rest of the input (no terminator: over-reads are caught). */
static inline uint8_t *
fz_rest(struct fz *f, size_t *len)
{
    uint8_t *s = malloc(f->n ? f->n : 1);

    if (s == NULL)
        abort();
    memcpy(s, f->p, f->n);
    *len = f->n;
    f->p += f->n;
    f->n = 0;
    return s;
}

#endif
