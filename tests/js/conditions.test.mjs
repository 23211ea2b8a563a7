// Conditional requests through the JS SDK (protocol doc §5.1): If-Match, If-None-Match,
// If-Modified-Since, If-Unmodified-Since and x-ms-if-tags on every blob operation that takes
// them, the wildcard forms, reads (304) versus writes (412), and malformed tag conditions (400).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./server.mjs";
import { BlobSASPermissions, generateBlobSASQueryParameters } from "@azure/storage-blob";
import { cred, guid, newContainer, raw, rejects } from "./lib.mjs";
import { ACCOUNT } from "./server.mjs";

let server;
let container;

before(async () => {
  server = await startServer("cobalt-js-cond-");
  container = await newContainer(server.service, "jsc");
});
after(async () => { await server?.stop(); });

let n = 0;
async function blob(tags = { t: "1" }) {
  const b = container.getBlockBlobClient(`c${n++}`);
  const up = await b.upload("payload", 7, { tags });
  return { b, etag: up.etag };
}
const past = () => new Date(Date.now() - 3600e3);
const future = () => new Date(Date.now() + 3600e3);

// Each operation: how to call it with `conditions`, and whether it is a read (304 on
// If-None-Match / If-Modified-Since failures).
const OPS = {
  download: { read: true, call: (b, c) => b.download(0, undefined, { conditions: c }) },
  getProperties: { read: true, call: (b, c) => b.getProperties({ conditions: c }) },
  setMetadata: { call: (b, c) => b.setMetadata({ m: "1" }, { conditions: c }) },
  setHTTPHeaders: { call: (b, c) => b.setHTTPHeaders({ blobContentType: "a/b" }, { conditions: c }) },
  upload: { call: (b, c) => b.upload("new", 3, { conditions: c }) },
  createSnapshot: { call: (b, c) => b.createSnapshot({ conditions: c }) },
  delete: { call: (b, c) => b.delete({ conditions: c }) },
  commitBlockList: { call: (b, c) => b.commitBlockList([], { conditions: c }) },
  downloadToBuffer: { read: true, call: (b, c) => b.downloadToBuffer(0, undefined, { conditions: c }) },
  uploadData: { call: (b, c) => b.uploadData(Buffer.from("data"), { conditions: c }) },
  "syncCopyFromURL (destination)": { call: async (b, c) => {
    const src = container.getBlockBlobClient(`src${n++}`);
    await src.upload("source", 6);
    const sas = generateBlobSASQueryParameters({ containerName: container.containerName, blobName: src.name,
      permissions: BlobSASPermissions.parse("r"), expiresOn: new Date(Date.now() + 3600e3) }, cred).toString();
    return b.syncCopyFromURL(`${src.url}?${sas}`, { conditions: c });
  } },
  "beginCopyFromURL (destination)": { call: async (b, c) => {
    const src = container.getBlockBlobClient(`src${n++}`);
    await src.upload("source", 6);
    return (await b.beginCopyFromURL(src.url, { conditions: c })).pollUntilDone();
  } },
};

for (const [name, op] of Object.entries(OPS)) {
  test(`${name}: If-Match with the current ETag succeeds`, async () => {
    const { b, etag } = await blob();
    await op.call(b, { ifMatch: etag });
  });
  test(`${name}: If-Match with another ETag is 412 ConditionNotMet`, async () => {
    const { b } = await blob();
    await rejects(op.call(b, { ifMatch: '"0x8D000000000000"' }), 412, "ConditionNotMet");
  });
  test(`${name}: If-Match: * on an existing blob succeeds`, async () => {
    const { b } = await blob();
    await op.call(b, { ifMatch: "*" });
  });
  // Snapshot Blob does not modify its blob but is a PUT: 412 here, as Azure answers, never 304.
  test(`${name}: If-None-Match with the current ETag fails`, async () => {
    const { b, etag } = await blob();
    if (op.read) await rejects(op.call(b, { ifNoneMatch: etag }), 304);
    else await rejects(op.call(b, { ifNoneMatch: etag }), 412, "ConditionNotMet");
  });
  test(`${name}: If-Modified-Since in the future fails`, async () => {
    const { b } = await blob();
    if (op.read) await rejects(op.call(b, { ifModifiedSince: future() }), 304);
    else await rejects(op.call(b, { ifModifiedSince: future() }), 412, "ConditionNotMet");
  });
  test(`${name}: If-Unmodified-Since in the past is 412`, async () => {
    const { b } = await blob();
    await rejects(op.call(b, { ifUnmodifiedSince: past() }), 412, "ConditionNotMet");
  });
  test(`${name}: passing date conditions succeed`, async () => {
    const { b } = await blob();
    await op.call(b, { ifModifiedSince: past(), ifUnmodifiedSince: future() });
  });
  test(`${name}: x-ms-if-tags true succeeds, false is 412`, async () => {
    const { b } = await blob({ state: "ok" });
    await rejects(op.call(b, { tagConditions: `"state" = 'no'` }), 412, "ConditionNotMet");
    await op.call(b, { tagConditions: `"state" = 'ok'` });
  });
  test(`${name}: a malformed x-ms-if-tags is 400, not 412`, async () => {
    const { b } = await blob();
    await rejects(op.call(b, { tagConditions: `"state" = ` }), 400);
  });
}

