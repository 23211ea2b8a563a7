"""Soft delete (protocol doc §2.3 Delete/Undelete, §2.12, §2.2 Restore, §4.1, §4.2): blob soft
delete switched on by DeleteRetentionPolicy, include=deleted listings, Undelete Blob (with its
snapshots), overwrite of a soft-deleted blob, permanent delete, container soft delete
(`--container-soft-delete-days`) with include=deleted and Restore Container, and the purge once
retention ends (COBALT_DAY_SECONDS shortens a retention day, and a test clock moves past it), with
fsck clean afterwards."""
import os
import re
import xml.etree.ElementTree as ET

import pytest

from cobalt_testlib import CobaltServer, assert_error_response, run_cli, unique_name


def set_retention(raw, days, allow_permanent=None, enabled=True):
    inner = f"<Enabled>{'true' if enabled else 'false'}</Enabled>"
    if enabled:
        inner += f"<Days>{days}</Days>"
    if allow_permanent is not None:
        inner += f"<AllowPermanentDelete>{'true' if allow_permanent else 'false'}</AllowPermanentDelete>"
    body = (f'<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties>'
            f"<DeleteRetentionPolicy>{inner}</DeleteRetentionPolicy></StorageServiceProperties>").encode()
    r = raw.request("PUT", "/", query={"restype": "service", "comp": "properties"}, body=body)
    assert r.status == 202, r


def blobs(raw, c, include="deleted"):
    r = raw.request("GET", f"/{c}", query={"restype": "container", "comp": "list", "include": include})
    assert r.status == 200, r
    out = []
    for b in ET.fromstring(r.body).iter("Blob"):
        p = b.find("Properties")
        out.append({"name": b.findtext("Name"), "deleted": b.findtext("Deleted"),
                    "snapshot": b.findtext("Snapshot"), "deleted_time": p.findtext("DeletedTime"),
                    "remaining": p.findtext("RemainingRetentionDays"), "size": p.findtext("Content-Length")})
    return out


def undelete(raw, c, n):
    return raw.request("PUT", f"/{c}/{n}", query={"comp": "undelete"})



def fsck(data_dir):
    r = run_cli("fsck", str(data_dir))
    m = re.search(r"blobs=(\d+).*problems=(\d+)", r.stdout)
    assert r.returncode == 0 and m and int(m.group(2)) == 0, r.stdout + r.stderr
    return int(m.group(1))


@pytest.fixture(scope="module")
def sd(tmp_path_factory):
    """Blob soft delete on (Days=2), container soft delete 2 days; a day lasts an hour."""
    d = tmp_path_factory.mktemp("cobalt-softdelete")
    srv = CobaltServer(d / "data", d / "server.log", env={"COBALT_DAY_SECONDS": "3600"},
                       args=["--container-soft-delete-days", "2"]).start()
    set_retention(srv.raw(), 2)
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture
def sraw(sd):
    return sd.raw()


@pytest.fixture
def sc(sd):
    return sd.client().create_container(unique_name("sd"))


# ---- blobs ----------------------------------------------------------------------------------------

def test_delete_then_undelete(sraw, sc):
    c = sc.container_name
    sraw.put_blob(c, "doc", b"precious", headers={"x-ms-meta-owner": "me"})
    sraw.put_blob(c, "other", b"o")
    r = sraw.request("DELETE", f"/{c}/doc")
    assert r.status == 202 and r.header("x-ms-delete-type-permanent") == "false", r
    assert_error_response(sraw.get_blob(c, "doc"), 404, "BlobNotFound")
    assert sraw.head_blob(c, "doc").status == 404
    assert [b["name"] for b in blobs(sraw, c, "metadata")] == ["other"]
    listed = blobs(sraw, c)
    assert [(b["name"], b["deleted"]) for b in listed] == [("doc", "true"), ("other", None)]
    assert listed[0]["deleted_time"] and listed[0]["remaining"] == "2"
    assert listed[0]["size"] == "8"
    # Deleting it again: it is gone as far as Delete is concerned.
    assert_error_response(sraw.request("DELETE", f"/{c}/doc"), 404, "BlobNotFound")
    r = undelete(sraw, c, "doc")
    assert r.status == 200, r
    g = sraw.get_blob(c, "doc")
    assert g.body == b"precious" and g.header("x-ms-meta-owner") == "me"
    assert [(b["name"], b["deleted"]) for b in blobs(sraw, c)] == [("doc", None), ("other", None)]
    # Undelete of a live blob is a no-op; of a blob that never existed 404.
    assert undelete(sraw, c, "doc").status == 200
    assert sraw.get_blob(c, "doc").body == b"precious"
    assert_error_response(undelete(sraw, c, "never"), 404, "BlobNotFound")


