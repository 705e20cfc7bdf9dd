/**
 * `fts connect` finishes a transfer within one command when its connection
 * is cut, when the server shuts down (GOING_AWAY) or when it is killed and
 * restarted: it waits (an injected clock, no sleeping), reconnects with the
 * same pinning and runs the transfer again. Refusals are never retried.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { connectCommand } from "../../client/cli/connect_cli.ts";
import { type FtsServer, startServer } from "../../server/server.ts";
import {
  loadOrCreateIdentity,
  type TlsIdentity,
} from "../../server/tls/tls_identity.ts";
import { fakeIo } from "../_helpers/client/cli_io.ts";
import { ManualClock } from "../_helpers/common/manual_clock.ts";
import { tempDir } from "../_helpers/common/temp_dir.ts";
import {
  type RetryProxy,
  startRetryProxy,
} from "../_helpers/e2e/retry_proxy.ts";
import { FtsProcess } from "../_helpers/e2e/fts_process.ts";

const MiB = 1024 * 1024;

/** One server identity for the whole file, made by the first test that asks. */
let identity: Promise<TlsIdentity> | null = null;
function serverIdentity(): Promise<TlsIdentity> {
  identity ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "fts_retry_identity_" });
    try {
      return await loadOrCreateIdentity(dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return identity;
}

/** Bytes that do not compress (zstd stays out of the counts). */
function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65_536) {
    crypto.getRandomValues(out.subarray(at, Math.min(size, at + 65_536)));
  }
  return out;
}

/**
 * Moves `clock` past the retry wait of `ms` once the command waits for it;
 * fails if the command ends first (it did not retry).
 */
async function passWait(
  clock: ManualClock,
  ms: number,
  command: Promise<unknown>,
): Promise<void> {
  const ended = command.then((result) => {
    throw new Error(
      `The command ended instead of waiting ${ms} ms: ${
        JSON.stringify(result)
      }`,
    );
  });
  await Promise.race([clock.timerSet(ms), ended]);
  clock.advance(ms);
}

interface World {
  server: FtsServer;
  root: string;
  local: string;
  proxy: RetryProxy;
  clock: ManualClock;
  identity: TlsIdentity;
  /** Connections opened since the server was remembered. */
  connections(): number;
  /** Runs `fts connect --fingerprint … PROXY ARGS` in-process. */
  connect(
    args: string[],
  ): Promise<{ status: number; stdout: string; stderr: string }>;
}

/** A TLS server on a temporary root behind a cutting proxy. */
async function withWorld(run: (world: World) => Promise<void>): Promise<void> {
  await using root = await tempDir();
  await using local = await tempDir();
  await using config = await tempDir();
  const tls = await serverIdentity();
  await using server = await startServer({
    root: root.path,
    host: "127.0.0.1",
    port: 0,
    tls,
  });
  await using proxy = startRetryProxy(server.addr.port);
  const clock = new ManualClock();
  const connect = async (args: string[]) => {
    const { io, stdout, stderr } = fakeIo({
      signal: new AbortController().signal,
      env: { FTS_CONFIG_DIR: config.path },
    });
    const status = await connectCommand(
      [
        "--fingerprint",
        tls.fingerprint,
        "--dir",
        local.path,
        `127.0.0.1:${proxy.port}`,
        ...args,
      ],
      io,
      { clock, random: () => 1 },
    );
    return { status, stdout: stdout.text(), stderr: stderr.text() };
  };
  // The first connection remembers the server: later ones open one each.
  assert.equal((await connect(["ls"])).status, 0);
  const before = proxy.accepted;
  await run({
    server,
    root: root.path,
    local: local.path,
    proxy,
    clock,
    identity: tls,
    connections: () => proxy.accepted - before,
    connect,
  });
}

Deno.test("fts connect get finishes in one command when the connection is cut mid-download", async () => {
  await withWorld(
    async ({ root, local, proxy, clock, connect, connections }) => {
      const data = randomBytes(8 * MiB);
      await Deno.writeFile(join(root, "big.bin"), data);
      const cut = proxy.cutOnce({ direction: "down", after: 3 * MiB });
      const command = connect(["get", "big.bin"]);
      await cut;
      await passWait(clock, 1_000, command);
      const { status, stdout, stderr } = await command;
      assert.equal(status, 0, stderr);
      assert.equal(
        stderr,
        `The connection to 127.0.0.1:${proxy.port} was lost; resuming in 1.0 s (try 1 of 5)\n`,
      );
      assert.deepEqual(await Deno.readFile(join(local, "big.bin")), data);
      assert.equal(connections(), 2);
      // The retry continues from the part the client kept: the server sends
      // the rest, not the bytes before.
      const resumed = /^Resumed at ([\d.]+) MiB of 8\.00 MiB$/m.exec(stdout);
      assert.ok(resumed, stdout);
      const keptBytes = Number(resumed[1]) * MiB;
      assert.ok(keptBytes > 0);
      const again = proxy.relayed.down - 3 * MiB;
      assert.ok(
        again < data.byteLength - keptBytes + 256 * 1024,
        `the retry received ${again} bytes, ${keptBytes} were kept`,
      );
    },
  );
});

