"""Copy operations (protocol doc §2.4, §2.11, §5.1, §5.6): Copy Blob, Copy Blob From URL, Abort
Copy Blob, Put Blob From URL, Put Block From URL, the x-ms-copy-* properties and include=copy.

Same-account copies are metadata only: the destination shares the source's needles, which
`cobalt fsck` counts once and which must outlive the deletion of either sharer, a restart and an
offline `cobalt compact`.  Copies from outside are served by a small HTTP server this module
starts on 127.0.0.2 (normal, chunked, Range-aware, slow and missing sources).  The default egress
policy refuses loopback destinations (tests/conformance/test_egress.py), so this module's server
allow-lists that one address: `--egress-allow 127.0.0.2`.
"""
import base64
import hashlib
import http.server
import os
import re
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import (BlobSasPermissions, BlobServiceClient, ContainerSasPermissions,
                                ContentSettings, StandardBlobTier, generate_blob_sas,
                                generate_container_sas)

from cobalt_testlib import (ACCOUNT, BACKEND, KEY, CobaltServer, assert_error_response,
                            run_cli, expect_error, md5_b64, unique_name)

KiB = 1024
MiB = 1024 * KiB
OUTSIDE = "127.0.0.2"                       # where the source "outside" listens
ALLOW = ["--egress-allow", OUTSIDE]


# ---- this module's server: the shared one's fixtures, with the source allow-listed ----------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("cobalt-copy")
    srv = CobaltServer(d / "data", d / "server.log", args=ALLOW).start()
    yield srv
    rc = srv.stop()
    assert not srv.sanitizer_reports(), srv.log_tail(80)
    assert rc == 0, f"server exited with status {rc} on SIGTERM:\n{srv.log_tail()}"


@pytest.fixture(scope="module")
def service(server):
    return server.client()


@pytest.fixture(scope="module")
def raw(server):
    return server.raw()


# ---- a source outside Cobalt -------------------------------------------------------------

class Source:
    """Bodies served by the test HTTP server, by path."""

    def __init__(self):
        self.files = {}              # path -> bytes (Content-Length, Range ignored)
        self.ranged = {}             # path -> bytes (honours Range with 206)
        self.chunked = {}            # path -> bytes (Transfer-Encoding: chunked)
        self.slow = {}               # path -> total length; sends 64 KiB, waits for its gate
        self.gates = {}              # path -> threading.Event that ends a slow answer
        self.raw_headers = {}        # path -> (bytes, [(name, value)]): headers sent as given
        self.requests = []           # (path, headers) seen


def make_handler(src):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            path = urllib.parse.urlsplit(self.path).path
            src.requests.append((path, dict(self.headers)))
            if path in src.files:
                body = src.files[path]
                self.send_response(200)
                self.send_header("Content-Type", "text/x-source")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=7")
                self.send_header("x-ms-meta-origin", "outside")
                self.end_headers()
                self.wfile.write(body)
            elif path in src.raw_headers:
                body, headers = src.raw_headers[path]
                self.send_response(200)
                for name, value in headers:   # latin-1 on the wire: one byte per character
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif path in src.ranged:
                body = src.ranged[path]
                m = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                if m:
                    a = int(m.group(1))
                    b = int(m.group(2)) if m.group(2) else len(body) - 1
                    part = body[a:b + 1]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {a}-{a + len(part) - 1}/{len(body)}")
                else:
                    part = body
                    self.send_response(200)
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                self.wfile.write(part)
            elif path in src.chunked:
                body = src.chunked[path]
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(body), 300 * KiB):
                    piece = body[i:i + 300 * KiB]
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            elif path in src.slow:
                total = src.slow[path]
                self.send_response(200)
                self.send_header("Content-Length", str(total))
                self.end_headers()
                try:
                    self.wfile.write(b"s" * (64 * KiB))
                    self.wfile.flush()
                    src.gates.setdefault(path, threading.Event()).wait(60)
                except OSError:
                    pass
                self.close_connection = True
            else:
                body = b"<Error><Code>BlobNotFound</Code></Error>"
                self.send_response(404)
                self.send_header("x-ms-error-code", "BlobNotFound")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

    return H


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass   # Cobalt hangs up on purpose (aborts, slices): not an error here


