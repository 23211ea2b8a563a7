"""Access tiers (protocol doc §2.3 Set Blob Tier, §5.10): Set Blob Tier, the tier on upload, tier
properties and listing elements, Archive blocking content reads and writes until a rehydration
completes (`--rehydrate-delay 60` here, on a test clock the tests move forward), and tiers
across a restart."""
import pytest
from azure.storage.blob import StandardBlobTier

from cobalt_testlib import CobaltServer, assert_error_response, expect_error, unique_name

DELAY = 60   # seconds of the server's test clock


@pytest.fixture(scope="module")
def tsrv(tmp_path_factory):
    """A server of our own: rehydration completes DELAY seconds after Set Tier, on a test clock."""
    d = tmp_path_factory.mktemp("cobalt-tiers")
    srv = CobaltServer(d / "data", d / "server.log", test_clock=True,
                       args=["--rehydrate-delay", str(DELAY), "--versioning", "all"]).start()
    yield srv
    rc = srv.stop()
    assert not srv.sanitizer_reports(), srv.sanitizer_reports()
    assert rc == 0, srv.log_tail()


@pytest.fixture
def tc(tsrv):
    cc = tsrv.client().create_container(unique_name("tier"))
    yield cc
    cc.delete_container()


def _tier_req(raw, c, b, tier, **headers):
    h = {"x-ms-access-tier": tier}
    h.update(headers)
    return raw.request("PUT", f"/{c}/{b}", query={"comp": "tier"}, headers=h)


def test_default_and_set_tier(tc):
    bc = tc.get_blob_client("b")
    etag = bc.upload_blob(b"hello")["etag"]
    p = bc.get_blob_properties()
    assert p.blob_tier == "Hot" and p.blob_tier_inferred is True
    assert p.blob_tier_change_time is None and p.archive_status is None
    for tier in ("Cool", "Cold", "Hot", "Cool"):
        bc.set_standard_blob_tier(tier)
        p = bc.get_blob_properties()
        assert p.blob_tier == tier
        assert not p.blob_tier_inferred
        assert p.blob_tier_change_time is not None
    assert p.etag == etag, "Set Blob Tier must not change the ETag"
    assert bc.download_blob().readall() == b"hello"


def test_raw_status_codes(tsrv, tc):
    raw = tsrv.raw()
    c = tc.container_name
    tc.upload_blob("b", b"x")
    r = _tier_req(raw, c, "b", "Cool")
    assert r.status == 200, r
    assert r.header("x-ms-request-id")
    assert_error_response(_tier_req(raw, c, "b", "Bogus"), 400, "InvalidHeaderValue")
    assert_error_response(_tier_req(raw, c, "b", "P10"), 400, "InvalidBlobTier")
    assert_error_response(raw.request("PUT", f"/{c}/b", query={"comp": "tier"}), 400, "MissingRequiredHeader")
    assert_error_response(_tier_req(raw, c, "b", "Hot", **{"x-ms-rehydrate-priority": "Fast"}), 400,
                          "InvalidHeaderValue")
    assert_error_response(_tier_req(raw, c, "missing", "Hot"), 404, "BlobNotFound")
    # case-insensitive tier names
    assert _tier_req(raw, c, "b", "cold").status == 200
    assert tc.get_blob_client("b").get_blob_properties().blob_tier == "Cold"