Deno.test("fts connect put finishes in one command when the connection is cut mid-upload", async () => {
  await withWorld(
    async ({ root, local, proxy, clock, connect, connections }) => {
      const data = randomBytes(8 * MiB);
      await Deno.writeFile(join(local, "big.bin"), data);
      const cut = proxy.cutOnce({ direction: "up", after: 3 * MiB });
      const command = connect(["put", "big.bin"]);
      await cut;
      await passWait(clock, 1_000, command);
      const { status, stdout, stderr } = await command;
      assert.equal(status, 0, stderr);
      assert.match(stderr, /was lost; resuming in 1\.0 s \(try 1 of 5\)\n$/);
      assert.deepEqual(await Deno.readFile(join(root, "big.bin")), data);
      assert.equal(connections(), 2);
      // The retry resumes where the server's verified part ends: it sends
      // the rest of the file, not the bytes before.
      const resumed = /^Resumed at ([\d.]+) MiB of 8\.00 MiB$/m.exec(stdout);
      assert.ok(resumed, stdout);
      const keptBytes = Number(resumed[1]) * MiB;
      assert.ok(keptBytes > 0);
      const again = proxy.relayed.up - 3 * MiB;
      assert.ok(
        again < data.byteLength - keptBytes + 256 * 1024,
        `the retry sent ${again} bytes, ${keptBytes} were kept`,
      );
    },
  );
});

Deno.test("fts connect put -r cut mid-upload sends only what is missing on its retry", async () => {
  await withWorld(async ({ root, local, proxy, clock, connect }) => {
    const files = {
      "a.bin": randomBytes(1 * MiB),
      "b.bin": randomBytes(1 * MiB),
      "big.bin": randomBytes(40 * MiB),
    };
    await Deno.mkdir(join(local, "tree"));
    for (const [name, bytes] of Object.entries(files)) {
      await Deno.writeFile(join(local, "tree", name), bytes);
    }
    const cutAt = 24 * MiB;
    const cut = proxy.cutOnce({ direction: "up", after: cutAt });
    const command = connect(["put", "-r", "tree"]);
    await cut;
    await passWait(clock, 1_000, command);
    const { status, stdout, stderr } = await command;
    assert.equal(status, 0, stderr);
    for (const [name, bytes] of Object.entries(files)) {
      assert.deepEqual(await Deno.readFile(join(root, "tree", name)), bytes);
    }
    // The small files went whole before the cut and are skipped; of the
    // large one only what the server had not kept goes again (it keeps
    // what it synced, every 16 MiB at least): the retry sends less than
    // the large file alone.
    assert.match(stdout, /; 2 identical skipped \(2\.00 MiB\)/);
    const again = proxy.relayed.up - cutAt;
    assert.ok(again < 39 * MiB, `the retry sent ${again} bytes`);
  });
});

Deno.test("fts connect get NAME - cut mid-stream is not run again: what went to standard output cannot be taken back", async () => {
  await withWorld(async ({ root, proxy, clock, connect, connections }) => {
    await Deno.writeFile(join(root, "big.bin"), randomBytes(8 * MiB));
    const cut = proxy.cutOnce({ direction: "down", after: 3 * MiB });
    const command = connect(["get", "big.bin", "-"]);
    const waited = clock.timerSet(1_000).then(() => "waited" as const);
    if (await Promise.race([command, waited]) === "waited") {
      clock.advance(1_000);
      await command;
      assert.fail("the command waited to run again");
    }
    const result = await command;
    await cut;
    assert.equal(result.status, 1);
    assert.doesNotMatch(result.stderr, /resuming|try 1/);
    assert.equal(connections(), 1);
  });
});

