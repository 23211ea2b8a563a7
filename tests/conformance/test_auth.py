"""Authentication and authorisation: Shared Key, account SAS, service SAS, anonymous access."""
import base64
import datetime as dt
import email.utils
import os
import time

import pytest
from azure.storage.blob import (AccountSasPermissions, BlobClient, BlobSasPermissions, BlobServiceClient,
                                ContainerClient, ContainerSasPermissions, PublicAccess, ResourceTypes,
                                generate_account_sas, generate_blob_sas, generate_container_sas)

from cobalt_testlib import (ACCOUNT, KEY, CobaltServer, assert_error_response, connection_string, expect_error,
                            unique_name, utcnow)

AUTH_DENIED = {"AuthenticationFailed", "AuthorizationFailure", "AuthorizationPermissionMismatch",
               "AuthorizationResourceTypeMismatch", "ResourceNotFound", "NoAuthenticationInformation"}


def soon(hours=1):
    return utcnow() + dt.timedelta(hours=hours)


@pytest.fixture
def seeded(container):
    container.get_blob_client("a.txt").upload_blob(b"alpha")
    container.get_blob_client("b.txt").upload_blob(b"bravo")
    return container


# ------------------------------------------------------------------------------------------------
# Shared Key
# ------------------------------------------------------------------------------------------------

def test_wrong_account_key_is_rejected(server, seeded):
    wrong_key = base64.b64encode(os.urandom(64)).decode()
    bad = BlobServiceClient.from_connection_string(connection_string(server.port, wrong_key), retry_total=0)
    expect_error(lambda: list(bad.list_containers()), 403, "AuthenticationFailed")
    expect_error(bad.get_blob_client(seeded.container_name, "a.txt").download_blob, 403, "AuthenticationFailed")
    expect_error(bad.get_blob_client(seeded.container_name, "c.txt").upload_blob, 403, "AuthenticationFailed",
                 b"intruder")
    expect_error(bad.get_container_client(seeded.container_name).delete_container, 403, "AuthenticationFailed")
    # Nothing changed.
    assert seeded.get_blob_client("a.txt").download_blob().readall() == b"alpha"
    assert not seeded.get_blob_client("c.txt").exists()
    assert seeded.get_container_properties().name == seeded.container_name


def test_wrong_key_raw_and_head(raw, seeded):
    wrong_key = base64.b64encode(os.urandom(64)).decode()
    r = raw.request("GET", f"/{seeded.container_name}/a.txt", key=wrong_key)
    assert_error_response(r, 403, "AuthenticationFailed")
    r = raw.request("HEAD", f"/{seeded.container_name}/a.txt", key=wrong_key)
    assert_error_response(r, 403, "AuthenticationFailed", head=True)


def test_tampered_signature_and_account_mismatch(raw, seeded):
    # Signed for a different path than requested.
    from cobalt_testlib import sign_shared_key
    import email.utils
    date = email.utils.formatdate(usegmt=True)
    hdrs = {"x-ms-date": date, "x-ms-version": "2021-12-02"}
    auth = sign_shared_key("GET", f"/{ACCOUNT}/{seeded.container_name}/b.txt", [], hdrs)
    r = raw.request("GET", f"/{seeded.container_name}/a.txt", sign=False,
                    headers={**hdrs, "Authorization": auth}, version=None)
    assert_error_response(r, 403, "AuthenticationFailed")
    # Malformed Authorization header.
    r = raw.request("GET", f"/{seeded.container_name}/a.txt", sign=False,
                    headers={**hdrs, "Authorization": "SharedKey nonsense"}, version=None)
    assert r.status in (400, 403), r
    assert r.error_code in ("InvalidAuthenticationInfo", "AuthenticationFailed"), r


# ------------------------------------------------------------------------------------------------
# Account SAS
# ------------------------------------------------------------------------------------------------

def test_account_sas_allow_and_deny(server, seeded):
    sas = generate_account_sas(ACCOUNT, KEY, ResourceTypes(service=True, container=True, object=True),
                               AccountSasPermissions(read=True, list=True), expiry=soon())
    svc = BlobServiceClient(server.endpoint, credential=sas, retry_total=0)
    # Allowed: list containers, list blobs, read.
    assert seeded.container_name in [c.name for c in svc.list_containers(name_starts_with=seeded.container_name)]
    cc = svc.get_container_client(seeded.container_name)
    assert [b.name for b in cc.list_blobs()] == ["a.txt", "b.txt"]
    assert cc.get_blob_client("a.txt").download_blob().readall() == b"alpha"
    assert cc.get_blob_client("a.txt").get_blob_properties().size == 5
    # Denied: writes and deletes without w/c/d.
    expect_error(cc.get_blob_client("new.txt").upload_blob, 403, "AuthorizationPermissionMismatch", b"x")
    expect_error(cc.get_blob_client("a.txt").delete_blob, 403, "AuthorizationPermissionMismatch")
    expect_error(cc.get_blob_client("a.txt").set_blob_metadata, 403, "AuthorizationPermissionMismatch", {"k": "v"})
    expect_error(svc.create_container, 403, "AuthorizationPermissionMismatch", unique_name("sas"))
    assert not seeded.get_blob_client("new.txt").exists()
    assert seeded.get_blob_client("a.txt").get_blob_properties().metadata == {}


