"""The monitoring endpoint (`cobalt serve --metrics-port N`, src/admin/monitor.h): Prometheus text
format, request counts by status class that match what clients saw, the store's sync count, and
nothing else served on that port.  Scrub and compaction figures are checked where those run
(tests/crash/test_bitrot.py, test_compaction.py)."""
import http.client

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from cobalt_testlib import CobaltServer, connection_string, free_port, scrape_metrics


@pytest.mark.local_files
def test_metrics_count_requests_and_syncs(tmp_path):
    mport = free_port()
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log",
                       args=["--metrics-port", str(mport)]).start()
    try:
        m0 = scrape_metrics(mport)
        assert m0['cobalt_http_requests_total{class="2xx"}'] == 0
        assert m0["cobalt_http_requests_in_flight"] == 0
        assert m0["cobalt_store_failed"] == 0
        # Scrapes are not requests to the Blob API.
        assert scrape_metrics(mport)['cobalt_http_requests_total{class="2xx"}'] == 0

        svc = BlobServiceClient.from_connection_string(connection_string(srv.port))
        cc = svc.create_container("metrics")                       # 201
        for i in range(5):
            cc.upload_blob(f"b{i}", b"x" * 1000)                   # 201 each
        assert cc.download_blob("b0").readall() == b"x" * 1000    # 200
        try:
            cc.download_blob("missing").readall()                  # 404 (the SDK does not retry)
        except ResourceNotFoundError:
            pass
        else:
            raise AssertionError("a missing blob was read")

        m = scrape_metrics(mport)
        assert m['cobalt_http_requests_total{class="2xx"}'] == 7, m
        assert m['cobalt_http_requests_total{class="4xx"}'] == 1, m
        assert m['cobalt_http_requests_total{class="5xx"}'] == 0, m
        assert m["cobalt_http_requests_in_flight"] == 0, m
        # Every upload waited for an fdatasync of its volume (group commit may share them).
        assert 1 <= m["cobalt_store_fdatasyncs_total"] <= 5, m

        conn = http.client.HTTPConnection("127.0.0.1", mport, timeout=10)
        for method, path in (("GET", "/"), ("GET", "/devstoreaccount1?comp=list"),
                             ("PUT", "/metrics")):
            conn.request(method, path)
            r = conn.getresponse()
            r.read()
            assert r.status == 404, (method, path, r.status)
        conn.close()
    finally:
        assert srv.stop() == 0
