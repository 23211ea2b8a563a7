"""ThreadSanitizer (issue 5 §2.10): a concurrency-heavy black-box run against build-tsan
(-DCOBALT_TSAN=ON) with zero ThreadSanitizer reports in the server log.

Load: the kill -9 workload without the kill (6 writers: Put Blob, block uploads, overwrites, Set
Blob Metadata, deletes) while other threads list the container and read blobs; the background
compactor (1 MiB volumes, threshold 0.1) and the scrub (every second) run at the same time.  Then
If-Match races (4 writers, one ETag: exactly one 201, the rest 412) and If-None-Match: * create
races (exactly one 201, the rest 409).  The server must stop cleanly on SIGTERM.

TSan options and suppressions: scripts/sanitizers.sh and tests/tsan.supp (the conformance and
abuse suites run against build-tsan too, from scripts/test.sh).
"""
import os
import random
import threading
import time

import pytest

from crashlib import (LONG, Client, CobaltServer, Ledger, Workload, binary, setup_container, sha,
                      verify)

TSAN_OPTIONS = os.environ.get("TSAN_OPTIONS", "")


def _race(port, name, headers_for, want_ok, want_lose):
    barrier = threading.Barrier(4)
    results = [None] * 4

    def go(i):
        cl = Client(port)
        data = f"writer {i} of {name}".encode()
        barrier.wait()
        r = cl.put_blob("tsan", name, data, {"digest": sha(data)[:16]}, headers=headers_for())
        results[i] = r.status
        cl.close()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results.count(want_ok) == 1 and results.count(want_lose) == 3, results


def test_tsan_concurrency(tmp_path, seed):
    if not binary("tsan").exists():
        pytest.skip("build-tsan/cobalt is missing (tests/crash/run.sh builds it)")
    assert "suppressions=" in TSAN_OPTIONS, "run through tests/crash/run.sh (scripts/sanitizers.sh)"

    rng = random.Random(seed)
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", build="tsan",
                       args=["--volume-size", str(1 << 20), "--compact-threshold", "0.1",
                             "--scrub-interval", "1", "--scrub-rate", "64"],
                       env={"TSAN_OPTIONS": TSAN_OPTIONS})
    srv.start(timeout=120)
    setup_container(srv.port, "tsan")
    ledger = Ledger()
    stop = threading.Event()
    problems = []

    def lister():
        cl = Client(srv.port)
        while not stop.is_set():
            try:
                names = cl.list_names("tsan")
                for n in rng.sample(names, min(3, len(names))):
                    r = cl.get("tsan", n)
                    if r.status not in (200, 404):
                        problems.append(f"read {n}: {r!r}")
            except OSError as e:
                problems.append(f"lister: {e}")
                return
        cl.close()

    side = [threading.Thread(target=lister) for _ in range(2)]
    for t in side:
        t.start()
    w = Workload(srv.port, "tsan", ledger, seed=seed, threads=6, names_per_thread=30)
    w.run_for(40 if LONG else 12)
    time.sleep(6)   # let the compactor's round and a scrub pass overlap the listers
    stop.set()
    for t in side:
        t.join(60)
    assert not w.violations and not problems, (w.violations + problems)[:10]
    errors = verify(srv.port, "tsan", ledger, "TSan run")
    assert not errors, errors[:10]

    races = 100 if LONG else 25
    for i in range(races):
        name = f"race{i}"
        cl = Client(srv.port)
        etag = cl.put_blob("tsan", name, b"base", {"digest": sha(b"base")[:16]}).h("etag")
        cl.close()
        ok, res = _race(srv.port, name, lambda: {"If-Match": etag}, 201, 412)
        assert ok, f"If-Match race {i}: {res}"
        ok, res = _race(srv.port, name + "-new", lambda: {"If-None-Match": "*"}, 201, 409)
        assert ok, f"If-None-Match race {i}: {res}"
    rc = srv.stop(timeout=120)
    log = srv.log_text()
    reports = log.count("WARNING: ThreadSanitizer")
    assert reports == 0, f"{reports} ThreadSanitizer reports in {srv.log_path}:\n{log[-8000:]}"
    assert rc == 0, f"exit status {rc}:\n{srv.log_tail()}"
    print(f"tsan: {ledger.acks} acknowledged writes, {races} If-Match and {races} "
          f"If-None-Match races, 0 ThreadSanitizer reports")
