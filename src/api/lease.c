/*
 * lease.c -- leases on blobs and containers: the Lease Blob / Lease Container operations (the
 * state machine of protocol doc §2.10) and the lease checks every other operation makes (§5.3).
 *
 * A lease is part of its blob's (or container's) record, so a lease action is a read-modify-write
 * like any other write of that record (a compare-and-set of the whole record through the
 * engine), and never changes the ETag.  Time
 * moves leases on without writes: lease_effective() derives the state at a given moment (a fixed
 * lease past its end is expired, a breaking lease past its break time is broken).
 */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/parse.h"
#include "util/timefmt.h"
#include "util/xml.h"

uint8_t
lease_effective(const struct lease_rec *l, int64_t now)
{
    if (l->state == LEASE_LEASED && l->duration > 0 && now >= l->until)
        return LEASE_EXPIRED;
    if (l->state == LEASE_BREAKING && now >= l->until)
        return LEASE_BROKEN;
    return l->state;
}

void
api_lease_headers(struct api_req *q, const struct lease_rec *l)
{
    uint8_t st = lease_effective(l, ticks_now());
    static const char *const state[] = {"available", "leased", "breaking", "broken", "expired"};

    api_hdr(q, "x-ms-lease-status",
            st == LEASE_LEASED || st == LEASE_BREAKING ? "locked" : "unlocked");
    api_hdr(q, "x-ms-lease-state", state[st]);
    if (st == LEASE_LEASED)
        api_hdr(q, "x-ms-lease-duration", l->duration < 0 ? "infinite" : "fixed");
}

void
api_xml_lease(struct buf *b, const struct lease_rec *l)
{
    uint8_t st = lease_effective(l, ticks_now());
    static const char *const state[] = {"available", "leased", "breaking", "broken", "expired"};

    buf_printf(b, "<LeaseStatus>%s</LeaseStatus><LeaseState>%s</LeaseState>",
               st == LEASE_LEASED || st == LEASE_BREAKING ? "locked" : "unlocked", state[st]);
    if (st == LEASE_LEASED)
        buf_printf(b, "<LeaseDuration>%s</LeaseDuration>", l->duration < 0 ? "infinite" : "fixed");
}

int
api_is_lease_break(struct api_req *q)
{
    const char *action = api_header(q, "x-ms-lease-action");

    return action != NULL && strcasecmp(action, "break") == 0; /* as lease_action() reads it */
}

/*
 * A lease id header: absent (*id = NULL) or a GUID in any form (parse.h) -> 0; anything else is
 * 400 InvalidHeaderValue -> -1.  Ids are then compared as GUIDs (guid_equal), so an id acquired
 * as 32 digits is the same lease when written hyphenated, braced or in the other case.  The id
 * stored is the form the client proposed, echoed as given (protocol doc §2.10).
 */
static int
lease_id_header(struct api_req *q, const char *name, const char **id)
{
    *id = api_header(q, name);
    return *id == NULL || guid_valid(*id) ? 0 : api_fail_header(q, E_InvalidHeaderValue, name, *id);
}

/*
 * §5.3.  `write`: the operation modifies the blob (a lease id is required while it is leased);
 * otherwise the id is optional but must match when given.
 */
int
api_lease_check_blob(struct api_req *q, int exists, const struct blob_rec *r, int write)
{
    const char *id;
    uint8_t st = exists ? lease_effective(&r->lease, ticks_now()) : LEASE_AVAILABLE;

    if (lease_id_header(q, "x-ms-lease-id", &id) != 0)
        return -1;
    if (st == LEASE_LEASED || st == LEASE_BREAKING) {
        if (id == NULL)
            return write ? api_fail(q, E_LeaseIdMissing) : 0;
        if (!guid_equal(id, r->lease.id))
            return api_fail(q, E_LeaseIdMismatchWithBlobOperation);
        return 0;
    }
    if (id != NULL)
        return api_fail(q, exists && r->lease.id[0] && guid_equal(id, r->lease.id)
                               ? E_LeaseLost
                               : E_LeaseNotPresentWithBlobOperation);
    return 0;
}

/* The lease conditions of a container operation, with the lease id in header `name`. */
static int
container_lease_check(struct api_req *q, const struct container_rec *c, const char *name,
                      int is_delete)
{
    const char *id;
    uint8_t st = lease_effective(&c->lease, ticks_now());

    if (lease_id_header(q, name, &id) != 0)
        return -1;
    if (st == LEASE_LEASED || st == LEASE_BREAKING) {
        if (id == NULL)
            return is_delete ? api_fail(q, E_LeaseIdMissing) : 0;
        if (!guid_equal(id, c->lease.id))
            return api_fail(q, E_LeaseIdMismatchWithContainerOperation);
        return 0;
    }
    if (id != NULL)
        return api_fail(q, E_LeaseNotPresentWithContainerOperation);
    return 0;
}

