import assert from "node:assert/strict";
import { join } from "node:path";
import { connectCommand } from "../../../client/cli/connect_cli.ts";
import { DEFAULT_CHUNK } from "../../../protocol/messages.ts";
import {
  goingAwayOnMkdir,
  sha256Hex,
  startFakeServer,
} from "../../_helpers/client/fake_server.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";
import { concat } from "../../_helpers/common/bytes.ts";
import { createTestCa } from "../../_helpers/tls/ca.ts";
import {
  startPlainGreeter,
  startPlainHangUp,
  startTlsEcho,
} from "../../_helpers/tls/servers.ts";
import { fakeIo, type FakeIoOptions } from "../../_helpers/client/cli_io.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const random64k = () => crypto.getRandomValues(new Uint8Array(65536));

/** Runs `fts connect ARGS` in-process; the signal keeps it from listening for SIGINT. */
async function connect(args: string[], options: FakeIoOptions = {}) {
  const { io, stdout, stderr } = fakeIo({
    signal: new AbortController().signal,
    ...options,
  });
  const status = await connectCommand(args, io);
  return { status, stdout: stdout.text(), stderr: stderr.text() };
}

/** The warning every plain-TCP connection prints on stderr. */
const PLAIN_WARNING =
  /^fts: warning: the connection to 127\.0\.0\.1:\d+ is not encrypted \(--no-tls\): anyone on the network can read and change it\n/gm;

/**
 * {@linkcode connect} with `--no-tls`, for the plain fake server: checks that
 * the not-encrypted warning was printed and leaves it out of `stderr`.
 */
async function connectPlain(args: string[], options: FakeIoOptions = {}) {
  const result = await connect(["--no-tls", ...args], options);
  const warnings = result.stderr.match(PLAIN_WARNING) ?? [];
  assert.equal(warnings.length, 1, result.stderr);
  return { ...result, stderr: result.stderr.replace(PLAIN_WARNING, "") };
}

async function withDir(run: (dir: string) => Promise<void>) {
  await using dir = await tempDir();
  await run(dir.path);
}

Deno.test("connectCommand() --help prints the usage and exits 0", async () => {
  const { status, stdout } = await connect(["--help"]);
  assert.equal(status, 0);
  assert.match(
    stdout,
    /^Usage: fts connect \[USER@\]HOST\[:PORT\] \[OPTIONS\] \[COMMAND ARGS…\]/,
  );
  assert.match(stdout, /--batch FILE/);
  assert.match(stdout, /--fingerprint SHA256/);
  assert.match(stdout, /--no-tls/);
  assert.match(stdout, /--timeout SECONDS/);
  assert.match(stdout, /--compress auto\|off\s+auto \(the default\)/);
  assert.match(stdout, /--limit RATE\s+at most RATE bytes per second/);
  assert.match(stdout, /--retries N\s+when the connection drops/);
});

Deno.test("connectCommand() exits 2 with one line for usage errors", async () => {
  for (
    const [args, message] of [
      [[], 'fts: Missing HOST[:PORT] (try "fts connect --help")\n'],
      [
        ["h:99999"],
        'fts: Port 99999 in "h:99999" is not between 1 and 65535\n',
      ],
      [["--frob", "h"], /^fts: Unknown option '--frob'.*\n$/],
      [
        ["h", "--batch", "x", "ls"],
        "fts: Give either --batch or a command, not both\n",
      ],
      [
        ["h", "--dir", "/nonexistent/fts"],
        'fts: Cannot use "/nonexistent/fts" as the local folder: no such folder\n',
      ],
      [
        ["h", "--compress", "yes"],
        'fts: --compress must be auto or off, not "yes"\n',
      ],
      [
        ["--limit", "10Mbit", "h"],
        'fts: --limit must be bytes per second such as 500K, 10M or 1G, not "10Mbit"\n',
      ],
      [
        ["h", "--limit", "512"],
        'fts: --limit must be at least 16K (16384 bytes per second), not "512"\n',
      ],
      [
        ["--retries=-1", "h"],
        'fts: --retries must be a whole number from 0 to 100, not "-1"\n',
      ],
      [
        ["h", "--retries", "101"],
        'fts: --retries must be a whole number from 0 to 100, not "101"\n',
      ],
    ] as const
  ) {
    const { status, stderr } = await connect([...args]);
    assert.equal(status, 2, args.join(" "));
    if (typeof message === "string") assert.equal(stderr, message);
    else assert.match(stderr, message);
  }
});

