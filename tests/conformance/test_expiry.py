"""Set Blob Expiry (protocol doc §2.4, docs/expiry.md): the four options, what Get Blob Properties
and List Blobs report, the blob vanishing for every reader the instant its expiry passes, the
background purge taking it (and its staged blocks) away for good on every engine, what keeps or
clears an expiry, and the refusals.  The servers here run on a test clock, so nothing sleeps."""
import email.utils
import re
import xml.etree.ElementTree as ET

import pytest
from cobalt_testlib import CobaltServer, assert_error_response, expect_error, run_cli, unique_name


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("cobalt-expiry")
    s = CobaltServer(d / "data", d / "server.log", test_clock=True).start()
    yield s
    assert s.stop() == 0, s.log_tail()


@pytest.fixture
def raw(srv):
    return srv.raw()


@pytest.fixture
def cc(srv):
    return srv.client().create_container(unique_name("exp"))


def set_expiry(raw, c, n, option, time=None, headers=None):
    h = {"x-ms-expiry-option": option}
    if time is not None:
        h["x-ms-expiry-time"] = time
    h.update(headers or {})
    return raw.request("PUT", f"/{c}/{n}", query={"comp": "expiry"}, headers=h)


def expiry_of(raw, c, n):
    """(x-ms-expiry-time of HEAD, Expiry-Time of List Blobs) as Unix seconds, None when absent."""
    r = raw.head_blob(c, n)
    assert r.status == 200, r
    head = r.header("x-ms-expiry-time")
    lst = raw.request("GET", f"/{c}", query={"restype": "container", "comp": "list", "prefix": n})
    assert lst.status == 200, lst
    items = [b for b in ET.fromstring(lst.body).iter("Blob") if b.findtext("Name") == n]
    assert len(items) == 1
    listed = items[0].find("Properties").findtext("Expiry-Time")
    assert head == listed, (head, listed)
    return None if head is None else email.utils.parsedate_to_datetime(head).timestamp()


def names(raw, c, include=None):
    q = {"restype": "container", "comp": "list"}
    if include:
        q["include"] = include
    r = raw.request("GET", f"/{c}", query=q)
    assert r.status == 200, r
    return [b.findtext("Name") for b in ET.fromstring(r.body).iter("Blob")]


# ---- the options and what reports them -------------------------------------------------------

def test_sdk_sets_each_option_and_properties_report_it(srv, raw, cc):
    bc = cc.upload_blob("a", b"expiring")
    created = email.utils.parsedate_to_datetime(raw.head_blob(cc.container_name, "a")
                                                .header("x-ms-creation-time")).timestamp()
    etag = bc.get_blob_properties().etag
    # The Python SDK sends Set Blob Expiry through its generated client (DataLake's
    # set_file_expiry calls the same operation).
    bc._client.blob.set_expiry("RelativeToNow", expires_on="3600000")
    at = expiry_of(raw, cc.container_name, "a")
    assert abs(at - (srv.now() + 3600)) < 5
    assert bc.get_blob_properties().etag != etag              # a property change: a new ETag
    bc._client.blob.set_expiry("RelativeToCreation", expires_on="7200000")
    assert expiry_of(raw, cc.container_name, "a") == int(created) + 7200
    when = email.utils.formatdate(srv.now() + 86400, usegmt=True)
    bc._client.blob.set_expiry("Absolute", expires_on=when)
    assert expiry_of(raw, cc.container_name, "a") == email.utils.parsedate_to_datetime(when).timestamp()
    bc._client.blob.set_expiry("NeverExpire")
    assert expiry_of(raw, cc.container_name, "a") is None
    assert bc.download_blob().readall() == b"expiring"


def test_response_headers_and_option_case(raw, cc):
    cc.upload_blob("h", b"x")
    r = set_expiry(raw, cc.container_name, "h", "relativetonow", "60000")
    assert r.status == 200, r
    head = raw.head_blob(cc.container_name, "h")
    assert r.header("ETag") == head.header("ETag")
    assert r.header("Last-Modified") == head.header("Last-Modified")


# ---- vanishing, and the purge ------------------------------------------------------------------

