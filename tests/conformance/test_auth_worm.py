"""Who may set WORM state (finding: container-level controls open to any 'w' SAS).

Container immutability policy and container legal hold are management-plane acts in Azure: the
account key (Shared Key) only, never a SAS of any kind or letters (403
AuthorizationPermissionMismatch).  Blob-level immutability policy and legal hold need the SAS
letter 'i' -- on the dedicated operations, and also when an upload or copy carries
x-ms-immutability-policy-until-date / -mode or x-ms-legal-hold (then on top of the route's own
'c'/'w').  Every refusal is followed by a read showing nothing changed."""
import datetime as dt
import email.utils
import time

import pytest
from azure.storage.blob import (AccessPolicy, AccountSasPermissions, BlobSasPermissions,
                                ContainerSasPermissions, ResourceTypes, generate_account_sas,
                                generate_blob_sas, generate_container_sas)

from cobalt_testlib import ACCOUNT, KEY, CobaltServer, assert_error_response, unique_name, utcnow

ALL = "racwdxyltfi"


@pytest.fixture(scope="module")
def wsrv(tmp_path_factory):
    d = tmp_path_factory.mktemp("cobalt-worm-auth")
    srv = CobaltServer(d / "data", d / "server.log", args=["--versioning", "all"]).start()
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture
def wraw(wsrv):
    return wsrv.raw()


@pytest.fixture
def wc(wsrv):
    cc = wsrv.client().create_container(unique_name("wa"))
    cc.get_blob_client("b").upload_blob(b"original")
    return cc


def soon():
    return utcnow() + dt.timedelta(hours=1)


def rfc1123(seconds_from_now):
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


def every_sas(c, perms=ALL, blob="b", policy=None):
    """Every kind of SAS that could reach container `c` (and blob `blob`) with `perms`."""
    toks = {
        "account": generate_account_sas(ACCOUNT, KEY, ResourceTypes(service=True, container=True, object=True),
                                        AccountSasPermissions.from_string(perms), soon()),
        "container": generate_container_sas(ACCOUNT, c, account_key=KEY, expiry=soon(),
                                            permission=ContainerSasPermissions.from_string(perms)),
        "blob": generate_blob_sas(ACCOUNT, c, blob, account_key=KEY, expiry=soon(),
                                  permission=BlobSasPermissions.from_string(perms)),
    }
    if policy:
        toks["stored policy"] = generate_container_sas(ACCOUNT, c, account_key=KEY, policy_id=policy)
    return toks


CONTAINER_WORM = [
    ("PUT", "immutabilityPolicies", {"x-cobalt-immutability-period-days": "1",
                                     "x-ms-immutability-policy-mode": "Unlocked"}),
    ("DELETE", "immutabilityPolicies", {}),
    ("PUT", "legalhold", {"x-ms-legal-hold": "true"}),
    ("PUT", "legalhold", {"x-ms-legal-hold": "false"}),
]


def cprops(raw, c):
    r = raw.request("HEAD", f"/{c}", query={"restype": "container"})
    assert r.status == 200, r
    return r.header("x-ms-has-immutability-policy"), r.header("x-ms-has-legal-hold")


def container_worm_refused(r, kind):
    # A blob SAS does not even address a container (refused when authenticated).
    assert_error_response(r, 403, "AuthorizationResourceTypeMismatch" if kind == "blob"
                          else "AuthorizationPermissionMismatch")


def test_container_worm_refuses_every_sas(wraw, wc):
    c = wc.container_name
    wc.set_container_access_policy({"all": AccessPolicy(permission=ALL, expiry=soon())})
    for kind, tok in every_sas(c, policy="all").items():
        for method, comp, headers in CONTAINER_WORM:
            r = wraw.request(method, f"/{c}", raw_query=f"restype=container&comp={comp}&{tok}",
                             sign=False, headers=headers)
            container_worm_refused(r, kind)
            assert cprops(wraw, c) == ("false", "false"), (kind, method, comp)
    # The account key may, and then no SAS can lift what it set.
    assert wraw.request("PUT", f"/{c}", query={"restype": "container", "comp": "legalhold"},
                        headers={"x-ms-legal-hold": "true"}).status == 200
    assert wraw.request("PUT", f"/{c}", query={"restype": "container", "comp": "immutabilityPolicies"},
                        headers={"x-cobalt-immutability-period-days": "1"}).status == 200
    for kind, tok in every_sas(c, policy="all").items():
        for method, comp, headers in CONTAINER_WORM[1:]:
            r = wraw.request(method, f"/{c}", raw_query=f"restype=container&comp={comp}&{tok}",
                             sign=False, headers=headers)
            container_worm_refused(r, kind)
    assert cprops(wraw, c) == ("true", "true")
    assert wraw.request("PUT", f"/{c}", query={"restype": "container", "comp": "legalhold"},
                        headers={"x-ms-legal-hold": "false"}).status == 200
    assert wraw.request("DELETE", f"/{c}", query={"restype": "container",
                                                  "comp": "immutabilityPolicies"}).status == 200
    assert cprops(wraw, c) == ("false", "false")


