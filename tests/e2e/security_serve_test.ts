/**
 * The whole security set-up through the command line, as an operator and a
 * user would use it: `fts user add`, `fts serve` (TLS, accounts), logins,
 * remote shutdown, and what must never leak (passwords in logs or output)
 * or start (anonymous access on a public address).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FtsProcess, runFts, tempDir } from "../_helpers/server/security.ts";

const HOST = "127.0.0.1";
const ADMIN_PASSWORD = "admin-Pa55-e9c1d";
const BOB_PASSWORD = "bob-Pa55-7f3a2";
const WRONG_PASSWORD = "wrong-Pa55-41b8c";

Deno.test("accounts over TLS: logins, a refused and an accepted remote shutdown, and no password anywhere in the logs", async () => {
  await using root = await tempDir();
  await using config = await tempDir("fts_config_");
  const adminFile = join(config.path, "admin.pw");
  await Deno.writeTextFile(adminFile, `${ADMIN_PASSWORD}\n`);
  const outputs: string[] = [];
  const add = await runFts(
    [
      "user",
      "add",
      "admin",
      "--perm",
      "read,write,admin",
      "--root",
      root.path,
      "--password-file",
      adminFile,
    ],
  );
  assert.equal(add.code, 0, add.stderr);
  const addBob = await runFts(
    ["user", "add", "bob", "--perm", "read", "--root", root.path],
    { env: { FTS_PASSWORD: BOB_PASSWORD } },
  );
  assert.equal(addBob.code, 0, addBob.stderr);
  outputs.push(add.stdout, add.stderr, addBob.stdout, addBob.stderr);

  await using serve = new FtsProcess([
    "serve",
    "--port",
    "0",
    "--root",
    root.path,
    "--grace",
    "5",
  ]);
  const port = await serve.port();
  const fingerprint = (await serve.line(/^fingerprint /)).split(" ")[1]!;
  const target = `${HOST}:${port}`;
  const client = (args: string[], env: Record<string, string> = {}) =>
    runFts(["connect", "--fingerprint", fingerprint, ...args], {
      env: { FTS_CONFIG_DIR: config.path, ...env },
    });

  const wrong = await client([`admin@${target}`, "ls"], {
    FTS_PASSWORD: WRONG_PASSWORD,
  });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /wrong user name or password\n$/);
  const unknown = await client([`mallory@${target}`, "ls"], {
    FTS_PASSWORD: WRONG_PASSWORD,
  });
  assert.equal(unknown.code, 1);
  assert.equal(
    unknown.stderr.split("\n").at(-2),
    wrong.stderr.split("\n").at(-2),
  );

  const refused = await client([`bob@${target}`, "shutdown"], {
    FTS_PASSWORD: BOB_PASSWORD,
  });
  assert.equal(refused.code, 1);
  assert.equal(
    refused.stderr,
    'fts: Cannot shut down the server: permission denied: "admin" is required to shut down the server\n',
  );
  const stillUp = await client([`bob@${target}`, "ls"], {
    FTS_PASSWORD: BOB_PASSWORD,
  });
  assert.equal(stillUp.code, 0, stillUp.stderr);

  const shutdown = await client([
    "--password-file",
    adminFile,
    `admin@${target}`,
    "shutdown",
    "--grace",
    "2",
  ]);
  assert.equal(shutdown.code, 0, shutdown.stderr);
  assert.match(shutdown.stdout, /^The server accepted the shutdown/);
  const server = await serve.exit();
  assert.equal(server.code, 0, server.stderr);
  assert.ok(
    serve.lines.some((l) => / admin shutdown requested \(grace 2 s\)$/.test(l)),
    server.stdout,
  );
  assert.ok(serve.lines.some((l) => /login as "admin" failed/.test(l)));
  assert.ok(serve.lines.some((l) => / admin logged in /.test(l)));

  outputs.push(server.stdout, server.stderr);
  for (const r of [wrong, unknown, refused, stillUp, shutdown]) {
    outputs.push(r.stdout, r.stderr);
  }
  const everything = outputs.join("\n");
  for (const secret of [ADMIN_PASSWORD, BOB_PASSWORD, WRONG_PASSWORD]) {
    assert.ok(!everything.includes(secret), `${secret} leaked`);
  }
  // The state folder: private, and no password in it either.
  const state = join(root.path, ".fts");
  assert.equal((await Deno.stat(state)).mode! & 0o777, 0o700);
  for await (const entry of Deno.readDir(state)) {
    if (!entry.isFile) continue;
    const path = join(state, entry.name);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600, entry.name);
    const text = await Deno.readTextFile(path);
    for (const secret of [ADMIN_PASSWORD, BOB_PASSWORD]) {
      assert.ok(!text.includes(secret), `${secret} in ${entry.name}`);
    }
  }
});

Deno.test("fts serve refuses a public address without accounts, --anonymous beside accounts, and a served state folder", async () => {
  await using root = await tempDir();
  const open = await runFts([
    "serve",
    "--host",
    "0.0.0.0",
    "--port",
    "0",
    "--root",
    root.path,
  ]);
  assert.equal(open.code, 1);
  assert.equal(open.stdout, "", "it never said it was listening");
  assert.equal(
    open.stderr,
    'fts: Cannot listen on "0.0.0.0" without user accounts: add one with "fts user add NAME", or allow anonymous access with "--anonymous read" or "--anonymous write"\n',
  );

  const bad = await runFts([
    "serve",
    "--anonymous",
    "all",
    "--root",
    root.path,
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^fts serve: Unknown anonymous access "all"/);

  const served = await runFts([
    "serve",
    "--port",
    "0",
    "--root",
    root.path,
    "--state",
    join(root.path, "public"),
  ]);
  assert.equal(served.code, 2);
  assert.match(served.stderr, /it is inside the data folder/);

  const add = await runFts(["user", "add", "ana", "--root", root.path], {
    env: { FTS_PASSWORD: "x-Pa55" },
  });
  assert.equal(add.code, 0, add.stderr);
  const mixed = await runFts([
    "serve",
    "--port",
    "0",
    "--root",
    root.path,
    "--anonymous",
    "read",
  ]);
  assert.equal(mixed.code, 1);
  assert.match(
    mixed.stderr,
    /^fts: Cannot allow anonymous access while user accounts exist/,
  );
});
