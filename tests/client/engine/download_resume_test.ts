/**
 * Resumed downloads (feature "resume") through a real server: a download
 * cut by a dropped connection leaves a hidden partial and a sidecar, and
 * the same download run again fetches only what is missing or damaged,
 * checks the whole file and commits it; a changed remote file starts over,
 * never a mixed file; `resume: false` and a server without the feature
 * start over.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { openSession } from "../../../client/engine/session.ts";
import { KNOWN_FEATURES } from "../../../protocol/messages.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";
import { startCuttingProxy } from "../../_helpers/e2e/cutting_proxy.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";
import { pseudoRandomBytes } from "../../_helpers/server/raw_client.ts";
import { startServer } from "../../../server/server.ts";

const MIB = 1024 * 1024;
const SIZE = 6 * MIB + 1234;

/** Names in `dir`, sorted. */
function namesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/** The server's log lines of downloads of `name`. */
function getLines(logs: readonly string[], name: string): string[] {
  return logs.filter((l) => l.includes(`get "${name}"`));
}

/** Bytes the server logged as sent for `name` from log line `from` on. */
function bytesSent(logs: readonly string[], name: string, from = 0): number {
  return getLines(logs.slice(from), name)
    .map((l) => Number(/ (\d+) B /.exec(l)?.[1] ?? NaN))
    .reduce((a, b) => a + b, 0);
}

/**
 * Starts a download of `name` through a proxy that drops the connection
 * after `cutAfter` bytes; resolves once it failed, leaving its partial.
 */
async function cutDownload(
  port: number,
  name: string,
  dir: string,
  cutAfter: number,
): Promise<void> {
  await using proxy = startCuttingProxy(port, {
    after: cutAfter,
    mode: "cut",
    direction: "down",
  });
  await using session = await openSession(`127.0.0.1:${proxy.port}`);
  await assert.rejects(session.get(name, dir));
}

/** The partial's and sidecar's paths in `dir` (exactly one of each). */
function partialOf(dir: string): { part: string; sums: string } {
  const names = namesIn(dir);
  const part = names.filter((n) => /^\.fts-resume-[0-9a-f]{16}\.part$/.test(n));
  const sums = names.filter((n) => /^\.fts-resume-[0-9a-f]{16}\.sums$/.test(n));
  assert.equal(part.length, 1, names.join(", "));
  assert.equal(sums.length, 1, names.join(", "));
  return { part: join(dir, part[0]!), sums: join(dir, sums[0]!) };
}

Deno.test("a download cut by a dropped connection resumes: byte-identical, and the bytes before the cut are not sent again", async () => {
  await using t = await startTestServer();
  await using local = await tempDir();
  const data = pseudoRandomBytes(SIZE, 11);
  await Deno.writeFile(join(t.root, "big.bin"), data);
  await cutDownload(t.server.addr.port, "big.bin", local.path, 4 * MIB);
  const { part } = partialOf(local.path);
  assert.ok(Deno.statSync(part).size >= MIB, "whole blocks were kept");
  const before = t.logs.length;
  await using session = await openSession(`127.0.0.1:${t.server.addr.port}`);
  const result = await session.get("big.bin", local.path);
  assert.deepEqual(await Deno.readFile(join(local.path, "big.bin")), data);
  assert.ok(result.resumedAt !== undefined && result.resumedAt >= MIB);
  assert.equal(result.resumedAt % MIB, 0);
  assert.equal(result.size, SIZE);
  assert.equal(bytesSent(t.logs, "big.bin", before), SIZE - result.resumedAt);
  assert.ok(
    getLines(t.logs.slice(before), "big.bin")[0]!.includes(
      `from ${result.resumedAt} `,
    ),
  );
  assert.deepEqual(namesIn(local.path), ["big.bin"]);
});

