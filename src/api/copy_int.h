/*
 * copy_int.h -- what the copy operations (copy.c), their source (copy_source.c) and the pool of
 * asynchronous copies (copy_pool.c) share.  Private to api/.
 */
#ifndef COBALT_API_COPY_INT_H
#define COBALT_API_COPY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "api/api_int.h"
#include "api/fetch.h"

/* ---- the source (copy_source.c) ------------------------------------------------------------ */

struct src_url {
    const char *url; /* as sent (with any SAS): what an external fetch GETs */
    int https;
    const char *authority; /* host[:port] as written */
    const char *host;      /* without brackets or port */
    int port;
    const char *raw_path;  /* "/account/container/blob", encoding kept */
    struct auth_kv *query; /* raw query parameters */
    size_t nquery;
    int has_sas;
    const char *account, *container; /* decoded, NULL when absent */
    const char *blob;
    size_t blob_len;
    const char *snapshot, *versionid; /* decoded query values, NULL when absent */
    const char *display;              /* the URL without SAS parameters (x-ms-copy-source) */
};

/* Splits the copy-source URL.  0, or -1 with 400 InvalidHeaderValue described. */
int source_parse(struct api_req *q, struct src_url *u);
/* 1 when the URL names this server (then it is never fetched over HTTP). */
int source_is_local(struct api_req *q, const struct src_url *u);
/* An http:// external source with an https-only SAS is refused before anything is sent (403
 * described, -1); else 0. */
int source_scheme_check(struct api_req *q, const struct src_url *u);
/* Describes a source error: status as the source would have answered (§2.11), with
 * x-ms-copy-source-status-code / -error-code, code CannotVerifyCopySource.  Returns -1. */
int source_fail(struct api_req *q, int status, const char *source_code);

struct local_src {
    const struct auth_account *acct;
    struct container_rec cont;
    struct eng_blob blob; /* the source blob */
};

/* Finds the source's account and container and checks the caller may read it.  0 or -1. */
int source_open(struct api_req *q, const struct src_url *u, struct local_src *ls);
/* Loads the source record (base blob, snapshot or version) into r.  1 found, 0 not, -1
 * described.  *check: the commit write that checks the source is still r. */
int source_load(struct api_req *q, const struct src_url *u, const struct local_src *ls,
                struct blob_rec *r, struct eng_write *check);
/* x-ms-source-if-* and x-ms-source-lease-id against the source record (§5.1): 0, or -1 (412). */
int source_conditions(struct api_req *q, const struct src_url *u, const struct blob_rec *r);
/* x-ms-source-content-md5 / -crc64 against computed values: 0, or -1 (400 described). */
int source_verify_checksums(struct api_req *q, const unsigned char md5[16], uint64_t crc);
/* The request names a source checksum (x-ms-source-content-md5 or -crc64). */
int source_wants_checksum(struct api_req *q);
/*
 * Fetches an external source on the request's thread.  The needles are released when the request
 * ends (after the commit, V6).  Returns the result, or NULL with the response described.
 */
struct fetch_result *source_fetch(struct api_req *q, const struct src_url *u, uint64_t max,
                                  int ranged, uint64_t start, uint64_t end);

/* ---- the pool (copy_pool.c) ---------------------------------------------------------------- */

struct copy_job;
struct copy_pool;

/* A job copying url into the addressed blob, with the request's x-ms-copy-source-authorization
 * and x-ms-source-if-* headers; meta_from_source: the request named no metadata.  NULL when out
 * of memory or there is no pool.  Freed by copy_job_free() unless copy_enqueue() took it. */
struct copy_job *copy_job_new(struct api_req *q, const char *url, int meta_from_source);
void copy_job_free(struct copy_job *j);
/* Its copy id (x-ms-copy-id), valid while the job lives. */
const char *copy_job_id(const struct copy_job *j);
/* Makes j a page job (kind JOB_PAGES: Copy Blob of a page blob; JOB_INCREMENTAL: Incremental
 * Copy, with the source snapshot copied last, prev (0: none), and the destination's size before,
 * was): it copies the pages of page blob src's record (src_kind, src_id), which must still have
 * ETag src_etag, instead of fetching its URL.  0, or -1 when out of memory. */
#define JOB_PAGES       1
#define JOB_INCREMENTAL 2
int copy_job_set_pages(struct copy_job *j, int kind, const struct eng_blob *src, char src_kind,
                       int64_t src_id, uint64_t src_etag, int64_t prev, uint64_t was);
/* P1: takes a place in the job's account's queue for a job about to be committed.  0, or -1 when
 * the queue is full.  The place is used by copy_enqueue or given back by copy_unadmit. */
int copy_admit(struct copy_pool *p, const struct copy_job *j);
void copy_unadmit(struct copy_pool *p, const struct copy_job *j);
/* Hands the job (committed as pending) to the workers, which free it. */
void copy_enqueue(struct copy_pool *p, struct copy_job *j);
/* 1 and the live progress of a running copy, or 0 when the pool does not know it. */
int copy_progress(struct copy_pool *p, const char *id, uint64_t *copied, uint64_t *total);
/* Tells the copy's worker to stop (an abort, or an overwrite of its destination). */
void copy_cancel(struct copy_pool *p, const char *id);

#endif
