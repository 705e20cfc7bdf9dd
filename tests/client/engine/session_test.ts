import assert from "node:assert/strict";
import type { Clock } from "../../../common/clock.ts";
import { join } from "node:path";
import { openSession } from "../../../client/engine/session.ts";
import { StallWatchdog } from "../../../client/engine/stall_watchdog.ts";
import { FtsError } from "../../../protocol/errors.ts";
import {
  checksumOnly,
  DEFAULT_CHUNK,
  type MessageOf,
} from "../../../protocol/messages.ts";
import { UNCONFIRMED_BYTES } from "../../../client/engine/upload_sender.ts";
import {
  answerCancel,
  goingAwayOnMkdir,
  putAnsweredBy,
  refuseWith,
  sendStalledGet,
  sha256Hex,
  startFakeServer,
} from "../../_helpers/client/fake_server.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

function bytesOf(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("openSession() offers version 1, zstd, mode, usage, pull, sums, resume and xxh128, and negotiates zstd by default", async () => {
  await using server = startFakeServer();
  await using session = await openSession(`127.0.0.1:${server.port}`);
  assert.deepEqual(server.hello?.versions, [1]);
  assert.deepEqual(server.hello?.features, [
    "zstd",
    "mode",
    "usage",
    "pull",
    "sums",
    "resume",
    "xxh128",
  ]);
  // The fake server knows only zstd.
  assert.deepEqual(session.features, ["zstd"]);
  assert.equal(session.serverAgent, "fake/1");
});

Deno.test("openSession() with compress: false does not offer zstd", async () => {
  await using server = startFakeServer();
  await using session = await openSession(`127.0.0.1:${server.port}`, {
    compress: false,
  });
  assert.deepEqual(server.hello?.features, [
    "mode",
    "usage",
    "pull",
    "sums",
    "resume",
    "xxh128",
  ]);
  assert.deepEqual(session.features, []);
});

Deno.test("openSession() with checksum: sha256 does not offer xxh128", async () => {
  await using server = startFakeServer({ features: ["zstd", "xxh128"] });
  await using session = await openSession(`127.0.0.1:${server.port}`, {
    checksum: "sha256",
  });
  assert.ok(!server.hello?.features.includes("xxh128"));
  assert.deepEqual(session.features, ["zstd"]);
});

Deno.test("openSession() reports a refused connection in one line", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await assert.rejects(
    openSession(`127.0.0.1:${port}`),
    (error: Error) => {
      assert.equal(
        error.message,
        `Cannot connect to 127.0.0.1:${port}: connection refused`,
      );
      return true;
    },
  );
});

Deno.test("openSession() refuses a peer that does not speak fts", async () => {
  await using server = startFakeServer({
    takeOver: async (_conn, raw) => {
      await raw.write(
        new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"),
      );
    },
  });
  await assert.rejects(
    openSession(`127.0.0.1:${server.port}`),
    (error: Error) => {
      assert.match(
        error.message,
        new RegExp(
          `^Cannot connect to 127\\.0\\.0\\.1:${server.port}: the server does not speak fts`,
        ),
      );
      return true;
    },
  );
});

Deno.test("openSession() gives up when the server never answers HELLO", async () => {
  await using server = startFakeServer({
    takeOver: async (conn) => {
      await conn.readFrame(); // the HELLO, then silence until the client hangs up
      await conn.readFrame();
    },
  });
  await assert.rejects(
    openSession(`127.0.0.1:${server.port}`, { handshakeTimeoutMs: 50 }),
    /: no answer within 50 ms$/,
  );
});

Deno.test("openSession() refuses a WELCOME with a feature that was not offered", async () => {
  await using server = startFakeServer({ welcome: { features: ["zstd"] } });
  await assert.rejects(
    openSession(`127.0.0.1:${server.port}`, { compress: false }),
    /does not speak fts/,
  );
});

