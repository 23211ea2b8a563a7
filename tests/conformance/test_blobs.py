"""Block blob round trips, ranged reads, properties, metadata, create-only writes, checksums."""
import base64
import datetime as dt
import hashlib
import os
import random
import time

import pytest
from azure.storage.blob import BlobServiceClient, ContentSettings

from cobalt_testlib import (ETAG_RE, assert_error_response, crc64_b64, expect_error, md5_b64, sha256,
                            unique_name, utcnow)

MiB = 1024 * 1024


# ------------------------------------------------------------------------------------------------
# Round trips
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 4096, 5 * MiB], ids=["0B", "1B", "4KiB", "5MiB"])
def test_round_trip(container, raw, size):
    data = os.urandom(size)
    bc = container.get_blob_client(f"rt/{size}.bin")
    resp = bc.upload_blob(data)
    assert ETAG_RE.match(resp["etag"]), resp["etag"]
    assert bytes(resp["content_md5"]) == hashlib.md5(data).digest()
    got = bc.download_blob().readall()
    assert len(got) == size and sha256(got) == sha256(data)
    props = bc.get_blob_properties()
    assert props.size == size
    assert props.blob_type == "BlockBlob"
    assert props.etag == resp["etag"]
    assert bytes(props.content_settings.content_md5) == hashlib.md5(data).digest()
    # The stored MD5 also comes back on a full raw GET.
    r = raw.get_blob(container.container_name, f"rt/{size}.bin")
    assert r.status == 200, r
    assert r.body == data
    assert r.header("content-length") == str(size)
    assert r.header("content-md5") == md5_b64(data)
    assert r.header("etag") == resp["etag"]
    # And in the listing.
    [item] = list(container.list_blobs(name_starts_with=f"rt/{size}.bin"))
    assert item.size == size and bytes(item.content_settings.content_md5) == hashlib.md5(data).digest()


@pytest.mark.heavy
def test_round_trip_large_as_blocks(server, container):
    """>= 100 MiB through many Put Block + Put Block List; SHA-256 and ranged reads compared."""
    block = 4 * MiB
    size = 100 * MiB + 12345  # a short last block
    data = os.urandom(size)
    svc = BlobServiceClient.from_connection_string(
        server.connection_string, retry_total=0, max_single_put_size=4 * MiB, max_block_size=block,
        max_single_get_size=4 * MiB, max_chunk_get_size=4 * MiB)
    bc = svc.get_blob_client(container.container_name, "big/large.bin")
    bc.upload_blob(data, max_concurrency=4)

    committed, uncommitted = bc.get_block_list("all")
    assert len(committed) == (size + block - 1) // block
    assert uncommitted == []
    assert sum(b.size for b in committed) == size

    props = bc.get_blob_properties()
    assert props.size == size
    got = bc.download_blob(max_concurrency=4).readall()
    assert len(got) == size
    assert sha256(got) == sha256(data)
    del got

    rng = random.Random(1234)
    ranges = [(0, 1), (size - 1, 1), (block - 5, 10), (3 * block - 1, block + 2), (size - 12345, 12345)]
    ranges += [(o, rng.randint(1, 3 * MiB)) for o in (rng.randrange(0, size - 3 * MiB) for _ in range(6))]
    for off, length in ranges:
        part = bc.download_blob(offset=off, length=length).readall()
        assert part == data[off:off + length], (off, length)


def test_overwrite_replaces_content_and_properties(container):
    bc = container.get_blob_client("ow.txt")
    r1 = bc.upload_blob(b"first version", metadata={"a": "1"},
                        content_settings=ContentSettings(content_type="text/plain", cache_control="no-cache"))
    r2 = bc.upload_blob(b"second", overwrite=True)
    assert r2["etag"] != r1["etag"]
    assert bc.download_blob().readall() == b"second"
    props = bc.get_blob_properties()
    assert props.metadata == {}
    assert props.content_settings.content_type == "application/octet-stream"
    assert props.content_settings.cache_control is None


def test_overwrite_false_is_create_only(container, raw):
    bc = container.get_blob_client("once.txt")
    etag = bc.upload_blob(b"original")["etag"]
    expect_error(bc.upload_blob, 409, "BlobAlreadyExists", b"replacement", overwrite=False)
    assert bc.download_blob().readall() == b"original"
    assert bc.get_blob_properties().etag == etag
    r = raw.put_blob(container.container_name, "once.txt", b"x", headers={"If-None-Match": "*"})
    assert_error_response(r, 409, "BlobAlreadyExists")
    # Create-only on a new name succeeds.
    bc2 = container.get_blob_client("once-new.txt")
    bc2.upload_blob(b"fresh", overwrite=False)
    assert bc2.download_blob().readall() == b"fresh"


