"""Helpers for the conformance tests: the server (tests/lib/cobalt_server.py) with SDK and raw
clients for it, raw signed HTTP, checksums.
"""
from __future__ import annotations

import base64
import datetime as _dt
import email.utils
import hashlib
import hmac
import http.client
import re
import sys
import urllib.parse
import uuid
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence, Tuple, Union

from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lib"))
import cobalt_server  # noqa: E402
from cobalt_server import BACKEND, binary, free_port, run_cli  # noqa: E402,F401 (for the tests)

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# A service version the Python SDK's generated layer also sends (it is pinned to 2021-12-02).
RAW_VERSION = "2021-12-02"


# --------------------------------------------------------------------------------------------
# The server process (tests/lib/cobalt_server.py), with the SDK and raw clients for it
# --------------------------------------------------------------------------------------------

class CobaltServer(cobalt_server.CobaltServer):
    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return connection_string(self.port)

    def client(self, **kwargs) -> BlobServiceClient:
        kwargs.setdefault("retry_total", 0)
        return BlobServiceClient.from_connection_string(self.connection_string, **kwargs)

    def raw(self) -> "RawClient":
        return RawClient(self)


def scrape_metrics(port: int) -> dict:
    """GET /metrics of `cobalt serve --metrics-port PORT`, parsed: {'name{labels}': value}.
    Checks the exposition format on the way: every sample's family has its # TYPE line first."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        body = r.read().decode("utf-8")
        assert r.status == 200, (r.status, body)
        assert r.getheader("Content-Type", "").startswith("text/plain; version=0.0.4")
    finally:
        conn.close()
    typed, out = set(), {}
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge"), line
            typed.add(name)
        elif line and not line.startswith("#"):
            m = re.fullmatch(r'([a-z_]+)(\{[a-z]+="[^"]*"(?:,[a-z]+="[^"]*")*\})? (-?\d+)', line)
            assert m, f"bad sample line {line!r}"
            assert m.group(1) in typed, f"{m.group(1)} has no # TYPE line before it"
            out[m.group(1) + (m.group(2) or "")] = int(m.group(3))
    return out


def connection_string(port: int, key: str = KEY, account: str = ACCOUNT) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{account};")


# --------------------------------------------------------------------------------------------
# Assertions
# --------------------------------------------------------------------------------------------

def expect_error(fn, status: int, code: Optional[Union[str, Iterable[str]]] = None, *args, **kwargs):
    """Call fn and require an HttpResponseError with this status (and error code). Returns it."""
    try:
        fn(*args, **kwargs)
    except HttpResponseError as e:
        got_status = e.status_code if e.status_code is not None else getattr(e.response, "status_code", None)
        got_code = getattr(e, "error_code", None)
        if got_code is None and e.response is not None:
            got_code = e.response.headers.get("x-ms-error-code")
        assert got_status == status, f"expected HTTP {status}, got {got_status} ({got_code}): {e.message}"
        if code is not None:
            codes = {code} if isinstance(code, str) else set(code)
            assert got_code in codes, f"expected error code {sorted(codes)}, got {got_code!r} (HTTP {got_status})"
        return e
    raise AssertionError(f"expected HTTP {status} {code or ''}, but the call succeeded")


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:16]}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


ETAG_RE = re.compile(r'^"0x[0-9A-F]{15,}"$')


def crc64_nvme(data: bytes, crc: int = 0) -> int:
    """CRC-64/NVME as Azure Storage uses it (protocol doc §6.2)."""
    table = _crc64_table()
    crc = ~crc & 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return ~crc & 0xFFFFFFFFFFFFFFFF


_CRC64_TABLE = None


def _crc64_table():
    global _CRC64_TABLE
    if _CRC64_TABLE is None:
        t = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ (0x9A6C9329AC4BC9B5 if c & 1 else 0)
            t.append(c)
        _CRC64_TABLE = t
    return _CRC64_TABLE


def crc64_b64(data: bytes) -> str:
    return base64.b64encode(crc64_nvme(data).to_bytes(8, "little")).decode()


# --------------------------------------------------------------------------------------------
# Raw HTTP with Shared Key signing (independent of the SDK)
# --------------------------------------------------------------------------------------------

class RawResponse:
    def __init__(self, status: int, reason: str, headers: http.client.HTTPMessage, body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name)

    @property
    def error_code(self) -> Optional[str]:
        return self.headers.get("x-ms-error-code")

    def xml_code(self) -> Optional[str]:
        m = re.search(rb"<Code>([^<]*)</Code>", self.body or b"")
        return m.group(1).decode() if m else None

    def __repr__(self):
        return (f"<RawResponse {self.status} {self.reason} code={self.error_code} "
                f"body={self.body[:300]!r}>")


def _std_header(headers: Mapping[str, str], name: str) -> str:
    for k, v in headers.items():
        if k.lower() == name:
            return str(v).strip()
    return ""


def sign_shared_key(method: str, raw_path: str, query: Sequence[Tuple[str, str]],
                    headers: Mapping[str, str], key: str = KEY, account: str = ACCOUNT) -> str:
    """Shared Key signature per protocol doc §3.2 (byte-order header sort; path-style resource)."""
    clen = _std_header(headers, "content-length")
    if clen == "0":
        clen = ""
    parts = [
        method.upper(),
        _std_header(headers, "content-encoding"),
        _std_header(headers, "content-language"),
        clen,
        _std_header(headers, "content-md5"),
        _std_header(headers, "content-type"),
        _std_header(headers, "date"),
        _std_header(headers, "if-modified-since"),
        _std_header(headers, "if-match"),
        _std_header(headers, "if-none-match"),
        _std_header(headers, "if-unmodified-since"),
        _std_header(headers, "range"),
    ]
    xms = {}
    for k, v in headers.items():
        lk = k.lower()
        if lk.startswith("x-ms-"):
            xms[lk] = f"{xms[lk]},{str(v).strip()}" if lk in xms else str(v).strip()
    canon_headers = "".join(f"{k}:{xms[k]}\n" for k in sorted(xms))
    resource = f"/{account}{raw_path or '/'}"
    qd = {}
    for k, v in query:
        qd.setdefault(k.lower(), []).append(v)
    for k in sorted(qd):
        resource += f"\n{k}:{','.join(sorted(qd[k]))}"
    sts = "\n".join(parts) + "\n" + canon_headers + resource
    sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode("utf-8"), hashlib.sha256).digest())
    return f"SharedKey {account}:{sig.decode()}"


class RawClient:
    """Minimal HTTP client for protocol-level assertions (headers, status, bodies)."""

    def __init__(self, srv: CobaltServer):
        self.srv = srv

    def request(self, method: str, path: str, query: Union[None, Mapping[str, str], Sequence[Tuple[str, str]]] = None,
                headers: Optional[Mapping[str, str]] = None, body: Optional[bytes] = None,
                sign: bool = True, key: str = KEY, version: Optional[str] = RAW_VERSION,
                raw_query: Optional[str] = None, timeout: float = 60.0, account: str = ACCOUNT,
                path_account: Optional[str] = None) -> RawResponse:
        """`path` is relative to the account ("/container/blob", "" for the service); it is
        percent-encoded here. `raw_query` (already encoded) replaces `query` for SAS URLs.
        `path_account` is the first path segment when it differs from the signing account
        (the `-secondary` form)."""
        if isinstance(query, Mapping):
            query = list(query.items())
        query = list(query or [])
        raw_path = "/" + (path_account or account) + urllib.parse.quote(path, safe="/~")
        hdrs = {}
        if version is not None:
            hdrs["x-ms-version"] = version
        if sign:
            hdrs["x-ms-date"] = email.utils.formatdate(usegmt=True)
        hdrs.update(headers or {})
        if body is not None or method.upper() in ("PUT", "POST"):
            if not any(k.lower() == "content-length" for k in hdrs):
                hdrs["Content-Length"] = str(len(body or b""))
        if raw_query is not None:
            qs = raw_query
        else:
            qs = "&".join(f"{urllib.parse.quote(k, safe='')}={urllib.parse.quote(v, safe='')}" for k, v in query)
        if sign and raw_query is None:
            hdrs["Authorization"] = sign_shared_key(method, raw_path, query, hdrs, key=key, account=account)
        target = raw_path + (("?" + qs) if qs else "")
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=timeout)
        try:
            conn.putrequest(method.upper(), target, skip_host=False, skip_accept_encoding=True)
            for k, v in hdrs.items():   # a list value: the header repeated, once per item
                for item in (v if isinstance(v, list) else [v]):
                    conn.putheader(k, item)
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read()
            return RawResponse(resp.status, resp.reason, resp.headers, data)
        finally:
            conn.close()

    # conveniences
    def put_blob(self, container: str, blob: str, data: bytes, headers: Optional[Mapping[str, str]] = None, **kw):
        h = {"x-ms-blob-type": "BlockBlob"}
        h.update(headers or {})
        return self.request("PUT", f"/{container}/{blob}", headers=h, body=data, **kw)

    def get_blob(self, container: str, blob: str, headers: Optional[Mapping[str, str]] = None, **kw):
        return self.request("GET", f"/{container}/{blob}", headers=headers, **kw)

    def head_blob(self, container: str, blob: str, headers: Optional[Mapping[str, str]] = None, **kw):
        return self.request("HEAD", f"/{container}/{blob}", headers=headers, **kw)


def assert_error_response(r: RawResponse, status: int, code: Union[str, Iterable[str]], head: bool = False):
    """A raw error: status, x-ms-error-code, and (non-HEAD) an XML body whose <Code> matches."""
    codes = {code} if isinstance(code, str) else set(code)
    assert r.status == status, f"expected {status} {sorted(codes)}, got {r!r}"
    assert r.error_code in codes, f"expected x-ms-error-code in {sorted(codes)}, got {r!r}"
    assert r.header("x-ms-request-id"), "x-ms-request-id missing on error response"
    if head:
        assert r.body == b"", "HEAD error response must have no body"
    else:
        assert r.xml_code() == r.error_code, f"XML <Code> {r.xml_code()!r} != header {r.error_code!r}"
        ctype = r.header("content-type") or ""
        assert "xml" in ctype, f"error body Content-Type should be XML, got {ctype!r}"


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)
