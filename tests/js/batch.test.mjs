// Blob Batch with the official JS SDK (BlobBatchClient) against the real cobalt binary:
// deleteBlobs / setBlobsAccessTier at account and container scope, per-part results, parts that
// carry a SAS in their own URL, batches under an account SAS of each resource type, a
// container-scoped batch naming another container, and the framing of the outer Content-Type
// (raw requests: a multipart Content-Type without a usable boundary is Azure's 202 with one part,
// InvalidHeaderValue, no Content-ID -- a capture of Azure's answer is in Azure/Azurite pull
// request 2421; src/api/batch.c has the decision).
// Run from the repo root:  node --test tests/js/batch.test.mjs
// COBALT_BIN selects the binary (default build/cobalt).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  AnonymousCredential,
  BlobServiceClient,
  ContainerClient,
  StorageSharedKeyCredential,
  ContainerSASPermissions,
  generateAccountSASQueryParameters,
  generateBlobSASQueryParameters,
} from "@azure/storage-blob";
import { ACCOUNT, KEY, sleep, startServer } from "./server.mjs";
import { raw } from "./lib.mjs";

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

// ---- account SAS ---------------------------------------------------------------------------

const accountSas = (types, perms) => generateAccountSASQueryParameters({
  services: AccountSASServices.parse("b").toString(), resourceTypes: AccountSASResourceTypes.parse(types).toString(),
  permissions: AccountSASPermissions.parse(perms), expiresOn: new Date(Date.now() + 3600e3),
}, new StorageSharedKeyCredential(ACCOUNT, KEY)).toString();
const sasService = (sas) => new BlobServiceClient(`${server.url}?${sas}`, new AnonymousCredential(),
  { retryOptions: { maxTries: 1 } });

for (const types of ["o", "co", "sco"]) {
  test(`account SAS srt=${types}: account- and container-scoped batches run their parts`, async () => {
    const container = await newContainer(["x1", "x2", "x3"]);
    const svc = sasService(accountSas(types, "rwdl"));
    const sc = svc.getContainerClient(container.containerName);
    const del = await svc.getBlobBatchClient().deleteBlobs([sc.getBlobClient("x1")], new AnonymousCredential());
    assert.deepEqual(del.subResponses.map((r) => r.status), [202]);
    const tier = await sc.getBlobBatchClient().setBlobsAccessTier([sc.getBlobClient("x2")], "Cool");
    assert.deepEqual(tier.subResponses.map((r) => r.status), [200]);
    assert.equal((await container.getBlobClient("x2").getProperties()).accessTier, "Cool");
    assert.deepEqual(await names(container), ["x2", "x3"]);
  });
}

for (const types of ["s", "c", "sc"]) {
  test(`account SAS srt=${types}: the batch is accepted, each part refused for its resource type`, async () => {
    const container = await newContainer(["y1", "y2"]);
    const svc = sasService(accountSas(types, "rwdl"));
    const sc = svc.getContainerClient(container.containerName);
    const res = await svc.getBlobBatchClient().deleteBlobs([sc.getBlobClient("y1"), sc.getBlobClient("y2")],
      new AnonymousCredential());
    assert.equal(res._response.status, 202);
    assert.deepEqual(res.subResponses.map((r) => [r.status, r.errorCode]),
      [[403, "AuthorizationResourceTypeMismatch"], [403, "AuthorizationResourceTypeMismatch"]]);
    assert.deepEqual(await names(container), ["y1", "y2"]);
  });
}

test("account SAS without the part's letter: each part 403 AuthorizationPermissionMismatch", async () => {
  const container = await newContainer(["z1"]);
  const svc = sasService(accountSas("sco", "rl"));
  const res = await svc.getBlobBatchClient().deleteBlobs([svc.getContainerClient(container.containerName)
    .getBlobClient("z1")], new AnonymousCredential());
  assert.deepEqual(res.subResponses.map((r) => [r.status, r.errorCode]), [[403, "AuthorizationPermissionMismatch"]]);
  assert.deepEqual(await names(container), ["z1"]);
});

// ---- whole-batch refusals framed inside a 202 -------------------------------------------------

