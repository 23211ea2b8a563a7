"""I/O faults (issue 5 §2.3; DESIGN invariant 3, store.h V4).

test_fault_matrix: for each seam operation x {EIO, ENOSPC, short transfer} x {once, always}, the
fault build fails the Nth call (N picked from a traced dry run so that it lands in the middle of the
workload; operations used only at start-up also get N=1).  Then:
  - every answer is a 2xx or a clean Azure error (500 InternalError / 503 ServerBusy with
    x-ms-error-code and an XML body carrying the same code); no read returns wrong bytes with 200;
  - after a failed fdatasync/fsync no write is acknowledged until restart, even though the next
    sync would succeed ("once"): a failed fsync is never retried and then acknowledged (V4);
  - a fault during start-up makes `cobalt serve` exit 1 with a log line, not crash;
  - SIGTERM still stops the server; fsck finds no problem; after a restart without faults every
    acknowledged write reads back exactly and writes are accepted again.

test_real_enospc_*: the volumes directory on a 16 MiB tmpfs (the metadata stays on the real disk),
filled with a filler file: uploads fail cleanly (503 ServerBusy), acknowledged data stays readable,
and after a restart with space freed everything is intact and writes are accepted.  Writes also
resume without a restart once space is freed (store.h V4: ENOSPC from pwrite, before any sync,
refuses only that write; a failed sync still fail-stops).
"""
import os
import random
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from crashlib import (KiB, Client, CobaltServer, Ledger, Workload, clean_error, fsck, sha,
                      setup_container, verify)

OPS = ["pwrite", "fdatasync", "fsync", "sync", "open", "close", "pread", "size", "mkdir", "unlink"]
ERRS = ["EIO", "ENOSPC", "short"]
MODES = ["once", "always"]
ARGS = ["--volume-size", str(1 << 20), "--compact-threshold", "0.1"]


def _workload(port, ledger, seed, faulty):
    """Deterministic single-thread writes, then deletes (which make the compactor's next round
    unlink volumes).  Returns the Workload (its violations and the fail-stop evidence)."""
    w = Workload(port, "faults", ledger, seed=seed, threads=1, names_per_thread=25,
                 stop_on_error=not faulty, max_ops=45)
    w.start()
    w.join(300, finish=True)
    return w


def _read_check(port, ledger):
    """Reads of acknowledged blobs: the right bytes with 200, or a clean 5xx; never wrong bytes."""
    bad = []
    cl = Client(port)
    for name, (s, _, _) in sorted(ledger.acked.items()):
        if s is None or ledger.maybe.get(name):
            continue
        r = cl.get("faults", name)
        if r.status == 200:
            if sha(r.body) != s or not r.complete:
                bad.append(f"{name}: 200 with wrong or short bytes")
        elif clean_error(r):
            bad.append(f"read {name}: {clean_error(r)}")
    cl.close()
    return bad


def _dry_run(root: Path, seed):
    """Counts of each operation at start-up and during the workload (traced, no faults)."""
    srv = CobaltServer(root / "dry" / "data", root / "dry" / "server.log", build="fault", args=ARGS,
                       test_clock=True)
    trace = root / "dry" / "trace"
    srv.start(faults=f"trace={trace}")
    setup_container(srv.port, "faults")
    boot = _count(trace)
    _workload(srv.port, Ledger(), seed, faulty=False)
    assert srv.run_background_now()   # the compactor's first round
    assert srv.stop() == 0
    total = _count(trace)
    return boot, {op: total.get(op, 0) - boot.get(op, 0) for op in OPS}


def _count(trace: Path):
    counts = {}
    for line in trace.read_text().splitlines():
        op = line.split(" ", 1)[0]
        counts[op] = counts.get(op, 0) + 1
        if op in ("fdatasync", "fsync"):
            counts["sync"] = counts.get("sync", 0) + 1
    return counts