def test_account_sas_write_permissions(server, seeded):
    sas = generate_account_sas(ACCOUNT, KEY, ResourceTypes(container=True, object=True),
                               AccountSasPermissions(read=True, write=True, create=True, delete=True, list=True),
                               expiry=soon())
    svc = BlobServiceClient(server.endpoint, credential=sas, retry_total=0)
    bc = svc.get_blob_client(seeded.container_name, "via-sas.txt")
    bc.upload_blob(b"written with sas")
    assert seeded.get_blob_client("via-sas.txt").download_blob().readall() == b"written with sas"
    bc.delete_blob()
    assert not seeded.get_blob_client("via-sas.txt").exists()
    name = unique_name("sasc")
    svc.create_container(name)
    svc.delete_container(name)


def test_account_sas_resource_type_mismatch(server, seeded):
    # Only objects: listing containers (service level) is out of scope.
    sas = generate_account_sas(ACCOUNT, KEY, ResourceTypes(object=True), AccountSasPermissions(read=True, list=True),
                               expiry=soon())
    svc = BlobServiceClient(server.endpoint, credential=sas, retry_total=0)
    expect_error(lambda: list(svc.list_containers()), 403, "AuthorizationResourceTypeMismatch")
    # Object reads are allowed.
    assert svc.get_blob_client(seeded.container_name, "a.txt").download_blob().readall() == b"alpha"


def test_account_sas_expired(server, seeded):
    sas = generate_account_sas(ACCOUNT, KEY, ResourceTypes(service=True, container=True, object=True),
                               AccountSasPermissions(read=True, list=True),
                               start=utcnow() - dt.timedelta(hours=2), expiry=utcnow() - dt.timedelta(hours=1))
    svc = BlobServiceClient(server.endpoint, credential=sas, retry_total=0)
    expect_error(svc.get_blob_client(seeded.container_name, "a.txt").download_blob, 403, "AuthenticationFailed")
    expect_error(lambda: list(svc.list_containers()), 403, "AuthenticationFailed")


def test_account_sas_tampered(server, seeded):
    sas = generate_account_sas(ACCOUNT, KEY, ResourceTypes(object=True), AccountSasPermissions(read=True),
                               expiry=soon())
    # Upgrade the permission without re-signing.
    tampered = sas.replace("sp=r", "sp=rwd")
    assert tampered != sas
    bc = BlobClient.from_blob_url(f"{server.endpoint}/{seeded.container_name}/a.txt", credential=tampered,
                                  retry_total=0)
    expect_error(bc.delete_blob, 403, "AuthenticationFailed")
    assert seeded.get_blob_client("a.txt").exists()


# ------------------------------------------------------------------------------------------------
# Service SAS: container scope
# ------------------------------------------------------------------------------------------------

def test_container_sas(server, service, seeded):
    cname = seeded.container_name
    sas = generate_container_sas(ACCOUNT, cname, account_key=KEY,
                                 permission=ContainerSasPermissions(read=True, list=True), expiry=soon())
    cc = ContainerClient(server.endpoint, cname, credential=sas, retry_total=0)
    assert [b.name for b in cc.list_blobs()] == ["a.txt", "b.txt"]
    assert cc.get_blob_client("b.txt").download_blob().readall() == b"bravo"
    expect_error(cc.get_blob_client("new.txt").upload_blob, 403, "AuthorizationPermissionMismatch", b"x")
    expect_error(cc.get_blob_client("a.txt").delete_blob, 403, "AuthorizationPermissionMismatch")
    assert not seeded.get_blob_client("new.txt").exists()

    # The same token on another container is refused.
    other = service.create_container(unique_name("other"))
    try:
        other.get_blob_client("a.txt").upload_blob(b"other alpha")
        occ = ContainerClient(server.endpoint, other.container_name, credential=sas, retry_total=0)
        e = expect_error(occ.get_blob_client("a.txt").download_blob, 403)
        assert e.error_code in AUTH_DENIED, e.error_code
        expect_error(lambda: list(occ.list_blobs()), 403)
    finally:
        other.delete_container()

    # Container-level operations outside a service SAS's reach.
    expect_error(cc.delete_container, 403)
    assert seeded.get_container_properties().name == cname


