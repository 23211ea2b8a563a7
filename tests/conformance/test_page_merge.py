"""Page map layers over time (engine.h, "Merging"; docs/storage.md, "Page blobs"): a Clear Pages
or a shrinking Resize over more written runs than one commit cuts (1,000) hides them under a new
layer instead, in one commit of bounded size; the layers left inseparable by such a clear, or by
deleted snapshots, are merged by the background round -- what every record reads, its page ranges
and its diffs stay exactly the same, and the round counts what it merged in the metrics.  Runs on
the backend the suite runs on (local, memory, RADOS)."""
import os

import pytest

from cobalt_testlib import CobaltServer, free_port, scrape_metrics

KiB = 1024
PAGE = 512


DELAY = 60    # --page-merge-delay of the server of the last test (the others merge at once)


def _server(tmp_path, delay):
    mport = free_port()
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", test_clock=True,
                       args=["--metrics-port", str(mport), "--page-merge-delay", str(delay)])
    srv.start()
    srv.metrics_port = mport
    return srv


@pytest.fixture
def server(tmp_path):
    srv = _server(tmp_path, 0)
    yield srv
    srv.stop()


@pytest.fixture
def delayed(tmp_path):
    srv = _server(tmp_path, DELAY)
    yield srv
    srv.stop()


def _ranges(bc, **kw):
    pages, clears = bc.get_page_ranges(**kw)
    return [(p["start"], p["end"]) for p in pages], [(c["start"], c["end"]) for c in clears]


def _merged(srv):
    m = scrape_metrics(srv.metrics_port)
    return m["cobalt_page_layers_merged_total"], m["cobalt_page_merged_entries_total"]


def _merge_round(srv):
    """One background round: the merge of the blobs whose hints are due runs in it."""
    assert srv.run_background_now()


def _write_runs(bc, n, size):
    """n separately written one-page runs, every other page: n page map entries."""
    want = bytearray(size)
    for i in range(n):
        d = os.urandom(PAGE)
        bc.upload_page(d, offset=2 * i * PAGE, length=PAGE)
        want[2 * i * PAGE:(2 * i + 1) * PAGE] = d
    return want


def _state(bc, **kw):
    return bc.download_blob(**kw).readall(), _ranges(bc, **kw)


def test_partial_clear_over_many_runs_then_merge(server):
    """A snapshot, then 2,500 runs, then a clear over 2,400 of them (past what one commit cuts):
    one answer, the right bytes and ranges at once, the snapshot's own kept; the round merges the
    clear's layer and nothing any reader sees changes; writes go on in the cleared range after."""
    cc = server.client().create_container("merge")
    bc = cc.get_blob_client("disk")
    size = 5000 * PAGE
    bc.create_page_blob(size)
    old = os.urandom(4 * PAGE)                          # the snapshot's, inside the clear
    bc.upload_page(old, offset=2000 * PAGE, length=4 * PAGE)
    snap = bc.create_snapshot()["snapshot"]
    snapped = bytearray(size)
    snapped[2000 * PAGE:2004 * PAGE] = old
    want = _write_runs(bc, 2500, size)
    want[2001 * PAGE:2002 * PAGE] = old[PAGE:2 * PAGE]
    want[2003 * PAGE:2004 * PAGE] = old[3 * PAGE:]
    assert bc.download_blob().readall() == bytes(want)
    bc.clear_page(offset=100 * PAGE, length=4800 * PAGE)
    after = bytearray(want)
    after[100 * PAGE:4900 * PAGE] = bytes(4800 * PAGE)
    data, (pages, clears) = _state(bc)
    assert data == bytes(after)
    assert pages == [(2 * i * PAGE, (2 * i + 1) * PAGE - 1) for i in range(50)] + \
        [(2 * i * PAGE, (2 * i + 1) * PAGE - 1) for i in range(2450, 2500)]
    sc = cc.get_blob_client("disk", snapshot=snap)
    assert sc.download_blob().readall() == bytes(snapped)
    diff = _ranges(bc, previous_snapshot_diff=snap)
    assert diff[1] == [(100 * PAGE, 4900 * PAGE - 1)]
    layers0, entries0 = _merged(server)

    _merge_round(server)
    layers1, entries1 = _merged(server)
    assert layers1 == layers0 + 1, (layers0, layers1)
    assert entries1 > entries0
    assert _state(bc) == (bytes(after), (pages, clears))
    assert sc.download_blob().readall() == bytes(snapped)
    assert _ranges(bc, previous_snapshot_diff=snap) == diff
    x = os.urandom(2 * PAGE)
    bc.upload_page(x, offset=1000 * PAGE, length=2 * PAGE)
    after[1000 * PAGE:1002 * PAGE] = x
    assert bc.download_blob().readall() == bytes(after)
    assert _ranges(bc)[0] == sorted(pages + [(1000 * PAGE, 1002 * PAGE - 1)])
    _merge_round(server)                                # nothing left to merge
    assert _merged(server)[0] == layers1