def test_upload_with_tier(tsrv, tc):
    tc.upload_blob("single", b"abc", standard_blob_tier=StandardBlobTier.COOL)
    assert tc.get_blob_client("single").get_blob_properties().blob_tier == "Cool"
    # Put Block + Put Block List
    bc = tc.get_blob_client("blocks")
    bc.stage_block("YQ==", b"a" * 10)
    bc.commit_block_list(["YQ=="], standard_blob_tier=StandardBlobTier.COLD)
    p = bc.get_blob_properties()
    assert p.blob_tier == "Cold" and not p.blob_tier_inferred
    # Overwriting without a tier starts over as inferred Hot.
    tc.upload_blob("single", b"new", overwrite=True)
    p = tc.get_blob_client("single").get_blob_properties()
    assert p.blob_tier == "Hot" and p.blob_tier_inferred is True
    # An invalid tier on upload is refused and nothing is written.
    r = tsrv.raw().put_blob(tc.container_name, "bad", b"x", headers={"x-ms-access-tier": "Lukewarm"})
    assert_error_response(r, 400, "InvalidHeaderValue")
    assert not tc.get_blob_client("bad").exists()
    r = tsrv.raw().put_blob(tc.container_name, "raw-arch", b"x", headers={"x-ms-access-tier": "Archive"})
    assert r.status == 201, r
    assert tc.get_blob_client("raw-arch").get_blob_properties().blob_tier == "Archive"


def test_archive_blocks_content_until_rehydrated(tsrv, tc):
    raw = tsrv.raw()
    c = tc.container_name
    bc = tc.get_blob_client("arch")
    bc.upload_blob(b"archived bytes", metadata={"k": "v"})
    bc.set_standard_blob_tier("Archive")

    expect_error(lambda: bc.download_blob().readall(), 409, "BlobArchived")
    r = raw.get_blob(c, "arch")
    assert_error_response(r, 409, "BlobArchived")
    p = bc.get_blob_properties()                       # properties and metadata stay readable
    assert p.blob_tier == "Archive" and p.size == len(b"archived bytes")
    assert p.metadata == {"k": "v"}
    expect_error(lambda: bc.set_blob_metadata({"x": "y"}), 409, "BlobArchived")
    assert bc.get_blob_properties().metadata == {"k": "v"}
    assert tc.get_blob_client("arch").exists()

    # Archive -> Archive is a no-op 200; back to Cool starts a rehydration (202).
    assert _tier_req(raw, c, "arch", "Archive").status == 200
    r = _tier_req(raw, c, "arch", "Cool", **{"x-ms-rehydrate-priority": "Standard"})
    assert r.status == 202, r
    p = bc.get_blob_properties()
    assert p.blob_tier == "Archive"
    assert p.archive_status == "rehydrate-pending-to-cool"
    assert p.rehydrate_priority == "Standard"
    listed = [b for b in tc.list_blobs() if b.name == "arch"][0]
    assert listed.archive_status == "rehydrate-pending-to-cool"
    expect_error(lambda: bc.download_blob().readall(), 409, "BlobArchived")
    # While pending: Archive again or another target is refused; the same target (higher priority) is 202.
    assert_error_response(_tier_req(raw, c, "arch", "Archive"), 409, "BlobBeingRehydrated")
    assert_error_response(_tier_req(raw, c, "arch", "Hot"), 409, "BlobBeingRehydrated")
    r = _tier_req(raw, c, "arch", "Cool", **{"x-ms-rehydrate-priority": "High"})
    assert r.status == 202, r
    assert bc.get_blob_properties().rehydrate_priority == "High"

    tsrv.advance_clock(DELAY - 10)                   # not yet
    expect_error(lambda: bc.download_blob().readall(), 409, "BlobArchived")
    assert bc.get_blob_properties().archive_status == "rehydrate-pending-to-cool"
    tsrv.advance_clock(10.3)
    assert bc.download_blob().readall() == b"archived bytes"
    p = bc.get_blob_properties()
    assert p.blob_tier == "Cool" and p.archive_status is None and not p.blob_tier_inferred
    # The next Set Tier writes the finished rehydration back; an ordinary change is 200 again.
    assert _tier_req(raw, c, "arch", "Hot").status == 200
    assert bc.get_blob_properties().blob_tier == "Hot"


def test_archived_blob_can_be_deleted_and_overwritten(tc):
    tc.upload_blob("d", b"1")
    tc.get_blob_client("d").set_standard_blob_tier("Archive")
    tc.get_blob_client("d").delete_blob()
    assert not tc.get_blob_client("d").exists()
    tc.upload_blob("o", b"1")
    tc.get_blob_client("o").set_standard_blob_tier("Archive")
    tc.upload_blob("o", b"2", overwrite=True)
    assert tc.get_blob_client("o").download_blob().readall() == b"2"


