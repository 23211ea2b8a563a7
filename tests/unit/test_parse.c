/*
 * test_parse.c -- request field validators: container/blob/metadata names at and beyond their
 * limits, byte ranges and their resolution, block ids, maxresults, x-ms-version, comma lists and
 * GUIDs.
 */
#include "api/parse.h"

#include <stdint.h>
#include <string.h>

#include "check.h"

#define CNAME(lit)   container_name_check(lit, sizeof(lit) - 1)
#define BNAME(lit)   blob_name_check(lit, sizeof(lit) - 1)
#define MNAME(lit)   metadata_name_valid(lit, sizeof(lit) - 1)
#define BLOCKID(lit) blockid_check(lit, sizeof(lit) - 1)

static void
test_container_names(void)
{
    char s[80];

    CHECK(CNAME("abc") == NAME_OK);
    CHECK(CNAME("my-container-1") == NAME_OK);
    CHECK(CNAME("123") == NAME_OK);
    CHECK(CNAME("a-b-c") == NAME_OK);
    CHECK(CNAME("$root") == NAME_OK);
    CHECK(CNAME("$logs") == NAME_OK);
    CHECK(CNAME("$web") == NAME_OK);
    CHECK(CNAME("$blobchangefeed") == NAME_OK);

    CHECK(CNAME("$Root") == NAME_INVALID);
    CHECK(CNAME("$roo") == NAME_INVALID);
    CHECK(CNAME("$rootx") == NAME_INVALID);
    CHECK(CNAME("$other") == NAME_INVALID);
    CHECK(CNAME("a--b") == NAME_INVALID);
    CHECK(CNAME("ab--") == NAME_INVALID);
    CHECK(CNAME("-abc") == NAME_INVALID);
    CHECK(CNAME("abc-") == NAME_INVALID);
    CHECK(CNAME("Abc") == NAME_INVALID);
    CHECK(CNAME("abC") == NAME_INVALID);
    CHECK(CNAME("aBc") == NAME_INVALID);
    CHECK(CNAME("a_c") == NAME_INVALID);
    CHECK(CNAME("a.c") == NAME_INVALID);
    CHECK(CNAME("a c") == NAME_INVALID);
    CHECK(CNAME("a/c") == NAME_INVALID);
    CHECK(CNAME("caf\xc3\xa9") == NAME_INVALID);
    CHECK(container_name_check("a\0c", 3) == NAME_INVALID);

    CHECK(CNAME("") == NAME_LENGTH);
    CHECK(CNAME("a") == NAME_LENGTH);
    CHECK(CNAME("ab") == NAME_LENGTH);
    CHECK(CNAME("A_") == NAME_LENGTH); /* length is checked first */
    memset(s, 'a', sizeof(s));
    CHECK(container_name_check(s, 63) == NAME_OK);
    CHECK(container_name_check(s, 64) == NAME_LENGTH);
    s[1] = '-';
    s[61] = '-';
    CHECK(container_name_check(s, 63) == NAME_OK);
    s[62] = '-';
    CHECK(container_name_check(s, 63) == NAME_INVALID);
}

