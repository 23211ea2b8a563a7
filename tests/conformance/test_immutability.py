"""Immutability (protocol doc §2.3 "Immutability / legal hold", §7.2 WORM codes): version-level
policies (unlocked: shorten/remove; locked: extend only), legal holds, policy headers on Put Blob,
and Cobalt's container-level policy and legal hold (`?restype=container&comp=immutabilityPolicies`
with x-cobalt-immutability-period-days, `comp=legalhold`) blocking overwrite, delete and Delete
Container.  Delete Container also refuses while any blob, snapshot or version in it is protected on
its own (Shared Key or a delete-only SAS alike, container soft delete on or off), and a held
snapshot is not deleted with its blob.  Every refusal is followed by a read showing the content is
unchanged.  The servers run on test clocks: policies expire and retention ends by advance_clock(),
and purges run by run_background_now(), instead of sleeping."""
import datetime as dt
import email.utils
import xml.etree.ElementTree as ET

import pytest
from azure.storage.blob import (AccountSasPermissions, BlobImmutabilityPolicyMode, ImmutabilityPolicy,
                                ResourceTypes, generate_account_sas)

from cobalt_testlib import ACCOUNT, KEY, CobaltServer, assert_error_response, expect_error, unique_name


@pytest.fixture(scope="module")
def isrv(tmp_path_factory):
    # Its own server: locked policies and holds leave containers that can never be emptied.
    d = tmp_path_factory.mktemp("cobalt-worm")
    srv = CobaltServer(d / "data", d / "server.log", args=["--versioning", "all"], test_clock=True).start()
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture
def iraw(isrv):
    return isrv.raw()


@pytest.fixture
def ic(isrv):
    return isrv.client().create_container(unique_name("w"))


def rfc1123(raw, seconds_from_now: float) -> str:
    """A policy date relative to the clock of raw's server (tests move it forward)."""
    return email.utils.formatdate(raw.srv.now() + seconds_from_now, usegmt=True)


def set_policy(raw, path, until, mode="Unlocked", query=None):
    h = {"x-ms-immutability-policy-until-date": until}
    if mode is not None:
        h["x-ms-immutability-policy-mode"] = mode
    return raw.request("PUT", path, query={"comp": "immutabilityPolicies", **(query or {})}, headers=h)


def worm_refused(raw, c, n, content, code):
    """Overwrite and delete are refused with `code`; the content is unchanged."""
    assert_error_response(raw.put_blob(c, n, b"overwrite"), 409, code)
    assert_error_response(raw.request("DELETE", f"/{c}/{n}"), 409, code)
    assert raw.get_blob(c, n).body == content


# ---- version-level policies -------------------------------------------------------------------

def test_unlocked_policy_blocks_then_can_be_shortened_and_removed(iraw, ic):
    c = ic.container_name
    iraw.put_blob(c, "u", b"worm data")
    until = rfc1123(iraw, 3600)
    r = set_policy(iraw, f"/{c}/u", until)
    assert r.status == 200, r
    assert r.header("x-ms-immutability-policy-until-date") == until
    assert r.header("x-ms-immutability-policy-mode").lower() == "unlocked"
    h = iraw.head_blob(c, "u")
    assert h.header("x-ms-immutability-policy-until-date") == until
    assert h.header("x-ms-immutability-policy-mode").lower() == "unlocked"
    worm_refused(iraw, c, "u", b"worm data", "BlobImmutableDueToPolicy")
    # Reads and new blobs are fine.
    assert iraw.put_blob(c, "other", b"free").status == 201
    # Unlocked: shorten, then remove.
    shorter = rfc1123(iraw, 1800)
    assert set_policy(iraw, f"/{c}/u", shorter).status == 200
    assert iraw.head_blob(c, "u").header("x-ms-immutability-policy-until-date") == shorter
    worm_refused(iraw, c, "u", b"worm data", "BlobImmutableDueToPolicy")
    r = iraw.request("DELETE", f"/{c}/u", query={"comp": "immutabilityPolicies"})
    assert r.status == 200, r
    assert iraw.head_blob(c, "u").header("x-ms-immutability-policy-mode") is None
    assert iraw.put_blob(c, "u", b"rewritten").status == 201
    assert iraw.get_blob(c, "u").body == b"rewritten"
    assert iraw.request("DELETE", f"/{c}/u").status == 202
    assert iraw.get_blob(c, "u").status == 404


