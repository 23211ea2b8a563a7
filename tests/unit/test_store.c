/*
 * test_store.c -- needle format, volume writes and verified reads, against a real temp directory:
 * round trips of many sizes (chunk boundaries included), streaming in odd pieces, reopen, volume
 * roll-over, and that a flipped bit anywhere in the data is reported (-EBADMSG), never returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store/needle.h"
#include "store/store.h"

static void
fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
}

static int
write_needle(struct store *s, const unsigned char *p, size_t n, size_t piece, struct extent *e)
{
    struct needle_writer *w;

    if (store_write_begin(s, n, &w) != 0)
        return -1;
    for (size_t at = 0; at < n; at += piece)
        if (store_write(w, p + at, n - at < piece ? n - at : piece) != 0) {
            store_write_abort(w);
            return -1;
        }
    return store_write_finish(w, e) == 0 && store_sync(s, e, 1) == 0 ? 0 : -1;
}

static int
read_all(struct store *s, const struct extent *e, uint64_t off, unsigned char *dst, size_t n)
{
    struct store_reader *r;
    size_t got = 0;
    long k = 0;

    if (store_reader_new(s, &r) != 0)
        return -1;
    while (got < n && (k = store_reader_read(r, e, off + got, dst + got, n - got)) > 0)
        got += (size_t)k;
    store_reader_free(r);
    return got == n ? 0 : (k < 0 ? (int)k : -1);
}

/* Reads needle e whole in pieces of `piece` bytes, as a streamed GET does (chunk-aligned whole
 * chunks, verified in the caller's buffer). */
static int
read_pieces(struct store *s, const struct extent *e, unsigned char *dst, size_t piece)
{
    struct store_reader *r;
    uint64_t got = 0;
    long k = 1;

    if (store_reader_new(s, &r) != 0)
        return -1;
    while (got < e->len && k > 0) {
        size_t want = e->len - got < piece ? (size_t)(e->len - got) : piece;
        if ((k = store_reader_read(r, e, got, dst + got, want)) > 0)
            got += (uint64_t)k;
    }
    store_reader_free(r);
    return got == e->len ? 0 : (k < 0 ? (int)k : -1);
}

static void
test_needle_format(void)
{
    unsigned char hdr[NEEDLE_HDR_SIZE], crcs[3 * 4 + 4] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    struct needle_hdr h = {42, 123456789}, g;

    CHECK(needle_chunks(0) == 0);
    CHECK(needle_chunks(1) == 1);
    CHECK(needle_chunks(NEEDLE_CHUNK) == 1);
    CHECK(needle_chunks(NEEDLE_CHUNK + 1) == 2);
    CHECK(needle_size(1) == NEEDLE_HDR_SIZE + 1 + 4 + 4);
    needle_hdr_encode(&h, hdr);
    CHECK(needle_hdr_decode(hdr, &g) == 0 && g.seq == 42 && g.len == 123456789);
    hdr[17] ^= 1;
    CHECK(needle_hdr_decode(hdr, &g) == -1);
    needle_trailer_seal(crcs, 3);
    CHECK(needle_trailer_check(crcs, 3) == 0);
    crcs[5] ^= 0x80;
    CHECK(needle_trailer_check(crcs, 3) == -1);
}

