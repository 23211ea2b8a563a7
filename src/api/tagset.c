/*
 * tagset.c -- tag set rules and the x-ms-tags header; see tagset.h.  Lengths are counted in
 * characters (UTF-8 lead bytes), as Azure documents them, before characters are checked, so an
 * over-long value is reported as too large whatever it holds.
 */
#include "api/tagset.h"

#include <string.h>

#include "model/model.h"
#include "util/arena.h"
#include "util/codec.h"

int
tagset_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr(" +-./:=_", c) != NULL);
}

static size_t
chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int
all_tag_chars(const char *s)
{
    for (; *s; s++)
        if (!tagset_char_ok(*s))
            return 0;
    return 1;
}

enum tagset_result
tagset_check(size_t n, const struct meta_pair *tags)
{
    if (n > TAGSET_MAX_TAGS)
        return TAGSET_TOO_MANY;
    for (size_t i = 0; i < n; i++) {
        if (tags[i].name[0] == '\0')
            return TAGSET_EMPTY_KEY;
        if (chars(tags[i].name) > TAGSET_MAX_KEY || chars(tags[i].value) > TAGSET_MAX_VALUE)
            return TAGSET_TOO_LONG;
        if (!all_tag_chars(tags[i].name) || !all_tag_chars(tags[i].value))
            return TAGSET_BAD_CHAR;
        for (size_t j = 0; j < i; j++)
            if (strcmp(tags[j].name, tags[i].name) == 0)
                return TAGSET_DUPLICATE;
    }
    return TAGSET_OK;
}

/* Decodes one side of a pair: '+' is a space, then percent escapes.  NULL on a bad escape (or
 * *nomem); *nul set when the result holds a NUL byte (from %00), which no tag may contain. */
static char *
decode(struct arena *a, const char *s, size_t n, int *nul, int *nomem)
{
    char *plus = arena_strndup(a, s, n), *out;
    size_t len;

    if (plus == NULL) {
        *nomem = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (plus[i] == '+')
            plus[i] = ' ';
    if ((out = pct_decode(a, plus, n, &len)) != NULL && len != strlen(out))
        *nul = 1;
    return out;
}

enum tagset_result
tagset_parse_header(struct arena *a, const char *s, size_t *n, struct meta_pair **out)
{
    size_t cnt = 1, i = 0;
    struct meta_pair *t;
    int nul = 0, nomem = 0;

    *n = 0;
    *out = NULL;
    for (const char *p = s; *p; p++)
        cnt += *p == '&';
    if (cnt > 4 * TAGSET_MAX_TAGS + 64) /* bound the work on hostile input */
        return TAGSET_TOO_MANY;
    if ((t = arena_alloc(a, sizeof(*t) * cnt)) == NULL)
        return TAGSET_NOMEM;
    while (*s) {
        const char *amp = strchr(s, '&'), *end = amp ? amp : s + strlen(s);
        const char *eq = memchr(s, '=', (size_t)(end - s)), *kend = eq ? eq : end;

        if (end > s) {
            t[i].name = decode(a, s, (size_t)(kend - s), &nul, &nomem);
            t[i].value = eq ? decode(a, eq + 1, (size_t)(end - eq - 1), &nul, &nomem) : "";
            if (nomem)
                return TAGSET_NOMEM;
            if (t[i].name == NULL || t[i].value == NULL)
                return TAGSET_MALFORMED;
            if (nul)
                return TAGSET_BAD_CHAR;
            i++;
        }
        s = amp ? amp + 1 : end;
    }
    {
        enum tagset_result rc = tagset_check(i, t);
        if (rc != TAGSET_OK)
            return rc;
    }
    *n = i;
    *out = i ? t : NULL;
    return TAGSET_OK;
}
