/*
 * immutability.c -- WORM protection: version-level immutability policies and legal holds on
 * blobs (Set/Delete Immutability Policy, Set Legal Hold, and the same headers on Put Blob), and
 * container-level retention policies and legal holds.
 *
 * Enforcement lives in the write gate (blob.c): while a blob is under a legal hold, an unexpired
 * policy of its own, or its container's retention period counted from the blob's creation, any
 * write that replaces or removes its content answers 409 BlobImmutableDueToLegalHold /
 * BlobImmutableDueToPolicy; Delete Container refuses while protected blobs remain.
 *
 * A locked policy can only be extended, never shortened or removed.
 *
 * Container-level policies are set through Azure's management plane, which Cobalt does not have;
 * Cobalt takes them on the container URL instead (documented in the README):
 *   PUT    ?restype=container&comp=immutabilityPolicies  x-cobalt-immutability-period-days: N
 *                                                        x-ms-immutability-policy-mode: Unlocked|Locked
 *   DELETE ?restype=container&comp=immutabilityPolicies  (unlocked policies only)
 *   PUT    ?restype=container&comp=legalhold             x-ms-legal-hold: true|false
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/timefmt.h"

static int
parse_mode(struct api_req *q, const char *v, uint8_t *mode)
{
    if (v != NULL && strcasecmp(v, "Unlocked") == 0)
        *mode = IMMUT_UNLOCKED;
    else if (v != NULL && strcasecmp(v, "Locked") == 0)
        *mode = IMMUT_LOCKED;
    else
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-immutability-policy-mode", v);
    return 0;
}

static int
parse_bool(struct api_req *q, const char *name, int *out)
{
    const char *v = api_header(q, name);

    if (v != NULL && strcasecmp(v, "true") == 0)
        *out = 1;
    else if (v != NULL && strcasecmp(v, "false") == 0)
        *out = 0;
    else
        return api_fail_header(q, v ? E_InvalidHeaderValue : E_MissingRequiredHeader, name, v);
    return 0;
}

int
api_immutability_headers_in(struct api_req *q, struct blob_rec *r)
{
    const char *until = api_header(q, "x-ms-immutability-policy-until-date");
    const char *mode = api_header(q, "x-ms-immutability-policy-mode");
    int hold;

    if (until != NULL || mode != NULL) {
        int64_t t;
        if (until == NULL || parse_http_date(until, &t) != 0 || t <= ticks_now())
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-immutability-policy-until-date",
                                   until);
        if (parse_mode(q, mode ? mode : "Unlocked", &r->immutable_mode) != 0)
            return -1;
        r->immutable_until = t;
    }
    if (api_header(q, "x-ms-legal-hold") != NULL) {
        if (parse_bool(q, "x-ms-legal-hold", &hold) != 0)
            return -1;
        r->legal_hold = (uint8_t)hold;
    }
    return 0;
}

void
api_immutability_headers_out(struct api_req *q, const struct blob_rec *r)
{
    char t[30];

    if (r->immutable_mode != IMMUT_NONE) {
        fmt_rfc1123(r->immutable_until, t);
        api_hdr(q, "x-ms-immutability-policy-until-date", t);
        api_hdr(q, "x-ms-immutability-policy-mode",
                r->immutable_mode == IMMUT_LOCKED ? "locked" : "unlocked");
    }
    if (r->legal_hold)
        api_hdr(q, "x-ms-legal-hold", "true");
}

/* Read-modify-write of the addressed blob or version: change() edits the record (or describes
 * why not).  0 with *r as committed, or -1 (described). */
struct worm {
    int (*change)(struct api_req *q, struct blob_rec *r);
    struct blob_rec r;
};

static int
worm_attempt(struct api_req *q, void *ctx)
{
    struct worm *w = ctx;
    struct blob_rec old;
    int exists, current;
    char kind;
    int64_t id;

    if (api_blob_address(q, &kind, &id) < 0 ||
        (exists = api_blob_load_addressed(q, &old, &current)) < 0)
        return -1;
    if (!exists)
        return api_fail(q, E_BlobNotFound);
    w->r = old;
    if (w->change(q, &w->r) != 0)
        return -1;
    if (current)
        kind = ENG_CURRENT, id = 0;
    /* The engine keeps the protection index (meta.h M4) in step with the record. */
    return api_blob_commit(q, &(struct eng_write){NULL, kind, id, &old, &w->r}, 1, NULL);
}

