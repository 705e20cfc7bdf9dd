/**
 * Folder trees up and down through a real server: the whole tree arrives
 * (nested and empty folders, unicode and spaced names, empty files, a
 * large file among many small ones) with the files' and the folders'
 * modification times, links are skipped and counted, and one file's
 * failure leaves the others committed.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { openSession } from "../../../client/engine/session.ts";
import type { TreeProgress } from "../../../client/engine/tree_tally.ts";
import { FtsError } from "../../../protocol/errors.ts";
import { withServedFolders } from "../../_helpers/e2e/served_folders.ts";
import { startFakeServer } from "../../_helpers/client/fake_server.ts";
import { memoryTempDir, tempDir } from "../../_helpers/common/temp_dir.ts";
import { startServer } from "../../../server/server.ts";

const MTIME = new Date(1_600_000_000_000);

/** Every file and folder under `dir`: "path/" for folders, "path size mtime" for files. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string, rel: string) => {
    for await (const entry of Deno.readDir(path)) {
      const full = join(path, entry.name);
      const name = rel === "" ? entry.name : `${rel}/${entry.name}`;
      const info = await Deno.lstat(full);
      if (info.isDirectory) {
        out.push(`${name}/`);
        await walk(full, name);
      } else {
        out.push(`${name} ${info.size} ${info.mtime?.getTime()}`);
      }
    }
  };
  await walk(dir, "");
  return out.sort();
}

/** The test tree: 2,000 small files in 20 folders, a 20 MiB file, odd names. */
async function makeTree(dir: string): Promise<void> {
  await Deno.mkdir(join(dir, "empty/deeper/still empty"), { recursive: true });
  await Deno.mkdir(join(dir, "Relatório 2024/ünïcødé 🎉"), { recursive: true });
  await Deno.writeTextFile(join(dir, "Relatório 2024/my report.txt"), "olá");
  await Deno.writeFile(
    join(dir, "Relatório 2024/ünïcødé 🎉/zero"),
    new Uint8Array(),
  );
  await Deno.writeFile(join(dir, "zero bytes.bin"), new Uint8Array());
  const big = new Uint8Array(20 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
  await Deno.writeFile(join(dir, "big.bin"), big);
  for (let f = 0; f < 20; f++) {
    const folder = join(dir, `small/f${f}`);
    await Deno.mkdir(folder, { recursive: true });
    for (let i = 0; i < 100; i++) {
      Deno.writeTextFileSync(join(folder, `file ${i}.txt`), `${f}/${i}\n`);
    }
  }
  setFileTimes(dir);
}

/** Gives every file under `dir` the time {@linkcode MTIME}. */
function setFileTimes(dir: string): void {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) setFileTimes(path);
    else Deno.utimeSync(path, MTIME, MTIME);
  }
}

Deno.test("putTree() and getTree() carry a whole tree there and back, with the files' times", async () => {
  // In memory: the server's fsync per file is not what this test checks.
  await using rootDir = await memoryTempDir();
  await using localDir = await memoryTempDir();
  const root = rootDir.path;
  const local = localDir.path;
  await using server = await startServer({ root, host: "127.0.0.1", port: 0 });
  const port = server.addr.port;
  const source = join(local, "source");
  await Deno.mkdir(source);
  await makeTree(source);
  await using session = await openSession(`127.0.0.1:${port}`);
  let last: TreeProgress | null = null;
  let partial = false;
  const up = await session.putTree(source, "copy", {
    onProgress: (p) => {
      last = p;
      // The count runs beside the sending, a slice at a time.
      if (p.counting && p.fileTotal > 0 && p.fileTotal < 2004) partial = true;
    },
  });
  assert.ok(partial, "no progress report while the tree was being counted");
  assert.equal(up.failed, 0, String(up.failures[0]));
  assert.equal(up.files, 2004);
  assert.equal(up.folders, 27);
  assert.deepEqual(
    await snapshot(join(root, "copy")),
    await snapshot(source),
  );
  assert.ok(last !== null);
  const done = last as TreeProgress;
  assert.equal(done.files, 2004);
  assert.equal(done.fileTotal, 2004);
  assert.equal(done.bytes, done.total);
  assert.equal(done.counting, false);

  const down = await session.getTree("copy", join(local, "back"));
  assert.equal(down.failed, 0, String(down.failures[0]));
  assert.equal(down.files, 2004);
  assert.deepEqual(
    await snapshot(join(local, "back")),
    await snapshot(source),
  );
});