@pytest.fixture(scope="module")
def outside():
    src = Source()
    httpd = QuietServer((OUTSIDE, 0), make_handler(src))
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    src.base = f"http://{OUTSIDE}:{httpd.server_address[1]}"
    yield src
    for g in list(src.gates.values()):
        g.set()
    httpd.shutdown()
    httpd.server_close()


# ---- helpers -----------------------------------------------------------------------------

def volume_bytes(data_dir):
    return sum(f.stat().st_size for f in Path(data_dir, "volumes").iterdir() if f.is_file())



def fsck(data_dir):
    r = run_cli("fsck", str(data_dir))
    m = re.search(r"fsck: containers=(\d+) blobs=(\d+) staged=(\d+) needles=(\d+) bytes=(\d+) "
                  r"garbage_bytes=(\d+) problems=(\d+)", r.stdout)
    assert m, r.stdout + r.stderr
    keys = ("containers", "blobs", "staged", "needles", "bytes", "garbage", "problems")
    out = dict(zip(keys, map(int, m.groups())))
    assert r.returncode == 0 and out["problems"] == 0, r.stdout + r.stderr
    return out


def wait_copy(bc, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        p = bc.get_blob_properties()
        if p.copy.status != "pending" or time.monotonic() > deadline:
            return p
        time.sleep(0.05)


def raw_copy(raw, container, blob, source, headers=None):
    h = {"x-ms-copy-source": source}
    h.update(headers or {})
    return raw.request("PUT", f"/{container}/{blob}", headers=h)


# ---- same-account copies: shared extents ---------------------------------------------------

@pytest.mark.local_files
def test_copy_within_account_shares_extents(fresh_server):
    srv = fresh_server
    cc = srv.client().create_container("shared")
    data = os.urandom(3 * MiB + 5)
    src = cc.get_blob_client("src.bin")
    src.upload_blob(data, metadata={"Origin": "here"},
                    content_settings=ContentSettings(content_type="image/x-test", cache_control="no-cache"))
    before = volume_bytes(srv.data_dir)
    dsts = [cc.get_blob_client(f"copy-{i}.bin") for i in range(3)]
    for d in dsts:
        r = d.start_copy_from_url(src.url)
        assert r["copy_status"] == "success" and r["copy_id"]
    r = cc.get_blob_client("sync.bin").start_copy_from_url(src.url, requires_sync=True)
    assert r["copy_status"] == "success"
    cc.get_blob_client("put-from-url.bin").upload_blob_from_url(src.url)
    assert volume_bytes(srv.data_dir) == before, "a same-account copy wrote bytes"
    for d in dsts + [cc.get_blob_client("sync.bin"), cc.get_blob_client("put-from-url.bin")]:
        assert d.download_blob().readall() == data
    p = dsts[0].get_blob_properties()
    assert p.copy.status == "success" and p.copy.progress == f"{len(data)}/{len(data)}"
    assert p.copy.source == src.url
    assert p.metadata == {"Origin": "here"}
    assert p.content_settings.content_type == "image/x-test"
    assert p.content_settings.cache_control == "no-cache"
    assert p.content_settings.content_md5 == hashlib.md5(data).digest()
    raw = srv.raw().head_blob("shared", "copy-0.bin")
    assert raw.header("x-ms-copy-completion-time"), raw
    assert raw.header("x-ms-copy-id") == p.copy.id
    assert srv.stop() == 0
    st = fsck(srv.data_dir)
    assert st["blobs"] == 6 and st["needles"] == 1, st


@pytest.mark.local_files
def test_sharers_outlive_each_other_restart_and_compaction(tmp_path):
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log",
                       args=["--volume-size", str(MiB), "--compact-threshold", "0"]).start()
    try:
        cc = srv.client().create_container("sharers")
        data = os.urandom(2 * MiB + 3)
        a, b, c = (cc.get_blob_client(n) for n in ("a", "b", "c"))
        a.upload_blob(data)
        b.start_copy_from_url(a.url)
        c.start_copy_from_url(b.url)                       # a copy of a copy
        # Seal the volume holding the shared needle and make it mostly dead.
        for i in range(3):
            cc.get_blob_client(f"filler{i}").upload_blob(os.urandom(MiB + 1))
        a.delete_blob()
        assert b.download_blob().readall() == data
        assert srv.restart() == 0
        cc = srv.client().get_container_client("sharers")
        assert cc.get_blob_client("b").download_blob().readall() == data
        cc.get_blob_client("b").delete_blob()              # the other sharer goes too
        for i in range(3):
            cc.get_blob_client(f"filler{i}").delete_blob()
        assert cc.get_blob_client("c").download_blob().readall() == data
        assert srv.stop() == 0
        r = run_cli("compact", "--threshold", "0", str(srv.data_dir))
        assert r.returncode == 0, r.stdout + r.stderr
        m = re.search(r"volumes=(\d+) needles_moved=(\d+)", r.stdout)
        assert m and int(m.group(1)) >= 1 and int(m.group(2)) >= 1, r.stdout
        st = fsck(srv.data_dir)
        assert st["blobs"] == 1 and st["needles"] == 1, st
        srv.start()
        cc = srv.client().get_container_client("sharers")
        assert cc.get_blob_client("c").download_blob().readall() == data
        # Overwriting the last sharer leaves the new content alone, and fsck clean.
        cc.get_blob_client("c").upload_blob(b"new", overwrite=True)
        assert cc.get_blob_client("c").download_blob().readall() == b"new"
    finally:
        srv.stop()
    fsck(srv.data_dir)