def test_shrinking_resize_over_many_runs(server):
    """A Resize that shrinks a blob over 1,500 runs (to more than 0): the pages past the new size
    are gone at once -- growing it again reads zeros there -- and after the merge as well."""
    cc = server.client().create_container("shrink")
    bc = cc.get_blob_client("disk")
    size = 4000 * PAGE
    bc.create_page_blob(size)
    want = _write_runs(bc, 2000, size)
    bc.resize_blob(1000 * PAGE)
    assert bc.get_blob_properties().size == 1000 * PAGE
    bc.resize_blob(size)
    grown = bytes(want[:1000 * PAGE]) + bytes(size - 1000 * PAGE)
    assert bc.download_blob().readall() == grown
    ranges = _ranges(bc)
    assert ranges == ([(2 * i * PAGE, (2 * i + 1) * PAGE - 1) for i in range(500)], [])
    layers0, _ = _merged(server)
    _merge_round(server)
    assert _merged(server)[0] == layers0 + 1
    assert bc.download_blob().readall() == grown
    assert _ranges(bc) == ranges


def test_deleted_snapshots_leave_layers_merged(delayed):
    """Four snapshots with writes between, then the three oldest deleted: their layers merge
    away once the delay has passed (not before), and the current blob, the snapshot kept and
    the diff against it read as before."""
    server = delayed
    cc = server.client().create_container("snaps")
    bc = cc.get_blob_client("disk")
    size = 256 * KiB
    bc.create_page_blob(size)
    snaps = []
    for r in range(4):
        for i in range(8):
            bc.upload_page(os.urandom(PAGE), offset=((r * 37 + i * 11) % 512) * PAGE, length=PAGE)
        bc.clear_page(offset=(r * 64 + 5) * PAGE, length=3 * PAGE)
        snaps.append(bc.create_snapshot()["snapshot"])
    bc.upload_page(os.urandom(4 * PAGE), offset=40 * PAGE, length=4 * PAGE)
    kept = snaps[-1]
    sc = cc.get_blob_client("disk", snapshot=kept)
    before = (_state(bc), _state(sc), _ranges(bc, previous_snapshot_diff=kept))
    for s in snaps[:-1]:
        cc.get_blob_client("disk", snapshot=s).delete_blob()
    layers0, _ = _merged(server)
    _merge_round(server)
    assert _merged(server)[0] == layers0                # not yet: reads may still be going on
    server.advance_clock(DELAY + 1)
    _merge_round(server)
    assert _merged(server)[0] >= layers0 + 3
    assert (_state(bc), _state(sc), _ranges(bc, previous_snapshot_diff=kept)) == before
    # Writes and snapshots go on over the merged layers.
    y = os.urandom(PAGE)
    bc.upload_page(y, offset=0, length=PAGE)
    s2 = bc.create_snapshot()["snapshot"]
    assert cc.get_blob_client("disk", snapshot=s2).download_blob(offset=0, length=PAGE).readall() == y
    assert _ranges(bc, previous_snapshot_diff=kept)[0][0] == (0, PAGE - 1)
