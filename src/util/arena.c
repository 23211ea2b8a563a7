/*
 * arena.c -- bump allocator with cleanups; see arena.h.
 */
#include "util/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 8192

struct block {
    struct block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

struct cleanup {
    struct cleanup *next;
    void (*fn)(void *);
    void *arg;
};

struct arena {
    struct block *head;
    struct cleanup *cleanups;
    size_t cap, total;
};

struct arena *
arena_new(size_t cap)
{
    struct arena *a = calloc(1, sizeof(*a));

    if (a != NULL)
        a->cap = cap;
    return a;
}

void
arena_free(struct arena *a)
{
    struct block *b, *nb;
    struct cleanup *c;

    if (a == NULL)
        return;
    for (c = a->cleanups; c != NULL; c = c->next)
        c->fn(c->arg);
    for (b = a->head; b != NULL; b = nb) {
        nb = b->next;
        free(b);
    }
    free(a);
}

void *
arena_alloc(struct arena *a, size_t n)
{
    struct block *b = a->head;
    size_t need = (n + 15) & ~(size_t)15, size;

    if (need < n)
        return NULL;
    if (b == NULL || b->size - b->used < need) {
        size = need > ARENA_BLOCK / 2 ? need : ARENA_BLOCK;
        if (size > need && a->total + size > a->cap)
            size = a->cap - a->total > need ? a->cap - a->total : need; /* a small cap */
        if (a->total + size > a->cap)
            return NULL;
        if ((b = malloc(sizeof(*b) + size)) == NULL)
            return NULL;
        a->total += size;
        b->size = size;
        b->used = 0;
        if (need > ARENA_BLOCK / 2 && a->head != NULL) {
            /* A large dedicated block goes behind the current one so the latter keeps filling. */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    b->used += need;
    return b->data + b->used - need;
}

void *
arena_calloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);

    if (p != NULL)
        memset(p, 0, n);
    return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);

    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || (p = arena_alloc(a, (size_t)n + 1)) == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int
arena_on_free(struct arena *a, void (*fn)(void *), void *arg)
{
    struct cleanup *c = arena_alloc(a, sizeof(*c));

    if (c == NULL)
        return -1;
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}
