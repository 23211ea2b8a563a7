"""Page blobs (protocol doc §2.6, §4.5, §5.2-5.4): Create (Put Blob with x-ms-blob-type: PageBlob),
Put Page (update and clear), Get Blob on a sparse blob, Get Page Ranges (with paging and the diff
against a snapshot), Resize, Set Sequence Number -- with the Python SDK's page blob API, and raw
requests for the failure paths the SDK will not send."""
import glob
import os
import re

import pytest
from azure.storage.blob import BlobType, ContentSettings, RetentionPolicy, SequenceNumberAction

from cobalt_testlib import CobaltServer, assert_error_response, expect_error, md5_b64, run_cli

KiB = 1024
MiB = 1024 * KiB
TiB = 1024 * 1024 * MiB


def _ranges(bc, **kw):
    pages, clears = bc.get_page_ranges(**kw)
    return [(p["start"], p["end"]) for p in pages], [(c["start"], c["end"]) for c in clears]


def _put_page(raw, cname, name, start, data, headers=None):
    h = {"x-ms-page-write": "update", "x-ms-range": f"bytes={start}-{start + len(data) - 1}"}
    h.update(headers or {})
    return raw.request("PUT", f"/{cname}/{name}", query={"comp": "page"}, headers=h, body=data)


def test_create_write_read_sparse(container, raw):
    bc = container.get_blob_client("disk.vhd")
    created = bc.create_page_blob(4 * MiB, metadata={"k": "v"}, sequence_number=7)
    assert created["etag"]
    p = bc.get_blob_properties()
    assert p.blob_type == BlobType.PAGEBLOB and p.size == 4 * MiB
    assert p.page_blob_sequence_number == 7 and p.metadata == {"k": "v"}
    assert bc.download_blob().readall() == bytes(4 * MiB)          # unwritten pages are zeros
    a, b = os.urandom(1024), os.urandom(512)
    r = bc.upload_page(a, offset=512, length=1024)
    assert r["etag"] != created["etag"] and r["blob_sequence_number"] == 7
    bc.upload_page(b, offset=3 * MiB, length=512)
    want = bytearray(4 * MiB)
    want[512:1536] = a
    want[3 * MiB:3 * MiB + 512] = b
    assert bc.download_blob().readall() == bytes(want)
    assert bc.download_blob(offset=1000, length=3 * MiB).readall() == bytes(want[1000:1000 + 3 * MiB])
    assert _ranges(bc) == ([(512, 1535), (3 * MiB, 3 * MiB + 511)], [])
    h = raw.head_blob(container.container_name, "disk.vhd")
    assert h.header("x-ms-blob-type") == "PageBlob"
    assert h.header("x-ms-blob-sequence-number") == "7"
    assert h.header("Content-Length") == str(4 * MiB)
    [item] = [x for x in container.list_blobs() if x.name == "disk.vhd"]
    assert item.blob_type == BlobType.PAGEBLOB and item.size == 4 * MiB
    assert item.page_blob_sequence_number == 7


def test_overwrite_and_adjacent_ranges_coalesce(container):
    bc = container.get_blob_client("p")
    bc.create_page_blob(64 * KiB)
    x, y, z = os.urandom(4096), os.urandom(2048), os.urandom(512)
    bc.upload_page(x, offset=0, length=4096)
    bc.upload_page(y, offset=1024, length=2048)      # inside an earlier write
    bc.upload_page(z, offset=4096, length=512)       # adjacent: one range
    want = bytearray(64 * KiB)
    want[0:4096] = x
    want[1024:3072] = y
    want[4096:4608] = z
    assert bc.download_blob().readall() == bytes(want)
    assert _ranges(bc) == ([(0, 4607)], [])
    assert _ranges(bc, offset=1024, length=1024) == ([(1024, 2047)], [])


