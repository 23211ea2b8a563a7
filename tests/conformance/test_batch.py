"""Blob Batch (protocol doc §2.8): the Python SDK's delete_blobs / set_standard_blob_tier_blobs,
and raw multipart bodies for framing, per-part authentication, and whole-batch refusals."""
import email.utils
import re
import urllib.parse
import uuid
from datetime import timedelta

import pytest
from azure.storage.blob import (AccountSasPermissions, ContainerClient, ContainerSasPermissions,
                                PartialBatchErrorException, ResourceTypes, generate_account_sas,
                                generate_container_sas)

from cobalt_testlib import ACCOUNT, KEY, assert_error_response, sign_shared_key, unique_name, utcnow

WRONG_KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="


def _names(cc):
    return sorted(b.name for b in cc.list_blobs())


def _fill(cc, *names):
    for n in names:
        cc.upload_blob(n, b"batch data", overwrite=True)


# ------------------------------------------------------------------------------------------------
# The Python SDK
# ------------------------------------------------------------------------------------------------

def test_delete_blobs(container):
    _fill(container, "a", "b", "dir/c d", "keep")
    parts = list(container.delete_blobs("a", "b", "dir/c d"))
    assert [p.status_code for p in parts] == [202, 202, 202]
    assert all(p.headers.get("x-ms-request-id") for p in parts)
    assert _names(container) == ["keep"]


def test_delete_blobs_one_missing_fails_alone(container):
    _fill(container, "x", "y")
    with pytest.raises(PartialBatchErrorException) as ei:
        container.delete_blobs("x", "missing", "y")
    parts = ei.value.parts
    assert [p.status_code for p in parts] == [202, 404, 202]
    assert parts[1].headers.get("x-ms-error-code") == "BlobNotFound"
    assert b"<Code>BlobNotFound</Code>" in parts[1].body()
    assert _names(container) == []
    # Without raising, the per-part results come back in request order.
    _fill(container, "z")
    parts = list(container.delete_blobs("z", "missing", raise_on_any_failure=False))
    assert [p.status_code for p in parts] == [202, 404]


def test_set_standard_blob_tier_blobs(container):
    _fill(container, "t1", "t2", "t3")
    parts = list(container.set_standard_blob_tier_blobs("Cool", "t1", "t2"))
    assert [p.status_code for p in parts] == [200, 200]
    assert container.get_blob_client("t1").get_blob_properties().blob_tier == "Cool"
    assert container.get_blob_client("t2").get_blob_properties().blob_tier == "Cool"
    assert container.get_blob_client("t3").get_blob_properties().blob_tier == "Hot"
    with pytest.raises(PartialBatchErrorException) as ei:
        container.set_standard_blob_tier_blobs("Archive", "t3", "nope")
    assert [p.status_code for p in ei.value.parts] == [200, 404]
    assert container.get_blob_client("t3").get_blob_properties().blob_tier == "Archive"


def test_batch_with_sas_credential(service, container):
    _fill(container, "s1", "s2")
    sas = generate_container_sas(ACCOUNT, container.container_name, account_key=KEY,
                                 permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True),
                                 expiry=utcnow() + timedelta(hours=1))
    cc = ContainerClient.from_container_url(f"{container.url}?{sas}", retry_total=0)
    parts = list(cc.delete_blobs("s1", "s2"))
    assert [p.status_code for p in parts] == [202, 202]
    assert _names(container) == []


def test_batch_parts_checked_against_sas_permissions(service, container):
    _fill(container, "p1")
    sas = generate_container_sas(ACCOUNT, container.container_name, account_key=KEY,
                                 permission=ContainerSasPermissions(read=True, list=True),
                                 expiry=utcnow() + timedelta(hours=1))
    cc = ContainerClient.from_container_url(f"{container.url}?{sas}", retry_total=0)
    with pytest.raises(PartialBatchErrorException) as ei:
        cc.delete_blobs("p1")
    assert ei.value.parts[0].status_code == 403
    assert ei.value.parts[0].headers.get("x-ms-error-code") == "AuthorizationPermissionMismatch"
    assert _names(container) == ["p1"]