static void
test_blob_names(void)
{
    char s[1100];

    CHECK(BNAME("a") == NAME_OK);
    CHECK(BNAME("dir/sub/file.txt") == NAME_OK);
    CHECK(BNAME("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80") == NAME_OK);
    CHECK(BNAME("\xef\xbf\xbe") == NAME_OK); /* U+FFFE: allowed, listed Encoded="true" */
    CHECK(BNAME("\xc2\x80") == NAME_OK);     /* C1 controls are not refused */
    CHECK(BNAME("a b+c%20d?e#f&g") == NAME_OK);
    CHECK(BNAME("...") == NAME_OK);
    CHECK(BNAME("a/.../b") == NAME_OK);
    CHECK(BNAME(".hidden") == NAME_OK);
    CHECK(BNAME("a..b") == NAME_OK);
    CHECK(BNAME("a/..b/c.") == NAME_OK);
    CHECK(BNAME("trailing/") == NAME_OK); /* discouraged, but Azure allows it */
    CHECK(BNAME("/leading") == NAME_OK);
    CHECK(BNAME("a//b") == NAME_OK);

    CHECK(BNAME(".") == NAME_INVALID);
    CHECK(BNAME("..") == NAME_INVALID);
    CHECK(BNAME("../x") == NAME_INVALID);
    CHECK(BNAME("a/../b") == NAME_INVALID);
    CHECK(BNAME("a/./b") == NAME_INVALID);
    CHECK(BNAME("a/..") == NAME_INVALID);
    CHECK(BNAME("a/.") == NAME_INVALID);
    CHECK(BNAME("./a") == NAME_INVALID);
    CHECK(BNAME("a\\..\\b") == NAME_INVALID); /* '\' becomes '/' */
    CHECK(BNAME("..\\a") == NAME_INVALID);
    CHECK(blob_name_check("a\0b", 3) == NAME_INVALID);
    CHECK(BNAME("a\x01") == NAME_INVALID);
    CHECK(BNAME("tab\there") == NAME_INVALID);
    CHECK(BNAME("line\nbreak") == NAME_INVALID);
    CHECK(BNAME("cr\r") == NAME_INVALID);
    CHECK(BNAME("\x1f") == NAME_INVALID);
    CHECK(BNAME("del\x7f") == NAME_INVALID);
    CHECK(BNAME("\xc3") == NAME_INVALID);         /* truncated */
    CHECK(BNAME("\xc0\xaf") == NAME_INVALID);     /* overlong '/' */
    CHECK(BNAME("\xe0\x80\xae") == NAME_INVALID); /* overlong '.' */
    CHECK(BNAME("\xed\xa0\x80") == NAME_INVALID); /* lone surrogate */
    CHECK(BNAME("\xf4\x90\x80\x80") == NAME_INVALID);
    CHECK(BNAME("\xff") == NAME_INVALID);
    CHECK(BNAME("\x80") == NAME_INVALID);

    CHECK(BNAME("") == NAME_LENGTH);
    memset(s, 'x', sizeof(s));
    CHECK(blob_name_check(s, 1024) == NAME_OK);
    CHECK(blob_name_check(s, 1025) == NAME_LENGTH);
    CHECK(blob_name_check(s, sizeof(s)) == NAME_LENGTH);
    /* The limit is in characters: 1024 two-byte characters (2048 bytes) fit, 1025 do not. */
    {
        static char w[4100];
        for (int i = 0; i < 2050; i += 2) {
            w[i] = (char)0xc3;
            w[i + 1] = (char)0xa9;
        }
        CHECK(blob_name_check(w, 2048) == NAME_OK);
        CHECK(blob_name_check(w, 2050) == NAME_LENGTH);
        memset(w, 'x', sizeof(w));
        CHECK(blob_name_check(w, 4097) == NAME_LENGTH);
    }
    memset(s, 'x', 1023);
    s[1023] = (char)0xc3;
    s[1024] = (char)0xa9;
    CHECK(blob_name_check(s, 1025) == NAME_OK);      /* 1024 characters */
    CHECK(blob_name_check(s, 1024) == NAME_INVALID); /* cut inside the sequence */
    /* Separators are characters too: 1025 characters of "a/" pairs are too long. */
    for (int i = 0; i < 1025; i++)
        s[i] = i % 2 ? '/' : 'a';
    CHECK(blob_name_check(s, 1024) == NAME_OK);
    CHECK(blob_name_check(s, 1025) == NAME_LENGTH);
}

