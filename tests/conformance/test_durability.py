"""Durability: everything acknowledged survives a clean restart, SIGTERM under load, and kill -9.

The crash test runs several cycles of: concurrent writers (Put Blob, Put Block + Put Block List,
overwrites of hot names, deletes) -> kill -9 at a random moment -> restart on the same data dir ->
every acknowledged write must read back exactly (content hash and ETag), every acknowledged delete
must stay deleted, and a write that was in flight at the crash must be all-or-nothing.
"""
import hashlib
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContentSettings, PublicAccess

from cobalt_testlib import expect_error, sha256

KiB = 1024
MiB = 1024 * KiB


@pytest.mark.restart
def test_data_intact_after_clean_restart(fresh_server):
    srv = fresh_server
    svc = srv.client()
    blk = BlobServiceClient.from_connection_string(srv.connection_string, retry_total=0,
                                                   max_single_put_size=256 * KiB, max_block_size=256 * KiB)
    cc = svc.create_container("durable", metadata={"Team": "storage"}, public_access=PublicAccess.Blob)
    payloads = {
        "empty": b"",
        "one": b"1",
        "dir/small.txt": b"hello world",
        "dir/sub/4k.bin": os.urandom(4 * KiB),
        "odd name ü+%.bin": os.urandom(1000),
    }
    etags = {}
    for name, data in payloads.items():
        etags[name] = cc.get_blob_client(name).upload_blob(
            data, metadata={"Name": "n"}, content_settings=ContentSettings(content_type="text/x-test",
                                                                           cache_control="max-age=5"))["etag"]
    big = os.urandom(3 * MiB + 17)
    etags["big-blocks.bin"] = blk.get_blob_client("durable", "big-blocks.bin").upload_blob(big)["etag"]
    payloads["big-blocks.bin"] = big
    # A delete, a metadata change, an uncommitted block.
    cc.get_blob_client("gone").upload_blob(b"to be deleted")
    cc.get_blob_client("gone").delete_blob()
    etags["one"] = cc.get_blob_client("one").set_blob_metadata({"Changed": "yes"})["etag"]
    cc.get_blob_client("staged-only").stage_block("blk1", b"staged bytes")
    cprops = cc.get_container_properties()

    rc = srv.restart()
    assert rc == 0, f"server exited with {rc} on SIGTERM:\n{srv.log_tail()}"

    svc = srv.client()
    cc = svc.get_container_client("durable")
    p = cc.get_container_properties()
    assert p.metadata == {"Team": "storage"}
    assert p.etag == cprops.etag
    assert p.public_access == "blob"
    for name, data in payloads.items():
        bc = cc.get_blob_client(name)
        got = bc.download_blob().readall()
        assert sha256(got) == sha256(data), name
        props = bc.get_blob_properties()
        assert props.etag == etags[name], name
        assert props.size == len(data)
    p = cc.get_blob_client("dir/small.txt").get_blob_properties()
    assert p.content_settings.content_type == "text/x-test"
    assert p.content_settings.cache_control == "max-age=5"
    assert p.metadata == {"Name": "n"}
    assert bytes(p.content_settings.content_md5) == hashlib.md5(b"hello world").digest()
    assert cc.get_blob_client("one").get_blob_properties().metadata == {"Changed": "yes"}
    expect_error(cc.get_blob_client("gone").get_blob_properties, 404, "BlobNotFound")
    committed, uncommitted = cc.get_blob_client("staged-only").get_block_list("all")
    assert committed == [] and [b.id for b in uncommitted] == ["blk1"]
    committed, _ = cc.get_blob_client("big-blocks.bin").get_block_list("committed")
    assert len(committed) == (len(big) + 256 * KiB - 1) // (256 * KiB)
    assert sorted(b.name for b in cc.list_blobs()) == sorted(payloads)
    # Writes keep working after the restart.
    cc.get_blob_client("after").upload_blob(b"after restart")
    assert cc.get_blob_client("after").download_blob().readall() == b"after restart"


