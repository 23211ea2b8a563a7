// Find Blobs by Tags (BlobServiceClient.findBlobsByTags, ContainerClient.findBlobsByTags) and
// blob tags (setTags/getTags) through the JS SDK: the expression grammar and its limits (protocol
// doc §5.9: 400 InvalidQueryParameterValue for a bad `where`), tag-set validation, and results.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./server.mjs";
import { newContainer, rejects, uniq } from "./lib.mjs";

let server;
let service;
let container;
const proj = uniq("p");

before(async () => {
  server = await startServer("cobalt-js-find-");
  service = server.service;
  container = await newContainer(service, "jsft");
  for (let i = 0; i < 6; i++) {
    await container.getBlockBlobClient(`f${i}`).upload("x", 1, { tags: { project: proj, n: `0${i}`, odd: String(i % 2) } });
  }
});
after(async () => { await server?.stop(); });

async function find(client, where) {
  const out = [];
  for await (const b of client.findBlobsByTags(where)) out.push(b.name);
  return out.sort();
}
const firstPage = (client, where) => client.findBlobsByTags(where).byPage({ maxPageSize: 10 }).next();

const keys11 = Array.from({ length: 11 }, (_, i) => `"k${i}" = 'v'`).join(" AND ");
const keys10 = Array.from({ length: 10 }, (_, i) => `"k${i}" = 'v'`).join(" AND ");
const BAD = {
  "more than 10 conditions on distinct keys": keys11,
  "a key with a character outside the tag set": `"bad!" = 'v'`,
  "a value with a character outside the tag set": `"k" = 'v!'`,
  "a value with a non-ASCII character": `"k" = 'caf\u00e9'`,
  "a key over 128 characters": `"${"k".repeat(129)}" = 'v'`,
  "a value over 256 characters": `"k" = '${"v".repeat(257)}'`,
  "an unterminated value": `"k" = 'v`,
  "an unterminated key": `"k = 'v'`,
  "a missing operator": `"k" 'v'`,
  "an unquoted value": `"k" = v`,
  "a dangling AND": `"k" = 'v' AND`,
  "OR": `"k" = 'v' OR "k" = 'w'`,
  "<>": `"k" <> 'v'`,
  "two equalities on one key": `"k" = 'v' AND "k" = 'w'`,
  "an empty key": `"" = 'v'`,
  "an unknown @ key": `@blob = 'x'`,
  "@container with >": `@container > 'a'`,
  "an unbalanced parenthesis": `("k" = 'v'`,
  "text after the expression": `"k" = 'v' garbage`,
  "an empty expression": ` `,
  "==": `"k" == 'v'`,
};
for (const [what, where] of Object.entries(BAD)) {
  test(`findBlobsByTags: ${what} is 400`, async () => {
    const e = await rejects(firstPage(service, where), 400);
    assert.ok(["InvalidQueryParameterValue", "InvalidInput"].includes(e.code), e.code);
  });
}

test("findBlobsByTags: 10 conditions on distinct keys are accepted", async () => {
  assert.deepEqual(await find(service, keys10), []);
});

test("findBlobsByTags: a key at 128 characters and a value at 256 are accepted", async () => {
  assert.deepEqual(await find(service, `"${"k".repeat(128)}" = '${"v".repeat(256)}'`), []);
});

test("findBlobsByTags: a range on one key", async () => {
  assert.deepEqual(await find(service, `"project" = '${proj}' AND "n" > '01' AND "n" <= '04'`), ["f2", "f3", "f4"]);
});

test("findBlobsByTags: container scope", async () => {
  assert.deepEqual(await find(container, `"project" = '${proj}' AND "odd" = '1'`), ["f1", "f3", "f5"]);
});

test("findBlobsByTags: @container restricts at service scope", async () => {
  assert.deepEqual(await find(service, `@container = '${container.containerName}' AND "project" = '${proj}' AND "n" = '00'`), ["f0"]);
  assert.deepEqual(await find(service, `@container = 'nosuch' AND "project" = '${proj}'`), []);
});

test("findBlobsByTags: unquoted identifiers and keywords in any case", async () => {
  assert.deepEqual(await find(service, `project = '${proj}' and n = '05'`), ["f5"]);
});

test("findBlobsByTags: results carry the matched tags and the container name", async () => {
  const page = (await service.findBlobsByTags(`"project" = '${proj}' AND "n" = '03'`).byPage().next()).value;
  assert.equal(page.blobs.length, 1);
  assert.equal(page.blobs[0].containerName, container.containerName);
  assert.deepEqual(page.blobs[0].tags, { project: proj, n: "03" });
});

test("findBlobsByTags: paging with maxPageSize 2 returns each blob once", async () => {
  const names = [];
  let pages = 0;
  for await (const p of service.findBlobsByTags(`"project" = '${proj}'`).byPage({ maxPageSize: 2 })) {
    pages++;
    names.push(...p.blobs.map((b) => b.name));
  }
  assert.deepEqual(names.sort(), ["f0", "f1", "f2", "f3", "f4", "f5"]);
  assert.ok(pages >= 3);
});

const BAD_TAGS = {
  "11 tags": [Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, "v"])), "TagsTooLarge"],
  "a key over 128 characters": [{ ["k".repeat(129)]: "v" }, undefined],
  "a value over 256 characters": [{ k: "v".repeat(257) }, undefined],
  "a key with '!'": [{ "a!": "v" }, "InvalidTag"],
  "a value with '*'": [{ k: "v*" }, "InvalidTag"],
  "an empty key": [{ "": "v" }, "InvalidTag"],
};
for (const [what, [tags, code]] of Object.entries(BAD_TAGS)) {
  test(`setTags with ${what} is 400 ${code ?? ""}`, async () => {
    const b = container.getBlockBlobClient(uniq("t"));
    await b.upload("x", 1);
    await rejects(b.setTags(tags), 400, code);
  });
}

test("setTags with an empty value and the full character set", async () => {
  const b = container.getBlockBlobClient(uniq("t"));
  await b.upload("x", 1);
  const tags = { empty: "", "A-z 0+9.:/=_": "a-Z 9+0.:/=_" };
  await b.setTags(tags);
  assert.deepEqual((await b.getTags()).tags, tags);
});

test("setTags with {} removes every tag", async () => {
  const b = container.getBlockBlobClient(uniq("t"));
  await b.upload("x", 1, { tags: { a: "b" } });
  await b.setTags({});
  assert.deepEqual((await b.getTags()).tags, {});
  assert.equal((await b.getProperties()).tagCount, undefined);
});

test("getTags of a missing blob is 404 BlobNotFound", async () => {
  await rejects(container.getBlobClient("missing").getTags(), 404, "BlobNotFound");
});
