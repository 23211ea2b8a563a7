"""Authentication negative matrix (issue 5 §2 item 6): every route of the dispatcher's table ×
{no auth, wrong key, tampered signature, tampered request, SAS for another resource, expired and
not-yet-valid SAS, insufficient permission, wrong resource type, wrong spr, SAS sip excluding the
caller or malformed, duplicated SAS parameters, Authorization header plus a valid SAS, Shared Key
dated 16 minutes in the past or future or with an unparsable date} -> no 2xx, and no side effect.

Also from the table: every write route through "<account>-secondary" is refused (403
InsufficientAccountPermissions) and changes nothing, read routes still work there; every route
whose perms are AUTH_PERMS_ACCOUNT_KEY (container immutability policy and legal hold) refuses every
SAS kind; every lease action × SAS letter × SAS kind is allowed exactly as §3.8 says; and every
blob route not flagged R_BATCH is refused as a Blob Batch part.

The route list is read from src/api/routes.c (`api_routes[]` and its NEED_* macros), so a route
added later is in the matrix automatically; if the parser meets a row it cannot turn into a
request (a new discriminating `applies` function, a new level, body kind, flag or NEED_* macro),
test_every_route_is_exercisable fails until this file learns it.  Each route's request is first sent correctly signed (a positive
control: it must not be refused by auth), so the negative cases really reach that route's gate.
"""
import datetime
import email.utils
import os
import re
import time
import urllib.parse
import uuid

import pytest

from abuselib import (ACCOUNT, KEY, REPO, WRONG_KEY, account_sas, build, create_container,
                      exchange, iso, put_blob, service_sas, shared_key_headers, signed, utcnow)

ROUTES_C = os.path.join(REPO, "src", "api", "routes.c")
AUTH_H = os.path.join(REPO, "src", "auth", "auth.h")
AUTH_CODES = {"AuthenticationFailed", "AuthorizationFailure", "AuthorizationPermissionMismatch",
              "AuthorizationResourceTypeMismatch", "AuthorizationProtocolMismatch",
              "AuthorizationServiceMismatch", "ResourceNotFound", "NoAuthenticationInformation",
              "InvalidAuthenticationInfo", "AuthorizationSourceIPMismatch"}
METHODS = {"M_GET": "GET", "M_HEAD": "HEAD", "M_PUT": "PUT", "M_DELETE": "DELETE", "M_POST": "POST"}
# A copy source nothing listens on (the discard port): routed and authorized like any copy, and
# never able to succeed, so the matrix cannot copy anything by accident.
COPY_SOURCE = ("x-ms-copy-source", "http://127.0.0.1:9/nothing/here")
KNOWN_APPLIES = {"NULL": [], "is_block_blob_put": [("x-ms-blob-type", "BlockBlob")],
                 "is_append_blob_put": [("x-ms-blob-type", "AppendBlob")],
                 "is_page_blob_put": [("x-ms-blob-type", "PageBlob"),
                                      ("x-ms-blob-content-length", "512")],
                 "api_is_page_properties": [("x-ms-sequence-number-action", "increment")],
                 "api_is_put_blob_from_url": [("x-ms-blob-type", "BlockBlob"), COPY_SOURCE],
                 "api_is_copy_blob": [COPY_SOURCE],
                 "api_is_copy_blob_sync": [COPY_SOURCE, ("x-ms-requires-sync", "true")],
                 "api_has_copy_source": [COPY_SOURCE],
                 "api_is_lease_break": [("x-ms-lease-action", "break")]}
KNOWN_LEVELS = {"LVL_SERVICE", "LVL_CONTAINER", "LVL_BLOB"}
KNOWN_BODIES = {"BODY_NONE", "BODY_DATA", "BODY_XML"}
KNOWN_FLAGS = {"R_WRITES", "R_ADDRESSABLE", "R_BATCH", "R_ANY_CONTAINER", "R_NO_CONTENT", "R_WHOLE",
               "0"}
ACCOUNT_KEY_ONLY = "!"   # AUTH_PERMS_ACCOUNT_KEY (src/auth/auth.h)
BEARER_ONLY = "~"        # AUTH_PERMS_BEARER: Get User Delegation Key (tests/door covers bearer)
KNOWN_ACTIONS = {"ANY", "READ", "WRITE", "ADD", "DELETE", "TAGS_READ", "TAGS_WRITE", "FILTER",
                 "IMMUTABLE", "SERVICE", "DELEGATE"}   # AUTH_ACT_* (src/auth/auth.h)


# ---- the route table, parsed from C ------------------------------------------------------

def _strip_comments(src):
    return re.sub(r"/\*.*?\*/", "", src, flags=re.S)


