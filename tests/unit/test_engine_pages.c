/*
 * test_engine_pages.c -- the page map contract of engine.h ("page maps"), checked the same way
 * against every engine (local on RocksDB in a temp directory, memory, and RADOS when CEPH_CONF
 * names a cluster: ctest's test_engine_pages_rados): the edit of a layer (eng_page_edit: cuts at
 * both ends, zeros that hide, a clear that only drops), page writes committed with their record
 * and refused with it on a lost compare, listings by range and with a limit, the resolution of
 * a stack of layers (newest wins, zeros hide older bytes, the limit and *upto), and a layer no
 * record names being dropped when its record goes (RADOS: in the commit; local and memory: in
 * their background rounds, so only the reads are checked here).
 */
#include "engine/engine.h"

#include <rados/librados.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "meta/meta.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/timefmt.h"

#define P 512u

/* ---- eng_page_edit, engine-independent ---------------------------------------------------- */

static struct extent
loc(uint64_t seq, uint64_t len)
{
    return (struct extent){seq, 1, 0, len, NULL};
}

static void
edit(struct arena *a)
{
    struct eng_page old[2] = {{0, 4 * P, 0, loc(1, 4 * P)}, {6 * P, 2 * P, P, loc(2, 3 * P)}};
    struct eng_page x = {2 * P, 5 * P, 0, loc(3, 5 * P)}, zeros = {P, P, 0, {0}};
    struct eng_page two[2] = {{P, P, 0, loc(4, P)}, {3 * P, P, 2 * P, loc(5, 4 * P)}};
    struct eng_page *v;
    size_t n;

    /* update [2P, 7P) over [0, 4P) and [6P, 8P): the left of one, the new, the right of two */
    CHECK(eng_page_edit(a, old, 2, &(struct eng_page_write){7, 2 * P, 5 * P, &x, 1}, &v, &n) == 0);
    CHECK(n == 3);
    CHECK(v[0].off == 0 && v[0].len == 2 * P && v[0].at == 0 && v[0].loc.seq == 1);
    CHECK(v[1].off == 2 * P && v[1].len == 5 * P && v[1].at == 0 && v[1].loc.seq == 3);
    CHECK(v[2].off == 7 * P && v[2].len == P && v[2].at == 2 * P && v[2].loc.seq == 2);
    /* a clear that hides: zeros in place */
    CHECK(eng_page_edit(a, old, 1, &(struct eng_page_write){7, P, P, &zeros, 1}, &v, &n) == 0);
    CHECK(n == 3 && v[1].loc.len == 0 && v[1].off == P && v[2].off == 2 * P && v[2].at == 2 * P);
    /* a clear that only drops */
    CHECK(eng_page_edit(a, old, 1, &(struct eng_page_write){7, 0, 4 * P, NULL, 0}, &v, &n) == 0);
    CHECK(n == 0);
    /* several entries in the range (a merge's step), an offset into a payload kept */
    CHECK(eng_page_edit(a, old, 1, &(struct eng_page_write){7, P, 3 * P, two, 2}, &v, &n) == 0);
    CHECK(n == 3 && v[0].off == 0 && v[0].len == P && v[1].loc.seq == 4 && v[2].off == 3 * P &&
          v[2].at == 2 * P && v[2].loc.seq == 5);
}

/* ---- through an engine ---------------------------------------------------------------------- */

static struct eng_blob
container(struct engine *e, const char *name)
{
    struct container_rec c;

    memset(&c, 0, sizeof(c));
    c.created = c.modified = ticks_now();
    c.etag = eng_next_etag(e);
    CHECK(eng_container_create(e, "acct", name, &c) == 0);
    return (struct eng_blob){"acct", name, c.id, "disk", 4};
}

/* A payload of n bytes of value `byte`, synced and released. */
static struct extent
payload(struct engine *e, size_t n, int byte)
{
    struct eng_writer *w;
    struct extent x = {0};
    char *p = malloc(n);

    memset(p, byte, n);
    CHECK(eng_data_write_begin(e, n, 0, &w) == 0);
    CHECK(eng_data_write(e, w, p, n) == 0);
    CHECK(eng_data_write_finish(e, w, &x) == 0);
    CHECK(eng_data_sync(e, &x, 1) == 0);
    free(p);
    return x;
}