def test_copy_metadata_properties_and_overwrite(container):
    src = container.get_blob_client("src")
    src.upload_blob(b"source bytes", metadata={"A": "1"},
                    content_settings=ContentSettings(content_type="text/plain", content_language="de"))
    dst = container.get_blob_client("dst")
    dst.upload_blob(b"old content that is longer", metadata={"Old": "x"})
    dst.stage_block("blk1", b"staged")
    r = dst.start_copy_from_url(src.url, metadata={"New": "2"})
    assert r["copy_status"] == "success"
    p = dst.get_blob_properties()
    assert p.metadata == {"New": "2"}
    assert p.size == len(b"source bytes")
    assert p.content_settings.content_type == "text/plain"
    assert p.content_settings.content_language == "de"
    assert dst.get_block_list("uncommitted")[1] == []          # uncommitted blocks dropped
    # Set Metadata keeps the copy properties; Put Blob clears them (§5.6).
    dst.set_blob_metadata({"Later": "y"})
    assert dst.get_blob_properties().copy.status == "success"
    dst.upload_blob(b"fresh", overwrite=True)
    assert dst.get_blob_properties().copy.status is None


def test_copy_names_the_destination_tier(container):
    src = container.get_blob_client("tier-src")
    src.upload_blob(b"tiered")
    dst = container.get_blob_client("tier-dst")
    assert dst.start_copy_from_url(src.url, standard_blob_tier=StandardBlobTier.COOL)["copy_status"] == "success"
    p = dst.get_blob_properties()
    assert p.blob_tier == "Cool" and not p.blob_tier_inferred
    sync = container.get_blob_client("tier-sync")
    sync.start_copy_from_url(src.url, requires_sync=True, standard_blob_tier=StandardBlobTier.COLD)
    assert sync.get_blob_properties().blob_tier == "Cold"


def test_synchronous_copies_refuse_an_archived_source(container):
    src = container.get_blob_client("archived-src")
    src.upload_blob(b"cold data")
    src.set_standard_blob_tier("Archive")
    dst = container.get_blob_client("archived-dst")
    expect_error(dst.start_copy_from_url, 409, "BlobArchived", source_url=src.url,
                 requires_sync=True)
    expect_error(dst.upload_blob_from_url, 409, "BlobArchived", source_url=src.url)
    expect_error(dst.stage_block_from_url, 409, "BlobArchived", block_id="YmxrMQ==",
                 source_url=src.url)
    assert not dst.exists()
    # The asynchronous Copy Blob may copy it within the account, as Azure's rehydrating copy does.
    assert dst.start_copy_from_url(src.url)["copy_status"] == "success"


def test_copy_onto_itself_and_from_snapshot(container):
    b = container.get_blob_client("self")
    b.upload_blob(b"v1", metadata={"K": "1"})
    r = b.start_copy_from_url(b.url, metadata={"K": "2"})
    assert r["copy_status"] == "success"
    assert b.get_blob_properties().metadata == {"K": "2"}
    assert b.download_blob().readall() == b"v1"


