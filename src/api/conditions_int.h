/*
 * conditions_int.h -- conditional requests (§5.1): If-Match, If-None-Match, If-Modified-Since,
 * If-Unmodified-Since and x-ms-if-tags against a resource (conditions.c).  Private to api/.
 *
 * Each check describes its failure (412, 304, 400, 409) and returns -1, as respond_int.h's helpers
 * do.  The gates that combine them with leases and WORM protection are in api_int.h.
 */
#ifndef COBALT_API_CONDITIONS_INT_H
#define COBALT_API_CONDITIONS_INT_H

#include <stdint.h>

#include "api/request_int.h"
#include "model/model.h"

/* An If-Match / If-None-Match value ("*", or one ETag, quoted or not) against an ETag. */
int api_etag_matches(const char *cond, uint64_t etag);

/*
 * Conditional headers (§5.1) against a resource's ETag and Last-Modified; exists == 0 when the
 * resource is missing.  read != 0 for GET/HEAD semantics (304).  0 to proceed, -1 when the
 * response (412/304/400/409) is described.  create_only_409: If-None-Match: * on an existing
 * resource gives 409 BlobAlreadyExists (creating operations).
 */
int api_check_conditions(struct api_req *q, int exists, uint64_t etag, int64_t modified, int read,
                         int create_only_409);
/* x-ms-if-tags against a record's tags: 0, or -1 with 412 ConditionNotMet / 400 described. */
int api_check_if_tags(struct api_req *q, const struct blob_rec *r);

#endif
