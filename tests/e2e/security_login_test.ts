/**
 * `fts connect USER@HOST` against a TLS server with accounts, run
 * in-process with fake terminals: first contact asked on a terminal, the
 * password from a terminal (no echo), a file or the environment, the one
 * answer for wrong passwords and unknown users, and permission errors as
 * one line.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { connectCommand } from "../../client/cli/connect_cli.ts";
import { hostKey, KnownHosts } from "../../client/connect/known_hosts.ts";
import type { Accounts } from "../../server/auth/accounts.ts";
import type { Permission } from "../../server/auth/permissions.ts";
import { type FtsServer, startServer } from "../../server/server.ts";
import type { TlsIdentity } from "../../server/tls/tls_identity.ts";
import { fakeIo, type FakeIoOptions } from "../_helpers/client/cli_io.ts";
import {
  addUsers,
  type TempDir,
  tempDir,
  testIdentity,
} from "../_helpers/server/security.ts";

const HOST = "127.0.0.1";
const USERS: Record<string, { password: string; perms: Permission[] }> = {
  ana: { password: "correct horse", perms: ["read", "write"] },
  reader: { password: "r-pass", perms: ["read"] },
  writer: { password: "w-pass", perms: ["write"] },
};

interface World {
  server: FtsServer;
  tls: TlsIdentity;
  target: string;
  root: string;
  config: TempDir;
  logs: string[];
}

/** A TLS server with accounts, and a client config folder that may pin it. */
async function withWorld(
  options: { pinned: boolean; users?: boolean },
  run: (world: World) => Promise<void>,
): Promise<void> {
  await using root = await tempDir();
  await using state = await tempDir("fts_state_");
  await using config = await tempDir("fts_config_");
  const accounts: Accounts = await addUsers(
    state.path,
    options.users === false ? {} : USERS,
  );
  const tls = await testIdentity("a");
  const logs: string[] = [];
  await using server = await startServer({
    root: root.path,
    host: HOST,
    port: 0,
    tls,
    accounts,
    loginThrottle: { baseDelayMs: 0 },
    log: (line) => logs.push(line),
  });
  if (options.pinned) {
    await new KnownHosts(join(config.path, "known_hosts")).add(
      hostKey(HOST, server.addr.port),
      tls.fingerprint,
    );
  }
  await run({
    server,
    tls,
    target: `${HOST}:${server.addr.port}`,
    root: root.path,
    config,
    logs,
  });
}

/** Runs `fts connect ARGS` in-process with a fake terminal. */
async function connect(
  world: World,
  args: string[],
  options: FakeIoOptions = {},
) {
  const { io, stdout, stderr, rawModes } = fakeIo({
    signal: new AbortController().signal,
    ...options,
    env: { FTS_CONFIG_DIR: world.config.path, ...options.env },
  });
  const status = await connectCommand(args, io);
  return { status, stdout: stdout.text(), stderr: stderr.text(), rawModes };
}

Deno.test("fts connect on a terminal asks about an unknown server, and remembers a yes", async () => {
  await withWorld({ pinned: false, users: false }, async (world) => {
    const known = new KnownHosts(join(world.config.path, "known_hosts"));
    const no = await connect(world, [world.target, "ls"], {
      tty: true,
      stdin: ["no\n"],
    });
    assert.equal(no.status, 1);
    assert.match(
      no.stderr,
      new RegExp(
        `^The server "${world.target}" is not known yet\\.\\nIts identity fingerprint is ${
          escape(world.tls.fingerprint)
        }\\.\\nTrust it and remember it\\? \\(yes/no\\) fts: Cannot connect to "${world.target}": its identity ${
          escape(world.tls.fingerprint)
        } was not accepted\\n$`,
      ),
    );
    assert.equal(
      await known.lookup(hostKey(HOST, world.server.addr.port)),
      null,
    );

    const yes = await connect(world, [world.target, "ls"], {
      tty: true,
      stdin: ["maybe\n", "yes\n"],
    });
    assert.equal(yes.status, 0, yes.stderr);
    assert.match(
      yes.stderr,
      /\(yes\/no\) Please type "yes" or "no": Remembered /,
    );
    assert.equal(
      await known.lookup(hostKey(HOST, world.server.addr.port)),
      world.tls.fingerprint,
    );

    const again = await connect(world, [world.target, "ls"], { tty: true });
    assert.equal(again.status, 0);
    assert.equal(again.stderr, "", "a known server is not asked about");
  });
});

Deno.test("fts connect USER@HOST logs in with FTS_PASSWORD or --password-file", async () => {
  await withWorld({ pinned: true }, async (world) => {
    await Deno.writeTextFile(join(world.root, "a.txt"), "a");
    const viaEnv = await connect(world, [`ana@${world.target}`, "ls"], {
      env: { FTS_PASSWORD: "correct horse" },
    });
    assert.equal(viaEnv.status, 0, viaEnv.stderr);
    assert.match(viaEnv.stdout, /a\.txt/);
    const file = join(world.config.path, "pw");
    await Deno.writeTextFile(file, "correct horse\n");
    const viaFile = await connect(world, [
      "--password-file",
      file,
      `ana@${world.target}`,
      "ls",
    ]);
    assert.equal(viaFile.status, 0, viaFile.stderr);
    assert.equal(
      world.logs.filter((l) => / ana logged in \(read,write\)$/.test(l))
        .length,
      2,
    );
  });
});

