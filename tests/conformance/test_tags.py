"""Blob index tags (protocol doc §2.7, §4.8, §4.9, §5.9): Set/Get Blob Tags, tags on upload
(x-ms-tags), Find Blobs by Tags at account and container level with paging, x-ms-if-tags, SAS
permissions t and f, and the secondary index staying right across overwrite, delete, container
delete and restart."""
import datetime
import re
import subprocess
import urllib.parse

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import (AccountSasPermissions, BlobBlock, BlobClient, BlobSasPermissions,
                                BlobServiceClient, ContainerClient, ContainerSasPermissions,
                                ResourceTypes, generate_account_sas, generate_blob_sas,
                                generate_container_sas)

from cobalt_testlib import (ACCOUNT, KEY, CobaltServer, assert_error_response, expect_error,
                            unique_name)


def _find(client, where, **kw):
    return [(b.container_name, b.name, dict(b.tags or {}))
            for b in client.find_blobs_by_tags(where, **kw)]


def _names(client, where, **kw):
    return sorted(n for _, n, _ in _find(client, where, **kw))


def _expiry():
    return datetime.datetime.utcnow() + datetime.timedelta(hours=1)


# ---- Set / Get Blob Tags --------------------------------------------------------------------

def test_set_get_tags_roundtrip_keeps_etag(container):
    bc = container.upload_blob("a.txt", b"hello")
    before = bc.get_blob_properties()
    assert before.tag_count in (None, 0)
    tags = {"project": "cobalt", "team name": "a b", "chars": "+-./:=_ 09AZaz"}
    bc.set_blob_tags(tags)
    assert bc.get_blob_tags() == tags
    after = bc.get_blob_properties()
    assert after.etag == before.etag, "Set Blob Tags must not change the ETag"
    assert after.last_modified == before.last_modified
    assert after.tag_count == 3
    # Set replaces the whole set; an empty set removes all.
    bc.set_blob_tags({"only": "one"})
    assert bc.get_blob_tags() == {"only": "one"}
    bc.set_blob_tags({})
    assert bc.get_blob_tags() == {}
    assert bc.get_blob_properties().tag_count in (None, 0)


def test_raw_set_and_get_shape(raw, container):
    c = container.container_name
    assert raw.put_blob(c, "raw.txt", b"x").status == 201
    etag = raw.head_blob(c, "raw.txt").header("ETag")
    body = (b'<?xml version="1.0" encoding="utf-8"?><Tags><TagSet>'
            b'<Tag><Key>k</Key><Value>v</Value></Tag><Tag><Key>e</Key><Value></Value></Tag>'
            b'</TagSet></Tags>')
    r = raw.request("PUT", f"/{c}/raw.txt", {"comp": "tags"}, body=body,
                    headers={"Content-Type": "application/xml"})
    assert r.status == 204, r
    assert r.body == b""
    g = raw.request("GET", f"/{c}/raw.txt", {"comp": "tags"})
    assert g.status == 200, g
    assert g.header("Content-Type") == "application/xml"
    assert re.search(rb"<Tags><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>"
                     rb"<Tag><Key>e</Key><Value ?/?>(</Value>)?</Tag></TagSet></Tags>", g.body), g.body
    h = raw.head_blob(c, "raw.txt")
    assert h.header("ETag") == etag
    assert h.header("x-ms-tag-count") == "2"
    assert raw.get_blob(c, "raw.txt").header("x-ms-tag-count") == "2"
    # No tags: an empty TagSet, and no x-ms-tag-count.
    assert raw.put_blob(c, "none.txt", b"x").status == 201
    g = raw.request("GET", f"/{c}/none.txt", {"comp": "tags"})
    assert g.status == 200 and re.search(rb"<Tags><TagSet ?/?>(</TagSet>)?</Tags>", g.body), g.body
    assert raw.head_blob(c, "none.txt").header("x-ms-tag-count") is None
    # <Tags/> alone also clears.
    r = raw.request("PUT", f"/{c}/raw.txt", {"comp": "tags"}, body=b"<Tags/>")
    assert r.status == 204, r
    assert raw.head_blob(c, "raw.txt").header("x-ms-tag-count") is None


