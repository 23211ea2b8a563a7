"""OAuth over HTTPS: bearer tokens (RS256, ES256) verified against a configured issuer's JWKS,
roles at account and container scope, Get User Delegation Key and user delegation SASes, the
negative matrix of the front-door issue, and keys, roles and the delegation secret reloaded on
SIGHUP."""
import base64
import html
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import (BlobSasPermissions, BlobServiceClient, ContainerSasPermissions,
                                generate_blob_sas, generate_container_sas)

from cobalt_server import REPO, free_port, run_cli
from doorlib import (DEV_ACCOUNT, DEV_KEY, CertAuthority, Signer, StaticToken, claims, new_oid,
                     write_jwks)

ISS = "https://login.test.example/tenant-1/v2.0"
OWNER, READER, SCOPED, DELEGATOR, NOBODY = (new_oid() for _ in range(5))
GROUP = "5e1c0000-aaaa-bbbb-cccc-000000000001"


class Env:
    """One HTTPS server with an issuer, roles and a delegation secret from a config file."""

    def __init__(self, tmp_path, start_server, test_clock=False):
        self.tmp = tmp_path
        self.ca = CertAuthority(tmp_path / "ca")
        cert, key = self.ca.issue("server")
        self.rsa, self.ec = Signer("RS256", "rsa-1"), Signer("ES256", "ec-1")
        self.stranger = Signer("RS256", "rsa-1")     # same kid, not in the JWKS
        write_jwks(tmp_path / "jwks.json", self.rsa, self.ec)
        self.https_port = free_port()
        self.secret = base64.b64encode(os.urandom(32)).decode()
        self.conf = tmp_path / "cobalt.conf"
        self.roles = [f"oid:{OWNER} Owner {DEV_ACCOUNT}",
                      f"oid:{READER} Reader {DEV_ACCOUNT}",
                      f"oid:{SCOPED} Contributor {DEV_ACCOUNT}/scoped",
                      f"oid:{DELEGATOR} Delegator {DEV_ACCOUNT}",
                      f"group:{GROUP} Contributor {DEV_ACCOUNT}"]
        self.keys = [DEV_KEY]
        self.write_conf(cert, key)
        self.srv = start_server("--config", self.conf, "--log-level", "info",
                                test_clock=test_clock)
        self.url = f"https://127.0.0.1:{self.https_port}/{DEV_ACCOUNT}"

    def write_conf(self, cert=None, key=None):
        if cert is not None:
            self.cert, self.key = cert, key
        lines = [f"https-port = {self.https_port}", f"tls-cert = {self.cert}",
                 f"tls-key = {self.key}",
                 f"account = {DEV_ACCOUNT}:{':'.join(self.keys)}",
                 f"issuer = {ISS} jwks={self.tmp / 'jwks.json'} audience=api://cobalt-tests",
                 f"delegation-secret = {self.secret}"]
        lines += [f"role = {r}" for r in self.roles]
        self.conf.write_text("\n".join(lines) + "\n")

    def sighup(self):
        mark = self.srv.log_text().count("SIGHUP: ")
        self.srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while True:
            text = self.srv.log_text()
            if "reloaded" in text.split("SIGHUP: reloading")[-1] or "refused" in text.split(
                    "SIGHUP: reloading")[-1]:
                if text.count("SIGHUP: ") > mark:
                    return text
            assert time.monotonic() < deadline, self.srv.log_tail()
            time.sleep(0.05)

    def token(self, oid, signer=None, **kw):
        return (signer or self.rsa).token(claims(ISS, oid, **kw))

    def client(self, oid=None, token=None, **kw):
        cred = StaticToken(token or self.token(oid, **kw))
        return BlobServiceClient(self.url, credential=cred, connection_verify=str(self.ca.pem),
                                 retry_total=0)

    def raw(self, method, path, headers=None, body=None):
        ctx = ssl.create_default_context(cafile=str(self.ca.pem))
        c = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=ctx, timeout=20)
        h = {"x-ms-version": "2021-12-02", "x-ms-date": time.strftime(
            "%a, %d %b %Y %H:%M:%S GMT", time.gmtime())}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read().decode()
        c.close()
        return r, data


