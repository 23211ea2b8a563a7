"""kill -9 under page writes (DESIGN invariants 1 and 2; store.h V2, meta.h M1; docs/storage.md,
"Page blobs").

Cycles of: writers, each owning a region of one page blob, Put Page (512 B to 64 KiB at random
aligned offsets of its region) and Clear Pages, logging what each acknowledged and the one write
it had in flight -> kill -9 at a random moment -> `cobalt fsck` (problems=0) -> restart -> every
page of every region reads as the last acknowledged write left it, except that the pages of the
write in flight may all hold its result instead (never part of it); Get Page Ranges agrees with
the reads.  Every fifth cycle takes a snapshot first, whose pages must never change afterwards,
and every tenth runs `cobalt compact` on the crashed state.  Short: 12 cycles; long
(COBALT_CRASH_LONG=1): 200.
"""
import hashlib
import random
import re
import threading
import time

from crashlib import LONG, Client, CobaltServer, compact, fsck, setup_container

CYCLES = 200 if LONG else 12
PAGE = 512
WRITERS = 4
REGION = 256          # pages per writer
SIZE = WRITERS * REGION * PAGE


def _content(seq, pages):
    out = b""
    for i in range(pages):
        out += hashlib.sha256(f"{seq}:{i}".encode()).digest() * (PAGE // 32)
    return out


class Writer(threading.Thread):
    """Writes into pages [base, base + REGION) until stopped or the connection dies."""

    def __init__(self, port, idx, model, rng, stop):
        super().__init__(daemon=True)
        self.cl, self.idx, self.model, self.rng, self.stop = Client(port), idx, model, rng, stop
        self.pending = None     # (first page, pages, seq or None for a clear)
        self.acks = 0

    def run(self):
        base = self.idx * REGION
        while not self.stop.is_set():
            first = base + self.rng.randrange(REGION)
            pages = 1 + self.rng.randrange(min(128, base + REGION - first))
            seq = None if self.rng.random() < 0.2 else self.rng.randrange(1 << 40)
            rng_h = f"bytes={first * PAGE}-{(first + pages) * PAGE - 1}"
            self.pending = (first, pages, seq)
            try:
                r = self.cl.request("PUT", "/pages/disk", {"comp": "page"},
                                    headers={"x-ms-page-write": "clear" if seq is None else "update",
                                             "x-ms-range": rng_h},
                                    body=b"" if seq is None else _content(seq, pages))
            except Exception:
                return                                   # killed: the write stays pending
            if r.status != 201:
                assert r.status >= 500, r               # a clean refusal of a dying server
                return
            for i in range(pages):
                self.model[first + i] = None if seq is None else (seq, i)
            self.pending = None
            self.acks += 1


def _page(model_entry):
    if model_entry is None:
        return bytes(PAGE)
    seq, i = model_entry
    return hashlib.sha256(f"{seq}:{i}".encode()).digest() * (PAGE // 32)


def test_kill9_under_page_writes(tmp_path, seed):
    rng = random.Random(seed)
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log",
                       args=["--volume-size", str(2 << 20), "--compact-threshold", "0.2"])
    srv.start()
    setup_container(srv.port, "pages")
    cl = Client(srv.port)
    r = cl.request("PUT", "/pages/disk", headers={"x-ms-blob-type": "PageBlob",
                                                  "x-ms-blob-content-length": str(SIZE)})
    assert r.status == 201, r
    model = [None] * (WRITERS * REGION)
    snaps = []            # (snapshot id, the pages it holds)
    acks = 0
    for cycle in range(CYCLES):
        if cycle % 5 == 4:
            r = Client(srv.port).request("PUT", "/pages/disk", {"comp": "snapshot"})
            assert r.status == 201, r
            snaps.append((r.h("x-ms-snapshot"), list(model)))
        stop = threading.Event()
        ws = [Writer(srv.port, i, model, random.Random(rng.randrange(1 << 30)), stop)
              for i in range(WRITERS)]
        for w in ws:
            w.start()
        time.sleep(rng.uniform(0.2, 1.0))
        srv.kill9()
        stop.set()
        for w in ws:
            w.join()
            acks += w.acks
        problems, out = fsck(srv.data_dir)
        assert problems == 0, f"cycle {cycle} (seed {seed}): fsck after kill -9:\n{out[-4000:]}"
        if cycle % 10 == 9:
            compact(srv.data_dir)
            problems, out = fsck(srv.data_dir)
            assert problems == 0, f"cycle {cycle}: fsck after cobalt compact:\n{out[-4000:]}"
        srv.start()
        cl = Client(srv.port)
        got = cl.request("GET", "/pages/disk")
        assert got.status == 200 and len(got.body) == SIZE, got
        for w in ws:
            if w.pending is not None:
                first, pages, seq = w.pending
                now = [got.body[(first + i) * PAGE:(first + i + 1) * PAGE] for i in range(pages)]
                new = [bytes(PAGE) if seq is None else _page((seq, i)) for i in range(pages)]
                if now == new:                           # it landed whole: the model follows
                    for i in range(pages):
                        model[first + i] = None if seq is None else (seq, i)
        for pg in range(WRITERS * REGION):
            assert got.body[pg * PAGE:(pg + 1) * PAGE] == _page(model[pg]), \
                f"cycle {cycle} (seed {seed}): page {pg} is neither acknowledged nor whole"
        ranges = cl.request("GET", "/pages/disk", {"comp": "pagelist"})
        written = set()
        for s, e in re.findall(rb"<PageRange><Start>(\d+)</Start><End>(\d+)</End>", ranges.body):
            written.update(range(int(s) // PAGE, (int(e) + 1) // PAGE))
        assert written == {pg for pg in range(WRITERS * REGION) if model[pg] is not None}
        for sid, pages in snaps:
            s = cl.request("GET", "/pages/disk", {"snapshot": sid})
            assert s.status == 200 and s.body == b"".join(_page(p) for p in pages), \
                f"cycle {cycle}: snapshot {sid} changed"
    print(f"kill -9 under page writes: {CYCLES} cycles, {acks} acknowledged writes, "
          f"{len(snaps)} snapshots, 0 violations")
    assert acks > CYCLES * 5, "too few writes were acknowledged to mean anything"
    assert srv.stop() == 0
    problems, out = fsck(srv.data_dir)
    assert problems == 0, out[-4000:]


def test_kill9_during_page_copies(tmp_path, seed):
    """kill -9 while Copy Blob copies a page blob's pages into another blob: after the restart the
    destination is absent, a whole copy with status success, or a copy the start-up marked
    failed (C3) -- never pending, never a success with part of the pages -- and the source is
    intact; fsck finds nothing wrong."""
    rng = random.Random(seed)
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log")
    srv.start()
    setup_container(srv.port, "pages")
    cl = Client(srv.port)
    size, run = 64 << 20, 4 << 20
    r = cl.request("PUT", "/pages/src", headers={"x-ms-blob-type": "PageBlob",
                                                 "x-ms-blob-content-length": str(size)})
    assert r.status == 201, r
    for i in range(0, size, 2 * run):                       # every other 4 MiB run written
        r = cl.request("PUT", "/pages/src", {"comp": "page"},
                       headers={"x-ms-page-write": "update",
                                "x-ms-range": f"bytes={i}-{i + run - 1}"},
                       body=_content(i, run // PAGE))
        assert r.status == 201, r
    src = cl.request("GET", "/pages/src").body
    outcomes = {}
    for cycle in range(4 if not LONG else 40):
        name = f"/pages/copy{cycle}"
        t = threading.Thread(target=lambda: _try(Client(srv.port).request, "PUT", name,
                                                 headers={"x-ms-copy-source":
                                                          f"http://127.0.0.1:{srv.port}"
                                                          f"/devstoreaccount1/pages/src"}),
                             daemon=True)
        t.start()
        time.sleep(rng.uniform(0.0, 0.4))
        srv.kill9()
        t.join()
        problems, out = fsck(srv.data_dir)
        assert problems == 0, f"cycle {cycle} (seed {seed}): fsck after kill -9:\n{out[-4000:]}"
        srv.start()
        cl = Client(srv.port)
        got = cl.request("GET", name)
        if got.status == 404:
            outcome = "absent"
        else:
            status = got.h("x-ms-copy-status")
            assert status in ("success", "failed"), f"cycle {cycle}: copy left {status}"
            if status == "success":
                assert got.body == src, f"cycle {cycle}: a successful copy differs from its source"
            outcome = status
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        assert cl.request("GET", "/pages/src").body == src, f"cycle {cycle}: the source changed"
    print(f"kill -9 during page copies: {outcomes}")
    assert srv.stop() == 0
    problems, out = fsck(srv.data_dir)
    assert problems == 0, out[-4000:]


def _try(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except Exception:  # the server was killed under it
        pass
