/*
 * expiry.c -- Set Blob Expiry (PUT ?comp=expiry): a time after which the blob is gone.
 *
 *   x-ms-expiry-option: RelativeToCreation | RelativeToNow   x-ms-expiry-time: milliseconds
 *                       Absolute                             x-ms-expiry-time: RFC 1123 date
 *                       NeverExpire                          (no x-ms-expiry-time)
 *
 * Azure takes it only on accounts with a hierarchical namespace; Cobalt takes it on every account
 * and every blob type (docs/expiry.md says why).  The expiry is the current record's purge_at
 * (model.h): from that instant every read and listing treats the blob as gone (404
 * BlobNotFound; api_blob_past_expiry), and the engine's background purge removes it for good
 * with everything that follows from it, as it does for soft-deleted records.  An expiry is a
 * deferred delete: refused (409) while the blob is protected, as a delete is; a blob put under a
 * legal hold or an immutability policy after it got its expiry outlives the expiry until the
 * protection ends.
 * Get Blob Properties and List Blobs report it (x-ms-expiry-time, Expiry-Time).  The expiry
 * stays with metadata, property, tier, tag and lease changes; an overwrite (Put Blob, Put Block
 * List, a copy onto the blob) clears it, and so do a soft delete and its undelete; snapshots and
 * versions never carry it.
 */
#include "api/api_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/timefmt.h"

#define TICKS_PER_MS (TICKS_PER_SEC / 1000)

enum expiry_option { EX_NEVER, EX_CREATION, EX_NOW, EX_ABSOLUTE };

/* x-ms-expiry-time as milliseconds: digits only, and base + ms ticks within range.  0, or -1
 * (described). */
static int
relative_time(struct api_req *q, const char *v, int64_t base, int64_t *at)
{
    unsigned long long ms = 0;
    size_t n = strspn(v, "0123456789");

    if (n == 0 || v[n] != '\0' || n > 19)
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-expiry-time", v);
    ms = strtoull(v, NULL, 10);
    if (ms > (unsigned long long)((INT64_MAX - base) / TICKS_PER_MS))
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-expiry-time", v);
    *at = base + (int64_t)ms * TICKS_PER_MS;
    return 0;
}

/*
 * The expiry the headers ask for, given the blob's creation time: *at (0: never).  400
 * MissingRequiredHeader without an option, or without a time for an option that needs one; 400
 * InvalidHeaderValue for an unknown option, a malformed time, a time with NeverExpire, or a time
 * that is not in the future.  0, or -1 (described).
 */
static int
requested_expiry(struct api_req *q, int64_t created, int64_t *at)
{
    static const char *const names[] = {"NeverExpire", "RelativeToCreation", "RelativeToNow",
                                        "Absolute"};
    const char *opt = api_header(q, "x-ms-expiry-option");
    const char *t = api_header(q, "x-ms-expiry-time");
    int64_t now = ticks_now();
    size_t o;

    if (opt == NULL)
        return api_fail_header(q, E_MissingRequiredHeader, "x-ms-expiry-option", NULL);
    for (o = 0; o < sizeof(names) / sizeof(names[0]); o++)
        if (strcasecmp(opt, names[o]) == 0)
            break;
    if (o == sizeof(names) / sizeof(names[0]))
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-expiry-option", opt);
    if (o == EX_NEVER) {
        *at = 0;
        return t == NULL ? 0 : api_fail_header(q, E_InvalidHeaderValue, "x-ms-expiry-time", t);
    }
    if (t == NULL)
        return api_fail_header(q, E_MissingRequiredHeader, "x-ms-expiry-time", NULL);
    if (o == EX_ABSOLUTE) {
        if (parse_http_date(t, at) != 0)
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-expiry-time", t);
    } else if (relative_time(q, t, o == EX_CREATION ? created : now, at) != 0) {
        return -1;
    }
    if (*at <= now)
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-expiry-time", t);
    return 0;
}

static int
expiry_attempt(struct api_req *q, void *ctx)
{
    struct blob_rec *r = ctx, old;
    int exists;

    if ((exists = api_blob_load(q, &old)) < 0)
        return -1;
    if (!exists)
        return api_fail(q, E_BlobNotFound);
    /* An expiry is a deferred delete: refused while the blob is protected, like a delete. */
    if (api_blob_write_gate(q, 1, &old, GATE_CONTENT) != 0)
        return -1;
    *r = old;
    if (requested_expiry(q, old.created, &r->purge_at) != 0)
        return -1;
    r->modified = ticks_now();
    r->etag = eng_next_etag(&q->srv->eng);
    /* The engine files the blob for its purge at the new time (and drops the old entry). */
    return api_blob_replace(q, &old, r, 0, NULL);
}

void
op_set_blob_expiry(struct api_req *q)
{
    struct blob_rec r;

    if (api_reject_snapshot_write(q) != 0 || api_retry(q, expiry_attempt, &r) != 0)
        return;
    api_status(q, 200);
    api_hdr_etag(q, r.etag);
    api_hdr_time(q, "Last-Modified", r.modified);
}
