"""Simulated power loss through the I/O seam (issue 5 §2.2; store.h V1-V3, V5-V7; meta.h M1).

The fault build (build-fault, src/store/faultio.c) holds every volume write in a volatile cache
until its fdatasync; at the crash point (the Nth sync, or the Nth pwrite) the pending writes are
dropped, kept, cut short, torn at 512 B or 4 KiB, or turned into garbage or zeros, and the process
_exits.  RocksDB syncs its WAL on every commit and is outside the seam, so the model is "every
metadata commit that returned is durable; the interrupted request had not committed yet".

test_power_loss_chain: chains of crash points on one data dir.  For each point: start with
`crash=sync:N` (N random in 1..80, every loss mode in turn, 1 in 10 points `crash=pwrite:N`),
check every acknowledged write, run the concurrent workload until the simulated power loss, then
`cobalt fsck` on the crashed state.  The server must die with status 86 (the simulated power loss)
and nothing else.  Short: 300 crash points; long: 10,000.

test_power_loss_in_compaction: a data dir with several full 1 MiB volumes; deleting most blobs
makes the background compactor copy the live needles and retire volumes.  A dry run traces how
many syncs, pwrites and unlinks compaction does; then a crash at each of those points (each loss
mode), fsck, a normal restart, the acknowledged-writes check, and `cobalt compact` to finish the
job followed by fsck and the check again (V6, V7: data must survive compaction crashes).

test_power_loss_while_appends_coalesce: crash points at every sync (each loss mode) and pwrite
of the append that rewrites an append blob's first 256 blocks as one needle, found by a traced
dry run; the blob must read back exactly as acknowledged.
"""
import http.client
import random
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from crashlib import (CRASH_STATUS, LONG, Client, CobaltServer, Ledger, Workload, compact, fsck,
                      setup_container, verify)

LOSSES = ["drop", "keep", "part", "torn512", "torn4k", "garbage", "zeros", "mix"]
POINTS = 10000 if LONG else 300
CHAINS = 2
VOLUME_ARGS = ["--volume-size", str(1 << 20), "--compact-threshold", "0.1"]


def _chain(root: Path, chain: int, points: int, seed: int, stats: dict):
    rng = random.Random(seed * 100 + chain)
    srv = CobaltServer(root / f"chain{chain}", root / f"chain{chain}.log", build="fault",
                       args=VOLUME_ARGS)
    srv.start()
    setup_container(srv.port, "power")
    assert srv.stop() == 0
    ledger = Ledger()
    for point in range(points):
        loss = LOSSES[point % len(LOSSES)]
        op = "pwrite" if rng.random() < 0.1 else "sync"
        n = rng.randint(1, 120 if op == "pwrite" else 80)
        spec = f"crash={op}:{n},loss={loss},seed={rng.randrange(1 << 30)}"
        ctx = f"chain {chain} point {point} {spec}, seed {seed}"
        up = srv.start(faults=spec, expect_up=False)
        if not up:   # the crash point was in start-up I/O
            assert srv.proc.returncode == CRASH_STATUS, f"{ctx}: start-up died with " \
                f"{srv.proc.returncode}:\n{srv.log_tail()}"
            stats["crashes"] += 1
        else:
            errors = verify(srv.port, "power", ledger, ctx)
            assert not errors, (f"{len(errors)} violations ({ctx}):\n" + "\n".join(errors[:20])
                                + f"\nserver running: {srv.alive()}, log {srv.log_path}:\n"
                                + srv.log_tail())
            stats["checks"] += 1
            w = Workload(srv.port, "power", ledger, seed=rng.randrange(1 << 30), threads=4,
                         names_per_thread=30).start()
            rc = srv.wait(20)
            w.join()
            if rc is None:   # the workload never reached the crash point
                rc = srv.stop()
                assert rc == 0, f"{ctx}: SIGTERM exit {rc}"
                stats["not_reached"] += 1
            else:
                assert rc == CRASH_STATUS, f"{ctx}: server died with {rc}, not by the " \
                    f"simulated power loss:\n{srv.log_tail()}"
                stats["crashes"] += 1
            assert not w.violations, f"{ctx}: {w.violations[:10]}"
            stats["acks"] += ledger.acks
            ledger.acks = 0
        problems, out = fsck(srv.data_dir, "fault")
        assert problems == 0, f"{ctx}: fsck of the crashed state:\n{out[-4000:]}"
        if point % 25 == 24:   # compact the crashed state offline (and bound the volume count)
            compact(srv.data_dir, "fault")
            problems, out = fsck(srv.data_dir, "fault")
            assert problems == 0, f"{ctx}: fsck after cobalt compact:\n{out[-4000:]}"
    # A normal restart (no faults) sees the same, and takes writes.
    srv.start()
    errors = verify(srv.port, "power", ledger, f"chain {chain} final, seed {seed}")
    assert not errors, "\n".join(errors[:20])
    assert Client(srv.port).put_blob("power", "final", b"after the crashes").status == 201
    assert srv.stop() == 0
    problems, out = fsck(srv.data_dir, "fault")
    assert problems == 0, out[-4000:]
    stats["blobs"] += sum(1 for a in ledger.acked.values() if a[0] is not None)


