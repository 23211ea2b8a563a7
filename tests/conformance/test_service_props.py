"""Service properties (protocol doc §2.1, §4.6: defaults, merge by section, validation, persistence),
container ACLs (§2.2 Get/Set ACL, §4.7), anonymous public access (§3.11) and stored access policies
(§3.9: a service SAS with `si` takes its fields from the policy and stops working as soon as the
policy changes or goes)."""
import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from azure.storage.blob import (AccessPolicy, BlobClient, BlobSasPermissions, CorsRule, PublicAccess,
                                RetentionPolicy, StaticWebsite, generate_blob_sas,
                                generate_container_sas)

from cobalt_testlib import ACCOUNT, KEY, CobaltServer, assert_error_response, expect_error, unique_name

PROPS = {"restype": "service", "comp": "properties"}


@pytest.fixture(scope="module")
def psrv(tmp_path_factory):
    d = tmp_path_factory.mktemp("cobalt-props")
    srv = CobaltServer(d / "data", d / "server.log").start()
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture
def praw(psrv):
    return psrv.raw()


def get_props(raw):
    r = raw.request("GET", "/", query=PROPS)
    assert r.status == 200 and "xml" in (r.header("Content-Type") or ""), r
    return ET.fromstring(r.body)


def put_props(raw, inner: str):
    body = f'<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties>{inner}</StorageServiceProperties>'
    return raw.request("PUT", "/", query=PROPS, body=body.encode())


CORS2 = ("<Cors><CorsRule><AllowedOrigins>http://a.example</AllowedOrigins><AllowedMethods>GET,PUT</AllowedMethods>"
         "<AllowedHeaders>x-ms-meta-*</AllowedHeaders><ExposedHeaders>x-ms-meta-*</ExposedHeaders>"
         "<MaxAgeInSeconds>500</MaxAgeInSeconds></CorsRule>"
         "<CorsRule><AllowedOrigins>*</AllowedOrigins><AllowedMethods>GET</AllowedMethods>"
         "<AllowedHeaders></AllowedHeaders><ExposedHeaders></ExposedHeaders>"
         "<MaxAgeInSeconds>0</MaxAgeInSeconds></CorsRule></Cors>")


@pytest.mark.restart
def test_defaults_then_merge_by_section_and_persistence(psrv, praw):
    root = get_props(praw)
    assert root.tag == "StorageServiceProperties"
    assert root.findtext("Logging/Version") == "1.0"
    for k in ("Delete", "Read", "Write"):
        assert root.findtext(f"Logging/{k}") == "false"
    assert root.findtext("HourMetrics/Enabled") == "false"
    assert root.findtext("MinuteMetrics/Enabled") == "false"
    assert root.findtext("DeleteRetentionPolicy/Enabled") == "false"
    assert root.findtext("StaticWebsite/Enabled") == "false"
    assert root.find("Cors") is not None and list(root.find("Cors")) == []
    # Set CORS + retention.
    r = put_props(praw, CORS2 + "<DeleteRetentionPolicy><Enabled>true</Enabled><Days>9</Days>"
                               "</DeleteRetentionPolicy>")
    assert r.status == 202 and r.body == b"", r
    # Then only Logging: the other sections keep their values.
    r = put_props(praw, "<Logging><Version>1.0</Version><Delete>true</Delete><Read>false</Read><Write>true</Write>"
                        "<RetentionPolicy><Enabled>true</Enabled><Days>3</Days></RetentionPolicy></Logging>")
    assert r.status == 202
    root = get_props(praw)
    assert root.findtext("Logging/Delete") == "true" and root.findtext("Logging/Write") == "true"
    assert root.findtext("Logging/RetentionPolicy/Days") == "3"
    rules = root.findall("Cors/CorsRule")
    assert [x.findtext("AllowedOrigins") for x in rules] == ["http://a.example", "*"]
    assert rules[0].findtext("MaxAgeInSeconds") == "500" and rules[0].findtext("AllowedMethods") == "GET,PUT"
    assert root.findtext("DeleteRetentionPolicy/Enabled") == "true"
    assert root.findtext("DeleteRetentionPolicy/Days") == "9"
    # Survives a restart.
    assert psrv.restart() == 0
    raw = psrv.raw()
    root = get_props(raw)
    assert root.findtext("DeleteRetentionPolicy/Days") == "9" and len(root.findall("Cors/CorsRule")) == 2
    # An empty <Cors/> removes the rules; nothing else changes.
    assert put_props(raw, "<Cors/>").status == 202
    root = get_props(raw)
    assert root.findall("Cors/CorsRule") == []
    assert root.findtext("DeleteRetentionPolicy/Days") == "9" and root.findtext("Logging/Delete") == "true"
    # Turn retention off again for the other tests of this module.
    assert put_props(raw, "<DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy>").status == 202
    assert get_props(raw).findtext("DeleteRetentionPolicy/Enabled") == "false"


