"""Leases on blobs and containers (protocol doc §2.10 state machine, §5.3 enforcement): acquire
(fixed / infinite, proposed id), renew, change, release, break with and without a break period,
expiry by the clock, the lease id required (or refused) on every write and delete, and the SAS
letters each lease action needs (§3.8: break 'w' or 'd', the others 'w').  The tests of time run
on a server of their own whose clock they move forward (CobaltServer test_clock) instead of
sleeping through lease periods."""
import datetime
import uuid

import pytest
from azure.storage.blob import (AccountSasPermissions, BlobLeaseClient, BlobSasPermissions,
                                ContainerSasPermissions, ResourceTypes, generate_account_sas, generate_blob_sas,
                                generate_container_sas)

from cobalt_testlib import (ACCOUNT, KEY, CobaltServer, assert_error_response, expect_error, unique_name,
                            utcnow)


def lease(raw, path, action, container=False, **headers):
    h = {"x-ms-lease-action": action}
    h.update({k.replace("_", "-"): str(v) for k, v in headers.items()})
    q = {"comp": "lease"}
    if container:
        q["restype"] = "container"
    return raw.request("PUT", path, query=q, headers=h)


def state(raw, path, container=False):
    r = raw.request("HEAD", path, query={"restype": "container"} if container else None)
    assert r.status == 200, r
    return (r.header("x-ms-lease-state"), r.header("x-ms-lease-status"),
            r.header("x-ms-lease-duration"))


@pytest.fixture
def blob(raw, container):
    c = container.container_name
    name = unique_name("b")
    assert raw.put_blob(c, name, b"leased content").status == 201
    return c, name, f"/{c}/{name}"


@pytest.fixture(scope="module")
def clocked(tmp_path_factory):
    """A server on a test clock: lease periods pass by advance_clock(), not by sleeping.  Its
    own, so the shared server's clock stays the real one."""
    d = tmp_path_factory.mktemp("cobalt-leases-clock")
    srv = CobaltServer(d / "data", d / "server.log", test_clock=True).start()
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture
def cblob(clocked):
    """A blob in a fresh container on the test-clock server."""
    c = clocked.client().create_container(unique_name("c")).container_name
    name = unique_name("b")
    assert clocked.raw().put_blob(c, name, b"leased content").status == 201
    return c, name, f"/{c}/{name}"


# ---- blob leases: the state machine -----------------------------------------------------------

def test_acquire_infinite_with_proposed_id_and_reacquire(raw, blob):
    c, name, path = blob
    etag = raw.head_blob(c, name).header("ETag")
    lid = str(uuid.uuid4())
    r = lease(raw, path, "acquire", x_ms_lease_duration=-1, x_ms_proposed_lease_id=lid)
    assert r.status == 201, r
    assert r.header("x-ms-lease-id") == lid
    assert r.header("ETag") == etag, "lease actions never change the ETag"
    assert state(raw, path) == ("leased", "locked", "infinite")
    # Idempotent re-acquire with the same id, new duration.
    r = lease(raw, path, "acquire", x_ms_lease_duration=30, x_ms_proposed_lease_id=lid)
    assert r.status == 201 and r.header("x-ms-lease-id") == lid, r
    assert state(raw, path) == ("leased", "locked", "fixed")
    # Another id, or none: LeaseAlreadyPresent.
    assert_error_response(lease(raw, path, "acquire", x_ms_lease_duration=-1,
                                x_ms_proposed_lease_id=str(uuid.uuid4())), 409, "LeaseAlreadyPresent")
    assert_error_response(lease(raw, path, "acquire", x_ms_lease_duration=-1), 409, "LeaseAlreadyPresent")
    # Lease ids compare case-insensitively.
    r = lease(raw, path, "renew", x_ms_lease_id=lid.upper())
    assert r.status == 200, r
    assert raw.head_blob(c, name).header("ETag") == etag
    assert raw.get_blob(c, name).body == b"leased content"