Deno.test("connectCommand() reports a refused connection and exits 1, with TLS or without", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await withDir(async (config) => {
    const tls = await connect([`127.0.0.1:${port}`, "ls"], {
      env: { FTS_CONFIG_DIR: config },
    });
    assert.equal(tls.status, 1);
    assert.equal(
      tls.stderr,
      `fts: Cannot connect to 127.0.0.1:${port}: connection refused\n`,
    );
  });
  const plain = await connectPlain([`127.0.0.1:${port}`, "ls"]);
  assert.equal(plain.status, 1);
  assert.equal(
    plain.stderr,
    `fts: Cannot connect to 127.0.0.1:${port}: connection refused\n`,
  );
});

Deno.test("connectCommand() names an HTTP or SSH server on the port instead of suggesting --no-tls", async () => {
  await using http = startPlainHangUp(
    enc("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
  );
  await using ssh = startPlainGreeter(enc("SSH-2.0-OpenSSH_9.6\r\n"));
  await using fts = startPlainHangUp(
    Uint8Array.of(0x46, 0x54, 1, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
  );
  const expected: [number, string][] = [
    [http.port, "it is an HTTP server, not an fts server"],
    [ssh.port, "it is an SSH server, not an fts server"],
    [
      fts.port,
      "the server does not use TLS; pass --no-tls on both sides (only on a trusted network)",
    ],
  ];
  await withDir(async (config) => {
    for (const [port, reason] of expected) {
      const result = await connect([`127.0.0.1:${port}`, "ls"], {
        env: { FTS_CONFIG_DIR: config },
      });
      assert.equal(result.status, 1);
      const where = port === fts.port
        ? `127.0.0.1:${port}`
        : `"127.0.0.1:${port}" over TLS`;
      assert.equal(
        result.stderr,
        `fts: Cannot connect to ${where}: ${reason}\n`,
      );
    }
  });
});

Deno.test("connectCommand() explains a CA certificate presented as a server's own in one line", async () => {
  const ca = await createTestCa("Foreign Root");
  await using foreign = startTlsEcho(ca);
  await withDir(async (config) => {
    const result = await connect([`127.0.0.1:${foreign.port}`, "ls"], {
      env: { FTS_CONFIG_DIR: config },
    });
    assert.equal(result.status, 1);
    assert.equal(
      result.stderr,
      `fts: Cannot connect to "127.0.0.1:${foreign.port}": the server could not prove its identity: it presents a certificate authority's certificate (CA:TRUE) as its own server certificate\n`,
    );
  });
});

Deno.test("connectCommand() offers zstd unless --compress off, and holds a transfer to --limit", async () => {
  const size = 128 * 1024;
  await using server = startFakeServer({
    files: { "a.bin": concat([random64k(), random64k()]) },
  });
  await withDir(async (dir) => {
    const target = `127.0.0.1:${server.port}`;
    const off = await connectPlain([target, "--compress", "off", "ls"]);
    assert.equal(off.status, 0, off.stderr);
    assert.deepEqual(server.hello?.features, [
      "mode",
      "usage",
      "pull",
      "sums",
      "resume",
      "xxh128",
    ]);
    const started = performance.now();
    const limited = await connectPlain([
      target,
      "--limit",
      "256K",
      "--dir",
      dir,
      "get",
      "a.bin",
    ]);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(limited.status, 0, limited.stderr);
    assert.deepEqual(server.hello?.features, [
      "zstd",
      "mode",
      "usage",
      "pull",
      "sums",
      "resume",
      "xxh128",
    ]);
    // 128 KiB at 256 KiB/s, less the 25.6 KiB burst: 0.4 s at least.
    assert.ok(seconds >= 0.38, `${seconds.toFixed(2)} s`);
    assert.equal((await Deno.stat(join(dir, "a.bin"))).size, size);
  });
});

Deno.test("connectCommand() offers xxh128 unless --checksum sha256, and refuses another value", async () => {
  await using server = startFakeServer();
  const target = `127.0.0.1:${server.port}`;
  const sha = await connectPlain([target, "--checksum", "sha256", "ls"]);
  assert.equal(sha.status, 0, sha.stderr);
  assert.ok(!server.hello?.features.includes("xxh128"));
  const xxh = await connectPlain([target, "--checksum", "xxh128", "ls"]);
  assert.equal(xxh.status, 0, xxh.stderr);
  assert.ok(server.hello?.features.includes("xxh128"));
  const bad = await connect([target, "--checksum", "md5", "ls"]);
  assert.equal(bad.status, 2);
  assert.match(
    bad.stderr,
    /^fts: --checksum must be xxh128 or sha256, not "md5"$/m,
  );
});

Deno.test("connectCommand() runs one command: a missing file is one line and exit 1", async () => {
  await using server = startFakeServer({ files: { "a.txt": enc("a") } });
  await withDir(async (dir) => {
    const target = `127.0.0.1:${server.port}`;
    const missing = await connectPlain([target, "--dir", dir, "get", "x.txt"]);
    assert.equal(missing.status, 1);
    assert.equal(
      missing.stderr,
      'fts: Cannot get "x.txt": no such file on the server\n',
    );
    const bad = await connectPlain([target, "frobnicate"]);
    assert.equal(bad.status, 2);
    assert.equal(
      bad.stderr,
      'fts: Unknown command "frobnicate" (type "help" for the list)\n',
    );
    const ok = await connectPlain([
      target,
      "--dir",
      dir,
      "get",
      "--overwrite",
      "a.txt",
    ]);
    assert.deepEqual(ok, { status: 0, stdout: "", stderr: "" });
    assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "a");
    const listed = await connectPlain(["-q", target, "ls"]);
    assert.equal(listed.status, 0);
    assert.match(listed.stdout, /1\s+1 B\s+\S+ \S+\s+a\.txt\n$/);
  });
});

Deno.test("connectCommand() --batch stops at the first failure and names the line", async () => {
  await using server = startFakeServer({ files: { "a.txt": enc("a") } });
  await withDir(async (dir) => {
    const script = join(dir, "script.fts");
    await Deno.writeTextFile(
      script,
      "# fetch\n\nget a.txt\nget missing.txt\nmkdir never\n",
    );
    const { status, stderr } = await connectPlain([
      `127.0.0.1:${server.port}`,
      "--dir",
      dir,
      "--batch",
      script,
    ]);
    assert.equal(status, 1);
    assert.equal(
      stderr,
      `fts: ${script}:4: Cannot get "missing.txt": no such file on the server\n`,
    );
    assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "a");
    assert.ok(
      !server.received.some((m) => m.type === "mkdir"),
      "stopped before mkdir",
    );
  });
});

