"""What a 4 KiB Put Blob and Get Blob cost on the RADOS engine (docs/rados.md, "Inline payloads,
measured"): RADOS ops per request and latency, for the build under test and, given, another build
(one without inline payloads).

Each build serves fresh pools on the harness's throwaway cluster (tests/lib: one OSD, so every op
of the gateway reaches it), on a test clock so that no background round runs during the measure;
a warm-up of 20 requests, then N sequential Put Blobs of 4096 bytes (distinct names) and N Get
Blobs of them, over raw HTTP, signed with Shared Key.  Ops are the OSD's client op counters (`ceph
tell osd.0 perf dump`: op_r, op_w and op_rw -- an op that reads and writes, such as a compare and
set -- each one per RADOS op, however many sub-operations it holds) before and after each phase,
divided by N; latency is the client's, per request (median and 99th percentile).  Run:
    COBALT_BIN=build/cobalt /usr/bin/python3 tests/rados/measure_inline.py [OTHER_COBALT] [N]
"""
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from cobalt_testlib import CobaltServer  # noqa: E402
import cobalt_server  # noqa: E402

SIZE = 4096


OPS = ("op_r", "op_w", "op_rw")


def osd_ops(ceph):
    """The OSD's client op counters: reads, writes, and ops that read and write (a compare and
    set): `ceph tell osd.0 perf dump`."""
    r = subprocess.run(["ceph", "-c", ceph.conf, "tell", "osd.0", "perf", "dump"],
                       capture_output=True, text=True, check=True, timeout=60)
    d = json.loads(r.stdout)["osd"]
    return [d[k] for k in OPS]


def measure(binary: str, d: Path, n: int):
    args = cobalt_server.rados_args(d / "pools")
    ceph = cobalt_server._ceph
    srv = CobaltServer(d / "gw", d / "gw.log", args=["--backend", "rados", *args],
                       test_clock=True)
    srv.binary = Path(binary)
    srv.start()
    raw = srv.raw()
    try:
        assert raw.request("PUT", "/measure", query={"restype": "container"}).status == 201
        body = os.urandom(SIZE)
        for i in range(20):
            raw.put_blob("measure", f"warm{i}", body)
            raw.get_blob("measure", f"warm{i}")
        out = {}
        for phase in ("put", "get"):
            lat = []
            before = osd_ops(ceph)
            for i in range(n):
                t0 = time.perf_counter()
                r = raw.put_blob("measure", f"b{i}", body) if phase == "put" else raw.get_blob("measure", f"b{i}")
                lat.append(time.perf_counter() - t0)
                assert r.status in (200, 201), r
            after = osd_ops(ceph)
            ops = [(a - b) / n for a, b in zip(after, before)]
            lat.sort()
            out[phase] = (ops, statistics.median(lat) * 1000, lat[int(0.99 * (n - 1))] * 1000)
        return out
    finally:
        srv.stop()


def main():
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    builds = [("this build", str(cobalt_server.binary()))]
    if len(sys.argv) > 1:
        builds.append(("other build", sys.argv[1]))
    root = Path(os.environ.get("TMPDIR", "/tmp")) / f"cobalt-measure.{os.getpid()}"
    print("| build | request | RADOS ops per request: read / write / read-and-write (total) "
          "| latency median / p99 (ms) |\n|---|---|---|---|")
    for k, (label, binary) in enumerate(builds):
        out = measure(binary, root / f"b{k}", n)
        for phase, (ops, med, p99) in out.items():
            print(f"| {label} | {phase} 4 KiB | {ops[0]:.2f} / {ops[1]:.2f} / {ops[2]:.2f} "
                  f"({sum(ops):.2f}) | {med:.2f} / {p99:.2f} |")


if __name__ == "__main__":
    main()