static void
test_metadata_names(void)
{
    CHECK(MNAME("a"));
    CHECK(MNAME("_"));
    CHECK(MNAME("Key1"));
    CHECK(MNAME("_private_2"));
    CHECK(MNAME("CamelCase"));
    CHECK(!MNAME(""));
    CHECK(!MNAME("1key"));
    CHECK(!MNAME("my-key"));
    CHECK(!MNAME("my.key"));
    CHECK(!MNAME("my key"));
    CHECK(!MNAME("caf\xc3\xa9"));
    CHECK(!metadata_name_valid("a\0b", 3));
    CHECK(metadata_name_valid("ab-", 2)); /* only n bytes count */
}

static int
range_ok(const char *s, uint64_t want_start, uint64_t want_end)
{
    uint64_t a = 11, b = 22;

    return range_parse(s, &a, &b) == 1 && a == want_start && b == want_end;
}

static int
range_bad(const char *s)
{
    uint64_t a = 11, b = 22;

    return range_parse(s, &a, &b) == 0 && a == 11 && b == 22;
}

static void
test_ranges(void)
{
    uint64_t off = 99, len = 99;

    CHECK(range_ok("bytes=0-0", 0, 0));
    CHECK(range_ok("bytes=0-99", 0, 99));
    CHECK(range_ok("bytes=100-199", 100, 199));
    CHECK(range_ok("bytes=5-", 5, UINT64_MAX));
    CHECK(range_ok("bytes=0-", 0, UINT64_MAX));
    CHECK(range_ok("Bytes=1-2", 1, 2));
    CHECK(range_ok("bytes=007-010", 7, 10));
    CHECK(range_ok("bytes=0-33554431", 0, 33554431));
    CHECK(range_ok("bytes=0-18446744073709551615", 0, UINT64_MAX));
    CHECK(range_ok("bytes=18446744073709551615-", UINT64_MAX, UINT64_MAX));

    CHECK(range_bad("bytes=10-5"));    /* start > end */
    CHECK(range_bad("bytes=-500"));    /* suffix */
    CHECK(range_bad("bytes=0-1,5-6")); /* list */
    CHECK(range_bad("bytes=0-1,"));
    CHECK(range_bad("bytes=-"));
    CHECK(range_bad("bytes="));
    CHECK(range_bad("bytes"));
    CHECK(range_bad(""));
    CHECK(range_bad(NULL));
    CHECK(range_bad("bytes=abc-def"));
    CHECK(range_bad("bytes=1-2x"));
    CHECK(range_bad("bytes=1x-2"));
    CHECK(range_bad("bytes= 1-2"));
    CHECK(range_bad("bytes=1 -2"));
    CHECK(range_bad("bytes=1-2 "));
    CHECK(range_bad("bytes=+1-2"));
    CHECK(range_bad("bytes=1--2"));
    CHECK(range_bad("bytes=0x10-0x20"));
    CHECK(range_bad("items=0-1"));
    CHECK(range_bad("0-1"));
    CHECK(range_bad("bytes=0-18446744073709551616")); /* UINT64_MAX + 1 */
    CHECK(range_bad("bytes=18446744073709551616-"));
    CHECK(range_bad("bytes=0-99999999999999999999999999"));

    /* Resolution against a blob size. */
    CHECK(range_resolve(0, 99, 1000, &off, &len) == 0 && off == 0 && len == 100);
    CHECK(range_resolve(0, 0, 1, &off, &len) == 0 && off == 0 && len == 1);
    CHECK(range_resolve(10, UINT64_MAX, 100, &off, &len) == 0 && off == 10 && len == 90);
    CHECK(range_resolve(0, 33554431, 1000, &off, &len) == 0 && off == 0 && len == 1000);
    CHECK(range_resolve(999, 5000, 1000, &off, &len) == 0 && off == 999 && len == 1);
    CHECK(range_resolve(0, UINT64_MAX, UINT64_MAX, &off, &len) == 0 && len == UINT64_MAX);
    off = len = 7;
    CHECK(range_resolve(1000, 1000, 1000, &off, &len) == -1); /* start == size */
    CHECK(range_resolve(5000, UINT64_MAX, 1000, &off, &len) == -1);
    CHECK(range_resolve(0, 0, 0, &off, &len) == -1); /* empty blob */
    CHECK(range_resolve(0, UINT64_MAX, 0, &off, &len) == -1);
    CHECK(range_resolve(0, 33554431, 0, &off, &len) == -1);
    CHECK(range_resolve(5, 4, 100, &off, &len) == -1);
    CHECK(off == 7 && len == 7);
}

