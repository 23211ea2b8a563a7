// Blob versions (protocol doc §2.12, §5.5) through the JS SDK on a server started with
// `--versioning all`: every Put Blob, Put Block List, Set Metadata and copy makes a new version id,
// older versions stay readable (BlobClient.withVersion), listable (includeVersions) and deletable,
// Delete Blob turns the current version into a previous one, a version is promoted by copying it,
// and a SAS deletes a version only with the 'x' permission.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BlobClient, BlobSASPermissions } from "@azure/storage-blob";
import { startServer } from "./server.mjs";
import { NO_RETRY, downloadText, hour, newContainer, rejects, streamToBuffer } from "./lib.mjs";

const VID = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/;

let server;
let container;

before(async () => {
  server = await startServer("cobalt-js-versions-", ["--versioning", "all"]);
  container = await newContainer(server.service, "jsv");
});
after(async () => { await server?.stop(); });

let n = 0;
const newBlob = () => container.getBlockBlobClient(`v${n++}`);
const versions = async (prefix) => {
  const out = [];
  for await (const b of container.listBlobsFlat({ prefix, includeVersions: true })) {
    out.push([b.name, b.versionId, b.isCurrentVersion === true]);
  }
  return out.sort((a, b) => (a[1] < b[1] ? -1 : 1));
};

test("upload returns a version id that is the current version", async () => {
  const blob = newBlob();
  const up = await blob.upload("one", 3);
  assert.match(up.versionId, VID);
  const p = await blob.getProperties();
  assert.equal(p.versionId, up.versionId);
  assert.equal(p.isCurrentVersion, true);
});

test("every write makes a new, increasing version id", async () => {
  const blob = newBlob();
  const v1 = (await blob.upload("one", 3)).versionId;
  const v2 = (await blob.upload("two", 3)).versionId;
  const v3 = (await blob.setMetadata({ k: "v" })).versionId;
  await blob.stageBlock("MDE=", "block", 5);
  const v4 = (await blob.commitBlockList(["MDE="])).versionId;
  for (const v of [v2, v3, v4]) assert.match(v, VID);
  assert.ok(v1 < v2 && v2 < v3 && v3 < v4, `${v1} ${v2} ${v3} ${v4}`);
  assert.equal((await blob.getProperties()).versionId, v4);
});

test("Set Blob Properties and Set Blob Tier make no new version", async () => {
  const blob = newBlob();
  const v1 = (await blob.upload("x", 1)).versionId;
  await blob.setHTTPHeaders({ blobContentType: "text/plain" });
  await blob.setAccessTier("Cool");
  const p = await blob.getProperties();
  assert.equal(p.versionId, v1);
  assert.equal(p.contentType, "text/plain");
  assert.equal((await versions(blob.name)).length, 1);
});

test("older versions keep their content and metadata", async () => {
  const blob = newBlob();
  const v1 = (await blob.upload("one", 3, { metadata: { gen: "1" } })).versionId;
  const v2 = (await blob.upload("second", 6)).versionId;
  const old = blob.withVersion(v1);
  assert.equal(await downloadText(old), "one");
  const p = await old.getProperties();
  assert.equal(p.versionId, v1);
  assert.equal(p.isCurrentVersion, false);
  assert.deepEqual(p.metadata, { gen: "1" });
  assert.equal(p.contentLength, 3);
  const cur = await blob.withVersion(v2).getProperties();
  assert.equal(cur.isCurrentVersion, true);
  assert.deepEqual(cur.metadata, {});
  assert.equal(await downloadText(blob), "second");
});

test("a ranged download of a version", async () => {
  const blob = newBlob();
  const v1 = (await blob.upload("0123456789", 10)).versionId;
  await blob.upload("abcdefghij", 10);
  const r = await blob.withVersion(v1).download(3, 4);
  assert.equal(r._response.status, 206);
  assert.equal((await streamToBuffer(r.readableStreamBody)).toString(), "3456");
  assert.equal(r.contentRange, "bytes 3-6/10");
});

test("listing with includeVersions shows every version, one of them current", async () => {
  const blob = newBlob();
  const v1 = (await blob.upload("a", 1)).versionId;
  const v2 = (await blob.upload("b", 1)).versionId;
  const v3 = (await blob.setMetadata({ m: "1" })).versionId;
  assert.deepEqual(await versions(blob.name),
    [[blob.name, v1, false], [blob.name, v2, false], [blob.name, v3, true]]);
  const plain = [];
  for await (const b of container.listBlobsFlat({ prefix: blob.name })) plain.push([b.name, b.versionId]);
  assert.equal(plain.length, 1);
  assert.equal(plain[0][0], blob.name);
});