/* Commits a page write on the current record *cur (a new ETag): 0 or the commit's error. */
static int
write_pages(struct engine *e, const struct eng_blob *b, struct blob_rec *cur, uint64_t off,
            uint64_t len, const struct extent *x)
{
    struct blob_rec nr = *cur;
    struct eng_page one = {off, len, 0, {0}};
    struct eng_page_write pw = {cur->layers[0], off, len, &one, x != NULL || cur->nlayers > 1};
    int rc;

    if (x != NULL)
        one.loc = *x;
    nr.etag = eng_next_etag(e);
    rc = eng_page_commit(e, b, &(struct eng_write){NULL, ENG_CURRENT, 0, cur, &nr}, 1, &pw, 1);
    if (rc == 0)
        *cur = nr;
    return rc;
}

/* The byte at blob offset `at` as layers[0..n) give it (-1: the read failed). */
static int
byte_at(struct engine *e, struct arena *a, const struct eng_blob *b, const uint64_t *layers,
        size_t n, uint64_t at)
{
    struct eng_reader *r;
    struct eng_page *v;
    size_t nv;
    uint64_t upto;
    char c = 0;

    if (eng_pages_resolve(e, a, b, layers, n, at, at + 1, 4, &v, &nv, &upto) != 0 || upto != at + 1)
        return -1;
    if (nv == 0 || v[0].loc.len == 0)
        return 0;
    CHECK(eng_data_reader_new(e, &r) == 0);
    if (eng_data_read(e, r, &v[0].loc, v[0].at + (at - v[0].off), &c, 1) != 1)
        c = -1;
    eng_data_reader_free(e, r);
    return (unsigned char)c;
}

static void
contract(struct engine *e)
{
    struct arena *a = arena_new(64u << 20);
    struct eng_blob b = container(e, "pages");
    uint64_t layers[2] = {eng_next_etag(e), 0}, stack[2], upto;
    struct blob_rec cur, stale, snap;
    struct extent x1, x2, x3;
    struct eng_page *v;
    size_t n;

    printf("engine %s\n", e->ops->name);
    memset(&cur, 0, sizeof(cur));
    cur.type = BLOB_PAGE;
    cur.size = 1ull << 40; /* 1 TiB: nothing is allocated for it */
    cur.etag = eng_next_etag(e);
    cur.content_type = cur.content_encoding = cur.content_language = cur.content_disposition =
        cur.cache_control = "";
    cur.nlayers = 1;
    cur.layers = layers;
    CHECK(eng_blob_commit(e, &b, &(struct eng_write){NULL, ENG_CURRENT, 0, NULL, &cur}, 1, NULL) ==
          0);
    CHECK(eng_page_list(e, a, &b, layers[0], 0, cur.size, 10, &v, &n) == 0 && n == 0);

    /* writes: one at the end of the blob, one overwritten in part */
    x1 = payload(e, 4 * P, 'a');
    x2 = payload(e, 2 * P, 'b');
    CHECK(write_pages(e, &b, &cur, 0, 4 * P, &x1) == 0);
    stale = cur;
    CHECK(write_pages(e, &b, &cur, P, 2 * P, &x2) == 0);
    /* a lost compare writes nothing */
    x3 = payload(e, P, 'c');
    CHECK(write_pages(e, &b, &stale, 0, P, &x3) == CO_ECONFLICT);
    CHECK(eng_page_list(e, a, &b, layers[0], 0, 4 * P, 10, &v, &n) == 0 && n == 3);
    CHECK(n == 3 && v[0].off == 0 && v[0].len == P && v[0].loc.seq == x1.seq);
    CHECK(n == 3 && v[1].off == P && v[1].len == 2 * P && v[1].loc.seq == x2.seq);
    CHECK(n == 3 && v[2].off == 3 * P && v[2].at == 3 * P && v[2].loc.seq == x1.seq);
    CHECK(eng_page_list(e, a, &b, layers[0], 2 * P, 3 * P, 10, &v, &n) == 0 && n == 1);
    CHECK(eng_page_list(e, a, &b, layers[0], 0, 4 * P, 2, &v, &n) == 0 && n == 2);
    CHECK(byte_at(e, a, &b, layers, 1, 0) == 'a' && byte_at(e, a, &b, layers, 1, P) == 'b');
    CHECK(byte_at(e, a, &b, layers, 1, 3 * P + 7) == 'a');
    CHECK(byte_at(e, a, &b, layers, 1, 4 * P) == 0);
    CHECK(write_pages(e, &b, &cur, cur.size - P, P, &x3) == 0);
    CHECK(byte_at(e, a, &b, layers, 1, cur.size - 1) == 'c');

    /* a snapshot freezes the layer: the current record gets one on top */
    snap = cur;
    stack[0] = eng_next_etag(e);
    stack[1] = layers[0];
    cur.layers = stack;
    cur.nlayers = 2;
    CHECK(eng_blob_commit(e, &b,
                          (struct eng_write[]){{NULL, ENG_CURRENT, 0, &snap, &cur},
                                               {NULL, ENG_SNAPSHOT, 100, NULL, &snap}},
                          2, NULL) == 0);
    CHECK(write_pages(e, &b, &cur, 2 * P, P, NULL) == 0); /* zeros that hide the old bytes */
    CHECK(write_pages(e, &b, &cur, 0, P, &x3) == 0);
    CHECK(byte_at(e, a, &b, stack, 2, 0) == 'c' && byte_at(e, a, &b, stack, 2, P) == 'b');
    CHECK(byte_at(e, a, &b, stack, 2, 2 * P) == 0 && byte_at(e, a, &b, stack, 2, 3 * P) == 'a');
    CHECK(byte_at(e, a, &b, layers, 1, 0) == 'a' && byte_at(e, a, &b, layers, 1, 2 * P) == 'b');
    /* the stack resolved: newest first, clipped, zeros included */
    CHECK(eng_pages_resolve(e, a, &b, stack, 2, 0, 4 * P, 100, &v, &n, &upto) == 0);
    CHECK(upto == 4 * P && n == 4);
    CHECK(n == 4 && v[0].loc.seq == x3.seq && v[1].loc.seq == x2.seq && v[1].len == P);
    CHECK(n == 4 && v[2].loc.len == 0 && v[2].off == 2 * P && v[3].loc.seq == x1.seq);
    CHECK(eng_pages_resolve(e, a, &b, stack, 2, 0, 4 * P, 2, &v, &n, &upto) == 0);
    CHECK(n == 2 && upto == 2 * P);
    /* what changed since the snapshot: the layer above it */
    CHECK(eng_pages_resolve(e, a, &b, stack, 1, 0, cur.size, 100, &v, &n, &upto) == 0);
    CHECK(n == 2 && v[0].off == 0 && v[0].loc.len > 0 && v[1].off == 2 * P && v[1].loc.len == 0);

    /* the blob and its snapshot go: reads of other blobs are unaffected (garbage is the
     * engines' background work, or RADOS's commit) */
    CHECK(eng_blob_commit(e, &b,
                          (struct eng_write[]){{NULL, ENG_CURRENT, 0, &cur, NULL},
                                               {NULL, ENG_SNAPSHOT, 100, &snap, NULL}},
                          2, NULL) == 0);
    if (strcmp(e->ops->name, "rados") == 0) {
        CHECK(eng_page_list(e, a, &b, layers[0], 0, 1ull << 40, 10, &v, &n) == 0 && n == 0);
        CHECK(eng_page_list(e, a, &b, stack[0], 0, 1ull << 40, 10, &v, &n) == 0 && n == 0);
    }
    eng_data_release(e, &x1);
    eng_data_release(e, &x2);
    eng_data_release(e, &x3);
    arena_free(a);
}

