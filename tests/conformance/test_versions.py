"""Versioning (`cobalt serve --versioning`; protocol doc §2.12, §5.5): every Put Blob / Put Block
List / Set Metadata / copy makes a new version id (x-ms-version-id), older versions stay readable,
listable (include=versions) and deletable by versionid, Delete Blob turns the current version
into a previous one, a version is promoted by copying it, and the versions keep sharing their
bytes across deletes, overwrites, restarts, `cobalt compact` and `cobalt fsck`."""
import os
import re
import xml.etree.ElementTree as ET

import pytest
from azure.storage.blob import BlobBlock

from cobalt_testlib import (ACCOUNT, CobaltServer, assert_error_response, run_cli, expect_error,
                            unique_name)

VID_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")
MiB = 1 << 20



def fsck(data_dir):
    r = run_cli("fsck", str(data_dir))
    m = re.search(r"problems=(\d+)", r.stdout)
    assert r.returncode == 0 and m and int(m.group(1)) == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def vsrv(tmp_path_factory):
    d = tmp_path_factory.mktemp("cobalt-versions")
    srv = CobaltServer(d / "data", d / "server.log", args=["--versioning", "all"]).start()
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture
def vraw(vsrv):
    return vsrv.raw()


@pytest.fixture
def vc(vsrv):
    name = unique_name("v")
    return vsrv.client().create_container(name)


def listing(raw, c, include="versions"):
    r = raw.request("GET", f"/{c}", query={"restype": "container", "comp": "list", "include": include})
    assert r.status == 200, r
    # Sorted by (name, version id): the doc does not say where the current version goes among
    # the others (Cobalt lists it first, Azure last).
    return sorted(((b.findtext("Name"), b.findtext("VersionId"), b.findtext("IsCurrentVersion"))
                   for b in ET.fromstring(r.body).iter("Blob")), key=lambda e: (e[0], e[1] or ""))


def vget(raw, c, n, vid):
    return raw.request("GET", f"/{c}/{n}", query={"versionid": vid})


def test_every_write_makes_a_version(vraw, vc):
    c = vc.container_name
    r1 = vraw.put_blob(c, "f", b"one")
    v1 = r1.header("x-ms-version-id")
    assert r1.status == 201 and VID_RE.match(v1 or ""), r1
    h = vraw.head_blob(c, "f")
    assert h.header("x-ms-version-id") == v1 and h.header("x-ms-is-current-version") == "true"
    v2 = vraw.put_blob(c, "f", b"two").header("x-ms-version-id")
    r = vraw.request("PUT", f"/{c}/f", query={"comp": "metadata"}, headers={"x-ms-meta-k": "v"})
    v3 = r.header("x-ms-version-id")
    assert r.status == 200 and v3, r
    assert len({v1, v2, v3}) == 3 and v1 < v2 < v3
    # Older versions keep their content and metadata.
    r = vget(vraw, c, "f", v1)
    assert r.status == 200 and r.body == b"one"
    assert r.header("x-ms-version-id") == v1 and r.header("x-ms-is-current-version") == "false"
    assert vget(vraw, c, "f", v2).body == b"two" and vget(vraw, c, "f", v2).header("x-ms-meta-k") is None
    cur = vget(vraw, c, "f", v3)
    assert cur.body == b"two" and cur.header("x-ms-meta-k") == "v"
    assert cur.header("x-ms-is-current-version") == "true"
    assert vraw.get_blob(c, "f").header("x-ms-version-id") == v3
    # Listing
    assert listing(vraw, c) == [("f", v1, None), ("f", v2, None), ("f", v3, "true")]
    assert [(n, cur) for n, v, cur in listing(vraw, c, "metadata")] in ([("f", "true")], [("f", None)])
    # SDK
    bc = vc.get_blob_client("f")
    assert bc.download_blob(version_id=v1).readall() == b"one"
    assert bc.get_blob_properties(version_id=v2).size == 3
    sdk = sorted((b.name, b.version_id, b.is_current_version) for b in vc.list_blobs(include=["versions"]))
    assert sdk == [("f", v1, None), ("f", v2, None), ("f", v3, True)] or \
        sdk == [("f", v1, False), ("f", v2, False), ("f", v3, True)], sdk


def test_block_list_and_set_properties(vraw, vc):
    bc = vc.get_blob_client("b")
    bc.stage_block("MDE=", b"block one")
    r = bc.commit_block_list([BlobBlock("MDE=")])
    v1 = r["version_id"]
    assert v1
    bc.set_http_headers()                               # properties: no new version
    props = bc.get_blob_properties()
    assert props.version_id == v1 and props.is_current_version
    bc.stage_block("MDI=", b"block two")
    v2 = bc.commit_block_list([BlobBlock("MDI=")])["version_id"]
    assert v2 != v1
    assert bc.download_blob(version_id=v1).readall() == b"block one"
    assert bc.download_blob().readall() == b"block two"