def test_tags_on_missing_blob_404(raw, container):
    c = container.container_name
    r = raw.request("GET", f"/{c}/nope", {"comp": "tags"})
    assert_error_response(r, 404, "BlobNotFound")
    r = raw.request("PUT", f"/{c}/nope", {"comp": "tags"}, body=b"<Tags><TagSet/></Tags>")
    assert_error_response(r, 404, "BlobNotFound")


def test_get_tags_of_snapshot_returns_base_tags(container):
    bc = container.upload_blob("s.txt", b"x", tags={"k": "v"})
    try:
        snap = bc.create_snapshot()
    except HttpResponseError as e:
        pytest.skip(f"snapshots not available: {e.status_code}")
    sc = container.get_blob_client("s.txt", snapshot=snap["snapshot"])
    assert sc.get_blob_tags() == {"k": "v"}


def test_tags_on_version_id(raw, container):
    c = container.container_name
    assert raw.put_blob(c, "v.txt", b"x").status == 201
    # Without versioning there is no version to name.
    r = raw.request("GET", f"/{c}/v.txt", {"comp": "tags", "versionid": "2024-01-01T00:00:00.0000000Z"})
    assert_error_response(r, 404, "BlobNotFound")
    r = raw.request("GET", f"/{c}/v.txt", {"comp": "tags", "versionid": "yesterday"})
    assert_error_response(r, 400, "InvalidQueryParameterValue")
    # Set Blob Tags cannot target a snapshot.
    r = raw.request("PUT", f"/{c}/v.txt", {"comp": "tags", "snapshot": "2024-01-01T00:00:00.0000000Z"},
                    body=b"<Tags><TagSet/></Tags>")
    assert r.status == 400, r


def test_tags_with_versioning(tmp_path):
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log", args=["--versioning", "all"]).start()
    try:
        svc = srv.client()
        cc = svc.create_container("vers")
        bc = cc.get_blob_client("b")
        v1 = bc.upload_blob(b"one", tags={"gen": "1"})["version_id"]
        v2 = bc.upload_blob(b"two", overwrite=True, tags={"gen": "2"})["version_id"]
        assert v1 and v2 and v1 != v2
        assert bc.get_blob_tags() == {"gen": "2"}
        assert bc.get_blob_tags(version_id=v1) == {"gen": "1"}
        assert bc.get_blob_tags(version_id=v2) == {"gen": "2"}
        # Tags of a previous version change without touching the current blob or the index.
        bc.set_blob_tags({"gen": "old"}, version_id=v1)
        assert bc.get_blob_tags(version_id=v1) == {"gen": "old"}
        assert bc.get_blob_tags() == {"gen": "2"}
        assert _names(svc, "\"gen\" = 'old'") == []
        assert _names(svc, "\"gen\" = '1'") == []
        assert _names(svc, "\"gen\" = '2'") == ["b"]
        # Tags on the current version id are the current blob's.
        bc.set_blob_tags({"gen": "3"}, version_id=v2)
        assert _names(svc, "\"gen\" = '3'") == ["b"]
        # Deleting the blob leaves only versions: nothing current to find.
        bc.delete_blob()
        assert _names(svc, "\"gen\" = '3'") == []
    finally:
        srv.stop()


# ---- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize("tags,code", [
    ({f"k{i}": "v" for i in range(11)}, "TagsTooLarge"),
    ({"k" * 129: "v"}, "TagsTooLarge"),
    ({"k": "v" * 257}, "TagsTooLarge"),
    ({"bad!": "v"}, "InvalidTag"),
    ({"k": "semi;colon"}, "InvalidTag"),
    ({"k": "caf\u00e9"}, "InvalidTag"),
    ({"": "v"}, ("InvalidTag", "EmptyTagName")),
])
def test_invalid_tags_400(container, tags, code):
    bc = container.upload_blob("v.txt", b"x", overwrite=True)
    expect_error(bc.set_blob_tags, 400, code, tags)
    assert bc.get_blob_tags() == {}
    # The same tags on upload are refused, and nothing is written.
    nb = container.get_blob_client(unique_name("n"))
    expect_error(nb.upload_blob, 400, code, b"x", tags=tags)
    assert not nb.exists()


def test_limits_accepted(container):
    bc = container.upload_blob("lim.txt", b"x")
    tags = {f"k{i}": "v" for i in range(9)}
    tags["K" * 128] = "v" * 256
    bc.set_blob_tags(tags)
    assert bc.get_blob_tags() == tags
    bc.set_blob_tags({"e": ""})
    assert bc.get_blob_tags() == {"e": ""}


