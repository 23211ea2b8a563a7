"""`cobalt gc --backend rados`: the purge and GC lists worked now, under the same per-object leases
as the gateways' background round, and `--stripe-size`.

- a due payload entry whose list object's lease another holder has: gc waits for the lease (it
  never works an object beside a gateway), then deletes the payload's objects;
- a soft-deleted blob past its retention (days of one second: COBALT_DAY_SECONDS) is purged by gc
  with no gateway running, and the pools are clean afterwards;
- --stripe-size: payloads are cut at the size given, a gateway with another size reads them, and
  sizes that are not a power of two from 64 KiB to 64 MiB are refused;
- a page blob of more page map entries than a commit removes is deleted, cleared whole or resized
  to 0, the rest of its entries removed by gc in bounded ops.
Run:
    COBALT_BIN=$PWD/build/cobalt /usr/bin/python3 -m pytest -q tests/rados/test_gc.py
"""
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from azure.storage.blob import RetentionPolicy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from cobalt_testlib import CobaltServer, unique_name  # noqa: E402
import cobalt_server  # noqa: E402  (tests/lib, on the path through cobalt_testlib)
from test_fsck import Cluster  # noqa: E402  (tests/rados, this directory)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "pools")
    c.dir = tmp_path
    return c


def test_gc_waits_for_the_lease_then_deletes(cluster, tmp_path):
    seq = "00000000feedf00d"
    lst = f"gc.{int(seq, 16) % 8}"
    stripe = tmp_path / "stripe"
    stripe.write_bytes(b"g" * 5000)
    for i in range(2):
        cluster.rados("put", f"{seq}.{i}", str(stripe), pool=cluster.data)
    # a payload entry due long ago, unclaimed: "<shift> <len> -" (docs/rados.md)
    cluster.rados("setomapval", lst, "0000000000000001d" + seq, f"16 {2 << 16} -")
    # a gateway's lease on that list object, 6 s long
    cluster.rados("lock", "get", lst, "lease", "--lock-cookie", "another-gateway", "--lock-tag",
                  "cobalt", "--lock-duration", "6", "--lock-type", "exclusive")
    t0 = time.monotonic()
    rc, g = cluster.gc()
    took = time.monotonic() - t0
    assert rc == 0 and g["payloads"] == 1 and g["left"] == 0, g
    assert took >= 4, f"gc worked {lst} while another held its lease ({took:.1f} s)"
    assert not any(o.startswith(seq) for o in cluster.objects(cluster.data))
    assert not [k for k in cluster.keys(lst) if k.endswith(seq)]
    cluster.assert_clean()
    rc, g = cluster.gc()                     # nothing left: a second run finds nothing to do
    assert rc == 0 and g == {"records": 0, "payloads": 0, "containers": 0, "left": 0}, g


def test_gc_purges_soft_deleted_blobs(cluster):
    d = cluster.dir
    args = ["--backend", "rados", *cluster.args]
    gw = CobaltServer(d / "gw", d / "gw.log", args=args, env={"COBALT_DAY_SECONDS": "1"}).start()
    svc = gw.client()
    svc.set_service_properties(delete_retention_policy=RetentionPolicy(enabled=True, days=1))
    name = unique_name("gc")
    cont = svc.create_container(name)
    cont.upload_blob("gone", os.urandom(100_000))
    cont.upload_blob("kept", b"k" * 10)
    cont.delete_blob("gone")
    assert gw.stop() == 0, gw.log_tail()     # its background round would purge it too
    time.sleep(1.5)                          # past the one-"day" retention
    rc, g = cluster.gc()
    assert rc == 0 and g["records"] == 1 and g["left"] == 0, g
    cluster.assert_clean()
    gw.start()
    try:
        names = [b.name for b in gw.client().get_container_client(name).list_blobs(
            include=["deleted"])]
        assert names == ["kept"], names
    finally:
        assert gw.stop() == 0, gw.log_tail()
        assert not gw.sanitizer_reports(), gw.sanitizer_reports()


