/**
 * Folder transfers are incremental, as rsync's are: a file already at the
 * destination with the same size and content is skipped (sizes first,
 * then SHA-256 hashes, never times), so a second run sends nothing and a
 * run after an interruption sends only what is missing. Counted on the
 * server: uploads its storage began, GETs it served.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { openSession } from "../../../client/engine/session.ts";
import type { TreeProgress } from "../../../client/engine/tree_tally.ts";
import { LocalStorage } from "../../../server/storage/local/local_storage.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";
import { countingTransfers } from "../../_helpers/server/transfer_counts.ts";
import { memoryTempDir } from "../../_helpers/common/temp_dir.ts";

/** 3 folders of 20 small files, an empty file and a 2 MiB file: 62 files. */
const FILES = 62;

async function makeTree(dir: string): Promise<void> {
  for (let f = 0; f < 3; f++) {
    await Deno.mkdir(join(dir, `d${f}/inner`), { recursive: true });
    for (let i = 0; i < 20; i++) {
      const at = i % 2 === 0 ? `d${f}` : `d${f}/inner`;
      Deno.writeTextFileSync(join(dir, at, `file ${i}.txt`), `${f}:${i}\n`);
    }
  }
  await Deno.writeFile(join(dir, "empty"), new Uint8Array());
  const big = new Uint8Array(2 * 1024 * 1024 + 3);
  for (let i = 0; i < big.length; i += 511) big[i] = i % 253;
  await Deno.writeFile(join(dir, "big.bin"), big);
}

/** Every file under `dir` with its contents' length and first bytes. */
async function contents(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string, rel: string) => {
    for await (const entry of Deno.readDir(path)) {
      const name = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (name === ".fts") continue;
      const full = join(path, entry.name);
      if (entry.isDirectory) await walk(full, name);
      else {
        const bytes = await Deno.readFile(full);
        out.push(`${name} ${bytes.length} ${bytes.subarray(0, 8).join(",")}`);
      }
    }
  };
  await walk(dir, "");
  return out.sort();
}

/** A server over a local storage in `root` that counts what it receives. */
async function countingServer(root: string) {
  const local = await LocalStorage.open(root);
  const { storage, counts } = countingTransfers(local);
  const server = await startTestServer({ storage });
  return {
    counts,
    server,
    address: `127.0.0.1:${server.server.addr.port}`,
    gets: () => server.logs.filter((line) => / get "/.test(line)).length,
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await local[Symbol.asyncDispose]();
    },
  };
}

Deno.test("putTree() run again sends nothing: the server begins no upload and receives no byte", async () => {
  await using rootDir = await memoryTempDir();
  await using localDir = await memoryTempDir();
  const source = join(localDir.path, "source");
  await Deno.mkdir(source);
  await makeTree(source);
  await using s = await countingServer(rootDir.path);
  await using session = await openSession(s.address);
  const first = await session.putTree(source, "copy");
  assert.equal(first.files, FILES);
  assert.equal(first.identical, 0);
  assert.equal(s.counts.uploads, FILES);

  s.counts.uploads = s.counts.uploadBytes = 0;
  let last: TreeProgress | null = null;
  const again = await session.putTree(source, "copy", {
    onProgress: (p) => last = p,
  });
  assert.equal(again.failed, 0, String(again.failures[0]));
  assert.deepEqual(
    [again.files, again.identical, again.renamedCount],
    [0, FILES, 0],
  );
  assert.equal(again.identicalBytes, first.bytes);
  assert.deepEqual(
    [s.counts.uploads, s.counts.uploadBytes],
    [0, 0],
    "the server received uploads",
  );
  const done = last as TreeProgress | null;
  assert.equal(done?.files, FILES);
  assert.equal(done?.fileTotal, FILES);
  assert.deepEqual(
    await contents(join(rootDir.path, "copy")),
    await contents(source),
  );
});

Deno.test("getTree() run again sends nothing: the server serves no GET", async () => {
  await using rootDir = await memoryTempDir();
  await using localDir = await memoryTempDir();
  await makeTree(join(rootDir.path));
  await using s = await countingServer(rootDir.path);
  await using session = await openSession(s.address);
  const target = join(localDir.path, "back");
  const first = await session.getTree("", target);
  assert.equal(first.files, FILES);
  assert.equal(s.gets(), FILES);

  const again = await session.getTree("", target);
  assert.equal(again.failed, 0, String(again.failures[0]));
  assert.deepEqual(
    [again.files, again.identical, again.renamedCount],
    [0, FILES, 0],
  );
  assert.equal(s.gets(), FILES, "the second run made GETs");
  assert.deepEqual(await contents(target), await contents(rootDir.path));
});