def test_copy_from_snapshot(container):
    b = container.get_blob_client("based")
    b.upload_blob(b"v1")
    try:
        snap = b.create_snapshot()
    except HttpResponseError as e:
        if e.status_code in (400, 405, 501):
            pytest.skip("this build has no snapshots")
        raise
    b.upload_blob(b"v2", overwrite=True)
    restored = container.get_blob_client("restored")
    restored.start_copy_from_url(f"{b.url}?snapshot={urllib.parse.quote(snap['snapshot'])}")
    assert restored.download_blob().readall() == b"v1"


def test_copy_source_missing_and_bad_urls(container, raw):
    dst = container.get_blob_client("dst")
    expect_error(dst.start_copy_from_url, 404, None,
                 container.get_blob_client("nope").url)
    expect_error(dst.start_copy_from_url, 404, None,
                 container.url.replace(container.container_name, "no-such-container") + "/x")
    r = raw_copy(raw, container.container_name, "dst", "ftp://example.com/x")
    assert r.status == 400 and r.error_code == "InvalidHeaderValue", r
    with pytest.raises(Exception):
        dst.get_blob_properties()


def test_copy_destination_conditions_and_create_only(container, raw):
    src = container.get_blob_client("src")
    src.upload_blob(b"s")
    dst = container.get_blob_client("dst")
    etag = dst.upload_blob(b"d")["etag"]
    r = raw_copy(raw, container.container_name, "dst", src.url, {"If-None-Match": "*"})
    assert r.status == 409 and r.error_code == "BlobAlreadyExists", r
    expect_error(dst.start_copy_from_url, 412, "ConditionNotMet", src.url,
                 etag='"0x1"', match_condition=MatchConditions.IfNotModified)
    assert dst.start_copy_from_url(src.url, etag=etag,
                                   match_condition=MatchConditions.IfNotModified)["copy_status"] == "success"


def test_source_conditions(container, raw):
    src = container.get_blob_client("src")
    etag = src.upload_blob(b"source")["etag"]
    dst = container.get_blob_client("dst")
    expect_error(dst.start_copy_from_url, 412, None, src.url,
                 source_etag='"0x8D0000000000000"', source_match_condition=MatchConditions.IfNotModified)
    expect_error(dst.start_copy_from_url, 412, None, src.url,
                 source_etag=etag, source_match_condition=MatchConditions.IfModified)
    future = datetime.now(timezone.utc) + timedelta(days=1)
    past = datetime.now(timezone.utc) - timedelta(days=1)
    expect_error(dst.start_copy_from_url, 412, None, src.url, source_if_modified_since=future)
    expect_error(dst.start_copy_from_url, 412, None, src.url, source_if_unmodified_since=past)
    expect_error(dst.upload_blob_from_url, 412, None, src.url, overwrite=True,
                 source_etag='"0x1"', source_match_condition=MatchConditions.IfNotModified)
    r = raw.request("PUT", f"/{container.container_name}/blk",
                    query=[("comp", "block"), ("blockid", base64.b64encode(b"b1").decode())],
                    headers={"x-ms-copy-source": src.url, "x-ms-source-if-match": '"0x1"'})
    assert r.status == 412, r
    with pytest.raises(Exception):
        dst.get_blob_properties()
    # Passing conditions copy.
    assert dst.start_copy_from_url(src.url, source_etag=etag,
                                   source_match_condition=MatchConditions.IfNotModified,
                                   source_if_unmodified_since=future)["copy_status"] == "success"


