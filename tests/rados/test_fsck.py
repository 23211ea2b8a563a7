"""`cobalt fsck --backend rados` and `cobalt gc --backend rados` against gateways on one cluster.

Damage is made the way it happens -- a gateway killed with SIGKILL in the middle of an upload --
or, for what a crash leaves only in rare windows, by writing the objects and omap keys directly
with the `rados` tool.  Each test then runs fsck (it finds the damage, exit 1), fsck --repair (it
fixes what can be fixed), and fsck again (clean, exit 0) or, for data that is lost, still reported:
records pointing at lost data are never dropped.  `cobalt gc` then deletes what repair queued.

Gateways write 64 KiB stripes (--stripe-size 64), so a few hundred KiB make a payload of several
data objects.  Run:
    COBALT_BIN=$PWD/build/cobalt /usr/bin/python3 -m pytest -q tests/rados/test_fsck.py
"""
import email.utils
import http.client
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from cobalt_testlib import ACCOUNT, CobaltServer, sign_shared_key, unique_name  # noqa: E402
import cobalt_server  # noqa: E402  (tests/lib, on the path through cobalt_testlib)

STRIPE = 64 << 10
SUMMARY = re.compile(r"^fsck: containers=(\d+) blobs=(\d+) staged=(\d+) payloads=(\d+) "
                     r"bytes=(\d+) orphans=(\d+) problems=(\d+) repaired=(\d+)$", re.M)


class Cluster:
    """The pools of one gateway set, the options naming them, and the `rados` tool on them."""

    def __init__(self, d: Path):
        self.args = cobalt_server.rados_args(d)
        opts = dict(zip(self.args[::2], self.args[1::2]))
        self.index, self.data = opts["--pool-index"], opts["--pool-data"]
        self.ceph = cobalt_server._ceph

    def rados(self, *args, pool=None) -> str:
        return self.ceph.rados(*args, pool=pool or self.index)

    def objects(self, pool) -> set:
        return set(self.rados("ls", pool=pool).split())

    def keys(self, oid) -> list:
        """The omap keys of index object oid ([] when there is no such object)."""
        try:
            return [k for k in self.rados("listomapkeys", oid).split("\n") if k]
        except subprocess.CalledProcessError as e:
            if "No such file or directory" in e.stderr:
                return []
            raise

    def cli(self, cmd, *extra, timeout=300, env=None):
        r = cobalt_server.run_cli(cmd, "--backend", "rados", *self.args, *extra, timeout=timeout,
                                  env=env)
        assert not any(m in r.stderr for m in cobalt_server.SANITIZER_MARKS), r.stderr
        return r

    def fsck(self, *extra, env=None):
        r = self.cli("fsck", "--quiet", *extra, env=env)
        m = SUMMARY.search(r.stdout)
        assert m, (r.returncode, r.stdout, r.stderr)
        names = ("containers", "blobs", "staged", "payloads", "bytes", "orphans", "problems",
                 "repaired")
        return r.returncode, dict(zip(names, map(int, m.groups()))), r.stdout

    def gc(self, env=None):
        r = self.cli("gc", env=env)
        m = re.search(r"^gc: records=(\d+) payloads=(\d+) containers=(\d+) left=(\d+)$", r.stdout,
                      re.M)
        assert m, (r.returncode, r.stdout, r.stderr)
        return r.returncode, dict(zip(("records", "payloads", "containers", "left"),
                                      map(int, m.groups())))

    def shard_of(self, name: str) -> str:
        """The index shard object that holds blob `name`'s record."""
        key = "B" + name + "\x01\x01"
        for oid in sorted(self.objects(self.index)):
            if oid.startswith("idx.") and key in self.keys(oid):
                return oid
        raise AssertionError(f"no shard holds {name}")

    def assert_clean(self, env=None):
        rc, s, out = self.fsck(env=env)
        assert rc == 0 and s["problems"] == 0, out
        return s


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    d = tmp_path_factory.mktemp("fsck")
    c = Cluster(d / "pools")
    args = ["--backend", "rados", *c.args, "--stripe-size", "64"]
    c.gateway = CobaltServer(d / "gw0", d / "gw0.log", args=args).start()
    c.gw_args = args
    c.dir = d
    yield c
    if c.gateway.alive():
        assert c.gateway.stop() == 0, c.gateway.log_tail()
    assert not c.gateway.sanitizer_reports(), c.gateway.sanitizer_reports()