def test_delete_blob(container, raw):
    bc = container.get_blob_client("del.txt")
    bc.upload_blob(b"bye")
    r = raw.request("DELETE", f"/{container.container_name}/del.txt")
    assert r.status == 202, r
    expect_error(bc.get_blob_properties, 404, "BlobNotFound")
    expect_error(bc.download_blob, 404, "BlobNotFound")
    expect_error(bc.delete_blob, 404, "BlobNotFound")
    assert [b.name for b in container.list_blobs()] == []


def test_blob_names_with_special_characters(container):
    names = ["dir/hello world.txt", "a+b=c&d.txt", "ünïcödé/файл.txt", "quote'(paren)!*.txt",
             "per%cent.txt", "x/y//z", "tilde~semi;colon:at@.bin", "xml<y>&z\"q'.txt", "emoji-😀.txt"]
    for n in names:
        container.get_blob_client(n).upload_blob(n.encode())
    for n in names:
        assert container.get_blob_client(n).download_blob().readall() == n.encode(), n
    listed = [b.name for b in container.list_blobs()]
    assert listed == sorted(names, key=lambda s: s.encode("utf-8"))


# ------------------------------------------------------------------------------------------------
# Ranges
# ------------------------------------------------------------------------------------------------

def test_ranged_reads(container, raw):
    data = os.urandom(1000)
    cname = container.container_name
    container.get_blob_client("r.bin").upload_blob(data)

    r = raw.get_blob(cname, "r.bin", headers={"x-ms-range": "bytes=10-29"})
    assert r.status == 206, r
    assert r.header("content-range") == "bytes 10-29/1000"
    assert r.header("content-length") == "20"
    assert r.body == data[10:30]
    # Whole-blob MD5 on range reads is x-ms-blob-content-md5; Content-MD5 only on request.
    assert r.header("x-ms-blob-content-md5") == md5_b64(data)

    # Range MD5 on request.
    r = raw.get_blob(cname, "r.bin", headers={"x-ms-range": "bytes=100-199", "x-ms-range-get-content-md5": "true"})
    assert r.status == 206 and r.header("content-md5") == md5_b64(data[100:200]), r

    # Plain Range header works; x-ms-range wins when both are sent.
    r = raw.get_blob(cname, "r.bin", headers={"Range": "bytes=0-9"})
    assert r.status == 206 and r.body == data[:10] and r.header("content-range") == "bytes 0-9/1000"
    r = raw.get_blob(cname, "r.bin", headers={"Range": "bytes=0-9", "x-ms-range": "bytes=20-24"})
    assert r.status == 206 and r.body == data[20:25], r

    # Open-ended and clamped ends.
    r = raw.get_blob(cname, "r.bin", headers={"x-ms-range": "bytes=990-"})
    assert r.status == 206 and r.body == data[990:] and r.header("content-range") == "bytes 990-999/1000"
    r = raw.get_blob(cname, "r.bin", headers={"x-ms-range": "bytes=995-5000"})
    assert r.status == 206 and r.body == data[995:] and r.header("content-range") == "bytes 995-999/1000"
    assert r.header("content-length") == "5"
    r = raw.get_blob(cname, "r.bin", headers={"x-ms-range": "bytes=999-999"})
    assert r.status == 206 and r.body == data[999:]

    # Start beyond the end.
    for rng in ("bytes=1000-1005", "bytes=5000-"):
        r = raw.get_blob(cname, "r.bin", headers={"x-ms-range": rng})
        assert_error_response(r, 416, "InvalidRange")
        assert r.header("content-range") == "bytes */1000", r.header("content-range")

    # Unparsable / suffix ranges are ignored: whole blob, 200.
    r = raw.get_blob(cname, "r.bin", headers={"x-ms-range": "bytes=-5"})
    assert r.status == 200 and r.body == data, r

    # SDK ranged download.
    bc = container.get_blob_client("r.bin")
    assert bc.download_blob(offset=123, length=456).readall() == data[123:579]
    assert bc.download_blob(offset=900).readall() == data[900:]