Deno.test("ClientSession.list() returns valid entries and sets unsafe names aside", async () => {
  await using server = startFakeServer({
    files: { "a.txt": bytesOf(5) },
    dirs: ["docs"],
    handle: async (ctx, m) => {
      if (m.type !== "list") return false;
      await ctx.send({
        type: "entries",
        id: m.id,
        more: true,
        entries: [
          { name: "a.txt", type: "file", size: 5, mtime: 1 },
          { name: "../../etc/passwd", type: "file", size: 1, mtime: 1 },
        ],
      });
      await ctx.send({
        type: "entries",
        id: m.id,
        more: false,
        entries: [
          { name: "/etc/shadow", type: "file", size: 1, mtime: 1 },
          { name: "evil\x1b[2J", type: "file", size: 1, mtime: 1 },
          { name: "cafe\u0301", type: "dir", size: 0, mtime: 2 },
        ],
      });
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const listing = await session.list("");
  assert.deepEqual(listing.entries.map((e) => e.name), ["a.txt", "caf\u00e9"]);
  assert.deepEqual(listing.refused, [
    "../../etc/passwd",
    "/etc/shadow",
    "evil\x1b[2J",
  ]);
  assert.equal(listing.refusedCount, 3);
});

Deno.test("ClientSession.list() of a missing folder fails with the server's reason", async () => {
  await using server = startFakeServer({
    handle: refuseWith("list", "not_found", "No such folder"),
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await assert.rejects(session.list("nope"), {
    message: 'Cannot list "nope": no such folder on the server',
  });
});

for (
  const size of [0, 1, DEFAULT_CHUNK, DEFAULT_CHUNK + 1, 3 * 1024 * 1024 + 5]
) {
  Deno.test(`ClientSession.put() and get() round-trip ${size} bytes exactly`, async () => {
    await using server = startFakeServer();
    await using session = await openSession(`127.0.0.1:${server.port}`);
    await using tmp = await tempDir();
    const dir = tmp.path;
    const data = bytesOf(size, size);
    await Deno.writeFile(join(dir, "in.bin"), data);
    const seen: number[] = [];
    const put = await session.put(join(dir, "in.bin"), "up/file.bin", {
      onProgress: (p) => seen.push(p.bytes),
    });
    assert.deepEqual(put, {
      name: "up/file.bin",
      size,
      sha256: sha256Hex(data),
    });
    assert.deepEqual(server.files.get("up/file.bin")?.bytes, data);
    assert.equal(seen.at(-1), size);
    const got = await session.get("up/file.bin", dir, {
      localName: "out.bin",
    });
    assert.equal(got.path, join(await Deno.realPath(dir), "out.bin"));
    assert.deepEqual(await Deno.readFile(got.path), data);
    assert.equal(got.sha256, sha256Hex(data));
    assert.equal(
      (await Deno.stat(got.path)).mtime?.getTime(),
      server.files.get("up/file.bin")?.mtime,
    );
    assert.deepEqual(await listDir(dir), ["in.bin", "out.bin"]);
  });
}

Deno.test("ClientSession.put() reports the server's collision name", async () => {
  await using server = startFakeServer({ files: { "a.txt": bytesOf(3) } });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const dir = tmp.path;
  await Deno.writeTextFile(join(dir, "a.txt"), "new");
  const result = await session.put(join(dir, "a.txt"), "a.txt");
  assert.equal(result.name, "(1) a.txt");
  assert.deepEqual(server.files.get("a.txt")?.bytes, bytesOf(3));
  const replaced = await session.put(join(dir, "a.txt"), "a.txt", {
    overwrite: true,
  });
  assert.equal(replaced.name, "a.txt");
  assert.equal(
    new TextDecoder().decode(server.files.get("a.txt")?.bytes),
    "new",
  );
  assert.deepEqual(
    server.received.filter((m) => m.type === "put").map((m) =>
      m.type === "put" && m.overwrite
    ),
    [false, true],
  );
});

Deno.test("ClientSession.put() refuses a local file that changed since it was listed", async () => {
  await using server = startFakeServer();
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = join(dir, "a.txt");
  await Deno.writeTextFile(path, "one");
  const info = await Deno.stat(path);
  const expectLocal = { size: info.size, mtime: info.mtime!.getTime() };
  await Deno.writeTextFile(path, "four");
  await assert.rejects(session.put(path, "a.txt", { expectLocal }), {
    message: 'Cannot put "a.txt": the local file changed since it was listed',
  });
  assert.equal(server.files.size, 0);
  assert.equal(server.received.length, 0);
});

Deno.test("ClientSession.put() of a missing local file names it and the reason", async () => {
  await using server = startFakeServer();
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await assert.rejects(session.put("/nonexistent/x.txt", "x.txt"), {
    message: 'Cannot put "x.txt": no such local file or folder',
  });
});

Deno.test("ClientSession.put() stops sending when the server refuses", async () => {
  await using server = startFakeServer({
    handle: refuseWith(
      "put",
      "quota_exceeded",
      'Cannot upload "big.bin": quota of 10 MiB exceeded',
    ),
  });
  const session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const dir = tmp.path;
  await Deno.writeFile(join(dir, "big.bin"), bytesOf(20 * 1024 * 1024));
  await assert.rejects(session.put(join(dir, "big.bin"), "big.bin"), {
    message: 'Cannot put "big.bin": quota of 10 MiB exceeded',
  });
  await session.close();
  await server.close();
  // Data goes ahead of PUT_READY only up to the window, and stops at the refusal.
  const types = server.received.map((m) => m.type);
  assert.equal(types[0], "put");
  assert.ok(!types.includes("put_end"));
  const data = types.filter((t) => t === "data").length;
  assert.ok(data * DEFAULT_CHUNK <= UNCONFIRMED_BYTES, `${data} chunks sent`);
});

Deno.test("ClientSession.put() fails when PUT_DONE disagrees with what was sent", async () => {
  const put = putAnsweredBy(() => ({
    name: "a.txt",
    size: 3,
    sha256: "0".repeat(64),
  }));
  await assert.rejects(put, {
    message:
      'Cannot put "a.txt": the server reports a different size or SHA-256 than was sent',
  });
});

Deno.test("ClientSession.put() with zstd sends compressible chunks compressed", async () => {
  await using server = startFakeServer();
  await using session = await openSession(`127.0.0.1:${server.port}`, {
    compress: true,
  });
  await using tmp = await tempDir();
  const dir = tmp.path;
  const text = new TextEncoder().encode(
    "fts compresses text well. ".repeat(150_000),
  );
  await Deno.writeFile(join(dir, "t.txt"), text);
  await session.put(join(dir, "t.txt"), "t.txt");
  assert.deepEqual(server.files.get("t.txt")?.bytes, text);
  const data = server.received.filter((m) => m.type === "data");
  assert.ok(data.length >= 3);
  assert.ok(data.every((m) => m.type === "data" && m.zstd));
});

Deno.test("ClientSession.get() keeps an existing local file and saves as (1) name", async () => {
  await using server = startFakeServer({ files: { "a.txt": bytesOf(10) } });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const dir = tmp.path;
  await Deno.writeTextFile(join(dir, "a.txt"), "mine");
  const first = await session.get("a.txt", dir);
  assert.equal(first.path, join(await Deno.realPath(dir), "(1) a.txt"));
  const second = await session.get("a.txt", dir);
  assert.equal(second.path, join(await Deno.realPath(dir), "(2) a.txt"));
  assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "mine");
  const replaced = await session.get("a.txt", dir, { overwrite: true });
  assert.equal(replaced.path, join(await Deno.realPath(dir), "a.txt"));
  assert.deepEqual(await Deno.readFile(join(dir, "a.txt")), bytesOf(10));
  assert.deepEqual(await listDir(dir), ["(1) a.txt", "(2) a.txt", "a.txt"]);
});

Deno.test("ClientSession.get() of a missing file says so", async () => {
  await using server = startFakeServer();
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const dir = tmp.path;
  await assert.rejects(session.get("x.txt", dir), (error: unknown) => {
    assert.ok(error instanceof FtsError);
    assert.equal(error.code, "not_found");
    assert.equal(
      error.message,
      'Cannot get "x.txt": no such file on the server',
    );
    return true;
  });
  assert.deepEqual(await listDir(dir), []);
});

Deno.test("ClientSession.get() with a stale expect is refused, not applied", async () => {
  await using server = startFakeServer({ files: { "a.txt": bytesOf(10) } });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const dir = tmp.path;
  await assert.rejects(
    session.get("a.txt", dir, { expect: { size: 9, mtime: 1 } }),
    {
      message: 'Cannot get "a.txt": it changed or vanished since it was listed',
    },
  );
  assert.deepEqual(await listDir(dir), []);
});

Deno.test("ClientSession.get() creates subfolders for a nested name inside the folder", async () => {
  await using server = startFakeServer({ files: { "a/b/c.txt": bytesOf(4) } });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const dir = tmp.path;
  const result = await session.get("a/b/c.txt", dir);
  assert.equal(
    result.path,
    join(await Deno.realPath(dir), "a", "b", "c.txt"),
  );
  assert.deepEqual(await Deno.readFile(result.path), bytesOf(4));
});

Deno.test("ClientSession.get() refuses a subfolder that is a symlink out of the folder", async () => {
  await using server = startFakeServer({ files: { "link/x.txt": bytesOf(4) } });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const dir = await Deno.makeTempDir();
  const outside = await Deno.makeTempDir();
  try {
    await Deno.symlink(outside, join(dir, "link"));
    await assert.rejects(
      session.get("link/x.txt", dir),
      /is a link that leads outside/,
    );
    assert.deepEqual(await listDir(outside), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("ClientSession.get() refuses hostile names before sending anything", async () => {
  await using server = startFakeServer();
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const dir = tmp.path;
  for (
    const name of [
      "../../etc/passwd",
      "/etc/passwd",
      "a/../../b",
      "..\\x",
      "a\x1b[2J",
    ]
  ) {
    await assert.rejects(session.get(name, dir), (error: unknown) => {
      assert.ok(error instanceof FtsError);
      assert.equal(error.code, "invalid_name");
      // deno-lint-ignore no-control-regex -- the test looks for raw escapes
      assert.doesNotMatch(error.message, /\x1b/);
      return true;
    });
  }
  assert.equal(server.received.length, 0);
  assert.deepEqual(await listDir(dir), []);
});

Deno.test("ClientSession.remove(), rename() and mkdir() do what they say", async () => {
  await using server = startFakeServer({
    files: { "a.txt": bytesOf(3), "b.txt": bytesOf(4) },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await session.rename("a.txt", "c.txt");
  assert.deepEqual([...server.files.keys()].sort(), ["b.txt", "c.txt"]);
  await assert.rejects(session.rename("b.txt", "c.txt"), {
    message: 'Cannot rename "b.txt": it already exists on the server',
  });
  await session.rename("b.txt", "c.txt", { overwrite: true });
  assert.deepEqual([...server.files.keys()], ["c.txt"]);
  await assert.rejects(
    session.remove("c.txt", { expect: { size: 4, mtime: 5 } }),
    {
      message:
        'Cannot delete "c.txt": it changed or vanished since it was listed',
    },
  );
  await session.remove("c.txt");
  assert.equal(server.files.size, 0);
  await session.mkdir("new dir");
  assert.ok(server.dirs.has("new dir"));
  await assert.rejects(session.remove("c.txt"), {
    message: 'Cannot delete "c.txt": no such file on the server',
  });
});

Deno.test("ClientSession reports GOING_AWAY through onGoingAway", async () => {
  await using server = startFakeServer({
    handle: goingAwayOnMkdir("Server is shutting down"),
  });
  const notices: unknown[] = [];
  await using session = await openSession(`127.0.0.1:${server.port}`, {
    onGoingAway: (notice) => notices.push(notice),
  });
  await session.mkdir("x");
  assert.deepEqual(notices, [{
    graceMs: 30_000,
    reason: "Server is shutting down",
  }]);
  assert.deepEqual(session.goingAway, {
    graceMs: 30_000,
    reason: "Server is shutting down",
  });
});

Deno.test("ClientSession.putMany() pipelines small files without a round trip each", async () => {
  // The server holds every reply back until 20 uploads have arrived: a
  // client that waited for each reply would never get there.
  const ends: MessageOf<"put_end">[] = [];
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (m.type !== "put_end") return false;
      ends.push(m);
      if (ends.length < 20) return true;
      for (const end of ends) {
        const put = ctx.server.received.find((r) =>
          r.type === "put" && r.id === end.id
        );
        assert.ok(put?.type === "put");
        await ctx.send({
          type: "put_done",
          id: put.id,
          name: put.name,
          size: put.size,
          ...checksumOnly(end),
        });
      }
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const dir = tmp.path;
  const items = [];
  for (let i = 0; i < 20; i++) {
    await Deno.writeFile(join(dir, `f${i}`), bytesOf(100 + i, i));
    items.push({ localPath: join(dir, `f${i}`), remoteName: `f${i}` });
  }
  const progress: number[] = [];
  const results = await session.putMany(items, {
    // Only ends a client that waits for each reply, which would otherwise
    // hang here for ever; a working client is done in milliseconds, and the
    // bound is wide enough for a machine at a load of 50.
    signal: AbortSignal.timeout(120_000),
    onProgress: (p) => progress.push(p.total),
  });
  assert.equal(results.length, 20);
  assert.ok(results.every((r) => r.ok));
  assert.equal(progress.at(-1), items.reduce((n, _, i) => n + 100 + i, 0));
  assert.deepEqual(
    results.map((r) => r.ok && r.value.name),
    items.map((i) => i.remoteName),
  );
});

Deno.test("ClientSession.putMany() reports each file's failure and goes on", async () => {
  await using server = startFakeServer();
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const dir = tmp.path;
  await Deno.writeTextFile(join(dir, "a"), "a");
  await Deno.writeTextFile(join(dir, "c"), "c");
  const results = await session.putMany([
    { localPath: join(dir, "a"), remoteName: "a" },
    { localPath: join(dir, "missing"), remoteName: "b" },
    { localPath: join(dir, "c"), remoteName: "../c" },
    { localPath: join(dir, "c"), remoteName: "c" },
  ]);
  assert.deepEqual(results.map((r) => r.ok), [true, false, false, true]);
  const errors = results.map((r) => r.ok ? "" : (r.error as Error).message);
  assert.equal(errors[1], 'Cannot put "b": no such local file or folder');
  assert.match(errors[2]!, /^Cannot put "\.\.\/c": name .* contains "\.\."$/);
  assert.deepEqual([...server.files.keys()].sort(), ["a", "c"]);
});

Deno.test("ClientSession.getMany() downloads many files with replies in flight", async () => {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 150; i++) files[`d/f${i}.bin`] = bytesOf(i * 7, i);
  await using server = startFakeServer({ files });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const dir = tmp.path;
  const names = Object.keys(files);
  const results = await session.getMany(
    names.map((remoteName) => ({
      remoteName,
      size: files[remoteName]!.byteLength,
    })),
    dir,
  );
  assert.ok(results.every((r) => r.ok));
  for (const name of names) {
    assert.deepEqual(await Deno.readFile(join(dir, name)), files[name]);
  }
  assert.equal((await listDir(join(dir, "d"))).length, 150);
});

Deno.test("ClientSession.get() aborted midway leaves nothing and cancels on the server", async () => {
  const controller = new AbortController();
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (await answerCancel(ctx, m)) return true;
      if (m.type !== "get") return false;
      await sendStalledGet(ctx, m, {
        size: 10_000_000,
        first: bytesOf(1000),
      });
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const dir = tmp.path;
  await assert.rejects(
    session.get("big.bin", dir, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytes > 0) controller.abort();
      },
    }),
    { message: 'Cannot get "big.bin": cancelled' },
  );
  assert.deepEqual(await listDir(dir), []);
  // The session still works, and the server was told to cancel.
  await session.mkdir("after");
  assert.ok(server.received.some((m) => m.type === "cancel"));
});

Deno.test("ClientSession.close() is idempotent and later calls fail cleanly", async () => {
  await using server = startFakeServer();
  const session = await openSession(`127.0.0.1:${server.port}`);
  await session.close();
  await session.close();
  assert.ok(session.closed);
  await assert.rejects(session.mkdir("x"), {
    message: 'Cannot create folder "x": the session is closed',
  });
});

Deno.test("list() and isFolder() end their request with the last reply: no stray CANCEL", async () => {
  await using server = startFakeServer({
    files: { "a.txt": new Uint8Array(1) },
    dirs: ["docs"],
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await session.list("");
  assert.equal(await session.isFolder("docs"), true);
  assert.equal(await session.isFolder("a.txt"), false);
  assert.equal(await session.isFolder("nothing"), false);
  await session.mkdir("after");
  assert.deepEqual(server.received.map((m) => m.type), [
    "list",
    "list",
    "list",
    "list",
    "mkdir",
  ]);
});

Deno.test("A download from a server that stalls fails with a timeout instead of waiting forever", async () => {
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (m.type !== "get") return false;
      await sendStalledGet(ctx, m, {
        size: 1 << 20,
        first: new Uint8Array(1024),
      });
      return true; // then nothing more
    },
  });
  await using dir = await tempDir();
  await using session = await openSession(`127.0.0.1:${server.port}`, {
    stallTimeoutMs: 50,
  });
  await assert.rejects(session.get("slow.bin", dir.path), {
    message: 'Cannot get "slow.bin": the server made no progress for 0.05 s',
  });
  assert.ok(session.closed);
  assert.deepEqual([...Deno.readDirSync(dir.path)], [], "no partial file");
});

Deno.test("StallWatchdog fires only after the timeout without progress while requests are in flight", () => {
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const clock: Clock = {
    now: () => now,
    setTimeout(fn, ms) {
      const timer = { at: now + ms, fn, live: true };
      timers.push(timer);
      return timer;
    },
    clearTimeout(handle) {
      (handle as { live: boolean }).live = false;
    },
  };
  const runUntil = (t: number) => {
    for (;;) {
      const next = timers.filter((x) => x.live && x.at <= t)
        .sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      next.live = false;
      now = next.at;
      next.fn();
    }
    now = t;
  };
  let active = false;
  let stalls = 0;
  const dog = new StallWatchdog({
    timeoutMs: 1000,
    active: () => active,
    onStall: () => stalls++,
    clock,
  });
  runUntil(5000); // idle: silence is no stall
  assert.equal(stalls, 0);
  active = true;
  dog.progress();
  runUntil(5900);
  dog.progress();
  runUntil(6800);
  assert.equal(stalls, 0);
  const done = dog.busy(); // the client's own work
  runUntil(9000);
  assert.equal(stalls, 0);
  done();
  runUntil(9999);
  assert.equal(stalls, 0);
  runUntil(10_001);
  assert.equal(stalls, 1);
  runUntil(20_000);
  assert.equal(stalls, 1);
  dog.stop();
});