def test_duplicate_and_malformed_bodies(raw, container):
    c = container.container_name
    assert raw.put_blob(c, "d.txt", b"x").status == 201
    dup = (b"<Tags><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
           b"<Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tags>")
    assert_error_response(raw.request("PUT", f"/{c}/d.txt", {"comp": "tags"}, body=dup), 400,
                          "DuplicateTagNames")
    for body in (b"not xml", b"<Other/>", b"<Tags><TagSet><Tag><Value>1</Value></Tag></TagSet></Tags>",
                 b"<Tags><TagSet><Nope/></TagSet></Tags>"):
        assert_error_response(raw.request("PUT", f"/{c}/d.txt", {"comp": "tags"}, body=body), 400,
                              "InvalidXmlDocument")
    # Bad x-ms-tags headers on upload.
    r = raw.put_blob(c, "h.txt", b"x", headers={"x-ms-tags": "a=%zz"})
    assert_error_response(r, 400, "InvalidHeaderValue")
    r = raw.put_blob(c, "h.txt", b"x", headers={"x-ms-tags": "a=1&a=2"})
    assert_error_response(r, 400, "DuplicateTagNames")
    assert raw.head_blob(c, "h.txt").status == 404


# ---- tags on upload ----------------------------------------------------------------------

def test_upload_with_tags_and_plus_as_space(raw, container):
    c = container.container_name
    tags = {"project": "x", "team name": "a b", "path": "a/b:c=d"}
    bc = container.upload_blob("u.txt", b"data", tags=tags)
    assert bc.get_blob_tags() == tags
    r = raw.put_blob(c, "plus.txt", b"x", headers={"x-ms-tags": "a+b=c+d&lit=%2B"})
    assert r.status == 201, r
    assert container.get_blob_client("plus.txt").get_blob_tags() == {"a b": "c d", "lit": "+"}


def test_put_block_list_with_tags_and_overwrite_clears(service, container):
    bc = container.get_blob_client("blocks.bin")
    bc.stage_block("QUFBQQ==", b"part1")
    bc.stage_block("QkJCQg==", b"part2")
    bc.commit_block_list([BlobBlock("QUFBQQ=="), BlobBlock("QkJCQg==")], tags={"kind": "blocks"})
    assert bc.download_blob().readall() == b"part1part2"
    assert bc.get_blob_tags() == {"kind": "blocks"}
    where = f"@container = '{container.container_name}' AND \"kind\" = 'blocks'"
    assert _names(service, where) == ["blocks.bin"]
    # Recommitting without x-ms-tags clears the tags, and the index with them.
    bc.commit_block_list([BlobBlock("QUFBQQ==")])
    assert bc.get_blob_tags() == {}
    assert _names(service, where) == []
    # Put Blob over it with tags, then without.
    bc.upload_blob(b"new", overwrite=True, tags={"kind": "blocks"})
    assert _names(service, where) == ["blocks.bin"]
    bc.upload_blob(b"newer", overwrite=True)
    assert _names(service, where) == []


# ---- Find Blobs by Tags ------------------------------------------------------------------

@pytest.fixture
def two_containers(service):
    made = []
    for _ in range(2):
        made.append(service.create_container(unique_name("f")))
    yield made
    for cc in made:
        try:
            cc.delete_container()
        except HttpResponseError:
            pass


