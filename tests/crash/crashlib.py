"""Shared machinery of the crash, fault, bit-rot and TSan suites (tests/crash/).

- CobaltServer (tests/lib/cobalt_server.py): one `cobalt serve` process we start and stop by its
  own PID; here it may die on purpose (kill -9, or the fault build's simulated power loss, exit
  status 86).
- Client: raw HTTP/1.1 with Shared Key signing (cheap enough for thousands of requests a second,
  and it sees every status line), one keep-alive connection per thread.
- Ledger: what the clients know.  Every acknowledged (2xx) write, and every write that was started
  but not acknowledged (the connection died, or a clean 5xx).  verify() is the oracle: each name
  must be exactly its last acknowledged state (content SHA-256, ETag, metadata), or the complete
  result of one of the unacknowledged writes since (DESIGN invariants 1 and 2); listings must agree.
- fsck(): `cobalt fsck DATA_DIR` must end with problems=0 (STYLE habit 12: the checker is the
  oracle).

Binaries: $COBALT_BIN (release, default build/cobalt), $COBALT_FAULT_BIN (default
build-fault/cobalt, -DCOBALT_FAULT_INJECTION=ON), $COBALT_TSAN_BIN (default build-tsan/cobalt):
CobaltServer(..., build="release" | "fault" | "tsan").
"""
from __future__ import annotations

import base64
import email.utils
import hashlib
import http.client
import os
import random
import re
import shutil
import sys
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "conformance"))
from cobalt_testlib import ACCOUNT, sign_shared_key  # noqa: E402
from cobalt_server import CobaltServer, binary, free_port, run_cli  # noqa: E402,F401 (for the suites)

KiB = 1024
MiB = 1024 * KiB
CRASH_STATUS = 86          # faultio.c: _exit status of a simulated power loss
LONG = os.environ.get("COBALT_CRASH_LONG") == "1"
VERSION = "2021-12-02"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------------------------
# Operator tools
# ------------------------------------------------------------------------------------------------

def fsck(data_dir, build="release", timeout=300):
    """Runs `cobalt fsck DATA_DIR`; (problems, full output)."""
    p = run_cli("fsck", data_dir, build=build, timeout=timeout)
    out = p.stdout + p.stderr
    m = re.search(r"^fsck: containers=\d+ .*problems=(\d+)", out, re.M)
    if m is None:
        raise AssertionError(f"fsck printed no summary (exit {p.returncode}):\n{out[-3000:]}")
    problems = int(m.group(1))
    assert (p.returncode == 0) == (problems == 0), f"fsck exit {p.returncode} vs summary:\n{out}"
    return problems, out


def compact(data_dir, build="release", timeout=600):
    """`cobalt compact DATA_DIR` (server stopped); its summary line."""
    p = run_cli("compact", data_dir, build=build, timeout=timeout)
    assert p.returncode == 0, f"cobalt compact exit {p.returncode}:\n{p.stdout}{p.stderr}"
    return p.stdout.strip()


# ------------------------------------------------------------------------------------------------
# Raw client
# ------------------------------------------------------------------------------------------------

