// BlobLeaseClient on blobs and containers: every action in every GUID form Azure accepts for a
// lease id (the forms of .NET's Guid(String): 32 digits, hyphenated, in braces, in parentheses,
// either case), the state machine of protocol doc §2.10 and the lease checks of other operations
// (§5.3). The client sends the lease id the way it was given, so each form travels on the wire.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ACCOUNT, sleep, startServer } from "./server.mjs";
import { guid, newContainer, raw, rejects } from "./lib.mjs";

let server;
let service;
let container;

before(async () => {
  server = await startServer("cobalt-js-lease-");
  service = server.service;
  container = await newContainer(service, "jsl");
});
after(async () => { await server?.stop(); });

const FORMS = {
  hyphenated: (g) => g,
  "hyphenated upper case": (g) => g.toUpperCase(),
  "32 digits": (g) => g.replace(/-/g, ""),
  "32 digits upper case": (g) => g.replace(/-/g, "").toUpperCase(),
  braces: (g) => `{${g}}`,
  parentheses: (g) => `(${g})`,
};

let n = 0;
async function newBlob() {
  const b = container.getBlockBlobClient(`b${n++}`);
  await b.upload("data", 4);
  return b;
}

const sameGuid = (a, b) => a.replace(/[-{}()]/g, "").toLowerCase() === b.replace(/[-{}()]/g, "").toLowerCase();

for (const [form, f] of Object.entries(FORMS)) {
  test(`blob lease in ${form} form: acquire, renew, change, release`, async () => {
    const blob = await newBlob();
    const id = f(guid());
    const lease = blob.getBlobLeaseClient(id);
    const acq = await lease.acquireLease(-1);
    assert.equal(acq._response.status, 201);
    assert.ok(sameGuid(acq.leaseId, id), `${acq.leaseId} is not ${id}`);
    assert.equal((await blob.getProperties()).leaseState, "leased");
    const ren = await lease.renewLease();
    assert.equal(ren._response.status, 200);
    const next = f(guid());
    const ch = await lease.changeLease(next);
    assert.ok(sameGuid(ch.leaseId, next));
    await lease.releaseLease();
    assert.equal((await blob.getProperties()).leaseState, "available");
  });

  test(`blob lease in ${form} form: writes carry it, others are refused`, async () => {
    const blob = await newBlob();
    const id = f(guid());
    await blob.getBlobLeaseClient(id).acquireLease(15);
    await rejects(blob.upload("x", 1), 412, "LeaseIdMissing");
    await blob.upload("xy", 2, { conditions: { leaseId: id } });
    await blob.setMetadata({ a: "b" }, { conditions: { leaseId: id } });
    await blob.setHTTPHeaders({ blobContentType: "text/x" }, { conditions: { leaseId: id } });
    assert.equal((await blob.getProperties({ conditions: { leaseId: id } })).contentType, "text/x");
    await rejects(blob.setMetadata({ a: "c" }, { conditions: { leaseId: guid() } }), 412, "LeaseIdMismatchWithBlobOperation");
    await rejects(blob.delete(), 412, "LeaseIdMissing");
    await blob.delete({ conditions: { leaseId: id } });
  });

  test(`blob lease in ${form} form: break`, async () => {
    const blob = await newBlob();
    const lease = blob.getBlobLeaseClient(f(guid()));
    await lease.acquireLease(-1);
    const br = await lease.breakLease(0);
    assert.equal(br._response.status, 202);
    assert.equal(br.leaseTime, 0);
    assert.equal((await blob.getProperties()).leaseState, "broken");
    await rejects(lease.renewLease(), 409, "LeaseIsBrokenAndCannotBeRenewed");
    await lease.releaseLease();
  });

  test(`container lease in ${form} form: acquire, renew, change, release, break`, async () => {
    const c = await newContainer(service, "jslc");
    const id = f(guid());
    const lease = c.getBlobLeaseClient(id);
    assert.ok(sameGuid((await lease.acquireLease(30)).leaseId, id));
    await lease.renewLease();
    await lease.changeLease(f(guid()));
    const props = await c.getProperties();
    assert.equal(props.leaseState, "leased");
    assert.equal(props.leaseDuration, "fixed");
    await lease.releaseLease();
    await lease.acquireLease(-1);
    assert.equal((await lease.breakLease(5)).leaseTime, 5);
    assert.equal((await c.getProperties()).leaseState, "breaking");
  });

  test(`container lease in ${form} form: delete needs it`, async () => {
    const c = await newContainer(service, "jslc");
    const id = f(guid());
    await c.getBlobLeaseClient(id).acquireLease(-1);
    await rejects(c.delete(), 412, "LeaseIdMissing");
    await rejects(c.delete({ conditions: { leaseId: guid() } }), 412, "LeaseIdMismatchWithContainerOperation");
    await c.setMetadata({ k: "v" }, { conditions: { leaseId: id } });
    await c.delete({ conditions: { leaseId: id } });
  });
}

