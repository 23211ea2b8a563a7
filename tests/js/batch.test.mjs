// Blob Batch with the official JS SDK (BlobBatchClient) against the real cobalt binary:
// deleteBlobs / setBlobsAccessTier at account and container scope, per-part results, and parts
// that carry a SAS in their own URL.
// Run from the repo root:  node --test tests/js/batch.test.mjs
// COBALT_BIN selects the binary (default build/cobalt).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  ContainerClient,
  StorageSharedKeyCredential,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
} from "@azure/storage-blob";
import { ACCOUNT, KEY, sleep, startServer } from "./server.mjs";

let server;
let service;

before(async () => {
  server = await startServer("cobalt-jsbatch-", ["--rehydrate-delay", "1"]);
  service = server.service;
});

after(async () => { await server?.stop(); });

async function newContainer(names) {
  const container = service.getContainerClient(`jsb${randomBytes(6).toString("hex")}`);
  await container.create();
  for (const n of names) await container.getBlockBlobClient(n).upload("data", 4);
  return container;
}

async function names(container) {
  const out = [];
  for await (const b of container.listBlobsFlat()) out.push(b.name);
  return out.sort();
}

test("account-scoped BlobBatchClient.deleteBlobs, one blob missing", async () => {
  const container = await newContainer(["a", "b", "dir/c d"]);
  const batch = service.getBlobBatchClient();
  const res = await batch.deleteBlobs([
    container.getBlobClient("a"),
    container.getBlobClient("dir/c d"),
    container.getBlobClient("missing"),
  ]);
  assert.equal(res._response.status, 202);
  assert.equal(res.subResponses.length, 3);
  assert.equal(res.subResponsesSucceededCount, 2);
  assert.equal(res.subResponsesFailedCount, 1);
  assert.equal(res.subResponses[0].status, 202);
  assert.equal(res.subResponses[1].status, 202);
  assert.equal(res.subResponses[2].status, 404);
  assert.equal(res.subResponses[2].errorCode, "BlobNotFound");
  assert.ok(res.subResponses[0].headers.get("x-ms-request-id"));
  assert.deepEqual(await names(container), ["b"]);
});

test("container-scoped setBlobsAccessTier, then properties and listing show the tier", async () => {
  const container = await newContainer(["t1", "t2"]);
  const batch = container.getBlobBatchClient();
  const res = await batch.setBlobsAccessTier(
    [container.getBlobClient("t1"), container.getBlobClient("t2")], "Cool");
  assert.equal(res._response.status, 202);
  assert.equal(res.subResponsesSucceededCount, 2);
  assert.deepEqual(res.subResponses.map((r) => r.status), [200, 200]);
  const props = await container.getBlobClient("t1").getProperties();
  assert.equal(props.accessTier, "Cool");
  assert.equal(props.accessTierInferred, undefined);
  for await (const b of container.listBlobsFlat()) assert.equal(b.properties.accessTier, "Cool");
});

test("archive by batch, then reads fail with BlobArchived until a rehydration completes", async () => {
  const container = await newContainer(["arch"]);
  const blob = container.getBlobClient("arch");
  const res = await container.getBlobBatchClient().setBlobsAccessTier([blob], "Archive");
  assert.equal(res.subResponses[0].status, 200);
  await assert.rejects(blob.download(), (e) => e.statusCode === 409 && e.code === "BlobArchived");
  const back = await blob.setAccessTier("Hot", { rehydratePriority: "High" });
  assert.equal(back._response.status, 202);
  const pending = await blob.getProperties();
  assert.equal(pending.archiveStatus, "rehydrate-pending-to-hot");
  assert.equal(pending.rehydratePriority, "High");
  await sleep(1300);
  const dl = await blob.downloadToBuffer();
  assert.equal(dl.toString(), "data");
  assert.equal((await blob.getProperties()).accessTier, "Hot");
});

test("parts signed with a SAS in their own URL", async () => {
  const container = await newContainer(["s1", "s2"]);
  const cred = new StorageSharedKeyCredential(ACCOUNT, KEY);
  const sas = generateBlobSASQueryParameters({
    containerName: container.containerName,
    permissions: ContainerSASPermissions.parse("rwdl"),
    expiresOn: new Date(Date.now() + 3600 * 1000),
  }, cred).toString();
  const sasContainer = new ContainerClient(`${container.url}?${sas}`, undefined, { retryOptions: { maxTries: 1 } });
  const res = await sasContainer.getBlobBatchClient().deleteBlobs(
    [sasContainer.getBlobClient("s1"), sasContainer.getBlobClient("s2")]);
  assert.equal(res.subResponsesSucceededCount, 2);
  assert.deepEqual(await names(container), []);
});

test("a batch of more than 256 is refused before it is sent", async () => {
  const container = await newContainer([]);
  const batch = container.getBlobBatchClient();
  const clients = Array.from({ length: 257 }, (_, i) => container.getBlobClient(`n${i}`));
  await assert.rejects(batch.deleteBlobs(clients), RangeError);
});
