/*
 * fuzz_records.c -- the decoders of what Cobalt reads back from disk: metadata records
 * (src/meta/meta.h: meta_blob_decode, meta_container_decode, meta_extent_decode) and needle headers
 * and trailers (src/store/needle.h).
 *
 * A damaged RocksDB value or volume must give an error, never a crash or an allocation sized by
 * a corrupt count.  Input: one selector byte, then the record bytes.  Checked besides crashes:
 * whatever decodes re-encodes to bytes that decode to the same record (encode is a fixpoint
 * after one decode), and a needle header decodes iff its CRC and constants are right.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "meta/meta.h"
#include "store/needle.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/crc.h"

/* records.c's point reads call meta_get; nothing here reaches them. */
int
meta_get(struct meta *m, const void *key, size_t klen, struct arena *a, char **val, size_t *len)
{
    (void)m, (void)key, (void)klen, (void)a, (void)val, (void)len;
    abort();
}

static int
same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int
same_meta(size_t n1, const struct meta_pair *a, size_t n2, const struct meta_pair *b)
{
    if (n1 != n2)
        return 0;
    for (size_t i = 0; i < n1; i++)
        if (!same_str(a[i].name, b[i].name) || !same_str(a[i].value, b[i].value))
            return 0;
    return 1;
}

static int
same_ext(const struct extent *a, const struct extent *b)
{
    return a->seq == b->seq && a->vol == b->vol && a->off == b->off && a->len == b->len;
}

static void
blob_fixpoint(struct arena *a, const struct blob_rec *b1)
{
    struct buf e1 = BUF_INIT, e2 = BUF_INIT;
    struct blob_rec b2;

    meta_blob_encode(b1, &e1);
    FUZZ_CHECK(buf_ok(&e1));
    FUZZ_CHECK(meta_blob_decode(a, e1.p, e1.len, &b2) == 0);
    FUZZ_CHECK(b2.type == b1->type && b2.flags == b1->flags && b2.size == b1->size &&
               b2.etag == b1->etag && b2.created == b1->created && b2.modified == b1->modified);
    FUZZ_CHECK(same_str(b2.content_type, b1->content_type) &&
               same_str(b2.content_encoding, b1->content_encoding) &&
               same_str(b2.content_language, b1->content_language) &&
               same_str(b2.content_disposition, b1->content_disposition) &&
               same_str(b2.cache_control, b1->cache_control));
    FUZZ_CHECK(!(b1->flags & BLOB_F_MD5) || memcmp(b2.md5, b1->md5, 16) == 0);
    FUZZ_CHECK(same_meta(b1->nmeta, b1->meta, b2.nmeta, b2.meta));
    FUZZ_CHECK(b2.nblocks == b1->nblocks);
    for (size_t i = 0; i < b1->nblocks; i++) {
        FUZZ_CHECK(b2.blocks[i].id_len == b1->blocks[i].id_len);
        FUZZ_CHECK(memcmp(b2.blocks[i].id, b1->blocks[i].id, b1->blocks[i].id_len) == 0);
        FUZZ_CHECK(same_ext(&b2.blocks[i].ext, &b1->blocks[i].ext));
    }
    if (b1->type == BLOB_PAGE) { /* the sequence number and the page map layers */
        FUZZ_CHECK(b2.seqno == b1->seqno && b2.nlayers == b1->nlayers);
        for (size_t i = 0; i < b1->nlayers; i++)
            FUZZ_CHECK(b2.layers[i] == b1->layers[i]);
    }
    meta_blob_encode(&b2, &e2);
    FUZZ_CHECK(e2.len == e1.len && memcmp(e2.p, e1.p, e1.len) == 0);
    buf_free(&e1);
    buf_free(&e2);
}