// One lease, every form: acquired in one form, each later call names it in another (Azure compares
// the GUIDs, not the strings).
const forms = Object.values(FORMS);
const otherForm = (i, g) => forms[(i + 2) % forms.length](g);

for (const [i, [form, f]] of Object.entries(FORMS).entries()) {
  test(`blob lease acquired in ${form} form: renew, writes, change and release in other forms`, async () => {
    const blob = await newBlob();
    const g = guid();
    await blob.getBlobLeaseClient(f(g)).acquireLease(-1);
    await blob.getBlobLeaseClient(f(g)).acquireLease(-1); // idempotent re-acquire
    await blob.getBlobLeaseClient(otherForm(i, g)).acquireLease(-1);
    await blob.getBlobLeaseClient(otherForm(i + 1, g)).renewLease();
    await blob.setMetadata({ a: "b" }, { conditions: { leaseId: otherForm(i + 2, g) } });
    await blob.upload("xy", 2, { conditions: { leaseId: otherForm(i + 3, g) } });
    const next = guid();
    await blob.getBlobLeaseClient(otherForm(i + 4, g)).changeLease(f(next));
    await rejects(blob.setMetadata({ a: "c" }, { conditions: { leaseId: otherForm(i, g) } }), 412, "LeaseIdMismatchWithBlobOperation");
    await blob.getBlobLeaseClient(otherForm(i, g)).changeLease(otherForm(i + 1, next)); // new == current: idempotent
    await blob.getBlobLeaseClient(otherForm(i + 5, next)).releaseLease();
    assert.equal((await blob.getProperties()).leaseState, "available");
  });

  test(`container lease acquired in ${form} form: renew, writes, release in other forms`, async () => {
    const c = await newContainer(service, "jslc");
    const g = guid();
    await c.getBlobLeaseClient(f(g)).acquireLease(-1);
    await c.getBlobLeaseClient(otherForm(i, g)).renewLease();
    await c.setMetadata({ k: "v" }, { conditions: { leaseId: otherForm(i + 1, g) } });
    await c.getBlobLeaseClient(otherForm(i + 2, g)).releaseLease();
    await c.getBlobLeaseClient(otherForm(i + 3, g)).acquireLease(-1);
    await c.delete({ conditions: { leaseId: otherForm(i + 4, g) } });
  });
}

test("a copy's x-ms-source-lease-id matches the source's lease in another form", async () => {
  const src = await newBlob();
  const g = guid();
  await src.getBlobLeaseClient(g.replace(/-/g, "").toUpperCase()).acquireLease(-1);
  const copy = (id) => raw(server, "PUT", `/${ACCOUNT}/${container.containerName}/copy${n++}`,
    { headers: { "x-ms-copy-source": src.url, "x-ms-source-lease-id": id } });
  const ok = await copy(`{${g}}`);
  assert.equal(ok.status, 202, ok.body);
  const bad = await copy(guid());
  assert.equal(bad.status, 412, bad.body);
  assert.equal(bad.headers["x-ms-error-code"], "LeaseIdMismatchWithBlobOperation");
});

test("a malformed x-ms-lease-id is 400 InvalidHeaderValue, leased or not", async () => {
  const blob = await newBlob();
  await rejects(blob.setMetadata({ a: "b" }, { conditions: { leaseId: "notaguid" } }), 400, "InvalidHeaderValue");
  const g = guid();
  await blob.getBlobLeaseClient(g).acquireLease(-1);
  await rejects(blob.setMetadata({ a: "b" }, { conditions: { leaseId: `${g}0` } }), 400, "InvalidHeaderValue");
  await rejects(blob.getProperties({ conditions: { leaseId: "notaguid" } }), 400);
  await rejects(blob.getBlobLeaseClient("notaguid").renewLease(), 400, "InvalidHeaderValue");
  await rejects(blob.getBlobLeaseClient("notaguid").releaseLease(), 400, "InvalidHeaderValue");
  const c = await newContainer(service, "jslc");
  await rejects(c.setMetadata({ k: "v" }, { conditions: { leaseId: "1234" } }), 400, "InvalidHeaderValue");
});