def test_ranged_read_on_empty_blob(container, raw):
    bc = container.get_blob_client("empty.bin")
    bc.upload_blob(b"")
    r = raw.get_blob(container.container_name, "empty.bin", headers={"x-ms-range": "bytes=0-33554431"})
    assert_error_response(r, 416, "InvalidRange")
    r = raw.get_blob(container.container_name, "empty.bin", headers={"x-ms-range": "bytes=0-"})
    assert_error_response(r, 416, "InvalidRange")
    # Without a range: 200, empty body.
    r = raw.get_blob(container.container_name, "empty.bin")
    assert r.status == 200 and r.body == b"" and r.header("content-length") == "0", r
    # The Python downloader path (range first, then a plain GET after the 416).
    dl = bc.download_blob()
    assert dl.readall() == b""
    assert dl.properties.size == 0
    assert bc.get_blob_properties().size == 0


# ------------------------------------------------------------------------------------------------
# Properties, HEAD, ETags
# ------------------------------------------------------------------------------------------------

def test_properties_and_content_settings(container, raw):
    before = utcnow() - dt.timedelta(seconds=2)
    cs = ContentSettings(content_type="text/markdown", content_encoding="identity", content_language="en-GB",
                         content_disposition='attachment; filename="x.md"', cache_control="max-age=60")
    bc = container.get_blob_client("props.md")
    bc.upload_blob(b"# hi\n", content_settings=cs, metadata={"Author": "me"})
    p = bc.get_blob_properties()
    assert p.size == 5
    assert p.content_settings.content_type == "text/markdown"
    assert p.content_settings.content_encoding == "identity"
    assert p.content_settings.content_language == "en-GB"
    assert p.content_settings.content_disposition == 'attachment; filename="x.md"'
    assert p.content_settings.cache_control == "max-age=60"
    assert p.metadata == {"Author": "me"}
    assert before <= p.last_modified <= utcnow() + dt.timedelta(seconds=2)
    assert p.creation_time is not None

    r = raw.head_blob(container.container_name, "props.md")
    assert r.status == 200, r
    assert r.body == b""
    assert r.header("content-length") == "5"
    assert r.header("content-type") == "text/markdown"
    assert r.header("content-encoding") == "identity"
    assert r.header("content-language") == "en-GB"
    assert r.header("cache-control") == "max-age=60"
    assert r.header("x-ms-blob-type") == "BlockBlob"
    assert r.header("x-ms-meta-Author") == "me"
    assert ETAG_RE.match(r.header("etag") or "")
    assert r.header("last-modified", ) and r.header("last-modified").endswith("GMT")
    assert r.header("x-ms-request-id")
    assert r.header("x-ms-version")
    # GET returns the same content headers with the body.
    g = raw.get_blob(container.container_name, "props.md")
    assert g.status == 200 and g.body == b"# hi\n"
    assert g.header("content-type") == "text/markdown" and g.header("etag") == r.header("etag")
    assert g.header("accept-ranges") == "bytes"


def test_default_content_type(container):
    bc = container.get_blob_client("noct")
    bc.upload_blob(b"abc")
    assert bc.get_blob_properties().content_settings.content_type == "application/octet-stream"


def test_head_missing_blob_has_error_code(container, raw, service):
    r = raw.head_blob(container.container_name, "does-not-exist")
    assert_error_response(r, 404, "BlobNotFound", head=True)
    r = raw.get_blob(container.container_name, "does-not-exist")
    assert_error_response(r, 404, "BlobNotFound")
    r = raw.head_blob(unique_name("nocont"), "x")
    assert_error_response(r, 404, "ContainerNotFound", head=True)
    bc = container.get_blob_client("does-not-exist")
    assert bc.exists() is False
    expect_error(bc.get_blob_properties, 404, "BlobNotFound")


def test_etag_changes_on_every_write(container):
    bc = container.get_blob_client("etag.txt")
    etags = [bc.upload_blob(b"v1")["etag"]]
    etags.append(bc.upload_blob(b"v2", overwrite=True)["etag"])
    etags.append(bc.set_blob_metadata({"k": "v"})["etag"])
    etags.append(bc.set_http_headers(ContentSettings(content_type="text/plain"))["etag"])
    bc.stage_block("YmxvY2sx", b"staged")  # Put Block alone does not change the blob
    assert bc.get_blob_properties().etag == etags[-1]
    etags.append(bc.commit_block_list(["YmxvY2sx"])["etag"])
    assert len(set(etags)) == len(etags), etags
    for e in etags:
        assert ETAG_RE.match(e), e
    assert bc.get_blob_properties().etag == etags[-1]
    # Reads do not change it.
    bc.download_blob().readall()
    assert bc.get_blob_properties().etag == etags[-1]


