import assert from "node:assert/strict";
import { MemoryStorage } from "../../../server/storage/memory/memory_storage.ts";
import { LIST_PAGE_SIZE } from "../../../server/storage/storage.ts";
import {
  startTestServer,
  type TestServer,
} from "../../_helpers/server/fixture.ts";
import {
  CountingStorage,
  fillFlat,
} from "../../_helpers/server/counting_storage.ts";
import { pseudoRandomBytes, sha256 } from "../../_helpers/server/raw_client.ts";

const MIB = 1024 * 1024;

/** A test server on a fresh backend; disposing it disposes both. */
type Start = () => Promise<TestServer>;

const BACKENDS: [string, Start][] = [
  ["LocalStorage", () => startTestServer()],
  ["MemoryStorage", () => onStorage(new MemoryStorage())],
  [
    "MemoryStorage as an object store",
    () =>
      onStorage(
        new MemoryStorage({ atomicFolderRename: false, realFolders: false }),
      ),
  ],
];

/** A test server on `storage`, which it disposes after the server. */
async function onStorage(storage: MemoryStorage): Promise<TestServer> {
  const t = await startTestServer({ storage });
  return {
    ...t,
    async [Symbol.asyncDispose]() {
      await t[Symbol.asyncDispose]();
      await storage[Symbol.asyncDispose]();
    },
  };
}

for (const [backend, start] of BACKENDS) {
  Deno.test(`Session on ${backend} stores, lists, reads from an offset, renames and deletes`, async () => {
    await using t = await start();
    await using c = await t.connect();
    const ok = async (request: Parameters<typeof c.request>[0]) =>
      assert.equal((await c.request(request))?.type, "ok", request.type);
    await ok({ type: "mkdir", id: c.id(), name: "d" });
    const data = pseudoRandomBytes(2 * MIB + 5, 11);
    const first = await c.put("d/a.bin", data);
    assert.ok(first.type === "put_done" && first.name === "d/a.bin");
    const copy = await c.put("d/a.bin", new Uint8Array([1, 2]));
    assert.ok(copy.type === "put_done" && copy.name === "d/(1) a.bin");
    const listed = await c.list("d");
    assert.ok(Array.isArray(listed));
    assert.deepEqual(listed.map((e) => [e.name, e.type, e.size]), [
      ["(1) a.bin", "file", 2],
      ["a.bin", "file", data.byteLength],
    ]);
    const got = await c.get("d/a.bin", { offset: MIB + 1 });
    assert.ok("data" in got);
    assert.deepEqual(got.data, data.subarray(MIB + 1));
    assert.equal(got.end.sha256, sha256(data));
    const stale = await c.get("d/a.bin", {
      expect: { size: 1, mtime: listed[1]!.mtime },
    });
    assert.ok("code" in stale && stale.code === "stale");
    await ok({
      type: "rename",
      id: c.id(),
      from: "d/a.bin",
      to: "b.bin",
      overwrite: false,
    });
    await ok({ type: "delete", id: c.id(), name: "d/(1) a.bin" });
    assert.deepEqual(await t.visible(), ["b.bin", "d/"]);
    await ok({ type: "delete", id: c.id(), name: "d" });
    const missing = await c.list("d");
    assert.ok(!Array.isArray(missing) && missing.code === "not_found");
    assert.deepEqual(await t.visible(), ["b.bin"]);
  });

  Deno.test(`Session on ${backend} refuses hostile names with invalid_name`, async () => {
    await using t = await start();
    await using c = await t.connect();
    for (const name of ["../x", "/etc/passwd", "a\u0000b", "", "a/"]) {
      const put = await c.put(name, new Uint8Array([1]));
      assert.ok(put.type === "error" && put.code === "invalid_name", name);
      const get = await c.get(name);
      assert.ok("code" in get && get.code === "invalid_name", name);
      const mkdir = await c.request({ type: "mkdir", id: c.id(), name });
      assert.ok(mkdir?.type === "error" && mkdir.code === "invalid_name");
    }
    assert.deepEqual(await t.visible(), []);
  });
}

Deno.test("Session refuses RENAME of a folder with unsupported on a storage that cannot rename folders", async () => {
  await using t = await onStorage(
    new MemoryStorage({ atomicFolderRename: false }),
  );
  await using c = await t.connect();
  await c.request({ type: "mkdir", id: c.id(), name: "d" });
  await c.put("d/f", new Uint8Array([1]));
  const refused = await c.request({
    type: "rename",
    id: c.id(),
    from: "d",
    to: "e",
    overwrite: false,
  });
  assert.ok(refused?.type === "error");
  assert.equal(refused.code, "unsupported");
  assert.equal(
    refused.message,
    `Cannot rename "d": the server's storage cannot rename folders`,
  );
  const moved = await c.request({
    type: "rename",
    id: c.id(),
    from: "d/f",
    to: "f",
    overwrite: false,
  });
  assert.equal(moved?.type, "ok");
  assert.deepEqual(await t.visible(), ["d/", "f"]);
});

Deno.test("Session streams a LIST of 20,000 entries as one ENTRIES frame per storage page", async () => {
  const storage = new CountingStorage();
  const count = 20_000;
  const names = await fillFlat(storage, count);
  await using t = await onStorage(storage);
  await using c = await t.connect();
  const id = c.id();
  await c.send({ type: "list", id, path: "" });
  const frames: number[] = [];
  const seen: string[] = [];
  for (;;) {
    const reply = await c.reply(id);
    assert.ok(reply?.type === "entries");
    frames.push(reply.entries.length);
    seen.push(...reply.entries.map((e) => e.name));
    if (!reply.more) break;
  }
  assert.deepEqual(frames, Array(count / LIST_PAGE_SIZE).fill(LIST_PAGE_SIZE));
  assert.deepEqual(seen, names);
  assert.equal(storage.pulled, count / LIST_PAGE_SIZE);
});