class Ledger:
    """What the clients know: acknowledged state, and writes in flight when the server died."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}      # name -> (sha256, etag, size) of the last acknowledged write
        self.deleted = set()  # names whose delete was acknowledged (and not re-created since)
        self.maybe = {}      # name -> set of possible sha256 values of unacknowledged writes (None = deleted)
        self.acks_this_cycle = 0

    def begin(self, name, digest):
        with self.lock:
            self.maybe.setdefault(name, set()).add(digest)

    def ack_write(self, name, digest, etag, size):
        with self.lock:
            self.acked[name] = (digest, etag, size)
            self.deleted.discard(name)
            self.maybe.pop(name, None)
            self.acks_this_cycle += 1

    def ack_delete(self, name):
        with self.lock:
            self.acked.pop(name, None)
            self.deleted.add(name)
            self.maybe.pop(name, None)
            self.acks_this_cycle += 1


def _writer(endpoint_cs, container, tid, cycle, ledger, stop, seed):
    rng = random.Random(seed)
    svc = BlobServiceClient.from_connection_string(endpoint_cs, retry_total=0, connection_timeout=5,
                                                   read_timeout=30)
    blocks = BlobServiceClient.from_connection_string(endpoint_cs, retry_total=0, connection_timeout=5,
                                                      read_timeout=30, max_single_put_size=128 * KiB,
                                                      max_block_size=128 * KiB)
    mine = []
    seq = 0
    while not stop.is_set():
        seq += 1
        choice = rng.random()
        try:
            if choice < 0.1 and mine:
                name = mine.pop(rng.randrange(len(mine)))
                ledger.begin(name, None)
                svc.get_blob_client(container, name).delete_blob()
                ledger.ack_delete(name)
                continue
            if choice < 0.3:
                name = f"hot/{tid}"  # overwritten again and again
            else:
                name = f"c{cycle}/t{tid}/{seq:05d}"
            size = rng.choice([0, 1, 100, 4 * KiB, 64 * KiB, 200 * KiB, 700 * KiB])
            data = rng.randbytes(size)
            digest = sha256(data)
            client = blocks if size > 128 * KiB else svc
            ledger.begin(name, digest)
            resp = client.get_blob_client(container, name).upload_blob(data, overwrite=True,
                                                                       metadata={"Digest": digest[:16]})
            ledger.ack_write(name, digest, resp["etag"], size)
            if not name.startswith("hot/"):
                mine.append(name)
        except (AzureError, OSError):
            if stop.is_set():
                return
            time.sleep(0.01)  # server gone: wait for the stop signal


def _verify(srv, container, ledger, context):
    """Check every name the clients know about; settle in-flight writes into the ledger."""
    svc = srv.client()
    cc = svc.get_container_client(container)
    names = set(ledger.acked) | set(ledger.deleted) | set(ledger.maybe)

    def check(name):
        """Returns (error or None, new state): state is ('present', digest, etag, size) or ('absent',)."""
        acked = ledger.acked.get(name)
        possible = ledger.maybe.get(name, set())
        try:
            dl = cc.get_blob_client(name).download_blob()
            data = dl.readall()
        except ResourceNotFoundError:
            if acked is None or None in possible:
                return None, ("absent",)
            return f"{name}: acknowledged write lost (404) [{context}]", None
        got = sha256(data)
        state = ("present", got, dl.properties.etag, len(data))
        if dl.properties.metadata.get("Digest", got[:16]) != got[:16]:
            return f"{name}: metadata does not belong to the content [{context}]", None
        if acked is not None and got == acked[0]:
            if dl.properties.etag != acked[1]:
                return (f"{name}: content ok but ETag {dl.properties.etag} != acknowledged {acked[1]} "
                        f"[{context}]"), None
            return None, state
        if got in possible:
            return None, state  # a write in flight at the stop completed entirely
        if acked is not None:
            return (f"{name}: content {got[:12]} matches neither the acknowledged write {acked[0][:12]} "
                    f"nor a write in flight [{context}]"), None
        if name in ledger.deleted:
            return f"{name}: acknowledged delete undone [{context}]", None
        return f"{name}: unacknowledged write left a torn or foreign blob [{context}]", None

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(zip(names, pool.map(check, names)))
    errors = [e for e, _ in results.values() if e]
    assert not errors, f"{len(errors)} durability violations, first ones:\n" + "\n".join(sorted(errors)[:20])

    # Settle: the store's current state becomes what the next cycle expects.
    for name, (_, state) in results.items():
        if state[0] == "present":
            ledger.acked[name] = state[1:]
            ledger.deleted.discard(name)
        else:
            ledger.acked.pop(name, None)
            ledger.deleted.add(name)
    ledger.maybe.clear()

    listed = [b.name for b in cc.list_blobs()]
    assert len(listed) == len(set(listed)), f"duplicate names in listing [{context}]"
    listed = set(listed)
    missing = [n for n in ledger.acked if n not in listed]
    assert not missing, f"blobs readable but missing from the listing [{context}]: {missing[:10]}"
    resurrected = [n for n in ledger.deleted if n in listed]
    assert not resurrected, f"deleted blobs listed again [{context}]: {resurrected[:10]}"


@pytest.mark.restart
def test_acknowledged_writes_survive_kill9(fresh_server):
    srv = fresh_server
    seed = int(os.environ.get("COBALT_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    container = "crash"
    srv.client().create_container(container)
    ledger = Ledger()
    cycles = int(os.environ.get("COBALT_CRASH_CYCLES", "5"))
    t_end = time.monotonic() + 100
    for cycle in range(cycles):
        ledger.acks_this_cycle = 0
        stop = threading.Event()
        threads = [threading.Thread(target=_writer, daemon=True,
                                    args=(srv.connection_string, container, t, cycle, ledger, stop,
                                          rng.randrange(1 << 30)))
                   for t in range(6)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.8, 2.5))
        graceful = cycle == cycles - 1  # the last cycle stops with SIGTERM under load instead
        if graceful:
            rc = srv.stop()
            assert rc == 0, f"SIGTERM under load: exit status {rc} (seed {seed})\n{srv.log_tail()}"
        else:
            srv.kill9()
        stop.set()
        for t in threads:
            t.join(60)
            assert not t.is_alive(), "writer thread hung"
        assert ledger.acks_this_cycle > 0, f"no write was acknowledged in cycle {cycle} (seed {seed})"
        in_flight = len(ledger.maybe)
        srv.start(port=srv.port)
        _verify(srv, container, ledger, f"cycle {cycle}, {'SIGTERM' if graceful else 'kill -9'}, seed {seed}")
        print(f"cycle {cycle}: {'SIGTERM' if graceful else 'kill -9'}, {ledger.acks_this_cycle} acknowledged, "
              f"{in_flight} in flight at the stop, {len(ledger.acked)} blobs verified")
        if time.monotonic() > t_end:
            break
    assert len(ledger.acked) > 50, f"too little was written to be a meaningful test ({len(ledger.acked)})"
    # The store still takes writes after all the crashes.
    bc = srv.client().get_blob_client(container, "final")
    bc.upload_blob(b"final")
    assert bc.download_blob().readall() == b"final"


@pytest.mark.restart
def test_kill9_during_large_block_upload(fresh_server):
    """A large upload interrupted by kill -9 leaves no visible blob; the previous version stays."""
    srv = fresh_server
    svc = srv.client()
    cc = svc.create_container("bigcrash")
    old = os.urandom(100 * KiB)
    old_etag = cc.get_blob_client("target.bin").upload_blob(old)["etag"]
    blocks = BlobServiceClient.from_connection_string(srv.connection_string, retry_total=0,
                                                      max_single_put_size=256 * KiB, max_block_size=256 * KiB)
    new = os.urandom(24 * MiB)
    err = []

    def upload():
        try:
            blocks.get_blob_client("bigcrash", "target.bin").upload_blob(new, overwrite=True, max_concurrency=2)
            err.append("completed")
        except (AzureError, OSError) as e:
            err.append(e)

    t = threading.Thread(target=upload, daemon=True)
    t.start()
    time.sleep(0.4)
    srv.kill9()
    t.join(60)
    srv.start(port=srv.port)
    bc = srv.client().get_blob_client("bigcrash", "target.bin")
    data = bc.download_blob().readall()
    if err and err[0] == "completed":
        assert sha256(data) == sha256(new)
    else:
        # Put Block List never ran (or did not finish): the old blob, unchanged.
        assert sha256(data) in (sha256(old), sha256(new))
        if sha256(data) == sha256(old):
            assert bc.get_blob_properties().etag == old_etag
    # Staged blocks of the interrupted upload never make the blob visible under a wrong size.
    assert bc.get_blob_properties().size in (len(old), len(new))
    # And the blob can be written again.
    bc.upload_blob(b"rewritten", overwrite=True)
    assert bc.download_blob().readall() == b"rewritten"


@pytest.mark.restart
def test_sigterm_lets_inflight_upload_finish(fresh_server):
    """SIGTERM while a request body is still arriving: that request completes, then the server exits 0."""
    import email.utils
    import signal
    import socket
    from cobalt_testlib import ACCOUNT, sign_shared_key
    srv = fresh_server
    srv.client().create_container("inflight")
    body = os.urandom(2 * MiB)
    path = f"/{ACCOUNT}/inflight/slow.bin"
    hdrs = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": "2021-12-02",
            "x-ms-blob-type": "BlockBlob", "Content-Length": str(len(body))}
    hdrs["Authorization"] = sign_shared_key("PUT", path, [], hdrs)
    req = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
    req += "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        s.sendall(req.encode() + body[:MiB])
        time.sleep(0.3)
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        s.sendall(body[MiB:])
        resp = b""
        while b"\r\n\r\n" not in resp:
            chunk = s.recv(4096)
            if not chunk:
                break
            resp += chunk
    assert resp.startswith(b"HTTP/1.1 201"), f"in-flight upload was not completed: {resp[:200]!r}"
    rc = srv.proc.wait(30)  # the one SIGTERM is enough: no second signal
    assert rc == 0, f"exit status {rc} after SIGTERM"
    srv.start(port=srv.port)
    assert srv.client().get_blob_client("inflight", "slow.bin").download_blob().readall() == body


@pytest.mark.restart
def test_sigint_is_a_clean_stop(fresh_server):
    import signal
    srv = fresh_server
    cc = srv.client().create_container("sigint")
    etag = cc.get_blob_client("x").upload_blob(b"before sigint")["etag"]
    srv.proc.send_signal(signal.SIGINT)
    assert srv.proc.wait(30) == 0
    srv.start(port=srv.port)
    bc = srv.client().get_blob_client("sigint", "x")
    assert bc.download_blob().readall() == b"before sigint"
    assert bc.get_blob_properties().etag == etag


@pytest.mark.restart
def test_container_create_delete_survive_kill9(fresh_server):
    srv = fresh_server
    svc = srv.client()
    keep = svc.create_container("keep", metadata={"k": "1"})
    keep.get_blob_client("a").upload_blob(b"kept")
    gone = svc.create_container("gone")
    for i in range(20):
        gone.get_blob_client(f"b{i}").upload_blob(b"x" * i)
    gone.delete_container()
    keep.set_container_metadata({"k": "2"})
    etag = keep.get_container_properties().etag
    srv.crash_restart()
    svc = srv.client()
    names = [c.name for c in svc.list_containers()]
    assert names == ["keep"], names
    expect_error(svc.get_container_client("gone").get_container_properties, 404, "ContainerNotFound")
    p = svc.get_container_client("keep").get_container_properties()
    assert p.metadata == {"k": "2"} and p.etag == etag
    assert svc.get_blob_client("keep", "a").download_blob().readall() == b"kept"
    # A container re-created under the deleted name starts empty.
    svc.create_container("gone")
    assert list(svc.get_container_client("gone").list_blobs()) == []
    expect_error(svc.get_blob_client("gone", "b5").download_blob, 404, "BlobNotFound")
