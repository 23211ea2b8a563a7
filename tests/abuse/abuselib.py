"""Helpers for the HTTP abuse, name and auth-matrix suites (Python 3 standard library only).

* CobaltServer (tests/lib/cobalt_server.py): the real binary ($COBALT_BIN) on 127.0.0.1 and a
  free port with a private data directory, stopped by its PID.
* Raw HTTP: build request bytes exactly (nothing is normalised), send them on a fresh socket, and
  parse whatever comes back, including several pipelined responses or none.
* Signing: Shared Key (protocol doc §3.2) and service / account SAS (§3.5, §3.6), written from
  the doc and checked against its verified vectors (§3.12) by test_signer.py before anything
  else relies on them.
"""
import base64
import datetime
import hashlib
import hmac
import os
import socket
import sys
import time
import urllib.parse

ACCOUNT = "devstoreaccount1"
KEY_B64 = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
KEY = base64.b64decode(KEY_B64)
WRONG_KEY = base64.b64decode("AAAA" + KEY_B64[4:])
VERSION = "2026-10-06"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from cobalt_server import CobaltServer  # noqa: E402,F401 (for the suites)


# ---- raw HTTP -----------------------------------------------------------------------------

class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value) as received
        self.body = body
        self.raw_head = raw_head

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def code(self):
        return self.header("x-ms-error-code")

    def __repr__(self):
        return f"<{self.status} {self.code or ''} {self.body[:200]!r}>"


class Exchange:
    """What came back on one connection: parsed responses, leftover bytes, whether it closed."""

    def __init__(self, responses, rest, closed, timed_out, error=None):
        self.responses = responses
        self.rest = rest
        self.closed = closed
        self.timed_out = timed_out
        self.error = error

    @property
    def first(self):
        return self.responses[0] if self.responses else None

    def statuses(self):
        return [r.status for r in self.responses]

    def __repr__(self):
        return (f"<Exchange {self.responses} rest={self.rest[:80]!r} closed={self.closed} "
                f"timeout={self.timed_out} err={self.error}>")


def parse_responses(data: bytes, head_request=False):
    """Parses as many complete HTTP/1.x responses as data holds.  Returns (responses, rest)."""
    out = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return out, data
        head = data[:end]
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            return out, data
        status = int(parts[1])
        reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
        resp = Response(status, reason, headers, b"", head)
        rest = data[end + 4:]
        te = resp.header("Transfer-Encoding")
        if head_request or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif te and "chunked" in te.lower():
            body = b""
            while True:
                le = rest.find(b"\r\n")
                if le < 0:
                    return out, data
                size = int(rest[:le].split(b";")[0], 16)
                if len(rest) < le + 2 + size + 2:
                    return out, data
                body += rest[le + 2:le + 2 + size]
                rest = rest[le + 2 + size + 2:]
                if size == 0:
                    break
        else:
            cl = resp.header("Content-Length")
            n = int(cl) if cl is not None else None
            if n is None:
                body, rest = rest, b""   # until close
            elif len(rest) < n:
                return out, data
            else:
                body, rest = rest[:n], rest[n:]
        resp.body = body
        out.append(resp)
        data = rest


def exchange(port, payload, timeout=5.0, head_request=False, expect=None, chunks=None,
             delay=0.0, shutdown_write=False, linger=0.0) -> Exchange:
    """Sends payload (or the list `chunks`, `delay` seconds apart) on a new connection and reads
    until the server closes, `timeout` passes without data, or `expect` responses arrived (then
    reads on for `linger` seconds more, to catch responses nobody asked for: a smuggled
    request's)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    data = b""
    closed = timed_out = lingering = False
    error = None
    try:
        for i, c in enumerate(chunks if chunks is not None else [payload]):
            if i and delay:
                time.sleep(delay)
            s.sendall(c)
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        while True:
            if expect is not None and len(parse_responses(data, head_request)[0]) >= expect:
                if linger <= 0:
                    break
                s.settimeout(linger)
                expect = None
                lingering = True
            try:
                d = s.recv(1 << 20)
            except socket.timeout:
                timed_out = not lingering
                break
            if not d:
                closed = True
                break
            data += d
    except (ConnectionResetError, BrokenPipeError) as e:
        error = type(e).__name__
        closed = True
        try:
            while True:
                d = s.recv(1 << 20)
                if not d:
                    break
                data += d
        except OSError:
            pass
    finally:
        s.close()
    responses, rest = parse_responses(data, head_request)
    return Exchange(responses, rest, closed, timed_out, error)


def build(method, target, headers=(), body=b"", version="HTTP/1.1", host=True, eol=b"\r\n"):
    """Request bytes, exactly: headers is a list of (name, value) (str or bytes)."""
    def b(x):
        return x if isinstance(x, bytes) else x.encode("utf-8")
    lines = [b(method) + b" " + b(target) + b" " + b(version)]
    if host:
        lines.append(b"Host: 127.0.0.1")
    for k, v in headers:
        lines.append(b(k) + b": " + b(v))
    return eol.join(lines) + eol + eol + b(body)


# ---- signing ------------------------------------------------------------------------------

STD_HEADERS = ["Content-Encoding", "Content-Language", "Content-Length", "Content-MD5",
               "Content-Type", "Date", "If-Modified-Since", "If-Match", "If-None-Match",
               "If-Unmodified-Since", "Range"]


def rfc1123_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def sign_b64(key, msg: str) -> str:
    return base64.b64encode(hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()).decode()


def split_query(query: str):
    """Raw query -> list of (name, value) percent-decoded, like the SDKs' canonicaliser."""
    out = []
    for part in query.split("&") if query else []:
        if not part:
            continue
        k, _, v = part.partition("=")
        out.append((urllib.parse.unquote(k), urllib.parse.unquote(v)))
    return out


