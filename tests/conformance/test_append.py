"""Append blobs (protocol doc §2.5, §5.4): Create (Put Blob with x-ms-blob-type: AppendBlob),
Append Block, Append Block From URL, Seal -- with the Python SDK's AppendBlob API, and raw
requests where the SDK cannot send what a test needs."""
import email.utils
import http.client
import os
import re
import threading
import time

import pytest
from azure.core import MatchConditions
from azure.storage.blob import BlobClient, BlobType

from cobalt_testlib import (ACCOUNT, RAW_VERSION, CobaltServer, assert_error_response, expect_error,
                            md5_b64, run_cli, sign_shared_key, unique_name)

MiB = 1024 * 1024


def _append(raw, cname, name, data, headers=None):
    return raw.request("PUT", f"/{cname}/{name}", query={"comp": "appendblock"},
                       headers=headers or {}, body=data)


def test_create_append_read_and_list(container, raw):
    bc = container.get_blob_client("log.txt")
    created = bc.create_append_blob(metadata={"source": "test"})
    offsets = []
    for i in range(5):
        r = bc.append_block(f"line {i}\n".encode())
        offsets.append((int(r["blob_append_offset"]), r["blob_committed_block_count"]))
        assert r["etag"] != created["etag"]
    assert offsets == [(0, 1), (7, 2), (14, 3), (21, 4), (28, 5)]
    want = b"".join(f"line {i}\n".encode() for i in range(5))
    assert bc.download_blob().readall() == want
    assert bc.download_blob(offset=10, length=12).readall() == want[10:22]   # across blocks
    p = bc.get_blob_properties()
    assert p.blob_type == BlobType.APPENDBLOB
    assert p.size == len(want) and p.append_blob_committed_block_count == 5
    assert p.metadata == {"source": "test"}
    assert not p.is_append_blob_sealed
    h = raw.head_blob(container.container_name, "log.txt")
    assert h.header("x-ms-blob-type") == "AppendBlob"
    assert h.header("x-ms-blob-committed-block-count") == "5"
    assert h.header("x-ms-blob-sealed") == "false"   # Azure says so until the blob is sealed
    assert h.header("x-ms-access-tier") is None          # append blobs have no tier
    [item] = [b for b in container.list_blobs() if b.name == "log.txt"]
    assert item.blob_type == BlobType.APPENDBLOB and item.size == len(want)
    lst = raw.request("GET", f"/{container.container_name}",
                      query={"restype": "container", "comp": "list"})
    assert b"<BlobType>AppendBlob</BlobType>" in lst.body and b"<Sealed>false</Sealed>" in lst.body
    assert b"<AccessTier>" not in lst.body


def test_append_response_headers(container, raw):
    cname = container.container_name
    container.get_blob_client("h").create_append_blob()
    data = b"payload"
    r = _append(raw, cname, "h", data, {"Content-MD5": md5_b64(data)})
    assert r.status == 201, r
    assert r.header("Content-MD5") == md5_b64(data)
    assert r.header("x-ms-blob-append-offset") == "0"
    assert r.header("x-ms-blob-committed-block-count") == "1"
    assert r.header("ETag") and r.header("Last-Modified")
    assert r.header("x-ms-request-server-encrypted") == "false"   # not encrypted at rest (docs/encryption.md)
    bad = _append(raw, cname, "h", data, {"Content-MD5": md5_b64(b"other")})
    assert_error_response(bad, 400, "Md5Mismatch")
    assert container.get_blob_client("h").download_blob().readall() == data


def test_append_conditions(container, raw):
    cname = container.container_name
    bc = container.get_blob_client("cond")
    bc.create_append_blob()
    bc.append_block(b"0123456789")
    expect_error(bc.append_block, 412, "AppendPositionConditionNotMet", b"x", appendpos_condition=3)
    expect_error(bc.append_block, 412, "MaxBlobSizeConditionNotMet", b"xy", maxsize_condition=11)
    r = bc.append_block(b"x", appendpos_condition=10, maxsize_condition=11)
    assert int(r["blob_append_offset"]) == 10
    stale = bc.get_blob_properties().etag
    bc.append_block(b"y")
    expect_error(bc.append_block, 412, "ConditionNotMet", b"z", etag=stale,
                 match_condition=MatchConditions.IfNotModified)
    for hdr in ("x-ms-blob-condition-appendpos", "x-ms-blob-condition-maxsize"):
        assert_error_response(_append(raw, cname, "cond", b"z", {hdr: "-1"}), 400, "InvalidHeaderValue")
        assert_error_response(_append(raw, cname, "cond", b"z", {hdr: "12x"}), 400, "InvalidHeaderValue")
    assert bc.download_blob().readall() == b"0123456789xy"   # no failed append left anything