Deno.test("a resumed download fetches again only the block that was damaged in the partial", async () => {
  await using t = await startTestServer();
  await using local = await tempDir();
  const data = pseudoRandomBytes(SIZE, 12);
  await Deno.writeFile(join(t.root, "big.bin"), data);
  await cutDownload(t.server.addr.port, "big.bin", local.path, 4 * MIB);
  const { part } = partialOf(local.path);
  assert.ok(Deno.statSync(part).size >= 2 * MIB, "two blocks were kept");
  const file = await Deno.open(part, { read: true, write: true });
  const byte = new Uint8Array(1);
  await file.seek(MIB + 77, Deno.SeekMode.Start);
  await file.read(byte);
  await file.seek(MIB + 77, Deno.SeekMode.Start);
  await file.write(new Uint8Array([byte[0]! ^ 0xff]));
  file.close();
  const before = t.logs.length;
  await using session = await openSession(`127.0.0.1:${t.server.addr.port}`);
  const result = await session.get("big.bin", local.path);
  assert.deepEqual(await Deno.readFile(join(local.path, "big.bin")), data);
  const lines = getLines(t.logs.slice(before), "big.bin");
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[0]!, / from 1048576 length 1048576 1048576 B /);
  assert.match(lines[1]!, new RegExp(` from ${result.resumedAt} `));
  assert.equal(
    bytesSent(t.logs, "big.bin", before),
    MIB + SIZE - result.resumedAt!,
  );
});

for (const keepTimes of [false, true]) {
  Deno.test(
    `a remote file changed between tries${
      keepTimes ? " (same size and mtime)" : ""
    } is detected and downloaded again whole, never mixed`,
    async () => {
      await using t = await startTestServer();
      await using local = await tempDir();
      const path = join(t.root, "big.bin");
      await Deno.writeFile(path, pseudoRandomBytes(SIZE, 13));
      const old = Deno.statSync(path);
      await cutDownload(t.server.addr.port, "big.bin", local.path, 4 * MIB);
      partialOf(local.path);
      const changed = pseudoRandomBytes(SIZE, 14);
      await Deno.writeFile(path, changed);
      if (keepTimes) Deno.utimeSync(path, old.atime!, old.mtime!);
      else Deno.utimeSync(path, new Date(), new Date(2_000_000_000_000));
      await using session = await openSession(
        `127.0.0.1:${t.server.addr.port}`,
      );
      const result = await session.get("big.bin", local.path);
      assert.deepEqual(
        await Deno.readFile(join(local.path, "big.bin")),
        changed,
      );
      assert.equal(result.resumedAt, undefined);
      assert.deepEqual(namesIn(local.path), ["big.bin"]);
    },
  );
}

Deno.test("get with resume false removes the partial and downloads from the start", async () => {
  await using t = await startTestServer();
  await using local = await tempDir();
  const data = pseudoRandomBytes(SIZE, 15);
  await Deno.writeFile(join(t.root, "big.bin"), data);
  await cutDownload(t.server.addr.port, "big.bin", local.path, 4 * MIB);
  partialOf(local.path);
  const before = t.logs.length;
  await using session = await openSession(`127.0.0.1:${t.server.addr.port}`);
  const result = await session.get("big.bin", local.path, { resume: false });
  assert.equal(result.resumedAt, undefined);
  assert.deepEqual(await Deno.readFile(join(local.path, "big.bin")), data);
  assert.equal(bytesSent(t.logs, "big.bin", before), SIZE);
  assert.deepEqual(namesIn(local.path), ["big.bin"]);
});

Deno.test("a server without the feature resume gets the whole file again, and the download works", async () => {
  await using t = await startTestServer({
    features: KNOWN_FEATURES.filter((f) => f !== "resume"),
  });
  await using local = await tempDir();
  const data = pseudoRandomBytes(SIZE, 16);
  await Deno.writeFile(join(t.root, "big.bin"), data);
  await cutDownload(t.server.addr.port, "big.bin", local.path, 4 * MIB);
  // Without the feature nothing is kept.
  assert.deepEqual(namesIn(local.path), []);
  const before = t.logs.length;
  await using session = await openSession(`127.0.0.1:${t.server.addr.port}`);
  const result = await session.get("big.bin", local.path);
  assert.equal(result.resumedAt, undefined);
  assert.deepEqual(await Deno.readFile(join(local.path, "big.bin")), data);
  assert.equal(bytesSent(t.logs, "big.bin", before), SIZE);
});

/**
 * Resolves once a file whose name matches `pattern` exists in `dir`;
 * rejects after 20 s so that a bug fails instead of hanging.
 */