def test_find_account_and_container_level(service, two_containers):
    a, b = two_containers
    proj = unique_name("p")
    for cc, name, tags in [
            (a, "a1", {"project": proj, "n": "01", "other": "x"}),
            (a, "a2", {"project": proj, "n": "05"}),
            (a, "dir/hello world.txt", {"project": proj, "n": "09"}),
            (b, "b1", {"project": proj, "n": "03"}),
            (b, "b2", {"project": "elsewhere", "n": "04"}),
            (b, "b3", {"n": "02"})]:
        cc.upload_blob(name, b"x", tags=tags)
    where = f"\"project\" = '{proj}'"
    got = _find(service, where)
    assert sorted((c, n) for c, n, _ in got) == sorted(
        [(a.container_name, "a1"), (a.container_name, "a2"), (a.container_name, "dir/hello world.txt"),
         (b.container_name, "b1")])
    # Only the tags the filter used come back.
    for _, n, t in got:
        assert t == {"project": proj}, (n, t)
    # Ranges (lexicographic), several keys; tags reported are those of the filter.
    got = _find(service, f"\"project\" = '{proj}' AND \"n\" > '01' AND \"n\" <= '05'")
    assert sorted(n for _, n, _ in got) == ["a2", "b1"]
    assert all(set(t) == {"project", "n"} for _, _, t in got)
    assert _names(service, f"\"project\" = '{proj}' AND \"n\" >= '09'") == ["dir/hello world.txt"]
    assert _names(service, f"\"project\" = '{proj}' AND \"n\" < '03'") == ["a1"]
    # A pure range query (no equality) walks the range of "n".
    assert set(_names(service, "\"n\" >= '02' AND \"n\" < '04'")) >= {"b1", "b3"}
    # @container restricts an account-level search.
    assert _names(service, f"@container = '{b.container_name}' AND \"project\" = '{proj}'") == ["b1"]
    assert _names(service, f"@container = 'no-such-container' AND \"project\" = '{proj}'") == []
    # Container level.
    assert sorted(n for _, n, _ in _find(a, where)) == ["a1", "a2", "dir/hello world.txt"]
    assert _find(b, where) == [(b.container_name, "b1", {"project": proj})]
    # Keys with spaces and values with allowed symbols.
    a.get_blob_client("a1").set_blob_tags({"team name": "a b/c:d=e"})
    assert _names(a, "\"team name\" = 'a b/c:d=e'") == ["a1"]
    assert "a1" not in _names(service, where)


def test_find_paging_every_match_exactly_once(service, container):
    proj = unique_name("pg")
    expected = set()
    for i in range(23):
        name = f"m{i:03d}"
        container.upload_blob(name, b"x", tags={"project": proj, "i": f"{i:03d}"})
        expected.add(name)
    for i in range(7):   # near misses interleaved in the index
        container.upload_blob(f"x{i}", b"x", tags={"project": proj + "z"})
    where = f"\"project\" = '{proj}'"
    for client in (service, container):
        pages = list(client.find_blobs_by_tags(where, results_per_page=1).by_page())
        names = []
        for p in pages:
            items = list(p)
            assert len(items) <= 1
            names += [b.name for b in items]
        assert len(names) == len(set(names)), "a match was returned twice"
        assert set(names) == expected
    # A range filter with paging.
    got = _names(container, f"\"project\" = '{proj}' AND \"i\" >= '010' AND \"i\" < '020'",
                 results_per_page=3)
    assert got == [f"m{i:03d}" for i in range(10, 20)]


def test_find_paging_with_changes_between_pages(raw, container):
    """maxresults=1 while blobs are added and removed: every blob that matched throughout is
    returned exactly once; removed ones that were not yet returned never appear."""
    c = container.container_name
    proj = unique_name("ch")
    stable = [f"s{i:02d}" for i in range(12)]
    for n in stable:
        container.upload_blob(n, b"x", tags={"project": proj})
    doomed = [f"s{i:02d}x" for i in range(8, 12)]   # sort after s08..s11 -> not yet returned
    for n in doomed:
        container.upload_blob(n, b"x", tags={"project": proj})
    where = f"\"project\" = '{proj}'"
    seen, marker, pages = [], None, 0
    while True:
        q = {"restype": "container", "comp": "blobs", "where": where, "maxresults": "1"}
        if marker:
            q["marker"] = marker
        r = raw.request("GET", f"/{c}", q)
        assert r.status == 200, r
        names = re.findall(rb"<Name>([^<]*)</Name>", r.body)
        assert len(names) <= 1
        seen += [n.decode() for n in names]
        m = re.search(rb"<NextMarker>([^<]+)</NextMarker>", r.body)
        marker = urllib.parse.unquote(m.group(1).decode()) if m else None
        pages += 1
        if pages == 3:
            for n in doomed:
                container.delete_blob(n)
            container.upload_blob("s00a", b"x", tags={"project": proj})   # before the cursor
            container.upload_blob("zz-late", b"x", tags={"project": proj})   # after it
            container.get_blob_client("s10").set_blob_tags({"project": "moved"})
        if not marker:
            break
        assert pages < 100
    assert len(seen) == len(set(seen)), seen
    must = set(stable) - {"s10"}
    assert must <= set(seen), sorted(must - set(seen))
    assert not set(doomed) & set(seen)
    assert "zz-late" in seen
    assert set(seen) <= must | {"s10", "s00a", "zz-late"}


