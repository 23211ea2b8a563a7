/*
 * error.c -- the names of the error vocabulary of error.h.
 */
#include "util/error.h"

#include <string.h>

const char *
co_strerror(int rc)
{
    static const char *const own[] = {
        "no such record",
        "a live container has that name",
        "the record changed since it was read",
        "refused: a legal hold",
        "refused: an immutability policy",
        "the storage backend failed",
        "the container is gone",
        "the copy source answered with an error",
        "the copy source could not be reached",
        "the copy source is too large",
        "the copy source ended early",
    };

    if (rc == 0)
        return "success";
    if (rc > 0)
        return strerror(rc);
    if (rc >= CO_ERR_FIRST && rc <= CO_ERR_LAST &&
        (size_t)(CO_ERR_LAST - rc) < sizeof(own) / sizeof(own[0]))
        return own[CO_ERR_LAST - rc];
    return "unknown error";
}