Deno.test("connectCommand() --batch - reads standard input; a bad line exits 2", async () => {
  await using server = startFakeServer();
  const ok = await connectPlain([`127.0.0.1:${server.port}`, "--batch", "-"], {
    stdin: "mkdir a\n  # indented comment\nmkdir 'b c'\n",
  });
  assert.deepEqual(ok, {
    status: 0,
    stdout: 'Created folder "a"\nCreated folder "b c"\n',
    stderr: "",
  });
  const bad = await connectPlain([`127.0.0.1:${server.port}`, "-b", "-"], {
    stdin: "mkdir d\nget 'unterminated\nmkdir e\n",
  });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, "fts: stdin:2: Missing closing '\n");
  assert.deepEqual([...server.dirs].sort(), ["a", "b c", "d"]);
  const missing = await connectPlain([
    `127.0.0.1:${server.port}`,
    "--batch",
    "/nonexistent/b",
  ]);
  assert.equal(missing.status, 2);
  assert.equal(
    missing.stderr,
    'fts: Cannot read batch file "/nonexistent/b": no such file\n',
  );
  await withDir(async (folder) => {
    const notAFile = await connectPlain([
      `127.0.0.1:${server.port}`,
      "--batch",
      folder,
    ]);
    assert.equal(notAFile.status, 2);
    assert.equal(
      notAFile.stderr,
      `fts: Cannot read batch file "${folder}": it is a folder\n`,
    );
  });
});