def test_locked_policy_extend_only(iraw, ic):
    c = ic.container_name
    iraw.put_blob(c, "l", b"locked data")
    until = rfc1123(iraw, 3600)
    assert set_policy(iraw, f"/{c}/l", until, "Unlocked").status == 200
    r = set_policy(iraw, f"/{c}/l", until, "Locked")                  # lock it
    assert r.status == 200 and r.header("x-ms-immutability-policy-mode").lower() == "locked", r
    r = set_policy(iraw, f"/{c}/l", rfc1123(iraw, 1800), "Locked")    # shorten: no
    assert r.status == 409, r
    r = set_policy(iraw, f"/{c}/l", rfc1123(iraw, 7200), "Unlocked")  # unlock: no
    assert r.status == 409, r
    assert iraw.request("DELETE", f"/{c}/l", query={"comp": "immutabilityPolicies"}).status == 409
    h = iraw.head_blob(c, "l")
    assert h.header("x-ms-immutability-policy-until-date") == until
    assert h.header("x-ms-immutability-policy-mode").lower() == "locked"
    longer = rfc1123(iraw, 7200)
    assert set_policy(iraw, f"/{c}/l", longer, "Locked").status == 200   # extend: yes
    assert iraw.head_blob(c, "l").header("x-ms-immutability-policy-until-date") == longer
    worm_refused(iraw, c, "l", b"locked data", "BlobImmutableDueToPolicy")
    # Metadata is not content; the policy stays.
    assert iraw.head_blob(c, "l").header("x-ms-immutability-policy-mode").lower() == "locked"


def test_policy_expires(iraw, ic):
    c = ic.container_name
    iraw.put_blob(c, "e", b"short")
    assert set_policy(iraw, f"/{c}/e", rfc1123(iraw, 2), "Locked").status == 200
    worm_refused(iraw, c, "e", b"short", "BlobImmutableDueToPolicy")
    iraw.srv.advance_clock(3.1)
    assert iraw.put_blob(c, "e", b"after expiry").status == 201
    assert iraw.get_blob(c, "e").body == b"after expiry"
    assert iraw.request("DELETE", f"/{c}/e").status == 202


def test_policy_validation(iraw, ic):
    c = ic.container_name
    iraw.put_blob(c, "v", b"v")
    r = iraw.request("PUT", f"/{c}/v", query={"comp": "immutabilityPolicies"})
    assert r.status == 400, r
    assert set_policy(iraw, f"/{c}/v", "not a date").status == 400
    assert set_policy(iraw, f"/{c}/v", rfc1123(iraw, 60), "Sometimes").status == 400
    assert_error_response(set_policy(iraw, f"/{c}/missing", rfc1123(iraw, 60)), 404, "BlobNotFound")
    assert iraw.head_blob(c, "v").header("x-ms-immutability-policy-mode") is None
    assert iraw.put_blob(c, "v", b"still mutable").status == 201
    assert iraw.get_blob(c, "v").body == b"still mutable"


def test_legal_hold(iraw, ic):
    c = ic.container_name
    iraw.put_blob(c, "h", b"held")
    r = iraw.request("PUT", f"/{c}/h", query={"comp": "legalhold"}, headers={"x-ms-legal-hold": "true"})
    assert r.status == 200 and r.header("x-ms-legal-hold") == "true", r
    assert iraw.head_blob(c, "h").header("x-ms-legal-hold") == "true"
    worm_refused(iraw, c, "h", b"held", "BlobImmutableDueToLegalHold")
    r = iraw.request("PUT", f"/{c}/h", query={"comp": "legalhold"}, headers={"x-ms-legal-hold": "maybe"})
    assert r.status == 400, r
    r = iraw.request("PUT", f"/{c}/h", query={"comp": "legalhold"}, headers={"x-ms-legal-hold": "false"})
    assert r.status == 200 and r.header("x-ms-legal-hold") == "false"
    assert iraw.head_blob(c, "h").header("x-ms-legal-hold") in (None, "false")
    assert iraw.put_blob(c, "h", b"released").status == 201
    assert iraw.get_blob(c, "h").body == b"released"


