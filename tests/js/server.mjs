// The JS SDK conformance suite: @azure/storage-blob against the real cobalt binary, one file per
// area (every client class but PageBlobClient: page blobs are a separate issue and not covered
// here). scripts/test.sh runs tests/js/*.test.mjs; tests/js/pending/ holds cases that fail today
// and whose fix belongs to code being reworked elsewhere (each file says what and where), not run.
//
// The server harness shared by the suite (*.test.mjs in this directory): runs the
// real cobalt binary on a free 127.0.0.1 port with its data in a fresh temporary directory, and
// stops it with the checks every suite makes (no sanitizer report, exit status 0 on SIGTERM).
// COBALT_BIN selects the binary (default build/cobalt, relative to the repo root).
// COBALT_LOG_LEVEL sets the server's log level (default warn).
// COBALT_BACKEND runs every server on that engine (`--backend local|memory|rados`) unless a test
// chose one itself: with rados, on the cluster of CEPH_CONF (client.admin's keyring named in it:
// scripts/ceph/start.sh writes one; `scripts/ceph/with-cluster.sh node --test ...` runs the suite
// inside a throwaway cluster), in a pair of pools of its own per server.
// COBALT_KEEP_LOG=1 prints the server log when the server is stopped.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, openSync, closeSync, readFileSync, readSync, writeSync, writeFileSync,
  existsSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BlobServiceClient } from "@azure/storage-blob";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const bin = path.resolve(repo, process.env.COBALT_BIN || "build/cobalt");

export const ACCOUNT = "devstoreaccount1";
export const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const BACKEND = process.env.COBALT_BACKEND || "local";

// The `serve` options that put a server whose temporary directory is tmp on BACKEND.
function backendArgs(tmp) {
  if (BACKEND === "local") return [];
  if (BACKEND !== "rados") return ["--backend", BACKEND];
  const conf = process.env.CEPH_CONF;
  assert.ok(conf, "COBALT_BACKEND=rados needs CEPH_CONF (run under scripts/ceph/with-cluster.sh)");
  // One placement group per pool: Ceph allows 250 per OSD, and a run makes a pair per server.
  const pools = ["index", "data"].map((kind) => `${path.basename(tmp)}-${kind}`);
  for (const pool of pools) {
    execFileSync("ceph", ["-c", conf, "osd", "pool", "create", pool, "1", "1"],
      { stdio: "ignore", timeout: 60000 });
  }
  return ["--backend", "rados", "--ceph-conf", conf, "--ceph-user", "admin", "--pool-index",
    pools[0], "--pool-data", pools[1]];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function canConnect(p) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port: p });
    sock.once("connect", () => { sock.destroy(); resolve(true); });
    sock.once("error", () => resolve(false));
  });
}

// SIGTERM (SIGKILL after 30 s); resolves to { code, sig }, or undefined if it had already exited.
async function terminate(proc) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return undefined;
  const done = new Promise((r) => proc.once("exit", (code, sig) => r({ code, sig })));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30000);
  const res = await done;
  clearTimeout(timer);
  return res;
}

// Starts cobalt and waits until it accepts connections. prefix names the temporary directory
// (data and server.log); extraArgs are appended to the `serve` command line. With
// { testClock: true } the server runs on the test clock (src/util/clock.h: a file it maps, whose
// first 8 bytes are ticks of 100 ns added to the real time), and advanceClock(seconds) moves it.
// Returns { port, url, connectionString, service, stop, advanceClock }: url is the account's blob endpoint,
// service a BlobServiceClient on it without retries, and stop() ends the server, removes the
// temporary directory and asserts that the log has no sanitizer report and that the server
// exited with status 0 on SIGTERM. If the server does not come up, startServer cleans up and
// throws with the server's log.
export async function startServer(prefix, extraArgs = [], { testClock = false } = {}) {
  assert.ok(existsSync(bin), `server binary ${bin} does not exist (set COBALT_BIN or build it)`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), prefix));
  const logPath = path.join(tmp, "server.log");
  const clockPath = path.join(tmp, "clock");
  const env = { ...process.env };
  delete env.COBALT_TEST_CLOCK;
  if (testClock) {
    writeFileSync(clockPath, Buffer.alloc(4096));
    env.COBALT_TEST_CLOCK = clockPath;
  }
  const readLog = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  let proc;
  let port;
  try {
    port = await freePort();
    const engine = extraArgs.some((a) => a.startsWith("--backend")) ? [] : backendArgs(tmp);
    const log = openSync(logPath, "a");
    proc = spawn(bin, ["serve", "--host", "127.0.0.1", "--port", String(port), "--data-dir",
      path.join(tmp, "data"), "--log-level", process.env.COBALT_LOG_LEVEL || "warn", ...engine,
      ...extraArgs], { stdio: ["ignore", log, log], env });
    closeSync(log);
    await waitUntilListening(proc, port, readLog);
  } catch (e) {
    await terminate(proc);
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }

  const url = `http://127.0.0.1:${port}/${ACCOUNT}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};` +
    `BlobEndpoint=${url};`;
  const service = BlobServiceClient.fromConnectionString(connectionString, { retryOptions: { maxTries: 1 } });

  async function stop() {
    const res = await terminate(proc);
    const log = readLog();
    if (process.env.COBALT_KEEP_LOG) console.log(log);
    rmSync(tmp, { recursive: true, force: true });
    assert.ok(!/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(log), `sanitizer report:\n${log}`);
    if (res) assert.equal(res.code, 0, `server exit status on SIGTERM: ${JSON.stringify(res)}\n${log}`);
  }

  // Moves the test clock forward (one 8-byte write of the offset, as the server reads it).
  function advanceClock(seconds) {
    assert.ok(testClock && seconds > 0, "advanceClock needs { testClock: true } and seconds > 0");
    const fd = openSync(clockPath, "r+");
    const word = Buffer.alloc(8);
    readSync(fd, word, 0, 8, 0);
    word.writeBigInt64LE(word.readBigInt64LE(0) + BigInt(Math.round(seconds * 1e7)));
    writeSync(fd, word, 0, 8, 0);
    closeSync(fd);
  }

  return { port, url, connectionString, service, stop, advanceClock };
}

async function waitUntilListening(proc, port, readLog) {
  let exited = null;
  proc.once("exit", (code, sig) => { exited = { code, sig }; });
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`cobalt exited early (${JSON.stringify(exited)}):\n${readLog()}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`cobalt did not accept connections in 60 s:\n${readLog()}`);
}
