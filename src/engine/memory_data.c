/*
 * memory_data.c -- the in-memory engine's data plane: each payload is one heap buffer, and its
 * locator's seq is its index among them (vol and off are 0).  Payloads live until eng_fini():
 * nothing is ever reclaimed, which is what a test engine can afford.
 */
#include "engine/memory_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mem_writer {
    char *p;
    uint64_t len, got;
};

int
mem_failed(struct engine *e)
{
    (void)e;
    return 0;
}

int
mem_write_begin(struct engine *e, uint64_t len, unsigned flags, struct eng_writer **w)
{
    struct mem_writer *mw;

    (void)e;
    (void)flags;
    if (len == 0 || len > SIZE_MAX)
        return EINVAL;
    if ((mw = calloc(1, sizeof(*mw))) == NULL || (mw->p = malloc((size_t)len)) == NULL) {
        free(mw);
        return ENOMEM;
    }
    mw->len = len;
    *w = (struct eng_writer *)mw;
    return 0;
}

int
mem_write(struct engine *e, struct eng_writer *w, const void *p, size_t n)
{
    struct mem_writer *mw = (struct mem_writer *)w;

    (void)e;
    if (n > mw->len - mw->got)
        return EINVAL;
    memcpy(mw->p + mw->got, p, n);
    mw->got += n;
    return 0;
}

int
mem_write_finish(struct engine *e, struct eng_writer *w, struct extent *loc)
{
    struct mem *m = MEM(e);
    struct mem_writer *mw = (struct mem_writer *)w;
    int rc = 0;

    if (mw->got != mw->len) {
        mem_write_abort(e, w);
        return EINVAL;
    }
    pthread_mutex_lock(&m->mu);
    if (m->npayloads == m->cappayloads) {
        size_t cap = m->cappayloads ? m->cappayloads * 2 : 64;
        struct mem_payload *nv = realloc(m->payloads, cap * sizeof(*nv));
        if (nv == NULL)
            rc = ENOMEM;
        else {
            m->payloads = nv;
            m->cappayloads = cap;
        }
    }
    if (rc == 0) {
        m->payloads[m->npayloads] = (struct mem_payload){mw->p, mw->len};
        *loc = (struct extent){m->npayloads + 1, 0, 0, mw->len, NULL};
        m->npayloads++;
        mw->p = NULL;
    }
    pthread_mutex_unlock(&m->mu);
    free(mw->p);
    free(mw);
    return rc;
}

void
mem_write_abort(struct engine *e, struct eng_writer *w)
{
    struct mem_writer *mw = (struct mem_writer *)w;

    (void)e;
    free(mw->p);
    free(mw);
}

int
mem_sync(struct engine *e, const struct extent *loc, size_t n)
{
    (void)e, (void)loc, (void)n;
    return 0; /* nothing here outlives the process anyway */
}

void
mem_release(struct engine *e, const struct extent *loc)
{
    (void)e, (void)loc;
}

int
mem_reader_new(struct engine *e, struct eng_reader **r)
{
    *r = (struct eng_reader *)e; /* stateless: any non-NULL handle */
    return 0;
}

void
mem_reader_free(struct engine *e, struct eng_reader *r)
{
    (void)e, (void)r;
}

long
mem_read(struct engine *e, struct eng_reader *r, struct extent *loc, uint64_t off, void *dst,
         size_t n)
{
    struct mem *m = MEM(e);
    long got = -EIO;

    (void)r;
    pthread_mutex_lock(&m->mu);
    if (loc->seq >= 1 && loc->seq <= m->npayloads && off <= loc->len &&
        m->payloads[loc->seq - 1].len == loc->len) {
        uint64_t left = loc->len - off;
        got = (long)(n < left ? n : left);
        memcpy(dst, m->payloads[loc->seq - 1].p + off, (size_t)got);
    }
    pthread_mutex_unlock(&m->mu);
    return got;
}