def test_container_sas_write_and_create_only(server, seeded):
    cname = seeded.container_name
    wsas = generate_container_sas(ACCOUNT, cname, account_key=KEY,
                                  permission=ContainerSasPermissions(write=True), expiry=soon())
    wc = ContainerClient(server.endpoint, cname, credential=wsas, retry_total=0)
    wc.get_blob_client("w.txt").upload_blob(b"by write sas")
    wc.get_blob_client("a.txt").upload_blob(b"overwritten", overwrite=True)
    assert seeded.get_blob_client("w.txt").download_blob().readall() == b"by write sas"
    assert seeded.get_blob_client("a.txt").download_blob().readall() == b"overwritten"
    # w does not grant read.
    expect_error(wc.get_blob_client("w.txt").download_blob, 403, "AuthorizationPermissionMismatch")

    # c alone may create but not overwrite.
    csas = generate_container_sas(ACCOUNT, cname, account_key=KEY,
                                  permission=ContainerSasPermissions(create=True), expiry=soon())
    ccl = ContainerClient(server.endpoint, cname, credential=csas, retry_total=0)
    ccl.get_blob_client("created.txt").upload_blob(b"new")
    assert seeded.get_blob_client("created.txt").download_blob().readall() == b"new"
    expect_error(ccl.get_blob_client("b.txt").upload_blob, 403, "AuthorizationPermissionMismatch",
                 b"replace", overwrite=True)
    assert seeded.get_blob_client("b.txt").download_blob().readall() == b"bravo"


def test_container_sas_expired(server, seeded):
    sas = generate_container_sas(ACCOUNT, seeded.container_name, account_key=KEY,
                                 permission=ContainerSasPermissions(read=True, list=True),
                                 start=utcnow() - dt.timedelta(days=2), expiry=utcnow() - dt.timedelta(days=1))
    cc = ContainerClient(server.endpoint, seeded.container_name, credential=sas, retry_total=0)
    expect_error(cc.get_blob_client("a.txt").download_blob, 403, "AuthenticationFailed")


def test_sas_not_yet_valid(server, seeded):
    sas = generate_container_sas(ACCOUNT, seeded.container_name, account_key=KEY,
                                 permission=ContainerSasPermissions(read=True),
                                 start=utcnow() + dt.timedelta(hours=1), expiry=utcnow() + dt.timedelta(hours=2))
    cc = ContainerClient(server.endpoint, seeded.container_name, credential=sas, retry_total=0)
    expect_error(cc.get_blob_client("a.txt").download_blob, 403, "AuthenticationFailed")


# ------------------------------------------------------------------------------------------------
# Service SAS: blob scope
# ------------------------------------------------------------------------------------------------

def test_blob_sas_scope_and_permissions(server, seeded):
    cname = seeded.container_name
    sas = generate_blob_sas(ACCOUNT, cname, "a.txt", account_key=KEY, permission=BlobSasPermissions(read=True),
                            expiry=soon())
    bc = BlobClient(server.endpoint, cname, "a.txt", credential=sas, retry_total=0)
    assert bc.download_blob().readall() == b"alpha"
    assert bc.get_blob_properties().size == 5
    # Another blob with this token.
    other = BlobClient(server.endpoint, cname, "b.txt", credential=sas, retry_total=0)
    e = expect_error(other.download_blob, 403)
    assert e.error_code in AUTH_DENIED, e.error_code
    # Writes with a read-only token.
    expect_error(bc.upload_blob, 403, "AuthorizationPermissionMismatch", b"no", overwrite=True)
    expect_error(bc.delete_blob, 403, "AuthorizationPermissionMismatch")
    expect_error(bc.set_blob_metadata, 403, "AuthorizationPermissionMismatch", {"x": "y"})
    assert seeded.get_blob_client("a.txt").download_blob().readall() == b"alpha"
    # A blob token cannot list the container.
    cc = ContainerClient(server.endpoint, cname, credential=sas, retry_total=0)
    expect_error(lambda: list(cc.list_blobs()), 403)


