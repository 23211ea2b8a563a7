"""Faults across gateways on one RADOS cluster (issue 10, item 4), through the Python SDK.

- kill -9 of a gateway in the middle of a large Put Blob, a Put Block, a Put Block List, a Copy
  Blob From URL and an asynchronous copy whose source is another gateway: whatever was
  acknowledged before the kill reads back intact (content and Content-MD5) through the other
  gateways, and through the restarted one; what was not is the old version or the new one whole,
  never a mix; the copy left pending by the dead gateway is failed by the survivors; and the
  background GC reclaims everything the dead gateway left (pending entries, data objects no record
  names), so the data pool holds exactly what the live records reference, and nothing once
  everything is deleted (docs/rados.md, "The pending protocol").
- The OSD restarted (SIGTERM, then SIGKILL), then down for longer than the gateways' op timeout,
  under writers and readers on every gateway: each request succeeds or fails with a
  clean Azure 5xx (500 InternalError once an op times out), never a wrong answer; afterwards every
  acknowledged write reads back intact and new writes succeed, with no gateway restarted.
- Races across gateways that tests/rados/test_gateways.py does not run: lease break against renew
  and against a write under the lease, and appends under a condition only one can meet (append
  position, maximum size, ETag).

Each test has its own three gateways and pools, on test clocks (tests/lib/cobalt_server.py): the
GC's delays (a pending payload is kept 6 hours, a dropped one 1 hour) pass by advance_clock(),
and a GC round runs when kicked.  The SDK's request dates follow the gateway's clock.

    COBALT_BIN=$PWD/build/cobalt /usr/bin/python3 -m pytest -q tests/rados/test_faults.py

COBALT_SOAK=1 runs the long mode: more kills of each kind, more OSD restarts, more race rounds.
"""
import base64
import hashlib
import math
import os
import random
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
import rados
from azure.core import MatchConditions
from azure.core.exceptions import (AzureError, HttpResponseError, IncompleteReadError,
                                   ResourceNotFoundError)
from azure.storage.blob import BlobBlock, BlobLeaseClient, BlobSasPermissions, generate_blob_sas

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from cobalt_testlib import ACCOUNT, KEY, CobaltServer, unique_name  # noqa: E402
import cobalt_server  # noqa: E402  (tests/lib, on the path through cobalt_testlib)
from test_gateways import race  # noqa: E402

SOAK = os.environ.get("COBALT_SOAK") == "1"
KILL_ROUNDS = 10 if SOAK else 1        # kills of each kind mid-way
PBL_ROUNDS = 40 if SOAK else 6         # kills at a random moment of a Put Block List
OSD_RESTARTS = 6 if SOAK else 2        # alternately SIGTERM and SIGKILL
RACE_ROUNDS = 200 if SOAK else 25
GC_TIMEOUT = 150                       # a dead gateway's GC lease lasts 60 s
MiB = 1 << 20


# ---- gateways, pools, clients --------------------------------------------------------------------

