"""Query Blob Contents (protocol doc §2.9, §4.11; docs/query.md) through the Python SDK's
query_blob: SQL over CSV and JSON lines, CSV, JSON and Arrow output with their dialects,
aggregates, the Avro-framed stream (progress, errors, end), the 400s for bad SQL and bad request
bodies, and a 200 MB blob queried with the server's memory staying bounded.  (Arrow output is read
back in full by Apache Arrow's own reader in tests/js/query.test.mjs; here its framing is walked.)"""
import os
import struct
import time

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ArrowDialect, ArrowType, DelimitedJsonDialect, DelimitedTextDialect

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
    # Arrow is an output format only, Parquet input is refused: both name the Type node
    for part in (b"<InputSerialization><Format><Type>arrow</Type></Format></InputSerialization>",
                 b"<InputSerialization><Format><Type>parquet</Type></Format></InputSerialization>"):
        r = _raw_query(raw, name, "r.csv", _request(b"SELECT * FROM BlobStorage", part))
        assert_error_response(r, 400, "InvalidXmlNodeValue")
        assert b"<XmlNodeName>Type</XmlNodeName>" in r.body


def _request(sql: bytes, *parts: bytes) -> bytes:
    return (b"<QueryRequest><QueryType>SQL</QueryType><Expression>" + sql + b"</Expression>" +
            b"".join(parts) + b"</QueryRequest>")


def _arrow_out(*fields: bytes) -> bytes:
    return (b"<OutputSerialization><Format><Type>arrow</Type><ArrowConfiguration><Schema>" +
            b"".join(b"<Field>" + f + b"</Field>" for f in fields) +
            b"</Schema></ArrowConfiguration></Format></OutputSerialization>")


def test_arrow_schema_refusals(container, raw):
    """An Arrow schema Cobalt cannot write is a 400 naming the node, before any data."""
    name = container.container_name
    container.upload_blob("r.csv", b"1,2\n")
    sql = b"SELECT * FROM BlobStorage"
    cases = [
        (b"<OutputSerialization><Format><Type>arrow</Type></Format></OutputSerialization>",
         b"ArrowConfiguration"),
        (_arrow_out(), b"Schema"),
        (_arrow_out(b"<Type>int32</Type>"), b"Type"),
        (_arrow_out(b"<Name>a</Name>"), b"Type"),
        (_arrow_out(b"<Type>decimal</Type>"), b"Precision"),
        (_arrow_out(b"<Type>decimal</Type><Precision>0</Precision>"), b"Precision"),
        (_arrow_out(b"<Type>decimal</Type><Precision>39</Precision>"), b"Precision"),
        (_arrow_out(b"<Type>decimal</Type><Precision>x</Precision>"), b"Precision"),
        (_arrow_out(b"<Type>decimal</Type><Precision>4</Precision><Scale>5</Scale>"), b"Scale"),
        (_arrow_out(b"<Type>decimal</Type><Precision>4</Precision><Scale>-1</Scale>"), b"Scale"),
    ]
    for part, node in cases:
        r = _raw_query(raw, name, "r.csv", _request(sql, part))
        assert_error_response(r, 400, "InvalidXmlNodeValue")
        assert b"<XmlNodeName>" + node + b"</XmlNodeName>" in r.body, (part, r.body)
    # the projection and the schema must have as many columns
    r = _raw_query(raw, name, "r.csv",
                   _request(b"SELECT _1, _2 FROM BlobStorage", _arrow_out(b"<Type>int64</Type>")))
    assert_error_response(r, 400, "ErrorProcessingQueryExpression")


def _arrow_messages(data: bytes):
    """Walks an Arrow IPC stream: [(header type, metadata, body)] up to the end-of-stream marker,
    which must end the data.  The header type and bodyLength come from the FlatBuffers Message
    table (root offset, vtable: fields version, header_type, header, bodyLength)."""
    out, pos = [], 0
    while True:
        cont, n = struct.unpack_from("<Ii", data, pos)
        assert cont == 0xFFFFFFFF and n % 8 == 0 and pos % 8 == 0
        pos += 8
        if n == 0:
            assert pos == len(data)
            return out
        meta = data[pos:pos + n]
        pos += n
        root = struct.unpack_from("<I", meta, 0)[0]
        vtable = root - struct.unpack_from("<i", meta, root)[0]
        vsize = struct.unpack_from("<H", meta, vtable)[0]
        slots = struct.unpack_from(f"<{(vsize - 4) // 2}H", meta, vtable + 4)
        version = struct.unpack_from("<h", meta, root + slots[0])[0]
        htype = meta[root + slots[1]]
        body_len = struct.unpack_from("<q", meta, root + slots[3])[0] if slots[3] else 0
        assert version == 4  # V5
        out.append((htype, meta, data[pos:pos + body_len]))
        pos += body_len


