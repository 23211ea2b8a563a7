"""Slow clients and aborted uploads (issue 5 §2 item 5).

Deadlines (src/net/http.c): a connection is closed when idle for --idle-timeout (120 s), when its
request line and headers take longer than --header-timeout (30 s), or when its body takes longer
than --body-timeout (600 s) per MiB, however often the client sends a byte.  The default run checks
the deadlines on servers started with short ones, and that 1,000 slow connections (partial
headers, a byte now and then) do not slow a control client down (latencies, thread and fd counts
recorded).  The default timeouts themselves are checked with COBALT_ABUSE_LONG=1.

Aborted uploads: 10,000 authenticated Put Blob connections closed mid-body must leave the
server's fd count where it was and the data directory growth bounded (recorded; bytes of an
unfinished needle are garbage that compaction reclaims, DESIGN.md invariant 2).
"""
import os
import socket
import statistics
import threading
import time

import pytest

from abuselib import ACCOUNT, build, connect_from, create_container, shared_key_headers, signed

PARTIAL = b"GET /devstoreaccount1?comp=list HTTP/1.1\r\nHost: x\r\nX-Slow: "


def control_latencies(port, n=30):
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        r = signed(port, "GET", f"/{ACCOUNT}?comp=list", timeout=30)
        out.append(time.monotonic() - t0)
        assert r is not None and r.status == 200, r
    return out


def open_slow(port, n):
    """n slow connections from four addresses (127.0.0.2-5), each within the per-address limit."""
    socks = []
    for i in range(n):
        s = connect_from(port, f"127.0.0.{2 + i % 4}", timeout=10)
        s.sendall(PARTIAL)
        socks.append(s)
    return socks


def test_control_client_fast_with_1000_slow_connections(server_with, record_figure):
    # Deadlines out of the way: this measures the cost of slow connections while they are open.
    fresh_server = server_with("--header-timeout", "600")
    port = fresh_server.port
    base = control_latencies(port, 10)
    fd0, th0 = fresh_server.fd_count(), fresh_server.thread_count()
    socks = open_slow(port, 1000)
    stop = threading.Event()

    def trickle():   # one byte per connection, round robin, ~every 2 s each
        i = 0
        while not stop.is_set():
            try:
                socks[i % len(socks)].send(b"a")
            except OSError:
                pass
            i += 1
            time.sleep(0.002)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        time.sleep(1)
        lat = control_latencies(port, 30)
        fds, threads = fresh_server.fd_count(), fresh_server.thread_count()
        open_now = 0
        for s in socks:
            s.setblocking(False)
            try:
                open_now += s.recv(1) != b""
            except BlockingIOError:
                open_now += 1
            except OSError:
                pass
    finally:
        stop.set()
        t.join()
        for s in socks:
            s.close()
    record_figure("control latency, idle server (median/max s)",
                  f"{statistics.median(base):.4f}/{max(base):.4f}")
    record_figure("control latency with 1,000 slow connections (median/max s)",
                  f"{statistics.median(lat):.4f}/{max(lat):.4f}")
    record_figure("server fds / threads before and with 1,000 slow connections",
                  f"{fd0}/{th0} -> {fds}/{threads}")
    record_figure("slow connections still open after the control run", open_now)
    # Median and 95th percentile; the maximum is recorded but not asserted (a single SYN
    # retransmission on a loaded CI machine costs 1-3 s without saying anything about the server).
    p95 = sorted(lat)[int(len(lat) * 0.95) - 1]
    record_figure("control latency with 1,000 slow connections (p95 s)", f"{p95:.4f}")
    assert statistics.median(lat) < 0.2 and p95 < 1.0, lat
    # They are all served by their own thread and none was dropped early.
    assert open_now == 1000
    # Once they are gone, threads and fds go back down.
    deadline = time.time() + 20
    while time.time() < deadline and fresh_server.fd_count() > fd0 + 5:
        time.sleep(0.2)
    assert fresh_server.fd_count() <= fd0 + 5


def test_idle_connection_survives_short_pauses(fresh_server, record_figure):
    """An idle keep-alive connection is not cut early (so a client pausing a few seconds between
    requests keeps its connection); the close itself happens at 120 s (long mode)."""
    port = fresh_server.port
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(build("GET", f"/{ACCOUNT}?comp=list", shared_key_headers("GET", f"/{ACCOUNT}?comp=list")))
        s.recv(65536)
        time.sleep(3)
        s.sendall(build("GET", f"/{ACCOUNT}?comp=list", shared_key_headers("GET", f"/{ACCOUNT}?comp=list")))
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
    finally:
        s.close()


def _wait_closed(s, limit):
    s.settimeout(limit)
    t0 = time.monotonic()
    try:
        d = s.recv(65536)
        return time.monotonic() - t0, d
    except socket.timeout:
        return None, b""
    except OSError:
        return time.monotonic() - t0, b""


