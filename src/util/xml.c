/*
 * xml.c -- escaping XML writer and a small expat-based reader; see xml.h.
 *
 * Writer: responses are built in a struct buf.  xml_text() escapes the five markup characters and
 * CR (a raw CR would come back as LF after the client's end-of-line normalisation), and writes
 * U+FFFD for every byte that is not part of a character XML 1.0 can carry (C0 controls but TAB,
 * LF and CR; U+FFFE/U+FFFF; invalid UTF-8, surrogates included): such characters cannot even be
 * written as references, and whatever a stored value holds -- refused at write time since, but
 * possibly stored by an older version or by a path that missed it -- a response is always
 * well-formed.  Blob names must round-trip exactly, so xml_blob_name() switches to Azure's
 * Encoded="true" percent form for them instead.
 *
 * Reader: request bodies are parsed by expat (the only file that includes expat.h) into a tree of
 * struct xml_node in the request arena.  Hostile input is bounded by:
 *   X1  no DTD: a DOCTYPE or entity declaration stops the parser, so no entity can expand (billion
 *       laughs) and no external resource is named; undefined entity references are expat errors.
 *   X2  element depth <= XML_MAX_DEPTH and element count <= XML_MAX_NODES.
 *   X3  total character data <= the body size (without entities it can only shrink; checked
 *       anyway).
 *   X4  every tree byte comes from the arena, whose cap turns a big tree into NULL, not an abort.
 * expat's own working memory is malloc'd and freed before xml_parse returns.
 */
#include "util/xml.h"

#include <expat.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/codec.h"

#define XML_MAX_DEPTH 16
#define XML_MAX_NODES 200000

/*
 * Length of the XML 1.0 character at s (strict UTF-8 -- RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF -- and XML's Char production: #x9 | #xA | #xD |
 * [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]), or 0 when there is none.  avail >= 1.
 */
static size_t
xml_char(const unsigned char *s, size_t avail)
{
    size_t len;

    if (s[0] < 0x80)
        return s[0] >= 0x20 || s[0] == 0x9 || s[0] == 0xA || s[0] == 0xD ? 1 : 0;
    len = utf8_seq(s, avail);
    if (len == 3 && s[0] == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
        return 0; /* U+FFFE, U+FFFF */
    return len;
}

void
xml_text(struct buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0, len;

    while (i < n) {
        const char *rep;

        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        case '\r':
            rep = "&#xD;";
            break;
        default:
            if (s[i] >= 0x20 && s[i] < 0x80) {
                i++;
                continue;
            }
            if ((len = xml_char(s + i, n - i)) != 0) {
                i += len;
                continue;
            }
            rep = "\xEF\xBF\xBD"; /* U+FFFD for a byte XML cannot carry in any form */
            break;
        }
        buf_add(b, str + run, i - run);
        buf_puts(b, rep);
        run = ++i;
    }
    buf_add(b, str + run, n - run);
}

void
xml_elem(struct buf *b, const char *name, const char *text)
{
    buf_putc(b, '<');
    buf_puts(b, name);
    if (text == NULL || text[0] == '\0') {
        buf_puts(b, " />");
        return;
    }
    buf_putc(b, '>');
    xml_text(b, text, strlen(text));
    buf_puts(b, "</");
    buf_puts(b, name);
    buf_putc(b, '>');
}

void
xml_blob_name(struct buf *b, const char *name, size_t n)
{
    if (xml_is_safe(name, n)) {
        buf_puts(b, "<Name>");
        xml_text(b, name, n);
    } else {
        buf_puts(b, "<Name Encoded=\"true\">");
        pct_encode(b, name, n, 1);
    }
    buf_puts(b, "</Name>");
}

int
xml_is_safe(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, len;

    for (; i < n; i += len)
        if ((len = xml_char(s + i, n - i)) == 0)
            return 0;
    return 1;
}

/* Parser state.  stack[d] is the open element at depth d (root at 0); text[d] collects its data. */
struct xml_parse {
    XML_Parser p;
    struct arena *a;
    struct xml_node *root;
    struct xml_node *stack[XML_MAX_DEPTH];
    struct xml_node *last[XML_MAX_DEPTH]; /* last child of stack[d], for O(1) append */
    struct buf text[XML_MAX_DEPTH];
    int depth; /* number of open elements */
    size_t nodes, text_total, text_max;
    int failed;
};

