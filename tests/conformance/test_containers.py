"""Container operations: create, properties, metadata, delete, list, naming rules."""
import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from azure.storage.blob import AccountSasPermissions, PublicAccess, ResourceTypes, generate_account_sas

from cobalt_testlib import (ACCOUNT, ETAG_RE, KEY, assert_error_response, expect_error, unique_name,
                            utcnow)


def test_create_get_properties_and_conflict(service, raw):
    name = unique_name("c")
    before = utcnow() - dt.timedelta(seconds=2)
    cc = service.create_container(name, metadata={"Owner": "tests", "purpose_1": "x"})
    props = cc.get_container_properties()
    assert props.name == name
    assert ETAG_RE.match(props.etag), props.etag
    assert before <= props.last_modified <= utcnow() + dt.timedelta(seconds=2)
    assert props.metadata == {"Owner": "tests", "purpose_1": "x"}
    assert props.public_access is None
    assert props.lease.status == "unlocked" and props.lease.state == "available"

    e = expect_error(service.create_container, 409, "ContainerAlreadyExists", name)
    assert e is not None
    # The conflicting create must not have touched the existing container.
    props2 = cc.get_container_properties()
    assert props2.etag == props.etag and props2.metadata == props.metadata

    # Raw: 201 on create, ETag + Last-Modified headers; x-ms-error-code on the 409.
    name2 = unique_name("c")
    r = raw.request("PUT", f"/{name2}", query={"restype": "container"})
    assert r.status == 201, r
    assert ETAG_RE.match(r.header("etag") or ""), r.header("etag")
    assert r.header("last-modified")
    assert r.header("x-ms-request-id")
    r = raw.request("PUT", f"/{name2}", query={"restype": "container"})
    assert_error_response(r, 409, "ContainerAlreadyExists")
    r = raw.request("HEAD", f"/{name2}", query={"restype": "container"})
    assert r.status == 200 and r.body == b""
    service.delete_container(name2)
    cc.delete_container()


def test_container_metadata_set_get(container):
    p0 = container.get_container_properties()
    assert p0.metadata == {}
    container.set_container_metadata({"Alpha": "1", "beta": "two"})
    p1 = container.get_container_properties()
    assert p1.metadata == {"Alpha": "1", "beta": "two"}
    assert p1.etag != p0.etag, "container ETag must change on Set Container Metadata"
    # Set replaces the whole set; empty clears it.
    container.set_container_metadata({"gamma": "3"})
    assert container.get_container_properties().metadata == {"gamma": "3"}
    container.set_container_metadata({})
    assert container.get_container_properties().metadata == {}


def test_container_metadata_raw_get(container, raw):
    container.set_container_metadata({"Key1": "v1"})
    r = raw.request("GET", f"/{container.container_name}", query={"restype": "container", "comp": "metadata"})
    assert r.status == 200, r
    assert r.header("x-ms-meta-Key1") == "v1"
    assert ETAG_RE.match(r.header("etag") or "")


def test_container_invalid_metadata_name(container):
    expect_error(container.set_container_metadata, 400, "InvalidMetadata", {"bad-name": "1"})
    expect_error(container.set_container_metadata, 400, "InvalidMetadata", {"1abc": "1"})
    assert container.get_container_properties().metadata == {}


def test_delete_container(service, raw):
    name = unique_name("c")
    cc = service.create_container(name)
    cc.upload_blob("a.txt", b"hello")
    r = raw.request("DELETE", f"/{name}", query={"restype": "container"})
    assert r.status == 202, r
    expect_error(cc.get_container_properties, 404, "ContainerNotFound")
    expect_error(cc.delete_container, 404, "ContainerNotFound")
    expect_error(cc.get_blob_client("a.txt").download_blob, 404, "ContainerNotFound")
    expect_error(lambda: list(cc.list_blobs()), 404, "ContainerNotFound")
    r = raw.request("HEAD", f"/{name}", query={"restype": "container"})
    assert_error_response(r, 404, "ContainerNotFound", head=True)
    r = raw.request("GET", f"/{name}", query={"restype": "container"})
    assert_error_response(r, 404, "ContainerNotFound")
    assert name not in [c.name for c in service.list_containers(name_starts_with=name)]


