"""Server-side fetches under hostile callers (docs/copy.md, docs/security.md): the egress policy of
Copy Blob, Copy Blob From URL, Put Blob From URL, Put Block From URL and Append Block From URL
(SSRF), their size bounds, the rationing of the asynchronous copy workers, and https-only SAS
tokens on copy sources.

Only loopback is ever contacted.  An HTTP server on 127.0.0.1 plays the internal service a caller
must not reach (with the server's own metrics port, `localhost` and other spellings of loopback);
one on 127.0.0.2 plays a public source, reachable because the servers that need one allow-list
exactly that address.  Addresses such as 10.0.0.1 or 169.254.169.254 are covered by the address
classifier's unit test (tests/unit/test_egress.c), never contacted.
"""
import http.server
import re
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

import pytest
from azure.storage.blob import BlobSasPermissions, generate_blob_sas

from cobalt_testlib import (ACCOUNT, KEY, CobaltServer, RawClient, assert_error_response,
                            connection_string, free_port, unique_name)

KiB = 1024
MiB = 1024 * KiB
INTERNAL, PUBLIC = "127.0.0.1", "127.0.0.2"
UNREACHABLE = "the copy source could not be reached"
SECOND, SECOND_KEY = "second", "c2Vjb25kIGFjY291bnQga2V5IGZvciB0ZXN0cw=="
STALL = 2          # --copy-stall-timeout of the allowing server
QUEUE = 3          # --copy-queue of the allowing server


# ---- the HTTP servers copies are pointed at --------------------------------------------------

class Site:
    """What one test HTTP server answers, and the requests it saw."""

    def __init__(self, host):
        self.host = host
        self.requests = []           # (path, headers)
        self.gate = threading.Event()  # ends the hanging answers at teardown


def make_handler(site):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, status, body=b"", headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            site.requests.append((u.path, dict(self.headers)))
            try:
                if u.path == "/secret":
                    self.send(200, b"internal secret")
                elif u.path == "/redirect":          # ?to=URL
                    self.send(302, headers=[("Location", q["to"])])
                elif u.path == "/endless":           # chunked, never ends
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    piece = b"e" * (256 * KiB)
                    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
                    while not site.gate.is_set():
                        self.wfile.write(chunk)
                elif u.path == "/announce":          # ?length=N, then nothing
                    self.send_response(200)
                    self.send_header("Content-Length", q["length"])
                    self.end_headers()
                    self.wfile.flush()
                    site.gate.wait(60)
                elif u.path == "/hang":              # 64 KiB of 50 MiB, then nothing
                    self.send_response(200)
                    self.send_header("Content-Length", str(50 * MiB))
                    self.end_headers()
                    self.wfile.write(b"h" * (64 * KiB))
                    self.wfile.flush()
                    site.gate.wait(60)
                elif u.path == "/silent":            # accepts, never answers
                    site.gate.wait(60)
                else:
                    self.send(200, b"public bytes " + u.path.encode(),
                              headers=[("Content-Type", "text/x-public")])
            except OSError:
                pass                                 # Cobalt hung up (a bound, a stall)
            self.close_connection = True

    return H


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def serve_site(host):
    site = Site(host)
    httpd = QuietServer((host, 0), make_handler(site))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    site.port = httpd.server_address[1]
    site.base = f"http://{host}:{site.port}"
    return site, httpd


@pytest.fixture(scope="module")
def internal():
    site, httpd = serve_site(INTERNAL)
    yield site
    site.gate.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def public():
    site, httpd = serve_site(PUBLIC)
    yield site
    site.gate.set()
    httpd.shutdown()
    httpd.server_close()


def start_server(tmp_path_factory, name, args=(), env=None):
    d = tmp_path_factory.mktemp(name)
    return CobaltServer(d / "data", d / "server.log", args=args, env=env).start()


def stop_server(srv):
    rc = srv.stop()
    assert not srv.sanitizer_reports(), srv.log_tail(80)
    assert rc == 0, srv.log_tail()


