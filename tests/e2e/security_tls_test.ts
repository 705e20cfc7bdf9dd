/**
 * TLS end to end through the command line: `fts serve` prints its
 * fingerprint, `fts connect` pins it like ssh's known_hosts, refuses what
 * it cannot verify, and `--no-tls` must be given on both sides.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { hostKey, KnownHosts } from "../../client/connect/known_hosts.ts";
import { startServer } from "../../server/server.ts";
import { pseudoRandomBytes } from "../_helpers/server/raw_client.ts";
import { createTestCa } from "../_helpers/tls/ca.ts";
import {
  FtsProcess,
  runFts,
  type TempDir,
  tempDir,
  testIdentity,
} from "../_helpers/server/security.ts";

const HOST = "127.0.0.1";
const FINGERPRINT = /^fingerprint (SHA256:[A-Za-z0-9+/]{43})$/;
const PLAIN_WARNING =
  /^fts: warning: the connection to 127\.0\.0\.1:\d+ is not encrypted \(--no-tls\)/;

/** `fts connect` with its own config folder (known_hosts) and local folder. */
function connect(config: TempDir, args: string[], cwd?: string) {
  return runFts(["connect", ...args], {
    env: { FTS_CONFIG_DIR: config.path },
    ...(cwd ? { cwd } : {}),
  });
}

