"""Customer-provided keys and encryption scopes (docs/encryption.md): Cobalt refuses every request
that asks for a customer key (400 UnsupportedHeader naming the header) or for an encryption scope
other than the account's (400 InvalidHeaderValue), before anything is written, on every operation;
the account scope, $account-encryption-key, is accepted wherever a scope may be named.  The Python
SDK only sends customer keys over HTTPS: tests/door/test_encryption_tls.py drives it there."""
import base64
import datetime
import hashlib
import xml.etree.ElementTree as ET

import pytest
from azure.storage.blob import BlobSasPermissions, ContainerEncryptionScope, generate_blob_sas

from cobalt_testlib import ACCOUNT, KEY as ACCOUNT_KEY, assert_error_response, expect_error, unique_name, utcnow

KEY = base64.b64encode(b"k" * 32).decode()
KEY_SHA = base64.b64encode(hashlib.sha256(b"k" * 32).digest()).decode()
CPK = {"x-ms-encryption-key": KEY, "x-ms-encryption-key-sha256": KEY_SHA,
       "x-ms-encryption-algorithm": "AES256"}


def header_name(r):
    return ET.fromstring(r.body).findtext("HeaderName")


def requests(c, n):
    """(method, path, query, body) of the operations that take CPK or a scope in Azure."""
    bl = b"<?xml version='1.0' encoding='utf-8'?><BlockList><Latest>QUFBQQ==</Latest></BlockList>"
    return [
        ("PUT", f"/{c}/{n}", {}, b"data"),                                  # Put Blob
        ("GET", f"/{c}/{n}", {}, None),                                     # Get Blob
        ("HEAD", f"/{c}/{n}", {}, None),                                    # Get Blob Properties
        ("PUT", f"/{c}/{n}", {"comp": "metadata"}, b""),                    # Set Blob Metadata
        ("GET", f"/{c}/{n}", {"comp": "metadata"}, None),                   # Get Blob Metadata
        ("PUT", f"/{c}/{n}", {"comp": "snapshot"}, b""),                    # Snapshot Blob
        ("PUT", f"/{c}/{n}", {"comp": "block", "blockid": "QUFBQQ=="}, b"b"),  # Put Block
        ("PUT", f"/{c}/{n}", {"comp": "blocklist"}, bl),                    # Put Block List
        ("PUT", f"/{c}/{n}", {"comp": "appendblock"}, b"a"),                # Append Block
        ("POST", f"/{c}/{n}", {"comp": "query"}, b"<QueryRequest/>"),       # Query Blob Contents
    ]


@pytest.mark.parametrize("header", sorted(CPK))
def test_customer_key_headers_refused_everywhere(raw, container, header):
    c = container.container_name
    container.upload_blob("present", b"plain")
    for method, path, query, body in requests(c, "present") + requests(c, "absent"):
        h = {"x-ms-blob-type": "BlockBlob", header: CPK[header]}
        r = raw.request(method, path, query=query, headers=h, body=body)
        assert_error_response(r, 400, "UnsupportedHeader", head=method == "HEAD")
        if method != "HEAD":
            assert header_name(r) == header, (method, path, query)
    # Nothing was written: the absent blob is still absent, the present one unchanged.
    assert raw.get_blob(c, "absent").status == 404
    assert raw.get_blob(c, "present").body == b"plain"


def test_all_three_cpk_headers_refused_and_nothing_written(raw, container):
    r = raw.put_blob(container.container_name, "cpk", b"secret", headers=CPK)
    assert_error_response(r, 400, "UnsupportedHeader")
    assert header_name(r) in CPK
    assert raw.get_blob(container.container_name, "cpk").status == 404


@pytest.mark.parametrize("header", ["x-ms-source-encryption-key", "x-ms-source-encryption-key-sha256",
                                    "x-ms-source-encryption-algorithm"])
def test_source_customer_key_refused_on_copies(raw, container, header):
    c = container.container_name
    container.upload_blob("src", b"s")
    r = raw.request("PUT", f"/{c}/dst", headers={
        "x-ms-copy-source": f"http://127.0.0.1:{raw.srv.port}/devstoreaccount1/{c}/src",
        "x-ms-requires-sync": "true", header: "x"})
    assert_error_response(r, 400, "UnsupportedHeader")
    assert header_name(r) == header
    assert raw.get_blob(c, "dst").status == 404


def test_unknown_encryption_scope_refused(raw, container):
    c = container.container_name
    r = raw.put_blob(c, "scoped", b"x", headers={"x-ms-encryption-scope": "myscope"})
    assert_error_response(r, 400, "InvalidHeaderValue")
    assert header_name(r) == "x-ms-encryption-scope"
    assert raw.get_blob(c, "scoped").status == 404
    # The account's scope is the one that exists.
    r = raw.put_blob(c, "scoped", b"x", headers={"x-ms-encryption-scope": "$account-encryption-key"})
    assert r.status == 201, r
    assert raw.get_blob(c, "scoped").body == b"x"


def test_sdk_encryption_scope(container):
    bc = container.get_blob_client("sdk")
    expect_error(bc.upload_blob, 400, "InvalidHeaderValue", b"x", encryption_scope="myscope")
    bc.upload_blob(b"x", encryption_scope="$account-encryption-key")
    assert bc.download_blob().readall() == b"x"


def test_container_default_scope(raw, server):
    svc = server.client()
    name = unique_name("scope")
    expect_error(svc.create_container, 400, "InvalidHeaderValue", name,
                 container_encryption_scope=ContainerEncryptionScope("myscope"))
    r = raw.request("PUT", f"/{name}", query={"restype": "container"},
                    headers={"x-ms-default-encryption-scope": "$account-encryption-key",
                             "x-ms-deny-encryption-scope-override": "true"})
    assert_error_response(r, 400, "UnsupportedHeader")
    assert header_name(r) == "x-ms-deny-encryption-scope-override"
    r = raw.request("PUT", f"/{name}", query={"restype": "container"},
                    headers={"x-ms-default-encryption-scope": "$account-encryption-key",
                             "x-ms-deny-encryption-scope-override": "maybe"})
    assert_error_response(r, 400, "InvalidHeaderValue")
    assert raw.request("GET", f"/{name}", query={"restype": "container"}).status == 404
    cc = svc.create_container(name, container_encryption_scope=ContainerEncryptionScope(
        "$account-encryption-key", prevent_encryption_scope_override=False))
    p = cc.get_container_properties()
    assert p.encryption_scope.default_encryption_scope == "$account-encryption-key"
    assert p.encryption_scope.prevent_encryption_scope_override is False


def test_sas_with_another_scope_refused(raw, container):
    c = container.container_name
    sas = generate_blob_sas(ACCOUNT, c, "viasas", account_key=ACCOUNT_KEY,
                            permission=BlobSasPermissions(write=True, create=True),
                            expiry=utcnow() + datetime.timedelta(hours=1), encryption_scope="myscope")
    r = raw.request("PUT", f"/{c}/viasas", headers={"x-ms-blob-type": "BlockBlob"}, body=b"x",
                    sign=False, raw_query=sas)
    assert_error_response(r, 400, "InvalidQueryParameterValue")
    assert raw.get_blob(c, "viasas").status == 404
