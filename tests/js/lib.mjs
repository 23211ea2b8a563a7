// Helpers shared by the JS SDK conformance suite: unique names, error assertions, stream reading,
// and raw HTTP requests signed with Shared Key for the cases the SDK cannot send (malformed batch
// bodies, CORS preflights, odd header forms). Every request goes to the server started by
// server.mjs; nothing here is a stand-in for the server's answer.
import assert from "node:assert/strict";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import { StorageSharedKeyCredential } from "@azure/storage-blob";
import { ACCOUNT, KEY } from "./server.mjs";

export const cred = new StorageSharedKeyCredential(ACCOUNT, KEY);
export const NO_RETRY = { retryOptions: { maxTries: 1 } };
export const uniq = (p) => `${p}${randomBytes(6).toString("hex")}`;
export const hour = (n = 1) => new Date(Date.now() + n * 3600e3);

// Asserts that promise rejects with an Azure error of this HTTP status and x-ms-error-code
// (code undefined: only the status is checked; code null: the response carries no error code).
export async function rejects(promise, status, code) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${status} ${code ?? ""}, the call succeeded`);
  const got = `${err.statusCode} ${err.code ?? err.details?.errorCode ?? ""}`;
  assert.equal(err.statusCode, status, `expected ${status} ${code ?? ""}, got ${got}: ${err.message}`);
  if (code !== undefined) assert.equal(err.code ?? err.details?.errorCode ?? null, code, `got ${got}`);
  return err;
}

export async function streamToBuffer(readable) {
  const chunks = [];
  for await (const c of readable) chunks.push(typeof c === "string" ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

// The whole content of a blob (or a snapshot or version of it) as a string.
export const downloadText = async (blob) => (await streamToBuffer((await blob.download()).readableStreamBody)).toString();

export async function newContainer(service, prefix = "js", options) {
  const c = service.getContainerClient(uniq(prefix));
  await c.create(options);
  return c;
}

export async function listNames(container, options) {
  const out = [];
  for await (const b of container.listBlobsFlat(options)) out.push(b.name);
  return out;
}

export const guid = () => randomUUID();

// The Shared Key signature of a request (protocol doc §3.2), with a plain sort of the x-ms-*
// headers (tests use no names where the SDKs' culture-aware order differs).
function sign(method, rawPath, headers) {
  const h = {};
  for (const [k, v] of Object.entries(headers)) h[k.toLowerCase()] = String(v);
  const std = ["content-encoding", "content-language", "content-length", "content-md5", "content-type",
    "date", "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"]
    .map((k) => (k === "content-length" && h[k] === "0" ? "" : h[k] ?? ""));
  const xms = Object.keys(h).filter((k) => k.startsWith("x-ms-")).sort()
    .map((k) => `${k}:${h[k].trim()}\n`).join("");
  const u = new URL(rawPath, "http://x");
  let res = `/${ACCOUNT}${u.pathname}`;
  const q = {};
  for (const [k, v] of u.searchParams) (q[k.toLowerCase()] ??= []).push(v);
  for (const k of Object.keys(q).sort()) res += `\n${k}:${q[k].sort().join(",")}`;
  const sts = `${method}\n${std.join("\n")}\n${xms}${res}`;
  return createHmac("sha256", Buffer.from(KEY, "base64")).update(sts, "utf8").digest("base64");
}

// A raw HTTP request to the server: path is the request target after the port
// (e.g. `/${ACCOUNT}/c?comp=batch`). signed: add x-ms-date, x-ms-version and a Shared Key
// Authorization. Resolves to { status, headers, body } with the body as a string.
export function raw(server, method, path, { headers = {}, body, signed = true } = {}) {
  const hdrs = { ...headers };
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  if (payload !== undefined) hdrs["Content-Length"] = String(payload.length);
  if (signed) {
    hdrs["x-ms-date"] ??= new Date().toUTCString();
    hdrs["x-ms-version"] ??= "2026-10-06";
    hdrs.Authorization = `SharedKey ${ACCOUNT}:${sign(method, path, hdrs)}`;
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: server.port, method, path, headers: hdrs }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}
