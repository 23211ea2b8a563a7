/*
 * arena.h -- per-request memory.
 *
 * Every request owns one arena, created when its first byte is parsed and destroyed when its
 * response has been sent (or the connection died).  Everything a handler allocates for that request
 * comes from it, so no early return can leak.  Resources that are not memory (fds, RocksDB iterators)
 * are registered with arena_on_free() and released, newest first, when the arena is destroyed.
 *
 * The arena has a cap: an allocation beyond it returns NULL, which handlers turn into an error
 * response rather than an abort.  Not thread-safe: one request is served by one thread at a time.
 */
#ifndef COBALT_ARENA_H
#define COBALT_ARENA_H

#include <stddef.h>

struct arena;

/* Returns a new arena that will hand out at most `cap` bytes in total, or NULL on OOM. */
struct arena *arena_new(size_t cap);
/* Runs the registered cleanups (newest first) and frees every block.  NULL is a no-op. */
void arena_free(struct arena *a);

/* 16-byte aligned; NULL when the cap would be exceeded.  Memory is not zeroed. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t n);
/* Copies of strings; the result is NUL-terminated.  NULL when over the cap. */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Registers fn(arg) to run when the arena is freed.  Returns 0, or -1 when over the cap. */
int arena_on_free(struct arena *a, void (*fn)(void *), void *arg);

#endif
