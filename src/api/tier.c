/*
 * tier.c -- access tiers (protocol doc §2.3 Set Blob Tier, §5.10): the Set Blob Tier operation,
 * the tier an upload may name (x-ms-access-tier on Put Blob and Put Block List), the tier headers
 * of Get Blob Properties and the tier elements of List Blobs, and the Archive rule: an archived
 * blob's content can be neither read nor changed (409 BlobArchived) while its properties,
 * metadata and tags stay readable, until a rehydration completes.
 *
 * The tier is part of the blob's record (struct tier_rec), so changing it is a compare-and-set
 * of the record like any other write; it never changes the ETag or Last-Modified time (§5.11).
 *
 * Rehydration is lazy.  Set Tier from Archive to Hot, Cool or Cold records "pending to <tier>
 * until T" (rehydrate_to = tier + 1, rehydrated_at = T = now + `cobalt serve --rehydrate-delay`)
 * and answers 202; nothing runs at T.  Every reader derives the state as of now with
 * tier_effective(): from T on, the blob is in the target tier with T as its change time.  The
 * derived state is written back by the next Set Tier; other writers keep the record's tier as
 * stored, which derives to the same answer.
 *
 * States (effective) and what Set Tier does from each:
 *   inferred Hot / Hot / Cool / Cold  --any standard tier-->  that tier, now (200)
 *   Archive                           --Archive-->            unchanged (200)
 *   Archive                           --Hot|Cool|Cold-->      pending to it until T (202)
 *   pending to X                      --X-->                  still pending; High may raise the
 *                                                             priority (202)
 *   pending to X                      --anything else-->      409 BlobBeingRehydrated
 */
#include "api/api_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/timefmt.h"
#include "util/xml.h"

static const char *const tier_names[] = {"Hot", "Cool", "Cold", "Archive"};
static const char *const pending_names[] = {"rehydrate-pending-to-hot", "rehydrate-pending-to-cool",
                                            "rehydrate-pending-to-cold"};

/* The tier state as of `now`: a rehydration whose time has come is complete. */
static struct tier_rec
tier_effective(const struct tier_rec *t, int64_t now)
{
    struct tier_rec e = *t;

    if (e.rehydrate_to != 0 && now >= e.rehydrated_at) {
        e.tier = (uint8_t)(e.rehydrate_to - 1);
        e.explicit_ = 1;
        e.changed = e.rehydrated_at;
        e.rehydrate_to = 0;
        e.rehydrated_at = 0;
    }
    return e;
}

/* A standard tier name (case-insensitive) -> TIER_*, or -1. */
static int
tier_parse(const char *s)
{
    for (int i = 0; i < (int)(sizeof(tier_names) / sizeof(tier_names[0])); i++)
        if (strcasecmp(s, tier_names[i]) == 0)
            return i;
    return -1;
}

/* Premium page blob tiers (P4 ... P80): well-formed, but not for block blobs. */
static int
premium_tier(const char *s)
{
    static const char *const p[] = {"P4",  "P6",  "P10", "P15", "P20", "P30",
                                    "P40", "P50", "P60", "P70", "P80"};

    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
        if (strcasecmp(s, p[i]) == 0)
            return 1;
    return 0;
}

static int
archived(const struct tier_rec *e)
{
    return e->tier == TIER_ARCHIVE; /* a pending rehydration is still Archive until done */
}

int
api_tier_from_upload(struct api_req *q, struct blob_rec *r)
{
    const char *v = api_header(q, "x-ms-access-tier");
    int t;

    memset(&r->tier, 0, sizeof(r->tier));
    if (v == NULL)
        return 0;
    if ((t = tier_parse(v)) < 0)
        return api_fail_header(q, premium_tier(v) ? E_InvalidBlobTier : E_InvalidHeaderValue,
                               "x-ms-access-tier", v);
    r->tier.tier = (uint8_t)t;
    r->tier.explicit_ = 1;
    r->tier.changed = ticks_now();
    return 0;
}

void
api_tier_headers(struct api_req *q, const struct blob_rec *r)
{
    struct tier_rec e;

    if (r->type != 0 && r->type != BLOB_BLOCK)
        return; /* standard accounts give page and append blobs no tier */
    e = tier_effective(&r->tier, ticks_now());
    api_hdr(q, "x-ms-access-tier", tier_names[e.tier < 4 ? e.tier : 0]);
    if (!e.explicit_)
        api_hdr(q, "x-ms-access-tier-inferred", "true");
    if (e.changed != 0)
        api_hdr_time(q, "x-ms-access-tier-change-time", e.changed);
    if (e.rehydrate_to >= 1 && e.rehydrate_to <= 3) {
        api_hdr(q, "x-ms-archive-status", pending_names[e.rehydrate_to - 1]);
        api_hdr(q, "x-ms-rehydrate-priority", e.priority ? "High" : "Standard");
    }
}