def test_headers_on_put_blob(iraw, ic):
    c = ic.container_name
    until = rfc1123(iraw, 3600)
    r = iraw.put_blob(c, "p", b"born immutable", headers={"x-ms-immutability-policy-until-date": until,
                                                          "x-ms-immutability-policy-mode": "Unlocked",
                                                          "x-ms-legal-hold": "true"})
    assert r.status == 201, r
    h = iraw.head_blob(c, "p")
    assert h.header("x-ms-immutability-policy-until-date") == until and h.header("x-ms-legal-hold") == "true"
    worm_refused(iraw, c, "p", b"born immutable", "BlobImmutableDueToLegalHold")
    r = iraw.put_blob(c, "q", b"x", headers={"x-ms-immutability-policy-until-date": rfc1123(iraw, -60)})
    assert r.status == 400, r
    assert iraw.get_blob(c, "q").status == 404


def test_sdk_policy_and_hold(ic):
    bc = ic.upload_blob("sdk", b"sdk worm")
    exp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(hours=1)
    r = bc.set_immutability_policy(ImmutabilityPolicy(expiry_time=exp,
                                                      policy_mode=BlobImmutabilityPolicyMode.Unlocked))
    assert r["immutability_policy_until_date"] == exp
    p = bc.get_blob_properties()
    assert p.immutability_policy.expiry_time == exp
    assert p.immutability_policy.policy_mode.lower() == "unlocked"
    expect_error(lambda: bc.upload_blob(b"no", overwrite=True), 409, "BlobImmutableDueToPolicy")
    bc.delete_immutability_policy()
    assert bc.set_legal_hold(True)["legal_hold"] is True
    assert bc.get_blob_properties().has_legal_hold is True
    expect_error(bc.delete_blob, 409, "BlobImmutableDueToLegalHold")
    bc.set_legal_hold(False)
    assert bc.download_blob().readall() == b"sdk worm"
    bc.delete_blob()
    assert not bc.exists()


@pytest.mark.parametrize("kind", ["versionid", "snapshot"])
def test_protected_version_or_snapshot_cannot_be_deleted(iraw, ic, kind):
    c = ic.container_name
    v1 = iraw.put_blob(c, "pv", b"protected version").header("x-ms-version-id")
    if kind == "snapshot":
        v1 = iraw.request("PUT", f"/{c}/pv", query={"comp": "snapshot"}).header("x-ms-snapshot")
    iraw.put_blob(c, "pv", b"current")
    r = set_policy(iraw, f"/{c}/pv", rfc1123(iraw, 3600), "Locked", query={kind: v1})
    assert r.status == 200, r
    assert iraw.request("HEAD", f"/{c}/pv", query={kind: v1}).header("x-ms-immutability-policy-mode").lower() \
        == "locked"
    r = iraw.request("DELETE", f"/{c}/pv", query={kind: v1})
    got = iraw.request("GET", f"/{c}/pv", query={kind: v1})
    assert got.status == 200 and got.body == b"protected version", (r, got)
    assert r.status == 409, r


def test_listing_shows_policy_and_hold(iraw, ic):
    c = ic.container_name
    iraw.put_blob(c, "lp", b"x", headers={"x-ms-immutability-policy-until-date": rfc1123(iraw, 3600),
                                          "x-ms-immutability-policy-mode": "Unlocked", "x-ms-legal-hold": "true"})
    r = iraw.request("GET", f"/{c}", query={"restype": "container", "comp": "list",
                                           "include": "immutabilitypolicy,legalhold"})
    assert r.status == 200
    p = ET.fromstring(r.body).find("Blobs/Blob/Properties")
    assert p.findtext("ImmutabilityPolicyMode", "").lower() == "unlocked"
    assert p.findtext("ImmutabilityPolicyUntilDate")
    assert p.findtext("LegalHold") == "true"


