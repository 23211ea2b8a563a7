"""The RADOS operations a gateway sends are counted in /metrics (cobalt_rados_ops_total, by pool
and kind): an upload writes its payload to the data pool and its record to the index pool, a
download reads both and writes nothing to the data pool.  bench/rados.sh divides these counters by
the requests answered to give the operations per Blob request.  Run:
    COBALT_BIN=$PWD/build/cobalt /usr/bin/python3 -m pytest -q tests/rados/test_ops.py
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from cobalt_testlib import CobaltServer, free_port, scrape_metrics, unique_name  # noqa: E402
import cobalt_server  # noqa: E402  (tests/lib, on the path through cobalt_testlib)

KINDS = [f'cobalt_rados_ops_total{{pool="{p}",kind="{k}"}}'
         for p in ("index", "data") for k in ("read", "write")]


def test_rados_ops_counted_by_pool_and_kind(tmp_path):
    mport = free_port()
    args = ["--backend", "rados", *cobalt_server.rados_args(tmp_path / "cluster"),
            "--metrics-port", str(mport)]
    srv = CobaltServer(tmp_path / "gw", tmp_path / "gw.log", args=args).start()
    try:
        def ops():
            m = scrape_metrics(mport)
            return [m[k] for k in KINDS]

        def delta(fn):
            before = ops()
            fn()
            return dict(zip(("idx_r", "idx_w", "data_r", "data_w"),
                            (b - a for a, b in zip(before, ops()))))

        blob = srv.client().create_container(unique_name("ops")).get_blob_client("b")
        data = os.urandom(1 << 20)
        put = delta(lambda: blob.upload_blob(data))
        assert put["idx_w"] >= 1 and put["data_w"] >= 1, put
        def download():
            assert blob.download_blob().readall() == data

        get = delta(download)
        assert get["idx_r"] >= 1 and get["data_r"] >= 1 and get["data_w"] == 0, get
    finally:
        assert srv.stop() == 0, srv.log_tail()