def wait_for(cond, timeout, what, interval=0.01):
    """Polls cond() until it is true; its value.  Fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)


class Pools:
    """The index and data pools of one set of gateways, read directly with librados."""

    def __init__(self, ceph, index, data):
        self.cluster = rados.Rados(conffile=ceph.conf, rados_id=ceph.user)
        self.cluster.connect(timeout=30)
        self.idx = self.cluster.open_ioctx(index)
        self.data = self.cluster.open_ioctx(data)

    def close(self):
        self.idx.close()
        self.data.close()
        self.cluster.shutdown()

    def data_objects(self) -> set:
        return {o.key for o in self.data.list_objects()}

    def index_objects(self) -> set:
        return {o.key for o in self.idx.list_objects()}

    def omap(self, oid, prefix="") -> dict:
        with rados.ReadOpCtx() as op:
            it, _ = self.idx.get_omap_vals(op, "", prefix, 1 << 20)
            try:
                self.idx.operate_read_op(op, oid)
            except rados.ObjectNotFound:
                return {}
            return dict(it)

    def references(self) -> dict:
        """Payload id -> stripes, for every payload an index object's reference key (`L<id>`,
        value `<count> <vol> <len>`) names: what the live records need."""
        refs = {}
        for oid in self.index_objects():
            if oid.startswith("idx."):
                for k, v in self.omap(oid, "L").items():
                    _, vol, length = v.decode().split()
                    refs[int(k[1:], 16)] = math.ceil(int(length) / (1 << (int(vol) & 0xFF)))
        return refs

    def gc_list(self) -> dict:
        """Every key of the GC list objects gc.0..7 (pending, dropped and doomed payloads,
        container drops, shared marks), with its value."""
        out = {}
        for k in range(8):
            out.update({f"gc.{k}/{key}": v for key, v in self.omap(f"gc.{k}").items()})
        return out


def unreclaimed(pools) -> list:
    """What the GC has still to reclaim: entries on the GC list, and data objects of payloads no
    index object references.  Stripes missing from a referenced payload fail at once: that is
    data lost, not garbage left."""
    refs = pools.references()
    stripes = {}
    for name in pools.data_objects():
        seq, i = name.split(".")
        stripes.setdefault(int(seq, 16), set()).add(int(i))
    lost = [f"{seq:016x}: has stripes {sorted(stripes.get(seq, ()))} of {n}"
            for seq, n in refs.items() if stripes.get(seq, set()) != set(range(n))]
    assert not lost, f"referenced payloads with stripes missing: {lost[:10]}"
    left = [f"gc list: {k} = {v!r}" for k, v in sorted(pools.gc_list().items())]
    left += [f"data objects of unreferenced payload {seq:016x}: {sorted(s)}"
             for seq, s in sorted(stripes.items()) if seq not in refs]
    return left


class Gateways:
    """Three `cobalt serve --backend rados` on one pair of fresh pools, on test clocks."""

    def __init__(self, d):
        self.pools_args = ["--backend", "rados", *cobalt_server.rados_args(d / "cluster")]
        self.args = [*self.pools_args,
                     "--egress-allow", "127.0.0.0/8"]   # a copy's source may be another gateway
        self.ceph = cobalt_server.ceph_cluster()
        opt = dict(zip(self.args[::2], self.args[1::2]))
        self.pools = Pools(self.ceph, opt["--pool-index"], opt["--pool-data"])
        self.gws = [CobaltServer(d / f"gw{i}", d / f"gw{i}.log", args=self.args, test_clock=True)
                    for i in range(3)]
        for g in self.gws:
            g.start()
        self.clients = [client(g) for g in self.gws]

    def container(self, g, name):
        return self.clients[g].get_container_client(name)

    def restart(self, g):
        """Starts gateway g again (after a kill) on its port, so its clients still reach it."""
        self.gws[g].start(port=self.gws[g].port)

    def advance_clocks(self, seconds):
        for g in self.gws:
            g.advance_clock(seconds)

    def gc(self, hours):
        """Runs background rounds (the purge and GC lists) on every gateway, each round `hours`
        later on every clock than the last, until the GC has nothing left to reclaim (a round of
        a gateway's own timer may still be writing entries due after the first one).  Then the
        pools hold exactly what the records reference, and `cobalt fsck --backend rados` finds
        them clean."""
        def reclaimed():
            self.advance_clocks(hours * 3600)
            for g in self.gws:
                g.run_background_now()
            return not unreclaimed(self.pools)
        try:
            wait_for(reclaimed, GC_TIMEOUT, "the GC reclaiming what the faults left", 0)
        except AssertionError as e:
            raise AssertionError(f"{e}:\n" + "\n".join(unreclaimed(self.pools)[:20])) from None
        r = cobalt_server.run_cli("fsck", "--quiet", *self.pools_args,
                                  env={"COBALT_TEST_CLOCK": str(self.gws[0].clock.path)})
        assert r.returncode == 0 and "problems=0" in r.stdout, r.stdout + r.stderr

    def stop(self):
        """Stops the gateways still running (each must exit cleanly) and checks their logs."""
        self.pools.close()
        running = [g for g in self.gws if g.alive()]
        for g in running:
            assert g.stop() == 0, g.log_tail()
        for g in self.gws:
            assert not g.sanitizer_reports(), g.sanitizer_reports()


def client(g):
    """An SDK client of gateway g that sends g's time as the request date (the gateways run on
    test clocks that the GC tests move hours ahead; Shared Key allows 15 minutes of skew)."""
    def date(request):
        request.http_request.headers["x-ms-date"] = format_datetime(
            datetime.fromtimestamp(g.now(), timezone.utc), usegmt=True)
    return g.client(raw_request_hook=date, max_single_put_size=128 * MiB,
                    connection_timeout=10, read_timeout=90)


@pytest.fixture
def gateways(tmp_path):
    gw = Gateways(tmp_path)
    yield gw
    gw.stop()


def md5(data):
    return hashlib.md5(data).digest()


def error_problem(e):
    """None if e is a clean Azure 5xx (500 or 503, x-ms-error-code, an XML error body with the
    same code) or a download cut short (a read that fails after the status line went out ends
    the connection: the client sees a short body, never wrong bytes), else what is wrong."""
    if isinstance(e, IncompleteReadError):
        return None
    if not isinstance(e, HttpResponseError) or e.response is None:
        return f"not an HTTP answer: {e!r}"
    r = e.response
    code = r.headers.get("x-ms-error-code")
    body = r.text() if r.request.method != "HEAD" else ""
    if r.status_code not in (500, 503):
        return f"HTTP {r.status_code} {code}: {body[:300]}"
    if not code or (r.request.method != "HEAD" and f"<Code>{code}</Code>" not in body):
        return f"HTTP {r.status_code} without a proper Azure error (code {code!r}): {body[:300]}"
    return None


class Call(threading.Thread):
    """fn() on a thread of its own; outcome: True once it returned, else what it raised."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.outcome = fn, None
        self.start()

    def run(self):
        try:
            self.fn()
            self.outcome = True
        except Exception as e:  # noqa: BLE001 (the caller judges the outcome)
            self.outcome = e


