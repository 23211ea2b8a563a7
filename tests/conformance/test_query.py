"""Query Blob Contents (protocol doc §2.9, §4.11; docs/query.md) through the Python SDK's
query_blob: SQL over CSV and JSON lines, CSV and JSON output with their dialects, aggregates,
the Avro-framed stream (progress, errors, end), the 400s for bad SQL and bad request bodies, and a
200 MB blob queried with the server's memory staying bounded."""
import os
import time

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import DelimitedJsonDialect, DelimitedTextDialect

from cobalt_testlib import assert_error_response, expect_error

CSV = (b"name,qty,price\r\n"
       b"apple,250,1.5\r\n"
       b"pear,40,2.25\r\n"
       b"short\r\n"
       b"\"fig, dried\",7,\"3.0\"\r\n")


def _query(bc, sql, **kw):
    errors = []
    reader = bc.query_blob(sql, on_error=errors.append, **kw)
    return reader.readall(), errors, reader


def test_select_star_csv_round_trips(container):
    bc = container.upload_blob("a.csv", CSV)
    data, errors, reader = _query(bc, "SELECT * FROM BlobStorage")
    # CRLF records become LF (the default separator), quoted fields stay quoted where needed.
    assert data == CSV.replace(b"\r\n", b"\n").replace(b'"3.0"', b"3.0")
    assert errors == []
    assert len(reader) == len(CSV)  # totalBytes from the progress and end records


def test_projection_where_and_numbers(container):
    bc = container.upload_blob("a.csv", CSV)
    data, errors, _ = _query(bc, "SELECT _1, _3 FROM BlobStorage WHERE _2 > 39")
    assert data == b"apple,1.5\npear,2.25\n"
    # the short record has no _2: a non-fatal error naming its position, the query goes on
    assert len(errors) == 1 and not errors[0].is_fatal
    assert errors[0].position == CSV.index(b"short")
    data, _, _ = _query(bc, "SELECT _1 FROM BlobStorage WHERE _2 > '39'")
    # text against text compares bytewise: '250' < '39' < '40' < '7' < 'qty'
    assert data == b'name\npear\n"fig, dried"\n'


def test_header_names_and_output_dialect(container):
    bc = container.upload_blob("a.csv", CSV)
    out = DelimitedTextDialect(delimiter=";", quotechar="'", lineterminator=".", escapechar="\\",
                               has_header=True)
    data, errors, _ = _query(bc, "SELECT name, price FROM BlobStorage WHERE qty < 100",
                             blob_format=DelimitedTextDialect(has_header=True), output_format=out)
    # the header row is written; fields holding the record separator '.' are quoted
    assert data == b"name;price.pear;'2.25'.fig, dried;'3.0'."
    assert len(errors) == 1  # "short" has no qty


def test_like_in_between_null_and_logic(container):
    bc = container.upload_blob("b.csv", b"a,1,x\nb,2,\nab,3,y\nc,4,z\n")
    q = lambda where: _query(bc, "SELECT _1 FROM BlobStorage WHERE " + where)[0]
    assert q("_1 LIKE 'a%'") == b"a\nab\n"
    assert q("_1 NOT LIKE '_'") == b"ab\n"
    assert q("_2 IN (2, 4)") == b"b\nc\n"
    assert q("_2 BETWEEN 2 AND 3") == b"b\nab\n"
    assert q("_3 IS NULL") == b"b\n"
    assert q("_3 IS NOT NULL AND NOT _1 = 'a'") == b"ab\nc\n"
    assert q("_1 = 'a' OR _2 * 2 = 8") == b"a\nc\n"


def test_aggregates(container):
    bc = container.upload_blob("n.csv", b"x,10\ny,\nz,2.5\n")
    data, _, _ = _query(bc, "SELECT COUNT(*), COUNT(_2), SUM(_2), MIN(_1), MAX(_1), AVG(_2) "
                            "FROM BlobStorage")
    assert data == b"3,2,12.5,x,z,6.25\n"
    data, _, _ = _query(bc, "select count(*) from BlobStorage where _1 > 'x';")
    assert data == b"2\n"