def test_sdk_soft_delete_and_undelete(sc):
    bc = sc.upload_blob("sdk", b"sdk content")
    bc.delete_blob()
    assert not bc.exists()
    deleted = [b for b in sc.list_blobs(include=["deleted"])]
    assert [(b.name, b.deleted) for b in deleted] == [("sdk", True)]
    assert deleted[0].deleted_time is not None and deleted[0].remaining_retention_days == 2
    bc.undelete_blob()
    assert bc.download_blob().readall() == b"sdk content"
    assert [b.deleted for b in sc.list_blobs(include=["deleted"])] in ([None], [False])


def test_snapshots_soft_deleted_with_their_blob(sraw, sc):
    c = sc.container_name
    sraw.put_blob(c, "s", b"v1")
    s1 = sraw.request("PUT", f"/{c}/s", query={"comp": "snapshot"}).header("x-ms-snapshot")
    sraw.put_blob(c, "s", b"v2")
    assert sraw.request("DELETE", f"/{c}/s", headers={"x-ms-delete-snapshots": "include"}).status == 202
    listed = blobs(sraw, c, "deleted,snapshots")
    assert sorted((b["snapshot"] or "", b["deleted"]) for b in listed) == [("", "true"), (s1, "true")]
    assert sraw.request("GET", f"/{c}/s", query={"snapshot": s1}).status == 404
    assert blobs(sraw, c, "snapshots") == []
    assert undelete(sraw, c, "s").status == 200
    assert sraw.get_blob(c, "s").body == b"v2"
    assert sraw.request("GET", f"/{c}/s", query={"snapshot": s1}).body == b"v1"
    # One snapshot soft-deleted alone, restored by Undelete of the blob.
    assert sraw.request("DELETE", f"/{c}/s", query={"snapshot": s1}).status == 202
    assert sraw.request("GET", f"/{c}/s", query={"snapshot": s1}).status == 404
    assert [b["deleted"] for b in blobs(sraw, c, "deleted,snapshots") if b["snapshot"]] == ["true"]
    # delete_snapshots=only soft-deletes the rest; the base stays.
    assert undelete(sraw, c, "s").status == 200
    assert sraw.request("GET", f"/{c}/s", query={"snapshot": s1}).body == b"v1"
    assert sraw.request("DELETE", f"/{c}/s", headers={"x-ms-delete-snapshots": "only"}).status == 202
    assert sraw.get_blob(c, "s").body == b"v2"
    assert sraw.request("GET", f"/{c}/s", query={"snapshot": s1}).status == 404
    assert undelete(sraw, c, "s").status == 200
    assert sraw.request("GET", f"/{c}/s", query={"snapshot": s1}).body == b"v1"


def test_overwrite_of_a_soft_deleted_blob(sraw, sc):
    c = sc.container_name
    sraw.put_blob(c, "o", b"old content")
    assert sraw.request("DELETE", f"/{c}/o").status == 202
    assert sraw.put_blob(c, "o", b"new content").status == 201
    assert sraw.get_blob(c, "o").body == b"new content"
    # The deleted blob lives on as a soft-deleted snapshot of the new one.
    listed = blobs(sraw, c, "deleted,snapshots")
    dels = [b for b in listed if b["deleted"] == "true"]
    assert len(dels) == 1 and dels[0]["snapshot"] and dels[0]["size"] == "11", listed
    assert [b for b in listed if not b["snapshot"]][0]["deleted"] is None
    assert undelete(sraw, c, "o").status == 200
    assert sraw.get_blob(c, "o").body == b"new content"
    assert sraw.request("GET", f"/{c}/o", query={"snapshot": dels[0]["snapshot"]}).body == b"old content"


