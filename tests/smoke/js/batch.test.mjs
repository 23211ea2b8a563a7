// Blob Batch with the official JS SDK (BlobBatchClient) against the real cobalt binary:
// deleteBlobs / setBlobsAccessTier at account and container scope, per-part results, and parts
// that carry a SAS in their own URL.
// Run from the repo root:  node --test tests/smoke/js/batch.test.mjs
// COBALT_BIN selects the binary (default build/cobalt).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, openSync, closeSync, readFileSync, existsSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  BlobServiceClient,
  ContainerClient,
  StorageSharedKeyCredential,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
} from "@azure/storage-blob";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");
const bin = path.resolve(repo, process.env.COBALT_BIN || "build/cobalt");
const ACCOUNT = "devstoreaccount1";
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

let proc;
let port;
let tmp;
let logPath;
let service;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function canConnect(p) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port: p });
    sock.once("connect", () => { sock.destroy(); resolve(true); });
    sock.once("error", () => resolve(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startServer() {
  assert.ok(existsSync(bin), `server binary ${bin} does not exist (set COBALT_BIN or build it)`);
  tmp = mkdtempSync(path.join(os.tmpdir(), "cobalt-jsbatch-"));
  logPath = path.join(tmp, "server.log");
  port = await freePort();
  const log = openSync(logPath, "a");
  proc = spawn(bin, ["serve", "--host", "127.0.0.1", "--port", String(port), "--data-dir",
    path.join(tmp, "data"), "--log-level", process.env.COBALT_LOG_LEVEL || "warn", "--rehydrate-delay", "1"],
  { stdio: ["ignore", log, log] });
  closeSync(log);
  let exited = null;
  proc.once("exit", (code, sig) => { exited = { code, sig }; });
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`cobalt exited early (${JSON.stringify(exited)}):\n${readFileSync(logPath, "utf8")}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error("cobalt did not accept connections in 60 s");
}

async function stopServer() {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const done = new Promise((r) => proc.once("exit", (code, sig) => r({ code, sig })));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30000);
  const res = await done;
  clearTimeout(timer);
  return res;
}

before(async () => {
  await startServer();
  const cs = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};` +
    `BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`;
  service = BlobServiceClient.fromConnectionString(cs, { retryOptions: { maxTries: 1 } });
});

after(async () => {
  const res = await stopServer();
  const log = existsSync(logPath) ? readFileSync(logPath, "utf8") : "";
  if (process.env.COBALT_KEEP_LOG) console.log(log);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  assert.ok(!/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(log), `sanitizer report:\n${log}`);
  if (res) assert.equal(res.code, 0, `server exit status on SIGTERM: ${JSON.stringify(res)}\n${log}`);
});

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
