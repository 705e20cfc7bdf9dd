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
import type { Storage, Upload } from "../../../server/storage/storage.ts";

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
  ".fts",
  ".fts/partial/x.part",
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
    assert.deepEqual(await s.list(""), []);
  });

  test(".beginUpload() + commit() stores the bytes under the name", async (s) => {
    const name = await put(s, "a.txt", "hello");
    assert.equal(name, "a.txt");
    const [entry] = await s.list("");
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
    assert.deepEqual(await s.list(""), []);
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
    assert.deepEqual((await s.list("")).map((e) => e.name), ["keep.txt"]);
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
    assert.equal((await s.list("")).length, 1);
  });

  test(".commit() refuses a short upload and leaves nothing", async (s) => {
    const up = await s.beginUpload("short.txt", 10);
    await up.write(encoder.encode("abc"));
    await rejects(up.commit({ overwrite: false }), "bad_request");
    assert.deepEqual(await s.list(""), []);
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
    await rejects(s.beginUpload("nope/a.txt", 1), "not_found");
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
      (await s.list("")).map((e) => [e.name, e.type]),
      [["docs", "dir"]],
    );
    assert.deepEqual((await s.list("docs/inner")).map((e) => e.name), [
      "a.txt",
    ]);
    assert.equal((await s.stat("docs")).type, "dir");
    await rejects(s.mkdir("docs"), "exists");
    await rejects(s.mkdir("no/such"), "not_found");
  });

  test(".list() refuses a file and a missing folder; sorts by name", async (s) => {
    for (const n of ["b", "a", "C", "é"]) await put(s, n, n);
    assert.deepEqual((await s.list("")).map((e) => e.name), [
      "C",
      "a",
      "b",
      "é",
    ]);
    await rejects(s.list("a"), "not_directory");
    await rejects(s.list("missing"), "not_found");
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
    assert.deepEqual((await s.list("")).map((e) => e.name), ["full"]);
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
    assert.deepEqual(await s.list("d"), []);
    await rejects(s.rename("missing", "x", { overwrite: false }), "not_found");
    await rejects(s.rename("b", "b", { overwrite: false }), "exists");
  });

  test(".rename() moves folders, never into themselves or over one", async (s) => {
    await s.mkdir("d");
    await put(s, "d/f", "F");
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

  test(" methods refuse hostile and reserved names with invalid_name", async (s) => {
    await put(s, "ok", "x");
    for (const bad of HOSTILE_NAMES) {
      const label = JSON.stringify(bad.slice(0, 40));
      if (bad !== "") {
        await rejects(s.list(bad), "invalid_name", label);
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
    assert.deepEqual((await s.list("")).map((e) => e.name), [nfc]);
    assert.equal(await read(s, nfd), "x");
    assert.equal(await read(s, nfc), "x");
  });
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