def test_find_response_shape(raw, container):
    c = container.container_name
    proj = unique_name("sh")
    container.upload_blob("dir/hello world.txt", b"x", tags={"project": proj, "z": "1"})
    where = f"\"project\" = '{proj}'"
    r = raw.request("GET", "", {"comp": "blobs", "where": where})
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/xml"
    body = r.body.decode()
    assert "<EnumerationResults ServiceEndpoint=" in body
    assert f"<Where>{where}</Where>".replace('"', "&quot;").replace("'", "&apos;") in body or \
        f"<Where>{where}</Where>" in body
    assert "<Name>dir/hello world.txt</Name>" in body
    assert f"<ContainerName>{c}</ContainerName>" in body
    assert f"<Tags><TagSet><Tag><Key>project</Key><Value>{proj}</Value></Tag></TagSet></Tags>" in body
    assert "<Key>z</Key>" not in body
    assert re.search(r"<NextMarker ?/>|<NextMarker></NextMarker>", body)


@pytest.mark.parametrize("where", [
    "\"a\" = '1' OR \"b\" = '2'",
    "\"a\" <> '1'",
    "\"a\" = '1' AND \"a\" = '2'",
    "\"a\" = 'unterminated",
    "@container = 'c'",
    "\"bad!\" = '1'",
])
def test_find_bad_where_400(raw, where):
    r = raw.request("GET", "", {"comp": "blobs", "where": where})
    assert_error_response(r, 400, "InvalidQueryParameterValue")


def test_find_missing_where_and_bad_paging(raw, container):
    c = container.container_name
    r = raw.request("GET", "", {"comp": "blobs"})
    assert r.status == 400, r
    r = raw.request("GET", "", {"comp": "blobs", "where": "\"a\" = '1'", "maxresults": "0"})
    assert_error_response(r, 400, "OutOfRangeQueryParameterValue")
    r = raw.request("GET", "", {"comp": "blobs", "where": "\"a\" = '1'", "marker": "garbage!"})
    assert_error_response(r, 400, "InvalidQueryParameterValue")
    r = raw.request("GET", f"/{c}", {"restype": "container", "comp": "blobs", "where": "\"a\" = '1'",
                                     "maxresults": "99999"})
    assert r.status == 200, r


# ---- x-ms-if-tags ---------------------------------------------------------------------

def test_if_tags_on_reads_and_writes(container):
    bc = container.upload_blob("cond.txt", b"v1", tags={"state": "draft", "n": "05"})
    yes, no = "\"state\" = 'draft' AND \"n\" > '04'", "\"state\" = 'final'"
    assert bc.download_blob(if_tags_match_condition=yes).readall() == b"v1"
    expect_error(bc.download_blob, 412, "ConditionNotMet", if_tags_match_condition=no)
    expect_error(bc.get_blob_properties, 412, None, if_tags_match_condition=no)
    assert bc.get_blob_tags(if_tags_match_condition=yes) == {"state": "draft", "n": "05"}
    expect_error(bc.get_blob_tags, 412, "ConditionNotMet", if_tags_match_condition=no)
    expect_error(bc.set_blob_tags, 412, "ConditionNotMet", {"state": "x"}, if_tags_match_condition=no)
    expect_error(bc.upload_blob, 412, "ConditionNotMet", b"v2", overwrite=True,
                 if_tags_match_condition=no)
    expect_error(bc.set_blob_metadata, 412, "ConditionNotMet", {"m": "1"}, if_tags_match_condition=no)
    expect_error(bc.delete_blob, 412, "ConditionNotMet", if_tags_match_condition=no)
    assert bc.download_blob().readall() == b"v1"
    # OR, <> and parentheses are allowed in x-ms-if-tags.
    bc.set_blob_tags({"state": "final"}, if_tags_match_condition="\"state\" = 'x' OR \"n\" <> '99'")
    assert bc.get_blob_tags() == {"state": "final"}
    bc.upload_blob(b"v2", overwrite=True, if_tags_match_condition="\"state\" = 'final'")
    assert bc.download_blob().readall() == b"v2"
    bc.set_blob_tags({"state": "final"})
    bc.delete_blob(if_tags_match_condition="\"state\" = 'final'")
    assert not bc.exists()


