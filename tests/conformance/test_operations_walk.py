"""No 501s: every operation of the protocol document's operation table (§1.6 of
../shared/docs/azure-blob-protocol.md) is sent once.  The walk reads the table's copy in
operations.md next to this file, so it runs on a checkout alone, and the copy must equal the
document's table whenever the document is there (COBALT_PROTOCOL_DOC names another place for it).
No operation may be answered the way the dispatcher answers a request no route takes: 501, 405
UnsupportedHttpVerb, 400 InvalidHttpVerb or InvalidUri, 400 InvalidQueryParameterValue naming comp
or restype, 400 InvalidHeaderValue naming x-ms-blob-type or x-ms-copy-source, or NotImplemented.
Any other answer -- success, or an error the operation itself gives (404 BlobNotFound, 409
NoPendingCopyOperation, 403 for a bearer-only operation...) -- means the operation is served.

Each table row is (methods, level, query, discriminator, operation); REQUESTS below says how to
send each (operation, method), and the test fails when the table and REQUESTS disagree (a row
added to the document needs a request here) or when a request's comp/restype is not its row's.

EXPECTED_MISSING lists the operations Cobalt does not serve yet, each with why; they are sent and
printed, not asserted, and everything else must be served."""
import json
import os
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cobalt_testlib import ACCOUNT, unique_name

DOC = Path(os.environ.get("COBALT_PROTOCOL_DOC") or
           Path(__file__).resolve().parents[3] / "shared/docs/azure-blob-protocol.md")
TABLE = Path(__file__).resolve().parent / "operations.md"

EXPECTED_MISSING = {}


