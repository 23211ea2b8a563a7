"""kill -9 under load (issue 5 §2.1; DESIGN invariants 1 and 2, store.h V2/V3, meta.h M1).

Cycles of: concurrent writers (Put Blob of random sizes, multi-block uploads, overwrites, deletes,
Set Blob Metadata) log every 2xx and every unacknowledged write -> kill -9 at a random moment ->
`cobalt fsck` on the dead server's data dir (problems=0) -> restart -> every acknowledged write
reads back exactly (content SHA-256, ETag, metadata); an unacknowledged one is absent or complete,
never mixed; the listing agrees with the reads.

The server runs with 2 MiB volumes and a low compaction threshold, and in every tenth cycle the
background compactor runs a round under the load (started through the server's test clock instead
of waiting for its 5 s timer), so some kills land inside compaction as well.  Short: 50 cycles;
long (COBALT_CRASH_LONG=1): 1,000.
"""
import random
import time

from crashlib import LONG, CobaltServer, Ledger, Workload, compact, fsck, setup_container, verify

CYCLES = 1000 if LONG else 50


def test_kill9_under_load(tmp_path, seed):
    rng = random.Random(seed)
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log",
                       args=["--volume-size", str(2 << 20), "--compact-threshold", "0.2"],
                       test_clock=True)
    srv.start()
    setup_container(srv.port, "kill9")
    ledger = Ledger()
    total_acks = in_flight_total = 0
    t0 = time.monotonic()
    for cycle in range(CYCLES):
        ledger.acks = 0
        w = Workload(srv.port, "kill9", ledger, seed=rng.randrange(1 << 30), threads=6).start()
        time.sleep(rng.uniform(0.2, 1.2))
        if cycle % 10 == 9:
            srv.run_background_now(wait=False)
            time.sleep(rng.uniform(0, 1))
        srv.kill9()
        w.join()
        assert not w.violations, f"cycle {cycle} (seed {seed}): {w.violations[:10]}"
        total_acks += ledger.acks
        in_flight_total += len(ledger.maybe)
        problems, out = fsck(srv.data_dir)
        assert problems == 0, f"cycle {cycle} (seed {seed}): fsck after kill -9:\n{out[-4000:]}"
        if cycle % 10 == 5:
            # Offline compaction of a crashed state; it also keeps the number of volume files
            # bounded (the background compactor's trigger does not survive restarts, and with
            # ~1,000 volume files the server cannot start: see test_restart.py).
            compact(srv.data_dir)
            problems, out = fsck(srv.data_dir)
            assert problems == 0, f"cycle {cycle}: fsck after cobalt compact:\n{out[-4000:]}"
        srv.start()
        errors = verify(srv.port, "kill9", ledger, f"cycle {cycle}, seed {seed}")
        assert not errors, (f"{len(errors)} violations after kill -9 in cycle {cycle}:\n"
                            + "\n".join(errors[:20]) + f"\nserver running: {srv.alive()} "
                            f"(status {srv.proc.poll()}), log {srv.log_path}:\n{srv.log_tail()}")
    live = sum(1 for a in ledger.acked.values() if a[0] is not None)
    print(f"kill -9: {CYCLES} cycles, {total_acks} acknowledged writes, {in_flight_total} in "
          f"flight at the kills, {live} blobs at the end, 0 violations, "
          f"{time.monotonic() - t0:.0f} s")
    assert total_acks > CYCLES * 5, "too few writes were acknowledged to mean anything"
    rc = srv.stop()
    assert rc == 0, f"exit status {rc} on SIGTERM:\n{srv.log_tail()}"
    problems, out = fsck(srv.data_dir)
    assert problems == 0, out[-4000:]
