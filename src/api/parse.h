/*
 * parse.h -- pure parsers and validators for request fields (names, ranges, block ids, lists).
 * No I/O and no knowledge of the request: each takes bytes and says yes/no (and what it found),
 * so each is unit-tested and fuzzed on its own.
 */
#ifndef COBALT_API_PARSE_H
#define COBALT_API_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Results of name checks. */
enum name_check {
    NAME_OK = 0,
    NAME_INVALID, /* -> 400 InvalidResourceName */
    NAME_LENGTH,  /* -> 400 OutOfRangeInput */
};

/*
 * Container names: 3-63 chars of [a-z0-9-], starting and ending with a letter or digit, no "--".
 * "$root", "$logs", "$web" and "$blobchangefeed" are accepted as system containers.
 */
enum name_check container_name_check(const char *s, size_t n);
/*
 * Blob names (already percent-decoded): 1-1024 characters of valid UTF-8 without NUL or other C0
 * control characters other than those Azure accepts (Cobalt refuses all of U+0000-U+001F and
 * U+007F so names are always safe in headers and logs), and no path segment that is "." or "..".
 */
enum name_check blob_name_check(const char *s, size_t n);
/* Metadata names: a C# identifier ^[A-Za-z_][A-Za-z0-9_]*$.  1 if valid. */
int metadata_name_valid(const char *s, size_t n);
/*
 * Stored header values (metadata values, Content-Type and the other content properties): valid
 * UTF-8 of characters XML 1.0 can carry (listings return them), and no control character but TAB
 * (responses echo them as headers): no C0, no DEL, no U+FFFE/U+FFFF, no surrogates.  1 if valid.
 */
int header_text_valid(const char *s, size_t n);

/*
 * Byte ranges: "bytes=<start>-<end>" or "bytes=<start>-".  Returns 1 and fills start and end
 * (end = UINT64_MAX when open) for a well-formed single range with start <= end; 0 for anything
 * else (suffix ranges, lists, garbage), which callers treat as "no range" like Azure does.
 */
int range_parse(const char *s, uint64_t *start, uint64_t *end);

/*
 * Resolves a parsed range against a blob of `size` bytes.  Returns 0 and sets [*off, *off + *len)
 * clamped to the blob, or -1 when it is unsatisfiable (start >= size, which includes every range
 * on an empty blob) -> 416 InvalidRange.
 */
int range_resolve(uint64_t start, uint64_t end, uint64_t size, uint64_t *off, uint64_t *len);

/*
 * Block ids: the query value (already percent-decoded) must be base64 decoding to 1-64 bytes.
 * Returns the decoded length, 0 when not valid base64, -1 when it decodes to more than 64 bytes.
 */
int blockid_check(const char *s, size_t n);

/* maxresults: "1".."5000" -> value; larger values are clamped to 5000; -1 when <= 0 or garbage. */
int maxresults_parse(const char *s);

/* x-ms-version: "YYYY-MM-DD" with plausible digits.  1 if valid. */
int version_valid(const char *s);

/*
 * Splits a comma-separated list in place-free style: calls fn(item, len, ctx) for each trimmed,
 * non-empty item; stops and returns fn's non-zero result, else 0.
 */
int list_each(const char *s, int (*fn)(const char *item, size_t len, void *ctx), void *ctx);

/*
 * Lease ids are GUIDs in the forms .NET's Guid(String) reads, which Azure's Lease Blob / Lease
 * Container documentation points to: 32 hex digits, or 8-4-4-4-12 with hyphens, the latter also
 * in braces or parentheses; either case.  (The hexadecimal-list form {0x...,{0x...}} is not
 * accepted: no SDK sends it.)  1 if valid.
 */
int guid_valid(const char *s);
/*
 * Whether a and b are valid GUIDs (as guid_valid() reads them) naming the same value: their 32 hex
 * digits compared case-insensitively, whatever form each is written in.  A lease id is one GUID
 * whatever its form, so "3f2504e04f8911d39a0c0305e82c3301" equals
 * "{3F2504E0-4F89-11D3-9A0C-0305E82C3301}".  0 when either is not a GUID.
 */
int guid_equal(const char *a, const char *b);

#endif
