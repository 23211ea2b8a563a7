"""List Blobs over 5,000+ blobs: flat, hierarchical, prefix, paging, include=metadata/uncommittedblobs."""
import collections
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.storage.blob import BlobPrefix, BlobServiceClient

from cobalt_testlib import assert_error_response, unique_name

N_DEEP = 5000
N_TOP = 150


def _names():
    names = [f"d{i % 10}/s{(i // 10) % 5}/b{i:05d}.txt" for i in range(N_DEEP)]
    names += [f"top{i:04d}" for i in range(N_TOP)]
    # A few names where UTF-8 byte order matters, and one with a space.
    names += ["d0/zeta space.txt", "d1/Ärger.txt", "d1/Zulu.txt", "d1/ä.txt", "d1/~tilde"]
    return names


def utf8_sorted(names):
    return sorted(names, key=lambda s: s.encode("utf-8"))


@pytest.fixture(scope="module")
def big(server):
    """A container with 5,155 small blobs, uploaded concurrently; every d3/* blob has metadata."""
    svc = BlobServiceClient.from_connection_string(server.connection_string, retry_total=0)
    name = unique_name("list")
    cc = svc.create_container(name)
    names = _names()

    def up(n):
        md = {"Index": n.rsplit("/", 1)[-1]} if n.startswith("d3/") else None
        cc.get_blob_client(n).upload_blob(n.encode(), metadata=md)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(up, names))
    yield cc, utf8_sorted(names)
    cc.delete_container()


def test_flat_list_all(big):
    cc, names = big
    listed = [b.name for b in cc.list_blobs()]
    assert len(listed) == len(names)
    assert len(set(listed)) == len(listed), "duplicates in flat listing"
    assert listed == names, "flat listing must be complete and in UTF-8 byte order"


def test_flat_paging_by_page(big):
    cc, names = big
    pages = list(cc.list_blobs(results_per_page=1000).by_page())
    page_lists = [[b.name for b in p] for p in pages]
    assert [len(p) for p in page_lists] == [1000] * 5 + [len(names) - 5000]
    assert sum(page_lists, []) == names

    # Resume with an explicit continuation token from a new iterator at each step.
    collected, token = [], None
    for _ in range(20):
        it = cc.list_blobs(results_per_page=777).by_page(continuation_token=token)
        page = next(it)
        collected += [b.name for b in page]
        token = it.continuation_token
        if not token:
            break
    assert collected == names


def test_flat_prefix(big):
    cc, names = big
    for prefix in ("d3/", "d3/s2/", "top00", "d1/", "nothing-here/", "d0/zeta"):
        expected = [n for n in names if n.startswith(prefix)]
        listed = [b.name for b in cc.list_blobs(name_starts_with=prefix)]
        assert listed == expected, prefix
    paged = [[b.name for b in p] for p in cc.list_blobs(name_starts_with="d3/", results_per_page=128).by_page()]
    assert sum(paged, []) == [n for n in names if n.startswith("d3/")]
    assert all(len(p) <= 128 for p in paged)


def test_hierarchical_top_level(big):
    cc, names = big
    items = list(cc.walk_blobs(delimiter="/"))
    prefixes = [i.name for i in items if isinstance(i, BlobPrefix)]
    blobs = [i.name for i in items if not isinstance(i, BlobPrefix)]
    assert sorted(prefixes) == [f"d{i}/" for i in range(10)]
    assert len(prefixes) == len(set(prefixes))
    assert blobs == [n for n in names if "/" not in n]


def test_hierarchical_nested_and_recursive_walk(big):
    cc, names = big
    items = list(cc.walk_blobs(name_starts_with="d1/", delimiter="/"))
    prefixes = sorted(i.name for i in items if isinstance(i, BlobPrefix))
    blobs = sorted(i.name for i in items if not isinstance(i, BlobPrefix))
    assert prefixes == [f"d1/s{j}/" for j in range(5)]
    assert blobs == sorted(["d1/Ärger.txt", "d1/Zulu.txt", "d1/ä.txt", "d1/~tilde"])

    # Walk the whole tree through the prefixes: every blob exactly once.
    seen = collections.Counter()

    def walk(prefix):
        for item in cc.walk_blobs(name_starts_with=prefix, delimiter="/"):
            if isinstance(item, BlobPrefix):
                walk(item.name)
            else:
                seen[item.name] += 1

    walk(None)
    assert set(seen) == set(names)
    assert max(seen.values()) == 1


