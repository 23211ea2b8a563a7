// BlobClient and BlockBlobClient through the JS SDK: uploads of every shape, downloads and ranges,
// properties and HTTP headers, metadata, snapshots, delete/undelete, tiers, existence checks, and
// their failure paths, each checked by a later read.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { startServer } from "./server.mjs";
import { newContainer, rejects, streamToBuffer, uniq } from "./lib.mjs";

let server;
let service;
let container;

before(async () => {
  server = await startServer("cobalt-js-blob-");
  service = server.service;
  container = await newContainer(service, "jsb");
});
after(async () => { await server?.stop(); });

const md5 = (b) => createHash("md5").update(b).digest();
const blk = (i) => Buffer.from(`block-${String(i).padStart(6, "0")}`).toString("base64");
const bb = (p = "b") => container.getBlockBlobClient(uniq(p));

for (const size of [0, 1, 1000, 64 * 1024, 256 * 1024 + 7]) {
  test(`upload and download ${size} bytes`, async () => {
    const data = randomBytes(size);
    const b = bb();
    const up = await b.upload(data, size);
    assert.equal(up._response.status, 201);
    assert.deepEqual(Buffer.from(up.contentMD5), md5(data));
    assert.deepEqual(await b.downloadToBuffer(), data);
    const props = await b.getProperties();
    assert.equal(props.contentLength, size);
    assert.equal(props.blobType, "BlockBlob");
    assert.deepEqual(Buffer.from(props.contentMD5), md5(data));
  });
}

for (const [off, count, want] of [[0, 1, "0"], [3, 4, "3456"], [9, undefined, "9"], [5, 100, "56789"], [0, undefined, "0123456789"]]) {
  test(`download range offset ${off} count ${count}`, async () => {
    const b = bb();
    await b.upload("0123456789", 10);
    const dl = await b.download(off, count);
    assert.equal((await streamToBuffer(dl.readableStreamBody)).toString(), want);
    assert.equal(dl.contentLength, want.length);
    if (count !== undefined) assert.equal(dl.contentRange, `bytes ${off}-${off + want.length - 1}/10`);
  });
}

test("download past the end is 416 InvalidRange", async () => {
  const b = bb();
  await b.upload("abc", 3);
  await rejects(b.download(3, 1), 416, "InvalidRange");
});

test("a range download returns the blob's Content-MD5 only when the whole blob is read", async () => {
  const b = bb();
  await b.upload("0123456789", 10);
  const part = await b.download(2, 3);
  assert.equal(part.contentMD5, undefined);
  assert.deepEqual(Buffer.from(part.blobContentMD5), md5(Buffer.from("0123456789")));
  const whole = await b.download();
  assert.deepEqual(Buffer.from(whole.contentMD5), md5(Buffer.from("0123456789")));
});

test("rangeGetContentMD5 returns the MD5 of the range", async () => {
  const b = bb();
  await b.upload("0123456789", 10);
  const part = await b.download(2, 3, { rangeGetContentMD5: true });
  assert.deepEqual(Buffer.from(part.contentMD5), md5(Buffer.from("234")));
});

const HEADERS = {
  blobContentType: ["contentType", "application/x-test"],
  blobContentEncoding: ["contentEncoding", "gzip"],
  blobContentLanguage: ["contentLanguage", "de-DE"],
  blobContentDisposition: ["contentDisposition", 'attachment; filename="a b.txt"'],
  blobCacheControl: ["cacheControl", "max-age=60"],
};
for (const [h, [prop, value]] of Object.entries(HEADERS)) {
  test(`upload with ${h} and read it back`, async () => {
    const b = bb();
    await b.upload("x", 1, { blobHTTPHeaders: { [h]: value } });
    assert.equal((await b.getProperties())[prop], value);
    const dl = await b.download();
    assert.equal(dl[prop], value);
  });
  test(`setHTTPHeaders ${h}, then the other headers are cleared`, async () => {
    const b = bb();
    await b.upload("x", 1, { blobHTTPHeaders: { blobContentType: "a/b", blobCacheControl: "no-cache" } });
    const before = await b.getProperties();
    const res = await b.setHTTPHeaders({ [h]: value });
    assert.notEqual(res.etag, before.etag);
    const p = await b.getProperties();
    assert.equal(p[prop], value);
    for (const [other, [oprop]] of Object.entries(HEADERS)) if (other !== h && oprop !== "contentType") assert.equal(p[oprop], undefined, oprop);
  });
}