@pytest.fixture
def container(cluster):
    name = unique_name("fsck")
    svc = cluster.gateway.client()
    svc.create_container(name)
    yield svc.get_container_client(name)
    svc.delete_container(name)


def test_clean_cluster_counts_what_it_holds(cluster, container):
    container.upload_blob("small", b"x" * 100)
    container.upload_blob("striped", os.urandom(3 * STRIPE + 5))      # four data objects
    blob = container.get_blob_client("tagged")
    blob.upload_blob(b"t" * 10, tags={"colour": "blue"})
    blob.create_snapshot()
    container.get_blob_client("staged").stage_block("YmxvY2sx", b"b" * 1000)
    s = cluster.assert_clean()
    assert s["containers"] >= 1 and s["blobs"] >= 4 and s["staged"] >= 1, s
    assert s["payloads"] >= 4 and s["bytes"] >= 3 * STRIPE + 5, s
    # the pools as the gateway left them: a second check agrees, and repair has nothing to do
    rc, s2, out = cluster.fsck("--repair")
    assert rc == 0 and s2["repaired"] == 0, out
    # the gateways' own configuration file names the cluster just as well
    conf = cluster.dir / "gateway.conf"
    conf.write_text("".join(f"{k[2:]} = {v}\n" for k, v in zip(cluster.args[::2], cluster.args[1::2]))
                    + "backend = rados\nport = 10999\nstripe-size = 64\n")
    r = cobalt_server.run_cli("fsck", "--config", conf, "--quiet")
    assert r.returncode == 0 and SUMMARY.search(r.stdout), (r.stdout, r.stderr)
    assert SUMMARY.search(r.stdout).group(2) == str(s["blobs"])


def test_page_blobs_are_references_fsck_keeps(cluster, container):
    """Page map entries reference their payloads: a check counts them, repair and gc keep them."""
    page = container.get_blob_client("disk")
    page.create_page_blob(1 << 30)
    data = os.urandom(3 * STRIPE)
    page.upload_page(data, offset=0, length=len(data))
    page.upload_page(b"p" * 512, offset=(1 << 29), length=512)
    page.create_snapshot()
    page.upload_page(b"q" * 1024, offset=512, length=1024)                # a new layer over the first
    page.clear_page(offset=(1 << 29), length=512)
    s = cluster.assert_clean()
    assert s["payloads"] >= 3, s
    rc, s2, out = cluster.fsck("--repair")
    assert rc == 0 and s2["repaired"] == 0, out
    assert cluster.gc()[0] == 0
    want = bytearray(data)
    want[512:1536] = b"q" * 1024
    assert page.download_blob(offset=0, length=len(data)).readall() == bytes(want)
    assert page.download_blob(offset=(1 << 29), length=512).readall() == bytes(512)


def test_shared_payload_reclaimed_once_nothing_references_it(cluster, tmp_path):
    """A copy into another index object shares its source's payload (marked shared: no drop
    deletes it); once the source and the copy are both gone, fsck finds the payload, an hour after
    the mark, and repair hands it to the GC."""
    gw = CobaltServer(tmp_path / "gw", tmp_path / "gw.log", args=cluster.gw_args,
                      test_clock=True).start()
    clock = {"COBALT_TEST_CLOCK": str(gw.clock.path)}
    try:
        svc = gw.client()
        cc = svc.create_container(unique_name("share"))
        other = svc.create_container(unique_name("share"))       # another index object
        before = cluster.objects(cluster.data)
        src = cc.get_blob_client("src")
        src.upload_blob(os.urandom(2 * STRIPE + 7))
        dst = other.get_blob_client("dst")
        dst.start_copy_from_url(src.url)
        assert dst.get_blob_properties().copy.status == "success"
        payload = cluster.objects(cluster.data) - before
        assert len(payload) == 3, payload                         # shared, not copied
        src.delete_blob()
        cluster.assert_clean(env=clock)                          # the copy still references it
        dst.delete_blob()
        gw.advance_clock(2 * 3600)                               # the drops are due
        assert cluster.gc(env=clock)[0] == 0
        assert payload <= cluster.objects(cluster.data)          # kept: it is marked shared
        rc, s, out = cluster.fsck(env=clock)
        assert rc == 1 and s["problems"] == 1 and "shared by a copy" in out, out
        rc, s, out = cluster.fsck("--repair", env=clock)
        assert s["repaired"] == 1, out
        assert cluster.gc(env=clock)[0] == 0
        assert not payload & cluster.objects(cluster.data)      # deleted
        cluster.assert_clean(env=clock)
    finally:
        assert gw.stop() == 0, gw.log_tail()