def test_hierarchical_paging_counts_prefixes(big, raw):
    """maxresults counts BlobPrefix entries too; order is by name; NextMarker empty at the end."""
    cc, names = big
    cname = cc.container_name
    entries, marker = [], None
    for _ in range(100):
        q = {"restype": "container", "comp": "list", "delimiter": "/", "maxresults": "4"}
        if marker:
            q["marker"] = marker
        r = raw.request("GET", f"/{cname}", query=q)
        assert r.status == 200, r
        root = ET.fromstring(r.body)
        assert root.findtext("Delimiter") == "/"
        blobs_el = root.find("Blobs")
        page = []
        for el in blobs_el:
            assert el.tag in ("Blob", "BlobPrefix"), el.tag
            page.append((el.tag, el.findtext("Name")))
        assert len(page) <= 4
        entries += page
        marker = root.findtext("NextMarker")
        if not marker:
            assert root.find("NextMarker") is not None, "<NextMarker /> must be present on the last page"
            break
        assert len(page) == 4, "a non-final page must be full"
    expected = [("BlobPrefix", f"d{i}/") for i in range(10)] + [("Blob", n) for n in names if "/" not in n]
    expected.sort(key=lambda t: t[1].encode())
    assert entries == expected


def test_hierarchical_sdk_pages(big):
    cc, names = big
    pages = [list(p) for p in cc.walk_blobs(name_starts_with="d2/s3/", delimiter="/", results_per_page=30).by_page()]
    got = [i.name for p in pages for i in p]
    assert got == [n for n in names if n.startswith("d2/s3/")]
    assert len(pages) == (len(got) + 29) // 30
    assert all(len(p) <= 30 for p in pages)


def test_list_include_metadata(big):
    cc, names = big
    with_md = list(cc.list_blobs(name_starts_with="d3/s0/", include=["metadata"]))
    assert len(with_md) == len([n for n in names if n.startswith("d3/s0/")])
    for b in with_md:
        assert b.metadata == {"Index": b.name.rsplit("/", 1)[-1]}, b.name
    others = list(cc.list_blobs(name_starts_with="d4/s0/", include=["metadata"]))
    assert others and all(not b.metadata for b in others)
    # Without include=metadata no metadata comes back.
    plain = list(cc.list_blobs(name_starts_with="d3/s0/"))
    assert all(not b.metadata for b in plain)


def test_list_blob_properties_in_listing(big, raw):
    cc, _ = big
    r = raw.request("GET", f"/{cc.container_name}",
                    query={"restype": "container", "comp": "list", "prefix": "top0000", "include": "metadata"})
    assert r.status == 200, r
    root = ET.fromstring(r.body)
    assert root.get("ContainerName") == cc.container_name
    assert root.findtext("Prefix") == "top0000"
    [blob] = root.findall("Blobs/Blob")
    assert blob.findtext("Name") == "top0000"
    props = blob.find("Properties")
    etag = props.findtext("Etag")
    assert etag and not etag.startswith('"'), f"blob <Etag> in listings is unquoted: {etag!r}"
    assert props.findtext("Content-Length") == str(len(b"top0000"))
    assert props.findtext("BlobType") == "BlockBlob"
    assert props.findtext("Last-Modified")
    assert props.findtext("Content-MD5")
    assert props.findtext("LeaseStatus") == "unlocked"
    assert blob.find("Metadata") is not None, "include=metadata must emit <Metadata> even when empty"
    head = cc.get_blob_client("top0000").get_blob_properties()
    assert head.etag.strip('"') == etag


def test_list_include_uncommitted(container):
    container.get_blob_client("committed").upload_blob(b"c")
    container.get_blob_client("staged").stage_block("b1", b"s")
    assert [b.name for b in container.list_blobs()] == ["committed"]
    assert [b.name for b in container.list_blobs(include=["uncommittedblobs"])] == ["committed", "staged"]
    assert [b.name for b in container.list_blobs(include=["uncommittedblobs", "metadata"])] == ["committed", "staged"]


