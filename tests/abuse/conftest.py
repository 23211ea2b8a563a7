"""Fixtures for the abuse suites: the real binary ($COBALT_BIN, default build/cobalt) on
127.0.0.1:<free port> with a temporary data directory, stopped by PID at the end.

Known server bugs.  A test that demonstrates a bug not fixed yet is marked
`@pytest.mark.known_bug("what is wrong")`.  It is skipped in the default run (so main stays
green) and listed in KNOWN_BUGS.md; `COBALT_RUN_KNOWN_BUGS=1` runs them (each fails until its bug
is fixed; then drop the marker so it guards against regressions).

`COBALT_ABUSE_LONG=1` enables the long cases (waiting out the server's 120 s idle timeout).
"""
import os

import pytest

from abuselib import CobaltServer


def pytest_configure(config):
    config.addinivalue_line("markers", "known_bug(reason): demonstrates an open server bug; "
                            "skipped unless COBALT_RUN_KNOWN_BUGS=1")
    config.addinivalue_line("markers", "long: only with COBALT_ABUSE_LONG=1")


def pytest_collection_modifyitems(config, items):
    run_bugs = os.environ.get("COBALT_RUN_KNOWN_BUGS") == "1"
    run_long = os.environ.get("COBALT_ABUSE_LONG") == "1"
    for item in items:
        m = item.get_closest_marker("known_bug")
        if m is not None and not run_bugs:
            item.add_marker(pytest.mark.skip(reason="known bug: " + (m.args[0] if m.args else "")))
        if item.get_closest_marker("long") is not None and not run_long:
            item.add_marker(pytest.mark.skip(reason="long case (COBALT_ABUSE_LONG=1)"))


def _finish(srv):
    reports = srv.sanitizer_reports()
    alive = srv.alive()
    rc = srv.stop()
    if not alive:
        pytest.fail(f"the server died during the suite (exit {rc}):\n{srv.log_tail(60)}",
                    pytrace=False)
    if reports:
        pytest.fail(f"sanitizer reports in {srv.log_path}:\n{reports}", pytrace=False)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("cobalt-abuse")
    srv = CobaltServer(d / "data", d / "server.log").start()
    yield srv
    _finish(srv)


@pytest.fixture
def fresh_server(tmp_path):
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log").start()
    yield srv
    _finish(srv)


@pytest.fixture
def server_with(tmp_path):
    """start(*args): a private server started with extra `cobalt serve` arguments."""
    started = []

    def start(*args):
        d = tmp_path / f"srv{len(started)}"
        srv = CobaltServer(d / "data", d / "server.log", args).start()
        started.append(srv)
        return srv
    yield start
    for srv in started:
        _finish(srv)


@pytest.fixture
def port(server):
    """The shared server's port; fails the test if an earlier one killed the server."""
    assert server.alive(), f"server is down:\n{server.log_tail()}"
    return server.port


# ---- measured figures, printed at the end of the run ---------------------------------------

FIGURES = []


@pytest.fixture
def record_figure():
    """record_figure("what", value): kept and printed in the summary (and appended to
    $COBALT_ABUSE_FIGURES if set), so long-run numbers can go into the README."""
    def rec(what, value):
        FIGURES.append((what, value))
        path = os.environ.get("COBALT_ABUSE_FIGURES")
        if path:
            with open(path, "a") as f:
                f.write(f"{what}: {value}\n")
    return rec


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("abuse figures")
        for what, value in FIGURES:
            terminalreporter.write_line(f"{what}: {value}")