def test_if_tags_syntax_error_400(raw, container):
    c = container.container_name
    assert raw.put_blob(c, "s.txt", b"x").status == 201
    r = raw.get_blob(c, "s.txt", headers={"x-ms-if-tags": "\"a\" = "})
    assert_error_response(r, 400, "InvalidHeaderValue")


def test_set_tags_with_lease(container):
    bc = container.upload_blob("leased.txt", b"x")
    lease = bc.acquire_lease(lease_duration=-1)
    try:
        bc.set_blob_tags({"a": "1"}, lease=lease.id)
        assert bc.get_blob_tags() == {"a": "1"}
        expect_error(bc.set_blob_tags, 412, "LeaseIdMismatchWithBlobOperation", {"a": "2"},
                     lease="11111111-1111-1111-1111-111111111111")
    finally:
        lease.release()


# ---- SAS: t and f --------------------------------------------------------------------

def test_sas_permissions_t_and_f(server, service, container):
    c = container.container_name
    proj = unique_name("sas")
    container.upload_blob("s.txt", b"x", tags={"project": proj})
    url = f"{server.endpoint}/{c}/s.txt"

    def blob_sas(**perm):
        return generate_blob_sas(ACCOUNT, c, "s.txt", account_key=KEY,
                                 permission=BlobSasPermissions(**perm), expiry=_expiry())

    read_only = BlobClient.from_blob_url(url, credential=blob_sas(read=True), retry_total=0)
    expect_error(read_only.get_blob_tags, 403, "AuthorizationPermissionMismatch")
    expect_error(read_only.set_blob_tags, 403, "AuthorizationPermissionMismatch", {"a": "b"})
    tagger = BlobClient.from_blob_url(url, credential=blob_sas(tag=True), retry_total=0)
    assert tagger.get_blob_tags() == {"project": proj}
    tagger.set_blob_tags({"project": proj, "more": "1"})
    expect_error(tagger.download_blob, 403, "AuthorizationPermissionMismatch")

    where = f"\"project\" = '{proj}'"

    def account_client(**perm):
        sas = generate_account_sas(ACCOUNT, KEY, ResourceTypes(service=True, container=True, object=True),
                                   AccountSasPermissions(**perm), _expiry())
        return BlobServiceClient(server.endpoint, credential=sas, retry_total=0)

    expect_error(lambda: _names(account_client(read=True, list=True), where), 403,
                 "AuthorizationPermissionMismatch")
    assert _names(account_client(filter_by_tags=True), where) == ["s.txt"]
    # Service-level Find needs the object resource type.
    sas = generate_account_sas(ACCOUNT, KEY, ResourceTypes(service=True, container=True),
                               AccountSasPermissions(filter_by_tags=True), _expiry())
    expect_error(lambda: _names(BlobServiceClient(server.endpoint, credential=sas, retry_total=0), where),
                 403, "AuthorizationResourceTypeMismatch")
    # Container SAS: f finds inside the container; without f it is refused.
    def container_client(**perm):
        sas = generate_container_sas(ACCOUNT, c, account_key=KEY,
                                     permission=ContainerSasPermissions(**perm), expiry=_expiry())
        return ContainerClient.from_container_url(f"{server.endpoint}/{c}", credential=sas, retry_total=0)

    assert _names(container_client(filter_by_tags=True), where) == ["s.txt"]
    expect_error(lambda: _names(container_client(read=True, list=True), where), 403,
                 "AuthorizationPermissionMismatch")


def test_anonymous_cannot_touch_tags_on_public_container(server, service):
    cc = service.create_container(unique_name("pub"), public_access="container")
    try:
        cc.upload_blob("p.txt", b"x", tags={"k": "v"})
        anon = ContainerClient.from_container_url(f"{server.endpoint}/{cc.container_name}", retry_total=0)
        assert anon.get_blob_client("p.txt").download_blob().readall() == b"x"
        e = expect_error(anon.get_blob_client("p.txt").get_blob_tags, 404)
        assert e.status_code == 404
        expect_error(lambda: _names(anon, "\"k\" = 'v'"), 404)
    finally:
        cc.delete_container()


