/**
 * The vault through the real programs: `fts key gen` and `fts connect`
 * subprocesses (`deno run -A main.ts …`) against a server started
 * in-process, so that the config folder, FTS_PASSPHRASE and FTS_ENCRYPT
 * come from the process environment as they do for users. Plain TCP
 * (`--no-tls`) keeps these tests about files, not connections.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer } from "../../server/server.ts";
import { assertBytes, contains, pattern } from "../_helpers/vault/data.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  /** Standard error without the --no-tls warning. */
  errors: string;
}

async function fts(
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<Run> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).output();
  const text = new TextDecoder();
  return {
    code: output.code,
    stdout: text.decode(output.stdout),
    errors: text.decode(output.stderr).split("\n")
      .filter((line) => line !== "" && !/not encrypted|--no-tls/i.test(line))
      .join("\n"),
  };
}

async function withFolders(
  run: (ctx: {
    port: number;
    root: string;
    local: string;
    env: Record<string, string>;
  }) => Promise<void>,
): Promise<void> {
  const root = await Deno.realPath(await Deno.makeTempDir());
  const local = await Deno.realPath(await Deno.makeTempDir());
  const config = await Deno.realPath(await Deno.makeTempDir());
  try {
    await using server = await startServer({
      root,
      host: "127.0.0.1",
      port: 0,
    });
    await run({
      port: server.addr.port,
      root,
      local,
      env: { FTS_CONFIG_DIR: config },
    });
  } finally {
    for (const dir of [root, local, config]) {
      await Deno.remove(dir, { recursive: true });
    }
  }
}

Deno.test("fts key gen, then fts connect put --encrypt and get round-trip a file", async () => {
  await withFolders(async ({ port, root, local, env }) => {
    const gen = await fts(["key", "gen"], { cwd: local, env });
    assert.equal(gen.code, 0, gen.errors);
    assert.match(gen.stdout, /Public key: age1[0-9a-z]+\n$/);
    const marker = new TextEncoder().encode("CLI-VAULT-MARKER-0042");
    const plain = pattern(600_000, 41);
    plain.set(marker, 1000);
    await Deno.writeFile(join(local, "plan.txt"), plain);
    const target = `127.0.0.1:${port}`;

    const put = await fts(
      ["connect", target, "--no-tls", "put", "--encrypt", "plan.txt"],
      { cwd: local, env },
    );
    assert.deepEqual(put, {
      code: 0,
      stdout: 'Encrypted and stored as "plan.txt.age"\n',
      errors: "",
    });
    const stored = await Deno.readFile(join(root, "plan.txt.age"));
    assert.equal(contains(stored, marker), false);

    const back = join(local, "back");
    await Deno.mkdir(back);
    const get = await fts(
      ["connect", target, "--no-tls", "--dir", back, "get", "plan.txt.age"],
      { cwd: local, env },
    );
    assert.deepEqual(get, {
      code: 0,
      stdout: 'Decrypted and saved as "plan.txt"\n',
      errors: "",
    });
    assertBytes(await Deno.readFile(join(back, "plan.txt")), plain);
  });
});

Deno.test("fts connect: FTS_ENCRYPT=1 and FTS_PASSPHRASE come from the environment", async () => {
  await withFolders(async ({ port, root, local, env }) => {
    await Deno.writeTextFile(join(local, "a.txt"), "alpha");
    const target = `127.0.0.1:${port}`;
    const noKey = await fts(
      ["connect", target, "--no-tls", "put", "a.txt"],
      { cwd: local, env: { ...env, FTS_ENCRYPT: "1" } },
    );
    assert.deepEqual(noKey, {
      code: 1,
      stdout: "",
      errors: 'fts: Cannot put "a.txt": no identity: run "fts key gen" to ' +
        "create one (or use --passphrase)",
    });
    const withPassphrase = { ...env, FTS_PASSPHRASE: "env passphrase" };
    const put = await fts(
      ["connect", target, "--no-tls", "put", "--passphrase", "a.txt"],
      { cwd: local, env: withPassphrase },
    );
    assert.equal(put.code, 0, put.errors);
    assert.ok(
      (await Deno.readTextFile(join(root, "a.txt.age"))).startsWith(
        "age-encryption.org/v1\n-> scrypt ",
      ),
    );
    const back = join(local, "back");
    await Deno.mkdir(back);
    const wrong = await fts(
      ["connect", target, "--no-tls", "--dir", back, "get", "a.txt.age"],
      { cwd: local, env: { ...env, FTS_PASSPHRASE: "not it" } },
    );
    assert.deepEqual(wrong, {
      code: 1,
      stdout: "",
      errors:
        'fts: Cannot get "a.txt.age": decryption failed: wrong passphrase',
    });
    assert.deepEqual([...Deno.readDirSync(back)], []);
    const get = await fts(
      ["connect", target, "--no-tls", "--dir", back, "get", "a.txt.age"],
      { cwd: local, env: withPassphrase },
    );
    assert.equal(get.code, 0, get.errors);
    assert.equal(await Deno.readTextFile(join(back, "a.txt")), "alpha");
  });
});