@pytest.fixture
def env(tmp_path, start_server):
    return Env(tmp_path, start_server)


def test_owner_every_operation_family(env):
    svc = env.client(OWNER)
    cc = svc.create_container("owned", metadata={"a": "1"})
    assert "owned" in [c.name for c in svc.list_containers()]
    assert cc.get_container_properties().metadata == {"a": "1"}
    cc.set_container_metadata({"b": "2"})
    bc = cc.get_blob_client("blob.txt")
    bc.upload_blob(b"hello bearer", metadata={"m": "v"})
    assert bc.download_blob().readall() == b"hello bearer"
    bc.set_http_headers(content_settings=None)
    bc.set_blob_metadata({"x": "y"})
    assert bc.get_blob_properties().metadata == {"x": "y"}
    bc.set_blob_tags({"k": "v"})
    assert bc.get_blob_tags() == {"k": "v"}
    assert [b.name for b in svc.find_blobs_by_tags("\"k\"='v'")] == ["blob.txt"]
    bc.create_snapshot()
    lease = bc.acquire_lease(15)
    lease.release()
    blocks = cc.get_blob_client("blocks")
    blocks.stage_block("YQ==", b"aa")
    blocks.stage_block("Yg==", b"bb")
    blocks.commit_block_list(["YQ==", "Yg=="])
    assert blocks.download_blob().readall() == b"aabb"
    app = cc.get_blob_client("app")
    app.create_append_blob()
    app.append_block(b"1")
    app.append_block(b"2")
    assert app.download_blob().readall() == b"12"
    cc.get_blob_client("copy").start_copy_from_url(bc.url)
    assert sorted(b.name for b in cc.list_blobs()) == ["app", "blob.txt", "blocks", "copy"]
    bc.delete_blob(delete_snapshots="include")
    svc.get_service_properties()
    svc.delete_container("owned")


def test_es256_and_group_roles(env):
    svc = env.client(NOBODY, signer=env.ec, groups=["other", GROUP])
    svc.create_container("bygroup")
    svc.get_container_client("bygroup").upload_blob("b", b"x")
    # the same principal without the group has no role
    with pytest.raises(HttpResponseError) as e:
        env.client(NOBODY, signer=env.ec).get_container_client("bygroup").download_blob("b")
    assert e.value.error_code == "AuthorizationPermissionMismatch"


def test_reader_cannot_write(env):
    env.client(OWNER).create_container("readable").upload_blob("b", b"data")
    cc = env.client(READER).get_container_client("readable")
    assert cc.download_blob("b").readall() == b"data"
    assert [b.name for b in cc.list_blobs()] == ["b"]
    for write in (lambda: cc.upload_blob("new", b"x"), lambda: cc.delete_blob("b"),
                  lambda: cc.set_container_metadata({"a": "b"}),
                  lambda: cc.get_blob_client("b").set_blob_tags({"a": "b"})):
        with pytest.raises(HttpResponseError) as e:
            write()
        assert e.value.status_code == 403
        assert e.value.error_code == "AuthorizationPermissionMismatch"


def test_container_scoped_role(env):
    env.client(OWNER).create_container("scoped")
    env.client(OWNER).create_container("elsewhere")
    svc = env.client(SCOPED)
    svc.get_container_client("scoped").upload_blob("mine", b"ok")
    assert svc.get_container_client("scoped").download_blob("mine").readall() == b"ok"
    for act in (lambda: svc.get_container_client("elsewhere").upload_blob("x", b"no"),
                lambda: list(svc.get_container_client("elsewhere").list_blobs()),
                lambda: list(svc.list_containers()),          # account scope: not granted
                lambda: svc.create_container("another")):
        with pytest.raises(HttpResponseError) as e:
            act()
        assert e.value.status_code == 403 and e.value.error_code == "AuthorizationPermissionMismatch"


