"""Copies of page blobs (protocol doc §2.4, §2.6): Copy Blob of a page blob into another blob and
onto itself (a snapshot restored), Put Blob From URL of a page blob (a block blob of its bytes),
and Incremental Copy Blob with its snapshots, diffs and the read-only destination -- with the
Python SDK, and raw requests for what the SDK will not send.  A copy into another blob is
asynchronous, as Azure's: `pending`, then `success` once the pool has copied the pages."""
import os
import time

from azure.storage.blob import BlobType

from cobalt_testlib import assert_error_response, expect_error, unique_name

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


def _ranges(bc, **kw):
    pages, clears = bc.get_page_ranges(**kw)
    return [(p["start"], p["end"]) for p in pages], [(c["start"], c["end"]) for c in clears]


def _wait(bc, timeout=60):
    """The destination's properties once its copy is no longer pending."""
    deadline = time.monotonic() + timeout
    while True:
        p = bc.get_blob_properties()
        if p.copy.status != "pending":
            return p
        assert time.monotonic() < deadline, f"copy still pending after {timeout} s"
        time.sleep(0.05)


def _sparse_source(container, name, size=16 * MiB):
    """A page blob with a few written runs, one partly cleared; its expected content.  At 16 MiB:
    [0, 4 KiB), [5 MiB, 11 MiB) but a 64 KiB clear at 6 MiB, and the last page."""
    bc = container.get_blob_client(name)
    bc.create_page_blob(size, metadata={"disk": "os"}, sequence_number=42)
    big = size >= 16 * MiB
    mid, n = (5 * MiB, 6 * MiB) if big else (size // 4, size // 4)
    clear = (6 * MiB, 64 * KiB) if big else (mid + n // 2, 4 * KiB)
    want = bytearray(size)
    for off, n in ((0, 4 * KiB), (mid, n), (size - 512, 512)):
        data = os.urandom(n)
        for at in range(0, n, 4 * MiB):
            piece = data[at:at + 4 * MiB]
            bc.upload_page(piece, offset=off + at, length=len(piece))
        want[off:off + n] = data
    bc.clear_page(offset=clear[0], length=clear[1])
    want[clear[0]:clear[0] + clear[1]] = bytes(clear[1])
    return bc, want


def test_copy_page_blob_into_another_blob(service, container):
    src, want = _sparse_source(container, "disk.vhd")
    other = service.create_container(unique_name("pcopy"))
    try:
        dst = other.get_blob_client("copy.vhd")
        r = dst.start_copy_from_url(src.url)
        assert r["copy_status"] in ("pending", "success")
        p = _wait(dst)
        assert p.copy.id == r["copy_id"]
        assert p.blob_type == BlobType.PAGEBLOB and p.size == len(want)
        assert p.page_blob_sequence_number == 42 and p.metadata == {"disk": "os"}
        assert p.copy.status == "success" and p.copy.progress == f"{len(want)}/{len(want)}"
        assert p.copy.source == src.url
        assert dst.download_blob().readall() == bytes(want)
        # Sparse: the copy holds the written ranges only, as the source does.
        assert _ranges(dst) == _ranges(src)
        assert _ranges(dst)[0] == [(0, 4 * KiB - 1), (5 * MiB, 6 * MiB - 1),
                                   (6 * MiB + 64 * KiB, 11 * MiB - 1),
                                   (len(want) - 512, len(want) - 1)]
        # The two blobs are independent from here on.
        dst.upload_page(b"d" * 512, offset=0, length=512)
        src.upload_page(b"s" * 512, offset=512, length=512)
        assert dst.download_blob(offset=0, length=1024).readall() == b"d" * 512 + bytes(want[512:1024])
        assert src.download_blob(offset=0, length=1024).readall() == bytes(want[:512]) + b"s" * 512
    finally:
        other.delete_container()


def test_copy_page_blob_over_a_bigger_page_blob(container):
    src, want = _sparse_source(container, "small", size=8 * MiB)
    dst = container.get_blob_client("big")
    dst.create_page_blob(64 * MiB)
    dst.upload_page(os.urandom(4 * MiB), offset=32 * MiB, length=4 * MiB)
    dst.create_snapshot()
    dst.start_copy_from_url(src.url)
    assert _wait(dst).copy.status == "success"
    assert dst.get_blob_properties().size == 8 * MiB
    assert dst.download_blob().readall() == bytes(want)
    dst.resize_blob(64 * MiB)  # the old pages do not come back
    assert dst.download_blob(offset=32 * MiB, length=4 * MiB).readall() == bytes(4 * MiB)


def test_restore_a_snapshot_over_its_blob(container):
    """A snapshot copied onto its own blob shares its pages: the diff against it is empty."""
    bc, want = _sparse_source(container, "vm.vhd")
    assert bc.start_copy_from_url(bc.url)["copy_status"] == "success"  # onto itself
    assert bc.download_blob().readall() == bytes(want)
    snap = bc.create_snapshot()["snapshot"]
    bc.upload_page(os.urandom(4 * MiB), offset=8 * MiB, length=4 * MiB)
    bc.resize_blob(32 * MiB)
    snap_url = f"{bc.url}?snapshot={snap}"
    assert bc.start_copy_from_url(snap_url)["copy_status"] == "success"
    p = bc.get_blob_properties()
    assert p.size == len(want) and p.copy.status == "success"
    assert bc.download_blob().readall() == bytes(want)
    assert _ranges(bc, previous_snapshot_diff=snap) == ([], [])
    # Writes after the restore touch the blob only, not the snapshot.
    bc.upload_page(b"n" * 512, offset=0, length=512)
    assert _ranges(bc, previous_snapshot_diff=snap) == ([(0, 511)], [])
    snapshot = container.get_blob_client("vm.vhd", snapshot=snap)
    assert snapshot.download_blob().readall() == bytes(want)


def test_put_blob_from_url_of_a_page_blob(container):
    src, want = _sparse_source(container, "pb", size=4 * MiB + 8 * KiB)
    dst = container.get_blob_client("as-block")
    r = dst.upload_blob_from_url(src.url, overwrite=True)
    assert r["content_md5"] is not None
    p = dst.get_blob_properties()
    assert p.blob_type == BlobType.BLOCKBLOB and p.size == len(want)
    assert dst.download_blob().readall() == bytes(want)


def test_copy_page_blob_source_conditions_and_sync_copy(container, raw):
    src, _ = _sparse_source(container, "cond", size=1 * MiB)
    dst = container.get_blob_client("cond-dst")
    r = raw.request("PUT", f"/{container.container_name}/cond-dst",
                    headers={"x-ms-copy-source": src.url, "x-ms-source-if-match": '"0x1"'})
    assert_error_response(r, 412, "SourceConditionNotMet")
    # Copy Blob From URL (synchronous) takes block blobs.
    r = raw.request("PUT", f"/{container.container_name}/cond-dst",
                    headers={"x-ms-copy-source": src.url, "x-ms-requires-sync": "true"})
    assert_error_response(r, 409, "InvalidSourceBlobType")
    assert not dst.exists()


def test_abort_of_a_page_copy(container):
    """Abort Copy of a page copy: aborted while pending (the pool stops at its next write), 409
    once done; a destination aborted is no longer pending and can be copied again."""
    src, want = _sparse_source(container, "ab", size=64 * MiB)
    dst = container.get_blob_client("ab-dst")
    r = dst.start_copy_from_url(src.url)
    try:
        dst.abort_copy(r["copy_id"])
        assert _wait(dst).copy.status == "aborted"
    except Exception as e:  # the copy was done before the abort came
        assert getattr(e, "error_code", None) == "NoPendingCopyOperation", e
    r = dst.start_copy_from_url(src.url)
    assert _wait(dst).copy.status == "success"
    assert dst.download_blob().readall() == bytes(want)
    expect_error(lambda: dst.abort_copy(r["copy_id"]), 409, "NoPendingCopyOperation")


def test_page_copy_of_a_source_written_meanwhile(container):
    """A page blob written to while its copy runs: the copy ends failed, saying why -- or, if it
    was done before the write, success with the content from before it, never a mix."""
    src, want = _sparse_source(container, "busy", size=64 * MiB)
    dst = container.get_blob_client("busy-dst")
    dst.start_copy_from_url(src.url)
    src.upload_page(b"w" * 512, offset=0, length=512)
    p = _wait(dst)
    assert p.copy.status in ("failed", "success"), p.copy.status
    if p.copy.status == "failed":
        assert "source changed" in p.copy.status_description
    else:
        assert dst.download_blob().readall() == bytes(want)


# ---- Incremental Copy Blob ------------------------------------------------------------------------


def _incremental(dst, src, snap):
    """Incremental Copy Blob through the SDK's generated client (its start_copy_from_url with
    incremental_copy=True passes an argument its transport refuses); waits for it to end."""
    r = dst._client.page_blob.copy_incremental(  # pylint: disable=protected-access
        copy_source=f"{src.url}?snapshot={snap}",
        cls=lambda resp, body, headers: {"copy_id": headers["x-ms-copy-id"],
                                         "copy_status": headers["x-ms-copy-status"]})
    assert r["copy_status"] in ("pending", "success")
    r["copy_status"] = _wait(dst).copy.status
    return r


def test_incremental_copy_first_and_next(service, container, raw):
    src, want = _sparse_source(container, "disk")
    s1 = src.create_snapshot()["snapshot"]
    backups = service.create_container(unique_name("backup"))
    try:
        dst = backups.get_blob_client("disk-backup")
        r = _incremental(dst, src, s1)
        assert r["copy_status"] == "success" and r["copy_id"]
        p = dst.get_blob_properties()
        assert p.blob_type == BlobType.PAGEBLOB and p.size == len(want)
        assert p.copy.incremental_copy is True and p.copy.status == "success"
        d1 = p.copy.destination_snapshot
        assert d1 and p.copy.source.endswith(f"?snapshot={s1}")
        h = raw.head_blob(backups.container_name, "disk-backup")
        assert h.header("x-ms-incremental-copy") == "true"
        assert h.header("x-ms-copy-destination-snapshot") == d1
        b1 = backups.get_blob_client("disk-backup", snapshot=d1)
        assert b1.download_blob().readall() == bytes(want)
        assert _ranges(b1) == _ranges(container.get_blob_client("disk", snapshot=s1))

        # Change the source: new pages, a clear over written pages, growth; then the next copy.
        new = os.urandom(8 * KiB)
        src.upload_page(new, offset=1 * MiB, length=len(new))
        src.clear_page(offset=5 * MiB, length=1 * MiB)
        src.resize_blob(20 * MiB)
        want2 = bytearray(want) + bytearray(4 * MiB)
        want2[1 * MiB:1 * MiB + len(new)] = new
        want2[5 * MiB:6 * MiB] = bytes(1 * MiB)
        s2 = src.create_snapshot()["snapshot"]
        assert _incremental(dst, src, s2)["copy_status"] == "success"
        p = dst.get_blob_properties()
        d2 = p.copy.destination_snapshot
        assert d2 > d1 and p.size == 20 * MiB
        b2 = backups.get_blob_client("disk-backup", snapshot=d2)
        assert b2.download_blob().readall() == bytes(want2)
        assert b1.download_blob().readall() == bytes(want)  # the first backup is unchanged
        # Only the difference was copied: the destination's own diff says so.
        pages, clears = _ranges(b2, previous_snapshot_diff=d1)
        assert pages == [(1 * MiB, 1 * MiB + len(new) - 1)]
        assert clears == [(5 * MiB, 6 * MiB - 1)]

        # Listings show both snapshots as incremental copies.
        items = {x.snapshot: x for x in backups.list_blobs(include=["snapshots", "copy"])}
        assert set(items) == {d1, d2, None}
        assert all(x.copy.incremental_copy for x in items.values())
        assert items[None].copy.destination_snapshot == d2
    finally:
        backups.delete_container()


def test_incremental_copy_source_shrinks(container):
    src, want = _sparse_source(container, "shrink")
    s1 = src.create_snapshot()["snapshot"]
    dst = container.get_blob_client("shrink-copy")
    _incremental(dst, src, s1)
    src.resize_blob(4 * MiB)
    src.resize_blob(16 * MiB)  # the pages past 4 MiB are gone, not back
    s2 = src.create_snapshot()["snapshot"]
    _incremental(dst, src, s2)
    d2 = dst.get_blob_properties().copy.destination_snapshot
    got = container.get_blob_client("shrink-copy", snapshot=d2).download_blob().readall()
    assert got == bytes(want[:4 * MiB]) + bytes(12 * MiB)


def test_incremental_copy_after_the_source_was_replaced(container):
    """Snapshots that share no layers (the source re-created between them): a whole copy."""
    src, _ = _sparse_source(container, "replaced", size=4 * MiB)
    s1 = src.create_snapshot()["snapshot"]
    dst = container.get_blob_client("replaced-copy")
    _incremental(dst, src, s1)
    src.create_page_blob(2 * MiB)  # Put Blob over it: new content
    data = os.urandom(512)
    src.upload_page(data, offset=1024, length=512)
    s2 = src.create_snapshot()["snapshot"]
    _incremental(dst, src, s2)
    d2 = dst.get_blob_properties().copy.destination_snapshot
    got = container.get_blob_client("replaced-copy", snapshot=d2).download_blob().readall()
    assert got == bytes(1024) + data + bytes(2 * MiB - 1536)


def test_incremental_copy_refusals(container, raw):
    cname = container.container_name
    src, _ = _sparse_source(container, "rsrc", size=1 * MiB)
    s1 = src.create_snapshot()["snapshot"]
    s2 = src.create_snapshot()["snapshot"]

    def incr(dst, url, **h):
        return raw.request("PUT", f"/{cname}/{dst}", query={"comp": "incrementalcopy"},
                           headers={"x-ms-copy-source": url, **h})

    assert_error_response(incr("r1", src.url), 409, "IncrementalCopySourceMustBeSnapshot")
    block = container.get_blob_client("block")
    block.upload_blob(b"x" * 1000)
    bs = block.create_snapshot()["snapshot"]
    assert_error_response(incr("r1", f"{block.url}?snapshot={bs}"), 409, "InvalidSourceBlobType")
    assert_error_response(incr("r1", f"{src.url}?snapshot=2020-01-01T00:00:00.0000000Z"), 404,
                          "CannotVerifyCopySource")
    assert_error_response(incr("r1", f"http://example.invalid/a/b/c?snapshot={s1}"), 400,
                          "CopyAcrossAccountsNotSupported")
    assert incr("r1", f"{src.url}?snapshot={s2}").status == 202
    _wait(container.get_blob_client("r1"))
    assert_error_response(incr("r1", f"{src.url}?snapshot={s2}"), 409,
                          "IncrementalCopyOfEarlierVersionSnapshotNotAllowed")
    assert_error_response(incr("r1", f"{src.url}?snapshot={s1}"), 409,
                          "IncrementalCopyOfEarlierVersionSnapshotNotAllowed")
    other = container.get_blob_client("other")
    other.create_page_blob(512)
    os_ = other.create_snapshot()["snapshot"]
    assert_error_response(incr("r1", f"{other.url}?snapshot={os_}"), 409,
                          "IncrementalCopyBlobMismatch")
    # An existing blob that is not an incremental copy cannot become one.
    assert_error_response(incr("block", f"{src.url}?snapshot={s1}"), 409,
                          "IncrementalCopyBlobMismatch")
    # The destination takes no writes but incremental copies...
    dst = container.get_blob_client("r1")
    expect_error(lambda: dst.upload_page(b"x" * 512, offset=0, length=512), 409,
                 "OperationNotAllowedOnIncrementalCopyBlob")
    expect_error(lambda: dst.set_blob_metadata({"a": "b"}), 409,
                 "OperationNotAllowedOnIncrementalCopyBlob")
    expect_error(lambda: dst.resize_blob(4096), 409, "OperationNotAllowedOnIncrementalCopyBlob")
    expect_error(lambda: dst.create_snapshot(), 409, "OperationNotAllowedOnIncrementalCopyBlob")
    expect_error(lambda: dst.upload_blob(b"over", overwrite=True), 409,
                 "OperationNotAllowedOnIncrementalCopyBlob")
    expect_error(lambda: dst.start_copy_from_url(src.url), 409,
                 "OperationNotAllowedOnIncrementalCopyBlob")
    # ...and is deleted with its snapshots.
    dst.delete_blob(delete_snapshots="include")
    assert not dst.exists()
    assert incr("r1", f"{src.url}?snapshot={s1}").status == 202  # a new one may start again
    assert _wait(dst).copy.status == "success"
