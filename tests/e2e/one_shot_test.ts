/**
 * One command in one process (`fts connect HOST get NAME`) against the real
 * server over TLS, its identity pinned: what the process loads and how many
 * connections it opens.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer } from "../../server/server.ts";
import {
  loadOrCreateIdentity,
  type TlsIdentity,
} from "../../server/tls/tls_identity.ts";
import { runFts } from "../_helpers/e2e/fts_process.ts";
import { startCountingProxy } from "../_helpers/e2e/counting_proxy.ts";
import { runWithScriptLog } from "../_helpers/e2e/loaded_scripts.ts";
import { tempDir } from "../_helpers/common/temp_dir.ts";

/** One server identity for the whole file, made by the first test that asks. */
let identity: Promise<TlsIdentity> | null = null;
function serverIdentity(): Promise<TlsIdentity> {
  identity ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "fts_e2e_identity_" });
    try {
      return await loadOrCreateIdentity(dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return identity;
}

const CONTENT = "one small file\n".repeat(300);

/**
 * A server holding `f.txt`, behind a proxy that counts connections, and a
 * client config folder in which the server is already known (trusted once
 * with `--accept-new`, as a user's first connection leaves it).
 */
async function withKnownServer(
  run: (
    ctx: {
      target: string;
      local: string;
      env: Record<string, string>;
      connections: () => number;
    },
  ) => Promise<void>,
): Promise<void> {
  await using root = await tempDir();
  await using local = await tempDir();
  await using config = await tempDir();
  await Deno.writeTextFile(join(root.path, "f.txt"), CONTENT);
  await using server = await startServer({
    root: root.path,
    host: "127.0.0.1",
    port: 0,
    tls: await serverIdentity(),
  });
  await using proxy = startCountingProxy(server.addr.port);
  const target = `127.0.0.1:${proxy.port}`;
  const env = { FTS_CONFIG_DIR: config.path };
  const first = await runFts(["connect", target, "--accept-new", "ls"], {
    env,
    cwd: local.path,
  });
  assert.equal(first.code, 0, first.stderr);
  const before = proxy.accepted;
  await run({
    target,
    local: local.path,
    env,
    connections: () => proxy.accepted - before,
  });
}

Deno.test("fts connect HOST get NAME opens exactly one connection to a known server", async () => {
  await withKnownServer(async ({ target, local, env, connections }) => {
    const result = await runFts(["connect", target, "get", "f.txt"], {
      env,
      cwd: local,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await Deno.readTextFile(join(local, "f.txt")), CONTENT);
    assert.equal(connections(), 1, "no probe connection before the real one");
  });
});

/** Scripts a one-shot download of a plain file has no use for. */
const NOT_FOR_A_DOWNLOAD: readonly [string, RegExp][] = [
  ["the server", /\/server\//],
  ["x509", /@peculiar|asn1|tsyringe|reflect-metadata/],
  [
    "age",
    /age-encryption|@noble|\/client\/vault\/age_|\/client\/vault\/identity/,
  ],
  ["picomatch", /picomatch/],
  [
    "the interactive shell",
    /\/client\/shell\/shell\.ts$|\/client\/term\/line_editor\.ts$/,
  ],
  ["the certificate probe", /\/client\/connect\/tls_probe\.ts$|^node:tls$/],
];

Deno.test("fts connect HOST get NAME loads neither the server, x509, age, picomatch, the shell nor the probe", async () => {
  await withKnownServer(async ({ target, local, env }) => {
    const result = await runWithScriptLog(["connect", target, "get", "f.txt"], {
      env,
      cwd: local,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await Deno.readTextFile(join(local, "f.txt")), CONTENT);
    // The log sees the modules the download does need.
    for (const needed of ["/client/engine/download.ts", "/main.ts"]) {
      assert.ok(
        result.scripts.some((url) => url.endsWith(needed)),
        `${needed} was loaded`,
      );
    }
    for (const [what, pattern] of NOT_FOR_A_DOWNLOAD) {
      const loaded = result.scripts.filter((url) => pattern.test(url));
      assert.deepEqual(loaded, [], `${what} was loaded`);
    }
  });
});