def _refused(env, token, detail):
    r, body = env.raw("GET", f"/{DEV_ACCOUNT}?comp=list", {"Authorization": f"Bearer {token}"})
    assert r.status == 401, body
    assert r.getheader("x-ms-error-code") == "InvalidAuthenticationInfo"
    assert detail in html.unescape(body), body
    assert r.getheader("WWW-Authenticate") == (
        "Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize "
        "resource_id=https://storage.azure.com")


def test_negative_matrix(env):
    now = int(time.time())
    ok = env.token(OWNER)
    r, body = env.raw("GET", f"/{DEV_ACCOUNT}?comp=list", {"Authorization": f"Bearer {ok}"})
    assert r.status == 200, body
    _refused(env, env.rsa.token(claims(ISS, OWNER, exp=now - 3600, nbf=now - 7200)),
             "The token is expired")
    _refused(env, env.rsa.token(claims(ISS, OWNER, nbf=now + 3600, exp=now + 7200)),
             "The token is not yet valid")
    _refused(env, env.token(OWNER, aud="https://other.example"), "Audience validation failed")
    _refused(env, env.rsa.token(claims("https://evil.example/v2.0", OWNER)),
             "Issuer validation failed")
    _refused(env, env.rsa.token(claims(ISS, OWNER), headers={"kid": "rsa-404"}),
             "Unable to match key: kid: 'rsa-404'")
    _refused(env, env.stranger.token(claims(ISS, OWNER)), "The signature is invalid")
    h, p, s = ok.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(p + "=="))
    tampered["oid"] = new_oid()
    p2 = base64.urlsafe_b64encode(json.dumps(tampered).encode()).rstrip(b"=").decode()
    _refused(env, f"{h}.{p2}.{s}", "The signature is invalid")
    none_hdr = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    _refused(env, f"{none_hdr}.{p}.", "algorithm is not supported")
    # HS256 signed with the RSA public key's bytes: the classic key-confusion attack
    import jwt
    pem = env.rsa.key.public_key().public_bytes(
        encoding=__import__("cryptography.hazmat.primitives.serialization",
                            fromlist=["Encoding"]).Encoding.PEM,
        format=__import__("cryptography.hazmat.primitives.serialization",
                          fromlist=["PublicFormat"]).PublicFormat.SubjectPublicKeyInfo)
    try:
        hs = jwt.encode(claims(ISS, OWNER), pem, algorithm="HS256", headers={"kid": "rsa-1"})
        _refused(env, hs, "algorithm is not supported")
    except jwt.exceptions.InvalidKeyError:
        pass  # this PyJWT refuses to make one; the alg check above covers the server side
    _refused(env, "not-a-jwt", "The token is malformed")
    _refused(env, env.token(OWNER, aud="api://cobalt-tests").rsplit(".", 1)[0] + ".%%%",
             "The token is malformed")
    # a configured extra audience and the account URL audience are accepted
    for aud in ("api://cobalt-tests", f"https://{DEV_ACCOUNT}.blob.core.windows.net/",
                ["x", "https://storage.azure.com/"]):
        r, body = env.raw("GET", f"/{DEV_ACCOUNT}?comp=list",
                          {"Authorization": f"Bearer {env.token(OWNER, aud=aud)}"})
        assert r.status == 200, (aud, body)
    # a principal without any role: authenticated, not authorized
    r, body = env.raw("GET", f"/{DEV_ACCOUNT}?comp=list",
                      {"Authorization": f"Bearer {env.token(NOBODY)}"})
    assert r.status == 403 and r.getheader("x-ms-error-code") == "AuthorizationPermissionMismatch"


def test_bearer_cannot_do_account_key_acts(env):
    env.client(OWNER).create_container("worm")
    r, body = env.raw("PUT", f"/{DEV_ACCOUNT}/worm?restype=container&comp=legalhold",
                      {"Authorization": f"Bearer {env.token(OWNER)}", "x-ms-legal-hold": "true",
                       "Content-Length": "0"})
    assert r.status == 403 and r.getheader("x-ms-error-code") == "AuthorizationPermissionMismatch"


