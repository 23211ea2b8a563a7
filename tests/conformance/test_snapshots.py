"""Snapshots (protocol doc §2.12, §5.5): Snapshot Blob, reading a snapshot, frozen content and
metadata, listing with include=snapshots, Delete with x-ms-delete-snapshots include|only and
SnapshotsPresent, read-only snapshots, and the bytes a snapshot shares with its base surviving
overwrites, deletes, restarts, `cobalt compact` and `cobalt fsck`."""
import datetime
import os
import re
import uuid
import xml.etree.ElementTree as ET

import pytest
from azure.storage.blob import BlobBlock

from cobalt_testlib import CobaltServer, assert_error_response, run_cli, expect_error

SNAP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")
MiB = 1 << 20



def fsck(data_dir):
    r = run_cli("fsck", str(data_dir))
    m = re.search(r"problems=(\d+)", r.stdout)
    assert r.returncode == 0 and m and int(m.group(1)) == 0, r.stdout + r.stderr
    return r.stdout


def compact(data_dir):
    r = run_cli("compact", "--threshold", "0", str(data_dir))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def list_xml(raw, container, include):
    r = raw.request("GET", f"/{container}", query={"restype": "container", "comp": "list", "include": include})
    assert r.status == 200, r
    return ET.fromstring(r.body)


def snap(raw, c, n, headers=None):
    r = raw.request("PUT", f"/{c}/{n}", query={"comp": "snapshot"}, headers=headers)
    assert r.status == 201, r
    return r


def test_snapshot_headers_and_frozen_content(raw, container):
    c = container.container_name
    put = raw.put_blob(c, "s.txt", b"version one", headers={"x-ms-meta-color": "red",
                                                            "x-ms-blob-content-type": "text/plain"})
    r = snap(raw, c, "s.txt")
    sid = r.header("x-ms-snapshot")
    assert SNAP_RE.match(sid), sid
    assert r.header("ETag") == put.header("ETag"), "the base is not modified"
    assert r.header("Last-Modified") == put.header("Last-Modified")
    # The base changes; the snapshot does not.
    raw.put_blob(c, "s.txt", b"version two, longer", headers={"x-ms-meta-color": "blue"})
    raw.request("PUT", f"/{c}/s.txt", query={"comp": "metadata"}, headers={"x-ms-meta-color": "green"})
    s = raw.request("GET", f"/{c}/s.txt", query={"snapshot": sid})
    assert s.status == 200 and s.body == b"version one"
    assert s.header("x-ms-meta-color") == "red"
    assert s.header("Content-Type") == "text/plain"
    assert s.header("ETag") == put.header("ETag")
    assert raw.get_blob(c, "s.txt").body == b"version two, longer"
    assert raw.head_blob(c, "s.txt").header("x-ms-meta-color") == "green"
    # SDK view
    sc = container.get_blob_client("s.txt", snapshot=sid)
    assert sc.download_blob().readall() == b"version one"
    p = sc.get_blob_properties()
    assert p.snapshot == sid and p.metadata == {"color": "red"} and p.size == 11
    # Ranged read of a snapshot
    r = raw.request("GET", f"/{c}/s.txt", query={"snapshot": sid}, headers={"x-ms-range": "bytes=8-10"})
    assert r.status == 206 and r.body == b"one"


def test_snapshot_with_metadata_and_sdk(container):
    bc = container.upload_blob("m.txt", b"data", metadata={"a": "1"})
    s1 = bc.create_snapshot(metadata={"b": "2"})
    s2 = bc.create_snapshot()
    assert s1["snapshot"] != s2["snapshot"]
    assert container.get_blob_client("m.txt", snapshot=s1["snapshot"]).get_blob_properties().metadata == {"b": "2"}
    assert container.get_blob_client("m.txt", snapshot=s2["snapshot"]).get_blob_properties().metadata == {"a": "1"}
    assert bc.get_blob_properties().metadata == {"a": "1"}


