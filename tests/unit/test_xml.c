/*
 * test_xml.c -- escaping writer, xml_is_safe on tricky UTF-8, and the expat reader: block lists as
 * in protocol doc §4.4, malformed documents, DTD/billion laughs, depth, node and arena limits.
 */
#include "util/xml.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/arena.h"
#include "util/buf.h"

#define SAFE(lit) xml_is_safe(lit, sizeof(lit) - 1)

static void
test_writer(void)
{
    struct buf b = BUF_INIT;

    xml_text(&b, "a&b<c>d\"e'f", 11);
    CHECK_STR(b.p, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    buf_reset(&b);
    xml_text(&b, "plain", 5);
    CHECK_STR(b.p, "plain");
    buf_reset(&b);
    xml_text(&b, "&&", 2);
    CHECK_STR(b.p, "&amp;&amp;");
    buf_reset(&b);
    xml_text(&b, "x\ry\nz", 5); /* CR survives the reader's end-of-line normalisation */
    CHECK_STR(b.p, "x&#xD;y\nz");
    buf_reset(&b);
    xml_text(&b, "caf\xc3\xa9", 5); /* UTF-8 passes through */
    CHECK_STR(b.p, "caf\xc3\xa9");
    buf_reset(&b);
    xml_text(&b, "ab<cd", 3); /* only n bytes */
    CHECK_STR(b.p, "ab&lt;");
    buf_reset(&b);

    xml_elem(&b, "Name", "a<b");
    CHECK_STR(b.p, "<Name>a&lt;b</Name>");
    buf_reset(&b);
    xml_elem(&b, "Marker", "");
    xml_elem(&b, "NextMarker", NULL);
    CHECK_STR(b.p, "<Marker /><NextMarker />");
    CHECK(buf_ok(&b));
    buf_free(&b);
}

static void
test_is_safe(void)
{
    CHECK(SAFE(""));
    CHECK(SAFE("hello world/a.txt"));
    CHECK(SAFE("tab\there\nnl\rcr"));
    CHECK(SAFE("\x7f"));             /* DEL is an XML 1.0 Char */
    CHECK(SAFE("\xc2\x80"));         /* U+0080 */
    CHECK(SAFE("caf\xc3\xa9"));      /* é */
    CHECK(SAFE("\xe2\x82\xac"));     /* € U+20AC */
    CHECK(SAFE("\xed\x9f\xbf"));     /* U+D7FF, last before surrogates */
    CHECK(SAFE("\xee\x80\x80"));     /* U+E000 */
    CHECK(SAFE("\xef\xbf\xbd"));     /* U+FFFD */
    CHECK(SAFE("\xf0\x90\x80\x80")); /* U+10000 */
    CHECK(SAFE("\xf0\x9f\x98\x80")); /* 😀 */
    CHECK(SAFE("\xf4\x8f\xbf\xbf")); /* U+10FFFF */

    CHECK(!xml_is_safe("a\0b", 3)); /* NUL */
    CHECK(!SAFE("\x01"));
    CHECK(!SAFE("\x1f"));
    CHECK(!SAFE("\x0b"));                     /* VT */
    CHECK(!SAFE("\x0c"));                     /* FF */
    CHECK(!SAFE("\xef\xbf\xbe"));             /* U+FFFE */
    CHECK(!SAFE("\xef\xbf\xbf"));             /* U+FFFF */
    CHECK(!SAFE("\xed\xa0\x80"));             /* U+D800 lone high surrogate (CESU) */
    CHECK(!SAFE("\xed\xbf\xbf"));             /* U+DFFF */
    CHECK(!SAFE("\xed\xa0\xbd\xed\xb8\x80")); /* surrogate pair encoded as two 3-byte seqs */
    CHECK(!SAFE("\xc0\xaf"));                 /* overlong '/' */
    CHECK(!SAFE("\xc1\xbf"));                 /* overlong */
    CHECK(!SAFE("\xc0\x80"));                 /* overlong NUL (modified UTF-8) */
    CHECK(!SAFE("\xe0\x80\xaf"));             /* overlong 3-byte */
    CHECK(!SAFE("\xe0\x9f\xbf"));             /* overlong U+07FF */
    CHECK(!SAFE("\xf0\x80\x80\xaf"));         /* overlong 4-byte */
    CHECK(!SAFE("\xf0\x8f\xbf\xbf"));         /* overlong U+FFFF */
    CHECK(!SAFE("\xf4\x90\x80\x80"));         /* U+110000 */
    CHECK(!SAFE("\xf5\x80\x80\x80"));
    CHECK(!SAFE("\xff"));
    CHECK(!SAFE("\xfe"));
    CHECK(!SAFE("\x80"));         /* lone continuation */
    CHECK(!SAFE("a\xc3"));        /* truncated 2-byte */
    CHECK(!SAFE("\xe2\x82"));     /* truncated 3-byte */
    CHECK(!SAFE("\xf0\x9f\x98")); /* truncated 4-byte */
    CHECK(!SAFE("\xc3\x28"));     /* bad continuation */
    CHECK(!SAFE("\xe2\x28\xa1"));
    CHECK(!xml_is_safe("\xe2\x82\xac", 2)); /* n cuts a sequence */
}

/* Parses "<r a=\"escaped\">escaped</r>": 1 when expat (strict XML 1.0) accepts it, and then
 * *text (in a) is what the text came back as. */
static int
well_formed(struct arena *a, const char *s, size_t n, const char **text)
{
    struct buf b = BUF_INIT;
    struct xml_node *root;

    buf_puts(&b, "<r a=\"");
    xml_text(&b, s, n);
    buf_puts(&b, "\">");
    xml_text(&b, s, n);
    buf_puts(&b, "</r>");
    root = buf_ok(&b) ? xml_parse(a, b.p, b.len) : NULL;
    buf_free(&b);
    if (root != NULL)
        *text = root->text;
    return root != NULL;
}

static void
test_writer_always_well_formed(void)
{
    static const char *const bad[] = {
        "\xc0\xaf",         "\xe0\x80\xaf", "\xf0\x80\x80\xaf",
        "\xed\xa0\x80",     "\xed\xbf\xbf", "\xed\xa0\xbd\xed\xb8\x80",
        "\xef\xbf\xbe",     "\xef\xbf\xbf", "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80", "a\xc3",        "\xe2\x82",
        "\xf0\x9f\x98",     "\xc3\x28",     "\xe2\x28\xa1",
        "\x80\x80",         "\xfe\xff",
    };
    struct arena *a = arena_new(1 << 20);
    const char *text;
    char s[4];
    unsigned seed = 12345;
    int ok = 1;

    /* Every byte value alone and between two letters. */
    for (int c = 0; c < 256; c++) {
        s[0] = 'x';
        s[1] = (char)c;
        s[2] = 'y';
        ok &= well_formed(a, s + 1, 1, &text) && well_formed(a, s, 3, &text);
        if (xml_is_safe(s, 3)) /* and what XML can carry comes back as it was */
            ok &= well_formed(a, s, 3, &text) && memcmp(text, s, 3) == 0 && text[3] == '\0';
    }
    CHECK(ok);
    /* Invalid sequences become U+FFFD, the rest stays. */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(well_formed(a, bad[i], strlen(bad[i]), &text));
        CHECK(strstr(text, "\xef\xbf\xbd") != NULL && xml_is_safe(text, strlen(text)));
    }
    CHECK(well_formed(a,
                      "ok\x01<&>\xef\xbf\xbf"
                      "end",
                      12, &text));
    CHECK_STR(text, "ok\xef\xbf\xbd<&>\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                    "end");
    /* Random bytes, 20,000 strings of up to 16. */
    for (int i = 0; i < 20000 && ok; i++) {
        struct arena *ra = arena_new(1 << 16);
        char r[16];
        size_t n = (size_t)(i % 16) + 1;

        for (size_t j = 0; j < n; j++) {
            seed = seed * 1103515245u + 12345u;
            r[j] = (char)(seed >> 16);
        }
        ok = well_formed(ra, r, n, &text);
        arena_free(ra);
    }
    CHECK(ok);
    arena_free(a);
}

static const char block_list[] =
    "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<BlockList>\n"
    "  <Latest>YzQ5OTc3YzMtODAxMi00OWZhLWFjMmYtOGU5ZDgwMTBlMGNkMDAwMDAwMDAwMDAw</Latest>\n"
    "  <Committed>AAAAAQ==</Committed>\n"
    "  <Uncommitted>AAAAAg==</Uncommitted>\n"
    "  <Latest>AAAAAw==</Latest>\n"
    "</BlockList>\n";

static void
test_parse_block_list(void)
{
    struct arena *a = arena_new(1 << 20);
    struct xml_node *root, *c;
    int count = 0;

    root = xml_parse(a, block_list, sizeof(block_list) - 1);
    CHECK(root != NULL);
    if (root == NULL) {
        arena_free(a);
        return;
    }
    CHECK_STR(root->name, "BlockList");
    CHECK(root->next == NULL);
    c = root->child;
    CHECK(c != NULL && strcmp(c->name, "Latest") == 0);
    CHECK(c != NULL &&
          strcmp(c->text, "YzQ5OTc3YzMtODAxMi00OWZhLWFjMmYtOGU5ZDgwMTBlMGNkMDAwMDAwMDAwMDAw") == 0);
    CHECK(c != NULL && c->text_len == 64);
    CHECK(c != NULL && c->child == NULL);
    for (c = root->child; c != NULL; c = c->next)
        count++;
    CHECK(count == 4);
    c = root->child->next;
    CHECK(c != NULL && strcmp(c->name, "Committed") == 0 && strcmp(c->text, "AAAAAQ==") == 0);
    c = c ? c->next : NULL;
    CHECK(c != NULL && strcmp(c->name, "Uncommitted") == 0 && strcmp(c->text, "AAAAAg==") == 0);
    c = c ? c->next : NULL;
    CHECK(c != NULL && strcmp(c->name, "Latest") == 0 && strcmp(c->text, "AAAAAw==") == 0);

    CHECK(xml_child(root, "Uncommitted") != NULL);
    CHECK_STR(xml_child(root, "Latest")->text, root->child->text); /* the first one */
    CHECK(xml_child(root, "Missing") == NULL);
    CHECK(xml_child(root, "latest") == NULL); /* names are case-sensitive */
    CHECK(xml_child(NULL, "Latest") == NULL);
    arena_free(a);
}

static struct xml_node *
parse_str(struct arena *a, const char *s)
{
    return xml_parse(a, s, strlen(s));
}

static void
test_parse_forms(void)
{
    struct arena *a = arena_new(1 << 20);
    struct xml_node *r;

    /* No declaration, no BOM, self-closing and empty elements, entities and CDATA. */
    r = parse_str(a, "<Tags><TagSet><Tag><Key>k&amp;1</Key><Value/></Tag></TagSet></Tags>");
    CHECK(r != NULL);
    if (r != NULL) {
        struct xml_node *tag = xml_child(xml_child(r, "TagSet"), "Tag");

        CHECK(tag != NULL);
        CHECK_STR(xml_child(tag, "Key")->text, "k&1");
        CHECK_STR(xml_child(tag, "Value")->text, "");
        CHECK(xml_child(tag, "Value")->text_len == 0);
    }
    r = parse_str(a, "<a><![CDATA[<x>&]]>&lt;&#65;&#x42;</a>");
    CHECK(r != NULL && strcmp(r->text, "<x>&<AB") == 0);
    /* Mixed content: text around children is concatenated on the parent. */
    r = parse_str(a, "<a>x<b>y</b>z</a>");
    CHECK(r != NULL && strcmp(r->text, "xz") == 0 && strcmp(r->child->text, "y") == 0);
    /* Multi-byte text and line endings normalised by XML. */
    r = parse_str(a, "<a>caf\xc3\xa9\r\n</a>");
    CHECK(r != NULL && strcmp(r->text, "caf\xc3\xa9\n") == 0);
    /* Namespace prefixes are kept; attributes ignored. */
    r = parse_str(a, "<ns:a xmlns:ns=\"urn:x\" k=\"v\"><ns:b>1</ns:b></ns:a>");
    CHECK(r != NULL && strcmp(r->name, "ns:a") == 0 && xml_child(r, "ns:b") != NULL);
    /* Comments and processing instructions are fine. */
    r = parse_str(a, "<?xml version=\"1.0\"?><!-- hi --><a><?pi x?>t</a><!-- bye -->\n");
    CHECK(r != NULL && strcmp(r->text, "t") == 0);
    /* A UTF-16 document with BOM (expat converts to UTF-8). */
    {
        static const char u16[] = "\xff\xfe<\0a\0>\0x\0<\0/\0a\0>\0";

        r = xml_parse(a, u16, sizeof(u16) - 1);
        CHECK(r != NULL && strcmp(r->name, "a") == 0 && strcmp(r->text, "x") == 0);
    }
    arena_free(a);
}

static void
test_parse_refused(void)
{
    static const char *bad[] = {
        "",
        "   ",
        "\xef\xbb\xbf",
        "<?xml version=\"1.0\"?>",
        "<a>",
        "<a></b>",
        "<a><b></a></b>",
        "<a>x</a><b/>", /* two roots */
        "<a>x</a>junk",
        "text only",
        "<a>&undefined;</a>",
        "<a>&#0;</a>", /* not a Char */
        "<a>\x01</a>",
        "<a>\xc0\xaf</a>",     /* invalid UTF-8 */
        "<a>\xed\xa0\x80</a>", /* surrogate */
        "<a b=\"1\" b=\"2\"/>",
        "<a x='1></a>",
        "<1a/>",
        "<a>]]></a>",
        " <?xml version=\"1.0\"?><a/>", /* declaration not at the start */
        "<!DOCTYPE a><a/>",
        "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>",
        "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
        "]>\n<lolz>&lol9;</lolz>",
        "<!DOCTYPE a [<!ENTITY % p SYSTEM \"http://example.com/x.dtd\"> %p;]><a/>",
        "<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><a>&e;</a>",
    };
    struct arena *a = arena_new(1 << 20);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xml_node *r = parse_str(a, bad[i]);

        if (r != NULL)
            fprintf(stderr, "accepted bad document #%zu: %s\n", i, bad[i]);
        CHECK(r == NULL);
    }
    /* Embedded NUL byte. */
    CHECK(xml_parse(a, "<a>\0</a>", 8) == NULL);
    arena_free(a);
}