KEYINFO = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><KeyInfo><Start>{}</Start>"
           "<Expiry>{}</Expiry></KeyInfo>")


def _iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_user_delegation_key_and_sas(env):
    owner = env.client(OWNER)
    owner.create_container("shared").upload_blob("doc.txt", b"delegated read")
    now = datetime.now(timezone.utc)
    udk = env.client(DELEGATOR).get_user_delegation_key(now - timedelta(minutes=1),
                                                        now + timedelta(hours=1))
    assert udk.signed_oid == DELEGATOR and udk.signed_service == "b"
    assert udk.signed_tid == "72f988bf-86f1-41af-91ab-2d7cd011db47"
    # the Delegator has no data role: its SAS grants nothing
    sas = generate_blob_sas(DEV_ACCOUNT, "shared", "doc.txt", user_delegation_key=udk,
                            permission=BlobSasPermissions(read=True),
                            expiry=now + timedelta(minutes=30))
    anon = BlobServiceClient(f"{env.url}?{sas}", connection_verify=str(env.ca.pem),
                             retry_total=0)
    with pytest.raises(HttpResponseError) as e:
        anon.get_blob_client("shared", "doc.txt").download_blob()
    assert e.value.error_code == "AuthorizationPermissionMismatch"
    # the Reader's key: a second client reads with it, and cannot write with it
    udk = env.client(READER).get_user_delegation_key(now - timedelta(minutes=1),
                                                     now + timedelta(hours=1))
    sas = generate_blob_sas(DEV_ACCOUNT, "shared", "doc.txt", user_delegation_key=udk,
                            permission=BlobSasPermissions(read=True, write=True),
                            expiry=now + timedelta(minutes=30))
    second = BlobServiceClient(f"{env.url}?{sas}", connection_verify=str(env.ca.pem),
                               retry_total=0)
    assert second.get_blob_client("shared", "doc.txt").download_blob().readall() == \
        b"delegated read"
    with pytest.raises(HttpResponseError) as e:
        second.get_blob_client("shared", "doc.txt").upload_blob(b"no", overwrite=True)
    assert e.value.error_code == "AuthorizationPermissionMismatch"
    # the Owner's container SAS lists and writes; its letters still bound it
    udk = owner.get_user_delegation_key(now - timedelta(minutes=1), now + timedelta(hours=1))
    csas = generate_container_sas(DEV_ACCOUNT, "shared", user_delegation_key=udk,
                                  permission=ContainerSasPermissions(list=True, write=True,
                                                                     create=True),
                                  expiry=now + timedelta(minutes=30))
    cc = BlobServiceClient(f"{env.url}?{csas}", connection_verify=str(env.ca.pem),
                           retry_total=0).get_container_client("shared")
    cc.upload_blob("via-sas", b"written")
    assert sorted(b.name for b in cc.list_blobs()) == ["doc.txt", "via-sas"]
    with pytest.raises(HttpResponseError) as e:
        cc.delete_blob("via-sas")
    assert e.value.error_code == "AuthorizationPermissionMismatch"
    # a forged key value fails the signature
    udk.value = base64.b64encode(os.urandom(32)).decode()
    forged = generate_blob_sas(DEV_ACCOUNT, "shared", "doc.txt", user_delegation_key=udk,
                               permission=BlobSasPermissions(read=True),
                               expiry=now + timedelta(minutes=30))
    with pytest.raises(HttpResponseError) as e:
        BlobServiceClient(f"{env.url}?{forged}", connection_verify=str(env.ca.pem),
                          retry_total=0).get_blob_client("shared", "doc.txt").download_blob()
    assert e.value.status_code == 403 and e.value.error_code == "AuthenticationFailed"