def test_server_generated_id_and_invalid_durations(raw, blob):
    c, name, path = blob
    for bad in ("14", "61", "0", "abc", "-2"):
        assert_error_response(lease(raw, path, "acquire", x_ms_lease_duration=bad), 400, "InvalidHeaderValue")
    assert_error_response(lease(raw, path, "acquire"), 400, "MissingRequiredHeader")
    assert_error_response(lease(raw, path, "acquire", x_ms_lease_duration=15,
                                x_ms_proposed_lease_id="not-a-guid"), 400, "InvalidHeaderValue")
    assert state(raw, path) == ("available", "unlocked", None)
    r = lease(raw, path, "acquire", x_ms_lease_duration=15)
    assert r.status == 201
    lid = r.header("x-ms-lease-id")
    assert str(uuid.UUID(lid)) == lid.lower()
    for bad in ("61", "-1", "x"):
        assert_error_response(lease(raw, path, "break", x_ms_lease_break_period=bad), 400, "InvalidHeaderValue")
    for action in ("renew", "change", "release"):
        assert_error_response(lease(raw, path, action), 400, "MissingRequiredHeader")
    assert_error_response(lease(raw, path, "steal", x_ms_lease_id=lid), 400, "InvalidHeaderValue")
    assert state(raw, path)[0] == "leased"


def test_available_state_errors(raw, blob):
    _, _, path = blob
    lid = str(uuid.uuid4())
    assert_error_response(lease(raw, path, "renew", x_ms_lease_id=lid), 409, "LeaseIdMismatchWithLeaseOperation")
    assert_error_response(lease(raw, path, "change", x_ms_lease_id=lid, x_ms_proposed_lease_id=str(uuid.uuid4())),
                          409, "LeaseNotPresentWithLeaseOperation")
    assert_error_response(lease(raw, path, "release", x_ms_lease_id=lid), 409, "LeaseIdMismatchWithLeaseOperation")
    assert_error_response(lease(raw, path, "break"), 409, "LeaseNotPresentWithLeaseOperation")
    assert state(raw, path) == ("available", "unlocked", None)


def test_change_and_release(raw, blob):
    c, name, path = blob
    a, b, other = (str(uuid.uuid4()) for _ in range(3))
    assert lease(raw, path, "acquire", x_ms_lease_duration=-1, x_ms_proposed_lease_id=a).status == 201
    assert_error_response(lease(raw, path, "change", x_ms_lease_id=other, x_ms_proposed_lease_id=b),
                          409, "LeaseIdMismatchWithLeaseOperation")
    assert_error_response(lease(raw, path, "change", x_ms_lease_id=a), 400, "MissingRequiredHeader")
    r = lease(raw, path, "change", x_ms_lease_id=a, x_ms_proposed_lease_id=b)
    assert r.status == 200 and r.header("x-ms-lease-id") == b, r
    # Idempotent: the new id already is the lease.
    r = lease(raw, path, "change", x_ms_lease_id=a, x_ms_proposed_lease_id=b)
    assert r.status == 200 and r.header("x-ms-lease-id") == b, r
    # The old id no longer works for writes; the new one does.
    assert_error_response(raw.put_blob(c, name, b"x", headers={"x-ms-lease-id": a}), 412,
                          "LeaseIdMismatchWithBlobOperation")
    assert raw.put_blob(c, name, b"by b", headers={"x-ms-lease-id": b}).status == 201
    assert_error_response(lease(raw, path, "release", x_ms_lease_id=a), 409, "LeaseIdMismatchWithLeaseOperation")
    assert lease(raw, path, "release", x_ms_lease_id=b).status == 200
    assert state(raw, path) == ("available", "unlocked", None)
    # Released: writes need no id and refuse one.
    assert_error_response(raw.put_blob(c, name, b"x", headers={"x-ms-lease-id": b}), 412,
                          ("LeaseNotPresentWithBlobOperation", "LeaseLost"))
    assert raw.put_blob(c, name, b"free", headers={}).status == 201
    assert raw.get_blob(c, name).body == b"free"


