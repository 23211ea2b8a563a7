/*
 * errors.c -- the table behind errors.h.
 */
#include "api/errors.h"

static const struct {
    int status;
    const char *code, *message;
} table[] = {
#define AZ_ROW(code, status, msg) {status, #code, msg},
    AZ_ERRORS(AZ_ROW)
#undef AZ_ROW
};

int
az_error_status(enum az_error e)
{
    return table[e].status;
}

const char *
az_error_code(enum az_error e)
{
    return table[e].code;
}

const char *
az_error_message(enum az_error e)
{
    return table[e].message;
}
