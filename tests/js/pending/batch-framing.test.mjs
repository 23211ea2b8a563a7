// Pending (not run by CI): Blob Batch framing of the outer Content-Type. Azure answers a
// multipart/mixed Content-Type without a boundary parameter with 202 and one response part
// without Content-ID carrying "HTTP/1.1 400" and x-ms-error-code InvalidHeaderValue (a capture
// of Azure's answer is in Azure/Azurite pull request 2421); the JS SDK's parser accepts that one
// part as the whole batch's failure. Cobalt answers 400 InvalidInput. batch.c (boundary_of,
// parse_body) is to change; an empty or repeated boundary parameter is taken to get the same
// answer, and whitespace after "boundary=" to be skipped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ACCOUNT, startServer } from "../server.mjs";
import { newContainer, raw } from "../lib.mjs";

let server;
let container;
before(async () => {
  server = await startServer("cobalt-js-pending-");
  container = await newContainer(server.service, "jsp");
  await container.getBlockBlobClient("b").upload("x", 1);
});
after(async () => { await server?.stop(); });

const body = (bnd) => `--${bnd}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 0\r\n\r\n` +
  `DELETE /${ACCOUNT}/${container.containerName}/b HTTP/1.1\r\nContent-Length: 0\r\n\r\n--${bnd}--\r\n`;
const send = (ctype, bnd) => raw(server, "POST", `/${ACCOUNT}/${container.containerName}?restype=container&comp=batch`,
  { headers: { "Content-Type": ctype }, body: body(bnd) });

for (const [what, ctype] of [["no boundary", "multipart/mixed"], ["an empty boundary", "multipart/mixed; boundary="],
  ["two boundaries", "multipart/mixed; boundary=batch_a; boundary=batch_a"]]) {
  test(`a batch with ${what} is 202 with one part: 400 InvalidHeaderValue`, async () => {
    const r = await send(ctype, "batch_a");
    assert.equal(r.status, 202);
    assert.match(r.body, /HTTP\/1\.1 400 /);
    assert.match(r.body, /x-ms-error-code: InvalidHeaderValue/);
    assert.doesNotMatch(r.body, /Content-ID/);
  });
}

test("whitespace after boundary= is skipped", async () => {
  const r = await send("multipart/mixed; boundary= batch_w", "batch_w");
  assert.equal(r.status, 202);
  assert.match(r.body, /HTTP\/1\.1 202 /);
});