def test_rapid_snapshots_are_unique_and_listed_in_order(raw, container):
    c = container.container_name
    raw.put_blob(c, "a", b"a0")
    raw.put_blob(c, "b", b"b0")
    ids = []
    for i in range(10):
        ids.append(snap(raw, c, "a").header("x-ms-snapshot"))
        raw.put_blob(c, "a", f"a{i + 1}".encode())
    assert len(set(ids)) == 10 and ids == sorted(ids)
    root = list_xml(raw, c, "snapshots")
    entries = [(b.findtext("Name"), b.findtext("Snapshot")) for b in root.iter("Blob")]
    # The doc fixes the snapshots' order (oldest → newest) and that they are listed together with
    # their base; where the base goes within the group it leaves open.
    assert sorted(entries[:11], key=lambda e: e[1] or "") == [("a", None)] + [("a", s) for s in ids]
    assert [e for e in entries if e[1]] == [("a", s) for s in ids], entries
    assert entries[11:] == [("b", None)], entries
    # Without include=snapshots only the base blobs are listed.
    assert [b.findtext("Name") for b in list_xml(raw, c, "metadata").iter("Blob")] == ["a", "b"]
    # Every snapshot reads its own content.
    for i, s in enumerate(ids):
        assert raw.request("GET", f"/{c}/a", query={"snapshot": s}).body == f"a{i}".encode()
    sdk = [(b.name, b.snapshot) for b in container.list_blobs(include=["snapshots"])]
    assert sdk == entries


def test_delete_rules(raw, container):
    c = container.container_name
    raw.put_blob(c, "d", b"base")
    s1 = snap(raw, c, "d").header("x-ms-snapshot")
    s2 = snap(raw, c, "d").header("x-ms-snapshot")
    assert_error_response(raw.request("DELETE", f"/{c}/d"), 409, "SnapshotsPresent")
    assert raw.get_blob(c, "d").body == b"base"
    # x-ms-delete-snapshots with ?snapshot= → 400
    r = raw.request("DELETE", f"/{c}/d", query={"snapshot": s1}, headers={"x-ms-delete-snapshots": "include"})
    assert r.status == 400, r
    assert_error_response(raw.request("DELETE", f"/{c}/d", headers={"x-ms-delete-snapshots": "bogus"}),
                          400, "InvalidHeaderValue")
    # Delete one snapshot.
    assert raw.request("DELETE", f"/{c}/d", query={"snapshot": s1}).status == 202
    assert_error_response(raw.request("GET", f"/{c}/d", query={"snapshot": s1}), 404, "BlobNotFound")
    assert raw.request("GET", f"/{c}/d", query={"snapshot": s2}).body == b"base"
    assert_error_response(raw.request("DELETE", f"/{c}/d", query={"snapshot": s1}), 404, "BlobNotFound")
    # only: the snapshots go, the base stays.
    assert raw.request("DELETE", f"/{c}/d", headers={"x-ms-delete-snapshots": "only"}).status == 202
    assert raw.get_blob(c, "d").body == b"base"
    assert raw.request("GET", f"/{c}/d", query={"snapshot": s2}).status == 404
    assert [b.findtext("Snapshot") for b in list_xml(raw, c, "snapshots").iter("Blob")] == [None]
    # With no snapshots left, a plain delete works.
    assert raw.request("DELETE", f"/{c}/d").status == 202
    assert raw.get_blob(c, "d").status == 404


def test_delete_include_and_sdk(container):
    bc = container.upload_blob("inc", b"x")
    s = bc.create_snapshot()["snapshot"]
    expect_error(bc.delete_blob, 409, "SnapshotsPresent")
    bc.delete_blob(delete_snapshots="include")
    assert not bc.exists()
    assert not container.get_blob_client("inc", snapshot=s).exists()
    assert list(container.list_blobs(include=["snapshots"])) == []


