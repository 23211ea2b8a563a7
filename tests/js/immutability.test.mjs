// Immutability (protocol doc §2.3 "Immutability / legal hold", §7.2 WORM codes) through the JS SDK
// on a server with `--versioning all`: BlobClient.setImmutabilityPolicy (unlocked: shorten and
// remove; locked: extend only), deleteImmutabilityPolicy, setLegalHold, the policy and hold on
// upload, both in Get Blob Properties and in listings, and on versions and snapshots.  Every
// refusal (409 BlobImmutableDueToPolicy / BlobImmutableDueToLegalHold) is followed by a read
// showing the content unchanged.  Locked policies leave blobs that cannot be removed: the server's
// data directory goes with it when the file ends.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ACCOUNT, startServer } from "./server.mjs";
import { downloadText, newContainer, raw, rejects } from "./lib.mjs";

let server;
let container;

before(async () => {
  server = await startServer("cobalt-js-worm-", ["--versioning", "all"]);
  container = await newContainer(server.service, "jsw");
});
after(async () => { await server?.stop(); });

let n = 0;
async function newBlob(content = "worm data", options) {
  const b = container.getBlockBlobClient(`w${n++}`);
  await b.upload(content, Buffer.byteLength(content), options);
  return b;
}
// Whole seconds: the policy date travels as an RFC 1123 date.
const inSeconds = (s) => new Date(Math.floor(Date.now() / 1000) * 1000 + s * 1000);

async function refused(blob, content, code) {
  await rejects(blob.upload("overwrite", 9), 409, code);
  await rejects(blob.delete(), 409, code);
  assert.equal(await downloadText(blob), content);
}

test("an unlocked policy blocks overwrite and delete; reads and other blobs are fine", async () => {
  const blob = await newBlob();
  const until = inSeconds(3600);
  const r = await blob.setImmutabilityPolicy({ expiriesOn: until, policyMode: "Unlocked" });
  assert.equal(r._response.status, 200);
  assert.equal(r.immutabilityPolicyExpiry.getTime(), until.getTime());
  assert.equal(r.immutabilityPolicyMode.toLowerCase(), "unlocked");
  const p = await blob.getProperties();
  assert.equal(p.immutabilityPolicyExpiresOn.getTime(), until.getTime());
  assert.equal(p.immutabilityPolicyMode.toLowerCase(), "unlocked");
  await refused(blob, "worm data", "BlobImmutableDueToPolicy");
  assert.equal(await downloadText(await newBlob("free")), "free");
});

test("an unlocked policy can be shortened and removed, and the blob is writable again", async () => {
  const blob = await newBlob();
  await blob.setImmutabilityPolicy({ expiriesOn: inSeconds(3600), policyMode: "Unlocked" });
  const shorter = inSeconds(1800);
  await blob.setImmutabilityPolicy({ expiriesOn: shorter, policyMode: "Unlocked" });
  assert.equal((await blob.getProperties()).immutabilityPolicyExpiresOn.getTime(), shorter.getTime());
  await refused(blob, "worm data", "BlobImmutableDueToPolicy");
  const d = await blob.deleteImmutabilityPolicy();
  assert.equal(d._response.status, 200);
  const p = await blob.getProperties();
  assert.equal(p.immutabilityPolicyMode, undefined);
  assert.equal(p.immutabilityPolicyExpiresOn, undefined);
  await blob.upload("rewritten", 9);
  assert.equal(await downloadText(blob), "rewritten");
  assert.equal((await blob.delete())._response.status, 202);
});

test("a locked policy can be extended but not shortened, unlocked or removed", async () => {
  const blob = await newBlob("locked data");
  const until = inSeconds(3600);
  await blob.setImmutabilityPolicy({ expiriesOn: until, policyMode: "Unlocked" });
  const r = await blob.setImmutabilityPolicy({ expiriesOn: until, policyMode: "Locked" });
  assert.equal(r.immutabilityPolicyMode.toLowerCase(), "locked");
  // The doc gives these refusals a status (409) and no code; the code is not checked.
  await rejects(blob.setImmutabilityPolicy({ expiriesOn: inSeconds(1800), policyMode: "Locked" }), 409);
  await rejects(blob.setImmutabilityPolicy({ expiriesOn: inSeconds(7200), policyMode: "Unlocked" }), 409);
  await rejects(blob.deleteImmutabilityPolicy(), 409);
  let p = await blob.getProperties();
  assert.equal(p.immutabilityPolicyExpiresOn.getTime(), until.getTime());
  assert.equal(p.immutabilityPolicyMode.toLowerCase(), "locked");
  const longer = inSeconds(7200);
  await blob.setImmutabilityPolicy({ expiriesOn: longer, policyMode: "Locked" });
  p = await blob.getProperties();
  assert.equal(p.immutabilityPolicyExpiresOn.getTime(), longer.getTime());
  await refused(blob, "locked data", "BlobImmutableDueToPolicy");
});

test("invalid policy requests are 400 and a missing blob 404; nothing changes", async () => {
  const blob = await newBlob("v");
  const path = `/${ACCOUNT}/${container.containerName}/${blob.name}?comp=immutabilityPolicies`;
  assert.equal((await raw(server, "PUT", path)).status, 400);
  let r = await raw(server, "PUT", path, { headers: { "x-ms-immutability-policy-until-date": "not a date" } });
  assert.equal(r.status, 400);
  r = await raw(server, "PUT", path, { headers: { "x-ms-immutability-policy-until-date": inSeconds(60).toUTCString(),
    "x-ms-immutability-policy-mode": "Sometimes" } });
  assert.equal(r.status, 400);
  await rejects(container.getBlobClient("missing").setImmutabilityPolicy({ expiriesOn: inSeconds(60), policyMode: "Unlocked" }),
    404, "BlobNotFound");
  assert.equal((await blob.getProperties()).immutabilityPolicyMode, undefined);
  await blob.upload("still mutable", 13);
  assert.equal(await downloadText(blob), "still mutable");
});