test("setHTTPHeaders with blobContentMD5 as the SDK encodes it (a Uint8Array)", async () => {
  const b = bb();
  await b.upload("hello", 5);
  const sum = md5(Buffer.from("other"));
  await b.setHTTPHeaders({ blobContentMD5: new Uint8Array(sum) });
  assert.deepEqual(Buffer.from((await b.getProperties()).contentMD5), sum);
});

test("upload with blobContentMD5 stores that MD5 instead of the computed one", async () => {
  const b = bb();
  const sum = md5(Buffer.from("not the content"));
  await b.upload("hello", 5, { blobHTTPHeaders: { blobContentMD5: new Uint8Array(sum) } });
  assert.deepEqual(Buffer.from((await b.getProperties()).contentMD5), sum);
});

test("upload with a wrong transactional MD5 is 400 Md5Mismatch", async () => {
  const b = bb();
  await rejects(b.upload("hello", 5, { transactionalContentMD5: new Uint8Array(md5(Buffer.from("x"))) }), 400, "Md5Mismatch");
  assert.equal(await b.exists(), false);
});

test("upload with the right transactional MD5 succeeds", async () => {
  const b = bb();
  await b.upload("hello", 5, { transactionalContentMD5: new Uint8Array(md5(Buffer.from("hello"))) });
  assert.equal((await b.downloadToBuffer()).toString(), "hello");
});

for (const [name, meta] of Object.entries({ simple: { a: "1" }, several: { a: "1", b: "two", c_3: "x y" }, underscore: { _k: "v" }, empty: {} })) {
  test(`metadata ${name} on upload and setMetadata`, async () => {
    const b = bb();
    await b.upload("x", 1, { metadata: meta });
    assert.deepEqual((await b.getProperties()).metadata, meta);
    await b.setMetadata({ replaced: "yes" });
    assert.deepEqual((await b.getProperties()).metadata, { replaced: "yes" });
    await b.setMetadata();
    assert.deepEqual((await b.getProperties()).metadata, {});
  });
}

for (const bad of ["1abc", "a-b", "a.b"]) {
  test(`metadata name ${JSON.stringify(bad)} is refused`, async () => {
    const b = bb();
    await b.upload("x", 1);
    await rejects(b.setMetadata({ [bad]: "v" }), 400);
  });
}

test("metadata names are case-insensitive and keep their case", async () => {
  const b = bb();
  await b.upload("x", 1, { metadata: { CamelCase: "v" } });
  assert.deepEqual((await b.getProperties()).metadata, { camelcase: "v" }, "the JS SDK lower-cases metadata names in responses");
});

test("exists: true, false, and false after delete", async () => {
  const b = bb();
  assert.equal(await b.exists(), false);
  await b.upload("x", 1);
  assert.equal(await b.exists(), true);
  await b.delete();
  assert.equal(await b.exists(), false);
});

test("deleteIfExists on a missing blob", async () => {
  const res = await bb().deleteIfExists();
  assert.equal(res.succeeded, false);
  assert.equal(res.errorCode, "BlobNotFound");
});

test("delete of a missing blob is 404 BlobNotFound", async () => {
  await rejects(bb().delete(), 404, "BlobNotFound");
});

test("getProperties of a missing blob is 404", async () => {
  await rejects(bb().getProperties(), 404);
});

test("download of a missing blob is 404 BlobNotFound", async () => {
  await rejects(bb().download(), 404, "BlobNotFound");
});

test("a blob in a missing container: 404 ContainerNotFound", async () => {
  await rejects(service.getContainerClient("nosuchcontainer").getBlockBlobClient("b").upload("x", 1), 404, "ContainerNotFound");
});

test("createSnapshot, read it, delete with snapshots", async () => {
  const b = bb();
  await b.upload("v1", 2, { metadata: { v: "1" } });
  const snap = await b.createSnapshot({ metadata: { snap: "yes" } });
  assert.ok(snap.snapshot);
  await b.upload("v2", 2);
  const s = b.withSnapshot(snap.snapshot);
  assert.equal((await s.downloadToBuffer()).toString(), "v1");
  assert.deepEqual((await s.getProperties()).metadata, { snap: "yes" });
  await rejects(b.delete(), 409, "SnapshotsPresent");
  await b.delete({ deleteSnapshots: "include" });
  assert.equal(await s.exists(), false);
});

