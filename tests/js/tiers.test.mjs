// Access tiers (protocol doc §2.3 Set Blob Tier, §5.10) through the JS SDK: setAccessTier on blobs,
// snapshots and versions, the tier on upload and on commitBlockList, tier properties in Get Blob
// Properties and listings, Archive refusing content reads and writes (409 BlobArchived) until a
// rehydration with a priority completes (the server runs with `--rehydrate-delay 600` on the test
// clock, which the test moves past it), 409 BlobBeingRehydrated while one is pending, and the lease
// check.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ACCOUNT, startServer } from "./server.mjs";
import { downloadText, guid, newContainer, raw, rejects } from "./lib.mjs";

const DELAY_S = 600; // under the 15 minutes a signed request's date may be off by

let server;
let container;

before(async () => {
  server = await startServer("cobalt-js-tiers-", ["--rehydrate-delay", String(DELAY_S), "--versioning", "all"],
    { testClock: true });
  container = await newContainer(server.service, "jst");
});
after(async () => { await server?.stop(); });

let n = 0;
async function newBlob(content = "hello", options) {
  const b = container.getBlockBlobClient(`t${n++}`);
  await b.upload(content, Buffer.byteLength(content), options);
  return b;
}
const tierReq = (blob, tier, headers = {}) => raw(server, "PUT",
  `/${ACCOUNT}/${container.containerName}/${blob.name}?comp=tier`, { headers: { "x-ms-access-tier": tier, ...headers } });

test("a new blob is inferred Hot; setAccessTier changes the tier, not the ETag", async () => {
  const blob = await newBlob();
  const p0 = await blob.getProperties();
  assert.equal(p0.accessTier, "Hot");
  assert.equal(p0.accessTierInferred, true);
  assert.equal(p0.accessTierChangedOn, undefined);
  assert.equal(p0.archiveStatus, undefined);
  for (const tier of ["Cool", "Cold", "Hot", "Cool"]) {
    const r = await blob.setAccessTier(tier);
    assert.equal(r._response.status, 200);
    const p = await blob.getProperties();
    assert.equal(p.accessTier, tier);
    assert.notEqual(p.accessTierInferred, true);
    assert.ok(p.accessTierChangedOn instanceof Date);
    assert.equal(p.etag, p0.etag);
  }
  assert.equal(await downloadText(blob), "hello");
});

test("tier names are case-insensitive", async () => {
  const blob = await newBlob();
  await blob.setAccessTier("cold");
  assert.equal((await blob.getProperties()).accessTier, "Cold");
});

test("an unknown tier is 400 InvalidHeaderValue, a premium page blob tier 400 InvalidBlobTier", async () => {
  const blob = await newBlob();
  // The SDK refuses to send a name outside its list: that one goes raw.
  const r = await tierReq(blob, "Bogus");
  assert.equal(r.status, 400);
  assert.equal(r.headers["x-ms-error-code"], "InvalidHeaderValue");
  await rejects(blob.setAccessTier("P10"), 400, "InvalidBlobTier");
  assert.equal((await blob.getProperties()).accessTierInferred, true);
});

test("Set Blob Tier without x-ms-access-tier is 400 MissingRequiredHeader", async () => {
  const blob = await newBlob();
  const r = await raw(server, "PUT", `/${ACCOUNT}/${container.containerName}/${blob.name}?comp=tier`);
  assert.equal(r.status, 400);
  assert.equal(r.headers["x-ms-error-code"], "MissingRequiredHeader");
});

test("an unknown rehydrate priority is 400 InvalidHeaderValue", async () => {
  const blob = await newBlob();
  const r = await tierReq(blob, "Hot", { "x-ms-rehydrate-priority": "Fast" });
  assert.equal(r.status, 400);
  assert.equal(r.headers["x-ms-error-code"], "InvalidHeaderValue");
});

test("setAccessTier on a missing blob is 404 BlobNotFound", async () => {
  await rejects(container.getBlobClient("no-such-blob").setAccessTier("Cool"), 404, "BlobNotFound");
});

test("the tier on upload and on commitBlockList; an overwrite starts over as inferred Hot", async () => {
  const blob = await newBlob("abc", { tier: "Cool" });
  let p = await blob.getProperties();
  assert.equal(p.accessTier, "Cool");
  assert.notEqual(p.accessTierInferred, true);
  const blocks = container.getBlockBlobClient(`t${n++}`);
  await blocks.stageBlock("YQ==", "aaaaaaaaaa", 10);
  await blocks.commitBlockList(["YQ=="], { tier: "Cold" });
  assert.equal((await blocks.getProperties()).accessTier, "Cold");
  await blob.upload("new", 3);
  p = await blob.getProperties();
  assert.equal(p.accessTier, "Hot");
  assert.equal(p.accessTierInferred, true);
});

test("an invalid tier on upload is refused and nothing is written", async () => {
  const blob = container.getBlockBlobClient(`t${n++}`);
  const r = await raw(server, "PUT", `/${ACCOUNT}/${container.containerName}/${blob.name}`,
    { headers: { "x-ms-blob-type": "BlockBlob", "x-ms-access-tier": "Lukewarm" }, body: "x" });
  assert.equal(r.status, 400);
  assert.equal(r.headers["x-ms-error-code"], "InvalidHeaderValue");
  assert.match(r.body, /<Code>InvalidHeaderValue<\/Code>/);
  assert.equal(await blob.exists(), false);
});

test("uploading straight to Archive", async () => {
  const blob = await newBlob("cold storage", { tier: "Archive" });
  const p = await blob.getProperties();
  assert.equal(p.accessTier, "Archive");
  await rejects(blob.download(), 409, "BlobArchived");
});