def put_partial(gw, container: str, name: str, total: int, sent: bytes) -> http.client.HTTPConnection:
    """Starts a Put Blob of `total` bytes and sends only `sent`; the connection stays open."""
    path = f"/{ACCOUNT}/{container}/{name}"
    h = {"x-ms-version": "2021-12-02", "x-ms-date": email.utils.formatdate(usegmt=True),
         "x-ms-blob-type": "BlockBlob", "Content-Length": str(total)}
    h["Authorization"] = sign_shared_key("PUT", path, [], h)
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=60)
    conn.putrequest("PUT", path, skip_accept_encoding=True)
    for k, v in h.items():
        conn.putheader(k, v)
    conn.endheaders()
    conn.send(sent)
    return conn


def test_gateway_killed_mid_upload(cluster, container):
    """A gateway killed mid-upload leaves stripes that its pending entry names: not an orphan
    (the GC list deletes them when the entry is due).  Without that entry -- the window a crash
    can leave when a GC list object is lost -- they are orphans: fsck finds them, repair queues
    them on the GC list, gc deletes them."""
    d = cluster.dir
    gw = CobaltServer(d / "gw-killed", d / "gw-killed.log", args=cluster.gw_args).start()
    before = cluster.objects(cluster.data)
    conn = put_partial(gw, container.container_name, "half", 20 * STRIPE, os.urandom(6 * STRIPE))
    deadline = time.time() + 30
    while len(cluster.objects(cluster.data) - before) < 2 and time.time() < deadline:
        time.sleep(0.1)
    gw.kill9()
    conn.close()
    left = cluster.objects(cluster.data) - before
    assert len(left) >= 2, "the upload sent no stripe"
    seqs = {o.split(".")[0] for o in left}
    assert len(seqs) == 1
    seq = seqs.pop()
    assert container.get_blob_client("half").exists() is False
    cluster.assert_clean()                     # pending, not orphaned
    rc, g = cluster.gc()
    assert rc == 0 and g["payloads"] == 0      # not due: the upload had hours to finish
    assert cluster.objects(cluster.data) >= left

    # The entry lost: the stripes are orphans.
    gc_oid = f"gc.{int(seq, 16) % 8}"
    entry = [k for k in cluster.keys(gc_oid) if k.endswith("d" + seq)]
    assert len(entry) == 1
    cluster.rados("rmomapkey", gc_oid, entry[0])
    rc, s, out = cluster.fsck()
    assert rc == 1 and s["orphans"] == 1 and f"payload {seq}" in out, out
    rc, s, out = cluster.fsck("--repair")
    assert rc == 1 and s["repaired"] == 1 and "on the GC list" in out, out
    cluster.assert_clean()                     # named by its GC entry now
    rc, g = cluster.gc()
    assert rc == 0 and g["payloads"] == 1, g
    assert not (cluster.objects(cluster.data) & left)
    cluster.assert_clean()


def test_orphan_written_directly_and_foreign_object(cluster, tmp_path):
    blob = tmp_path / "stripe"
    blob.write_bytes(b"o" * 1000)
    cluster.rados("put", "00000000deadbeef.0", str(blob), pool=cluster.data)
    cluster.rados("put", "00000000deadbeef.2", str(blob), pool=cluster.data)
    cluster.rados("put", "not-a-stripe", str(blob), pool=cluster.data)
    try:
        rc, s, out = cluster.fsck("--repair")
        assert rc == 1 and s["orphans"] == 1, out
        assert "payload 00000000deadbeef: 3 stripe(s) nothing names" in out, out
        assert "not-a-stripe is no payload's stripe" in out, out
        rc, g = cluster.gc()
        assert rc == 0 and g["payloads"] == 1, g
        objs = cluster.objects(cluster.data)
        assert "00000000deadbeef.0" not in objs and "00000000deadbeef.2" not in objs
        assert "not-a-stripe" in objs             # reported, never touched
        rc, s, out = cluster.fsck()
        assert rc == 1 and s["problems"] == 1 and s["orphans"] == 0, out
    finally:
        cluster.rados("rm", "not-a-stripe", pool=cluster.data)
    cluster.assert_clean()