Deno.test("putTree() skips symbolic links and special files, and counts them", async () => {
  await withServedFolders(async ({ root, local, port }) => {
    const source = join(local, "source");
    await Deno.mkdir(join(source, "inner"), { recursive: true });
    await Deno.writeTextFile(join(source, "inner/real.txt"), "real");
    await Deno.writeTextFile(join(local, "outside.txt"), "secret");
    await Deno.symlink(join(local, "outside.txt"), join(source, "link.txt"));
    await Deno.symlink(local, join(source, "inner/up"));
    const fifo = new Deno.Command("mkfifo", { args: [join(source, "pipe")] });
    assert.equal((await fifo.output()).code, 0);
    await using session = await openSession(`127.0.0.1:${port}`);
    const summary = await session.putTree(source, "copy");
    assert.equal(summary.files, 1);
    assert.equal(summary.symlinks, 2);
    assert.equal(summary.special, 1);
    assert.deepEqual(
      [...summary.skippedPaths].sort(),
      ["inner/up", "link.txt", "pipe"],
    );
    assert.deepEqual(await snapshot(join(root, "copy")), [
      "inner/",
      `inner/real.txt 4 ${
        (await Deno.stat(join(source, "inner/real.txt"))).mtime?.getTime()
      }`,
    ]);
  });
});

Deno.test("putTree() leaves out what --exclude globs match, folders with their contents", async () => {
  await withServedFolders(async ({ root, local, port }) => {
    const source = join(local, "source");
    await Deno.mkdir(join(source, "build/out"), { recursive: true });
    await Deno.mkdir(join(source, "src/build"), { recursive: true });
    await Deno.writeTextFile(join(source, "build/out/a.o"), "o");
    await Deno.writeTextFile(join(source, "src/build/keep.c"), "c");
    await Deno.writeTextFile(join(source, "src/x.tmp"), "t");
    await Deno.writeTextFile(join(source, "src/y.c"), "c");
    const { excludeFilter } = await import(
      "../../../client/engine/tree_filter.ts"
    );
    await using session = await openSession(`127.0.0.1:${port}`);
    const summary = await session.putTree(source, "copy", {
      exclude: excludeFilter(["*.tmp", "/build/**"])!,
    });
    assert.equal(summary.files, 2);
    const names = (await snapshot(join(root, "copy"))).map((l) =>
      l.split(" ")[0]
    );
    assert.deepEqual(names, [
      "src/",
      "src/build/",
      "src/build/keep.c",
      "src/y.c",
    ]);
  });
});

Deno.test("putTree() commits the other files when one file of the tree fails", async () => {
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (m.type !== "put_end") return false;
      const put = ctx.server.received.find((r) =>
        r.type === "put" && r.id === m.id
      );
      if (put?.type !== "put" || !put.name.endsWith("b.txt")) return false;
      await ctx.send({
        type: "error",
        id: m.id,
        code: "io",
        message: "Disk error",
      });
      return true;
    },
  });
  await using local = await tempDir();
  for (const name of ["a.txt", "b.txt", "c.txt"]) {
    await Deno.writeTextFile(join(local.path, name), name);
  }
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const summary = await session.putTree(local.path, "t");
  assert.equal(summary.files, 2);
  assert.equal(summary.failed, 1);
  const failure = summary.failures[0];
  assert.ok(failure instanceof FtsError);
  assert.equal(failure.code, "io");
  assert.match(failure.message, /^Cannot put "t\/b\.txt": /);
  assert.deepEqual([...server.files.keys()].sort(), ["t/a.txt", "t/c.txt"]);
});

Deno.test("getTree() commits the other files when one file of the tree fails", async () => {
  await using server = startFakeServer({
    dirs: ["t"],
    files: {
      "t/a.txt": new TextEncoder().encode("a"),
      "t/b.txt": new TextEncoder().encode("b"),
      "t/c.txt": new TextEncoder().encode("c"),
    },
    handle: async (ctx, m) => {
      if (m.type !== "get" || m.name !== "t/b.txt") return false;
      await ctx.send({ type: "error", id: m.id, code: "io", message: "Bad" });
      return true;
    },
  });
  await using local = await tempDir();
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const summary = await session.getTree("t", join(local.path, "t"));
  assert.equal(summary.files, 2);
  assert.equal(summary.failed, 1);
  assert.equal((summary.failures[0] as FtsError).code, "io");
  assert.deepEqual(
    (await snapshot(local.path)).map((l) => l.split(" ")[0]),
    ["t/", "t/a.txt", "t/c.txt"],
  );
});