static char *
nested(int depth)
{
    struct buf b = BUF_INIT;

    for (int i = 0; i < depth; i++)
        buf_puts(&b, "<d>");
    buf_puts(&b, "x");
    for (int i = 0; i < depth; i++)
        buf_puts(&b, "</d>");
    return buf_steal(&b, NULL);
}

static void
test_limits(void)
{
    struct arena *a = arena_new(64 << 20);
    struct xml_node *r;
    struct buf b = BUF_INIT;
    char *s;

    s = nested(16);
    r = parse_str(a, s);
    CHECK(r != NULL);
    if (r != NULL) {
        int d = 1;

        while (r->child != NULL) {
            r = r->child;
            d++;
        }
        CHECK(d == 16 && strcmp(r->text, "x") == 0);
    }
    free(s);
    s = nested(17);
    CHECK(parse_str(a, s) == NULL);
    free(s);
    s = nested(100000);
    CHECK(parse_str(a, s) == NULL);
    free(s);

    /* 200,000 elements in all (root included) pass, one more does not. */
    buf_puts(&b, "<r>");
    for (int i = 0; i < 199999; i++)
        buf_puts(&b, "<e/>");
    buf_puts(&b, "</r>");
    CHECK(buf_ok(&b));
    r = xml_parse(a, b.p, b.len);
    CHECK(r != NULL);
    if (r != NULL) {
        size_t count = 0;

        for (struct xml_node *c = r->child; c != NULL; c = c->next)
            count++;
        CHECK(count == 199999);
    }
    buf_reset(&b);
    buf_puts(&b, "<r>");
    for (int i = 0; i < 200000; i++)
        buf_puts(&b, "<e/>");
    buf_puts(&b, "</r>");
    CHECK(xml_parse(a, b.p, b.len) == NULL);
    arena_free(a);

    /* A small arena: the tree does not fit -> NULL, no crash. */
    a = arena_new(16 << 10);
    CHECK(xml_parse(a, b.p, b.len) == NULL);
    arena_free(a);

    /* Large text is fine (it is bounded by the body). */
    a = arena_new(4 << 20);
    buf_reset(&b);
    buf_puts(&b, "<a>");
    for (int i = 0; i < 100000; i++)
        buf_puts(&b, "0123456789&amp;");
    buf_puts(&b, "</a>");
    r = xml_parse(a, b.p, b.len);
    CHECK(r != NULL && r->text_len == 1100000 && strlen(r->text) == 1100000);
    arena_free(a);
    buf_free(&b);
}

int
main(void)
{
    test_writer();
    test_is_safe();
    test_writer_always_well_formed();
    test_parse_block_list();
    test_parse_forms();
    test_parse_refused();
    test_limits();
    return check_report("test_xml");
}
