#!/usr/bin/python3
"""What page blob writes and reads cost (docs/storage.md, "Page blobs"): one cobalt serve of
$COBALT_BIN on the engine $COBALT_BACKEND (local, memory, rados) started by the test harness, a
1 TiB page blob, then raw Shared Key requests (the conformance suite's RawClient: no SDK overhead
in the figures), one at a time:

  - N 512-byte Put Page at random page-aligned offsets (each durable before its 201);
  - N 512-byte ranged reads at written offsets, and N at unwritten ones;
  - Get Page Ranges over the whole blob (N ranges), and a Get Blob of the whole 1 TiB's first
    64 MiB (sparse);
  - the same page overwritten N times;
  - for comparison, N Put Blob and Get Blob of 512-byte block blobs;
  - Copy Blob of the 1 TiB blob (its N written pages) into another blob, to the end of the copy
    (the destination's status polled with HEAD); then a 256 MiB page blob
    written whole in 4 MiB pages: a Get Blob of it beside a Copy Blob of it, and Incremental
    Copies of two of its snapshots (the first copies everything, the second the 64 pages that
    changed between them).

Prints the mean latency of each, and for the local engine the bytes the data directory grew by
per write (volumes: payloads; meta: RocksDB, after a flush at stop).

    COBALT_BIN=/tmp/b/cobalt COBALT_BACKEND=local /usr/bin/python3 bench/page_costs.py [N]

With `--growth N [CLIENTS]` it grows one blob's page map instead: N 512-byte pages at random
offsets, written in fifths by CLIENTS (default 4) writers at once, each fifth followed by costs
timed alone (a Put Page, a 512-byte Get of a written page, a Get Page Ranges of a 1 GiB window,
a container HEAD): how the costs move as the page map grows.
"""
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "lib"), str(ROOT / "tests" / "conformance")]
from cobalt_server import BACKEND  # noqa: E402
from cobalt_testlib import CobaltServer, RawClient  # noqa: E402

TiB = 1 << 40


def du(path):
    return int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True).stdout.split()[0])


def settled(raw, path):
    """Polls a copy destination until its copy is no longer pending (page copies are
    asynchronous); its status."""
    while True:
        r = raw.request("HEAD", path)
        if r.header("x-ms-copy-status") != "pending":
            return r.header("x-ms-copy-status")
        time.sleep(0.005)


def timed(fn, n):
    t = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t) / n * 1000


def ok(r, status):
    assert r.status == status, r
    return r


def disk(raw, container):
    """A container and, in it, the 1 TiB page blob `disk`: its path."""
    ok(raw.request("PUT", f"/{container}", query={"restype": "container"}), 201)
    ok(raw.request("PUT", f"/{container}/disk", headers={"x-ms-blob-type": "PageBlob",
                                                         "x-ms-blob-content-length": str(TiB)}), 201)
    return f"/{container}/disk"


def put_page(raw, path, off, data):
    ok(raw.request("PUT", path, query={"comp": "page"}, body=data,
                   headers={"x-ms-page-write": "update", "x-ms-range": f"bytes={off}-{off + len(data) - 1}"}), 201)


def get_range(raw, path, off, length=512):
    return ok(raw.request("GET", path, headers={"x-ms-range": f"bytes={off}-{off + length - 1}"}), 206)


