/*
 * respond_int.h -- describing the response: status, headers, XML bodies and Azure error responses
 * (respond.c).  Private to api/.
 *
 * Handlers read as straight lines: a helper that fails has already described the error response
 * (api_fail) and returns -1, so a handler is a sequence of `if (helper(q, ...) != 0) return;`.
 */
#ifndef COBALT_API_RESPOND_INT_H
#define COBALT_API_RESPOND_INT_H

#include <stdint.h>

#include "api/errors.h"
#include "api/request_int.h"
#include "model/model.h"
#include "util/error.h"
#include "util/buf.h"

/* Describes an error response; returns -1 so helpers can `return api_fail(...)`. */
int api_fail(struct api_req *q, enum az_error e);
/* InvalidHeaderValue / InvalidQueryParameterValue / MissingRequiredHeader with their details. */
int api_fail_header(struct api_req *q, enum az_error e, const char *name, const char *value);
int api_fail_query(struct api_req *q, enum az_error e, const char *name, const char *value,
                   const char *reason);
/* 400 InvalidXmlNodeValue naming the node (XmlNodeName/XmlNodeValue details). */
int api_fail_xml_node(struct api_req *q, const char *name, const char *value);
/* The same with extra XML elements from kv: name, value pairs (a NULL value leaves its pair
 * out), ending with a NULL name. */
int api_fail_details(struct api_req *q, enum az_error e, const char *const *kv);
/* Any status with an Azure error code: x-ms-error-code, and (except for HEAD and 304) the XML
 * <Error> body with message and extra_xml (elements, or NULL).  Returns -1. */
int api_respond_error(struct api_req *q, int status, const char *code, const char *message,
                      const char *extra_xml);
/* The one place an error code (util/error.h) becomes a response: 503 ServerBusy for a full disk,
 * 404 ContainerNotFound for CO_ENOCONT, 409 for CO_EEXISTS and the WORM refusals, else 500 (the
 * cause logged).  Not-found answers depend on what was looked up: callers give those.  -1. */
int api_fail_rc(struct api_req *q, int rc);

void api_status(struct api_req *q, int status);
void api_hdr(struct api_req *q, const char *name, const char *value);
void api_hdr_u64(struct api_req *q, const char *name, uint64_t v);
void api_hdr_time(struct api_req *q, const char *name, int64_t ticks);
void api_hdr_etag(struct api_req *q, uint64_t etag);
void api_hdr_md5(struct api_req *q, const char *name, const unsigned char md5[16]);
/* Body from a buf: ownership of its memory moves to the request. */
void api_body_xml(struct api_req *q, struct buf *b);

/* "0x8DC..." form (no quotes) into out[19]. */
void fmt_etag(uint64_t etag, char out[19]);

#endif
