// Page blobs with the JS SDK (PageBlobClient): create, uploadPages, clearPages, sparse reads,
// getPageRanges (and its paged form), the diff against a snapshot, resize, sequence numbers,
// copies of page blobs (Copy Blob, Put Blob From URL) and incremental copies.
// Run from the repo root:  node --test tests/js/page.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startServer } from "./server.mjs";

let server;
let container;

before(async () => {
  server = await startServer("cobalt-js-page-");
  container = server.service.getContainerClient(`jspage${randomBytes(4).toString("hex")}`);
  await container.create();
});
after(async () => { await server?.stop(); });

// getPageRanges and getPageRangesDiff answer {offset, count} with count = End - Start (the SDK's
// own conversion); back to Azure's inclusive [Start, End].
const ranges = (r) => (r.pageRange ?? []).map((p) => [p.offset, p.offset + p.count]);
const clears = (r) => (r.clearRange ?? []).map((p) => [p.offset, p.offset + p.count]);

test("page blob: create, upload, clear, sparse read, ranges, list", async () => {
  const pb = container.getPageBlobClient("disks/a.vhd");
  await pb.create(64 * 1024, { blobSequenceNumber: 3, metadata: { kind: "disk" } });
  const a = randomBytes(1024);
  const up = await pb.uploadPages(a, 1024, 1024);
  assert.equal(up.blobSequenceNumber, 3);
  await pb.uploadPages(a.subarray(0, 512), 8192, 512);
  await pb.clearPages(1536, 512);
  const want = Buffer.alloc(64 * 1024);
  a.copy(want, 1024);
  want.fill(0, 1536, 2048);
  a.copy(want, 8192, 0, 512);
  assert.deepEqual(await pb.downloadToBuffer(), want);
  assert.deepEqual(await pb.downloadToBuffer(1000, 8000), want.subarray(1000, 9000));
  const r = await pb.getPageRanges();
  assert.deepEqual(ranges(r), [[1024, 1535], [8192, 8703]]);
  assert.equal(r.blobContentLength, 64 * 1024);
  const props = await pb.getProperties();
  assert.equal(props.blobType, "PageBlob");
  assert.equal(props.blobSequenceNumber, 3);
  assert.equal(props.contentLength, 64 * 1024);
  const items = [];
  for await (const b of container.listBlobsFlat({ prefix: "disks/" })) items.push(b);
  assert.equal(items.length, 1);
  assert.equal(items[0].properties.blobType, "PageBlob");
  assert.equal(items[0].properties.blobSequenceNumber, 3);
});

test("page blob: paged ranges, snapshot diff, resize, sequence numbers, errors", async () => {
  const pb = container.getPageBlobClient("disks/b.vhd");
  await pb.create(32 * 1024);
  for (let i = 0; i < 6; i++) await pb.uploadPages(randomBytes(512), i * 2048, 512);
  const seen = [];
  for await (const page of pb.listPageRanges().byPage({ maxPageSize: 4 })) {
    seen.push((page.pageRange ?? []).length);
  }
  assert.deepEqual(seen, [4, 2]);

  const snap = await pb.createSnapshot();
  await pb.uploadPages(randomBytes(512), 512, 512);
  await pb.clearPages(2048, 512);
  const d = await pb.getPageRangesDiff(0, 32 * 1024, snap.snapshot);
  assert.deepEqual(ranges(d), [[512, 1023]]);
  assert.deepEqual(clears(d), [[2048, 2559]]);

  await pb.resize(4096);
  assert.equal((await pb.getProperties()).contentLength, 4096);
  const s = pb.withSnapshot(snap.snapshot);
  assert.equal((await s.getProperties()).contentLength, 32 * 1024);

  assert.equal((await pb.updateSequenceNumber("increment")).blobSequenceNumber, 1);
  assert.equal((await pb.updateSequenceNumber("max", 10)).blobSequenceNumber, 10);
  await assert.rejects(pb.uploadPages(randomBytes(512), 0, 512,
    { conditions: { ifSequenceNumberLessThan: 10 } }),
  (e) => e.statusCode === 412 && e.code === "SequenceNumberConditionNotMet");
  await assert.rejects(pb.uploadPages(randomBytes(512), 4096, 512),
    (e) => e.statusCode === 416 && e.code === "InvalidPageRange");
  await assert.rejects(pb.resize(1000), (e) => e.statusCode === 400 && e.code === "InvalidHeaderValue");
  const bb = container.getBlockBlobClient("plain");
  await bb.upload("x", 1);
  await assert.rejects(container.getPageBlobClient("plain").uploadPages(randomBytes(512), 0, 512),
    (e) => e.statusCode === 409 && e.code === "InvalidBlobType");
});