def growth(n, clients):
    """--growth: fifths of n pages written by `clients` writers at once (the map grows fast), and
    after each fifth, alone: Put Pages at new offsets, ranged Gets at written ones, a Get Page
    Ranges of a 1 GiB window, and a container HEAD."""
    with tempfile.TemporaryDirectory(prefix="cobalt-page-growth-") as d:
        srv = CobaltServer(Path(d) / "data", Path(d) / "log").start()
        try:
            raw = RawClient(srv)
            rnd, data, step = random.Random(1), os.urandom(512), max(1, n // 5)
            path = disk(raw, "growth")

            def page():
                return rnd.randrange(TiB // 512 - 1) * 512

            written = []
            with ThreadPoolExecutor(clients) as pool:
                for fifth in range(1, 6):
                    offs = [page() for _ in range(step)]
                    t = time.perf_counter()
                    list(pool.map(lambda i: [put_page(raw, path, o, data) for o in offs[i::clients]], range(clients)))
                    rate = step / (time.perf_counter() - t)
                    written += offs
                    alone = timed(lambda _: put_page(raw, path, page(), data), 200)
                    get = timed(lambda _: get_range(raw, path, rnd.choice(written)), 200)
                    lo = rnd.randrange(TiB // 2**30 - 1) * 2**30
                    ranges = timed(lambda _: ok(raw.request("GET", path, query={"comp": "pagelist"},
                                                            headers={"x-ms-range": f"bytes={lo}-{lo + 2**30 - 1}"}), 200), 20)
                    head = timed(lambda _: ok(raw.request("HEAD", "/growth", query={"restype": "container"}), 200), 50)
                    print(f"engine {BACKEND}: {len(written) + 200 * fifth} pages written: "
                          f"{rate:.0f} Put Page/s by {clients}; alone: Put Page {alone:.2f} ms, "
                          f"Get 512 B {get:.2f} ms, Get Page Ranges of 1 GiB {ranges:.2f} ms, "
                          f"container HEAD {head:.2f} ms", flush=True)
        finally:
            srv.stop()


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--growth":
        growth(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 4)
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory(prefix="cobalt-page-costs-") as d:
        srv = CobaltServer(Path(d) / "data", Path(d) / "log").start()
        try:
            raw = RawClient(srv)
            path = disk(raw, "costs")

            def put(off):
                put_page(raw, path, off, data)

            def get(off, length=512):
                return get_range(raw, path, off, length)

            rnd = random.Random(1)
            offs = sorted({rnd.randrange(TiB // 512 - 1) * 512 for _ in range(n)})
            data = os.urandom(512)
            vol0 = du(Path(d) / "data" / "volumes") if BACKEND == "local" else 0
            w = timed(lambda i: put(offs[i]), len(offs))
            r_hit = timed(lambda i: get(offs[i]), len(offs))
            r_miss = timed(lambda i: get(offs[i] + 512), len(offs))
            t = time.perf_counter()
            body = ok(raw.request("GET", "/costs/disk", query={"comp": "pagelist"}), 200).body
            ranges_ms = (time.perf_counter() - t) * 1000
            pages = [None] * body.count(b"<PageRange>")
            t = time.perf_counter()
            got = get(0, 64 << 20).body
            sparse_ms = (time.perf_counter() - t) * 1000
            vol1 = du(Path(d) / "data" / "volumes") if BACKEND == "local" else 0
            ow = timed(lambda i: put(0), n)
            bput = timed(lambda i: ok(raw.request("PUT", f"/costs/b{i}", body=data,
                                                  headers={"x-ms-blob-type": "BlockBlob"}), 201), n)
            bget = timed(lambda i: ok(raw.request("GET", f"/costs/b{i}"), 200), n)
            src = f"{srv.endpoint}/costs/disk"
            t = time.perf_counter()
            ok(raw.request("PUT", "/costs/disk-copy", headers={"x-ms-copy-source": src}), 202)
            assert settled(raw, "/costs/disk-copy") == "success"
            copy_sparse = (time.perf_counter() - t) * 1000
            full = 256 << 20
            ok(raw.request("PUT", "/costs/full", headers={"x-ms-blob-type": "PageBlob",
                                                          "x-ms-blob-content-length": str(full)}), 201)
            four = os.urandom(4 << 20)
            for off in range(0, full, 4 << 20):
                ok(raw.request("PUT", "/costs/full", query={"comp": "page"}, body=four,
                               headers={"x-ms-page-write": "update",
                                        "x-ms-range": f"bytes={off}-{off + (4 << 20) - 1}"}), 201)
            t = time.perf_counter()
            ok(raw.request("GET", "/costs/full"), 200)
            get_full = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            ok(raw.request("PUT", "/costs/full-copy",
                           headers={"x-ms-copy-source": f"{srv.endpoint}/costs/full"}), 202)
            assert settled(raw, "/costs/full-copy") == "success"
            copy_full = (time.perf_counter() - t) * 1000
            incr = []
            for k in range(2):
                snap = ok(raw.request("PUT", "/costs/full", query={"comp": "snapshot"}), 201)
                snap_url = f"{srv.endpoint}/costs/full?snapshot={snap.header('x-ms-snapshot')}"
                t = time.perf_counter()
                ok(raw.request("PUT", "/costs/full-backup", query={"comp": "incrementalcopy"},
                               headers={"x-ms-copy-source": snap_url}), 202)
                assert settled(raw, "/costs/full-backup") == "success"
                incr.append((time.perf_counter() - t) * 1000)
                for _ in range(64):
                    put_at = rnd.randrange(full // 512) * 512
                    ok(raw.request("PUT", "/costs/full", query={"comp": "page"}, body=data,
                                   headers={"x-ms-page-write": "update",
                                            "x-ms-range": f"bytes={put_at}-{put_at + 511}"}), 201)
            print(f"engine {BACKEND}: {len(offs)} writes of 512 B into a 1 TiB page blob")
            print(f"  Put Page 512 B:                 {w:.2f} ms")
            print(f"  overwrite of one page:          {ow:.2f} ms")
            print(f"  Get 512 B, written page:        {r_hit:.2f} ms")
            print(f"  Get 512 B, unwritten page:      {r_miss:.2f} ms")
            print(f"  Get Page Ranges ({len(pages)} ranges): {ranges_ms:.1f} ms")
            print(f"  Get 64 MiB of the sparse blob:  {sparse_ms:.1f} ms ({len(got)} bytes)")
            print(f"  (block blob 512 B: Put Blob {bput:.2f} ms, Get Blob {bget:.2f} ms)")
            print(f"  Copy Blob of the 1 TiB blob:    {copy_sparse:.0f} ms ({len(offs)} pages)")
            print(f"  256 MiB written: Get Blob {get_full:.0f} ms, Copy Blob {copy_full:.0f} ms, "
                  f"Incremental Copy first {incr[0]:.0f} ms, then of 64 changed pages {incr[1]:.0f} ms")
            if BACKEND == "local":
                print(f"  volume bytes per write:         {(vol1 - vol0) / len(offs):.0f}")
        finally:
            srv.stop()
        if BACKEND == "local":
            print(f"  data directory after stop:      {du(Path(d) / 'data')} bytes "
                  f"(meta {du(Path(d) / 'data' / 'meta')})")


if __name__ == "__main__":
    main()