def test_delete_keeps_versions_and_promote_by_copy(vraw, vc):
    c = vc.container_name
    v1 = vraw.put_blob(c, "d", b"first").header("x-ms-version-id")
    v2 = vraw.put_blob(c, "d", b"second").header("x-ms-version-id")
    r = vraw.request("DELETE", f"/{c}/d")
    assert r.status == 202 and r.header("x-ms-delete-type-permanent") == "false", r
    assert_error_response(vraw.get_blob(c, "d"), 404, "BlobNotFound")
    assert listing(vraw, c, "metadata") == []
    assert listing(vraw, c) == [("d", v1, None), ("d", v2, None)]
    assert vget(vraw, c, "d", v1).body == b"first"
    assert vget(vraw, c, "d", v2).body == b"second"
    # Re-creating the base makes a new current version next to the old ones.
    v3 = vraw.put_blob(c, "d", b"third").header("x-ms-version-id")
    assert listing(vraw, c) == [("d", v1, None), ("d", v2, None), ("d", v3, "true")]
    assert vget(vraw, c, "d", v2).body == b"second"


def test_promote_version_by_copy(vraw, vc, vsrv):
    c = vc.container_name
    v1 = vraw.put_blob(c, "p", b"first").header("x-ms-version-id")
    v2 = vraw.put_blob(c, "p", b"second").header("x-ms-version-id")
    src = f"{vsrv.endpoint}/{c}/p?versionid={v1}"
    r = vraw.request("PUT", f"/{c}/p", headers={"x-ms-copy-source": src})
    assert r.status == 202 and r.header("x-ms-copy-status") == "success", r
    assert vraw.get_blob(c, "p").body == b"first"          # promoted
    assert vget(vraw, c, "p", v2).body == b"second", "the overwritten current version must be kept"
    v3 = r.header("x-ms-version-id")
    assert v3 and v3 not in (v1, v2)
    assert listing(vraw, c) == [("p", v1, None), ("p", v2, None), ("p", v3, "true")]


def test_delete_a_version(vraw, vc):
    c = vc.container_name
    v1 = vraw.put_blob(c, "x", b"1").header("x-ms-version-id")
    v2 = vraw.put_blob(c, "x", b"2").header("x-ms-version-id")
    assert vraw.request("DELETE", f"/{c}/x", query={"versionid": v1}).status == 202
    assert_error_response(vget(vraw, c, "x", v1), 404, "BlobNotFound")
    assert_error_response(vraw.request("DELETE", f"/{c}/x", query={"versionid": v1}), 404, "BlobNotFound")
    assert listing(vraw, c) == [("x", v2, "true")]
    assert vraw.get_blob(c, "x").body == b"2"
    # SDK delete by version id
    v3 = vraw.put_blob(c, "x", b"3").header("x-ms-version-id")
    vc.get_blob_client("x").delete_blob(version_id=v2)
    assert listing(vraw, c) == [("x", v3, "true")]
    # unknown / malformed version ids
    assert_error_response(vget(vraw, c, "x", "2001-01-01T00:00:00.0000000Z"), 404, "BlobNotFound")
    assert_error_response(vget(vraw, c, "x", "garbage"), 400, "InvalidQueryParameterValue")
    r = vraw.request("GET", f"/{c}/x", query={"versionid": v3, "snapshot": v3})
    assert_error_response(r, 400, "InvalidQueryParameterValue")


def test_snapshot_reports_version_and_versions_with_snapshots(vraw, vc):
    c = vc.container_name
    v1 = vraw.put_blob(c, "s", b"snap me").header("x-ms-version-id")
    r = vraw.request("PUT", f"/{c}/s", query={"comp": "snapshot"})
    assert r.status == 201 and r.header("x-ms-version-id") == v1, r
    sid = r.header("x-ms-snapshot")
    vraw.put_blob(c, "s", b"later")
    assert vraw.request("GET", f"/{c}/s", query={"snapshot": sid}).body == b"snap me"
    assert vget(vraw, c, "s", v1).body == b"snap me"
    names = [(n, v, cur) for n, v, cur in listing(vraw, c, "versions,snapshots")]
    assert len(names) == 3


def test_unversioned_server_emits_no_version_ids(raw, container):
    c = container.container_name
    r = raw.put_blob(c, "nv", b"x")
    assert r.header("x-ms-version-id") is None
    assert raw.head_blob(c, "nv").header("x-ms-version-id") is None
    r = raw.request("GET", f"/{c}", query={"restype": "container", "comp": "list", "include": "versions"})
    assert b"<VersionId>" not in r.body


