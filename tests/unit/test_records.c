/*
 * test_records.c -- metadata key encoding and record formats: round trips, ordering of blob keys
 * (listing order is key order), and that truncated or corrupt records are refused, never read
 * past.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "meta/meta.h"
#include "util/arena.h"
#include "util/buf.h"

static int
key_cmp(uint64_t cid, const char *a, const char *b)
{
    struct buf x = BUF_INIT, y = BUF_INIT;
    int c;

    meta_key_blob(&x, cid, a, strlen(a));
    meta_key_blob(&y, cid, b, strlen(b));
    c = memcmp(x.p, y.p, x.len < y.len ? x.len : y.len);
    if (c == 0)
        c = (x.len > y.len) - (x.len < y.len);
    buf_free(&x);
    buf_free(&y);
    return c;
}

int
main(void)
{
    struct arena *a = arena_new(1 << 20);
    struct meta_pair md[2] = {{"Alpha", "1"}, {"beta_2", "two words"}};
    struct block_ref blocks[2] = {{"QUFB", 4, {11, 1, 0, 100, NULL}},
                                  {"QkJC", 4, {12, 7, 123456789012ull, 5, NULL}}};
    struct blob_rec b = {0}, g;
    struct container_rec c = {0}, gc;
    struct buf v = BUF_INIT, lo = BUF_INIT, hi = BUF_INIT, k = BUF_INIT;
    struct extent e = {42, 3, 99, 1 << 20, NULL}, ge;

    /* Blob keys sort by container id, then by name bytes (Azure's listing order). */
    CHECK(key_cmp(1, "a", "b") < 0);
    CHECK(key_cmp(1, "a", "a/") < 0);
    CHECK(key_cmp(1, "a/b", "a0") < 0); /* '/' (0x2f) < '0' (0x30) */
    CHECK(key_cmp(1, "Z", "a") < 0);    /* byte order: upper case first */
    meta_key_blob_range(&lo, &hi, 5);
    meta_key_blob(&k, 5, "\xef\xbf\xbd", 3); /* any name of container 5 is inside the range */
    CHECK(memcmp(lo.p, k.p, lo.len) == 0 && memcmp(k.p, hi.p, hi.len) < 0);
    buf_free(&k);
    meta_key_blob(&k, 6, "", 0);
    CHECK(memcmp(k.p, hi.p, hi.len) >= 0);
    buf_free(&lo);
    buf_free(&hi);
    buf_free(&k);

    /* Staged-block keys of one blob never include another blob's ("a" vs "a\0..."). */
    meta_key_block_range(&lo, &hi, 5, "a", 1);
    meta_key_block(&k, 5, "ab", 2, "QUFB", 4);
    CHECK(!(memcmp(k.p, lo.p, lo.len) >= 0 && memcmp(k.p, hi.p, hi.len) < 0));
    buf_free(&k);
    meta_key_block(&k, 5, "a", 1, "QUFB", 4);
    CHECK(memcmp(k.p, lo.p, lo.len) >= 0 && memcmp(k.p, hi.p, hi.len) < 0);
    buf_free(&k);
    buf_free(&lo);
    buf_free(&hi);

    /* Blob record round trip. */
    b.type = BLOB_BLOCK;
    b.flags = BLOB_F_MD5;
    b.size = 105;
    b.etag = 0x8DC0A1B2C3D4E5Full;
    b.created = 1;
    b.modified = 2;
    b.content_type = "text/plain";
    b.content_encoding = "gzip";
    b.content_language = "";
    b.content_disposition = "attachment";
    b.cache_control = "no-cache";
    memset(b.md5, 0xab, 16);
    b.nmeta = 2;
    b.meta = md;
    b.nblocks = 2;
    b.blocks = blocks;
    meta_blob_encode(&b, &v);
    CHECK(buf_ok(&v));
    CHECK(meta_blob_decode(a, v.p, v.len, &g) == 0);
    CHECK(g.type == BLOB_BLOCK && g.flags == BLOB_F_MD5 && g.size == 105 && g.etag == b.etag);
    CHECK(g.created == 1 && g.modified == 2);
    CHECK_STR(g.content_type, "text/plain");
    CHECK_STR(g.content_encoding, "gzip");
    CHECK_STR(g.content_language, "");
    CHECK_STR(g.content_disposition, "attachment");
    CHECK_STR(g.cache_control, "no-cache");
    CHECK(memcmp(g.md5, b.md5, 16) == 0);
    CHECK(g.nmeta == 2);
    CHECK_STR(g.meta[1].name, "beta_2");
    CHECK_STR(g.meta[1].value, "two words");
    CHECK(g.nblocks == 2 && g.blocks[1].ext.seq == 12 && g.blocks[1].ext.vol == 7 &&
          g.blocks[1].ext.off == 123456789012ull && g.blocks[1].ext.len == 5 &&
          g.blocks[1].id_len == 4 && memcmp(g.blocks[1].id, "QkJC", 4) == 0);
    /* Every truncation is refused; so is trailing garbage and an unknown version. */
    for (size_t n = 0; n < v.len; n++)
        CHECK(meta_blob_decode(a, v.p, n, &g) == -1);
    buf_add(&v, "x", 1);
    CHECK(meta_blob_decode(a, v.p, v.len, &g) == -1);
    v.p[0] = 99;
    CHECK(meta_blob_decode(a, v.p, v.len - 1, &g) == -1);
    buf_free(&v);

    /* A record without inline payloads is version 2; one with a payload kept inline (struct
     * extent's inl) is version 3, carries the bytes, and is refused when cut anywhere. */
    meta_blob_encode(&b, &v);
    CHECK(v.p[0] == 2);
    buf_free(&v);
    {
        struct block_ref ib[2] = {{"", 0, {77, 2 << 8, 0x1234, 5, "hello"}}, blocks[1]};
        struct blob_rec x = b, y;
        x.blocks = ib;
        meta_blob_encode(&x, &v);
        CHECK(buf_ok(&v) && v.p[0] == 3);
        CHECK(meta_blob_decode(a, v.p, v.len, &y) == 0);
        CHECK(y.nblocks == 2 && y.blocks[0].ext.seq == 77 && y.blocks[0].ext.len == 5 &&
              y.blocks[0].ext.inl != NULL && memcmp(y.blocks[0].ext.inl, "hello", 5) == 0 &&
              y.blocks[0].ext.inl != ib[0].ext.inl);
        CHECK(y.blocks[1].ext.inl == NULL && y.blocks[1].ext.seq == 12);
        for (size_t n = 0; n < v.len; n++)
            CHECK(meta_blob_decode(a, v.p, n, &y) == -1);
        buf_free(&v);
    }

    /* Version 2 extension fields round trip; a version 1 record still decodes. */
    {
        struct meta_pair tags[1] = {{"project", "cobalt"}};
        struct blob_rec x = b, y;
        x.version_id = 1234567;
        x.deleted = 99;
        x.lease = (struct lease_rec){LEASE_LEASED, 30, 555, "6f1a0d3e-0000-4000-8000-000000000001"};
        x.ntags = 1;
        x.tags = tags;
        x.tier = (struct tier_rec){TIER_ARCHIVE, 1, TIER_COOL + 1, 1, 777, 888};
        x.copy = (struct copy_rec){COPY_PENDING,
                                   "c0c0c0c0-0000-4000-8000-000000000002",
                                   "http://src/x",
                                   5,
                                   10,
                                   0,
                                   "copying",
                                   31337};
        x.immutable_until = 4242;
        x.immutable_mode = IMMUT_LOCKED;
        x.legal_hold = 1;
        x.appends = 49999;
        meta_blob_encode(&x, &v);
        CHECK(meta_blob_decode(a, v.p, v.len, &y) == 0);
        CHECK(y.version_id == 1234567 && y.deleted == 99);
        CHECK(y.lease.state == LEASE_LEASED && y.lease.duration == 30 && y.lease.until == 555);
        CHECK_STR(y.lease.id, "6f1a0d3e-0000-4000-8000-000000000001");
        CHECK(y.ntags == 1);
        CHECK_STR(y.tags[0].value, "cobalt");
        CHECK(y.tier.tier == TIER_ARCHIVE && y.tier.explicit_ && y.tier.rehydrate_to == 2 &&
              y.tier.priority == 1 && y.tier.changed == 777 && y.tier.rehydrated_at == 888);
        CHECK(y.copy.status == COPY_PENDING && y.copy.copied == 5 && y.copy.total == 10);
        CHECK_STR(y.copy.source, "http://src/x");
        CHECK_STR(y.copy.description, "copying");
        CHECK(y.copy.dest_snapshot == 31337);
        CHECK(y.immutable_until == 4242 && y.immutable_mode == IMMUT_LOCKED && y.legal_hold == 1);
        CHECK(y.appends == 49999);
        CHECK(y.nblocks == 2 && y.size == 105);
        buf_free(&v);
        /* Unknown extension tags (from a newer version) are skipped. */
        meta_blob_encode(&b, &v);
        buf_u8(&v, 200);
        buf_bytes(&v, "future", 6);
        CHECK(meta_blob_decode(a, v.p, v.len, &y) == 0 && y.size == 105 && y.deleted == 0);
        /* A version 1 record: same layout without extensions. */
        v.p[0] = 1;
        CHECK(meta_blob_decode(a, v.p, v.len, &y) == -1); /* v1 allows no trailing bytes */
        v.len -= 1 + 1 + 6;
        CHECK(meta_blob_decode(a, v.p, v.len, &y) == 0 && y.size == 105);
        buf_free(&v);
    }

    /* Container record round trip. */
    c.id = 77;
    c.created = 10;
    c.modified = 20;
    c.etag = 30;
    c.public_access = PUBLIC_BLOB;
    c.nmeta = 1;
    c.meta = md;
    meta_container_encode(&c, &v);
    CHECK(meta_container_decode(a, v.p, v.len, &gc) == 0);
    CHECK(gc.id == 77 && gc.created == 10 && gc.modified == 20 && gc.etag == 30 &&
          gc.public_access == PUBLIC_BLOB && gc.nmeta == 1);
    CHECK_STR(gc.meta[0].value, "1");
    CHECK(meta_container_decode(a, v.p, v.len - 1, &gc) == -1);
    buf_free(&v);
    {
        struct signed_id acl[2] = {{"p1", "2024-01-01T00:00:00Z", "2030-01-01T00:00:00Z", "rl"},
                                   {"p2", "", "", "r"}};
        c.deleted = 31;
        c.lease = (struct lease_rec){LEASE_BREAKING, -1, 66, "x"};
        c.nacl = 2;
        c.acl = acl;
        c.immutable_days = 7;
        c.legal_hold = 1;
        meta_container_encode(&c, &v);
        CHECK(meta_container_decode(a, v.p, v.len, &gc) == 0);
        CHECK(gc.deleted == 31 && gc.lease.state == LEASE_BREAKING && gc.lease.duration == -1);
        CHECK(gc.nacl == 2 && gc.immutable_days == 7 && gc.legal_hold == 1);
        CHECK_STR(gc.acl[0].permission, "rl");
        CHECK_STR(gc.acl[1].start, "");
        buf_free(&v);
    }

    /* Extents. */
    meta_extent_encode(&e, &v);
    CHECK(meta_extent_decode(v.p, v.len, &ge) == 0 && ge.seq == 42 && ge.vol == 3 && ge.off == 99 &&
          ge.len == 1 << 20);
    CHECK(meta_extent_decode(v.p, v.len - 1, &ge) == -1);
    buf_free(&v);

    arena_free(a);
    return check_report("test_records");
}
