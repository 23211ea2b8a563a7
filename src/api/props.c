/*
 * props.c -- settings documents: Get/Set Blob Service Properties (per account) and Get/Set
 * Container ACL (stored access policies and public access).
 *
 * Service properties are kept as the XML of each top-level section the client last sent (the
 * engine's service properties of the account): Set replaces only the sections present in its body
 * (protocol doc §2.1) with a compare-and-set of the whole document, Get returns the stored
 * sections and defaults for the others.  Cobalt acts on DeleteRetentionPolicy (blob soft delete,
 * see blob.c); the other sections (logging, metrics, CORS, static website) are stored and returned
 * so tools that configure them round-trip, and validated as Azure does.
 */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/timefmt.h"
#include "util/xml.h"

static const char *const sections[] = {"Logging",
                                       "HourMetrics",
                                       "MinuteMetrics",
                                       "Cors",
                                       "DefaultServiceVersion",
                                       "DeleteRetentionPolicy",
                                       "StaticWebsite",
                                       NULL};

static const char *const defaults[] = {
    "<Logging><Version>1.0</Version><Delete>false</Delete><Read>false</Read><Write>false</Write>"
    "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></Logging>",
    "<HourMetrics><Version>1.0</Version><Enabled>false</Enabled>"
    "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></HourMetrics>",
    "<MinuteMetrics><Version>1.0</Version><Enabled>false</Enabled>"
    "<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></MinuteMetrics>",
    "<Cors />",
    NULL,
    "<DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy>",
    "<StaticWebsite><Enabled>false</Enabled></StaticWebsite>",
};

/* The stored sections: n (name, xml) pairs in the arena.  0, or -1 (response described). */
static int
load_sections(struct api_req *q, size_t *n, struct meta_pair **out)
{
    int rc = eng_service_props_get(&q->srv->eng, q->a, q->account, n, out);

    return rc == 0 ? 0 : api_fail_rc(q, rc);
}

static const char *
section(size_t n, const struct meta_pair *s, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0)
            return s[i].value;
    return NULL;
}

static int
xml_true(const struct xml_node *n, const char *child)
{
    const struct xml_node *c = n ? xml_child(n, child) : NULL;

    return c != NULL && strcasecmp(c->text, "true") == 0;
}

int
api_service_settings(struct api_req *q, struct service_settings *out)
{
    struct meta_pair *s;
    struct xml_node *root, *days;
    const char *drp;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (load_sections(q, &n, &s) != 0)
        return -1;
    if ((drp = section(n, s, "DeleteRetentionPolicy")) == NULL ||
        (root = xml_parse(q->a, drp, strlen(drp))) == NULL || !xml_true(root, "Enabled"))
        return 0;
    days = xml_child(root, "Days");
    out->delete_retention_days = days ? atoi(days->text) : 7;
    out->allow_permanent_delete = xml_true(root, "AllowPermanentDelete");
    return 0;
}

int
api_website_settings(struct api_req *q, struct website_settings *out)
{
    struct meta_pair *s;
    struct xml_node *root, *n;
    const char *sw;
    size_t ns;

    memset(out, 0, sizeof(*out));
    if (load_sections(q, &ns, &s) != 0)
        return -1;
    if ((sw = section(ns, s, "StaticWebsite")) == NULL ||
        (root = xml_parse(q->a, sw, strlen(sw))) == NULL || !xml_true(root, "Enabled"))
        return 0;
    out->enabled = 1;
    if ((n = xml_child(root, "IndexDocument")) != NULL && n->text_len > 0)
        out->index = n->text;
    if ((n = xml_child(root, "ErrorDocument404Path")) != NULL && n->text_len > 0)
        out->error404 = n->text;
    if ((n = xml_child(root, "DefaultIndexDocumentPath")) != NULL && n->text_len > 0)
        out->default_index = n->text;
    return 0;
}

/* Serialises a parsed element back to XML (text, then children). */
static void
write_node(struct buf *b, const struct xml_node *n)
{
    buf_printf(b, "<%s>", n->name);
    xml_text(b, n->text, n->text_len);
    for (const struct xml_node *c = n->child; c != NULL; c = c->next)
        write_node(b, c);
    buf_printf(b, "</%s>", n->name);
}

static int
bad_node(struct api_req *q, const char *name, const char *value)
{
    return api_fail_xml_node(q, name, value);
}

