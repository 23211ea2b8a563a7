"""--host-suffix: ACCOUNT.SUFFIX addresses the account (the path starts at the container), as
Azure's and the SDKs' non-emulator URLs do; ACCOUNT-secondary.SUFFIX is the read-only secondary;
path-style keeps working.  Names under the suffix resolve to 127.0.0.1 inside this test process
only (getaddrinfo is wrapped), so no resolver is touched."""
import socket

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

from doorlib import DEV_ACCOUNT, DEV_KEY

SUFFIX = "blob.cobalt.test"


@pytest.fixture
def loopback_names(monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *a, **kw):
        if isinstance(host, str) and host.lower().endswith("." + SUFFIX):
            host = "127.0.0.1"
        return real(host, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_host_style_and_path_style(start_server, loopback_names):
    srv = start_server("--host-suffix", SUFFIX)
    host = BlobServiceClient(f"http://{DEV_ACCOUNT}.{SUFFIX}:{srv.port}",
                             credential={"account_name": DEV_ACCOUNT, "account_key": DEV_KEY},
                             retry_total=0)
    cc = host.create_container("hoststyle")
    cc.upload_blob("dir/a.txt", b"by host")
    assert [b.name for b in cc.list_blobs()] == ["dir/a.txt"]
    assert "hoststyle" in [c.name for c in host.list_containers()]
    # the same blob path-style
    path = BlobServiceClient(f"http://127.0.0.1:{srv.port}/{DEV_ACCOUNT}", credential=DEV_KEY,
                             retry_total=0)
    assert path.get_blob_client("hoststyle", "dir/a.txt").download_blob().readall() == b"by host"
    # the secondary by host name: reads, and refuses writes
    sec = BlobServiceClient(f"http://{DEV_ACCOUNT}-secondary.{SUFFIX}:{srv.port}",
                            credential={"account_name": DEV_ACCOUNT, "account_key": DEV_KEY},
                            retry_total=0)
    assert sec.get_blob_client("hoststyle", "dir/a.txt").download_blob().readall() == b"by host"
    with pytest.raises(HttpResponseError) as e:
        sec.get_container_client("hoststyle").upload_blob("b", b"x")
    assert e.value.error_code == "InsufficientAccountPermissions"


def test_unknown_account_by_host(start_server, loopback_names):
    srv = start_server("--host-suffix", SUFFIX)
    svc = BlobServiceClient(f"http://nosuchacct.{SUFFIX}:{srv.port}",
                            credential={"account_name": "nosuchacct", "account_key": DEV_KEY},
                            retry_total=0)
    with pytest.raises(HttpResponseError) as e:
        svc.create_container("x1x")
    assert e.value.status_code == 403


def test_without_suffix_host_names_are_path_style(start_server, loopback_names):
    srv = start_server()
    svc = BlobServiceClient(f"http://{DEV_ACCOUNT}.{SUFFIX}:{srv.port}",
                            credential={"account_name": DEV_ACCOUNT, "account_key": DEV_KEY},
                            retry_total=0)
    with pytest.raises(HttpResponseError):
        svc.create_container("notaccount")   # "/notaccount" is taken as an account name
