import assert from "node:assert/strict";
import { join } from "node:path";
import { openSession } from "../../client/engine/session.ts";
import { randomChunks, writeChunks } from "../../bench/datasets.ts";
import { startServer } from "../../server/server.ts";
import { memoryTempDir } from "../_helpers/common/temp_dir.ts";
import { withServedFolders } from "../_helpers/e2e/served_folders.ts";

const MIB = 1024 * 1024;

Deno.test("e2e: a limit of 20 MiB/s keeps a 100 MiB upload between 4.5 and 6 s", async () => {
  // In memory, so that a busy disk's fsync of 100 MiB does not decide the
  // upper bound: what is timed is the limit.
  await using root = await memoryTempDir();
  await using local = await memoryTempDir();
  await using server = await startServer({ root: root.path, port: 0 });
  const size = 100 * MIB;
  // Random, so that compression cannot shrink what the limit counts.
  writeChunks(join(local.path, "big.bin"), randomChunks("limit", size));
  await using session = await openSession({
    hostname: "127.0.0.1",
    port: server.addr.port,
  }, { limit: 20 * MIB });
  const started = performance.now();
  await session.put(join(local.path, "big.bin"), "big.bin");
  const seconds = (performance.now() - started) / 1000;
  assert.equal((await Deno.stat(join(root.path, "big.bin"))).size, size);
  assert.ok(seconds >= 4.5, `${seconds.toFixed(2)} s: faster than the limit`);
  assert.ok(seconds <= 6, `${seconds.toFixed(2)} s: slower than the limit`);
});

Deno.test("e2e: --limit-per-client holds each download to its rate", async () => {
  await withServedFolders(async ({ root, local, port }) => {
    writeChunks(join(root, "a.bin"), randomChunks("a", 3 * MIB));
    await using session = await openSession({ hostname: "127.0.0.1", port });
    const started = performance.now();
    await session.get("a.bin", local);
    const seconds = (performance.now() - started) / 1000;
    // 3 MiB at 4 MiB/s, less the 0.4 MiB burst: 0.65 s at least.
    assert.ok(seconds >= 0.6, `${seconds.toFixed(2)} s`);
  }, { limitPerClient: 4 * MIB });
});

Deno.test("e2e: --limit-total shares the server's bandwidth fairly between two clients", async () => {
  await withServedFolders(async ({ root, local, port }) => {
    const size = 6 * MIB;
    writeChunks(join(root, "a.bin"), randomChunks("a", size));
    writeChunks(join(root, "b.bin"), randomChunks("b", size));
    const target = { hostname: "127.0.0.1", port };
    await using first = await openSession(target);
    await using second = await openSession(target);
    const started = performance.now();
    const timed = async (session: typeof first, name: string) => {
      await session.get(name, local);
      return (performance.now() - started) / 1000;
    };
    const [a, b] = await Promise.all([
      timed(first, "a.bin"),
      timed(second, "b.bin"),
    ]);
    // 12 MiB at 8 MiB/s, less the 0.8 MiB burst: 1.4 s for the two.
    assert.ok(Math.max(a, b) >= 1.3, `${a.toFixed(2)} s and ${b.toFixed(2)} s`);
    // Taking turns, both end together; one served first would end at half
    // the time of the other.
    assert.ok(
      Math.min(a, b) >= 0.8 * Math.max(a, b),
      `${a.toFixed(2)} s and ${b.toFixed(2)} s`,
    );
  }, { limitTotal: 8 * MIB });
});

Deno.test("e2e: time the server's limit holds a transfer back is not idle time", async () => {
  // Each transfer takes about 0.9 s at 64 KiB/s, three idle timeouts.
  await withServedFolders(async ({ root, local, port }) => {
    writeChunks(join(local, "up.bin"), randomChunks("up", 64 * 1024));
    await using session = await openSession({ hostname: "127.0.0.1", port });
    await session.put(join(local, "up.bin"), "up.bin");
    const got = await session.get("up.bin", local, { localName: "down.bin" });
    assert.deepEqual(
      await Deno.readFile(got.path),
      await Deno.readFile(join(root, "up.bin")),
    );
  }, { limitPerClient: 64 * 1024, idleTimeoutMs: 300 });
});
