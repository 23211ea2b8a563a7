// CORS through BlobServiceClient.setProperties and raw browser-shaped requests: preflights
// (OPTIONS, no credentials) and the Access-Control-* and Vary headers of actual requests, with
// exact, "*" and subdomain-wildcard origins (Azure's "CORS support for Azure Storage" page).
// The rules are account-wide, so this file has a server of its own and sets them test by test.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ACCOUNT, startServer } from "./server.mjs";
import { newContainer, raw } from "./lib.mjs";

let server;
let service;
let container;

before(async () => {
  server = await startServer("cobalt-js-cors-");
  service = server.service;
  container = await newContainer(service, "jscors");
  await container.getBlockBlobClient("b").upload("data", 4);
});
after(async () => { await server?.stop(); });

const rule = (o) => ({ allowedOrigins: "", allowedMethods: "GET", allowedHeaders: "", exposedHeaders: "", maxAgeInSeconds: 0, ...o });
async function setRules(...rules) {
  await service.setProperties({ cors: rules });
}
const preflight = (origin, method, headers) => raw(server, "OPTIONS", `/${ACCOUNT}/${container.containerName}/b`, {
  signed: false,
  headers: {
    ...(origin !== undefined && { Origin: origin }),
    ...(method !== undefined && { "Access-Control-Request-Method": method }),
    ...(headers !== undefined && { "Access-Control-Request-Headers": headers }),
  },
});
const actual = (origin, method = "GET") => raw(server, method, `/${ACCOUNT}/${container.containerName}/b`,
  { headers: origin === undefined ? {} : { Origin: origin } });

test("setProperties stores the rules and getProperties returns them", async () => {
  const r = rule({ allowedOrigins: "http://a.example,http://*.contoso.com", allowedMethods: "GET,PUT", allowedHeaders: "x-ms-meta-*", exposedHeaders: "x-ms-request-id", maxAgeInSeconds: 30 });
  await setRules(r);
  const props = await service.getProperties();
  assert.deepEqual(props.cors, [r]);
});

test("no rules: a preflight is 403 CorsPreflightFailure and actual requests get no CORS headers", async () => {
  await setRules();
  const p = await preflight("http://a.example", "GET");
  assert.equal(p.status, 403);
  assert.equal(p.headers["x-ms-error-code"], "CorsPreflightFailure");
  const a = await actual("http://a.example");
  assert.equal(a.status, 200);
  assert.equal(a.headers["access-control-allow-origin"], undefined);
  assert.equal(a.headers.vary, undefined);
});

for (const [what, origin, method] of [["Origin", undefined, "GET"], ["Access-Control-Request-Method", "http://a.example", undefined]]) {
  test(`a preflight without ${what} is 400`, async () => {
    await setRules(rule({ allowedOrigins: "*" }));
    const p = await preflight(origin, method);
    assert.equal(p.status, 400);
  });
}

test("a preflight for a method no rule allows is 403 CorsPreflightFailure", async () => {
  await setRules(rule({ allowedOrigins: "*", allowedMethods: "GET,HEAD" }));
  const p = await preflight("http://a.example", "DELETE");
  assert.equal(p.status, 403);
  assert.equal(p.headers["x-ms-error-code"], "CorsPreflightFailure");
});

test("wildcard origin: preflight answers * without credentials", async () => {
  await setRules(rule({ allowedOrigins: "*", allowedMethods: "GET,PUT", maxAgeInSeconds: 77 }));
  const p = await preflight("http://anything.example", "PUT");
  assert.equal(p.status, 200);
  assert.equal(p.headers["access-control-allow-origin"], "*");
  assert.equal(p.headers["access-control-allow-credentials"], undefined);
  assert.equal(p.headers["access-control-allow-methods"], "PUT");
  assert.equal(p.headers["access-control-max-age"], "77");
});

test("wildcard origin: an actual request gets * and no Vary", async () => {
  await setRules(rule({ allowedOrigins: "*", exposedHeaders: "x-ms-meta-*" }));
  const a = await actual("http://anything.example");
  assert.equal(a.headers["access-control-allow-origin"], "*");
  assert.equal(a.headers["access-control-expose-headers"], "x-ms-meta-*");
  assert.equal(a.headers.vary, undefined);
});