def test_append_with_lease(container):
    bc = container.get_blob_client("leased")
    bc.create_append_blob()
    lease = bc.acquire_lease(lease_duration=-1)
    expect_error(bc.append_block, 412, "LeaseIdMissing", b"x")
    expect_error(bc.append_block, 412, "LeaseIdMismatchWithBlobOperation", b"x",
                 lease="11111111-2222-3333-4444-555555555555")
    bc.append_block(b"x", lease=lease)
    assert bc.download_blob().readall() == b"x"


def test_type_rules(container, raw):
    cname = container.container_name
    container.get_blob_client("block").upload_blob(b"abc")
    expect_error(container.get_blob_client("block").append_block, 409, "InvalidBlobType", b"x")
    expect_error(container.get_blob_client("missing").append_block, 404, "BlobNotFound", b"x")
    ab = container.get_blob_client("app")
    ab.create_append_blob()
    expect_error(ab.stage_block, 409, "InvalidBlobType", "QUFBQQ==", b"x")
    expect_error(ab.commit_block_list, 409, "InvalidBlobType", [])
    expect_error(ab.set_standard_blob_tier, 409, "InvalidBlobType", "Cool")
    # Create takes no content and no tier; an append needs at least one byte.
    r = raw.put_blob(cname, "c1", b"data", headers={"x-ms-blob-type": "AppendBlob"})
    assert_error_response(r, 400, "InvalidHeaderValue")
    r = raw.put_blob(cname, "c2", b"", headers={"x-ms-blob-type": "AppendBlob",
                                                 "x-ms-access-tier": "Cool"})
    assert_error_response(r, 400, "AccessTierNotSupportedForBlobType")
    assert_error_response(_append(raw, cname, "app", b""), 400, "InvalidHeaderValue")
    r = raw.request("PUT", f"/{cname}/app", query={"comp": "appendblock"},
                    headers={"Content-Length": str(100 * MiB + 1)}, body=b"")
    assert_error_response(r, 413, "RequestBodyTooLarge")
    for name in ("c1", "c2"):
        expect_error(container.get_blob_client(name).get_blob_properties, 404)
    # Put Blob replaces a blob of any type: append -> block and back.
    ab.upload_blob(b"now a block blob", overwrite=True)
    assert ab.get_blob_properties().blob_type == BlobType.BLOCKBLOB
    ab.create_append_blob()
    p = ab.get_blob_properties()
    assert p.blob_type == BlobType.APPENDBLOB and p.size == 0


def test_seal(container, raw):
    cname = container.container_name
    bc = container.get_blob_client("sealed")
    bc.create_append_blob()
    bc.append_block(b"abc")
    expect_error(bc.seal_append_blob, 412, "AppendPositionConditionNotMet", appendpos_condition=1)
    r = bc.seal_append_blob(appendpos_condition=3)
    assert r["blob_sealed"] is True
    p = bc.get_blob_properties()
    assert p.is_append_blob_sealed and p.etag == r["etag"]
    expect_error(bc.append_block, 409, "BlobIsSealed", b"more")
    again = raw.request("PUT", f"/{cname}/sealed", query={"comp": "seal"})
    assert again.status == 200 and again.header("x-ms-blob-sealed") == "true"
    assert again.header("ETag") == r["etag"]          # sealing twice changes nothing
    lst = raw.request("GET", f"/{cname}", query={"restype": "container", "comp": "list"})
    assert b"<Sealed>true</Sealed>" in lst.body
    expect_error(container.get_blob_client("none").seal_append_blob, 404, "BlobNotFound")
    container.get_blob_client("blk").upload_blob(b"x")
    expect_error(container.get_blob_client("blk").seal_append_blob, 409, "InvalidBlobType")
    # A sealed blob can still be replaced, and its metadata changed.
    bc.set_blob_metadata({"k": "v"})
    bc.create_append_blob()
    assert not bc.get_blob_properties().is_append_blob_sealed
    bc.append_block(b"fresh")
    assert bc.download_blob().readall() == b"fresh"


