import assert from "node:assert/strict";
import { join } from "node:path";
import { startCuttingProxy } from "../_helpers/e2e/cutting_proxy.ts";
import { runFts } from "../_helpers/e2e/fts_process.ts";
import { tempDir } from "../_helpers/common/temp_dir.ts";
import { startTestServer } from "../_helpers/server/fixture.ts";
import { pseudoRandomBytes } from "../_helpers/server/raw_client.ts";

const MiB = 1024 * 1024;

interface World {
  port: number;
  local: string;
  env: Record<string, string>;
}

/** `fts connect`, with no retry within the command: the tests run it again. */
function connect(world: World, port: number, ...args: string[]) {
  return runFts(
    ["connect", "--no-tls", `127.0.0.1:${port}`, "--retries", "0", ...args],
    { cwd: world.local, env: world.env },
  );
}

function putBytes(logs: readonly string[], name: string): number {
  const pattern = new RegExp(`put "${name}" (\\d+) B \\d+ ms ok`);
  const line = logs.findLast((l) => pattern.test(l));
  assert.ok(line, `no log line of put "${name}"`);
  return Number(pattern.exec(line)![1]);
}

async function cutEncrypted(world: World, name: string, cut: number) {
  await using proxy = startCuttingProxy(world.port, {
    after: cut,
    mode: "cut",
  });
  const result = await connect(world, proxy.port, "put", "--encrypt", name);
  assert.equal(result.code, 1, result.stderr);
}

async function getBack(world: World, name: string): Promise<Uint8Array> {
  const back = join(world.local, "back");
  await Deno.mkdir(back, { recursive: true });
  const got = await connect(world, world.port, "--dir", back, "get", name);
  assert.equal(got.code, 0, got.stderr);
  const file = join(back, name.replace(/\.age$/, ""));
  const bytes = await Deno.readFile(file);
  await Deno.remove(file);
  return bytes;
}

Deno.test("fts put --encrypt cut off resumes its ciphertext when run again, and the stored age file decrypts to the file", async () => {
  await using server = await startTestServer();
  await using local = await tempDir();
  await using config = await tempDir();
  const world = {
    port: server.server.addr.port,
    local: local.path,
    env: { FTS_CONFIG_DIR: config.path },
  };
  const gen = await runFts(["key", "gen"], { env: world.env });
  assert.equal(gen.code, 0, gen.stderr);
  const data = pseudoRandomBytes(9 * MiB, 31);
  await Deno.writeFile(join(local.path, "v.bin"), data);
  await cutEncrypted(world, "v.bin", 6 * MiB);
  await server.waitForLog(/put "v\.bin\.age" \d+ B \d+ ms \w+/);

  const again = await connect(world, world.port, "put", "--encrypt", "v.bin");
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Resumed at 5\.00 MiB of 9\.\d+ MiB/);
  assert.match(again.stdout, /Encrypted and stored as "v\.bin\.age"/);
  const stored = await Deno.stat(join(server.root, "v.bin.age"));
  assert.equal(putBytes(server.logs, "v\\.bin\\.age"), stored.size - 5 * MiB);
  assert.deepEqual(await getBack(world, "v.bin.age"), data);
  // Nothing of the key is left once the upload is stored.
  assert.deepEqual(
    [...Deno.readDirSync(join(config.path, "resume"))].map((e) => e.name),
    [],
  );
});

Deno.test("fts put --encrypt of a file changed under the same mtime after a cut seals it anew: everything is sent again, never under the old key", async () => {
  await using server = await startTestServer();
  await using local = await tempDir();
  await using config = await tempDir();
  const world = {
    port: server.server.addr.port,
    local: local.path,
    env: { FTS_CONFIG_DIR: config.path },
  };
  const gen = await runFts(["key", "gen"], { env: world.env });
  assert.equal(gen.code, 0, gen.stderr);
  const path = join(local.path, "w.bin");
  const first = pseudoRandomBytes(7 * MiB, 32);
  await Deno.writeFile(path, first);
  const mtime = new Date(1_700_000_000_000);
  await Deno.utime(path, mtime, mtime);
  await cutEncrypted(world, "w.bin", 5 * MiB);
  await server.waitForLog(/put "w\.bin\.age" \d+ B \d+ ms \w+/);
  const second = new Uint8Array(first);
  second[10]! ^= 0xff;
  await Deno.writeFile(path, second);
  await Deno.utime(path, mtime, mtime);

  const again = await connect(world, world.port, "put", "--encrypt", "w.bin");
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /Resumed/);
  const stored = await Deno.stat(join(server.root, "w.bin.age"));
  assert.equal(putBytes(server.logs, "w\\.bin\\.age"), stored.size);
  assert.deepEqual(await getBack(world, "w.bin.age"), second);
});