def test_dangling_and_missing_index_entries(cluster, container):
    container.get_blob_client("tagged").upload_blob(b"v" * 5000, tags={"k1": "v1"})  # not inline
    container.upload_blob("plain", os.urandom(2 * STRIPE))
    shard = cluster.shard_of("tagged")
    keys = cluster.keys(shard)
    tag = [k for k in keys if k.startswith("T") and k.endswith("tagged")]
    ref = [k for k in keys if k.startswith("L")]
    assert len(tag) == 1 and ref
    cid = shard.split(".")[1]
    # a tag entry lost, one that names no blob, a reference count gone
    cluster.rados("rmomapkey", shard, tag[0])
    cluster.rados("setomapval", shard, "Tk1\x01\x01v1\x01\x01ghost", "")
    cluster.rados("rmomapkey", shard, ref[0])
    # a purge entry and a copy marker that name no record
    cluster.rados("setomapval", f"purge.{int(cid, 16) % 8}",
                  "7fffffffffffffffB" + cid + "ghost\x01\x01", "0")
    cluster.rados("setomapval", f"copy.{int(cid, 16) % 8}", cid + "ghost\x01\x01copyid",
                  "12345 0")
    rc, s, out = cluster.fsck()
    assert rc == 1 and s["problems"] == 5, out
    assert "tag 'k1' not in the tag index" in out
    assert "'ghost': tag index entry without a record" in out
    assert "references here and no count" in out
    assert "a purge entry naming no such record" in out
    assert "a copy marker naming no such record" in out
    rc, s, out = cluster.fsck("--repair")
    assert rc == 1 and s["repaired"] == 5, out
    cluster.assert_clean()
    # what the repaired entries serve works: Find Blobs by Tags, and a delete that drops the count
    found = [b.name for b in container.find_blobs_by_tags("\"k1\" = 'v1'")]
    assert found == ["tagged"]
    container.delete_blob("tagged")
    cluster.assert_clean()


def test_lost_data_is_reported_never_dropped(cluster, container):
    before = cluster.objects(cluster.data)
    container.upload_blob("lost", os.urandom(2 * STRIPE + 10))
    mine = sorted(cluster.objects(cluster.data) - before)
    assert len(mine) == 3
    seq = mine[0].split(".")[0]
    cluster.rados("rm", mine[1], pool=cluster.data)
    stripe = cluster.dir / "short"
    stripe.write_bytes(b"s" * 10)
    for expect in ("missing or unreadable", "short or fails its CRC"):
        for _ in range(2):                          # repair leaves the record where it is
            rc, s, out = cluster.fsck("--repair")
            assert rc == 1 and s["repaired"] == 0, out
            assert f"payload {seq}" in out and expect in out and "the data is lost" in out, out
            assert container.get_blob_client("lost").exists()
        cluster.rados("put", mine[1], str(stripe), pool=cluster.data)   # now short
    container.delete_blob("lost")
    cluster.assert_clean()


def test_purge_entries_of_soft_deleted_containers(cluster):
    d = cluster.dir
    gw = CobaltServer(d / "gw-soft", d / "gw-soft.log",
                      args=[*cluster.gw_args, "--container-soft-delete-days", "1"]).start()
    try:
        def container_entries():
            return {(f"purge.{k}", key) for k in range(8) for key in cluster.keys(f"purge.{k}")
                    if len(key) == 49 and key[16] == "D"}
        before = container_entries()
        svc = gw.client()
        name = unique_name("soft")
        svc.create_container(name)
        svc.delete_container(name)                 # soft: restorable for a day
        (entry,) = container_entries() - before
        cluster.rados("rmomapkey", *entry)
        ghost = cluster.dir / "ghost"
        ghost.write_bytes(b"devstoreaccount1\0Dghost\x01\x010000000000000001")
        cluster.rados("setomapval", "purge.7", "7fffffffffffffffD00000000000fffff0000000000000001",
                      "--input-file", str(ghost))
        rc, s, out = cluster.fsck()
        assert rc == 1 and s["problems"] == 2, out
        assert "a soft-deleted container without its purge entry" in out, out
        assert "purge.7: a purge entry naming no such record in acct.devstoreaccount1" in out, out
        rc, s, out = cluster.fsck("--repair")
        assert rc == 1 and s["repaired"] == 2, out
        assert entry in container_entries()
    finally:
        assert gw.stop() == 0, gw.log_tail()
    cluster.assert_clean()
