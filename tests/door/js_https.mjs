// The JS SDK (@azure/storage-blob) over HTTPS with the test CA (NODE_EXTRA_CA_CERTS): an account
// SAS with spr=https, then the shared key; run by test_tools_tls.py, which checks the last line.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), "../../"));
const { BlobServiceClient, StorageSharedKeyCredential } = require("@azure/storage-blob");

const url = process.env.COBALT_URL;
const sasSvc = new BlobServiceClient(`${url}?${process.env.COBALT_SAS}`, undefined,
                                     { retryOptions: { maxTries: 1 } });
const cc = sasSvc.getContainerClient("jstls");
await cc.create();
const body = "x".repeat(5 << 20);
await cc.getBlockBlobClient("big").uploadData(Buffer.from(body), { blockSize: 1 << 20 });
const got = await cc.getBlobClient("big").downloadToBuffer();
assert.equal(got.toString(), body);
const names = [];
for await (const b of cc.listBlobsFlat()) names.push(b.name);
assert.deepEqual(names, ["big"]);

const key = new StorageSharedKeyCredential(
    "devstoreaccount1",
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==");
const keySvc = new BlobServiceClient(url, key, { retryOptions: { maxTries: 1 } });
const props = await keySvc.getContainerClient("jstls").getBlobClient("big").getProperties();
assert.equal(props.contentLength, 5 << 20);
console.log("js over https: ok");
