// Pending (not run by CI): Snapshot Blob evaluates If-None-Match / If-Modified-Since as a read
// (304) where Azure, for this PUT, answers 412 ConditionNotMet. The fix belongs in versions.c
// (Snapshot Blob's gate), which is being moved onto the engine interface.
import { test, before, after } from "node:test";
import { startServer } from "../server.mjs";
import { newContainer, rejects } from "../lib.mjs";

let server;
let container;
before(async () => {
  server = await startServer("cobalt-js-pending-");
  container = await newContainer(server.service, "jsp");
});
after(async () => { await server?.stop(); });

test("createSnapshot with If-None-Match equal to the ETag is 412 ConditionNotMet", async () => {
  const b = container.getBlockBlobClient("s1");
  const { etag } = await b.upload("x", 1);
  await rejects(b.createSnapshot({ conditions: { ifNoneMatch: etag } }), 412, "ConditionNotMet");
});

test("createSnapshot with If-Modified-Since in the future is 412 ConditionNotMet", async () => {
  const b = container.getBlockBlobClient("s2");
  await b.upload("x", 1);
  await rejects(b.createSnapshot({ conditions: { ifModifiedSince: new Date(Date.now() + 3600e3) } }), 412, "ConditionNotMet");
});
