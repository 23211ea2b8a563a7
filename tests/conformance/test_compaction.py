"""Space reclamation: after deleting a quarter of the data, compaction brings the volume files to
at most 1.1 times the live bytes (issue 5), with every remaining blob intact -- offline with
`cobalt compact`, and online by the background compactor (run at once through the test clock)."""
import glob
import os
import re

import pytest

from cobalt_testlib import CobaltServer, run_cli, free_port, scrape_metrics

N, SIZE = 160, 48_000
NEEDLE_OVERHEAD = 32 + 4 + 4   # header, one chunk CRC, trailer CRC (docs/storage.md)



def volume_bytes(data_dir):
    return sum(os.path.getsize(p) for p in glob.glob(str(data_dir / "volumes" / "*.vol")))


def fill_and_delete(srv):
    cc = srv.client().create_container("space")
    data = {f"b{i:03d}": os.urandom(SIZE) for i in range(N)}
    for name, d in data.items():
        cc.upload_blob(name, d)
    for name in list(data)[::4]:                      # a quarter, spread over every volume
        cc.delete_blob(name)
        del data[name]
    return cc, data


def live_bytes(data):
    return sum(len(d) + NEEDLE_OVERHEAD for d in data.values())


def check_all(srv, data):
    cc = srv.client().get_container_client("space")
    for name, d in data.items():
        assert cc.download_blob(name).readall() == d, name
    assert sorted(b.name for b in cc.list_blobs()) == sorted(data)


@pytest.mark.local_files
def test_offline_compaction_reclaims_deleted_space(tmp_path):
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log",
                       args=["--volume-size", "1048576", "--compact-threshold", "0"]).start()
    _, data = fill_and_delete(srv)
    assert srv.stop() == 0
    before = volume_bytes(srv.data_dir)
    assert before / live_bytes(data) > 1.3          # a quarter of it is dead
    r = run_cli("compact", str(srv.data_dir))
    assert r.returncode == 0 and re.search(r"volumes=[1-9]", r.stdout), r.stdout + r.stderr
    amplification = volume_bytes(srv.data_dir) / live_bytes(data)
    assert amplification <= 1.1, amplification
    r = run_cli("fsck", str(srv.data_dir))
    assert r.returncode == 0 and "problems=0" in r.stdout and "garbage_bytes=" in r.stdout, r.stdout
    srv.start()
    check_all(srv, data)
    assert srv.stop() == 0


@pytest.mark.local_files
def test_background_compaction_reclaims_deleted_space(tmp_path):
    mport = free_port()
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", test_clock=True,
                       args=["--volume-size", "1048576", "--compact-threshold", "0.2",
                                   "--metrics-port", str(mport)]).start()
    _, data = fill_and_delete(srv)
    before = volume_bytes(srv.data_dir)
    assert srv.run_background_now()                  # a round of the compactor (every 5 s)
    amplification = volume_bytes(srv.data_dir) / live_bytes(data)
    assert amplification <= 1.1, amplification
    check_all(srv, data)                              # served while and after it ran
    # The metrics account for the space given back (a volume's reclaimed bytes are its size
    # less the live bytes moved out of it).
    m = scrape_metrics(mport)
    assert m["cobalt_compact_volumes_total"] >= 1, m
    assert m["cobalt_compact_reclaimed_bytes_total"] >= (before - volume_bytes(srv.data_dir)) * 0.9, m
    assert srv.stop() == 0
    r = run_cli("fsck", str(srv.data_dir))
    assert r.returncode == 0 and "problems=0" in r.stdout, r.stdout