test("delete only the snapshots", async () => {
  const b = bb();
  await b.upload("v1", 2);
  const snap = await b.createSnapshot();
  await b.delete({ deleteSnapshots: "only" });
  assert.equal(await b.exists(), true);
  assert.equal(await b.withSnapshot(snap.snapshot).exists(), false);
});

test("a snapshot is read-only", async () => {
  const b = bb();
  await b.upload("v1", 2);
  const snap = await b.createSnapshot();
  const s = b.withSnapshot(snap.snapshot);
  await rejects(s.setMetadata({ a: "b" }), 400);
});

test("a snapshot of a missing blob is 404", async () => {
  await rejects(bb().createSnapshot(), 404, "BlobNotFound");
});

for (const tier of ["Hot", "Cool", "Cold", "Archive"]) {
  test(`setAccessTier ${tier} and getProperties`, async () => {
    const b = bb();
    await b.upload("x", 1);
    const res = await b.setAccessTier(tier);
    assert.ok([200, 202].includes(res._response.status));
    const p = await b.getProperties();
    assert.equal(p.accessTier, tier);
    assert.equal(p.accessTierInferred, undefined);
  });
}

test("a blob with no tier set reports an inferred Hot tier", async () => {
  const b = bb();
  await b.upload("x", 1);
  const p = await b.getProperties();
  assert.equal(p.accessTier, "Hot");
  assert.equal(p.accessTierInferred, true);
});

test("upload with a tier: not inferred", async () => {
  const b = bb();
  await b.upload("x", 1, { tier: "Cool" });
  const p = await b.getProperties();
  assert.equal(p.accessTier, "Cool");
  assert.equal(p.accessTierInferred, undefined);
});

test("an archived blob cannot be read", async () => {
  const b = bb();
  await b.upload("x", 1);
  await b.setAccessTier("Archive");
  await rejects(b.download(), 409, "BlobArchived");
});

test("stageBlock, getBlockList, commitBlockList", async () => {
  const b = bb();
  await b.stageBlock(blk(1), "aaa", 3);
  await b.stageBlock(blk(2), "bbbb", 4);
  let list = await b.getBlockList("all");
  assert.deepEqual(list.uncommittedBlocks.map((x) => [x.name, x.size]), [[blk(1), 3], [blk(2), 4]]);
  assert.deepEqual(list.committedBlocks, []);
  await b.commitBlockList([blk(2), blk(1)], { metadata: { m: "1" }, blobHTTPHeaders: { blobContentType: "t/x" } });
  assert.equal((await b.downloadToBuffer()).toString(), "bbbbaaa");
  list = await b.getBlockList("committed");
  assert.deepEqual(list.committedBlocks.map((x) => x.name), [blk(2), blk(1)]);
  const p = await b.getProperties();
  assert.equal(p.contentType, "t/x");
  assert.deepEqual(p.metadata, { m: "1" });
});

test("commitBlockList reuses committed blocks", async () => {
  const b = bb();
  await b.stageBlock(blk(1), "one", 3);
  await b.commitBlockList([blk(1)]);
  await b.stageBlock(blk(2), "two", 3);
  await b.commitBlockList([blk(1), blk(2)]);
  assert.equal((await b.downloadToBuffer()).toString(), "onetwo");
});

test("commitBlockList with an unknown block is 400 InvalidBlockList", async () => {
  const b = bb();
  await b.stageBlock(blk(1), "one", 3);
  await rejects(b.commitBlockList([blk(9)]), 400, "InvalidBlockList");
});

test("stageBlock with an invalid block id is 400", async () => {
  await rejects(bb().stageBlock("not base64!", "x", 1), 400);
});

test("block ids must all have the same length", async () => {
  const b = bb();
  await b.stageBlock(Buffer.from("a").toString("base64"), "x", 1);
  await rejects(b.stageBlock(Buffer.from("bbbb").toString("base64"), "y", 1), 400, "InvalidBlobOrBlock");
});

test("stageBlock with a wrong transactional MD5 is 400 Md5Mismatch", async () => {
  await rejects(bb().stageBlock(blk(1), "abc", 3, { transactionalContentMD5: new Uint8Array(md5(Buffer.from("x"))) }), 400, "Md5Mismatch");
});

