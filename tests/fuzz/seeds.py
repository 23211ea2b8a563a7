#!/usr/bin/env python3
"""Writes the committed seed corpus: tests/fuzz/corpus/<target>/<name>.

Run from anywhere: python3 tests/fuzz/seeds.py.  The seeds are small, hand-chosen inputs in each
target's input format (see the comment at the top of each fuzz_*.c) -- valid requests and bodies
first (the protocol doc's verified vectors, §3.12), then the hostile shapes each parser must
refuse.  Re-running rewrites the same files; libFuzzer's own finds are not committed (only
crashers, in crashers/<target>/).
"""
import base64
import hashlib
import hmac
import os
import struct
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = b"\xff"
DEV_KEY = base64.b64decode(
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")


def write(target, items):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in items:
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def parse_seeds():
    out = []
    names = [b"mycontainer", b"$root", b"$web", b"a--b", b"ab", b"-abc", b"x" * 63, b"x" * 64,
             b"ABC", b"abc-"]
    out += [(f"container-{i}", b"\x00" + n) for i, n in enumerate(names)]
    blobs = [b"dir/hello world.txt", b"a/../b", b"a\\..\\b", b"..", b".", b"a/./b", b"\xc0\xaf",
             b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", "é/ü".encode(), b"a\x00b",
             b"a\r\nb", b"\x7f", b"x" * 1024, b"x" * 1025, b"a//b/", b"%2e%2e%2f"]
    out += [(f"blob-{i}", b"\x01" + n) for i, n in enumerate(blobs)]
    for i, n in enumerate([b"key1", b"_a", b"1a", b"a-c", b"", b"key_2"]):
        out.append((f"meta-{i}", b"\x02" + n))
    for i, (sz, r) in enumerate([(100, b"bytes=0-99"), (100, b"bytes=50-"), (0, b"bytes=0-0"),
                                 (10, b"bytes=10-20"), (2**64 - 1, b"bytes=0-18446744073709551615"),
                                 (5, b"bytes=-5"), (5, b"BYTES=1-2"), (5, b"bytes=1-2,3-4"),
                                 (5, b"bytes=99999999999999999999-")]):
        out.append((f"range-{i}", b"\x03" + struct.pack(">Q", sz) + r))
    out.append(("resolve-0", b"\x04" + struct.pack(">QQQ", 5, 2**64 - 1, 10)))
    for i, b in enumerate([base64.b64encode(b"block-000001"), base64.b64encode(b"x" * 64),
                           base64.b64encode(b"x" * 65), b"AAA", b"====", b"QQ==QQ==",
                           base64.b64encode(b"y" * 200)]):
        out.append((f"blockid-{i}", b"\x05" + b))
    for i, m in enumerate([b"1", b"5000", b"5001", b"0", b"-1", b"99999999999999999999999", b"1a"]):
        out.append((f"maxresults-{i}", b"\x06" + m))
    for i, v in enumerate([b"2026-10-06", b"2009-09-19", b"2026-13-01", b"1999-01-01",
                           b"00000000-0000-0000-0000-000000000001", b"0000000-00000-0000-0000-000000000001"]):
        out.append((f"version-guid-{i}", b"\x07" + v))
    for i, l in enumerate([b"metadata,snapshots", b" a , ,b,", b",,,", b"\t"]):
        out.append((f"list-{i}", b"\x08" + l))
    return out


def codec_seeds():
    out = []
    for i, b in enumerate([b"XrY7u+Ae7tCTyyK7j1rNww==", b"AAA=", b"AA==", b"A===", b"AB==",
                           b"a b=", b"////", b"QUJD\n", b""]):
        out.append((f"b64dec-{i}", b"\x00" + b))
    out.append(("b64enc-0", b"\x01hello world"))
    for i, s in enumerate([b"dir%2Fa%20b", b"%zz", b"%4", b"%", b"%00", b"a+b", b"%2e%2e%2f",
                           b"%C0%AF"]):
        out.append((f"pctdec-{i}", b"\x02" + s))
    out.append(("pctenc-0", b"\x03dir/hello world.txt\x00\xff"))
    out.append(("pctenc-1", b"\x83dir/hello world.txt"))
    return out


def time_seeds():
    out = []
    for i, d in enumerate([b"Mon, 01 Jan 2024 00:00:00 GMT", b"Sunday, 06-Nov-94 08:49:37 GMT",
                           b"Sun Nov  6 08:49:37 1994", b"Thu, 29 Feb 2024 23:59:59 GMT",
                           b"Fri, 29 Feb 2023 00:00:00 GMT", b"Mon, 01 Jan 2024 24:00:00 GMT",
                           b"Mon, 01 Jan 0000 00:00:00 GMT", b"Mon, 31 Dec 9999 23:59:59 GMT"]):
        out.append((f"http-{i}", b"\x00" + d))
    for i, d in enumerate([b"2024-01-01", b"2024-01-01T00:00Z", b"2030-01-01T00:00:00Z",
                           b"2024-01-01T00:00:00.1234567Z", b"2024-01-01T00:00:00.12345678Z",
                           b"2024-01-01T00:00:00.Z", b"2024-02-30T00:00:00Z", b"0000-01-01",
                           b"9999-12-31T23:59:59.9999999Z"]):
        out.append((f"iso-{i}", b"\x01" + d))
    out.append(("ticks-0", b"\x02" + struct.pack(">Q", 0)))
    out.append(("ticks-1", b"\x02" + b"\xff" * 8))
    return out


def xml_seeds():
    docs = [
        b'<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>AAAA</Latest>'
        b'<Committed>QkJCQg==</Committed><Uncommitted>Q0NDQw==</Uncommitted></BlockList>',
        b'\xef\xbb\xbf<BlockList><Latest>AAAA</Latest></BlockList>',
        b'<Tags><TagSet><Tag><Key>k</Key><Value>v &amp; w</Value></Tag></TagSet></Tags>',
        b'<SignedIdentifiers><SignedIdentifier><Id>policy1</Id><AccessPolicy><Start>2024-01-01T00:00:00Z'
        b'</Start><Expiry>2030-01-01T00:00:00Z</Expiry><Permission>rl</Permission></AccessPolicy>'
        b'</SignedIdentifier></SignedIdentifiers>',
        b'<StorageServiceProperties><Logging><Version>1.0</Version><Delete>true</Delete></Logging>'
        b'<Cors><CorsRule><AllowedOrigins>*</AllowedOrigins></CorsRule></Cors>'
        b'<DefaultServiceVersion>2026-10-06</DefaultServiceVersion></StorageServiceProperties>',
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b'<lolz>&lol2;</lolz>',
        b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
        b'<a>&undefined;</a>',
        b'<a><![CDATA[x]]>&#13;&#xD;&#0;</a>',
        b'<a>' * 17 + b'</a>' * 17,
        b'<a><b/><b/><b/></a><a/>',
        b'<a xmlns:p="u"><p:b attr="1">t</p:b></a>',
    ]
    out = [(f"doc-{i}", b"\x02" + d) for i, d in enumerate(docs)]
    texts = [b"plain", b"a\r\nb", b"<&>\"'", b"\x00", b"\xed\xa0\x80", "é\U0001F600".encode(),
             b"\xef\xbf\xbe", b"]]>"]
    out += [(f"text-{i}", b"\x00" + t) for i, t in enumerate(texts)]
    return out


def sign(msg):
    return base64.b64encode(hmac.new(DEV_KEY, msg.encode(), hashlib.sha256).digest()).decode()


def auth_input(flags, method, path, container, blob, query, headers, snapshot=b"", versionid=b""):
    fields = [method, path, container, blob, snapshot, versionid, query]
    fields += [k + b":" + v for k, v in headers]
    return bytes([flags]) + SEP.join(fields)


def auth_seeds():
    D = b"x-ms-date", b"Mon, 01 Jan 2024 00:00:00 GMT"
    V = b"x-ms-version", b"2026-10-06"
    out = []
    # Vector 1 (Shared Key, create container).
    out.append(("sk-vector1", auth_input(
        0, b"PUT", b"/devstoreaccount1/mycontainer", b"mycontainer", b"", b"restype=container",
        [V, (b"x-ms-client-request-id", b"00000000-0000-0000-0000-000000000001"),
         (b"Content-Length", b"0"), D,
         (b"Authorization", b"SharedKey devstoreaccount1:Yb6vqVntaFfK2ifPMLCmjD7lMZyigLkrt8ONjX52Neo=")])))
    # Vector 2 (list blobs, encoded query).
    out.append(("sk-vector2", auth_input(
        0, b"GET", b"/devstoreaccount1/mycontainer", b"mycontainer", b"",
        b"restype=container&comp=list&prefix=dir%2Fa%20b&include=metadata,snapshots&maxresults=10",
        [V, (b"x-ms-client-request-id", b"00000000-0000-0000-0000-000000000002"), D,
         (b"Authorization", b"SharedKey devstoreaccount1:zDB7p4tXuehN+ufduSufnB3jqCNoqLKh79OxXeFPUHE=")])))
    # Vector 3b (culture order), then re-sign variants that exercise the post-signature paths.
    out.append(("sk-vector3b", auth_input(
        0, b"PUT", b"/devstoreaccount1/mycontainer/a.txt", b"mycontainer", b"a.txt", b"comp=metadata",
        [V, (b"x-ms-client-request-id", b"00000000-0000-0000-0000-000000000004"),
         (b"Content-Length", b"0"), (b"x-ms-meta-key1", b"a"), (b"x-ms-meta-key_2", b"b"), D,
         (b"Authorization", b"SharedKey devstoreaccount1:tXY1KI5st/wqPdxc+vaMAlXTAB2pqWnI/YATfCP+QgQ=")])))
    out.append(("sk-resign-secondary", auth_input(
        0x12, b"GET", b"/devstoreaccount1-secondary/mycontainer/a%20b", b"mycontainer", b"a b",
        b"comp=metadata&x=a+b",
        [V, D, (b"Content-Encoding", b"gzip"), (b"Content-Language", b"en"),
         (b"x-ms-meta-a-c", b"1"), (b"x-ms-meta-ab", b" 2 "),
         (b"Authorization", b"SharedKey devstoreaccount1-secondary:AAAA")])))
    out.append(("sklite-resign", auth_input(
        0x02, b"GET", b"/devstoreaccount1/mycontainer", b"mycontainer", b"", b"restype=container&comp=list",
        [D, (b"Authorization", b"SharedKeyLite devstoreaccount1:AAAA")])))
    out.append(("sk-dup-authz", auth_input(
        0, b"GET", b"/devstoreaccount1", b"", b"", b"comp=list",
        [D, (b"Authorization", b"SharedKey devstoreaccount1:AAAA"),
         (b"authorization", b"SharedKey devstoreaccount1:BBBB")])))
    out.append(("bearer", auth_input(0, b"GET", b"/devstoreaccount1", b"", b"", b"comp=list",
                                     [(b"Authorization", b"Bearer abc.def.ghi")])))
    # SAS vectors 4, 5, 9 as tokens.
    v4 = (b"sv=2026-10-06&spr=https%2Chttp&st=2024-01-01T00%3A00%3A00Z&se=2030-01-01T00%3A00%3A00Z"
          b"&sr=b&sp=rw&sig=oxaPYBjS7mjuqbKlX3zhocOe4P%2FyBA57FIeZQiE%2BBkM%3D")
    out.append(("sas-vector4", auth_input(0, b"GET", b"/devstoreaccount1/mycontainer/dir/hello%20world.txt",
                                          b"mycontainer", b"dir/hello world.txt", v4, [])))
    v5 = b"sv=2026-10-06&se=2030-01-01T00%3A00%3A00Z&sr=c&sp=rl&sig=1nrplmCZIVkcp9D%2FiZY2iGCbVrD64PKLdCoeYJHMxYI%3D"
    out.append(("sas-vector5", auth_input(0, b"GET", b"/devstoreaccount1/mycontainer", b"mycontainer", b"",
                                          b"restype=container&comp=list&" + v5, [])))
    v9 = (b"sv=2026-10-06&ss=b&srt=sco&spr=https%2Chttp&st=2024-01-01T00%3A00%3A00Z"
          b"&se=2030-01-01T00%3A00%3A00Z&sp=rwdlacup&sig=048K0D2U0wcZNx4NV%2BkNT%2BI9VWeayPSPe3JeLQzI6V4%3D")
    out.append(("sas-vector9", auth_input(0, b"GET", b"/devstoreaccount1", b"", b"", b"comp=list&" + v9, [])))
    v6 = (b"sv=2020-12-06&se=2030-01-01T00%3A00%3A00Z&sr=bs&sp=r&rsct=text%2Fplain"
          b"&sig=s8RQ17ZhR1UNYq41fpymw8Xb63nSLMLx4lQc%2FaTPAvY%3D&snapshot=2024-01-01T00%3A00%3A00.1234567Z")
    out.append(("sas-vector6", auth_input(0, b"GET", b"/devstoreaccount1/mycontainer/a.txt", b"mycontainer",
                                          b"a.txt", v6, [], snapshot=b"2024-01-01T00:00:00.1234567Z")))
    # Re-signed SAS shapes: expired, not yet valid, spr=https, old layouts, odd letters.
    shapes = [
        b"sv=2026-10-06&se=2020-01-01&sr=b&sp=r&sig=AAAA",
        b"sv=2026-10-06&st=2031-01-01T00%3A00Z&se=2032-01-01&sr=c&sp=rl&sig=AAAA",
        b"sv=2026-10-06&spr=https&se=2030-01-01&sr=b&sp=rw&sig=AAAA",
        b"sv=2015-04-05&se=2030-01-01&sp=r&sr=b&sig=AAAA",
        b"sv=2012-02-12&se=2030-01-01&sp=r&sr=c&sig=AAAA",
        b"sv=2018-11-09&se=2030-01-01&sp=rzZ&sr=bv&sig=AAAA&versionid=x",
        b"sv=2019-02-02&ss=bq&srt=so&se=2030-01-01&sp=l&sig=AAAA",
        b"sv=2026-10-06&ss=q&srt=sco&se=2030-01-01&sp=rwdlac&sig=AAAA",
        b"sv=2026-10-06&ss=b&srt=scox&se=2030-01-01&sp=r&sig=AAAA",
        b"sv=2026-10-06&se=2030-01-01&sr=b&sp=r&sig=AAAA&SIG=BBBB",
        b"sv=2026-10-06&se=2030-01-01&sr=b&sp=r&sp=rw&sig=AAAA",
        b"sv=2026-10-06&se=2030-01-01&sr=b&sp=r&sig=AAAA&skoid=1",
        b"sv=2026-10-06&se=2030-01-01&sr=c&si=policy1&sig=AAAA",
        b"sv=2026-10-06&se=2030-01-01&sr=d&sdd=1&sp=r&sig=AAAA",
        b"sv=2026-10-06&se=2030-01-01%00&sr=b&sp=r&sig=AAAA",
        b"sv=2026-10-06&se=2030-02-30&sr=b&sp=r&sig=AAAA",
        b"sv=2026-10-06&se=2030-01-01&st=2030-01-01&sr=b&sp=r&sig=AAAA",
    ]
    for i, s in enumerate(shapes):
        out.append((f"sas-resign-{i}", auth_input(0x02 | (0x01 if i % 3 == 0 else 0) | (0x08 if i % 2 else 0),
                                                  b"PUT", b"/devstoreaccount1/mycontainer/a.txt",
                                                  b"mycontainer", b"a.txt", s, [])))
    out.append(("anon", auth_input(0, b"GET", b"/devstoreaccount1/mycontainer/a.txt", b"mycontainer",
                                   b"a.txt", b"", [])))
    out.append(("noacct", auth_input(0x04, b"GET", b"/nosuch/c/b", b"ccc", b"b", b"sig=AAAA&sv=2026-10-06", [])))
    return out


def varint(v):
    b = bytearray()
    while v >= 0x80:
        b.append((v & 0x7F) | 0x80)
        v >>= 7
    b.append(v)
    return bytes(b)


def bb(s):
    return varint(len(s)) + s


def extent(seq, vol, off, ln):
    return struct.pack(">QIQ", seq, vol, off) + varint(ln)


def records_seeds():
    meta = varint(2) + bb(b"key1") + bb(b"a") + bb(b"Key_2") + bb(b"b")
    blob = (b"\x01\x01\x01" + varint(11) + struct.pack(">QQQ", 0x8DC0000000001, 1, 2) +
            bb(b"text/plain") + bb(b"") + bb(b"") + bb(b"") + bb(b"") + b"M" * 16 + meta +
            varint(2) + bb(b"") + extent(1, 0, 0, 5) + bb(b"QUFB") + extent(2, 0, 4096, 6))
    cont = b"\x01" + struct.pack(">QQQQ", 7, 1, 2, 3) + b"\x02" + meta
    hdr = bytearray(32)
    hdr[0:4] = b"CBN1"
    hdr[4] = 1
    hdr[5] = 16
    hdr[8:16] = struct.pack("<Q", 42)
    hdr[16:24] = struct.pack("<Q", 65537)
    return [
        ("blob-0", b"\x00" + blob),
        ("blob-trunc", b"\x00" + blob[:40]),
        ("blob-hugecount", b"\x00" + blob[:60] + varint(2**40)),
        ("blob-smallarena", b"\x80" + blob),
        ("container-0", b"\x01" + cont),
        ("container-hugemeta", b"\x01" + cont[:34] + varint(65536)),
        ("extent-0", b"\x02" + extent(1, 2, 3, 4)),
        ("extent-long", b"\x02" + extent(1, 2, 3, 2**63)),
        ("needle-0", b"\x43" + bytes(hdr)),
        ("needle-trailer", b"\x03" + b"\x00" * 12),
    ]


def query_seeds():
    """fuzz_query: Query Blob Contents expressions, valid ones of every construct and the
    errors a client makes."""
    return [
        ("star", b"SELECT * FROM BlobStorage"),
        ("project-where", b"SELECT _2, name FROM BlobStorage WHERE _1 > 250;"),
        ("aggregates", b"select count(*), sum(_2), min(_1), max(_1), avg(_2) from BlobStorage "
                       b"where _3 is not null"),
        ("predicates", b"SELECT \"a b\", BlobStorage.x.y FROM BlobStorage WHERE _1 LIKE 'a!%' "
                       b"ESCAPE '!' OR _2 IN (1, 2, 'x') AND NOT _4 BETWEEN -1 AND 1e3"),
        ("arith", b"SELECT _1 * 2 + -_2 / (3 % 2) FROM BlobStorage WHERE (((_1 <> 'it''s')))"),
        ("literals", b"SELECT * FROM BlobStorage WHERE _1 >= .5 AND _2 != TRUE OR _3 = NULL"),
        ("unterminated", b"SELECT * FROM BlobStorage WHERE _1 = 'x"),
        ("mixed-agg", b"SELECT COUNT(*), _1 FROM BlobStorage"),
        ("deep", b"SELECT * FROM BlobStorage WHERE " + b"(" * 80 + b"1" + b")" * 80),
        # values for the Arrow conversions, and texts that are a decimal or a timestamp
        ("arrow-values", b"SELECT '2024-01-02T03:04:05Z', '12.345', 'true', _1, 1.5 "
                         b"FROM BlobStorage"),
        ("decimal-text", b"-0.005e-3"),
        ("timestamp-text", b"1999-12-31 23:59:59.999+05:30"),
    ]


if __name__ == "__main__":
    write("fuzz_parse", parse_seeds())
    write("fuzz_codec", codec_seeds())
    write("fuzz_time", time_seeds())
    write("fuzz_xml", xml_seeds())
    write("fuzz_auth", auth_seeds())
    write("fuzz_records", records_seeds())
    write("fuzz_query", query_seeds())
    print("seeds written under", os.path.join(HERE, "corpus"))
