// Blob index tags with the official JS SDK (@azure/storage-blob) against the real cobalt binary:
// setTags/getTags, tags on upload and on commitBlockList, findBlobsByTags at account and container
// level with one-result pages, tag conditions, tags in listings, and the SAS 't' permission.
// Run from the repo root:  node --test tests/smoke/js/tags.test.mjs
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
  BlobClient,
  BlobSASPermissions,
  BlobServiceClient,
  StorageSharedKeyCredential,
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
  tmp = mkdtempSync(path.join(os.tmpdir(), "cobalt-js-tags-"));
  logPath = path.join(tmp, "server.log");
  port = await freePort();
  const log = openSync(logPath, "a");
  proc = spawn(bin, ["serve", "--host", "127.0.0.1", "--port", String(port), "--data-dir",
    path.join(tmp, "data"), "--log-level", "warn"], { stdio: ["ignore", log, log] });
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
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  assert.ok(!/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(log), `sanitizer report:\n${log}`);
  if (res) assert.equal(res.code, 0, `server exit status on SIGTERM: ${JSON.stringify(res)}\n${log}`);
});

const uniq = (p) => `${p}${randomBytes(6).toString("hex")}`;

// Every result of a find, page by page (maxPageSize results at most per page).
async function findAll(client, where, maxPageSize) {
  const out = [];
  let pages = 0;
  for await (const page of client.findBlobsByTags(where).byPage({ maxPageSize })) {
    pages++;
    assert.ok(page.blobs.length <= maxPageSize, `page of ${page.blobs.length} > ${maxPageSize}`);
    for (const b of page.blobs) out.push(b);
  }
  return { blobs: out, pages };
}

test("setTags / getTags, tags on upload, tag count, listing", async () => {
  const container = service.getContainerClient(uniq("jst"));
  await container.create();
  try {
    const bb = container.getBlockBlobClient("dir/a b.txt");
    const up = await bb.upload("hello", 5, { tags: { project: "cobalt", "team name": "a b" } });
    assert.deepEqual((await bb.getTags()).tags, { project: "cobalt", "team name": "a b" });
    const props = await bb.getProperties();
    assert.equal(props.tagCount, 2);
    assert.equal(props.etag, up.etag);

    await bb.setTags({ k: "v/:=+-._ 9" });
    assert.deepEqual((await bb.getTags()).tags, { k: "v/:=+-._ 9" });
    assert.equal((await bb.getProperties()).etag, up.etag, "setTags must not change the ETag");

    // Put Block List with tags; a later overwrite without tags clears them.
    const blk = container.getBlockBlobClient("blocks");
    const id = Buffer.from("block-0001").toString("base64");
    await blk.stageBlock(id, Buffer.from("abc"), 3);
    await blk.commitBlockList([id], { tags: { kind: "blocks" } });
    assert.deepEqual((await blk.getTags()).tags, { kind: "blocks" });
    await blk.upload("x", 1);
    assert.deepEqual((await blk.getTags()).tags, {});

    const listed = {};
    for await (const b of container.listBlobsFlat({ includeTags: true })) listed[b.name] = b;
    assert.deepEqual(listed["dir/a b.txt"].tags, { k: "v/:=+-._ 9" });
    assert.equal(listed["dir/a b.txt"].properties.tagCount, 1);

    await assert.rejects(bb.setTags({ "bad!": "x" }), (e) => e.statusCode === 400 && e.code === "InvalidTag");
    const many = {};
    for (let i = 0; i < 11; i++) many[`k${i}`] = "v";
    await assert.rejects(bb.setTags(many), (e) => e.statusCode === 400 && e.code === "TagsTooLarge");
  } finally {
    await container.delete();
  }
});

test("findBlobsByTags: account and container level, one result per page, exactly once", async () => {
  const c1 = service.getContainerClient(uniq("jsf"));
  const c2 = service.getContainerClient(uniq("jsf"));
  await c1.create();
  await c2.create();
  try {
    const proj = uniq("p");
    const want = new Set();
    for (let i = 0; i < 9; i++) {
      const c = i % 2 ? c1 : c2;
      const name = `m${i}`;
      await c.getBlockBlobClient(name).upload("x", 1, { tags: { project: proj, n: String(i).padStart(2, "0") } });
      want.add(`${c.containerName}/${name}`);
    }
    await c1.getBlockBlobClient("other").upload("x", 1, { tags: { project: `${proj}x` } });
    const where = `"project" = '${proj}'`;

    const { blobs, pages } = await findAll(service, where, 1);
    const got = blobs.map((b) => `${b.containerName}/${b.name}`);
    assert.equal(got.length, new Set(got).size, "a blob was returned twice");
    assert.deepEqual(new Set(got), want);
    assert.ok(pages >= 9);
    for (const b of blobs) assert.deepEqual(b.tags, { project: proj });   // only the filter's tags

    const inC1 = await findAll(c1, where, 2);
    assert.deepEqual(inC1.blobs.map((b) => b.name).sort(), ["m1", "m3", "m5", "m7"]);
    const ranged = await findAll(service, `@container = '${c2.containerName}' AND ${where} AND "n" >= '02' AND "n" < '07'`, 5000);
    assert.deepEqual(ranged.blobs.map((b) => b.name).sort(), ["m2", "m4", "m6"]);

    // The index follows deletes.
    await c1.deleteBlob("m1");
    const after = await findAll(c1, where, 5000);
    assert.deepEqual(after.blobs.map((b) => b.name).sort(), ["m3", "m5", "m7"]);
  } finally {
    await c1.delete();
    await c2.delete();
  }
  const gone = await findAll(service, `"project" = 'nothing-here'`, 10);
  assert.equal(gone.blobs.length, 0);
});

test("tag conditions (x-ms-if-tags) and the SAS 't' permission", async () => {
  const container = service.getContainerClient(uniq("jsc"));
  await container.create();
  try {
    const bb = container.getBlockBlobClient("cond");
    await bb.upload("v1", 2, { tags: { state: "draft" } });
    const no = { conditions: { tagConditions: `"state" = 'final'` } };
    const yes = { conditions: { tagConditions: `"state" = 'draft'` } };
    await assert.rejects(bb.download(0, undefined, no), (e) => e.statusCode === 412);
    await assert.rejects(bb.setTags({ state: "x" }, no), (e) => e.statusCode === 412 && e.code === "ConditionNotMet");
    await assert.rejects(bb.getTags(no), (e) => e.statusCode === 412);
    await assert.rejects(bb.upload("v2", 2, no), (e) => e.statusCode === 412);
    await bb.setTags({ state: "final" }, yes);
    await bb.upload("v2", 2, { conditions: { tagConditions: `"state" = 'final'` } });

    const cred = new StorageSharedKeyCredential(ACCOUNT, KEY);
    const sas = (perms) => generateBlobSASQueryParameters({
      containerName: container.containerName, blobName: "cond",
      permissions: BlobSASPermissions.parse(perms), expiresOn: new Date(Date.now() + 3600e3),
    }, cred).toString();
    const readOnly = new BlobClient(`${bb.url}?${sas("r")}`, undefined, { retryOptions: { maxTries: 1 } });
    await assert.rejects(readOnly.getTags(), (e) => e.statusCode === 403);
    const tagger = new BlobClient(`${bb.url}?${sas("t")}`, undefined, { retryOptions: { maxTries: 1 } });
    await tagger.setTags({ via: "sas" });
    assert.deepEqual((await tagger.getTags()).tags, { via: "sas" });
  } finally {
    await container.delete();
  }
});