def test_clear_pages(container):
    bc = container.get_blob_client("c")
    bc.create_page_blob(16 * KiB)
    data = os.urandom(8 * KiB)
    bc.upload_page(data, offset=0, length=8 * KiB)
    r = bc.clear_page(offset=1024, length=2048)
    assert r["etag"]
    want = bytearray(16 * KiB)
    want[0:8 * KiB] = data
    want[1024:3072] = bytes(2048)
    assert bc.download_blob().readall() == bytes(want)
    assert _ranges(bc) == ([(0, 1023), (3072, 8191)], [])
    bc.clear_page(offset=0, length=16 * KiB)
    assert _ranges(bc) == ([], [])
    assert bc.download_blob().readall() == bytes(16 * KiB)


def test_clear_whole_blob_and_resize_to_zero(container):
    """Clearing a whole page blob, or resizing it to 0, gives it a new page map layer in place of
    its old one (a commit of the same cost however many ranges it held): zeros, no ranges, its
    snapshot untouched, the diff against the snapshot one cleared range, and writable again."""
    bc = container.get_blob_client("w")
    bc.create_page_blob(64 * KiB)
    pages = {i * 2048: os.urandom(512) for i in range(32)}
    for off, d in pages.items():
        bc.upload_page(d, offset=off, length=512)
    bc.clear_page(offset=0, length=64 * KiB)           # no snapshot: one layer, swapped
    assert bc.download_blob().readall() == bytes(64 * KiB)
    assert _ranges(bc) == ([], [])
    for off, d in pages.items():
        bc.upload_page(d, offset=off, length=512)
    snap = bc.create_snapshot()["snapshot"]
    bc.upload_page(os.urandom(512), offset=512, length=512)
    bc.clear_page(offset=0, length=64 * KiB)           # over the snapshot's layer: zeros hide it
    assert bc.download_blob().readall() == bytes(64 * KiB)
    assert _ranges(bc) == ([], [])
    assert _ranges(bc, previous_snapshot_diff=snap) == ([], [(0, 64 * KiB - 1)])
    sc = container.get_blob_client("w", snapshot=snap)
    want = bytearray(64 * KiB)
    for off, d in pages.items():
        want[off:off + 512] = d
    assert sc.download_blob().readall() == bytes(want)
    x = os.urandom(1024)
    bc.upload_page(x, offset=4096, length=1024)
    assert _ranges(bc) == ([(4096, 5119)], [])
    assert bc.download_blob(offset=4096, length=1024).readall() == x
    bc.resize_blob(0)                                  # the whole blob again
    assert bc.get_blob_properties().size == 0
    bc.resize_blob(64 * KiB)
    assert bc.download_blob().readall() == bytes(64 * KiB)
    assert _ranges(bc) == ([], [])
    assert sc.download_blob().readall() == bytes(want)


