// Soft delete (protocol doc §2.3 Delete/Undelete, §2.12, §2.2 Restore, §4.1, §4.2) through the JS
// SDK: DeleteRetentionPolicy in the service properties, soft-deleted blobs in listings with
// includeDeleted (deletedOn, remainingRetentionDays), BlobClient.undelete, snapshots and versions
// under soft delete, overwriting a soft-deleted blob, permanent delete of a snapshot (raw: the SDK
// has no option for deletetype=permanent nor for AllowPermanentDelete), and container soft delete
// (`--container-soft-delete-days 2`) with includeDeleted and BlobServiceClient.undeleteContainer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ACCOUNT, startServer } from "./server.mjs";
import { downloadText, newContainer, raw, rejects, uniq } from "./lib.mjs";

let server;
let service;
let container;

before(async () => {
  server = await startServer("cobalt-js-softdelete-", ["--container-soft-delete-days", "2"]);
  service = server.service;
  await service.setProperties({ deleteRetentionPolicy: { enabled: true, days: 2 } });
  container = await newContainer(service, "jsd");
});
after(async () => { await server?.stop(); });

let n = 0;
async function newBlob(content = "precious", options) {
  const b = container.getBlockBlobClient(`d${n++}`);
  await b.upload(content, Buffer.byteLength(content), options);
  return b;
}
async function listed(prefix, options = { includeDeleted: true }) {
  const out = [];
  for await (const b of container.listBlobsFlat({ prefix, ...options })) out.push(b);
  return out;
}
// Service properties with a DeleteRetentionPolicy element the SDK cannot send (AllowPermanentDelete).
const retention = (inner) => raw(server, "PUT", `/${ACCOUNT}/?restype=service&comp=properties`, {
  body: `<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties><DeleteRetentionPolicy>${inner}` +
    "</DeleteRetentionPolicy></StorageServiceProperties>",
});
const blobPath = (blob, query = "") => `/${ACCOUNT}/${container.containerName}/${blob.name}${query}`;

test("the retention policy reads back from the service properties", async () => {
  const p = await service.getProperties();
  assert.equal(p.deleteRetentionPolicy.enabled, true);
  assert.equal(p.deleteRetentionPolicy.days, 2);
});

test("a retention policy of 0 or 366 days is 400 InvalidXmlNodeValue", async () => {
  for (const days of [0, 366]) {
    await rejects(service.setProperties({ deleteRetentionPolicy: { enabled: true, days } }), 400, "InvalidXmlNodeValue");
  }
  assert.equal((await service.getProperties()).deleteRetentionPolicy.days, 2);
});

test("a soft-deleted blob is gone for reads and listed with includeDeleted", async () => {
  const blob = await newBlob("precious", { metadata: { owner: "me" } });
  const r = await blob.delete();
  assert.equal(r._response.status, 202);
  assert.equal(r._response.headers.get("x-ms-delete-type-permanent"), "false");
  assert.equal(await blob.exists(), false);
  await rejects(blob.download(), 404, "BlobNotFound");
  await rejects(blob.getProperties(), 404);
  assert.deepEqual(await listed(blob.name, {}), []);
  const [entry, ...rest] = await listed(blob.name);
  assert.equal(rest.length, 0);
  assert.equal(entry.name, blob.name);
  assert.equal(entry.deleted, true);
  assert.ok(entry.properties.deletedOn instanceof Date);
  assert.equal(entry.properties.remainingRetentionDays, 2);
  assert.equal(entry.properties.contentLength, 8);
});

test("deleting a soft-deleted blob again is 404 BlobNotFound", async () => {
  const blob = await newBlob();
  await blob.delete();
  await rejects(blob.delete(), 404, "BlobNotFound");
});

test("undelete restores content and metadata; on a live blob it is a no-op", async () => {
  const blob = await newBlob("precious", { metadata: { owner: "me" } });
  await blob.delete();
  const r = await blob.undelete();
  assert.equal(r._response.status, 200);
  assert.equal(await downloadText(blob), "precious");
  assert.deepEqual((await blob.getProperties()).metadata, { owner: "me" });
  const [entry] = await listed(blob.name);
  assert.notEqual(entry.deleted, true);
  assert.equal((await blob.undelete())._response.status, 200);
  assert.equal(await downloadText(blob), "precious");
});

