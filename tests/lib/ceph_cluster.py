"""A throwaway Ceph cluster for the suites that test the RADOS engine: one monitor and one OSD
(bluestore on a sparse file, pool size 1, no systemd), everything in a temp dir, started by
scripts/ceph/start.sh in ~2 s and stopped by the PIDs it started (scripts/ceph/stop.sh).
Standard library only.

    with CephCluster() as ceph:
        pool = ceph.create_pool("cobalt-index")
        server = CobaltServer(..., args=["--backend", "rados", "--ceph-conf", ceph.conf, ...])
        ceph.restart_osd("KILL")            # durability under an OSD crash
        ceph.restart_osd("TERM", down=35)   # an outage longer than the clients' op timeouts

Several clusters may run at once (each takes its own monitor port); stop() is idempotent and also
runs at interpreter exit, so a failing suite leaves no daemon behind.
"""
from __future__ import annotations

import atexit
import os
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "ceph"


class CephCluster:
    def __init__(self, store: str = "bluestore"):
        self.store = store
        self.dir: Path | None = None
        self.conf = ""          # the ceph.conf clients use (client.admin's keyring is named in it)
        self.pool = ""          # the pool start.sh created ("test")
        self.user = "admin"     # the cephx user of that keyring, as librados names it: client.admin

    def start(self, timeout: float = 120.0) -> "CephCluster":
        assert self.dir is None, "already started"
        d = Path(tempfile.mkdtemp(prefix="cobalt-ceph."))
        env = {"CEPH_STORE": self.store}
        r = subprocess.run(["bash", str(SCRIPTS / "start.sh"), str(d)], capture_output=True,
                           text=True, timeout=timeout, env={**os.environ, **env})
        if r.returncode != 0:
            raise RuntimeError(f"ceph cluster did not start:\n{r.stderr[-4000:]}")
        self.dir = d
        atexit.register(self.stop)
        vals = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
        self.conf, self.pool = vals["CEPH_CONF"], vals["CEPH_POOL"]
        return self

    def stop(self):
        """Stops the daemons (SIGKILL: the data is thrown away) and removes the directory."""
        if self.dir is None:
            return
        subprocess.run(["bash", str(SCRIPTS / "stop.sh"), str(self.dir), "--kill"], timeout=60)
        self.dir = None

    def restart_osd(self, sig: str = "TERM", timeout: float = 120.0, down: float = 0) -> str:
        """Stops the OSD with SIGTERM or SIGKILL, keeps it down `down` seconds and starts it
        again; returns once it serves I/O.  The script's one-line report (seconds to stop and to
        come back) is returned."""
        assert sig in ("TERM", "KILL")
        r = subprocess.run(["bash", str(SCRIPTS / "restart-osd.sh"), str(self.dir), sig,
                            str(down)], capture_output=True, text=True, timeout=timeout + down)
        if r.returncode != 0:
            raise RuntimeError(f"osd restart failed:\n{r.stderr[-4000:]}")
        return r.stdout.strip()

    def diagnosis(self, lines: int = 30) -> str:
        """`ceph -s` and the end of the OSD's log: for the message of a test that found the
        cluster not serving."""
        r = subprocess.run(["ceph", "-c", self.conf, "-s"], capture_output=True, text=True,
                           timeout=60)
        log = (self.dir / "log" / "osd.0.log").read_text(errors="replace").splitlines()
        return r.stdout + r.stderr + "--- osd.0.log\n" + "\n".join(log[-lines:])

    def rados(self, *args: str, pool: str | None = None, timeout: float = 60.0) -> str:
        """Runs the `rados` tool against this cluster (pool: -p POOL) and returns its stdout."""
        cmd = ["rados", "-c", self.conf] + (["-p", pool] if pool else []) + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, check=True,
                              timeout=timeout).stdout

    def create_pool(self, name: str, pgs: int = 8) -> str:
        """Creates a replicated pool of size 1 (the cluster's default) and returns its name."""
        subprocess.run(["ceph", "-c", self.conf, "osd", "pool", "create", name, str(pgs), str(pgs)],
                       capture_output=True, text=True, check=True, timeout=60)
        return name

    def __enter__(self) -> "CephCluster":
        return self.start()

    def __exit__(self, *exc):
        self.stop()
