"""HTTPS: a listener with --https-port/--tls-cert/--tls-key beside the HTTP one, TLS 1.2+ only,
the certificate reloaded on SIGHUP without dropping open connections, `spr=https` SASes refused
over HTTP and accepted over HTTPS, and the Python SDK over TLS with a test CA."""
import http.client
import signal
import socket
import ssl
import time
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import (AccountSasPermissions, BlobServiceClient, ResourceTypes,
                                generate_account_sas)

from cobalt_server import run_cli
from doorlib import DEV_ACCOUNT, DEV_KEY, CertAuthority, serial_of


@pytest.fixture
def ca(tls_server):
    return tls_server.ca


def https_client(srv, ca, credential=DEV_KEY, **kw):
    return BlobServiceClient(f"https://127.0.0.1:{srv.https_port}/{DEV_ACCOUNT}",
                             credential=credential, connection_verify=str(ca.pem), retry_total=0,
                             **kw)


def test_sdk_over_https_and_http_at_once(tls_server, ca):
    svc = https_client(tls_server, ca)
    cc = svc.create_container("tls")
    cc.upload_blob("a.txt", b"over TLS")
    assert cc.download_blob("a.txt").readall() == b"over TLS"
    plain = BlobServiceClient(f"http://127.0.0.1:{tls_server.port}/{DEV_ACCOUNT}",
                              credential=DEV_KEY, retry_total=0)
    assert plain.get_container_client("tls").download_blob("a.txt").readall() == b"over TLS"
    # a client that does not trust the test CA refuses the certificate
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        BlobServiceClient(f"https://127.0.0.1:{tls_server.https_port}/{DEV_ACCOUNT}",
                          credential=DEV_KEY, retry_total=0).get_service_properties()


@pytest.mark.parametrize("version,ok", [(ssl.TLSVersion.TLSv1, False),
                                        (ssl.TLSVersion.TLSv1_1, False),
                                        (ssl.TLSVersion.TLSv1_2, True),
                                        (ssl.TLSVersion.TLSv1_3, True)])
def test_tls_versions(tls_server, ca, version, ok):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(ca.pem))
    try:
        ctx.minimum_version = ctx.maximum_version = version
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip(f"this OpenSSL cannot offer {version}")
    with socket.create_connection(("127.0.0.1", tls_server.https_port), timeout=10) as raw:
        if ok:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                assert s.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2",
                                       ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
        else:
            with pytest.raises((ssl.SSLError, ConnectionResetError)):
                ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def _account_sas(protocol):
    return generate_account_sas(DEV_ACCOUNT, DEV_KEY, ResourceTypes(service=True, container=True,
                                                                    object=True),
                                AccountSasPermissions(read=True, list=True, write=True,
                                                      create=True),
                                expiry=datetime.now(timezone.utc) + timedelta(hours=1),
                                protocol=protocol)


def test_spr_https_refused_over_http_accepted_over_https(tls_server, ca):
    sas = _account_sas("https")
    assert "spr=https" in sas
    plain = BlobServiceClient(f"http://127.0.0.1:{tls_server.port}/{DEV_ACCOUNT}?{sas}",
                              retry_total=0)
    with pytest.raises(HttpResponseError) as e:
        list(plain.list_containers())
    assert e.value.status_code == 403
    assert e.value.error_code == "AuthorizationProtocolMismatch"
    secure = BlobServiceClient(f"https://127.0.0.1:{tls_server.https_port}/{DEV_ACCOUNT}?{sas}",
                               connection_verify=str(ca.pem), retry_total=0)
    secure.create_container("sprhttps")
    assert "sprhttps" in [c.name for c in secure.list_containers()]
    # spr=https,http works on both
    both = _account_sas("https,http")
    list(BlobServiceClient(f"http://127.0.0.1:{tls_server.port}/{DEV_ACCOUNT}?{both}",
                           retry_total=0).list_containers())


def test_sighup_reloads_the_certificate_keeping_connections(tls_server, ca):
    before = serial_of("127.0.0.1", tls_server.https_port, ca.pem)
    ctx = ssl.create_default_context(cafile=str(ca.pem))
    conn = http.client.HTTPSConnection("127.0.0.1", tls_server.https_port, context=ctx,
                                       timeout=10)
    conn.request("GET", f"/{DEV_ACCOUNT}?comp=list")   # anonymous: 403, but the socket lives
    r = conn.getresponse()
    r.read()
    assert r.status == 403 and not r.will_close
    # a new certificate in the same files, then SIGHUP
    new_cert, new_key = ca.issue("server2")
    tls_server.cert.write_bytes(new_cert.read_bytes())
    tls_server.key.write_bytes(new_key.read_bytes())
    tls_server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "certificate reloaded" not in tls_server.log_text():
        assert time.monotonic() < deadline, tls_server.log_tail()
        time.sleep(0.05)
    after = serial_of("127.0.0.1", tls_server.https_port, ca.pem)
    assert after != before
    # the connection opened before the reload still works
    conn.request("GET", f"/{DEV_ACCOUNT}?comp=list")
    r = conn.getresponse()
    r.read()
    assert r.status == 403
    conn.close()
    # a broken file on SIGHUP keeps the current certificate and the server
    tls_server.key.write_text("not a key\n")
    tls_server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "holds no unencrypted PEM private key" not in tls_server.log_text():
        assert time.monotonic() < deadline, tls_server.log_tail()
        time.sleep(0.05)
    assert serial_of("127.0.0.1", tls_server.https_port, ca.pem) == after


def test_refusals_at_start(tmp_path):
    ca = CertAuthority(tmp_path / "ca")
    cert, key = ca.issue("s")
    other_cert, other_key = ca.issue("other")
    r = run_cli("serve", "--https-port", "0", "--tls-cert", cert, "--tls-key", other_key,
                "--data-dir", tmp_path / "d")
    assert r.returncode == 2 and "does not belong to the certificate" in r.stderr + r.stdout
    r = run_cli("serve", "--https-port", "0", "--tls-cert", cert, "--data-dir", tmp_path / "d")
    assert r.returncode == 2 and "go together" in r.stderr
    conf = tmp_path / "c.conf"
    conf.write_text(f"https-port = 0\ntls-cert = {cert}\ntls-key = {tmp_path / 'absent.key'}\n")
    r = run_cli("config", "check", conf)
    assert r.returncode == 2 and "cannot read the key" in r.stderr + r.stdout


def test_bearer_over_plain_http_refused(tls_server):
    c = http.client.HTTPConnection("127.0.0.1", tls_server.port, timeout=10)
    c.request("GET", f"/{DEV_ACCOUNT}?comp=list",
              headers={"Authorization": "Bearer eyJ0eXAiOiJKV1QifQ.e30.c2ln",
                       "x-ms-version": "2021-08-06"})
    r = c.getresponse()
    body = r.read().decode()
    assert r.status == 403 and r.getheader("x-ms-error-code") == "AuthenticationFailed"
    assert "Authentication scheme Bearer is not allowed with HTTP" in body