class PausedBody:
    """A request body the SDK streams (it has a length and read()): its first `pause_at` bytes
    are sent at once, the rest only once `go` is set, so a kill lands mid-body for sure."""

    def __init__(self, data, pause_at):
        self.data, self.at, self.pause_at, self.go = data, 0, pause_at, threading.Event()

    def __len__(self):
        return len(self.data) - self.at

    def read(self, n=-1):
        if self.at >= self.pause_at:
            self.go.wait()
        end = len(self.data) if n is None or n < 0 else self.at + n
        if self.at < self.pause_at:
            end = min(end, self.pause_at)
        out = self.data[self.at:end]
        self.at += len(out)
        return out


# ---- kill -9 of a gateway mid-write --------------------------------------------------------------

class Blobs:
    """What the clients know of each blob: the versions it may hold now -- its last acknowledged
    one and those of unacknowledged writes since -- each as (content, whether its Content-MD5 is
    the whole content's: Put Blob and copies store one, Put Block List does not)."""

    def __init__(self, gw, container):
        self.gw, self.container = gw, container
        self.versions = {}

    def acked(self, name, data, with_md5):
        self.versions[name] = [(data, with_md5)]

    def unacked(self, name, data, with_md5):
        self.versions[name].append((data, with_md5))

    def check(self, g, context, *names):
        """Reads the blobs named (default: all) through gateway g: each must hold one of its
        versions whole, with its Content-MD5, and be listed with its size; the version found
        becomes the only one."""
        cc = self.gw.container(g, self.container)
        listed = {b.name: b.size for b in cc.list_blobs()}
        assert set(listed) == set(self.versions), (sorted(listed), sorted(self.versions))
        for name in names or list(self.versions):
            versions = self.versions[name]
            bc = cc.get_blob_client(name)
            data = bc.download_blob().readall()
            found = [v for v in versions if v[0] == data]
            assert found, (f"{name}: {len(data)} bytes through gateway {g} are none of its "
                           f"versions ({[len(v[0]) for v in versions]} bytes) ({context})")
            assert listed[name] == len(data), f"{name}: listed with {listed[name]} bytes"
            stored = bc.get_blob_properties().content_settings.content_md5
            if found[0][1]:
                assert stored is not None and bytes(stored) == md5(data), \
                    f"{name}: Content-MD5 {stored!r} is not its content's ({context})"
            self.versions[name] = found[:1]