async function knownHostsText(config: TempDir): Promise<string> {
  try {
    return await Deno.readTextFile(join(config.path, "known_hosts"));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

Deno.test("fts serve prints its fingerprint; fts connect --accept-new round-trips a file over TLS and pins it", async () => {
  await using root = await tempDir();
  await using local = await tempDir();
  await using config = await tempDir();
  await using serve = new FtsProcess([
    "serve",
    "--port",
    "0",
    "--root",
    root.path,
  ]);
  const port = await serve.port();
  assert.equal(serve.lines[0], `listening on ${HOST}:${port}`);
  const fingerprint = FINGERPRINT.exec(await serve.line(/^fingerprint /))?.[1];
  assert.ok(fingerprint, `second line: ${serve.lines[1]}`);
  // The key and certificate live in ROOT/.fts, readable by the owner only.
  for (const file of ["tls_key.pem", "tls_cert.pem"]) {
    const mode = (await Deno.stat(join(root.path, ".fts", file))).mode;
    assert.equal(mode! & 0o777, 0o600, file);
  }

  const data = pseudoRandomBytes(300_000, 7);
  await Deno.writeFile(join(local.path, "blob.bin"), data);
  const target = `${HOST}:${port}`;
  const put = await connect(
    config,
    ["--accept-new", target, "put", "blob.bin"],
    local.path,
  );
  assert.equal(put.code, 0, put.stderr);
  assert.equal(
    put.stderr,
    `Remembered ${fingerprint} for ${target} in "${
      join(config.path, "known_hosts")
    }"\n`,
  );
  assert.deepEqual(await Deno.readFile(join(root.path, "blob.bin")), data);
  assert.match(await knownHostsText(config), new RegExp(`^${target} `, "m"));
  const mode = (await Deno.stat(join(config.path, "known_hosts"))).mode;
  assert.equal(mode! & 0o777, 0o600);

  // Pinned now: no flag needed, nothing asked, nothing printed.
  await Deno.remove(join(local.path, "blob.bin"));
  const get = await connect(config, [target, "get", "blob.bin"], local.path);
  assert.deepEqual(get, { code: 0, stdout: "", stderr: "" });
  assert.deepEqual(await Deno.readFile(join(local.path, "blob.bin")), data);

  serve.child.kill("SIGTERM");
  const { code, stderr } = await serve.exit();
  assert.equal(code, 0, stderr);
  assert.equal(stderr, "");
  // The client's identity probes (a handshake, then a close) are not errors.
  const noisy = serve.lines.filter((l) =>
    /TLS handshake|TLS error|protocol error|internal error|refused/.test(l)
  );
  assert.deepEqual(noisy, []);
});

Deno.test("fts connect without a terminal refuses an unknown server and stores nothing", async () => {
  await using config = await tempDir();
  await using root = await tempDir();
  const tls = await testIdentity("a");
  await using server = await startServer({
    root: root.path,
    host: HOST,
    port: 0,
    tls,
  });
  const target = `${HOST}:${server.addr.port}`;
  const refused = await connect(config, [target, "ls"]);
  assert.equal(refused.code, 1);
  assert.equal(
    refused.stderr,
    `fts: Cannot connect to "${target}": its identity ${tls.fingerprint} is not known and there is no terminal to ask; pass --fingerprint with the fingerprint the server prints, or --accept-new\n`,
  );
  assert.equal(await knownHostsText(config), "");
});

Deno.test("fts connect --fingerprint: the right one connects and is remembered, a wrong one is refused naming both", async () => {
  await using config = await tempDir();
  await using root = await tempDir();
  const [a, b] = [await testIdentity("a"), await testIdentity("b")];
  await using server = await startServer({
    root: root.path,
    host: HOST,
    port: 0,
    tls: a,
  });
  const target = `${HOST}:${server.addr.port}`;
  const wrong = await connect(config, [
    "--fingerprint",
    b.fingerprint,
    target,
    "ls",
  ]);
  assert.equal(wrong.code, 1);
  assert.equal(
    wrong.stderr,
    `fts: Cannot connect to "${target}": it offered ${a.fingerprint}, not the expected ${b.fingerprint}\n`,
  );
  assert.equal(await knownHostsText(config), "");

  const right = await connect(config, [
    "--fingerprint",
    a.fingerprint,
    target,
    "ls",
  ]);
  assert.equal(right.code, 0, right.stderr);
  assert.match(
    right.stderr,
    new RegExp(`^Remembered ${escape(a.fingerprint)}`),
  );
  const known = new KnownHosts(join(config.path, "known_hosts"));
  assert.equal(
    await known.lookup(hostKey(HOST, server.addr.port)),
    a.fingerprint,
  );

  const usage = await connect(config, ["--fingerprint", "SHA256:nope", target]);
  assert.equal(usage.code, 2);
  assert.match(
    usage.stderr,
    /^fts: --fingerprint "SHA256:nope" is not a SHA256 fingerprint/,
  );
});

Deno.test("fts connect refuses a server whose key changed, naming both fingerprints", async () => {
  await using config = await tempDir();
  await using rootA = await tempDir();
  await using rootB = await tempDir();
  // First server: its own state folder, so its own new identity.
  let port: number;
  let first: string;
  {
    await using a = new FtsProcess([
      "serve",
      "--port",
      "0",
      "--root",
      rootA.path,
    ]);
    port = await a.port();
    first = FINGERPRINT.exec(await a.line(/^fingerprint /))![1]!;
    const ok = await connect(config, ["--accept-new", `${HOST}:${port}`, "ls"]);
    assert.equal(ok.code, 0, ok.stderr);
    a.child.kill("SIGTERM");
    assert.equal((await a.exit()).code, 0);
  }
  // Same host and port, a new state folder: a new key.
  await using b = new FtsProcess([
    "serve",
    "--port",
    String(port),
    "--root",
    rootB.path,
  ]);
  assert.equal(await b.port(), port);
  const second = FINGERPRINT.exec(await b.line(/^fingerprint /))![1]!;
  assert.notEqual(second, first);
  for (const flags of [[], ["--accept-new"], ["--fingerprint", second]]) {
    const result = await connect(config, [...flags, `${HOST}:${port}`, "ls"]);
    assert.equal(result.code, 1, flags.join(" "));
    assert.equal(
      result.stderr,
      `fts: WARNING: server identity for ${HOST}:${port} changed! stored ${first} offered ${second} — refusing to connect (if the server's key was replaced on purpose, forget the old one with "fts known-hosts rm ${HOST}:${port}")\n`,
    );
  }
  assert.match(await knownHostsText(config), new RegExp(escape(first)));
  assert.doesNotMatch(await knownHostsText(config), new RegExp(escape(second)));
  // The remedy, as printed: forget the old key, then trust the new one.
  const list = await runFts(["known-hosts", "list"], {
    env: { FTS_CONFIG_DIR: config.path },
  });
  assert.deepEqual(list, {
    code: 0,
    stdout: `${HOST}:${port} ${first}\n`,
    stderr: "",
  });
  const forget = await runFts(["known-hosts", "rm", `${HOST}:${port}`], {
    env: { FTS_CONFIG_DIR: config.path },
  });
  assert.equal(forget.code, 0, forget.stderr);
  const again = await connect(config, [
    "--fingerprint",
    second,
    `${HOST}:${port}`,
    "ls",
  ]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(await knownHostsText(config), new RegExp(escape(second)));
});

Deno.test("--no-tls on one side only is refused with a clear error, both ways", async () => {
  await using config = await tempDir();
  await using root = await tempDir();
  const tls = await testIdentity("a");
  const logs: string[] = [];
  {
    await using server = await startServer({
      root: root.path,
      host: HOST,
      port: 0,
      tls,
      log: (line) => logs.push(line),
    });
    const target = `${HOST}:${server.addr.port}`;
    const plainClient = await connect(config, ["--no-tls", target, "ls"]);
    assert.equal(plainClient.code, 1);
    const lines = plainClient.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 2, plainClient.stderr);
    assert.match(lines[0]!, PLAIN_WARNING);
    assert.equal(
      lines[1],
      `fts: Cannot connect to ${target}: the server uses TLS; drop --no-tls`,
    );
  }
  assert.equal(
    logs.filter((l) => /TLS handshake failed/.test(l)).length,
    1,
    logs.join("\n"),
  );
  assert.ok(
    logs.some((l) =>
      /TLS handshake failed: the client does not speak TLS/.test(l)
    ),
  );

  logs.length = 0;
  {
    await using server = await startServer({
      root: root.path,
      host: HOST,
      port: 0,
      log: (line) => logs.push(line),
    });
    const target = `${HOST}:${server.addr.port}`;
    const tlsClient = await connect(config, ["--accept-new", target, "ls"]);
    assert.equal(tlsClient.code, 1);
    assert.equal(
      tlsClient.stderr,
      `fts: Cannot connect to ${target}: the server does not use TLS; pass --no-tls on both sides (only on a trusted network)\n`,
    );
  }
  assert.ok(
    logs.some((l) => /refused: the client speaks TLS/.test(l)),
    logs.join("\n"),
  );
  assert.equal(await knownHostsText(config), "");
});

Deno.test("fts serve --no-tls warns on stderr and prints no fingerprint; fts connect --no-tls warns on each connection", async () => {
  await using root = await tempDir();
  await using local = await tempDir();
  await using config = await tempDir();
  await using serve = new FtsProcess([
    "serve",
    "--no-tls",
    "--port",
    "0",
    "--root",
    root.path,
  ]);
  const port = await serve.port();
  await Deno.writeTextFile(join(local.path, "a.txt"), "plain");
  const put = await connect(
    config,
    ["--no-tls", `${HOST}:${port}`, "put", "a.txt"],
    local.path,
  );
  assert.equal(put.code, 0, put.stderr);
  assert.match(put.stderr, PLAIN_WARNING);
  assert.equal(await Deno.readTextFile(join(root.path, "a.txt")), "plain");
  const mixed = await connect(config, [
    "--no-tls",
    "--accept-new",
    `${HOST}:${port}`,
  ]);
  assert.equal(mixed.code, 2);
  assert.equal(mixed.stderr, "fts: --accept-new needs TLS: drop --no-tls\n");
  serve.child.kill("SIGTERM");
  const { code, stderr } = await serve.exit();
  assert.equal(code, 0);
  assert.equal(
    stderr,
    "fts: warning: --no-tls: connections are not encrypted; passwords and files cross the network in clear text\n",
  );
  assert.ok(!serve.lines.some((l) => l.startsWith("fingerprint ")));
  assert.equal(await knownHostsText(config), "");
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

Deno.test("fts serve --cert/--key: clients verify the certificate against their roots, or --ca, and pin nothing", async () => {
  await using files = await tempDir();
  await using root = await tempDir();
  await using config = await tempDir();
  const ca = await createTestCa();
  const leaf = await ca.issue({ ip: [HOST] });
  const paths = {
    cert: join(files.path, "cert.pem"),
    key: join(files.path, "key.pem"),
    ca: join(files.path, "ca.pem"),
  };
  await Deno.writeTextFile(paths.cert, leaf.certPem);
  await Deno.writeTextFile(paths.key, leaf.keyPem);
  await Deno.writeTextFile(paths.ca, ca.certPem);
  await using serve = new FtsProcess([
    "serve",
    "--port",
    "0",
    "--root",
    root.path,
    "--cert",
    paths.cert,
    "--key",
    paths.key,
  ]);
  const port = await serve.port();
  assert.match(await serve.line(/^fingerprint /), FINGERPRINT);
  const target = `${HOST}:${port}`;
  const untrusted = await connect(config, [target, "ls"]);
  assert.equal(untrusted.code, 1);
  assert.match(
    untrusted.stderr,
    new RegExp(
      `^fts: Cannot connect to "${target}": the server could not prove its identity: its certificate is issued by "CN=[^"]+", an authority this client does not trust; for a private CA pass --ca FILE\\n$`,
    ),
  );
  const verified = await connect(config, ["--ca", paths.ca, target, "ls"]);
  assert.equal(verified.code, 0, verified.stderr);
  assert.equal(verified.stderr, "");
  assert.equal(
    await knownHostsText(config),
    "",
    "a real certificate is not pinned",
  );
  const generated = await Deno.stat(join(root.path, ".fts", "tls_key.pem"))
    .then(() => true, () => false);
  assert.equal(generated, false, "no identity generated beside --cert");
});