@pytest.mark.parametrize("inner,code", [
    ("<DeleteRetentionPolicy><Enabled>true</Enabled><Days>0</Days></DeleteRetentionPolicy>", "InvalidXmlNodeValue"),
    ("<DeleteRetentionPolicy><Enabled>true</Enabled><Days>366</Days></DeleteRetentionPolicy>", "InvalidXmlNodeValue"),
    ("<DeleteRetentionPolicy><Enabled>true</Enabled></DeleteRetentionPolicy>", None),
    ("<Cors>" + "<CorsRule><AllowedOrigins>*</AllowedOrigins><AllowedMethods>GET</AllowedMethods>"
     "<MaxAgeInSeconds>1</MaxAgeInSeconds></CorsRule>" * 6 + "</Cors>", "InvalidXmlNodeValue"),
    ("<Cors><CorsRule><AllowedOrigins>*</AllowedOrigins></CorsRule></Cors>", None),
    ("<Bogus/>", None),
])
def test_validation_errors_change_nothing(praw, inner, code):
    before = ET.tostring(get_props(praw))
    r = put_props(praw, inner)
    assert r.status == 400, r
    if code:
        assert r.error_code == code, r
    assert ET.tostring(get_props(praw)) == before


def test_malformed_body(praw):
    r = praw.request("PUT", "/", query=PROPS, body=b"<StorageServiceProperties><Cors>")
    assert_error_response(r, 400, "InvalidXmlDocument")
    r = praw.request("PUT", "/", query=PROPS, body=b"<Other/>")
    assert r.status == 400, r


def test_sdk_roundtrip(psrv):
    svc = psrv.client()
    svc.set_service_properties(cors=[CorsRule(["http://x.example"], ["GET", "HEAD"], max_age_in_seconds=60)],
                               static_website=StaticWebsite(enabled=True, index_document="index.html",
                                                            error_document404_path="404.html"))
    p = svc.get_service_properties()
    assert [c.allowed_origins for c in p["cors"]] == ["http://x.example"]
    assert p["cors"][0].max_age_in_seconds == 60
    assert p["static_website"].enabled and p["static_website"].index_document == "index.html"
    assert p["static_website"].error_document404_path == "404.html"
    assert p["delete_retention_policy"].enabled is False
    svc.set_service_properties(delete_retention_policy=RetentionPolicy(enabled=True, days=4))
    p = svc.get_service_properties()
    assert p["delete_retention_policy"].enabled and p["delete_retention_policy"].days == 4
    assert [c.allowed_origins for c in p["cors"]] == ["http://x.example"]        # kept
    svc.set_service_properties(cors=[], delete_retention_policy=RetentionPolicy(enabled=False),
                               static_website=StaticWebsite(enabled=False))
    p = svc.get_service_properties()
    assert p["cors"] == [] and not p["delete_retention_policy"].enabled and not p["static_website"].enabled


def test_per_account(tmp_path):
    srv = CobaltServer(tmp_path / "data", tmp_path / "log",
                       env={"COBALT_ACCOUNTS": "alpha:a2V5YQ==;beta:a2V5Yg=="}).start()
    try:
        raw = srv.raw()
        body = (b'<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties><DeleteRetentionPolicy>'
                b"<Enabled>true</Enabled><Days>5</Days></DeleteRetentionPolicy></StorageServiceProperties>")
        assert raw.request("PUT", "/", query=PROPS, body=body, key="a2V5YQ==", account="alpha").status == 202
        a = ET.fromstring(raw.request("GET", "/", query=PROPS, key="a2V5YQ==", account="alpha").body)
        b = ET.fromstring(raw.request("GET", "/", query=PROPS, key="a2V5Yg==", account="beta").body)
        assert a.findtext("DeleteRetentionPolicy/Days") == "5"
        assert b.findtext("DeleteRetentionPolicy/Enabled") == "false"
    finally:
        srv.stop()


# ---- container ACL ------------------------------------------------------------------------------

def acl_body(*ids):
    parts = []
    for i, start, expiry, perm in ids:
        ap = ""
        if start:
            ap += f"<Start>{start}</Start>"
        if expiry:
            ap += f"<Expiry>{expiry}</Expiry>"
        if perm is not None:
            ap += f"<Permission>{perm}</Permission>"
        parts.append(f"<SignedIdentifier><Id>{i}</Id><AccessPolicy>{ap}</AccessPolicy></SignedIdentifier>")
    return ('<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers>' + "".join(parts) +
            "</SignedIdentifiers>").encode()