# ---- the index across lifecycle events ---------------------------------------------------

def test_index_after_delete_and_container_delete(service):
    name = unique_name("ix")
    cc = service.create_container(name)
    proj = unique_name("life")
    where = f"\"project\" = '{proj}'"
    cc.upload_blob("keep", b"x", tags={"project": proj})
    cc.upload_blob("gone", b"x", tags={"project": proj})
    cc.upload_blob("retag", b"x", tags={"project": proj})
    assert _names(service, where) == ["gone", "keep", "retag"]
    cc.delete_blob("gone")
    cc.get_blob_client("retag").set_blob_tags({"project": proj + "-2"})
    assert _names(service, where) == ["keep"]
    assert _names(service, f"\"project\" = '{proj}-2'") == ["retag"]
    # A blob of the same name written again without tags is not found.
    cc.upload_blob("gone", b"again")
    assert _names(service, where) == ["keep"]
    cc.delete_container()
    assert _names(service, where) == []
    assert _names(service, f"\"project\" = '{proj}-2'") == []
    # The same name again: a new, empty container.
    cc = service.create_container(name)
    try:
        cc.upload_blob("keep", b"x")
        assert _names(service, where) == []
        assert _names(cc, where) == []
    finally:
        cc.delete_container()


def test_list_blobs_include_tags(container):
    container.upload_blob("t1", b"x", tags={"a": "1", "b": "2"})
    container.upload_blob("t0", b"x")
    items = {b.name: b for b in container.list_blobs(include=["tags"])}
    assert items["t1"].tag_count == 2
    assert items["t1"].tags == {"a": "1", "b": "2"}
    assert not items["t0"].tags
    assert items["t0"].tag_count in (None, 0)
    plain = {b.name: b for b in container.list_blobs()}
    assert plain["t1"].tag_count == 2
    assert not plain["t1"].tags


@pytest.mark.restart
def test_tags_and_index_survive_restart(fresh_server):
    svc = fresh_server.client()
    cc = svc.create_container("restart-tags")
    cc.upload_blob("a", b"x", tags={"project": "durable", "n": "1"})
    cc.upload_blob("b", b"x")
    cc.get_blob_client("b").set_blob_tags({"project": "durable", "n": "2"})
    fresh_server.restart()
    svc = fresh_server.client()
    cc = svc.get_container_client("restart-tags")
    assert cc.get_blob_client("a").get_blob_tags() == {"project": "durable", "n": "1"}
    assert _names(svc, "\"project\" = 'durable'") == ["a", "b"]
    assert _names(svc, "\"project\" = 'durable' AND \"n\" > '1'") == ["b"]
    fresh_server.crash_restart()
    svc = fresh_server.client()
    assert _names(svc, "\"project\" = 'durable'", results_per_page=1) == ["a", "b"]


def _fsck(srv):
    """`cobalt fsck` on a server's data (read-only, next to the running server)."""
    p = subprocess.run([str(srv.binary), "fsck", str(srv.data_dir)], capture_output=True, text=True,
                       timeout=300)
    out = p.stdout + p.stderr
    return p.returncode, [ln for ln in out.splitlines() if "tag index" in ln or "tag '" in ln], out