def test_blob_vanishes_the_moment_its_expiry_passes(srv, raw, cc):
    c = cc.container_name
    cc.upload_blob("gone", b"short-lived", tags={"k": "v1"})
    cc.upload_blob("stays", b"long-lived")
    assert set_expiry(raw, c, "gone", "RelativeToNow", "10000").status == 200
    assert set_expiry(raw, c, "stays", "RelativeToNow", "100000").status == 200
    srv.advance_clock(5)
    assert raw.get_blob(c, "gone").body == b"short-lived"
    srv.advance_clock(6)                                   # 11 s: past the first expiry only
    assert_error_response(raw.get_blob(c, "gone"), 404, "BlobNotFound")
    assert_error_response(raw.head_blob(c, "gone"), 404, "BlobNotFound", head=True)
    assert_error_response(raw.request("GET", f"/{c}/gone", query={"comp": "metadata"}),
                          404, "BlobNotFound")
    assert_error_response(raw.request("GET", f"/{c}/gone", query={"comp": "blocklist"}),
                          404, "BlobNotFound")
    assert_error_response(raw.request("PUT", f"/{c}/gone", query={"comp": "snapshot"}),
                          404, "BlobNotFound")
    assert_error_response(set_expiry(raw, c, "gone", "NeverExpire"), 404, "BlobNotFound")
    assert names(raw, c, "metadata,tags,snapshots,versions,deleted,uncommittedblobs") == ["stays"]
    found = raw.request("GET", f"/{c}", query={"restype": "container", "comp": "blobs",
                                               "where": "\"k\"='v1'"})
    assert found.status == 200 and b"<Name>gone</Name>" not in found.body, found
    assert raw.get_blob(c, "stays").body == b"long-lived"
    # The name is free: a new blob there has no expiry.
    assert raw.put_blob(c, "gone", b"reborn").status == 201
    assert expiry_of(raw, c, "gone") is None
    srv.advance_clock(100)
    assert raw.get_blob(c, "gone").body == b"reborn"
    assert_error_response(raw.get_blob(c, "stays"), 404, "BlobNotFound")


def test_purge_removes_the_blob_and_its_staged_blocks(srv, raw, cc):
    c = cc.container_name
    cc.upload_blob("p", b"committed")
    assert raw.request("PUT", f"/{c}/p", query={"comp": "block", "blockid": "QUFBQQ=="},
                       body=b"staged").status == 201
    assert set_expiry(raw, c, "p", "RelativeToNow", "1000").status == 200
    srv.advance_clock(2)
    assert srv.run_background_now()
    # Purged, not just hidden: the staged block went with the record (a hidden record would
    # still hold it, and this commit would succeed).
    body = b"<?xml version='1.0' encoding='utf-8'?><BlockList><Uncommitted>QUFBQQ==</Uncommitted></BlockList>"
    assert_error_response(raw.request("PUT", f"/{c}/p", query={"comp": "blocklist"}, body=body),
                          400, "InvalidBlockList")
    assert_error_response(raw.get_blob(c, "p"), 404, "BlobNotFound")
    assert names(raw, c, "uncommittedblobs") == []


def test_an_expired_page_blob_takes_its_pages(srv, raw, cc):
    c = cc.container_name
    disk = cc.get_blob_client("disk")
    disk.create_page_blob(1 << 20)
    disk.upload_page(b"d" * 4096, offset=8192, length=4096)
    assert set_expiry(raw, c, "disk", "RelativeToNow", "1000").status == 200
    srv.advance_clock(2)
    assert srv.run_background_now()
    assert_error_response(raw.get_blob(c, "disk"), 404, "BlobNotFound")
    # A page blob created anew under the name has none of the old pages.
    disk.create_page_blob(1 << 20)
    assert disk.download_blob().readall() == bytes(1 << 20)
    assert disk.get_page_ranges()[0] == []


@pytest.mark.local_files
def test_purge_leaves_a_clean_data_directory(tmp_path):
    s = CobaltServer(tmp_path / "data", tmp_path / "server.log", test_clock=True).start()
    try:
        raw = s.raw()
        cc = s.client().create_container("cex")
        cc.upload_blob("old", b"o" * 70000, tags={"t": "1"})
        cc.upload_blob("kept", b"kept")
        assert raw.request("PUT", "/cex/old", query={"comp": "block", "blockid": "QkJCQg=="},
                           body=b"staged").status == 201
        disk = cc.get_blob_client("disk")
        disk.create_page_blob(1 << 20)
        disk.upload_page(b"d" * 4096, offset=0, length=4096)
        assert set_expiry(raw, "cex", "old", "RelativeToNow", "1000").status == 200
        assert set_expiry(raw, "cex", "disk", "RelativeToNow", "1000").status == 200
        s.advance_clock(2)
        assert s.run_background_now()
        r = run_cli("fsck", str(s.data_dir))
        m = re.search(r"blobs=(\d+).*problems=(\d+)", r.stdout)
        assert r.returncode == 0 and m and m.group(1) == "1" and m.group(2) == "0", r.stdout + r.stderr
        assert raw.get_blob("cex", "kept").body == b"kept"
    finally:
        s.stop()


# ---- what keeps an expiry and what clears it ----------------------------------------------------

def test_property_changes_keep_it_overwrites_clear_it(raw, cc):
    c = cc.container_name
    bc = cc.upload_blob("k", b"one")
    assert set_expiry(raw, c, "k", "RelativeToNow", "600000").status == 200
    at = expiry_of(raw, c, "k")
    bc.set_blob_metadata({"m": "1"})
    bc.set_http_headers(content_settings=None)
    bc.set_blob_tags({"t": "x"})
    bc.set_standard_blob_tier("Cool")
    lease = bc.acquire_lease()
    lease.release()
    assert expiry_of(raw, c, "k") == at
    bc.upload_blob(b"two", overwrite=True)
    assert expiry_of(raw, c, "k") is None