test("Delete Blob with If-None-Match: * deletes an existing blob (Azure ignores it on a delete)", async () => {
  const { b } = await blob();
  await b.delete({ conditions: { ifNoneMatch: "*" } });
  assert.equal(await b.exists(), false);
});

test("Put Blob with If-None-Match: * over an existing blob is 409 BlobAlreadyExists", async () => {
  const { b } = await blob();
  await rejects(b.upload("x", 1, { conditions: { ifNoneMatch: "*" } }), 409, "BlobAlreadyExists");
});

test("Put Blob with If-None-Match: * creates a missing blob", async () => {
  const b = container.getBlockBlobClient(`fresh${n++}`);
  await b.upload("x", 1, { conditions: { ifNoneMatch: "*" } });
  assert.equal(await b.exists(), true);
});

test("If-Match: * on a missing blob is 412 for a write", async () => {
  const b = container.getBlockBlobClient(`missing${n++}`);
  await rejects(b.upload("x", 1, { conditions: { ifMatch: "*" } }), 412, "ConditionNotMet");
});

test("If-Match: * on a raw GET is answered with the blob", async () => {
  const { b } = await blob();
  const r = await raw(server, "GET", `/${ACCOUNT}/${container.containerName}/${b.name}`, { headers: { "If-Match": "*" } });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, "payload");
});

test("If-None-Match: * on a read is 400", async () => {
  const { b } = await blob();
  const r = await raw(server, "GET", `/${ACCOUNT}/${container.containerName}/${b.name}`, { headers: { "If-None-Match": "*" } });
  assert.equal(r.status, 400);
});

test("a list of ETags in If-Match is 400 MultipleConditionHeadersNotSupported", async () => {
  const { b, etag } = await blob();
  const r = await raw(server, "PUT", `/${ACCOUNT}/${container.containerName}/${b.name}?comp=metadata`, { headers: { "If-Match": `${etag}, "0x1"` } });
  assert.equal(r.status, 400);
  assert.equal(r.headers["x-ms-error-code"], "MultipleConditionHeadersNotSupported");
});

test("getTags and setTags on a leased blob with a tag condition", async () => {
  const { b } = await blob({ k: "v" });
  const id = guid();
  await b.getBlobLeaseClient(id).acquireLease(-1);
  await rejects(b.getTags({ conditions: { tagConditions: `"k" = 'x'`, leaseId: id } }), 412, "ConditionNotMet");
  assert.deepEqual((await b.getTags({ conditions: { tagConditions: `"k" = 'v'`, leaseId: id } })).tags, { k: "v" });
  await b.setTags({ k: "w" }, { conditions: { tagConditions: `"k" = 'v'`, leaseId: id } });
  await rejects(b.setTags({ k: "z" }, { conditions: { tagConditions: `"k" = 'v'`, leaseId: id } }), 412, "ConditionNotMet");
  assert.deepEqual((await b.getTags()).tags, { k: "w" });
});

