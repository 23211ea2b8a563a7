"""Bit rot (issue 5 §2.8; DESIGN invariant 5, needle.h).

Blobs of many sizes (one byte to a 6 MiB single needle, and 6 MiB block blobs, whose reads stream
past the 4 MiB verify-before-status limit) are written and the server stopped.  The test walks the
volume files itself (needle.h layout), finds the needles of the blobs, and flips random bits at
random offsets inside chosen live needles: in the data, a chunk CRC, the header or the trailer's
final CRC.  After a restart:
  - every read of a blob whose data or chunk CRCs were hit is an error (status >= 500, or a body cut
    short): never a 200 with wrong bytes.  A blob whose header or final trailer CRC was hit may
    read fine (its data is intact) but must never return wrong bytes either;
  - every undamaged blob reads back exactly;
  - `cobalt fsck` names every damaged blob; the background scrub logs every one of them.
"""
import base64
import random
import re
import struct
import time

from crashlib import KiB, MiB, Client, CobaltServer, free_port, fsck, setup_container, sha
from cobalt_testlib import scrape_metrics  # noqa: E402 (crashlib puts it on the path)

HDR = 32
CHUNK = 64 * KiB


def _needles(vol_dir):
    """{sha256 of data: (path, offset, length)} for every well-formed needle in every volume."""
    found = {}
    for path in sorted(vol_dir.glob("*.vol")):
        buf = path.read_bytes()
        off = 0
        while off + HDR <= len(buf) and buf[off:off + 4] == b"CBN1":
            length = struct.unpack_from("<Q", buf, off + 16)[0]
            chunks = (length + CHUNK - 1) // CHUNK
            size = HDR + length + 4 * chunks + 4
            found[sha(buf[off + HDR:off + HDR + length])] = (path, off, length)
            off += size
    return found


def _flip(path, pos, rng):
    with open(path, "r+b") as f:
        f.seek(pos)
        b = f.read(1)[0]
        for bit in rng.sample(range(8), rng.choice([1, 1, 1, 2, 3])):   # distinct bits
            b ^= 1 << bit
        f.seek(pos)
        f.write(bytes([b]))


def test_bit_rot_detected(tmp_path, seed):
    rng = random.Random(seed)
    mport = free_port()
    args = ["--scrub-interval", "1", "--scrub-rate", "1000", "--metrics-port", str(mport)]
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", args=args)
    srv.start()
    setup_container(srv.port, "bitrot")
    cl = Client(srv.port)
    blobs = {}   # name -> list of block payloads
    sizes = [1, 100, 5000, 64 * KiB, 64 * KiB + 1, 200 * KiB, 1 * MiB, 6 * MiB]
    for i in range(48):
        data = rng.randbytes(sizes[i % len(sizes)])
        r = cl.put_blob("bitrot", f"single{i:02d}", data, {"digest": sha(data)[:16]})
        assert r.status == 201, r
        blobs[f"single{i:02d}"] = [data]
    for i in range(4):
        parts = [rng.randbytes(2 * MiB) for _ in range(3)]
        ids = [base64.b64encode(f"blk{k:04d}".encode()).decode() for k in range(3)]
        for bid, p in zip(ids, parts):
            assert cl.put_block("bitrot", f"multi{i}", bid, p).status == 201
        r = cl.put_block_list("bitrot", f"multi{i}", ids, {"digest": sha(b"".join(parts))[:16]})
        assert r.status == 201, r
        blobs[f"multi{i}"] = parts
    cl.close()
    assert srv.stop() == 0

    needles = _needles(tmp_path / "data" / "volumes")
    owner = {}
    for name, parts in blobs.items():
        for p in parts:
            assert sha(p) in needles, f"no needle found for {name}"
            owner[sha(p)] = name
    strict, any_damage = set(), set()
    damaged_needles = rng.sample(sorted(owner), 18)
    for h in damaged_needles:
        path, off, length = needles[h]
        chunks = (length + CHUNK - 1) // CHUNK
        region = rng.choices(["data", "crc", "header", "final"], [60, 15, 15, 10])[0]
        if region == "data":
            pos = off + HDR + rng.randrange(length)
        elif region == "crc":
            pos = off + HDR + length + 4 * rng.randrange(chunks)
        elif region == "header":
            pos = off + rng.randrange(HDR)
        else:
            pos = off + HDR + length + 4 * chunks + rng.randrange(4)
        _flip(path, pos, rng)
        any_damage.add(owner[h])
        if region in ("data", "crc"):
            strict.add(owner[h])
    print(f"bit rot: {len(any_damage)} blobs damaged ({len(strict)} in data or chunk CRCs) "
          f"out of {len(blobs)}")

    srv.start()
    cl = Client(srv.port)
    violations = []
    for name, parts in sorted(blobs.items()):
        want = sha(b"".join(parts))
        try:
            r = cl.get("bitrot", name)
            status, body, complete = r.status, r.body, r.complete
        except OSError:
            status, body, complete = 0, b"", False   # connection cut: an error, detected
            cl.close()
        ok = status == 200 and complete and len(body) == sum(map(len, parts))
        if ok and sha(body) != want:
            violations.append(f"{name}: 200 with wrong bytes")
        elif ok and name in strict:
            violations.append(f"{name}: damaged data or CRC read back as a clean 200")
        elif not ok and name not in any_damage:
            violations.append(f"{name}: undamaged blob failed to read ({status})")
        elif not ok and 200 <= status < 500 and complete:
            violations.append(f"{name}: damage answered with {status}")
    cl.close()
    assert not violations, "\n".join(violations)

    problems, out = fsck(srv.data_dir)   # read-only, next to the live server
    missing = [n for n in any_damage if not re.search(rf"blob \d+/{n}\b", out)]
    assert problems >= len(any_damage) and not missing, \
        f"fsck missed damaged blobs {missing} (problems={problems}):\n{out[-3000:]}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log = srv.log_text()
        missing = [n for n in any_damage if not re.search(rf"scrub: blob \d+/{n}:", log)]
        if not missing:
            break
        time.sleep(0.5)
    assert not missing, f"the scrub did not log {missing}:\n{srv.log_tail()}"
    # ... and counts them: a completed pass found exactly the damaged needles.
    while True:
        m = scrape_metrics(mport)
        if m["cobalt_scrub_passes_total"] >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert m["cobalt_scrub_passes_total"] >= 1, m
    assert m["cobalt_scrub_last_pass_damaged"] == len(damaged_needles), m
    assert m["cobalt_scrub_damaged_total"] >= len(damaged_needles), m
    assert m["cobalt_scrub_needles_total"] >= len(needles), m
    assert m["cobalt_scrub_last_pass_end_time_seconds"] > time.time() - 120, m
    assert srv.stop() == 0
