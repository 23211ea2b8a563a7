// AppendBlobClient (create, createIfNotExists, appendBlock with its conditions, seal) and the copy
// methods of BlobClient / BlockBlobClient (beginCopyFromURL, syncCopyFromURL, abortCopyFromURL,
// syncUploadFromURL, stageBlockFromURL) through the JS SDK. Copies whose source is a blob of this
// server, addressed by its URL with or without a SAS. Page blobs are a separate issue and are not
// covered here.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { BlobSASPermissions, generateBlobSASQueryParameters } from "@azure/storage-blob";
import { startServer } from "./server.mjs";
import { cred, hour, newContainer, rejects, uniq } from "./lib.mjs";

let server;
let container;

before(async () => {
  server = await startServer("cobalt-js-append-");
  container = await newContainer(server.service, "jsac");
});
after(async () => { await server?.stop(); });

const ab = () => container.getAppendBlobClient(uniq("a"));

test("create an append blob with metadata and headers", async () => {
  const a = ab();
  const res = await a.create({ metadata: { k: "v" }, blobHTTPHeaders: { blobContentType: "text/log" } });
  assert.equal(res._response.status, 201);
  const p = await a.getProperties();
  assert.equal(p.blobType, "AppendBlob");
  assert.equal(p.contentLength, 0);
  assert.equal(p.contentType, "text/log");
  assert.deepEqual(p.metadata, { k: "v" });
  assert.equal(p.blobCommittedBlockCount, 0);
});

test("createIfNotExists on an existing append blob", async () => {
  const a = ab();
  await a.create();
  assert.equal((await a.createIfNotExists()).succeeded, false);
});

test("create over an existing block blob replaces it", async () => {
  const name = uniq("x");
  await container.getBlockBlobClient(name).upload("block", 5);
  await container.getAppendBlobClient(name).create();
  assert.equal((await container.getBlobClient(name).getProperties()).blobType, "AppendBlob");
});

for (const sizes of [[1], [3, 5, 7], [4096, 1, 65536]]) {
  test(`appendBlock ${sizes.join("+")} bytes: offsets, count and content`, async () => {
    const a = ab();
    await a.create();
    let off = 0;
    const all = [];
    for (const [i, n] of sizes.entries()) {
      const data = Buffer.alloc(n, 65 + i);
      const r = await a.appendBlock(data, n);
      assert.equal(r.blobAppendOffset, String(off));
      assert.equal(r.blobCommittedBlockCount, i + 1);
      off += n;
      all.push(data);
    }
    assert.deepEqual(await a.downloadToBuffer(), Buffer.concat(all));
  });
}

test("appendBlock without a checksum answers no x-ms-content-crc64", async () => {
  const a = ab();
  await a.create();
  const r = await a.appendBlock("abc", 3);
  assert.equal(r._response.headers.get("x-ms-content-crc64"), undefined);
});

test("appendBlock with the right MD5 echoes it; a wrong one is 400 Md5Mismatch", async () => {
  const a = ab();
  await a.create();
  const sum = createHash("md5").update("abc").digest();
  const r = await a.appendBlock("abc", 3, { transactionalContentMD5: new Uint8Array(sum) });
  assert.deepEqual(Buffer.from(r.contentMD5), sum);
  await rejects(a.appendBlock("abd", 3, { transactionalContentMD5: new Uint8Array(sum) }), 400, "Md5Mismatch");
});

for (const [what, cond, code] of [["appendPosition too small", { appendPosition: 0 }, "AppendPositionConditionNotMet"],
  ["appendPosition too large", { appendPosition: 99 }, "AppendPositionConditionNotMet"],
  ["maxSize exceeded", { maxSize: 4 }, "MaxBlobSizeConditionNotMet"],
  ["If-Match another ETag", { ifMatch: '"0x1"' }, "ConditionNotMet"]]) {
  test(`appendBlock with ${what} is 412 ${code}`, async () => {
    const a = ab();
    await a.create();
    await a.appendBlock("abc", 3);
    await rejects(a.appendBlock("de", 2, { conditions: cond }), 412, code);
  });
}

test("appendBlock with matching appendPosition and maxSize", async () => {
  const a = ab();
  await a.create();
  await a.appendBlock("abc", 3);
  await a.appendBlock("de", 2, { conditions: { appendPosition: 3, maxSize: 5 } });
  assert.equal((await a.downloadToBuffer()).toString(), "abcde");
});

test("appendBlock to a block blob is 409 InvalidBlobType", async () => {
  const name = uniq("x");
  await container.getBlockBlobClient(name).upload("block", 5);
  await rejects(container.getAppendBlobClient(name).appendBlock("x", 1), 409, "InvalidBlobType");
});

test("appendBlock to a missing blob is 404 BlobNotFound", async () => {
  await rejects(ab().appendBlock("x", 1), 404, "BlobNotFound");
});

test("seal: appends refused, listed sealed, seal again is fine", async () => {
  const a = ab();
  await a.create();
  await a.appendBlock("x", 1);
  await a.seal();
  assert.equal((await a.getProperties()).isSealed, true);
  await rejects(a.appendBlock("y", 1), 409, "BlobIsSealed");
  await a.seal();
});

