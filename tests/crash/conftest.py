"""pytest configuration of the crash suites (tests/crash/README in run.sh's header).

COBALT_CRASH_LONG=1 selects the long counts; COBALT_CRASH_SEED fixes the random seed (each test
prints the seed it used, so a failure can be replayed).
"""
import os
import random

import pytest


@pytest.fixture
def seed():
    s = int(os.environ.get("COBALT_CRASH_SEED", random.randrange(1 << 30)))
    print(f"seed {s} (replay with COBALT_CRASH_SEED={s})")
    return s


@pytest.fixture(autouse=True)
def _no_server_left_behind():
    """Kills (by PID) any server a test left running, even when it failed."""
    from crashlib import CobaltServer
    yield
    for srv in list(CobaltServer.live):
        srv.kill9()