async function fileAppears(dir: string, pattern: RegExp): Promise<void> {
  using watcher = Deno.watchFs(dir, { recursive: false });
  const present = () =>
    [...Deno.readDirSync(dir)].some((e) => pattern.test(e.name));
  if (present()) return;
  const timer = setTimeout(() => watcher.close(), 20_000);
  try {
    for await (const _event of watcher) {
      if (present()) return;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`No file matched ${pattern} within 20 s`);
}

Deno.test("a download cut by a server shutdown keeps its partial and resumes from the restarted server", async () => {
  await using root = await tempDir();
  await using local = await tempDir();
  // Larger than what the socket buffers hold, so that the server is still
  // sending when it shuts down.
  const data = pseudoRandomBytes(48 * MIB, 17);
  await Deno.writeFile(join(root.path, "big.bin"), data);
  {
    await using first = await startServer({
      root: root.path,
      host: "127.0.0.1",
      port: 0,
    });
    // A slow link, so that the shutdown comes in the middle.
    await using session = await openSession(`127.0.0.1:${first.addr.port}`, {
      limit: 8 * MIB,
    });
    const getting = session.get("big.bin", local.path);
    getting.catch(() => {}); // awaited below
    await fileAppears(local.path, /^\.fts-resume-[0-9a-f]{16}\.sums$/);
    await first.shutdown(0);
    await assert.rejects(getting);
  }
  partialOf(local.path);
  assert.ok(!namesIn(local.path).includes("big.bin"));
  await using second = await startServer({
    root: root.path,
    host: "127.0.0.1",
    port: 0,
  });
  await using session = await openSession(`127.0.0.1:${second.addr.port}`);
  const result = await session.get("big.bin", local.path);
  assert.ok(result.resumedAt !== undefined && result.resumedAt >= MIB);
  assert.deepEqual(await Deno.readFile(join(local.path, "big.bin")), data);
  assert.deepEqual(namesIn(local.path), ["big.bin"]);
});

Deno.test("get -r cut by a dropped connection resumes its interrupted file when run again", async () => {
  await using t = await startTestServer();
  await using local = await tempDir();
  const big = pseudoRandomBytes(SIZE, 18);
  await Deno.mkdir(join(t.root, "d"));
  await Deno.writeTextFile(join(t.root, "d", "a.txt"), "small a");
  await Deno.writeFile(join(t.root, "d", "big.bin"), big);
  await Deno.writeTextFile(join(t.root, "d", "c.txt"), "small c");
  const target = join(local.path, "d");
  {
    await using proxy = startCuttingProxy(t.server.addr.port, {
      after: 4 * MIB,
      mode: "cut",
      direction: "down",
    });
    await using session = await openSession(`127.0.0.1:${proxy.port}`);
    // The cut fails the tree as a whole or the files in flight.
    const cut = await session.getTree("d", target).catch(() => null);
    assert.ok(cut === null || cut.failed > 0);
  }
  partialOf(target);
  const before = t.logs.length;
  await using session = await openSession(`127.0.0.1:${t.server.addr.port}`);
  const summary = await session.getTree("d", target);
  assert.equal(summary.failed, 0);
  assert.equal(summary.resumed, 1);
  assert.ok(summary.resumedBytes >= MIB);
  assert.deepEqual(await Deno.readFile(join(target, "big.bin")), big);
  assert.equal(await Deno.readTextFile(join(target, "a.txt")), "small a");
  assert.equal(await Deno.readTextFile(join(target, "c.txt")), "small c");
  assert.deepEqual(namesIn(target), ["a.txt", "big.bin", "c.txt"]);
  assert.ok(
    bytesSent(t.logs, "d/big.bin", before) <= SIZE - summary.resumedBytes,
  );
});

Deno.test("an interrupted download of less than a block leaves nothing behind", async () => {
  await using t = await startTestServer();
  await using local = await tempDir();
  await Deno.writeFile(
    join(t.root, "small.bin"),
    pseudoRandomBytes(MIB - 1, 19),
  );
  await cutDownload(t.server.addr.port, "small.bin", local.path, MIB / 2);
  assert.deepEqual(namesIn(local.path), []);
});
