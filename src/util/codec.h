/*
 * codec.h -- base64, hex and percent-encoding.  Pure functions, no allocation unless an arena is
 * passed.
 */
#ifndef COBALT_CODEC_H
#define COBALT_CODEC_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct buf;

/* Standard base64 with padding.  `out` must hold base64_len(n) + 1 bytes; NUL-terminated. */
#define BASE64_LEN(n) ((((n) + 2) / 3) * 4)
size_t base64_encode(const void *in, size_t n, char *out);
/*
 * Strict decode of standard base64 (padding required, no whitespace).  `out` must hold
 * (n / 4) * 3 bytes.  Returns the decoded length, or -1 when the input is not valid base64.
 */
long base64_decode(const char *in, size_t n, void *out);

/* Upper-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void hex_encode(const void *in, size_t n, char *out);

/*
 * Percent-decodes s[0..n) into a new arena string.  '+' is left as '+'.  Returns NULL on a
 * malformed escape ("%zz", "%4") or when the arena is full; *outlen (if not NULL) receives the
 * decoded length (the result may contain NUL bytes from "%00": callers that need C strings must
 * check outlen == strlen).
 */
char *pct_decode(struct arena *a, const char *s, size_t n, size_t *outlen);

/*
 * Appends s[0..n) percent-encoded to b: everything but unreserved characters (A-Z a-z 0-9 - . _ ~)
 * and, when keep_slash, '/'.  Used for markers, Encoded="true" names and URLs we print.
 */
void pct_encode(struct buf *b, const char *s, size_t n, int keep_slash);

/*
 * Length in bytes of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 when it is not one.  avail >= 1.
 */
size_t utf8_seq(const unsigned char *s, size_t avail);

#endif