Deno.test("putTree() cancelled half way, then run again, sends only the files that are missing", async () => {
  await using rootDir = await memoryTempDir();
  await using localDir = await memoryTempDir();
  const source = join(localDir.path, "source");
  await Deno.mkdir(source);
  await makeTree(source);
  await using s = await countingServer(rootDir.path);
  {
    await using session = await openSession(s.address);
    const stop = new AbortController();
    await assert.rejects(
      session.putTree(source, "copy", {
        signal: stop.signal,
        window: 4,
        onProgress: (p) => {
          if (p.files >= 20) stop.abort(new Error("stopped"));
        },
      }),
    );
  }
  // The server may still commit uploads whose end it had: count once its
  // session is over.
  await s.server.waitForLog(/ disconnected$/);
  const stored = (await contents(join(rootDir.path, "copy"))).length;
  assert.ok(stored >= 20 && stored < FILES, `${stored} files stored`);
  s.counts.uploads = s.counts.commits = 0;

  await using session = await openSession(s.address);
  const rest = await session.putTree(source, "copy");
  assert.equal(rest.failed, 0, String(rest.failures[0]));
  assert.deepEqual(
    [rest.files, rest.identical, rest.renamedCount],
    [FILES - stored, stored, 0],
  );
  assert.equal(s.counts.uploads, FILES - stored, "uploads on the re-run");
  assert.equal(s.counts.commits, FILES - stored);
  assert.deepEqual(
    await contents(join(rootDir.path, "copy")),
    await contents(source),
  );
});

Deno.test("a file of the same size but other content is sent: saved as (1) NAME, or replacing it with overwrite", async () => {
  await using rootDir = await memoryTempDir();
  await using localDir = await memoryTempDir();
  const source = join(localDir.path, "source");
  await Deno.mkdir(source);
  await Deno.writeTextFile(join(source, "same.txt"), "same");
  await Deno.writeTextFile(join(source, "a.txt"), "local");
  await Deno.mkdir(join(rootDir.path, "source"));
  await Deno.writeTextFile(join(rootDir.path, "source/same.txt"), "same");
  await Deno.writeTextFile(join(rootDir.path, "source/a.txt"), "REMOT");
  await using s = await countingServer(rootDir.path);
  await using session = await openSession(s.address);

  const kept = await session.putTree(source, "source");
  assert.deepEqual([kept.files, kept.identical], [1, 1]);
  assert.deepEqual(kept.renamed, [{ from: "a.txt", to: "(1) a.txt" }]);
  assert.equal(
    await Deno.readTextFile(join(rootDir.path, "source/(1) a.txt")),
    "local",
  );
  assert.equal(
    await Deno.readTextFile(join(rootDir.path, "source/a.txt")),
    "REMOT",
  );
  const replaced = await session.putTree(source, "source", {
    overwrite: true,
  });
  // "(1) a.txt" is not in the source; a.txt differs and is replaced.
  assert.deepEqual([replaced.files, replaced.identical], [1, 1]);
  assert.equal(replaced.renamedCount, 0);
  assert.equal(
    await Deno.readTextFile(join(rootDir.path, "source/a.txt")),
    "local",
  );

  // Downloads: the same rule the other way.
  await Deno.remove(join(rootDir.path, "source/(1) a.txt"));
  await Deno.writeTextFile(join(source, "a.txt"), "LOCAL");
  const down = await session.getTree("source", source);
  assert.deepEqual([down.files, down.identical], [1, 1]);
  assert.deepEqual(down.renamed, [{ from: "a.txt", to: "(1) a.txt" }]);
  assert.equal(await Deno.readTextFile(join(source, "(1) a.txt")), "local");
  assert.equal(await Deno.readTextFile(join(source, "a.txt")), "LOCAL");
});

Deno.test("without the feature sums, or with skipIdentical false, every file is sent again", async () => {
  await using rootDir = await memoryTempDir();
  await using localDir = await memoryTempDir();
  const source = join(localDir.path, "source");
  await Deno.mkdir(source);
  await Deno.writeTextFile(join(source, "a.txt"), "a");
  {
    await using s = await countingServer(rootDir.path);
    await using session = await openSession(s.address);
    await session.putTree(source, "copy");
    const forced = await session.putTree(source, "copy", {
      skipIdentical: false,
    });
    assert.deepEqual([forced.files, forced.identical], [1, 0]);
    assert.equal(s.counts.uploads, 2);
  }
  await using storage = await LocalStorage.open(rootDir.path);
  await using old = await startTestServer({
    storage,
    features: ["zstd", "mode"],
  });
  await using session = await openSession(
    `127.0.0.1:${old.server.addr.port}`,
  );
  const again = await session.putTree(source, "copy");
  assert.deepEqual([again.files, again.identical], [1, 0]);
  assert.equal(again.renamed[0]?.to, "(2) a.txt");
});

Deno.test("putTree() asks about 2,500 files in a few SUMS requests of up to 1,000 names", async () => {
  await using rootDir = await memoryTempDir();
  await using localDir = await memoryTempDir();
  const source = join(localDir.path, "flat");
  await Deno.mkdir(source);
  await Deno.mkdir(join(rootDir.path, "flat"));
  for (let i = 0; i < 2500; i++) {
    const name = `f${String(i).padStart(4, "0")}`;
    Deno.writeTextFileSync(join(source, name), name);
    Deno.writeTextFileSync(join(rootDir.path, "flat", name), name);
  }
  await using s = await countingServer(rootDir.path);
  await using session = await openSession(s.address);
  const again = await session.putTree(source, "flat");
  assert.deepEqual([again.files, again.identical], [0, 2500]);
  const sums = s.server.logs.filter((line) => / sums \d+ names /.test(line));
  const sizes = sums.map((line) => Number(/ sums (\d+) names /.exec(line)![1]));
  assert.equal(sizes.reduce((a, b) => a + b, 0), 2500);
  assert.ok(sizes.every((n) => n <= 1000), `${sizes}`);
  assert.ok(sums.length >= 3 && sums.length <= 5, `${sizes}`);
  assert.equal(s.counts.uploads, 0);
});