const BAD_IDS = ["notaguid", "1234", "{b0e2f6d0-9a5c-4b8e-8f3a-0c1d2e3f4a5b", "b0e2f6d0-9a5c-4b8e-8f3a-0c1d2e3f4a5", "g0e2f6d0-9a5c-4b8e-8f3a-0c1d2e3f4a5b", "b0e2f6d09a5c4b8e8f3a0c1d2e3f4a5b0"];
for (const bad of BAD_IDS) {
  test(`a proposed lease id ${JSON.stringify(bad)} is 400 InvalidHeaderValue`, async () => {
    const blob = await newBlob();
    await rejects(blob.getBlobLeaseClient(bad).acquireLease(-1), 400, "InvalidHeaderValue");
  });
}

for (const d of [0, 14, 61, -2]) {
  test(`lease duration ${d} is 400 InvalidHeaderValue`, async () => {
    const blob = await newBlob();
    await rejects(blob.getBlobLeaseClient(guid()).acquireLease(d), 400, "InvalidHeaderValue");
  });
}
for (const d of [15, 60, -1]) {
  test(`lease duration ${d} is accepted`, async () => {
    const blob = await newBlob();
    const res = await blob.getBlobLeaseClient().acquireLease(d);
    assert.equal(res._response.status, 201);
    const props = await blob.getProperties();
    assert.equal(props.leaseDuration, d === -1 ? "infinite" : "fixed");
    assert.equal(props.leaseStatus, "locked");
  });
}

test("break period 61 is 400 InvalidHeaderValue", async () => {
  const blob = await newBlob();
  const lease = blob.getBlobLeaseClient();
  await lease.acquireLease(-1);
  await rejects(lease.breakLease(61), 400, "InvalidHeaderValue");
});