void
api_xml_tier(struct buf *b, const struct blob_rec *r)
{
    struct tier_rec e;
    char t[30];

    if (r->type != 0 && r->type != BLOB_BLOCK)
        return;
    e = tier_effective(&r->tier, ticks_now());
    xml_elem(b, "AccessTier", tier_names[e.tier < 4 ? e.tier : 0]);
    if (!e.explicit_)
        xml_elem(b, "AccessTierInferred", "true");
    if (e.rehydrate_to >= 1 && e.rehydrate_to <= 3)
        xml_elem(b, "ArchiveStatus", pending_names[e.rehydrate_to - 1]);
    if (e.changed != 0) {
        fmt_rfc1123(e.changed, t);
        xml_elem(b, "AccessTierChangeTime", t);
    }
    if (e.rehydrate_to != 0)
        xml_elem(b, "RehydratePriority", e.priority ? "High" : "Standard");
}

int
api_tier_content_gate(struct api_req *q, const struct blob_rec *r)
{
    struct tier_rec e = tier_effective(&r->tier, ticks_now());

    return archived(&e) ? api_fail(q, E_BlobArchived) : 0;
}

/* ---- Set Blob Tier ---------------------------------------------------------------------- */

/* The record Set Tier addresses: the blob, or with ?snapshot= / ?versionid= one of its snapshots
 * or previous versions (Set Tier may name them, §5.10); a versionid naming the current version is
 * the blob itself.  1 found (*kind, *id: which record), 0 not, -1 described. */
static int
tier_load(struct api_req *q, struct blob_rec *r, char *kind, int64_t *id)
{
    int rc, current;

    if ((rc = api_blob_address(q, kind, id)) < 0 ||
        (rc = api_blob_load_addressed(q, r, &current)) <= 0)
        return rc;
    if (current)
        *kind = ENG_CURRENT, *id = 0;
    return 1;
}

/*
 * The new tier state for target `want` from effective state `cur`, and the status to answer:
 * 200, 202, or -1 with the 409 described.
 */
static int
tier_change(struct api_req *q, struct tier_rec *cur, int want, uint8_t priority, int64_t now)
{
    if (cur->rehydrate_to != 0) { /* a rehydration is pending */
        if (want != cur->rehydrate_to - 1)
            return api_fail(q, E_BlobBeingRehydrated);
        if (priority > cur->priority) /* Standard -> High is allowed mid-way */
            cur->priority = priority;
        return 202;
    }
    if (cur->tier == TIER_ARCHIVE && want != TIER_ARCHIVE) {
        if (q->srv->rehydrate_delay == 0) { /* completes at once */
            cur->tier = (uint8_t)want;
            cur->explicit_ = 1;
            cur->changed = now;
            return 200;
        }
        cur->rehydrate_to = (uint8_t)(want + 1);
        cur->priority = priority;
        cur->rehydrated_at = now + (int64_t)q->srv->rehydrate_delay * TICKS_PER_SEC;
        return 202;
    }
    if (cur->tier != want || !cur->explicit_) {
        cur->tier = (uint8_t)want;
        cur->explicit_ = 1;
        cur->changed = now;
    }
    return 200;
}

struct set_tier {
    const char *tv; /* x-ms-access-tier */
    int want;
    uint8_t priority;
    int status; /* 200 or 202 */
};

static int
set_tier_attempt(struct api_req *q, void *ctx)
{
    struct set_tier *st = ctx;
    struct blob_rec r, *nr;
    int64_t now, id;
    char kind;
    int exists;

    if ((exists = tier_load(q, &r, &kind, &id)) < 0)
        return -1;
    if (!exists)
        return api_fail(q, E_BlobNotFound);
    /* Set Tier takes a lease id (required when leased) and x-ms-if-tags, no ETag conditions. */
    if (api_lease_check_blob(q, 1, &r, 1) != 0 || api_check_if_tags(q, &r) != 0)
        return -1;
    if (r.type == BLOB_APPEND)
        return api_fail(q, E_InvalidBlobType);
    if (r.type == BLOB_PAGE) /* standard tiers on a page blob: premium accounts only */
        return api_fail_header(q, E_InvalidBlobTier, "x-ms-access-tier", st->tv);
    if ((nr = arena_alloc(q->a, sizeof(*nr))) == NULL)
        return api_fail(q, E_InternalError);
    *nr = r;
    now = ticks_now();
    nr->tier = tier_effective(&r.tier, now); /* a finished rehydration is written back */
    if ((st->status = tier_change(q, &nr->tier, st->want, st->priority, now)) < 0)
        return -1;
    return api_blob_commit(q, &(struct eng_write){NULL, kind, id, &r, nr}, 1, NULL);
}

void
op_set_blob_tier(struct api_req *q)
{
    const char *pv = api_header(q, "x-ms-rehydrate-priority");
    struct set_tier st = {.tv = api_header(q, "x-ms-access-tier")};

    if (st.tv == NULL) {
        api_fail_header(q, E_MissingRequiredHeader, "x-ms-access-tier", NULL);
        return;
    }
    if ((st.want = tier_parse(st.tv)) < 0) {
        api_fail_header(q, premium_tier(st.tv) ? E_InvalidBlobTier : E_InvalidHeaderValue,
                        "x-ms-access-tier", st.tv);
        return;
    }
    if (pv != NULL) {
        if (strcasecmp(pv, "High") == 0)
            st.priority = 1;
        else if (strcasecmp(pv, "Standard") != 0) {
            api_fail_header(q, E_InvalidHeaderValue, "x-ms-rehydrate-priority", pv);
            return;
        }
    }
    if (api_retry(q, set_tier_attempt, &st) == 0)
        api_status(q, st.status);
}