def test_blob_op_on_missing_container(service):
    bc = service.get_blob_client(unique_name("nocontainer"), "x")
    expect_error(bc.upload_blob, 404, "ContainerNotFound", b"data")
    expect_error(bc.download_blob, 404, "ContainerNotFound")


def test_list_containers_prefix_marker_maxresults_metadata(service, raw):
    prefix = unique_name("lc")
    names = sorted(f"{prefix}-{i:02d}" for i in range(7))
    for i, n in enumerate(names):
        service.create_container(n, metadata={"idx": str(i)} if i % 2 == 0 else None)
    try:
        other = service.create_container(unique_name("zz"))
        listed = [c.name for c in service.list_containers(name_starts_with=prefix)]
        assert listed == names

        # Paging: 3 per page, continuation tokens, every name once, in order.
        pages = list(service.list_containers(name_starts_with=prefix, results_per_page=3).by_page())
        page_names = [[c.name for c in p] for p in pages]
        assert [len(p) for p in page_names] == [3, 3, 1], page_names
        assert sum(page_names, []) == names

        # Resume from a continuation token in a new iterator.
        it = service.list_containers(name_starts_with=prefix, results_per_page=3).by_page()
        next(it)
        token = it.continuation_token
        assert token
        rest = [c.name for p in service.list_containers(name_starts_with=prefix, results_per_page=3)
                .by_page(continuation_token=token) for c in p]
        assert rest == names[3:]

        # include=metadata
        with_md = {c.name: c.metadata for c in service.list_containers(name_starts_with=prefix, include_metadata=True)}
        for i, n in enumerate(names):
            assert (with_md[n] or {}) == ({"idx": str(i)} if i % 2 == 0 else {}), (n, with_md[n])

        # Raw XML shape: echo of Prefix/MaxResults, quoted container Etag, NextMarker.
        r = raw.request("GET", "", query={"comp": "list", "prefix": prefix, "maxresults": "2"})
        assert r.status == 200, r
        assert "xml" in (r.header("content-type") or "")
        root = ET.fromstring(r.body)
        assert root.tag == "EnumerationResults"
        assert root.findtext("Prefix") == prefix
        assert root.findtext("MaxResults") == "2"
        got = [c.findtext("Name") for c in root.find("Containers")]
        assert got == names[:2]
        etag = root.find("Containers/Container/Properties/Etag").text
        assert ETAG_RE.match(etag), f"container <Etag> should be quoted: {etag!r}"
        assert root.find("Containers/Container/Properties/Last-Modified").text
        marker = root.findtext("NextMarker")
        assert marker, "NextMarker must be non-empty when more results remain"
        r2 = raw.request("GET", "", query={"comp": "list", "prefix": prefix, "maxresults": "5", "marker": marker})
        root2 = ET.fromstring(r2.body)
        assert root2.findtext("Marker") == marker
        assert [c.findtext("Name") for c in root2.find("Containers")] == names[2:7]
        nm = root2.find("NextMarker")
        assert nm is not None and not (nm.text or ""), "last page must carry an empty <NextMarker />"

        # maxresults=0 is out of range.
        r = raw.request("GET", "", query={"comp": "list", "maxresults": "0"})
        assert_error_response(r, 400, "OutOfRangeQueryParameterValue")
        other.delete_container()
    finally:
        for n in names:
            service.delete_container(n)


@pytest.mark.parametrize("name,code", [
    ("ab", "OutOfRangeInput"),
    ("a" * 64, "OutOfRangeInput"),
    ("Upper", "InvalidResourceName"),
    ("a--b", "InvalidResourceName"),
    ("-abc", "InvalidResourceName"),
    ("abc-", "InvalidResourceName"),
    ("abc_d", "InvalidResourceName"),
])
def test_invalid_container_names(service, raw, name, code):
    expect_error(service.create_container, 400, code, name)
    r = raw.request("PUT", f"/{name}", query={"restype": "container"})
    assert_error_response(r, 400, code)
    # Nothing was created.
    assert all(c.name != name for c in service.list_containers())