def table_rows(path):
    """The lines of the operation table in the Markdown file at path, header row first."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines)
                 if re.match(r"\|\s*Method\s*\|\s*Level\s*\|\s*Query\s*\|\s*Discriminator\s*\|"
                             r"\s*Operation\s*\|", line))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return lines[start:end]


def doc_operations():
    """[(method, level, query, operation)] from the operation table, one per method."""
    out = []
    for line in table_rows(TABLE)[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        methods, level, query, _, op = cells[:5]
        for m in methods.split("/"):
            out.append((m, level, query, op))
    return out


def test_table_is_the_documents():
    if not DOC.exists():
        pytest.skip(f"the protocol document is not at {DOC} (COBALT_PROTOCOL_DOC names it)")
    assert table_rows(TABLE) == table_rows(DOC), f"{TABLE.name} differs from {DOC}'s table: copy it again"


# (operation, method) -> request(ctx) -> (path, query, headers, body[, RawClient.request keywords]).
# ctx: the walk's container (with the blobs the walk fixture makes), a container to delete, and
# the server's port.
def _xml(s):
    return s.encode()


BATCH_BOUNDARY = "batch_walk"


def _batch(ctx, scope):
    part = (f"--{BATCH_BOUNDARY}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
            f"Content-ID: 0\r\n\r\nDELETE /{ctx['c']}/nothing-{uuid.uuid4().hex} HTTP/1.1\r\n"
            f"x-ms-date: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: 0\r\n\r\n\r\n--{BATCH_BOUNDARY}--\r\n")
    path = "" if scope == "service" else f"/{ctx['c']}"
    query = {"comp": "batch"} if scope == "service" else {"restype": "container", "comp": "batch"}
    return path, query, {"Content-Type": f"multipart/mixed; boundary={BATCH_BOUNDARY}"}, part.encode()


def _copy_source(ctx):
    return f"http://127.0.0.1:{ctx['port']}/{ACCOUNT}/{ctx['c']}/src"


SERVICE_PROPS = _xml('<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties>'
                     '<DefaultServiceVersion>2021-12-02</DefaultServiceVersion></StorageServiceProperties>')
TAGS = _xml('<?xml version="1.0" encoding="utf-8"?><Tags><TagSet><Tag><Key>k</Key><Value>v</Value>'
            '</Tag></TagSet></Tags>')
QUERY = _xml('<?xml version="1.0" encoding="utf-8"?><QueryRequest><QueryType>SQL</QueryType>'
             '<Expression>SELECT * from BlobStorage</Expression></QueryRequest>')
BLOCKLIST = _xml('<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>QUFBQQ==</Latest></BlockList>')
KEYINFO = _xml('<?xml version="1.0" encoding="utf-8"?><KeyInfo><Start>2030-01-01T00:00:00Z</Start>'
               '<Expiry>2030-01-02T00:00:00Z</Expiry></KeyInfo>')
UNTIL = "Fri, 01 Jan 2100 00:00:00 GMT"

REQUESTS = {
    ("List Containers", "GET"): lambda x: ("", {"comp": "list"}, {}, None),
    ("Get/Set Blob Service Properties", "GET"):
        lambda x: ("", {"restype": "service", "comp": "properties"}, {}, None),
    ("Get/Set Blob Service Properties", "PUT"):
        lambda x: ("", {"restype": "service", "comp": "properties"}, {}, SERVICE_PROPS),
    # Served on the secondary endpoint only, as Azure does (the primary answers 400).
    ("Get Blob Service Stats", "GET"):
        lambda x: ("", {"restype": "service", "comp": "stats"}, {}, None,
                   {"path_account": ACCOUNT + "-secondary"}),
    ("Get User Delegation Key", "POST"):
        lambda x: ("", {"restype": "service", "comp": "userdelegationkey"}, {}, KEYINFO),
    ("Get Account Information", "GET"): lambda x: ("", {"restype": "account", "comp": "properties"}, {}, None),
    ("Get Account Information", "HEAD"): lambda x: ("", {"restype": "account", "comp": "properties"}, {}, None),
    ("Blob Batch", "POST"): lambda x: _batch(x, "service"),
    ("Find Blobs by Tags", "GET"): lambda x: ("", {"comp": "blobs", "where": "\"k\"='v'"}, {}, None),
    ("CORS preflight", "OPTIONS"):
        lambda x: (f"/{x['c']}/blk", {}, {"Origin": "https://example.com",
                                          "Access-Control-Request-Method": "GET"}, None),
    ("Create Container", "PUT"): lambda x: (f"/{unique_name('walk')}", {"restype": "container"}, {}, None),
    ("Get Container Properties", "GET"): lambda x: (f"/{x['c']}", {"restype": "container"}, {}, None),
    ("Get Container Properties", "HEAD"): lambda x: (f"/{x['c']}", {"restype": "container"}, {}, None),
    ("Delete Container", "DELETE"): lambda x: (f"/{x['doomed']}", {"restype": "container"}, {}, None),
    ("Get Container Metadata", "GET"):
        lambda x: (f"/{x['c']}", {"restype": "container", "comp": "metadata"}, {}, None),
    ("Get Container Metadata", "HEAD"):
        lambda x: (f"/{x['c']}", {"restype": "container", "comp": "metadata"}, {}, None),
    ("Set Container Metadata", "PUT"):
        lambda x: (f"/{x['c']}", {"restype": "container", "comp": "metadata"}, {"x-ms-meta-a": "b"}, None),
    ("Get/Set Container ACL", "GET"): lambda x: (f"/{x['c']}", {"restype": "container", "comp": "acl"}, {}, None),
    ("Get/Set Container ACL", "PUT"): lambda x: (f"/{x['c']}", {"restype": "container", "comp": "acl"}, {}, b""),
    ("Lease Container", "PUT"):
        lambda x: (f"/{x['c']}", {"comp": "lease", "restype": "container"},
                   {"x-ms-lease-action": "break"}, None),
    ("List Blobs (flat)", "GET"): lambda x: (f"/{x['c']}", {"restype": "container", "comp": "list"}, {}, None),
    ("List Blobs (hierarchy)", "GET"):
        lambda x: (f"/{x['c']}", {"restype": "container", "comp": "list", "delimiter": "/"}, {}, None),
    ("Find Blobs by Tags (container)", "GET"):
        lambda x: (f"/{x['c']}", {"restype": "container", "comp": "blobs", "where": "\"k\"='v'"}, {}, None),
    ("Blob Batch (container-scoped)", "POST"): lambda x: _batch(x, "container"),
    ("Restore Container", "PUT"):
        lambda x: (f"/{unique_name('back')}", {"restype": "container", "comp": "undelete"},
                   {"x-ms-deleted-container-name": "never-deleted",
                    "x-ms-deleted-container-version": "01D60F8BB59A4652"}, None),
    ("Rename Container", "PUT"):
        lambda x: (f"/{unique_name('renamed')}", {"restype": "container", "comp": "rename"},
                   {"x-ms-source-container-name": x["c"]}, None),
    ("Put Blob (block)", "PUT"): lambda x: (f"/{x['c']}/put", {}, {"x-ms-blob-type": "BlockBlob"}, b"data"),
    ("Put Blob From URL", "PUT"):
        lambda x: (f"/{x['c']}/fromurl", {}, {"x-ms-blob-type": "BlockBlob",
                                             "x-ms-copy-source": _copy_source(x)}, None),
    ("Create page blob (Put Blob)", "PUT"):
        lambda x: (f"/{x['c']}/page", {}, {"x-ms-blob-type": "PageBlob",
                                          "x-ms-blob-content-length": "512"}, None),
    ("Create append blob (Put Blob)", "PUT"):
        lambda x: (f"/{x['c']}/newapp", {}, {"x-ms-blob-type": "AppendBlob"}, None),
    ("Copy Blob (async)", "PUT"): lambda x: (f"/{x['c']}/copy", {}, {"x-ms-copy-source": _copy_source(x)}, None),
    ("Copy Blob From URL (sync)", "PUT"):
        lambda x: (f"/{x['c']}/copysync", {}, {"x-ms-copy-source": _copy_source(x),
                                              "x-ms-requires-sync": "true"}, None),
    ("Get Blob", "GET"): lambda x: (f"/{x['c']}/blk", {}, {}, None),
    ("Get Blob Properties", "HEAD"): lambda x: (f"/{x['c']}/blk", {}, {}, None),
    ("Delete Blob", "DELETE"): lambda x: (f"/{x['c']}/victim", {}, {}, None),
    ("Get Blob Metadata", "GET"): lambda x: (f"/{x['c']}/blk", {"comp": "metadata"}, {}, None),
    ("Get Blob Metadata", "HEAD"): lambda x: (f"/{x['c']}/blk", {"comp": "metadata"}, {}, None),
    ("Set Blob Metadata", "PUT"): lambda x: (f"/{x['c']}/blk", {"comp": "metadata"}, {"x-ms-meta-a": "b"}, None),
    ("Set Blob Properties (HTTP headers)", "PUT"):
        lambda x: (f"/{x['c']}/blk", {"comp": "properties"}, {"x-ms-blob-content-type": "text/plain"}, None),
    ("Resize page blob", "PUT"):
        lambda x: (f"/{x['c']}/page", {"comp": "properties"}, {"x-ms-blob-content-length": "1024"}, None),
    ("Update page blob sequence number", "PUT"):
        lambda x: (f"/{x['c']}/page", {"comp": "properties"},
                   {"x-ms-sequence-number-action": "increment"}, None),
    ("Lease Blob", "PUT"): lambda x: (f"/{x['c']}/blk", {"comp": "lease"}, {"x-ms-lease-action": "break"}, None),
    ("Snapshot Blob", "PUT"): lambda x: (f"/{x['c']}/blk", {"comp": "snapshot"}, {}, None),
    ("Abort Copy Blob", "PUT"):
        lambda x: (f"/{x['c']}/blk", {"comp": "copy", "copyid": str(uuid.uuid4())},
                   {"x-ms-copy-action": "abort"}, None),
    ("Set Blob Tier", "PUT"): lambda x: (f"/{x['c']}/blk", {"comp": "tier"}, {"x-ms-access-tier": "Cool"}, None),
    ("Undelete Blob", "PUT"): lambda x: (f"/{x['c']}/blk", {"comp": "undelete"}, {}, None),
    ("Set Blob Expiry (HNS)", "PUT"):
        lambda x: (f"/{x['c']}/blk", {"comp": "expiry"}, {"x-ms-expiry-option": "NeverExpire"}, None),
    ("Set/Delete Immutability Policy", "PUT"):
        lambda x: (f"/{x['c']}/worm", {"comp": "immutabilityPolicies"},
                   {"x-ms-immutability-policy-until-date": UNTIL,
                    "x-ms-immutability-policy-mode": "Unlocked"}, None),
    ("Set/Delete Immutability Policy", "DELETE"):
        lambda x: (f"/{x['c']}/worm", {"comp": "immutabilityPolicies"}, {}, None),
    ("Set Legal Hold", "PUT"):
        lambda x: (f"/{x['c']}/worm", {"comp": "legalhold"}, {"x-ms-legal-hold": "false"}, None),
    ("Get/Set Blob Tags", "GET"): lambda x: (f"/{x['c']}/blk", {"comp": "tags"}, {}, None),
    ("Get/Set Blob Tags", "PUT"): lambda x: (f"/{x['c']}/blk", {"comp": "tags"}, {}, TAGS),
    ("Query Blob Contents", "POST"): lambda x: (f"/{x['c']}/blk", {"comp": "query"}, {}, QUERY),
    ("Put Block", "PUT"): lambda x: (f"/{x['c']}/staged", {"comp": "block", "blockid": "QUFBQQ=="}, {}, b"b"),
    ("Put Block From URL", "PUT"):
        lambda x: (f"/{x['c']}/staged", {"comp": "block", "blockid": "QkJCQg=="},
                   {"x-ms-copy-source": _copy_source(x)}, None),
    ("Put Block List", "PUT"): lambda x: (f"/{x['c']}/staged", {"comp": "blocklist"}, {}, BLOCKLIST),
    ("Get Block List", "GET"): lambda x: (f"/{x['c']}/blk", {"comp": "blocklist"}, {}, None),
    ("Put Page", "PUT"):
        lambda x: (f"/{x['c']}/page", {"comp": "page"}, {"x-ms-page-write": "update",
                                                        "x-ms-range": "bytes=0-511"}, b"p" * 512),
    ("Clear Pages", "PUT"):
        lambda x: (f"/{x['c']}/page", {"comp": "page"}, {"x-ms-page-write": "clear",
                                                        "x-ms-range": "bytes=0-511"}, None),
    ("Put Page From URL", "PUT"):
        lambda x: (f"/{x['c']}/page", {"comp": "page"},
                   {"x-ms-page-write": "update", "x-ms-range": "bytes=0-511",
                    "x-ms-source-range": "bytes=0-511", "x-ms-copy-source": _copy_source(x)}, None),
    ("Get Page Ranges", "GET"): lambda x: (f"/{x['c']}/page", {"comp": "pagelist"}, {}, None),
    ("Get Page Ranges Diff", "GET"):
        lambda x: (f"/{x['c']}/page", {"comp": "pagelist", "prevsnapshot": "2024-01-01T00:00:00.0000000Z"},
                   {}, None),
    ("Incremental Copy Blob", "PUT"):
        lambda x: (f"/{x['c']}/inc", {"comp": "incrementalcopy"},
                   {"x-ms-copy-source": _copy_source(x) + "?snapshot=2024-01-01T00:00:00.0000000Z"}, None),
    ("Append Block", "PUT"): lambda x: (f"/{x['c']}/app", {"comp": "appendblock"}, {}, b"a"),
    ("Append Block From URL", "PUT"):
        lambda x: (f"/{x['c']}/app", {"comp": "appendblock"}, {"x-ms-copy-source": _copy_source(x)}, None),
    ("Seal Append Blob", "PUT"): lambda x: (f"/{x['c']}/app", {"comp": "seal"}, {}, None),
}


def generic_refusal(r, method):
    """The dispatcher's answer to a request no route takes, or None."""
    if r.status == 501:
        return "501"
    code = r.error_code
    if code in ("NotImplemented", "UnsupportedHttpVerb", "InvalidHttpVerb", "InvalidUri"):
        return f"{r.status} {code}"
    detail = {}
    if method != "HEAD" and r.body:
        try:
            root = ET.fromstring(r.body)
            detail = {e.tag: e.text for e in root}
        except ET.ParseError:
            pass
    if code == "InvalidQueryParameterValue" and detail.get("QueryParameterName") in ("comp", "restype"):
        return f"{r.status} {code} ({detail['QueryParameterName']}={detail.get('QueryParameterValue')})"
    if code == "InvalidHeaderValue" and detail.get("HeaderName") in ("x-ms-blob-type", "x-ms-copy-source"):
        return f"{r.status} {code} ({detail['HeaderName']})"
    return None


