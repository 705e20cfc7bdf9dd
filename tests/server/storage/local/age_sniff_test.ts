import assert from "node:assert/strict";
import { join } from "node:path";
import { AGE_MAGIC } from "../../../../common/age_magic.ts";
import { AgeSniffer } from "../../../../server/storage/local/age_sniff.ts";
import { readHeadAt } from "../../../../server/storage/local/rooted_paths.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fts_age_sniff_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function bytes(...parts: (string | Uint8Array)[]): Uint8Array {
  const encoded = parts.map((p) =>
    typeof p === "string" ? new TextEncoder().encode(p) : p
  );
  const out = new Uint8Array(encoded.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of encoded) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("AgeSniffer.isAgeFile() is true only for files that start with the age version line", async () => {
  await withDir(async (dir) => {
    const files: Record<string, Uint8Array> = {
      "age": bytes(AGE_MAGIC, "-> X25519 abc\n"),
      "exactly-the-line": AGE_MAGIC,
      "armored": bytes("-----BEGIN AGE ENCRYPTED FILE-----\n"),
      "plain.age": bytes("hello, not encrypted at all"),
      "short": AGE_MAGIC.subarray(0, 21),
      "empty": new Uint8Array(0),
    };
    const sniffer = new AgeSniffer();
    const answers: Record<string, boolean> = {};
    for (const [name, content] of Object.entries(files)) {
      const path = join(dir, name);
      await Deno.writeFile(path, content);
      answers[name] = sniffer.isAgeFile(
        await Deno.lstat(path),
        (n) => readHeadAt(path, n),
      );
    }
    assert.deepEqual(answers, {
      "age": true,
      "exactly-the-line": true,
      "armored": false,
      "plain.age": false,
      "short": false,
      "empty": false,
    });
  });
});

Deno.test("AgeSniffer.isAgeFile() refuses a file swapped for another since its lstat", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "f");
    await Deno.writeTextFile(path, "plain text, long enough to be read");
    const old = await Deno.lstat(path);
    // Replaced (renamed over, so surely a new inode) by an age file.
    await Deno.writeFile(join(dir, "new"), bytes(AGE_MAGIC, "rest"));
    await Deno.rename(join(dir, "new"), path);
    const sniffer = new AgeSniffer();
    assert.equal(sniffer.isAgeFile(old, (n) => readHeadAt(path, n)), false);
    assert.equal(
      sniffer.isAgeFile(await Deno.lstat(path), (n) => readHeadAt(path, n)),
      true,
    );
  });
});

Deno.test("AgeSniffer.isAgeFile() never follows or reads a symbolic link", async () => {
  await withDir(async (dir) => {
    const target = join(dir, "outside");
    await Deno.writeFile(target, bytes(AGE_MAGIC, "x"));
    const link = join(dir, "link");
    await Deno.symlink(target, link);
    const sniffer = new AgeSniffer();
    assert.equal(
      sniffer.isAgeFile(await Deno.lstat(link), (n) => readHeadAt(link, n)),
      false,
    );
  });
});

Deno.test("AgeSniffer caches by inode, size and mtime, and re-reads a changed file", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "f");
    const age = bytes(AGE_MAGIC, "first");
    await Deno.writeFile(path, age);
    const sniffer = new AgeSniffer();
    const info = await Deno.lstat(path);
    assert.equal(sniffer.isAgeFile(info, (n) => readHeadAt(path, n)), true);
    // Rewritten in place with the same size and mtime: answered from the
    // cache, so not read again.
    await Deno.writeFile(path, new Uint8Array(age.length).fill(0x41));
    await Deno.utime(path, info.atime!, info.mtime!);
    const same = await Deno.lstat(path);
    assert.equal(same.size, info.size);
    assert.equal(same.mtime?.getTime(), info.mtime?.getTime());
    assert.equal(sniffer.isAgeFile(same, (n) => readHeadAt(path, n)), true);
    assert.equal(
      new AgeSniffer().isAgeFile(same, (n) => readHeadAt(path, n)),
      false,
    );
    // Another size: read again.
    await Deno.writeTextFile(path, "now a plain file of another size");
    assert.equal(
      sniffer.isAgeFile(await Deno.lstat(path), (n) => readHeadAt(path, n)),
      false,
    );
  });
});
