/*
 * check.h -- the unit tests' assertions.  Each CHECK counts a pass or a failure and keeps going, so
 * one run reports every broken case; main() returns check_report(), non-zero when anything failed.
 *
 *     CHECK(x == 1);
 *     CHECK_STR(got, "expected");
 *     return check_report("test_codec");
 */
#ifndef COBALT_TEST_CHECK_H
#define COBALT_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            check_passed++;                                                          \
        } else {                                                                     \
            check_failed++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_STR(got, want)                                                                   \
    do {                                                                                       \
        const char *g_ = (got), *w_ = (want);                                                  \
        if (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0) {                                 \
            check_passed++;                                                                    \
        } else {                                                                               \
            check_failed++;                                                                    \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s\n   got: %s\n  want: %s\n", __FILE__, \
                    __LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)");                   \
        }                                                                                      \
    } while (0)

static inline int
check_report(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed != 0;
}

#endif