test("exact origin: an actual request gets the origin, credentials and Vary: Origin", async () => {
  await setRules(rule({ allowedOrigins: "http://a.example" }));
  const a = await actual("http://a.example");
  assert.equal(a.headers["access-control-allow-origin"], "http://a.example");
  assert.equal(a.headers["access-control-allow-credentials"], "true");
  assert.equal(a.headers.vary, "Origin");
});

test("rules exist but none matches the origin: only Vary: Origin", async () => {
  await setRules(rule({ allowedOrigins: "http://a.example" }));
  const a = await actual("http://b.example");
  assert.equal(a.status, 200);
  assert.equal(a.headers["access-control-allow-origin"], undefined);
  assert.equal(a.headers.vary, "Origin");
});

test("rules exist but none allows the method: only Vary: Origin", async () => {
  await setRules(rule({ allowedOrigins: "http://a.example", allowedMethods: "PUT" }));
  const a = await actual("http://a.example");
  assert.equal(a.headers["access-control-allow-origin"], undefined);
  assert.equal(a.headers.vary, "Origin");
});

test("an error response from a matching origin carries the CORS headers", async () => {
  await setRules(rule({ allowedOrigins: "http://a.example" }));
  const a = await raw(server, "GET", `/${ACCOUNT}/${container.containerName}/missing`, { headers: { Origin: "http://a.example" } });
  assert.equal(a.status, 404);
  assert.equal(a.headers["access-control-allow-origin"], "http://a.example");
});

const SUB = "http://*.contoso.com";
for (const [origin, ok] of [["http://www.contoso.com", true], ["http://a.b.contoso.com", true], ["http://WWW.Contoso.COM", true],
  ["http://contoso.com", false], ["https://www.contoso.com", false], ["http://www.contoso.com.evil.example", false],
  ["http://evilcontoso.com", false], ["http://www.contoso.com:8080", false]]) {
  test(`subdomain wildcard ${SUB}: preflight from ${origin} is ${ok ? "allowed" : "refused"}`, async () => {
    await setRules(rule({ allowedOrigins: SUB, allowedMethods: "GET" }));
    const p = await preflight(origin, "GET");
    assert.equal(p.status, ok ? 200 : 403);
    if (ok) assert.equal(p.headers["access-control-allow-origin"], origin);
  });
}

test("subdomain wildcard: an actual request echoes the origin", async () => {
  await setRules(rule({ allowedOrigins: `http://a.example, ${SUB}` }));
  const a = await actual("http://cdn.contoso.com");
  assert.equal(a.headers["access-control-allow-origin"], "http://cdn.contoso.com");
  assert.equal(a.headers.vary, "Origin");
});

test("origins compare case-insensitively", async () => {
  await setRules(rule({ allowedOrigins: "http://A.Example" }));
  const p = await preflight("http://a.example", "GET");
  assert.equal(p.status, 200);
});

test("requested headers: each must be allowed, prefixes match", async () => {
  await setRules(rule({ allowedOrigins: "*", allowedMethods: "PUT", allowedHeaders: "x-ms-meta-*,content-type" }));
  assert.equal((await preflight("http://a.example", "PUT", "x-ms-meta-a, Content-Type")).status, 200);
  assert.equal((await preflight("http://a.example", "PUT", "x-ms-meta-a, x-other")).status, 403);
});

test("the first matching rule wins", async () => {
  await setRules(rule({ allowedOrigins: "http://a.example", allowedMethods: "GET", maxAgeInSeconds: 1 }),
    rule({ allowedOrigins: "*", allowedMethods: "GET", maxAgeInSeconds: 2 }));
  assert.equal((await preflight("http://a.example", "GET")).headers["access-control-max-age"], "1");
  assert.equal((await preflight("http://b.example", "GET")).headers["access-control-max-age"], "2");
});

test("more than five rules are refused", async () => {
  const six = Array.from({ length: 6 }, () => rule({ allowedOrigins: "*" }));
  await assert.rejects(service.setProperties({ cors: six }), (e) => e.statusCode === 400);
});

test("a preflight needs no credentials and works for a missing blob", async () => {
  await setRules(rule({ allowedOrigins: "*" }));
  const p = await raw(server, "OPTIONS", `/${ACCOUNT}/nocontainer/nothing`, { signed: false, headers: { Origin: "http://x", "Access-Control-Request-Method": "GET" } });
  assert.equal(p.status, 200);
});
