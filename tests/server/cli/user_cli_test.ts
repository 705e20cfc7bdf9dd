import assert from "node:assert/strict";
import { join } from "node:path";
import { loadAccounts, USERS_FILE } from "../../../server/auth/accounts.ts";
import type { CliIo } from "../../../common/cli_io.ts";
import { ScryptHasher } from "../../../server/auth/password_hash.ts";
import { userCommand } from "../../../server/cli/user_cli.ts";
import { runFts } from "../../_helpers/e2e/fts_process.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";

const hasher = new ScryptHasher({ params: { logN: 10, r: 8, p: 1 } });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface FakeIoOptions {
  env?: Record<string, string>;
  /** Chunks typed on stdin. */
  typed?: (string | Uint8Array)[];
  terminal?: boolean;
  signal?: AbortSignal;
}

/** A CliIo that records what is written and how raw mode was set. */
function fakeIo(options: FakeIoOptions = {}) {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const raw: boolean[] = [];
  const terminal = options.terminal ?? false;
  const sink = (into: Uint8Array[]) => ({
    writeSync(p: Uint8Array): number {
      into.push(p.slice());
      return p.byteLength;
    },
    isTerminal: () => terminal,
  });
  const chunks = (options.typed ?? []).map((c) =>
    typeof c === "string" ? encoder.encode(c) : c
  );
  const io: CliIo = {
    stdin: {
      readable: ReadableStream.from(chunks),
      isTerminal: () => terminal,
      setRaw: (mode: boolean) => void raw.push(mode),
    },
    stdout: sink(out),
    stderr: sink(err),
    env: (name) => options.env?.[name],
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const text = (parts: Uint8Array[]) =>
    parts.map((p) => decoder.decode(p)).join("");
  return {
    io,
    raw,
    stdout: () => text(out),
    stderr: () => text(err),
  };
}

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "fts_user_cli_" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function run(args: string[], fake: ReturnType<typeof fakeIo>) {
  return userCommand(args, fake.io, { hasher });
}

async function verify(root: string, name: string, password: string) {
  const accounts = await loadAccounts(join(root, ".fts"), { hasher });
  return accounts.verify(name, password);
}

Deno.test("userCommand() add with FTS_PASSWORD creates the user in ROOT/.fts", async () => {
  await withRoot(async (root) => {
    const fake = fakeIo({ env: { FTS_PASSWORD: "env-pw-1234" } });
    const code = await run(
      ["add", "alice", "--perm", "read,write", "--root", root],
      fake,
    );
    assert.equal(code, 0, fake.stderr());
    assert.equal(fake.stdout(), 'Added user "alice" with read,write\n');
    assert.equal(fake.stderr(), "");
    assert.deepEqual(await verify(root, "alice", "env-pw-1234"), [
      "read",
      "write",
    ]);
  });
});

Deno.test("userCommand() add without --perm grants read,write,delete", async () => {
  await withRoot(async (root) => {
    const fake = fakeIo({ env: { FTS_PASSWORD: "pw" } });
    assert.equal(await run(["add", "bob", "--root", root], fake), 0);
    assert.deepEqual(await verify(root, "bob", "pw"), [
      "read",
      "write",
      "delete",
    ]);
  });
});

Deno.test("userCommand() add --password-file uses the file's first line only", async () => {
  await withRoot(async (root) => {
    const file = join(root, "pw.txt");
    await Deno.writeTextFile(file, "file pw 5678\r\nsecond line\n");
    const fake = fakeIo({ env: { FTS_PASSWORD: "ignored-env-pw" } });
    const state = join(root, "state");
    const code = await run(
      ["add", "alice", "--password-file", file, "--state", state],
      fake,
    );
    assert.equal(code, 0, fake.stderr());
    const accounts = await loadAccounts(state, { hasher });
    assert.deepEqual(await accounts.verify("alice", "file pw 5678"), [
      "read",
      "write",
      "delete",
    ]);
    assert.equal(await accounts.verify("alice", "ignored-env-pw"), null);
  });
});

Deno.test("userCommand() add refuses an empty or missing password file", async () => {
  await withRoot(async (root) => {
    const empty = join(root, "empty.txt");
    await Deno.writeTextFile(empty, "\nnot-the-first-line\n");
    let fake = fakeIo();
    assert.equal(
      await run(["add", "a", "--password-file", empty, "--root", root], fake),
      1,
    );
    assert.equal(fake.stderr(), "fts: The password is empty\n");
    fake = fakeIo();
    const missing = join(root, "missing.txt");
    assert.equal(
      await run(["add", "a", "--password-file", missing, "--root", root], fake),
      1,
    );
    assert.match(fake.stderr(), /^fts: Cannot read the password file ".*"/);
    assert.equal(fake.stderr().split("\n").length, 2, "one line");
    await assert.rejects(Deno.stat(join(root, ".fts")), Deno.errors.NotFound);
  });
});

Deno.test("userCommand() list, passwd, perm and del manage users", async () => {
  await withRoot(async (root) => {
    const env = { FTS_PASSWORD: "first-pw" };
    const r = ["--root", root];
    assert.equal(await run(["add", "carol", ...r], fakeIo({ env })), 0);
    assert.equal(
      await run(["add", "al", "--perm", "admin", ...r], fakeIo({ env })),
      0,
    );
    let fake = fakeIo();
    assert.equal(await run(["list", ...r], fake), 0);
    assert.equal(
      fake.stdout(),
      "al     admin              0 B used  no quota\n" +
        "carol  read,write,delete  0 B used  no quota\n",
    );

    fake = fakeIo({ env: { FTS_PASSWORD: "second-pw" } });
    assert.equal(await run(["passwd", "carol", ...r], fake), 0);
    assert.equal(fake.stdout(), 'Changed the password of user "carol"\n');
    assert.equal(await verify(root, "carol", "first-pw"), null);
    assert.ok(await verify(root, "carol", "second-pw"));

    fake = fakeIo();
    assert.equal(await run(["perm", "carol", "--perm", "read", ...r], fake), 0);
    assert.deepEqual(await verify(root, "carol", "second-pw"), ["read"]);

    fake = fakeIo();
    assert.equal(await run(["del", "al", ...r], fake), 0);
    assert.equal(fake.stdout(), 'Removed user "al"\n');
    fake = fakeIo();
    assert.equal(await run(["list", ...r], fake), 0);
    assert.equal(fake.stdout(), "carol  read  0 B used  no quota\n");
  });
});

Deno.test("userCommand() reports a duplicate add and an unknown del in one line, exit 1", async () => {
  await withRoot(async (root) => {
    const env = { FTS_PASSWORD: "pw" };
    assert.equal(
      await run(["add", "alice", "--root", root], fakeIo({ env })),
      0,
    );
    let fake = fakeIo({ env });
    assert.equal(await run(["add", "alice", "--root", root], fake), 1);
    assert.equal(
      fake.stderr(),
      'fts: Cannot add user "alice": the user already exists\n',
    );
    fake = fakeIo();
    assert.equal(await run(["del", "bob", "--root", root], fake), 1);
    assert.equal(
      fake.stderr(),
      'fts: Cannot remove user "bob": no such user\n',
    );
    fake = fakeIo({ env });
    assert.equal(await run(["passwd", "bob", "--root", root], fake), 1);
    assert.match(
      fake.stderr(),
      /^fts: Cannot change the password of user "bob"/,
    );
  });
});

Deno.test("userCommand() refuses --password in every spelling without echoing it", async () => {
  await withRoot(async (root) => {
    for (
      const args of [
        ["add", "alice", "--password", "cmdline-secret"],
        ["add", "alice", "--password=cmdline-secret"],
        ["passwd", "alice", "-password=cmdline-secret"],
      ]
    ) {
      const fake = fakeIo();
      assert.equal(await run([...args, "--root", root], fake), 2);
      assert.match(fake.stderr(), /^fts: --password is not accepted: /);
      assert.ok(!fake.stderr().includes("cmdline-secret"));
      assert.equal(fake.stdout(), "");
    }
    await assert.rejects(Deno.stat(join(root, ".fts")), Deno.errors.NotFound);
  });
});

Deno.test("userCommand() usage errors exit 2 with one line", async () => {
  await withRoot(async (root) => {
    const cases: [string[], RegExp][] = [
      [[], /^fts: Missing command/],
      [["frobnicate"], /^fts: Unknown command "frobnicate"/],
      [["add"], /^fts: Missing user name/],
      [["add", "Alice"], /^fts: Invalid user name "Alice"/],
      [
        ["add", "alice", "--perm", "read,root"],
        /^fts: Unknown permission "root"/,
      ],
      [["add", "alice", "--perm", ""], /^fts: No permission given/],
      [["del", "alice", "--perm", "read"], /^fts: --perm only applies/],
      [["perm", "alice"], /^fts: "perm" needs --perm/],
      [["list", "alice"], /^fts: "list" takes no user name/],
      [["add", "alice", "--bogus"], /^fts: Unknown option '--bogus'/],
    ];
    for (const [args, expected] of cases) {
      const fake = fakeIo({ env: { FTS_PASSWORD: "pw" } });
      assert.equal(
        await run([...args, "--root", root], fake),
        2,
        args.join(" "),
      );
      assert.match(fake.stderr(), expected);
      assert.equal(fake.stderr().split("\n").length, 2, "one line");
    }
    await assert.rejects(Deno.stat(join(root, ".fts")), Deno.errors.NotFound);
  });
});

Deno.test("userCommand() never echoes a stray extra argument, which may be a password", async () => {
  await withRoot(async (root) => {
    const fake = fakeIo({ env: { FTS_PASSWORD: "pw" } });
    const code = await run(
      ["add", "alice", "stray-secret", "--root", root],
      fake,
    );
    assert.equal(code, 2);
    assert.equal(
      fake.stderr(),
      'fts: Too many arguments: "add" takes one user name\n',
    );
  });
});

Deno.test("userCommand() --help prints usage to stdout and exits 0", async () => {
  const fake = fakeIo();
  assert.equal(await run(["--help"], fake), 0);
  assert.match(fake.stdout(), /^Usage: fts user <command>/);
  assert.match(fake.stdout(), /FTS_PASSWORD/);
  assert.equal(fake.stderr(), "");
});

Deno.test("userCommand() without a password source or a terminal exits 1", async () => {
  await withRoot(async (root) => {
    const fake = fakeIo({ terminal: false });
    assert.equal(await run(["add", "alice", "--root", root], fake), 1);
    assert.equal(
      fake.stderr(),
      "fts: Cannot read a password: stdin is not a terminal; use --password-file or FTS_PASSWORD\n",
    );
  });
});

Deno.test("userCommand() add on a terminal asks twice with echo off", async () => {
  await withRoot(async (root) => {
    const fake = fakeIo({
      terminal: true,
      typed: ["tty-", "secret\r", "tty-secret\r"],
    });
    assert.equal(await run(["add", "alice", "--root", root], fake), 0);
    assert.deepEqual(fake.raw, [true, false]);
    assert.equal(
      fake.stderr(),
      'Password for "alice": \nRepeat the password: \n',
    );
    assert.ok(await verify(root, "alice", "tty-secret"));
  });
});

Deno.test("userCommand() terminal input handles backspace, Ctrl-U, arrow keys and typed-ahead lines", async () => {
  await withRoot(async (root) => {
    const fake = fakeIo({
      terminal: true,
      typed: ["junk\x15p\u00f6\x7f\u00e4x\x7f\x1b[Dss\x08s\r", "p\u00e4ss\n"],
    });
    assert.equal(await run(["add", "alice", "--root", root], fake), 0);
    assert.ok(await verify(root, "alice", "p\u00e4ss"));
  });
});

Deno.test("userCommand() refuses different answers on the terminal", async () => {
  await withRoot(async (root) => {
    const fake = fakeIo({ terminal: true, typed: ["one-pw\r", "two-pw\r"] });
    assert.equal(await run(["add", "alice", "--root", root], fake), 1);
    assert.match(fake.stderr(), /fts: Passwords do not match\n$/);
    assert.ok(!fake.stderr().includes("one-pw"));
    assert.deepEqual(fake.raw, [true, false]);
    await assert.rejects(Deno.stat(join(root, ".fts")), Deno.errors.NotFound);
  });
});

Deno.test("userCommand() Ctrl-C at the prompt cancels and restores the terminal", async () => {
  await withRoot(async (root) => {
    const fake = fakeIo({ terminal: true, typed: ["abc\x03"] });
    assert.equal(await run(["passwd", "alice", "--root", root], fake), 1);
    assert.equal(
      fake.stderr(),
      'fts: Cannot change the password of user "alice": no such user\n',
      "an unknown user is refused before the prompt",
    );
    await run(
      ["add", "alice", "--root", root],
      fakeIo({ env: { FTS_PASSWORD: "pw" } }),
    );
    const fake2 = fakeIo({ terminal: true, typed: ["abc\x03"] });
    assert.equal(await run(["passwd", "alice", "--root", root], fake2), 1);
    assert.match(fake2.stderr(), /fts: Password entry cancelled\n$/);
    assert.deepEqual(fake2.raw, [true, false]);
    assert.ok(await verify(root, "alice", "pw"), "password unchanged");
  });
});

Deno.test("userCommand() abort signal cancels a pending prompt", async () => {
  await withRoot(async (root) => {
    await run(
      ["add", "alice", "--root", root],
      fakeIo({ env: { FTS_PASSWORD: "pw" } }),
    );
    const controller = new AbortController();
    let pull = 0;
    const stdin = new ReadableStream<Uint8Array>({
      pull() {
        pull++;
        controller.abort();
        return new Promise(() => {});
      },
    });
    const fake = fakeIo({ terminal: true, signal: controller.signal });
    fake.io.stdin.readable = stdin;
    assert.equal(await run(["passwd", "alice", "--root", root], fake), 1);
    assert.ok(pull > 0);
    assert.match(fake.stderr(), /fts: Password entry cancelled\n$/);
    assert.deepEqual(fake.raw, [true, false]);
  });
});

Deno.test("userCommand() never prints a password or a hash", async () => {
  await withRoot(async (root) => {
    const password = "Tr0ub4dor&3-unique";
    const outputs: string[] = [];
    const go = async (args: string[], options: FakeIoOptions = {}) => {
      const fake = fakeIo(options);
      await run([...args, "--root", root], fake);
      outputs.push(fake.stdout(), fake.stderr());
    };
    const env = { FTS_PASSWORD: password };
    await go(["add", "alice", "--perm", "read,admin"], { env });
    await go(["add", "alice"], { env });
    await go(["passwd", "alice"], { env });
    await go(["passwd", "alice"], {
      terminal: true,
      typed: [`${password}\r`, "x\r"],
    });
    await go(["list"]);
    await go(["perm", "alice", "--perm", "read"]);
    const data = JSON.parse(
      await Deno.readTextFile(join(root, ".fts", USERS_FILE)),
    );
    const hash: string = data.users.alice.hash;
    const [, , , , salt = "", key = ""] = hash.split("$");
    await go(["del", "alice"]);
    await go(["del", "alice"]);
    const all = outputs.join("\n");
    assert.ok(all.includes('Added user "alice"'), "the runs did happen");
    for (const secret of [password, hash, salt, key]) {
      assert.ok(
        !all.includes(secret),
        `output contains ${secret.length} secret chars`,
      );
    }
  });
});

Deno.test("userCommand() refuses to create a state folder where no server root is", async () => {
  await withRoot(async (dir) => {
    const missing = join(dir, "no-such-root");
    const fake = fakeIo({ env: { FTS_PASSWORD: "pw-1234" } });
    assert.equal(await run(["add", "ana", "--root", missing], fake), 1);
    assert.equal(
      fake.stderr(),
      `fts: Cannot add user "ana": the server root "${missing}" does not exist; give the folder the server serves with --root DIR\n`,
    );
    await assert.rejects(Deno.stat(missing), Deno.errors.NotFound);
    for (const args of [["del", "ana"], ["perm", "ana", "--perm", "read"]]) {
      const other = fakeIo();
      assert.equal(await run([...args, "--root", missing], other), 1);
      assert.match(other.stderr(), /the server root ".*" does not exist/);
    }
    await assert.rejects(Deno.stat(missing), Deno.errors.NotFound);
  });
});

Deno.test("userCommand() list on a missing root is an error, on an existing root without users it is empty", async () => {
  await withRoot(async (dir) => {
    const missing = join(dir, "no-such-root");
    let fake = fakeIo();
    assert.equal(await run(["list", "--root", missing], fake), 1);
    assert.equal(
      fake.stderr(),
      `fts: Cannot list users: the server root "${missing}" does not exist; give the folder the server serves with --root DIR\n`,
    );
    assert.equal(fake.stdout(), "");
    fake = fakeIo();
    assert.equal(await run(["list", "--root", dir], fake), 0);
    assert.equal(fake.stderr(), "");
    const file = join(dir, "file");
    await Deno.writeTextFile(file, "");
    fake = fakeIo();
    assert.equal(await run(["list", "--root", file], fake), 1);
    assert.match(fake.stderr(), /the server root ".*" is not a folder/);
  });
});

Deno.test("userCommand() with --state: add creates the folder, the other commands need it", async () => {
  await withRoot(async (dir) => {
    const state = join(dir, "state");
    let fake = fakeIo();
    assert.equal(await run(["list", "--state", state], fake), 1);
    assert.match(fake.stderr(), /the state folder ".*" does not exist/);
    fake = fakeIo({ env: { FTS_PASSWORD: "pw-1234" } });
    assert.equal(await run(["add", "ana", "--state", state], fake), 0);
    fake = fakeIo();
    assert.equal(await run(["list", "--state", state], fake), 0);
    assert.equal(fake.stdout(), "ana  read,write,delete  no quota\n");
  });
});

Deno.test("fts user add without --root works only where a dados/ folder exists", async () => {
  await withRoot(async (dir) => {
    const env = { FTS_PASSWORD: "pw-1234" };
    const stray = await runFts(["user", "add", "ana"], { env, cwd: dir });
    assert.equal(stray.code, 1);
    assert.equal(
      stray.stderr,
      'fts: Cannot add user "ana": the server root "./dados" does not exist; give the folder the server serves with --root DIR\n',
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
    await Deno.mkdir(join(dir, "dados"));
    const added = await runFts(["user", "add", "ana"], { env, cwd: dir });
    assert.equal(added.code, 0, added.stderr);
    assert.ok(await verify(join(dir, "dados"), "ana", "pw-1234"));
  });
});

Deno.test("fts user add|quota --quota caps each account apart, and list shows what each uploaded", async () => {
  const MiB = 1024 * 1024;
  await withRoot(async (root) => {
    const env = { FTS_PASSWORD: "pw-long-enough" };
    assert.equal(
      await run(
        ["add", "ann", "--quota", "3M", "--root", root],
        fakeIo({ env }),
      ),
      0,
    );
    assert.equal(await run(["add", "bob", "--root", root], fakeIo({ env })), 0);
    const set = fakeIo();
    assert.equal(
      await run(["quota", "bob", "--quota", "5MiB", "--root", root], set),
      0,
    );
    assert.equal(set.stdout(), 'Set the quota of user "bob" to 5.00 MiB\n');
    const state = join(root, ".fts");
    const accounts = await loadAccounts(state, { hasher });
    await using t = await startTestServer({
      accounts,
      quota: { ownersDir: state },
    });
    const as = async (user: string) => {
      const c = await t.connect();
      const ok = await c.request({
        type: "auth",
        id: 0,
        user,
        password: env.FTS_PASSWORD,
      });
      assert.equal(ok?.type, "ok");
      return c;
    };
    await using ann = await as("ann");
    await using bob = await as("bob");
    assert.equal(
      (await ann.put("a1", new Uint8Array(2 * MiB))).type,
      "put_done",
    );
    const refused = await ann.put("a2", new Uint8Array(2 * MiB));
    assert.equal(refused.type === "error" && refused.code, "quota_exceeded");
    // Bob's quota is his own: ann's use does not count against it.
    assert.equal(
      (await bob.put("b1", new Uint8Array(4 * MiB))).type,
      "put_done",
    );
    const bobRefused = await bob.put("b2", new Uint8Array(2 * MiB));
    assert.equal(
      bobRefused.type === "error" && bobRefused.code,
      "quota_exceeded",
    );
    const list = fakeIo();
    assert.equal(
      await run(["list", "--root", t.root, "--state", state], list),
      0,
    );
    assert.equal(
      list.stdout(),
      "ann  read,write,delete  2.00 MiB used  quota 3.00 MiB\n" +
        "bob  read,write,delete  4.00 MiB used  quota 5.00 MiB\n",
    );
  });
});

Deno.test("fts user refuses a --quota that is not a size, and --quota on other commands", async () => {
  await withRoot(async (root) => {
    const bad = fakeIo();
    assert.equal(
      await run(["quota", "ann", "--quota", "lots", "--root", root], bad),
      2,
    );
    assert.match(bad.stderr(), /^fts: --quota: "lots" is not a size/);
    const misplaced = fakeIo();
    assert.equal(
      await run(["del", "ann", "--quota", "1G", "--root", root], misplaced),
      2,
    );
    assert.equal(
      misplaced.stderr(),
      'fts: --quota only applies to "add" and "quota"\n',
    );
  });
});