Deno.test("connectCommand() prints the server's going-away notice", async () => {
  await using server = startFakeServer({
    handle: goingAwayOnMkdir("Server\x1b[2J stops"),
  });
  const { status, stderr } = await connectPlain([
    `127.0.0.1:${server.port}`,
    "mkdir",
    "x",
  ]);
  assert.equal(status, 0);
  assert.equal(
    stderr,
    'Notice from the server: "Server\\u{1b}[2J stops" (running transfers may finish within 30 s).\n',
  );
});

Deno.test("connectCommand() without a command and with piped input runs a quiet shell", async () => {
  await using server = startFakeServer({ files: { "a.txt": enc("a") } });
  const { status, stdout, stderr } = await connectPlain(
    [`127.0.0.1:${server.port}`],
    {
      stdin: "ls\nget nope\nexit\n",
    },
  );
  assert.equal(status, 0);
  assert.doesNotMatch(
    stdout,
    /Connected to|fts:\//,
    "no banner or prompt without a terminal",
  );
  assert.match(stdout, /a\.txt/);
  assert.equal(stderr, 'Cannot get "nope": no such file on the server\n');
});

Deno.test("connectCommand() prints the going-away notice on its own line, not over a progress bar", async () => {
  const bytes = new Uint8Array(3 * DEFAULT_CHUNK);
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (m.type !== "get") return false;
      await ctx.send({
        type: "get_ready",
        id: m.id,
        name: m.name,
        size: bytes.byteLength,
        mtime: 1,
      });
      for (let at = 0; at < bytes.byteLength; at += DEFAULT_CHUNK) {
        if (at === DEFAULT_CHUNK) {
          await ctx.send({
            type: "going_away",
            id: 0,
            graceMs: 30_000,
            reason: "Maintenance",
          });
        }
        await ctx.send({
          type: "data",
          id: m.id,
          offset: at,
          bytes: bytes.subarray(at, at + DEFAULT_CHUNK),
          zstd: false,
        });
      }
      await ctx.send({ type: "get_end", id: m.id, sha256: sha256Hex(bytes) });
      return true;
    },
  });
  await withDir(async (dir) => {
    const { status, stderr } = await connectPlain(
      [`127.0.0.1:${server.port}`, "--dir", dir, "get", "big"],
      { ttyErr: true },
    );
    assert.equal(status, 0, stderr);
    // A bar was drawn before the notice, and the notice cleared its line.
    const notice = stderr.indexOf('Notice from the server: "Maintenance"');
    assert.ok(stderr.lastIndexOf("%", notice) >= 0, stderr);
    assert.equal(stderr.slice(notice - 4, notice), "\r\x1b[K");
    assert.equal(stderr.split("Notice from the server").length, 2);
  });
});

Deno.test("connectCommand() chooses a remedy by the kind of failure, not by how the server worded its refusal", async () => {
  // A server's own refusal that ends like a closed connection is not one:
  // no remedy is added.
  await using refusing = startFakeServer({
    takeOver: async (conn) => {
      await conn.readMessage();
      await conn.send({
        type: "error",
        id: 0,
        code: "io",
        message: "Upstream store: the server closed the connection",
      });
    },
  });
  const refused = await connectPlain([`127.0.0.1:${refusing.port}`, "ls"]);
  assert.equal(
    refused.stderr,
    `fts: Cannot connect to 127.0.0.1:${refusing.port}: upstream store: the server closed the connection\n`,
  );
  // The server closing the connection during the handshake does get it.
  await using closing = startFakeServer({
    takeOver: async (conn) => {
      await conn.readMessage();
    },
  });
  const closed = await connectPlain([`127.0.0.1:${closing.port}`, "ls"]);
  assert.equal(
    closed.stderr,
    `fts: Cannot connect to 127.0.0.1:${closing.port}: the server closed the connection (if the server uses TLS, drop --no-tls)\n`,
  );
});