@pytest.mark.parametrize("srt", ["o", "co", "sco", "s", "c", "sc"])
def test_batch_with_account_sas(container, srt):
    """An account SAS of any resource type may send a batch (Azure accepts srt=co for an
    account-scoped batch; batch.c, auth.c); each part is then authorized for its own blob, so the
    parts need srt 'o' (else each is 403 AuthorizationResourceTypeMismatch) and their letter."""
    _fill(container, "a1", "a2")
    sas = generate_account_sas(ACCOUNT, KEY, ResourceTypes(service="s" in srt, container="c" in srt,
                                                           object="o" in srt),
                               AccountSasPermissions(read=True, write=True, delete=True, list=True),
                               expiry=utcnow() + timedelta(hours=1))
    cc = ContainerClient.from_container_url(f"{container.url}?{sas}", retry_total=0)
    if "o" in srt:
        assert [p.status_code for p in cc.delete_blobs("a1")] == [202]
        assert [p.status_code for p in cc.set_standard_blob_tier_blobs("Cool", "a2")] == [200]
        assert container.get_blob_client("a2").get_blob_properties().blob_tier == "Cool"
        assert _names(container) == ["a2"]
    else:
        with pytest.raises(PartialBatchErrorException) as ei:
            cc.delete_blobs("a1", "a2")
        assert [(p.status_code, p.headers.get("x-ms-error-code")) for p in ei.value.parts] == \
            [(403, "AuthorizationResourceTypeMismatch")] * 2
        assert _names(container) == ["a1", "a2"]


def test_account_scoped_batch_with_account_sas(raw, container):
    """The account-scoped batch under an account SAS with srt=o: its parts inherit the SAS; one
    without the letter a part needs is refused part by part."""
    c = container.container_name
    _fill(container, "b1", "b2")

    def sas(perm):
        return generate_account_sas(ACCOUNT, KEY, ResourceTypes(object=True), perm,
                                    expiry=utcnow() + timedelta(hours=1))

    boundary = f"batch_{uuid.uuid4()}"
    body = _body([_part("DELETE", f"/{c}/b1", sign=False)], boundary)
    headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
    r = raw.request("POST", "/", raw_query=f"comp=batch&{sas(AccountSasPermissions(read=True))}", sign=False,
                    headers=headers, body=body)
    assert r.status == 202, r
    assert [(st, h["x-ms-error-code"]) for _, st, h, _ in _parse(r)] == [(403, "AuthorizationPermissionMismatch")]
    r = raw.request("POST", "/", raw_query=f"comp=batch&{sas(AccountSasPermissions(delete=True))}", sign=False,
                    headers=headers, body=body)
    assert r.status == 202, r
    assert [st for _, st, _, _ in _parse(r)] == [202]
    assert _names(container) == ["b2"]


# ------------------------------------------------------------------------------------------------
# Raw multipart bodies
# ------------------------------------------------------------------------------------------------

def _part(method, target, key=KEY, sign=True, sign_path=None, extra=None, content_id=None):
    """One sub-request as (content_id, text).  sign_path: the path the signature covers (default:
    the target's path, path-style with the account repeated as clients do)."""
    path, _, qs = target.partition("?")
    headers = {"x-ms-date": email.utils.formatdate(usegmt=True), "Content-Length": "0"}
    headers.update(extra or {})
    if sign:
        query = urllib.parse.parse_qsl(qs, keep_blank_values=True)
        headers["Authorization"] = sign_shared_key(method, sign_path or path, query, headers, key=key)
    lines = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return content_id, "\r\n".join(lines) + "\r\n"


def _body(parts, boundary):
    out = []
    for i, (cid, text) in enumerate(parts):
        out.append(f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
                   f"Content-ID: {i if cid is None else cid}\r\n\r\n{text}\r\n")
    out.append(f"--{boundary}--\r\n")
    return "".join(out).encode()


