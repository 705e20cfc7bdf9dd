import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  ChecksumCache,
  type FileStamp,
  stampOf,
} from "../../../../server/storage/local/checksum_cache.ts";
import { LocalStorage } from "../../../../server/storage/local/local_storage.ts";
import type { Storage } from "../../../../server/storage/storage.ts";

const MIB = 1024 * 1024;
/** Modification times closer than this to the observation are racy. */
const RACY_MS = 3000;
const HOUR = 60 * 60 * 1000;
const A = "a".repeat(64);
const B = "b".repeat(64);

/** A temporary folder, removed on disposal. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "fts_sums_test_" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

const STAMP: FileStamp = {
  dev: 7,
  ino: 42,
  size: 5 * MIB,
  mtime: Date.UTC(2024, 0, 1),
  ctime: Date.UTC(2024, 0, 2),
  birthtime: Date.UTC(2024, 0, 1),
};
/** Long after every time in STAMP: not racy. */
const LATER = Date.UTC(2024, 1, 1);

Deno.test("ChecksumCache.lookup() answers only for the exact state recorded", async () => {
  await using dir = await tempDir();
  const cache = await ChecksumCache.open(dir.path);
  assert.equal(await cache.lookup(STAMP), null);
  await cache.record(STAMP, A, LATER);
  assert.equal(await cache.lookup({ ...STAMP }), A);
  for (
    const changed of [
      { size: STAMP.size + 1 },
      { mtime: STAMP.mtime + 1 },
      { ctime: STAMP.ctime + 1000 },
      { birthtime: STAMP.birthtime! + 1 },
      { birthtime: null },
      { ino: STAMP.ino + 1 },
      { dev: STAMP.dev + 1 },
    ]
  ) {
    const stamp = { ...STAMP, ...changed };
    assert.equal(await cache.lookup(stamp), null, JSON.stringify(changed));
  }
  await cache.record({ ...STAMP, ctime: STAMP.ctime + 1000 }, B, LATER);
  assert.equal(await cache.lookup(STAMP), null, "replaced by the new state");
  assert.equal(await cache.lookup({ ...STAMP, ctime: STAMP.ctime + 1000 }), B);
});

Deno.test("ChecksumCache.record() skips stamps modified less than 3 s before they were observed, future stamps, small files and bad hashes", async () => {
  await using dir = await tempDir();
  const cache = await ChecksumCache.open(dir.path);
  const fresh = { ...STAMP, ctime: STAMP.mtime };
  await cache.record(fresh, A, fresh.mtime + RACY_MS - 1);
  assert.equal(await cache.lookup(fresh), null, "mtime too recent");
  await cache.record({ ...STAMP, ctime: LATER + 1 }, A, LATER);
  assert.equal(await cache.lookup({ ...STAMP, ctime: LATER + 1 }), null);
  const small = { ...STAMP, size: MIB - 1 };
  await cache.record(small, A, LATER);
  assert.equal(await cache.lookup(small), null, "below the minimum size");
  await cache.record(STAMP, "A".repeat(64), LATER);
  await cache.record(STAMP, "x", LATER);
  assert.equal(await cache.lookup(STAMP), null, "not a lower-case hex hash");
  await cache.record(fresh, A, fresh.mtime + RACY_MS);
  assert.equal(await cache.lookup(fresh), A);
  assert.deepEqual(await names(dir.path), [`${STAMP.dev}-${STAMP.ino}`]);
});

Deno.test("ChecksumCache treats damaged entries as misses and open() sweeps temp files", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, `${STAMP.dev}-${STAMP.ino}`);
  const cache = await ChecksumCache.open(dir.path);
  const good = JSON.stringify({ v: 1, ...STAMP, sha256: A });
  for (
    const text of [
      "",
      "{",
      "[]",
      "null",
      good.replace('"v":1', '"v":2'),
      good.replace(A, A.toUpperCase()),
      good.replace(A, "a".repeat(63)),
      good.replace(`"size":${STAMP.size}`, `"size":"${STAMP.size}"`),
      good.replace(/}$/, `,"pad":"${"x".repeat(5000)}"}`),
    ]
  ) {
    await Deno.writeTextFile(path, text);
    assert.equal(await cache.lookup(STAMP), null, text.slice(0, 40));
  }
  await Deno.writeTextFile(path, good);
  assert.equal(await cache.lookup(STAMP), A, "the control entry is valid");
  await Deno.writeTextFile(`${path}.1234.tmp`, "half");
  await ChecksumCache.open(dir.path);
  assert.deepEqual(await names(dir.path), [`${STAMP.dev}-${STAMP.ino}`]);
});

