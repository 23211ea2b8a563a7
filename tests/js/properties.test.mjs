// Properties Azure returns on append blobs and copies: x-ms-blob-sealed false on an unsealed append
// blob, the tier a copy names for its destination, and a synchronous copy refused from an archived
// source (409 BlobArchived).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BlobSASPermissions, generateBlobSASQueryParameters } from "@azure/storage-blob";
import { startServer } from "./server.mjs";
import { cred, hour, newContainer, rejects, uniq } from "./lib.mjs";

let server;
let container;
before(async () => {
  server = await startServer("cobalt-js-");
  container = await newContainer(server.service, "jsp");
});
after(async () => { await server?.stop(); });

const ab = () => container.getAppendBlobClient(uniq("a"));
function sasFor(name, perms) {
  return generateBlobSASQueryParameters({ containerName: container.containerName, blobName: name,
    permissions: BlobSASPermissions.parse(perms), expiresOn: hour() }, cred).toString();
}
async function source(content = "copy me") {
  const s = container.getBlockBlobClient(uniq("src"));
  await s.upload(content, Buffer.byteLength(content));
  return s;
}

test("an unsealed append blob reports x-ms-blob-sealed false", async () => {
  const a = ab();
  await a.create();
  const p = await a.getProperties();
  assert.equal(p._response.headers.get("x-ms-blob-sealed"), "false");
  assert.equal(p.isSealed, false);
});

test("copy with tags and a tier", async () => {
  const s = await source();
  const d = container.getBlobClient(uniq("dst"));
  await (await d.beginCopyFromURL(s.url, { tags: { c: "1" }, tier: "Cool" })).pollUntilDone();
  assert.deepEqual((await d.getTags()).tags, { c: "1" });
  assert.equal((await d.getProperties()).accessTier, "Cool");
});

test("copy of an archived source is refused", async () => {
  const s = await source();
  await s.setAccessTier("Archive");
  const d = container.getBlobClient(uniq("dst"));
  await rejects(d.syncCopyFromURL(`${s.url}?${sasFor(s.name, "r")}`), 409, "BlobArchived");
});
