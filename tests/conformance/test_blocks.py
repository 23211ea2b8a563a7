"""Put Block, Put Block List (Committed / Uncommitted / Latest), Get Block List."""
import base64
import hashlib
import xml.etree.ElementTree as ET

from azure.storage.blob import BlobBlock, BlockState

from cobalt_testlib import assert_error_response, expect_error, md5_b64


def ids(blocks):
    return [b.id for b in blocks]


def test_block_list_committed_uncommitted_latest(container):
    bc = container.get_blob_client("blocks.bin")
    A, B, C = b"A" * 100, b"B" * 200, b"C" * 300
    bc.stage_block("blk-a", A)
    bc.stage_block("blk-b", B)

    committed, uncommitted = bc.get_block_list("all")
    assert committed == []
    assert sorted(ids(uncommitted)) == ["blk-a", "blk-b"]
    assert {b.id: b.size for b in uncommitted} == {"blk-a": 100, "blk-b": 200}

    bc.commit_block_list([BlobBlock("blk-a", BlockState.Latest), BlobBlock("blk-b", BlockState.Uncommitted)])
    assert bc.download_blob().readall() == A + B
    committed, uncommitted = bc.get_block_list("all")
    assert ids(committed) == ["blk-a", "blk-b"]
    assert [b.size for b in committed] == [100, 200]
    assert uncommitted == []

    # Stage a new B (same id, new data) and C; the committed list still describes the blob.
    B2 = b"b" * 50
    bc.stage_block("blk-b", B2)
    bc.stage_block("blk-c", C)
    assert bc.download_blob().readall() == A + B
    committed, uncommitted = bc.get_block_list("committed")
    assert ids(committed) == ["blk-a", "blk-b"]
    assert uncommitted == []
    committed, uncommitted = bc.get_block_list("uncommitted")
    assert committed == []
    assert sorted(ids(uncommitted)) == ["blk-b", "blk-c"]

    # Committed A, Latest B (-> the new uncommitted B2), Uncommitted C, Committed A again.
    bc.commit_block_list([BlobBlock("blk-a", BlockState.Committed), BlobBlock("blk-b", BlockState.Latest),
                          BlobBlock("blk-c", BlockState.Uncommitted), BlobBlock("blk-a", BlockState.Committed)])
    assert bc.download_blob().readall() == A + B2 + C + A
    committed, uncommitted = bc.get_block_list("all")
    assert ids(committed) == ["blk-a", "blk-b", "blk-c", "blk-a"]
    assert [b.size for b in committed] == [100, 50, 300, 100]
    assert uncommitted == []
    assert bc.get_blob_properties().size == 550

    # Latest falls back to the committed list when nothing is staged under that id.
    bc.commit_block_list([BlobBlock("blk-c", BlockState.Latest)])
    assert bc.download_blob().readall() == C


def test_block_list_unknown_ids_are_invalid(container, raw):
    bc = container.get_blob_client("bad-list.bin")
    bc.stage_block("id-1", b"one")
    bc.commit_block_list(["id-1"])
    etag = bc.get_blob_properties().etag
    bc.stage_block("id-2", b"two")

    # Unknown id.
    expect_error(bc.commit_block_list, 400, "InvalidBlockList", [BlobBlock("id-9", BlockState.Latest)])

    # The SDK in use sends every entry as <Latest> whatever its state, so the Committed and
    # Uncommitted lookups are checked with raw bodies.
    def commit_raw(element, block_id):
        encoded = base64.b64encode(block_id.encode()).decode()
        body = f'<?xml version="1.0" encoding="utf-8"?><BlockList><{element}>{encoded}</{element}></BlockList>'.encode()
        return raw.request("PUT", f"/{container.container_name}/bad-list.bin", query={"comp": "blocklist"},
                           headers={"Content-Type": "application/xml"}, body=body)
    # Committed-only id referenced as Uncommitted; uncommitted-only id referenced as Committed.
    assert_error_response(commit_raw("Uncommitted", "id-1"), 400, "InvalidBlockList")
    assert_error_response(commit_raw("Committed", "id-2"), 400, "InvalidBlockList")
    # Nothing changed.
    assert bc.download_blob().readall() == b"one"
    assert bc.get_blob_properties().etag == etag
    _, uncommitted = bc.get_block_list("all")
    assert ids(uncommitted) == ["id-2"]