def shared_key_sts(method, target, headers, account=ACCOUNT):
    path, _, query = target.partition("?")
    hdr = {}
    for k, v in headers:
        hdr.setdefault(k.lower(), []).append(v.strip())
    std = []
    for name in STD_HEADERS:
        v = ",".join(hdr.get(name.lower(), []))
        if name == "Content-Length" and v == "0":
            v = ""
        std.append(v)
    canon = sorted((k, ",".join(v)) for k, v in hdr.items() if k.startswith("x-ms-"))
    ch = "".join(f"{k}:{v}\n" for k, v in canon)
    res = "/" + account + (path or "/")
    params = {}
    for k, v in split_query(query):
        params.setdefault(k.lower(), []).append(v)
    for k in sorted(params):
        res += f"\n{k}:{','.join(sorted(params[k]))}"
    return method + "\n" + "\n".join(std) + "\n" + ch + res


def shared_key_headers(method, target, headers=(), body_len=None, key=KEY, account=ACCOUNT,
                       date=None):
    """headers + x-ms-date/x-ms-version (unless given) + Authorization."""
    headers = list(headers)
    names = {k.lower() for k, _ in headers}
    if "x-ms-date" not in names:
        headers.append(("x-ms-date", date or rfc1123_now()))
    if "x-ms-version" not in names:
        headers.append(("x-ms-version", VERSION))
    if body_len is not None and "content-length" not in names:
        headers.append(("Content-Length", str(body_len)))
    sts = shared_key_sts(method, target, headers, account)
    headers.append(("Authorization", f"SharedKey {account}:{sign_b64(key, sts)}"))
    return headers


def service_sas(sp, resource, sr, se, st=None, spr=None, sv=VERSION, key=KEY, snapshot="",
                extra=(), sip=None, si=None):
    """Query string of a service SAS (sv >= 2020-12-06 layout).  resource: "container" or
    "container/blob" (decoded).  With si (a stored access policy), sp and se may be None: the
    policy supplies them."""
    canon = f"/blob/{ACCOUNT}/{resource}"
    fields = [sp or "", st or "", se or "", canon, si or "", sip or "", spr or "", sv, sr, snapshot,
              "", "", "", "", "", ""]
    sig = sign_b64(key, "\n".join(fields))
    q = [("sv", sv)]
    if si:
        q.append(("si", si))
    if spr:
        q.append(("spr", spr))
    if sip:
        q.append(("sip", sip))
    if st:
        q.append(("st", st))
    q += [("se", se)] if se is not None else []
    q += [("sr", sr)] + ([("sp", sp)] if sp is not None else []) + [*extra, ("sig", sig)]
    return urllib.parse.urlencode(q, quote_via=urllib.parse.quote, safe="")


def account_sas(sp, srt="sco", ss="b", se=None, st=None, spr=None, sv=VERSION, key=KEY, sip=None):
    se = se or iso(utcnow() + datetime.timedelta(hours=1))
    sts = "\n".join([ACCOUNT, sp, ss, srt, st or "", se, sip or "", spr or "", sv, ""]) + "\n"
    q = [("sv", sv), ("ss", ss), ("srt", srt)]
    if spr:
        q.append(("spr", spr))
    if sip:
        q.append(("sip", sip))
    if st:
        q.append(("st", st))
    q += [("se", se), ("sp", sp), ("sig", sign_b64(key, sts))]
    return urllib.parse.urlencode(q, quote_via=urllib.parse.quote, safe="")


# ---- convenience: signed requests on one connection ---------------------------------------

def signed(port, method, target, headers=(), body=b"", key=KEY, timeout=10.0):
    h = shared_key_headers(method, target, headers, body_len=len(body), key=key)
    return exchange(port, build(method, target, h, body), timeout=timeout, expect=1,
                    head_request=method == "HEAD").first


def anon(port, method, target, headers=(), body=b"", timeout=10.0):
    h = list(headers) + [("Content-Length", str(len(body)))]
    return exchange(port, build(method, target, h, body), timeout=timeout, expect=1,
                    head_request=method == "HEAD").first


def create_container(port, name, public=None):
    h = [("x-ms-blob-public-access", public)] if public else []
    r = signed(port, "PUT", f"/{ACCOUNT}/{name}?restype=container", h)
    assert r is not None and r.status in (201, 409), r
    return r


def put_blob(port, container, name_enc, data=b"hello", headers=()):
    r = signed(port, "PUT", f"/{ACCOUNT}/{container}/{name_enc}",
               [("x-ms-blob-type", "BlockBlob"), *headers], data)
    assert r is not None and r.status == 201, r
    return r


def get_blob(port, container, name_enc):
    return signed(port, "GET", f"/{ACCOUNT}/{container}/{name_enc}")


def healthy(port) -> bool:
    """A signed List Containers on a new connection answers 200."""
    try:
        r = signed(port, "GET", f"/{ACCOUNT}?comp=list", timeout=10)
        return r is not None and r.status == 200
    except OSError:
        return False


# ---- connection floods from many addresses ------------------------------------------------

def connect_from(port, source, timeout=5.0):
    """A connection to the server on 127.0.0.1 from loopback address `source` (on Linux any
    127.x.y.z is a local address, so one machine can play many clients)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        raise
    return s


def still_open(s) -> bool:
    """Whether the server has left connection `s` open (on one where it sends nothing unasked:
    end-of-stream or a reset means it closed it)."""
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