int
api_lease_check_container(struct api_req *q, const struct container_rec *c, int is_delete)
{
    return container_lease_check(q, c, "x-ms-lease-id", is_delete);
}

int
api_lease_check_source_container(struct api_req *q, const struct container_rec *c)
{
    return container_lease_check(q, c, "x-ms-source-lease-id", 1);
}

/* What a lease action answers once its record is committed: the status and at most one header. */
struct lease_reply {
    int status;
    const char *header; /* x-ms-lease-id or x-ms-lease-time, NULL for none */
    char value[40];
};

static int
answer(struct lease_reply *r, int status, const char *header, const char *value)
{
    r->status = status;
    r->header = header;
    snprintf(r->value, sizeof(r->value), "%s", value);
    return 0;
}

static void
reply(struct api_req *q, const struct lease_reply *r)
{
    api_status(q, r->status);
    if (r->header != NULL)
        api_hdr(q, r->header, r->value);
}

/*
 * Applies one lease action to l (§2.10).  On success fills *r with what to answer once the record
 * is committed and returns 0; otherwise describes the error and returns -1.  Nothing is described
 * on success, so a write that lost a race can run it again on the record read anew.
 */
static int
lease_action(struct api_req *q, struct lease_rec *l, struct lease_reply *r)
{
    const char *action = api_header(q, "x-ms-lease-action"), *id, *proposed;
    const char *dur = api_header(q, "x-ms-lease-duration");
    const char *period = api_header(q, "x-ms-lease-break-period");
    int64_t now = ticks_now();
    uint8_t st = lease_effective(l, now);
    char gen[37], t[24];
    long d = 0, p = -1;
    char *end;

    if (action == NULL)
        return api_fail_header(q, E_MissingRequiredHeader, "x-ms-lease-action", NULL);
    if (lease_id_header(q, "x-ms-lease-id", &id) != 0 ||
        lease_id_header(q, "x-ms-proposed-lease-id", &proposed) != 0)
        return -1;
    if (strcasecmp(action, "acquire") == 0) {
        if (dur == NULL)
            return api_fail_header(q, E_MissingRequiredHeader, "x-ms-lease-duration", NULL);
        d = strtol(dur, &end, 10);
        if (*end != '\0' || !(d == -1 || (d >= 15 && d <= 60)))
            return api_fail_header(q, E_InvalidHeaderValue, "x-ms-lease-duration", dur);
        if (st == LEASE_BREAKING)
            return api_fail(q, proposed && guid_equal(proposed, l->id)
                                   ? E_LeaseIsBreakingAndCannotBeAcquired
                                   : E_LeaseAlreadyPresent);
        if (st == LEASE_LEASED && !(proposed && guid_equal(proposed, l->id)))
            return api_fail(q, E_LeaseAlreadyPresent);
        if (proposed == NULL) {
            api_new_guid(gen);
            proposed = gen;
        }
        snprintf(l->id, sizeof(l->id), "%s", proposed);
        l->state = LEASE_LEASED;
        l->duration = (int32_t)d;
        l->until = d < 0 ? 0 : now + d * TICKS_PER_SEC;
        return answer(r, 201, "x-ms-lease-id", l->id);
    }
    if (strcasecmp(action, "break") == 0) {
        if (period != NULL) {
            p = strtol(period, &end, 10);
            if (*end != '\0' || p < 0 || p > 60)
                return api_fail_header(q, E_InvalidHeaderValue, "x-ms-lease-break-period", period);
        }
        if (st == LEASE_AVAILABLE)
            return api_fail(q, E_LeaseNotPresentWithLeaseOperation);
        if (st == LEASE_LEASED) {
            int64_t at;
            if (p == 0 || (p < 0 && l->duration < 0))
                at = now;
            else if (p < 0)
                at = l->until;
            else
                at = l->duration < 0 || now + p * TICKS_PER_SEC < l->until ? now + p * TICKS_PER_SEC
                                                                           : l->until;
            l->state = at <= now ? LEASE_BROKEN : LEASE_BREAKING;
            l->until = at;
        } else if (st == LEASE_BREAKING && p >= 0 && now + p * TICKS_PER_SEC < l->until) {
            l->until = now + p * TICKS_PER_SEC;
            if (p == 0)
                l->state = LEASE_BROKEN;
        } else if (st == LEASE_EXPIRED) {
            l->state = LEASE_BROKEN;
            l->until = now;
        }
        st = lease_effective(l, now);
        snprintf(t, sizeof(t), "%lld",
                 st == LEASE_BREAKING
                     ? (long long)((l->until - now + TICKS_PER_SEC - 1) / TICKS_PER_SEC)
                     : 0LL);
        return answer(r, 202, "x-ms-lease-time", t);
    }
    if (strcasecmp(action, "renew") != 0 && strcasecmp(action, "change") != 0 &&
        strcasecmp(action, "release") != 0)
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-lease-action", action);
    if (id == NULL)
        return api_fail_header(q, E_MissingRequiredHeader, "x-ms-lease-id", NULL);
    if (strcasecmp(action, "release") == 0) {
        if (st == LEASE_AVAILABLE || !guid_equal(id, l->id))
            return api_fail(q, E_LeaseIdMismatchWithLeaseOperation);
        memset(l, 0, sizeof(*l));
        return answer(r, 200, NULL, "");
    }
    if (strcasecmp(action, "renew") == 0) {
        if (st == LEASE_AVAILABLE || !guid_equal(id, l->id))
            return api_fail(q, E_LeaseIdMismatchWithLeaseOperation);
        if (st == LEASE_BREAKING || st == LEASE_BROKEN)
            return api_fail(q, E_LeaseIsBrokenAndCannotBeRenewed);
        l->state = LEASE_LEASED;
        l->until = l->duration < 0 ? 0 : now + (int64_t)l->duration * TICKS_PER_SEC;
        return answer(r, 200, "x-ms-lease-id", l->id);
    }
    /* change */
    if (proposed == NULL)
        return api_fail_header(q, E_MissingRequiredHeader, "x-ms-proposed-lease-id", NULL);
    if (st == LEASE_AVAILABLE || st == LEASE_EXPIRED || st == LEASE_BROKEN)
        return api_fail(q, E_LeaseNotPresentWithLeaseOperation);
    if (!guid_equal(id, l->id) && !guid_equal(proposed, l->id))
        return api_fail(q, E_LeaseIdMismatchWithLeaseOperation);
    if (st == LEASE_BREAKING)
        return api_fail(q, E_LeaseIsBreakingAndCannotBeChanged);
    snprintf(l->id, sizeof(l->id), "%s", proposed);
    return answer(r, 200, "x-ms-lease-id", l->id);
}

