// The read-access secondary ("<account>-secondary"): Get Account Information names an RA-GRS SKU,
// and Get Blob Service Stats answers there with a live replication status.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { ACCOUNT, KEY, startServer } from "./server.mjs";
import { NO_RETRY } from "./lib.mjs";

let server;
before(async () => { server = await startServer("cobalt-js-"); });
after(async () => { await server?.stop(); });

test("getAccountInfo on the secondary names a read-access geo-redundant SKU", async () => {
  const secondary = new BlobServiceClient(`http://127.0.0.1:${server.port}/${ACCOUNT}-secondary`, new StorageSharedKeyCredential(ACCOUNT, KEY), NO_RETRY);
  const info = await secondary.getAccountInfo();
  assert.match(info.skuName, /RAGRS|RAGZRS/);
  assert.equal(info.accountKind, "StorageV2");
});

test("getStatistics on the secondary", async () => {
  const secondary = new BlobServiceClient(`http://127.0.0.1:${server.port}/${ACCOUNT}-secondary`, new StorageSharedKeyCredential(ACCOUNT, KEY), NO_RETRY);
  const stats = await secondary.getStatistics();
  assert.equal(stats.geoReplication.status, "live");
  assert.ok(stats.geoReplication.lastSyncOn instanceof Date);
});