static int
set_policy(struct api_req *q, struct blob_rec *r)
{
    const char *until = api_header(q, "x-ms-immutability-policy-until-date");
    const char *mode = api_header(q, "x-ms-immutability-policy-mode");
    uint8_t m;
    int64_t t;

    if (until == NULL || parse_http_date(until, &t) != 0)
        return api_fail_header(q, until ? E_InvalidHeaderValue : E_MissingRequiredHeader,
                               "x-ms-immutability-policy-until-date", until);
    if (parse_mode(q, mode ? mode : "Unlocked", &m) != 0)
        return -1;
    if (r->immutable_mode == IMMUT_LOCKED && (m != IMMUT_LOCKED || t < r->immutable_until))
        return api_fail(q, E_ImmutabilityPolicyLocked); /* locked: extend only */
    r->immutable_until = t;
    r->immutable_mode = m;
    return 0;
}

static int
delete_policy(struct api_req *q, struct blob_rec *r)
{
    if (r->immutable_mode == IMMUT_LOCKED)
        return api_fail(q, E_ImmutabilityPolicyLocked);
    r->immutable_mode = IMMUT_NONE;
    r->immutable_until = 0;
    return 0;
}

static int
set_hold(struct api_req *q, struct blob_rec *r)
{
    int hold;

    if (parse_bool(q, "x-ms-legal-hold", &hold) != 0)
        return -1;
    r->legal_hold = (uint8_t)hold;
    return 0;
}

void
op_blob_immutability_set(struct api_req *q)
{
    struct worm w = {.change = set_policy};

    if (api_retry(q, worm_attempt, &w) != 0)
        return;
    api_status(q, 200);
    api_immutability_headers_out(q, &w.r);
}

void
op_blob_immutability_delete(struct api_req *q)
{
    struct worm w = {.change = delete_policy};

    if (api_retry(q, worm_attempt, &w) == 0)
        api_status(q, 200);
}

void
op_blob_legal_hold(struct api_req *q)
{
    struct worm w = {.change = set_hold};

    if (api_retry(q, worm_attempt, &w) != 0)
        return;
    api_status(q, 200);
    api_hdr(q, "x-ms-legal-hold", w.r.legal_hold ? "true" : "false");
}

/* ---- container level (a Cobalt extension: Azure sets these in its management plane) ---- */

static void
container_update(struct api_req *q, int what)
{
    struct container_rec old, c;
    const char *days = api_header(q, "x-cobalt-immutability-period-days");
    uint8_t mode = IMMUT_UNLOCKED;
    int rc, hold = 0;
    long d = 0;
    char *end;

    if (what == 0) {
        d = days ? strtol(days, &end, 10) : -1;
        if (days == NULL || *end != '\0' || d < 1 || d > 146000) {
            api_fail_header(q, days ? E_InvalidHeaderValue : E_MissingRequiredHeader,
                            "x-cobalt-immutability-period-days", days);
            return;
        }
        if (api_header(q, "x-ms-immutability-policy-mode") != NULL &&
            parse_mode(q, api_header(q, "x-ms-immutability-policy-mode"), &mode) != 0)
            return;
    } else if (what == 2 && parse_bool(q, "x-ms-legal-hold", &hold) != 0) {
        return;
    }
    do { /* read, check, update if unchanged (engine.h) */
        if ((rc = eng_container_get(&q->srv->eng, q->a, q->account, q->container, &old)) != 0)
            break;
        c = old;
        if (what == 0) {
            if (c.immutable_locked && (mode != IMMUT_LOCKED || d < c.immutable_days)) {
                api_fail(q, E_ContainerImmutabilityPolicyLocked);
                return;
            }
            c.immutable_days = d;
            c.immutable_locked = mode == IMMUT_LOCKED;
        } else if (what == 1) {
            if (c.immutable_locked) {
                api_fail(q, E_ContainerImmutabilityPolicyLocked);
                return;
            }
            c.immutable_days = 0;
        } else {
            c.legal_hold = (uint8_t)hold;
        }
        rc = eng_container_update(&q->srv->eng, q->account, q->container, &old, &c);
    } while (rc == CO_ECONFLICT);
    if (rc != 0) {
        api_fail_container(q, rc);
        return;
    }
    api_status(q, 200);
    if (what == 2)
        api_hdr(q, "x-ms-legal-hold", hold ? "true" : "false");
}

void
op_container_immutability_set(struct api_req *q)
{
    container_update(q, 0);
}

void
op_container_immutability_delete(struct api_req *q)
{
    container_update(q, 1);
}

void
op_container_legal_hold(struct api_req *q)
{
    container_update(q, 2);
}