@pytest.fixture(scope="module")
def dflt(tmp_path_factory):
    """The default policy, with a metrics port to aim at."""
    srv = start_server(tmp_path_factory, "egress-default", ["--metrics-port", str(free_port())])
    srv.metrics_port = int(srv.args[1])
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def allowing(tmp_path_factory):
    """127.0.0.2 allow-listed; short stall timeout and queue; a second account."""
    srv = start_server(tmp_path_factory, "egress-allow",
                       ["--egress-allow", PUBLIC, "--copy-stall-timeout", str(STALL),
                        "--copy-queue", str(QUEUE)],
                       env={"COBALT_ACCOUNTS": f"{ACCOUNT}:{KEY};{SECOND}:{SECOND_KEY}"})
    yield srv
    stop_server(srv)


# ---- helpers -----------------------------------------------------------------------------

def container(srv, account=ACCOUNT, key=KEY):
    name = unique_name("eg")
    r = RawClient(srv).request("PUT", f"/{name}", query={"restype": "container"}, account=account,
                               key=key)
    assert r.status == 201, r
    return name


def copy_ops(source):
    """(name, query, headers) of every operation that reads `source`."""
    cs = ("x-ms-copy-source", source)
    return [("Copy Blob", [], dict([cs])),
            ("Copy Blob From URL", [], dict([cs, ("x-ms-requires-sync", "true")])),
            ("Put Blob From URL", [], dict([cs, ("x-ms-blob-type", "BlockBlob")])),
            ("Put Block From URL", [("comp", "block"), ("blockid", "YmxvY2sx")], dict([cs])),
            ("Append Block From URL", [("comp", "appendblock")], dict([cs]))]


def run_op(srv, c, blob, query, headers, account=ACCOUNT, key=KEY):
    raw = RawClient(srv)
    if query and query[0] == ("comp", "appendblock"):
        r = raw.request("PUT", f"/{c}/{blob}", headers={"x-ms-blob-type": "AppendBlob"},
                        account=account, key=key)
        assert r.status == 201, r
    return raw.request("PUT", f"/{c}/{blob}", query=query, headers=headers, account=account,
                       key=key)


def wait_copy(srv, c, blob, timeout=30.0, account=ACCOUNT, key=KEY):
    """Polls the destination until its copy is no longer pending; its last HEAD."""
    raw, deadline = RawClient(srv), time.monotonic() + timeout
    while True:
        r = raw.request("HEAD", f"/{c}/{blob}", account=account, key=key)
        assert r.status == 200, r
        if r.header("x-ms-copy-status") != "pending" or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


def message(r):
    """The error body's message without its request id and time."""
    m = re.search(rb"<Message>(.*?)\n", r.body)
    return m.group(1) if m else r.body


def refused_everywhere(srv, source, site=None):
    """Every operation on `source` fails as an unreachable source does; nothing is stored and, if
    given, `site` saw no request."""
    c = container(srv)
    seen = len(site.requests) if site else 0
    for name, query, headers in copy_ops(source):
        blob = unique_name("d")
        r = run_op(srv, c, blob, query, headers)
        if name == "Copy Blob":
            assert r.status == 202 and r.header("x-ms-copy-status") == "pending", (source, r)
            h = wait_copy(srv, c, blob)
            assert h.header("x-ms-copy-status") == "failed", (source, h)
            assert h.header("x-ms-copy-status-description") == UNREACHABLE, (source, h)
            assert h.header("Content-Length") == "0"
            continue
        assert_error_response(r, 500, "CannotVerifyCopySource")
        assert r.header("x-ms-copy-source-status-code") == "500", (name, source, r)
        assert r.header("x-ms-copy-source-error-code") is None, (name, source, r)
        assert b"secret" not in r.body and b"Prometheus" not in r.body
        head = RawClient(srv).request("HEAD", f"/{c}/{blob}")
        if name == "Append Block From URL":
            assert head.header("Content-Length") == "0", head
        else:
            assert head.status == 404, (name, head)
    if site is not None:
        assert len(site.requests) == seen, f"{source} reached {site.requests[seen:]}"