def test_conditional_reads_use_etag(container, raw):
    bc = container.get_blob_client("cond.txt")
    etag = bc.upload_blob(b"cond")["etag"]
    r = raw.get_blob(container.container_name, "cond.txt", headers={"If-None-Match": etag})
    assert r.status == 304, r
    assert r.header("x-ms-error-code") == "ConditionNotMet"
    r = raw.get_blob(container.container_name, "cond.txt", headers={"If-Match": '"0x8D000000000000F"'})
    assert_error_response(r, 412, "ConditionNotMet")
    r = raw.get_blob(container.container_name, "cond.txt", headers={"If-Match": etag})
    assert r.status == 200 and r.body == b"cond"


def test_set_http_headers_clears_unspecified(container):
    bc = container.get_blob_client("hdrs.txt")
    bc.upload_blob(b"hello world", metadata={"keep": "me"}, content_settings=ContentSettings(
        content_type="text/plain", content_language="de", cache_control="no-store",
        content_disposition="inline", content_encoding="identity"))
    assert bc.get_blob_properties().content_settings.content_md5 is not None
    etag0 = bc.get_blob_properties().etag
    r = bc.set_http_headers(ContentSettings(content_type="application/json"))
    assert r["etag"] != etag0
    p = bc.get_blob_properties()
    assert p.content_settings.content_type == "application/json"
    assert p.content_settings.content_language is None
    assert p.content_settings.cache_control is None
    assert p.content_settings.content_disposition is None
    assert p.content_settings.content_encoding is None
    assert p.content_settings.content_md5 is None, "Set Blob Properties without MD5 clears it"
    assert p.metadata == {"keep": "me"}, "Set Blob Properties must not touch metadata"
    assert bc.download_blob().readall() == b"hello world"
    # Setting an MD5 explicitly stores it (not verified).
    fake = hashlib.md5(b"something else").digest()
    bc.set_http_headers(ContentSettings(content_type="text/plain", content_md5=bytearray(fake)))
    assert bytes(bc.get_blob_properties().content_settings.content_md5) == fake


def test_set_http_headers_missing_blob(container):
    expect_error(container.get_blob_client("nope").set_http_headers, 404, "BlobNotFound",
                 ContentSettings(content_type="text/plain"))


# ------------------------------------------------------------------------------------------------
# Metadata
# ------------------------------------------------------------------------------------------------

def test_blob_metadata(container, raw):
    bc = container.get_blob_client("md.txt")
    bc.upload_blob(b"x", metadata={"Initial": "yes"})
    assert bc.get_blob_properties().metadata == {"Initial": "yes"}
    bc.set_blob_metadata({"CamelCase": "Value One", "under_score_2": "b", "x": "v"})
    assert bc.get_blob_properties().metadata == {"CamelCase": "Value One", "under_score_2": "b", "x": "v"}
    r = raw.request("GET", f"/{container.container_name}/md.txt", query={"comp": "metadata"})
    assert r.status == 200, r
    assert r.header("x-ms-meta-CamelCase") == "Value One"
    assert r.body == b""
    # Replace-all, then clear.
    bc.set_blob_metadata({"only": "1"})
    assert bc.get_blob_properties().metadata == {"only": "1"}
    bc.set_blob_metadata({})
    assert bc.get_blob_properties().metadata == {}
    assert bc.download_blob().readall() == b"x"


@pytest.mark.parametrize("bad", ["bad-name", "1leading", "has$dollar", "dot.ted"])
def test_invalid_metadata_name(container, raw, bad):
    bc = container.get_blob_client("badmd.txt")
    bc.upload_blob(b"x", metadata={"good": "1"})
    expect_error(bc.set_blob_metadata, 400, "InvalidMetadata", {bad: "v"})
    assert bc.get_blob_properties().metadata == {"good": "1"}
    # Put Blob with a bad metadata name is rejected and creates nothing.
    r = raw.put_blob(container.container_name, "badmd2.txt", b"y", headers={f"x-ms-meta-{bad}": "v"})
    assert_error_response(r, 400, "InvalidMetadata")
    expect_error(container.get_blob_client("badmd2.txt").get_blob_properties, 404, "BlobNotFound")


def test_metadata_too_large(container):
    bc = container.get_blob_client("big-md.txt")
    bc.upload_blob(b"x")
    expect_error(bc.set_blob_metadata, 400, "MetadataTooLarge", {"k": "v" * 9000})
    assert bc.get_blob_properties().metadata == {}


# ------------------------------------------------------------------------------------------------
# Content-MD5 and CRC64
# ------------------------------------------------------------------------------------------------