int
main(void)
{
    char dir[] = "/tmp/cobalt-test-store-XXXXXX";
    size_t sizes[] = {1,     2,      4095,    4096,    65535,   65536,
                      65537, 131072, 1048575, 1048576, 1048577, 3 * 1048576 + 17};
    struct extent ext[sizeof(sizes) / sizeof(sizes[0])];
    struct store_config cfg = {0};
    struct store *s;
    unsigned char *src = malloc(4 << 20), *dst = malloc(4 << 20);
    char path[256];
    int fd;

    test_needle_format();
    CHECK(mkdtemp(dir) != NULL);
    cfg.dir = dir;
    cfg.fsync = 1;
    cfg.volume_size = 2 << 20; /* small, so the test crosses volumes */
    CHECK(store_open(&cfg, &s) == 0);

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        fill(src, sizes[i], (unsigned)i + 1);
        CHECK(write_needle(s, src, sizes[i], 1000 + i * 7919, &ext[i]) == 0);
        memset(dst, 0, sizes[i]);
        CHECK(read_all(s, &ext[i], 0, dst, sizes[i]) == 0 && memcmp(src, dst, sizes[i]) == 0);
        memset(dst, 0, sizes[i]);
        CHECK(read_pieces(s, &ext[i], dst, 256 << 10) == 0 && memcmp(src, dst, sizes[i]) == 0);
        if (sizes[i] > 65530 + 70000) { /* a range that straddles chunk boundaries */
            CHECK(read_all(s, &ext[i], 65530, dst, 70000) == 0 &&
                  memcmp(src + 65530, dst, 70000) == 0);
        }
    }
    CHECK(ext[sizeof(sizes) / sizeof(sizes[0]) - 1].vol > 1); /* rolled over */

    /* Too many bytes, too few bytes. */
    {
        struct needle_writer *w;
        struct extent e;
        CHECK(store_write_begin(s, 10, &w) == 0);
        CHECK(store_write(w, src, 11) == EINVAL);
        CHECK(store_write(w, src, 5) == 0);
        CHECK(store_write_finish(w, &e) == EINVAL);
        CHECK(store_write_begin(s, 0, &w) == EINVAL);
    }

    /* Reopen: everything reads back. */
    store_close(s);
    CHECK(store_open(&cfg, &s) == 0);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        fill(src, sizes[i], (unsigned)i + 1);
        CHECK(read_all(s, &ext[i], 0, dst, sizes[i]) == 0 && memcmp(src, dst, sizes[i]) == 0);
    }

    /* Bit rot: flip one bit inside the data of needle 9 (1 MiB); reads of the damaged chunk fail,
     * reads of other chunks still succeed. */
    snprintf(path, sizeof(path), "%s/%08x.vol", dir, ext[9].vol);
    fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    {
        off_t at = (off_t)(ext[9].off + NEEDLE_HDR_SIZE + 300000);
        unsigned char byte;
        CHECK(pread(fd, &byte, 1, at) == 1);
        byte ^= 0x10;
        CHECK(pwrite(fd, &byte, 1, at) == 1);
        close(fd);
    }
    CHECK(read_all(s, &ext[9], 0, dst, sizes[9]) == -EBADMSG);
    CHECK(read_all(s, &ext[9], 262144, dst, 100) == -EBADMSG); /* same chunk */
    CHECK(read_pieces(s, &ext[9], dst, 256 << 10) == -EBADMSG);
    fill(src, sizes[9], 10);
    CHECK(read_all(s, &ext[9], 0, dst, 65536) == 0 && memcmp(src, dst, 65536) == 0);

    /* A damaged chunk CRC (needle 10, chunk 2) fails whole-chunk reads of that chunk too. */
    snprintf(path, sizeof(path), "%s/%08x.vol", dir, ext[10].vol);
    fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    {
        off_t at = (off_t)(ext[10].off + NEEDLE_HDR_SIZE + ext[10].len + 4 * 2 + 1);
        unsigned char byte;
        CHECK(pread(fd, &byte, 1, at) == 1);
        byte ^= 0x01;
        CHECK(pwrite(fd, &byte, 1, at) == 1);
        close(fd);
    }
    CHECK(read_all(s, &ext[10], 2 * 65536, dst, 65536) == -EBADMSG);
    CHECK(read_all(s, &ext[10], 2 * 65536 + 5, dst, 10) == -EBADMSG);
    fill(src, sizes[10], 11);
    CHECK(read_all(s, &ext[10], 3 * 65536, dst, 65536) == 0 &&
          memcmp(src + 3 * 65536, dst, 65536) == 0);

    store_close(s);
    free(src);
    free(dst);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    CHECK(system(path) == 0);
    return check_report("test_store");
}