# ---- container level (Cobalt extension) --------------------------------------------------------

def cpolicy(raw, name, days, mode="Unlocked"):
    h = {"x-cobalt-immutability-period-days": str(days)}
    if mode:
        h["x-ms-immutability-policy-mode"] = mode
    return raw.request("PUT", f"/{name}", query={"restype": "container", "comp": "immutabilityPolicies"}, headers=h)


def chold(raw, name, on):
    return raw.request("PUT", f"/{name}", query={"restype": "container", "comp": "legalhold"},
                       headers={"x-ms-legal-hold": "true" if on else "false"})


def cprops(raw, name):
    r = raw.request("HEAD", f"/{name}", query={"restype": "container"})
    assert r.status == 200, r
    return r.header("x-ms-has-immutability-policy"), r.header("x-ms-has-legal-hold")


def cdelete(raw, name):
    return raw.request("DELETE", f"/{name}", query={"restype": "container"})


def test_container_policy_unlocked(iraw, ic):
    c = ic.container_name
    iraw.put_blob(c, "old", b"before policy")
    assert cprops(iraw, c) == ("false", "false")
    assert cpolicy(iraw, c, 1).status == 200
    assert cprops(iraw, c) == ("true", "false")
    worm_refused(iraw, c, "old", b"before policy", "BlobImmutableDueToPolicy")
    # New blobs can be created, and are protected at once.
    assert iraw.put_blob(c, "new", b"fresh").status == 201
    worm_refused(iraw, c, "new", b"fresh", "BlobImmutableDueToPolicy")
    r = cdelete(iraw, c)
    assert r.status == 409, r
    assert iraw.get_blob(c, "old").body == b"before policy"
    r = iraw.request("GET", "/", query={"comp": "list", "prefix": c})
    props = ET.fromstring(r.body).find("Containers/Container/Properties")
    assert props.findtext("HasImmutabilityPolicy") == "true"
    # Invalid values
    assert cpolicy(iraw, c, 0).status == 400
    assert cpolicy(iraw, c, "x").status == 400
    assert cpolicy(iraw, c, 1, "Sideways").status == 400
    r = iraw.request("PUT", f"/{c}", query={"restype": "container", "comp": "immutabilityPolicies"})
    assert r.status == 400
    # Unlocked: removable.
    r = iraw.request("DELETE", f"/{c}", query={"restype": "container", "comp": "immutabilityPolicies"})
    assert r.status == 200, r
    assert cprops(iraw, c) == ("false", "false")
    assert iraw.put_blob(c, "old", b"after").status == 201
    assert iraw.get_blob(c, "old").body == b"after"
    assert cdelete(iraw, c).status == 202
    assert iraw.request("HEAD", f"/{c}", query={"restype": "container"}).status == 404


def test_container_policy_locked_extend_only(iraw, ic):
    c = ic.container_name
    iraw.put_blob(c, "b", b"locked forever")
    assert cpolicy(iraw, c, 2, "Locked").status == 200
    assert_error_response(cpolicy(iraw, c, 1, "Locked"), 409, "ContainerImmutabilityPolicyLocked")
    assert_error_response(cpolicy(iraw, c, 5, "Unlocked"), 409, "ContainerImmutabilityPolicyLocked")
    r = iraw.request("DELETE", f"/{c}", query={"restype": "container", "comp": "immutabilityPolicies"})
    assert_error_response(r, 409, "ContainerImmutabilityPolicyLocked")
    assert cpolicy(iraw, c, 3, "Locked").status == 200
    assert cprops(iraw, c)[0] == "true"
    worm_refused(iraw, c, "b", b"locked forever", "BlobImmutableDueToPolicy")
    assert cdelete(iraw, c).status == 409
    assert iraw.get_blob(c, "b").body == b"locked forever"


def test_container_policy_on_empty_container_allows_delete(iraw, isrv):
    name = unique_name("we")
    isrv.client().create_container(name)
    assert cpolicy(iraw, name, 1).status == 200
    assert cdelete(iraw, name).status == 202
    assert iraw.request("HEAD", f"/{name}", query={"restype": "container"}).status == 404


