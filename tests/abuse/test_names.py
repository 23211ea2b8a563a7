"""Bad names and metadata (issue 5 §2 item 7): path traversal, NUL, backslashes, overlong and
invalid UTF-8, CR/LF, length limits -> the right Azure error code (protocol doc §5.7, §5.8,
§7), no response splitting, and nothing created outside the data directory.

Every traversal name carries a unique marker; afterwards no file or directory whose name contains
a marker may exist anywhere under the test's temporary root or /tmp, and the store's own listing
must not show the name either.
"""
import os
import re
import uuid

import pytest

from abuselib import (ACCOUNT, build, create_container, exchange, put_blob, shared_key_headers,
                      signed)

C = "names"
MARK = "cbx" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def nport(server):
    create_container(server.port, C)
    return server.port


def put(port, path, headers=(), body=b"hi"):
    h = shared_key_headers("PUT", path, [("x-ms-blob-type", "BlockBlob"), *headers],
                           body_len=len(body))
    return exchange(port, build("PUT", path, h, body), expect=1, timeout=10).first


TRAVERSAL = [
    f"../{MARK}", f"../../{MARK}", f"a/../../{MARK}", f"%2e%2e%2f{MARK}", f"%2E%2E/%2E%2E/{MARK}",
    f"..%2f..%2f{MARK}", f"%2e%2e%5c{MARK}", f"..%5c..%5c{MARK}", f"a%5c..%5c..%5c{MARK}",
    f"a\\..\\..\\{MARK}", f"./{MARK}", f"{MARK}/.", f"{MARK}/..", f"%2e/{MARK}",
    f"{MARK}%00.txt", f"%00{MARK}", f"{MARK}%00", f"..%00/{MARK}", f"%c0%ae%c0%ae/{MARK}",
    f"%c0%af{MARK}", f"%e0%80%af{MARK}", f"%f0%80%80%af{MARK}", f"%ed%a0%80{MARK}",
    f"%ff{MARK}", f"%80{MARK}", f"{MARK}%0d%0aSet-Cookie:%20x=1", f"{MARK}%0aX:1", f"{MARK}%7f",
    f"{MARK}%01", f"%2e%2e/%2e%2e/%2e%2e/tmp/{MARK}",
]


@pytest.mark.parametrize("name", TRAVERSAL)
def test_bad_blob_names_refused(nport, name):
    r = put(nport, f"/{ACCOUNT}/{C}/{name}")
    assert r is not None and r.status == 400, r
    assert r.code == "InvalidResourceName", r
    assert b"Set-Cookie" not in r.raw_head and b"\nX:" not in r.raw_head


@pytest.mark.parametrize("name", [f"..%2f{MARK}", "%2e%2e", "..", "%2e%2e%2fetc", f"a%00b{MARK[:5]}",
                                  "%2fetc", "UPPER", "a--b", "-ab", "ab-", "a_b", "a.b"])
def test_bad_container_names_refused(nport, name):
    r = signed(nport, "PUT", f"/{ACCOUNT}/{name}?restype=container")
    assert r.status == 400 and r.code in ("InvalidResourceName", "OutOfRangeInput"), r


@pytest.mark.parametrize("acct", ["..", "%2e%2e", f"..%2f{MARK}", "%2e%2e%2fdevstoreaccount1",
                                  "devstoreaccount1%00", "%00"])
def test_bad_account_segment(nport, acct):
    r = exchange(nport, build("GET", f"/{acct}?comp=list", [("Content-Length", "0")]), expect=1).first
    assert r is not None and r.status in (400, 403, 404), r
    r = put(nport, f"/{acct}/{C}/{MARK}")
    assert r is not None and not 200 <= r.status < 300, r


def test_nothing_created_outside_data_dir(nport, server, tmp_path_factory):
    for name in TRAVERSAL:
        put(nport, f"/{ACCOUNT}/{C}/{name}")
        signed(nport, "PUT", f"/{ACCOUNT}/{name.replace('/', '%2f')}?restype=container")
    roots = [str(tmp_path_factory.getbasetemp()), "/tmp"]
    found = []
    for root in roots:
        for d, dirs, files in os.walk(root):
            if d.count(os.sep) - root.count(os.sep) > 6:
                dirs[:] = []
                continue
            found += [os.path.join(d, n) for n in dirs + files if MARK in n]
    assert not found, found
    lst = signed(nport, "GET", f"/{ACCOUNT}/{C}?restype=container&comp=list")
    assert lst.status == 200 and MARK.encode() not in lst.body


# ---- lengths -------------------------------------------------------------------------------

def test_blob_name_1024_bytes_ok(nport):
    name = "n" * 1024
    assert put(nport, f"/{ACCOUNT}/{C}/{name}").status == 201
    r = signed(nport, "GET", f"/{ACCOUNT}/{C}/{name}")
    assert r.status == 200 and r.body == b"hi"


def test_blob_name_1025_bytes_out_of_range(nport):
    r = put(nport, f"/{ACCOUNT}/{C}/{'n' * 1025}")
    assert r.status == 400 and r.code == "OutOfRangeInput", r


def test_blob_name_limit_counts_characters(nport):
    r = put(nport, f"/{ACCOUNT}/{C}/" + "%C3%A9" * 600)
    assert r.status == 201, r


def test_blob_name_very_long_refused(nport):
    r = put(nport, f"/{ACCOUNT}/{C}/{'n' * 100000}")
    assert r is None or (r.status in (400, 414, 431)), r