def test_blob_sas_delete_and_write(server, seeded):
    cname = seeded.container_name
    sas = generate_blob_sas(ACCOUNT, cname, "b.txt", account_key=KEY,
                            permission=BlobSasPermissions(write=True, delete=True), expiry=soon())
    bc = BlobClient(server.endpoint, cname, "b.txt", credential=sas, retry_total=0)
    bc.upload_blob(b"bravo 2", overwrite=True)
    assert seeded.get_blob_client("b.txt").download_blob().readall() == b"bravo 2"
    bc.delete_blob()
    assert not seeded.get_blob_client("b.txt").exists()


def test_blob_sas_expired(server, seeded):
    sas = generate_blob_sas(ACCOUNT, seeded.container_name, "a.txt", account_key=KEY,
                            permission=BlobSasPermissions(read=True),
                            start=utcnow() - dt.timedelta(hours=3), expiry=utcnow() - dt.timedelta(minutes=30))
    bc = BlobClient(server.endpoint, seeded.container_name, "a.txt", credential=sas, retry_total=0)
    expect_error(bc.download_blob, 403, "AuthenticationFailed")


def test_blob_sas_response_header_overrides(server, raw, seeded):
    cname = seeded.container_name
    sas = generate_blob_sas(ACCOUNT, cname, "a.txt", account_key=KEY, permission=BlobSasPermissions(read=True),
                            expiry=soon(), content_type="text/x-override", content_disposition="attachment; x=1",
                            cache_control="no-transform", content_language="fr", content_encoding="identity")
    bc = BlobClient(server.endpoint, cname, "a.txt", credential=sas, retry_total=0)
    dl = bc.download_blob()
    assert dl.readall() == b"alpha"
    cs = dl.properties.content_settings
    assert cs.content_type == "text/x-override"
    assert cs.content_disposition == "attachment; x=1"
    assert cs.cache_control == "no-transform"
    assert cs.content_language == "fr"
    assert cs.content_encoding == "identity"
    p = bc.get_blob_properties()
    assert p.content_settings.content_type == "text/x-override"
    # The stored properties are unchanged.
    assert seeded.get_blob_client("a.txt").get_blob_properties().content_settings.content_type \
        == "application/octet-stream"
    # Raw GET with the SAS query.
    r = raw.request("GET", f"/{cname}/a.txt", sign=False, raw_query=sas, version=None)
    assert r.status == 200, r
    assert r.header("content-type") == "text/x-override"
    assert r.header("content-disposition") == "attachment; x=1"
    # Changing an override invalidates the signature.
    tampered = sas.replace("rsct=text/x-override", "rsct=text/html").replace(
        "rsct=text%2Fx-override", "rsct=text%2Fhtml")
    assert tampered != sas
    r = raw.request("GET", f"/{cname}/a.txt", sign=False, raw_query=tampered, version=None)
    assert_error_response(r, 403, "AuthenticationFailed")


# ------------------------------------------------------------------------------------------------
# Anonymous access
# ------------------------------------------------------------------------------------------------

def _anon(server):
    return BlobServiceClient(server.endpoint, retry_total=0)


def test_anonymous_refused_on_private_container(server, raw, seeded):
    anon = _anon(server)
    cname = seeded.container_name
    _expect_denied(lambda: anon.get_blob_client(cname, "a.txt").download_blob().readall())
    _expect_denied(lambda: anon.get_blob_client(cname, "a.txt").get_blob_properties())
    _expect_denied(lambda: list(anon.get_container_client(cname).list_blobs()))
    _expect_denied(lambda: anon.get_container_client(cname).get_container_properties())
    _expect_denied(lambda: anon.get_blob_client(cname, "z.txt").upload_blob(b"x"))
    assert not seeded.get_blob_client("z.txt").exists()
    r = raw.request("GET", f"/{cname}/a.txt", sign=False, version=None)
    assert r.status in (401, 403, 404), r
    assert r.error_code in AUTH_DENIED, r
    assert r.body != b"alpha"


def test_anonymous_public_container(server, service):
    name = unique_name("pubc")
    cc = service.create_container(name, public_access=PublicAccess.Container)
    try:
        cc.get_blob_client("p.txt").upload_blob(b"public data")
        anon = _anon(server)
        acc = anon.get_container_client(name)
        assert acc.get_blob_client("p.txt").download_blob().readall() == b"public data"
        assert acc.get_blob_client("p.txt").get_blob_properties().size == 11
        assert [b.name for b in acc.list_blobs()] == ["p.txt"]
        assert acc.get_container_properties().name == name
        # Writes stay forbidden.
        _expect_denied(lambda: acc.get_blob_client("q.txt").upload_blob(b"anon write"))
        _expect_denied(lambda: acc.get_blob_client("p.txt").delete_blob())
        _expect_denied(lambda: acc.set_container_metadata({"a": "b"}))
        assert not cc.get_blob_client("q.txt").exists()
        assert cc.get_blob_client("p.txt").exists()
        # Service-level operations always need auth.
        _expect_denied(lambda: list(anon.list_containers()))
    finally:
        cc.delete_container()