def test_power_loss_chain(tmp_path, seed):
    stats = {"crashes": 0, "not_reached": 0, "checks": 0, "acks": 0, "blobs": 0}
    lock = threading.Lock()
    t0 = time.monotonic()
    per = [POINTS // CHAINS + (1 if c < POINTS % CHAINS else 0) for c in range(CHAINS)]
    with ThreadPoolExecutor(CHAINS) as pool:
        futs = [pool.submit(_chain, tmp_path, c, per[c], seed, stats) for c in range(CHAINS)]
        for f in futs:
            f.result()
    del lock
    print(f"power loss: {POINTS} crash points run, {stats['crashes']} simulated power losses "
          f"(crash states), {stats['not_reached']} not reached, {stats['checks']} "
          f"acknowledged-writes checks, {stats['acks']} acknowledged writes, 0 violations, "
          f"{time.monotonic() - t0:.0f} s")
    assert stats["crashes"] >= POINTS * 0.8, stats


# ------------------------------------------------------------------------------------------------
# Crashes inside compaction
# ------------------------------------------------------------------------------------------------

def _populate(root: Path, seed: int):
    """A template data dir: ~7 MiB in 1 MiB volumes; the ledger; the names to delete."""
    rng = random.Random(seed)
    srv = CobaltServer(root / "template", root / "template.log", build="fault",
                       args=["--volume-size", str(1 << 20), "--compact-threshold", "0"])
    srv.start()
    setup_container(srv.port, "compact")
    ledger = Ledger()
    cl = Client(srv.port)
    names = []
    for i in range(40):
        name = f"b{i:03d}"
        data = rng.randbytes(rng.choice([1000, 60000, 150000, 250000]))
        from crashlib import sha
        st = (sha(data), "")
        r = cl.put_blob("compact", name, data, {"digest": st[0][:16]})
        assert r.status == 201, r
        ledger.ack(name, st, r.h("etag"))
        names.append(name)
    cl.close()
    assert srv.stop() == 0
    doomed = sorted(rng.sample(names, 26))
    return ledger, doomed


def _crashed(srv, ctx):
    """After a crash point: waits for the simulated power loss (stopping the server if it was
    never reached), checks the crashed state with fsck and restarts without faults."""
    rc = srv.wait(25)
    if rc is None:
        rc = srv.stop()
    assert rc in (0, CRASH_STATUS), f"{ctx}: exit {rc}:\n{srv.log_tail()}"
    problems, out = fsck(srv.data_dir, "fault")
    assert problems == 0, f"{ctx}: fsck of the crashed state:\n{out[-4000:]}"
    srv.start()
    return rc


def _copy_ledger(ledger):
    new = Ledger()
    new.acked = dict(ledger.acked)
    return new


def _delete_all(port, ledger, doomed):
    cl = Client(port)
    for name in doomed:
        r = cl.delete("compact", name)
        assert r.status == 202, r
        ledger.ack_delete(name)
    cl.close()


def _compaction_point(root: Path, k: int, spec, ledger0, doomed):
    """One crash point (spec None: the dry run).  Returns the server's exit status."""
    d = root / f"p{k}"
    shutil.copytree(root / "template", d / "data")
    ledger = _copy_ledger(ledger0)
    srv = CobaltServer(d / "data", d / "server.log", build="fault", args=VOLUME_ARGS,
                       test_clock=True)
    ctx = f"compaction point {k}: {spec}"
    srv.start(faults=spec or f"trace={d / 'trace'}")
    _delete_all(srv.port, ledger, doomed)
    # The compactor's round, now: the dry run's retires what it will; a crash point's dies in it.
    finished = srv.run_background_now()
    if spec is None:
        assert finished and srv.stop() == 0
    rc = _crashed(srv, ctx)
    errors = verify(srv.port, "compact", ledger, ctx, settle=False)
    assert not errors, "\n".join(errors[:20])
    assert srv.stop() == 0
    # Finish the compaction offline, check again.
    compact(srv.data_dir, "fault", timeout=120)
    problems, out = fsck(srv.data_dir, "fault")
    assert problems == 0, f"{ctx}: fsck after cobalt compact:\n{out[-4000:]}"
    srv.start()
    errors = verify(srv.port, "compact", ledger, ctx + " (after cobalt compact)", settle=False)
    assert not errors, "\n".join(errors[:20])
    assert srv.stop() == 0
    if spec is not None:
        shutil.rmtree(d, ignore_errors=True)
    return rc


def test_power_loss_in_compaction(tmp_path, seed):
    ledger0, doomed = _populate(tmp_path, seed)
    _compaction_point(tmp_path, 0, None, ledger0, doomed)
    trace = (tmp_path / "p0" / "trace").read_text().splitlines()
    syncs = sum(1 for line in trace if line.startswith(("fdatasync ", "fsync ")))
    pwrites = sum(1 for line in trace if line.startswith("pwrite "))
    unlinks = sum(1 for line in trace if line.startswith("unlink "))
    assert unlinks > 0 and syncs > 0, f"compaction did not run in the dry run:\n{trace[:20]}"
    rng = random.Random(seed)
    specs = []
    for n in range(1, syncs + 1):
        for loss in (LOSSES if LONG else [LOSSES[n % len(LOSSES)]]):
            specs.append(f"crash=sync:{n},loss={loss},seed={rng.randrange(1 << 20)}")
    for n in sorted(rng.sample(range(1, pwrites + 1), min(pwrites, 40 if LONG else 6))):
        specs.append(f"crash=pwrite:{n},loss={rng.choice(LOSSES)},seed={rng.randrange(1 << 20)}")
    for n in range(1, unlinks + 1):
        specs.append(f"crash=unlink:{n},loss={rng.choice(LOSSES)},seed={rng.randrange(1 << 20)}")
    t0 = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        rcs = list(pool.map(lambda a: _compaction_point(tmp_path, a[0] + 1, a[1], ledger0, doomed),
                            enumerate(specs)))
    crashed = sum(1 for rc in rcs if rc == CRASH_STATUS)
    print(f"compaction: dry run {syncs} syncs, {pwrites} pwrites, {unlinks} unlinks; "
          f"{len(specs)} crash points, {crashed} crashed inside compaction, 0 violations, "
          f"{time.monotonic() - t0:.0f} s")
    assert crashed >= len(specs) * 0.8, rcs


# ------------------------------------------------------------------------------------------------
# Crashes while an append blob's small blocks are coalesced
# ------------------------------------------------------------------------------------------------

COALESCED_AT = 256   # src/api/append.c: the 256th small append rewrites the blob's blocks as one


def _append_point(root: Path, k: int, spec, seed):
    """A fresh data dir, one append blob, one client appending small blocks until the 300th or
    the simulated power loss.  Then fsck, and the blob must hold exactly the acknowledged bytes,
    or those and the block in flight.  Returns (exit status, syncs and pwrites traced after each
    acknowledged append: dry run only)."""
    d = root / f"a{k}"
    srv = CobaltServer(d / "data", d / "server.log", build="fault")
    ctx = f"append point {k}: {spec}, seed {seed}"
    trace = d / "trace"
    srv.start(faults=spec or f"trace={trace}")
    setup_container(srv.port, "appends")
    cl = Client(srv.port)
    assert cl.create_append_blob("appends", "log").status == 201
    rng = random.Random(seed * 1000 + k)
    acked, inflight, marks = b"", None, []
    try:
        for _ in range(300):
            inflight = rng.randbytes(rng.randint(1, 300))
            r = cl.append_block("appends", "log", inflight)
            assert r.status == 201, f"{ctx}: {r!r}"
            acked, inflight = acked + inflight, None
            if spec is None:
                lines = trace.read_text().splitlines()
                marks.append((sum(1 for x in lines if x.startswith(("fdatasync ", "fsync "))),
                              sum(1 for x in lines if x.startswith("pwrite "))))
    except (OSError, http.client.HTTPException):
        pass
    finally:
        cl.close()
    if spec is None:
        assert srv.stop() == 0
    rc = _crashed(srv, ctx)
    got = Client(srv.port).get("appends", "log")
    assert got.status == 200, f"{ctx}: {got!r}"
    assert got.body == acked or (inflight is not None and got.body == acked + inflight), \
        f"{ctx}: {len(got.body)} bytes read, {len(acked)} acknowledged"
    assert srv.stop() == 0
    if spec is not None:
        shutil.rmtree(d, ignore_errors=True)
    return rc, marks


def test_power_loss_while_appends_coalesce(tmp_path, seed):
    """Crash points at the syncs and pwrites of the append that coalesces the blob's first 256
    blocks (found by a traced dry run: one client, sequential appends, so the I/O sequence is the
    same in every run), each loss mode: the coalesced needle must be durable before the record
    that names it, and the old blocks must still be readable until it is."""
    _, marks = _append_point(tmp_path, 0, None, seed)
    (s0, p0), (s1, p1) = marks[COALESCED_AT - 2], marks[COALESCED_AT - 1]
    assert s1 - s0 >= 2, f"append {COALESCED_AT} did not sync twice (no coalescing?): {marks[250:260]}"
    rng = random.Random(seed)
    specs = [f"crash=sync:{n},loss={loss},seed={rng.randrange(1 << 20)}"   # and the next one
             for n in range(s0 + 1, s1 + 2) for loss in LOSSES]
    specs += [f"crash=pwrite:{n},loss={rng.choice(LOSSES)},seed={rng.randrange(1 << 20)}"
              for n in range(p0 + 1, p1 + 1)]
    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        rcs = list(pool.map(lambda a: _append_point(tmp_path, a[0] + 1, a[1], seed)[0],
                            enumerate(specs)))
    crashed = sum(1 for rc in rcs if rc == CRASH_STATUS)
    print(f"append coalescing: syncs {s0 + 1}-{s1 + 1}, pwrites {p0 + 1}-{p1} of append "
          f"{COALESCED_AT}; {len(specs)} crash points, {crashed} crashed, 0 violations, "
          f"{time.monotonic() - t0:.0f} s")
    assert crashed == len(specs), rcs