def _send(raw, parts, container=None, boundary=None, **kw):
    boundary = boundary or f"batch_{uuid.uuid4()}"
    body = _body(parts, boundary)
    path = f"/{container}" if container else "/"
    query = {"restype": "container", "comp": "batch"} if container else {"comp": "batch"}
    headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
    headers.update(kw.pop("headers", {}))
    return raw.request("POST", path, query=query, headers=headers, body=body, **kw)


def _parse(r):
    """Splits a batch response into [(content_id, status, headers dict, body)]; content_id is None
    for a part without Content-ID (a whole-batch refusal)."""
    ctype = r.header("content-type")
    m = re.fullmatch(r"multipart/mixed; boundary=(batchresponse_[0-9a-f-]{36})", ctype or "")
    assert m, ctype
    b = m.group(1).encode()
    text = r.body
    assert text.endswith(b"--" + b + b"--\r\n"), text[-80:]
    out = []
    for chunk in text.split(b"--" + b + b"\r\n")[1:]:
        chunk = chunk.split(b"--" + b + b"--")[0]
        mime, _, rest = chunk.partition(b"\r\n\r\n")
        mh = dict(line.split(b": ", 1) for line in mime.split(b"\r\n"))
        assert mh[b"Content-Type"] == b"application/http"
        head, _, body = rest.partition(b"\r\n\r\n")
        for block in (mime, head):   # CRLF everywhere outside the (XML) bodies
            assert b"\n" not in block.replace(b"\r\n", b""), block
        lines = head.split(b"\r\n")
        m2 = re.fullmatch(rb"HTTP/1\.1 (\d{3}) [A-Za-z ]+", lines[0])
        assert m2, lines[0]
        hdrs = {k.decode().lower(): v.decode() for k, v in (line.split(b": ", 1) for line in lines[1:] if line)}
        if body.endswith(b"\r\n"):
            body = body[:-2]
        if "content-length" in hdrs:
            assert int(hdrs["content-length"]) == len(body)
        cid = mh.get(b"Content-ID")
        out.append((cid.decode() if cid is not None else None, int(m2.group(1)), hdrs, body))
    return out


def _assert_refused_in_part(r, code):
    """A whole-batch refusal framed as Azure does: 202 with one part, without Content-ID, carrying
    HTTP/1.1 400 with this error code and its XML body (batch.c)."""
    assert r.status == 202, r
    got = _parse(r)
    assert len(got) == 1, got
    cid, status, headers, body = got[0]
    assert cid is None and status == 400, got
    assert headers["x-ms-error-code"] == code and headers.get("x-ms-request-id"), headers
    assert headers["content-type"] == "application/xml"
    assert f"<Code>{code}</Code>".encode() in body, body
    return body


def test_raw_framing_and_both_path_forms(raw, container):
    c = container.container_name
    _fill(container, "r1", "r2", "r3")
    parts = [
        # JS style: the account segment in the path, signed over /acct/acct/c/b
        _part("DELETE", f"/{ACCOUNT}/{c}/r1"),
        # Python style: no account segment, signed over /acct/c/b
        _part("DELETE", f"/{c}/r2"),
        _part("DELETE", f"/{c}/missing", content_id="7"),
    ]
    r = _send(raw, parts, container=c)
    assert r.status == 202, r
    assert r.header("x-ms-request-id")
    got = _parse(r)
    assert [(cid, st) for cid, st, _, _ in got] == [("0", 202), ("1", 202), ("7", 404)]
    for _, _, h, _ in got:
        assert h.get("x-ms-request-id") and h.get("x-ms-version")
    assert got[2][2]["x-ms-error-code"] == "BlobNotFound"
    assert got[2][2]["content-type"] == "application/xml"
    assert b"<Code>BlobNotFound</Code>" in got[2][3]
    assert _names(container) == ["r3"]