test("undelete of a blob that never existed is 404 BlobNotFound", async () => {
  await rejects(container.getBlobClient("never-was").undelete(), 404, "BlobNotFound");
});

test("deleteSnapshots include soft-deletes the snapshots too; undelete brings them back", async () => {
  const blob = await newBlob("v1");
  const s1 = (await blob.createSnapshot()).snapshot;
  await blob.upload("v2", 2);
  await blob.delete({ deleteSnapshots: "include" });
  const entries = await listed(blob.name, { includeDeleted: true, includeSnapshots: true });
  assert.deepEqual(entries.map((b) => [b.snapshot ?? "", b.deleted]).sort(), [["", true], [s1, true]]);
  await rejects(blob.withSnapshot(s1).download(), 404, "BlobNotFound");
  assert.deepEqual(await listed(blob.name, { includeSnapshots: true }), []);
  await blob.undelete();
  assert.equal(await downloadText(blob), "v2");
  assert.equal(await downloadText(blob.withSnapshot(s1)), "v1");
});

test("a snapshot deleted alone is soft-deleted and restored by undelete of its blob", async () => {
  const blob = await newBlob("v1");
  const s1 = (await blob.createSnapshot()).snapshot;
  await blob.withSnapshot(s1).delete();
  await rejects(blob.withSnapshot(s1).download(), 404, "BlobNotFound");
  const snaps = (await listed(blob.name, { includeDeleted: true, includeSnapshots: true })).filter((b) => b.snapshot);
  assert.deepEqual(snaps.map((b) => [b.snapshot, b.deleted]), [[s1, true]]);
  await blob.undelete();
  assert.equal(await downloadText(blob.withSnapshot(s1)), "v1");
});

test("deleteSnapshots only soft-deletes the snapshots and keeps the base", async () => {
  const blob = await newBlob("base");
  const s1 = (await blob.createSnapshot()).snapshot;
  await blob.delete({ deleteSnapshots: "only" });
  assert.equal(await downloadText(blob), "base");
  await rejects(blob.withSnapshot(s1).download(), 404, "BlobNotFound");
  await blob.undelete();
  assert.equal(await downloadText(blob.withSnapshot(s1)), "base");
});

test("overwriting a soft-deleted blob keeps it as a soft-deleted snapshot", async () => {
  const blob = await newBlob("old content");
  await blob.delete();
  await blob.upload("new content", 11);
  assert.equal(await downloadText(blob), "new content");
  const entries = await listed(blob.name, { includeDeleted: true, includeSnapshots: true });
  const dels = entries.filter((b) => b.deleted);
  assert.equal(dels.length, 1);
  assert.ok(dels[0].snapshot);
  assert.equal(dels[0].properties.contentLength, 11);
  assert.notEqual(entries.find((b) => !b.snapshot).deleted, true);
  await blob.undelete();
  assert.equal(await downloadText(blob), "new content");
  assert.equal(await downloadText(blob.withSnapshot(dels[0].snapshot)), "old content");
});

test("the block list of a soft-deleted blob is 404 BlobNotFound", async () => {
  const blob = await newBlob("blocks");
  await blob.delete();
  await rejects(blob.getBlockList("all"), 404, "BlobNotFound");
});