def test_break_infinite_lease_is_immediate_and_broken_state(raw, blob):
    c, name, path = blob
    lid = str(uuid.uuid4())
    assert lease(raw, path, "acquire", x_ms_lease_duration=-1, x_ms_proposed_lease_id=lid).status == 201
    r = lease(raw, path, "break")
    assert r.status == 202 and r.header("x-ms-lease-time") == "0", r
    assert state(raw, path) == ("broken", "unlocked", None)
    # broken: break again is a no-op 202; renew/change refused; writes need no lease id
    r = lease(raw, path, "break")
    assert r.status == 202 and r.header("x-ms-lease-time") == "0", r
    assert_error_response(lease(raw, path, "renew", x_ms_lease_id=lid), 409, "LeaseIsBrokenAndCannotBeRenewed")
    assert_error_response(lease(raw, path, "renew", x_ms_lease_id=str(uuid.uuid4())), 409,
                          "LeaseIdMismatchWithLeaseOperation")
    assert_error_response(lease(raw, path, "change", x_ms_lease_id=lid, x_ms_proposed_lease_id=str(uuid.uuid4())),
                          409, "LeaseNotPresentWithLeaseOperation")
    assert_error_response(raw.put_blob(c, name, b"x", headers={"x-ms-lease-id": lid}), 412,
                          ("LeaseLost", "LeaseNotPresentWithBlobOperation"))
    assert raw.put_blob(c, name, b"after break").status == 201
    assert raw.get_blob(c, name).body == b"after break"
    # broken → acquire with any id
    new = str(uuid.uuid4())
    r = lease(raw, path, "acquire", x_ms_lease_duration=-1, x_ms_proposed_lease_id=new)
    assert r.status == 201 and r.header("x-ms-lease-id") == new
    assert state(raw, path) == ("leased", "locked", "infinite")


def test_break_period_breaking_then_broken(clocked, cblob):
    raw = clocked.raw()
    c, name, path = cblob
    lid = str(uuid.uuid4())
    assert lease(raw, path, "acquire", x_ms_lease_duration=60, x_ms_proposed_lease_id=lid).status == 201
    r = lease(raw, path, "break", x_ms_lease_break_period=2)
    assert r.status == 202 and r.header("x-ms-lease-time") in ("1", "2"), r
    assert state(raw, path) == ("breaking", "locked", None)
    # breaking: acquire with L → LeaseIsBreakingAndCannotBeAcquired, other id → LeaseAlreadyPresent
    assert_error_response(lease(raw, path, "acquire", x_ms_lease_duration=-1, x_ms_proposed_lease_id=lid),
                          409, "LeaseIsBreakingAndCannotBeAcquired")
    assert_error_response(lease(raw, path, "acquire", x_ms_lease_duration=-1,
                                x_ms_proposed_lease_id=str(uuid.uuid4())), 409, "LeaseAlreadyPresent")
    assert_error_response(lease(raw, path, "renew", x_ms_lease_id=lid), 409, "LeaseIsBrokenAndCannotBeRenewed")
    assert_error_response(lease(raw, path, "change", x_ms_lease_id=lid, x_ms_proposed_lease_id=str(uuid.uuid4())),
                          409, "LeaseIsBreakingAndCannotBeChanged")
    # Writes still need the id while breaking.
    assert_error_response(raw.put_blob(c, name, b"x"), 412, "LeaseIdMissing")
    assert raw.put_blob(c, name, b"during breaking", headers={"x-ms-lease-id": lid}).status == 201
    # A longer period cannot extend the break; a shorter one... the break ends by the clock.
    r = lease(raw, path, "break", x_ms_lease_break_period=50)
    assert r.status == 202 and int(r.header("x-ms-lease-time")) <= 2, r
    clocked.advance_clock(2.2)
    assert state(raw, path) == ("broken", "unlocked", None)
    assert raw.put_blob(c, name, b"after").status == 201
    assert raw.get_blob(c, name).body == b"after"


def test_break_period_zero_breaks_now_and_release_from_breaking(raw, blob):
    c, name, path = blob
    lid = str(uuid.uuid4())
    assert lease(raw, path, "acquire", x_ms_lease_duration=60, x_ms_proposed_lease_id=lid).status == 201
    r = lease(raw, path, "break", x_ms_lease_break_period=30)
    assert r.status == 202 and state(raw, path)[0] == "breaking"
    r = lease(raw, path, "break", x_ms_lease_break_period=0)
    assert r.status == 202 and r.header("x-ms-lease-time") == "0", r
    assert state(raw, path)[0] == "broken"
    assert lease(raw, path, "release", x_ms_lease_id=lid).status == 200
    assert state(raw, path) == ("available", "unlocked", None)
    # breaking → release
    assert lease(raw, path, "acquire", x_ms_lease_duration=60, x_ms_proposed_lease_id=lid).status == 201
    assert lease(raw, path, "break", x_ms_lease_break_period=30).status == 202
    assert_error_response(lease(raw, path, "release", x_ms_lease_id=str(uuid.uuid4())), 409,
                          "LeaseIdMismatchWithLeaseOperation")
    assert lease(raw, path, "release", x_ms_lease_id=lid).status == 200
    assert state(raw, path) == ("available", "unlocked", None)


