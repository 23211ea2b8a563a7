// Query Blob Contents with the official JS SDK (@azure/storage-blob's BlockBlobClient.query, whose
// BlobQuickQueryStream parses the Avro-framed response) against the real cobalt binary: CSV and
// JSON input and output, dialects, aggregates, progress and error callbacks, and the 400s.
// Run from the repo root:  node --test tests/js/query.test.mjs
// COBALT_BIN selects the binary (default build/cobalt).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./server.mjs";
import { newContainer, rejects, streamToBuffer } from "./lib.mjs";

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
  const body = (await streamToBuffer(res.readableStreamBody)).toString();
  return { body, errors, progress, res };
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

test("bad SQL, a missing blob and Arrow output are refused before any data", async () => {
  const b = await upload("g.csv", "1\n");
  await rejects(b.query("SELECT * FROM"), 400, "ErrorProcessingQueryExpression");
  await rejects(b.query("SELECT * FROM BlobStorage WHERE _1 ="), 400, "ErrorProcessingQueryExpression");
  await rejects(container.getBlockBlobClient("none.csv").query("SELECT * FROM BlobStorage"), 404, "BlobNotFound");
  await rejects(b.query("SELECT * FROM BlobStorage", {
    outputTextConfiguration: { kind: "arrow", schema: [{ type: "int64", name: "a" }] },
  }), 400, "InvalidXmlNodeValue");
});