/* Validates one section as Azure does (§2.1, §4.6).  0 or -1 (response described). */
static int
validate(struct api_req *q, const struct xml_node *n)
{
    if (strcmp(n->name, "DeleteRetentionPolicy") == 0 && xml_true(n, "Enabled")) {
        const struct xml_node *d = xml_child(n, "Days");
        int days = d ? atoi(d->text) : 0;
        if (d == NULL || days < 1 || days > 365)
            return bad_node(q, "Days", d ? d->text : "");
    }
    /* StaticWebsite: Enabled is required; a document is a blob name of the $web container
     * (1-1024 characters); IndexDocument and DefaultIndexDocumentPath exclude each other. */
    if (strcmp(n->name, "StaticWebsite") == 0) {
        const struct xml_node *en = xml_child(n, "Enabled"), *ix = xml_child(n, "IndexDocument");
        const struct xml_node *dp = xml_child(n, "DefaultIndexDocumentPath");
        static const char *const docs[] = {"IndexDocument", "ErrorDocument404Path",
                                           "DefaultIndexDocumentPath"};
        if (en == NULL || (strcasecmp(en->text, "true") != 0 && strcasecmp(en->text, "false") != 0))
            return bad_node(q, "Enabled", en ? en->text : "");
        for (int i = 0; i < 3; i++) {
            const struct xml_node *d = xml_child(n, docs[i]);
            if (d != NULL && d->text_len > 1024)
                return bad_node(q, docs[i], d->text);
        }
        if (ix != NULL && ix->text_len > 0 && dp != NULL && dp->text_len > 0)
            return bad_node(q, "DefaultIndexDocumentPath", dp->text);
    }
    if (strcmp(n->name, "Cors") == 0) {
        int rules = 0;
        for (const struct xml_node *c = n->child; c != NULL; c = c->next) {
            if (strcmp(c->name, "CorsRule") != 0)
                return api_fail(q, E_InvalidXmlDocument);
            if (++rules > 5 || xml_child(c, "AllowedOrigins") == NULL ||
                xml_child(c, "AllowedMethods") == NULL || xml_child(c, "MaxAgeInSeconds") == NULL)
                return bad_node(q, "CorsRule", "");
        }
    }
    return 0;
}

void
op_service_props_get(struct api_req *q)
{
    struct meta_pair *s;
    struct buf b = BUF_INIT;
    size_t n;

    if (load_sections(q, &n, &s) != 0)
        return;
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<StorageServiceProperties>");
    for (int i = 0; sections[i] != NULL; i++) {
        const char *v = section(n, s, sections[i]);
        if (v != NULL)
            buf_puts(&b, v);
        else if (defaults[i] != NULL)
            buf_puts(&b, defaults[i]);
    }
    buf_puts(&b, "</StorageServiceProperties>");
    api_status(q, 200);
    api_body_xml(q, &b);
}

void
op_service_props_set(struct api_req *q)
{
    struct xml_node *root = xml_parse(q->a, q->xml.p ? q->xml.p : "", q->xml.len);
    struct meta_pair *old, merged[16];
    struct buf x = BUF_INIT;
    size_t n, nm;
    int rc;

    if (root == NULL || strcmp(root->name, "StorageServiceProperties") != 0) {
        api_fail(q, E_InvalidXmlDocument);
        return;
    }
    for (struct xml_node *c = root->child; c != NULL; c = c->next) {
        int known = 0;
        for (int i = 0; sections[i] != NULL; i++)
            known |= strcmp(c->name, sections[i]) == 0;
        if (!known) {
            api_fail(q, E_InvalidXmlDocument);
            return;
        }
        if (validate(q, c) != 0)
            return;
    }
    do { /* read, merge, write if unchanged (engine.h) */
        if (load_sections(q, &n, &old) != 0)
            goto out;
        nm = 0;
        for (int i = 0; sections[i] != NULL; i++) {
            struct xml_node *c;
            for (c = root->child; c != NULL && strcmp(c->name, sections[i]) != 0; c = c->next)
                ;
            if (c != NULL) {
                buf_reset(&x);
                write_node(&x, c);
                merged[nm].name = sections[i];
                merged[nm++].value = arena_strdup(q->a, x.p ? x.p : "");
            } else if (section(n, old, sections[i]) != NULL) {
                merged[nm].name = sections[i];
                merged[nm++].value = section(n, old, sections[i]);
            }
        }
        if (!buf_ok(&x)) {
            api_fail(q, E_InternalError);
            goto out;
        }
        rc = eng_service_props_set(&q->srv->eng, q->account, n, old, nm, merged);
    } while (rc == CO_ECONFLICT);
    if (rc != 0)
        api_fail_rc(q, rc);
    else
        api_status(q, 202);
out:
    buf_free(&x);
}