def test_fixed_lease_break_without_period_waits_for_expiry(raw, blob):
    _, _, path = blob
    assert lease(raw, path, "acquire", x_ms_lease_duration=20).status == 201
    r = lease(raw, path, "break")
    assert r.status == 202 and 18 <= int(r.header("x-ms-lease-time")) <= 20, r
    assert state(raw, path)[0] == "breaking"


# ---- enforcement on other blob operations (§5.3) ---------------------------------------------

def test_blob_writes_require_the_lease_id(raw, container, blob):
    c, name, path = blob
    lid = str(uuid.uuid4())
    wrong = str(uuid.uuid4())
    assert lease(raw, path, "acquire", x_ms_lease_duration=-1, x_ms_proposed_lease_id=lid).status == 201
    writes = [
        ("put blob", lambda h: raw.put_blob(c, name, b"new", headers=h)),
        ("metadata", lambda h: raw.request("PUT", path, query={"comp": "metadata"},
                                           headers={"x-ms-meta-k": "v", **h})),
        ("properties", lambda h: raw.request("PUT", path, query={"comp": "properties"},
                                             headers={"x-ms-blob-content-type": "text/x", **h})),
        ("put block", lambda h: raw.request("PUT", path, query={"comp": "block", "blockid": "YWFh"},
                                            headers=h, body=b"blk")),
        ("tier", lambda h: raw.request("PUT", path, query={"comp": "tier"},
                                       headers={"x-ms-access-tier": "Cool", **h})),
        ("delete", lambda h: raw.request("DELETE", path, headers=h)),
    ]
    for what, fn in writes:
        assert_error_response(fn({}), 412, "LeaseIdMissing"), what
        assert_error_response(fn({"x-ms-lease-id": wrong}), 412, "LeaseIdMismatchWithBlobOperation"), what
    assert raw.get_blob(c, name).body == b"leased content"
    # Reads: id optional, must match when given.
    assert raw.get_blob(c, name).status == 200
    assert raw.get_blob(c, name, headers={"x-ms-lease-id": lid}).status == 200
    assert_error_response(raw.get_blob(c, name, headers={"x-ms-lease-id": wrong}), 412,
                          "LeaseIdMismatchWithBlobOperation")
    # With the right id every write works; Put Blob keeps the lease.
    h = {"x-ms-lease-id": lid}
    assert raw.put_blob(c, name, b"new content", headers=h).status == 201
    assert state(raw, path) == ("leased", "locked", "infinite")
    assert raw.request("PUT", path, query={"comp": "metadata"},
                       headers={"x-ms-meta-owner": "holder", **h}).status == 200
    props = container.get_blob_client(name).get_blob_properties()
    assert props.metadata == {"owner": "holder"}
    assert props.lease.state == "leased" and props.lease.status == "locked"
    assert raw.get_blob(c, name).body == b"new content"
    # Snapshot of a leased blob needs no id; the snapshot is not leased.
    r = raw.request("PUT", path, query={"comp": "snapshot"})
    assert r.status == 201, r
    snap = raw.request("HEAD", path, query={"snapshot": r.header("x-ms-snapshot")})
    assert snap.header("x-ms-lease-state") == "available"
    assert raw.request("DELETE", path, headers={"x-ms-delete-snapshots": "include", **h}).status == 202
    assert raw.get_blob(c, name).status == 404


def test_sdk_lease_client_roundtrip(container):
    bc = container.upload_blob("sdk.txt", b"one")
    lc = bc.acquire_lease(lease_duration=15)
    assert bc.get_blob_properties().lease.duration == "fixed"
    expect_error(lambda: bc.upload_blob(b"two", overwrite=True), 412, "LeaseIdMissing")
    bc.upload_blob(b"two", overwrite=True, lease=lc)
    lc.renew()
    old = lc.id
    lc.change(str(uuid.uuid4()))
    assert lc.id != old
    expect_error(lambda: bc.delete_blob(lease=old), 412, "LeaseIdMismatchWithBlobOperation")
    lc.release()
    assert bc.download_blob().readall() == b"two"
    bc.delete_blob()
    assert not bc.exists()


