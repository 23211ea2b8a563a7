// Get User Delegation Key takes bearer tokens only: a Shared Key caller gets 403
// AuthenticationFailed with Azure's detail "Only authentication scheme Bearer is supported" (in
// AuthenticationErrorDetail, as Azure sends it; the bearer path itself is tests/door's).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./server.mjs";
import { hour, rejects } from "./lib.mjs";

let server;
before(async () => { server = await startServer("cobalt-js-"); });
after(async () => { await server?.stop(); });

test("getUserDelegationKey with a Shared Key caller is 403 with Azure's message", async () => {
  const e = await rejects(server.service.getUserDelegationKey(new Date(), hour()), 403, "AuthenticationFailed");
  assert.match(e.response.bodyAsText,
    /<AuthenticationErrorDetail>Only authentication scheme Bearer is supported<\/AuthenticationErrorDetail>/);
});