class Resp:
    __slots__ = ("status", "headers", "body", "complete")

    def __init__(self, status, headers, body, complete=True):
        self.status, self.headers, self.body, self.complete = status, headers, body, complete

    def h(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<{self.status} {self.h('x-ms-error-code')} {self.body[:200]!r}>"


class Client:
    """Signed raw requests over one keep-alive connection.  Network failures raise OSError (or
    http.client exceptions, which are OSError-like): the request is then unacknowledged."""

    def __init__(self, port, timeout=30.0):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, query=(), headers=None, body=None):
        query = list(query.items()) if isinstance(query, dict) else list(query)
        raw_path = "/" + ACCOUNT + urllib.parse.quote(path, safe="/~")
        hdrs = {"x-ms-version": VERSION, "x-ms-date": email.utils.formatdate(usegmt=True)}
        hdrs.update(headers or {})
        if body is not None or method in ("PUT", "POST"):
            hdrs["Content-Length"] = str(len(body or b""))
        hdrs["Authorization"] = sign_shared_key(method, raw_path, query, hdrs)
        qs = "&".join(f"{urllib.parse.quote(k, safe='')}={urllib.parse.quote(v, safe='')}"
                      for k, v in query)
        target = raw_path + ("?" + qs if qs else "")
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.putrequest(method, target, skip_accept_encoding=True)
            for k, v in hdrs.items():
                self.conn.putheader(k, v)
            self.conn.endheaders(body if body else None)
            r = self.conn.getresponse()
            headers = {k.lower(): v for k, v in r.getheaders()}
            complete = True
            try:
                data = r.read()
            except http.client.IncompleteRead as e:   # a streamed read the server aborted
                data, complete = e.partial, False
                self.close()
            if r.will_close:
                self.close()
            return Resp(r.status, headers, data, complete)
        except BaseException:
            self.close()
            raise

    # -- operations ---------------------------------------------------------------------------
    def create_container(self, c):
        return self.request("PUT", f"/{c}", {"restype": "container"})

    def put_blob(self, c, b, data, meta=None, headers=None):
        h = {"x-ms-blob-type": "BlockBlob"}
        h.update({f"x-ms-meta-{k}": v for k, v in (meta or {}).items()})
        h.update(headers or {})
        return self.request("PUT", f"/{c}/{b}", headers=h, body=data)

    def put_block(self, c, b, block_id, data):
        return self.request("PUT", f"/{c}/{b}", {"comp": "block", "blockid": block_id}, body=data)

    def put_block_list(self, c, b, ids, meta=None):
        xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>" + "".join(
            f"<Latest>{i}</Latest>" for i in ids) + "</BlockList>"
        h = {f"x-ms-meta-{k}": v for k, v in (meta or {}).items()}
        return self.request("PUT", f"/{c}/{b}", {"comp": "blocklist"}, headers=h, body=xml.encode())

    def create_append_blob(self, c, b, meta=None):
        h = {"x-ms-blob-type": "AppendBlob"}
        h.update({f"x-ms-meta-{k}": v for k, v in (meta or {}).items()})
        return self.request("PUT", f"/{c}/{b}", headers=h, body=b"")

    def append_block(self, c, b, data):
        return self.request("PUT", f"/{c}/{b}", {"comp": "appendblock"}, body=data)

    def set_metadata(self, c, b, meta, headers=None):
        h = {f"x-ms-meta-{k}": v for k, v in meta.items()}
        h.update(headers or {})
        return self.request("PUT", f"/{c}/{b}", {"comp": "metadata"}, headers=h)

    def delete(self, c, b):
        return self.request("DELETE", f"/{c}/{b}")

    def get(self, c, b, headers=None):
        return self.request("GET", f"/{c}/{b}", headers=headers)

    def list_names(self, c):
        names, marker = [], ""
        while True:
            q = {"restype": "container", "comp": "list", "maxresults": "5000"}
            if marker:
                q["marker"] = marker
            r = self.request("GET", f"/{c}", q)
            assert r.status == 200, f"list: {r!r}"
            names += [n.decode() for n in re.findall(rb"<Blob><Name>([^<]*)</Name>", r.body)]
            m = re.search(rb"<NextMarker>([^<]+)</NextMarker>", r.body)
            if not m:
                return names
            marker = m.group(1).decode()


def clean_error(r, statuses=(500, 503)):
    """None when r is a clean Azure error (status in statuses, x-ms-error-code, XML body with the
    same <Code>), else what is wrong with it."""
    code = r.h("x-ms-error-code")
    if r.status not in statuses:
        return f"status {r.status}, expected one of {statuses}: {r!r}"
    if not code:
        return f"{r.status} without x-ms-error-code: {r!r}"
    m = re.search(rb"<Code>([^<]*)</Code>", r.body)
    if not m or m.group(1).decode() != code:
        return f"{r.status} {code}: XML body does not carry the code: {r!r}"
    if (r.status, code) not in ((500, "InternalError"), (503, "ServerBusy")):
        return f"unexpected error {r.status} {code}: {r!r}"
    return None


# ------------------------------------------------------------------------------------------------
# Ledger and oracle
# ------------------------------------------------------------------------------------------------

ABSENT = (None, "")   # the state of a name that does not exist
APPEND_DIGEST = "append"   # x-ms-meta-digest of an append blob (its content keeps changing)