def test_arrow_output_as_the_sdk_asks(container):
    """Azure's own SDK example: a decimal(4,2) field over a CSV blob.  The result is an Arrow
    stream (a schema, a record batch, the end marker) with no error; the value is exact -- 400 as
    the unscaled 40000 at scale 2 (Azure itself writes 400 there, which reads back as 4.00)."""
    bc = container.upload_blob("a.csv", b"100,200,300,400\n300,400,500,600\n")
    data, errors, reader = _query(
        bc, "SELECT _2 from BlobStorage WHERE _1 > 250",
        output_format=[ArrowDialect(ArrowType.DECIMAL, name="abc", precision=4, scale=2)])
    assert errors == []
    assert len(reader) == 32
    msgs = _arrow_messages(data)
    assert [m[0] for m in msgs] == [1, 3]  # Schema, RecordBatch
    assert b"abc" in msgs[0][1]
    body = msgs[1][2]
    # no nulls: an empty validity buffer, then one 16-byte little-endian value
    assert len(body) == 16 and int.from_bytes(body, "little", signed=True) == 40000


def test_arrow_output_conversions_and_errors(container):
    """Values that do not convert to their field's type are null, each record with one reported
    as a non-fatal error at its position; a query matching nothing is a schema and the end."""
    text = b"1,true,2024-01-02\nx,maybe,2024-13-01\n3,false,2024-02-29T10:00:00Z\n"
    bc = container.upload_blob("c.csv", text)
    out = [ArrowDialect(ArrowType.INT64, name="i"), ArrowDialect(ArrowType.BOOL, name="b"),
           ArrowDialect(ArrowType.TIMESTAMP_MS, name="t")]
    data, errors, _ = _query(bc, "SELECT * FROM BlobStorage", output_format=out)
    assert [(e.error, e.is_fatal, e.position) for e in errors] == \
        [("InvalidArrowValue", False, text.index(b"x,"))]
    assert "Field i" in errors[0].description
    msgs = _arrow_messages(data)
    assert [m[0] for m in msgs] == [1, 3]
    body = msgs[1][2]
    # i: validity 0b101 (padded to 8), three int64 values
    assert body[0] == 0b101
    assert struct.unpack_from("<3q", body, 8) == (1, 0, 3)
    data, errors, _ = _query(bc, "SELECT * FROM BlobStorage WHERE _1 = 'none'",
                             output_format=out)
    assert errors == [] and [m[0] for m in _arrow_messages(data)] == [1]


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


def _rss_bound_holds(pid: int, before: int, peak: int, limit_kib: int) -> bool:
    """RSS grew by less than limit_kib -- or the server runs under a sanitizer, whose allocator
    keeps freed memory in quarantine (up to 256 MB under ASan): RSS says nothing there."""
    with open(f"/proc/{pid}/maps") as f:
        if any(lib in f.read() for lib in ("libasan", "libtsan")):
            return True
    return peak - before < limit_kib


class _Counter:
    """A sink for readinto that keeps only a count and the first bytes."""

    def __init__(self):
        self.n = 0
        self.head = b""

    def write(self, b):
        if len(self.head) < 64:
            self.head += bytes(b[:64])
        self.n += len(b)
        return len(b)


def test_amplifying_projection_streams_in_bounded_memory(server, container):
    """A column selected many times multiplies every record: 1 MiB of short records, each
    projected 40 times, is about 45 MB of output, handed on in steps of a few MiB (not one
    step's worth per MiB read); a single record whose projection would pass 64 MiB is left out
    with a non-fatal OutputTooLarge error."""
    rec = b"0123456789\n"
    n = (1 << 20) // len(rec)
    bc = container.upload_blob("amp.csv", rec * n)
    sql = "SELECT " + ", ".join(["_1"] * 40) + " FROM BlobStorage"
    pid = server.proc.pid
    before = _rss_kib(pid)
    sink = _Counter()
    reader = bc.query_blob(sql)
    reader.readinto(sink)
    peak = _rss_kib(pid)
    assert sink.n == n * (40 * 11)  # 40 values, 39 commas and a newline each
    assert sink.head.startswith(b"0123456789,0123456789,")
    assert _rss_bound_holds(pid, before, peak, 48 * 1024), \
        f"RSS grew from {before} KiB to {peak} KiB"

    big = b"x" * (1 << 20)
    bc = container.upload_blob("wide.csv", b"a,1\n" + big + b",2\nb,3\n")
    data, errors, _ = _query(bc, "SELECT " + ", ".join(["_1"] * 70) + " FROM BlobStorage")
    assert data == b",".join([b"a"] * 70) + b"\n" + b",".join([b"b"] * 70) + b"\n"
    assert [(e.error, e.is_fatal, e.position) for e in errors] == [("OutputTooLarge", False, 4)]


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
    assert _rss_bound_holds(pid, before, peak, 64 * 1024), \
        f"RSS grew from {before} KiB to {peak} KiB"
    # The same stream with everything selected: the output is the input.
    reader = bc.query_blob("SELECT COUNT(*), MAX(_1) FROM BlobStorage")
    assert reader.readall() == b"%d,%08d\n" % (nchunks * 100000, 99999)