def test_content_md5_validation(container, raw):
    cname = container.container_name
    data = b"hello world"
    r = raw.put_blob(cname, "md5ok.txt", data, headers={"Content-MD5": md5_b64(data)})
    assert r.status == 201, r
    assert r.header("content-md5") == md5_b64(data)
    assert bytes(container.get_blob_client("md5ok.txt").get_blob_properties().content_settings.content_md5) \
        == hashlib.md5(data).digest()

    r = raw.put_blob(cname, "md5bad.txt", data, headers={"Content-MD5": md5_b64(b"other")})
    assert_error_response(r, 400, "Md5Mismatch")
    expect_error(container.get_blob_client("md5bad.txt").get_blob_properties, 404, "BlobNotFound")

    r = raw.put_blob(cname, "md5bad.txt", data, headers={"Content-MD5": "not-base64-md5"})
    assert_error_response(r, 400, "InvalidMd5")

    # A wrong MD5 must not replace an existing blob.
    r = raw.put_blob(cname, "md5ok.txt", b"evil", headers={"Content-MD5": md5_b64(b"other")})
    assert_error_response(r, 400, "Md5Mismatch")
    assert container.get_blob_client("md5ok.txt").download_blob().readall() == data

    # Put Block with a wrong MD5 stores nothing.
    r = raw.request("PUT", f"/{cname}/blk.bin", query={"comp": "block", "blockid": "QUFBQQ=="},
                    headers={"Content-MD5": md5_b64(b"nope")}, body=b"block data")
    assert_error_response(r, 400, "Md5Mismatch")
    r = raw.request("PUT", f"/{cname}/blk.bin", query={"comp": "block", "blockid": "QUFBQQ=="},
                    headers={"Content-MD5": md5_b64(b"block data")}, body=b"block data")
    assert r.status == 201, r
    assert r.header("content-md5") == md5_b64(b"block data")


def test_sdk_validate_content(container):
    bc = container.get_blob_client("vc.bin")
    data = os.urandom(300 * 1024)
    bc.upload_blob(data, validate_content=True)
    assert bc.download_blob(validate_content=True).readall() == data


def test_content_crc64_validation(container, raw):
    cname = container.container_name
    data = b"hello world"
    assert crc64_b64(data) == "vo7q9sPVKY0="
    r = raw.put_blob(cname, "crc-ok.txt", data, headers={"x-ms-content-crc64": crc64_b64(data)})
    assert r.status == 201, r
    assert r.header("x-ms-content-crc64") == "vo7q9sPVKY0="
    assert container.get_blob_client("crc-ok.txt").download_blob().readall() == data

    r = raw.put_blob(cname, "crc-bad.txt", data, headers={"x-ms-content-crc64": crc64_b64(b"other")})
    assert_error_response(r, 400, "Crc64Mismatch")
    expect_error(container.get_blob_client("crc-bad.txt").get_blob_properties, 404, "BlobNotFound")

    r = raw.request("PUT", f"/{cname}/crc-blk", query={"comp": "block", "blockid": "QUFBQQ=="},
                    headers={"x-ms-content-crc64": crc64_b64(b"xyz")}, body=b"abc")
    assert_error_response(r, 400, "Crc64Mismatch")
    r = raw.request("PUT", f"/{cname}/crc-blk", query={"comp": "block", "blockid": "QUFBQQ=="},
                    headers={"x-ms-content-crc64": crc64_b64(b"abc")}, body=b"abc")
    assert r.status == 201, r

    # Both checksums at once is rejected.
    r = raw.put_blob(cname, "crc-both.txt", data, headers={"x-ms-content-crc64": crc64_b64(data),
                                                          "Content-MD5": md5_b64(data)})
    assert r.status == 400, r
    expect_error(container.get_blob_client("crc-both.txt").get_blob_properties, 404, "BlobNotFound")


def test_put_blob_response_headers(container, raw):
    r = raw.put_blob(container.container_name, "hdr.bin", b"abc",
                     headers={"x-ms-client-request-id": "my-request-42"})
    assert r.status == 201, r
    assert ETAG_RE.match(r.header("etag") or "")
    assert r.header("last-modified")
    assert r.header("content-md5") == md5_b64(b"abc")
    assert r.header("x-ms-request-id")
    assert r.header("x-ms-client-request-id") == "my-request-42"
    assert r.header("x-ms-request-server-encrypted") == "false"   # not encrypted at rest (docs/encryption.md)
    assert r.header("date")


