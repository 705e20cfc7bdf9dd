import assert from "node:assert/strict";
import { join } from "node:path";
import { startCuttingProxy } from "../_helpers/e2e/cutting_proxy.ts";
import { FtsProcess, runFts } from "../_helpers/e2e/fts_process.ts";
import { tempDir } from "../_helpers/common/temp_dir.ts";
import { startTestServer } from "../_helpers/server/fixture.ts";
import { pseudoRandomBytes } from "../_helpers/server/raw_client.ts";

const MiB = 1024 * 1024;

/**
 * `fts connect --no-tls 127.0.0.1:PORT put ARGS…` in `cwd`, with no retry
 * within the command: these tests run the command again themselves.
 */
function put(port: number, cwd: string, config: string, ...args: string[]) {
  return runFts(
    [
      "connect",
      "--no-tls",
      `127.0.0.1:${port}`,
      "--retries",
      "0",
      "put",
      ...args,
    ],
    { cwd, env: { FTS_CONFIG_DIR: config } },
  );
}

/** The bytes the server's log line of the last finished `put` of `name` counts. */
function putBytes(logs: readonly string[], name: string): number {
  const pattern = new RegExp(`put "${name}" (\\d+) B \\d+ ms ok`);
  const line = logs.findLast((l) => pattern.test(l));
  assert.ok(line, `no log line of put "${name}"`);
  return Number(pattern.exec(line)![1]);
}

/** Puts `name` through a proxy that drops the connection after `cut` bytes. */
async function cutPut(
  port: number,
  cwd: string,
  config: string,
  name: string,
  cut: number,
): Promise<void> {
  await using proxy = startCuttingProxy(port, { after: cut, mode: "cut" });
  const result = await put(proxy.port, cwd, config, name);
  assert.equal(result.code, 1, result.stderr);
}

Deno.test("fts put cut off by a dropped connection resumes when run again: the bytes before the cut are not sent again, the file is identical", async () => {
  await using server = await startTestServer();
  await using local = await tempDir();
  await using config = await tempDir();
  const data = pseudoRandomBytes(12 * MiB + 5, 21);
  await Deno.writeFile(join(local.path, "big.bin"), data);
  const port = server.server.addr.port;
  await cutPut(port, local.path, config.path, "big.bin", 7 * MiB);
  await server.waitForLog(
    /put "big\.bin" \d+ B \d+ ms (?:disconnected|protocol)/,
  );
  assert.deepEqual(await server.visible(), []);

  const again = await put(port, local.path, config.path, "big.bin");
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Resumed at 6\.00 MiB of 12\.0 MiB/);
  await server.waitForLog(/resumed "big\.bin" at 6\.00 MiB of 12\.0 MiB/);
  assert.equal(putBytes(server.logs, "big\\.bin"), data.byteLength - 6 * MiB);
  assert.deepEqual(await Deno.readFile(join(server.root, "big.bin")), data);
});

Deno.test("fts put resumed after a byte of the server's partial was flipped sends that block again and nothing else before the cut", async () => {
  await using server = await startTestServer();
  await using local = await tempDir();
  await using config = await tempDir();
  const data = pseudoRandomBytes(10 * MiB, 22);
  await Deno.writeFile(join(local.path, "f.bin"), data);
  const port = server.server.addr.port;
  await cutPut(port, local.path, config.path, "f.bin", 7 * MiB);
  await server.waitForLog(
    /put "f\.bin" \d+ B \d+ ms (?:disconnected|protocol)/,
  );
  const folder = join(server.root, ".fts", "resume");
  const part = [...Deno.readDirSync(folder)].find((e) =>
    e.name.endsWith(".part")
  )!;
  const path = join(folder, part.name);
  const bytes = await Deno.readFile(path);
  bytes[2 * MiB + MiB / 2]! ^= 0x01;
  await Deno.writeFile(path, bytes);

  const again = await put(port, local.path, config.path, "f.bin");
  assert.equal(again.code, 0, again.stderr);
  assert.equal(
    putBytes(server.logs, "f\\.bin"),
    data.byteLength - 6 * MiB + MiB,
  );
  assert.deepEqual(await Deno.readFile(join(server.root, "f.bin")), data);
});