def test_sync_copy_and_put_from_url_checksums(container, raw):
    data = os.urandom(100 * KiB)
    src = container.get_blob_client("src")
    src.upload_blob(data)
    good, bad = md5_b64(data), md5_b64(b"other")
    cname = container.container_name
    r = raw_copy(raw, cname, "sync", src.url, {"x-ms-requires-sync": "true", "x-ms-source-content-md5": bad})
    assert r.status == 400 and r.error_code == "Md5Mismatch", r
    r = raw_copy(raw, cname, "sync", src.url, {"x-ms-requires-sync": "true", "x-ms-source-content-md5": good})
    assert r.status == 202 and r.header("x-ms-copy-status") == "success", r
    assert r.header("Content-MD5") == good
    r = raw.request("PUT", f"/{cname}/pfu", headers={"x-ms-copy-source": src.url, "x-ms-blob-type": "BlockBlob",
                                                     "x-ms-source-content-md5": bad})
    assert r.status == 400 and r.error_code == "Md5Mismatch", r
    with pytest.raises(Exception):
        container.get_blob_client("pfu").get_blob_properties()
    bc = container.get_blob_client("blocks")
    expect_error(bc.stage_block_from_url, 400, "Md5Mismatch", "b1", src.url, source_offset=0,
                 source_length=10, source_content_md5=hashlib.md5(b"nope").digest())
    bc.stage_block_from_url("b1", src.url, source_offset=0, source_length=10,
                            source_content_md5=hashlib.md5(data[:10]).digest())


def test_put_blob_from_url_properties(container):
    src = container.get_blob_client("src")
    src.upload_blob(b"x" * 1000, metadata={"M": "1"},
                    content_settings=ContentSettings(content_type="text/csv", content_encoding="identity"))
    a = container.get_blob_client("a")
    r = a.upload_blob_from_url(src.url)
    assert r["etag"]
    p = a.get_blob_properties()
    assert p.content_settings.content_type == "text/csv"
    assert p.content_settings.content_encoding == "identity"
    assert p.metadata == {}                       # Put Blob From URL does not copy metadata
    assert p.copy.status is None
    b = container.get_blob_client("b")
    b.upload_blob_from_url(src.url, include_source_blob_properties=False,
                           content_settings=ContentSettings(content_type="text/other"))
    assert b.get_blob_properties().content_settings.content_type == "text/other"
    expect_error(b.upload_blob_from_url, 409, "BlobAlreadyExists", src.url)   # overwrite=False
    b.upload_blob_from_url(src.url, overwrite=True)
    assert b.download_blob().readall() == b"x" * 1000


def test_stage_block_from_url_ranges(container):
    data = bytes(range(256)) * 64
    src = container.get_blob_client("src")
    src.upload_blob(data)
    bc = container.get_blob_client("assembled")
    bc.stage_block_from_url("b1", src.url, source_offset=100, source_length=50)
    bc.stage_block_from_url("b2", src.url)                       # the whole source
    bc.stage_block("b3", b"local")
    bc.commit_block_list(["b1", "b2", "b3"])
    assert bc.download_blob().readall() == data[100:150] + data + b"local"
    expect_error(bc.stage_block_from_url, 416, None, "b4", src.url, source_offset=len(data) + 10,
                 source_length=5)


def test_list_blobs_include_copy(container):
    src = container.get_blob_client("src")
    src.upload_blob(b"abc")
    container.get_blob_client("dst").start_copy_from_url(src.url)
    listed = {b.name: b for b in container.list_blobs(include=["copy"])}
    c = listed["dst"].copy
    assert c.status == "success" and c.progress == "3/3" and c.source == src.url and c.id
    assert c.completion_time is not None
    assert listed["src"].copy.status is None
    plain = {b.name: b for b in container.list_blobs()}
    assert plain["dst"].copy.status is None


# ---- source authorization ------------------------------------------------------------------

def test_source_authorization_sas(server, service):
    cname = unique_name("sas")
    cc = service.create_container(cname)
    try:
        src = cc.get_blob_client("private-src")
        src.upload_blob(b"secret")
        dst_sas = generate_container_sas(ACCOUNT, cname, account_key=KEY,
                                         permission=ContainerSasPermissions(write=True, create=True),
                                         expiry=datetime.now(timezone.utc) + timedelta(hours=1))
        sas_client = BlobServiceClient(f"http://127.0.0.1:{server.port}/{ACCOUNT}", credential=dst_sas,
                                       retry_total=0).get_blob_client(cname, "dst")
        # A SAS caller cannot read a private source without a SAS of its own.
        expect_error(sas_client.start_copy_from_url, 403, None, src.url)
        read_sas = generate_blob_sas(ACCOUNT, cname, "private-src", account_key=KEY,
                                     permission=BlobSasPermissions(read=True),
                                     expiry=datetime.now(timezone.utc) + timedelta(hours=1))
        r = sas_client.start_copy_from_url(f"{src.url}?{read_sas}")
        assert r["copy_status"] == "success"
        assert cc.get_blob_client("dst").download_blob().readall() == b"secret"
        # The SAS is not kept in x-ms-copy-source.
        assert "sig=" not in cc.get_blob_client("dst").get_blob_properties().copy.source
        # A tampered or write-only source SAS is refused.
        bad = read_sas.replace("sig=", "sig=AAAA")
        expect_error(sas_client.start_copy_from_url, 403, None, f"{src.url}?{bad}")
        wsas = generate_blob_sas(ACCOUNT, cname, "private-src", account_key=KEY,
                                 permission=BlobSasPermissions(write=True),
                                 expiry=datetime.now(timezone.utc) + timedelta(hours=1))
        expect_error(sas_client.start_copy_from_url, 403, None, f"{src.url}?{wsas}")
    finally:
        cc.delete_container()