Deno.test("fts connect asks for the password on a terminal with echo off", async () => {
  await withWorld({ pinned: true }, async (world) => {
    const result = await connect(world, [`ana@${world.target}`, "ls"], {
      tty: true,
      stdin: ["correct horse\r"],
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(result.rawModes, [true, false], "echo off, then on");
    assert.equal(result.stderr, `Password for ana@${world.target}: \n`);
    assert.ok(!result.stdout.includes("correct horse"));
  });
});

Deno.test("fts connect asks a terminal for the password again after a refusal, three times in all", async () => {
  await withWorld({ pinned: true }, async (world) => {
    const prompt = `Password for ana@${world.target}: \n`;
    const retry =
      `fts: Cannot connect to ${world.target}: wrong user name or password; try again\n`;
    const third = await connect(world, [`ana@${world.target}`, "ls"], {
      tty: true,
      stdin: ["not it\r", "nor this\r", "correct horse\r"],
    });
    assert.equal(third.status, 0, third.stderr);
    assert.equal(third.stderr, prompt + retry + prompt + retry + prompt);
    const never = await connect(world, [`ana@${world.target}`, "ls"], {
      tty: true,
      stdin: ["a\r", "b\r", "c\r", "correct horse\r"],
    });
    assert.equal(never.status, 1);
    assert.equal(
      never.stderr,
      prompt + retry + prompt + retry + prompt +
        `fts: Cannot connect to ${world.target}: wrong user name or password\n`,
    );
  });
});

Deno.test("fts connect: a wrong password and an unknown user get the same one line", async () => {
  await withWorld({ pinned: true }, async (world) => {
    const wrong = await connect(world, [`ana@${world.target}`, "ls"], {
      env: { FTS_PASSWORD: "not it" },
    });
    const unknown = await connect(world, [`nobody@${world.target}`, "ls"], {
      env: { FTS_PASSWORD: "not it" },
    });
    for (const result of [wrong, unknown]) {
      assert.equal(result.status, 1);
      assert.equal(
        result.stderr,
        `fts: Cannot connect to ${world.target}: wrong user name or password\n`,
      );
    }
  });
});

Deno.test("fts connect: a login the server needs but cannot be had is one clear line", async () => {
  await withWorld({ pinned: true }, async (world) => {
    const anonymous = await connect(world, [world.target, "ls"]);
    assert.equal(anonymous.status, 1);
    assert.equal(
      anonymous.stderr,
      `fts: Cannot connect to ${world.target}: the server requires a login; connect as USER@HOST\n`,
    );
    const noTerminal = await connect(world, [`ana@${world.target}`, "ls"]);
    assert.equal(noTerminal.status, 1);
    assert.equal(
      noTerminal.stderr,
      "fts: Cannot read a password: stdin is not a terminal; use --password-file or FTS_PASSWORD\n",
    );
    const onArgv = await connect(world, [
      "--password",
      "hunter2",
      `ana@${world.target}`,
      "ls",
    ]);
    assert.equal(onArgv.status, 2);
    assert.match(onArgv.stderr, /^fts: --password is not accepted/);
    assert.ok(!onArgv.stderr.includes("hunter2"));
    const urlStyle = await connect(world, [`ana:hunter2@${world.target}`]);
    assert.equal(urlStyle.status, 2);
    assert.ok(!urlStyle.stderr.includes("hunter2"), urlStyle.stderr);
  });
});

Deno.test("fts connect: each missing permission is one line naming it", async () => {
  await withWorld({ pinned: true }, async (world) => {
    await Deno.writeTextFile(join(world.root, "a.txt"), "a");
    const local = join(world.config.path, "local");
    await Deno.mkdir(local);
    await Deno.writeTextFile(join(local, "up.txt"), "up");
    const as = (user: string, words: string[]) =>
      connect(world, ["--dir", local, `${user}@${world.target}`, ...words], {
        env: { FTS_PASSWORD: USERS[user]!.password },
      });
    const cases: [string, string[], string][] = [
      [
        "writer",
        ["ls"],
        'Cannot list "/": permission denied: "read" is required to list folders',
      ],
      [
        "writer",
        ["get", "a.txt"],
        'Cannot get "a.txt": permission denied: "read" is required to download files',
      ],
      [
        "reader",
        ["put", "up.txt"],
        'Cannot put "up.txt": permission denied: "write" is required to upload files',
      ],
      [
        "reader",
        ["mkdir", "d"],
        'Cannot create folder "d": permission denied: "write" is required to create folders',
      ],
      [
        "ana",
        ["rm", "a.txt"],
        'Cannot delete "a.txt": permission denied: "delete" is required to remove files',
      ],
      [
        "ana",
        ["shutdown"],
        'Cannot shut down the server: permission denied: "admin" is required to shut down the server',
      ],
    ];
    for (const [user, words, message] of cases) {
      const result = await as(user, words);
      assert.equal(result.status, 1, `${user} ${words.join(" ")}`);
      assert.equal(result.stderr, `fts: ${message}\n`);
    }
    assert.equal(await Deno.readTextFile(join(world.root, "a.txt")), "a");
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