@pytest.mark.parametrize("n,status,code", [(2, 400, "OutOfRangeInput"), (3, 201, None),
                                           (63, 201, None), (64, 400, "OutOfRangeInput"),
                                           (1000, 400, "OutOfRangeInput")])
def test_container_name_lengths(nport, n, status, code):
    name = (uuid.uuid4().hex * 40)[:n]
    r = signed(nport, "PUT", f"/{ACCOUNT}/{name}?restype=container")
    assert r.status == status and r.code == code, r
    if status == 201:
        assert signed(nport, "DELETE", f"/{ACCOUNT}/{name}?restype=container").status == 202


# ---- metadata ------------------------------------------------------------------------------

def uniq():
    return "m-" + uuid.uuid4().hex[:10]


@pytest.mark.parametrize("name", ["1abc", "a-b", "a.b", "a b", "é", "a$", "a/b"])
def test_invalid_metadata_name(nport, name):
    r = put(nport, f"/{ACCOUNT}/{C}/{uniq()}", [(f"x-ms-meta-{name}", "v")])
    assert r.status == 400 and r.code == "InvalidMetadata", r


def test_empty_metadata_name(nport):
    r = put(nport, f"/{ACCOUNT}/{C}/{uniq()}", [("x-ms-meta-", "v")])
    assert r.status == 400 and r.code in ("EmptyMetadataKey", "InvalidMetadata"), r


def test_duplicate_metadata_names_differing_in_case(nport):
    r = put(nport, f"/{ACCOUNT}/{C}/{uniq()}", [("x-ms-meta-Key", "a"), ("x-ms-meta-key", "b")])
    assert r.status == 400, r


def test_metadata_total_8k_ok_and_one_more_refused(nport):
    # names + values <= 8 KiB (§5.8): 'k' (1) + 8191 = 8192 passes, 8193 fails.
    n = uniq()
    assert put(nport, f"/{ACCOUNT}/{C}/{n}", [("x-ms-meta-k", "v" * 8191)]).status == 201
    r = put(nport, f"/{ACCOUNT}/{C}/{uniq()}", [("x-ms-meta-k", "v" * 8192)])
    assert r.status == 400 and r.code == "MetadataTooLarge", r


def test_metadata_many_small_over_limit(nport):
    meta = [(f"x-ms-meta-k{i}", "v" * 30) for i in range(400)]
    r = put(nport, f"/{ACCOUNT}/{C}/{uniq()}", meta)
    assert r.status == 400 and r.code == "MetadataTooLarge", r


def test_metadata_value_with_high_bytes_round_trips_without_splitting(nport):
    n = uniq()
    t = f"/{ACCOUNT}/{C}/{n}"
    h = shared_key_headers("PUT", t, [("x-ms-blob-type", "BlockBlob")], body_len=2)
    raw = build("PUT", t, h, b"hi").replace(b"x-ms-blob-type: BlockBlob",
                                            b"x-ms-blob-type: BlockBlob\r\nx-ms-meta-v: caf\xe9 \x85x")
    # The signature does not cover the added header: 403 is fine; a 201 must read back intact.
    r = exchange(nport, raw, expect=1).first
    assert r is not None
    if r.status == 201:
        g = signed(nport, "GET", t)
        assert g.raw_head.count(b"\r\n") == g.raw_head.count(b"\n"), "bare LF in a response head"


@pytest.mark.parametrize("value", ["a\tb", "  padded  ", "x" * 4000, "<x>&'\"", "%0d%0aX: y"])
def test_metadata_values_round_trip(nport, value):
    n = uniq()
    t = f"/{ACCOUNT}/{C}/{n}"
    assert put(nport, t, [("x-ms-meta-k", value)]).status == 201
    g = signed(nport, "GET", t + "?comp=metadata")
    assert g.status == 200
    assert g.header("x-ms-meta-k") == value.strip(), g.raw_head
    assert b"\r\nX: y" not in g.raw_head
    lst = signed(nport, "GET", f"/{ACCOUNT}/{C}?restype=container&comp=list&include=metadata"
                 f"&prefix={n}")
    assert lst.status == 200 and b"<k>" in lst.body or b"<k />" in lst.body, lst.body[:500]


def test_listing_escapes_markup_in_names(nport):
    n = uniq() + "%3C%2FName%3E%3CName%3Einjected%26%22%27"
    put_blob(nport, C, n, b"x")
    lst = signed(nport, "GET", f"/{ACCOUNT}/{C}?restype=container&comp=list&prefix={n[:12]}")
    assert lst.status == 200
    names = re.findall(rb"<Name>([^<]*)</Name>", lst.body)
    assert len(names) == 1 and b"&lt;/Name&gt;&lt;Name&gt;injected&amp;" in names[0], lst.body


def test_error_body_escapes_reflected_values(nport):
    """Values the server echoes in error bodies (header names/values, query values) are escaped."""
    r = signed(nport, "GET", f"/{ACCOUNT}/{C}?restype=container&comp=%3Cx%3E%26")
    assert r.status == 400
    assert b"<x>" not in r.body and b"&lt;x&gt;&amp;" in r.body, r.body
    r = signed(nport, "GET", f"/{ACCOUNT}?comp=list", [("x-ms-version", "<b>")])
    assert r.status in (400, 403) and b"<b>" not in r.body, r.body
