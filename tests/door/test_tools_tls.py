"""The real tools over HTTPS with the test CA: `az storage` with a SAS, rclone and AzCopy with an
account SAS URL, and the JS SDK (js_https.mjs).  Each trusts the CA the way its users would
configure it: REQUESTS_CA_BUNDLE (az), SSL_CERT_FILE (the Go tools), NODE_EXTRA_CA_CERTS (Node)."""
import hashlib
import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.storage.blob import (AccountSasPermissions, BlobServiceClient, ResourceTypes,
                                generate_account_sas)

from cobalt_server import REPO
from doorlib import DEV_ACCOUNT, DEV_KEY

AZCOPY = REPO / "node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy_linux_amd64"


@pytest.fixture
def tls(tmp_path, tls_server):
    sas = generate_account_sas(DEV_ACCOUNT, DEV_KEY,
                               ResourceTypes(service=True, container=True, object=True),
                               AccountSasPermissions(read=True, write=True, delete=True,
                                                     list=True, add=True, create=True),
                               expiry=datetime.now(timezone.utc) + timedelta(hours=1),
                               protocol="https")
    return {"srv": tls_server, "ca": tls_server.ca.pem, "url": tls_server.url, "sas": sas,
            "tmp": tmp_path}


def tree(d: Path):
    d.mkdir(parents=True)
    (d / "hello.txt").write_text("hello over TLS\n")
    (d / "sub").mkdir()
    (d / "sub" / "3mb.bin").write_bytes(os.urandom(3 << 20))
    (d / "sub" / "empty").write_bytes(b"")
    return {p.relative_to(d).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
            for p in d.rglob("*") if p.is_file()}


def digests(d: Path):
    return {p.relative_to(d).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
            for p in d.rglob("*") if p.is_file()}


def run(cmd, env=None, timeout=300):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})})
    assert r.returncode == 0, f"{cmd[0]} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.mark.skipif(shutil.which("az") is None, reason="az CLI not installed (scripts/deps.sh)")
def test_az_with_sas_over_https(tls):
    t = tls["tmp"]
    want = tree(t / "src")
    env = {"AZURE_CONFIG_DIR": str(t / "az"), "AZURE_CORE_COLLECT_TELEMETRY": "no",
           "AZURE_CORE_ONLY_SHOW_ERRORS": "true", "REQUESTS_CA_BUNDLE": str(tls["ca"])}
    for k in ("AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_CONNECTION_STRING"):
        env[k] = ""
    cs = f"BlobEndpoint={tls['url']};SharedAccessSignature={tls['sas']}"
    run(["az", "storage", "container", "create", "-n", "azc", "--connection-string", cs], env)
    run(["az", "storage", "blob", "upload-batch", "-d", "azc", "-s", t / "src",
         "--connection-string", cs], env)
    (t / "dst").mkdir()
    run(["az", "storage", "blob", "download-batch", "-d", t / "dst", "-s", "azc",
         "--connection-string", cs], env)
    assert digests(t / "dst") == want


@pytest.mark.skipif(shutil.which("rclone") is None, reason="rclone not installed")
def test_rclone_over_https(tls):
    t = tls["tmp"]
    tree(t / "src")
    env = {"RCLONE_CONFIG": "/dev/null", "SSL_CERT_FILE": str(tls["ca"])}
    base = ["rclone", "--azureblob-sas-url", f"{tls['url']}?{tls['sas']}",
            "--azureblob-chunk-size", "1M", "--azureblob-upload-cutoff", "1M", "--retries", "1"]
    run(base + ["mkdir", ":azureblob:rct"], env)
    run(base + ["copy", t / "src", ":azureblob:rct/t"], env)
    run(base + ["check", t / "src", ":azureblob:rct/t"], env)   # sizes and MD5s
    run(base + ["copy", ":azureblob:rct/t", t / "dst"], env)
    assert digests(t / "dst") == digests(t / "src")


@pytest.mark.skipif(not AZCOPY.exists(), reason=f"{AZCOPY} missing (scripts/deps.sh)")
def test_azcopy_over_https(tls):
    t = tls["tmp"]
    want = tree(t / "src")
    azcopy = t / "azcopy"          # the npm package ships it without the execute bit
    shutil.copyfile(AZCOPY, azcopy)
    azcopy.chmod(0o755)
    env = {"HOME": str(t), "AZCOPY_LOG_LOCATION": str(t / "azlog"),
           "AZCOPY_JOB_PLAN_LOCATION": str(t / "azplan"), "AZCOPY_DISABLE_SYSLOG": "true",
           "SSL_CERT_FILE": str(tls["ca"])}
    BlobServiceClient(tls["url"], credential=DEV_KEY,
                      connection_verify=str(tls["ca"])).create_container("azc")
    run([azcopy, "copy", f"{t / 'src'}/*", f"{tls['url']}/azc/up?{tls['sas']}", "--recursive",
         "--from-to", "LocalBlob"], env)
    run([azcopy, "copy", f"{tls['url']}/azc/up/*?{tls['sas']}", str(t / "dst"), "--recursive",
         "--from-to", "BlobLocal"], env)
    assert digests(t / "dst") == want


@pytest.mark.skipif(shutil.which("node") is None or not (REPO / "node_modules/@azure").exists(),
                    reason="node or @azure/storage-blob missing (scripts/deps.sh)")
def test_js_sdk_over_https(tls):
    out = run(["node", Path(__file__).with_name("js_https.mjs")],
              {"NODE_EXTRA_CA_CERTS": str(tls["ca"]), "COBALT_URL": tls["url"],
               "COBALT_SAS": tls["sas"], "NODE_PATH": str(REPO / "node_modules")})
    assert "js over https: ok" in out