def test_put_blob_stores_declared_md5(container, raw):
    """Put Blob with x-ms-blob-content-md5 stores that MD5 rather than computing one."""
    stored = base64.b64encode(hashlib.md5(b"declared").digest()).decode()
    r = raw.put_blob(container.container_name, "decl.bin", b"actual", headers={"x-ms-blob-content-md5": stored})
    assert r.status == 201, r
    p = container.get_blob_client("decl.bin").get_blob_properties()
    assert base64.b64encode(bytes(p.content_settings.content_md5)).decode() == stored


# ------------------------------------------------------------------------------------------------
# More protocol edges: ranges over block boundaries, conditions, Expect, Content-Length, races
# ------------------------------------------------------------------------------------------------

def test_ranged_reads_across_blocks(server, container):
    """A multi-block blob read back in ranges that start, end and straddle block boundaries."""
    block = 64 * 1024
    data = os.urandom(16 * block + 999)
    svc = BlobServiceClient.from_connection_string(server.connection_string, retry_total=0,
                                                   max_single_put_size=block, max_block_size=block)
    bc = svc.get_blob_client(container.container_name, "blocks/ranged.bin")
    bc.upload_blob(data, max_concurrency=3)
    committed, _ = bc.get_block_list("committed")
    assert len(committed) == 17
    for off, length in [(0, block), (block - 1, 2), (block, block), (5 * block - 7, 3 * block + 14),
                        (16 * block, 999), (16 * block - 1, 1000), (1, len(data) - 2)]:
        assert bc.download_blob(offset=off, length=length).readall() == data[off:off + length], (off, length)
    assert sha256(bc.download_blob().readall()) == sha256(data)


def test_range_md5_over_4mib_is_rejected(container, raw):
    container.get_blob_client("r5.bin").upload_blob(os.urandom(5 * MiB))
    r = raw.get_blob(container.container_name, "r5.bin",
                     headers={"x-ms-range": f"bytes=0-{4 * MiB}", "x-ms-range-get-content-md5": "true"})
    assert_error_response(r, 400, "OutOfRangeInput")
    r = raw.get_blob(container.container_name, "r5.bin",
                     headers={"x-ms-range": f"bytes=0-{4 * MiB - 1}", "x-ms-range-get-content-md5": "true"})
    assert r.status == 206 and len(r.body) == 4 * MiB, r


def test_conditional_writes(container, raw):
    from azure.core import MatchConditions
    bc = container.get_blob_client("cw.txt")
    etag = bc.upload_blob(b"v1")["etag"]
    expect_error(bc.upload_blob, 412, "ConditionNotMet", b"v2", overwrite=True,
                 etag='"0x8D0000000000001"', match_condition=MatchConditions.IfNotModified)
    assert bc.download_blob().readall() == b"v1"
    etag2 = bc.upload_blob(b"v2", overwrite=True, etag=etag, match_condition=MatchConditions.IfNotModified)["etag"]
    assert bc.download_blob().readall() == b"v2"
    # The old ETag no longer matches.
    expect_error(bc.set_blob_metadata, 412, "ConditionNotMet", {"a": "b"}, etag=etag,
                 match_condition=MatchConditions.IfNotModified)
    assert bc.get_blob_properties().etag == etag2
    # If-Match on a missing blob.
    r = raw.put_blob(container.container_name, "cw-missing.txt", b"x", headers={"If-Match": etag2})
    assert r.status in (404, 412), r
    expect_error(container.get_blob_client("cw-missing.txt").get_blob_properties, 404, "BlobNotFound")


def test_concurrent_create_only_has_one_winner(server, container):
    """If-None-Match: * is an atomic compare-and-set: exactly one of many racing creates wins."""
    from concurrent.futures import ThreadPoolExecutor
    from azure.core.exceptions import HttpResponseError
    name = "race.txt"

    def attempt(i):
        bc = server.client().get_blob_client(container.container_name, name)
        payload = f"writer {i}".encode() * 1000
        try:
            bc.upload_blob(payload, overwrite=False)
            return ("won", payload)
        except HttpResponseError as e:
            return (e.error_code, None)

    for round_ in range(3):
        name = f"race-{round_}.txt"
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(attempt, range(8)))
        winners = [p for r, p in results if r == "won"]
        losers = [r for r, _ in results if r != "won"]
        assert len(winners) == 1, results
        assert all(code == "BlobAlreadyExists" for code in losers), losers
        assert container.get_blob_client(name).download_blob().readall() == winners[0]


