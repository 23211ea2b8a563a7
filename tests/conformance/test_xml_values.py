"""Values that end up in listing XML (protocol doc §4.2, §4.1, §4.8): what XML 1.0 cannot carry is
refused at write time with 400 InvalidHeaderValue (content properties on Put Blob, Put Block List,
Set Blob Properties; metadata on blobs, snapshots and containers), valid Unicode is stored and
listed as sent, and every listing stays well-formed (strict parse) -- also when a request's own
echoed values (prefix, delimiter) hold such characters.

Raw requests go with an account SAS, so header values are sent as exact bytes (the SDKs refuse to
send most of them)."""
import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

from cobalt_testlib import ACCOUNT, KEY, assert_error_response, unique_name

# What XML 1.0 cannot carry (or a header must not hold), as raw header-value bytes.
BAD = {
    "c0-control": b"text/\x01plain",
    "vertical-tab": b"a\x0bb",
    "escape": b"\x1b[31mred",
    "del": b"a\x7fb",
    "invalid-utf8": b"caf\xe9",
    "lone-continuation": b"\x80abc",
    "overlong": b"\xc0\xaf",
    "truncated": b"ab\xe2\x82",
    "u+fffe": b"x\xef\xbf\xbey",
    "u+ffff": b"\xef\xbf\xbf",
    "surrogate": b"\xed\xa0\x80",
    "above-u+10ffff": b"\xf4\x90\x80\x80",
}
PROPS = ["x-ms-blob-content-type", "Content-Type", "x-ms-blob-content-encoding", "x-ms-blob-content-language",
         "x-ms-blob-content-disposition", "x-ms-blob-cache-control", "x-ms-meta-m"]
GOOD = "caf\u00e9 \u20ac \U0001F600 tab\there"


@pytest.fixture(scope="module")
def sas():
    return generate_account_sas(ACCOUNT, KEY, ResourceTypes(service=True, container=True, object=True),
                                AccountSasPermissions(read=True, write=True, delete=True, list=True, add=True,
                                                      create=True, tag=True),
                                expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))


def req(raw, sas, method, path, query="", headers=None, body=None):
    return raw.request(method, path, sign=False, raw_query=(query + "&" if query else "") + sas,
                       headers=headers, body=body)


def listing(raw, sas, c, query="restype=container&comp=list&include=metadata,snapshots"):
    r = req(raw, sas, "GET", f"/{c}", query)
    assert r.status == 200, r
    return ET.fromstring(r.body)   # strict: raises on anything malformed


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("header", PROPS)
def test_put_blob_refuses_values_xml_cannot_carry(raw, container, sas, header, kind):
    c = container.container_name
    r = req(raw, sas, "PUT", f"/{c}/b", headers={"x-ms-blob-type": "BlockBlob", header: BAD[kind]}, body=b"x")
    assert_error_response(r, 400, "InvalidHeaderValue")
    assert req(raw, sas, "HEAD", f"/{c}/b").status == 404
    listing(raw, sas, c)


@pytest.mark.parametrize("kind", ["c0-control", "invalid-utf8", "u+ffff", "surrogate"])
def test_every_write_path_refuses_them(raw, container, sas, kind):
    c, bad = container.container_name, BAD[kind]
    assert req(raw, sas, "PUT", f"/{c}/b", headers={"x-ms-blob-type": "BlockBlob"}, body=b"x").status == 201
    # Set Blob Properties, Set Blob Metadata, Snapshot Blob with metadata
    for query, h in [("comp=properties", {"x-ms-blob-content-type": bad}),
                     ("comp=properties", {"x-ms-blob-cache-control": bad}),
                     ("comp=metadata", {"x-ms-meta-m": bad}),
                     ("comp=snapshot", {"x-ms-meta-m": bad})]:
        assert_error_response(req(raw, sas, "PUT", f"/{c}/b", query, headers=h), 400, "InvalidHeaderValue")
    # Put Block List
    assert req(raw, sas, "PUT", f"/{c}/bl", "comp=block&blockid=QUFBQQ%3D%3D", body=b"blk").status == 201
    body = b'<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>QUFBQQ==</Latest></BlockList>'
    for h in [{"x-ms-blob-content-type": bad}, {"x-ms-blob-content-disposition": bad}, {"x-ms-meta-m": bad}]:
        r = req(raw, sas, "PUT", f"/{c}/bl", "comp=blocklist", headers=h, body=body)
        assert_error_response(r, 400, "InvalidHeaderValue")
    # Create Container, Set Container Metadata
    name = unique_name("xv")
    r = req(raw, sas, "PUT", f"/{name}", "restype=container", headers={"x-ms-meta-m": bad})
    assert_error_response(r, 400, "InvalidHeaderValue")
    r = req(raw, sas, "PUT", f"/{c}", "restype=container&comp=metadata", headers={"x-ms-meta-m": bad})
    assert_error_response(r, 400, "InvalidHeaderValue")
    # Nothing changed: the blob keeps its properties, listings parse.
    h = req(raw, sas, "HEAD", f"/{c}/b")
    assert h.header("content-type") == "application/octet-stream" and h.header("x-ms-meta-m") is None
    listing(raw, sas, c)
    r = req(raw, sas, "GET", "/", "comp=list&include=metadata")
    assert r.status == 200 and ET.fromstring(r.body) is not None


def test_valid_unicode_is_kept_and_listed(raw, container, sas):
    c = container.container_name
    v = GOOD.encode()
    r = req(raw, sas, "PUT", f"/{c}/u", headers={"x-ms-blob-type": "BlockBlob", "x-ms-blob-content-type": v,
                                                  "x-ms-blob-content-disposition": v, "x-ms-meta-m": v}, body=b"u")
    assert r.status == 201, r
    props = listing(raw, sas, c).find("Blobs/Blob")
    assert props.findtext("Properties/Content-Type") == GOOD
    assert props.findtext("Properties/Content-Disposition") == GOOD
    assert props.findtext("Metadata/m") == GOOD
    blob = next(iter(container.list_blobs(include=["metadata"])))
    assert blob.metadata == {"m": GOOD} and blob.content_settings.content_type == GOOD


@pytest.mark.parametrize("param", ["prefix", "delimiter"])
def test_echoed_query_values_keep_listings_well_formed(raw, container, sas, param):
    """The request's own values come back in the listing: escaped whatever they hold."""
    c = container.container_name
    assert req(raw, sas, "PUT", f"/{c}/a", headers={"x-ms-blob-type": "BlockBlob"}, body=b"a").status == 201
    for value in ["%01", "%EF%BF%BF", "%FF%FE", "%ED%A0%80", "a%3C%26%3E%22%27"]:
        r = req(raw, sas, "GET", f"/{c}", f"restype=container&comp=list&{param}={value}")
        assert r.status == 200, r
        ET.fromstring(r.body)
    for value in ["%01", "%FF"]:
        r = req(raw, sas, "GET", "/", f"comp=list&prefix={value}")
        assert r.status == 200, r
        ET.fromstring(r.body)
