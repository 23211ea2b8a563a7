// Append blobs with the JS SDK (AppendBlobClient): create, append (with conditions), seal, list.
// Run from the repo root:  node --test tests/js/append.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startServer } from "./server.mjs";

let server;
let container;

before(async () => {
  server = await startServer("cobalt-js-append-");
  container = server.service.getContainerClient(`jsappend${randomBytes(4).toString("hex")}`);
  await container.create();
});
after(async () => { await server?.stop(); });

test("append blob: create, appendBlock, conditions, seal, list", async () => {
  const ab = container.getAppendBlobClient("logs/app.log");
  await ab.create({ metadata: { kind: "log" } });
  const lines = [];
  for (let i = 0; i < 10; i++) {
    const line = Buffer.from(`${new Date().toISOString()} entry ${i}\n`);
    const before = lines.reduce((n, l) => n + l.length, 0);
    const r = await ab.appendBlock(line, line.length);
    assert.equal(r.blobAppendOffset, String(before));
    assert.equal(r.blobCommittedBlockCount, i + 1);
    lines.push(line);
  }
  const all = Buffer.concat(lines);
  assert.deepEqual(await ab.downloadToBuffer(), all);
  const props = await ab.getProperties();
  assert.equal(props.blobType, "AppendBlob");
  assert.equal(props.blobCommittedBlockCount, 10);
  assert.equal(props.contentLength, all.length);

  await assert.rejects(ab.appendBlock(Buffer.from("x"), 1, { conditions: { appendPosition: 3 } }),
    (e) => e.statusCode === 412 && e.code === "AppendPositionConditionNotMet");
  await assert.rejects(ab.appendBlock(Buffer.from("xy"), 2, { conditions: { maxSize: all.length + 1 } }),
    (e) => e.statusCode === 412 && e.code === "MaxBlobSizeConditionNotMet");

  const sealed = await ab.seal();
  assert.equal(sealed.isSealed, true);
  await assert.rejects(ab.appendBlock(Buffer.from("late"), 4), (e) => e.statusCode === 409 && e.code === "BlobIsSealed");

  const items = [];
  for await (const b of container.listBlobsFlat({ prefix: "logs/" })) items.push(b);
  assert.equal(items.length, 1);
  assert.equal(items[0].properties.blobType, "AppendBlob");
  assert.equal(items[0].properties.isSealed, true);
  assert.equal(items[0].properties.contentLength, all.length);

  const bb = container.getBlockBlobClient("logs/app.log");
  await assert.rejects(bb.stageBlock("QUFBQQ==", Buffer.from("x"), 1),
    (e) => e.statusCode === 409 && e.code === "InvalidBlobType");
});
