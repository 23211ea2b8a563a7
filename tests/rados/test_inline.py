"""Inline payloads on the RADOS engine (docs/rados.md, "Inline payloads"): a Put Blob of at most
4 KiB keeps its content in the blob's index entry -- no data object -- and everything that handles
locators handles it: reads and ranges, overwrites both ways across the threshold, snapshots,
versions, copies, Put Block List (staged blocks are never inline), appends, fsck and gc.
Run:
    COBALT_BIN=$PWD/build/cobalt /usr/bin/python3 -m pytest -q tests/rados/test_inline.py
"""
import os
import sys
import time
from pathlib import Path

import pytest
from azure.storage.blob import BlobBlock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from cobalt_testlib import CobaltServer, unique_name  # noqa: E402
from test_fsck import Cluster  # noqa: E402  (tests/rados, this directory)

INLINE_MAX = 4096


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    d = tmp_path_factory.mktemp("inline")
    c = Cluster(d / "pools")
    c.dir = d
    c.gateway = CobaltServer(d / "gw", d / "gw.log",
                             args=["--backend", "rados", "--versioning", "devstoreaccount1",
                                   *c.args]).start()
    yield c
    assert c.gateway.stop() == 0, c.gateway.log_tail()
    assert not c.gateway.sanitizer_reports(), c.gateway.sanitizer_reports()


@pytest.fixture
def container(cluster):
    svc = cluster.gateway.client()
    name = unique_name("inl")
    yield svc.create_container(name)
    svc.delete_container(name)


def new_objects(cluster, fn):
    before = cluster.objects(cluster.data)
    fn()
    return cluster.objects(cluster.data) - before


def test_small_put_blob_is_in_its_record(cluster, container):
    data = os.urandom(INLINE_MAX)
    assert new_objects(cluster, lambda: container.upload_blob("small", data)) == set()
    blob = container.get_blob_client("small")
    assert blob.download_blob().readall() == data
    assert blob.download_blob(offset=1000, length=77).readall() == data[1000:1077]
    assert blob.get_blob_properties().size == INLINE_MAX
    # the bytes are in the blob's index entry
    shard = cluster.shard_of("small")
    raw = cluster.ceph.rados("getomapval", shard, "Bsmall\x01\x01", pool=cluster.index)
    assert "value (" in raw and int(raw.split("value (")[1].split()[0]) > INLINE_MAX
    # one byte more is a data object; back under the threshold, inline again
    bigger = os.urandom(INLINE_MAX + 1)
    assert len(new_objects(cluster, lambda: blob.upload_blob(bigger, overwrite=True))) == 1
    assert blob.download_blob().readall() == bigger
    assert new_objects(cluster, lambda: blob.upload_blob(b"tiny", overwrite=True)) == set()
    assert blob.download_blob().readall() == b"tiny"
    cluster.assert_clean()


def test_snapshots_versions_and_copies_carry_the_bytes(cluster, container):
    blob = container.get_blob_client("v")
    first = blob.upload_blob(b"first version")
    snap = blob.create_snapshot()
    blob.upload_blob(b"second", overwrite=True)
    assert container.get_blob_client("v", snapshot=snap["snapshot"]).download_blob().readall() \
        == b"first version"
    assert first.get("version_id")
    assert blob.download_blob(version_id=first["version_id"]).readall() == b"first version"
    copy = container.get_blob_client("copy")
    copy.start_copy_from_url(blob.url)
    for _ in range(100):
        if copy.get_blob_properties().copy.status == "success":
            break
        time.sleep(0.1)
    assert copy.download_blob().readall() == b"second"
    blob.delete_blob(delete_snapshots="include")
    assert copy.download_blob().readall() == b"second"
    cluster.assert_clean()


def test_blocks_and_appends_are_never_inline(cluster, container):
    blob = container.get_blob_client("blocks")

    def stage():
        blob.stage_block("YQ==", b"a" * 100)
        blob.stage_block("Yg==", b"b" * 200)
    assert len(new_objects(cluster, stage)) == 2
    blob.commit_block_list([BlobBlock("YQ=="), BlobBlock("Yg==")])
    assert blob.download_blob().readall() == b"a" * 100 + b"b" * 200
    app = container.get_blob_client("append")
    app.create_append_blob()
    for i in range(5):
        app.append_block(bytes([65 + i]) * 10)
    assert app.download_blob().readall() == b"".join(bytes([65 + i]) * 10 for i in range(5))
    cluster.assert_clean()


def test_gc_and_fsck_after_inline_overwrites(cluster, container):
    for i in range(20):
        container.upload_blob(f"b{i}", os.urandom(100 + i), overwrite=True)
        container.upload_blob(f"b{i}", os.urandom(200 + i), overwrite=True)
    for i in range(0, 20, 2):
        container.delete_blob(f"b{i}")
    s = cluster.assert_clean()
    assert s["payloads"] >= 10
    rc, g = cluster.gc()
    assert rc == 0 and g["left"] == 0, g
    names = sorted(b.name for b in container.list_blobs())
    assert names == sorted(f"b{i}" for i in range(1, 20, 2))