@pytest.fixture(scope="module")
def walk(server, raw):
    cc = server.client().create_container(unique_name("walk"))
    cc.upload_blob("blk", b"name,n\na,1\n")
    cc.upload_blob("src", b"source bytes")
    cc.upload_blob("victim", b"x")
    cc.upload_blob("worm", b"x")
    cc.get_blob_client("app").create_append_blob()
    doomed = server.client().create_container(unique_name("doomed"))
    return {"c": cc.container_name, "doomed": doomed.container_name, "port": server.port}


def test_the_walk_covers_the_documents_table():
    rows = doc_operations()
    doc = {(op, m) for m, _, _, op in rows}
    assert len(rows) == len(doc), "an (operation, method) appears twice in the document's table"
    assert doc == set(REQUESTS), (
        f"in the document, no request here: {sorted(doc - set(REQUESTS))}; "
        f"here, not in the document: {sorted(set(REQUESTS) - doc)}")
    assert set(EXPECTED_MISSING) <= {op for op, _ in doc}, "EXPECTED_MISSING names no table row"
    for m, _, query, op in rows:
        path, q = REQUESTS[(op, m)]({"c": "c", "doomed": "d", "port": 0})[:2]
        for span in re.findall(r"`([^`]*)`", query):
            for key, value in re.findall(r"\b(restype|comp)=(\w+)", span):
                assert q.get(key) == value, f"{op} {m}: the document says {key}={value}, the walk sends {q}"


def test_no_operation_is_refused_as_unknown(raw, walk):
    served, missing, regressions = [], [], []
    for m, level, _, op in doc_operations():
        path, query, headers, body, *kw = REQUESTS[(op, m)](walk)
        r = raw.request(m, path, query=query, headers=headers, body=body, **(kw[0] if kw else {}))
        refusal = generic_refusal(r, m)
        if op in EXPECTED_MISSING:
            missing.append(f"{op} ({m}): {refusal or r.status} -- {EXPECTED_MISSING[op]}")
        elif refusal:
            regressions.append(f"{op} ({m} {level}): {refusal}")
        else:
            served.append(f"{op} ({m}): {r.status} {r.error_code or ''}".rstrip())
    print(f"\nserved ({len(served)}):\n  " + "\n  ".join(served))
    print(f"expected missing ({len(missing)}):\n  " + "\n  ".join(missing))
    assert not regressions, "refused as unknown operations:\n" + "\n".join(regressions)
    assert len(served) + len(missing) == len(REQUESTS), json.dumps(served + missing)
