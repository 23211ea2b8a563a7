// Set Blob Expiry (docs/expiry.md) through the JS SDK: the operation is on the generated blob
// context (BlobClient has no public setExpiry; DataLake's file client calls the same one), and
// getProperties().expiresOn and listBlobsFlat()'s properties.expiresOn report it; on the test
// clock the blob vanishes the moment its expiry passes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./server.mjs";
import { downloadText, listNames, newContainer, rejects } from "./lib.mjs";

let server;
let container;

before(async () => {
  server = await startServer("cobalt-js-expiry-", [], { testClock: true });
  container = await newContainer(server.service, "jsexp");
});
after(async () => { await server?.stop(); });

async function newBlob(name, content = "expiring") {
  const b = container.getBlockBlobClient(name);
  await b.upload(content, Buffer.byteLength(content));
  return b;
}
const setExpiry = (blob, option, expiresOn) => blob.blobContext.setExpiry(option, { expiresOn });

test("every option is reported by getProperties and listings", async () => {
  const b = await newBlob("opts");
  await setExpiry(b, "RelativeToNow", "3600000");
  const p = await b.getProperties();
  assert.ok(p.expiresOn instanceof Date);
  assert.ok(Math.abs(p.expiresOn.getTime() - (Date.now() + 3600e3)) < 60e3, String(p.expiresOn));
  for await (const item of container.listBlobsFlat({ prefix: "opts" })) {
    assert.equal(item.properties.expiresOn.getTime(), p.expiresOn.getTime());
  }
  const at = new Date(Math.floor(Date.now() / 1000) * 1000 + 86400e3);
  await setExpiry(b, "Absolute", at.toUTCString());
  assert.equal((await b.getProperties()).expiresOn.getTime(), at.getTime());
  await setExpiry(b, "RelativeToCreation", "7200000");
  const created = (await b.getProperties()).createdOn.getTime();
  assert.equal((await b.getProperties()).expiresOn.getTime(), created + 7200e3);
  await setExpiry(b, "NeverExpire");
  assert.equal((await b.getProperties()).expiresOn, undefined);
});

test("the blob is gone once its expiry passes", async () => {
  const b = await newBlob("short", "short-lived");
  const keep = await newBlob("long", "long-lived");
  await setExpiry(b, "RelativeToNow", "10000");
  await setExpiry(keep, "RelativeToNow", "600000");
  assert.equal(await downloadText(b), "short-lived");
  server.advanceClock(11);
  await rejects(b.download(), 404, "BlobNotFound");
  await rejects(b.getProperties(), 404);
  assert.equal(await b.exists(), false);
  assert.deepEqual(await listNames(container, { prefix: "short" }), []);
  assert.equal(await downloadText(keep), "long-lived");
});

test("refusals: unknown option, missing or bad time", async () => {
  const b = await newBlob("bad");
  await rejects(setExpiry(b, "Someday", "1000"), 400, "InvalidHeaderValue");
  await rejects(setExpiry(b, "RelativeToNow"), 400, "MissingRequiredHeader");
  await rejects(setExpiry(b, "RelativeToNow", "soon"), 400, "InvalidHeaderValue");
  await rejects(setExpiry(b, "Absolute", new Date(Date.now() - 86400e3).toUTCString()), 400,
    "InvalidHeaderValue");
  await rejects(setExpiry(b, "NeverExpire", "1000"), 400, "InvalidHeaderValue");
  await rejects(setExpiry(container.getBlockBlobClient("none"), "RelativeToNow", "1000"), 404,
    "BlobNotFound");
  assert.equal((await b.getProperties()).expiresOn, undefined);
});
