/*
 * test_arena.c -- the request arena: alignment, the cap (also below one block), large
 * allocations, and cleanups running newest first.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "util/arena.h"

static char order[8];
static int norder;

static void
note(void *p)
{
    order[norder++] = *(char *)p;
}

int
main(void)
{
    struct arena *a = arena_new(1 << 20), *small = arena_new(4096);
    char *s, x = 'x', y = 'y';
    void *big;

    CHECK(a != NULL && small != NULL);
    for (int i = 1; i < 100; i++)
        CHECK(((uintptr_t)arena_alloc(a, (size_t)i) & 15) == 0);
    s = arena_printf(a, "%s-%d", "abc", 42);
    CHECK_STR(s, "abc-42");
    CHECK_STR(arena_strndup(a, "hello world", 5), "hello");
    big = arena_alloc(a, 300000); /* beyond a block: a dedicated one */
    CHECK(big != NULL);
    memset(big, 1, 300000);
    CHECK(arena_alloc(a, 1 << 20) == NULL); /* over the cap: NULL, not abort */
    /* An arena whose cap is below one block still hands out what fits. */
    CHECK(arena_alloc(small, 100) != NULL);
    CHECK(arena_alloc(small, 3000) != NULL);
    CHECK(arena_alloc(small, 4096) == NULL);
    CHECK(arena_on_free(a, note, &x) == 0);
    CHECK(arena_on_free(a, note, &y) == 0);
    arena_free(a);
    CHECK(norder == 2 && order[0] == 'y' && order[1] == 'x');
    arena_free(small);
    arena_free(NULL);
    return check_report("test_arena");
}