test("Delete Blob keeps the versions and re-creating adds a current one", async () => {
  const blob = newBlob();
  const v1 = (await blob.upload("first", 5)).versionId;
  const v2 = (await blob.upload("second", 6)).versionId;
  const del = await blob.delete();
  assert.equal(del._response.status, 202);
  assert.equal(del._response.headers.get("x-ms-delete-type-permanent"), "false");
  assert.equal(await blob.exists(), false);
  await rejects(blob.download(), 404, "BlobNotFound");
  assert.deepEqual(await versions(blob.name), [[blob.name, v1, false], [blob.name, v2, false]]);
  assert.equal(await downloadText(blob.withVersion(v2)), "second");
  const v3 = (await blob.upload("third", 5)).versionId;
  assert.deepEqual(await versions(blob.name),
    [[blob.name, v1, false], [blob.name, v2, false], [blob.name, v3, true]]);
});

test("deleting a version removes only that version", async () => {
  const blob = newBlob();
  const v1 = (await blob.upload("1", 1)).versionId;
  const v2 = (await blob.upload("2", 1)).versionId;
  const r = await blob.withVersion(v1).delete();
  assert.equal(r._response.status, 202);
  await rejects(blob.withVersion(v1).download(), 404, "BlobNotFound");
  await rejects(blob.withVersion(v1).delete(), 404, "BlobNotFound");
  assert.deepEqual(await versions(blob.name), [[blob.name, v2, true]]);
  assert.equal(await downloadText(blob), "2");
});

test("an unknown version id is 404 BlobNotFound, a malformed one 400", async () => {
  const blob = newBlob();
  await blob.upload("x", 1);
  await rejects(blob.withVersion("2001-01-01T00:00:00.0000000Z").getProperties(), 404);
  await rejects(blob.withVersion("2001-01-01T00:00:00.0000000Z").download(), 404, "BlobNotFound");
  await rejects(blob.withVersion("garbage").download(), 400, "InvalidQueryParameterValue");
  await rejects(blob.withVersion("2001-01-01T00:00:00.0000000Z").delete(), 404, "BlobNotFound");
});

test("a version is promoted by copying it over its blob", async () => {
  const blob = newBlob();
  const v1 = (await blob.upload("first", 5)).versionId;
  const v2 = (await blob.upload("second", 6)).versionId;
  const poller = await blob.beginCopyFromURL(blob.withVersion(v1).url);
  const res = await poller.pollUntilDone();
  assert.equal(res.copyStatus, "success");
  assert.equal(await downloadText(blob), "first");
  assert.equal(await downloadText(blob.withVersion(v2)), "second");
  const all = await versions(blob.name);
  assert.equal(all.length, 3);
  assert.deepEqual(all.slice(0, 2), [[blob.name, v1, false], [blob.name, v2, false]]);
  assert.ok(all[2][1] > v2 && all[2][2]);
});

test("a snapshot reports the version it was taken of", async () => {
  const blob = newBlob();
  const v1 = (await blob.upload("snap me", 7)).versionId;
  const s = await blob.createSnapshot();
  assert.equal(s.versionId, v1);
  await blob.upload("later", 5);
  assert.equal(await downloadText(blob.withSnapshot(s.snapshot)), "snap me");
  assert.equal(await downloadText(blob.withVersion(v1)), "snap me");
  const listed = [];
  for await (const b of container.listBlobsFlat({ prefix: blob.name, includeVersions: true, includeSnapshots: true })) {
    listed.push(b);
  }
  assert.equal(listed.length, 3);
  assert.equal(listed.filter((b) => b.snapshot === s.snapshot).length, 1);
});

test("a SAS deletes the blob with 'd' and a version only with 'x'", async () => {
  const blob = newBlob();
  const v1 = (await blob.upload("one", 3)).versionId;
  await blob.upload("two", 3);
  const sasBlob = async (perm, versionId) => {
    const url = await blob.generateSasUrl({ permissions: BlobSASPermissions.parse(perm), expiresOn: hour() });
    const c = new BlobClient(url, undefined, NO_RETRY);
    return versionId ? c.withVersion(versionId) : c;
  };
  await rejects((await sasBlob("x")).delete(), 403, "AuthorizationPermissionMismatch");
  assert.equal(await downloadText(blob), "two");
  await rejects((await sasBlob("d", v1)).delete(), 403, "AuthorizationPermissionMismatch");
  assert.equal(await downloadText(blob.withVersion(v1)), "one");
  assert.equal((await (await sasBlob("x", v1)).delete())._response.status, 202);
  await rejects(blob.withVersion(v1).download(), 404, "BlobNotFound");
  await (await sasBlob("d")).delete();
  assert.equal(await blob.exists(), false);
});

test("a server without versioning sends no version ids", async () => {
  const plain = await startServer("cobalt-js-noversions-");
  try {
    const c = await newContainer(plain.service, "jsnv");
    const blob = c.getBlockBlobClient("nv");
    const up = await blob.upload("x", 1);
    assert.equal(up.versionId, undefined);
    assert.equal((await blob.getProperties()).versionId, undefined);
    const listed = [];
    for await (const b of c.listBlobsFlat({ includeVersions: true })) listed.push(b.versionId);
    assert.deepEqual(listed, [undefined]);
  } finally {
    await plain.stop();
  }
});
