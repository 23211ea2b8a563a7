"""Restarts of a store with many volume files or dead space from before the restart.

Found by the long kill -9 run (each restart reset the compaction trigger, volume files piled up
to ~1,000, and then the server could not start).  Both are expected failures naming the bug.
"""
import os
import time

from crashlib import KiB, Client, CobaltServer, sha, setup_container


def test_server_starts_with_1100_volume_files(tmp_path):
    vols = tmp_path / "data" / "volumes"
    vols.mkdir(parents=True)
    for i in range(1, 1101):   # empty volumes: nothing references them (garbage, V3)
        (vols / f"{i:08x}.vol").touch()
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log")
    up = srv.start(expect_up=False)
    assert up, f"cobalt serve could not start with 1,100 volume files:\n{srv.log_tail(5)}"
    setup_container(srv.port, "many")
    assert Client(srv.port).put_blob("many", "x", b"x", {"digest": sha(b"x")[:16]}).status == 201
    assert srv.stop() == 0


def test_dead_space_from_before_a_restart_is_reclaimed(tmp_path):
    args = ["--volume-size", str(1 << 20), "--compact-threshold", "0.1"]
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", args=args)
    srv.start()
    setup_container(srv.port, "dead")
    cl = Client(srv.port)
    for i in range(24):
        data = os.urandom(300 * KiB)
        assert cl.put_blob("dead", f"b{i}", data, {"digest": sha(data)[:16]}).status == 201
    for i in range(22):
        assert cl.delete("dead", f"b{i}").status == 202
    cl.close()
    assert srv.stop() == 0   # before the compactor's first 5 s round
    vols = tmp_path / "data" / "volumes"
    before = len(list(vols.glob("*.vol")))
    srv.start()
    time.sleep(8)   # more than one compactor round
    after = len(list(vols.glob("*.vol")))
    assert srv.stop() == 0
    assert after < before / 2, f"{before} volume files before the restart, {after} 8 s after it"
