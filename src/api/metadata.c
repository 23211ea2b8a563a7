/*
 * metadata.c -- user metadata (x-ms-meta-*): read and validated from request headers, written as
 * response headers and as the <Metadata> element of listings.
 *
 * A name is a C# identifier, unique without regard to case; values are header text that XML can
 * carry; names and values together at most 8 KiB.
 */
#include "api/api_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/parse.h"
#include "util/arena.h"
#include "util/xml.h"

#define META_PREFIX "x-ms-meta-"
#define META_LIMIT  8192

int
api_read_metadata(struct api_req *q, size_t *n, struct meta_pair **out)
{
    const struct http_req *h = q->h;
    size_t cnt = 0, total = 0, plen = strlen(META_PREFIX);
    struct meta_pair *m;

    *n = 0;
    *out = NULL;
    for (size_t i = 0; i < h->nheaders; i++)
        if (strncasecmp(h->headers[i].name, META_PREFIX, plen) == 0)
            cnt++;
    if (cnt == 0)
        return 0;
    if ((m = arena_alloc(q->a, sizeof(*m) * cnt)) == NULL)
        return api_fail(q, E_InternalError);
    cnt = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const char *name = h->headers[i].name + plen;
        if (strncasecmp(h->headers[i].name, META_PREFIX, plen) != 0)
            continue;
        if (*name == '\0')
            return api_fail(q, E_EmptyMetadataKey);
        if (!metadata_name_valid(name, strlen(name)))
            return api_fail_header(q, E_InvalidMetadata, h->headers[i].name, NULL);
        for (size_t j = 0; j < cnt; j++)
            if (strcasecmp(m[j].name, name) == 0)
                return api_fail_header(q, E_InvalidMetadata, h->headers[i].name, NULL);
        /* Control characters, invalid UTF-8, what XML cannot carry: never stored. */
        if (!header_text_valid(h->headers[i].value, strlen(h->headers[i].value)))
            return api_fail_header(q, E_InvalidHeaderValue, h->headers[i].name, NULL);
        total += strlen(name) + strlen(h->headers[i].value);
        if (total > META_LIMIT)
            return api_fail(q, E_MetadataTooLarge);
        m[cnt].name = name;
        m[cnt].value = h->headers[i].value;
        cnt++;
    }
    *n = cnt;
    *out = m;
    return 0;
}

void
api_put_metadata_headers(struct api_req *q, size_t n, const struct meta_pair *m)
{
    char name[600];

    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), META_PREFIX "%s", m[i].name);
        api_hdr(q, name, m[i].value);
    }
}

void
api_xml_metadata(struct buf *b, size_t n, const struct meta_pair *m)
{
    buf_puts(b, "<Metadata>");
    for (size_t i = 0; i < n; i++)
        xml_elem(b, m[i].name, m[i].value);
    buf_puts(b, "</Metadata>");
}
