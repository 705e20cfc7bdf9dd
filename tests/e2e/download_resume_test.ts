/**
 * `fts connect HOST get NAME` killed mid-download (SIGKILL: no chance to
 * save anything) and run again: it resumes from the partial the killed
 * run synced, the file is byte-identical, and the server did not send
 * again the bytes before the cut; `get --no-resume` starts over.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer } from "../../server/server.ts";
import { runFts, spawnFts } from "../_helpers/e2e/fts_process.ts";
import { startCuttingProxy } from "../_helpers/e2e/cutting_proxy.ts";
import { tempDir } from "../_helpers/common/temp_dir.ts";
import { pseudoRandomBytes } from "../_helpers/server/raw_client.ts";

const MIB = 1024 * 1024;
const SIZE = 6 * MIB + 4321;

/**
 * Resolves once a file whose name matches `pattern` exists in `dir`;
 * rejects after 20 s so that a bug fails instead of hanging.
 */
async function fileAppears(dir: string, pattern: RegExp): Promise<void> {
  using watcher = Deno.watchFs(dir, { recursive: false });
  const present = () =>
    [...Deno.readDirSync(dir)].some((e) => pattern.test(e.name));
  if (present()) return;
  const timer = setTimeout(() => watcher.close(), 20_000);
  try {
    for await (const _event of watcher) {
      if (present()) return;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`No file matched ${pattern} within 20 s`);
}

/** Bytes the server logged as sent for `get "name"` lines. */
function bytesSent(logs: readonly string[], name: string): number {
  return logs.filter((l) => l.includes(`get "${name}"`))
    .map((l) => Number(/ (\d+) B /.exec(l)?.[1] ?? NaN))
    .reduce((a, b) => a + b, 0);
}

/**
 * A plain-TCP server holding `big.bin`, a local folder in which a first
 * `fts connect … get big.bin` was killed with SIGKILL once it had synced a
 * partial (the link stalled after 4 MiB), and the server's log lines from
 * then on.
 */
async function afterKilledGet(
  run: (ctx: {
    target: string;
    local: string;
    data: Uint8Array;
    logs: string[];
  }) => Promise<void>,
): Promise<void> {
  await using root = await tempDir();
  await using local = await tempDir();
  const data = pseudoRandomBytes(SIZE, 21);
  await Deno.writeFile(join(root.path, "big.bin"), data);
  let logs: string[] = [];
  await using server = await startServer({
    root: root.path,
    host: "127.0.0.1",
    port: 0,
    log: (line) => logs.push(line),
  });
  {
    await using proxy = startCuttingProxy(server.addr.port, {
      after: 4 * MIB,
      mode: "stall",
      direction: "down",
    });
    const child = spawnFts(
      ["connect", "--no-tls", `127.0.0.1:${proxy.port}`, "get", "big.bin"],
      { cwd: local.path, env: { FTS_CONFIG_DIR: local.path } },
    );
    // Fails instead of hanging if the client ends before saving anything.
    const ended = child.status.then((status) => {
      throw new Error(`fts ended (${status.code}) before saving a partial`);
    });
    await Promise.race([
      fileAppears(local.path, /^\.fts-resume-[0-9a-f]{16}\.sums$/),
      ended,
    ]);
    ended.catch(() => {}); // it ends below, killed
    child.kill("SIGKILL");
    await child.output();
  }
  const names = [...Deno.readDirSync(local.path)].map((e) => e.name);
  assert.ok(names.some((n) => /^\.fts-resume-[0-9a-f]{16}\.part$/.test(n)));
  assert.ok(!names.includes("big.bin"));
  logs = [];
  await run({
    target: `127.0.0.1:${server.addr.port}`,
    local: local.path,
    data,
    logs,
  });
}

Deno.test("fts connect get killed mid-download resumes when run again: byte-identical, the bytes before the cut not sent again", async () => {
  await afterKilledGet(async ({ target, local, data, logs }) => {
    const result = await runFts([
      "connect",
      "--no-tls",
      target,
      "get",
      "big.bin",
    ], {
      cwd: local,
      env: { FTS_CONFIG_DIR: local },
    });
    assert.equal(result.code, 0, result.stderr);
    const m = /Resumed at ([\d.]+ MiB) of 6\.00 MiB\n/.exec(result.stdout);
    assert.ok(m, result.stdout);
    assert.deepEqual(await Deno.readFile(join(local, "big.bin")), data);
    const sent = bytesSent(logs, "big.bin");
    assert.ok(sent <= SIZE - MIB, `${sent} bytes sent again`);
    assert.match(logs.find((l) => l.includes('get "big.bin"'))!, / from \d+ /);
    const left = [...Deno.readDirSync(local)].map((e) => e.name);
    assert.deepEqual(left.filter((n) => n.startsWith(".fts-")), []);
  });
});

Deno.test("fts connect get --no-resume after a killed download starts over and removes the partial", async () => {
  await afterKilledGet(async ({ target, local, data, logs }) => {
    const result = await runFts(
      ["connect", "--no-tls", target, "get", "--no-resume", "big.bin"],
      { cwd: local, env: { FTS_CONFIG_DIR: local } },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /Resumed/);
    assert.deepEqual(await Deno.readFile(join(local, "big.bin")), data);
    assert.equal(bytesSent(logs, "big.bin"), SIZE);
    const left = [...Deno.readDirSync(local)].map((e) => e.name);
    assert.deepEqual(left.filter((n) => n.startsWith(".fts-")), []);
  });
});

Deno.test("fts connect get -r cut by a dropped connection resumes its interrupted file when run again, and says so", async () => {
  await using root = await tempDir();
  await using local = await tempDir();
  const data = pseudoRandomBytes(SIZE, 22);
  await Deno.mkdir(join(root.path, "d"));
  await Deno.writeFile(join(root.path, "d", "big.bin"), data);
  await using server = await startServer({
    root: root.path,
    host: "127.0.0.1",
    port: 0,
  });
  const env = { FTS_CONFIG_DIR: local.path };
  {
    await using proxy = startCuttingProxy(server.addr.port, {
      after: 4 * MIB,
      mode: "cut",
      direction: "down",
    });
    const cut = await runFts(
      [
        "connect",
        "--no-tls",
        "--retries",
        "0",
        `127.0.0.1:${proxy.port}`,
        "get",
        "-r",
        "d",
      ],
      { cwd: local.path, env },
    );
    assert.equal(cut.code, 1, cut.stdout);
  }
  const result = await runFts(
    ["connect", "--no-tls", `127.0.0.1:${server.addr.port}`, "get", "-r", "d"],
    { cwd: local.path, env },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^Downloaded 1 file in 1 folder \(6\.00 MiB\) in .*; 1 resumed \([\d.]+ MiB already there\)\n$/,
  );
  assert.deepEqual(await Deno.readFile(join(local.path, "d", "big.bin")), data);
  assert.deepEqual(
    [...Deno.readDirSync(join(local.path, "d"))].map((e) => e.name),
    ["big.bin"],
  );
});

Deno.test("fts connect get whose connection drops retries within the command and resumes: the bytes before the cut are sent once", async () => {
  await using root = await tempDir();
  await using local = await tempDir();
  const data = pseudoRandomBytes(SIZE, 23);
  await Deno.writeFile(join(root.path, "big.bin"), data);
  const logs: string[] = [];
  await using server = await startServer({
    root: root.path,
    host: "127.0.0.1",
    port: 0,
    log: (line) => logs.push(line),
  });
  await using proxy = startCuttingProxy(server.addr.port, {
    after: 4 * MIB,
    mode: "cut",
    direction: "down",
    once: true,
  });
  const result = await runFts(
    ["connect", "--no-tls", `127.0.0.1:${proxy.port}`, "get", "big.bin"],
    { cwd: local.path, env: { FTS_CONFIG_DIR: local.path } },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /resuming in/);
  assert.match(result.stdout, /Resumed at [\d.]+ MiB of 6\.00 MiB\n/);
  assert.deepEqual(await Deno.readFile(join(local.path, "big.bin")), data);
  const lines = logs.filter((l) => l.includes('get "big.bin"'));
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[1]!, / from \d+ /);
  assert.deepEqual(
    [...Deno.readDirSync(local.path)].map((e) => e.name),
    ["big.bin"],
  );
});
