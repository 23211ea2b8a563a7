"""A large container on the RADOS engine lists completely and pages correctly.

`cobalt bench put --size 0 --count N` writes N empty blobs through two gateways (64 connections;
bench names them put/w<worker>-<seq>, each worker's seqs 0, 1, 2, ...), spread by the hash of
their names over the container's 16 index shards; then List Blobs pages through the whole
container with markers at several page sizes, through both gateways, and every listing must hold
every blob exactly once, in order: each page full but the last, names strictly ascending across
pages, each worker's seqs exactly 0..its count - 1, the total N.

N is 20,000 (about 20 s here); with COBALT_SOAK=1 it is 1,000,000 (26 minutes on a loaded 2-core
machine; that run's figures are in docs/benchmarks.md, "RADOS").  COBALT_LIST_BLOBS=N sets any
other count.  Run:
    COBALT_BIN=$PWD/build/cobalt /usr/bin/python3 -m pytest -q tests/rados/test_listing.py
"""
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from cobalt_testlib import CobaltServer, unique_name  # noqa: E402
import cobalt_server  # noqa: E402  (tests/lib, on the path through cobalt_testlib)

SOAK = os.environ.get("COBALT_SOAK") == "1"
N = int(os.environ.get("COBALT_LIST_BLOBS", 1_000_000 if SOAK else 20_000))
PAGE_SIZES = (5000, 1000, 997) if SOAK else (5000, 1234, 97)
NAME = re.compile(r"put/w(\d{3})-(\d{10})")


@pytest.fixture(scope="module")
def gateways(tmp_path_factory):
    d = tmp_path_factory.mktemp("listing")
    args = ["--backend", "rados", *cobalt_server.rados_args(d / "cluster")]
    gws = [CobaltServer(d / f"gw{i}", d / f"gw{i}.log", args=args).start() for i in range(2)]
    yield gws
    for g in gws:
        assert g.stop() == 0, g.log_tail()
        assert not g.sanitizer_reports(), g.sanitizer_reports()


def list_all(gw, container, page_size):
    """Every name in the container, page by page with markers; asserts each page but the last
    is full."""
    raw, names, marker, pages = gw.raw(), [], "", 0
    while True:
        q = {"restype": "container", "comp": "list", "maxresults": str(page_size)}
        if marker:
            q["marker"] = marker
        r = raw.request("GET", f"/{container}", query=q, timeout=300)
        assert r.status == 200, (r.status, r.body[:500])
        root = ET.fromstring(r.body)
        page = [e.text for e in root.iter("Name")]
        marker = root.findtext("NextMarker") or ""
        pages += 1
        names += page
        if not marker:
            return names, pages
        assert len(page) == page_size, f"page {pages} has {len(page)} entries, not {page_size}"


def test_large_container_lists_completely(gateways, record_property):
    container = unique_name("big")
    t0 = time.monotonic()
    run = subprocess.run(
        [str(gateways[0].binary), "bench", "put", "--size", "0", "--count", str(N),
         "--concurrency", "64", "--container", container, "--quiet", "--json", "-",
         *[a for g in gateways for a in ("--endpoint", g.endpoint)]],
        capture_output=True, text=True, timeout=3 * 3600)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout[run.stdout.index("{"):])
    assert report["ops"] == N and report["errors"] == 0, report["errors_by"]
    print(f"\n{N} blobs written in {time.monotonic() - t0:.1f} s "
          f"({report['ops_per_s']:.0f}/s, p99 {report['latency_ms']['p99']:.1f} ms)")

    for i, size in enumerate(PAGE_SIZES):
        gw = gateways[i % len(gateways)]
        t0 = time.monotonic()
        names, pages = list_all(gw, container, size)
        secs = time.monotonic() - t0
        print(f"listed {len(names)} in {pages} pages of {size} in {secs:.1f} s "
              f"({len(names) / secs:.0f} entries/s)")
        assert len(names) == N
        assert all(a < b for a, b in zip(names, names[1:])), "names not strictly ascending"
        seqs = {}
        for n in names:
            m = NAME.fullmatch(n)
            assert m, f"unexpected name {n!r}"
            seqs.setdefault(m[1], []).append(int(m[2]))
        for worker, got in seqs.items():
            assert got == list(range(len(got))), f"worker {worker}: seqs not 0..{len(got) - 1}"
