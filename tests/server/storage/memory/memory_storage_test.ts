import { MemoryStorage } from "../../../../server/storage/memory/memory_storage.ts";
import assert from "node:assert/strict";
import { put, rejects, storageContract } from "../storage_contract.ts";

storageContract("MemoryStorage", () => {
  const storage = new MemoryStorage();
  return Promise.resolve({
    storage,
    [Symbol.asyncDispose]: () => storage[Symbol.asyncDispose](),
  });
});

storageContract("MemoryStorage as an object store", () => {
  const storage = new MemoryStorage({
    atomicFolderRename: false,
    realFolders: false,
  });
  return Promise.resolve({
    storage,
    [Symbol.asyncDispose]: () => storage[Symbol.asyncDispose](),
  });
});

Deno.test("MemoryStorage refuses a declared size beyond its capacity and reserves it until the upload ends", async () => {
  await using s = new MemoryStorage({ capacity: 10 });
  await put(s, "six", "123456");
  await rejects(s.beginUpload("big", 5), "no_space");
  const first = await s.beginUpload("a", 3);
  await rejects(s.beginUpload("b", 2), "no_space");
  await first.write(new TextEncoder().encode("abc"));
  await first.abort();
  const second = await s.beginUpload("b", 4);
  await second.write(new Uint8Array(4));
  assert.equal(await second.commit({ overwrite: false }), "b");
  await rejects(s.beginUpload("c", 1), "no_space");
  // Removing a file frees its bytes; replacing one too, once it is done.
  await s.remove("b");
  assert.equal(await put(s, "six", "12", { overwrite: true }), "six");
  const rest = await s.beginUpload("c", 8);
  await rest.abort();
  await rejects(s.beginUpload("c", 9), "no_space");
});

Deno.test("MemoryStorage stores the modes it is asked for, masked like the local backend's", async () => {
  await using s = new MemoryStorage();
  for (
    const [name, asked, stored] of [["x", 0o4777, 0o755], [
      "r",
      0o400,
      0o600,
    ]] as const
  ) {
    const up = await s.beginUpload(name, 0);
    await up.commit({ overwrite: false, mode: asked });
    assert.equal((await s.stat(name)).mode, stored, name);
  }
  const plain = await s.beginUpload("plain", 0);
  await plain.commit({ overwrite: false });
  assert.equal((await s.stat("plain")).mode, 0o600);
});

Deno.test("MemoryStorage keeps the SHA-256 an upload was verified against, and one a whole read offers", async () => {
  await using s = new MemoryStorage();
  const up = await s.beginUpload("f", 1);
  await up.write(new Uint8Array([1]));
  await up.commit({ overwrite: false, sha256: "a".repeat(64) });
  using reader = await s.openRead("f");
  assert.equal(reader.sha256, "a".repeat(64));
  await put(s, "g", "g");
  {
    using part = await s.openRead("g", { offset: 1 });
    await part.rememberSha256?.("b".repeat(64));
  }
  using again = await s.openRead("g");
  assert.equal(again.sha256, undefined, "a read from an offset is not offered");
  await again.rememberSha256?.("c".repeat(64));
  using third = await s.openRead("g");
  assert.equal(third.sha256, "c".repeat(64));
});