def test_valid_edge_container_names(service):
    for name in ("abc", "a" * 63, "0-9", unique_name("x-y-")):
        cc = service.create_container(name)
        assert cc.get_container_properties().name == name
        cc.delete_container()


def test_public_access_property(service):
    name = unique_name("c")
    cc = service.create_container(name, public_access=PublicAccess.Container)
    try:
        assert cc.get_container_properties().public_access == "container"
        listed = [c for c in service.list_containers(name_starts_with=name)]
        assert listed[0].public_access == "container"
    finally:
        cc.delete_container()


def test_rename_container(service, raw):
    src, dst = unique_name("rn"), unique_name("rn")
    cc = service.create_container(src, metadata={"owner": "tests"})
    cc.upload_blob("a/one", b"first", tags={"rename": src})
    cc.upload_blob("two", b"second")
    before = cc.get_container_properties()

    moved = service._rename_container(src, dst)
    assert moved.container_name == dst
    after = moved.get_container_properties()
    assert (after.etag, after.metadata) == (before.etag, {"owner": "tests"})
    assert sorted(b.name for b in moved.list_blobs()) == ["a/one", "two"]
    assert moved.download_blob("a/one").readall() == b"first"
    assert [(b.container_name, b.name) for b in service.find_blobs_by_tags(f"\"rename\" = '{src}'")] == \
        [(dst, "a/one")]
    assert_error_response(raw.request("GET", f"/{src}", query={"restype": "container"}), 404,
                          "ContainerNotFound")
    assert_error_response(raw.request("GET", f"/{src}/two"), 404, "ContainerNotFound")
    # The old name is free again, and independent of the moved container.
    service.create_container(src).upload_blob("new", b"new")
    assert sorted(b.name for b in moved.list_blobs()) == ["a/one", "two"]


def test_rename_container_failures(service, raw):
    a, b = unique_name("rf"), unique_name("rf")
    ca = service.create_container(a)
    ca.upload_blob("x", b"x")
    service.create_container(b)

    def rename(dst, src, headers=None):
        return raw.request("PUT", f"/{dst}", query={"restype": "container", "comp": "rename"},
                           headers={"x-ms-source-container-name": src, **(headers or {})})

    r = raw.request("PUT", f"/{b}", query={"restype": "container", "comp": "rename"})
    assert_error_response(r, 400, "MissingRequiredHeader")
    assert_error_response(rename(unique_name("rf"), "Not_A_Name"), 400, "InvalidHeaderValue")
    assert_error_response(rename(unique_name("rf"), unique_name("gone")), 404, "ContainerNotFound")
    assert_error_response(rename(b, a), 409, "ContainerAlreadyExists")
    assert_error_response(rename(a, a), 409, "ContainerAlreadyExists")
    assert [x.name for x in ca.list_blobs()] == ["x"]            # both untouched

    lease = ca.acquire_lease(lease_duration=-1)
    dst = unique_name("rf")
    assert_error_response(rename(dst, a), 412, "LeaseIdMissing")
    assert_error_response(rename(dst, a, {"x-ms-source-lease-id": "01234567-89ab-cdef-0123-456789abcdef"}),
                          412, "LeaseIdMismatchWithContainerOperation")
    assert rename(dst, a, {"x-ms-source-lease-id": lease.id}).status == 200
    assert service.get_container_client(dst).get_container_properties().lease.state == "leased"
    assert_error_response(rename(unique_name("rf"), b, {"x-ms-source-lease-id": lease.id}), 412,
                          "LeaseNotPresentWithContainerOperation")

    # Two containers at once: the account key only, no SAS.
    sas = generate_account_sas(ACCOUNT, KEY, ResourceTypes(service=True, container=True, object=True),
                               AccountSasPermissions(read=True, write=True, delete=True, create=True),
                               utcnow() + dt.timedelta(hours=1))
    r = raw.request("PUT", f"/{unique_name('rf')}", raw_query="restype=container&comp=rename&" + sas,
                    headers={"x-ms-source-container-name": b}, sign=False)
    assert_error_response(r, 403, "AuthorizationPermissionMismatch")
