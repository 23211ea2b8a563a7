"""Black-box conformance tests: the real `cobalt` binary driven by the Azure Python SDK.

The server under test is the binary named by $COBALT_BIN (default: build/cobalt at the repo root).
Each server runs on 127.0.0.1 with a free port and a private temporary data directory; it is
stopped by its PID (SIGTERM, then SIGKILL after a timeout).  Tests that need restarts or `kill -9`
get a server of their own (`fresh_server`); everything else shares one session server and works in
containers with unique names.

Environment:
  COBALT_BIN          path of the server binary
  COBALT_SKIP_HEAVY=1 skip tests marked `heavy` (used for the sanitizer run, where they are slow)
  COBALT_BACKEND      the engine every server runs on (`--backend`): local (default), memory or
                      rados (one throwaway Ceph cluster for the run, fresh pools per server:
                      tests/lib/cobalt_server.py).  The suite is the same for every engine; two
                      markers say what a test needs beyond the REST API: `restart` (data
                      outliving the process) is skipped on the memory engine, `local_files` (the
                      local engine's own files: fsck, volumes and compaction, store metrics) on
                      any engine but the local one.
"""
import os

import pytest
from azure.core.exceptions import HttpResponseError

from cobalt_testlib import BACKEND, CobaltServer, RawClient, unique_name


def pytest_configure(config):
    config.addinivalue_line("markers", "heavy: large-data test, skipped when COBALT_SKIP_HEAVY=1")
    config.addinivalue_line("markers", "restart: needs data to outlive the server process")
    config.addinivalue_line("markers", "local_files: reads the local engine's files (fsck, volumes)")


def pytest_collection_modifyitems(config, items):
    skips = {}
    if os.environ.get("COBALT_SKIP_HEAVY") == "1":
        skips["heavy"] = "COBALT_SKIP_HEAVY=1: large-data tests left out of this run"
    if BACKEND == "memory":
        skips["restart"] = "the memory engine keeps nothing across a restart"
    if BACKEND != "local":
        skips["local_files"] = f"the local engine's files, not the {BACKEND} engine's"
    for item in items:
        for marker, reason in skips.items():
            if marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


def _check_sanitizers(srv: CobaltServer) -> None:
    reports = srv.sanitizer_reports()
    if reports:
        pytest.fail(f"sanitizer reports in {srv.log_path}:\n{reports}\n---\n{srv.log_tail(80)}",
                    pytrace=False)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The shared server for the session."""
    d = tmp_path_factory.mktemp("cobalt-shared")
    srv = CobaltServer(d / "data", d / "server.log").start()
    yield srv
    rc = srv.stop()
    _check_sanitizers(srv)
    assert rc == 0, f"shared server exited with status {rc} on SIGTERM:\n{srv.log_tail()}"


@pytest.fixture
def fresh_server(tmp_path):
    """A private server (own data dir) for restart / crash tests."""
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log").start()
    yield srv
    srv.stop()
    _check_sanitizers(srv)


@pytest.fixture(scope="session")
def service(server):
    """SDK client with retries off, so every test sees the server's first answer."""
    return server.client()


@pytest.fixture(scope="session")
def raw(server) -> RawClient:
    return server.raw()


@pytest.fixture
def container(service):
    """A fresh, private container, deleted afterwards."""
    name = unique_name("c")
    cc = service.create_container(name)
    yield cc
    try:
        cc.delete_container()
    except HttpResponseError:
        pass