def test_account_scoped_raw_batch(raw, service):
    c1, c2 = unique_name("ba"), unique_name("bb")
    cc1, cc2 = service.create_container(c1), service.create_container(c2)
    try:
        _fill(cc1, "one")
        _fill(cc2, "two")
        r = _send(raw, [_part("DELETE", f"/{ACCOUNT}/{c1}/one"), _part("DELETE", f"/{c2}/two")])
        assert r.status == 202, r
        assert [st for _, st, _, _ in _parse(r)] == [202, 202]
        assert _names(cc1) == [] and _names(cc2) == []
    finally:
        cc1.delete_container()
        cc2.delete_container()


def test_bad_signature_fails_alone(raw, container):
    c = container.container_name
    _fill(container, "g1", "g2", "g3")
    parts = [_part("DELETE", f"/{c}/g1"), _part("DELETE", f"/{c}/g2", key=WRONG_KEY),
             _part("DELETE", f"/{c}/g3", sign_path=f"/{c}/other")]
    r = _send(raw, parts, container=c)
    assert r.status == 202, r
    got = _parse(r)
    assert [st for _, st, _, _ in got] == [202, 403, 403]
    assert got[1][2]["x-ms-error-code"] == "AuthenticationFailed"
    assert _names(container) == ["g2", "g3"]


def test_part_without_credentials(raw, container):
    """With a Shared Key outer request a part must sign itself: an unsigned part is anonymous."""
    c = container.container_name
    _fill(container, "u1")
    r = _send(raw, [_part("DELETE", f"/{c}/u1", sign=False)], container=c)
    assert r.status == 202, r
    assert _parse(r)[0][1] in (403, 404)
    assert _names(container) == ["u1"]


def test_parts_inherit_outer_sas(raw, container):
    c = container.container_name
    _fill(container, "i1", "i2")
    sas = generate_container_sas(ACCOUNT, c, account_key=KEY,
                                 permission=ContainerSasPermissions(delete=True, write=True),
                                 expiry=utcnow() + timedelta(hours=1))
    boundary = f"batch_{uuid.uuid4()}"
    body = _body([_part("DELETE", f"/{c}/i1", sign=False),
                  _part("PUT", f"/{c}/i2?comp=tier", sign=False, extra={"x-ms-access-tier": "Cool"})],
                 boundary)
    # Mixed operations are refused even before authentication of the parts...
    r = raw.request("POST", f"/{c}", raw_query=f"restype=container&comp=batch&{sas}", sign=False,
                    headers={"Content-Type": f"multipart/mixed; boundary={boundary}"}, body=body)
    assert_error_response(r, 400, "AllBatchSubRequestsShouldBeSameApi")
    # ...and a uniform batch runs each part under the outer SAS.
    body = _body([_part("DELETE", f"/{c}/i1", sign=False), _part("DELETE", f"/{c}/i2", sign=False)], boundary)
    r = raw.request("POST", f"/{c}", raw_query=f"restype=container&comp=batch&{sas}", sign=False,
                    headers={"Content-Type": f"multipart/mixed; boundary={boundary}"}, body=body)
    assert r.status == 202, r
    assert [st for _, st, _, _ in _parse(r)] == [202, 202]
    assert _names(container) == []


def test_more_than_256_parts(raw, container):
    c = container.container_name
    _fill(container, "m0")
    parts = [_part("DELETE", f"/{c}/m{i}") for i in range(257)]
    r = _send(raw, parts, container=c)
    assert_error_response(r, 400, "ExceedsMaxBatchRequestCount")
    assert _names(container) == ["m0"]
    r = _send(raw, parts[:256], container=c)
    assert r.status == 202, r
    got = _parse(r)
    assert len(got) == 256 and got[0][1] == 202 and all(st == 404 for _, st, _, _ in got[1:])