def _split_top(s):
    """Splits at the commas outside any (), {} pair."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_routes(path=ROUTES_C):
    """Rows of `const struct route api_routes[] = { ... };` as dicts.  A row is
    {name, methods, level, restype, comp, applies, handler, need, body, body_max, flags}, its need a
    NEED_* macro of the same file (`#define NEED_X(p, a) {level, p, scope, anonymous,
    AUTH_ACT_##a}`, or with fewer parameters) that this parser expands."""
    src = _strip_comments(open(path, encoding="utf-8").read()).replace("\\\n", " ")
    macros = dict(re.findall(r'#define\s+(\w+)\s+("[^"]*")',
                             src + _strip_comments(open(AUTH_H, encoding="utf-8").read())))
    needs = {n: ([x.strip() for x in p.split(",")] if p else [], body) for n, p, body in
             re.findall(r"#define\s+(NEED_\w+)(?:\(([\w,\s]*)\))?\s+\{([^{}]*)\}", src)}
    m = re.search(r"api_routes\s*\[\s*\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert m, "api_routes[] not found in routes.c"
    body = m.group(1)
    rows, depth, cur = [], 0, ""
    for ch in body:
        if ch == "{":
            depth += 1
            if depth == 1:
                cur = ""
                continue
        if ch == "}":
            depth -= 1
            if depth == 0:
                rows.append(cur)
                continue
        if depth >= 1:
            cur += ch
    out = []
    for raw in rows:
        f = _split_top(raw)
        nm = re.fullmatch(r"(NEED_\w+)\s*(?:\((.*)\))?", f[7])
        need = []
        if nm and nm.group(1) in needs:
            params, tmpl = needs[nm.group(1)]
            args = dict(zip(params, _split_top(nm.group(2)) if nm.group(2) else []))
            need = [x.strip() for x in tmpl.split(",")]
            need = [args.get(x, x) for x in need]
            need = [re.sub(r"##(\w+)", lambda m: args.get(m.group(1), m.group(0)), x) for x in need]
        perms = need[1] if len(need) > 1 else None
        perms = macros.get(perms, perms)
        out.append({
            "raw": " ".join(raw.split()),
            "name": f[0].strip('"'),
            "methods": [x.strip() for x in f[1].split("|")],
            "level": f[2],
            "restype": None if f[3] == "NULL" else f[3].strip('"'),
            "comp": None if f[4] == "NULL" else f[4].strip('"'),
            "applies": f[5],
            "handler": f[6],
            "need": f[7],
            "need_level": need[0] if need else None,
            "perms": None if perms in (None, "NULL") else perms.strip('"'),
            "scope": need[2] if len(need) > 2 else None,
            "anon": need[3] if len(need) > 3 else None,
            "action": need[4].replace("AUTH_ACT_", "") if len(need) > 4 else None,
            "body": f[8],
            "body_max": f[9] if len(f) > 9 else None,
            "flags": [x.strip() for x in f[10].split("|")] if len(f) > 10 else [],
        })
        out[-1]["writes"] = "R_WRITES" in out[-1]["flags"]
    return out


ROUTES = parse_routes()


def _cases():
    """(route, method) pairs, one per method bit of each row."""
    out = []
    for r in ROUTES:
        for m in r["methods"]:
            out.append((r, METHODS.get(m, m)))
    return out


CASES = _cases()


def case_id(c):
    return f"{c[0]['name']}-{c[1]}"


def test_route_table_parsed():
    assert len(ROUTES) >= 10, ROUTES
    names = {r["name"] for r in ROUTES}
    assert {"ListContainers", "CreateContainer", "PutBlob", "GetBlob", "DeleteBlob"} <= names


def test_every_route_is_exercisable():
    """Fails when routes.c gains a row this matrix cannot build a request for."""
    bad = []
    for r in ROUTES:
        if r["level"] not in KNOWN_LEVELS:
            bad.append(f"{r['name']}: level {r['level']}")
        if r["applies"] not in KNOWN_APPLIES:
            bad.append(f"{r['name']}: discriminator {r['applies']} (teach KNOWN_APPLIES)")
        if r["body"] not in KNOWN_BODIES:
            bad.append(f"{r['name']}: body kind {r['body']}")
        for m in r["methods"]:
            if m not in METHODS:
                bad.append(f"{r['name']}: method {m}")
        if r["need_level"] not in ("AUTH_LEVEL_SERVICE", "AUTH_LEVEL_CONTAINER", "AUTH_LEVEL_OBJECT"):
            bad.append(f"{r['name']}: need {r['need']} (a NEED_* macro this parser cannot expand?)")
        if r["body_max"] is None or (r["body"] == "BODY_NONE") != (r["body_max"] == "0"):
            bad.append(f"{r['name']}: body limit {r['body_max']} for {r['body']}")
        if r["perms"] is not None and r["perms"] not in (ACCOUNT_KEY_ONLY, BEARER_ONLY) and \
                not re.fullmatch(r"[a-z]*", r["perms"]):
            bad.append(f"{r['name']}: perms {r['perms']} (a macro this parser cannot resolve?)")
        if r["action"] not in KNOWN_ACTIONS:
            bad.append(f"{r['name']}: data action {r['action']} (teach KNOWN_ACTIONS)")
        for fl in r["flags"]:
            if fl not in KNOWN_FLAGS:
                bad.append(f"{r['name']}: flag {fl} (teach KNOWN_FLAGS)")
    assert not bad, "routes the auth matrix cannot exercise:\n" + "\n".join(bad)


# ---- fixtures: the resources every request targets ----------------------------------------

@pytest.fixture(scope="module")
def world(server):
    """A private container with a blob (the target), another container (for 'SAS for another
    resource'), and a public container (anonymous access is checked against it too)."""
    p = server.port
    w = {"port": p, "c": "authz-" + uuid.uuid4().hex[:8], "other": "other-" + uuid.uuid4().hex[:8],
         "public": "public-" + uuid.uuid4().hex[:8], "blob": "victim.txt"}
    for c in (w["c"], w["other"]):
        create_container(p, c)
    create_container(p, w["public"], public="container")
    for c in (w["c"], w["other"], w["public"]):
        put_blob(p, c, w["blob"], b"original", [("x-ms-meta-k", "v0")])
    return w


BLOCKID = urllib.parse.quote("QUFBQQ==", safe="")
BLOCKLIST = (b'<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>QUFBQQ==</Latest>'
             b'</BlockList>')


def request_for(route, method, container, blob):
    """(path, query list, headers, body) that selects `route` for `method`."""
    if route["level"] == "LVL_SERVICE":
        path = f"/{ACCOUNT}"
    elif route["level"] == "LVL_CONTAINER":
        path = f"/{ACCOUNT}/{container}"
    else:
        path = f"/{ACCOUNT}/{container}/{blob}"
    q = []
    if route["restype"]:
        q.append(("restype", route["restype"]))
    if route["comp"]:
        q.append(("comp", route["comp"]))
    if route["comp"] == "block":
        q.append(("blockid", BLOCKID))
    headers = list(KNOWN_APPLIES[route["applies"]])
    body = b""
    if route["body"] == "BODY_DATA":
        body = b"tampered"
    elif route["body"] == "BODY_XML":
        body = BLOCKLIST
    if route["name"] == "SetBlobMetadata" or route["name"] == "SetContainerMetadata":
        headers.append(("x-ms-meta-k", "tampered"))
    return path, q, headers, body


def target(path, q, extra=""):
    qs = "&".join(f"{k}={v}" for k, v in q)
    if extra:
        qs = f"{qs}&{extra}" if qs else extra
    return path + ("?" + qs if qs else "")


def rfc1123_at(minutes_from_now):
    return email.utils.formatdate(time.time() + minutes_from_now * 60, usegmt=True)


def send(port, method, t, headers, body, sign_key=None, tamper=None, date=None, date_header=None):
    h = list(headers) + ([("Date", date_header)] if date_header else [])
    if sign_key is not None:
        h = shared_key_headers(method, t, h, body_len=len(body), key=sign_key, date=date)
        if tamper == "signature":
            h = [(k, v[:-6] + ("AAAA" if not v[:-6].endswith("AAAA") else "BBBB") + v[-2:])
                 if k == "Authorization" else (k, v) for k, v in h]
        elif tamper == "date":
            h = [(k, "Mon, 01 Jan 2024 00:00:01 GMT") if k == "x-ms-date" else (k, v) for k, v in h]
        elif tamper == "path":
            t = t.replace("victim.txt", "victim.tx%74") if "victim.txt" in t else t + ("&" if "?" in t else "?") + "x=1"
        elif tamper == "extra_header":
            h.append(("x-ms-meta-injected", "1"))
    else:
        h.append(("Content-Length", str(len(body))))
    return exchange(port, build(method, t, h, body), expect=1, timeout=10,
                    head_request=method == "HEAD").first


def snapshot_state(w):
    """What the matrix must not change."""
    p = w["port"]
    st = {}
    for c in (w["c"], w["other"], w["public"]):
        g = signed(p, "GET", f"/{ACCOUNT}/{c}/{w['blob']}")
        st[c] = (g.status, g.body, g.header("ETag"), g.header("x-ms-meta-k"))
        cp = signed(p, "GET", f"/{ACCOUNT}/{c}?restype=container")
        st[c + "/props"] = (cp.status, cp.header("ETag"))
    lst = signed(p, "GET", f"/{ACCOUNT}?comp=list")
    st["containers"] = sorted(re.findall(rb"<Name>([^<]*)</Name>", lst.body))
    return st


def assert_refused(r, what):
    assert r is not None, f"{what}: no response"
    assert not 200 <= r.status < 300, f"{what}: unauthenticated {r.status}"
    assert r.status in (400, 401, 403, 404), f"{what}: {r}"
    if r.status != 400 or r.code in AUTH_CODES:
        assert r.code in AUTH_CODES, f"{what}: refused, but not by the auth gate: {r.status} {r.code}"


def future(hours=1):
    return iso(utcnow() + datetime.timedelta(hours=hours))


def past(hours=1):
    return iso(utcnow() - datetime.timedelta(hours=hours))


def negative_variants(route, method, w):
    """(label, send-callable) for every negative case of one route and method."""
    p = w["port"]
    path, q, headers, body = request_for(route, method, w["c"], w["blob"])
    plain = target(path, q)
    needed = route["perms"] or ""
    lacking = "".join(sorted(set("abcdefghijklmnopqrstuvwxyz") - set(needed))) or "u"
    res_blob = f"{w['c']}/{w['blob']}"
    level_letter = {"AUTH_LEVEL_SERVICE": "s", "AUTH_LEVEL_CONTAINER": "c",
                    "AUTH_LEVEL_OBJECT": "o"}[route["need_level"]]
    other_srt = "".join(x for x in "sco" if x != level_letter)
    allp = "racwdxyltfi"
    v = []

    def sas_call(token):
        return lambda: send(p, method, target(path, q, token), headers, body)

    v.append(("no auth", lambda: send(p, method, plain, headers, body)))
    v.append(("wrong key", lambda: send(p, method, plain, headers, body, sign_key=WRONG_KEY)))
    v.append(("tampered signature", lambda: send(p, method, plain, headers, body, sign_key=KEY,
                                                  tamper="signature")))
    v.append(("tampered date", lambda: send(p, method, plain, headers, body, sign_key=KEY,
                                             tamper="date")))
    v.append(("tampered path", lambda: send(p, method, plain, headers, body, sign_key=KEY,
                                             tamper="path")))
    v.append(("header added after signing", lambda: send(p, method, plain, headers, body,
                                                         sign_key=KEY, tamper="extra_header")))
    v.append(("SAS for another container", sas_call(service_sas(allp, w["other"], "c", future()))))
    v.append(("SAS for another blob", sas_call(service_sas(allp, f"{w['c']}/other.txt", "b", future()))))
    v.append(("blob SAS relabelled sr=c", sas_call(
        service_sas(allp, res_blob, "b", future()).replace("sr=b", "sr=c"))))
    v.append(("expired account SAS", sas_call(account_sas(allp, se=past(2)))))
    v.append(("expired service SAS", sas_call(service_sas(allp, w["c"], "c", past(2)))))
    v.append(("not-yet-valid account SAS", sas_call(account_sas(allp, st=future(2), se=future(3)))))
    v.append(("not-yet-valid service SAS", sas_call(service_sas(allp, res_blob, "b", future(3),
                                                                st=future(2)))))
    v.append(("account SAS lacking the permission", sas_call(account_sas(lacking))))
    v.append(("service SAS lacking the permission (container)", sas_call(
        service_sas(lacking, w["c"], "c", future()))))
    v.append(("service SAS lacking the permission (blob)", sas_call(
        service_sas(lacking, res_blob, "b", future()))))
    v.append(("account SAS wrong resource type", sas_call(account_sas(allp, srt=other_srt))))
    v.append(("account SAS other service", sas_call(account_sas(allp, ss="qtf"))))
    v.append(("account SAS spr=https over http", sas_call(account_sas(allp, spr="https"))))
    v.append(("service SAS spr=https over http", sas_call(service_sas(allp, w["c"], "c", future(),
                                                                      spr="https"))))
    # sip: the caller is 127.0.0.1; a SAS for any other address, or with a malformed sip, fails.
    for sip in ("10.0.0.1", "127.0.0.2-127.0.0.255", "::1", "not-an-ip", "127.0.0.9-127.0.0.1"):
        v.append((f"account SAS sip={sip}", sas_call(account_sas(allp, sip=sip))))
        v.append((f"service SAS sip={sip} (container)", sas_call(
            service_sas(allp, w["c"], "c", future(), sip=sip))))
    v.append(("service SAS sip mismatch (blob)", sas_call(
        service_sas(allp, res_blob, "b", future(), sip="192.168.1.1"))))
    tok = account_sas(allp, sip="10.0.0.1")
    v.append(("sip edited after signing", sas_call(tok.replace("sip=10.0.0.1", "sip=127.0.0.1"))))
    v.append(("sip removed after signing", sas_call(tok.replace("&sip=10.0.0.1", ""))))
    # Shared Key outside its 15-minute window, or with a date that is not RFC 1123: correctly
    # signed, so only the date refuses them.
    for label, date in (("16 minutes old", -16), ("16 minutes ahead", 16), ("a day old", -1440)):
        v.append((f"Shared Key {label}", lambda m=date: send(
            p, method, plain, headers, body, sign_key=KEY, date=rfc1123_at(m))))
        v.append((f"Shared Key Date header {label}", lambda m=date: send(
            p, method, plain, headers + [("x-ms-date", "")], body, sign_key=KEY,
            date_header=rfc1123_at(m))))
    for garbage in ("garbage", "2026-01-01T00:00:00Z", time.asctime(time.gmtime()),
                    rfc1123_at(0)[:-4]):
        v.append((f"Shared Key date {garbage!r}", lambda d=garbage: send(
            p, method, plain, headers, body, sign_key=KEY, date=d)))
    tok = account_sas(allp, spr="https")
    v.append(("spr edited after signing", sas_call(tok.replace("spr=https", "spr=https%2Chttp"))))
    tok = account_sas("r")
    v.append(("sp edited after signing", sas_call(tok.replace("sp=r", "sp=" + allp))))
    tok = account_sas(allp, se=past(2))
    v.append(("se edited after signing", sas_call(tok.replace(
        "se=" + urllib.parse.quote(past(2), safe=""), "se=" + urllib.parse.quote(future(), safe="")))))
    good = account_sas(allp + "u")
    sig = dict(urllib.parse.parse_qsl(good))["sig"]
    v.append(("duplicated sig", sas_call(good + "&sig=" + urllib.parse.quote(sig, safe=""))))
    v.append(("duplicated sig, other case", sas_call(good + "&SIG=" + urllib.parse.quote(sig, safe=""))))
    v.append(("duplicated sp widening", sas_call(account_sas("r") + "&sp=" + allp)))
    v.append(("duplicated se", sas_call(account_sas(allp, se=past(2)) + "&se=" +
                                        urllib.parse.quote(future(), safe=""))))
    v.append(("duplicated srt", sas_call(account_sas(allp, srt=other_srt) + "&srt=sco")))
    v.append(("sig only", sas_call("sig=" + urllib.parse.quote(sig, safe=""))))
    v.append(("percent-encoded sig name", sas_call(good.replace("sig=", "%73ig="))))
    v.append(("valid SAS but wrong-key Authorization", lambda: send(
        p, method, target(path, q, account_sas(allp + "u")), headers, body, sign_key=WRONG_KEY)))
    v.append(("SharedKeyLite with wrong key", lambda: _lite(p, method, plain, headers, body)))
    v.append(("Bearer token over http", lambda: send(
        p, method, plain, headers + [("Authorization", "Bearer eyJhbGciOiJub25lIn0.e30.")], body)))
    v.append(("account in header differs", lambda: _other_account(p, method, plain, headers, body)))
    return v


def _lite(p, method, t, headers, body):
    h = list(headers) + [("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT"),
                         ("Content-Length", str(len(body))),
                         ("Authorization", "SharedKeyLite devstoreaccount1:" + "A" * 43 + "=")]
    return exchange(p, build(method, t, h, body), expect=1, timeout=10,
                    head_request=method == "HEAD").first


def _other_account(p, method, t, headers, body):
    h = shared_key_headers(method, t, headers, body_len=len(body), account="devstoreaccount2")
    return exchange(p, build(method, t, h, body), expect=1, timeout=10,
                    head_request=method == "HEAD").first


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_route_negative_matrix(world, case):
    route, method = case
    p = world["port"]
    before = snapshot_state(world)

    # Positive control: correctly signed, this request reaches the route (not refused by auth).
    path, q, headers, body = request_for(route, method, world["c"], world["blob"])
    if not route["writes"] and route["perms"] != BEARER_ONLY:
        r = send(p, method, target(path, q), headers, body, sign_key=KEY)
        assert r is not None and r.code not in AUTH_CODES and r.status not in (401, 403), (
            f"positive control refused: {r} -- the matrix would not reach {route['name']}")

    failures = []
    for label, call in negative_variants(route, method, world):
        r = call()
        try:
            assert_refused(r, f"{route['name']} {method}: {label}")
        except AssertionError as e:
            failures.append(str(e).splitlines()[0])
    after = snapshot_state(world)
    assert not failures, "\n".join(failures)
    assert after == before, f"state changed by refused requests:\n{before}\n{after}"


def test_positive_controls_for_writes(world, server):
    """Write routes, correctly signed on a scratch container: not refused by auth (proves the
    matrix's write requests are routed; the negative matrix leaves the real targets alone)."""
    p = world["port"]
    scratch = "scratch-" + uuid.uuid4().hex[:8]
    create_container(p, scratch)
    put_blob(p, scratch, "victim.txt", b"x")
    order = sorted((c for c in CASES if c[0]["writes"]),
                   key=lambda c: c[0]["name"] in ("DeleteContainer", "DeleteBlob"))
    for route, method in order:
        path, q, headers, body = request_for(route, method, scratch, "victim.txt")
        if route["name"] == "CreateContainer":
            path = f"/{ACCOUNT}/new-" + uuid.uuid4().hex[:8]
        r = send(p, method, target(path, q), headers, body, sign_key=KEY)
        assert r is not None and r.code not in AUTH_CODES, f"{route['name']}: {r}"


def test_anonymous_on_public_container(world):
    """On a public container anonymous callers get exactly the routes whose table entry opts in
    (and only reads); every other route stays refused."""
    p = world["port"]
    before = snapshot_state(world)
    bad = []
    for route, method in CASES:
        path, q, headers, body = request_for(route, method, world["public"], world["blob"])
        r = send(p, method, target(path, q), headers, body)
        allowed = route["anon"] in ("AUTH_PUBLIC_BLOB", "AUTH_PUBLIC_CONTAINER")
        if not allowed and r is not None and 200 <= r.status < 300:
            bad.append(f"{route['name']} {method}: anonymous {r.status} on a public container")
        if allowed:
            assert method in ("GET", "HEAD"), f"{route['name']}: anonymous write route"
            assert not route["writes"]
    assert not bad, "\n".join(bad)
    assert snapshot_state(world) == before


def test_valid_sas_reaches_every_read_route(world):
    """Positive control for the SAS half: an account SAS with every letter is accepted on the
    read routes (so the SAS negatives above are refused for their flaw, not for being SAS)."""
    p = world["port"]
    tok = account_sas("racwdxyltfiu")
    for route, method in CASES:
        if route["writes"] or route["perms"] == BEARER_ONLY:
            continue
        path, q, headers, body = request_for(route, method, world["c"], world["blob"])
        r = send(p, method, target(path, q, tok), headers, body)
        assert r is not None and r.code not in AUTH_CODES, f"{route['name']} {method}: {r}"


def test_bearer_only_routes_refuse_every_other_credential(world):
    """Get User Delegation Key takes a bearer token only: Shared Key and every SAS kind get 403
    AuthenticationFailed with Azure's "Only authentication scheme Bearer is supported" (issue 13
    item 10), and it is the only such route."""
    assert [r["name"] for r in ROUTES if r["perms"] == BEARER_ONLY] == ["GetUserDelegationKey"]
    p = world["port"]
    for route, method in CASES:
        if route["perms"] != BEARER_ONLY:
            continue
        path, q, headers, body = request_for(route, method, world["c"], world["blob"])
        for label, r in (("Shared Key", send(p, method, target(path, q), headers, body,
                                             sign_key=KEY)),
                         ("account SAS", send(p, method, target(path, q, account_sas(
                             "racwdxyltfiu")), headers, body))):
            assert r is not None and r.status == 403 and r.code == "AuthenticationFailed", \
                f"{route['name']} ({label}): {r}"
            assert b"Only authentication scheme Bearer is supported" in r.body, r.body


def test_parser_picks_up_a_new_route(tmp_path):
    """The matrix follows the table: a row added to routes[] appears in parse_routes(), and one
    with a discriminator the matrix does not know is reported."""
    src = open(ROUTES_C, encoding="utf-8").read()
    row = ('    {"NewOp", M_POST, LVL_BLOB, NULL, "newop", is_something_new, op_new,\n'
           '     NEED_BLOB("w", WRITE), BODY_NONE, 0, R_WRITES},\n')
    i = src.index("api_routes[] = {")
    j = src.index("\n};", i)
    p = tmp_path / "routes.c"
    p.write_text(src[:j] + "\n" + row + src[j:])
    routes = parse_routes(str(p))
    assert len(routes) == len(ROUTES) + 1
    new = [r for r in routes if r["name"] == "NewOp"]
    assert new and new[0]["applies"] == "is_something_new" and new[0]["methods"] == ["M_POST"]
    assert new[0]["need_level"] == "AUTH_LEVEL_OBJECT" and new[0]["perms"] == "w" and new[0]["writes"]
    assert new[0]["action"] == "WRITE"
    assert new[0]["applies"] not in KNOWN_APPLIES


# ---- the secondary is read-only -------------------------------------------------------------

def _secondary(path):
    return path.replace(f"/{ACCOUNT}", f"/{ACCOUNT}-secondary", 1)


def test_secondary_refuses_every_write_route(world):
    """Every route with `writes` set, correctly signed (Shared Key, and an account SAS with every
    letter) but addressed through "<account>-secondary": 403 InsufficientAccountPermissions, and
    nothing changes.  Read routes are not refused there."""
    p = world["port"]
    before = snapshot_state(world)
    tok = account_sas("racwdxyltfiu")
    bad = []
    for route, method in CASES:
        path, q, headers, body = request_for(route, method, world["c"], world["blob"])
        if route["name"] == "CreateContainer":
            path = f"/{ACCOUNT}/sec-" + uuid.uuid4().hex[:8]
        t = target(_secondary(path), q)
        tries = [("Shared Key", send(p, method, t, headers, body, sign_key=KEY))]
        if route["perms"] != ACCOUNT_KEY_ONLY:   # no SAS gets that far on those routes
            tries.append(("account SAS", send(p, method, target(_secondary(path), q, tok), headers, body)))
        for label, r in tries:
            if route["writes"]:
                if r is None or r.status != 403 or r.code != "InsufficientAccountPermissions":
                    bad.append(f"{route['name']} {method} ({label}): {r}")
            elif route["perms"] == BEARER_ONLY:
                continue
            elif r is None or r.code in AUTH_CODES | {"InsufficientAccountPermissions"}:
                bad.append(f"{route['name']} {method} ({label}) read refused: {r}")
    assert not bad, "\n".join(bad)
    assert snapshot_state(world) == before


# ---- container-level WORM: the account key only -------------------------------------------------

def test_account_key_routes_are_the_container_worm_controls_and_rename():
    """The table keeps container immutability policy and legal hold account-key-only, and Rename
    Container (it acts on two containers: no SAS or role scoped to one may do it)."""
    worm = {r["name"] for r in ROUTES if r["level"] == "LVL_CONTAINER" and
            r["comp"] in ("immutabilityPolicies", "legalhold")}
    assert worm == {"SetContainerImmutabilityPolicy", "DeleteContainerImmutabilityPolicy",
                    "SetContainerLegalHold"}
    assert {r["name"] for r in ROUTES if r["perms"] == ACCOUNT_KEY_ONLY} == worm | {"RenameContainer"}


def test_account_key_routes_refuse_every_sas_kind(world):
    p = world["port"]
    c = world["c"]
    allp = "racwdxyltfimeopu"
    signed(p, "PUT", f"/{ACCOUNT}/{c}?restype=container&comp=acl", [("x-ms-blob-public-access", "")],
           b'<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers><SignedIdentifier><Id>all</Id>'
           b'<AccessPolicy><Expiry>2099-01-01T00:00:00Z</Expiry><Permission>racwdxyltfi</Permission>'
           b'</AccessPolicy></SignedIdentifier></SignedIdentifiers>')
    before = snapshot_state(world)
    kinds = {"account": account_sas(allp), "account srt=c": account_sas(allp, srt="c"),
             "service container": service_sas("racwdxyltfi", c, "c", future()),
             "stored policy": service_sas(None, c, "c", None, si="all"),
             "blob": service_sas("racwdxyltfi", f"{c}/{world['blob']}", "b", future())}
    bad = []
    for route, method in CASES:
        if route["perms"] != ACCOUNT_KEY_ONLY:
            continue
        path, q, headers, body = request_for(route, method, c, world["blob"])
        headers = headers + [("x-ms-legal-hold", "true"), ("x-cobalt-immutability-period-days", "1")]
        for kind, tok in kinds.items():
            r = send(p, method, target(path, q, tok), headers, body)
            want = "AuthorizationResourceTypeMismatch" if kind == "blob" else "AuthorizationPermissionMismatch"
            if r is None or r.status != 403 or r.code != want:
                bad.append(f"{route['name']} {method} ({kind}): {r}")
            # Positive control: the same token lists the container (so it is valid, not refused
            # for some other flaw) -- except the blob SAS, which addresses no container.
            if kind != "blob":
                ok = send(p, "GET", target(f"/{ACCOUNT}/{c}", [("restype", "container"), ("comp", "list")],
                                           tok), [], b"")
                if ok is None or ok.status != 200:
                    bad.append(f"{kind} token not valid: {ok}")
    assert not bad, "\n".join(bad)
    assert snapshot_state(world) == before
    h = signed(p, "HEAD", f"/{ACCOUNT}/{c}?restype=container")
    assert (h.header("x-ms-has-immutability-policy"), h.header("x-ms-has-legal-hold")) == ("false", "false")


# ---- lease actions × SAS letters ----------------------------------------------------------------

LEASE_LETTERS = "racwdxyltfi"
LID, LID2 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
LEASE_ACTIONS = {
    "acquire": [("x-ms-lease-duration", "-1"), ("x-ms-proposed-lease-id", LID2)],
    "renew": [("x-ms-lease-id", LID)],
    "change": [("x-ms-lease-id", LID), ("x-ms-proposed-lease-id", LID2)],
    "release": [("x-ms-lease-id", LID)],
    "break": [("x-ms-lease-break-period", "0")],
}


def _lease_state(p, path, container):
    h = signed(p, "HEAD", path + ("?restype=container" if container else ""))
    return h.header("x-ms-lease-state"), h.header("x-ms-lease-duration")


def _lease_reset(p, path, container, action):
    """Breaks whatever lease there is, then (except for acquire) takes lease LID."""
    q = "comp=lease" + ("&restype=container" if container else "")
    signed(p, "PUT", f"{path}?{q}", [("x-ms-lease-action", "break"), ("x-ms-lease-break-period", "0")])
    for lid in (LID, LID2):
        signed(p, "PUT", f"{path}?{q}", [("x-ms-lease-action", "release"), ("x-ms-lease-id", lid)])
    if action != "acquire":
        r = signed(p, "PUT", f"{path}?{q}", [("x-ms-lease-action", "acquire"),
                                              ("x-ms-lease-duration", "-1"), ("x-ms-proposed-lease-id", LID)])
        assert r.status == 201, r


@pytest.mark.parametrize("container", [False, True], ids=["blob", "container"])
def test_lease_actions_by_sas_letter(world, container):
    """Acquire, renew, change and release need 'w'; break needs 'w' or 'd' (§3.8) -- for every
    single letter and every SAS kind that can reach the resource.  A refused action leaves the
    lease as it was."""
    p = world["port"]
    c = "lease-" + uuid.uuid4().hex[:8]
    create_container(p, c)
    put_blob(p, c, "l.txt", b"x")
    path = f"/{ACCOUNT}/{c}" + ("" if container else "/l.txt")
    bad = []
    for letter in LEASE_LETTERS:
        kinds = {"account": account_sas(letter, srt="c" if container else "o")}
        if not container:
            kinds["service container"] = service_sas(letter, c, "c", future())
            kinds["service blob"] = service_sas(letter, f"{c}/l.txt", "b", future())
        for kind, tok in kinds.items():
            for action, extra in LEASE_ACTIONS.items():
                _lease_reset(p, path, container, action)
                before = _lease_state(p, path, container)
                q = "comp=lease" + ("&restype=container" if container else "")
                r = send(p, "PUT", f"{path}?{q}&{tok}", [("x-ms-lease-action", action), *extra], b"")
                allowed = letter == "w" or (action == "break" and letter == "d")
                what = f"{action} with sp={letter} ({kind})"
                if allowed and (r is None or not 200 <= r.status < 300):
                    bad.append(f"{what}: refused {r}")
                if not allowed:
                    if r is None or r.status != 403 or r.code != "AuthorizationPermissionMismatch":
                        bad.append(f"{what}: {r}")
                    elif _lease_state(p, path, container) != before:
                        bad.append(f"{what}: lease changed")
    _lease_reset(p, path, container, "acquire")
    assert not bad, "\n".join(bad)


# ---- Blob Batch: only the R_BATCH routes ---------------------------------------------------------

def _batch(p, c, parts):
    boundary = "batch_" + uuid.uuid4().hex
    out = []
    for i, (method, t, headers) in enumerate(parts):
        h = shared_key_headers(method, t, headers, body_len=0)
        lines = [f"{method} {t} HTTP/1.1"] + [f"{k}: {v}" for k, v in h]
        out.append(f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
                   f"Content-ID: {i}\r\n\r\n" + "\r\n".join(lines) + "\r\n\r\n")
    body = ("".join(out) + f"--{boundary}--\r\n").encode()
    return signed(p, "POST", f"/{ACCOUNT}/{c}?restype=container&comp=batch",
                  [("Content-Type", f"multipart/mixed; boundary={boundary}")], body)


def test_batch_parts_only_batch_routes(world):
    """Every blob route of the table not flagged R_BATCH, as a Blob Batch part (alone, and after an
    allowed part), with its comp also written twice around comp=tier: the batch is refused and
    nothing changes.  The R_BATCH routes themselves run."""
    p = world["port"]
    c = world["c"]
    before = snapshot_state(world)
    bad = []
    batch_routes = {r["name"] for r in ROUTES if "R_BATCH" in r["flags"]}
    assert batch_routes == {"DeleteBlob", "SetBlobTier"}, batch_routes
    for route, method in CASES:
        if route["level"] != "LVL_BLOB" or "R_BATCH" in route["flags"]:
            continue
        path, q, headers, _ = request_for(route, method, c, world["blob"])
        headers = headers + [("x-ms-access-tier", "Cool")]
        targets = [target(path, q)]
        if route["comp"]:
            rest = [(k, v) for k, v in q if k != "comp"]
            targets += [target(path, [("comp", route["comp"]), ("comp", "tier"), *rest]),
                        target(path, [("comp", route["comp"]), *rest, ("comp", "tier")])]
        for t in targets:
            tier_first = ("PUT", f"/{ACCOUNT}/{c}/{world['blob']}?comp=tier", [("x-ms-access-tier", "Cool")])
            for parts in ([(method, t, headers)], [tier_first, (method, t, headers)]):
                r = _batch(p, c, parts)
                if r is None or r.status != 400 or r.code not in ("InvalidInput",
                                                                  "AllBatchSubRequestsShouldBeSameApi"):
                    bad.append(f"{route['name']} {method} {t}: {r}")
    assert not bad, "\n".join(bad)
    assert snapshot_state(world) == before
    # The allowed operations run as parts.
    scratch = "batchok-" + uuid.uuid4().hex[:8]
    create_container(p, scratch)
    put_blob(p, scratch, "a", b"1")
    r = _batch(p, scratch, [("PUT", f"/{ACCOUNT}/{scratch}/a?comp=tier", [("x-ms-access-tier", "Cool")])])
    assert r.status == 202 and b"HTTP/1.1 200" in r.body, r
    r = _batch(p, scratch, [("DELETE", f"/{ACCOUNT}/{scratch}/a", [])])
    assert r.status == 202 and b"HTTP/1.1 202" in r.body, r