def test_concurrent_appenders_each_block_lands_whole_once(container):
    """8 writers append 25 distinct blocks each to one blob, unsynchronised: every block appears
    exactly once, contiguous, at the offset its response named."""
    bc = container.get_blob_client("shared-log")
    bc.create_append_blob()
    results, errors = [], []

    def writer(w):
        try:
            client = BlobClient.from_blob_url(bc.url, credential=bc.credential, retry_total=0)
            for i in range(25):
                data = f"<w{w}-{i}:{os.urandom(8).hex()}>".encode() * (1 + (w + i) % 3)
                r = client.append_block(data)
                results.append((int(r["blob_append_offset"]), data))
        except Exception as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    content = bc.download_blob().readall()
    assert len(results) == 200
    assert sum(len(d) for _, d in results) == len(content)
    for off, data in results:
        assert content[off:off + len(data)] == data
    assert sorted(off for off, _ in results) == sorted(set(off for off, _ in results))
    assert bc.get_blob_properties().append_blob_committed_block_count == 200


@pytest.mark.heavy
def test_block_count_limit(container, raw):
    """The 50,000th append is the last.  Raw one-byte appends on one connection (about 35 s); the
    time of the first and the last thousand shows that appends do not slow down as the blob grows
    (small blocks are coalesced, docs/storage.md)."""
    cname = container.container_name
    bc = container.get_blob_client("many")
    bc.create_append_blob()
    conn = http.client.HTTPConnection("127.0.0.1", raw.srv.port, timeout=30)
    path = f"/{ACCOUNT}/{cname}/many"
    status, marks = [], {}
    try:
        for i in range(50001):
            if i in (0, 1000, 49000, 50000):
                marks[i] = time.monotonic()
            h = {"x-ms-version": RAW_VERSION, "x-ms-date": email.utils.formatdate(usegmt=True),
                 "Content-Length": "1"}
            h["Authorization"] = sign_shared_key("PUT", path, [("comp", "appendblock")], h)
            conn.request("PUT", path + "?comp=appendblock", body=b"x", headers=h)
            resp = conn.getresponse()
            resp.read()
            status.append((resp.status, resp.getheader("x-ms-error-code")))
    finally:
        conn.close()
    assert all(s == (201, None) for s in status[:50000]), [s for s in status[:50000] if s[0] != 201][:3]
    assert status[50000] == (409, "BlockCountExceedsLimit")
    print(f"appends 1-1,000: {(marks[1000] - marks[0]) * 1000 / 1000:.2f} ms each; "
          f"49,001-50,000: {(marks[50000] - marks[49000]) * 1000 / 1000:.2f} ms each; "
          f"all 50,000: {marks[50000] - marks[0]:.0f} s")
    p = bc.get_blob_properties()
    assert p.size == 50000 and p.append_blob_committed_block_count == 50000


@pytest.mark.local_files
def test_small_appends_share_needles_and_read_back(tmp_path):
    """1,000 small appends (with a few large ones among them) are coalesced in runs of 256 small
    blocks: content, ranges and the committed count are exact; a snapshot taken mid-way keeps
    the needles it shares, through an offline compaction; fsck is clean."""
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log",
                       args=["--volume-size", str(MiB), "--compact-threshold", "0"]).start()
    try:
        cc = srv.client().create_container("coalesce")
        bc = cc.get_blob_client("log")
        bc.create_append_blob()
        want, snap, snap_want = b"", None, None
        for i in range(1000):
            data = os.urandom(70 * 1024) if i % 300 == 299 else f"entry {i:04d};".encode()
            r = bc.append_block(data)
            assert int(r["blob_append_offset"]) == len(want)
            assert r["blob_committed_block_count"] == i + 1
            want += data
            if i == 400:
                snap, snap_want = bc.create_snapshot()["snapshot"], want
        assert bc.download_blob().readall() == want
        assert bc.get_blob_properties().append_blob_committed_block_count == 1000
        for off, n in ((0, 1), (255 * 11, 40), (len(want) - 70000, 70000), (1234, 100000)):
            assert bc.download_blob(offset=off, length=n).readall() == want[off:off + n]
        snap_client = cc.get_blob_client("log", snapshot=snap)
        assert snap_client.download_blob().readall() == snap_want
    finally:
        assert srv.stop() == 0, srv.log_tail()
    p = run_cli("compact", srv.data_dir)
    assert p.returncode == 0, p.stdout + p.stderr
    p = run_cli("fsck", srv.data_dir)
    assert p.returncode == 0 and "problems=0" in p.stdout, p.stdout + p.stderr
    # 1,000 appends, 1,000 needles written; the blob and its snapshot name fewer than 256 each
    # (what is not coalesced yet: the snapshot's tail and the blob's) plus the coalesced ones.
    needles = int(re.search(r"needles=(\d+)", p.stdout).group(1))
    assert needles < 2 * 256 + 8, p.stdout
    srv.start()
    try:
        cc = srv.client().get_container_client("coalesce")
        assert cc.get_blob_client("log").download_blob().readall() == want
        assert cc.get_blob_client("log", snapshot=snap).download_blob().readall() == snap_want
    finally:
        assert srv.stop() == 0, srv.log_tail()
    assert not srv.sanitizer_reports(), srv.sanitizer_reports()