def get_acl(raw, c):
    r = raw.request("GET", f"/{c}", query={"restype": "container", "comp": "acl"})
    assert r.status == 200, r
    out = []
    for s in ET.fromstring(r.body).iter("SignedIdentifier"):
        out.append((s.findtext("Id"), s.findtext("AccessPolicy/Start"), s.findtext("AccessPolicy/Expiry"),
                    s.findtext("AccessPolicy/Permission")))
    return out, r.header("x-ms-blob-public-access")


def set_acl(raw, c, body, public=None):
    h = {"x-ms-blob-public-access": public} if public else {}
    return raw.request("PUT", f"/{c}", query={"restype": "container", "comp": "acl"}, headers=h, body=body)


def test_acl_roundtrip_and_validation(praw, psrv):
    c = unique_name("acl")
    psrv.client().create_container(c)
    assert get_acl(praw, c) == ([], None)
    body = acl_body(("read-policy", "2024-01-01T00:00:00Z", "2030-01-01T00:00:00.5Z", "rl"),
                    ("bare", None, None, None))
    etag = praw.request("HEAD", f"/{c}", query={"restype": "container"}).header("ETag")
    r = set_acl(praw, c, body, public="blob")
    assert r.status == 200 and r.header("ETag") != etag, r
    acl, pub = get_acl(praw, c)
    assert pub == "blob"
    assert acl == [("read-policy", "2024-01-01T00:00:00.0000000Z", "2030-01-01T00:00:00.5000000Z", "rl"),
                   ("bare", None, None, None)]
    # Without the header the container becomes private; the identifiers stay as sent.
    assert set_acl(praw, c, body).status == 200
    acl2, pub = get_acl(praw, c)
    assert pub is None and acl2 == acl
    for bad in (acl_body(*[(f"id{i}", None, None, "r") for i in range(6)]),
                acl_body(("x" * 65, None, None, "r")),
                acl_body(("p", None, None, "rq")),
                acl_body(("p", "not-a-date", None, "r")),
                acl_body(("dup", None, None, "r"), ("dup", None, None, "w")),
                b"<SignedIdentifiers><SignedIdentifier>"):
        r = set_acl(praw, c, bad, public="container")
        assert r.status == 400 and r.error_code in ("InvalidXmlDocument", "InvalidXmlNodeValue"), r
    assert set_acl(praw, c, acl_body(("p", None, None, "r")), public="everyone").status == 400
    assert get_acl(praw, c) == (acl, None)
    # Empty body removes every identifier.
    assert set_acl(praw, c, b"").status == 200
    assert get_acl(praw, c) == ([], None)


