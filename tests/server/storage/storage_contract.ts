/**
 * The contract every {@linkcode Storage} backend must pass. A backend's test
 * file calls {@linkcode storageContract} with a factory for fresh, empty
 * instances; each case becomes one Deno test.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FtsError } from "../../../protocol/errors.ts";
import type { ErrorCode } from "../../../protocol/errors.ts";
import {
  type Entry,
  type FileReader,
  LIST_PAGE_SIZE,
  type Storage,
  type Upload,
} from "../../../server/storage/storage.ts";

/** A fresh, empty backend; disposing it releases everything it holds. */
export interface StorageFixture extends AsyncDisposable {
  readonly storage: Storage;
}

/** Names every backend must refuse with `invalid_name`. */
export const HOSTILE_NAMES: readonly string[] = [
  "",
  ".",
  "..",
  "../x",
  "a/../../b",
  "/etc/passwd",
  "..\\x",
  "a\\b",
  "a\u0000b",
  "a\x1b[2Jb",
  "a/",
  "a//b",
  "x".repeat(10_000),
];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Registers the contract tests for `backend` ("LocalStorage"…). */
export function storageContract(
  backend: string,
  open: () => Promise<StorageFixture>,
): void {
  function test(
    name: string,
    fn: (storage: Storage) => Promise<void>,
  ): void {
    Deno.test(`${backend}${name}`, async () => {
      await using fixture = await open();
      await fn(fixture.storage);
    });
  }

  test(".list() of a fresh storage is empty (no state folder)", async (s) => {
    assert.deepEqual(await listAll(s, ""), []);
  });

  test(".beginUpload() + commit() stores the bytes under the name", async (s) => {
    const name = await put(s, "a.txt", "hello");
    assert.equal(name, "a.txt");
    const [entry] = await listAll(s, "");
    assert.equal(entry?.name, "a.txt");
    assert.equal(entry?.type, "file");
    assert.equal(entry?.size, 5);
    assert.equal(await read(s, "a.txt"), "hello");
    const stat = await s.stat("a.txt");
    assert.deepEqual(stat, entry);
  });

  test(".commit() sets the modification time it is given", async (s) => {
    const mtime = Date.UTC(2020, 0, 2, 3, 4, 5, 678);
    await put(s, "old.txt", "x", { mtime });
    assert.equal((await s.stat("old.txt")).mtime, mtime);
    using reader = await s.openRead("old.txt");
    assert.equal(reader.mtime, mtime);
  });

  test(".beginUpload() keeps data invisible until commit", async (s) => {
    await using up = await s.beginUpload("soon.txt", 3);
    await up.write(encoder.encode("abc"));
    assert.deepEqual(await listAll(s, ""), []);
    await rejects(s.stat("soon.txt"), "not_found");
    await up.commit({ overwrite: false });
    assert.equal((await s.stat("soon.txt")).size, 3);
  });

  test(".abort() leaves nothing and an existing file intact", async (s) => {
    await put(s, "keep.txt", "original");
    const up = await s.beginUpload("keep.txt", 5);
    await up.write(encoder.encode("new!!"));
    await up.abort();
    await up.abort();
    assert.deepEqual((await listAll(s, "")).map((e) => e.name), ["keep.txt"]);
    assert.equal(await read(s, "keep.txt"), "original");
    await rejects(up.write(encoder.encode("x")), "cancelled");
  });

  test(".commit() names copies (1) name, (2) name… without overwrite", async (s) => {
    await s.mkdir("d");
    assert.equal(await put(s, "d/r.pdf", "one"), "d/r.pdf");
    assert.equal(await put(s, "d/r.pdf", "two"), "d/(1) r.pdf");
    assert.equal(await put(s, "d/r.pdf", "three"), "d/(2) r.pdf");
    assert.equal(await read(s, "d/r.pdf"), "one");
    assert.equal(await read(s, "d/(1) r.pdf"), "two");
    assert.equal(await read(s, "d/(2) r.pdf"), "three");
  });

  test(".commit() of simultaneous uploads never gives two the same name", async (s) => {
    const uploads: Upload[] = [];
    for (let i = 0; i < 12; i++) {
      const up = await s.beginUpload("same.txt", 2);
      await up.write(encoder.encode(String(i).padStart(2, "0")));
      uploads.push(up);
    }
    const names = await Promise.all(
      uploads.map((up) => up.commit({ overwrite: false })),
    );
    assert.equal(new Set(names).size, 12);
    const contents = await Promise.all(names.map((n) => read(s, n)));
    assert.equal(new Set(contents).size, 12);
  });

  test(".commit() with overwrite replaces the file", async (s) => {
    await put(s, "f.txt", "old contents");
    assert.equal(await put(s, "f.txt", "new", { overwrite: true }), "f.txt");
    assert.equal(await read(s, "f.txt"), "new");
    assert.equal((await listAll(s, "")).length, 1);
  });

  test(".commit() refuses a short upload and leaves nothing", async (s) => {
    const up = await s.beginUpload("short.txt", 10);
    await up.write(encoder.encode("abc"));
    await rejects(up.commit({ overwrite: false }), "bad_request");
    assert.deepEqual(await listAll(s, ""), []);
  });

  test(".write() refuses more data than declared", async (s) => {
    await using up = await s.beginUpload("long.txt", 2);
    await rejects(up.write(encoder.encode("abc")), "bad_request");
  });

  test(".beginUpload() of size 0 stores an empty file", async (s) => {
    const up = await s.beginUpload("empty", 0);
    assert.equal(await up.commit({ overwrite: false }), "empty");
    assert.equal((await s.stat("empty")).size, 0);
    using reader = await s.openRead("empty");
    assert.equal(await reader.read(new Uint8Array(8)), null);
  });

  test(".beginUpload() refuses a missing folder and a folder's name", async (s) => {
    if (s.features.realFolders) {
      await rejects(s.beginUpload("nope/a.txt", 1), "not_found");
    }
    await s.mkdir("dir");
    await rejects(s.beginUpload("dir", 1), "is_directory");
    await put(s, "file", "x");
    await rejects(s.beginUpload("file/a.txt", 1), "not_directory");
  });

  test(".commit() with overwrite refuses to replace a folder", async (s) => {
    const up = await s.beginUpload("later", 1);
    await up.write(encoder.encode("x"));
    await s.mkdir("later");
    await rejects(up.commit({ overwrite: true }), "is_directory");
    assert.equal((await s.stat("later")).type, "dir");
  });

  test(".openRead() streams the file and reports its size", async (s) => {
    const data = new Uint8Array(300_000).map((_, i) => i * 7);
    const up = await s.beginUpload("big.bin", data.byteLength);
    await up.write(data.subarray(0, 100_000));
    await up.write(data.subarray(100_000));
    await up.commit({ overwrite: false });
    using reader = await s.openRead("big.bin");
    assert.equal(reader.size, data.byteLength);
    const got = new Uint8Array(data.byteLength);
    let at = 0;
    const buf = new Uint8Array(65_536);
    for (
      let n = await reader.read(buf);
      n !== null;
      n = await reader.read(buf)
    ) {
      got.set(buf.subarray(0, n), at);
      at += n;
    }
    assert.equal(at, data.byteLength);
    assert.deepEqual(got, data);
  });

  test(".openRead() refuses a missing file and a folder", async (s) => {
    await rejects(s.openRead("missing"), "not_found");
    await s.mkdir("d");
    await rejects(s.openRead("d"), "is_directory");
  });

  test(".mkdir() creates one folder, listed as a dir", async (s) => {
    await s.mkdir("docs");
    await s.mkdir("docs/inner");
    await put(s, "docs/inner/a.txt", "a");
    assert.deepEqual(
      (await listAll(s, "")).map((e) => [e.name, e.type]),
      [["docs", "dir"]],
    );
    assert.deepEqual((await listAll(s, "docs/inner")).map((e) => e.name), [
      "a.txt",
    ]);
    assert.equal((await s.stat("docs")).type, "dir");
    await rejects(s.mkdir("docs"), "exists");
    if (s.features.realFolders) {
      await rejects(s.mkdir("no/such"), "not_found");
    }
  });

  test(".list() refuses a file and a missing folder; sorts by name", async (s) => {
    for (const n of ["b", "a", "C", "é"]) await put(s, n, n);
    assert.deepEqual((await listAll(s, "")).map((e) => e.name), [
      "C",
      "a",
      "b",
      "é",
    ]);
    await rejects(listAll(s, "a"), "not_directory");
    await rejects(listAll(s, "missing"), "not_found");
  });

  test(".remove() deletes files and empty folders only", async (s) => {
    await put(s, "a", "1");
    await s.remove("a");
    await rejects(s.stat("a"), "not_found");
    await rejects(s.remove("a"), "not_found");
    await s.mkdir("full");
    await put(s, "full/x", "1");
    await rejects(s.remove("full"), "is_directory");
    assert.equal(await read(s, "full/x"), "1");
    await s.mkdir("empty");
    await s.remove("empty");
    assert.deepEqual((await listAll(s, "")).map((e) => e.name), ["full"]);
  });

  test(".rename() moves a file; refuses to replace without overwrite", async (s) => {
    await put(s, "a", "A");
    await put(s, "b", "B");
    await rejects(s.rename("a", "b", { overwrite: false }), "exists");
    assert.equal(await read(s, "a"), "A");
    assert.equal(await read(s, "b"), "B");
    await s.mkdir("d");
    await s.rename("a", "d/a2", { overwrite: false });
    await rejects(s.stat("a"), "not_found");
    assert.equal(await read(s, "d/a2"), "A");
    await s.rename("d/a2", "b", { overwrite: true });
    assert.equal(await read(s, "b"), "A");
    assert.deepEqual(await listAll(s, "d"), []);
    await rejects(s.rename("missing", "x", { overwrite: false }), "not_found");
    await rejects(s.rename("b", "b", { overwrite: false }), "exists");
  });

  test(".rename() moves folders, never into themselves or over one", async (s) => {
    await s.mkdir("d");
    await put(s, "d/f", "F");
    if (!s.features.atomicFolderRename) {
      await rejects(s.rename("d", "e", { overwrite: false }), "unsupported");
      assert.equal(await read(s, "d/f"), "F");
      await rejects(s.stat("e"), "not_found");
      return;
    }
    await s.rename("d", "e", { overwrite: false });
    assert.equal(await read(s, "e/f"), "F");
    await rejects(
      s.rename("e", "e/inside", { overwrite: false }),
      "bad_request",
    );
    await put(s, "g", "G");
    await rejects(s.rename("g", "e", { overwrite: true }), "is_directory");
    assert.equal(await read(s, "g"), "G");
  });

  test(".rename() moves files whatever the backend's features", async (s) => {
    await s.mkdir("d");
    await put(s, "d/f", "F");
    await s.rename("d/f", "f", { overwrite: false });
    assert.equal(await read(s, "f"), "F");
    assert.deepEqual(await listAll(s, "d"), []);
  });

  test(" keeps an empty folder made by mkdir() whatever its folders are", async (s) => {
    await s.mkdir("empty");
    await put(s, "empty/f", "x");
    await s.remove("empty/f");
    assert.deepEqual(
      (await listAll(s, "")).map((e) => [e.name, e.type]),
      [["empty", "dir"]],
    );
    assert.deepEqual(await listAll(s, "empty"), []);
  });

  test(" stores a file in a folder that must exist, or makes a virtual one", async (s) => {
    if (s.features.realFolders) {
      await rejects(s.beginUpload("none/a", 1), "not_found");
      await rejects(s.mkdir("none/deeper"), "not_found");
      assert.deepEqual(await listAll(s, ""), []);
      return;
    }
    // As in an object store: a folder is there while something is below it.
    assert.equal(await put(s, "a/b/f", "x"), "a/b/f");
    await s.mkdir("m/n");
    assert.deepEqual(
      (await listAll(s, "")).map((e) => [e.name, e.type]),
      [["a", "dir"], ["m", "dir"]],
    );
    await s.rename("a/b/f", "g", { overwrite: false });
    await s.remove("m/n");
    assert.deepEqual((await listAll(s, "")).map((e) => e.name), ["g"]);
    await rejects(listAll(s, "a"), "not_found");
    await put(s, "g2", "y");
    await rejects(s.beginUpload("g2/x", 1), "not_directory");
  });

  test(".openRead() starts at the offset it is given", async (s) => {
    const data = new Uint8Array(200_000).map((_, i) => i * 13);
    const up = await s.beginUpload("f.bin", data.byteLength);
    await up.write(data);
    await up.commit({ overwrite: false });
    for (const offset of [0, 1, 65_536, 199_999, 200_000]) {
      using reader = await s.openRead("f.bin", { offset });
      assert.equal(reader.size, data.byteLength, `size at ${offset}`);
      assert.deepEqual(
        await readRest(reader),
        data.subarray(offset),
        `bytes from ${offset}`,
      );
    }
    await rejects(s.openRead("f.bin", { offset: 200_001 }), "bad_request");
    for (const offset of [-1, 0.5, NaN, 2 ** 53]) {
      await assert.rejects(s.openRead("f.bin", { offset }), RangeError);
    }
  });

  test(".openRead() keeps reading the old file after an overwrite", async (s) => {
    await put(s, "f", "old contents");
    using reader = await s.openRead("f", { offset: 4 });
    await put(s, "f", "new", { overwrite: true });
    assert.equal(decoder.decode(await readRest(reader)), "contents");
    assert.equal(await read(s, "f"), "new");
  });

  test(".list() gives sorted pages of at most LIST_PAGE_SIZE, each made when pulled", async (s) => {
    const count = LIST_PAGE_SIZE * 2 + 7;
    await s.mkdir("many");
    const names = Array.from(
      { length: count },
      (_, i) => `f${String(i).padStart(5, "0")}`,
    );
    await putEmpty(s, names.map((n) => `many/${n}`));
    const pages = s.list("many")[Symbol.asyncIterator]();
    const first = await pages.next();
    assert.ok(!first.done);
    // Removed after the first page was pulled: absent from the last one.
    await s.remove(`many/${names.at(-1)}`);
    const sizes = [first.value.length];
    const seen = first.value.map((e) => e.name);
    for (let page = await pages.next(); !page.done; page = await pages.next()) {
      sizes.push(page.value.length);
      seen.push(...page.value.map((e) => e.name));
    }
    assert.deepEqual(sizes, [LIST_PAGE_SIZE, LIST_PAGE_SIZE, 6]);
    assert.deepEqual(seen, names.slice(0, -1));
  });

  test(".list() of a missing folder fails at the first pull, not before", async (s) => {
    const pages = s.list("missing")[Symbol.asyncIterator]();
    await rejects(pages.next(), "not_found");
  });

  test(" disposal aborts uploads in flight and refuses later requests", async (s) => {
    await put(s, "kept", "x");
    const up = await s.beginUpload("a", 4);
    await up.write(new Uint8Array(4));
    await s[Symbol.asyncDispose]();
    await rejects(up.commit({ overwrite: false }), "cancelled");
    await rejects(s.stat("kept"), "io");
    await rejects(listAll(s, ""), "io");
    await rejects(s.beginUpload("b", 1), "io");
  });

  test(" methods refuse hostile and reserved names with invalid_name", async (s) => {
    await put(s, "ok", "x");
    for (const bad of HOSTILE_NAMES) {
      const label = JSON.stringify(bad.slice(0, 40));
      if (bad !== "") {
        await rejects(listAll(s, bad), "invalid_name", label);
      }
      await rejects(s.stat(bad), "invalid_name", label);
      await rejects(s.openRead(bad), "invalid_name", label);
      await rejects(s.beginUpload(bad, 1), "invalid_name", label);
      await rejects(s.remove(bad), "invalid_name", label);
      await rejects(s.mkdir(bad), "invalid_name", label);
      await rejects(
        s.rename("ok", bad, { overwrite: true }),
        "invalid_name",
        label,
      );
      await rejects(
        s.rename(bad, "ok2", { overwrite: true }),
        "invalid_name",
        label,
      );
    }
    assert.equal(await read(s, "ok"), "x");
  });

  test(" stores names in NFC whatever form they come in", async (s) => {
    const nfd = "cafe\u0301.txt";
    const nfc = "caf\u00e9.txt";
    assert.equal(await put(s, nfd, "x"), nfc);
    assert.deepEqual((await listAll(s, "")).map((e) => e.name), [nfc]);
    assert.equal(await read(s, nfd), "x");
    assert.equal(await read(s, nfc), "x");
  });
}