def test_copy_over_a_soft_deleted_blob_keeps_it(sraw, sc, sd):
    c = sc.container_name
    sraw.put_blob(c, "src", b"source bytes")
    sraw.put_blob(c, "dst", b"deleted bytes")
    assert sraw.request("DELETE", f"/{c}/dst").status == 202
    r = sraw.request("PUT", f"/{c}/dst", headers={"x-ms-copy-source": f"{sd.endpoint}/{c}/src"})
    assert r.status == 202, r
    assert sraw.get_blob(c, "dst").body == b"source bytes"
    dels = [b for b in blobs(sraw, c, "deleted,snapshots") if b["name"] == "dst" and b["deleted"] == "true"]
    assert len(dels) == 1 and dels[0]["snapshot"]
    assert undelete(sraw, c, "dst").status == 200
    assert sraw.request("GET", f"/{c}/dst", query={"snapshot": dels[0]["snapshot"]}).body == b"deleted bytes"


def test_block_list_of_soft_deleted_blob_is_404(sraw, sc):
    c = sc.container_name
    sraw.put_blob(c, "bl", b"blocks")
    assert sraw.request("DELETE", f"/{c}/bl").status == 202
    r = sraw.request("GET", f"/{c}/bl", query={"comp": "blocklist", "blocklisttype": "all"})
    assert_error_response(r, 404, "BlobNotFound")


def test_permanent_delete(sraw, sc):
    c = sc.container_name
    sraw.put_blob(c, "p", b"p1")
    sid = sraw.request("PUT", f"/{c}/p", query={"comp": "snapshot"}).header("x-ms-snapshot")
    # A permanent delete of the base blob is never allowed.
    r = sraw.request("DELETE", f"/{c}/p", query={"deletetype": "permanent"},
                     headers={"x-ms-delete-snapshots": "include"})
    assert r.status in (400, 409), r
    assert sraw.get_blob(c, "p").body == b"p1"
    assert sraw.request("DELETE", f"/{c}/p", query={"snapshot": sid}).status == 202
    set_retention(sraw, 2, allow_permanent=True)
    try:
        r = sraw.request("DELETE", f"/{c}/p", query={"snapshot": sid, "deletetype": "permanent"})
        assert r.status == 202 and r.header("x-ms-delete-type-permanent") == "true", r
        assert undelete(sraw, c, "p").status == 200
        assert sraw.request("GET", f"/{c}/p", query={"snapshot": sid}).status == 404
        assert [b["snapshot"] for b in blobs(sraw, c, "deleted,snapshots")] == [None]
        assert sraw.get_blob(c, "p").body == b"p1"
        r = sraw.request("DELETE", f"/{c}/p", query={"deletetype": "bogus"})
        assert_error_response(r, 400, "InvalidQueryParameterValue")
    finally:
        set_retention(sraw, 2, allow_permanent=False)


def test_permanent_delete_not_allowed_is_409(sraw, sc):
    c = sc.container_name
    sraw.put_blob(c, "q", b"q")
    sid = sraw.request("PUT", f"/{c}/q", query={"comp": "snapshot"}).header("x-ms-snapshot")
    r = sraw.request("DELETE", f"/{c}/q", query={"snapshot": sid, "deletetype": "permanent"})
    assert sraw.request("GET", f"/{c}/q", query={"snapshot": sid}).body == b"q"
    assert r.status == 409, r