static void
container_fixpoint(struct arena *a, const struct container_rec *c1)
{
    struct buf e1 = BUF_INIT;
    struct container_rec c2;

    meta_container_encode(c1, &e1);
    FUZZ_CHECK(buf_ok(&e1));
    FUZZ_CHECK(meta_container_decode(a, e1.p, e1.len, &c2) == 0);
    FUZZ_CHECK(c2.id == c1->id && c2.created == c1->created && c2.modified == c1->modified &&
               c2.etag == c1->etag && c2.public_access == c1->public_access);
    FUZZ_CHECK(same_meta(c1->nmeta, c1->meta, c2.nmeta, c2.meta));
    buf_free(&e1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    uint8_t sel = fz_u8(&f);
    size_t n;
    uint8_t *in = fz_rest(&f, &n);
    struct arena *a = arena_new(sel & 0x80 ? (1u << 12) : (16u << 20));

    switch (sel % 4) {
    case 0: {
        struct blob_rec b;
        if (meta_blob_decode(a, (const char *)in, n, &b) == 0) {
            FUZZ_CHECK(b.nblocks <= n);
            for (size_t i = 0; i < b.nmeta; i++)
                FUZZ_CHECK(b.meta[i].name != NULL && b.meta[i].value != NULL);
            if (!(sel & 0x80))
                blob_fixpoint(a, &b);
        }
        break;
    }
    case 1: {
        struct container_rec c;
        if (meta_container_decode(a, (const char *)in, n, &c) == 0 && !(sel & 0x80))
            container_fixpoint(a, &c);
        break;
    }
    case 2: {
        struct extent e, e2;
        struct buf b = BUF_INIT;
        if (meta_extent_decode((const char *)in, n, &e) == 0) {
            meta_extent_encode(&e, &b);
            FUZZ_CHECK(buf_ok(&b));
            FUZZ_CHECK(meta_extent_decode(b.p, b.len, &e2) == 0 && same_ext(&e, &e2));
            FUZZ_CHECK(b.len <= n);   /* only non-minimal varints can make the input longer */
        }
        buf_free(&b);
        break;
    }
    default: {
        unsigned char hdr[NEEDLE_HDR_SIZE], enc[NEEDLE_HDR_SIZE];
        struct needle_hdr h = {0, 0};
        memset(hdr, 0, sizeof(hdr));
        memcpy(hdr, in, n < sizeof(hdr) ? n : sizeof(hdr));
        if (sel & 0x40) {   /* make it pass the CRC so the fields behind it are exercised */
            uint32_t c = crc32c(0, hdr, 28);
            hdr[28] = (unsigned char)c;
            hdr[29] = (unsigned char)(c >> 8);
            hdr[30] = (unsigned char)(c >> 16);
            hdr[31] = (unsigned char)(c >> 24);
        }
        if (needle_hdr_decode(hdr, &h) == 0) {
            struct needle_hdr h2;
            FUZZ_CHECK(memcmp(hdr, "CBN1", 4) == 0 && hdr[4] == NEEDLE_VERSION &&
                       hdr[5] == NEEDLE_CHUNK_SHIFT);
            needle_hdr_encode(&h, enc);
            FUZZ_CHECK(needle_hdr_decode(enc, &h2) == 0 && h2.seq == h.seq && h2.len == h.len);
            /* Size arithmetic on a decoded (untrusted) length must not wrap silently. */
            (void)needle_size(h.len);
        }
        if (n >= 4) {   /* trailer of (n - 4) / 4 chunk CRCs, checked in place */
            uint64_t chunks = (n - 4) / 4;
            uint8_t *t = malloc(4 * chunks + 4);
            memcpy(t, in, 4 * chunks + 4);
            if (needle_trailer_check(t, chunks) == 0) {
                needle_trailer_seal(t, chunks);
                FUZZ_CHECK(memcmp(t, in, 4 * chunks + 4) == 0);
            }
            needle_trailer_seal(t, chunks);
            FUZZ_CHECK(needle_trailer_check(t, chunks) == 0);
            free(t);
        }
        break;
    }
    }
    arena_free(a);
    free(in);
    return 0;
}
