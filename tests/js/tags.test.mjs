// Blob index tags with the official JS SDK (@azure/storage-blob) against the real cobalt binary:
// setTags/getTags, tags on upload and on commitBlockList, findBlobsByTags at account and container
// level with one-result pages, tag conditions, tags in listings, and the SAS 't' permission.
// Run from the repo root:  node --test tests/js/tags.test.mjs
// COBALT_BIN selects the binary (default build/cobalt).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  BlobClient,
  BlobSASPermissions,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from "@azure/storage-blob";
import { ACCOUNT, KEY, startServer } from "./server.mjs";

let server;
let service;

before(async () => { server = await startServer("cobalt-js-tags-"); service = server.service; });
after(async () => { await server?.stop(); });

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