@pytest.mark.local_files
def test_index_matches_records_after_every_kind_of_change(tmp_path):
    """The checker's view: after tags set, replaced and cleared by every write path, soft delete
    and undelete, versioned deletes and container deletes, every 'T' key is a tag of a current
    blob and every such tag has its key (fsck reports no problem)."""
    from azure.storage.blob import RetentionPolicy
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log").start()
    vsrv = None
    try:
        svc = srv.client()
        cc = svc.create_container("life")
        for i in range(6):
            cc.upload_blob(f"b{i}", b"x", tags={"p": "1", "i": str(i)})
        cc.get_blob_client("b0").set_blob_tags({"p": "2"})
        cc.get_blob_client("b1").set_blob_tags({})
        cc.upload_blob("b2", b"y", overwrite=True)
        cc.upload_blob("b3", b"y", overwrite=True, tags={"p": "1", "i": "33"})
        bc = cc.get_blob_client("b4")
        bc.stage_block("QUFBQQ==", b"z")
        bc.commit_block_list([BlobBlock("QUFBQQ==")], tags={"p": "3"})
        cc.delete_blob("b5")
        svc.create_container("gone").upload_blob("g", b"x", tags={"p": "1"})
        svc.delete_container("gone")
        assert _names(svc, "\"p\" = '1'") == ["b3"]
        assert _names(svc, "\"p\" = '3'") == ["b4"]
        # Soft delete takes a blob out of the index; undelete brings it back.
        svc.set_service_properties(delete_retention_policy=RetentionPolicy(enabled=True, days=1))
        cc.delete_blob("b3")
        assert _names(svc, "\"p\" = '1'") == []
        cc.get_blob_client("b3").undelete_blob()
        assert _names(svc, "\"p\" = '1'") == ["b3"]
        assert cc.get_blob_client("b3").get_blob_tags() == {"p": "1", "i": "33"}
        cc.delete_blob("b3")
        cc.upload_blob("b3", b"new", tags={"p": "4"})   # over a soft-deleted blob
        assert _names(svc, "\"p\" = '4'") == ["b3"]
        rc, bad, out = _fsck(srv)
        assert not bad, out
        assert rc == 0, out

        vsrv = CobaltServer(tmp_path / "vdata", tmp_path / "vserver.log",
                            args=["--versioning", "all"]).start()
        vs = vsrv.client()
        vc = vs.create_container("vers")
        vc.upload_blob("a", b"1", tags={"p": "1"})
        vc.upload_blob("a", b"2", overwrite=True, tags={"p": "2"})
        vc.upload_blob("b", b"1", tags={"p": "1"})
        vc.delete_blob("b")
        assert _names(vs, "\"p\" = '1'") == []
        assert _names(vs, "\"p\" = '2'") == ["a"]
        rc, bad, out = _fsck(vsrv)
        assert not bad, out
    finally:
        srv.stop()
        if vsrv is not None:
            vsrv.stop()


@pytest.mark.local_files
def test_container_soft_delete_and_restore_keep_the_index(tmp_path):
    srv = CobaltServer(tmp_path / "data", tmp_path / "server.log",
                       args=["--container-soft-delete-days", "1"]).start()
    try:
        svc = srv.client()
        cc = svc.create_container("csd")
        cc.upload_blob("a", b"x", tags={"p": "1"})
        assert _names(svc, "\"p\" = '1'") == ["a"]
        cc.delete_container()
        assert _names(svc, "\"p\" = '1'") == []   # a deleted container's blobs are not found
        deleted = [c for c in svc.list_containers(include_deleted=True) if c.deleted]
        assert [c.name for c in deleted] == ["csd"]
        svc.undelete_container(deleted[0].name, deleted[0].version)
        assert _names(svc, "\"p\" = '1'") == ["a"]
        assert _names(svc.get_container_client("csd"), "\"p\" = '1'") == ["a"]
        rc, bad, out = _fsck(srv)
        assert not bad and rc == 0, out
    finally:
        srv.stop()


def test_copy_tags_set_copied_or_cleared(service, container):
    c = container.container_name
    src = container.upload_blob("src", b"data", tags={"origin": "src"})
    where = f"@container = '{c}' AND \"origin\" = 'src'"
    # Copy Blob: tags are not copied; x-ms-tags sets the destination's.
    d1 = container.get_blob_client("d1")
    d1.start_copy_from_url(src.url)
    assert d1.get_blob_tags() == {}
    d2 = container.get_blob_client("d2")
    d2.start_copy_from_url(src.url, tags={"origin": "copy"})
    assert d2.get_blob_tags() == {"origin": "copy"}
    # Copy Blob From URL with x-ms-copy-source-tag-option: COPY takes the source's tags.
    d3 = container.get_blob_client("d3")
    d3.start_copy_from_url(src.url, requires_sync=True, tags="COPY")
    assert d3.get_blob_tags() == {"origin": "src"}
    assert _names(service, where) == ["d3", "src"]
    # Overwriting a tagged destination by a copy without tags clears them (and the index).
    d3.start_copy_from_url(d1.url)
    assert d3.get_blob_tags() == {}
    assert _names(service, where) == ["src"]
    assert _names(service, f"@container = '{c}' AND \"origin\" = 'copy'") == ["d2"]