static void
test_blockids(void)
{
    char s[400];

    CHECK(BLOCKID("AA==") == 1);
    CHECK(BLOCKID("AAAAAQ==") == 4);
    CHECK(BLOCKID("YzQ5OTc3YzMtODAxMi00OWZhLWFjMmYtOGU5ZDgwMTBlMGNkMDAwMDAwMDAwMDAw") == 48);
    /* 63, 64, 65, 66 bytes. */
    CHECK(BLOCKID("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OT"
                  "o7PD0+") == 63);
    CHECK(BLOCKID("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OT"
                  "o7PD0+Pw==") == 64);
    CHECK(BLOCKID("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OT"
                  "o7PD0+P0A=") == -1);
    CHECK(BLOCKID("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OT"
                  "o7PD0+P0BB") == -1);
    /* 100 bytes: longer than one decode piece. */
    CHECK(BLOCKID("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OT"
                  "o7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiYw==") == -1);
    /* Long all-'A' ids: valid base64, far too long. */
    memset(s, 'A', sizeof(s));
    CHECK(blockid_check(s, 88) == -1);
    CHECK(blockid_check(s, 92) == -1);
    CHECK(blockid_check(s, 176) == -1);
    CHECK(blockid_check(s, 400) == -1);
    CHECK(blockid_check(s, 399) == 0);
    /* Padding that is not at the very end, including at a piece boundary. */
    memcpy(s + 86, "==", 2);
    CHECK(blockid_check(s, 88) == 64);
    CHECK(blockid_check(s, 92) == 0);
    memset(s, 'A', sizeof(s));
    memcpy(s, "AA==", 4);
    CHECK(blockid_check(s, 8) == 0);
    CHECK(blockid_check(s, 100) == 0);

    CHECK(BLOCKID("") == 0);
    CHECK(blockid_check(NULL, 0) == 0);
    CHECK(BLOCKID("A") == 0);
    CHECK(BLOCKID("AA") == 0); /* padding required */
    CHECK(BLOCKID("AAA") == 0);
    CHECK(BLOCKID("AA=") == 0);
    CHECK(BLOCKID("====") == 0);
    CHECK(BLOCKID("A===") == 0);
    CHECK(BLOCKID("AA==AA==") == 0);
    CHECK(BLOCKID("AA AA==") == 0);
    CHECK(BLOCKID("AAAA\n") == 0);
    CHECK(BLOCKID("AA-_") == 0); /* URL-safe alphabet is not base64 */
    CHECK(BLOCKID("block-1") == 0);
    CHECK(BLOCKID("AAA*") == 0);
    CHECK(blockid_check("AA==\0\0\0\0", 8) == 0);
}

static void
test_maxresults(void)
{
    CHECK(maxresults_parse("1") == 1);
    CHECK(maxresults_parse("10") == 10);
    CHECK(maxresults_parse("0010") == 10);
    CHECK(maxresults_parse("4999") == 4999);
    CHECK(maxresults_parse("5000") == 5000);
    CHECK(maxresults_parse("5001") == 5000);
    CHECK(maxresults_parse("100000") == 5000);
    CHECK(maxresults_parse("99999999999999999999999999999") == 5000);
    CHECK(maxresults_parse("0") == -1);
    CHECK(maxresults_parse("000") == -1);
    CHECK(maxresults_parse("-1") == -1);
    CHECK(maxresults_parse("-5000") == -1);
    CHECK(maxresults_parse("+5") == -1);
    CHECK(maxresults_parse("abc") == -1);
    CHECK(maxresults_parse("5abc") == -1);
    CHECK(maxresults_parse("5 ") == -1);
    CHECK(maxresults_parse(" 5") == -1);
    CHECK(maxresults_parse("5.0") == -1);
    CHECK(maxresults_parse("0x10") == -1);
    CHECK(maxresults_parse("") == -1);
    CHECK(maxresults_parse(NULL) == -1);
}