test("createSnapshot of a leased blob needs no lease id, and a wrong one is 412", async () => {
  const { b } = await blob();
  const id = guid();
  await b.getBlobLeaseClient(id).acquireLease(-1);
  assert.ok((await b.createSnapshot()).snapshot);
  assert.ok((await b.createSnapshot({ conditions: { leaseId: id } })).snapshot);
  await rejects(b.createSnapshot({ conditions: { leaseId: guid() } }), 412, "LeaseIdMismatchWithBlobOperation");
});

test("getBlockList with x-ms-if-tags: false is 412, true lists the blocks", async () => {
  const { b } = await blob({ k: "v" });
  await b.stageBlock(Buffer.from("blk").toString("base64"), "abc", 3);
  await rejects(b.getBlockList("all", { conditions: { tagConditions: `"k" = 'w'` } }), 412, "ConditionNotMet");
  await rejects(b.getBlockList("all", { conditions: { tagConditions: `"k" = ` } }), 400, "InvalidHeaderValue");
  const list = await b.getBlockList("all", { conditions: { tagConditions: `"k" = 'v'` } });
  assert.deepEqual(list.uncommittedBlocks.map((x) => x.size), [3]);
});

test("getBlockList of a blob with only staged blocks: it has no tags for x-ms-if-tags to match", async () => {
  const b = container.getBlockBlobClient(`staged${n++}`);
  await b.stageBlock(Buffer.from("blk").toString("base64"), "abc", 3);
  await rejects(b.getBlockList("uncommitted", { conditions: { tagConditions: `"k" = 'v'` } }), 412, "ConditionNotMet");
  const list = await b.getBlockList("uncommitted", { conditions: { tagConditions: `"k" <> 'v'` } });
  assert.equal(list.uncommittedBlocks.length, 1);
});

for (const bad of [`"k" = 'v`, `k = v`, `"k" == 'v'`, `"k" = 'v' AND`, `("k" = 'v'`, `"k" <> `, `@container = 'x'`]) {
  test(`x-ms-if-tags ${JSON.stringify(bad)} is 400`, async () => {
    const { b } = await blob({ k: "v" });
    await rejects(b.setMetadata({ a: "b" }, { conditions: { tagConditions: bad } }), 400);
  });
}

for (const [expr, want] of [[`"k" = 'v' OR "k" = 'w'`, true], [`"k" <> 'v'`, false], [`"absent" <> 'v'`, true],
  [`("k" = 'x' OR "k" = 'v') AND "n" >= '05'`, true], [`"k" > 'u' AND "k" < 'w'`, true], [`"n" < '05'`, false]]) {
  test(`x-ms-if-tags ${expr} evaluates to ${want}`, async () => {
    const { b } = await blob({ k: "v", n: "07" });
    const p = b.getProperties({ conditions: { tagConditions: expr } });
    if (want) await p;
    else await rejects(p, 412, "ConditionNotMet");
  });
}

test("container: delete with If-Unmodified-Since in the past is 412", async () => {
  const c = await newContainer(server.service, "jscc");
  await rejects(c.delete({ conditions: { ifUnmodifiedSince: past() } }), 412, "ConditionNotMet");
  await rejects(c.delete({ conditions: { ifModifiedSince: future() } }), 412, "ConditionNotMet");
  await c.delete({ conditions: { ifModifiedSince: past() } });
});

test("container: setMetadata with If-Modified-Since in the future is 412", async () => {
  const c = await newContainer(server.service, "jscc");
  await rejects(c.setMetadata({ a: "b" }, { conditions: { ifModifiedSince: future() } }), 412, "ConditionNotMet");
  await c.setMetadata({ a: "b" }, { conditions: { ifModifiedSince: past() } });
});

test("container: setAccessPolicy with date conditions", async () => {
  const c = await newContainer(server.service, "jscc");
  await rejects(c.setAccessPolicy(undefined, [], { conditions: { ifUnmodifiedSince: past() } }), 412, "ConditionNotMet");
  await c.setAccessPolicy("blob", [], { conditions: { ifUnmodifiedSince: future() } });
  assert.equal((await c.getAccessPolicy()).blobPublicAccess, "blob");
});

test("a 304 carries no body", async () => {
  const { b, etag } = await blob();
  const r = await raw(server, "GET", `/${ACCOUNT}/${container.containerName}/${b.name}`, { headers: { "If-None-Match": etag } });
  assert.equal(r.status, 304);
  assert.equal(r.body, "");
});