def test_snapshots_are_read_only_and_errors(raw, container):
    c = container.container_name
    raw.put_blob(c, "ro", b"ro")
    sid = snap(raw, c, "ro").header("x-ms-snapshot")
    for method, q, h, body in [
        ("PUT", {"comp": "metadata"}, {"x-ms-meta-a": "b"}, None),
        ("PUT", {"comp": "properties"}, {"x-ms-blob-content-type": "x/y"}, None),
        ("PUT", {"comp": "snapshot"}, {}, None),
        ("PUT", {}, {"x-ms-blob-type": "BlockBlob"}, b"over"),
    ]:
        r = raw.request(method, f"/{c}/ro", query={**q, "snapshot": sid}, headers=h, body=body)
        assert r.status == 400 and r.error_code in ("InvalidQueryParameterValue", "InvalidOperation"), (q, r)
    s = raw.request("GET", f"/{c}/ro", query={"snapshot": sid})
    assert s.body == b"ro" and s.header("x-ms-meta-a") is None
    assert raw.get_blob(c, "ro").body == b"ro"
    assert_error_response(raw.request("GET", f"/{c}/ro", query={"snapshot": "2001-01-01T00:00:00.0000000Z"}),
                          404, "BlobNotFound")
    r = raw.request("GET", f"/{c}/ro", query={"snapshot": "not-a-time"})
    assert_error_response(r, 400, "InvalidQueryParameterValue")
    assert_error_response(raw.request("PUT", f"/{c}/missing", query={"comp": "snapshot"}), 404, "BlobNotFound")


def test_overwrite_by_block_list_keeps_snapshots(container):
    bc = container.get_blob_client("bl")
    bc.stage_block("MDE=", b"first-")
    bc.stage_block("MDI=", b"block")
    bc.commit_block_list([BlobBlock("MDE="), BlobBlock("MDI=")])
    s = bc.create_snapshot()["snapshot"]
    bc.stage_block("MDM=", b"replaced")
    bc.commit_block_list([BlobBlock("MDM=")])
    sc = container.get_blob_client("bl", snapshot=s)
    assert sc.download_blob().readall() == b"first-block"
    assert bc.download_blob().readall() == b"replaced"
    assert [b.id for b in bc.get_block_list("committed")[0]] == ["MDM="]


def test_get_block_list_of_a_snapshot(raw, container):
    bc = container.get_blob_client("bl")
    bc.stage_block("MDE=", b"first-")
    bc.stage_block("MDI=", b"block")
    bc.commit_block_list([BlobBlock("MDE="), BlobBlock("MDI=")])
    s = bc.create_snapshot()["snapshot"]
    bc.stage_block("MDM=", b"replaced")
    bc.commit_block_list([BlobBlock("MDM=")])
    c = container.container_name
    r = raw.request("GET", f"/{c}/bl", query={"comp": "blocklist", "blocklisttype": "committed",
                                             "snapshot": "2001-01-01T00:00:00.0000000Z"})
    assert r.status == 404 and r.error_code == "BlobNotFound", r
    sc = container.get_blob_client("bl", snapshot=s)
    assert [b.id for b in sc.get_block_list("committed")[0]] == ["MDE=", "MDI="]


def test_snapshot_conditions_and_lease(raw, container):
    c = container.container_name
    r = raw.put_blob(c, "cond", b"c")
    assert_error_response(raw.request("PUT", f"/{c}/cond", query={"comp": "snapshot"},
                                      headers={"If-Match": '"0x1"'}), 412, "ConditionNotMet")
    assert [b.findtext("Snapshot") for b in list_xml(raw, c, "snapshots").iter("Blob")] == [None]
    snap(raw, c, "cond", headers={"If-Match": r.header("ETag")})
    assert len(list(list_xml(raw, c, "snapshots").iter("Blob"))) == 2