# ---- finding 3: SSRF -------------------------------------------------------------------------

def test_default_policy_refuses_loopback_in_every_spelling(dflt, internal):
    port = internal.port
    for source in (f"{internal.base}/secret", f"http://localhost:{port}/secret",
                   f"http://[::ffff:127.0.0.1]:{port}/secret", f"http://0.0.0.0:{port}/secret",
                   f"http://2130706433:{port}/secret", f"http://127.1:{port}/secret",
                   f"http://[::1]:{port}/secret", f"http://[::127.0.0.1]:{port}/secret",
                   f"http://LocalHost:{port}/secret"):
        refused_everywhere(dflt, source, internal)


def test_metrics_port_is_not_a_copy_source(dflt):
    for host in ("127.0.0.1", "localhost"):
        refused_everywhere(dflt, f"http://{host}:{dflt.metrics_port}/metrics")


def test_redirects_are_checked_on_every_hop(allowing, public, internal):
    """127.0.0.2 is allowed, and redirects to 127.0.0.1 (or to localhost, or to the Cobalt port
    itself on another spelling): the second connection is refused like the first would be."""
    for target in (f"{internal.base}/secret", f"http://localhost:{internal.port}/secret",
                   f"http://[::ffff:7f00:1]:{internal.port}/secret"):
        src = f"{public.base}/redirect?to={urllib.parse.quote(target, safe='')}"
        refused_everywhere(allowing, src, internal)
    # The allowed source itself is fetched (the redirect was followed up to the refusal).
    assert any(p == "/redirect" for p, _ in public.requests)


def test_unreachable_sources_look_alike(allowing, public, internal):
    """Refused by policy (an open port), connection refused (a closed port on an allowed
    address), and connected but silent (the stall timeout): one answer, so a caller learns
    nothing about which internal ports are open."""
    closed = free_port()
    sources = {"policy": f"{internal.base}/secret", "closed": f"http://{PUBLIC}:{closed}/x",
               "silent": f"{public.base}/silent"}
    c = container(allowing)
    sync, desc = {}, {}
    for why, src in sources.items():
        r = run_op(allowing, c, unique_name("s"), [],
                   {"x-ms-copy-source": src, "x-ms-blob-type": "BlockBlob"})
        sync[why] = (r.status, r.error_code, r.header("x-ms-copy-source-status-code"),
                     r.header("x-ms-copy-source-error-code"), message(r))
        blob = unique_name("a")
        assert run_op(allowing, c, blob, [], {"x-ms-copy-source": src}).status == 202
        h = wait_copy(allowing, c, blob)
        desc[why] = (h.header("x-ms-copy-status"), h.header("x-ms-copy-status-description"))
    assert len(set(sync.values())) == 1, sync
    assert sync["policy"][:3] == (500, "CannotVerifyCopySource", "500"), sync
    assert set(desc.values()) == {("failed", UNREACHABLE)}, desc
    # The server's own log says which it was, for the operator.
    assert "egress policy refuses 127.0.0.1" in allowing.log_text()


def test_allow_list_admits_internal_sources(tmp_path_factory, internal):
    srv = start_server(tmp_path_factory, "egress-lo", ["--egress-allow", "10.9.0.0/16,127.0.0.0/8"])
    try:
        c = container(srv)
        r = run_op(srv, c, "d", [], {"x-ms-copy-source": f"{internal.base}/secret",
                                     "x-ms-blob-type": "BlockBlob"})
        assert r.status == 201, r
        assert RawClient(srv).get_blob(c, "d").body == b"internal secret"
    finally:
        stop_server(srv)
    for bad in ("10.0.0.0/33", "localhost", "10.0.0.1,"):
        d = tmp_path_factory.mktemp("egress-bad")
        s = CobaltServer(d / "data", d / "server.log", args=["--egress-allow", bad])
        assert s.start(expect_up=False) is None
        assert "--egress-allow" in s.log_text()