def test_retention_off_deletes_for_good(sraw, sd):
    cc = sd.client().create_container(unique_name("sdoff"))
    c = cc.container_name
    sraw.put_blob(c, "gone", b"x")
    set_retention(sraw, 0, enabled=False)
    try:
        r = sraw.request("DELETE", f"/{c}/gone")
        assert r.status == 202 and r.header("x-ms-delete-type-permanent") == "true"
        assert blobs(sraw, c) == []
        assert_error_response(undelete(sraw, c, "gone"), 404, "BlobNotFound")
    finally:
        set_retention(sraw, 2)


# ---- containers ------------------------------------------------------------------------------------

def containers(raw, prefix, include="deleted"):
    r = raw.request("GET", "/", query={"comp": "list", "prefix": prefix, "include": include})
    assert r.status == 200, r
    out = []
    for c in ET.fromstring(r.body).iter("Container"):
        p = c.find("Properties")
        out.append({"name": c.findtext("Name"), "deleted": c.findtext("Deleted"), "version": c.findtext("Version"),
                    "deleted_time": p.findtext("DeletedTime"), "remaining": p.findtext("RemainingRetentionDays")})
    return out


def restore(raw, name, version, target=None):
    return raw.request("PUT", f"/{target or name}", query={"restype": "container", "comp": "undelete"},
                       headers={"x-ms-deleted-container-name": name, "x-ms-deleted-container-version": version})


def test_container_soft_delete_and_restore(sraw, sd):
    svc = sd.client()
    name = unique_name("cr")
    cc = svc.create_container(name, metadata={"team": "x"})
    cc.upload_blob("a", b"alpha")
    cc.upload_blob("b", b"beta")
    snap = cc.get_blob_client("a").create_snapshot()["snapshot"]
    cc.delete_container()
    assert_error_response(sraw.get_blob(name, "a"), 404, "ContainerNotFound")
    assert containers(sraw, name, "metadata") == []
    listed = containers(sraw, name)
    assert len(listed) == 1 and listed[0]["deleted"] == "true" and listed[0]["version"], listed
    assert listed[0]["deleted_time"] and listed[0]["remaining"] == "2"
    sdk = [c for c in svc.list_containers(name_starts_with=name, include_deleted=True)]
    assert len(sdk) == 1 and sdk[0].deleted and sdk[0].version == listed[0]["version"]
    # Bad restores
    assert_error_response(restore(sraw, name, "0123456789ABCDEF"), 404, "ContainerNotFound")
    r = sraw.request("PUT", f"/{name}", query={"restype": "container", "comp": "undelete"},
                     headers={"x-ms-deleted-container-name": name})
    assert_error_response(r, 400, "MissingRequiredHeader")
    # SDK restore
    restored = svc.undelete_container(name, listed[0]["version"])
    assert restored.get_container_properties().metadata == {"team": "x"}
    assert restored.get_blob_client("a").download_blob().readall() == b"alpha"
    assert restored.get_blob_client("b").download_blob().readall() == b"beta"
    assert restored.get_blob_client("a", snapshot=snap).download_blob().readall() == b"alpha"
    assert containers(sraw, name) == [{"name": name, "deleted": None, "version": None,
                                       "deleted_time": None, "remaining": None}]
    # The same version cannot be restored twice.
    assert restore(sraw, name, listed[0]["version"]).status in (404, 409)
    restored.delete_container()


def test_restore_when_name_taken_and_two_deleted_generations(sraw, sd):
    svc = sd.client()
    name = unique_name("cg")
    svc.create_container(name).upload_blob("gen", b"first")
    svc.delete_container(name)
    svc.create_container(name).upload_blob("gen", b"second")
    v_first = containers(sraw, name)
    v_first = [c for c in v_first if c["deleted"] == "true"][0]["version"]
    r = restore(sraw, name, v_first)
    assert_error_response(r, 409, "ContainerAlreadyExists")
    assert sraw.get_blob(name, "gen").body == b"second"
    svc.delete_container(name)
    vs = sorted(c["version"] for c in containers(sraw, name) if c["deleted"] == "true")
    assert len(vs) == 2
    assert restore(sraw, name, v_first).status == 201
    assert sraw.get_blob(name, "gen").body == b"first"
    svc.delete_container(name)
    second = [v for v in vs if v != v_first][0]
    assert restore(sraw, name, second).status == 201
    assert sraw.get_blob(name, "gen").body == b"second"
    assert len([c for c in containers(sraw, name) if c["deleted"] == "true"]) == 1


