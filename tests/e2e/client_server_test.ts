/**
 * The client engine and shell commands against the real server, in-process,
 * over 127.0.0.1 with real files on both sides.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { splitWords } from "../../client/shell/command_parse.ts";
import { runWords } from "../../client/shell/commands.ts";
import {
  type ClientSession,
  openSession,
} from "../../client/engine/session.ts";
import { startServer } from "../../server/server.ts";
import { UNCONFIRMED_BYTES } from "../../client/engine/upload_sender.ts";
import { Buffer } from "../_helpers/client/cli_io.ts";
import { withServedFolders } from "../_helpers/e2e/served_folders.ts";
import { createStreamHash } from "../../common/stream_hash.ts";
import { freshShellState } from "../_helpers/client/shell_state.ts";

interface World {
  session: ClientSession;
  /** The server's data folder. */
  root: string;
  /** The client's local folder. */
  local: string;
  port: number;
}

function withWorld(run: (world: World) => Promise<void>): Promise<void> {
  return withServedFolders(async ({ root, local, port }) => {
    await using session = await openSession({ hostname: "127.0.0.1", port });
    await run({ session, root, local, port });
  });
}

/**
 * Writes `size` pseudo-random bytes to `path` in 1 MiB pieces; returns
 * their SHA-256 and XXH3-128.
 */
async function writeRandom(
  path: string,
  size: number,
): Promise<{ sha: string; xxh: string }> {
  const hash = createHash("sha256");
  const xxh = createStreamHash("xxh128");
  using file = await Deno.open(path, { write: true, createNew: true });
  const chunk = new Uint8Array(1024 * 1024);
  for (let at = 0; at < size; at += chunk.byteLength) {
    const n = Math.min(chunk.byteLength, size - at);
    for (let i = 0; i < n; i += 65536) {
      crypto.getRandomValues(chunk.subarray(i, Math.min(n, i + 65536)));
    }
    const piece = chunk.subarray(0, n);
    hash.update(piece);
    xxh.update(piece);
    let written = 0;
    while (written < n) written += await file.write(piece.subarray(written));
  }
  return { sha: hash.digest("hex"), xxh: xxh.digest() };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buf = new Uint8Array(1024 * 1024);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    hash.update(buf.subarray(0, n));
  }
  return hash.digest("hex");
}

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("e2e: list, put, get, rm and mv against the real server", async () => {
  await withWorld(async ({ session, root, local }) => {
    await Deno.writeTextFile(join(local, "a.txt"), "alpha");
    const put = await session.put(join(local, "a.txt"), "a.txt");
    assert.equal(put.name, "a.txt");
    assert.equal(await Deno.readTextFile(join(root, "a.txt")), "alpha");
    await session.mkdir("docs");
    await session.rename("a.txt", "docs/b.txt");
    const top = await session.list("");
    assert.deepEqual(top.entries.map((e) => [e.name, e.type]), [[
      "docs",
      "dir",
    ]]);
    const docs = await session.list("docs");
    assert.deepEqual(docs.entries.map((e) => [e.name, e.size]), [["b.txt", 5]]);
    const got = await session.get("docs/b.txt", local, {
      localName: "back.txt",
    });
    assert.equal(await Deno.readTextFile(got.path), "alpha");
    await session.remove("docs/b.txt");
    assert.deepEqual((await session.list("docs")).entries, []);
    await assert.rejects(session.get("docs/b.txt", local), {
      message: 'Cannot get "docs/b.txt": no such file on the server',
    });
  });
});

for (const size of [0, 1, 100 * 1024 * 1024]) {
  Deno.test(`e2e: a ${size}-byte file round-trips byte for byte`, async () => {
    await withWorld(async ({ session, root, local }) => {
      const { sha, xxh } = await writeRandom(join(local, "src.bin"), size);
      // Memory must not grow with the file: track the peak while moving it.
      const before = Deno.memoryUsage().rss;
      let peak = before;
      const onProgress = () => peak = Math.max(peak, Deno.memoryUsage().rss);
      const put = await session.put(join(local, "src.bin"), "data.bin", {
        onProgress,
      });
      // Verified with XXH3-128, which both sides offer by default.
      assert.deepEqual(put, { name: "data.bin", size, xxh128: xxh });
      assert.equal(await sha256File(join(root, "data.bin")), sha);
      const got = await session.get("data.bin", local, { onProgress });
      assert.ok(
        peak - before < 48 * 1024 * 1024,
        `memory grew by ${((peak - before) / 2 ** 20).toFixed(0)} MiB`,
      );
      assert.equal(got.path, join(local, "data.bin"));
      assert.equal(got.size, size);
      assert.equal(got.xxh128, xxh);
      assert.equal(await sha256File(got.path), sha);
      assert.deepEqual(
        names(local),
        ["data.bin", "src.bin"],
        "no temporary file left",
      );
    });
  });
}