def test_anonymous_public_blob_level(server, service):
    name = unique_name("pubb")
    cc = service.create_container(name, public_access=PublicAccess.Blob)
    try:
        cc.get_blob_client("p.txt").upload_blob(b"blob-level")
        acc = _anon(server).get_container_client(name)
        assert acc.get_blob_client("p.txt").download_blob().readall() == b"blob-level"
        # Blob-level access does not allow listing or container properties.
        _expect_denied(lambda: list(acc.list_blobs()))
        _expect_denied(lambda: acc.get_container_properties())
        _expect_denied(lambda: acc.get_blob_client("new.txt").upload_blob(b"x"))
        assert not cc.get_blob_client("new.txt").exists()
    finally:
        cc.delete_container()


def _expect_denied(fn):
    from azure.core.exceptions import HttpResponseError
    try:
        fn()
    except HttpResponseError as e:
        assert e.status_code in (401, 403, 404), f"expected a denial, got {e.status_code} {e.error_code}"
        assert e.error_code in AUTH_DENIED, e.error_code
        return e
    raise AssertionError("anonymous request succeeded but must be refused")


# ------------------------------------------------------------------------------------------------
# SAS edge cases
# ------------------------------------------------------------------------------------------------

def _manual_account_sas(sp, ss, srt, se, st="", spr="", sv="2019-12-12"):
    """Account SAS built by hand (protocol doc §3.6: from sv 2020-12-06 on, an `ses` line follows sv)."""
    import hashlib
    import hmac
    import urllib.parse
    sts = f"{ACCOUNT}\n{sp}\n{ss}\n{srt}\n{st}\n{se}\n\n{spr}\n{sv}\n"
    if sv >= "2020-12-06":
        sts += "\n"  # empty signed encryption scope
    sig = base64.b64encode(hmac.new(base64.b64decode(KEY), sts.encode(), hashlib.sha256).digest()).decode()
    q = {"sv": sv, "ss": ss, "srt": srt, "sp": sp, "se": se, "sig": sig}
    if st:
        q["st"] = st
    if spr:
        q["spr"] = spr
    return urllib.parse.urlencode(q, quote_via=urllib.parse.quote)


def test_account_sas_service_mismatch_and_protocol(raw, seeded):
    cname = seeded.container_name
    for sv in ("2019-12-12", "2021-08-06"):
        ok = _manual_account_sas("rl", "b", "sco", "2099-01-01T00:00:00Z", sv=sv)
        r = raw.request("GET", f"/{cname}/a.txt", sign=False, raw_query=ok, version=None)
        assert r.status == 200 and r.body == b"alpha", (sv, r)
    # Date-only expiry and minute precision are valid formats.
    for se in ("2099-01-01", "2099-01-01T00:00Z"):
        q = _manual_account_sas("r", "b", "o", se)
        r = raw.request("GET", f"/{cname}/a.txt", sign=False, raw_query=q, version="2021-08-06")
        assert r.status == 200, (se, r)
    # Services without b.
    q = _manual_account_sas("rl", "qt", "sco", "2099-01-01T00:00:00Z")
    r = raw.request("GET", f"/{cname}/a.txt", sign=False, raw_query=q, version="2021-08-06")
    assert_error_response(r, 403, "AuthorizationServiceMismatch")
    # https only, used over http.
    q = _manual_account_sas("rl", "b", "sco", "2099-01-01T00:00:00Z", spr="https")
    r = raw.request("GET", f"/{cname}/a.txt", sign=False, raw_query=q, version="2021-08-06")
    assert_error_response(r, 403, "AuthorizationProtocolMismatch")
    q = _manual_account_sas("rl", "b", "sco", "2099-01-01T00:00:00Z", spr="https,http")
    r = raw.request("GET", f"/{cname}/a.txt", sign=False, raw_query=q, version="2021-08-06")
    assert r.status == 200, r


def test_blob_sas_on_name_with_special_characters(server, container):
    name = "dir/hello wörld (1)+x.txt"
    container.get_blob_client(name).upload_blob(b"special")
    sas = generate_blob_sas(ACCOUNT, container.container_name, name, account_key=KEY,
                            permission=BlobSasPermissions(read=True), expiry=soon())
    bc = BlobClient(server.endpoint, container.container_name, name, credential=sas, retry_total=0)
    assert bc.download_blob().readall() == b"special"