UPLOAD_WORM_HEADERS = [
    {"x-ms-legal-hold": "true"},
    {"x-ms-immutability-policy-until-date": rfc1123(3600), "x-ms-immutability-policy-mode": "Unlocked"},
    {"x-ms-immutability-policy-until-date": rfc1123(3600)},
]


@pytest.mark.parametrize("worm", UPLOAD_WORM_HEADERS, ids=["legal-hold", "policy", "policy-no-mode"])
def test_upload_setting_worm_state_needs_i(wraw, wc, worm):
    c = wc.container_name
    for kind, tok in every_sas(c, "rcw", blob="n").items():
        # Put Blob
        r = wraw.request("PUT", f"/{c}/n", raw_query=tok, sign=False, body=b"born held",
                         headers={"x-ms-blob-type": "BlockBlob", **worm})
        assert_error_response(r, 403, "AuthorizationPermissionMismatch")
        # Put Block List (the block staged first needs no 'i')
        r = wraw.request("PUT", f"/{c}/n", raw_query=f"comp=block&blockid=QUFBQQ%3D%3D&{tok}", sign=False,
                         body=b"block")
        assert r.status == 201, (kind, r)
        r = wraw.request("PUT", f"/{c}/n", raw_query=f"comp=blocklist&{tok}", sign=False, headers=worm,
                         body=b"<?xml version='1.0' encoding='utf-8'?><BlockList><Latest>QUFBQQ==</Latest></BlockList>")
        assert_error_response(r, 403, "AuthorizationPermissionMismatch")
        # Copy Blob from the existing blob of the same account
        r = wraw.request("PUT", f"/{c}/n", raw_query=tok, sign=False,
                         headers={"x-ms-copy-source": f"http://127.0.0.1:{wraw.srv.port}/{ACCOUNT}/{c}/b?{tok}",
                                  "x-ms-requires-sync": "true", **worm})
        assert_error_response(r, 403, "AuthorizationPermissionMismatch")
        assert wraw.head_blob(c, "n").status == 404, kind
    # With 'i' as well, the same upload is allowed and sets the state.
    tok = every_sas(c, "rcwi", blob="n")["container"]
    r = wraw.request("PUT", f"/{c}/n", raw_query=tok, sign=False, body=b"born held",
                     headers={"x-ms-blob-type": "BlockBlob", **worm})
    assert r.status == 201, r
    h = wraw.head_blob(c, "n")
    assert (h.header("x-ms-legal-hold") == "true") == ("x-ms-legal-hold" in worm)
    assert (h.header("x-ms-immutability-policy-until-date") is not None) == ("x-ms-legal-hold" not in worm)


def test_blob_worm_operations_need_i(wraw, wc):
    c = wc.container_name
    until = rfc1123(3600)
    for kind, tok in every_sas(c, "racwdxytl").items():
        r = wraw.request("PUT", f"/{c}/b", raw_query=f"comp=legalhold&{tok}", sign=False,
                         headers={"x-ms-legal-hold": "true"})
        assert_error_response(r, 403, "AuthorizationPermissionMismatch")
        r = wraw.request("PUT", f"/{c}/b", raw_query=f"comp=immutabilityPolicies&{tok}", sign=False,
                         headers={"x-ms-immutability-policy-until-date": until})
        assert_error_response(r, 403, "AuthorizationPermissionMismatch")
    h = wraw.head_blob(c, "b")
    assert h.header("x-ms-legal-hold") in (None, "false")
    assert h.header("x-ms-immutability-policy-until-date") is None
    tok = every_sas(c, "i")["blob"]
    r = wraw.request("PUT", f"/{c}/b", raw_query=f"comp=legalhold&{tok}", sign=False,
                     headers={"x-ms-legal-hold": "true"})
    assert r.status == 200, r
    r = wraw.request("PUT", f"/{c}/b", raw_query=f"comp=legalhold&{tok}", sign=False,
                     headers={"x-ms-legal-hold": "false"})
    assert r.status == 200, r
