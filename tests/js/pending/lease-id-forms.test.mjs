// Pending (not run by CI): a lease id is one GUID whatever form it is written in. Acquired as 32
// digits and renewed in the hyphenated form, Cobalt answers 409 LeaseIdMismatchWithLeaseOperation
// (it compares the strings, lease.c same_id() and copy_source.c's source lease check); Azure
// compares GUIDs. Fix: compare the 32 hex digits of both ids (skipping braces, parentheses and
// hyphens) case-insensitively, e.g. with a guid_equal() next to guid_valid() in parse.c.
import { test, before, after } from "node:test";
import { randomUUID } from "node:crypto";
import { startServer } from "../server.mjs";
import { newContainer } from "../lib.mjs";

let server;
let container;
before(async () => {
  server = await startServer("cobalt-js-pending-");
  container = await newContainer(server.service, "jsp");
});
after(async () => { await server?.stop(); });

test("acquire as 32 digits, renew and write with the hyphenated form", async () => {
  const b = container.getBlockBlobClient("l");
  await b.upload("x", 1);
  const g = randomUUID();
  await b.getBlobLeaseClient(g.replace(/-/g, "")).acquireLease(-1);
  await b.getBlobLeaseClient(`{${g.toUpperCase()}}`).renewLease();
  await b.setMetadata({ a: "b" }, { conditions: { leaseId: g } });
});
