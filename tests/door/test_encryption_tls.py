"""Customer-provided keys through the Python and JS SDKs, which send them only over HTTPS: Cobalt
refuses them (400 UnsupportedHeader, docs/encryption.md) instead of storing data the client
believes only its key can read, and nothing is written.  tests/conformance/test_encryption.py
covers every operation with raw requests."""
import base64
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient, CustomerProvidedEncryptionKey

from cobalt_server import REPO
from doorlib import DEV_ACCOUNT, DEV_KEY

RAW_KEY = b"0123456789abcdef0123456789abcdef"
CPK = CustomerProvidedEncryptionKey(base64.b64encode(RAW_KEY).decode(),
                                    base64.b64encode(hashlib.sha256(RAW_KEY).digest()).decode())


def refused(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except HttpResponseError as e:
        assert e.status_code == 400, e
        assert e.response.headers.get("x-ms-error-code") == "UnsupportedHeader", e
        return
    raise AssertionError("a customer-provided key was accepted")


def test_sdk_customer_key_refused_over_https(tls_server):
    svc = BlobServiceClient(f"https://127.0.0.1:{tls_server.https_port}/{DEV_ACCOUNT}",
                            credential=DEV_KEY, connection_verify=str(tls_server.ca.pem),
                            retry_total=0)
    cc = svc.create_container("cpk")
    bc = cc.get_blob_client("secret")
    refused(bc.upload_blob, b"only my key reads this", cpk=CPK)
    refused(bc.stage_block, "QUFBQQ==", b"block", cpk=CPK)
    assert not bc.exists()
    bc.upload_blob(b"plain")
    refused(bc.download_blob, cpk=CPK)
    refused(bc.set_blob_metadata, {"a": "b"}, cpk=CPK)
    refused(bc.create_snapshot, cpk=CPK)
    assert bc.download_blob().readall() == b"plain"
    assert bc.get_blob_properties().metadata == {}


@pytest.mark.skipif(shutil.which("node") is None or not (REPO / "node_modules/@azure").exists(),
                    reason="node or @azure/storage-blob missing (scripts/deps.sh)")
def test_js_sdk_customer_key_refused_over_https(tls_server):
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=str(tls_server.ca.pem),
               COBALT_URL=f"https://127.0.0.1:{tls_server.https_port}/{DEV_ACCOUNT}",
               NODE_PATH=str(REPO / "node_modules"))
    p = subprocess.run(["node", Path(__file__).with_name("js_cpk.mjs")], env=env, timeout=120,
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.strip().endswith("js cpk over https: refused"), \
        p.stdout + p.stderr