/* ---- container ACL ------------------------------------------------------------------- */

static void
acl_time(struct buf *b, const char *name, const char *iso)
{
    int64_t t;
    char out[29];

    if (iso == NULL || *iso == '\0')
        return;
    if (parse_iso8601(iso, &t) == 0) {
        fmt_iso8601_7(t, out);
        xml_elem(b, name, out);
    } else {
        xml_elem(b, name, iso);
    }
}

void
op_container_acl_get(struct api_req *q)
{
    const struct container_rec *c = &q->cont;
    struct buf b = BUF_INIT;

    if (api_lease_check_container(q, c, 0) != 0)
        return;
    buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<SignedIdentifiers>");
    for (size_t i = 0; i < c->nacl; i++) {
        buf_puts(&b, "<SignedIdentifier>");
        xml_elem(&b, "Id", c->acl[i].id);
        buf_puts(&b, "<AccessPolicy>");
        acl_time(&b, "Start", c->acl[i].start);
        acl_time(&b, "Expiry", c->acl[i].expiry);
        if (c->acl[i].permission[0])
            xml_elem(&b, "Permission", c->acl[i].permission);
        buf_puts(&b, "</AccessPolicy></SignedIdentifier>");
    }
    buf_puts(&b, "</SignedIdentifiers>");
    api_status(q, 200);
    api_hdr_etag(q, c->etag);
    api_hdr_time(q, "Last-Modified", c->modified);
    if (c->public_access == PUBLIC_CONTAINER)
        api_hdr(q, "x-ms-blob-public-access", "container");
    else if (c->public_access == PUBLIC_BLOB)
        api_hdr(q, "x-ms-blob-public-access", "blob");
    api_body_xml(q, &b);
}

static int
valid_time(const char *s)
{
    int64_t t;

    return s == NULL || *s == '\0' || parse_iso8601(s, &t) == 0;
}

void
op_container_acl_set(struct api_req *q)
{
    struct xml_node *root = NULL;
    struct signed_id *acl = NULL;
    struct container_rec old, c;
    const char *pa = api_header(q, "x-ms-blob-public-access");
    size_t n = 0;
    int rc;

    if (q->xml.len > 0) {
        root = xml_parse(q->a, q->xml.p, q->xml.len);
        if (root == NULL || strcmp(root->name, "SignedIdentifiers") != 0) {
            api_fail(q, E_InvalidXmlDocument);
            return;
        }
        for (struct xml_node *s = root->child; s != NULL; s = s->next)
            n++;
        if (n > 5) {
            api_fail(q, E_InvalidXmlDocument);
            return;
        }
        if (n > 0 && (acl = arena_calloc(q->a, sizeof(*acl) * n)) == NULL) {
            api_fail(q, E_InternalError);
            return;
        }
        n = 0;
        for (struct xml_node *s = root->child; s != NULL; s = s->next, n++) {
            struct xml_node *id = xml_child(s, "Id"), *ap = xml_child(s, "AccessPolicy");
            struct xml_node *st = ap ? xml_child(ap, "Start") : NULL;
            struct xml_node *ex = ap ? xml_child(ap, "Expiry") : NULL;
            struct xml_node *pm = ap ? xml_child(ap, "Permission") : NULL;
            if (strcmp(s->name, "SignedIdentifier") != 0 || id == NULL || id->text_len == 0 ||
                id->text_len > 64) {
                api_fail(q, E_InvalidXmlDocument);
                return;
            }
            acl[n].id = id->text;
            acl[n].start = st ? st->text : "";
            acl[n].expiry = ex ? ex->text : "";
            acl[n].permission = pm ? pm->text : "";
            if (!valid_time(acl[n].start) || !valid_time(acl[n].expiry) ||
                strspn(acl[n].permission, "racwdxyltfi") != strlen(acl[n].permission)) {
                api_fail(q, E_InvalidXmlNodeValue);
                return;
            }
            for (size_t j = 0; j < n; j++)
                if (strcmp(acl[j].id, acl[n].id) == 0) {
                    api_fail(q, E_InvalidXmlDocument);
                    return;
                }
        }
    }
    do { /* read, check, update if unchanged (engine.h) */
        if ((rc = eng_container_get(&q->srv->eng, q->a, q->account, q->container, &old)) != 0)
            break;
        if (api_lease_check_container(q, &old, 0) != 0 || api_container_dates(q, &old) != 0)
            return;
        c = old;
        /* Absent x-ms-blob-public-access makes the container private (§2.2). */
        c.public_access = PUBLIC_NONE;
        if (pa != NULL && *pa) {
            if (strcasecmp(pa, "container") == 0)
                c.public_access = PUBLIC_CONTAINER;
            else if (strcasecmp(pa, "blob") == 0)
                c.public_access = PUBLIC_BLOB;
            else {
                api_fail_header(q, E_InvalidHeaderValue, "x-ms-blob-public-access", pa);
                return;
            }
        }
        c.nacl = n;
        c.acl = acl;
        rc = api_container_store(q, &old, &c);
    } while (rc == CO_ECONFLICT);
    api_container_written(q, rc, &c);
}

