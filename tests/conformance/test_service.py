"""Service-level behaviour: account information, versions, common headers, accounts, secondary."""
import base64
import email.utils
import os

from azure.storage.blob import BlobServiceClient

from cobalt_testlib import (ACCOUNT, KEY, CobaltServer, assert_error_response, connection_string, expect_error,
                            unique_name)


def test_get_account_information(service, container, raw):
    info = service.get_account_information()
    assert info["sku_name"]
    assert info["account_kind"]
    # The same from a container and a blob URL, and via HEAD.
    assert container.get_account_information()["account_kind"] == info["account_kind"]
    container.get_blob_client("x").upload_blob(b"x")
    assert container.get_blob_client("x").get_account_information()["sku_name"] == info["sku_name"]
    for path in ("/", f"/{container.container_name}", f"/{container.container_name}/x"):
        for method in ("GET", "HEAD"):
            r = raw.request(method, path, query={"restype": "account", "comp": "properties"})
            assert r.status == 200, (method, path, r)
            assert r.header("x-ms-sku-name") == info["sku_name"]
            assert r.header("x-ms-account-kind") == info["account_kind"]
            assert r.header("x-ms-is-hns-enabled") == "false"
            assert r.body == b""


def test_version_echo_and_common_headers(raw, container):
    for version in ("2021-12-02", "2026-10-06", "2019-02-02", "2099-12-31"):
        r = raw.request("GET", f"/{container.container_name}", query={"restype": "container"}, version=version,
                        headers={"x-ms-client-request-id": f"cid-{version}"})
        assert r.status == 200, (version, r)
        assert r.header("x-ms-version") == version
        assert r.header("x-ms-client-request-id") == f"cid-{version}"
        assert r.header("x-ms-request-id")
        assert r.header("date") and email.utils.parsedate_to_datetime(r.header("date"))
    # An unknown future version works for writes too and is echoed on errors.
    r = raw.put_blob(container.container_name, "future.bin", b"f", version="2099-12-31")
    assert r.status == 201 and r.header("x-ms-version") == "2099-12-31", r
    r = raw.get_blob(container.container_name, "missing.bin", version="2099-12-31")
    assert_error_response(r, 404, "BlobNotFound")
    assert r.header("x-ms-version") == "2099-12-31"


def test_request_ids_are_unique(raw, container):
    ids = set()
    for _ in range(20):
        r = raw.request("GET", f"/{container.container_name}", query={"restype": "container"})
        ids.add(r.header("x-ms-request-id"))
    assert len(ids) == 20


def test_sdk_sees_version_it_sent(container):
    seen = []
    props = container.get_container_properties(raw_response_hook=seen.append)
    assert props.name == container.container_name
    sent = seen[-1].http_request.headers["x-ms-version"]
    assert seen[-1].http_response.headers["x-ms-version"] == sent


def test_unknown_comp_is_rejected(raw, container):
    r = raw.request("GET", f"/{container.container_name}", query={"restype": "container", "comp": "nonsense"})
    assert_error_response(r, 400, "InvalidQueryParameterValue")


def test_secondary_account_path_reads(raw, container):
    container.get_blob_client("sec.txt").upload_blob(b"secondary read")
    r = raw.request("GET", f"/{container.container_name}/sec.txt", path_account=f"{ACCOUNT}-secondary")
    assert r.status == 200, r
    assert r.body == b"secondary read"


def test_account_is_read_access_geo_redundant(service, server):
    # The secondary is served for every account: to the SDKs it is an RA-GRS account.
    assert service.get_account_information()["sku_name"] == "Standard_RAGRS"
    secondary = BlobServiceClient(f"http://127.0.0.1:{server.port}/{ACCOUNT}-secondary",
                                  credential={"account_name": ACCOUNT, "account_key": KEY})
    assert secondary.get_account_information()["sku_name"] == "Standard_RAGRS"


def test_service_stats_on_the_secondary_only(raw):
    r = raw.request("GET", "/", query={"restype": "service", "comp": "stats"},
                    path_account=f"{ACCOUNT}-secondary")
    assert r.status == 200, r
    assert b"<GeoReplication><Status>live</Status><LastSyncTime>" in r.body
    stamp = r.body.split(b"<LastSyncTime>")[1].split(b"</LastSyncTime>")[0].decode()
    assert email.utils.parsedate_to_datetime(stamp) is not None
    r = raw.request("GET", "/", query={"restype": "service", "comp": "stats"})
    assert_error_response(r, 400, "InvalidQueryParameterValue")


def test_extra_accounts_from_env(tmp_path):
    k1 = base64.b64encode(os.urandom(64)).decode()
    k2 = base64.b64encode(os.urandom(64)).decode()
    env = {"COBALT_ACCOUNTS": f"acct2:{k1}:{k2};acct3:{k1}", "AZURITE_ACCOUNTS": None}
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", env=env).start()
    try:
        c1 = BlobServiceClient.from_connection_string(connection_string(srv.port, k1, "acct2"), retry_total=0)
        c2 = BlobServiceClient.from_connection_string(connection_string(srv.port, k2, "acct2"), retry_total=0)
        name = unique_name("acc")
        c1.create_container(name)
        c1.get_blob_client(name, "b").upload_blob(b"acct2 data")
        # The second key works on the same account.
        assert c2.get_blob_client(name, "b").download_blob().readall() == b"acct2 data"
        # Accounts are separate namespaces.
        c3 = BlobServiceClient.from_connection_string(connection_string(srv.port, k1, "acct3"), retry_total=0)
        assert [c.name for c in c3.list_containers()] == []
        # acct3 has only one key: k2 is wrong for it.
        bad = BlobServiceClient.from_connection_string(connection_string(srv.port, k2, "acct3"), retry_total=0)
        expect_error(lambda: list(bad.list_containers()), 403, "AuthenticationFailed")
        # A key of one account does not open another.
        wrong = BlobServiceClient.from_connection_string(connection_string(srv.port, KEY, "acct2"), retry_total=0)
        expect_error(lambda: list(wrong.list_containers()), 403, "AuthenticationFailed")
    finally:
        assert srv.stop() == 0


def test_azurite_accounts_env_is_read(tmp_path):
    k1 = base64.b64encode(os.urandom(32)).decode()
    env = {"AZURITE_ACCOUNTS": f"azacct:{k1}", "COBALT_ACCOUNTS": None}
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", env=env).start()
    try:
        c = BlobServiceClient.from_connection_string(connection_string(srv.port, k1, "azacct"), retry_total=0)
        name = unique_name("az")
        c.create_container(name)
        assert [x.name for x in c.list_containers()] == [name]
    finally:
        assert srv.stop() == 0


def test_version_and_help_commands():
    import subprocess
    from cobalt_testlib import binary
    out = subprocess.run([str(binary()), "version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out
    assert any(ch.isdigit() for ch in out.stdout + out.stderr), out
    out = subprocess.run([str(binary()), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out
    assert "--data-dir" in out.stdout + out.stderr
    out = subprocess.run([str(binary()), "serve", "--no-such-flag"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode != 0
