/*
 * fetch.h -- the HTTP(S) client of the copy operations: GET a source URL outside Cobalt and
 * stream its body straight into payloads (the engine's data plane), never holding the whole body
 * in memory.
 * The transfer goes through the project's HTTP client (net/client.h), which `cobalt bench` uses too.
 *
 * A body of known length (Content-Length) is written as needles of at most `seg_max` bytes each
 * (0: one needle), streamed as it arrives.  A body of unknown length (chunked) is gathered in
 * FETCH_CHUNK pieces, each becoming a payload.  Every payload written is pending in the engine
 * until fetch_result_release(): call it once the metadata that references them is committed, or
 * will never be.  The payloads are not durable until the caller's eng_data_sync() (V2).
 *
 *     struct fetch_req fr = {.url = url, .max_size = 256u << 20};
 *     struct fetch_result res;
 *     int rc = fetch_into(eng, arena, &fr, &res);
 *     if (rc == 0 && eng_data_sync(eng, res.ext, res.next) == 0)
 *         ... commit a record naming res.ext[0..res.next) ...
 *     fetch_result_release(eng, &res);
 *
 * Egress policy (SSRF): every connection the client opens -- redirects and each address of a name
 * included -- is checked on the address it is about to connect to (CURLOPT_OPENSOCKETFUNCTION),
 * so neither DNS tricks nor redirects reach a refused one.  By default only globally routable
 * unicast addresses are allowed: loopback, unspecified, link-local (the cloud metadata address
 * 169.254.169.254), private, CGNAT, unique-local, site-local, multicast, broadcast, reserved and
 * documentation ranges are refused, as are the IPv4-mapped, -compatible, SIIT, NAT64 and 6to4 forms
 * of refused IPv4 addresses.  An operator allow-list (a util/cidr.h list, `--egress-allow`) admits
 * prefixes of its own, e.g. an internal network copies come from.  Environment proxies are
 * ignored (the policy must see the destination).  A refused connection fails like an unreachable
 * host: the client cannot tell refused, closed, filtered and unresolvable apart (res.message is
 * the same for all; res.detail, for the log, says which).
 *
 * Thread safety: any thread; fetch_global_init() once before threads start.  An egress list is
 * built before threads start and only read afterwards.
 */
#ifndef COBALT_API_FETCH_H
#define COBALT_API_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "engine/engine.h"
#include "util/error.h"

struct arena;
struct meta_pair;
struct cidr_list; /* util/cidr.h */

#define FETCH_CHUNK (4u << 20) /* needle size for bodies of unknown length */

struct fetch_req {
    const char *url;           /* http:// or https:// only */
    const char *authorization; /* sent as the Authorization header (a Bearer token), or NULL */
    int ranged;                /* bytes [start, end] only (end UINT64_MAX: to the end) */
    uint64_t start, end;
    /* Source conditions, forwarded to the source as HTTP conditional headers (NULL: absent). */
    const char *if_match, *if_none_match, *if_modified_since, *if_unmodified_since;
    uint64_t max_size;              /* 0: no limit; a larger source stops with CO_ETOOBIG */
    uint64_t seg_max;               /* largest needle for a body of known length; 0: one needle */
    long stall_secs;                /* give up when no body byte arrives for this long (0: 60 s) */
    long max_secs;                  /* give up after this long in all (0: no limit) */
    const struct cidr_list *egress; /* addresses allowed beyond the default policy, or NULL */
    const int *cancel;              /* non-NULL: read atomically; non-zero stops the transfer */
    uint64_t *progress;             /* non-NULL: bytes stored so far (atomic stores) */
    uint64_t *total;                /* non-NULL: expected total once known (atomic store) */
};

struct fetch_result {
    int status;             /* the source's final HTTP status, 0 if none */
    const char *error_code; /* its x-ms-error-code, or NULL */
    /* Properties the source sent (NULL when absent); strings live in the arena. */
    const char *content_type, *content_encoding, *content_language, *content_disposition,
        *cache_control;
    int has_content_md5;
    unsigned char content_md5[16]; /* the source's Content-MD5 header (whole bodies only) */
    size_t nmeta;
    struct meta_pair *meta; /* its x-ms-meta-* headers (Azure sources) */
    uint64_t size;          /* bytes stored */
    struct extent *ext;     /* the needles holding them, in order (malloc'd) */
    size_t next;
    unsigned char md5[16]; /* MD5 and CRC-64 of the bytes stored */
    uint64_t crc64;
    char message[256]; /* what went wrong, for x-ms-copy-status-description */
    char detail[256];  /* CO_EUNREACHABLE: what went wrong, for the log only */
};

/* The HTTP client's global set-up (http_client_global_init).  0 or -1. */
int fetch_global_init(void);

/*
 * GETs fr->url into payloads.  Always fills *res (release it with fetch_result_release, whatever
 * the result).  Returns 0 when the whole body (or the requested range) is stored, else
 * (util/error.h) CO_ESOURCE (a non-2xx answer: res.status, res.error_code), CO_EUNREACHABLE (no
 * usable answer: policy, DNS, connect, TLS, reset, stall; res.message), CO_ETOOBIG (larger than
 * max_size), CO_ESHORT (the body ended before its Content-Length), ECANCELED (*cancel became
 * non-zero) or the errno of a failed payload write.  Strings in *res live in `a`.
 */
int fetch_into(struct engine *e, struct arena *a, const struct fetch_req *fr,
               struct fetch_result *res);
/* Ends the pending state of every payload in res (eng_data_release) and frees res->ext. */
void fetch_result_release(struct engine *e, struct fetch_result *res);

/* 1 when a connection to `sa` (AF_INET or AF_INET6) is allowed: the default policy above, or a
 * prefix of `allow` (the operator's --egress-allow list, util/cidr.h; NULL: none) holds the
 * address or its IPv4 form.  0 otherwise. */
int egress_permits(const struct cidr_list *allow, const struct sockaddr *sa);

#endif
