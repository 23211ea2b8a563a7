"""The server process every Python suite tests (conformance, abuse, crash): one `cobalt serve` of
the real binary on 127.0.0.1, a free port and a private data directory, started and stopped by its
own PID.  Standard library only (the abuse suites use nothing else).

A server started with test_clock=True runs on a test clock (src/util/clock.h): advance_clock()
moves the time it sees forward, run_background_now() runs a round of a background loop (the purge
of expired soft deletes and compaction, or the integrity scrub) and waits for it, so tests of
leases, retention, rehydration and compaction wait for nothing.  Production servers have no such
hook: it is the environment variable COBALT_TEST_CLOCK naming a file, set only here.

Binaries: $COBALT_BIN (default build/cobalt; the suites run against the release, ASan and TSan
builds through it), $COBALT_FAULT_BIN (default build-fault/cobalt, -DCOBALT_FAULT_INJECTION=ON) and
$COBALT_TSAN_BIN (default build-tsan/cobalt), relative paths from the repository root.
"""
from __future__ import annotations

import ctypes
import mmap
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

BUILDS = {"release": ("COBALT_BIN", "build/cobalt"),
          "fault": ("COBALT_FAULT_BIN", "build-fault/cobalt"),
          "tsan": ("COBALT_TSAN_BIN", "build-tsan/cobalt")}

# A line holding one of these in a server log is a sanitizer report: the suites fail on it.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")


# The engine the servers of this run use: "local" (the default), "memory" or "rados" (--backend).
BACKEND = os.environ.get("COBALT_BACKEND", "local")

# --backend rados: one throwaway cluster for the whole run, started with the first server, and a
# pair of pools per data directory (so a restarted server finds its data, and servers of different
# tests share nothing).  The cluster is stopped at interpreter exit (tests/lib/ceph_cluster.py).
_ceph = None
_pools: dict = {}


def ceph_cluster():
    """The run's throwaway cluster (a tests/lib/ceph_cluster.py CephCluster), started on first
    use: for the suites that count its objects or restart its OSD."""
    global _ceph
    if _ceph is None:
        from ceph_cluster import CephCluster  # tests/lib, next to this file
        _ceph = CephCluster().start()
    return _ceph


def rados_args(data_dir) -> list:
    """The --backend rados options of a server whose data directory is data_dir."""
    ceph_cluster()
    key = str(Path(data_dir).resolve())
    if key not in _pools:
        n = len(_pools)
        # One placement group each: a run makes about a hundred pools on one OSD, and Ceph
        # refuses more than mon_max_pg_per_osd (250) placement groups per OSD.
        _pools[key] = (_ceph.create_pool(f"cobalt-index-{n}", pgs=1),
                       _ceph.create_pool(f"cobalt-data-{n}", pgs=1))
    index, data = _pools[key]
    return ["--ceph-conf", _ceph.conf, "--ceph-user", _ceph.user, "--pool-index", index,
            "--pool-data", data]


def binary(build: str = "release") -> Path:
    var, default = BUILDS[build]
    p = Path(os.environ.get(var, default))
    return p if p.is_absolute() else REPO / p


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerClock:
    """The file a server's test clock is mapped from (src/util/clock.h): an offset in 100 ns ticks
    that the server adds to the real clock, and per background loop a kick count (ours) and the
    kick count its last finished round began with (the server's).  The words are read and
    written through ctypes, one aligned 8-byte access each, as the server's atomics expect."""

    TICKS = 10_000_000
    LOOPS = ("compact", "scrub")        # enum clock_round, in order

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self.path.write_bytes(bytes(mmap.PAGESIZE))
        with open(self.path, "r+b") as f:
            self._map = mmap.mmap(f.fileno(), mmap.PAGESIZE)
        self._words = (ctypes.c_int64 * (1 + 2 * len(self.LOOPS))).from_buffer(self._map)

    @property
    def offset(self) -> float:
        """Seconds the clock is ahead of the real one."""
        return self._words[0] / self.TICKS

    def advance(self, seconds: float):
        assert seconds > 0, "the test clock only moves forward"
        self._words[0] += round(seconds * self.TICKS)

    def reset_rounds(self):
        """Kicks and finished rounds back to 0, before a start (the offset stays: time never goes
        back across a restart)."""
        for i in range(1, len(self._words)):
            self._words[i] = 0

    def kick(self, loop: str) -> int:
        i = 1 + self.LOOPS.index(loop)
        self._words[i] += 1
        return self._words[i]

    def done(self, loop: str) -> int:
        return self._words[1 + len(self.LOOPS) + self.LOOPS.index(loop)]