test("appendBlockFromURL copies a range of another blob", async () => {
  const src = container.getBlockBlobClient(uniq("src"));
  await src.upload("0123456789", 10);
  const a = ab();
  await a.create();
  await a.appendBlockFromURL(src.url + "?" + sasFor(src.name, "r"), 2, 5);
  assert.equal((await a.downloadToBuffer()).toString(), "23456");
});

// ---- copies ----

function sasFor(name, perms) {
  return generateBlobSASQueryParameters({ containerName: container.containerName, blobName: name,
    permissions: BlobSASPermissions.parse(perms), expiresOn: hour() }, cred).toString();
}
async function source(content = "copy me") {
  const s = container.getBlockBlobClient(uniq("src"));
  await s.upload(content, Buffer.byteLength(content), { metadata: { from: "src" }, blobHTTPHeaders: { blobContentType: "text/src" } });
  return s;
}

test("beginCopyFromURL within the account completes", async () => {
  const s = await source();
  const d = container.getBlobClient(uniq("dst"));
  const poller = await d.beginCopyFromURL(s.url);
  const res = await poller.pollUntilDone();
  assert.equal(res.copyStatus, "success");
  assert.equal((await d.downloadToBuffer()).toString(), "copy me");
  const p = await d.getProperties();
  assert.equal(p.contentType, "text/src");
  assert.deepEqual(p.metadata, { from: "src" });
  assert.equal(p.copyStatus, "success");
  assert.ok(p.copyId);
});

test("beginCopyFromURL with new metadata replaces the source's", async () => {
  const s = await source();
  const d = container.getBlobClient(uniq("dst"));
  await (await d.beginCopyFromURL(s.url, { metadata: { mine: "1" } })).pollUntilDone();
  assert.deepEqual((await d.getProperties()).metadata, { mine: "1" });
});

test("beginCopyFromURL with a SAS in the source URL", async () => {
  const s = await source();
  const d = container.getBlobClient(uniq("dst"));
  await (await d.beginCopyFromURL(`${s.url}?${sasFor(s.name, "r")}`)).pollUntilDone();
  assert.equal((await d.downloadToBuffer()).toString(), "copy me");
});

test("syncCopyFromURL with a SAS in the source URL", async () => {
  const s = await source("sync copy");
  const d = container.getBlobClient(uniq("dst"));
  const r = await d.syncCopyFromURL(`${s.url}?${sasFor(s.name, "r")}`);
  assert.equal(r.copyStatus, "success");
  assert.equal((await d.downloadToBuffer()).toString(), "sync copy");
});

test("syncUploadFromURL (Put Blob From URL) with a SAS source", async () => {
  const s = await source("from url");
  const d = container.getBlockBlobClient(uniq("dst"));
  await d.syncUploadFromURL(`${s.url}?${sasFor(s.name, "r")}`);
  assert.equal((await d.downloadToBuffer()).toString(), "from url");
});

test("stageBlockFromURL with a range, then commit", async () => {
  const s = await source("0123456789");
  const d = container.getBlockBlobClient(uniq("dst"));
  const id = Buffer.from("b1").toString("base64");
  await d.stageBlockFromURL(id, `${s.url}?${sasFor(s.name, "r")}`, 3, 4);
  await d.commitBlockList([id]);
  assert.equal((await d.downloadToBuffer()).toString(), "3456");
});

test("copy from a missing source fails with 404", async () => {
  const d = container.getBlobClient(uniq("dst"));
  await rejects(d.syncCopyFromURL(`${container.getBlobClient("nosuch").url}?${sasFor("nosuch", "r")}`), 404);
});

test("copy with a source condition that fails is 412", async () => {
  const s = await source();
  const d = container.getBlobClient(uniq("dst"));
  await rejects(d.syncCopyFromURL(`${s.url}?${sasFor(s.name, "r")}`, { sourceConditions: { ifMatch: '"0x1"' } }), 412);
});

test("copy over a leased destination needs the lease id", async () => {
  const s = await source();
  const d = container.getBlockBlobClient(uniq("dst"));
  await d.upload("old", 3);
  const lease = d.getBlobLeaseClient();
  await lease.acquireLease(-1);
  await rejects(d.beginCopyFromURL(s.url), 412);
  await (await d.beginCopyFromURL(s.url, { conditions: { leaseId: lease.leaseId } })).pollUntilDone();
  assert.equal((await d.downloadToBuffer()).toString(), "copy me");
});

test("copy from a snapshot", async () => {
  const s = await source("v1");
  const snap = await s.createSnapshot();
  await s.upload("v2", 2);
  const d = container.getBlobClient(uniq("dst"));
  await (await d.beginCopyFromURL(s.withSnapshot(snap.snapshot).url)).pollUntilDone();
  assert.equal((await d.downloadToBuffer()).toString(), "v1");
});

test("abortCopyFromURL without a pending copy is 409 NoPendingCopyOperation", async () => {
  const s = await source();
  const d = container.getBlobClient(uniq("dst"));
  const r = await (await d.beginCopyFromURL(s.url)).pollUntilDone();
  await rejects(d.abortCopyFromURL(r.copyId), 409, "NoPendingCopyOperation");
});