def test_versioning_per_account(tmp_path):
    accounts = "acct1:" + "a2V5MQ==" + ";acct2:" + "a2V5Mg=="
    srv = CobaltServer(tmp_path / "data", tmp_path / "log", env={"COBALT_ACCOUNTS": accounts},
                       args=["--versioning", "acct1"]).start()
    try:
        from cobalt_testlib import RawClient
        raw = RawClient(srv)
        for acct, key, versioned in (("acct1", "a2V5MQ==", True), ("acct2", "a2V5Mg==", False)):
            assert raw.request("PUT", "/cone", query={"restype": "container"}, key=key, account=acct).status == 201
            r = raw.request("PUT", "/cone/b", headers={"x-ms-blob-type": "BlockBlob"}, body=b"1", key=key, account=acct)
            assert r.status == 201
            assert (r.header("x-ms-version-id") is not None) == versioned, (acct, r)
    finally:
        srv.stop()


# ---- data sharing ------------------------------------------------------------------------------

@pytest.mark.local_files
def test_versions_share_bytes_across_delete_restart_compact(tmp_path):
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log",
                       args=["--versioning", "all", "--volume-size", str(MiB),
                                   "--compact-threshold", "0"]).start()
    try:
        cc = srv.client().create_container("vers")
        contents = [os.urandom(MiB + 11), os.urandom(MiB // 3), os.urandom(200_001)]
        bc = cc.get_blob_client("big")
        vids = [bc.upload_blob(d, overwrite=True)["version_id"] for d in contents]
        vol = sum(f.stat().st_size for f in (tmp_path / "data" / "volumes").iterdir())
        md = bc.set_blob_metadata({"m": "1"})["version_id"]     # new version, same bytes
        assert sum(f.stat().st_size for f in (tmp_path / "data" / "volumes").iterdir()) == vol
        for i in range(3):
            f = cc.get_blob_client(f"filler{i}")
            f.upload_blob(os.urandom(MiB + 1))
            f.delete_blob()
        bc.delete_blob()                                       # base gone, versions remain
        cc.get_blob_client("big").delete_blob(version_id=vids[1])

        def check(cc):
            b = cc.get_blob_client("big")
            assert b.download_blob(version_id=vids[0]).readall() == contents[0]
            assert b.download_blob(version_id=vids[2]).readall() == contents[2]
            assert b.download_blob(version_id=md).readall() == contents[2]
            assert not b.exists()
            expect_error(lambda: b.download_blob(version_id=vids[1]).readall(), 404)
        check(cc)
        assert srv.restart() == 0
        check(srv.client().get_container_client("vers"))
        assert srv.stop() == 0
        fsck(srv.data_dir)
        r = run_cli("compact", "--threshold", "0", str(srv.data_dir))
        assert r.returncode == 0, r.stdout + r.stderr
        fsck(srv.data_dir)
        srv.start()
        cc = srv.client().get_container_client("vers")
        check(cc)
        # Overwrite (re-create) the base: old versions untouched.
        cc.get_blob_client("big").upload_blob(b"new base")
        check_new = cc.get_blob_client("big")
        assert check_new.download_blob().readall() == b"new base"
        assert check_new.download_blob(version_id=vids[0]).readall() == contents[0]
    finally:
        srv.stop()
    fsck(srv.data_dir)


def test_sas_delete_needs_d_for_the_blob_and_x_for_a_version(vsrv, vc):
    """Delete Blob admits 'd' or 'x' at the route; the blob itself needs 'd', a version 'x' (§3.8)."""
    import datetime
    from azure.storage.blob import BlobClient, BlobSasPermissions, generate_blob_sas
    from cobalt_testlib import KEY
    b = vc.get_blob_client("sas-del")
    v1 = b.upload_blob(b"one")["version_id"]
    b.upload_blob(b"two", overwrite=True)
    expiry = datetime.datetime.utcnow() + datetime.timedelta(hours=1)

    def client(perm):
        sas = generate_blob_sas(ACCOUNT, vc.container_name, "sas-del", account_key=KEY,
                                permission=perm, expiry=expiry)
        return BlobClient.from_blob_url(f"{b.url}?{sas}", retry_total=0)

    only_x = client(BlobSasPermissions(delete_previous_version=True))
    only_d = client(BlobSasPermissions(delete=True))
    expect_error(only_x.delete_blob, 403, "AuthorizationPermissionMismatch")
    assert b.download_blob().readall() == b"two"
    expect_error(only_d.delete_blob, 403, "AuthorizationPermissionMismatch", version_id=v1)
    assert b.download_blob(version_id=v1).readall() == b"one"
    only_x.delete_blob(version_id=v1)
    expect_error(b.download_blob, 404, "BlobNotFound", version_id=v1)
    only_d.delete_blob()
    assert not b.exists()
