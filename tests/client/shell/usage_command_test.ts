import assert from "node:assert/strict";
import { openSession } from "../../../client/engine/session.ts";
import { runWords } from "../../../client/shell/commands.ts";
import { usageText } from "../../../client/shell/usage_command.ts";
import { splitWords } from "../../../client/shell/command_parse.ts";
import { withShellWorld } from "../../_helpers/client/shell_world.ts";
import { startFakeServer } from "../../_helpers/client/fake_server.ts";
import { freshShellState } from "../../_helpers/client/shell_state.ts";
import { Buffer } from "../../_helpers/client/cli_io.ts";
import { RawClient } from "../../_helpers/server/raw_client.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

Deno.test("df shows what the server stores, reserves and allows, and its free disk", async () => {
  await withShellWorld({
    remote: { "a.txt": "x".repeat(1536), "d/b.txt": "y".repeat(512) },
    server: {
      quota: { limit: 10 * GiB, minFree: GiB, freeSpace: () => 200 * GiB },
    },
  }, async (world) => {
    assert.equal(await world.run("df"), "ok");
    assert.equal(
      world.out.text(),
      [
        "            used  reserved     quota",
        "server  2.00 KiB       0 B  10.0 GiB",
        "free on the server's disk: 200 GiB (the server keeps 1.00 GiB of it free)",
        "",
      ].join("\n"),
    );
  });
});

Deno.test("df counts an upload in progress as reserved, and shows a missing quota as none", async () => {
  await withShellWorld({ server: { quota: {} } }, async (world) => {
    await using raw = await RawClient.connect(world.addr);
    const id = raw.id();
    await raw.send({
      type: "put",
      id,
      name: "big.bin",
      size: 3 * MiB,
      overwrite: false,
    });
    assert.equal((await raw.reply(id))?.type, "put_ready");
    assert.equal(await world.run("df"), "ok");
    assert.match(world.out.text(), /^server +0 B +3\.00 MiB +none$/m);
  });
});

Deno.test("df on a server without the usage feature says so in one line", async () => {
  await using server = startFakeServer();
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const out = new Buffer();
  const err = new Buffer();
  const result = await runWords(splitWords("df"), {
    state: freshShellState(session, "."),
    output: {
      out,
      err,
      progress: false,
      quiet: false,
      columns: 80,
      clock: { now: () => 0 },
    },
  });
  assert.deepEqual(result, {
    status: "failed",
    message:
      "Cannot show the usage: the server does not report it (an older fts server)",
  });
  assert.equal(out.text(), "");
});

Deno.test("usageText() puts the account's row above the server's", () => {
  assert.equal(
    usageText({
      account: { name: "alice", used: 9 * GiB, reserved: 0, limit: 10 * GiB },
      server: { used: 49 * GiB, reserved: 700 * MiB, limit: 100 * GiB },
    }),
    [
      "                     used  reserved     quota",
      'account "alice"  9.00 GiB       0 B  10.0 GiB',
      "server           49.0 GiB   700 MiB   100 GiB",
      "",
    ].join("\n"),
  );
});

Deno.test("put over the quota fails at once with the server's one-line reason, and is not tried again", async () => {
  const logs: string[] = [];
  await withShellWorld({
    local: { "x.iso": "x".repeat(3000) },
    remote: { "old.bin": "o".repeat(1000) },
    server: { quota: { limit: 2048 }, log: (line) => logs.push(line) },
  }, async (world) => {
    assert.equal(
      await world.run("put x.iso"),
      'failed: Cannot put "x.iso": the server\'s quota of 2.00 KiB exceeded (1000 B used, 2.93 KiB requested)',
    );
    assert.equal(logs.filter((l) => / put /.test(l)).length, 1);
    assert.match(logs.find((l) => / put /.test(l))!, /quota_exceeded$/);
  });
});