# ---- purge after retention ------------------------------------------------------------------------

@pytest.mark.local_files
def test_purge_after_retention(tmp_path):
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", env={"COBALT_DAY_SECONDS": "2"},
                       args=["--container-soft-delete-days", "1"], test_clock=True).start()
    try:
        raw = srv.raw()
        set_retention(raw, 1)
        svc = srv.client()
        cc = svc.create_container("keep")
        big = os.urandom(600_000)
        cc.upload_blob("base", big)
        snap = cc.get_blob_client("base").create_snapshot()["snapshot"]
        cc.get_blob_client("base", snapshot=snap).delete_blob()       # soft: shares bytes with base
        cc.upload_blob("victim", b"to be purged")
        cc.get_blob_client("victim").delete_blob()
        cc.upload_blob("saved", b"undeleted in time")
        cc.get_blob_client("saved").delete_blob()
        assert undelete(raw, "keep", "saved").status == 200
        cc.upload_blob("reborn", b"old")
        cc.get_blob_client("reborn").delete_blob()
        cc.upload_blob("reborn", b"new")                                # old → deleted snapshot
        gone = svc.create_container("gone")
        gone.upload_blob("inside", b"inside")
        gone.delete_container()
        version = [c for c in containers(raw, "gone") if c["deleted"] == "true"][0]["version"]
        srv.advance_clock(2.5)                                        # retention (a 2 s day) ends
        assert [(b["name"], b["snapshot"], b["deleted"]) for b in blobs(raw, "keep", "deleted,snapshots")] == \
            [("base", None, None), ("reborn", None, None), ("saved", None, None)]
        assert containers(raw, "gone") == []
        assert_error_response(restore(raw, "gone", version), 404, "ContainerNotFound")
        # Reads, listings and Undelete ignore expired records at once; the background purge
        # removes them in its next pass (fsck runs read-only next to the live server to see it).
        assert_error_response(undelete(raw, "keep", "victim"), 404, "BlobNotFound")
        assert srv.run_background_now()
        assert fsck(srv.data_dir) == 3
        assert raw.get_blob("keep", "victim").status == 404
        assert raw.get_blob("keep", "base").body == big
        assert raw.get_blob("keep", "saved").body == b"undeleted in time"
        assert raw.get_blob("keep", "reborn").body == b"new"
        assert raw.request("GET", "/keep/base", query={"snapshot": snap}).status == 404
        assert svc.create_container("gone") is not None
        assert raw.get_blob("gone", "inside").status == 404
        assert srv.stop() == 0
        assert fsck(srv.data_dir) == 3
        r = run_cli("compact", "--threshold", "0", str(srv.data_dir))
        assert r.returncode == 0, r.stdout + r.stderr
        assert fsck(srv.data_dir) == 3
        srv.start()
        assert srv.raw().get_blob("keep", "base").body == big
        assert srv.raw().get_blob("keep", "saved").body == b"undeleted in time"
    finally:
        srv.stop()


def test_undelete_after_retention_is_not_a_false_success(tmp_path):
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", env={"COBALT_DAY_SECONDS": "2"},
                       test_clock=True).start()
    try:
        # The compactor's first purge pass runs ~5 s after start; this all happens before it.
        raw = srv.raw()
        set_retention(raw, 1)
        assert raw.request("PUT", "/late", query={"restype": "container"}).status == 201
        raw.put_blob("late", "b", b"too late")
        assert raw.request("DELETE", "/late/b").status == 202
        srv.advance_clock(2.3)
        r = undelete(raw, "late", "b")
        got = raw.get_blob("late", "b")
        assert r.status == 404 or got.body == b"too late", (r, got)
    finally:
        srv.stop()