def test_user_delegation_key_refusals(env):
    now = datetime.now(timezone.utc)
    body = KEYINFO.format(_iso(now), _iso(now + timedelta(hours=1)))
    path = f"/{DEV_ACCOUNT}/?restype=service&comp=userdelegationkey"
    # Shared Key (over HTTPS) and SAS callers: Azure's message
    key_client = BlobServiceClient(env.url, credential=DEV_KEY,
                                   connection_verify=str(env.ca.pem), retry_total=0)
    with pytest.raises(HttpResponseError) as e:
        key_client.get_user_delegation_key(now, now + timedelta(hours=1))
    assert e.value.status_code == 403 and e.value.error_code == "AuthenticationFailed"
    assert "Only authentication scheme Bearer is supported" in str(e.value)
    # too long, or ending before it starts: 400 InvalidXmlNodeValue naming Expiry
    tok = {"Authorization": f"Bearer {env.token(OWNER)}"}
    for start, expiry in ((now, now + timedelta(days=8)), (now, now - timedelta(hours=1))):
        r, text = env.raw("POST", path, tok, KEYINFO.format(_iso(start), _iso(expiry)))
        assert r.status == 400 and r.getheader("x-ms-error-code") == "InvalidXmlNodeValue", text
        assert "<XmlNodeName>Expiry</XmlNodeName>" in text
    r, text = env.raw("POST", path, tok, "<KeyInfo><Start>x</Start></KeyInfo>")
    assert r.status == 400
    # a principal with no role at the account
    r, text = env.raw("POST", path, {"Authorization": f"Bearer {env.token(SCOPED)}"}, body)
    assert r.status == 403 and r.getheader("x-ms-error-code") == "AuthorizationPermissionMismatch"
    r, text = env.raw("POST", path, tok, body)
    assert r.status == 200 and "<SignedOid>" + OWNER in text, text


def test_shared_key_over_http_gets_bearer_only_message(env):
    # item 10 of issue 13: plain HTTP, Shared Key caller
    svc = BlobServiceClient(f"http://127.0.0.1:{env.srv.port}/{DEV_ACCOUNT}", credential=DEV_KEY,
                            retry_total=0)
    now = datetime.now(timezone.utc)
    with pytest.raises(HttpResponseError) as e:
        svc.get_user_delegation_key(now, now + timedelta(hours=1))
    assert e.value.status_code == 403 and e.value.error_code == "AuthenticationFailed"
    assert "Only authentication scheme Bearer is supported" in str(e.value)


def test_sas_past_its_key_expiry(tmp_path, start_server):
    env = Env(tmp_path, start_server, test_clock=True)
    env.client(OWNER).create_container("timed").upload_blob("b", b"x")
    now = datetime.now(timezone.utc)
    udk = env.client(OWNER).get_user_delegation_key(now - timedelta(minutes=1),
                                                    now + timedelta(hours=1))
    sas = generate_blob_sas(DEV_ACCOUNT, "timed", "b", user_delegation_key=udk,
                            permission=BlobSasPermissions(read=True),
                            expiry=now + timedelta(hours=1))
    bc = BlobServiceClient(f"{env.url}?{sas}", connection_verify=str(env.ca.pem),
                           retry_total=0).get_blob_client("timed", "b")
    assert bc.download_blob().readall() == b"x"
    # a SAS may not outlive its key
    long = generate_blob_sas(DEV_ACCOUNT, "timed", "b", user_delegation_key=udk,
                             permission=BlobSasPermissions(read=True),
                             expiry=now + timedelta(hours=3))
    with pytest.raises(HttpResponseError) as e:
        BlobServiceClient(f"{env.url}?{long}", connection_verify=str(env.ca.pem),
                          retry_total=0).get_blob_client("timed", "b").download_blob()
    assert e.value.error_code == "AuthenticationFailed"
    env.srv.advance_clock(2 * 3600)
    with pytest.raises(HttpResponseError) as e:
        bc.download_blob()
    assert e.value.status_code == 403 and e.value.error_code == "AuthenticationFailed"
    assert "The user delegation key has expired" in str(e.value)