GUID_FORMS = [lambda g: g, str.upper, lambda g: g.replace("-", ""),
              lambda g: g.replace("-", "").upper(), lambda g: "{" + g + "}", lambda g: "(" + g.upper() + ")"]


@pytest.mark.parametrize("form", range(len(GUID_FORMS)))
def test_lease_id_forms_name_one_lease(container, service, form):
    """A lease id is one GUID whatever form it is written in (32 digits, hyphenated, braced,
    parenthesised, either case): acquired in one form, every later call may name it in another.
    The id is echoed in the form it was proposed."""
    f = lambda g, k=0: GUID_FORMS[(form + k) % len(GUID_FORMS)](g)  # noqa: E731
    bc = container.upload_blob("forms", b"one")
    g = str(uuid.uuid4())
    assert bc.acquire_lease(lease_id=f(g)).id == f(g)
    bc.acquire_lease(lease_id=f(g, 1))  # idempotent re-acquire in another form
    BlobLeaseClient(bc, lease_id=f(g, 2)).renew()
    bc.set_blob_metadata({"a": "b"}, lease=f(g, 3))
    bc.upload_blob(b"two", overwrite=True, lease=f(g, 4))
    expect_error(lambda: bc.set_blob_metadata({"a": "c"}, lease=str(uuid.uuid4())), 412,
                 "LeaseIdMismatchWithBlobOperation")
    nxt = str(uuid.uuid4())
    BlobLeaseClient(bc, lease_id=f(g, 5)).change(f(nxt))
    BlobLeaseClient(bc, lease_id=f(g)).change(f(nxt, 1))  # the new id is current: idempotent
    BlobLeaseClient(bc, lease_id=f(nxt, 2)).release()
    assert bc.get_blob_properties().lease.state == "available"
    cc = service.create_container(unique_name("lf"))
    cc.acquire_lease(lease_id=f(g))
    BlobLeaseClient(cc, lease_id=f(g, 1)).renew()
    cc.set_container_metadata({"k": "v"}, lease=f(g, 2))
    expect_error(lambda: cc.delete_container(lease=str(uuid.uuid4())), 412,
                 "LeaseIdMismatchWithContainerOperation")
    cc.delete_container(lease=f(g, 3))


def test_copy_source_lease_id_in_another_form(container):
    src = container.upload_blob("src", b"source")
    g = str(uuid.uuid4())
    src.acquire_lease(lease_id=g.replace("-", "").upper())
    dst = container.get_blob_client("dst")
    dst.start_copy_from_url(src.url, source_lease="{" + g + "}", requires_sync=True)
    assert dst.download_blob().readall() == b"source"
    expect_error(lambda: dst.start_copy_from_url(src.url, source_lease=str(uuid.uuid4())), 412,
                 "LeaseIdMismatchWithBlobOperation")


def test_malformed_lease_id_is_invalid_header_value(raw, blob):
    c, name, path = blob
    for bad in ("notaguid", "1234", str(uuid.uuid4()) + "0", "{" + uuid.uuid4().hex + "}"):
        assert_error_response(raw.request("PUT", path, query={"comp": "metadata"}, headers={"x-ms-lease-id": bad}),
                              400, "InvalidHeaderValue")
        assert_error_response(lease(raw, path, "renew", x_ms_lease_id=bad), 400, "InvalidHeaderValue")
    lid = str(uuid.uuid4())
    assert lease(raw, path, "acquire", x_ms_lease_duration=-1, x_ms_proposed_lease_id=lid).status == 201
    assert_error_response(raw.request("PUT", path, query={"comp": "metadata"}, headers={"x-ms-lease-id": lid[:-1]}),
                          400, "InvalidHeaderValue")
    assert_error_response(lease(raw, f"/{c}", "renew", container=True, x_ms_lease_id="notaguid"),
                          400, "InvalidHeaderValue")


def test_lease_on_missing_blob(raw, container):
    assert_error_response(lease(raw, f"/{container.container_name}/nope", "acquire", x_ms_lease_duration=-1),
                          404, "BlobNotFound")


