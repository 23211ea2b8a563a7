/*
 * service.c -- service-level operations: List Containers, Get Account Information, Get User
 * Delegation Key.
 */
#include "api/api_int.h"

#include <string.h>
#include <time.h>

#include "api/parse.h"
#include "util/arena.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/xml.h"

void
op_account_info(struct api_req *q)
{
    api_status(q, 200);
    api_hdr(q, "x-ms-sku-name", "Standard_LRS");
    api_hdr(q, "x-ms-account-kind", "StorageV2");
    api_hdr(q, "x-ms-is-hns-enabled", "false");
    http_resp_body(q->h, "", 0);
}

static void
endpoint(struct api_req *q, struct buf *b)
{
    const char *host = api_header(q, "Host");

    buf_puts(b, " ServiceEndpoint=\"http://");
    xml_text(b, host ? host : "127.0.0.1", strlen(host ? host : "127.0.0.1"));
    buf_putc(b, '/');
    xml_text(b, q->account, strlen(q->account));
    buf_puts(b, "/\"");
}

static int
check_container_include(const char *item, size_t n, void *ctx)
{
    return !(n == 8 && strncmp(item, "metadata", 8) == 0) &&
           !(n == 6 && strncmp(item, "system", 6) == 0) &&
           !(n == 7 && strncmp(item, "deleted", 7) == 0);
}

static void
xml_container(struct buf *b, const char *name, size_t n, const struct container_rec *c,
              int with_meta, int64_t now, int64_t day_ticks)
{
    char etag[19], t[30];

    buf_puts(b, "<Container><Name>");
    xml_text(b, name, n);
    buf_puts(b, "</Name>");
    if (c->deleted)
        buf_printf(b, "<Deleted>true</Deleted><Version>%016llX</Version>",
                   (unsigned long long)c->deleted);
    buf_puts(b, "<Properties>");
    fmt_rfc1123(c->modified, t);
    xml_elem(b, "Last-Modified", t);
    fmt_etag(c->etag, etag);
    buf_printf(b, "<Etag>\"%s\"</Etag>", etag);
    api_xml_lease(b, &c->lease);
    if (c->public_access == PUBLIC_CONTAINER)
        buf_puts(b, "<PublicAccess>container</PublicAccess>");
    else if (c->public_access == PUBLIC_BLOB)
        buf_puts(b, "<PublicAccess>blob</PublicAccess>");
    buf_printf(b,
               "<HasImmutabilityPolicy>%s</HasImmutabilityPolicy>"
               "<HasLegalHold>%s</HasLegalHold>",
               c->immutable_days > 0 ? "true" : "false", c->legal_hold ? "true" : "false");
    buf_puts(b, "<DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope>"
                "<DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride>");
    if (c->deleted) {
        fmt_rfc1123(c->deleted, t);
        xml_elem(b, "DeletedTime", t);
        buf_printf(b, "<RemainingRetentionDays>%lld</RemainingRetentionDays>",
                   (long long)((c->purge_at - now) / day_ticks + 1));
    }
    buf_puts(b, "</Properties>");
    if (with_meta)
        api_xml_metadata(b, c->nmeta, c->meta);
    buf_puts(b, "</Container>");
}