Deno.test("e2e: names with spaces and non-ASCII letters work both ways", async () => {
  await withWorld(async ({ session, root, local }) => {
    const name = "Relatório de 2024 🎉.txt";
    await Deno.writeTextFile(join(local, "in.txt"), "olá");
    // An NFD name is stored under its NFC form.
    const put = await session.put(join(local, "in.txt"), name.normalize("NFD"));
    assert.equal(put.name, name);
    assert.equal(await Deno.readTextFile(join(root, name)), "olá");
    const listed = (await session.list("")).entries.map((e) => e.name);
    assert.deepEqual(listed, [name]);
    const got = await session.get(name, local);
    assert.equal(got.path, join(local, name));
    assert.equal(await Deno.readTextFile(got.path), "olá");
  });
});

Deno.test("e2e: an existing name is kept on both sides as (1) name unless overwrite", async () => {
  await withWorld(async ({ session, root, local }) => {
    await Deno.writeTextFile(join(local, "n.txt"), "first");
    assert.equal(
      (await session.put(join(local, "n.txt"), "n.txt")).name,
      "n.txt",
    );
    await Deno.writeTextFile(join(local, "n.txt"), "second");
    assert.equal(
      (await session.put(join(local, "n.txt"), "n.txt")).name,
      "(1) n.txt",
    );
    assert.equal(
      (await session.put(join(local, "n.txt"), "n.txt")).name,
      "(2) n.txt",
    );
    assert.equal(await Deno.readTextFile(join(root, "n.txt")), "first");
    await Deno.writeTextFile(join(local, "n.txt"), "third");
    assert.equal(
      (await session.put(join(local, "n.txt"), "n.txt", { overwrite: true }))
        .name,
      "n.txt",
    );
    assert.equal(await Deno.readTextFile(join(root, "n.txt")), "third");
    // Local side: n.txt exists locally ("third"); downloads become (1), (2)…
    const first = await session.get("(1) n.txt", local, { localName: "n.txt" });
    assert.equal(first.path, join(local, "(1) n.txt"));
    assert.equal(await Deno.readTextFile(join(local, "n.txt")), "third");
    const replaced = await session.get("(2) n.txt", local, {
      localName: "n.txt",
      overwrite: true,
    });
    assert.equal(replaced.path, join(local, "n.txt"));
    assert.equal(await Deno.readTextFile(join(local, "n.txt")), "second");
  });
});

Deno.test("e2e: a batch of 1,000 small files goes up and comes back pipelined", async () => {
  await withWorld(async ({ session, root, local }) => {
    const up = join(local, "up");
    await Deno.mkdir(up);
    const items = [];
    for (let i = 0; i < 1000; i++) {
      const data = new TextEncoder().encode(`file ${i} `.repeat(i % 50 + 1));
      await Deno.writeFile(join(up, `f${i}.txt`), data);
      items.push({
        localPath: join(up, `f${i}.txt`),
        remoteName: `many/f${i}.txt`,
      });
    }
    await session.mkdir("many");
    const results = await session.putMany(items);
    assert.equal(results.filter((r) => r.ok).length, 1000);
    assert.equal(names(join(root, "many")).length, 1000);
    const down = join(local, "down");
    await Deno.mkdir(down);
    const back = await session.getMany(
      items.map((item, i) => ({
        remoteName: item.remoteName,
        localName: `f${i}.txt`,
      })),
      down,
    );
    assert.equal(back.filter((r) => r.ok).length, 1000);
    for (const i of [0, 1, 499, 999]) {
      assert.equal(
        await Deno.readTextFile(join(down, `f${i}.txt`)),
        `file ${i} `.repeat(i % 50 + 1),
      );
    }
    assert.deepEqual(names(down), names(up));
  });
});

Deno.test("e2e: a listing number whose file changed is refused by the real server", async () => {
  await withWorld(async ({ session, root, local }) => {
    await Deno.writeTextFile(join(local, "s.txt"), "v1");
    await session.put(join(local, "s.txt"), "s.txt");
    await Deno.writeTextFile(join(local, "t.txt"), "t");
    await session.put(join(local, "t.txt"), "t.txt");
    const out = new Buffer();
    const err = new Buffer();
    const state = freshShellState(session, local);
    const run = async (line: string) => {
      const r = await runWords(splitWords(line), {
        state,
        output: { out, err, progress: false, quiet: true, columns: 80 },
      });
      return r.status === "ok" || r.status === "exit" ? r.status : r.message;
    };
    assert.equal(await run("ls"), "ok");
    // Another client replaces s.txt with different content.
    await Deno.writeTextFile(join(root, "s.txt"), "version 2");
    assert.equal(
      await run("get 1 copy.txt"),
      'Cannot get "s.txt": it changed or vanished since it was listed (run "ls" to see the folder as it is now)',
    );
    assert.equal(
      await run("rm 1"),
      'Cannot delete "s.txt": it changed or vanished since it was listed (run "ls" to see the folder as it is now)',
    );
    assert.equal(await Deno.readTextFile(join(root, "s.txt")), "version 2");
    assert.equal(await run("get 2 copy.txt"), "ok");
    assert.equal(await Deno.readTextFile(join(local, "copy.txt")), "t");
  });
});