class Ledger:
    """Per blob name: the last acknowledged state (sha, tag) with its ETag, and the set of states
    unacknowledged writes since then may have left.  `tag` is the x-ms-meta-gen value ("" for a
    fresh Put): Set Blob Metadata changes the tag and the ETag, not the content."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}   # name -> (sha or None, tag, etag or None)
        self.maybe = {}   # name -> set of (sha or None, tag)
        self.acks = 0
        self.unacked = 0

    def state(self, name):
        a = self.acked.get(name)
        return (a[0], a[1]) if a else ABSENT

    def candidates(self, name):
        """Contents the name might hold now: its acked content and any in flight."""
        with self.lock:
            s = {self.state(name)[0]} | {m[0] for m in self.maybe.get(name, ())}
            return s

    def begin(self, name, new_state):
        with self.lock:
            self.maybe.setdefault(name, set()).add(new_state)

    def begin_metadata(self, name, tag):
        with self.lock:
            shas = {self.state(name)[0]} | {m[0] for m in self.maybe.get(name, ())}
            self.maybe.setdefault(name, set()).update((s, tag) for s in shas if s is not None)

    def ack(self, name, new_state, etag):
        with self.lock:
            self.acked[name] = (new_state[0], new_state[1], etag)
            self.maybe.pop(name, None)
            self.acks += 1

    def ack_metadata(self, name, tag, etag):
        with self.lock:
            cur = self.acked.get(name)
            # The content is the acked one unless an unacked overwrite completed before this.
            shas = {m[0] for m in self.maybe.get(name, ())} | ({cur[0]} if cur else set())
            shas.discard(None)
            if len(shas) == 1:
                self.acked[name] = (shas.pop(), tag, etag)
                self.maybe.pop(name, None)
            else:   # ambiguous content: keep the options open, pinned to the new tag
                self.acked.pop(name, None)
                self.maybe[name] = {(s, tag) for s in shas}
            self.acks += 1

    def ack_delete(self, name):
        with self.lock:
            self.acked[name] = (None, "", None)
            self.maybe.pop(name, None)
            self.acks += 1

    def names(self):
        return set(self.acked) | set(self.maybe)


def read_state(cl, container, name):
    """(sha or None, tag, etag, meta digest, error text or None) of one blob, read in full."""
    r = cl.get(container, name)
    if r.status == 404:
        return None, "", None, None, None
    if r.status != 200 or not r.complete:
        return None, "", None, None, f"read of {name}: {r!r} (complete={r.complete})"
    if r.h("content-length") is not None and int(r.h("content-length")) != len(r.body):
        return None, "", None, None, f"read of {name}: short body {len(r.body)}/{r.h('content-length')}"
    return sha(r.body), r.h("x-ms-meta-gen") or "", r.h("etag"), r.h("x-ms-meta-digest"), None


def verify(port, container, ledger, context, settle=True, check_list=True):
    """The acknowledged-writes oracle; returns a list of violations (empty = good).  With settle,
    the observed state becomes the ledger's acknowledged state (for the next cycle)."""
    errors, observed = [], {}
    names = sorted(ledger.names())
    lock = threading.Lock()
    it = iter(names)

    def worker():
        cl = Client(port)
        try:
            while True:
                with lock:
                    name = next(it, None)
                if name is None:
                    return
                for attempt in range(3):
                    try:
                        got = read_state(cl, container, name)
                        break
                    except (OSError, http.client.HTTPException):
                        if attempt == 2:
                            raise
                        time.sleep(0.2)
                with lock:
                    observed[name] = got
        finally:
            cl.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in names:
        if name not in observed:
            errors.append(f"{name}: could not be read [{context}]")
            continue
        got_sha, got_tag, etag, digest, err = observed[name]
        if err:
            errors.append(f"{err} [{context}]")
            continue
        # Append blobs carry digest=append: their content changes without their metadata.
        if got_sha is not None and digest != got_sha[:16] and digest != APPEND_DIGEST:
            errors.append(f"{name}: metadata digest {digest} does not belong to content "
                          f"{got_sha[:16]} (mixed write) [{context}]")
            continue
        acked = ledger.acked.get(name)
        in_flight = (got_sha, got_tag) in ledger.maybe.get(name, ())
        if (got_sha, got_tag) == ledger.state(name):
            # An unacknowledged rewrite with the same content (say, another empty blob) may have
            # completed: then the ETag is new.  Otherwise it must be the acknowledged one.
            if acked is not None and acked[2] is not None and etag != acked[2] and not in_flight:
                errors.append(f"{name}: content ok but ETag {etag} != acknowledged {acked[2]} "
                              f"[{context}]")
            continue
        if (got_sha, got_tag) in ledger.maybe.get(name, ()):
            continue   # an unacknowledged write that completed entirely
        want = "absent" if acked is None or acked[0] is None else f"{acked[0][:12]}/{acked[1]!r}"
        errors.append(f"{name}: found {'absent' if got_sha is None else got_sha[:12]}/{got_tag!r}, "
                      f"acknowledged {want}, in flight "
                      f"{sorted((s[:12] if s else None, t) for s, t in ledger.maybe.get(name, ()))} "
                      f"[{context}]")
    if check_list and not errors:
        listed = Client(port).list_names(container)
        if len(listed) != len(set(listed)):
            errors.append(f"duplicate names in the listing [{context}]")
        present = {n for n, o in observed.items() if o[0] is not None}
        if set(listed) != present:
            errors.append(f"listing differs from reads [{context}]: only listed "
                          f"{sorted(set(listed) - present)[:5]}, only readable "
                          f"{sorted(present - set(listed))[:5]}")
    if settle and not errors:
        with ledger.lock:
            for name, (s, tag, etag, _, _) in observed.items():
                ledger.acked[name] = (s, tag, etag)
            ledger.maybe.clear()
    return errors