def test_expect_100_continue(server, container):
    """A PUT with Expect: 100-continue gets an interim 100 before the client sends the body."""
    import socket
    from cobalt_testlib import ACCOUNT, sign_shared_key
    import email.utils
    body = os.urandom(70000)
    path = f"/{ACCOUNT}/{container.container_name}/expect.bin"
    hdrs = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": "2021-12-02",
            "x-ms-blob-type": "BlockBlob", "Content-Length": str(len(body))}
    hdrs["Authorization"] = sign_shared_key("PUT", path, [], hdrs)
    req = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nExpect: 100-continue\r\n"
    req += "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(req.encode())
        s.settimeout(3)
        first = s.recv(4096)
        assert first.startswith(b"HTTP/1.1 100"), f"expected an interim 100 Continue, got {first[:100]!r}"
        s.settimeout(10)
        s.sendall(body)
        resp = b""
        while b"\r\n\r\n" not in resp:
            chunk = s.recv(4096)
            if not chunk:
                break
            resp += chunk
        assert resp.startswith(b"HTTP/1.1 201"), resp[:200]
    assert container.get_blob_client("expect.bin").download_blob().readall() == body


def test_put_blob_without_content_length(server, container):
    import socket
    from cobalt_testlib import ACCOUNT, sign_shared_key
    import email.utils
    path = f"/{ACCOUNT}/{container.container_name}/nolen.bin"
    hdrs = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": "2021-12-02",
            "x-ms-blob-type": "BlockBlob"}
    hdrs["Authorization"] = sign_shared_key("PUT", path, [], hdrs)
    req = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n"
    req += "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(req.encode())
        resp = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            resp += chunk
    status_line = resp.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 411"), resp[:300]
    assert b"x-ms-error-code: MissingContentLengthHeader" in resp.replace(b"X-Ms-Error-Code", b"x-ms-error-code"), \
        resp[:300]
    expect_error(container.get_blob_client("nolen.bin").get_blob_properties, 404, "BlobNotFound")


def test_metadata_culture_and_byte_order_signatures(container, raw):
    """Names mixing '_' and digits sort differently in the SDKs' culture order and in Go's byte order;
    the server must accept both signatures (doc §3.2)."""
    bc = container.get_blob_client("sortorder.txt")
    bc.upload_blob(b"x", metadata={"key1": "a", "key_2": "b", "ab": "1"})  # SDK: culture order
    assert bc.get_blob_properties().metadata == {"key1": "a", "key_2": "b", "ab": "1"}
    # Raw client signs with byte order (like azcopy / rclone).
    r = raw.request("PUT", f"/{container.container_name}/sortorder.txt", query={"comp": "metadata"},
                    headers={"x-ms-meta-key1": "c", "x-ms-meta-key_2": "d"})
    assert r.status == 200, r
    assert bc.get_blob_properties().metadata == {"key1": "c", "key_2": "d"}


def test_blob_name_length_limits(container):
    ok = "n" * 1024
    container.get_blob_client(ok).upload_blob(b"max length name")
    assert container.get_blob_client(ok).download_blob().readall() == b"max length name"
    expect_error(container.get_blob_client("n" * 1025).upload_blob, 400, "OutOfRangeInput", b"too long")