// One Delete Blob part authorized by a SAS in its own URL, so the part's answer depends only on
// the batch's framing.
function deletePart(container, blob, bnd) {
  const sas = generateBlobSASQueryParameters({ containerName: container.containerName, blobName: blob,
    permissions: ContainerSASPermissions.parse("d"), expiresOn: new Date(Date.now() + 3600e3) },
  new StorageSharedKeyCredential(ACCOUNT, KEY)).toString();
  return `--${bnd}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 0\r\n\r\n` +
    `DELETE /${ACCOUNT}/${container.containerName}/${blob}?${sas} HTTP/1.1\r\nContent-Length: 0\r\n\r\n--${bnd}--\r\n`;
}
const sendBatch = (container, ctype, body) => raw(server, "POST",
  `/${ACCOUNT}/${container.containerName}?restype=container&comp=batch`, { headers: { "Content-Type": ctype }, body });

// The one part of a whole-batch refusal: no Content-ID, HTTP/1.1 400 with this code.
function assertRefusedInPart(r, code) {
  assert.equal(r.status, 202, r.body);
  const bnd = /^multipart\/mixed; boundary=(batchresponse_[0-9a-f-]{36})$/.exec(r.headers["content-type"])[1];
  const parts = r.body.split(`--${bnd}--`)[0].split(`--${bnd}\r\n`).slice(1);
  assert.equal(parts.length, 1, r.body);
  assert.doesNotMatch(parts[0], /Content-ID/);
  assert.match(parts[0], /\r\n\r\nHTTP\/1\.1 400 /);
  assert.match(parts[0], new RegExp(`\r\nx-ms-error-code: ${code}\r\n`));
  assert.match(parts[0], new RegExp(`<Code>${code}</Code>`));
}

for (const [what, ctype] of [["no boundary", "multipart/mixed"], ["an empty boundary", "multipart/mixed; boundary="],
  ["an empty quoted boundary", 'multipart/mixed; boundary=""'],
  ["two boundaries", "multipart/mixed; boundary=batch_a; boundary=batch_a"]]) {
  test(`a batch with ${what} is 202 with one part: 400 InvalidHeaderValue, and nothing runs`, async () => {
    const container = await newContainer(["b"]);
    assertRefusedInPart(await sendBatch(container, ctype, deletePart(container, "b", "batch_a")), "InvalidHeaderValue");
    assert.deepEqual(await names(container), ["b"]);
  });
}

test("whitespace after boundary= is skipped", async () => {
  const container = await newContainer(["w", "keep"]);
  const r = await sendBatch(container, "multipart/mixed; boundary= batch_w", deletePart(container, "w", "batch_w"));
  assert.equal(r.status, 202);
  assert.match(r.body, /Content-ID: 0\r\n\r\nHTTP\/1\.1 202 /);
  assert.deepEqual(await names(container), ["keep"]);
});

test("a Content-Type that is not multipart/mixed is 400 InvalidInput", async () => {
  const container = await newContainer(["b"]);
  const r = await sendBatch(container, "application/xml", deletePart(container, "b", "batch_a"));
  assert.equal(r.status, 400);
  assert.equal(r.headers["x-ms-error-code"], "InvalidInput");
  assert.deepEqual(await names(container), ["b"]);
});

test("a container-scoped batch naming another container's blob: one failed sub-response, nothing deleted", async () => {
  const container = await newContainer(["mine"]);
  const other = await newContainer(["victim"]);
  const res = await container.getBlobBatchClient().deleteBlobs(
    [container.getBlobClient("mine"), other.getBlobClient("victim")]);
  assert.equal(res._response.status, 202);
  assert.equal(res.subResponsesFailedCount, 1);
  assert.equal(res.subResponsesSucceededCount, 0);
  assert.deepEqual(await names(container), ["mine"]);
  assert.deepEqual(await names(other), ["victim"]);
  const r = await sendBatch(container, "multipart/mixed; boundary=batch_o", deletePart(other, "victim", "batch_o"));
  assertRefusedInPart(r, "InvalidInput");
  assert.deepEqual(await names(other), ["victim"]);
});