/* ---- CORS (the rules of the service properties' Cors section) ------------------------- */

/*
 * How an Origin meets a rule (Azure's CORS support page, and what it answers):
 *  - AllowedOrigins entries are "*" (every origin), an exact origin, or a subdomain wildcard:
 *    a scheme, "://", "*." and a domain (e.g. "http:" "//" "*.example.com"), which admits every
 *    origin of that scheme whose host ends in ".example.com"; scheme and host compare
 *    case-insensitively.
 *  - An actual request from an origin a rule admits gets Access-Control-Allow-Origin; from an
 *    exact or subdomain rule with Access-Control-Allow-Credentials and Vary: Origin, from a "*"
 *    rule as "*" without Vary (the answer does not depend on the origin).  When rules exist but
 *    none admits the request, the response carries only Vary: Origin.
 *  - Requests without Origin get no CORS headers: browsers send Origin on every cross-origin
 *    request, and this way a request that is not one never reads the service properties.
 */
struct cors_rule {
    const char *origins, *methods, *headers, *exposed, *max_age;
};

/* Does origin entry e (length n) admit origin o? */
static int
cors_origin_matches(const char *e, size_t n, const char *o)
{
    const char *sep = memmem(e, n, "://*.", 5), *host;
    size_t olen = strlen(o), scheme, suffix;

    if (n == strlen(o) && strncasecmp(e, o, n) == 0)
        return 1;
    if (sep == NULL)
        return 0;
    scheme = (size_t)(sep - e) + 3; /* the scheme and "://" */
    suffix = n - scheme - 1;        /* ".example.com" */
    if (olen <= scheme + suffix || strncasecmp(e, o, scheme) != 0)
        return 0;
    host = o + scheme;
    return strchr(host, '/') == NULL && strncasecmp(o + olen - suffix, sep + 4, suffix) == 0;
}

/* Does the comma-separated list hold item (case-insensitive)?  "*" holds everything; with
 * prefixes, an entry "x-ms-meta-*" holds every item starting with "x-ms-meta-"; with origins,
 * entries are matched by cors_origin_matches(). */
enum { CORS_EXACT, CORS_PREFIXES, CORS_ORIGINS };
static int
cors_list_has(const char *list, const char *item, size_t ilen, int how)
{
    const char *p = list;

    while (*p) {
        const char *e = strchr(p, ','), *end = e ? e : p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - p) == 1 && *p == '*')
            return 1;
        if ((size_t)(end - p) == ilen && strncasecmp(p, item, ilen) == 0)
            return 1;
        if (how == CORS_PREFIXES && end > p && end[-1] == '*' && (size_t)(end - p - 1) <= ilen &&
            strncasecmp(p, item, (size_t)(end - p - 1)) == 0)
            return 1;
        if (how == CORS_ORIGINS && cors_origin_matches(p, (size_t)(end - p), item))
            return 1;
        if (e == NULL)
            break;
        p = e + 1;
    }
    return 0;
}