def test_sas_start_time_clock_skew(server, seeded):
    """Clients set st = now; a start a little in the future (clock skew) is accepted."""
    sas = generate_container_sas(ACCOUNT, seeded.container_name, account_key=KEY,
                                 permission=ContainerSasPermissions(read=True),
                                 start=utcnow() + dt.timedelta(seconds=60), expiry=soon())
    cc = ContainerClient(server.endpoint, seeded.container_name, credential=sas, retry_total=0)
    assert cc.get_blob_client("a.txt").download_blob().readall() == b"alpha"


# ------------------------------------------------------------------------------------------------
# Shared Key replay window: x-ms-date (or Date) within 15 minutes of the server clock
# ------------------------------------------------------------------------------------------------

def _http_date(minutes_from_now):
    return email.utils.formatdate(time.time() + minutes_from_now * 60, usegmt=True)


@pytest.mark.parametrize("date,ok", [
    (lambda: _http_date(-14), True),
    (lambda: _http_date(14), True),
    (lambda: _http_date(-16), False),
    (lambda: _http_date(16), False),
    (lambda: _http_date(-24 * 60), False),
    (lambda: "Mon, 01 Jan 2024 00:00:00 GMT", False),
    (lambda: "not a date", False),
    (lambda: dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), False),
    (lambda: time.asctime(time.gmtime()), False),
], ids=["14min-old", "14min-ahead", "16min-old", "16min-ahead", "a-day-old", "2024", "garbage",
        "iso8601", "asctime"])
def test_shared_key_date_window(raw, seeded, date, ok):
    c = seeded.container_name
    d = date()
    for hdrs in ({"x-ms-date": d}, {"x-ms-date": "", "Date": d}):   # x-ms-date, else Date
        r = raw.request("GET", f"/{c}/a.txt", headers=hdrs)
        if ok:
            assert r.status == 200 and r.body == b"alpha", r
        else:
            assert_error_response(r, 403, "AuthenticationFailed")
            assert b"<AuthenticationErrorDetail>" in r.body
        # A write dated outside the window changes nothing.
        r = raw.put_blob(c, "b.txt", b"replayed", headers=hdrs)
        assert (r.status == 201) == ok, r
    assert seeded.get_blob_client("b.txt").download_blob().readall() == (b"replayed" if ok else b"bravo")


def test_shared_key_fresh_date_does_not_rescue_stale_x_ms_date(raw, seeded):
    r = raw.request("DELETE", f"/{seeded.container_name}/a.txt",
                    headers={"x-ms-date": _http_date(-30), "Date": _http_date(0)})
    assert_error_response(r, 403, "AuthenticationFailed")
    assert seeded.get_blob_client("a.txt").download_blob().readall() == b"alpha"


# ------------------------------------------------------------------------------------------------
# SAS sip: the caller's address (the socket peer) must be inside
# ------------------------------------------------------------------------------------------------

SIP_CASES = [("127.0.0.1", True), ("127.0.0.0-127.0.0.255", True), ("127.0.0.2", False),
             ("10.0.0.0-10.255.255.255", False), ("::1", False), ("0.0.0.0-127.0.0.0", False)]


def _sip_tokens(c, ip, policy_id=None):
    """An account SAS, a container SAS and a blob SAS (and, with policy_id, a stored-policy
    SAS), all with sip=ip and every letter needed for read and write."""
    perms = dict(read=True, write=True, create=True, delete=True)
    toks = {
        "account": generate_account_sas(ACCOUNT, KEY, ResourceTypes(container=True, object=True),
                                        AccountSasPermissions(**perms), soon(), ip=ip),
        "container": generate_container_sas(ACCOUNT, c, KEY, permission=ContainerSasPermissions(**perms),
                                            expiry=soon(), ip=ip),
        "blob": generate_blob_sas(ACCOUNT, c, "a.txt", account_key=KEY, permission=BlobSasPermissions(**perms),
                                  expiry=soon(), ip=ip),
    }
    if policy_id:
        toks["policy"] = generate_container_sas(ACCOUNT, c, account_key=KEY, policy_id=policy_id, ip=ip)
    return toks


