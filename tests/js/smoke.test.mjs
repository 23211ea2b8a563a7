// Smoke test: the official JS SDK (@azure/storage-blob) against the real cobalt binary.
// Run from the repo root:  node --test tests/js/smoke.test.mjs
// COBALT_BIN selects the binary (default build/cobalt).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { startServer } from "./server.mjs";

let server;
let service;

before(async () => { server = await startServer("cobalt-js-"); service = server.service; });
after(async () => { await server?.stop(); });

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

async function streamToBuffer(readable) {
  const chunks = [];
  for await (const c of readable) chunks.push(typeof c === "string" ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

test("container, blobs, listing, metadata, delete", async (t) => {
  const name = `js${randomBytes(6).toString("hex")}`;
  const container = service.getContainerClient(name);

  await t.test("create container", async () => {
    const res = await container.create({ metadata: { origin: "js" } });
    assert.match(res.etag, /^"0x[0-9A-F]{15,}"$/);
    assert.equal(await container.exists(), true);
    const props = await container.getProperties();
    assert.deepEqual(props.metadata, { origin: "js" });
    await assert.rejects(container.create(), (e) => e.statusCode === 409 && e.code === "ContainerAlreadyExists");
  });

  const small = Buffer.from("hello from the JS SDK");
  await t.test("upload (single Put Blob) and download", async () => {
    const bb = container.getBlockBlobClient("dir/hello.txt");
    const res = await bb.upload(small, small.length, { blobHTTPHeaders: { blobContentType: "text/plain" } });
    assert.ok(res.etag);
    assert.equal(Buffer.from(res.contentMD5).toString("base64"),
      createHash("md5").update(small).digest("base64"));
    const dl = await bb.download();
    assert.equal(dl.contentType, "text/plain");
    assert.equal(dl.contentLength, small.length);
    assert.deepEqual(await streamToBuffer(dl.readableStreamBody), small);
    const part = await bb.download(6, 4);
    assert.equal(part._response.status, 206);
    assert.equal((await streamToBuffer(part.readableStreamBody)).toString(), "from");
  });

  const big = randomBytes(1536 * 1024 + 123);
  await t.test("uploadData with small blocks (Put Block + Put Block List)", async () => {
    const bb = container.getBlockBlobClient("dir/sub/big.bin");
    await bb.uploadData(big, { blockSize: 256 * 1024, maxSingleShotSize: 256 * 1024, concurrency: 4 });
    const list = await bb.getBlockList("committed");
    assert.equal(list.committedBlocks.length, Math.ceil(big.length / (256 * 1024)));
    const buf = await bb.downloadToBuffer();
    assert.equal(buf.length, big.length);
    assert.equal(sha256(buf), sha256(big));
    const props = await bb.getProperties();
    assert.equal(props.contentLength, big.length);
  });

  await t.test("more blobs for listing", async () => {
    for (const n of ["a.txt", "b.txt", "dir/x.txt", "dir/sub/y.txt", "z/deep/file"]) {
      await container.getBlockBlobClient(n).upload(n, Buffer.byteLength(n));
    }
  });

  const all = ["a.txt", "b.txt", "dir/hello.txt", "dir/sub/big.bin", "dir/sub/y.txt", "dir/x.txt", "z/deep/file"];
  await t.test("list flat (and by page)", async () => {
    const names = [];
    for await (const b of container.listBlobsFlat()) names.push(b.name);
    assert.deepEqual(names, all);
    const paged = [];
    let pages = 0;
    for await (const page of container.listBlobsFlat().byPage({ maxPageSize: 2 })) {
      pages++;
      assert.ok(page.segment.blobItems.length <= 2);
      for (const b of page.segment.blobItems) paged.push(b.name);
    }
    assert.deepEqual(paged, all);
    assert.equal(pages, Math.ceil(all.length / 2));
    const pref = [];
    for await (const b of container.listBlobsFlat({ prefix: "dir/sub/" })) pref.push(b.name);
    assert.deepEqual(pref, ["dir/sub/big.bin", "dir/sub/y.txt"]);
  });

  await t.test("list by hierarchy", async () => {
    const top = [];
    for await (const item of container.listBlobsByHierarchy("/")) {
      top.push(item.kind === "prefix" ? `P:${item.name}` : `B:${item.name}`);
    }
    assert.deepEqual(top.sort(), ["B:a.txt", "B:b.txt", "P:dir/", "P:z/"]);
    const inDir = [];
    for await (const item of container.listBlobsByHierarchy("/", { prefix: "dir/" })) {
      inDir.push(item.kind === "prefix" ? `P:${item.name}` : `B:${item.name}`);
    }
    assert.deepEqual(inDir.sort(), ["B:dir/hello.txt", "B:dir/x.txt", "P:dir/sub/"]);
  });

  await t.test("metadata and HTTP headers", async () => {
    const bc = container.getBlobClient("a.txt");
    const before = (await bc.getProperties()).etag;
    await bc.setMetadata({ Color: "blue", size_2: "L" });
    const p = await bc.getProperties();
    // Node lower-cases header names, so the SDK reports metadata keys in lower case.
    assert.deepEqual(Object.keys(p.metadata).map((k) => k.toLowerCase()).sort(), ["color", "size_2"]);
    assert.equal(p.metadata.color ?? p.metadata.Color, "blue");
    assert.equal(p.metadata.size_2, "L");
    assert.notEqual(p.etag, before);
    await bc.setHTTPHeaders({ blobContentType: "application/json", blobCacheControl: "no-cache" });
    const p2 = await bc.getProperties();
    assert.equal(p2.contentType, "application/json");
    assert.equal(p2.cacheControl, "no-cache");
    assert.equal(p2.metadata.size_2, "L");
    const items = [];
    for await (const b of container.listBlobsFlat({ includeMetadata: true, prefix: "a.txt" })) items.push(b);
    assert.equal(items.length, 1);
    assert.equal(items[0].metadata.size_2, "L");
  });

  await t.test("errors carry codes", async () => {
    const missing = container.getBlobClient("does/not/exist");
    assert.equal(await missing.exists(), false);
    await assert.rejects(missing.getProperties(), (e) => e.statusCode === 404);
    await assert.rejects(missing.download(), (e) => e.statusCode === 404 && e.code === "BlobNotFound");
  });

  await t.test("delete blob and container", async () => {
    const bc = container.getBlobClient("b.txt");
    const res = await bc.delete();
    assert.equal(res._response.status, 202);
    assert.equal(await bc.exists(), false);
    const names = [];
    for await (const b of container.listBlobsFlat()) names.push(b.name);
    assert.deepEqual(names, all.filter((n) => n !== "b.txt"));
    await container.delete();
    assert.equal(await container.exists(), false);
    await assert.rejects(container.getProperties(), (e) => e.statusCode === 404);
  });
});