/* Does the rule admit every origin (its AllowedOrigins is "*")? */
static int
cors_any_origin(const struct cors_rule *r)
{
    const char *p = r->origins;

    while (*p == ' ' || *p == '\t')
        p++;
    return p[0] == '*' && (p[1] == '\0' || p[1] == ' ' || p[1] == '\t');
}

/* The account's CORS rules (at most 5).  Returns their number; 0 when none or unreadable. */
static size_t
cors_rules(struct api_req *q, struct cors_rule out[5])
{
    struct meta_pair *s;
    struct xml_node *root;
    const char *cors;
    size_t n, k = 0;

    if (load_sections(q, &n, &s) != 0 || (cors = section(n, s, "Cors")) == NULL ||
        (root = xml_parse(q->a, cors, strlen(cors))) == NULL)
        return 0;
    for (struct xml_node *r = root->child; r != NULL && k < 5; r = r->next) {
        struct xml_node *o = xml_child(r, "AllowedOrigins"), *m = xml_child(r, "AllowedMethods");
        struct xml_node *h = xml_child(r, "AllowedHeaders"), *x = xml_child(r, "ExposedHeaders");
        struct xml_node *a = xml_child(r, "MaxAgeInSeconds");
        if (o == NULL || m == NULL)
            continue;
        out[k++] = (struct cors_rule){o->text, m->text, h ? h->text : "", x ? x->text : "",
                                      a ? a->text : "0"};
    }
    return k;
}

void
api_cors_preflight(struct api_req *q)
{
    const char *origin = api_header(q, "Origin");
    const char *method = api_header(q, "Access-Control-Request-Method");
    const char *hdrs = api_header(q, "Access-Control-Request-Headers");
    struct cors_rule rules[5];
    size_t n;

    if (origin == NULL || method == NULL) {
        api_fail_header(q, E_InvalidHeaderValue,
                        origin == NULL ? "Origin" : "Access-Control-Request-Method", NULL);
        return;
    }
    n = q->acct != NULL ? cors_rules(q, rules) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = hdrs ? hdrs : "";
        int ok = cors_list_has(rules[i].origins, origin, strlen(origin), CORS_ORIGINS) &&
                 cors_list_has(rules[i].methods, method, strlen(method), CORS_EXACT);
        /* Every requested header must be allowed. */
        while (ok && *p) {
            const char *e = strchr(p, ','), *end = e ? e : p + strlen(p);
            while (p < end && *p == ' ')
                p++;
            while (end > p && end[-1] == ' ')
                end--;
            if (end > p && !cors_list_has(rules[i].headers, p, (size_t)(end - p), CORS_PREFIXES))
                ok = 0;
            p = e ? e + 1 : end;
        }
        if (!ok)
            continue;
        api_status(q, 200);
        api_hdr(q, "Access-Control-Allow-Origin", cors_any_origin(&rules[i]) ? "*" : origin);
        if (!cors_any_origin(&rules[i]))
            api_hdr(q, "Access-Control-Allow-Credentials", "true");
        api_hdr(q, "Access-Control-Allow-Methods", method);
        if (hdrs != NULL)
            api_hdr(q, "Access-Control-Allow-Headers", hdrs);
        api_hdr(q, "Access-Control-Max-Age", rules[i].max_age);
        api_hdr(q, "Vary", "Origin");
        http_resp_body(q->h, "", 0);
        return;
    }
    api_fail(q, E_CorsPreflightFailure);
}

void
api_cors_actual(struct api_req *q)
{
    const char *origin = api_header(q, "Origin");
    struct cors_rule rules[5];
    size_t n;

    if (origin == NULL || q->acct == NULL || q->account == NULL)
        return;
    n = cors_rules(q, rules);
    for (size_t i = 0; i < n; i++) {
        int any = cors_any_origin(&rules[i]);
        if (!cors_list_has(rules[i].origins, origin, strlen(origin), CORS_ORIGINS) ||
            !cors_list_has(rules[i].methods, q->h->method, strlen(q->h->method), CORS_EXACT))
            continue;
        api_hdr(q, "Access-Control-Allow-Origin", any ? "*" : origin);
        if (!any)
            api_hdr(q, "Access-Control-Allow-Credentials", "true");
        if (rules[i].exposed[0])
            api_hdr(q, "Access-Control-Expose-Headers", rules[i].exposed);
        if (!any)
            api_hdr(q, "Vary", "Origin");
        return;
    }
    if (n > 0)
        api_hdr(q, "Vary", "Origin");
}