@pytest.mark.parametrize("ip,ok", SIP_CASES, ids=[x for x, _ in SIP_CASES])
def test_sas_source_ip(raw, seeded, ip, ok):
    from azure.storage.blob import AccessPolicy
    c = seeded.container_name
    seeded.set_container_access_policy({"rwcd": AccessPolicy(permission="rwcd", expiry=soon())})
    for kind, tok in _sip_tokens(c, ip, "rwcd").items():
        r = raw.request("GET", f"/{c}/a.txt", sign=False, raw_query=tok)
        if ok:
            assert r.status == 200 and r.body == b"alpha", (kind, r)
        else:
            assert_error_response(r, 403, "AuthorizationSourceIPMismatch")
        r = raw.request("PUT", f"/{c}/a.txt", sign=False, raw_query=tok,
                        headers={"x-ms-blob-type": "BlockBlob"}, body=b"from elsewhere")
        assert (r.status == 201) == ok, (kind, r)
        if ok:   # put it back for the next token
            seeded.get_blob_client("a.txt").upload_blob(b"alpha", overwrite=True)
    assert seeded.get_blob_client("a.txt").download_blob().readall() == b"alpha"


@pytest.mark.parametrize("ip", ["somewhere", "10.0.0.0/8", "10.0.0.9-10.0.0.1", "127.0.0.1-::1",
                                "127.0.0.1-"])
def test_sas_malformed_source_ip(raw, seeded, ip):
    c = seeded.container_name
    for kind, tok in _sip_tokens(c, ip).items():
        r = raw.request("GET", f"/{c}/a.txt", sign=False, raw_query=tok)
        assert_error_response(r, 403, "AuthenticationFailed")
        assert b"Signed IP" in r.body, (kind, r)


def test_sas_sip_ignores_forwarded_headers(raw, seeded):
    """The address is the socket peer's: X-Forwarded-For and friends cannot claim another one."""
    c = seeded.container_name
    tok = _sip_tokens(c, "10.1.2.3")["container"]
    for h in ({"X-Forwarded-For": "10.1.2.3"}, {"Forwarded": "for=10.1.2.3"},
              {"X-Real-IP": "10.1.2.3"}, {"X-Client-IP": "10.1.2.3"}):
        r = raw.request("GET", f"/{c}/a.txt", sign=False, raw_query=tok, headers=h)
        assert_error_response(r, 403, "AuthorizationSourceIPMismatch")


def test_sas_sip_behind_a_trusted_proxy(tmp_path):
    """--trusted-proxy: from a trusted peer, the client is the right-most X-Forwarded-For address
    that is not itself a trusted proxy; a garbled list leaves the proxy's own address (fail
    closed); an untrusted peer's header is ignored (test_sas_sip_ignores_forwarded_headers)."""
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log",
                       args=["--trusted-proxy", "127.0.0.1,198.51.100.0/24"]).start()
    try:
        raw = srv.raw()
        c = unique_name("proxied")
        assert raw.request("PUT", f"/{c}", query={"restype": "container"}).status == 201
        assert raw.request("PUT", f"/{c}/a.txt", headers={"x-ms-blob-type": "BlockBlob"},
                           body=b"hi").status == 201
        client = _sip_tokens(c, "203.0.113.7")["container"]
        proxy = _sip_tokens(c, "127.0.0.1")["container"]
        cases = [  # (X-Forwarded-For headers, which token passes)
            ({"X-Forwarded-For": "203.0.113.7"}, client),
            ({"X-Forwarded-For": "10.9.9.9, 203.0.113.7"}, client),          # a forged left part
            ({"X-Forwarded-For": "203.0.113.7, 198.51.100.4"}, client),      # through two proxies
            ({"X-Forwarded-For": ["203.0.113.7", "198.51.100.4"]}, client),  # two headers
            ({"X-Forwarded-For": "203.0.113.7, not-an-address"}, proxy),     # garbled: the proxy
            ({}, proxy),
        ]
        for headers, good in cases:
            for tok in (client, proxy):
                r = raw.request("GET", f"/{c}/a.txt", sign=False, raw_query=tok, headers=headers)
                if tok is good:
                    assert r.status == 200, (headers, r)
                else:
                    assert_error_response(r, 403, "AuthorizationSourceIPMismatch")
    finally:
        srv.stop()