def test_snapshots_outlive_their_blobs_expiry(srv, raw, cc):
    c = cc.container_name
    bc = cc.upload_blob("s", b"base")
    assert set_expiry(raw, c, "s", "RelativeToNow", "5000").status == 200
    snap = bc.create_snapshot()["snapshot"]
    srv.advance_clock(6)
    assert raw.get_blob(c, "s").status == 404
    r = raw.request("GET", f"/{c}/s", query={"snapshot": snap})
    assert r.status == 200 and r.body == b"base" and r.header("x-ms-expiry-time") is None, r


def test_a_legal_hold_keeps_an_expired_blob(srv, raw, cc):
    c = cc.container_name
    cc.upload_blob("held", b"evidence")
    assert set_expiry(raw, c, "held", "RelativeToNow", "2000").status == 200
    assert raw.request("PUT", f"/{c}/held", query={"comp": "legalhold"},
                       headers={"x-ms-legal-hold": "true"}).status == 200
    srv.advance_clock(3)
    assert srv.run_background_now()
    assert raw.get_blob(c, "held").body == b"evidence"
    # Under protection Set Blob Expiry is refused like a delete.
    assert_error_response(set_expiry(raw, c, "held", "RelativeToNow", "2000"), 409,
                          "BlobImmutableDueToLegalHold")
    assert raw.request("PUT", f"/{c}/held", query={"comp": "legalhold"},
                       headers={"x-ms-legal-hold": "false"}).status == 200


# ---- refusals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("option,time,status,code,header", [
    (None, None, 400, "MissingRequiredHeader", "x-ms-expiry-option"),
    ("Tomorrow", "1000", 400, "InvalidHeaderValue", "x-ms-expiry-option"),
    ("RelativeToNow", None, 400, "MissingRequiredHeader", "x-ms-expiry-time"),
    ("RelativeToCreation", None, 400, "MissingRequiredHeader", "x-ms-expiry-time"),
    ("Absolute", None, 400, "MissingRequiredHeader", "x-ms-expiry-time"),
    ("RelativeToNow", "10s", 400, "InvalidHeaderValue", "x-ms-expiry-time"),
    ("RelativeToNow", "-5", 400, "InvalidHeaderValue", "x-ms-expiry-time"),
    ("RelativeToNow", "0", 400, "InvalidHeaderValue", "x-ms-expiry-time"),
    ("RelativeToNow", "99999999999999999999", 400, "InvalidHeaderValue", "x-ms-expiry-time"),
    ("RelativeToCreation", "1", 400, "InvalidHeaderValue", "x-ms-expiry-time"),  # in the past
    ("Absolute", "2030-01-01T00:00:00Z", 400, "InvalidHeaderValue", "x-ms-expiry-time"),
    ("Absolute", "Mon, 01 Jan 2001 00:00:00 GMT", 400, "InvalidHeaderValue", "x-ms-expiry-time"),
    ("NeverExpire", "1000", 400, "InvalidHeaderValue", "x-ms-expiry-time"),
])
def test_bad_options_and_times(srv, raw, cc, option, time, status, code, header):
    cc.upload_blob("e", b"x")
    srv.advance_clock(0.5)                                 # the blob is older than 1 ms
    h = {}
    if option is not None:
        h["x-ms-expiry-option"] = option
    if time is not None:
        h["x-ms-expiry-time"] = time
    r = raw.request("PUT", f"/{cc.container_name}/e", query={"comp": "expiry"}, headers=h)
    assert_error_response(r, status, code)
    assert ET.fromstring(r.body).findtext("HeaderName") == header
    assert expiry_of(raw, cc.container_name, "e") is None


def test_missing_blob_lease_and_snapshot(raw, cc):
    c = cc.container_name
    assert_error_response(set_expiry(raw, c, "nothing", "RelativeToNow", "1000"), 404, "BlobNotFound")
    bc = cc.upload_blob("l", b"x")
    lease = bc.acquire_lease()
    assert_error_response(set_expiry(raw, c, "l", "RelativeToNow", "60000"), 412, "LeaseIdMissing")
    assert set_expiry(raw, c, "l", "RelativeToNow", "60000",
                      headers={"x-ms-lease-id": lease.id}).status == 200
    snap = bc.create_snapshot()["snapshot"]
    r = raw.request("PUT", f"/{c}/l", query={"comp": "expiry", "snapshot": snap},
                    headers={"x-ms-expiry-option": "NeverExpire", "x-ms-lease-id": lease.id})
    assert_error_response(r, 400, "InvalidOperation")


def test_sdk_error_surface(cc):
    bc = cc.upload_blob("sdk", b"x")
    expect_error(bc._client.blob.set_expiry, 400, "MissingRequiredHeader", "RelativeToNow")