static void
test_versions(void)
{
    CHECK(version_valid("2009-09-19"));
    CHECK(version_valid("2021-12-02"));
    CHECK(version_valid("2025-11-05"));
    CHECK(version_valid("2099-12-31"));
    CHECK(!version_valid("2021-13-01"));
    CHECK(!version_valid("2021-00-01"));
    CHECK(!version_valid("2021-01-00"));
    CHECK(!version_valid("2021-01-32"));
    CHECK(!version_valid("1999-01-01"));
    CHECK(!version_valid("2021-1-01"));
    CHECK(!version_valid("2021-01-011"));
    CHECK(!version_valid("2021/01/01"));
    CHECK(!version_valid("20210101"));
    CHECK(!version_valid("2021-0a-01"));
    CHECK(!version_valid(" 2021-01-01"));
    CHECK(!version_valid(""));
    CHECK(!version_valid(NULL));
}

struct collect {
    char items[8][32];
    int n, stop_at;
};

static int
collect_fn(const char *item, size_t len, void *ctx)
{
    struct collect *c = ctx;

    if (c->n < 8 && len < 32) {
        memcpy(c->items[c->n], item, len);
        c->items[c->n][len] = '\0';
    }
    c->n++;
    return c->n == c->stop_at ? 42 : 0;
}

static void
test_list_each(void)
{
    struct collect c;

    memset(&c, 0, sizeof(c));
    CHECK(list_each("metadata,snapshots", collect_fn, &c) == 0);
    CHECK(c.n == 2);
    CHECK_STR(c.items[0], "metadata");
    CHECK_STR(c.items[1], "snapshots");

    memset(&c, 0, sizeof(c));
    CHECK(list_each(" a , b,,\tc\t, ,", collect_fn, &c) == 0);
    CHECK(c.n == 3);
    CHECK_STR(c.items[0], "a");
    CHECK_STR(c.items[1], "b");
    CHECK_STR(c.items[2], "c");

    memset(&c, 0, sizeof(c));
    CHECK(list_each("", collect_fn, &c) == 0 && c.n == 0);
    CHECK(list_each(",,, ", collect_fn, &c) == 0 && c.n == 0);
    CHECK(list_each(NULL, collect_fn, &c) == 0 && c.n == 0);
    CHECK(list_each("one", collect_fn, &c) == 0 && c.n == 1);
    CHECK_STR(c.items[0], "one");

    memset(&c, 0, sizeof(c));
    c.stop_at = 2;
    CHECK(list_each("x,y,z", collect_fn, &c) == 42);
    CHECK(c.n == 2);
}

