/*
 * test_tags.c -- tag sets (§2.7): the limits and character rules, and the x-ms-tags request header
 * (percent-encoding, '+' as a space, empty values, malformed escapes).
 */
#include "api/tagset.h"
#include "check.h"
#include "meta/meta.h"
#include "util/arena.h"

static struct arena *A;

static enum tagset_result
hdr(const char *s, size_t *n, struct meta_pair **t)
{
    return tagset_parse_header(A, s, n, t);
}

static char *
repeat(char c, size_t n)
{
    char *s = arena_alloc(A, n + 1);

    memset(s, c, n);
    s[n] = '\0';
    return s;
}

int
main(void)
{
    struct meta_pair *t;
    size_t n;

    A = arena_new(1 << 20);

    /* The header as the SDKs send it. */
    CHECK(hdr("project=x&team%20name=a%20b", &n, &t) == TAGSET_OK);
    CHECK(n == 2);
    CHECK_STR(t[0].name, "project");
    CHECK_STR(t[0].value, "x");
    CHECK_STR(t[1].name, "team name");
    CHECK_STR(t[1].value, "a b");
    /* '+' means a space; %2B is a literal plus. */
    CHECK(hdr("a+b=c+d&plus=%2B", &n, &t) == TAGSET_OK);
    CHECK(n == 2);
    CHECK_STR(t[0].name, "a b");
    CHECK_STR(t[0].value, "c d");
    CHECK_STR(t[1].value, "+");
    /* Every allowed character, encoded as encodeURIComponent does. */
    CHECK(hdr("k%2F%3A%3D_-.=v%2F%3A%3D_-.%20", &n, &t) == TAGSET_OK);
    CHECK_STR(t[0].name, "k/:=_-.");
    CHECK_STR(t[0].value, "v/:=_-. ");
    /* Empty value, missing '=', empty pairs. */
    CHECK(hdr("a=&b&&c=1&", &n, &t) == TAGSET_OK);
    CHECK(n == 3);
    CHECK_STR(t[0].value, "");
    CHECK_STR(t[1].name, "b");
    CHECK_STR(t[1].value, "");
    CHECK_STR(t[2].name, "c");
    CHECK(hdr("", &n, &t) == TAGSET_OK && n == 0 && t == NULL);
    /* Errors. */
    CHECK(hdr("a=%zz", &n, &t) == TAGSET_MALFORMED);
    CHECK(hdr("a=%4", &n, &t) == TAGSET_MALFORMED);
    CHECK(hdr("a=%00", &n, &t) == TAGSET_BAD_CHAR);
    CHECK(hdr("a=x%21", &n, &t) == TAGSET_BAD_CHAR);    /* '!' */
    CHECK(hdr("a%C3%A9=1", &n, &t) == TAGSET_BAD_CHAR); /* non-ASCII */
    CHECK(hdr("=1", &n, &t) == TAGSET_EMPTY_KEY);
    CHECK(hdr("a=1&a=2", &n, &t) == TAGSET_DUPLICATE);
    CHECK(hdr("a=1&A=2", &n, &t) == TAGSET_OK && n == 2); /* case-sensitive keys */
    CHECK(hdr("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10", &n, &t) == TAGSET_OK && n == 10);
    CHECK(hdr("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11", &n, &t) == TAGSET_TOO_MANY);

    /* Lengths: key 1..128, value 0..256 characters. */
    {
        struct meta_pair p[1] = {{repeat('k', 128), repeat('v', 256)}};
        CHECK(tagset_check(1, p) == TAGSET_OK);
        p[0].name = repeat('k', 129);
        CHECK(tagset_check(1, p) == TAGSET_TOO_LONG);
        p[0].name = "k";
        p[0].value = repeat('v', 257);
        CHECK(tagset_check(1, p) == TAGSET_TOO_LONG);
        p[0].value = "";
        CHECK(tagset_check(1, p) == TAGSET_OK);
        p[0].name = "";
        CHECK(tagset_check(1, p) == TAGSET_EMPTY_KEY);
        p[0].name = "tab\there";
        CHECK(tagset_check(1, p) == TAGSET_BAD_CHAR);
        p[0].name = "ok";
        p[0].value = "quote'";
        CHECK(tagset_check(1, p) == TAGSET_BAD_CHAR);
    }
    CHECK(tagset_char_ok(' ') && tagset_char_ok('+') && tagset_char_ok('=') &&
          tagset_char_ok(':') && tagset_char_ok('/') && tagset_char_ok('_'));
    CHECK(!tagset_char_ok('\0') && !tagset_char_ok('&') && !tagset_char_ok('"') &&
          !tagset_char_ok('%') && !tagset_char_ok('~') && !tagset_char_ok('\\'));
    /* Hostile input: a huge number of pairs is refused without decoding them. */
    {
        char *many = repeat('&', 100000);
        many[0] = 'a';
        CHECK(hdr(many, &n, &t) == TAGSET_TOO_MANY);
    }
    arena_free(A);
    return check_report("test_tags");
}