def test_size_bounds_cut_endless_and_oversized_sources(allowing, public):
    c = container(allowing)
    # An endless chunked source is cut at the operation's bound (Append Block From URL: 100 MiB)
    # and nothing of it is committed.
    r = run_op(allowing, c, "endless", [("comp", "appendblock")],
               {"x-ms-copy-source": f"{public.base}/endless"})
    assert_error_response(r, 413, "RequestBodyTooLarge")
    assert RawClient(allowing).head_blob(c, "endless").header("Content-Length") == "0"
    # Announced lengths past Azure's limits are refused before a byte is stored.
    for name, query, headers, limit in (
            ("Copy Blob From URL", [], {"x-ms-requires-sync": "true"}, 256 * MiB),
            ("Put Blob From URL", [], {"x-ms-blob-type": "BlockBlob"}, 5000 * MiB),
            ("Put Block From URL", [("comp", "block"), ("blockid", "YmxvY2sx")], {}, 4000 * MiB),
            ("Append Block From URL", [("comp", "appendblock")], {}, 100 * MiB)):
        headers["x-ms-copy-source"] = f"{public.base}/announce?length={limit + 1}"
        t0 = time.monotonic()
        r = run_op(allowing, c, unique_name("big"), query, headers)
        assert_error_response(r, 413, "RequestBodyTooLarge")
        assert time.monotonic() - t0 < STALL, name
    # An asynchronous copy is bounded by Azure's largest block blob (50,000 x 4000 MiB).
    r = run_op(allowing, c, "huge", [],
               {"x-ms-copy-source": f"{public.base}/announce?length={50000 * 4000 * MiB + 1}"})
    assert r.status == 202, r
    h = wait_copy(allowing, c, "huge")
    assert h.header("x-ms-copy-status") == "failed", h
    assert "larger than" in h.header("x-ms-copy-status-description"), h
    assert h.header("Content-Length") == "0"


# ---- finding 7: the copy workers ---------------------------------------------------------------

def test_stalled_copies_fail_and_do_not_starve_other_accounts(allowing, public):
    """Account 1 fills what it may of the pool with copies from a source that stalls (64 KiB,
    then nothing) and its queue up to --copy-queue; one more is refused 503 ServerBusy.  The
    second account's copy still completes at once; the stalled ones fail after the stall
    timeout, then the queued ones run (and stall) in turn."""
    c1 = container(allowing)
    c2 = container(allowing, SECOND, SECOND_KEY)
    hang = f"{public.base}/hang"
    raw = RawClient(allowing)
    started = []

    def start(n):
        for _ in range(n):
            blob = unique_name("h")
            r = raw.request("PUT", f"/{c1}/{blob}", headers={"x-ms-copy-source": hang})
            assert r.status == 202, r
            started.append(blob)

    def running():
        return sum(1 for b in started
                   if raw.request("HEAD", f"/{c1}/{b}").header("x-ms-copy-progress")
                   .startswith(str(64 * KiB)))

    # Four workers, two accounts: account 1 may run three (one stays free for account 2).
    start(3)
    deadline = time.monotonic() + 10
    while running() < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running() == 3
    t_stall = time.monotonic()
    start(QUEUE)
    r = raw.request("PUT", f"/{c1}/over", headers={"x-ms-copy-source": hang})
    assert_error_response(r, 503, "ServerBusy")
    assert raw.request("HEAD", f"/{c1}/over").status == 404     # nothing committed
    assert running() == 3                                       # the queued ones wait

    t0 = time.monotonic()
    r = raw.request("PUT", f"/{c2}/fast", headers={"x-ms-copy-source": f"{public.base}/fast"},
                    account=SECOND, key=SECOND_KEY)
    assert r.status == 202, r
    h = wait_copy(allowing, c2, "fast", account=SECOND, key=SECOND_KEY)
    assert h.header("x-ms-copy-status") == "success", h
    assert time.monotonic() - t0 < STALL, "account 2 waited for account 1's stalled copies"
    assert raw.request("GET", f"/{c2}/fast", account=SECOND, key=SECOND_KEY).body == \
        b"public bytes /fast"

    for b in started:
        h = wait_copy(allowing, c1, b, timeout=4 * STALL + 20)
        assert h.header("x-ms-copy-status") == "failed", h
        assert h.header("x-ms-copy-status-description") == \
            f"the copy source sent nothing for {STALL} seconds", h
        assert h.header("Content-Length") == "0"
    took = time.monotonic() - t_stall
    assert 2 * STALL - 1 <= took < 2 * STALL + 15, took   # two rounds of stalls
    # The queue drained: account 1 can queue copies again.
    r = raw.request("PUT", f"/{c1}/again", headers={"x-ms-copy-source": f"{public.base}/ok"})
    assert r.status == 202, r
    assert wait_copy(allowing, c1, "again").header("x-ms-copy-status") == "success"