def test_uncommitted_blob_is_invisible_until_committed(container, raw):
    bc = container.get_blob_client("pending.bin")
    bc.stage_block("p1", b"pending data")
    expect_error(bc.get_blob_properties, 404, "BlobNotFound")
    expect_error(bc.download_blob, 404, "BlobNotFound")
    r = raw.head_blob(container.container_name, "pending.bin")
    assert_error_response(r, 404, "BlobNotFound", head=True)
    assert [b.name for b in container.list_blobs()] == []
    # Get Block List answers 200 with the staged blocks.
    committed, uncommitted = bc.get_block_list("all")
    assert committed == [] and ids(uncommitted) == ["p1"]
    # Uncommitted blobs are listed only with include=uncommittedblobs.
    assert [b.name for b in container.list_blobs(include=["uncommittedblobs"])] == ["pending.bin"]
    # More blocks can be staged; commit makes it visible.
    bc.stage_block("p2", b" more")
    bc.commit_block_list(["p1", "p2"])
    assert bc.download_blob().readall() == b"pending data more"
    assert [b.name for b in container.list_blobs()] == ["pending.bin"]


def test_put_blob_drops_uncommitted_blocks(container):
    bc = container.get_blob_client("drop.bin")
    bc.stage_block("x1", b"staged")
    bc.upload_blob(b"direct", overwrite=True)
    _, uncommitted = bc.get_block_list("all")
    assert uncommitted == []
    expect_error(bc.commit_block_list, 400, "InvalidBlockList", ["x1"])
    assert bc.download_blob().readall() == b"direct"


def test_empty_block_list_makes_empty_blob(container, raw):
    bc = container.get_blob_client("empty-list.bin")
    bc.commit_block_list([])
    p = bc.get_blob_properties()
    assert p.size == 0
    assert bc.download_blob().readall() == b""


def test_block_list_properties_and_metadata(container, raw):
    """Put Block List sets exactly the properties it is sent; the response MD5 is of the XML body."""
    cname = container.container_name
    bc = container.get_blob_client("bl-props.bin")
    bc.upload_blob(b"old", metadata={"old": "1"})
    bid = base64.b64encode(b"block-0001").decode()
    r = raw.request("PUT", f"/{cname}/bl-props.bin", query={"comp": "block", "blockid": bid}, body=b"new data")
    assert r.status == 201, r
    assert r.header("content-md5") == md5_b64(b"new data")
    body = ('<?xml version="1.0" encoding="utf-8"?>\n'
            f"<BlockList><Latest>{bid}</Latest></BlockList>").encode()
    r = raw.request("PUT", f"/{cname}/bl-props.bin", query={"comp": "blocklist"},
                    headers={"Content-Type": "application/xml", "x-ms-blob-content-type": "text/x-new",
                             "x-ms-meta-fresh": "yes"}, body=body)
    assert r.status == 201, r
    assert r.header("content-md5") == md5_b64(body)
    assert r.header("etag")
    p = bc.get_blob_properties()
    assert p.content_settings.content_type == "text/x-new"
    assert p.metadata == {"fresh": "yes"}
    assert p.content_settings.content_md5 is None, "Put Block List without x-ms-blob-content-md5 stores no MD5"
    assert bc.download_blob().readall() == b"new data"

    # Raw Get Block List XML.
    r = raw.request("GET", f"/{cname}/bl-props.bin", query={"comp": "blocklist", "blocklisttype": "all"})
    assert r.status == 200, r
    assert "xml" in (r.header("content-type") or "")
    root = ET.fromstring(r.body)
    assert root.tag == "BlockList"
    blocks = root.findall("CommittedBlocks/Block")
    assert [(b.findtext("Name"), b.findtext("Size")) for b in blocks] == [(bid, "8")]
    assert root.find("UncommittedBlocks") is None or list(root.find("UncommittedBlocks")) == []
    assert r.header("x-ms-blob-content-length") == "8"