/**
 * Every entry of a listing, checking that each page holds 1 to
 * LIST_PAGE_SIZE entries.
 */
export async function listAll(s: Storage, path: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const page of s.list(path)) {
    assert.ok(
      page.length >= 1 && page.length <= LIST_PAGE_SIZE,
      `a page of ${page.length} entries`,
    );
    entries.push(...page);
  }
  return entries;
}

/** Uploads `text` as `name`; returns the final name. */
export async function put(
  s: Storage,
  name: string,
  text: string,
  options: { overwrite?: boolean; mtime?: number } = {},
): Promise<string> {
  const bytes = encoder.encode(text);
  await using up = await s.beginUpload(name, bytes.byteLength);
  await up.write(bytes);
  return await up.commit({
    overwrite: options.overwrite ?? false,
    ...(options.mtime === undefined ? {} : { mtime: options.mtime }),
  });
}

/** Stores empty files under `names`, many at a time. */
async function putEmpty(s: Storage, names: readonly string[]): Promise<void> {
  for (let i = 0; i < names.length; i += 64) {
    await Promise.all(names.slice(i, i + 64).map((n) => put(s, n, "")));
  }
}

/** Reads what is left of `reader`. */
export async function readRest(reader: FileReader): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65_536);
  for (let n = await reader.read(buf); n !== null; n = await reader.read(buf)) {
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Reads a whole (small) file as text. */
export async function read(s: Storage, name: string): Promise<string> {
  using reader = await s.openRead(name);
  const buf = new Uint8Array(reader.size + 1);
  let at = 0;
  for (;;) {
    const n = await reader.read(buf.subarray(at));
    if (n === null) break;
    at += n;
  }
  return decoder.decode(buf.subarray(0, at));
}

/** Asserts that `promise` rejects with an FtsError of `code`. */
export async function rejects(
  promise: Promise<unknown>,
  code: ErrorCode,
  label = "",
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FtsError, `${label}: ${String(error)}`);
    assert.equal(error.code, code, `${label}: ${error.message}`);
    return true;
  });
}