Deno.test("ChecksumCache.forget() drops an entry in whatever state", async () => {
  await using dir = await tempDir();
  const cache = await ChecksumCache.open(dir.path, { minSize: 1 });
  const file = join(dir.path, "f");
  await Deno.writeFile(file, new Uint8Array(10));
  await Deno.utime(file, new Date(LATER - HOUR), new Date(LATER - HOUR));
  const info = await Deno.stat(file);
  const stamp = stampOf(info)!;
  await cache.record(stamp, A, Date.now());
  assert.equal(await cache.lookup(stamp), A);
  await cache.forget({ ...info, ctime: new Date(0) });
  assert.equal(await cache.lookup(stamp), null);
});

// LocalStorage keeps the sums of what it stores.

/** A storage in a temporary folder, with files of 1 MiB and more cached. */
async function storage(): Promise<
  AsyncDisposable & { s: LocalStorage; root: string }
> {
  const root = await Deno.makeTempDir({ prefix: "fts_sums_storage_" });
  const s = await LocalStorage.open(root);
  return {
    s,
    root,
    async [Symbol.asyncDispose]() {
      await s[Symbol.asyncDispose]();
      await Deno.remove(root, { recursive: true });
    },
  };
}

function bytes(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed) & 0xff;
  return data;
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Stores `data` through an upload, as the PUT handler does. */
async function upload(
  s: Storage,
  name: string,
  data: Uint8Array,
  options: { mtime?: number; overwrite?: boolean } = {},
): Promise<string> {
  await using up = await s.beginUpload(name, data.byteLength);
  await up.write(data);
  return await up.commit({
    overwrite: options.overwrite ?? false,
    mtime: options.mtime ?? Date.now() - HOUR,
    sha256: sha256(data),
  });
}