test("a lease client without an id gets a server-chosen GUID", async () => {
  const blob = await newBlob();
  const lease = blob.getBlobLeaseClient();
  const res = await lease.acquireLease(20);
  assert.match(res.leaseId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  await blob.setMetadata({ x: "y" }, { conditions: { leaseId: lease.leaseId } });
});

test("acquire again with the same id is idempotent; with another id 409 LeaseAlreadyPresent", async () => {
  const blob = await newBlob();
  const id = guid();
  await blob.getBlobLeaseClient(id).acquireLease(15);
  await blob.getBlobLeaseClient(id).acquireLease(-1);
  assert.equal((await blob.getProperties()).leaseDuration, "infinite");
  await rejects(blob.getBlobLeaseClient(guid()).acquireLease(-1), 409, "LeaseAlreadyPresent");
});

test("renew, change and release with the wrong id: 409 LeaseIdMismatchWithLeaseOperation", async () => {
  const blob = await newBlob();
  await blob.getBlobLeaseClient(guid()).acquireLease(-1);
  const other = blob.getBlobLeaseClient(guid());
  await rejects(other.renewLease(), 409, "LeaseIdMismatchWithLeaseOperation");
  await rejects(other.changeLease(guid()), 409, "LeaseIdMismatchWithLeaseOperation");
  await rejects(other.releaseLease(), 409, "LeaseIdMismatchWithLeaseOperation");
});

test("actions on a blob without a lease", async () => {
  const blob = await newBlob();
  const lease = blob.getBlobLeaseClient(guid());
  await rejects(lease.renewLease(), 409, "LeaseIdMismatchWithLeaseOperation");
  await rejects(lease.changeLease(guid()), 409, "LeaseNotPresentWithLeaseOperation");
  await rejects(lease.releaseLease(), 409, "LeaseIdMismatchWithLeaseOperation");
  await rejects(lease.breakLease(0), 409, "LeaseNotPresentWithLeaseOperation");
});

test("a lease id on a write to an unleased blob: 412 LeaseNotPresentWithBlobOperation", async () => {
  const blob = await newBlob();
  await rejects(blob.setMetadata({ a: "b" }, { conditions: { leaseId: guid() } }), 412, "LeaseNotPresentWithBlobOperation");
});

test("a fixed lease expires; renew brings it back", async () => {
  const blob = await newBlob();
  const lease = blob.getBlobLeaseClient(guid());
  await lease.acquireLease(15);
  const br = await lease.breakLease(1);
  assert.equal(br.leaseTime, 1);
  assert.equal((await blob.getProperties()).leaseState, "breaking");
  await rejects(lease.changeLease(guid()), 409, "LeaseIsBreakingAndCannotBeChanged");
  await rejects(lease.acquireLease(15), 409, "LeaseIsBreakingAndCannotBeAcquired");
  await rejects(blob.getBlobLeaseClient(guid()).acquireLease(15), 409, "LeaseAlreadyPresent");
  await sleep(1200);
  assert.equal((await blob.getProperties()).leaseState, "broken");
  await blob.getBlobLeaseClient(guid()).acquireLease(15);
});

test("lease actions keep the blob's ETag", async () => {
  const blob = await newBlob();
  const etag = (await blob.getProperties()).etag;
  const lease = blob.getBlobLeaseClient(guid());
  const acq = await lease.acquireLease(-1);
  assert.equal(acq.etag, etag);
  await lease.renewLease();
  await lease.changeLease(guid());
  await lease.breakLease(0);
  await lease.releaseLease();
  assert.equal((await blob.getProperties()).etag, etag);
});

test("blob lease with ETag conditions", async () => {
  const blob = await newBlob();
  const etag = (await blob.getProperties()).etag;
  const lease = blob.getBlobLeaseClient(guid());
  await rejects(lease.acquireLease(-1, { conditions: { ifMatch: '"0x1"' } }), 412, "ConditionNotMet");
  await rejects(lease.acquireLease(-1, { conditions: { ifNoneMatch: etag } }), 412, "ConditionNotMet");
  await lease.acquireLease(-1, { conditions: { ifMatch: etag } });
  await rejects(lease.renewLease({ conditions: { ifModifiedSince: new Date(Date.now() + 3600e3) } }), 412, "ConditionNotMet");
  await lease.releaseLease({ conditions: { ifUnmodifiedSince: new Date(Date.now() + 3600e3) } });
});

test("blob lease with a tag condition", async () => {
  const blob = await newBlob();
  await blob.setTags({ owner: "me" });
  const lease = blob.getBlobLeaseClient(guid());
  await rejects(lease.acquireLease(-1, { conditions: { tagConditions: `"owner" = 'you'` } }), 412, "ConditionNotMet");
  await lease.acquireLease(-1, { conditions: { tagConditions: `"owner" = 'me'` } });
  assert.equal((await blob.getProperties()).leaseState, "leased");
});

test("container lease with date conditions", async () => {
  const c = await newContainer(service, "jslc");
  const lease = c.getBlobLeaseClient(guid());
  await rejects(lease.acquireLease(-1, { conditions: { ifModifiedSince: new Date(Date.now() + 3600e3) } }), 412, "ConditionNotMet");
  await lease.acquireLease(-1, { conditions: { ifUnmodifiedSince: new Date(Date.now() + 3600e3) } });
  await rejects(c.getBlobLeaseClient(guid()).acquireLease(-1), 409, "LeaseAlreadyPresent");
  await lease.releaseLease();
});

test("lease of a missing blob: 404 BlobNotFound; of a missing container: 404 ContainerNotFound", async () => {
  await rejects(container.getBlobClient("missing").getBlobLeaseClient().acquireLease(-1), 404, "BlobNotFound");
  await rejects(service.getContainerClient("missing-container").getBlobLeaseClient().acquireLease(-1), 404, "ContainerNotFound");
});

test("a leased blob lists its lease state", async () => {
  const c = await newContainer(service, "jsll");
  const blob = c.getBlockBlobClient("x");
  await blob.upload("d", 1);
  await blob.getBlobLeaseClient(guid()).acquireLease(-1);
  for await (const b of c.listBlobsFlat()) {
    assert.equal(b.properties.leaseState, "leased");
    assert.equal(b.properties.leaseStatus, "locked");
    assert.equal(b.properties.leaseDuration, "infinite");
  }
});