def test_json_lines_in_and_out(container):
    lines = (b'{"name": "owner", "id": 1, "tags": {"k": "v"}}\n'
             b'{"name2": "owner2"}\n'
             b'{"name": "a\\"b", "id": 2.5, "ok": true}\n')
    bc = container.upload_blob("j.json", lines)
    jin = DelimitedJsonDialect(delimiter="\n")
    data, errors, _ = _query(bc, "SELECT name FROM BlobStorage", blob_format=jin,
                             output_format=DelimitedJsonDialect(delimiter=";"))
    assert data == b'{"name":"owner"};{};{"name":"a\\"b"};'  # an absent member is left out
    assert errors == []
    data, _, _ = _query(bc, "SELECT * FROM BlobStorage WHERE id >= 1", blob_format=jin,
                        output_format=DelimitedJsonDialect(delimiter="\n"))
    assert data == (b'{"name":"owner","id":1,"tags":{"k":"v"}}\n'
                    b'{"name":"a\\"b","id":2.5,"ok":true}\n')
    data, _, _ = _query(bc, "SELECT tags.k, id FROM BlobStorage WHERE ok = true OR id = 1",
                        blob_format=jin, output_format=DelimitedTextDialect())
    assert data == b"v,1\n,2.5\n"


def test_csv_to_json(container):
    bc = container.upload_blob("c.csv", b"k,v\n1,one\n2,\"t,wo\"\n")
    data, _, _ = _query(bc, "SELECT * FROM BlobStorage WHERE _1 = 2",
                        output_format=DelimitedJsonDialect())
    assert data == b'{"_1":"2","_2":"t,wo"}\n'
    data, _, _ = _query(bc, "SELECT v FROM BlobStorage", blob_format=DelimitedTextDialect(
        has_header=True), output_format=DelimitedJsonDialect())
    assert data == b'{"v":"one"}\n{"v":"t,wo"}\n'


def test_bad_json_record_is_fatal(container):
    bc = container.upload_blob("bad.json", b'{name: owner}\n{"a": 1}\n')
    data, errors, reader = _query(bc, "SELECT * FROM BlobStorage",
                                  blob_format=DelimitedJsonDialect(),
                                  output_format=DelimitedTextDialect())
    assert data == b""
    assert len(errors) == 1 and errors[0].is_fatal and errors[0].position == 0
    assert len(reader) == 23


def test_header_without_the_column_is_fatal(container):
    bc = container.upload_blob("h.csv", b"a,b\n1,2\n")
    data, errors, _ = _query(bc, "SELECT c FROM BlobStorage",
                             blob_format=DelimitedTextDialect(has_header=True))
    assert data == b"" and len(errors) == 1 and errors[0].is_fatal


@pytest.mark.parametrize("sql", [
    "SELEC * FROM BlobStorage",
    "SELECT * FROM Elsewhere",
    "SELECT * FROM BlobStorage WHERE",
    "SELECT * FROM BlobStorage WHERE _1 = 'unterminated",
    "SELECT COUNT(*), _1 FROM BlobStorage",
    "SELECT * FROM BlobStorage WHERE (_1 = 1",
    "SELECT name FROM BlobStorage",  # a name, but the input has no header row
])
def test_bad_sql_is_400(container, sql):
    bc = container.upload_blob("x.csv", b"1,2\n")
    e = expect_error(lambda: bc.query_blob(sql).readall(), 400, "ErrorProcessingQueryExpression")
    assert "position" in str(e) or "header" in str(e)


def test_missing_blob_and_conditions(container):
    bc = container.get_blob_client("none.csv")
    expect_error(lambda: bc.query_blob("SELECT * FROM BlobStorage"), 404, "BlobNotFound")
    bc = container.upload_blob("y.csv", b"1\n")
    expect_error(lambda: bc.query_blob("SELECT * FROM BlobStorage", if_match='"0x1"'), 412,
                 "ConditionNotMet")
    etag = bc.get_blob_properties().etag
    data, _, _ = _query(bc, "SELECT * FROM BlobStorage", if_match=etag)
    assert data == b"1\n"


def _raw_query(raw, container, blob, body: bytes):
    return raw.request("POST", f"/{container}/{blob}", query={"comp": "query"}, body=body,
                       headers={"Content-Type": "application/xml"})