Deno.test("fts connect --retries 0 fails at the first cut; a refusal is never retried", async () => {
  await withWorld(async ({ local, proxy, connect, connections }) => {
    await Deno.writeFile(join(local, "big.bin"), randomBytes(4 * MiB));
    const cut = proxy.cutOnce({ direction: "up", after: 1 * MiB });
    const cutOff = await connect(["--retries", "0", "put", "big.bin"]);
    await cut;
    assert.equal(cutOff.status, 1);
    assert.doesNotMatch(cutOff.stderr, /resuming|try 1/);
    assert.equal(connections(), 1);

    const missing = await connect(["get", "missing.bin"]);
    assert.equal(missing.status, 1);
    assert.equal(
      missing.stderr,
      'fts: Cannot get "missing.bin": no such file on the server\n',
    );
    assert.equal(connections(), 2, "one connection, no retry");
  });
});

Deno.test("fts connect --batch tells that the server is shutting down and resumes on the restarted server", async () => {
  await withWorld(async (world) => {
    const { root, local, proxy, clock, identity, connect } = world;
    const data = randomBytes(8 * MiB);
    await Deno.writeFile(join(local, "big.bin"), data);
    await Deno.writeTextFile(join(local, "cmds"), "put big.bin\nls\n");
    let next: AsyncDisposable | null = null;
    const cut = proxy.cutOnce({
      direction: "up",
      after: 3 * MiB,
      onCut: async () => {
        // The first server stops with no grace (GOING_AWAY, then the end);
        // its replacement serves the same folder on another port.
        await world.server.shutdown(0);
        const restarted = await startServer({
          root,
          host: "127.0.0.1",
          port: 0,
          tls: identity,
        });
        next = restarted;
        proxy.targetPort = restarted.addr.port;
      },
    });
    // The proxy holds the upload at 3 MiB while the server shuts down.
    const command = connect(["--batch", join(local, "cmds")]);
    try {
      await cut;
      await passWait(clock, 1_000, command);
      const { status, stdout, stderr } = await command;
      assert.equal(status, 0, stderr);
      assert.match(
        stderr,
        /^Notice from the server: "The server is shutting down" \(running transfers may finish within 0\.00 s\)\.\nServer is shutting down; resuming in 1\.0 s \(try 1 of 5\)\n$/,
      );
      assert.match(stdout, /big\.bin/);
      assert.deepEqual(await Deno.readFile(join(root, "big.bin")), data);
    } finally {
      await (next as AsyncDisposable | null)?.[Symbol.asyncDispose]();
    }
  });
});

Deno.test("fts connect put retries until a killed server is back, then finishes", async () => {
  await using root = await tempDir();
  await using local = await tempDir();
  await using config = await tempDir();
  const serve = (port: string) =>
    new FtsProcess(["serve", "--port", port, "--root", root.path]);
  let server = serve("0");
  try {
    const port = await server.port();
    const fingerprint = /^fingerprint (SHA256:\S+)$/.exec(
      await server.line(/^fingerprint /),
    )?.[1];
    assert.ok(fingerprint);
    await using proxy = startRetryProxy(port);
    const data = randomBytes(8 * MiB);
    await Deno.writeFile(join(local.path, "big.bin"), data);
    const cut = proxy.cutOnce({
      direction: "up",
      after: 3 * MiB,
      onCut: async () => {
        server.child.kill("SIGKILL");
        await server.exit();
      },
    });
    const clock = new ManualClock();
    const { io, stderr } = fakeIo({
      signal: new AbortController().signal,
      env: { FTS_CONFIG_DIR: config.path },
    });
    const command = connectCommand(
      [
        "--fingerprint",
        fingerprint,
        "--dir",
        local.path,
        `127.0.0.1:${proxy.port}`,
        "put",
        "big.bin",
      ],
      io,
      { clock, random: () => 1 },
    );
    await cut;
    // Try 1 finds nothing listening; the server is back for try 2.
    await passWait(clock, 1_000, command);
    await clock.timerSet(2_000);
    server = serve("0");
    proxy.targetPort = await server.port();
    clock.advance(2_000);
    const status = await command;
    const text = stderr.text();
    assert.equal(status, 0, text);
    const lines = text.trimEnd().split("\n").filter((line) =>
      !line.startsWith("Remembered ")
    );
    assert.equal(lines.length, 2, text);
    assert.match(lines[0]!, /was lost; resuming in 1\.0 s \(try 1 of 5\)$/);
    assert.match(
      lines[1]!,
      /^Cannot connect to .*; trying again in 2\.0 s \(try 2 of 5\)$/,
    );
    assert.deepEqual(await Deno.readFile(join(root.path, "big.bin")), data);
  } finally {
    await server[Symbol.asyncDispose]();
  }
});