def test_mixed_operations_refused(raw, container):
    c = container.container_name
    _fill(container, "x1", "x2")
    parts = [_part("DELETE", f"/{c}/x1"),
             _part("PUT", f"/{c}/x2?comp=tier", extra={"x-ms-access-tier": "Cool"})]
    r = _send(raw, parts, container=c)
    assert_error_response(r, 400, "AllBatchSubRequestsShouldBeSameApi")
    assert _names(container) == ["x1", "x2"]


def test_unsupported_operation_refused(raw, container):
    c = container.container_name
    _fill(container, "o1")
    r = _send(raw, [_part("GET", f"/{c}/o1")], container=c)
    assert_error_response(r, 400, "InvalidInput")
    # Only blobs: a Delete Container part refuses the batch, at either scope.
    for target in (f"/{c}?restype=container", f"/{c}/"):
        r = _send(raw, [_part("DELETE", target)], container=c)
        assert_error_response(r, 400, "InvalidInput")
    # "/acct/c" reads as blob "c" of a container named like the account (batch.c): another
    # container than the batch's, refused as such.
    r = _send(raw, [_part("DELETE", f"/{ACCOUNT}/{c}?restype=container")], container=c)
    _assert_refused_in_part(r, "InvalidInput")
    for target in (f"/{c}?restype=container", f"/{c}/"):
        r = _send(raw, [_part("DELETE", target)])
        assert_error_response(r, 400, "InvalidInput")
    assert container.exists() and _names(container) == ["o1"]


def test_container_scoped_batch_naming_another_container(raw, service, container):
    other = service.create_container(unique_name("oth"))
    try:
        _fill(other, "victim")
        _fill(container, "mine")
        c = container.container_name
        parts = [_part("DELETE", f"/{c}/mine"), _part("DELETE", f"/{other.container_name}/victim")]
        r = _send(raw, parts, container=c)
        _assert_refused_in_part(r, "InvalidInput")
        r = _send(raw, [_part("DELETE", f"/{ACCOUNT}/{other.container_name}/victim")], container=c)
        _assert_refused_in_part(r, "InvalidInput")
        assert _names(other) == ["victim"] and _names(container) == ["mine"]
    finally:
        other.delete_container()


@pytest.mark.parametrize("body,ctype", [
    (b"", "multipart/mixed; boundary=batch_x"),
    (b"garbage without a boundary\r\n", "multipart/mixed; boundary=batch_x"),
    (b"--batch_x\r\nContent-Type: application/http\r\n\r\nDELETE /c/b HTTP/1.1\r\n\r\n", "multipart/mixed; boundary=batch_x"),
    (b"--batch_x--\r\n", "multipart/mixed; boundary=batch_x"),
    (b"--batch_x\r\n\r\nDELETE /c/b HTTP/1.1\r\n\r\n--batch_x--\r\n", "application/xml"),
    (b"--batch_x\r\n\r\nNONSENSE\r\n\r\n--batch_x--\r\n", "multipart/mixed; boundary=batch_x"),
    (b"--batch_x\r\n\r\nDELETE /c/b HTTP/1.1\r\n\r\n--batch_x--\r\n", "multipart/mixedx; boundary=batch_x"),
], ids=["empty", "no-delimiter", "unterminated", "no-parts", "not-multipart", "bad-request-line",
        "other-subtype"])
def test_malformed_batch_bodies(raw, container, body, ctype):
    r = raw.request("POST", f"/{container.container_name}", query={"restype": "container", "comp": "batch"},
                    headers={"Content-Type": ctype}, body=body)
    assert_error_response(r, 400, "InvalidInput")


@pytest.mark.parametrize("ctype", [
    "multipart/mixed", "multipart/mixed; charset=utf-8", "multipart/mixed; boundary=",
    "multipart/mixed; boundary=  ", 'multipart/mixed; boundary=""', "multipart/mixed; boundary=\"batch_x",
    "multipart/mixed; boundary=batch_x; boundary=batch_x", "multipart/mixed; boundary=batch_x;Boundary=batch_y",
    "multipart/mixed; boundary=" + "b" * 201,
], ids=["none", "other-parameter", "empty", "blank", "empty-quoted", "unterminated-quote", "twice",
        "twice-other-case", "too-long"])