test("stageBlock without a checksum answers no x-ms-content-crc64", async () => {
  const res = await bb().stageBlock(blk(1), "abc", 3);
  assert.equal(res.contentCrc64, undefined);
  assert.equal(res._response.headers.get("x-ms-content-crc64"), undefined);
});

test("getBlockList of a blob with no blocks is 404 BlobNotFound", async () => {
  await rejects(bb().getBlockList("all"), 404, "BlobNotFound");
});

test("uploadData in blocks", async () => {
  const data = randomBytes(600 * 1024);
  const b = bb();
  await b.uploadData(data, { blockSize: 128 * 1024, maxSingleShotSize: 64 * 1024, concurrency: 2 });
  assert.deepEqual(await b.downloadToBuffer(), data);
  assert.equal((await b.getBlockList("committed")).committedBlocks.length, 5);
});

test("uploadStream", async () => {
  const { Readable } = await import("node:stream");
  const data = randomBytes(300 * 1024);
  const b = bb();
  await b.uploadStream(Readable.from([data.subarray(0, 100000), data.subarray(100000)]), 64 * 1024, 2);
  assert.deepEqual(await b.downloadToBuffer(), data);
});

test("downloadToBuffer in ranges", async () => {
  const data = randomBytes(200 * 1024);
  const b = bb();
  await b.upload(data, data.length);
  const got = await b.downloadToBuffer(0, undefined, { blockSize: 50 * 1024, concurrency: 2 });
  assert.deepEqual(got, data);
});

test("an overwrite keeps nothing of the old blob", async () => {
  const b = bb();
  await b.upload("old", 3, { metadata: { a: "b" }, blobHTTPHeaders: { blobContentType: "x/y" }, tags: { t: "1" } });
  await b.upload("new!", 4);
  const p = await b.getProperties();
  assert.deepEqual(p.metadata, {});
  assert.equal(p.contentType, "application/octet-stream");
  assert.equal(p.tagCount, undefined);
});

test("blob names with special characters round-trip", async () => {
  for (const name of ["a b/c d.txt", "ümlaut/ß", "q?x=1#frag", "percent%20literal", "plus+sign", "emoji 🙂", "(parens)!*'~"]) {
    const b = container.getBlockBlobClient(name);
    await b.upload(name, Buffer.byteLength(name));
    assert.equal((await b.downloadToBuffer()).toString(), name, name);
  }
});

test("ETag changes on every write and Last-Modified is set", async () => {
  const b = bb();
  const a = await b.upload("1", 1);
  const c = await b.setMetadata({ x: "y" });
  assert.notEqual(a.etag, c.etag);
  assert.ok((await b.getProperties()).lastModified instanceof Date);
});

test("getProperties reports creation time and server encryption", async () => {
  const b = bb();
  await b.upload("1", 1);
  const p = await b.getProperties();
  assert.ok(p.createdOn instanceof Date);
  assert.equal(p.isServerEncrypted, false); // Cobalt does not encrypt at rest (docs/encryption.md)
  assert.equal(p.leaseState, "available");
  assert.equal(p.leaseStatus, "unlocked");
});

test("undelete restores a soft-deleted blob", async () => {
  await service.setProperties({ deleteRetentionPolicy: { enabled: true, days: 1 } });
  try {
    const b = bb();
    await b.upload("keep", 4);
    await b.delete();
    assert.equal(await b.exists(), false);
    await b.undelete();
    assert.equal((await b.downloadToBuffer()).toString(), "keep");
  } finally {
    await service.setProperties({ deleteRetentionPolicy: { enabled: false } });
  }
});

test("listing with includeDeleted shows soft-deleted blobs", async () => {
  await service.setProperties({ deleteRetentionPolicy: { enabled: true, days: 1 } });
  try {
    const c = await newContainer(service, "jsdel");
    await c.getBlockBlobClient("gone").upload("x", 1);
    await c.deleteBlob("gone");
    const items = [];
    for await (const i of c.listBlobsFlat({ includeDeleted: true })) items.push(i);
    assert.equal(items.length, 1);
    assert.equal(items[0].deleted, true);
  } finally {
    await service.setProperties({ deleteRetentionPolicy: { enabled: false } });
  }
});