def test_blob_lease_conditions(raw, blob):
    c, name, path = blob
    etag = raw.head_blob(c, name).header("ETag")
    r = lease(raw, path, "acquire", x_ms_lease_duration=-1, If_Match='"0x1234"')
    assert_error_response(r, 412, "ConditionNotMet")
    assert state(raw, path)[0] == "available"
    r = lease(raw, path, "acquire", x_ms_lease_duration=-1, If_Match=etag)
    assert r.status == 201, r
    assert state(raw, path)[0] == "leased"


# ---- containers --------------------------------------------------------------------------------

def test_container_lease_state_machine_and_delete(raw, service):
    name = unique_name("lc")
    service.create_container(name)
    path = f"/{name}"
    lid = str(uuid.uuid4())
    r = lease(raw, path, "acquire", container=True, x_ms_lease_duration=-1, x_ms_proposed_lease_id=lid)
    assert r.status == 201 and r.header("x-ms-lease-id") == lid, r
    assert state(raw, path, container=True) == ("leased", "locked", "infinite")
    props = service.get_container_client(name).get_container_properties()
    assert props.lease.state == "leased" and props.lease.duration == "infinite"
    assert_error_response(lease(raw, path, "acquire", container=True, x_ms_lease_duration=-1), 409,
                          "LeaseAlreadyPresent")
    # Delete needs the id.
    assert_error_response(raw.request("DELETE", path, query={"restype": "container"}), 412, "LeaseIdMissing")
    assert_error_response(raw.request("DELETE", path, query={"restype": "container"},
                                      headers={"x-ms-lease-id": str(uuid.uuid4())}),
                          412, "LeaseIdMismatchWithContainerOperation")
    # Reads: id optional but must match.
    assert_error_response(raw.request("GET", path, query={"restype": "container"},
                                      headers={"x-ms-lease-id": str(uuid.uuid4())}),
                          412, "LeaseIdMismatchWithContainerOperation")
    # Container leases do not block blob operations.
    assert raw.put_blob(name, "inside", b"ok").status == 201
    assert raw.get_blob(name, "inside").body == b"ok"
    new = str(uuid.uuid4())
    r = lease(raw, path, "change", container=True, x_ms_lease_id=lid, x_ms_proposed_lease_id=new)
    assert r.status == 200 and r.header("x-ms-lease-id") == new
    assert lease(raw, path, "renew", container=True, x_ms_lease_id=new).status == 200
    r = lease(raw, path, "break", container=True, x_ms_lease_break_period=0)
    assert r.status == 202 and r.header("x-ms-lease-time") == "0"
    assert state(raw, path, container=True) == ("broken", "unlocked", None)
    # A lease id on a container without an active lease is refused.
    assert_error_response(raw.request("DELETE", path, query={"restype": "container"},
                                      headers={"x-ms-lease-id": new}),
                          412, "LeaseNotPresentWithContainerOperation")
    assert lease(raw, path, "acquire", container=True, x_ms_lease_duration=15,
                 x_ms_proposed_lease_id=lid).status == 201
    assert raw.request("DELETE", path, query={"restype": "container"},
                       headers={"x-ms-lease-id": lid}).status == 202
    assert raw.request("HEAD", path, query={"restype": "container"}).status == 404


def test_container_lease_sdk_and_listing(service):
    name = unique_name("lc")
    cc = service.create_container(name)
    lc = cc.acquire_lease(lease_duration=-1)
    listed = [c for c in service.list_containers(name_starts_with=name)]
    assert len(listed) == 1 and listed[0].lease.state == "leased" and listed[0].lease.duration == "infinite"
    expect_error(cc.delete_container, 412, "LeaseIdMissing")
    cc.set_container_metadata({"a": "1"}, lease=lc)
    assert cc.get_container_properties().metadata == {"a": "1"}
    lc.release()
    listed = [c for c in service.list_containers(name_starts_with=name)]
    assert listed[0].lease.state == "available"
    cc.delete_container()


def test_blob_listing_shows_lease(raw, container):
    c = container.container_name
    raw.put_blob(c, "l1", b"1")
    raw.put_blob(c, "l2", b"2")
    assert lease(raw, f"/{c}/l1", "acquire", x_ms_lease_duration=-1).status == 201
    blobs = {b.name: b for b in container.list_blobs()}
    assert blobs["l1"].lease.state == "leased" and blobs["l1"].lease.status == "locked"
    assert blobs["l1"].lease.duration == "infinite"
    assert blobs["l2"].lease.state == "available" and blobs["l2"].lease.status == "unlocked"


