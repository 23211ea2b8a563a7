/*
 * test_engine_data.c -- the data plane of engine.h, checked the same way against the local engine
 * (volumes in a temp directory) and the in-memory one: a payload written in pieces reads back
 * byte for byte from any offset, reads stop at its end, a writer refuses more than it announced
 * and cannot finish short, an aborted writer leaves nothing readable, and locators are distinct.
 * The local engine's own properties (durability, compaction moving needles, bit rot) are the
 * crash and compaction suites' (tests/crash, tests/conformance/test_compaction.py).
 */
#include "engine/engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "meta/meta.h"
#include "store/store.h"

#define LEN 200000

static void
contract(struct engine *e)
{
    static char data[LEN], back[LEN];
    struct eng_writer *w;
    struct eng_reader *r;
    struct extent loc, other;
    uint64_t at = 0;
    long n;

    printf("engine %s\n", e->ops->name);
    for (size_t i = 0; i < LEN; i++)
        data[i] = (char)(i * 7 + i / 251);
    CHECK(eng_failed(e) == 0);
    CHECK(eng_data_write_begin(e, LEN, &w) == 0);
    CHECK(eng_data_write(e, w, data, 1000) == 0);
    CHECK(eng_data_write(e, w, data + 1000, LEN - 1000) == 0);
    CHECK(eng_data_write(e, w, data, 1) == EINVAL); /* more than announced */
    CHECK(eng_data_write_finish(e, w, &loc) == 0);
    CHECK(loc.len == LEN);
    CHECK(eng_data_sync(e, &loc, 1) == 0);

    CHECK(eng_data_reader_new(e, &r) == 0);
    while (at < LEN && (n = eng_data_read(e, r, &loc, at, back + at, LEN - at)) > 0)
        at += (uint64_t)n;
    CHECK(at == LEN && memcmp(back, data, LEN) == 0);
    CHECK(eng_data_read(e, r, &loc, 123457, back, 10) == 10 &&
          memcmp(back, data + 123457, 10) == 0);
    CHECK(eng_data_read(e, r, &loc, LEN - 3, back, 10) == 3); /* stops at the end */
    CHECK(eng_data_read(e, r, &loc, LEN, back, 10) == 0);

    /* A short payload cannot be finished; an aborted one is never named. */
    CHECK(eng_data_write_begin(e, 10, &w) == 0);
    CHECK(eng_data_write(e, w, data, 5) == 0);
    CHECK(eng_data_write_finish(e, w, &other) != 0); /* and the writer is gone */
    CHECK(eng_data_write_begin(e, 10, &w) == 0);
    CHECK(eng_data_write(e, w, data, 5) == 0);
    eng_data_write_abort(e, w);
    CHECK(eng_data_write_begin(e, 10, &w) == 0);
    CHECK(eng_data_write(e, w, data, 10) == 0);
    CHECK(eng_data_write_finish(e, w, &other) == 0);
    CHECK(other.seq != loc.seq && other.len == 10);
    CHECK(eng_data_read(e, r, &other, 0, back, 10) == 10 && memcmp(back, data, 10) == 0);
    eng_data_release(e, &loc);
    eng_data_release(e, &other);
    eng_data_reader_free(e, r);
}

int
main(void)
{
    char dir[] = "/tmp/cobalt-test-data-XXXXXX", path[64], cmd[64];
    struct store_config sc = {0};
    struct engine e = {0};
    struct meta *m = NULL;
    struct store *s = NULL;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/meta", dir);
    CHECK(meta_open(path, 1, 0, 0, &m) == 0);
    snprintf(path, sizeof(path), "%s/volumes", dir);
    sc.dir = path;
    sc.fsync = 1;
    CHECK(store_open(&sc, &s) == 0);
    CHECK(eng_local_init(&e, m, s) == 0);
    contract(&e);
    eng_fini(&e);
    store_close(s);
    meta_close(m);

    CHECK(eng_memory_init(&e) == 0);
    contract(&e);
    eng_fini(&e);

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_report("test_engine_data");
}
