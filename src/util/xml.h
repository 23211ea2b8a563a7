/*
 * xml.h -- XML in and out.
 *
 * Out: responses are written by escaping into a struct buf (xml_text, xml_elem).  Text that is not
 * valid XML 1.0 (control characters, invalid UTF-8) cannot be escaped: xml_text replaces it, and
 * blob names, which must round-trip, use Azure's `Encoded="true"` percent form (xml_blob_name).
 *
 * In: request bodies (block lists, tags, ACLs, service properties) are small, so they are parsed by
 * expat into a tiny tree in the request arena, with limits on depth, node count and text size, and
 * with DTDs/entities refused (billion laughs).  Handlers then walk the tree.
 */
#ifndef COBALT_XML_H
#define COBALT_XML_H

#include <stddef.h>

struct arena;
struct buf;

/* Appends s[0..n) with & < > " ' and CR escaped, and U+FFFD in place of each byte that is not
 * part of a character XML 1.0 allows: the output is always well-formed text or attribute value. */
void xml_text(struct buf *b, const char *s, size_t n);
/* Appends <name>escaped text</name>; text NULL or "" gives <name />. */
void xml_elem(struct buf *b, const char *name, const char *text);
/* Appends a listing's <Name> of a blob (or prefix): escaped text when xml_is_safe(), else Azure's
 * <Name Encoded="true"> with the name percent-encoded (protocol doc §4.2), so it round-trips. */
void xml_blob_name(struct buf *b, const char *name, size_t n);
/* 1 when s[0..n) is valid UTF-8 made only of characters XML 1.0 allows. */
int xml_is_safe(const char *s, size_t n);

struct xml_node {
    const char *name; /* element name (namespace prefix kept as is) */
    const char *text; /* concatenated character data, NUL-terminated, "" if none */
    size_t text_len;
    struct xml_node *child; /* first child element */
    struct xml_node *next;  /* next sibling */
};

/*
 * Parses a complete document.  Returns the root element, or NULL when the body is not well-formed
 * XML, uses a DTD or entity declaration, exceeds the limits (depth 16, 200,000 elements) or the
 * arena is full.  A leading UTF-8 BOM and an XML declaration are accepted.
 */
struct xml_node *xml_parse(struct arena *a, const char *body, size_t n);
/* First child element called `name`, or NULL. */
struct xml_node *xml_child(const struct xml_node *n, const char *name);

#endif
