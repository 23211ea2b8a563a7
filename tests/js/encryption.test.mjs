// Encryption scopes through the JS SDK (docs/encryption.md): Cobalt refuses any scope but the
// account's (400 InvalidHeaderValue) before writing anything; $account-encryption-key is
// accepted.  The SDK sends customer-provided keys only over HTTPS: tests/door/js_cpk.mjs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./server.mjs";
import { downloadText, newContainer, rejects, uniq } from "./lib.mjs";

let server;
let container;

before(async () => {
  server = await startServer("cobalt-js-encryption-");
  container = await newContainer(server.service, "jsenc");
});
after(async () => { await server?.stop(); });

test("only the account's encryption scope exists", async () => {
  const b = container.getBlockBlobClient("scoped");
  await rejects(b.upload("x", 1, { encryptionScope: "myscope" }), 400, "InvalidHeaderValue");
  assert.equal(await b.exists(), false);
  await b.upload("x", 1, { encryptionScope: "$account-encryption-key" });
  assert.equal(await downloadText(b), "x");
  const name = uniq("jsencs");
  await rejects(server.service.getContainerClient(name).create({
    containerEncryptionScope: { defaultEncryptionScope: "myscope", preventEncryptionScopeOverride: false },
  }), 400, "InvalidHeaderValue");
  await server.service.getContainerClient(name).create({
    containerEncryptionScope: { defaultEncryptionScope: "$account-encryption-key",
      preventEncryptionScopeOverride: false },
  });
  const p = await server.service.getContainerClient(name).getProperties();
  assert.equal(p.defaultEncryptionScope, "$account-encryption-key");
  assert.equal(p.denyEncryptionScopeOverride, false);
});