def test_append_block_from_url(container):
    src = container.get_blob_client("src")
    src.upload_blob(b"0123456789abcdef")
    dst = container.get_blob_client("dst")
    dst.create_append_blob()
    r = dst.append_block_from_url(src.url, source_offset=2, source_length=5)
    assert int(r["blob_append_offset"]) == 0 and r["blob_committed_block_count"] == 1
    dst.append_block_from_url(src.url)
    assert dst.download_blob().readall() == b"23456" + b"0123456789abcdef"
    expect_error(dst.append_block_from_url, 412, "AppendPositionConditionNotMet", src.url,
                 appendpos_condition=0)
    expect_error(container.get_blob_client("src").append_block_from_url, 409, "InvalidBlobType",
                 src.url)


def test_snapshot_and_copy_of_append_blob(container, raw):
    cname = container.container_name
    bc = container.get_blob_client("base")
    bc.create_append_blob()
    bc.append_block(b"first;")
    snap = bc.create_snapshot()
    bc.append_block(b"second;")
    snap_client = container.get_blob_client("base", snapshot=snap["snapshot"])
    assert snap_client.download_blob().readall() == b"first;"
    assert bc.download_blob().readall() == b"first;second;"
    # A copy within the server is an append blob sharing the data, open for appends...
    cp = container.get_blob_client("copy")
    assert cp.start_copy_from_url(bc.url)["copy_status"] == "success"
    assert cp.get_blob_properties().blob_type == BlobType.APPENDBLOB
    cp.append_block(b"third;")
    assert cp.download_blob().readall() == b"first;second;third;"
    assert bc.download_blob().readall() == b"first;second;"
    # ...unless the copy seals it.
    r = raw.request("PUT", f"/{cname}/sealed-copy",
                    headers={"x-ms-copy-source": bc.url, "x-ms-seal-blob": "true"})
    assert r.status == 202, r
    sc = container.get_blob_client("sealed-copy")
    assert sc.get_blob_properties().is_append_blob_sealed
    expect_error(sc.append_block, 409, "BlobIsSealed", b"x")


def test_versioning_keeps_one_version_per_create(tmp_path):
    """Append Block and Seal change the current version in place; Create makes a version."""
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log",
                       args=["--versioning", "all"]).start()
    try:
        cc = srv.client().create_container("versioned")
        bc = cc.get_blob_client("log")
        v1 = bc.create_append_blob()["version_id"]
        assert v1
        for i in range(3):
            bc.append_block(b"x")
        bc.seal_append_blob()
        assert bc.get_blob_properties().version_id == v1
        v2 = bc.create_append_blob()["version_id"]
        assert v2 and v2 != v1
        versions = [b for b in cc.list_blobs(include=["versions"]) if b.name == "log"]
        assert sorted(b.version_id for b in versions) == sorted([v1, v2])
        assert bc.download_blob(version_id=v1).readall() == b"xxx"
        assert bc.get_blob_properties(version_id=v1).is_append_blob_sealed
    finally:
        assert srv.stop() == 0, srv.log_tail()
    assert not srv.sanitizer_reports(), srv.sanitizer_reports()


@pytest.mark.local_files
def test_appends_survive_restart_and_kill9_and_fsck_is_clean(fresh_server):
    srv = fresh_server
    cc = srv.client().create_container(unique_name("dur"))
    bc = cc.get_blob_client("journal")
    bc.create_append_blob()
    want = b""
    for i in range(20):
        data = os.urandom(1000 + i * 997)
        bc.append_block(data)
        want += data
    bc.seal_append_blob()
    assert srv.restart() == 0
    bc = srv.client().get_container_client(cc.container_name).get_blob_client("journal")
    assert bc.download_blob().readall() == want
    more = os.urandom(5000)
    bc2 = srv.client().get_container_client(cc.container_name).get_blob_client("journal2")
    bc2.create_append_blob()
    bc2.append_block(more)
    srv.crash_restart()
    client = srv.client().get_container_client(cc.container_name)
    assert client.get_blob_client("journal").download_blob().readall() == want
    assert client.get_blob_client("journal").get_blob_properties().is_append_blob_sealed
    assert client.get_blob_client("journal2").download_blob().readall() == more
    assert srv.stop() == 0
    p = run_cli("fsck", srv.data_dir)
    assert p.returncode == 0 and "problems=0" in p.stdout, p.stdout + p.stderr