static void
xp_fail(struct xml_parse *x)
{
    if (!x->failed) {
        x->failed = 1;
        XML_StopParser(x->p, XML_FALSE);
    }
}

static void XMLCALL
xp_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct xml_parse *x = ud;
    struct xml_node *n;

    (void)attrs; /* no request body we accept uses attributes */
    if (x->failed)
        return;
    if (x->depth >= XML_MAX_DEPTH || x->nodes >= XML_MAX_NODES) {
        xp_fail(x);
        return;
    }
    if ((n = arena_calloc(x->a, sizeof(*n))) == NULL ||
        (n->name = arena_strdup(x->a, name)) == NULL) {
        xp_fail(x);
        return;
    }
    n->text = "";
    x->nodes++;
    if (x->depth == 0) {
        x->root = n;
    } else if (x->last[x->depth - 1] == NULL) {
        x->stack[x->depth - 1]->child = n;
        x->last[x->depth - 1] = n;
    } else {
        x->last[x->depth - 1]->next = n;
        x->last[x->depth - 1] = n;
    }
    x->stack[x->depth] = n;
    x->last[x->depth] = NULL;
    buf_reset(&x->text[x->depth]);
    x->depth++;
}

static void XMLCALL
xp_end(void *ud, const XML_Char *name)
{
    struct xml_parse *x = ud;
    struct xml_node *n;
    struct buf *t;

    (void)name; /* expat has already matched it against the start tag */
    if (x->failed || x->depth == 0)
        return;
    x->depth--;
    n = x->stack[x->depth];
    t = &x->text[x->depth];
    if (!buf_ok(t)) {
        xp_fail(x);
        return;
    }
    if (t->len > 0) {
        char *s = arena_strndup(x->a, t->p, t->len);

        if (s == NULL) {
            xp_fail(x);
            return;
        }
        n->text = s;
        n->text_len = t->len;
    }
}

static void XMLCALL
xp_chars(void *ud, const XML_Char *s, int len)
{
    struct xml_parse *x = ud;

    if (x->failed || x->depth == 0 || len <= 0)
        return;
    x->text_total += (size_t)len;
    if (x->text_total > x->text_max) { /* X3 */
        xp_fail(x);
        return;
    }
    buf_add(&x->text[x->depth - 1], s, (size_t)len);
}

static void XMLCALL
xp_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
           int has_internal_subset)
{
    xp_fail(ud); /* X1 */
}

static void XMLCALL
xp_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value, int value_len,
          const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
          const XML_Char *notation)
{
    xp_fail(ud); /* X1 */
}

struct xml_node *
xml_parse(struct arena *a, const char *body, size_t n)
{
    struct xml_parse x;
    struct xml_node *root = NULL;
    size_t off = 0;
    int i;

    memset(&x, 0, sizeof(x));
    for (i = 0; i < XML_MAX_DEPTH; i++)
        x.text[i] = (struct buf)BUF_INIT;
    x.a = a;
    x.text_max = n;
    /* NULL encoding: honour the BOM / XML declaration; expat hands us UTF-8 either way. */
    if ((x.p = XML_ParserCreate(NULL)) == NULL)
        return NULL;
    XML_SetUserData(x.p, &x);
    XML_SetElementHandler(x.p, xp_start, xp_end);
    XML_SetCharacterDataHandler(x.p, xp_chars);
    XML_SetStartDoctypeDeclHandler(x.p, xp_doctype);
    XML_SetEntityDeclHandler(x.p, xp_entity);
    XML_SetParamEntityParsing(x.p, XML_PARAM_ENTITY_PARSING_NEVER);

    /* XML_Parse takes an int length; feed huge bodies in pieces (they are capped long before). */
    do {
        size_t k = n - off > INT_MAX / 2 ? INT_MAX / 2 : n - off;
        int final = off + k == n;

        if (XML_Parse(x.p, body + off, (int)k, final) != XML_STATUS_OK)
            goto done;
        off += k;
    } while (off < n && !x.failed);

    if (!x.failed && x.depth == 0)
        root = x.root;
done:
    XML_ParserFree(x.p);
    for (i = 0; i < XML_MAX_DEPTH; i++)
        buf_free(&x.text[i]);
    return root;
}

struct xml_node *
xml_child(const struct xml_node *n, const char *name)
{
    struct xml_node *c;

    if (n == NULL)
        return NULL;
    for (c = n->child; c != NULL; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}
