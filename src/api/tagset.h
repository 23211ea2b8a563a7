/*
 * tagset.h -- blob index tag sets: Azure's limits and character rules (protocol doc §2.7), and the
 * `x-ms-tags` request header.  Pure: bytes in, a verdict and an arena array out, so both are
 * unit-tested (tests/unit/test_tags.c) and usable from every upload path.
 *
 *     struct meta_pair *tags;
 *     size_t n;
 *     if (tagset_parse_header(a, "project=x&team%20name=a+b", &n, &tags) == TAGSET_OK) ...
 *     // n == 2: {"project", "x"}, {"team name", "a b"}
 */
#ifndef COBALT_API_TAGSET_H
#define COBALT_API_TAGSET_H

#include <stddef.h>

struct arena;
struct meta_pair;

#define TAGSET_MAX_TAGS  10
#define TAGSET_MAX_KEY   128 /* characters */
#define TAGSET_MAX_VALUE 256

enum tagset_result {
    TAGSET_OK = 0,
    TAGSET_BAD_CHAR,  /* a character outside a-z A-Z 0-9 space + - . / : = _  -> InvalidTag */
    TAGSET_EMPTY_KEY, /* -> InvalidTag */
    TAGSET_TOO_LONG,  /* key > 128 or value > 256 characters -> TagsTooLarge */
    TAGSET_TOO_MANY,  /* more than 10 tags -> TagsTooLarge */
    TAGSET_DUPLICATE, /* a key twice (keys are case-sensitive) -> DuplicateTagNames */
    TAGSET_MALFORMED, /* x-ms-tags: a bad percent escape -> InvalidHeaderValue */
    TAGSET_NOMEM,     /* the arena is full */
};

/* 1 if c may appear in a tag key or value. */
int tagset_char_ok(char c);

/* Checks a whole tag set against the rules above; the first problem found, or TAGSET_OK. */
enum tagset_result tagset_check(size_t n, const struct meta_pair *tags);

/*
 * Parses an x-ms-tags value: pairs "key=value" joined by '&', each side percent-encoded, '+'
 * meaning a space (form encoding, which some SDKs use); a pair without '=' has an empty value,
 * empty pairs ("a=1&&b=2", a trailing '&') are skipped.  The result is checked with
 * tagset_check().  On TAGSET_OK, *out (array of *n pairs, NULL when n == 0) and its strings live
 * in `a`.
 */
enum tagset_result tagset_parse_header(struct arena *a, const char *s, size_t *n,
                                       struct meta_pair **out);

#endif