test("a permanent delete of a snapshot is 409 unless AllowPermanentDelete is on", async () => {
  const blob = await newBlob("p1");
  const sid = (await blob.createSnapshot()).snapshot;
  // The doc gives the status only (409); the error code is not checked.
  let r = await raw(server, "DELETE", blobPath(blob, `?snapshot=${encodeURIComponent(sid)}&deletetype=permanent`));
  assert.equal(r.status, 409);
  assert.equal(await downloadText(blob.withSnapshot(sid)), "p1");
  assert.equal((await retention("<Enabled>true</Enabled><Days>2</Days><AllowPermanentDelete>true</AllowPermanentDelete>")).status, 202);
  try {
    await blob.withSnapshot(sid).delete();                    // soft first: permanent takes it too
    r = await raw(server, "DELETE", blobPath(blob, `?snapshot=${encodeURIComponent(sid)}&deletetype=permanent`));
    assert.equal(r.status, 202);
    assert.equal(r.headers["x-ms-delete-type-permanent"], "true");
    await blob.undelete();
    await rejects(blob.withSnapshot(sid).download(), 404, "BlobNotFound");
    const entries = await listed(blob.name, { includeDeleted: true, includeSnapshots: true });
    assert.deepEqual(entries.map((b) => b.snapshot), [undefined]);
    r = await raw(server, "DELETE", blobPath(blob, "?deletetype=bogus"));
    assert.equal(r.status, 400);
    assert.equal(r.headers["x-ms-error-code"], "InvalidQueryParameterValue");
    assert.equal(await downloadText(blob), "p1");
  } finally {
    assert.equal((await retention("<Enabled>true</Enabled><Days>2</Days><AllowPermanentDelete>false</AllowPermanentDelete>")).status, 202);
  }
});

test("with retention off a delete is permanent and undelete finds nothing", async () => {
  const blob = await newBlob("gone");
  await service.setProperties({ deleteRetentionPolicy: { enabled: false } });
  try {
    const r = await blob.delete();
    assert.equal(r._response.headers.get("x-ms-delete-type-permanent"), "true");
    assert.deepEqual(await listed(blob.name), []);
    await rejects(blob.undelete(), 404, "BlobNotFound");
  } finally {
    await service.setProperties({ deleteRetentionPolicy: { enabled: true, days: 2 } });
  }
});

async function deletedContainers(prefix) {
  const out = [];
  for await (const c of service.listContainers({ prefix, includeDeleted: true })) out.push(c);
  return out;
}

test("a soft-deleted container is listed with includeDeleted and restored by undeleteContainer", async () => {
  const name = uniq("jscr");
  const c = service.getContainerClient(name);
  await c.create({ metadata: { team: "x" } });
  await c.getBlockBlobClient("a").upload("alpha", 5);
  const snap = (await c.getBlobClient("a").createSnapshot()).snapshot;
  await c.delete();
  await rejects(c.getBlobClient("a").download(), 404, "ContainerNotFound");
  const plain = [];
  for await (const x of service.listContainers({ prefix: name })) plain.push(x);
  assert.deepEqual(plain, []);
  const [entry, ...rest] = await deletedContainers(name);
  assert.equal(rest.length, 0);
  assert.equal(entry.deleted, true);
  assert.ok(entry.version);
  assert.ok(entry.properties.deletedOn instanceof Date);
  assert.equal(entry.properties.remainingRetentionDays, 2);
  const { containerClient } = await service.undeleteContainer(name, entry.version);
  assert.deepEqual((await containerClient.getProperties()).metadata, { team: "x" });
  assert.equal(await downloadText(containerClient.getBlobClient("a")), "alpha");
  assert.equal(await downloadText(containerClient.getBlobClient("a").withSnapshot(snap)), "alpha");
  const after = await deletedContainers(name);
  assert.equal(after.length, 1);
  assert.notEqual(after[0].deleted, true);
});

test("undeleteContainer with an unknown version is 404, onto a taken name 409", async () => {
  const name = uniq("jscg");
  const c = service.getContainerClient(name);
  await c.create();
  await c.getBlockBlobClient("gen").upload("first", 5);
  await c.delete();
  await rejects(service.undeleteContainer(name, "0123456789ABCDEF"), 404, "ContainerNotFound");
  const [{ version }] = await deletedContainers(name);
  await c.create();
  await c.getBlockBlobClient("gen").upload("second", 6);
  await rejects(service.undeleteContainer(name, version), 409, "ContainerAlreadyExists");
  assert.equal(await downloadText(c.getBlobClient("gen")), "second");
  await c.delete();
  await service.undeleteContainer(name, version);
  assert.equal(await downloadText(c.getBlobClient("gen")), "first");
});