struct lease_blob {
    struct blob_rec r;
    struct lease_reply rep;
};

static int
lease_attempt(struct api_req *q, void *ctx)
{
    struct lease_blob *lb = ctx;
    struct blob_rec old;
    int exists;

    if ((exists = api_blob_load(q, &old)) < 0)
        return -1;
    if (!exists)
        return api_fail(q, E_BlobNotFound);
    lb->r = old;
    if (api_check_conditions(q, 1, old.etag, old.modified, 0, 0) != 0 ||
        api_check_if_tags(q, &old) != 0 || lease_action(q, &lb->r.lease, &lb->rep) != 0)
        return -1;
    return api_blob_commit(q, &(struct eng_write){NULL, ENG_CURRENT, 0, &old, &lb->r}, 1, NULL);
}

void
op_lease_blob(struct api_req *q)
{
    struct lease_blob lb;

    if (api_retry(q, lease_attempt, &lb) != 0)
        return;
    reply(q, &lb.rep);
    api_hdr_etag(q, lb.r.etag); /* unchanged: leases never change the ETag */
    api_hdr_time(q, "Last-Modified", lb.r.modified);
}

void
op_lease_container(struct api_req *q)
{
    struct container_rec old, c;
    struct lease_reply rep;
    int rc;

    do { /* read, act, update if unchanged (engine.h) */
        if ((rc = eng_container_get(&q->srv->eng, q->a, q->account, q->container, &old)) != 0)
            break;
        c = old;
        if (api_container_dates(q, &c) != 0 || lease_action(q, &c.lease, &rep) != 0)
            return;
        rc = eng_container_update(&q->srv->eng, q->account, q->container, &old, &c);
    } while (rc == CO_ECONFLICT);
    if (rc != 0) {
        api_fail_container(q, rc);
        return;
    }
    reply(q, &rep);
    api_hdr_etag(q, c.etag);
    api_hdr_time(q, "Last-Modified", c.modified);
}