# ---- copies from outside Cobalt -------------------------------------------------------------

def test_async_copy_from_outside(container, outside):
    data = os.urandom(5 * MiB + 123)
    outside.files["/big.bin"] = data
    bc = container.get_blob_client("external")
    r = bc.start_copy_from_url(outside.base + "/big.bin", metadata=None)
    assert r["copy_status"] in ("pending", "success")
    p = wait_copy(bc)
    assert p.copy.status == "success", p.copy
    assert p.copy.progress == f"{len(data)}/{len(data)}"
    assert p.copy.source == outside.base + "/big.bin"
    assert p.size == len(data)
    assert p.content_settings.content_type == "text/x-source"
    assert p.content_settings.cache_control == "max-age=7"
    assert p.metadata == {"origin": "outside"}
    assert bc.download_blob().readall() == data


def test_source_headers_cobalt_cannot_store_are_left_out(container, outside, raw):
    """A source's content properties and metadata that could not be stored and listed (control
    characters, invalid UTF-8, invalid metadata names) are left out; the rest is copied, and the
    listing stays well-formed."""
    outside.raw_headers["/odd.bin"] = (b"odd", [
        ("Content-Type", "text/\x01plain"), ("Cache-Control", "caf\xe9"),
        ("Content-Language", "en"), ("x-ms-meta-good", "ok"), ("x-ms-meta-esc", "\x1b[31m"),
        ("x-ms-meta-bad-name", "v")])
    bc = container.get_blob_client("odd")
    bc.start_copy_from_url(outside.base + "/odd.bin")
    p = wait_copy(bc)
    assert p.copy.status == "success", p.copy
    assert p.content_settings.content_type == "application/octet-stream"
    assert p.content_settings.cache_control is None
    assert p.content_settings.content_language == "en"
    assert p.metadata == {"good": "ok"}
    r = raw.request("GET", "/" + container.container_name,
                    query={"restype": "container", "comp": "list", "include": "metadata,copy"})
    assert r.status == 200
    ET.fromstring(r.body)


def test_copy_headers_that_cannot_be_stored_are_refused(container, outside, raw):
    """The source URL and the properties a copy request names are stored and echoed: what could
    not be is refused (sent unsigned, with a container SAS, so the bytes go out as written)."""
    outside.files["/plain.bin"] = b"plain"
    cname = container.container_name
    sas = generate_container_sas(ACCOUNT, cname, account_key=KEY,
                                 permission=ContainerSasPermissions(read=True, write=True, create=True),
                                 expiry=datetime.now(timezone.utc) + timedelta(hours=1))
    for headers in [{"x-ms-copy-source": outside.base + "/pl\x01ain.bin"},
                    {"x-ms-copy-source": outside.base + "/plain.bin", "x-ms-blob-type": "BlockBlob",
                     "x-ms-blob-content-type": b"text/\xff"},
                    {"x-ms-copy-source": outside.base + "/plain.bin", "x-ms-blob-type": "BlockBlob",
                     "x-ms-blob-cache-control": b"a\x1bb"}]:
        r = raw.request("PUT", f"/{cname}/refused", headers=headers, sign=False, raw_query=sas)
        assert_error_response(r, 400, "InvalidHeaderValue")
    assert raw.request("HEAD", f"/{cname}/refused").status == 404