def test_snapshot_conditions_are_evaluated_as_a_write(container):
    """Snapshot Blob does not modify its blob, but it is a PUT: If-None-Match and If-Modified-Since
    fail with 412 ConditionNotMet as on any write, never 304; the lease id stays optional."""
    from azure.core import MatchConditions
    bc = container.get_blob_client("w")
    etag = bc.upload_blob(b"w")["etag"]
    expect_error(bc.create_snapshot, 412, "ConditionNotMet", etag=etag,
                 match_condition=MatchConditions.IfModified)
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    expect_error(bc.create_snapshot, 412, "ConditionNotMet", if_modified_since=future)
    assert [b.snapshot for b in container.list_blobs(include="snapshots")] == [None]
    assert bc.create_snapshot(etag='"0x1"', match_condition=MatchConditions.IfModified)["snapshot"]
    lease = bc.acquire_lease()
    assert bc.create_snapshot()["snapshot"]
    assert bc.create_snapshot(lease=lease.id.upper())["snapshot"]
    expect_error(bc.create_snapshot, 412, "LeaseIdMismatchWithBlobOperation", lease=str(uuid.uuid4()))
    assert len(list(container.list_blobs(include="snapshots"))) == 4  # the blob and 3 snapshots


# ---- data sharing ------------------------------------------------------------------------------

@pytest.mark.local_files
def test_snapshot_shares_bytes_and_survives_everything(tmp_path):
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log",
                       args=["--volume-size", str(MiB), "--compact-threshold", "0"]).start()
    try:
        cc = srv.client().create_container("snaps")
        v1, v2, v3 = os.urandom(MiB + 7), os.urandom(MiB // 2 + 3), os.urandom(300_000)
        bc = cc.get_blob_client("big")
        bc.upload_blob(v1)
        vol = sum(f.stat().st_size for f in (tmp_path / "data" / "volumes").iterdir())
        s1 = bc.create_snapshot()["snapshot"]
        s1b = bc.create_snapshot()["snapshot"]
        assert sum(f.stat().st_size for f in (tmp_path / "data" / "volumes").iterdir()) == vol, \
            "a snapshot copied bytes"
        bc.upload_blob(v2, overwrite=True)                 # base overwritten
        s2 = bc.create_snapshot()["snapshot"]
        bc.upload_blob(v3, overwrite=True)
        for i in range(3):                                 # seal volumes, make dead space
            f = cc.get_blob_client(f"filler{i}")
            f.upload_blob(os.urandom(MiB + 1))
            f.delete_blob()
        # Delete one of the two snapshots sharing v1, then the base with only its snapshot s2 kept? No:
        # delete_snapshots=only is all-or-nothing, so delete s1b alone.
        cc.get_blob_client("big", snapshot=s1b).delete_blob()

        def check(cc):
            assert cc.get_blob_client("big", snapshot=s1).download_blob().readall() == v1
            assert cc.get_blob_client("big", snapshot=s2).download_blob().readall() == v2
            assert cc.get_blob_client("big").download_blob().readall() == v3
            assert not cc.get_blob_client("big", snapshot=s1b).exists()
        check(cc)
        assert srv.restart() == 0
        check(srv.client().get_container_client("snaps"))
        assert srv.stop() == 0
        fsck(srv.data_dir)
        compact(srv.data_dir)
        fsck(srv.data_dir)
        srv.start()
        cc = srv.client().get_container_client("snaps")
        check(cc)
        # Now remove the base's current content by deleting only the snapshots, and then all.
        cc.get_blob_client("big").delete_blob(delete_snapshots="only")
        assert cc.get_blob_client("big").download_blob().readall() == v3
        assert not cc.get_blob_client("big", snapshot=s1).exists()
        assert srv.stop() == 0
        compact(srv.data_dir)
        fsck(srv.data_dir)
        srv.start()
        assert srv.client().get_container_client("snaps").get_blob_client("big").download_blob().readall() == v3
    finally:
        srv.stop()
    fsck(srv.data_dir)