test("an archived blob: properties readable, content and metadata writes 409 BlobArchived", async () => {
  const blob = await newBlob("archived bytes", { metadata: { k: "v" } });
  await blob.setAccessTier("Archive");
  await rejects(blob.download(), 409, "BlobArchived");
  const p = await blob.getProperties();
  assert.equal(p.accessTier, "Archive");
  assert.equal(p.contentLength, 14);
  assert.deepEqual(p.metadata, { k: "v" });
  await rejects(blob.setMetadata({ x: "y" }), 409, "BlobArchived");
  assert.deepEqual((await blob.getProperties()).metadata, { k: "v" });
  assert.equal(await blob.exists(), true);
  assert.equal((await blob.setAccessTier("Archive"))._response.status, 200);
});

test("rehydration: 202, pending status and priority, 409 BlobBeingRehydrated, then readable", async () => {
  const blob = await newBlob("archived bytes");
  await blob.setAccessTier("Archive");
  const r = await blob.setAccessTier("Cool", { rehydratePriority: "Standard" });
  assert.equal(r._response.status, 202);
  let p = await blob.getProperties();
  assert.equal(p.accessTier, "Archive");
  assert.equal(p.archiveStatus, "rehydrate-pending-to-cool");
  assert.equal(p.rehydratePriority, "Standard");
  let entry;
  for await (const b of container.listBlobsFlat({ prefix: blob.name })) entry = b;
  assert.equal(entry.properties.archiveStatus, "rehydrate-pending-to-cool");
  await rejects(blob.download(), 409, "BlobArchived");
  await rejects(blob.setAccessTier("Archive"), 409, "BlobBeingRehydrated");
  await rejects(blob.setAccessTier("Hot"), 409, "BlobBeingRehydrated");
  assert.equal((await blob.setAccessTier("Cool", { rehydratePriority: "High" }))._response.status, 202);
  assert.equal((await blob.getProperties()).rehydratePriority, "High");
  server.advanceClock(DELAY_S + 1);
  assert.equal(await downloadText(blob), "archived bytes");
  p = await blob.getProperties();
  assert.equal(p.accessTier, "Cool");
  assert.equal(p.archiveStatus, undefined);
  assert.notEqual(p.accessTierInferred, true);
  assert.equal((await blob.setAccessTier("Hot"))._response.status, 200);
  assert.equal((await blob.getProperties()).accessTier, "Hot");
});

test("an archived blob can be deleted and overwritten", async () => {
  const d = await newBlob("1");
  await d.setAccessTier("Archive");
  await d.delete();
  assert.equal(await d.exists(), false);
  const o = await newBlob("1");
  await o.setAccessTier("Archive");
  await o.upload("2", 1);
  assert.equal(await downloadText(o), "2");
  assert.equal((await o.getProperties()).accessTier, "Hot");
});

test("listing shows tier, inferred flag and change time", async () => {
  const hot = await newBlob("1");
  const cool = await newBlob("1", { tier: "Cool" });
  const arch = await newBlob("1");
  await arch.setAccessTier("Archive");
  const got = {};
  for await (const b of container.listBlobsFlat()) got[b.name] = b.properties;
  assert.equal(got[hot.name].accessTier, "Hot");
  assert.equal(got[hot.name].accessTierInferred, true);
  assert.equal(got[cool.name].accessTier, "Cool");
  assert.notEqual(got[cool.name].accessTierInferred, true);
  assert.ok(got[cool.name].accessTierChangedOn instanceof Date);
  assert.equal(got[arch.name].accessTier, "Archive");
  assert.equal(got[arch.name].archiveStatus, undefined);
});

test("the tier of a snapshot and of a version", async () => {
  const blob = container.getBlockBlobClient(`t${n++}`);
  const v1 = (await blob.upload("one", 3)).versionId;
  const snap = (await blob.createSnapshot()).snapshot;
  const v2 = (await blob.upload("two", 3)).versionId;
  await blob.withSnapshot(snap).setAccessTier("Cool");
  assert.equal((await blob.withSnapshot(snap).getProperties()).accessTier, "Cool");
  await blob.withVersion(v1).setAccessTier("Archive");
  assert.equal((await blob.withVersion(v1).getProperties()).accessTier, "Archive");
  await rejects(blob.withVersion(v1).download(), 409, "BlobArchived");
  assert.equal((await blob.getProperties()).accessTier, "Hot");
  await blob.withVersion(v2).setAccessTier("Cold");
  assert.equal((await blob.getProperties()).accessTier, "Cold");
  assert.equal(await downloadText(blob), "two");
  await rejects(blob.withVersion("2001-01-01T00:00:00.0000000Z").setAccessTier("Hot"), 404, "BlobNotFound");
});

test("a leased blob needs its lease id to change tier", async () => {
  const blob = await newBlob("1");
  const lease = blob.getBlobLeaseClient(guid());
  await lease.acquireLease(-1);
  await rejects(blob.setAccessTier("Cool"), 412, "LeaseIdMissing");
  await rejects(blob.setAccessTier("Cool", { conditions: { leaseId: guid() } }), 412, "LeaseIdMismatchWithBlobOperation");
  assert.equal((await blob.getProperties()).accessTierInferred, true);
  await blob.setAccessTier("Cool", { conditions: { leaseId: lease.leaseId } });
  assert.equal((await blob.getProperties()).accessTier, "Cool");
  await lease.releaseLease();
});

test("setAccessTier on an append blob is 409 InvalidBlobType", async () => {
  const blob = container.getAppendBlobClient(`t${n++}`);
  await blob.create();
  await rejects(blob.setAccessTier("Cool"), 409, "InvalidBlobType");
});
