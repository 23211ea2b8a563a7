"""The suite's own signer against the protocol doc's verified vectors (§3.12): every auth test
below trusts it, so it is checked first."""
import urllib.parse

from abuselib import KEY, shared_key_sts, sign_b64, service_sas, account_sas

D = ("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT")
V = ("x-ms-version", "2026-10-06")


def test_vector1_create_container():
    h = [V, ("x-ms-client-request-id", "00000000-0000-0000-0000-000000000001"),
         ("Content-Length", "0"), D]
    sts = shared_key_sts("PUT", "/devstoreaccount1/mycontainer?restype=container", h)
    assert sts == ("PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-client-request-id:00000000-0000-0000-0000-"
                   "000000000001\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-version:2026-10-06"
                   "\n/devstoreaccount1/devstoreaccount1/mycontainer\nrestype:container")
    assert sign_b64(KEY, sts) == "Yb6vqVntaFfK2ifPMLCmjD7lMZyigLkrt8ONjX52Neo="


def test_vector2_list_blobs_encoded_query():
    h = [V, ("x-ms-client-request-id", "00000000-0000-0000-0000-000000000002"), D]
    t = ("/devstoreaccount1/mycontainer?restype=container&comp=list&prefix=dir%2Fa%20b"
         "&include=metadata,snapshots&maxresults=10")
    assert sign_b64(KEY, shared_key_sts("GET", t, h)) == "zDB7p4tXuehN+ufduSufnB3jqCNoqLKh79OxXeFPUHE="


def test_vector3b_byte_order():
    # The signer sorts byte-wise (like the Go SDK); the doc gives that signature too.
    h = [V, ("x-ms-client-request-id", "00000000-0000-0000-0000-000000000004"),
         ("Content-Length", "0"), ("x-ms-meta-key1", "a"), ("x-ms-meta-key_2", "b"), D]
    sts = shared_key_sts("PUT", "/devstoreaccount1/mycontainer/a.txt?comp=metadata", h)
    assert sign_b64(KEY, sts) == "NxU+pqLLSUUNEFXHrJfmajT0R3061PeROM9fqZ434ZU="


def _q(token):
    return dict(urllib.parse.parse_qsl(token))


def test_vector4_service_sas_blob():
    t = service_sas("rw", "mycontainer/dir/hello world.txt", "b", "2030-01-01T00:00:00Z",
                    st="2024-01-01T00:00:00Z", spr="https,http")
    assert _q(t)["sig"] == "oxaPYBjS7mjuqbKlX3zhocOe4P/yBA57FIeZQiE+BkM="


def test_vector5_service_sas_container():
    t = service_sas("rl", "mycontainer", "c", "2030-01-01T00:00:00Z")
    assert _q(t)["sig"] == "1nrplmCZIVkcp9D/iZY2iGCbVrD64PKLdCoeYJHMxYI="


def test_vector9_account_sas():
    t = account_sas("rwdlacup", srt="sco", ss="b", se="2030-01-01T00:00:00Z",
                    st="2024-01-01T00:00:00Z", spr="https,http")
    assert _q(t)["sig"] == "048K0D2U0wcZNx4NV+kNT+I9VWeayPSPe3JeLQzI6V4="
