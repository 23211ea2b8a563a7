"""Three gateways (`cobalt serve --backend rados`) over one RADOS cluster and one pair of pools,
driven through the Python SDK: what one gateway acknowledges, the others read and list at once;
conditional creates and lease acquisitions sent to all three at the same moment have exactly one
winner, round after round; a tag set through one gateway is found through another.

The cluster is the harness's throwaway one (tests/lib/cobalt_server.py, started by the first
server); the gateways share the pools of one key.  Run:
    COBALT_BIN=$PWD/build/cobalt /usr/bin/python3 -m pytest -q tests/rados
"""
import sys
import threading
import uuid
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from cobalt_testlib import CobaltServer, unique_name  # noqa: E402
import cobalt_server  # noqa: E402  (tests/lib, on the path through cobalt_testlib)

ROUNDS = 40


@pytest.fixture(scope="module")
def gateways(tmp_path_factory):
    d = tmp_path_factory.mktemp("gateways")
    args = ["--backend", "rados", *cobalt_server.rados_args(d / "cluster")]
    gws = [CobaltServer(d / f"gw{i}", d / f"gw{i}.log", args=args).start() for i in range(3)]
    yield gws
    for g in gws:
        assert g.stop() == 0, g.log_tail()
        assert not g.sanitizer_reports(), g.sanitizer_reports()


@pytest.fixture
def containers(gateways):
    """One container, as each gateway's client sees it."""
    name = unique_name("gw")
    clients = [g.client() for g in gateways]
    clients[0].create_container(name)
    yield [c.get_container_client(name) for c in clients]
    clients[0].delete_container(name)


def race(fns):
    """Runs fns at the same moment, one thread each; the outcome of each: True (returned) or the
    exception it raised."""
    barrier = threading.Barrier(len(fns))
    out = [None] * len(fns)

    def run(i):
        barrier.wait()
        try:
            fns[i]()
            out[i] = True
        except Exception as e:  # noqa: BLE001 (the outcome is checked by the caller)
            out[i] = e
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_read_and_list_after_write_across_gateways(containers):
    for i in range(ROUNDS):
        writer, reader, lister = containers[i % 3], containers[(i + 1) % 3], containers[(i + 2) % 3]
        name, data = f"b{i:03d}", uuid.uuid4().bytes * (i + 1)
        writer.upload_blob(name, data, overwrite=True)
        assert reader.download_blob(name).readall() == data
        assert name in [b.name for b in lister.list_blobs()]
        writer.upload_blob(name, data[::-1], overwrite=True)  # an overwrite, read elsewhere
        assert lister.download_blob(name).readall() == data[::-1]


def test_create_if_none_match_one_winner(containers):
    for i in range(ROUNDS):
        name = f"race{i:03d}"
        bodies = [f"gateway {g} round {i}".encode() for g in range(3)]
        out = race([lambda g=g: containers[g].upload_blob(name, bodies[g], overwrite=False)
                    for g in range(3)])
        winners = [g for g in range(3) if out[g] is True]
        assert len(winners) == 1, out
        for g in range(3):
            if g != winners[0]:
                assert isinstance(out[g], ResourceExistsError), out[g]
                assert out[g].error_code == "BlobAlreadyExists"
        assert containers[(i + 1) % 3].download_blob(name).readall() == bodies[winners[0]]


def test_lease_one_winner(containers):
    containers[0].upload_blob("leased", b"x")
    blobs = [c.get_blob_client("leased") for c in containers]
    for i in range(ROUNDS):
        ids = [str(uuid.uuid4()) for _ in range(3)]
        leases = [None] * 3

        def take(g):
            leases[g] = blobs[g].acquire_lease(lease_duration=15, lease_id=ids[g])
        out = race([lambda g=g: take(g) for g in range(3)])
        winners = [g for g in range(3) if out[g] is True]
        assert len(winners) == 1, out
        for g in range(3):
            if g != winners[0]:
                assert isinstance(out[g], HttpResponseError) and out[g].status_code == 409, out[g]
                assert out[g].error_code == "LeaseAlreadyPresent"
        props = blobs[(winners[0] + 1) % 3].get_blob_properties()
        assert props.lease.state == "leased"
        leases[winners[0]].release()


def test_tags_found_through_another_gateway(containers):
    tag = unique_name("t")
    containers[0].upload_blob("tagged", b"t", tags={"gw": tag})
    found = list(containers[1].find_blobs_by_tags(f"\"gw\" = '{tag}'"))
    assert [b.name for b in found] == ["tagged"]
    containers[2].get_blob_client("tagged").set_blob_tags({"gw": tag + "x"})
    assert list(containers[0].find_blobs_by_tags(f"\"gw\" = '{tag}'")) == []