def test_acl_sdk(psrv):
    cc = psrv.client().create_container(unique_name("acls"))
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    expiry = dt.datetime(2031, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    cc.set_container_access_policy({"p1": AccessPolicy(permission="rwl", start=start, expiry=expiry)},
                                   public_access=PublicAccess.Container)
    got = cc.get_container_access_policy()
    assert got["public_access"] == "container"
    [si] = got["signed_identifiers"]
    assert si.id == "p1" and si.access_policy.permission == "rwl"
    # 12.15 hands the times back as the strings on the wire.
    assert si.access_policy.expiry in (expiry, "2031-06-01T12:00:00.0000000Z")
    assert si.access_policy.start in (start, "2024-01-01T00:00:00.0000000Z")
    assert cc.get_container_properties().public_access == "container"


def test_public_access_levels(praw, psrv):
    c = unique_name("pub")
    psrv.client().create_container(c)
    praw.put_blob(c, "open.txt", b"public bytes")

    def anon(path, query=None):
        return praw.request("GET", path, query=query, sign=False, version=None)

    assert anon(f"/{c}/open.txt").status in (401, 404)
    assert set_acl(praw, c, b"", public="blob").status == 200
    r = anon(f"/{c}/open.txt")
    assert r.status == 200 and r.body == b"public bytes"
    assert anon(f"/{c}", {"restype": "container", "comp": "list"}).status in (401, 403, 404)
    assert set_acl(praw, c, b"", public="container").status == 200
    r = anon(f"/{c}", {"restype": "container", "comp": "list"})
    assert r.status == 200 and b"<Name>open.txt</Name>" in r.body
    # Writes and ACL reads always need auth.
    r = praw.request("PUT", f"/{c}/open.txt", headers={"x-ms-blob-type": "BlockBlob"}, body=b"vandal",
                     sign=False, version=None)
    assert r.status in (401, 403, 404), r
    assert anon(f"/{c}", {"restype": "container", "comp": "acl"}).status in (401, 403, 404)
    assert praw.get_blob(c, "open.txt").body == b"public bytes"
    assert set_acl(praw, c, b"").status == 200                            # private again
    assert anon(f"/{c}/open.txt").status in (401, 404)


# ---- stored access policies -------------------------------------------------------------------

def sas_get(psrv, c, blob, sas):
    return psrv.raw().request("GET", f"/{c}/{blob}", raw_query=sas, sign=False)


def test_stored_policy_sas_allowed_then_revoked(praw, psrv):
    c = unique_name("sap")
    psrv.client().create_container(c)
    praw.put_blob(c, "doc.txt", b"policy-governed")
    future = "2035-01-01T00:00:00Z"
    assert set_acl(praw, c, acl_body(("readers", None, future, "rl"))).status == 200
    sas = generate_blob_sas(ACCOUNT, c, "doc.txt", account_key=KEY, policy_id="readers")
    assert "si=readers" in sas and "sp=" not in sas
    r = sas_get(psrv, c, "doc.txt", sas)
    assert r.status == 200 and r.body == b"policy-governed", r
    # The policy does not grant write.
    r = psrv.raw().request("PUT", f"/{c}/doc.txt", headers={"x-ms-blob-type": "BlockBlob"}, body=b"w",
                           raw_query=sas, sign=False)
    assert r.status == 403, r
    # A container SAS on the same policy lists.
    csas = generate_container_sas(ACCOUNT, c, account_key=KEY, policy_id="readers")
    r = psrv.raw().request("GET", f"/{c}", raw_query="restype=container&comp=list&" + csas, sign=False)
    assert r.status == 200 and b"<Name>doc.txt</Name>" in r.body, r
    # A field in both the SAS and the policy → 403.
    both = generate_blob_sas(ACCOUNT, c, "doc.txt", account_key=KEY, policy_id="readers",
                             permission=BlobSasPermissions(read=True))
    assert_error_response(sas_get(psrv, c, "doc.txt", both), 403, "AuthenticationFailed")
    # Unknown policy → 403.
    unknown = generate_blob_sas(ACCOUNT, c, "doc.txt", account_key=KEY, policy_id="nobody")
    assert sas_get(psrv, c, "doc.txt", unknown).status == 403
    # Change the policy to write-only: the same SAS can no longer read.
    assert set_acl(praw, c, acl_body(("readers", None, future, "w"))).status == 200
    assert sas_get(psrv, c, "doc.txt", sas).status == 403
    # Back to read: works again; then remove the policy: revoked.
    assert set_acl(praw, c, acl_body(("readers", None, future, "r"))).status == 200
    assert sas_get(psrv, c, "doc.txt", sas).body == b"policy-governed"
    assert set_acl(praw, c, b"").status == 200
    assert sas_get(psrv, c, "doc.txt", sas).status == 403
    # Expired policy → 403.
    assert set_acl(praw, c, acl_body(("readers", None, "2020-01-01T00:00:00Z", "r"))).status == 200
    assert sas_get(psrv, c, "doc.txt", sas).status == 403
    # The SAS may carry the expiry itself when the policy has none.
    assert set_acl(praw, c, acl_body(("readers", None, None, "r"))).status == 200
    own_expiry = generate_blob_sas(ACCOUNT, c, "doc.txt", account_key=KEY, policy_id="readers",
                                   expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    assert sas_get(psrv, c, "doc.txt", own_expiry).body == b"policy-governed"
    assert praw.get_blob(c, "doc.txt").body == b"policy-governed"


def test_stored_policy_sas_through_sdk(psrv):
    svc = psrv.client()
    cc = svc.create_container(unique_name("sapsdk"))
    cc.upload_blob("a.txt", b"via sdk")
    cc.set_container_access_policy({"rw": AccessPolicy(permission="rcw",
                                                       expiry=dt.datetime(2035, 1, 1, tzinfo=dt.timezone.utc))})
    sas = generate_blob_sas(ACCOUNT, cc.container_name, "a.txt", account_key=KEY, policy_id="rw")
    bc = BlobClient.from_blob_url(f"{psrv.endpoint}/{cc.container_name}/a.txt?{sas}", retry_total=0)
    assert bc.download_blob().readall() == b"via sdk"
    bc.upload_blob(b"written with si", overwrite=True)
    assert cc.get_blob_client("a.txt").download_blob().readall() == b"written with si"
    cc.set_container_access_policy({"rw": AccessPolicy(permission="c",
                                                       expiry=dt.datetime(2035, 1, 1, tzinfo=dt.timezone.utc))})
    expect_error(lambda: bc.download_blob().readall(), 403)
    expect_error(lambda: bc.upload_blob(b"no", overwrite=True), 403)
    assert cc.get_blob_client("a.txt").download_blob().readall() == b"written with si"