def test_listing_shows_tiers(tc):
    tc.upload_blob("l-hot", b"1")
    tc.upload_blob("l-cool", b"1", standard_blob_tier=StandardBlobTier.COOL)
    tc.upload_blob("l-arch", b"1")
    tc.get_blob_client("l-arch").set_standard_blob_tier("Archive")
    got = {b.name: b for b in tc.list_blobs()}
    assert got["l-hot"].blob_tier == "Hot" and got["l-hot"].blob_tier_inferred is True
    assert got["l-cool"].blob_tier == "Cool" and not got["l-cool"].blob_tier_inferred
    assert got["l-cool"].blob_tier_change_time is not None
    assert got["l-arch"].blob_tier == "Archive" and got["l-arch"].archive_status is None


def test_tier_of_snapshots_and_versions(tsrv, tc):
    bc = tc.get_blob_client("sv")
    v1 = bc.upload_blob(b"one")["version_id"]
    snap = bc.create_snapshot()["snapshot"]
    v2 = bc.upload_blob(b"two", overwrite=True)["version_id"]
    assert v1 and v2 and v1 != v2
    sc = tc.get_blob_client("sv", snapshot=snap)
    sc.set_standard_blob_tier("Cool")
    assert sc.get_blob_properties().blob_tier == "Cool"
    bc.set_standard_blob_tier("Archive", version_id=v1)
    assert bc.get_blob_properties(version_id=v1).blob_tier == "Archive"
    expect_error(lambda: bc.download_blob(version_id=v1).readall(), 409, "BlobArchived")
    assert bc.get_blob_properties().blob_tier == "Hot"
    bc.set_standard_blob_tier("Cold", version_id=v2)   # the current version is the blob itself
    p = bc.get_blob_properties()
    assert p.blob_tier == "Cold" and bc.download_blob().readall() == b"two"
    assert_error_response(tsrv.raw().request("PUT", f"/{tc.container_name}/sv",
                                             query={"comp": "tier", "versionid": "2001-01-01T00:00:00.0000000Z"},
                                             headers={"x-ms-access-tier": "Hot"}), 404, "BlobNotFound")


def test_tier_needs_lease_id_when_leased(tsrv, tc):
    raw = tsrv.raw()
    bc = tc.get_blob_client("leased")
    bc.upload_blob(b"1")
    lease = bc.acquire_lease()
    assert_error_response(_tier_req(raw, tc.container_name, "leased", "Cool"), 412, "LeaseIdMissing")
    bc.set_standard_blob_tier("Cool", lease=lease)
    assert bc.get_blob_properties().blob_tier == "Cool"
    lease.release()


@pytest.mark.restart
def test_tiers_survive_restart(tmp_path):
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", args=["--rehydrate-delay", "600"]).start()
    try:
        cc = srv.client().create_container(unique_name("tr"))
        for n in ("cool", "arch", "pending"):
            cc.upload_blob(n, b"data")
        cc.get_blob_client("cool").set_standard_blob_tier("Cool")
        cc.get_blob_client("arch").set_standard_blob_tier("Archive")
        cc.get_blob_client("pending").set_standard_blob_tier("Archive")
        cc.get_blob_client("pending").set_standard_blob_tier("Hot", rehydrate_priority="High")
        assert srv.restart() == 0
        cc = srv.client().get_container_client(cc.container_name)
        assert cc.get_blob_client("cool").get_blob_properties().blob_tier == "Cool"
        assert cc.get_blob_client("arch").get_blob_properties().blob_tier == "Archive"
        p = cc.get_blob_client("pending").get_blob_properties()
        assert p.blob_tier == "Archive" and p.archive_status == "rehydrate-pending-to-hot"
        assert p.rehydrate_priority == "High"
        expect_error(lambda: cc.get_blob_client("arch").download_blob().readall(), 409, "BlobArchived")
    finally:
        srv.stop()
        assert not srv.sanitizer_reports(), srv.sanitizer_reports()