# ---- expiry by the clock ---------------------------------------------------------------------

def test_fixed_leases_expire(clocked):
    raw = clocked.raw()
    cname = unique_name("le")
    clocked.client().create_container(cname)
    assert raw.put_blob(cname, "b", b"v1").status == 201
    bpath, cpath = f"/{cname}/b", f"/{cname}"
    lb, lc2 = str(uuid.uuid4()), str(uuid.uuid4())
    assert lease(raw, bpath, "acquire", x_ms_lease_duration=15, x_ms_proposed_lease_id=lb).status == 201
    assert lease(raw, cpath, "acquire", container=True, x_ms_lease_duration=15,
                 x_ms_proposed_lease_id=lc2).status == 201
    # A second blob: lease, then renew after expiry.
    assert raw.put_blob(cname, "r", b"r").status == 201
    lr = str(uuid.uuid4())
    assert lease(raw, f"/{cname}/r", "acquire", x_ms_lease_duration=15, x_ms_proposed_lease_id=lr).status == 201
    clocked.advance_clock(10)                       # not yet: 15 s are not 10
    assert state(raw, bpath) == ("leased", "locked", "fixed")
    assert state(raw, cpath, container=True) == ("leased", "locked", "fixed")
    clocked.advance_clock(5.5)
    assert state(raw, bpath) == ("expired", "unlocked", None)
    assert state(raw, cpath, container=True) == ("expired", "unlocked", None)
    # Expired: writes need no id; the old id is a lost lease.
    assert_error_response(raw.put_blob(cname, "b", b"x", headers={"x-ms-lease-id": lb}), 412,
                          ("LeaseLost", "LeaseNotPresentWithBlobOperation"))
    assert raw.put_blob(cname, "b", b"v2").status == 201
    assert raw.get_blob(cname, "b").body == b"v2"
    # Expired → renew with the same id leases it again; change refused; break → broken.
    assert lease(raw, f"/{cname}/r", "renew", x_ms_lease_id=lr).status == 200
    assert state(raw, f"/{cname}/r")[0] == "leased"
    assert_error_response(lease(raw, bpath, "change", x_ms_lease_id=lb, x_ms_proposed_lease_id=str(uuid.uuid4())),
                          409, "LeaseNotPresentWithLeaseOperation")
    r = lease(raw, bpath, "break")
    assert r.status == 202 and r.header("x-ms-lease-time") == "0"
    assert state(raw, bpath)[0] == "broken"
    # Expired container lease: acquire with any id; delete then needs it.
    other = str(uuid.uuid4())
    assert lease(raw, cpath, "acquire", container=True, x_ms_lease_duration=-1,
                 x_ms_proposed_lease_id=other).status == 201
    assert_error_response(raw.request("DELETE", cpath, query={"restype": "container"}), 412, "LeaseIdMissing")
    assert raw.request("DELETE", cpath, query={"restype": "container"},
                       headers={"x-ms-lease-id": other}).status == 202


# ---- lease actions and SAS permissions (protocol doc §3.8) -------------------------------------

def _sas_lease(raw, path, tok, action, container=False, **headers):
    h = {"x-ms-lease-action": action}
    h.update({k.replace("_", "-"): str(v) for k, v in headers.items()})
    q = "comp=lease" + ("&restype=container" if container else "")
    return raw.request("PUT", path, raw_query=f"{q}&{tok}", sign=False, headers=h)


def _blob_sases(c, name, perms):
    """The ways a SAS can carry `perms` for blob `name`: account, container and blob SAS."""
    exp = utcnow() + datetime.timedelta(hours=1)
    return {
        "account": generate_account_sas(ACCOUNT, KEY, ResourceTypes(object=True),
                                        AccountSasPermissions.from_string(perms), exp),
        "container": generate_container_sas(ACCOUNT, c, account_key=KEY, expiry=exp,
                                            permission=ContainerSasPermissions.from_string(perms)),
        "blob": generate_blob_sas(ACCOUNT, c, name, account_key=KEY, expiry=exp,
                                  permission=BlobSasPermissions.from_string(perms)),
    }