Deno.test("putTree(), getTree() and removeTree() stopped by their signal fail as cancelled", async () => {
  await withServedFolders(async ({ root, local, port }) => {
    await Deno.mkdir(join(local, "src/sub"), { recursive: true });
    await Deno.writeTextFile(join(local, "src/sub/a.txt"), "a");
    await Deno.mkdir(join(root, "tree/sub"), { recursive: true });
    await Deno.writeTextFile(join(root, "tree/sub/b.txt"), "b");
    await using session = await openSession(`127.0.0.1:${port}`);
    const controller = new AbortController();
    const cancelled = (error: unknown) =>
      error instanceof FtsError && error.code === "cancelled";
    const aborting = {
      signal: controller.signal,
      // Stops the transfer once the walk is under way.
      onProgress: () => controller.abort(),
    };
    await assert.rejects(
      session.putTree(join(local, "src"), "up", aborting),
      cancelled,
    );
    await assert.rejects(
      session.getTree("tree", join(local, "down"), aborting),
      cancelled,
    );
    await assert.rejects(
      session.removeTree("tree", { signal: controller.signal }),
      cancelled,
    );
    assert.equal(await Deno.readTextFile(join(root, "tree/sub/b.txt")), "b");
  });
});

Deno.test("getTree() gives the local folders the server's modification times once their files are in", async () => {
  await withServedFolders(async ({ root, local, port }) => {
    for (const folder of ["t/a/deep", "t/b", "t/empty"]) {
      Deno.mkdirSync(join(root, folder), { recursive: true });
    }
    for (const file of ["t/a/deep/x", "t/a/y", "t/b/z", "t/top"]) {
      Deno.writeTextFileSync(join(root, file), file);
    }
    const times: Record<string, number> = {
      "t/a/deep": 1_500_000_000_000,
      "t/a": 1_500_000_100_000,
      "t/b": 1_500_000_200_000,
      "t/empty": 1_500_000_300_000,
    };
    for (const [folder, ms] of Object.entries(times)) {
      Deno.utimeSync(join(root, folder), new Date(ms), new Date(ms));
    }
    await using session = await openSession(`127.0.0.1:${port}`);
    const summary = await session.getTree("t", join(local, "t"));
    assert.equal(summary.failed, 0, String(summary.failures[0]));
    for (const [folder, ms] of Object.entries(times)) {
      assert.equal(
        Deno.statSync(join(local, folder)).mtime?.getTime(),
        ms,
        folder,
      );
    }
  });
});

Deno.test("getTree() gives the copy's top folder the server folder's modification time too", async () => {
  await withServedFolders(async ({ root, local, port }) => {
    Deno.mkdirSync(join(root, "t/a/b"), { recursive: true });
    Deno.writeTextFileSync(join(root, "t/a/b/x"), "x");
    Deno.writeTextFileSync(join(root, "t/a/y"), "y");
    const times: Record<string, number> = {
      "t": 1_500_000_000_000,
      "t/a": 1_500_000_100_000,
      "t/a/b": 1_500_000_200_000,
    };
    for (const [folder, ms] of Object.entries(times)) {
      Deno.utimeSync(join(root, folder), new Date(ms), new Date(ms));
    }
    await using session = await openSession(`127.0.0.1:${port}`);
    // A new local folder, and one that is there already.
    await session.getTree("t", join(local, "copy"));
    Deno.mkdirSync(join(local, "there"));
    await session.getTree("t/a", join(local, "there"));
    const timeOf = (path: string) =>
      Deno.statSync(join(local, path)).mtime?.getTime();
    assert.equal(timeOf("copy"), times["t"]);
    assert.equal(timeOf("copy/a"), times["t/a"]);
    assert.equal(timeOf("copy/a/b"), times["t/a/b"]);
    assert.equal(timeOf("there"), times["t/a"]);
    assert.equal(timeOf("there/b"), times["t/a/b"]);
  });
});