test("page blob copies: Copy Blob, a snapshot restored, Put Blob From URL", async () => {
  const src = container.getPageBlobClient("copies/src.vhd");
  await src.create(4 * 1024 * 1024, { blobSequenceNumber: 9 });
  const a = randomBytes(8192);
  await src.uploadPages(a, 1024 * 1024, a.length);
  const want = Buffer.alloc(4 * 1024 * 1024);
  a.copy(want, 1024 * 1024);

  const dst = container.getPageBlobClient("copies/dst.vhd");
  const poller = await dst.beginCopyFromURL(src.url);
  const done = await poller.pollUntilDone();
  assert.equal(done.copyStatus, "success");
  const p = await dst.getProperties();
  assert.equal(p.blobType, "PageBlob");
  assert.equal(p.blobSequenceNumber, 9);
  assert.deepEqual(await dst.downloadToBuffer(), want);
  assert.deepEqual(ranges(await dst.getPageRanges()), [[1024 * 1024, 1024 * 1024 + 8191]]);

  const snap = (await src.createSnapshot()).snapshot;
  await src.clearPages(1024 * 1024, 8192);
  await (await src.beginCopyFromURL(src.withSnapshot(snap).url)).pollUntilDone();
  assert.deepEqual(await src.downloadToBuffer(), want);
  const d = await src.getPageRangesDiff(0, 4 * 1024 * 1024, snap);
  assert.deepEqual([ranges(d), clears(d)], [[], []]);

  const block = container.getBlockBlobClient("copies/as-block");
  await block.syncUploadFromURL(src.url);
  assert.equal((await block.getProperties()).blobType, "BlockBlob");
  assert.deepEqual(await block.downloadToBuffer(), want);
});

// The destination's properties once its copy is no longer pending (page copies are asynchronous).
async function settled(blob) {
  for (let i = 0; i < 600; i++) {
    const p = await blob.getProperties();
    if (p.copyStatus !== "pending") return p;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("copy still pending after 30 s");
}

test("incremental copy: snapshots of the source, copied as they change", async () => {
  const src = container.getPageBlobClient("incr/src.vhd");
  await src.create(1024 * 1024);
  const a = randomBytes(4096);
  await src.uploadPages(a, 0, a.length);
  const s1 = (await src.createSnapshot()).snapshot;
  const dst = container.getPageBlobClient("incr/backup.vhd");
  const r1 = await dst.startCopyIncremental(src.withSnapshot(s1).url);
  assert.ok(["pending", "success"].includes(r1.copyStatus));
  const p1 = await settled(dst);
  assert.equal(p1.copyStatus, "success");
  assert.equal(p1.isIncrementalCopy, true);
  const d1 = p1.destinationSnapshot;
  assert.ok(d1);
  const want = Buffer.alloc(1024 * 1024);
  a.copy(want, 0);
  assert.deepEqual(await dst.withSnapshot(d1).downloadToBuffer(), want);

  const b = randomBytes(512);
  await src.uploadPages(b, 512 * 1024, 512);
  await src.clearPages(0, 512);
  const s2 = (await src.createSnapshot()).snapshot;
  await dst.startCopyIncremental(src.withSnapshot(s2).url);
  const d2 = (await settled(dst)).destinationSnapshot;
  assert.ok(d2 > d1);
  b.copy(want, 512 * 1024);
  want.fill(0, 0, 512);
  assert.deepEqual(await dst.withSnapshot(d2).downloadToBuffer(), want);
  const diff = await dst.withSnapshot(d2).getPageRangesDiff(0, 1024 * 1024, d1);
  assert.deepEqual(ranges(diff), [[512 * 1024, 512 * 1024 + 511]]);
  assert.deepEqual(clears(diff), [[0, 511]]);

  const items = [];
  for await (const x of container.listBlobsFlat({ prefix: "incr/backup", includeSnapshots: true,
    includeCopy: true })) items.push(x);
  assert.equal(items.length, 3);
  assert.ok(items.every((x) => x.properties.incrementalCopy === true));

  await assert.rejects(dst.uploadPages(randomBytes(512), 0, 512),
    (e) => e.statusCode === 409 && e.code === "OperationNotAllowedOnIncrementalCopyBlob");
  await assert.rejects(dst.startCopyIncremental(src.withSnapshot(s1).url),
    (e) => e.statusCode === 409 && e.code === "IncrementalCopyOfEarlierVersionSnapshotNotAllowed");
  await assert.rejects(container.getPageBlobClient("incr/x").startCopyIncremental(src.url),
    (e) => e.statusCode === 409 && e.code === "IncrementalCopySourceMustBeSnapshot");
});