def test_bad_request_bodies(container, raw):
    container.upload_blob("r.csv", b"1\n")
    name = container.container_name
    assert_error_response(_raw_query(raw, name, "r.csv", b"<NotAQuery/>"), 400,
                          "InvalidXmlDocument")
    assert_error_response(_raw_query(raw, name, "r.csv", b"<QueryRequest"), 400,
                          "InvalidXmlDocument")
    assert_error_response(_raw_query(raw, name, "r.csv",
                                     b"<QueryRequest><QueryType>SQL</QueryType></QueryRequest>"),
                          400, "InvalidXmlNodeValue")
    body = (b"<QueryRequest><QueryType>SQL</QueryType><Expression>SELECT * FROM BlobStorage"
            b"</Expression><InputSerialization><Format><Type>delimited</Type>"
            b"<DelimitedTextConfiguration><ColumnSeparator>;;</ColumnSeparator>"
            b"</DelimitedTextConfiguration></Format></InputSerialization></QueryRequest>")
    r = _raw_query(raw, name, "r.csv", body)
    assert_error_response(r, 400, "InvalidXmlNodeValue")
    assert b"ColumnSeparator" in r.body
    # Arrow output and Parquet input are refused, naming the Type node (docs/query.md)
    for part in (b"<OutputSerialization><Format><Type>arrow</Type></Format></OutputSerialization>",
                 b"<InputSerialization><Format><Type>parquet</Type></Format></InputSerialization>"):
        body = (b"<QueryRequest><QueryType>SQL</QueryType><Expression>SELECT * FROM BlobStorage"
                b"</Expression>" + part + b"</QueryRequest>")
        r = _raw_query(raw, name, "r.csv", body)
        assert_error_response(r, 400, "InvalidXmlNodeValue")
        assert b"<XmlNodeName>Type</XmlNodeName>" in r.body


def test_response_is_avro_with_blob_headers(container, raw):
    bc = container.upload_blob("h.csv", b"1,2\n", metadata={"k": "v"})
    body = (b"<QueryRequest><QueryType>SQL</QueryType><Expression>SELECT _2 FROM BlobStorage"
            b"</Expression></QueryRequest>")
    r = _raw_query(raw, container.container_name, "h.csv", body)
    assert r.status == 200
    assert r.header("Content-Type") == "avro/binary"
    assert r.header("ETag") == bc.get_blob_properties().etag
    assert r.header("x-ms-meta-k") == "v"
    assert r.body.startswith(b"Obj\x01") and b"queryBlobContents.end" in r.body
    assert b"2\n" in r.body


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.heavy
def test_200mb_blob_streams_in_bounded_memory(server, container):
    # 200 MB of generated CSV, uploaded in blocks; the query scans all of it.
    row = b"%08d,item-%08d,%d.%02d,some padding text to make the rows longer than a little\n"
    chunk = b"".join(row % (i, i, i % 1000, i % 100) for i in range(100000))
    nchunks = (200 << 20) // len(chunk) + 1
    bc = container.get_blob_client("big.csv")
    ids = []
    from azure.storage.blob import BlobBlock
    for k in range(nchunks):
        bid = "%08d" % k
        bc.stage_block(bid, chunk)
        ids.append(BlobBlock(block_id=bid))
    bc.commit_block_list(ids)
    total = len(chunk) * nchunks
    assert total >= 200 << 20
    pid = server.proc.pid
    before = _rss_kib(pid)
    peak = before
    reader = bc.query_blob("SELECT * FROM BlobStorage WHERE _3 > 998.98")
    got = 0
    lines = 0
    last = time.monotonic()
    for rec in reader.records():
        if rec:
            lines += 1
            got += len(rec)
        if time.monotonic() - last > 0.2:
            peak = max(peak, _rss_kib(pid))
            last = time.monotonic()
    peak = max(peak, _rss_kib(pid))
    assert lines == nchunks * 100  # 999.99: once in every 1000 rows
    assert len(reader) == total
    # A server that buffered the blob or the result would grow by hundreds of MB.
    assert peak - before < 64 * 1024, f"RSS grew from {before} KiB to {peak} KiB"
    # The same stream with everything selected: the output is the input.
    reader = bc.query_blob("SELECT COUNT(*), MAX(_1) FROM BlobStorage")
    assert reader.readall() == b"%d,%08d\n" % (nchunks * 100000, 99999)