def test_sighup_rotates_keys_roles_and_delegation_secret(env):
    owner = env.client(OWNER)
    owner.create_container("rot").upload_blob("b", b"x")
    now = datetime.now(timezone.utc)
    udk = owner.get_user_delegation_key(now - timedelta(minutes=1), now + timedelta(hours=1))
    sas = generate_blob_sas(DEV_ACCOUNT, "rot", "b", user_delegation_key=udk,
                            permission=BlobSasPermissions(read=True),
                            expiry=now + timedelta(minutes=30))
    viasas = BlobServiceClient(f"{env.url}?{sas}", connection_verify=str(env.ca.pem),
                               retry_total=0).get_blob_client("rot", "b")
    assert viasas.download_blob().readall() == b"x"

    def by_key(k):
        return BlobServiceClient(env.url, credential=k, connection_verify=str(env.ca.pem),
                                 retry_total=0).get_container_client("rot")

    key2 = base64.b64encode(os.urandom(64)).decode()
    # add a second key: both work
    env.keys = [DEV_KEY, key2]
    env.write_conf()
    env.sighup()
    assert by_key(key2).download_blob("b").readall() == b"x"
    assert by_key(DEV_KEY).download_blob("b").readall() == b"x"
    # drop the first: only the second works; the Reader loses its role; the secret rotates
    env.keys = [key2]
    env.roles = [r for r in env.roles if not r.startswith(f"oid:{READER}")]
    env.secret = base64.b64encode(os.urandom(32)).decode()
    env.write_conf()
    env.sighup()
    assert by_key(key2).download_blob("b").readall() == b"x"
    with pytest.raises(HttpResponseError) as e:
        by_key(DEV_KEY).download_blob("b")
    assert e.value.error_code == "AuthenticationFailed"
    with pytest.raises(HttpResponseError) as e:
        env.client(READER).get_container_client("rot").download_blob("b")
    assert e.value.error_code == "AuthorizationPermissionMismatch"
    with pytest.raises(HttpResponseError) as e:
        viasas.download_blob()            # signed with a key of the old secret: revoked
    assert e.value.error_code == "AuthenticationFailed"
    # a broken configuration on SIGHUP keeps the current one
    env.conf.write_text(env.conf.read_text() + "role = nonsense\n")
    text = env.sighup()
    assert "keeping the current one" in text
    assert by_key(key2).download_blob("b").readall() == b"x"
    assert secret_not_logged(env)


def secret_not_logged(env):
    text = env.srv.log_text()
    return env.secret not in text and DEV_KEY[:20] not in text


def test_config_check_reports_bad_issuer_and_role(tmp_path):
    (tmp_path / "bad.json").write_text('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}')
    conf = tmp_path / "c.conf"
    conf.write_text(f"issuer = {ISS} jwks={tmp_path / 'bad.json'}\n")
    r = run_cli("config", "check", conf)
    assert r.returncode == 2 and f"{conf}:1: --issuer" in r.stderr
    assert "no RS256 or ES256" in r.stderr
    conf.write_text(f"role = oid:x Admin {DEV_ACCOUNT}\n")
    r = run_cli("config", "check", conf)
    assert r.returncode == 2 and f"{conf}:1: --role" in r.stderr and "'Admin'" in r.stderr
    conf.write_text("delegation-secret = c2hvcnQ=\n")
    r = run_cli("config", "check", conf)
    assert r.returncode == 2 and "c2hvcnQ" not in r.stderr


@pytest.mark.skipif(shutil.which("node") is None or not (REPO / "node_modules/@azure").exists(),
                    reason="node or @azure/storage-blob missing (scripts/deps.sh)")
def test_js_sdk_with_a_token(env):
    r = subprocess.run(["node", str(Path(__file__).with_name("js_oauth.mjs"))],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "NODE_EXTRA_CA_CERTS": str(env.ca.pem),
                            "COBALT_URL": env.url, "COBALT_TOKEN": env.token(OWNER),
                            "COBALT_READER_TOKEN": env.token(READER)})
    assert r.returncode == 0 and "js oauth: ok" in r.stdout, r.stdout + r.stderr