void
op_list_containers(struct api_req *q)
{
    const char *prefix = api_query(q, "prefix"), *marker = api_query(q, "marker");
    const char *mr = api_query(q, "maxresults"), *include = api_query(q, "include");
    struct eng_iter *it = NULL;
    struct eng_container c;
    struct buf b = BUF_INIT;
    int max = 5000, count = 0, with_meta, rc;
    int64_t now = ticks_now();

    if (mr != NULL && (max = maxresults_parse(mr)) < 0) {
        api_fail_query(q, E_OutOfRangeQueryParameterValue, "maxresults", mr,
                       "Must be between 1 and 5000.");
        return;
    }
    if (include != NULL && list_each(include, check_container_include, NULL) != 0) {
        api_fail_query(q, E_InvalidQueryParameterValue, "include", include, "Unknown value.");
        return;
    }
    with_meta = api_include_has(include, "metadata");
    /* The marker is the first entry not yet returned. */
    if ((rc = eng_container_list(&q->srv->eng, q->account, prefix, marker,
                                 api_include_has(include, "deleted"), &it)) != 0) {
        api_fail_rc(q, rc);
        return;
    }
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<EnumerationResults");
    endpoint(q, &b);
    buf_putc(&b, '>');
    if (prefix)
        xml_elem(&b, "Prefix", prefix);
    if (marker)
        xml_elem(&b, "Marker", marker);
    if (mr)
        buf_printf(&b, "<MaxResults>%d</MaxResults>", max);
    buf_puts(&b, "<Containers>");
    while ((rc = eng_container_next(it, q->a, &c)) == 1) {
        if (c.rec.deleted && c.rec.purge_at <= now) /* past retention: gone, awaiting its purge */
            continue;
        if (count == max) {
            buf_puts(&b, "</Containers><NextMarker>");
            xml_text(&b, c.name, strlen(c.name));
            buf_puts(&b, "</NextMarker></EnumerationResults>");
            goto done;
        }
        xml_container(&b, c.name, strlen(c.name), &c.rec, with_meta, now, q->srv->day_ticks);
        count++;
    }
    if (rc != 0) {
        api_fail_rc(q, rc);
        goto out;
    }
    buf_puts(&b, "</Containers><NextMarker /></EnumerationResults>");
done:
    api_status(q, 200);
    api_body_xml(q, &b);
out:
    eng_iter_free(it);
    buf_free(&b);
}

/* ticks as "YYYY-MM-DDThh:mm:ssZ", the form SDKs echo into a SAS's skt and ske. */
static void
fmt_seconds(int64_t ticks, char out[21])
{
    time_t t = (time_t)(ticks / TICKS_PER_SEC);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Get User Delegation Key (protocol doc §4.10): the route admits bearer callers whose roles grant
 * the delegation action (routes.c).  KeyInfo's Expiry is required, at most 7 days from now and
 * after Start (optional, default now).  The key's value is derived, not stored
 * (auth_delegation_key()): nothing to persist, and rotating --delegation-secret revokes it.
 */
void
op_user_delegation_key(struct api_req *q)
{
    struct xml_node *root = xml_parse(q->a, q->xml.p ? q->xml.p : "", q->xml.len), *n;
    const char *dutid = NULL;
    char start[21], expiry[21], value[BASE64_LEN(AUTH_HMAC_LEN) + 1];
    unsigned char key[AUTH_HMAC_LEN];
    int64_t now = ticks_now(), st = now, ex;
    struct buf b = BUF_INIT;

    if (root == NULL || strcmp(root->name, "KeyInfo") != 0) {
        api_fail(q, E_InvalidXmlDocument);
        return;
    }
    if ((n = xml_child(root, "Start")) != NULL && parse_iso8601(n->text, &st) != 0) {
        api_fail_xml_node(q, "Start", n->text);
        return;
    }
    if ((n = xml_child(root, "Expiry")) == NULL || parse_iso8601(n->text, &ex) != 0 || ex <= st ||
        ex > now + 7 * 86400 * TICKS_PER_SEC) {
        api_fail_xml_node(q, "Expiry", n != NULL ? n->text : "");
        return;
    }
    if ((n = xml_child(root, "DelegatedUserTid")) != NULL)
        dutid = n->text;
    fmt_seconds(st, start);
    fmt_seconds(ex, expiry);
    if (auth_delegation_key(__atomic_load_n(&q->srv->dir, __ATOMIC_ACQUIRE), q->auth.oid,
                            q->auth.tid, start, expiry, q->version, dutid, key) != 0) {
        api_respond_error(q, 403, "AuthorizationFailure",
                          "User delegation keys are not enabled on this server.", NULL);
        return;
    }
    base64_encode(key, AUTH_HMAC_LEN, value);
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<UserDelegationKey>");
    xml_elem(&b, "SignedOid", q->auth.oid);
    xml_elem(&b, "SignedTid", q->auth.tid);
    xml_elem(&b, "SignedStart", start);
    xml_elem(&b, "SignedExpiry", expiry);
    xml_elem(&b, "SignedService", "b");
    xml_elem(&b, "SignedVersion", q->version);
    if (dutid != NULL)
        xml_elem(&b, "SignedDelegatedUserTid", dutid);
    xml_elem(&b, "Value", value);
    buf_puts(&b, "</UserDelegationKey>");
    api_status(q, 200);
    api_body_xml(q, &b);
    buf_free(&b);
}