Deno.test("fts put of a source changed between tries never stores a mixed file: a new mtime starts over, a change under the same mtime sends its block again", async () => {
  await using server = await startTestServer();
  await using local = await tempDir();
  await using config = await tempDir();
  const port = server.server.addr.port;
  const path = join(local.path, "s.bin");
  const first = pseudoRandomBytes(9 * MiB, 23);
  await Deno.writeFile(path, first);
  const mtime = new Date(1_700_000_000_000);
  await Deno.utime(path, mtime, mtime);
  await cutPut(port, local.path, config.path, "s.bin", 7 * MiB);
  await server.waitForLog(
    /put "s\.bin" \d+ B \d+ ms (?:disconnected|protocol)/,
  );

  // The same size and mtime, other bytes in the kept part.
  const second = new Uint8Array(first);
  second[100]! ^= 0xff;
  await Deno.writeFile(path, second);
  await Deno.utime(path, mtime, mtime);
  const same = await put(port, local.path, config.path, "s.bin");
  assert.equal(same.code, 0, same.stderr);
  assert.equal(putBytes(server.logs, "s\\.bin"), 9 * MiB - 6 * MiB + MiB);
  assert.deepEqual(await Deno.readFile(join(server.root, "s.bin")), second);

  // Cut again, then the file changes with a new mtime: it starts over.
  await Deno.remove(join(server.root, "s.bin"));
  await cutPut(port, local.path, config.path, "s.bin", 5 * MiB);
  const third = pseudoRandomBytes(9 * MiB, 24);
  await Deno.writeFile(path, third);
  const fresh = await put(port, local.path, config.path, "s.bin");
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.doesNotMatch(fresh.stdout, /Resumed/);
  assert.equal(putBytes(server.logs, "s\\.bin"), 9 * MiB);
  assert.deepEqual(await Deno.readFile(join(server.root, "s.bin")), third);
});

Deno.test("fts put --no-resume starts over even when the server kept a partial", async () => {
  await using server = await startTestServer();
  await using local = await tempDir();
  await using config = await tempDir();
  const data = pseudoRandomBytes(8 * MiB, 25);
  await Deno.writeFile(join(local.path, "n.bin"), data);
  const port = server.server.addr.port;
  await cutPut(port, local.path, config.path, "n.bin", 5 * MiB);
  await server.waitForLog(
    /put "n\.bin" \d+ B \d+ ms (?:disconnected|protocol)/,
  );
  const again = await put(
    port,
    local.path,
    config.path,
    "--no-resume",
    "n.bin",
  );
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /Resumed/);
  assert.equal(putBytes(server.logs, "n\\.bin"), data.byteLength);
  assert.deepEqual(await Deno.readFile(join(server.root, "n.bin")), data);
});

/** Resolves once a file ending in `suffix` exists in `folder`. */
async function fileAppears(folder: string, suffix: string): Promise<void> {
  const has = () =>
    [...Deno.readDirSync(folder)].some((e) => e.name.endsWith(suffix));
  using watcher = Deno.watchFs(folder);
  if (has()) return;
  for await (const _event of watcher) {
    if (has()) return;
  }
}

Deno.test("fts put resumes after the server was killed with SIGKILL mid-upload and restarted, from what it had synced", async () => {
  await using root = await tempDir();
  await using local = await tempDir();
  await using config = await tempDir();
  const data = pseudoRandomBytes(40 * MiB, 26);
  await Deno.writeFile(join(local.path, "k.bin"), data);
  const serve = ["serve", "--no-tls", "--port", "0", "--root", root.path];
  {
    await using server = new FtsProcess(serve);
    const port = await server.port();
    await using proxy = startCuttingProxy(port, {
      after: 20 * MiB,
      mode: "stall",
    });
    const client = put(proxy.port, local.path, config.path, "k.bin");
    await proxy.reached;
    // The server syncs every 16 MiB, then says so in the sidecar.
    await fileAppears(join(root.path, ".fts", "resume"), ".side");
    server.child.kill("SIGKILL");
    await server.exit();
    assert.equal((await client).code, 1);
  }
  await using server = new FtsProcess(serve);
  const again = await put(
    await server.port(),
    local.path,
    config.path,
    "k.bin",
  );
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Resumed at 16\.0 MiB of 40\.0 MiB/);
  await server.line(/resumed "k\.bin" at 16\.0 MiB of 40\.0 MiB/);
  assert.deepEqual(await Deno.readFile(join(root.path, "k.bin")), data);
});

Deno.test("fts put to a server without the feature resume uploads as before: a cut upload starts over and nothing is kept", async () => {
  await using server = await startTestServer({
    features: ["zstd", "mode", "usage", "pull", "sums"],
  });
  await using local = await tempDir();
  await using config = await tempDir();
  const data = pseudoRandomBytes(6 * MiB, 27);
  await Deno.writeFile(join(local.path, "o.bin"), data);
  const port = server.server.addr.port;
  await cutPut(port, local.path, config.path, "o.bin", 4 * MiB);
  await server.waitForLog(/put "o\.bin" \d+ B \d+ ms \w+/);
  assert.deepEqual(
    [...Deno.readDirSync(join(server.root, ".fts", "resume"))],
    [],
  );
  const again = await put(port, local.path, config.path, "o.bin");
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /Resumed/);
  assert.equal(putBytes(server.logs, "o\\.bin"), data.byteLength);
  assert.deepEqual(await Deno.readFile(join(server.root, "o.bin")), data);
});