def _cases(boot, work):
    cases = []
    for op in OPS:
        for err in ERRS:
            if err == "short" and op not in ("pwrite", "pread"):
                continue
            for mode in MODES:
                ns = set()
                if work.get(op, 0) > 0:
                    ns.add(boot.get(op, 0) + max(1, work[op] // 3))
                if boot.get(op, 0) > 0 or not ns:
                    ns.add(1)
                for n in sorted(ns):
                    cases.append(f"fail={op}:{n},err={err},mode={mode}")
    return cases


def _case(root: Path, k: int, spec: str, seed: int):
    d = root / f"case{k}"
    srv = CobaltServer(d / "data", d / "server.log", build="fault", args=ARGS, test_clock=True)
    ledger = Ledger()
    info = {"spec": spec, "started": True, "acked_after_fail": 0, "5xx": 0}
    up = srv.start(faults=spec, expect_up=False)
    if not up:
        rc = srv.proc.returncode
        assert rc == 1, f"{spec}: start-up fault: exit {rc} (want 1: a clean refusal)"
        assert " error " in srv.log_text(), f"{spec}: start-up fault left no error line"
        info["started"] = False
    else:
        cl = Client(srv.port)
        r = cl.create_container("faults")
        cl.close()
        assert r.status == 201 or not clean_error(r), f"{spec}: create container: {r!r}"
        w = _workload(srv.port, ledger, seed, faulty=True)
        if "unlink" in spec:
            srv.run_background_now()   # the compactor's first round retires (unlinks) volumes
        assert not w.violations, f"{spec}: {w.violations[:5]}"
        info["5xx"] = w.errors_5xx
        info["acked_after_fail"] = len(w.after_fail_ok)
        op = spec.split("=")[1].split(":")[0]
        if op in ("fdatasync", "fsync", "sync") and w.first_5xx is not None:
            # V4: after a failed sync nothing that needs a sync is acknowledged until restart.
            # Writes that carry no bytes (delete, set metadata, an empty Put Blob, Create Append
            # Blob) need none: one that passed the server's check an instant before the sync
            # failed may still be answered after the first 500.  So the data writes are checked
            # here, and the probes check that every kind of write is refused from then on.
            writes = [x for x in w.after_fail_ok
                      if not x.startswith(("delete", "set metadata", "create append blob"))
                      and not x.endswith("(0 B)")]
            assert not writes, f"{spec}: acknowledged after a failed sync: {writes[:5]}"
            cl = Client(srv.port)
            for what, r in (("put blob", cl.put_blob("faults", "probe", b"after a failed sync")),
                            ("empty put blob", cl.put_blob("faults", "probe", b"")),
                            ("create append blob", cl.create_append_blob("faults", "probe2"))):
                assert r.status == 500 and not clean_error(r), f"{spec}: {what} after failed sync: {r!r}"
            cl.close()
        bad = _read_check(srv.port, ledger)
        assert not bad, f"{spec}: {bad[:5]}"
        rc = srv.stop()
        assert rc in (0, 1), f"{spec}: exit {rc} on SIGTERM:\n{srv.log_tail()}"
    problems, out = fsck(srv.data_dir, "fault")
    assert problems == 0, f"{spec}: fsck:\n{out[-3000:]}"
    srv.start()
    setup_container(srv.port, "faults")
    errors = verify(srv.port, "faults", ledger, spec)
    assert not errors, "\n".join(errors[:10])
    r = Client(srv.port).put_blob("faults", "after-restart", b"writes accepted again")
    assert r.status == 201, f"{spec}: write after restart: {r!r}"
    assert srv.stop() == 0
    return info


def test_fault_matrix(tmp_path, seed):
    boot, work = _dry_run(tmp_path, seed)
    cases = _cases(boot, work)
    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        infos = list(pool.map(lambda a: _case(tmp_path, a[0], a[1], seed), enumerate(cases)))
    failstop = [i["spec"] for i in infos if i["5xx"] and i["acked_after_fail"] == 0]
    print(f"faults: start-up counts {boot}; workload counts {work}")
    print(f"faults: {len(cases)} cases, {sum(not i['started'] for i in infos)} refused to start "
          f"cleanly, {sum(i['5xx'] > 0 for i in infos)} answered clean 5xx, {len(failstop)} "
          f"fail-stopped, 0 violations, {time.monotonic() - t0:.0f} s")
    for i in infos:
        print(f"  {i['spec']:45s} started={i['started']!s:5s} 5xx={i['5xx']:3d} "
              f"acked_after_first_5xx={i['acked_after_fail']}")


# ------------------------------------------------------------------------------------------------
# Real ENOSPC on a small tmpfs
# ------------------------------------------------------------------------------------------------

def _mount_tmpfs(path: Path, size="16m"):
    path.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {p.stderr.strip()}")


def _enospc_scenario(tmp_path, seed, resume_without_restart):
    vols = tmp_path / "data" / "volumes"
    _mount_tmpfs(vols)
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log")
    try:
        srv.start()
        setup_container(srv.port, "faults")
        filler = vols / "filler"
        with open(filler, "wb") as f:
            f.write(b"\0" * (11 << 20))
        rng = random.Random(seed)
        ledger = Ledger()
        cl = Client(srv.port)
        first_fail = None
        for i in range(40):
            data = rng.randbytes(512 * KiB)
            st = (sha(data), "")
            r = cl.put_blob("faults", f"fill{i:02d}", data, {"digest": st[0][:16]})
            if r.status == 201:
                assert first_fail is None, "acknowledged after a failed write"
                ledger.ack(f"fill{i:02d}", st, r.h("etag"))
                continue
            assert not clean_error(r), f"upload on a full disk: {clean_error(r)}"
            if first_fail is None:
                first_fail = r
                ledger.begin(f"fill{i:02d}", st)
        assert first_fail is not None, "the disk never filled"
        assert first_fail.status == 503 and first_fail.h("x-ms-error-code") == "ServerBusy", \
            f"first ENOSPC answer: {first_fail!r}"
        assert len(ledger.acked) >= 3
        assert not _read_check(srv.port, ledger)
        filler.unlink()   # space is back
        if resume_without_restart:
            data = b"space is back"
            r = cl.put_blob("faults", "after-free", data, {"digest": sha(data)[:16]})
            assert r.status == 201, (
                f"after space was freed the server still refuses writes: {r!r} (store.h V4: "
                "ENOSPC from pwrite refuses only that write)")
            ledger.ack("after-free", (sha(data), ""), r.h("etag"))
            assert cl.get("faults", "after-free").body == data
        cl.close()
        assert srv.stop() == 0
        problems, out = fsck(srv.data_dir)
        assert problems == 0, out[-3000:]
        srv.start()
        errors = verify(srv.port, "faults", ledger, "after ENOSPC and a restart")
        assert not errors, "\n".join(errors[:10])
        r = Client(srv.port).put_blob("faults", "after-restart", b"x" * 1000,
                                      {"digest": sha(b"x" * 1000)[:16]})
        assert r.status == 201, r
        assert srv.stop() == 0
    finally:
        srv.kill9()
        subprocess.run(["umount", str(vols)], check=False)


def test_real_enospc_clean_errors_and_restart(tmp_path, seed):
    _enospc_scenario(tmp_path, seed, resume_without_restart=False)


def test_real_enospc_writes_resume_once_space_is_freed(tmp_path, seed):
    _enospc_scenario(tmp_path, seed, resume_without_restart=True)


def test_enospc_creating_a_volume_refuses_only_that_write(tmp_path):
    # Start-up opens the first volume and its directory (opens 1, 2); open 3 creates volume 2.
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", build="fault", args=ARGS)
    srv.start(faults="fail=open:3,err=ENOSPC,mode=once")
    setup_container(srv.port, "faults")
    cl = Client(srv.port)
    statuses = []
    for i in range(8):   # 300 KiB each: the fourth needs volume 2
        data = os.urandom(300 * KiB)
        r = cl.put_blob("faults", f"b{i}", data, {"digest": sha(data)[:16]})
        assert r.status == 201 or not clean_error(r), r
        statuses.append(r.status)
    cl.close()
    srv.stop()
    assert 503 in statuses, statuses
    first = statuses.index(503)
    assert all(s == 201 for s in statuses[first + 1:]), (
        f"writes after one ENOSPC creating a volume: {statuses}")