def kill_mid(gw, call, new_objects, what, body=None):
    """Runs `call` (a request to gateway 0) on a thread and kills gateway 0 once the data pool
    holds `new_objects` objects more, with the request still unanswered (and its PausedBody, if
    any, then let go); the thread, ended."""
    before = gw.pools.data_objects()
    t = Call(call)
    wait_for(lambda: not t.is_alive() or len(gw.pools.data_objects() - before) >= new_objects,
             60, f"{what}: its first stripes")
    assert t.is_alive(), f"{what} was over before the kill: {t.outcome!r}"
    gw.gws[0].kill9()
    if body is not None:
        body.go.set()
    t.join(60)
    assert not t.is_alive(), f"{what}: the client still waits after the kill"
    return t


def sas_url(gw, g, container, name):
    """A read SAS URL of a blob on gateway g: the copy source of a request to another gateway,
    which fetches it over HTTP like any outside source."""
    expiry = datetime.fromtimestamp(gw.gws[g].now(), timezone.utc) + timedelta(days=1)
    sas = generate_blob_sas(ACCOUNT, container, name, account_key=KEY, expiry=expiry,
                            permission=BlobSasPermissions(read=True))
    return f"{gw.gws[g].endpoint}/{container}/{name}?{sas}"


def block_ids(prefix, n):
    return [base64.b64encode(f"{prefix}-{i:05d}".encode()).decode() for i in range(n)]


def test_kill9_mid_write(gateways):
    gw, rng, t0 = gateways, random.Random(), time.monotonic()
    name = unique_name("kill")
    gw.clients[1].create_container(name)
    c0, c1, c2 = (gw.container(g, name) for g in range(3))
    blobs = Blobs(gw, name)
    source = rng.randbytes(48 * MiB)                   # copied through gateway 0 from gateway 1
    c1.upload_blob("source", source)
    blobs.acked("source", source, True)

    def outcome(name, t, data, with_md5):
        (blobs.acked if t.outcome is True else blobs.unacked)(name, data, with_md5)

    # Asynchronous copies run by gateway 0, killed mid-way: the survivors must fail them.  Their
    # end is awaited last: a dead gateway is noticed once its liveness lock runs out (30 s).
    pending = []
    for r in range(KILL_ROUNDS):
        dst, before = f"acopy{r}", gw.pools.data_objects()
        assert c0.get_blob_client(dst).start_copy_from_url(
            sas_url(gw, 1, name, "source"))["copy_status"] == "pending"
        blobs.acked(dst, b"", False)                   # pending: empty until it ends
        wait_for(lambda: len(gw.pools.data_objects() - before) >= 2, 60, "the copy's stripes")
        gw.gws[0].kill9()
        blobs.check(1, f"an asynchronous copy, round {r}", dst)
        gw.restart(0)
        pending.append(dst)
    killed = time.monotonic()

    for r in range(KILL_ROUNDS):
        # Put Blob of 16 stripes over a small blob, killed once its first stripe is stored.
        old, new = rng.randbytes(rng.randrange(1, 6 * MiB)), rng.randbytes(64 * MiB)
        c1.upload_blob("put", old, overwrite=True)
        blobs.acked("put", old, True)
        t = kill_mid(gw, lambda: c0.upload_blob("put", new, overwrite=True), 1, "Put Blob")
        outcome("put", t, new, True)
        blobs.check(1, f"Put Blob, round {r}", "put")
        gw.restart(0)

        # Put Block: block a acknowledged, block b killed with 10 of its 12 MiB sent.
        staged, base = f"staged{r}", rng.randbytes(100_000)
        c1.upload_blob(staged, base)
        blobs.acked(staged, base, True)
        a, b = rng.randbytes(3 * MiB), PausedBody(rng.randbytes(12 * MiB), 10 * MiB)
        ida, idb = block_ids(f"r{r}", 2)
        c0.get_blob_client(staged).stage_block(ida, a)
        t = kill_mid(gw, lambda: c0.get_blob_client(staged).stage_block(idb, b, length=len(b)), 2,
                     "Put Block", b)
        committed, uncommitted = c2.get_blob_client(staged).get_block_list("all")
        assert committed == [] and [(x.id, x.size) for x in uncommitted] == [(ida, len(a))], \
            (committed, uncommitted)
        blobs.check(2, f"Put Block, round {r}", staged)
        c2.get_blob_client(staged).commit_block_list([BlobBlock(ida)])  # through another gateway
        blobs.acked(staged, a, False)
        gw.restart(0)

        # Copy Blob From URL (synchronous) from gateway 1, killed once a stripe is stored.
        dst = f"copy{r}"
        c1.upload_blob(dst, base)
        blobs.acked(dst, base, True)
        t = kill_mid(gw, lambda: c0.get_blob_client(dst).start_copy_from_url(
            sas_url(gw, 1, name, "source"), requires_sync=True), 1, "Copy Blob From URL")
        outcome(dst, t, source, True)
        blobs.check(2, f"Copy Blob From URL, round {r}", dst)
        gw.restart(0)

    # Put Block List of 48 blocks over a committed blob, killed at a random moment: before its
    # op, or after it (then what it dropped must still be reclaimed), or in between.
    for r in range(PBL_ROUNDS):
        pbl, base = f"pbl{r}", rng.randbytes(100_000)
        blocks = [rng.randbytes(64 << 10) for _ in range(48)]
        c1.upload_blob(pbl, base)
        blobs.acked(pbl, base, True)
        ids = block_ids(f"p{r}", len(blocks))
        bc = c0.get_blob_client(pbl)
        for i, blk in zip(ids, blocks):
            bc.stage_block(i, blk)
        t = Call(lambda: bc.commit_block_list([BlobBlock(i) for i in ids]))
        time.sleep(rng.uniform(0, 0.05))               # a random moment of the commit
        gw.gws[0].kill9()
        t.join(60)
        outcome(pbl, t, b"".join(blocks), False)
        blobs.check(1 + r % 2, f"Put Block List, round {r}", pbl)
        gw.restart(0)

    # The copies the dead gateway was running end failed, with no content, through any gateway.
    for dst in pending:
        props = wait_for(lambda: (p := c2.get_blob_client(dst).get_blob_properties()).copy.status
                         != "pending" and p, 120, f"{dst}: the dead gateway's copy failed", 0.5)
        assert props.copy.status == "failed" and props.size == 0, (props.copy.status, props.size)
    failed = time.monotonic()
    blobs.check(0, "through the restarted gateway")

    # What the kills left is reclaimed: the data pool holds what the live records need ...
    gw.gc(hours=7)
    need = gw.pools.references()
    assert len(gw.pools.data_objects()) == sum(need.values())
    blobs.check(1, "after the GC")
    # ... and nothing once the container is deleted.
    gw.clients[2].delete_container(name)
    gw.gc(hours=2)
    assert gw.pools.data_objects() == set()
    assert not [o for o in gw.pools.index_objects() if o.startswith(("idx.", "cont."))]
    print(f"kill -9: {4 * KILL_ROUNDS + PBL_ROUNDS} kills, the dead gateway's copies seen failed "
          f"{failed - killed:.0f} s after the last, {time.monotonic() - t0:.0f} s")


