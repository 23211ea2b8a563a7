// Query Blob Contents with the official JS SDK (@azure/storage-blob's BlockBlobClient.query, whose
// BlobQuickQueryStream parses the Avro-framed response) against the real cobalt binary: CSV and
// JSON input and output, dialects, aggregates, progress and error callbacks, and the 400s; Arrow
// output read back with Apache Arrow's own reader (apache-arrow's RecordBatchReader).
// Run from the repo root:  node --test tests/js/query.test.mjs
// COBALT_BIN selects the binary (default build/cobalt).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./server.mjs";
import { newContainer, rejects, streamToBuffer } from "./lib.mjs";
import { RecordBatchReader } from "apache-arrow";

let server;
let container;

before(async () => {
  server = await startServer("cobalt-js-query-");
  container = await newContainer(server.service, "jsquery");
});
after(async () => { await server?.stop(); });

const CSV = "id,fruit,qty\n1,apple,250\n2,\"pear, green\",40\n3,fig\n4,plum,7\n";

async function upload(name, text) {
  const b = container.getBlockBlobClient(name);
  await b.upload(text, Buffer.byteLength(text));
  return b;
}

async function run(blob, sql, options = {}) {
  const errors = [];
  const progress = [];
  const res = await blob.query(sql, {
    ...options,
    onError: (e) => errors.push(e),
    onProgress: (p) => progress.push(p.loadedBytes),
  });
  const bytes = await streamToBuffer(res.readableStreamBody);
  return { body: bytes.toString(), bytes, errors, progress, res };
}

// An Arrow IPC stream, read with Apache Arrow's reader: one stream (a second would be an error),
// its fields as "name:type", its batches' sizes and its rows as plain objects.
function readArrow(bytes) {
  const streams = [];
  for (const r of RecordBatchReader.readAll(bytes)) streams.push({ schema: r.schema, batches: [...r] });
  assert.equal(streams.length, 1);
  const { schema, batches } = streams[0];
  const fields = schema.fields.map((f) => `${f.name}:${f.type}`);
  const rows = batches.flatMap((b) => b.toArray().map((row) => row.toJSON()));
  return { fields, sizes: batches.map((b) => b.numRows), rows };
}


test("SELECT * returns the CSV as it is, with progress up to the blob's size", async () => {
  const b = await upload("a.csv", CSV);
  const { body, errors, progress, res } = await run(b, "SELECT * FROM BlobStorage");
  assert.equal(body, CSV);
  assert.deepEqual(errors, []);
  assert.equal(progress.at(-1), Buffer.byteLength(CSV));
  assert.equal(res.contentType, "avro/binary");
});

test("projection, WHERE with numbers, and a non-fatal error for a short record", async () => {
  const b = await upload("b.csv", CSV);
  const { body, errors } = await run(b, "SELECT _2 FROM BlobStorage WHERE _3 >= 40");
  assert.equal(body, "apple\n\"pear, green\"\n");
  assert.equal(errors.length, 1);
  assert.equal(errors[0].isFatal, false);
  assert.equal(errors[0].position, CSV.indexOf("3,fig"));
});

test("header names in, another dialect out", async () => {
  const b = await upload("c.csv", CSV);
  const { body } = await run(b, "SELECT fruit, qty FROM BlobStorage WHERE qty < 100 AND fruit LIKE 'p%'", {
    inputTextConfiguration: { kind: "csv", recordSeparator: "\n", fieldQuote: '"', hasHeaders: true },
    outputTextConfiguration: { kind: "csv", recordSeparator: "|", columnSeparator: ";", fieldQuote: "'", hasHeaders: true },
  });
  assert.equal(body, "fruit;qty|pear, green;40|plum;7|");
});

test("aggregates", async () => {
  const b = await upload("d.csv", "x,10\ny,\nz,2.5\n");
  const { body } = await run(b, "SELECT COUNT(*), SUM(_2), AVG(_2), MIN(_1), MAX(_2) FROM BlobStorage");
  assert.equal(body, "3,12.5,6.25,x,2.5\n"); // MAX over text: '2.5' > '10'
});