def test_multipart_content_type_without_usable_boundary(raw, container, ctype):
    """A multipart/mixed Content-Type naming no usable boundary: Azure's answer (a capture in
    Azure/Azurite pull request 2421) is 202 with one part, without Content-ID, carrying
    HTTP/1.1 400 InvalidHeaderValue; nothing runs."""
    c = container.container_name
    _fill(container, "keep")
    body = _body([_part("DELETE", f"/{c}/keep")], "batch_x")
    r = raw.request("POST", f"/{c}", query={"restype": "container", "comp": "batch"},
                    headers={"Content-Type": ctype}, body=body)
    xml = _assert_refused_in_part(r, "InvalidHeaderValue")
    assert b"<HeaderName>Content-Type</HeaderName>" in xml, xml
    assert _names(container) == ["keep"]


@pytest.mark.parametrize("ctype", [
    "multipart/mixed; boundary= batch_w", "multipart/mixed;boundary=batch_w", "multipart/mixed; boundary =batch_w",
    'multipart/mixed; boundary="batch_w"', "Multipart/Mixed; BOUNDARY=batch_w", "multipart/mixed; charset=utf-8; boundary=batch_w ",
], ids=["space-after-equals", "no-space", "space-before-equals", "quoted", "case", "after-other-parameter"])
def test_boundary_parameter_forms(raw, container, ctype):
    c = container.container_name
    _fill(container, "w1", "keep")
    body = _body([_part("DELETE", f"/{c}/w1")], "batch_w")
    r = raw.request("POST", f"/{c}", query={"restype": "container", "comp": "batch"},
                    headers={"Content-Type": ctype}, body=body)
    assert r.status == 202, r
    assert [(cid, st) for cid, st, _, _ in _parse(r)] == [("0", 202)]
    assert _names(container) == ["keep"]


def test_batch_on_missing_container(raw):
    c = unique_name("nobatch")
    r = _send(raw, [_part("DELETE", f"/{c}/b")], container=c)
    assert_error_response(r, 404, "ContainerNotFound")


def test_batch_outer_auth_failure(raw, container):
    c = container.container_name
    r = _send(raw, [_part("DELETE", f"/{c}/b")], container=c, key=WRONG_KEY)
    assert_error_response(r, 403, "AuthenticationFailed")


# ------------------------------------------------------------------------------------------------
# Only Delete Blob and Set Blob Tier: decided by the route each part is actually routed to
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,target,extra", [
    ("PUT", "{c}/v?comp=metadata", {"x-ms-meta-owned": "yes"}),
    ("PUT", "{c}/v?comp=metadata&comp=tier", {"x-ms-meta-owned": "yes", "x-ms-access-tier": "Cool"}),
    ("PUT", "{c}/v?comp=properties&comp=tier", {"x-ms-blob-content-type": "text/evil", "x-ms-access-tier": "Cool"}),
    ("PUT", "{c}/v?comp=lease&comp=tier", {"x-ms-lease-action": "acquire", "x-ms-lease-duration": "-1",
                                           "x-ms-access-tier": "Cool"}),
    ("PUT", "{c}/v?comp=snapshot&comp=tier", {"x-ms-access-tier": "Cool"}),
    ("PUT", "{c}/v?comp=tags&comp=tier", {"x-ms-access-tier": "Cool"}),
    ("PUT", "{c}/v", {"x-ms-blob-type": "BlockBlob"}),
    ("PUT", "{c}/v?comp=legalhold", {"x-ms-legal-hold": "true"}),
    ("DELETE", "{c}/v?comp=immutabilityPolicies", {}),
    ("PUT", "{c}/v?comp=undelete", {}),
    ("PUT", "{c}/v?comp=copy&copyid=00000000-0000-0000-0000-000000000000", {}),
    ("GET", "{c}/v", {}),
], ids=["metadata", "metadata-then-tier", "properties-then-tier", "lease-then-tier", "snapshot-then-tier",
        "tags-then-tier", "put-blob", "legal-hold", "delete-immutability-policy", "undelete", "abort-copy",
        "get"])