Deno.test("e2e: mput and mget shell commands over the real server", async () => {
  await withWorld(async ({ session, root, local }) => {
    for (const n of ["a", "b", "c"]) {
      await Deno.writeTextFile(join(local, `${n}.md`), n);
    }
    const out = new Buffer();
    const state = freshShellState(session, local);
    const output = {
      out,
      err: new Buffer(),
      progress: false,
      quiet: false,
      columns: 80,
    };
    assert.deepEqual(
      await runWords(splitWords("mput *.md"), { state, output }),
      { status: "ok" },
    );
    assert.deepEqual(names(root).filter((n) => n.endsWith(".md")), [
      "a.md",
      "b.md",
      "c.md",
    ]);
    await Deno.mkdir(join(local, "back"));
    await runWords(splitWords("lcd back"), { state, output });
    assert.deepEqual(
      await runWords(splitWords("mget *.md"), { state, output }),
      { status: "ok" },
    );
    assert.deepEqual(names(join(local, "back")), ["a.md", "b.md", "c.md"]);
    assert.match(
      out.text(),
      /Uploaded 3 of 3 files \(3 B\)[^\n]*\nDownloaded 3 of 3 files/,
    );
  });
});

Deno.test("e2e: the client hears GOING_AWAY when the server shuts down", async () => {
  const root = await Deno.makeTempDir();
  try {
    const server = await startServer({ root, host: "127.0.0.1", port: 0 });
    let notice: unknown = null;
    const session = await openSession({
      hostname: "127.0.0.1",
      port: server.addr.port,
    }, {
      onGoingAway: (n) => notice = n,
    });
    await server.shutdown(0);
    await session.finished; // the server closed the connection
    await session.close();
    assert.ok(
      notice !== null && typeof notice === "object" && "graceMs" in notice,
    );
    assert.ok(session.closed);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("e2e: an upload running when the server shuts down finishes within the grace", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  const local = await Deno.realPath(await Deno.makeTempDir());
  try {
    const server = await startServer({ root, host: "127.0.0.1", port: 0 });
    const { sha, xxh } = await writeRandom(
      join(local, "big.bin"),
      20 * 1024 * 1024,
    );
    let notice: unknown = null;
    const session = await openSession({
      hostname: "127.0.0.1",
      port: server.addr.port,
    }, {
      onGoingAway: (n) => notice = n,
    });
    let stopping: Promise<void> | null = null;
    const put = await session.put(join(local, "big.bin"), "big.bin", {
      onProgress: (p) => {
        // Past the bytes a client sends ahead of PUT_READY: the server has
        // admitted the upload.
        if (p.bytes > UNCONFIRMED_BYTES) stopping ??= server.shutdown(30_000);
      },
    });
    assert.equal(put.xxh128, xxh);
    assert.equal(await sha256File(join(root, "big.bin")), sha);
    assert.ok(notice !== null, "GOING_AWAY arrived");
    await stopping;
    await session.close();
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("e2e: a client that asks for SHA-256 (or does not offer xxh128) gets SHA-256 both ways", async () => {
  await withServedFolders(async ({ root, local, port }) => {
    await using session = await openSession(
      { hostname: "127.0.0.1", port },
      { checksum: "sha256" },
    );
    assert.ok(!session.features.includes("xxh128"));
    const { sha } = await writeRandom(join(local, "s.bin"), 3 * 1024 * 1024);
    const put = await session.put(join(local, "s.bin"), "s.bin");
    assert.deepEqual(put, {
      name: "s.bin",
      size: 3 * 1024 * 1024,
      sha256: sha,
    });
    const got = await session.get("s.bin", local, { localName: "back.bin" });
    assert.equal(got.sha256, sha);
    assert.equal(got.xxh128, undefined);
    assert.equal(await sha256File(got.path), sha);
    assert.equal(await sha256File(join(root, "s.bin")), sha);
  });
});

Deno.test("e2e: with --compress a compressible file round-trips with zstd negotiated", async () => {
  await withServedFolders(async ({ root, local, port }) => {
    await using session = await openSession(
      { hostname: "127.0.0.1", port },
      { compress: true },
    );
    assert.deepEqual(session.features, [
      "zstd",
      "mode",
      "usage",
      "pull",
      "sums",
      "resume",
      "xxh128",
    ]);
    const text = "a line of text that compresses well\n".repeat(200_000);
    await Deno.writeTextFile(join(local, "t.txt"), text);
    await session.put(join(local, "t.txt"), "t.txt");
    assert.equal(await Deno.readTextFile(join(root, "t.txt")), text);
    const got = await session.get("t.txt", local, { localName: "back.txt" });
    assert.equal(await Deno.readTextFile(got.path), text);
  });
});
