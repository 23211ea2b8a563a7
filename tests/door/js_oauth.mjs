// The JS SDK with a token credential over HTTPS (NODE_EXTRA_CA_CERTS trusts the test CA): every
// operation family once, Get User Delegation Key, and a user delegation SAS (the SDK signs the
// newest layout, sv 2026-10-06) used by a second client.  Run by test_oauth_js.py with
// COBALT_URL, COBALT_TOKEN (an Owner) and COBALT_READER_TOKEN; prints "js oauth: ok" last.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), "../../"));
const {
    BlobServiceClient, BlobSASPermissions, ContainerSASPermissions, generateBlobSASQueryParameters,
} = require("@azure/storage-blob");

const url = process.env.COBALT_URL;
const account = "devstoreaccount1";
const cred = (token) => ({ getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600e3 }) });
const opts = { retryOptions: { maxTries: 1 } };
const svc = new BlobServiceClient(url, cred(process.env.COBALT_TOKEN), opts);

const cc = svc.getContainerClient("jsoauth");
await cc.create({ metadata: { a: "1" } });
assert.deepEqual((await cc.getProperties()).metadata, { a: "1" });
await cc.setMetadata({ b: "2" });
const bb = cc.getBlockBlobClient("doc.txt");
await bb.upload("hello js bearer", 15);
assert.equal((await bb.downloadToBuffer()).toString(), "hello js bearer");
await bb.setMetadata({ x: "y" });
await bb.setTags({ k: "v" });
assert.deepEqual((await bb.getTags()).tags, { k: "v" });
await bb.createSnapshot();
const lease = bb.getBlobLeaseClient();
await lease.acquireLease(15);
await lease.releaseLease();
await bb.stageBlock(Buffer.from("YQ==", "utf8").toString("base64"), Buffer.from("aa"), 2);
const app = cc.getAppendBlobClient("app");
await app.create();
await app.appendBlock("12", 2);
assert.equal((await app.downloadToBuffer()).toString(), "12");
const names = [];
for await (const b of cc.listBlobsFlat()) names.push(b.name);
assert.deepEqual(names.sort(), ["app", "doc.txt"]);

// a user delegation key, and a SAS signed with it, used by a client with no credential
const now = new Date();
const start = new Date(now.getTime() - 60e3), expiry = new Date(now.getTime() + 3600e3);
const udk = await svc.getUserDelegationKey(start, expiry);
assert.equal(udk.signedService, "b");
const sas = generateBlobSASQueryParameters({
    containerName: "jsoauth", blobName: "doc.txt", permissions: BlobSASPermissions.parse("r"),
    startsOn: start, expiresOn: new Date(now.getTime() + 1800e3),
}, udk, account).toString();
assert.match(sas, /skoid=/);
const second = new BlobServiceClient(`${url}?${sas}`, undefined, opts);
assert.equal((await second.getContainerClient("jsoauth").getBlobClient("doc.txt").downloadToBuffer())
    .toString(), "hello js bearer");
const csas = generateBlobSASQueryParameters({
    containerName: "jsoauth", permissions: ContainerSASPermissions.parse("rl"),
    expiresOn: new Date(now.getTime() + 1800e3),
}, udk, account).toString();
const listed = [];
for await (const b of new BlobServiceClient(`${url}?${csas}`, undefined, opts)
    .getContainerClient("jsoauth").listBlobsFlat()) listed.push(b.name);
assert.deepEqual(listed.sort(), ["app", "doc.txt"]);

// a Reader cannot write
const reader = new BlobServiceClient(url, cred(process.env.COBALT_READER_TOKEN), opts);
await assert.rejects(reader.getContainerClient("jsoauth").getBlockBlobClient("no").upload("x", 1),
    (e) => e.statusCode === 403 && e.code === "AuthorizationPermissionMismatch");

await bb.delete({ deleteSnapshots: "include" });
await svc.deleteContainer("jsoauth");
console.log("js oauth: ok");
