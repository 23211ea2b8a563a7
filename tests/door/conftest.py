"""The production front door, black box: the real `cobalt` binary with a config file, over HTTPS
with a test CA, with bearer tokens minted here against a JWKS file written here, and driven by the
Azure SDKs, az, rclone and AzCopy.  Nothing here reaches beyond 127.0.0.1.

Environment: COBALT_BIN (default build/cobalt), as every suite.
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cobalt_server import CobaltServer, free_port  # noqa: E402
from doorlib import DEV_ACCOUNT, CertAuthority  # noqa: E402


def _check_sanitizers(srv):
    reports = srv.sanitizer_reports()
    if reports:
        pytest.fail(f"sanitizer reports in {srv.log_path}:\n{reports}", pytrace=False)


@pytest.fixture
def start_server(tmp_path):
    """start_server(args..., env=...) -> a started CobaltServer, stopped (and checked for a clean
    exit and sanitizer reports) when the test ends."""
    started = []

    def start(*args, env=None, **kw):
        n = len(started)
        srv = CobaltServer(tmp_path / f"data{n}", tmp_path / f"server{n}.log", args=args, env=env,
                           **kw)
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        if srv.alive():
            rc = srv.stop()
            assert rc == 0, f"server exited with {rc}:\n{srv.log_tail()}"
        _check_sanitizers(srv)


@pytest.fixture
def tls_server(tmp_path, start_server):
    """A server with an HTTPS listener beside the HTTP one, its certificate from a test CA: the
    CobaltServer, with https_port, url (the dev account over HTTPS), ca (the CertAuthority; its
    .pem is what clients trust) and the cert and key files it serves."""
    ca = CertAuthority(tmp_path / "ca")
    cert, key = ca.issue("server")
    port = free_port()
    srv = start_server("--https-port", str(port), "--tls-cert", cert, "--tls-key", key,
                       "--log-level", "info")
    srv.https_port, srv.ca, srv.cert, srv.key = port, ca, cert, key
    srv.url = f"https://127.0.0.1:{port}/{DEV_ACCOUNT}"
    return srv