# ------------------------------------------------------------------------------------------------
# Workload
# ------------------------------------------------------------------------------------------------

SIZES = [0, 1, 100, 3000, 4 * KiB, 60 * KiB, 64 * KiB + 1, 200 * KiB, 700 * KiB]


class Workload:
    """Concurrent writers.  Each thread owns its names (t<tid>/<k>, k < names_per_thread), so at
    most one of its writes per name is in flight; ops: Put Blob (sizes above), block upload
    (2-4 Put Block + Put Block List), overwrite, Set Blob Metadata, Delete Blob, and on append
    blobs of their own (a<tid>/<k>, k < 4): Create Append Blob and Append Block.  A thread knows
    what its append blobs hold while every append was answered; after one that was not, it
    creates that blob afresh before appending to it again.

    stop_on_error: a thread stops at the first network error (the server died).  Otherwise
    (fault tests) a 5xx answer is checked to be a clean Azure error and counted; the thread goes
    on.  Every response that is neither 2xx nor a clean 500/503 is a violation."""

    def __init__(self, port, container, ledger, seed, threads=4, names_per_thread=40,
                 big=True, stop_on_error=True, max_ops=None):
        self.port, self.container, self.ledger = port, container, ledger
        self.seed, self.nthreads, self.npt = seed, threads, names_per_thread
        self.big, self.stop_on_error, self.max_ops = big, stop_on_error, max_ops
        self.stop = threading.Event()
        self.violations = []
        self.errors_5xx = 0
        self.net_errors = 0
        self.after_fail_ok = []   # (name, op) acknowledged after an earlier 5xx (fail-stop check)
        self.first_5xx = None
        self._lock = threading.Lock()
        self._threads = []

    def start(self):
        for tid in range(self.nthreads):
            t = threading.Thread(target=self._run, args=(tid,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def join(self, timeout=60, finish=False):
        """Stops the writers (or, with finish, lets each do its max_ops first) and waits."""
        if not finish:
            self.stop.set()
        for t in self._threads:
            t.join(timeout)
            assert not t.is_alive(), "writer thread hung"

    def run_for(self, seconds):
        self.start()
        time.sleep(seconds)
        self.join()

    def _answer(self, r, what):
        """True for a 2xx; records clean 5xx; records anything else as a violation."""
        if 200 <= r.status < 300:
            if self.first_5xx is not None:
                with self._lock:
                    self.after_fail_ok.append(what)
            return True
        err = clean_error(r)
        with self._lock:
            if err:
                self.violations.append(f"{what}: {err}")
            else:
                self.errors_5xx += 1
                if self.first_5xx is None:
                    self.first_5xx = (what, r.status, r.h("x-ms-error-code"))
        return False

    def _append(self, cl, rng, tid, held):
        """One append-blob op.  `held`: what each append blob of this thread holds, for those
        whose every op was answered; a name leaves it while its op is in flight."""
        c, L = self.container, self.ledger
        name = f"a{tid}/{rng.randrange(4)}"
        old = held.pop(name, None)
        if old is None or rng.random() < 0.05:
            st = (sha(b""), "")
            L.begin(name, st)
            r = cl.create_append_blob(c, name, {"digest": APPEND_DIGEST})
            if self._answer(r, f"create append blob {name}"):
                L.ack(name, st, r.h("etag"))
                held[name] = b""
            return
        block = rng.randbytes(rng.choice([1, 100, 3000, 64 * KiB + 1, 200 * KiB]))
        st = (sha(old + block), "")
        L.begin(name, st)
        r = cl.append_block(c, name, block)
        if self._answer(r, f"append block {name}"):
            L.ack(name, st, r.h("etag"))
            held[name] = old + block

    def _run(self, tid):
        rng = random.Random(self.seed * 1000 + tid)
        cl = Client(self.port, timeout=30)
        c, L = self.container, self.ledger
        ops = 0
        held = {}
        try:
            while not self.stop.is_set() and (self.max_ops is None or ops < self.max_ops):
                ops += 1
                name = f"t{tid}/{rng.randrange(self.npt):03d}"
                x = rng.random()
                try:
                    if x < 0.1:
                        self._append(cl, rng, tid, held)
                    elif x < 0.2:
                        sure_present = L.state(name)[0] is not None and not L.maybe.get(name)
                        L.begin(name, ABSENT)
                        r = cl.delete(c, name)
                        if r.status == 404 and sure_present:
                            with self._lock:
                                self.violations.append(f"delete {name}: 404 for an acknowledged blob")
                        elif r.status in (202, 404):
                            L.ack_delete(name)
                        else:
                            self._answer(r, f"delete {name}")
                    elif x < 0.33:
                        tag = f"g{rng.randrange(1 << 30)}"
                        cands = L.candidates(name)
                        if None in cands or len(cands) != 1:
                            continue   # absent, or which content is there is not known
                        digest = next(iter(cands))[:16]
                        L.begin_metadata(name, tag)
                        r = cl.set_metadata(c, name, {"gen": tag, "digest": digest})
                        if r.status == 200:
                            L.ack_metadata(name, tag, r.h("etag"))
                        elif r.status == 404 and L.state(name)[0] is not None:
                            with self._lock:
                                self.violations.append(f"set metadata {name}: 404 for an "
                                                       f"acknowledged blob")
                        elif r.status != 404:
                            self._answer(r, f"set metadata {name}")
                    elif x < 0.48 and self.big:
                        nblk = rng.randrange(2, 5)
                        blocks = [rng.randbytes(rng.choice([1, 5000, 64 * KiB, 150 * KiB, 300 * KiB]))
                                  for _ in range(nblk)]
                        data = b"".join(blocks)
                        st = (sha(data), "")
                        L.begin(name, st)
                        ids = [base64.b64encode(f"{ops:06d}-{i:04d}".encode()).decode()
                               for i in range(nblk)]
                        ok = True
                        for bid, blk in zip(ids, blocks):
                            r = cl.put_block(c, name, bid, blk)
                            if not self._answer(r, f"put block {name}"):
                                ok = False
                                break
                        if ok:
                            r = cl.put_block_list(c, name, ids, {"digest": st[0][:16]})
                            if self._answer(r, f"put block list {name}"):
                                L.ack(name, st, r.h("etag"))
                    else:
                        size = rng.choice(SIZES if self.big else SIZES[:7])
                        data = rng.randbytes(size)
                        st = (sha(data), "")
                        L.begin(name, st)
                        r = cl.put_blob(c, name, data, {"digest": st[0][:16]})
                        if self._answer(r, f"put {name} ({size} B)"):
                            L.ack(name, st, r.h("etag"))
                except (OSError, http.client.HTTPException):
                    with self._lock:
                        self.net_errors += 1
                    cl.close()
                    if self.stop_on_error:
                        return
                    time.sleep(0.05)
        finally:
            cl.close()


def setup_container(port, container, tries=50):
    cl = Client(port)
    for _ in range(tries):
        try:
            r = cl.create_container(container)
            assert r.status in (201, 409), r
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    raise AssertionError("could not create the container")


def copy_tree(src, dst):
    shutil.copytree(src, dst, symlinks=True)
