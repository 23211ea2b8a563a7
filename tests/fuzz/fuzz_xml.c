/*
 * fuzz_xml.c -- src/util/xml.h: the expat-based reader of request bodies (block lists, tags,
 * ACLs, service properties, batch bodies) and the escaping writer of responses.
 *
 * Input: one selector byte, then either a whole XML document (the reader) or a text to escape.
 * Checked: the tree the reader returns is well formed (bounded depth, every text NUL-terminated
 * with text_len its length, at most 200,000 elements); for every text, "<a>escaped</a>" written
 * by xml_text() parses (a stored value can never make a response malformed); and for every text
 * xml_is_safe() accepts, parsing gives back exactly the same bytes (so a listing or an error body
 * never alters a name, CR included).
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/xml.h"

static size_t
walk(const struct xml_node *n, int depth)
{
    size_t count = 0;

    for (; n != NULL; n = n->next) {
        FUZZ_CHECK(depth <= 16);   /* the root is depth 1 */
        FUZZ_CHECK(n->name != NULL && n->text != NULL);
        FUZZ_CHECK(strlen(n->text) == n->text_len);
        FUZZ_CHECK(xml_child(n, n->name) == NULL || xml_child(n, n->name)->name != NULL);
        count += 1 + walk(n->child, depth + 1);
    }
    return count;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    uint8_t sel = fz_u8(&f);
    size_t n;
    uint8_t *in = fz_rest(&f, &n);
    struct arena *a = arena_new(sel & 1 ? (1u << 16) : (64u << 20));   /* small cap: OOM paths */
    struct xml_node *root;

    if (sel & 2) {
        root = xml_parse(a, (const char *)in, n);
        if (root != NULL) {
            FUZZ_CHECK(root->next == NULL);
            FUZZ_CHECK(walk(root, 1) <= 200000);
        }
    } else {
        struct buf b = BUF_INIT;
        int safe = xml_is_safe((const char *)in, n);
        int has_nul = memchr(in, 0, n) != NULL;

        buf_puts(&b, "<a>");
        xml_text(&b, (const char *)in, n);
        buf_puts(&b, "</a>");
        FUZZ_CHECK(buf_ok(&b));
        FUZZ_CHECK(!(safe && has_nul));
        if (!(sel & 1)) {
            /* Whatever the bytes, the output is well-formed; safe text comes back unchanged. */
            root = xml_parse(a, b.p, b.len);
            FUZZ_CHECK(root != NULL);
            FUZZ_CHECK(!safe || (root->text_len == n && memcmp(root->text, in, n) == 0));
        }
        buf_free(&b);
    }
    arena_free(a);
    free(in);
    return 0;
}