def test_keepalive_connection_survives_rejected_uploads(server, container):
    """A rejected PUT with a body must not poison the keep-alive connection it came on."""
    import http.client
    import email.utils
    from cobalt_testlib import ACCOUNT, sign_shared_key
    import base64 as b64
    wrong = b64.b64encode(os.urandom(64)).decode()
    body = os.urandom(1024 * 1024)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        def send(method, blob, data, extra=None, key=None, query=""):
            path = f"/{ACCOUNT}/{container.container_name}/{blob}"
            hdrs = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": "2021-12-02",
                    "x-ms-blob-type": "BlockBlob", "Content-Length": str(len(data))}
            hdrs.update(extra or {})
            kw = {"key": key} if key else {}
            qs = [tuple(kv.split("=", 1)) for kv in query.split("&")] if query else []
            hdrs["Authorization"] = sign_shared_key(method, path, qs, hdrs, **kw)
            conn.request(method, path + (f"?{query}" if query else ""), body=data, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, resp.getheader("x-ms-error-code"), payload

        cases = [
            ("wrong MD5", dict(blob="ka1.bin", data=body, extra={"Content-MD5": md5_b64(b"x")}), 400),
            ("wrong key", dict(blob="ka2.bin", data=body, key=wrong), 403),
            ("bad metadata", dict(blob="ka3.bin", data=body, extra={"x-ms-meta-bad-name": "1"}), 400),
            ("create-only conflict", dict(blob="ka0.bin", data=body, extra={"If-None-Match": "*"}), 409),
        ]
        status, _, _ = send("PUT", "ka0.bin", b"first")
        assert status == 201
        for label, kw, want in cases:
            status, code, _ = send("PUT", **kw)
            assert status == want, (label, status, code)
            # The next request on the same connection is answered correctly.
            status, code, _ = send("PUT", f"ok-after-{want}.bin", b"fine")
            assert status == 201, (label, "follow-up request failed", status, code)
    finally:
        conn.close()
    for want in (400, 403, 409):
        assert container.get_blob_client(f"ok-after-{want}.bin").download_blob().readall() == b"fine"
    for n in ("ka1.bin", "ka2.bin", "ka3.bin"):
        assert not container.get_blob_client(n).exists()
    assert container.get_blob_client("ka0.bin").download_blob().readall() == b"first"


def test_concurrent_overwrites_and_reads_are_atomic(server, container):
    """Readers racing writers of one blob always see one complete version, with that version's ETag."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    payloads = [os.urandom(300 * 1024 + i * 1000) for i in range(8)]
    digests = {sha256(p) for p in payloads}
    acked = {}  # etag -> digest
    lock = threading.Lock()
    stop = threading.Event()
    bad = []
    container.get_blob_client("mix.bin").upload_blob(payloads[0], overwrite=True)

    def writer(i):
        # Single-shot Put Blob only: racing block uploads to one name invalidate each other's staged
        # blocks (InvalidBlockList), as in Azure.
        bc = server.client().get_blob_client(container.container_name, "mix.bin")
        n = 0
        while not stop.is_set():
            p = payloads[(i + n) % len(payloads)]
            n += 1
            etag = bc.upload_blob(p, overwrite=True)["etag"]
            with lock:
                acked[etag] = sha256(p)

    def reader(_):
        bc = server.client().get_blob_client(container.container_name, "mix.bin")
        reads = 0
        while not stop.is_set():
            dl = bc.download_blob()
            data = dl.readall()
            reads += 1
            d = sha256(data)
            if d not in digests:
                bad.append(f"torn read: {len(data)} bytes matching no written version")
            with lock:
                known = acked.get(dl.properties.etag)
            if known is not None and known != d:
                bad.append(f"ETag {dl.properties.etag} served with another version's bytes")
        return reads

    with ThreadPoolExecutor(max_workers=8) as pool:
        ws = [pool.submit(writer, i) for i in range(3)]
        rs = [pool.submit(reader, i) for i in range(3)]
        time.sleep(3)
        stop.set()
        for w in ws:
            w.result()
        reads = sum(r.result() for r in rs)
    assert not bad, bad[:5]
    assert reads > 10 and len(acked) > 5


def test_range_crc64_and_checksum_flags(container, raw):
    data = os.urandom(1000)
    container.get_blob_client("c64.bin").upload_blob(data)
    r = raw.get_blob(container.container_name, "c64.bin",
                     headers={"x-ms-range": "bytes=10-109", "x-ms-range-get-content-crc64": "true"})
    assert r.status == 206 and r.header("x-ms-content-crc64") == crc64_b64(data[10:110]), r
    r = raw.get_blob(container.container_name, "c64.bin",
                     headers={"x-ms-range": "bytes=0-9", "x-ms-range-get-content-md5": "true",
                              "x-ms-range-get-content-crc64": "true"})
    assert r.status == 400, r


def test_property_header_precedence_and_backslash(container, raw):
    cname = container.container_name
    r = raw.put_blob(cname, "ct-both", b"x", headers={"Content-Type": "text/plain", "x-ms-blob-content-type": "text/x-ms"})
    assert r.status == 201, r
    r = raw.put_blob(cname, "ct-plain", b"x", headers={"Content-Type": "text/plain"})
    assert r.status == 201, r
    assert container.get_blob_client("ct-both").get_blob_properties().content_settings.content_type == "text/x-ms"
    assert container.get_blob_client("ct-plain").get_blob_properties().content_settings.content_type == "text/plain"
    # A backslash in a blob name becomes '/'.
    r = raw.request("PUT", f"/{cname}/back\\slash.txt", headers={"x-ms-blob-type": "BlockBlob"}, body=b"bs")
    assert r.status == 201, r
    assert [b.name for b in container.list_blobs(name_starts_with="back")] == ["back/slash.txt"]
    assert container.get_blob_client("back/slash.txt").download_blob().readall() == b"bs"


def test_malformed_version_header(container, raw):
    r = raw.request("GET", f"/{container.container_name}", query={"restype": "container"}, version="garbage")
    assert_error_response(r, 400, "InvalidHeaderValue")
    assert b"x-ms-version" in r.body
