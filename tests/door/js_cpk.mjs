// The JS SDK (@azure/storage-blob) with a customer-provided key over HTTPS (it refuses to send one
// over HTTP): Cobalt answers 400 UnsupportedHeader (docs/encryption.md) and writes nothing; run by
// test_encryption_tls.py, which checks the last line.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), "../../"));
const { BlobServiceClient, StorageSharedKeyCredential } = require("@azure/storage-blob");

const rawKey = Buffer.alloc(32, 7);
const customerProvidedKey = {
  encryptionKey: rawKey.toString("base64"),
  encryptionKeySha256: createHash("sha256").update(rawKey).digest("base64"),
  encryptionAlgorithm: "AES256",
};
async function refused(promise) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, "a customer-provided key was accepted");
  assert.equal(err.statusCode, 400, err.message);
  assert.equal(err.code ?? err.details?.errorCode, "UnsupportedHeader");
}

const key = new StorageSharedKeyCredential(
    "devstoreaccount1",
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==");
const svc = new BlobServiceClient(process.env.COBALT_URL, key, { retryOptions: { maxTries: 1 } });
const cc = svc.getContainerClient("jscpk");
await cc.create();
const b = cc.getBlockBlobClient("secret");
await refused(b.upload("secret", 6, { customerProvidedKey }));
assert.equal(await b.exists(), false);
await b.upload("plain", 5);
await refused(b.download(0, undefined, { customerProvidedKey }));
await refused(b.setMetadata({ a: "b" }, { customerProvidedKey }));
await refused(b.stageBlock("QUFBQQ==", "x", 1, { customerProvidedKey }));
assert.equal((await b.downloadToBuffer()).toString(), "plain");
assert.deepEqual((await b.getProperties()).metadata, {});
console.log("js cpk over https: refused");