def test_large_sparse_blob_costs_little(container):
    bc = container.get_blob_client("big")
    bc.create_page_blob(1 * TiB)
    data = os.urandom(512)
    bc.upload_page(data, offset=TiB - 512, length=512)
    bc.upload_page(data, offset=TiB // 2, length=512)
    assert bc.get_blob_properties().size == TiB
    assert _ranges(bc) == ([(TiB // 2, TiB // 2 + 511), (TiB - 512, TiB - 1)], [])
    assert bc.download_blob(offset=TiB - 1024, length=1024).readall() == bytes(512) + data


def test_put_page_failures(container, raw):
    cname = container.container_name
    bc = container.get_blob_client("f")
    bc.create_page_blob(8 * KiB)
    data = os.urandom(512)
    # unaligned start or end: 416 InvalidPageRange
    assert_error_response(_put_page(raw, cname, "f", 100, data), 416, "InvalidPageRange")
    r = raw.request("PUT", f"/{cname}/f", query={"comp": "page"},
                    headers={"x-ms-page-write": "update", "x-ms-range": "bytes=0-510"}, body=data[:511])
    assert_error_response(r, 416, "InvalidPageRange")
    # past the blob's size
    assert_error_response(_put_page(raw, cname, "f", 8 * KiB, data), 416, "InvalidPageRange")
    # body length differs from the range
    r = raw.request("PUT", f"/{cname}/f", query={"comp": "page"},
                    headers={"x-ms-page-write": "update", "x-ms-range": "bytes=0-1023"}, body=data)
    assert_error_response(r, 400, "InvalidHeaderValue")
    # missing or bad x-ms-page-write, missing range
    r = raw.request("PUT", f"/{cname}/f", query={"comp": "page"},
                    headers={"x-ms-range": "bytes=0-511"}, body=data)
    assert_error_response(r, 400, "MissingRequiredHeader")
    r = raw.request("PUT", f"/{cname}/f", query={"comp": "page"},
                    headers={"x-ms-page-write": "erase", "x-ms-range": "bytes=0-511"}, body=data)
    assert_error_response(r, 400, "InvalidHeaderValue")
    r = raw.request("PUT", f"/{cname}/f", query={"comp": "page"},
                    headers={"x-ms-page-write": "update"}, body=data)
    assert_error_response(r, 400, "MissingRequiredHeader")
    # a clear carries no body
    r = raw.request("PUT", f"/{cname}/f", query={"comp": "page"},
                    headers={"x-ms-page-write": "clear", "x-ms-range": "bytes=0-511"}, body=data)
    assert_error_response(r, 400, "InvalidHeaderValue")
    # Content-MD5 is checked
    r = _put_page(raw, cname, "f", 0, data, {"Content-MD5": md5_b64(b"other")})
    assert_error_response(r, 400, "Md5Mismatch")
    r = _put_page(raw, cname, "f", 0, data, {"Content-MD5": md5_b64(data)})
    assert r.status == 201 and r.header("Content-MD5") == md5_b64(data)
    # over 4 MiB
    r = raw.request("PUT", f"/{cname}/f", query={"comp": "page"},
                    headers={"x-ms-page-write": "update",
                             "x-ms-range": f"bytes=0-{4 * MiB + 511}"}, body=bytes(4 * MiB + 512))
    assert_error_response(r, 413, "RequestBodyTooLarge")
    # nothing of the failures landed
    assert _ranges(bc) == ([(0, 511)], [])
    # on a block blob, a missing blob, a snapshot
    container.get_blob_client("block").upload_blob(b"x" * 512)
    assert_error_response(_put_page(raw, cname, "block", 0, data), 409, "InvalidBlobType")
    assert_error_response(_put_page(raw, cname, "nope", 0, data), 404, "BlobNotFound")
    expect_error(lambda: container.get_blob_client("block").get_page_ranges(), 409, "InvalidBlobType")


def test_create_failures(container, raw):
    cname = container.container_name
    for size in ("1000", "-512", "abc", str(8 * TiB + 512)):
        r = raw.request("PUT", f"/{cname}/bad", headers={"x-ms-blob-type": "PageBlob",
                                                        "x-ms-blob-content-length": size})
        assert_error_response(r, 400, "InvalidHeaderValue")
    r = raw.request("PUT", f"/{cname}/bad", headers={"x-ms-blob-type": "PageBlob"})
    assert_error_response(r, 400, "MissingRequiredHeader")
    r = raw.request("PUT", f"/{cname}/bad", headers={"x-ms-blob-type": "PageBlob",
                                                    "x-ms-blob-content-length": "512"}, body=b"x")
    assert_error_response(r, 400, "InvalidHeaderValue")
    r = raw.request("PUT", f"/{cname}/ok", headers={"x-ms-blob-type": "PageBlob",
                                                   "x-ms-blob-content-length": str(8 * TiB)})
    assert r.status == 201
    # Put Block on a page blob: 409
    expect_error(lambda: container.get_blob_client("ok").stage_block("AAAA", b"x"), 409,
                 "InvalidBlobType")


def test_sequence_number_conditions_and_actions(container, raw):
    cname = container.container_name
    bc = container.get_blob_client("s")
    bc.create_page_blob(4 * KiB, sequence_number=5)
    data = os.urandom(512)
    for hdr, val, ok in (("le", 5, True), ("le", 4, False), ("lt", 6, True), ("lt", 5, False),
                         ("eq", 5, True), ("eq", 6, False)):
        r = _put_page(raw, cname, "s", 0, data, {f"x-ms-if-sequence-number-{hdr}": str(val)})
        if ok:
            assert r.status == 201, r
        else:
            assert_error_response(r, 412, "SequenceNumberConditionNotMet")
    r = raw.request("PUT", f"/{cname}/s", query={"comp": "page"},
                    headers={"x-ms-page-write": "clear", "x-ms-range": "bytes=0-511",
                             "x-ms-if-sequence-number-eq": "4"})
    assert_error_response(r, 412, "SequenceNumberConditionNotMet")
    r = _put_page(raw, cname, "s", 0, data, {"x-ms-if-sequence-number-le": "x"})
    assert_error_response(r, 400, "InvalidHeaderValue")
    assert bc.set_sequence_number(SequenceNumberAction.Increment)["blob_sequence_number"] == 6
    assert bc.set_sequence_number(SequenceNumberAction.Max, 3)["blob_sequence_number"] == 6
    assert bc.set_sequence_number(SequenceNumberAction.Max, 9)["blob_sequence_number"] == 9
    assert bc.set_sequence_number(SequenceNumberAction.Update, 2)["blob_sequence_number"] == 2
    assert bc.get_blob_properties().page_blob_sequence_number == 2
    r = raw.request("PUT", f"/{cname}/s", query={"comp": "properties"},
                    headers={"x-ms-sequence-number-action": "update"})
    assert_error_response(r, 400, "MissingRequiredHeader")
    r = raw.request("PUT", f"/{cname}/s", query={"comp": "properties"},
                    headers={"x-ms-sequence-number-action": "increment",
                             "x-ms-blob-sequence-number": "3"})
    assert_error_response(r, 400, "InvalidHeaderValue")
    r = raw.request("PUT", f"/{cname}/s", query={"comp": "properties"},
                    headers={"x-ms-sequence-number-action": "sideways",
                             "x-ms-blob-sequence-number": "3"})
    assert_error_response(r, 400, "InvalidHeaderValue")
    bc.set_sequence_number(SequenceNumberAction.Update, 2**63 - 1)
    expect_error(lambda: bc.set_sequence_number(SequenceNumberAction.Increment), 409,
                 "SequenceNumberIncrementTooLarge")
    container.get_blob_client("blk").upload_blob(b"x")
    expect_error(lambda: container.get_blob_client("blk").set_sequence_number(
        SequenceNumberAction.Increment), 409, "InvalidBlobType")


def test_resize_shrink_and_grow(container):
    bc = container.get_blob_client("r")
    bc.create_page_blob(8 * KiB, metadata={"m": "1"},
                        content_settings=ContentSettings(content_type="application/x-disk"))
    data = os.urandom(8 * KiB)
    bc.upload_page(data, offset=0, length=8 * KiB)
    r = bc.resize_blob(2 * KiB)
    assert r["etag"] and r["blob_sequence_number"] == 0
    p = bc.get_blob_properties()
    assert p.size == 2 * KiB and p.content_settings.content_type == "application/x-disk"
    assert p.metadata == {"m": "1"}
    assert bc.download_blob().readall() == data[:2 * KiB]
    bc.resize_blob(16 * KiB)            # the pages dropped by the shrink read as zeros
    assert bc.download_blob().readall() == data[:2 * KiB] + bytes(14 * KiB)
    assert _ranges(bc) == ([(0, 2047)], [])
    expect_error(lambda: bc.resize_blob(1000), 400, "InvalidHeaderValue")
    container.get_blob_client("blk").upload_blob(b"x")
    expect_error(lambda: container.get_blob_client("blk").resize_blob(512), 409, "InvalidBlobType")


def test_page_ranges_paging(container, raw):
    cname = container.container_name
    bc = container.get_blob_client("many")
    bc.create_page_blob(64 * KiB)
    for i in range(10):                 # every other page: 10 separate ranges
        bc.upload_page(os.urandom(512), offset=i * 1024, length=512)
    want = [(i * 1024, i * 1024 + 511) for i in range(10)]
    got = [(r.start, r.end) for r in bc.list_page_ranges(results_per_page=3)]
    assert got == want
    pages = list(bc.list_page_ranges(results_per_page=4).by_page())
    assert [len(list(p)) for p in pages] == [4, 4, 2]
    r = raw.request("GET", f"/{cname}/many", query={"comp": "pagelist", "maxresults": "4"})
    assert r.status == 200 and b"<NextMarker>4096</NextMarker>" in r.body
    assert r.header("x-ms-blob-content-length") == str(64 * KiB)
    r = raw.request("GET", f"/{cname}/many",
                    query={"comp": "pagelist", "maxresults": "4", "marker": "8192"})
    assert r.body.count(b"<PageRange>") == 2 and b"<NextMarker />" in r.body
    r = raw.request("GET", f"/{cname}/many", query={"comp": "pagelist", "marker": "zz"})
    assert_error_response(r, 400, "InvalidQueryParameterValue")
    r = raw.request("GET", f"/{cname}/many", query={"comp": "pagelist"},
                    headers={"x-ms-range": "bytes=100-600"})
    assert_error_response(r, 416, "InvalidPageRange")


def test_snapshot_and_diff(container, raw):
    cname = container.container_name
    bc = container.get_blob_client("d")
    bc.create_page_blob(16 * KiB)
    a = os.urandom(4 * KiB)
    bc.upload_page(a, offset=0, length=4 * KiB)
    snap = bc.create_snapshot()
    b = os.urandom(1024)
    bc.upload_page(b, offset=8 * KiB, length=1024)   # written since
    bc.clear_page(offset=1024, length=1024)          # cleared since
    bc.upload_page(b, offset=2048, length=1024)      # rewritten since
    sc = container.get_blob_client("d", snapshot=snap["snapshot"])
    assert sc.download_blob().readall() == a + bytes(12 * KiB)     # the snapshot is frozen
    assert _ranges(sc) == ([(0, 4095)], [])
    pages, clears = _ranges(bc, previous_snapshot_diff=snap["snapshot"])
    assert pages == [(2048, 3071), (8192, 9215)]
    assert clears == [(1024, 2047)]
    want = bytearray(a + bytes(12 * KiB))
    want[1024:2048] = bytes(1024)
    want[2048:3072] = b
    want[8192:9216] = b
    assert bc.download_blob().readall() == bytes(want)
    # a second snapshot: the diff between the two snapshots
    snap2 = bc.create_snapshot()
    bc.upload_page(b, offset=12 * KiB, length=1024)
    s2 = container.get_blob_client("d", snapshot=snap2["snapshot"])
    pages, clears = _ranges(s2, previous_snapshot_diff=snap["snapshot"])
    assert pages == [(2048, 3071), (8192, 9215)] and clears == [(1024, 2047)]
    pages, _ = _ranges(bc, previous_snapshot_diff=snap2["snapshot"])
    assert pages == [(12 * KiB, 13 * KiB - 1)]
    # failures
    r = raw.request("GET", f"/{cname}/d", query={"comp": "pagelist",
                                                "prevsnapshot": "2001-01-01T00:00:00.0000000Z"})
    assert_error_response(r, 409, "PreviousSnapshotNotFound")
    r = raw.request("GET", f"/{cname}/d", query={"comp": "pagelist", "snapshot": snap["snapshot"],
                                                "prevsnapshot": snap2["snapshot"]})
    assert_error_response(r, 400, "PreviousSnapshotCannotBeNewer")
    # resize after a snapshot: the snapshot keeps its size and bytes
    bc.resize_blob(1024)
    assert sc.get_blob_properties().size == 16 * KiB
    assert sc.download_blob().readall() == a + bytes(12 * KiB)
    bc.resize_blob(4096)
    assert bc.download_blob().readall() == a[:1024] + bytes(3072)


def test_leases_and_conditions(container, raw):
    cname = container.container_name
    bc = container.get_blob_client("l")
    created = bc.create_page_blob(4 * KiB)
    data = os.urandom(512)
    r = _put_page(raw, cname, "l", 0, data, {"If-Match": '"nope"'})
    assert_error_response(r, 412, "ConditionNotMet")
    r = _put_page(raw, cname, "l", 0, data, {"If-Match": created["etag"]})
    assert r.status == 201
    lease = bc.acquire_lease()
    assert_error_response(_put_page(raw, cname, "l", 0, data), 412, "LeaseIdMissing")
    r = _put_page(raw, cname, "l", 0, data, {"x-ms-lease-id": lease.id})
    assert r.status == 201
    expect_error(lambda: bc.resize_blob(8 * KiB), 412, "LeaseIdMissing")
    bc.resize_blob(8 * KiB, lease=lease)
    lease.release()


def test_delete_and_overwrite(container):
    bc = container.get_blob_client("x")
    bc.create_page_blob(4 * KiB)
    bc.upload_page(os.urandom(512), offset=0, length=512)
    bc.delete_blob()
    expect_error(lambda: bc.get_page_ranges(), 404, "BlobNotFound")
    bc.create_page_blob(4 * KiB)        # a new blob does not see the old pages
    assert _ranges(bc) == ([], [])
    assert bc.download_blob().readall() == bytes(4 * KiB)
    bc.upload_blob(b"now a block blob", overwrite=True)
    assert bc.get_blob_properties().blob_type == BlobType.BLOCKBLOB
    assert bc.download_blob().readall() == b"now a block blob"


def test_put_page_from_url(container, raw):
    cname = container.container_name
    src = container.get_blob_client("src-block")
    data = os.urandom(8 * KiB)
    src.upload_blob(data)
    psrc = container.get_blob_client("src-page")
    psrc.create_page_blob(16 * KiB)
    psrc.upload_page(data[:1024], offset=4096, length=1024)
    bc = container.get_blob_client("dst")
    bc.create_page_blob(16 * KiB)
    r = bc.upload_pages_from_url(src.url, offset=512, length=2048, source_offset=1024)
    assert r["etag"]
    bc.upload_pages_from_url(psrc.url, offset=8192, length=2048, source_offset=4096)
    want = bytearray(16 * KiB)
    want[512:2560] = data[1024:3072]
    want[8192:9216] = data[:1024]                 # the page source: written pages, then zeros
    assert bc.download_blob().readall() == bytes(want)
    assert _ranges(bc) == ([(512, 2559), (8192, 10239)], [])
    # failures: lengths differ, source range missing, unaligned, a missing source
    r = raw.request("PUT", f"/{cname}/dst", query={"comp": "page"},
                    headers={"x-ms-page-write": "update", "x-ms-range": "bytes=0-511",
                             "x-ms-source-range": "bytes=0-1023", "x-ms-copy-source": src.url})
    assert_error_response(r, 400, "InvalidHeaderValue")
    r = raw.request("PUT", f"/{cname}/dst", query={"comp": "page"},
                    headers={"x-ms-page-write": "update", "x-ms-range": "bytes=0-511",
                             "x-ms-copy-source": src.url})
    assert_error_response(r, 400, "MissingRequiredHeader")
    r = raw.request("PUT", f"/{cname}/dst", query={"comp": "page"},
                    headers={"x-ms-page-write": "update", "x-ms-range": "bytes=100-611",
                             "x-ms-source-range": "bytes=0-511", "x-ms-copy-source": src.url})
    assert_error_response(r, 416, "InvalidPageRange")
    expect_error(lambda: bc.upload_pages_from_url(container.get_blob_client("nope").url, offset=0,
                                                  length=512, source_offset=0), 404)


def test_diff_by_snapshot_url(container, raw):
    cname = container.container_name
    bc = container.get_blob_client("m")
    bc.create_page_blob(8 * KiB)
    bc.upload_page(os.urandom(1024), offset=0, length=1024)
    snap = bc.create_snapshot()["snapshot"]
    bc.upload_page(os.urandom(512), offset=4096, length=512)
    bc.clear_page(offset=0, length=512)
    surl = f"{bc.url}?snapshot={snap}"
    pages, clears = bc.get_page_range_diff_for_managed_disk(surl)
    assert [(p["start"], p["end"]) for p in pages] == [(4096, 4607)]
    assert [(c["start"], c["end"]) for c in clears] == [(0, 511)]
    other = container.get_blob_client("other")
    other.create_page_blob(512)
    r = raw.request("GET", f"/{cname}/other", query={"comp": "pagelist"},
                    headers={"x-ms-previous-snapshot-url": surl})
    assert_error_response(r, 409, "PreviousSnapshotNotFound")
    r = raw.request("GET", f"/{cname}/m", query={"comp": "pagelist"},
                    headers={"x-ms-previous-snapshot-url": bc.url})      # no snapshot in it
    assert_error_response(r, 400, "InvalidHeaderValue")


@pytest.mark.local_files
def test_compaction_keeps_live_pages_and_reclaims_the_rest(tmp_path):
    """Overwritten pages, pages of a deleted blob, of a blob cleared whole (its old layer dropped)
    and of a dropped layer are garbage that compaction reclaims; pages a snapshot still names stay; fsck finds every live entry intact."""
    chunk = 64 * KiB
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log",
                       args=["--volume-size", "1048576", "--compact-threshold", "0"]).start()
    cc = srv.client().create_container("pages")
    keep, gone, wiped = (cc.get_blob_client(n) for n in ("keep", "gone", "wiped"))
    for bc in (keep, gone, wiped):
        bc.create_page_blob(1 << 30)
    first = [os.urandom(chunk) for _ in range(40)]
    for i, d in enumerate(first):
        for bc in (keep, gone, wiped):
            bc.upload_page(d, offset=i * MiB, length=chunk)
    snap = keep.create_snapshot()["snapshot"]
    now = list(first)
    for _ in range(2):                   # the first of these overwrites is dead after the second
        for i in range(20):
            now[i] = os.urandom(chunk)
            keep.upload_page(now[i], offset=i * MiB, length=chunk)
    gone.delete_blob()
    wiped.clear_page(offset=0, length=1 << 30)
    assert srv.stop() == 0
    vols = lambda: sum(os.path.getsize(p) for p in glob.glob(str(srv.data_dir / "volumes" / "*.vol")))
    live = 60 * (chunk + 40)             # 40 chunks the snapshot names, 20 current overwrites
    assert vols() / live > 2.4
    r = run_cli("compact", str(srv.data_dir))
    assert r.returncode == 0 and re.search(r"volumes=[1-9]", r.stdout), r.stdout + r.stderr
    assert vols() / live <= 1.1, vols() / live
    r = run_cli("fsck", str(srv.data_dir))
    assert r.returncode == 0 and "problems=0" in r.stdout, r.stdout + r.stderr
    srv.start()
    cc = srv.client().get_container_client("pages")
    sc = cc.get_blob_client("keep", snapshot=snap)
    for i in range(40):
        assert cc.get_blob_client("keep").download_blob(offset=i * MiB, length=chunk).readall() == now[i]
        assert sc.download_blob(offset=i * MiB, length=chunk).readall() == first[i]
    assert srv.stop() == 0


def test_versions_and_soft_delete_keep_their_pages(tmp_path):
    """A version kept by Set Blob Metadata (versioning on) freezes the pages it names; a soft-
    deleted page blob (versioning off) comes back with its pages."""
    a, b = os.urandom(512), os.urandom(512)
    srv = CobaltServer(tmp_path / "v" / "data", tmp_path / "v.log", args=["--versioning", "all"]).start()
    try:
        bc = srv.client().create_container("pageversions").get_blob_client("disk")
        bc.create_page_blob(4 * KiB)
        bc.upload_page(a, offset=0, length=512)
        v1 = bc.set_blob_metadata({"k": "1"})["version_id"]    # v1 is the current version
        bc.set_blob_metadata({"k": "2"})                        # v1 kept: its pages frozen
        bc.upload_page(b, offset=0, length=512)
        assert bc.download_blob(version_id=v1).readall() == a + bytes(3584)
        assert bc.download_blob().readall() == b + bytes(3584)
    finally:
        assert srv.stop() == 0
    srv = CobaltServer(tmp_path / "s" / "data", tmp_path / "s.log").start()
    try:
        svc = srv.client()
        svc.set_service_properties(delete_retention_policy=RetentionPolicy(enabled=True, days=1))
        bc = svc.create_container("pagesoftdelete").get_blob_client("disk")
        bc.create_page_blob(4 * KiB)
        bc.upload_page(b, offset=0, length=512)
        bc.delete_blob()
        expect_error(lambda: bc.download_blob().readall(), 404, "BlobNotFound")
        bc.undelete_blob()
        assert bc.download_blob().readall() == b + bytes(3584)
        assert _ranges(bc) == ([(0, 511)], [])
    finally:
        assert srv.stop() == 0