def test_part_routed_to_another_operation_refuses_the_batch(raw, container, method, target, extra):
    """Each part is checked by the route the router chose for it (the first comp= decides, as for
    any request), not by a second look at its method or query: whatever it routes to other than
    Delete Blob or Set Blob Tier refuses the whole batch, alone or after allowed parts."""
    c = container.container_name
    _fill(container, "v", "w")
    before = container.get_blob_client("v").get_blob_properties()
    for parts in ([_part(method, "/" + target.format(c=c), extra=extra)],
                  [_part("PUT", f"/{c}/w?comp=tier", extra={"x-ms-access-tier": "Cool"}),
                   _part(method, "/" + target.format(c=c), extra=extra)],
                  [_part("DELETE", f"/{c}/w"), _part(method, "/" + target.format(c=c), extra=extra)]):
        r = _send(raw, parts, container=c)
        assert_error_response(r, 400, ("InvalidInput", "AllBatchSubRequestsShouldBeSameApi"))
    after = container.get_blob_client("v").get_blob_properties()
    assert _names(container) == ["v", "w"]
    assert after.metadata == before.metadata == {}
    assert after.etag == before.etag and after.content_settings.content_type == before.content_settings.content_type
    assert after.lease.state == "available" and after.blob_tier == before.blob_tier
    assert container.get_blob_client("w").get_blob_properties().blob_tier == before.blob_tier
    assert not [b for b in container.list_blobs(include=["snapshots"]) if b.snapshot]


def test_tier_part_with_a_second_comp_still_sets_the_tier(raw, container):
    """comp=tier first: the router reads the first value, so it is Set Blob Tier and runs as one."""
    c = container.container_name
    _fill(container, "t")
    r = _send(raw, [_part("PUT", f"/{c}/t?comp=tier&comp=metadata",
                          extra={"x-ms-access-tier": "Cool", "x-ms-meta-owned": "yes"})], container=c)
    assert r.status == 202, r
    assert [st for _, st, _, _ in _parse(r)] == [200]
    p = container.get_blob_client("t").get_blob_properties()
    assert p.blob_tier == "Cool" and p.metadata == {}


def test_unroutable_part_is_answered_alone(raw, container):
    """A part that names no operation at all (unknown comp, a method the route does not take) gets
    its own error; the others run."""
    c = container.container_name
    _fill(container, "k1", "k2")
    r = _send(raw, [_part("DELETE", f"/{c}/k1"), _part("DELETE", f"/{c}/k2?comp=bogus"),
                    _part("HEAD", f"/{c}/k2?comp=tier"), _part("OPTIONS", f"/{c}/k2")], container=c)
    assert r.status == 202, r
    got = _parse(r)
    assert [(st, h["x-ms-error-code"]) for _, st, h, _ in got[1:]] == [
        (400, "InvalidQueryParameterValue"), (405, "UnsupportedHttpVerb"), (400, "InvalidHttpVerb")]
    assert got[0][1] == 202
    assert _names(container) == ["k2"]


def test_batch_through_secondary_is_refused(raw, container):
    c = container.container_name
    _fill(container, "s1")
    boundary = f"batch_{uuid.uuid4()}"
    body = _body([_part("DELETE", f"/{c}/s1")], boundary)
    r = raw.request("POST", f"/{c}", query={"restype": "container", "comp": "batch"},
                    headers={"Content-Type": f"multipart/mixed; boundary={boundary}"}, body=body,
                    path_account=f"{ACCOUNT}-secondary")
    assert_error_response(r, 403, "InsufficientAccountPermissions")
    assert _names(container) == ["s1"]
