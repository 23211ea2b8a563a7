/*
 * error.h -- Cobalt's one error vocabulary (LMDB's model).  A function that can fail returns 0 on
 * success, or an error code: a positive errno value for what the system reports (EIO, ENOSPC,
 * ENOMEM, ECANCELED, ...) or one of Cobalt's own codes below -- negative, in a range of their own,
 * so they never collide with an errno or its negation.  co_strerror() names any code.  Functions
 * that also return a count or a "found" flag say so (the count or 1 is never a code).
 *
 * The API turns a code into an HTTP status and an Azure error code in one place
 * (api_fail_rc in api/respond.c); everything below it only returns codes.
 */
#ifndef COBALT_UTIL_ERROR_H
#define COBALT_UTIL_ERROR_H

#define CO_ERR_FIRST (-30820) /* Cobalt's codes are CO_ERR_FIRST .. CO_ERR_LAST */
#define CO_ERR_LAST  (-30800)

/* The object model (engine/engine.h, meta/meta.h). */
#define CO_ENOTFOUND (-30800) /* no such record */
#define CO_EEXISTS   (-30801) /* create or restore: a live container has that name */
#define CO_ECONFLICT (-30802) /* compare-and-set: the record is not the one the caller read */
#define CO_EHELD     (-30803) /* refused: a legal hold (the container's or a record's) */
#define CO_EPOLICY   (-30804) /* refused: an immutability policy (likewise) */
#define CO_EBACKEND  (-30805) /* the storage backend failed (RocksDB, RADOS; logged where it did) */
#define CO_ENOCONT   (-30806) /* blob commit: the container is gone (or was re-created) */

/* Fetching a copy source (api/fetch.h). */
#define CO_ESOURCE      (-30807) /* the source answered with an error status */
#define CO_EUNREACHABLE (-30808) /* the source could not be reached (or the transfer broke) */
#define CO_ETOOBIG      (-30809) /* the source is larger than the operation allows */
#define CO_ESHORT       (-30810) /* the source ended before the length it announced */

/* What code rc means, as text (errno values through strerror). */
const char *co_strerror(int rc);

#endif