static void
test_guids(void)
{
    CHECK(guid_valid("3f2504e0-4f89-11d3-9a0c-0305e82c3301"));
    CHECK(guid_valid("3F2504E0-4F89-11D3-9A0C-0305E82C3301"));
    CHECK(guid_valid("00000000-0000-0000-0000-000000000000"));
    CHECK(!guid_valid("3f2504e0-4f89-11d3-9a0c-0305e82c330"));
    CHECK(!guid_valid("3f2504e0-4f89-11d3-9a0c-0305e82c33011"));
    CHECK(!guid_valid("3f2504e0-4f89-11d3-9a0c_0305e82c3301"));
    CHECK(guid_valid("3f2504e04f8911d39a0c0305e82c3301"));
    CHECK(guid_valid("3F2504E04F8911D39A0C0305E82C3301"));
    CHECK(guid_valid("{3f2504e0-4f89-11d3-9a0c-0305e82c3301}"));
    CHECK(guid_valid("(3f2504e0-4f89-11d3-9a0c-0305e82c3301)"));
    CHECK(!guid_valid("{3f2504e0-4f89-11d3-9a0c-0305e82c3301)"));
    CHECK(!guid_valid("{3f2504e04f8911d39a0c0305e82c3301}"));
    CHECK(!guid_valid("3f2504e04f8911d39a0c0305e82c330"));
    CHECK(!guid_valid("3f2504e04f8911d39a0c0305e82c33011"));
    CHECK(!guid_valid("3f2504e0-4f89-11d3-9a0c-0305e82c3301-"));
    CHECK(!guid_valid("3f2504g0-4f89-11d3-9a0c-0305e82c3301"));
    CHECK(!guid_valid("3f2504e0-4f8-911d3-9a0c-0305e82c3301"));
    CHECK(!guid_valid(" 3f2504e0-4f89-11d3-9a0c-0305e82c330"));
    CHECK(!guid_valid(""));
    CHECK(!guid_valid(NULL));
    /* One GUID in every form compares equal; digits differing or a form that is no GUID do not. */
    CHECK(guid_equal("3f2504e04f8911d39a0c0305e82c3301", "3F2504E0-4F89-11D3-9A0C-0305E82C3301"));
    CHECK(guid_equal("{3f2504e0-4f89-11d3-9a0c-0305e82c3301}",
                     "(3F2504E0-4F89-11D3-9A0C-0305E82C3301)"));
    CHECK(
        guid_equal("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"));
    CHECK(!guid_equal("3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                      "3f2504e0-4f89-11d3-9a0c-0305e82c3302"));
    CHECK(!guid_equal("3f2504e04f8911d39a0c0305e82c3301", "3f2504e04f8911d39a0c0305e82c3300"));
    CHECK(!guid_equal("3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                      "3f2504e0_4f89-11d3-9a0c-0305e82c3301"));
    CHECK(!guid_equal("not-a-guid", "not-a-guid"));
    CHECK(!guid_equal("", ""));
    CHECK(!guid_equal(NULL, "3f2504e0-4f89-11d3-9a0c-0305e82c3301"));
}

#define HTEXT(lit) header_text_valid(lit, sizeof(lit) - 1)

static void
test_header_text(void)
{
    CHECK(HTEXT(""));
    CHECK(HTEXT("text/plain; charset=utf-8"));
    CHECK(HTEXT("attachment; filename=\"a b.txt\""));
    CHECK(HTEXT("tab\there"));
    CHECK(HTEXT("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd"));
    CHECK(!HTEXT("a\x01b"));
    CHECK(!HTEXT("a\nb"));
    CHECK(!HTEXT("a\rb"));
    CHECK(!HTEXT("a\x0b"));
    CHECK(!HTEXT("\x1b[0m"));
    CHECK(!HTEXT("a\x7f"));
    CHECK(!header_text_valid("a\0b", 3));
    CHECK(!HTEXT("caf\xe9"));          /* Latin-1, not UTF-8 */
    CHECK(!HTEXT("\xc0\xaf"));         /* overlong */
    CHECK(!HTEXT("\xed\xa0\x80"));     /* lone surrogate */
    CHECK(!HTEXT("\xef\xbf\xbe"));     /* U+FFFE */
    CHECK(!HTEXT("\xef\xbf\xbf"));     /* U+FFFF */
    CHECK(!HTEXT("\xf4\x90\x80\x80")); /* above U+10FFFF */
    CHECK(!HTEXT("ab\xe2\x82"));       /* truncated */
}

int
main(void)
{
    test_container_names();
    test_blob_names();
    test_metadata_names();
    test_header_text();
    test_ranges();
    test_blockids();
    test_maxresults();
    test_versions();
    test_list_each();
    test_guids();
    return check_report("test_parse");
}