test("JSON lines in, JSON out", async () => {
  const b = await upload("e.json", '{"a": 1, "b": "x"}\n{"a": 2}\n{"a": 3, "b": "y\\nz"}\n');
  const { body } = await run(b, "SELECT b FROM BlobStorage WHERE a > 1", {
    inputTextConfiguration: { kind: "json", recordSeparator: "\n" },
    outputTextConfiguration: { kind: "json", recordSeparator: "\n" },
  });
  assert.equal(body, '{}\n{"b":"y\\nz"}\n');
});

test("a record that is not JSON is a fatal error", async () => {
  const b = await upload("f.json", "{oops}\n");
  const { body, errors } = await run(b, "SELECT * FROM BlobStorage", {
    inputTextConfiguration: { kind: "json", recordSeparator: "\n" },
  });
  assert.equal(body, "");
  assert.equal(errors.length, 1);
  assert.equal(errors[0].isFatal, true);
});

test("Arrow output: every type Azure offers, nulls, and values that do not convert", async () => {
  const text = "name,n,price,when,ok,amount\n" +
    "apple,250,1.5,2024-01-02T03:04:05.678Z,true,12.345\n" +
    "pear,,2.25,2024-02-29,FALSE,-0.005\n" +
    "fig,7.5,x,2024-02-30,maybe,1e3\n" +
    "plum,-9223372036854775808,1e300,2024-06-01 12:00:00+02:00,false,\n";
  const b = await upload("arrow.csv", text);
  const { bytes, errors, body } = await run(b, "SELECT * FROM BlobStorage", {
    inputTextConfiguration: { kind: "csv", recordSeparator: "\n", hasHeaders: true },
    outputTextConfiguration: {
      kind: "arrow",
      schema: [
        { type: "string", name: "name" },
        { type: "int64" }, // no name: _2
        { type: "double", name: "price" },
        { type: "timestamp[ms]", name: "when" },
        { type: "bool", name: "ok" },
        { type: "decimal", name: "amount", precision: 10, scale: 2 },
      ],
    },
  });
  assert.ok(body.length > 0);
  const { fields, rows } = readArrow(bytes);
  assert.deepEqual(fields, ["name:Utf8", "_2:Int64", "price:Float64", "when:Timestamp<MILLISECOND>",
    "ok:Bool", "amount:Decimal[10e+2]"]);
  assert.equal(rows.length, 4);
  assert.deepEqual(rows.map((r) => r.name), ["apple", "pear", "fig", "plum"]);
  assert.deepEqual(rows.map((r) => r._2), [250n, null, null, -9223372036854775808n]);
  assert.deepEqual(rows.map((r) => r.price), [1.5, 2.25, null, 1e300]);
  assert.deepEqual(rows.map((r) => r.when), [Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    Date.UTC(2024, 1, 29), null, Date.UTC(2024, 5, 1, 10)]);
  assert.deepEqual(rows.map((r) => r.ok), [true, false, null, false]);
  // decimals as their unscaled 128-bit integers: 12.35 (half away from zero), -0.01, 1000.00, null
  const unscaled = (d) => (d === null ? null : BigInt(`${d}`.replace(/"/g, "")));
  assert.deepEqual(rows.map((r) => unscaled(r.amount)), [1235n, -1n, 100000n, null]);
  // fig's 7.5 (int64), x (double), Feb 30 and maybe: one non-fatal error each, at fig's record
  const at = text.indexOf("fig");
  assert.equal(errors.length, 1); // one per record, naming its first value that does not convert
  assert.equal(errors[0].isFatal, false);
  assert.equal(errors[0].name, "InvalidArrowValue");
  assert.equal(errors[0].position, at);
});

test("Arrow output: JSON input, aggregates, an empty result and a blob of many batches", async () => {
  const json = await upload("arrow.json", '{"u": {"id": 1}, "s": "a\\u00e9"}\n{"u": {"id": 2}, "s": null}\n');
  let out = await run(json, "SELECT u.id, s FROM BlobStorage", {
    inputTextConfiguration: { kind: "json", recordSeparator: "\n" },
    outputTextConfiguration: { kind: "arrow", schema: [{ type: "int64", name: "id" }, { type: "string" }] },
  });
  let got = readArrow(out.bytes);
  assert.deepEqual(got.fields, ["id:Int64", "s:Utf8"]);
  assert.deepEqual(got.rows, [{ id: 1n, s: "a\u00e9" }, { id: 2n, s: null }]);

  out = await run(json, "SELECT COUNT(*), AVG(u.id) FROM BlobStorage", {
    inputTextConfiguration: { kind: "json", recordSeparator: "\n" },
    outputTextConfiguration: { kind: "arrow", schema: [{ type: "int64", name: "n" }, { type: "double", name: "avg" }] },
  });
  assert.deepEqual(readArrow(out.bytes).rows, [{ n: 2n, avg: 1.5 }]);

  out = await run(json, "SELECT s FROM BlobStorage WHERE u.id > 5", {
    inputTextConfiguration: { kind: "json", recordSeparator: "\n" },
    outputTextConfiguration: { kind: "arrow", schema: [{ type: "string", name: "s" }] },
  });
  got = readArrow(out.bytes);
  assert.deepEqual(got.fields, ["s:Utf8"]);
  assert.deepEqual(got.rows, []);

  // 300,000 records (about 3.5 MB): a batch per MiB read, every row there, in order
  const N = 300000;
  const lines = [];
  for (let i = 0; i < N; i++) lines.push(`${i},v${i}`);
  const big = await upload("big.csv", lines.join("\n") + "\n");
  out = await run(big, "SELECT _1, _2 FROM BlobStorage WHERE _1 % 3 = 0", {
    outputTextConfiguration: { kind: "arrow", schema: [{ type: "int64", name: "i" }, { type: "string", name: "v" }] },
  });
  got = readArrow(out.bytes);
  assert.ok(got.sizes.length >= 3, `batches: ${got.sizes}`);
  assert.equal(got.rows.length, N / 3);
  got.rows.forEach((r, k) => {
    if (r.i !== BigInt(3 * k) || r.v !== `v${3 * k}`) assert.fail(`row ${k}: ${r.i} ${r.v}`);
  });
  assert.deepEqual(out.errors, []);
});

test("bad SQL, a missing blob and bad Arrow schemas are refused before any data", async () => {
  const b = await upload("g.csv", "1\n");
  await rejects(b.query("SELECT * FROM"), 400, "ErrorProcessingQueryExpression");
  await rejects(b.query("SELECT * FROM BlobStorage WHERE _1 ="), 400, "ErrorProcessingQueryExpression");
  await rejects(container.getBlockBlobClient("none.csv").query("SELECT * FROM BlobStorage"), 404, "BlobNotFound");
  const arrow = (schema) => ({ outputTextConfiguration: { kind: "arrow", schema } });
  await rejects(b.query("SELECT * FROM BlobStorage", arrow([{ type: "int32", name: "a" }])), 400, "InvalidXmlNodeValue");
  await rejects(b.query("SELECT * FROM BlobStorage", arrow([{ type: "decimal", name: "a" }])), 400, "InvalidXmlNodeValue");
  await rejects(b.query("SELECT * FROM BlobStorage", arrow([{ type: "decimal", precision: 39 }])), 400, "InvalidXmlNodeValue");
  await rejects(b.query("SELECT * FROM BlobStorage", arrow([{ type: "decimal", precision: 4, scale: 5 }])), 400, "InvalidXmlNodeValue");
  await rejects(b.query("SELECT * FROM BlobStorage", arrow([])), 400, "InvalidXmlNodeValue");
  await rejects(b.query("SELECT _1, _1 FROM BlobStorage", arrow([{ type: "int64" }])), 400, "ErrorProcessingQueryExpression");
});