async function knownSha(s: Storage, name: string): Promise<string | undefined> {
  using reader = await s.openRead(name);
  return reader.sha256;
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("LocalStorage keeps the SHA-256 an upload was verified against", async () => {
  await using t = await storage();
  const data = bytes(MIB + 10, 1);
  await upload(t.s, "big.bin", data);
  assert.equal(await knownSha(t.s, "big.bin"), sha256(data));
  const small = bytes(1000, 2);
  await upload(t.s, "small.bin", small);
  assert.equal(await knownSha(t.s, "small.bin"), undefined, "not worth it");
  // A file whose modification time is "now" could still change unnoticed.
  await upload(t.s, "racy.bin", data, { mtime: Date.now() });
  assert.equal(await knownSha(t.s, "racy.bin"), undefined);
});

Deno.test("LocalStorage ignores a stale sum after the file was changed in place", async () => {
  await using t = await storage();
  const data = bytes(2 * MIB, 3);
  await upload(t.s, "f.bin", data);
  assert.equal(await knownSha(t.s, "f.bin"), sha256(data));
  // Same size, new content, written in place like an editor or a database.
  using file = await Deno.open(join(t.root, "f.bin"), { write: true });
  await file.write(new Uint8Array(4096).fill(0xee));
  file.close();
  assert.equal(await knownSha(t.s, "f.bin"), undefined);
});

Deno.test("LocalStorage ignores a stale sum when the old modification time is put back", async () => {
  await using t = await storage();
  const data = bytes(2 * MIB, 4);
  const mtime = Date.now() - HOUR;
  await upload(t.s, "f.bin", data, { mtime });
  const path = join(t.root, "f.bin");
  const before = (await Deno.stat(path)).ctime!.getTime();
  using file = await Deno.open(path, { write: true });
  await file.write(new Uint8Array(4096).fill(0xee));
  file.close();
  await Deno.utime(path, new Date(mtime), new Date(mtime));
  const after = await Deno.stat(path);
  assert.equal(after.mtime!.getTime(), mtime);
  assert.equal(after.size, data.byteLength);
  if (after.ctime!.getTime() !== before) {
    assert.equal(await knownSha(t.s, "f.bin"), undefined);
  } else {
    // The runtime reports ctime in whole seconds and the change came within
    // the same second: the old sum is offered, and a client's check of the
    // bytes it receives then fails loudly (see download_checksum_test.ts).
    assert.equal(await knownSha(t.s, "f.bin"), sha256(data));
  }
});

Deno.test("LocalStorage keeps the sum across renames, with and without overwrite", async () => {
  await using t = await storage();
  const data = bytes(MIB + 1, 5);
  await upload(t.s, "a.bin", data);
  await t.s.mkdir("docs");
  await t.s.rename("a.bin", "docs/b.bin", { overwrite: false });
  assert.equal(await knownSha(t.s, "docs/b.bin"), sha256(data));
  await upload(t.s, "c.bin", bytes(MIB + 1, 6));
  await t.s.rename("docs/b.bin", "c.bin", { overwrite: true });
  assert.equal(await knownSha(t.s, "c.bin"), sha256(data));
  // The replaced file's entry is gone; only the survivor's is left.
  assert.equal((await names(join(t.root, ".fts", "sums"))).length, 1);
});

Deno.test("LocalStorage hashes a file placed by other means once, then remembers it", async () => {
  await using t = await storage();
  const data = bytes(MIB + 7, 7);
  const path = join(t.root, "placed.bin");
  await Deno.writeFile(path, data);
  const old = new Date(Date.now() - HOUR);
  await Deno.utime(path, old, old);
  {
    using reader = await t.s.openRead("placed.bin");
    assert.equal(reader.sha256, undefined);
    await reader.rememberSha256!(sha256(data));
  }
  assert.equal(await knownSha(t.s, "placed.bin"), sha256(data));
});

Deno.test("LocalStorage does not remember a sum when the file changed while it was read", async () => {
  await using t = await storage();
  const data = bytes(MIB + 7, 8);
  const path = join(t.root, "moving.bin");
  await Deno.writeFile(path, data);
  const old = new Date(Date.now() - HOUR);
  await Deno.utime(path, old, old);
  {
    using reader = await t.s.openRead("moving.bin");
    await Deno.writeFile(path, bytes(MIB + 7, 9));
    await reader.rememberSha256!(sha256(data));
  }
  await Deno.utime(path, old, old);
  assert.equal(await knownSha(t.s, "moving.bin"), undefined);
  assert.deepEqual(await names(join(t.root, ".fts", "sums")), []);
});

Deno.test("LocalStorage.remove() and overwriting uploads drop the old sums", async () => {
  await using t = await storage();
  await upload(t.s, "x.bin", bytes(MIB, 10));
  await upload(t.s, "y.bin", bytes(MIB, 11));
  const sums = join(t.root, ".fts", "sums");
  assert.equal((await names(sums)).length, 2);
  await t.s.remove("x.bin");
  assert.equal((await names(sums)).length, 1);
  const next = bytes(MIB, 12);
  await upload(t.s, "y.bin", next, { overwrite: true });
  assert.equal((await names(sums)).length, 1);
  assert.equal(await knownSha(t.s, "y.bin"), sha256(next));
});

Deno.test("LocalStorage overwrite moves the replaced file to the trash and empties it on disposal", async () => {
  await using t = await storage();
  const old = bytes(MIB, 13);
  await upload(t.s, "z.bin", old);
  using reader = await t.s.openRead("z.bin");
  const trash = join(t.root, ".fts", "trash");
  const next = bytes(MIB, 14);
  {
    await using up = await t.s.beginUpload("z.bin", next.byteLength);
    await up.write(next);
    assert.equal(await up.commit({ overwrite: true }), "z.bin");
    assert.deepEqual(await Deno.readFile(join(t.root, "z.bin")), next);
    assert.equal((await names(trash)).length, 1, "kept until disposal");
  }
  assert.deepEqual(await names(trash), []);
  // A reader that had the old file open still reads the old bytes.
  const head = new Uint8Array(16);
  assert.equal(await reader.read(head), 16);
  assert.deepEqual(head, old.subarray(0, 16));
});

Deno.test("LocalStorage.open() empties a trash a crash left behind", async () => {
  await using t = await storage();
  await Deno.writeFile(join(t.root, ".fts", "trash", "left.old"), bytes(10, 1));
  await t.s[Symbol.asyncDispose](); // One server per root at a time.
  await using _again = await LocalStorage.open(t.root);
  assert.deepEqual(await names(join(t.root, ".fts", "trash")), []);
});