static void
rados_checks(const char *conf)
{
    char idx[64], data[64];
    struct engine e = {0};
    rados_t cl;

    snprintf(idx, sizeof(idx), "cobalt-pages-%d-index", (int)getpid());
    snprintf(data, sizeof(data), "cobalt-pages-%d-data", (int)getpid());
    CHECK(rados_create2(&cl, "ceph", "client.admin", 0) == 0);
    CHECK(rados_conf_read_file(cl, conf) == 0);
    CHECK(rados_connect(cl) == 0);
    CHECK(rados_pool_create(cl, idx) == 0);
    CHECK(rados_pool_create(cl, data) == 0);
    CHECK(eng_rados_init(&e, conf, "admin", idx, data) == 0);
    if (e.ops != NULL)
        contract(&e);
    eng_fini(&e);
    rados_pool_delete(cl, idx);
    rados_pool_delete(cl, data);
    rados_shutdown(cl);
}

int
main(void)
{
    char dir[] = "/tmp/cobalt-test-pages-XXXXXX";
    char cmd[64], path[64];
    struct store_config sc = {0};
    struct engine e = {0};
    struct meta *m = NULL;
    struct store *s = NULL;
    struct arena *a = arena_new(1u << 20);

    edit(a);
    arena_free(a);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/meta", dir);
    CHECK(meta_open(path, 1, 0, 0, &m) == 0);
    snprintf(path, sizeof(path), "%s/volumes", dir);
    sc.dir = path;
    CHECK(store_open(&sc, &s) == 0);
    CHECK(eng_local_init(&e, m, s) == 0);
    contract(&e);
    eng_fini(&e);
    store_close(s);
    meta_close(m);

    CHECK(eng_memory_init(&e) == 0);
    contract(&e);
    eng_fini(&e);

    if (getenv("CEPH_CONF") != NULL)
        rados_checks(getenv("CEPH_CONF"));

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report("test_engine_pages");
}
