/*
 * json.c -- a small strict JSON reader (RFC 8259) for what auth/ reads: the header and claims of
 * a JWT and the keys of a JWKS file.  The text becomes a tree in an arena; strings are decoded to
 * UTF-8 (\u escapes and surrogate pairs included) and NUL-terminated, and one holding an encoded
 * NUL is refused, so a claim can never compare equal to a shorter string.  Nesting is bounded,
 * trailing data refused, and an object naming a member twice refused (a token whose "aud" or
 * "exp" appears twice means whatever its maker wanted each reader to see).
 */
#include "auth/auth_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

#define JSON_DEPTH 32

struct reader {
    const char *p, *end;
    struct arena *a;
    int depth;
};

static void
skip_ws(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int
hex4(const char *p, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t
put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string at r->p (on its opening quote), decoded into the arena. */
static const char *
read_string(struct reader *r, size_t *len)
{
    const char *s = ++r->p;
    char *out, *o;

    while (r->p < r->end && *r->p != '"') /* find the end: escapes never grow the text */
        r->p += *r->p == '\\' && r->p + 1 < r->end ? 2 : 1;
    if (r->p >= r->end || (out = arena_alloc(r->a, (size_t)(r->p - s) + 1)) == NULL)
        return NULL;
    for (o = out; s < r->p; s++) {
        unsigned cp, lo;
        if ((unsigned char)*s < 0x20)
            return NULL;
        if (*s != '\\') {
            *o++ = *s;
            continue;
        }
        switch (*++s) {
        case '"':
        case '\\':
        case '/':
            *o++ = *s;
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u':
            if (r->p - s < 5 || hex4(s + 1, &cp) != 0 || cp == 0)
                return NULL;
            s += 4;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (r->p - s < 7 || s[1] != '\\' || s[2] != 'u' || hex4(s + 3, &lo) != 0 ||
                    lo < 0xdc00 || lo >= 0xe000)
                    return NULL;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                s += 6;
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                return NULL;
            }
            o += put_utf8(o, cp);
            break;
        default:
            return NULL;
        }
    }
    *o = '\0';
    *len = (size_t)(o - out);
    r->p++; /* the closing quote */
    return out;
}

static int read_value(struct reader *r, struct json *v);

/* The members of an object or the items of an array, after its opening bracket. */
static int
read_items(struct reader *r, struct json *v, char close)
{
    size_t cap = 0;

    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 0;
    }
    for (;;) {
        struct json item = {0};
        skip_ws(r);
        if (close == '}') {
            size_t klen;
            if (r->p >= r->end || *r->p != '"' || (item.key = read_string(r, &klen)) == NULL)
                return -1;
            for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->items[i].key, item.key) == 0)
                    return -1;
            skip_ws(r);
            if (r->p >= r->end || *r->p++ != ':')
                return -1;
        }
        if (read_value(r, &item) != 0)
            return -1;
        if (v->n == cap) {
            struct json *grown = arena_alloc(r->a, sizeof(*grown) * (cap = cap ? cap * 2 : 8));
            if (grown == NULL)
                return -1;
            if (v->n > 0)
                memcpy(grown, v->items, sizeof(*grown) * v->n);
            v->items = grown;
        }
        v->items[v->n++] = item;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return 0;
        }
        return -1;
    }
}

static int
read_literal(struct reader *r, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return -1;
    r->p += n;
    return 0;
}

static int
read_value(struct reader *r, struct json *v)
{
    int rc;

    skip_ws(r);
    if (r->p >= r->end)
        return -1;
    switch (*r->p) {
    case '{':
    case '[':
        if (++r->depth > JSON_DEPTH)
            return -1;
        v->type = *r->p == '{' ? JSON_OBJECT : JSON_ARRAY;
        r->p++;
        rc = read_items(r, v, v->type == JSON_OBJECT ? '}' : ']');
        r->depth--;
        return rc;
    case '"':
        v->type = JSON_STRING;
        return (v->str = read_string(r, &v->len)) != NULL ? 0 : -1;
    case 't':
        v->type = JSON_BOOL;
        v->boolean = 1;
        return read_literal(r, "true");
    case 'f':
        v->type = JSON_BOOL;
        return read_literal(r, "false");
    case 'n':
        v->type = JSON_NULL;
        return read_literal(r, "null");
    default: {
        /* a number, in JSON's own grammar (strtod alone takes hex, inf and nan) */
        const char *s = r->p, *q = s;
        char buf[64], *e;
        if (q < r->end && *q == '-')
            q++;
        if (q >= r->end || *q < '0' || *q > '9' ||
            (*q == '0' && q + 1 < r->end && q[1] >= '0' && q[1] <= '9'))
            return -1;
        q += strspn(q, "0123456789");
        if (q < r->end && *q == '.') {
            q++;
            if (strspn(q, "0123456789") == 0)
                return -1;
            q += strspn(q, "0123456789");
        }
        if (q < r->end && (*q == 'e' || *q == 'E')) {
            q++;
            if (q < r->end && (*q == '+' || *q == '-'))
                q++;
            if (strspn(q, "0123456789") == 0)
                return -1;
            q += strspn(q, "0123456789");
        }
        if (q > r->end || (size_t)(q - s) >= sizeof(buf))
            return -1;
        memcpy(buf, s, (size_t)(q - s));
        buf[q - s] = '\0';
        v->type = JSON_NUMBER;
        v->num = strtod(buf, &e);
        r->p = q;
        return isfinite(v->num) ? 0 : -1;
    }
    }
}

struct json *
json_parse(struct arena *a, const char *text, size_t n)
{
    struct reader r = {text, text + n, a, 0};
    struct json *v = arena_calloc(a, sizeof(*v));

    if (v == NULL || memchr(text, '\0', n) != NULL || read_value(&r, v) != 0)
        return NULL;
    skip_ws(&r);
    return r.p == r.end ? v : NULL;
}

const struct json *
json_get(const struct json *obj, const char *key)
{
    if (obj == NULL || obj->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->items[i].key, key) == 0)
            return &obj->items[i];
    return NULL;
}

const char *
json_str(const struct json *obj, const char *key)
{
    const struct json *v = json_get(obj, key);

    return v != NULL && v->type == JSON_STRING ? v->str : NULL;
}