# ---- the OSD restarted under load ----------------------------------------------------------------

class Load:
    """A writer and a reader per gateway until stopped.  Writer g overwrites its own names (Put
    Blob, or Put Block + Put Block List) and keeps what each may hold; reader g reads blobs
    written before the load through gateway g.  A request that fails must fail with a clean
    Azure 5xx: anything else -- a wrong content, another status, a dropped connection -- is a
    violation.  Each request's span is kept, to count those an outage overlapped."""

    SIZES = (1, 3000, 100_000, MiB, 5 * MiB)

    def __init__(self, gw, name, fixed):
        self.gw, self.name, self.fixed = gw, name, fixed
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.versions = {}                  # name -> [acknowledged content, unacknowledged...]
        self.ok = self.errors = 0
        self.codes, self.violations, self.spans = {}, [], []
        self.threads = [threading.Thread(target=f, args=(g,), daemon=True)
                        for g in range(3) for f in (self.write, self.read)]
        for t in self.threads:
            t.start()

    def request(self, what, fn):
        """fn()'s value, or None if it failed (counted, and judged)."""
        t0 = time.monotonic()
        try:
            v, e = fn(), None
        except AzureError as x:
            v, e = None, x
        with self.lock:
            self.spans.append((t0, time.monotonic()))
            if e is None:
                self.ok += 1
            elif problem := error_problem(e):
                self.violations.append(f"{what}: {problem}")
            else:
                self.errors += 1
                key = ("cut short" if isinstance(e, IncompleteReadError) else
                       f"{e.status_code} {e.response.headers['x-ms-error-code']}")
                self.codes[key] = self.codes.get(key, 0) + 1
        return v if e is None else None

    def write(self, g):
        rng, cc = random.Random(), self.gw.container(g, self.name)
        for k in range(1 << 30):
            if self.stop.is_set():
                return
            name, data = f"w{g}-{k % 8}", rng.randbytes(rng.choice(self.SIZES))
            self.versions.setdefault(name, [None]).append(data)
            bc = cc.get_blob_client(name)

            def put():
                if k % 3 or len(data) < 2:            # blocks are never empty
                    return bc.upload_blob(data, overwrite=True)
                ids = block_ids(f"{g}-{k}", 2)
                bc.stage_block(ids[0], data[:len(data) // 2])
                bc.stage_block(ids[1], data[len(data) // 2:])
                return bc.commit_block_list([BlobBlock(i) for i in ids])
            if self.request(f"write {name} through gateway {g}", put) is not None:
                self.versions[name] = [data]

    def read(self, g):
        rng, cc = random.Random(), self.gw.container(g, self.name)
        while not self.stop.is_set():
            name = rng.choice(sorted(self.fixed))
            data = self.request(f"read {name} through gateway {g}",
                                lambda: cc.download_blob(name).readall())
            if data is not None and data != self.fixed[name]:
                with self.lock:
                    self.violations.append(f"read {name} through gateway {g}: wrong content")

    def overlapping(self, t0, t1):
        """How many requests were in flight at some time in [t0, t1] (once they have ended)."""
        with self.lock:
            return sum(1 for a, b in self.spans if a <= t1 and b >= t0)

    def progress(self, n):
        """Waits until n more requests have succeeded."""
        target = self.ok + n
        wait_for(lambda: self.ok >= target or self.violations, 120, f"{n} requests served")

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(120)
            assert not t.is_alive(), "a client hung"


def test_osd_restart_under_load(gateways):
    gw, rng = gateways, random.Random()
    name = unique_name("osd")
    gw.clients[0].create_container(name)
    fixed = {f"fixed{i}": rng.randbytes(size) for i, size in enumerate(Load.SIZES)}
    for blob, data in fixed.items():
        gw.container(0, name).upload_blob(blob, data)
    load, outages = Load(gw, name, fixed), []
    try:
        load.progress(20)
        for r in range(OSD_RESTARTS):
            t0 = time.monotonic()
            gw.ceph.restart_osd("KILL" if r % 2 else "TERM")
            outages.append((t0, time.monotonic()))
            load.progress(20)                          # served again, no gateway restarted
        # An OSD down for longer than the gateways' 30 s op timeout: the requests waiting on
        # it fail, cleanly.  (Not a SIGSTOP: a placement group of an OSD stopped that way may
        # stay "waiting for readable" for minutes after it goes on.)
        errors = load.errors
        gw.ceph.restart_osd("TERM", down=35)
        assert load.errors >= errors + 3, f"requests did not fail during the outage: {load.codes}"
        try:
            load.progress(20)
        except AssertionError as e:
            raise AssertionError(f"{e} after the OSD came back:\n{gw.ceph.diagnosis()}") from None
    finally:
        load.finish()
    assert not load.violations, load.violations[:10]
    overlapped = [load.overlapping(t0, t1) for t0, t1 in outages]
    assert min(overlapped) > 0, f"no request was in flight during an OSD restart: {overlapped}"
    # Every write acknowledged reads back intact through another gateway; the others hold the
    # old version or the new one whole.
    for blob, versions in load.versions.items():
        g = (int(blob[1]) + 1) % 3
        try:
            data = gw.container(g, name).download_blob(blob).readall()
        except ResourceNotFoundError:
            data = None                                # never written, if that is a version
        assert data in versions, f"{blob} through gateway {g}: none of its versions"
    for g in range(3):                                 # new writes, read elsewhere
        gw.container(g, name).upload_blob(f"after{g}", b"after %d" % g)
        assert gw.container((g + 1) % 3, name).download_blob(f"after{g}").readall() == \
            b"after %d" % g
    print(f"OSD restarts: {OSD_RESTARTS} with {overlapped} requests in flight, then 35 s down; "
          f"{load.ok} requests served, clean errors {load.codes}")



# ---- races across gateways -----------------------------------------------------------------------

def error_code(e):
    """The Azure error code of a failed request, or the exception itself."""
    return e.response.headers.get("x-ms-error-code") if isinstance(e, HttpResponseError) else e


def test_lease_break_races_renew_and_write(gateways):
    """Break (period 0) through one gateway, and through the two others a renew and a write under
    the lease (Set Blob Metadata), all at once: the break always succeeds; a renew or write
    ordered after it is refused; the lease ends broken whatever the order, and the blob holds the
    write if and only if it was acknowledged."""
    gw, name = gateways, unique_name("lease")
    gw.clients[0].create_container(name)
    blobs = [gw.container(g, name).get_blob_client("leased") for g in range(3)]
    blobs[0].upload_blob(b"leased")
    meta, wins = {}, {"renew": 0, "write": 0}
    for r in range(RACE_ROUNDS):
        lease_id = blobs[0].acquire_lease(lease_duration=60).id
        out = race([lambda: BlobLeaseClient(blobs[0]).break_lease(lease_break_period=0),
                    lambda: BlobLeaseClient(blobs[1], lease_id).renew(),
                    lambda: blobs[2].set_blob_metadata({"round": str(r)}, lease=lease_id)])
        assert out[0] is True, f"round {r}: the break failed: {out[0]!r}"
        assert out[1] is True or error_code(out[1]) == "LeaseIsBrokenAndCannotBeRenewed", out[1]
        assert out[2] is True or error_code(out[2]) == "LeaseLost", out[2]
        wins["renew"] += out[1] is True
        wins["write"] += out[2] is True
        meta = {"round": str(r)} if out[2] is True else meta
        props = blobs[(r + 1) % 3].get_blob_properties()
        assert (props.lease.state, props.lease.status) == ("broken", "unlocked"), \
            f"round {r}: {props.lease.state} after the break ({out})"
        assert props.metadata == meta, f"round {r}: {props.metadata} ({out})"
    print(f"lease races: {RACE_ROUNDS} rounds, the renew before the break {wins['renew']} times, "
          f"the write {wins['write']} times")


def test_conditional_append_races(gateways):
    """Three gateways append to one append blob at once, each under the same condition -- the
    append position, the maximum size, or the ETag -- that only one of them can meet: exactly one
    wins, at the offset it was promised, the others get the condition's 412, and the blob is the
    winners' blocks in order."""
    gw, name = gateways, unique_name("append")
    gw.clients[0].create_container(name)
    blobs = [gw.container(g, name).get_blob_client("log") for g in range(3)]
    blobs[0].create_append_blob()
    content = b""
    kinds = (("appendpos", "AppendPositionConditionNotMet"),
             ("maxsize", "MaxBlobSizeConditionNotMet"), ("etag", "ConditionNotMet"))
    for r in range(RACE_ROUNDS):
        kind, refusal = kinds[r % 3]
        etag = blobs[r % 3].get_blob_properties().etag
        blocks = [b"%d:%d;" % (r, g) for g in range(3)]   # all of one size
        cond = {"appendpos": {"appendpos_condition": len(content)},
                "maxsize": {"maxsize_condition": len(content) + len(blocks[0])},
                "etag": {"etag": etag, "match_condition": MatchConditions.IfNotModified}}[kind]
        answers = [None] * 3

        def append(g):
            answers[g] = blobs[g].append_block(blocks[g], **cond)
        out = race([lambda g=g: append(g) for g in range(3)])
        winners = [g for g in range(3) if out[g] is True]
        assert len(winners) == 1, f"round {r} ({kind}): {out}"
        assert all(error_code(out[g]) == refusal for g in range(3) if g not in winners), out
        assert int(answers[winners[0]]["blob_append_offset"]) == len(content)
        content += blocks[winners[0]]
        assert blobs[(r + 1) % 3].download_blob().readall() == content, f"round {r} ({kind})"
    assert blobs[2].get_blob_properties().append_blob_committed_block_count == RACE_ROUNDS
