"""The static website (docs/website.md): the first account's $web container on --web-port, set up
with the Python SDK (Set Blob Service Properties' StaticWebsite, uploads) and read with plain HTTP
(urllib, no credentials): index and 404 documents, content types, ranges, conditional GETs, HEAD,
and what is refused."""
import urllib.error
import urllib.request

import pytest
from azure.storage.blob import ContentSettings, StaticWebsite

from cobalt_server import free_port
from cobalt_testlib import CobaltServer, expect_error


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("website")
    port = free_port()
    srv = CobaltServer(d / "data", d / "server.log", args=("--web-port", port)).start()
    srv.web_port = port
    yield srv
    assert srv.stop() == 0


def get(site, path, headers=None, method="GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{site.web_port}{path}", headers=headers or {},
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def html(body: bytes) -> ContentSettings:
    return ContentSettings(content_type="text/html; charset=utf-8")


@pytest.fixture(scope="module")
def web(site):
    svc = site.client()
    # Before the website is enabled, the endpoint says so.
    status, headers, _ = get(site, "/")
    assert status == 400 and headers["x-ms-error-code"] == "WebsiteDisabled"
    svc.set_service_properties(static_website=StaticWebsite(
        enabled=True, index_document="index.html", error_document404_path="errors/404.html"))
    cc = svc.create_container("$web")
    cc.upload_blob("index.html", b"<h1>home</h1>", content_settings=html(b""))
    cc.upload_blob("docs/index.html", b"<h1>docs</h1>", content_settings=html(b""))
    cc.upload_blob("docs/guide one.txt", b"0123456789",
                   content_settings=ContentSettings(content_type="text/plain",
                                                    cache_control="max-age=60"))
    cc.upload_blob("style.css", b"body{color:red}", content_settings=ContentSettings(
        content_type="text/css"))
    return svc, cc


def test_properties_round_trip_and_validation(site, web):
    svc, _ = web
    sw = svc.get_service_properties()["static_website"]
    assert sw.enabled and sw.index_document == "index.html"
    assert sw.error_document404_path == "errors/404.html"
    # IndexDocument and DefaultIndexDocumentPath exclude each other
    expect_error(lambda: svc.set_service_properties(static_website=StaticWebsite(
        enabled=True, index_document="index.html", default_index_document_path="/a.html")),
        400, "InvalidXmlNodeValue")
    raw = site.raw()
    r = raw.request("PUT", "", query={"restype": "service", "comp": "properties"},
                    body=b"<StorageServiceProperties><StaticWebsite><IndexDocument>x"
                         b"</IndexDocument></StaticWebsite></StorageServiceProperties>")
    assert r.status == 400 and r.error_code == "InvalidXmlNodeValue"  # Enabled is required
    assert svc.get_service_properties()["static_website"].index_document == "index.html"


def test_index_documents(site, web):
    status, headers, body = get(site, "/")
    assert (status, body) == (200, b"<h1>home</h1>")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert get(site, "/docs/")[2] == b"<h1>docs</h1>"
    assert get(site, "/docs")[2] == b"<h1>docs</h1>"  # no blob "docs": tried as a directory
    assert get(site, "/index.html")[2] == b"<h1>home</h1>"


def test_blob_properties_and_percent_decoding(site, web):
    status, headers, body = get(site, "/docs/guide%20one.txt")
    assert (status, body) == (200, b"0123456789")
    assert headers["Content-Type"] == "text/plain"
    assert headers["Cache-Control"] == "max-age=60"
    assert headers["Content-Length"] == "10"
    assert get(site, "/style.css")[1]["Content-Type"] == "text/css"


def test_ranges_conditions_head(site, web):
    status, headers, body = get(site, "/docs/guide%20one.txt", {"Range": "bytes=2-5"})
    assert (status, body) == (206, b"2345")
    assert headers["Content-Range"] == "bytes 2-5/10"
    status, headers, _ = get(site, "/style.css")
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert get(site, "/style.css", {"If-None-Match": etag})[0] == 304
    assert get(site, "/style.css", {"If-Modified-Since": modified})[0] == 304
    assert get(site, "/style.css", {"If-Match": '"0x1"'})[0] == 412
    assert get(site, "/style.css", {"If-Match": etag})[2] == b"body{color:red}"
    status, headers, body = get(site, "/style.css", method="HEAD")
    assert (status, body) == (200, b"") and headers["Content-Length"] == "15"
    assert get(site, "/style.css", {"Range": "bytes=100-200"})[0] == 416


def test_not_found_default_then_404_document(site, web):
    _, cc = web
    status, headers, body = get(site, "/missing.html")
    assert status == 404 and headers["x-ms-error-code"] == "WebContentNotFound"
    assert b"The requested content does not exist." in body
    cc.upload_blob("errors/404.html", b"<h1>lost</h1>", content_settings=html(b""))
    try:
        status, headers, body = get(site, "/missing.html")
        assert (status, body) == (404, b"<h1>lost</h1>")
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        # the 404 document is sent whole, whatever the request asked of the missing page
        status, _, body = get(site, "/nope/", {"Range": "bytes=0-1", "If-None-Match": "*"})
        assert (status, body) == (404, b"<h1>lost</h1>")
        assert get(site, "/missing.html", method="HEAD")[0] == 404
    finally:
        cc.delete_blob("errors/404.html")


def test_no_auth_needed_and_writes_refused(site, web):
    # The container is private to the blob endpoint, public on the web one.
    assert site.raw().request("GET", "/$web/index.html", sign=False).status in (401, 403, 404)
    assert get(site, "/index.html")[0] == 200
    for method in ("PUT", "DELETE", "POST"):
        status, headers, _ = get(site, "/index.html", method=method)
        assert status == 405 and headers["x-ms-error-code"] == "UnsupportedHttpVerb"
    assert get(site, "/index.html")[2] == b"<h1>home</h1>"


def test_default_index_document_path(site, web):
    svc, _ = web
    svc.set_service_properties(static_website=StaticWebsite(
        enabled=True, default_index_document_path="/index.html"))
    try:
        assert get(site, "/")[2] == b"<h1>home</h1>"
        assert get(site, "/docs/")[2] == b"<h1>home</h1>"  # one document for every directory
    finally:
        svc.set_service_properties(static_website=StaticWebsite(
            enabled=True, index_document="index.html", error_document404_path="errors/404.html"))