def test_delete_only_sas_cannot_take_a_lease(raw, blob):
    """A delete-only SAS may break a lease (Azure: 'w' or 'd') but not acquire, renew, change or
    release one (those need 'w'): it cannot lock everyone else out with an infinite lease."""
    c, name, path = blob
    for kind, tok in _blob_sases(c, name, "rd").items():
        r = _sas_lease(raw, path, tok, "acquire", x_ms_lease_duration=-1)
        assert_error_response(r, 403, "AuthorizationPermissionMismatch")
        assert state(raw, path) == ("available", "unlocked", None), kind
        lid = str(uuid.uuid4())
        assert lease(raw, path, "acquire", x_ms_lease_duration=-1, x_ms_proposed_lease_id=lid).status == 201
        for action, extra in [("renew", {"x_ms_lease_id": lid}), ("release", {"x_ms_lease_id": lid}),
                              ("change", {"x_ms_lease_id": lid, "x_ms_proposed_lease_id": str(uuid.uuid4())})]:
            r = _sas_lease(raw, path, tok, action, **extra)
            assert_error_response(r, 403, "AuthorizationPermissionMismatch")
        assert state(raw, path) == ("leased", "locked", "infinite"), kind
        # Break is a delete-class act: 'd' suffices.
        r = _sas_lease(raw, path, tok, "break", x_ms_lease_break_period=0)
        assert r.status == 202, (kind, r)
        assert state(raw, path)[0] == "broken"
        assert lease(raw, path, "release", x_ms_lease_id=lid).status == 200


def test_write_sas_runs_every_lease_action(raw, blob):
    c, name, path = blob
    for kind, tok in _blob_sases(c, name, "w").items():
        lid, lid2 = str(uuid.uuid4()), str(uuid.uuid4())
        r = _sas_lease(raw, path, tok, "acquire", x_ms_lease_duration=-1, x_ms_proposed_lease_id=lid)
        assert r.status == 201, (kind, r)
        assert _sas_lease(raw, path, tok, "renew", x_ms_lease_id=lid).status == 200
        assert _sas_lease(raw, path, tok, "change", x_ms_lease_id=lid, x_ms_proposed_lease_id=lid2).status == 200
        assert _sas_lease(raw, path, tok, "break", x_ms_lease_break_period=0).status == 202
        assert _sas_lease(raw, path, tok, "release", x_ms_lease_id=lid2).status == 200
        assert state(raw, path) == ("available", "unlocked", None)


@pytest.mark.parametrize("perms", ["r", "c", "a", "t", "i", "x", "racdxytfil"])
def test_lease_refused_without_w_or_d(raw, blob, perms):
    c, name, path = blob
    for kind, tok in _blob_sases(c, name, perms).items():
        for action in ("acquire", "break"):
            r = _sas_lease(raw, path, tok, action, x_ms_lease_duration=-1)
            if action == "break" and "d" in perms:
                assert r.status == 409, (kind, r)   # authorized: nothing to break
            else:
                assert_error_response(r, 403, "AuthorizationPermissionMismatch")
    assert state(raw, path) == ("available", "unlocked", None)


def test_container_lease_actions_and_account_sas(raw, service):
    name = unique_name("lsas")
    service.create_container(name)
    path = f"/{name}"
    exp = utcnow() + datetime.timedelta(hours=1)

    def tok(p):
        return generate_account_sas(ACCOUNT, KEY, ResourceTypes(container=True),
                                    AccountSasPermissions.from_string(p), exp)
    try:
        r = _sas_lease(raw, path, tok("rdl"), "acquire", container=True, x_ms_lease_duration=-1)
        assert_error_response(r, 403, "AuthorizationPermissionMismatch")
        assert state(raw, path, container=True) == ("available", "unlocked", None)
        lid = str(uuid.uuid4())
        r = _sas_lease(raw, path, tok("w"), "acquire", container=True, x_ms_lease_duration=-1,
                       x_ms_proposed_lease_id=lid)
        assert r.status == 201, r
        for action in ("renew", "release"):
            r = _sas_lease(raw, path, tok("d"), action, container=True, x_ms_lease_id=lid)
            assert_error_response(r, 403, "AuthorizationPermissionMismatch")
        assert state(raw, path, container=True) == ("leased", "locked", "infinite")
        r = _sas_lease(raw, path, tok("d"), "break", container=True, x_ms_lease_break_period=0)
        assert r.status == 202, r
        assert state(raw, path, container=True)[0] == "broken"
    finally:
        service.delete_container(name)