def test_container_legal_hold(iraw, ic):
    c = ic.container_name
    iraw.put_blob(c, "b", b"under hold")
    r = chold(iraw, c, True)
    assert r.status == 200 and r.header("x-ms-legal-hold") == "true", r
    assert cprops(iraw, c) == ("false", "true")
    worm_refused(iraw, c, "b", b"under hold", "BlobImmutableDueToLegalHold")
    assert_error_response(cdelete(iraw, c), 409, "ContainerHasLegalHold")
    assert iraw.get_blob(c, "b").body == b"under hold"
    r = iraw.request("PUT", f"/{c}", query={"restype": "container", "comp": "legalhold"})
    assert r.status == 400
    assert chold(iraw, c, False).status == 200
    assert cprops(iraw, c) == ("false", "false")
    assert iraw.put_blob(c, "b", b"free again").status == 201
    assert iraw.get_blob(c, "b").body == b"free again"
    assert cdelete(iraw, c).status == 202


def test_container_worm_on_missing_container(iraw):
    assert_error_response(cpolicy(iraw, "nosuchcontainer", 1), 404, "ContainerNotFound")
    assert_error_response(chold(iraw, "nosuchcontainer", True), 404, "ContainerNotFound")


# ---- Delete Container and blob-level protection ----------------------------------------------