def test_malformed_block_list_xml(container, raw):
    cname = container.container_name
    r = raw.request("PUT", f"/{cname}/mal.bin", query={"comp": "blocklist"},
                    headers={"Content-Type": "application/xml"}, body=b"<BlockList><Latest>abc</Lat")
    assert_error_response(r, 400, "InvalidXmlDocument")
    expect_error(container.get_blob_client("mal.bin").get_blob_properties, 404, "BlobNotFound")


def test_put_block_requires_valid_blockid(container, raw):
    cname = container.container_name
    r = raw.request("PUT", f"/{cname}/bid.bin", query={"comp": "block"}, body=b"x")
    assert r.status == 400, r
    r = raw.request("PUT", f"/{cname}/bid.bin", query={"comp": "block", "blockid": "%%%not-base64"}, body=b"x")
    assert r.status == 400, r
    too_long = base64.b64encode(b"x" * 65).decode()
    r = raw.request("PUT", f"/{cname}/bid.bin", query={"comp": "block", "blockid": too_long}, body=b"x")
    assert r.status == 400, r
    # None of the rejected blocks was staged: the blob does not exist at all.
    expect_error(container.get_blob_client("bid.bin").get_block_list, 404, "BlobNotFound", "all")


def test_many_blocks_order(container):
    bc = container.get_blob_client("order.bin")
    parts = [hashlib.sha256(str(i).encode()).digest() * (i + 1) for i in range(40)]
    names = [f"{i:05d}" for i in range(40)]
    for n, p in reversed(list(zip(names, parts))):  # stage out of order
        bc.stage_block(n, p)
    bc.commit_block_list(names)
    assert bc.download_blob().readall() == b"".join(parts)
    committed, _ = bc.get_block_list("committed")
    assert ids(committed) == names


def test_block_ids_must_have_equal_length(container, raw):
    bc = container.get_blob_client("idlen.bin")
    bc.stage_block("aaaa", b"1")
    # A different encoded length for the same blob is rejected.
    expect_error(bc.stage_block, 400, "InvalidBlobOrBlock", "bbbbbbbb", b"2")
    _, uncommitted = bc.get_block_list("all")
    assert ids(uncommitted) == ["aaaa"]


def test_put_block_empty_body_rejected(container, raw):
    bid = base64.b64encode(b"empty-block").decode()
    r = raw.request("PUT", f"/{container.container_name}/e.bin", query={"comp": "block", "blockid": bid}, body=b"")
    assert r.status == 400, r
    assert r.error_code


def test_get_block_list_with_tag_condition(container):
    """Get Block List evaluates x-ms-if-tags against the blob's tags (412 ConditionNotMet when
    false, 400 when malformed); a blob with only staged blocks has no tags."""
    bc = container.get_blob_client("tagged")
    bc.upload_blob(b"x", tags={"k": "v"})
    bc.stage_block("MDE=", b"staged")
    expect_error(bc.get_block_list, 412, "ConditionNotMet", "all", if_tags_match_condition="\"k\" = 'w'")
    expect_error(bc.get_block_list, 400, "InvalidHeaderValue", "all", if_tags_match_condition="\"k\" = 'v")
    committed, uncommitted = bc.get_block_list("all", if_tags_match_condition="\"k\" = 'v'")
    assert committed == [] and ids(uncommitted) == ["MDE="]
    staged = container.get_blob_client("staged-only")
    staged.stage_block("MDE=", b"staged")
    expect_error(staged.get_block_list, 412, "ConditionNotMet", "uncommitted",
                 if_tags_match_condition="\"k\" = 'v'")
    assert ids(staged.get_block_list("uncommitted", if_tags_match_condition="\"k\" <> 'v'")[1]) == ["MDE="]
