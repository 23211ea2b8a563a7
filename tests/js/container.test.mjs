// BlobServiceClient and ContainerClient through the JS SDK: account information and service
// properties, container create/delete/restore/metadata/ACL, List Containers and List Blobs
// (flat and hierarchical) with paging, prefixes and includes, and their failure paths.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ACCOUNT, KEY, startServer } from "./server.mjs";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { hour, newContainer, NO_RETRY, rejects, uniq } from "./lib.mjs";

let server;
let service;

const prefix = uniq("lst");
let lc;
const blobNames = ["a", "b/1", "b/2", "b/c/3", "c", "d/4", "e"];

before(async () => {
  server = await startServer("cobalt-js-cont-", ["--container-soft-delete-days", "1"]);
  service = server.service;
  for (let i = 0; i < 7; i++) await service.createContainer(`${prefix}-${i}`, { metadata: { n: String(i) } });
  lc = await newContainer(service, "jslb");
  for (const n of blobNames) await lc.getBlockBlobClient(n).upload(n, n.length, { metadata: { name: n.replace(/\//g, "_") }, tags: { n: "x" } });
});
after(async () => { await server?.stop(); });

test("getAccountInfo", async () => {
  const info = await service.getAccountInfo();
  assert.ok(info.skuName);
  assert.equal(info.accountKind, "StorageV2");
  assert.equal(info.isHierarchicalNamespaceEnabled, false);
});

test("getStatistics on the primary is refused", async () => {
  await rejects(service.getStatistics(), 400);
});

test("getProperties has defaults, setProperties round-trips every section", async () => {
  const props = await service.getProperties();
  assert.ok(props.blobAnalyticsLogging);
  const want = {
    blobAnalyticsLogging: { version: "1.0", deleteProperty: true, read: false, write: true, retentionPolicy: { enabled: true, days: 3 } },
    hourMetrics: { version: "1.0", enabled: true, includeAPIs: true, retentionPolicy: { enabled: true, days: 2 } },
    minuteMetrics: { version: "1.0", enabled: false, retentionPolicy: { enabled: false } },
    deleteRetentionPolicy: { enabled: true, days: 5 },
    staticWebsite: { enabled: true, indexDocument: "index.html", errorDocument404Path: "404.html" },
    defaultServiceVersion: "2020-10-02",
  };
  await service.setProperties(want);
  const got = await service.getProperties();
  const plain = (v) => JSON.parse(JSON.stringify(v));
  for (const k of Object.keys(want)) {
    if (typeof want[k] === "object") assert.deepEqual(plain(got[k]), plain({ ...got[k], ...want[k] }), k);
  }
  assert.equal(got.defaultServiceVersion, "2020-10-02");
  await service.setProperties({ deleteRetentionPolicy: { enabled: false }, staticWebsite: { enabled: false } });
});

test("setProperties with a retention of 0 days is 400", async () => {
  await rejects(service.setProperties({ deleteRetentionPolicy: { enabled: true, days: 0 } }), 400);
});

test("setProperties with a retention of 366 days is 400", async () => {
  await rejects(service.setProperties({ deleteRetentionPolicy: { enabled: true, days: 366 } }), 400);
});

test("createContainer / deleteContainer on the service client", async () => {
  const name = uniq("jsx");
  const { containerClient } = await service.createContainer(name, { metadata: { k: "v" } });
  assert.deepEqual((await containerClient.getProperties()).metadata, { k: "v" });
  await service.deleteContainer(name);
  assert.equal(await containerClient.exists(), false);
});

for (const bad of ["ab", "a".repeat(64), "Upper", "a--b", "-ab", "ab-", "a_b"]) {
  test(`container name ${JSON.stringify(bad)} is refused`, async () => {
    const e = await rejects(service.getContainerClient(bad).create(), 400);
    assert.ok(["InvalidResourceName", "OutOfRangeInput"].includes(e.code), e.code);
  });
}

for (const good of ["abc", "a".repeat(63), "a-b-c", "0123"]) {
  test(`container name ${JSON.stringify(good)} is accepted`, async () => {
    const c = service.getContainerClient(good);
    await c.create();
    await c.delete();
  });
}

test("create an existing container: 409 ContainerAlreadyExists; createIfNotExists says so", async () => {
  const c = await newContainer(service);
  await rejects(c.create(), 409, "ContainerAlreadyExists");
  const r = await c.createIfNotExists();
  assert.equal(r.succeeded, false);
  assert.equal(r.errorCode, "ContainerAlreadyExists");
});

test("createIfNotExists creates", async () => {
  const c = service.getContainerClient(uniq("jsx"));
  assert.equal((await c.createIfNotExists()).succeeded, true);
  assert.equal(await c.exists(), true);
});

test("delete a missing container: 404 ContainerNotFound; deleteIfExists says so", async () => {
  const c = service.getContainerClient(uniq("jsx"));
  await rejects(c.delete(), 404, "ContainerNotFound");
  assert.equal((await c.deleteIfExists()).succeeded, false);
});

test("getProperties of a container", async () => {
  const c = await newContainer(service, "jsx", { metadata: { a: "b" } });
  const p = await c.getProperties();
  assert.deepEqual(p.metadata, { a: "b" });
  assert.equal(p.leaseState, "available");
  assert.equal(p.hasImmutabilityPolicy, false);
  assert.equal(p.hasLegalHold, false);
  assert.equal(p.blobPublicAccess, undefined);
  assert.match(p.etag, /^"0x[0-9A-F]+"$/);
});

test("setMetadata replaces the container's metadata and changes the ETag", async () => {
  const c = await newContainer(service, "jsx", { metadata: { a: "b" } });
  const before = (await c.getProperties()).etag;
  await c.setMetadata({ c: "d" });
  const p = await c.getProperties();
  assert.deepEqual(p.metadata, { c: "d" });
  assert.notEqual(p.etag, before);
});

for (const access of ["blob", "container", undefined]) {
  test(`setAccessPolicy public access ${access} with a stored policy`, async () => {
    const c = await newContainer(service, "jsx");
    const start = new Date(Math.floor(Date.now() / 1000) * 1000);
    const ids = [{ id: "policy1", accessPolicy: { permissions: "rl", startsOn: start, expiresOn: hour(2) } }];
    ids[0].accessPolicy.expiresOn = new Date(Math.floor(ids[0].accessPolicy.expiresOn.getTime() / 1000) * 1000);
    await c.setAccessPolicy(access, ids);
    const got = await c.getAccessPolicy();
    assert.equal(got.blobPublicAccess, access);
    assert.equal(got.signedIdentifiers.length, 1);
    assert.equal(got.signedIdentifiers[0].id, "policy1");
    assert.equal(got.signedIdentifiers[0].accessPolicy.permissions, "rl");
    assert.equal(got.signedIdentifiers[0].accessPolicy.startsOn.getTime(), start.getTime());
  });
}

test("more than five stored access policies are refused", async () => {
  const c = await newContainer(service, "jsx");
  const ids = Array.from({ length: 6 }, (_, i) => ({ id: `p${i}`, accessPolicy: { permissions: "r" } }));
  await rejects(c.setAccessPolicy(undefined, ids), 400);
});

test("public blob access lets an anonymous client read", async () => {
  const c = await newContainer(service, "jsx");
  await c.getBlockBlobClient("pub").upload("open", 4);
  const anon = new BlobServiceClient(`http://127.0.0.1:${server.port}/${ACCOUNT}`, undefined, NO_RETRY);
  await rejects(anon.getContainerClient(c.containerName).getBlobClient("pub").downloadToBuffer(), 404);
  await c.setAccessPolicy("blob");
  assert.equal((await anon.getContainerClient(c.containerName).getBlobClient("pub").downloadToBuffer()).toString(), "open");
  const listing = anon.getContainerClient(c.containerName).listBlobsFlat().next();
  await rejects(listing, 404);
  await c.setAccessPolicy("container");
  assert.equal((await anon.getContainerClient(c.containerName).listBlobsFlat().next()).value.name, "pub");
});

// ---- listing containers ----


async function listContainerNames(options, pageSize) {
  const names = [];
  let pages = 0;
  for await (const page of service.listContainers(options).byPage({ maxPageSize: pageSize })) {
    pages++;
    for (const c of page.containerItems ?? []) names.push(c.name);
  }
  return { names, pages };
}
const all7 = Array.from({ length: 7 }, (_, i) => `${prefix}-${i}`);

for (const size of [1, 2, 3, 6, 7, 8, 5000]) {
  test(`listContainers with a prefix in pages of ${size}: each once, in order`, async () => {
    const { names, pages } = await listContainerNames({ prefix }, size);
    assert.deepEqual(names, all7);
    assert.equal(pages, Math.max(1, Math.ceil(7 / size)));
  });
}

test("listContainers continues from a marker", async () => {
  const it = service.listContainers({ prefix }).byPage({ maxPageSize: 3 });
  const first = (await it.next()).value;
  assert.equal(first.containerItems.length, 3);
  assert.ok(first.continuationToken);
  const rest = [];
  for await (const p of service.listContainers({ prefix }).byPage({ maxPageSize: 2, continuationToken: first.continuationToken })) {
    rest.push(...p.containerItems.map((c) => c.name));
  }
  assert.deepEqual(rest, all7.slice(3));
});

test("listContainers with includeMetadata", async () => {
  for await (const c of service.listContainers({ prefix, includeMetadata: true })) {
    assert.equal(c.metadata.n, c.name.split("-").pop());
  }
});

test("listContainers without includeMetadata has no metadata", async () => {
  for await (const c of service.listContainers({ prefix })) assert.equal(c.metadata, undefined);
});

test("listContainers properties", async () => {
  for await (const c of service.listContainers({ prefix })) {
    assert.ok(c.properties.etag);
    assert.ok(c.properties.lastModified instanceof Date);
    assert.equal(c.properties.leaseState, "available");
  }
});

test("listContainers with a prefix that matches nothing", async () => {
  const { names } = await listContainerNames({ prefix: "zzzznothing" }, 10);
  assert.deepEqual(names, []);
});

test("deleted containers are listed with includeDeleted and can be restored", async () => {
  const name = uniq("jsrestore");
  const c = service.getContainerClient(name);
  await c.create();
  await c.getBlockBlobClient("b").upload("x", 1);
  await c.delete();
  let deleted;
  for await (const item of service.listContainers({ prefix: name, includeDeleted: true })) deleted = item;
  if (deleted === undefined) return assert.fail("the deleted container is not listed");
  assert.equal(deleted.deleted, true);
  const { containerClient } = await service.undeleteContainer(name, deleted.version);
  assert.equal((await containerClient.getBlobClient("b").downloadToBuffer()).toString(), "x");
});

// ---- listing blobs ----


for (const size of [1, 2, 3, 7, 100]) {
  test(`listBlobsFlat in pages of ${size}`, async () => {
    const names = [];
    for await (const p of lc.listBlobsFlat().byPage({ maxPageSize: size })) {
      assert.ok(p.segment.blobItems.length <= size);
      names.push(...p.segment.blobItems.map((b) => b.name));
    }
    assert.deepEqual(names, blobNames);
  });
}

for (const [pfx, want] of [["b/", ["b/1", "b/2", "b/c/3"]], ["b/c", ["b/c/3"]], ["z", []], ["", blobNames]]) {
  test(`listBlobsFlat with prefix ${JSON.stringify(pfx)}`, async () => {
    const names = [];
    for await (const b of lc.listBlobsFlat({ prefix: pfx })) names.push(b.name);
    assert.deepEqual(names, want);
  });
}

for (const [pfx, want] of [["", ["a", "b/", "c", "d/", "e"]], ["b/", ["b/1", "b/2", "b/c/"]], ["b/c/", ["b/c/3"]]]) {
  test(`listBlobsByHierarchy "/" with prefix ${JSON.stringify(pfx)}`, async () => {
    const names = [];
    for await (const item of lc.listBlobsByHierarchy("/", { prefix: pfx })) names.push(item.name);
    assert.deepEqual(names.sort(), want); // the SDK yields a page's prefixes before its blobs
  });
}

for (const size of [1, 2, 4]) {
  test(`listBlobsByHierarchy in pages of ${size}`, async () => {
    const names = [];
    for await (const p of lc.listBlobsByHierarchy("/").byPage({ maxPageSize: size })) {
      names.push(...(p.segment.blobPrefixes ?? []).map((x) => x.name), ...p.segment.blobItems.map((b) => b.name));
    }
    assert.deepEqual(names.sort(), ["a", "b/", "c", "d/", "e"]);
  });
}

test("listBlobsFlat includes metadata and tags when asked", async () => {
  for await (const b of lc.listBlobsFlat({ includeMetadata: true, includeTags: true })) {
    assert.deepEqual(b.metadata, { name: b.name.replace(/\//g, "_") });
    assert.deepEqual(b.tags, { n: "x" });
  }
});

test("listBlobsFlat properties", async () => {
  for await (const b of lc.listBlobsFlat()) {
    assert.equal(b.properties.contentLength, b.name.length);
    assert.equal(b.properties.blobType, "BlockBlob");
    assert.equal(b.properties.accessTier, "Hot");
    assert.equal(b.properties.accessTierInferred, true);
    assert.ok(b.properties.contentMD5);
  }
});

test("listBlobsFlat with snapshots", async () => {
  const c = await newContainer(service, "jsls");
  const b = c.getBlockBlobClient("s");
  await b.upload("1", 1);
  const snap = await b.createSnapshot();
  const items = [];
  for await (const i of c.listBlobsFlat({ includeSnapshots: true })) items.push(i);
  assert.deepEqual(items.map((i) => i.snapshot ?? "").sort(), ["", snap.snapshot]);
});

test("listBlobsFlat with uncommitted blobs", async () => {
  const c = await newContainer(service, "jslu");
  await c.getBlockBlobClient("u").stageBlock(Buffer.from("x").toString("base64"), "x", 1);
  const plain = [];
  for await (const i of c.listBlobsFlat()) plain.push(i.name);
  assert.deepEqual(plain, []);
  const all = [];
  for await (const i of c.listBlobsFlat({ includeUncommitedBlobs: true })) all.push(i.name);
  assert.deepEqual(all, ["u"]);
});

test("listing a missing container: 404 ContainerNotFound", async () => {
  await rejects(service.getContainerClient(uniq("none")).listBlobsFlat().next(), 404, "ContainerNotFound");
});

test("container helpers: uploadBlockBlob and deleteBlob", async () => {
  const c = await newContainer(service, "jsh");
  const { blockBlobClient } = await c.uploadBlockBlob("h", "hello", 5);
  assert.equal((await blockBlobClient.downloadToBuffer()).toString(), "hello");
  await c.deleteBlob("h");
  assert.equal(await blockBlobClient.exists(), false);
});

test("container delete removes its blobs", async () => {
  const c = await newContainer(service, "jsd");
  await c.getBlockBlobClient("x").upload("x", 1);
  await c.delete();
  await c.create().catch(() => {});
  const names = [];
  for await (const b of c.listBlobsFlat()) names.push(b.name);
  assert.deepEqual(names, []);
});