def test_async_copy_missing_source_fails(container, outside):
    bc = container.get_blob_client("missing")
    bc.start_copy_from_url(outside.base + "/does-not-exist")
    p = wait_copy(bc)
    assert p.copy.status == "failed"
    assert "404" in (p.copy.status_description or "")
    assert p.size == 0
    expect_error(bc.abort_copy, 409, "NoPendingCopyOperation", p.copy.id)


def test_async_copy_unreachable_source_fails(container):
    bc = container.get_blob_client("unreachable")
    bc.start_copy_from_url("http://127.0.0.1:9/nothing-listens-here")
    p = wait_copy(bc)
    assert p.copy.status == "failed" and p.copy.status_description


def test_abort_slow_copy(container, outside, raw):
    outside.slow["/slow.bin"] = 50 * MiB
    bc = container.get_blob_client("slow")
    bc.upload_blob(b"old", metadata={"Keep": "me"})
    r = bc.start_copy_from_url(outside.base + "/slow.bin", metadata={"Keep": "me"})
    assert r["copy_status"] == "pending"
    deadline = time.monotonic() + 20
    while True:
        p = bc.get_blob_properties()
        copied = int(p.copy.progress.split("/")[0]) if p.copy.progress else 0
        if copied > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert p.copy.status == "pending" and copied > 0, p.copy
    assert p.copy.progress.endswith(f"/{50 * MiB}")
    # A second copy onto a pending destination, and an abort with another id, are refused.
    other = container.get_blob_client("other")
    other.upload_blob(b"o")
    expect_error(bc.start_copy_from_url, 409, "PendingCopyOperation", other.url)
    expect_error(bc.abort_copy, 409, "CopyIdMismatch", "00000000-0000-4000-8000-000000000000")
    r = raw.request("PUT", f"/{container.container_name}/slow", query=[("comp", "copy"), ("copyid", p.copy.id)])
    assert r.status == 400 and r.error_code == "MissingRequiredHeader", r
    bc.abort_copy(p.copy.id)
    p = bc.get_blob_properties()
    assert p.copy.status == "aborted"
    assert p.size == 0 and bc.download_blob().readall() == b""
    assert p.metadata == {"Keep": "me"}
    expect_error(bc.abort_copy, 409, "NoPendingCopyOperation", p.copy.id)
    outside.gates["/slow.bin"].set()
    time.sleep(0.3)
    assert bc.get_blob_properties().copy.status == "aborted"     # the worker did not win (C2)
    # A new copy onto the aborted destination works.
    assert bc.start_copy_from_url(other.url)["copy_status"] == "success"
    assert bc.download_blob().readall() == b"o"


def test_sync_from_outside(container, outside):
    data = os.urandom(700 * KiB)
    outside.files["/sync.bin"] = data
    outside.ranged["/ranged.bin"] = data
    outside.chunked["/chunked.bin"] = data
    outside.chunked["/chunked-big.bin"] = big = os.urandom(9 * MiB + 7)   # > one 4 MiB needle
    # Copy Blob From URL
    d = container.get_blob_client("sync")
    r = d.start_copy_from_url(outside.base + "/sync.bin", requires_sync=True)
    assert r["copy_status"] == "success"
    assert d.download_blob().readall() == data
    assert d.get_blob_properties().copy.status == "success"
    # Put Blob From URL (known length and chunked)
    for name in ("/sync.bin", "/chunked-big.bin"):
        pb = container.get_blob_client("pfu" + name.replace("/", "-"))
        pb.upload_blob_from_url(outside.base + name)
        want = data if name == "/sync.bin" else big
        assert pb.download_blob().readall() == want
        assert pb.get_blob_properties().content_settings.content_md5 == hashlib.md5(want).digest()
    # Put Block From URL: a source that ignores Range (sliced here), one that honours it,
    # and a chunked one (several needles re-written as one block).
    bb = container.get_blob_client("blocks")
    bb.stage_block_from_url("b1", outside.base + "/sync.bin", source_offset=1000, source_length=5000)
    bb.stage_block_from_url("b2", outside.base + "/ranged.bin", source_offset=7, source_length=100)
    bb.stage_block_from_url("b3", outside.base + "/chunked-big.bin")   # 3 needles -> 1
    bb.stage_block_from_url("b4", outside.base + "/chunked-big.bin", source_offset=5 * MiB,
                            source_length=len(big) - 5 * MiB)
    bb.commit_block_list(["b1", "b2", "b3", "b4"])
    assert bb.download_blob().readall() == data[1000:6000] + data[7:107] + big + big[5 * MiB:]
    assert [b.size for b in bb.get_block_list()[0]] == [5000, 100, len(big), len(big) - 5 * MiB]
    bb.stage_block_from_url("b5", outside.base + "/chunked.bin")
    bb.commit_block_list(["b5"])
    assert bb.download_blob().readall() == data
    ranged_reqs = [h for p, h in outside.requests if p == "/ranged.bin"]
    assert any(h.get("Range") == "bytes=7-106" for h in ranged_reqs), ranged_reqs


