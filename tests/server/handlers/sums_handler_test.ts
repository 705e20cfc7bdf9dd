/**
 * SUMS (feature "sums"): what the server holds under each name asked, and
 * the SHA-256 of the files of the size asked, answered in order, one bad
 * name costing only its own answer.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Message, SumAnswer } from "../../../protocol/messages.ts";
import { MemoryStorage } from "../../../server/storage/memory/memory_storage.ts";
import { delegatingStorage } from "../../_helpers/server/delegating_storage.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";
import { pseudoRandomBytes, sha256 } from "../../_helpers/server/raw_client.ts";
import { addUsers, tempDir } from "../../_helpers/server/security.ts";

const utf8 = new TextEncoder();

function answers(reply: Message | null): SumAnswer[] {
  assert.equal(reply?.type, "sums_result", JSON.stringify(reply));
  return reply.type === "sums_result" ? reply.files : [];
}

Deno.test("SUMS answers each name in order: none, folder, other size, same size with its SHA-256", async () => {
  await using t = await startTestServer();
  const big = pseudoRandomBytes(2 * 1024 * 1024 + 5);
  await Deno.mkdir(join(t.root, "docs"));
  await Deno.writeTextFile(join(t.root, "docs/a.txt"), "hello");
  await Deno.writeTextFile(join(t.root, "b.txt"), "four");
  await using c = await t.connect({ features: ["sums"] });
  assert.equal((await c.put("big.bin", big)).type, "put_done");
  const reply = await c.request({
    type: "sums",
    id: c.id(),
    files: [
      { name: "docs/a.txt", size: 5 },
      { name: "b.txt", size: 3 },
      { name: "docs", size: 0 },
      { name: "missing.txt", size: 1 },
      { name: "b.txt/below", size: 1 },
      { name: "big.bin", size: big.byteLength },
    ],
  });
  assert.deepEqual(answers(reply), [
    { type: "file", size: 5, sha256: sha256(utf8.encode("hello")) },
    { type: "file", size: 4 },
    { type: "dir" },
    { type: "none" },
    { type: "none" },
    { type: "file", size: big.byteLength, sha256: sha256(big) },
  ]);
  await c.assertAlive();
});

Deno.test("SUMS answers a bad or reserved name for itself and the others as usual", async () => {
  await using t = await startTestServer();
  await Deno.writeTextFile(join(t.root, "ok.txt"), "ok");
  await using c = await t.connect({ features: ["sums"] });
  const reply = await c.request({
    type: "sums",
    id: c.id(),
    files: [
      { name: "../etc/passwd", size: 1 },
      { name: "/abs", size: 1 },
      { name: "a\u0000b", size: 1 },
      { name: ".fts/lock", size: 0 },
      { name: "ok.txt", size: 2 },
    ],
  });
  assert.deepEqual(answers(reply), [
    { type: "refused", code: "invalid_name" },
    { type: "refused", code: "invalid_name" },
    { type: "refused", code: "invalid_name" },
    { type: "refused", code: "invalid_name" },
    { type: "file", size: 2, sha256: sha256(utf8.encode("ok")) },
  ]);
});

Deno.test("SUMS reads only the files of the size asked, through the storage", async () => {
  const inner = new MemoryStorage();
  for (const [name, text] of [["same", "abc"], ["other", "abcd"]]) {
    const up = await inner.beginUpload(name!, text!.length);
    await up.write(utf8.encode(text!));
    await up.commit({ overwrite: false });
  }
  const reads: string[] = [];
  const storage = delegatingStorage(inner, {
    openRead: async (name, options) => {
      const reader = await inner.openRead(name, options);
      return {
        size: reader.size,
        mtime: reader.mtime,
        read: (buf) => {
          reads.push(name);
          return reader.read(buf);
        },
        close: () => reader.close(),
        [Symbol.dispose]: () => reader.close(),
      };
    },
  });
  await using t = await startTestServer({ storage });
  await using c = await t.connect({ features: ["sums"] });
  const reply = await c.request({
    type: "sums",
    id: c.id(),
    files: [{ name: "same", size: 3 }, { name: "other", size: 3 }],
  });
  assert.deepEqual(answers(reply), [
    { type: "file", size: 3, sha256: sha256(utf8.encode("abc")) },
    { type: "file", size: 4 },
  ]);
  assert.ok(reads.length > 0 && reads.every((n) => n === "same"), `${reads}`);
});

Deno.test("SUMS needs the read permission and the negotiated feature", async () => {
  await using state = await tempDir("fts_state_");
  const accounts = await addUsers(state.path, {
    writer: { password: "pw", perms: ["write"] },
  });
  await using t = await startTestServer({ accounts });
  await using c = await t.connect({ features: ["sums"] });
  assert.equal(
    (await c.request({ type: "auth", id: 0, user: "writer", password: "pw" }))
      ?.type,
    "ok",
  );
  const refused = await c.request({
    type: "sums",
    id: c.id(),
    files: [{ name: "a", size: 0 }],
  });
  assert.equal(refused?.type === "error" && refused.code, "permission_denied");

  await using open = await startTestServer();
  await using old = await open.connect({ features: [] });
  const unsupported = await old.request({
    type: "sums",
    id: old.id(),
    files: [{ name: "a", size: 0 }],
  });
  assert.equal(
    unsupported?.type === "error" && unsupported.code,
    "unsupported",
  );
  await old.assertAlive();
});