# ---- finding 12: https-only SAS on copy sources ---------------------------------------------------

def sas(c, blob, protocol):
    return generate_blob_sas(ACCOUNT, c, blob, account_key=KEY,
                             permission=BlobSasPermissions(read=True),
                             expiry=datetime.now(timezone.utc) + timedelta(hours=1),
                             protocol=protocol)


def test_https_only_sas_is_checked_against_the_scheme_used(allowing, public):
    raw = RawClient(allowing)
    c = container(allowing)
    assert raw.put_blob(c, "src", b"source bytes").status == 201
    token = sas(c, "src", "https")
    # A local source is read as a GET to this plain-HTTP server would be, whatever scheme the URL
    # names: an https-only token is refused as the source would refuse it.
    for scheme in ("http", "https"):
        src = f"{scheme}://127.0.0.1:{allowing.port}/{ACCOUNT}/{c}/src?{token}"
        for name, query, headers in copy_ops(src):
            r = run_op(allowing, c, unique_name("d"), query, headers)
            assert_error_response(r, 403, "CannotVerifyCopySource")
            assert r.header("x-ms-copy-source-error-code") == "AuthorizationProtocolMismatch", \
                (name, src, r)
    ok = f"http://127.0.0.1:{allowing.port}/{ACCOUNT}/{c}/src?{sas(c, 'src', 'https,http')}"
    for name, query, headers in copy_ops(ok):
        assert run_op(allowing, c, unique_name("d"), query, headers).status in (201, 202), name
    # An external source with an https-only token named with http:// is not contacted: the token
    # would travel in clear.
    seen = len(public.requests)
    ext = f"{public.base}/tokened?sv=2021-12-02&sr=b&sp=r&spr=https&sig=c2lnbmF0dXJl"
    odd = f"{public.base}/tokened?sv=2021-12-02&sr=b&sp=r&spr=http%zz&sig=c2lnbmF0dXJl"
    for name, query, headers in copy_ops(ext) + copy_ops(odd)[2:3]:
        blob = unique_name("x")
        r = run_op(allowing, c, blob, query, headers)
        assert_error_response(r, 403, "CannotVerifyCopySource")
        assert r.header("x-ms-copy-source-error-code") == "AuthorizationProtocolMismatch", name
        if name != "Append Block From URL":
            assert raw.request("HEAD", f"/{c}/{blob}").status == 404, name
    assert len(public.requests) == seen, public.requests[seen:]
    # spr=https,http (percent-encoded, as SDKs write it) may travel over http.
    ext = f"{public.base}/tokened?sv=2021-12-02&sr=b&sp=r&spr=https%2Chttp&sig=c2lnbmF0dXJl"
    r = run_op(allowing, c, "both", [], {"x-ms-copy-source": ext, "x-ms-blob-type": "BlockBlob"})
    assert r.status == 201, r
    assert raw.get_blob(c, "both").body == b"public bytes /tokened"