@pytest.mark.long
def test_idle_and_partial_connections_closed_by_timeout(fresh_server, record_figure):
    port = fresh_server.port
    idle = socket.create_connection(("127.0.0.1", port))
    partial = socket.create_connection(("127.0.0.1", port))
    partial.sendall(PARTIAL)
    t0 = time.monotonic()
    a, _ = _wait_closed(idle, 200)
    waited = time.monotonic() - t0
    b, _ = _wait_closed(partial, max(1, 200 - waited))
    b = None if b is None else waited + b     # both from t0: the partial one may go first
    record_figure("idle connection closed after (s)", a)
    record_figure("partial-header connection closed after (s)", b)
    assert a is not None and a <= 130
    assert b is not None and b <= 130


def _trickle_until_closed(s, step, limit):
    """Sends one byte every `step` s until the server closes the connection; seconds until then,
    or None if it stayed open for `limit` s."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        time.sleep(step)
        try:
            s.send(b"a")
            s.setblocking(False)
            try:
                if s.recv(65536) == b"":
                    return time.monotonic() - t0
            except BlockingIOError:
                pass
            s.setblocking(True)
        except OSError:
            return time.monotonic() - t0
    return None


def _trickle_headers(port, step, limit):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(PARTIAL)
    try:
        return _trickle_until_closed(s, step, limit)
    finally:
        s.close()


def test_header_trickle_closed_at_header_deadline(server_with, record_figure):
    srv = server_with("--header-timeout", "3")
    closed_at = _trickle_headers(srv.port, 0.5, 30)
    record_figure("header trickle (a byte every 0.5 s) closed after (s), --header-timeout 3",
                  closed_at)
    # The reaper looks once a second.
    assert closed_at is not None and 2.0 <= closed_at <= 6.0, closed_at
    # The server is fine, and a prompt client on a kept-alive connection is not cut off by it.
    k = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        for _ in range(3):
            k.sendall(build("GET", f"/{ACCOUNT}?comp=list",
                            shared_key_headers("GET", f"/{ACCOUNT}?comp=list")))
            assert k.recv(65536).startswith(b"HTTP/1.1 200")
            time.sleep(2)
    finally:
        k.close()


def test_body_trickle_closed_at_body_deadline(server_with, record_figure):
    srv = server_with("--body-timeout", "3")
    create_container(srv.port, "trickle")
    path = f"/{ACCOUNT}/trickle/slow"
    hdrs = shared_key_headers("PUT", path, [("x-ms-blob-type", "BlockBlob")], body_len=1000)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(build("PUT", path, hdrs))
    closed_at = _trickle_until_closed(s, 0.5, 30)
    s.close()
    record_figure("body trickle (a byte every 0.5 s) closed after (s), --body-timeout 3",
                  closed_at)
    assert closed_at is not None and 2.0 <= closed_at <= 6.0, closed_at
    r = signed(srv.port, "HEAD", path)
    assert r.status == 404, r
    # A body that keeps coming at a reasonable rate is not cut: 2 MiB in ~4 s is within 3 s/MiB.
    big = os.urandom(2 << 20)
    hdrs = shared_key_headers("PUT", path, [("x-ms-blob-type", "BlockBlob")], body_len=len(big))
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        s.sendall(build("PUT", path, hdrs))
        for i in range(0, len(big), 64 << 10):
            s.sendall(big[i:i + (64 << 10)])
            time.sleep(4 / 32)
        assert s.recv(65536).startswith(b"HTTP/1.1 201")
    finally:
        s.close()
    r = signed(srv.port, "GET", path)
    assert r.status == 200 and r.body == big


@pytest.mark.long
def test_byte_trickle_closed_at_default_deadline(fresh_server, record_figure):
    closed_at = _trickle_headers(fresh_server.port, 10, 200)
    record_figure("byte-trickle connection closed after (s), default --header-timeout 30",
                  closed_at)
    assert closed_at is not None and closed_at <= 45


# ---- aborted uploads ---------------------------------------------------------------------

def _abort_uploads(port, container, count, declared, sent, workers=32):
    errors = []
    lock = threading.Lock()
    it = iter(range(count))

    def worker():
        while True:
            with lock:
                i = next(it, None)
            if i is None:
                return
            t = f"/{ACCOUNT}/{container}/aborted-{i}"
            h = shared_key_headers("PUT", t, [("x-ms-blob-type", "BlockBlob"),
                                              ("Content-Length", str(declared))])
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.sendall(build("PUT", t, h, b"x" * sent))
                if i % 2:   # half close with RST, half with FIN
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.close()
            except OSError as e:
                with lock:
                    errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _settle(srv, fd0, limit=180):
    """The server's descriptor count once it is back within 2 of fd0, or after `limit` seconds.
    A slow build (TSan) may still be working through the backlog of aborted connections long
    after the clients left; 180 s is past every deadline the server itself enforces (the header
    deadline, 30 s, and the body deadline of 256 KiB declared, 150 s), so a descriptor still open
    then is a leak.  A normal run settles within a second."""
    deadline = time.time() + limit
    n = srv.fd_count()
    while n > fd0 + 2 and time.time() < deadline:   # one sample decides: a descriptor the
        time.sleep(0.2)                              # server opens for a moment (a RocksDB file)
        n = srv.fd_count()                           # must not fail a check that already passed
    return n


def test_10000_aborted_uploads_no_fd_or_space_leak(fresh_server, record_figure):
    port = fresh_server.port
    c = "aborted"
    create_container(port, c)
    signed(port, "GET", f"/{ACCOUNT}?comp=list")
    time.sleep(0.5)
    fd0, fds0 = fresh_server.fd_count(), fresh_server.fd_targets()
    app0, alloc0 = fresh_server.disk_usage()
    t0 = time.monotonic()
    errors = _abort_uploads(port, c, 10000, declared=256 << 10, sent=100 << 10)
    took = time.monotonic() - t0
    fd1 = _settle(fresh_server, fd0)
    app1, alloc1 = fresh_server.disk_usage()
    record_figure("10,000 aborted uploads (256 KiB declared, 100 KiB sent): time (s)", f"{took:.1f}")
    record_figure("  server fds before/after", f"{fd0}/{fd1}")
    record_figure("  data dir growth, apparent/allocated (MiB)",
                  f"{(app1 - app0) / 2**20:.1f}/{(alloc1 - alloc0) / 2**20:.1f}")
    assert len(errors) < 100, errors[:5]
    assert fd1 <= fd0 + 2, f"fd leak: {fds0} -> {fresh_server.fd_targets()}"
    # Nothing was acknowledged: the listing stays empty.
    lst = signed(port, "GET", f"/{ACCOUNT}/{c}?restype=container&comp=list")
    assert lst.status == 200 and b"<Blob>" not in lst.body
    # Bounded: at most what was sent (garbage for compaction), not the declared sizes.
    assert alloc1 - alloc0 <= 10000 * (100 << 10) + (256 << 20), alloc1 - alloc0
    assert signed(port, "GET", f"/{ACCOUNT}?comp=list").status == 200


def test_aborted_huge_declared_uploads_do_not_create_volumes(fresh_server, record_figure):
    port = fresh_server.port
    c = "hugeabort"
    create_container(port, c)
    time.sleep(0.3)
    fd0, fds0 = fresh_server.fd_count(), fresh_server.fd_targets()
    vols = os.path.join(fresh_server.data_dir, "volumes")
    v0 = len(os.listdir(vols))
    _abort_uploads(port, c, 300, declared=5000 << 20, sent=1000, workers=8)
    fd1 = _settle(fresh_server, fd0)
    v1 = len(os.listdir(vols))
    record_figure("300 aborted 5000 MiB uploads: fds before/after", f"{fd0}/{fd1}")
    record_figure("300 aborted 5000 MiB uploads: volume files before/after", f"{v0}/{v1}")
    assert fd1 <= fd0 + 2, f"fd leak: {fds0} -> {fresh_server.fd_targets()}"
    assert v1 <= v0 + 1, f"{v1 - v0} volume files created by aborted uploads"


# ---- memory held by stalled uploads --------------------------------------------------------

def _rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _sanitized(pid):
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read()
    return "libasan" in maps or "libtsan" in maps


def test_stalled_uploads_memory_bounded_and_returned(fresh_server, record_figure):
    """2,000 uploads that each sent 1,000,000 bytes of a 4 MiB body and stalled: an upload's
    buffers were a 1 MiB stage each (about 1 GiB for these, 4 GiB for 4,096) and what they freed
    stayed with the process after they closed."""
    if _sanitized(fresh_server.pid):
        pytest.skip("a sanitizer's allocator and shadow memory make RSS meaningless")
    port, n, sent = fresh_server.port, 2000, 1_000_000
    create_container(port, "stalled")
    assert signed(port, "GET", f"/{ACCOUNT}?comp=list").status == 200
    rss0 = _rss_mib(fresh_server.pid)
    socks = []
    try:
        for i in range(n):
            t = f"/{ACCOUNT}/stalled/s{i}"
            h = shared_key_headers("PUT", t, [("x-ms-blob-type", "BlockBlob"),
                                              ("Content-Length", str(4 << 20))])
            s = connect_from(port, f"127.0.0.{2 + i % 8}", timeout=30)
            s.sendall(build("PUT", t, h, b"x" * sent))
            socks.append(s)
        time.sleep(3)   # the server reads what is in the socket buffers
        rss1 = _rss_mib(fresh_server.pid)
    finally:
        for s in socks:
            s.close()
    deadline = time.time() + 30
    while time.time() < deadline and fresh_server.thread_count() > 20:
        time.sleep(0.2)
    time.sleep(3)   # the deadline thread hands memory back within a second or two of the closes
    rss2 = _rss_mib(fresh_server.pid)
    record_figure("server RSS idle / with 2,000 stalled uploads (1,000,000 bytes sent each) / "
                  "after they closed (MiB)", f"{rss0:.0f}/{rss1:.0f}/{rss2:.0f}")
    # Measured: about 120 KiB each (a 64 KiB stage, libmicrohttpd's buffer, the thread's stack),
    # and about 100 MiB over idle once they closed (500 with 1 MiB stages, 150 without the trim).
    assert rss1 - rss0 < n * 0.25, (rss0, rss1)
    assert rss2 - rss0 < 128, (rss0, rss1, rss2)
    assert signed(port, "GET", f"/{ACCOUNT}?comp=list").status == 200