test("a legal hold blocks overwrite and delete until it is cleared", async () => {
  const blob = await newBlob("held");
  const r = await blob.setLegalHold(true);
  assert.equal(r._response.status, 200);
  assert.equal(r.legalHold, true);
  assert.equal((await blob.getProperties()).legalHold, true);
  await refused(blob, "held", "BlobImmutableDueToLegalHold");
  const off = await blob.setLegalHold(false);
  assert.equal(off.legalHold, false);
  assert.notEqual((await blob.getProperties()).legalHold, true);
  await blob.upload("released", 8);
  assert.equal(await downloadText(blob), "released");
  await blob.delete();
  assert.equal(await blob.exists(), false);
});

test("an invalid legal hold value is 400 and a missing blob 404", async () => {
  const blob = await newBlob("h");
  const r = await raw(server, "PUT", `/${ACCOUNT}/${container.containerName}/${blob.name}?comp=legalhold`,
    { headers: { "x-ms-legal-hold": "maybe" } });
  assert.equal(r.status, 400);
  assert.notEqual((await blob.getProperties()).legalHold, true);
  await rejects(container.getBlobClient("missing").setLegalHold(true), 404, "BlobNotFound");
});

test("policy and legal hold on upload", async () => {
  const until = inSeconds(3600);
  const blob = await newBlob("born immutable", { immutabilityPolicy: { expiriesOn: until, policyMode: "Unlocked" }, legalHold: true });
  const p = await blob.getProperties();
  assert.equal(p.immutabilityPolicyExpiresOn.getTime(), until.getTime());
  assert.equal(p.immutabilityPolicyMode.toLowerCase(), "unlocked");
  assert.equal(p.legalHold, true);
  await refused(blob, "born immutable", "BlobImmutableDueToLegalHold");
});

test("an upload with a policy date in the past is 400 and writes nothing", async () => {
  const blob = container.getBlockBlobClient(`w${n++}`);
  await rejects(blob.upload("x", 1, { immutabilityPolicy: { expiriesOn: inSeconds(-60), policyMode: "Unlocked" } }), 400);
  assert.equal(await blob.exists(), false);
});

test("listing with includeImmutabilityPolicy and includeLegalHold", async () => {
  const until = inSeconds(3600);
  const blob = await newBlob("x", { immutabilityPolicy: { expiriesOn: until, policyMode: "Unlocked" }, legalHold: true });
  const plainBlob = await newBlob("y");
  const got = {};
  for await (const b of container.listBlobsFlat({ includeImmutabilityPolicy: true, includeLegalHold: true })) got[b.name] = b.properties;
  assert.equal(got[blob.name].immutabilityPolicyMode.toLowerCase(), "unlocked");
  assert.equal(got[blob.name].immutabilityPolicyExpiresOn.getTime(), until.getTime());
  assert.equal(got[blob.name].legalHold, true);
  assert.equal(got[plainBlob.name].immutabilityPolicyMode, undefined);
  assert.notEqual(got[plainBlob.name].legalHold, true);
});

test("a locked policy on an older version blocks deleting that version only", async () => {
  const blob = container.getBlockBlobClient(`w${n++}`);
  const v1 = (await blob.upload("protected version", 17)).versionId;
  await blob.upload("current", 7);
  const old = blob.withVersion(v1);
  await old.setImmutabilityPolicy({ expiriesOn: inSeconds(3600), policyMode: "Locked" });
  assert.equal((await old.getProperties()).immutabilityPolicyMode.toLowerCase(), "locked");
  assert.equal((await blob.getProperties()).immutabilityPolicyMode, undefined);
  await rejects(old.delete(), 409, "BlobImmutableDueToPolicy");
  assert.equal(await downloadText(old), "protected version");
  await blob.upload("overwritten", 11);
  assert.equal(await downloadText(blob), "overwritten");
});

test("a legal hold on a snapshot blocks deleting it and deleting the blob with its snapshots", async () => {
  const blob = await newBlob("snapshotted");
  const snap = blob.withSnapshot((await blob.createSnapshot()).snapshot);
  await blob.upload("current", 7);
  assert.equal((await snap.setLegalHold(true)).legalHold, true);
  assert.equal((await snap.getProperties()).legalHold, true);
  await rejects(snap.delete(), 409, "BlobImmutableDueToLegalHold");
  await rejects(blob.delete({ deleteSnapshots: "include" }), 409, "BlobImmutableDueToLegalHold");
  assert.equal(await downloadText(snap), "snapshotted");
  assert.equal(await downloadText(blob), "current");
  await snap.setLegalHold(false);
  assert.equal((await blob.delete({ deleteSnapshots: "include" }))._response.status, 202);
  assert.equal(await snap.exists(), false);
});

test("a container holding a protected blob cannot be deleted", async () => {
  const c = await newContainer(server.service, "jswc");
  const blob = c.getBlockBlobClient("held");
  await blob.upload("x", 1);
  await blob.setLegalHold(true);
  await rejects(c.delete(), 409, "BlobImmutableDueToLegalHold");
  assert.equal(await downloadText(blob), "x");
  await blob.setLegalHold(false);
  assert.equal((await c.delete())._response.status, 202);
  assert.equal(await c.exists(), false);
});
