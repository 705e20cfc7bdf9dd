import assert from "node:assert/strict";
import { join } from "node:path";
import { keyCommand } from "../../../client/cli/key_cli.ts";
import { loadIdentities } from "../../../client/vault/identity.ts";
import { fakeIo } from "../../_helpers/client/cli_io.ts";

/** The CLI's io with environment `env`; outputs take 5 bytes per write. */
function captureIo(env: Record<string, string>) {
  const { io, stdout, stderr } = fakeIo({ env, maxWrite: 5 });
  return {
    ...io,
    stdoutText: () => stdout.text(),
    stderrText: () => stderr.text(),
  };
}

async function withConfigDir(
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fts_key_cli_" });
  try {
    await fn(join(dir, "config"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("keyCommand gen creates identity.txt and prints only the public key", async () => {
  await withConfigDir(async (config) => {
    const io = captureIo({ FTS_CONFIG_DIR: config });
    assert.equal(await keyCommand(["gen"], io), 0);
    const [identity] = await loadIdentities(join(config, "identity.txt"));
    assert.ok(identity);
    const out = io.stdoutText();
    assert.match(out, new RegExp(`Public key: ${identity.recipient}\n$`));
    assert.ok(!out.includes("AGE-SECRET-KEY"), out);
    assert.equal(io.stderrText(), "");
    assert.equal(
      (await Deno.stat(join(config, "identity.txt"))).mode! & 0o777,
      0o600,
    );
  });
});

Deno.test("keyCommand gen refuses to replace an identity without --force", async () => {
  await withConfigDir(async (config) => {
    const path = join(config, "identity.txt");
    assert.equal(
      await keyCommand(["gen"], captureIo({ FTS_CONFIG_DIR: config })),
      0,
    );
    const before = await Deno.readTextFile(path);
    const io = captureIo({ FTS_CONFIG_DIR: config });
    assert.equal(await keyCommand(["gen"], io), 1);
    assert.match(
      io.stderrText(),
      /^fts: Cannot create identity: ".*identity\.txt" already exists .*--force/,
    );
    assert.equal(await Deno.readTextFile(path), before);
    const forced = captureIo({ FTS_CONFIG_DIR: config });
    assert.equal(await keyCommand(["gen", "--force"], forced), 0);
    assert.notEqual(await Deno.readTextFile(path), before);
  });
});

Deno.test("keyCommand show prints the public key of the stored identity", async () => {
  await withConfigDir(async (config) => {
    const gen = captureIo({ XDG_CONFIG_HOME: config });
    assert.equal(await keyCommand(["gen"], gen), 0);
    const [identity] = await loadIdentities(
      join(config, "fts", "identity.txt"),
    );
    const io = captureIo({ XDG_CONFIG_HOME: config });
    assert.equal(await keyCommand(["show"], io), 0);
    assert.equal(io.stdoutText(), `${identity!.recipient}\n`);
    assert.equal(io.stderrText(), "");
  });
});

Deno.test("keyCommand show without an identity fails and says how to make one", async () => {
  await withConfigDir(async (config) => {
    const io = captureIo({ FTS_CONFIG_DIR: config });
    assert.equal(await keyCommand(["show"], io), 1);
    assert.match(
      io.stderrText(),
      /^fts: Cannot show key: no identity in ".*identity\.txt" \(create one with "fts key gen"\)\n$/,
    );
    assert.equal(io.stdoutText(), "");
  });
});

Deno.test("keyCommand show never prints the secret of a broken identity file", async () => {
  await withConfigDir(async (config) => {
    await Deno.mkdir(config, { recursive: true });
    const secret =
      "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
    await Deno.writeTextFile(join(config, "identity.txt"), `${secret}\n`);
    const io = captureIo({ FTS_CONFIG_DIR: config });
    assert.equal(await keyCommand(["show"], io), 1);
    assert.match(
      io.stderrText(),
      /^fts: Invalid identity on line 1 of ".*identity\.txt"\n$/,
    );
    assert.ok(!io.stdoutText().includes("QQQQ"));
  });
});

Deno.test("keyCommand reports usage errors in one line with exit code 2", async () => {
  for (
    const args of [[], ["frobnicate"], ["show", "extra"], ["show", "--force"], [
      "gen",
      "--bogus",
    ]]
  ) {
    const io = captureIo({ FTS_CONFIG_DIR: "/nonexistent/never/created" });
    assert.equal(await keyCommand(args, io), 2, args.join(" "));
    assert.match(
      io.stderrText(),
      /^fts key: [^\n]+ \(see "fts key --help"\)\n$/,
      args.join(" "),
    );
  }
  const bogus = captureIo({});
  await keyCommand(["gen", "--bogus"], bogus);
  assert.match(bogus.stderrText(), /^fts key: Unknown option '--bogus' /);
  const help = captureIo({});
  assert.equal(await keyCommand(["--help"], help), 0);
  assert.match(help.stdoutText(), /^Usage: fts key <command>/);
});