def test_list_invalid_include(container, raw):
    r = raw.request("GET", f"/{container.container_name}",
                    query={"restype": "container", "comp": "list", "include": "bogus"})
    assert_error_response(r, 400, "InvalidQueryParameterValue")


def test_list_empty_container(container, raw):
    assert list(container.list_blobs()) == []
    r = raw.request("GET", f"/{container.container_name}", query={"restype": "container", "comp": "list"})
    assert r.status == 200, r
    root = ET.fromstring(r.body)
    assert list(root.find("Blobs")) == []


def test_names_illegal_in_xml_are_encoded(container, raw):
    """From 2021-12-02 a name with characters XML 1.0 cannot carry is listed as <Name Encoded="true">."""
    odd = "nonchar\ufffe.txt"
    container.get_blob_client(odd).upload_blob(b"odd")
    container.get_blob_client("plain.txt").upload_blob(b"plain")
    assert container.get_blob_client(odd).download_blob().readall() == b"odd"
    assert sorted(b.name for b in container.list_blobs()) == sorted([odd, "plain.txt"])
    r = raw.request("GET", f"/{container.container_name}", query={"restype": "container", "comp": "list"})
    assert r.status == 200, r
    root = ET.fromstring(r.body)  # must be well-formed XML
    names = root.findall("Blobs/Blob/Name")
    encoded = [n for n in names if n.get("Encoded") == "true"]
    assert len(encoded) == 1, r.body[:500]


def test_default_and_capped_page_size(big, raw):
    """Without maxresults a page holds at most 5000 entries; larger values are capped at 5000."""
    cc, names = big
    for q in ({}, {"maxresults": "6000"}):
        query = {"restype": "container", "comp": "list", **q}
        r = raw.request("GET", f"/{cc.container_name}", query=query)
        assert r.status == 200, r
        root = ET.fromstring(r.body)
        page = [b.findtext("Name") for b in root.findall("Blobs/Blob")]
        assert page == names[:5000], q
        marker = root.findtext("NextMarker")
        assert marker, q
        r = raw.request("GET", f"/{cc.container_name}", query={**query, "marker": marker})
        root = ET.fromstring(r.body)
        assert [b.findtext("Name") for b in root.findall("Blobs/Blob")] == names[5000:]
        assert not root.findtext("NextMarker")


def test_other_delimiters(container):
    names = ["a-1", "a-2", "a::x", "a::y::z", "b", "b-c-d", "c::"]
    for n in names:
        container.get_blob_client(n).upload_blob(n.encode())

    def level(delim, prefix=None):
        out = []
        for i in container.walk_blobs(name_starts_with=prefix, delimiter=delim):
            out.append(("P:" if isinstance(i, BlobPrefix) else "B:") + i.name)
        return sorted(out)

    assert level("-") == ["B:a::x", "B:a::y::z", "B:b", "B:c::", "P:a-", "P:b-"]
    assert level("::") == ["B:a-1", "B:a-2", "B:b", "B:b-c-d", "P:a::", "P:c::"]
    assert level("::", "a::") == ["B:a::x", "P:a::y::"]
    assert level("-", "b-") == ["P:b-c-"]


def test_marker_survives_deletes_and_inserts(container):
    names = [f"m{i:02d}" for i in range(10)]
    for n in names:
        container.get_blob_client(n).upload_blob(b"x")
    it = container.list_blobs(results_per_page=3).by_page()
    first = [b.name for b in next(it)]
    assert first == names[:3]
    token = it.continuation_token
    # Change the container between pages: delete the next blob, add one before and one after the marker.
    container.get_blob_client("m03").delete_blob()
    container.get_blob_client("m00a").upload_blob(b"before marker")
    container.get_blob_client("m99").upload_blob(b"after marker")
    rest = [b.name for p in container.list_blobs(results_per_page=3).by_page(continuation_token=token) for b in p]
    assert rest == names[4:] + ["m99"]


def test_container_etag_unchanged_by_blob_writes(container):
    before = container.get_container_properties().etag
    container.get_blob_client("x").upload_blob(b"x")
    container.get_blob_client("x").set_blob_metadata({"a": "b"})
    container.get_blob_client("x").delete_blob()
    assert container.get_container_properties().etag == before