def test_sas_sip_ipv6_end_to_end(tmp_path):
    """A server listening on ::1 sees an IPv6 peer: sip=::1 passes, an IPv4 sip does not."""
    import http.client
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", host="::1").start()
    try:
        def req(method, target, headers=(), body=b""):
            conn = http.client.HTTPConnection("::1", srv.port, timeout=30)
            try:
                conn.request(method, target, body=body, headers=dict(headers))
                resp = conn.getresponse()
                return resp.status, resp.getheader("x-ms-error-code"), resp.read()
            finally:
                conn.close()
        c = unique_name("v6")
        tok = generate_account_sas(ACCOUNT, KEY, ResourceTypes(container=True, object=True),
                                   AccountSasPermissions(read=True, write=True, create=True), soon(),
                                   ip="::1")
        assert req("PUT", f"/{ACCOUNT}/{c}?restype=container&{tok}", {"Content-Length": "0"})[0] == 201
        st, code, _ = req("PUT", f"/{ACCOUNT}/{c}/x?{tok}", {"x-ms-blob-type": "BlockBlob"}, b"six")
        assert st == 201, code
        st, code, body = req("GET", f"/{ACCOUNT}/{c}/x?{tok}")
        assert (st, body) == (200, b"six")
        for ip in ("::2", "::1-::1:0:0:0:0", "127.0.0.1", "0.0.0.0-255.255.255.255"):
            t = generate_account_sas(ACCOUNT, KEY, ResourceTypes(object=True),
                                     AccountSasPermissions(read=True), soon(), ip=ip)
            st, code, _ = req("GET", f"/{ACCOUNT}/{c}/x?{t}")
            assert (st, code) == ((200, None) if ip.startswith("::1-") else (403, "AuthorizationSourceIPMismatch")), ip
    finally:
        srv.stop()


# ------------------------------------------------------------------------------------------------
# The -secondary account is read-only
# ------------------------------------------------------------------------------------------------

def test_secondary_is_read_only_sdk(server, seeded):
    c = seeded.container_name
    sec = BlobServiceClient(f"http://127.0.0.1:{server.port}/{ACCOUNT}-secondary",
                            credential={"account_name": ACCOUNT, "account_key": KEY}, retry_total=0)
    # Reads work there...
    assert sec.get_blob_client(c, "a.txt").download_blob().readall() == b"alpha"
    assert sorted(b.name for b in sec.get_container_client(c).list_blobs()) == ["a.txt", "b.txt"]
    assert any(x.name == c for x in sec.list_containers())
    # ...writes are refused as Azure refuses them on the RA-GRS secondary.
    bc = sec.get_blob_client(c, "a.txt")
    for fn, args in [(bc.upload_blob, (b"overwrite",)), (bc.delete_blob, ()),
                     (bc.set_blob_metadata, ({"k": "v"},)), (bc.create_snapshot, ()),
                     (bc.set_standard_blob_tier, ("Cool",)), (bc.set_blob_tags, ({"t": "1"},)),
                     (sec.get_blob_client(c, "new.txt").upload_blob, (b"new",)),
                     (sec.get_container_client(c).delete_container, ()),
                     (sec.get_container_client(c).set_container_metadata, ({"k": "v"},)),
                     (sec.create_container, (unique_name("sec"),)),
                     (sec.get_container_client(c).delete_blobs, ("a.txt", "b.txt"))]:
        expect_error(lambda: fn(*args), 403, "InsufficientAccountPermissions")
    expect_error(lambda: sec.get_blob_client(c, "a.txt").acquire_lease(), 403,
                 "InsufficientAccountPermissions")
    # Nothing changed.
    p = seeded.get_blob_client("a.txt").get_blob_properties()
    assert p.metadata == {} and p.lease.state == "available"
    assert seeded.get_blob_client("a.txt").download_blob().readall() == b"alpha"
    assert sorted(b.name for b in seeded.list_blobs()) == ["a.txt", "b.txt"]


def test_secondary_is_read_only_with_sas(raw, seeded):
    c = seeded.container_name
    tok = generate_account_sas(ACCOUNT, KEY, ResourceTypes(container=True, object=True),
                               AccountSasPermissions(read=True, write=True, create=True, delete=True), soon())
    r = raw.request("GET", f"/{c}/a.txt", sign=False, raw_query=tok, path_account=f"{ACCOUNT}-secondary")
    assert r.status == 200 and r.body == b"alpha", r
    r = raw.request("PUT", f"/{c}/a.txt", sign=False, raw_query=tok, path_account=f"{ACCOUNT}-secondary",
                    headers={"x-ms-blob-type": "BlockBlob"}, body=b"via secondary")
    assert_error_response(r, 403, "InsufficientAccountPermissions")
    r = raw.request("DELETE", f"/{c}/a.txt", sign=False, raw_query=tok, path_account=f"{ACCOUNT}-secondary")
    assert_error_response(r, 403, "InsufficientAccountPermissions")
    # Unauthenticated callers learn nothing new there: they get the usual auth answer.
    r = raw.request("DELETE", f"/{c}/a.txt", sign=False, path_account=f"{ACCOUNT}-secondary")
    assert_error_response(r, 404, "ResourceNotFound")
    assert seeded.get_blob_client("a.txt").download_blob().readall() == b"alpha"
