/*
 * request_int.h -- a request as the api/ layer sees it: the per-request state, the route table's
 * row, and what reads the request (query, headers).  Private to api/.
 *
 * dispatch.c fills a struct api_req for every request (path, query, route, credentials, the
 * container record, the body) before the one handler it routes to runs; routes.c holds the rows.
 */
#ifndef COBALT_API_REQUEST_INT_H
#define COBALT_API_REQUEST_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/md5.h>

#include "api/api.h"
#include "model/model.h"
#include "util/buf.h"

struct api_req;

enum level { LVL_SERVICE, LVL_CONTAINER, LVL_BLOB };
enum body_kind { BODY_NONE, BODY_XML, BODY_DATA };

#define M_GET    0x01
#define M_HEAD   0x02
#define M_PUT    0x04
#define M_DELETE 0x08
#define M_POST   0x10

/* One row of the route table (routes.c): an operation and every fact the dispatcher applies. */
struct route {
    const char *name; /* the operation, for logs */
    unsigned methods; /* M_* bits */
    enum level level;
    const char *restype, *comp;        /* required values; NULL = must be absent */
    int (*applies)(struct api_req *q); /* extra discriminator (a header), or NULL */
    void (*handler)(struct api_req *q);
    struct auth_need need;
    enum body_kind body;
    uint64_t body_max; /* BODY_XML, BODY_DATA: largest Content-Length (else 413) */
    unsigned flags;    /* R_* */
};
#define R_WRITES        0x01 /* refused on the secondary and while the store has failed (V4) */
#define R_ADDRESSABLE   0x02 /* a write that may name ?snapshot= / ?versionid= (else 400) */
#define R_BATCH         0x04 /* may be a Blob Batch part (Delete Blob, Set Blob Tier; §2.8) */
#define R_ANY_CONTAINER 0x08 /* runs whether the container exists or not (else 404) */
#define R_NO_CONTENT    0x10 /* its data body must be empty (else 400 on Content-Length) */
#define R_WHOLE         0x20 /* its data body is the blob's whole content (eng_data_write_begin) */

/* The table, in the order rows are tried (routes.c). */
extern const struct route api_routes[];
extern const size_t api_nroutes;

struct qparam {
    const char *name, *value; /* decoded */
};

struct api_req {
    struct server *srv;
    struct http_req *h;
    struct arena *a;
    const struct route *route;
    int head; /* HEAD: headers only */
    char request_id[37];
    const char *version; /* x-ms-version to echo */

    const char *account;
    const struct auth_account *acct;
    int secondary;
    const char *container; /* decoded, NULL at service level */
    const char *blob;      /* decoded, NULL unless a blob is addressed */
    size_t blob_len;
    struct qparam *q;
    size_t nq;
    struct auth_kv *rawq;
    size_t nrawq;

    int have_container;
    struct container_rec cont;
    struct auth_result auth;

    /* Body. */
    struct buf xml;            /* BODY_XML: the whole body (bounded) */
    struct eng_writer *writer; /* BODY_DATA: streamed into a needle */
    struct extent ext;         /* BODY_DATA: the finished needle (ext.len == 0: empty) */
    MD5_CTX md5;
    uint64_t crc64;
    uint64_t received;
    unsigned char body_md5[16];

    int responded;
    const char *account_seg; /* batch part: the account its path leaves out, or NULL */
};

/* ---- reading the request (dispatch.c) ------------------------------------------------ */

const char *api_query(const struct api_req *q, const char *name); /* decoded value or NULL */
const char *api_header(const struct api_req *q, const char *name);
/* 1 when some request header name starts with prefix (case-insensitive). */
int api_header_prefix_present(const struct api_req *q, const char *prefix);
/* 1 when the comma-separated list (an include= value) holds `what`. */
int api_include_has(const char *list, const char *what);
/* A random (version 4) GUID, e.g. for request, lease and copy ids. */
void api_new_guid(char out[37]);

/*
 * A request that arrived inside another one's body (a Blob Batch part) goes through the same steps
 * as a top-level request, in two calls so that the batch can look at every part's route before any
 * part runs (one parse of a part decides both what it is and what runs):
 *
 *   api_route_local() parses and routes it: the returned request's `route` is the row that will
 *     run, or NULL when the part was answered already (an unparsable or unroutable part: its error
 *     is described on h).  NULL return: out of memory (503 described on h).
 *   api_run_local() then authenticates and authorizes it, applies the shared checks, calls the
 *     handler (a route with a body gets 400) and adds the headers every response carries.
 *
 * `h` is a local request (http_req_local) in the outer request's arena; its response is described
 * on h.  The part inherits outer's x-ms-version when it sends none, and outer's peer address;
 * account_seg (raw, as in a path) names the account when the part's path leaves it out
 * ("/container/blob"), else NULL.
 */
struct api_req *api_route_local(struct api_req *outer, struct http_req *h, const char *account_seg);
void api_run_local(struct api_req *q);

#endif
