"""CORS: preflight (OPTIONS, answered without credentials from the account's CORS rules) and the
Access-Control-* headers on actual requests from a matching origin.

The rules are account settings, so these tests run on a private server of their own."""
import pytest
from azure.storage.blob import CorsRule

from cobalt_testlib import CobaltServer, assert_error_response


@pytest.fixture(scope="module")
def cors(tmp_path_factory):
    d = tmp_path_factory.mktemp("cobalt-cors")
    srv = CobaltServer(d / "data", d / "server.log").start()
    yield srv
    assert srv.stop() == 0


def preflight(raw, origin, method, headers=None, path="/corsc/blob"):
    h = {}
    if origin is not None:
        h["Origin"] = origin
    if method is not None:
        h["Access-Control-Request-Method"] = method
    if headers is not None:
        h["Access-Control-Request-Headers"] = headers
    return raw.request("OPTIONS", path, headers=h, sign=False, version=None)


def test_cors(cors):
    svc, raw = cors.client(), cors.raw()
    # No rules: every preflight fails; a preflight without Origin or method is malformed.
    assert_error_response(preflight(raw, "http://a.example", "GET"), 403, "CorsPreflightFailure")
    assert_error_response(preflight(raw, None, "GET"), 400, "InvalidHeaderValue")
    assert_error_response(preflight(raw, "http://a.example", None), 400, "InvalidHeaderValue")

    svc.set_service_properties(cors=[
        CorsRule(["http://a.example"], ["GET", "PUT"], allowed_headers=["x-ms-meta-*", "content-type"],
                 exposed_headers=["x-ms-meta-*"], max_age_in_seconds=500),
        CorsRule(["*"], ["HEAD"], max_age_in_seconds=60)])
    r = preflight(raw, "http://a.example", "PUT", "x-ms-meta-color, Content-Type")
    assert r.status == 200
    assert r.headers["Access-Control-Allow-Origin"] == "http://a.example"
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Access-Control-Allow-Methods"] == "PUT"
    assert r.headers["Access-Control-Allow-Headers"] == "x-ms-meta-color, Content-Type"
    assert r.headers["Access-Control-Max-Age"] == "500"
    assert "Origin" in r.headers["Vary"]
    # The wildcard rule: any origin, HEAD only, no credentials.
    r = preflight(raw, "http://other.example", "HEAD")
    assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in r.headers
    # No rule matches: origin, method or a requested header outside the rule.
    for args in [("http://b.example", "GET", None), ("http://a.example", "DELETE", None),
                 ("http://a.example", "GET", "x-other")]:
        assert_error_response(preflight(raw, *args), 403, "CorsPreflightFailure")

    # Actual requests from a matching origin carry the headers, also on errors.
    cc = svc.create_container("corsc")
    cc.upload_blob("blob", b"data")
    r = raw.request("GET", "/corsc/blob", headers={"Origin": "http://a.example"})
    assert r.status == 200 and r.body == b"data"
    assert r.headers["Access-Control-Allow-Origin"] == "http://a.example"
    assert r.headers["Access-Control-Expose-Headers"] == "x-ms-meta-*"
    r = raw.request("GET", "/corsc/missing", headers={"Origin": "http://a.example"})
    assert r.status == 404 and r.headers["Access-Control-Allow-Origin"] == "http://a.example"
    r = raw.request("GET", "/corsc/blob", headers={"Origin": "http://b.example"})
    assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers
    r = raw.request("GET", "/corsc/blob")
    assert "Access-Control-Allow-Origin" not in r.headers

    # Removing the rules ends it.
    svc.set_service_properties(cors=[])
    assert_error_response(preflight(raw, "http://a.example", "GET"), 403, "CorsPreflightFailure")