def test_sync_from_outside_failures(container, outside, raw):
    outside.files["/md5.bin"] = b"payload"
    cname = container.container_name
    r = raw_copy(raw, cname, "x", outside.base + "/md5.bin",
                 {"x-ms-requires-sync": "true", "x-ms-source-content-md5": md5_b64(b"different")})
    assert r.status == 400 and r.error_code == "Md5Mismatch", r
    r = raw_copy(raw, cname, "x", outside.base + "/missing.bin", {"x-ms-requires-sync": "true"})
    assert r.status == 404 and r.error_code == "CannotVerifyCopySource", r
    assert r.header("x-ms-copy-source-status-code") == "404"
    assert r.header("x-ms-copy-source-error-code") == "BlobNotFound"
    r = raw.request("PUT", f"/{cname}/y", headers={"x-ms-copy-source": outside.base + "/missing.bin",
                                                   "x-ms-blob-type": "BlockBlob"})
    assert r.status == 404, r
    for name in ("x", "y"):
        with pytest.raises(Exception):
            container.get_blob_client(name).get_blob_properties()


def test_bearer_source_authorization_is_passed_through(container, outside):
    outside.files["/bearer.bin"] = b"token-protected"
    d = container.get_blob_client("bearer")
    d.upload_blob_from_url(outside.base + "/bearer.bin", source_authorization="Bearer abc.def")
    assert d.download_blob().readall() == b"token-protected"
    hdrs = [h for p, h in outside.requests if p == "/bearer.bin"]
    assert hdrs and hdrs[-1].get("Authorization") == "Bearer abc.def"


@pytest.mark.restart
def test_pending_copy_becomes_failed_after_crash_and_shutdown(tmp_path, outside):
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", args=ALLOW).start()
    outside.slow["/never.bin"] = 10 * MiB
    try:
        cc = srv.client().create_container("pending")
        a = cc.get_blob_client("crash")
        assert a.start_copy_from_url(outside.base + "/never.bin")["copy_status"] == "pending"
        srv.crash_restart()
        a = srv.client().get_blob_client("pending", "crash")
        p = a.get_blob_properties()
        # On RADOS the restarted process is another gateway: the killed one's copies are failed
        # by the sweep once its liveness lapses (30 s; the sweep runs every 30 s: docs/rados.md).
        deadline = time.monotonic() + (90 if BACKEND == "rados" else 0)
        while p.copy.status == "pending" and time.monotonic() < deadline:
            time.sleep(1)
            p = a.get_blob_properties()
        assert p.copy.status == "failed" and "restarted" in p.copy.status_description, p.copy
        assert p.size == 0
        b = srv.client().get_blob_client("pending", "shutdown")
        assert b.start_copy_from_url(outside.base + "/never.bin")["copy_status"] == "pending"
        t0 = time.monotonic()
        assert srv.restart() == 0
        assert time.monotonic() - t0 < 20, "a running copy held up the shutdown"
        p = srv.client().get_blob_client("pending", "shutdown").get_blob_properties()
        assert p.copy.status == "failed" and p.copy.status_description, p.copy
        # The destination is usable afterwards.
        b = srv.client().get_blob_client("pending", "shutdown")
        b.upload_blob(b"fine", overwrite=True)
        assert b.download_blob().readall() == b"fine"
    finally:
        srv.stop()
    if BACKEND == "local":
        fsck(srv.data_dir)