def test_stripe_size(cluster):
    d = cluster.dir
    args = ["--backend", "rados", *cluster.args]
    small = CobaltServer(d / "s", d / "s.log", args=[*args, "--stripe-size", "128"]).start()
    default = CobaltServer(d / "d", d / "d.log", args=args).start()
    try:
        name = unique_name("stripe")
        cont = small.client().create_container(name)
        before = cluster.objects(cluster.data)
        data = os.urandom(300 << 10)
        cont.upload_blob("b", data)
        assert len(cluster.objects(cluster.data) - before) == 3       # 128 + 128 + 44 KiB
        other = default.client().get_container_client(name)
        assert other.download_blob("b").readall() == data             # each locator keeps its own
        assert other.download_blob("b", offset=(128 << 10) - 3, length=10).readall() == \
            data[(128 << 10) - 3:(128 << 10) + 7]
        before = cluster.objects(cluster.data)
        other.upload_blob("c", data)
        assert len(cluster.objects(cluster.data) - before) == 1       # one 4 MiB stripe
        cluster.assert_clean()
    finally:
        for g in (small, default):
            assert g.stop() == 0, g.log_tail()
    for bad in ("100", "32", "131072", "0"):
        r = cobalt_server.run_cli("serve", "--backend", "rados", "--stripe-size", bad)
        assert r.returncode == 2 and "--stripe-size" in r.stderr, (bad, r.stderr)
    conf = d / "bad.conf"
    conf.write_text("backend = rados\nstripe-size = 96\n")
    r = cobalt_server.run_cli("config", "check", conf)
    assert r.returncode == 2 and "power of two" in r.stderr, r.stderr


@pytest.mark.parametrize("how", ["delete", "clear", "resize"])
def test_page_blob_of_many_ranges_deleted_in_bounded_ops(cluster, how):
    """A page blob whose page map holds more entries than one commit removes (1,000): Delete Blob
    -- or Clear Pages over the whole blob, or Resize to 0, which give the blob a new top layer in
    place of the old one -- removes 1,000 in its own op and leaves the rest to a GC entry of kind
    `l`, which gc works in ops of 1,000; nothing is left and nothing leaks.  (A commit removing
    millions of entries at once would pass Ceph's op size limit: the blob could never be deleted
    or cleared.)"""
    d = cluster.dir
    args = ["--backend", "rados", *cluster.args]
    gw = CobaltServer(d / "gw", d / "gw.log", args=args, test_clock=True).start()  # no rounds
    try:
        cont = gw.client().create_container(unique_name("pages"))
        bc = cont.get_blob_client("disk")
        n = 2500
        bc.create_page_blob(n * 1024)
        page = os.urandom(512)
        with ThreadPoolExecutor(8) as ex:  # every other page: n entries, none adjacent
            list(ex.map(lambda i: bc.upload_page(page, offset=i * 1024, length=512), range(n)))
        oid = cluster.shard_of("disk")
        entries = lambda: [k for k in cluster.keys(oid) if k.startswith("G")]  # noqa: E731
        assert len(entries()) == n
        if how == "delete":
            bc.delete_blob()
        elif how == "clear":
            bc.clear_page(offset=0, length=n * 1024)
        else:
            bc.resize_blob(0)
        # The gateway's own round (every 5 s) may work the GC entry at any moment from here: its
        # entry goes only once every entry of the layer is gone, so read it first.
        gc = [k for i in range(8) for k in cluster.keys(f"gc.{i}")]
        queued = [k for k in gc if k[16:17] == "l"]
        left = len(entries())
        assert left <= n - 1000 and len(queued) <= 1, (left, queued)
        assert queued or left == 0, f"{left} entries of a dead layer and no GC entry: {[k for k in gc if k[16:17] != 'd']}"
        if how == "delete":
            assert not bc.exists()
        else:  # at once, whatever the GC has done yet: zeros, no ranges, and writable
            size = n * 1024 if how == "clear" else 0
            assert bc.get_blob_properties().size == size
            assert bc.download_blob().readall() == bytes(size)
            assert bc.get_page_ranges() == ([], [])
            bc.resize_blob(2048)
            bc.upload_page(page, offset=1024, length=512)
            assert bc.download_blob().readall() == bytes(1024) + page + bytes(512)
            bc.delete_blob()
    finally:
        assert gw.stop() == 0, gw.log_tail()
    rc, g = cluster.gc()
    assert rc == 0 and g["left"] == 0, g
    assert entries() == []
    assert not [k for i in range(8) for k in cluster.keys(f"gc.{i}") if k[16:17] == "l"]
    # Every page payload lost its last reference: each has its drop queued (due in an hour, as
    # any payload a commit unreferences), and fsck finds nothing wrong.
    drops = [k for i in range(8) for k in cluster.keys(f"gc.{i}") if k[16:17] == "d"]
    assert len(drops) >= n, len(drops)
    cluster.assert_clean()