def run_cli(*args, build: str = "release", timeout=300, env=None) -> subprocess.CompletedProcess:
    """`cobalt ARGS...` (fsck, compact, version...) to completion, its output captured as text;
    env: variables on top of ours."""
    return subprocess.run([str(binary(build)), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


class CobaltServer:
    """`cobalt serve --host HOST --data-dir DATA_DIR ARGS...`, its output appended to LOG_PATH.

    env: variables for the server on top of ours (None removes one).  test_clock: run it on a test
    clock (advance_clock, run_background_now) whose file, LOG_PATH with the suffix .clock, keeps
    its time across restarts.  Restartable on the same data directory; every start takes a fresh
    free port unless given one.  Every running instance is in CobaltServer.live, so a fixture can
    kill what a failed test left running."""

    live: set = set()

    def __init__(self, data_dir, log_path, args=(), env=None, build: str = "release",
                 host: str = "127.0.0.1", test_clock: bool = False):
        self.binary = binary(build)
        self.host = host                # the address it listens on (a loopback one: "::1" too)
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.args = [str(a) for a in args]
        # COBALT_BACKEND runs every server of a suite on that engine (`--backend`), unless the
        # test chose one itself.
        if BACKEND != "local" and not any(a.startswith("--backend") for a in self.args):
            self.args += ["--backend", BACKEND]
            if BACKEND == "rados":
                self.args += rados_args(self.data_dir)
        self.env = dict(env or {})
        self.clock = ServerClock(self.log_path.with_suffix(".clock")) if test_clock else None
        self.port = None
        self.proc = None
        self.starts = 0
        self._log = None

    # -- life cycle ------------------------------------------------------------------------------
    def start(self, port=None, timeout=60.0, faults=None, expect_up=True):
        """Starts the server and waits until it accepts connections; returns self.  `faults` is
        the fault build's COBALT_IO_FAULTS for this start.  If the process exits first, that
        raises, unless expect_up is False (a fault or crash point during start-up), which returns
        None.  A start that lost its free port to another process before binding it is retried on
        another port."""
        for attempt in range(5):
            mark = len(self.log_text())
            try:
                return self._start(port, timeout, faults, expect_up)
            except RuntimeError:
                if port is not None or attempt == 4 or "cannot listen" not in self.log_text()[mark:]:
                    raise
        raise AssertionError("unreachable")

    def _start(self, port, timeout, faults, expect_up):
        if not self.binary.exists():
            raise RuntimeError(f"{self.binary} is missing: build it first, or set COBALT_BIN")
        assert not self.alive(), "server already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        env = dict(os.environ)
        env.pop("COBALT_IO_FAULTS", None)
        for k, v in self.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        if faults:
            env["COBALT_IO_FAULTS"] = faults
        env.pop("COBALT_TEST_CLOCK", None)
        if self.clock is not None:
            self.clock.reset_rounds()
            env["COBALT_TEST_CLOCK"] = str(self.clock.path)
        self.starts += 1
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n===== start #{self.starts} on port {self.port} faults={faults!r} "
                        f"=====\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(
            [str(self.binary), "serve", "--host", self.host, "--port", str(self.port),
             "--data-dir", str(self.data_dir), "--log-level", "warn", *self.args],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        CobaltServer.live.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._closed()
                if expect_up or "cannot listen" in self.log_text()[-300:]:
                    raise RuntimeError(f"cobalt exited with {self.proc.returncode} at start:\n"
                                       + self.log_tail())
                return None
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.02)
        self.kill9()
        raise TimeoutError(f"cobalt did not accept connections within {timeout}s:\n"
                           + self.log_tail())

    def stop(self, timeout=60.0):
        """SIGTERM and wait; the exit status (negative: killed by that signal).  A server that
        ignores SIGTERM for `timeout` seconds is killed and the test fails."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                stacks = self.stacks()
                self.kill9()
                raise AssertionError(f"cobalt ignored SIGTERM for {timeout}s:\n" + self.log_tail()
                                     + "\n===== its threads =====\n" + stacks)
        self._closed()
        return self.proc.returncode

    def stacks(self):
        """Every thread's stack of the running server (gdb), to show what a hang waits on."""
        try:
            r = subprocess.run(["gdb", "-p", str(self.proc.pid), "-batch", "-nx",
                                "-ex", "thread apply all bt 30"],
                               capture_output=True, text=True, timeout=120)
            return r.stdout[-30000:] or r.stderr[-3000:]
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"(no stacks: {e})"

    def kill9(self):
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        self._closed()

    def wait(self, timeout):
        """Waits for the process to exit by itself; its status, or None if still running."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._closed()
        return rc

    def restart(self, timeout=60.0):
        """Clean stop, then start on the same port and data dir; the old process's exit status."""
        rc = self.stop()
        self.start(port=self.port, timeout=timeout)
        return rc

    def crash_restart(self, timeout=60.0):
        """kill -9, then start on the same port and data dir."""
        self.kill9()
        self.start(port=self.port, timeout=timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _closed(self):
        if self.proc is not None and self.proc.poll() is not None:
            CobaltServer.live.discard(self)
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- the test clock (test_clock=True) ----------------------------------------------------------
    def advance_clock(self, seconds: float):
        """Moves the server's clock `seconds` forward, at once: leases expire, retention ends,
        rehydrations complete as they would have that much later.  Background loops do not run by
        it: run_background_now() does that."""
        assert self.clock is not None, "advance_clock needs CobaltServer(..., test_clock=True)"
        self.clock.advance(seconds)

    def now(self) -> float:
        """The server's time, Unix seconds: the real clock plus what advance_clock() added."""
        return time.time() + (self.clock.offset if self.clock is not None else 0.0)

    def run_background_now(self, loop: str = "compact", timeout: float = 120.0,
                           wait: bool = True) -> bool:
        """Runs a round of a background loop now and waits until it has finished: "compact" (the
        purge of soft-deleted records past their retention and of expired blobs, then compaction
        if enough space was freed) or "scrub" (an integrity scrub pass; the server must run a
        scrubber).  True once done; False if the server exited first (a fault or crash point
        inside the round).  With wait=False it only starts the round (a kill can then land inside
        it)."""
        assert self.clock is not None, "run_background_now needs CobaltServer(..., test_clock=True)"
        k = self.clock.kick(loop)
        if not wait:
            return True
        deadline = time.monotonic() + timeout
        while self.clock.done(loop) < k:
            if not self.alive():
                return False
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {loop} round finished within {timeout}s of a kick:\n"
                                   + self.log_tail())
            time.sleep(0.005)
        return True

    # -- what it left behind -----------------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=60) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def sanitizer_reports(self) -> str:
        return "\n".join(line for line in self.log_text().splitlines()
                         if any(m in line for m in SANITIZER_MARKS))

    # -- what it holds ---------------------------------------------------------------------------
    def fd_targets(self) -> list:
        """What each open descriptor refers to, as "fd->target", leaving out pipes: Cobalt opens
        none, while a sanitizer runtime that symbolizes a report (even a suppressed one) starts
        its symbolizer on a pair of pipes that stays open for the life of the process."""
        out = []
        for fd in sorted(os.listdir(f"/proc/{self.pid}/fd"), key=int):
            try:
                target = os.readlink(f"/proc/{self.pid}/fd/{fd}")
            except OSError:
                continue
            if not target.startswith("pipe:"):
                out.append(f"{fd}->{target}")
        return out

    def fd_count(self) -> int:
        return len(self.fd_targets())

    def thread_count(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        return -1

    def disk_usage(self) -> tuple:
        """(apparent bytes, allocated bytes) of everything in the data directory."""
        apparent = allocated = 0
        for d, _, files in os.walk(self.data_dir):
            for name in files:
                try:
                    st = os.stat(os.path.join(d, name))
                except FileNotFoundError:
                    continue
                apparent += st.st_size
                allocated += st.st_blocks * 512
        return apparent, allocated
