/*
 * conditions.c -- conditional requests (§5.1): the ETag and date conditions of one resource, and
 * x-ms-if-tags against a blob's tags.
 *
 * HTTP's rules where Azure follows them (an unparsable date is ignored; If-None-Match on a read
 * gives 304), Azure's where it does not (no lists of ETags: 400; If-None-Match: * on a creating
 * write gives 409 BlobAlreadyExists, and on any other write it is ignored: Azure deletes an
 * existing blob under Delete Blob with If-None-Match: *, as Azurite lets such writes through).
 */
#include "api/conditions_int.h"

#include <string.h>

#include "api/respond_int.h"
#include "api/tagexpr.h"
#include "util/timefmt.h"

int
api_etag_matches(const char *cond, uint64_t etag)
{
    char t[19];
    size_t n = strlen(cond);

    if (strcmp(cond, "*") == 0)
        return 1;
    if (n >= 2 && cond[0] == '"' && cond[n - 1] == '"') {
        cond++;
        n -= 2;
    }
    fmt_etag(etag, t);
    return n == strlen(t) && strncmp(cond, t, n) == 0;
}

int
api_check_conditions(struct api_req *q, int exists, uint64_t etag, int64_t modified, int read,
                     int create_only_409)
{
    const char *im = api_header(q, "If-Match"), *inm = api_header(q, "If-None-Match");
    const char *ims = api_header(q, "If-Modified-Since");
    const char *ius = api_header(q, "If-Unmodified-Since");
    int64_t t, mod_s = modified / TICKS_PER_SEC;
    int inm_hit = 0, ims_fail = 0;

    if ((im && strchr(im, ',')) || (inm && strchr(inm, ',')))
        return api_fail(q, E_MultipleConditionHeadersNotSupported);
    if (ims && parse_http_date(ims, &t) != 0)
        ims = NULL; /* HTTP: an invalid date is ignored */
    else if (ims)
        ims_fail = exists && mod_s <= t / TICKS_PER_SEC;
    if (!exists) {
        if (im != NULL)
            return api_fail(q, E_ConditionNotMet);
        return 0;
    }
    if (im != NULL && !api_etag_matches(im, etag))
        return api_fail(q, E_ConditionNotMet);
    if (ius && parse_http_date(ius, &t) == 0 && mod_s > t / TICKS_PER_SEC)
        return api_fail(q, E_ConditionNotMet);
    if (inm != NULL && strcmp(inm, "*") == 0) {
        if (read)
            return api_fail(q, E_UnsatisfiableCondition);
        if (create_only_409)
            return api_fail(q, E_BlobAlreadyExists);
        inm = NULL; /* "only if missing" means nothing to a write of what exists */
    }
    if (inm != NULL)
        inm_hit = api_etag_matches(inm, etag);
    if (read) {
        if (inm_hit && !(ims && !ims_fail)) {
            api_respond_error(q, 304, "ConditionNotMet", "", NULL);
            return -1;
        }
        if (ims_fail && !(inm && !inm_hit)) {
            api_respond_error(q, 304, "ConditionNotMet", "", NULL);
            return -1;
        }
        return 0;
    }
    if (inm_hit || ims_fail)
        return api_fail(q, E_ConditionNotMet);
    return 0;
}

int
api_check_if_tags(struct api_req *q, const struct blob_rec *r)
{
    const char *cond = api_header(q, "x-ms-if-tags"), *why = NULL;
    struct tagexpr *e;

    if (cond == NULL)
        return 0;
    if ((e = tagexpr_parse(q->a, cond, TAGEXPR_IF_TAGS, &why)) == NULL)
        return api_fail_header(q, E_InvalidHeaderValue, "x-ms-if-tags", cond);
    return tagexpr_eval(e, r->ntags, r->tags, q->container) ? 0 : api_fail(q, E_ConditionNotMet);
}
