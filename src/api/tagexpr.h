/*
 * tagexpr.h -- blob index tag expressions: `where=` of Find Blobs by Tags and the `x-ms-if-tags`
 * condition (protocol doc §5.9).  Pure: parse into a tree in an arena, evaluate against a tag set.
 *
 *     struct tagexpr *e = tagexpr_parse(a, "\"project\" = 'x' AND \"n\" >= '05'", TAGEXPR_WHERE, &why);
 *     if (e && tagexpr_eval(e, ntags, tags, "mycontainer")) ...
 */
#ifndef COBALT_API_TAGEXPR_H
#define COBALT_API_TAGEXPR_H

#include <stddef.h>

struct arena;
struct meta_pair;

enum tagexpr_mode {
    TAGEXPR_WHERE,   /* Find Blobs by Tags: AND only, no <>, @container allowed, <= 10 keys */
    TAGEXPR_IF_TAGS, /* x-ms-if-tags: AND, OR, parentheses, <> */
};

enum tagexpr_op { TOP_EQ, TOP_NE, TOP_LT, TOP_LE, TOP_GT, TOP_GE };

struct tagexpr {
    enum { TX_CMP, TX_AND, TX_OR } kind;
    /* TX_CMP */
    const char *key; /* "@container" for the container pseudo-key */
    enum tagexpr_op op;
    const char *value;
    /* TX_AND / TX_OR */
    struct tagexpr *left, *right;
};

/* The parsed tree, or NULL with *why set (a static string) on a syntax or limit error. */
struct tagexpr *tagexpr_parse(struct arena *a, const char *s, enum tagexpr_mode mode,
                              const char **why);
/* 1 if the tag set (and container name, for @container) satisfies the expression, else 0. */
int tagexpr_eval(const struct tagexpr *e, size_t ntags, const struct meta_pair *tags,
                 const char *container);
/* For Find Blobs by Tags: calls fn for each comparison (to choose an index key to scan and to
 * report the tags a match used). */
void tagexpr_each_cmp(const struct tagexpr *e, void (*fn)(const struct tagexpr *cmp, void *ctx),
                      void *ctx);

#endif