def sas_delete_container(raw, name):
    """Delete Container with an account SAS that may only delete."""
    sas = generate_account_sas(ACCOUNT, KEY, ResourceTypes(container=True), AccountSasPermissions(delete=True),
                               expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    return raw.request("DELETE", f"/{name}", sign=False, raw_query="restype=container&" + sas)


def hold(raw, path, on, query=None):
    return raw.request("PUT", path, query={"comp": "legalhold", **(query or {})},
                       headers={"x-ms-legal-hold": "true" if on else "false"})


def protect(raw, c, case):
    """Puts one protected record of kind `case` into container c.  Returns (what to read it back
    with: {query}, its content, the Azure code a refusal carries, how to lift the protection)."""
    if case in ("hold", "unlocked", "locked"):
        raw.put_blob(c, "p", b"protected " + case.encode())
        if case == "hold":
            assert hold(raw, f"/{c}/p", True).status == 200
            return {}, b"protected hold", "BlobImmutableDueToLegalHold", lambda: hold(raw, f"/{c}/p", False)
        r = set_policy(raw, f"/{c}/p", rfc1123(raw, 4), "Unlocked" if case == "unlocked" else "Locked")
        assert r.status == 200, r
        return {}, b"protected " + case.encode(), "BlobImmutableDueToPolicy", lambda: raw.srv.advance_clock(4.5)
    v1 = raw.put_blob(c, "p", b"older content").header("x-ms-version-id")
    q = {"versionid": v1}
    if case == "snapshot":
        q = {"snapshot": raw.request("PUT", f"/{c}/p", query={"comp": "snapshot"}).header("x-ms-snapshot")}
    raw.put_blob(c, "p", b"current, unprotected")
    assert hold(raw, f"/{c}/p", True, q).status == 200
    return q, b"older content", "BlobImmutableDueToLegalHold", lambda: hold(raw, f"/{c}/p", False, q)


@pytest.mark.parametrize("case", ["hold", "unlocked", "locked", "snapshot", "version"])
@pytest.mark.parametrize("auth", ["sharedkey", "delete-only-sas"])
def test_delete_container_refused_while_a_record_is_protected(iraw, isrv, case, auth):
    name = unique_name("wd")
    isrv.client().create_container(name)
    iraw.put_blob(name, "bystander", b"unprotected neighbour")
    q, content, code, lift = protect(iraw, name, case)
    delete = (lambda: cdelete(iraw, name)) if auth == "sharedkey" else (lambda: sas_delete_container(iraw, name))
    assert_error_response(delete(), 409, code)
    assert_error_response(delete(), 409, code)   # a refusal changes nothing
    assert iraw.request("GET", f"/{name}/p", query=q).body == content
    assert iraw.get_blob(name, "bystander").body == b"unprotected neighbour"
    assert iraw.request("HEAD", f"/{name}", query={"restype": "container"}).status == 200
    lift()
    r = delete()
    assert r.status == 202, r
    assert iraw.request("HEAD", f"/{name}", query={"restype": "container"}).status == 404


def test_delete_container_checks_every_protected_record(iraw, isrv):
    """Several records were protected and some released: one still held blocks the delete."""
    name = unique_name("wm")
    isrv.client().create_container(name)
    for i in range(5):
        iraw.put_blob(name, f"b{i}", b"x")
        assert hold(iraw, f"/{name}/b{i}", True).status == 200
    for i in range(4):
        assert hold(iraw, f"/{name}/b{i}", False).status == 200
        assert iraw.request("DELETE", f"/{name}/b{i}").status == 202
    assert_error_response(cdelete(iraw, name), 409, "BlobImmutableDueToLegalHold")
    assert iraw.get_blob(name, "b4").body == b"x"
    assert hold(iraw, f"/{name}/b4", False).status == 200
    assert cdelete(iraw, name).status == 202


@pytest.fixture(scope="module")
def softsrv(tmp_path_factory):
    """Blob and container soft delete on; a retention day lasts 2 s, so purges come quickly."""
    d = tmp_path_factory.mktemp("cobalt-worm-soft")
    srv = CobaltServer(d / "data", d / "server.log", env={"COBALT_DAY_SECONDS": "2"},
                       args=["--container-soft-delete-days", "1"], test_clock=True).start()
    body = (b'<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties><DeleteRetentionPolicy>'
            b"<Enabled>true</Enabled><Days>1</Days></DeleteRetentionPolicy></StorageServiceProperties>")
    assert srv.raw().request("PUT", "/", query={"restype": "service", "comp": "properties"}, body=body).status == 202
    yield srv
    assert srv.stop() == 0, srv.log_tail()


def test_container_soft_delete_refused_while_protected(softsrv):
    """Soft delete would end in a purge: it is refused too, and nothing is purged later."""
    raw = softsrv.raw()
    name = unique_name("ws")
    softsrv.client().create_container(name)
    raw.put_blob(name, "h", b"held through soft delete")
    assert hold(raw, f"/{name}/h", True).status == 200
    assert_error_response(cdelete(raw, name), 409, "BlobImmutableDueToLegalHold")
    assert_error_response(sas_delete_container(raw, name), 409, "BlobImmutableDueToLegalHold")
    softsrv.advance_clock(2.5)   # past the retention period ...
    assert softsrv.run_background_now()   # ... and a purge pass
    assert raw.get_blob(name, "h").body == b"held through soft delete"
    assert hold(raw, f"/{name}/h", False).status == 200
    assert cdelete(raw, name).status == 202


def test_held_snapshot_not_deleted_with_its_blob(softsrv):
    """x-ms-delete-snapshots: include removes every snapshot: not while one is held."""
    raw = softsrv.raw()
    name = unique_name("wn")
    softsrv.client().create_container(name)
    raw.put_blob(name, "s", b"snapshotted")
    snap = raw.request("PUT", f"/{name}/s", query={"comp": "snapshot"}).header("x-ms-snapshot")
    raw.put_blob(name, "s", b"current")
    assert hold(raw, f"/{name}/s", True, {"snapshot": snap}).status == 200
    r = raw.request("DELETE", f"/{name}/s", headers={"x-ms-delete-snapshots": "include"})
    assert_error_response(r, 409, "BlobImmutableDueToLegalHold")
    softsrv.advance_clock(2.5)   # a soft delete would have been purged by now
    assert softsrv.run_background_now()
    assert raw.request("GET", f"/{name}/s", query={"snapshot": snap}).body == b"snapshotted"
    assert raw.get_blob(name, "s").body == b"current"
    assert hold(raw, f"/{name}/s", False, {"snapshot": snap}).status == 200
    assert raw.request("DELETE", f"/{name}/s", headers={"x-ms-delete-snapshots": "include"}).status == 202
