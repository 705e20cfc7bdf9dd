/**
 * A batch of downloads bounds what its GETs in flight may hold: at most
 * LARGE_GETS_IN_FLIGHT files larger than a chunk (two chunk buffers
 * each), while small files keep going beside them.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { LARGE_GETS_IN_FLIGHT } from "../../../client/engine/batch.ts";
import { openSession } from "../../../client/engine/session.ts";
import { DEFAULT_CHUNK, type MessageOf } from "../../../protocol/messages.ts";
import {
  type FakeContext,
  startFakeServer,
} from "../../_helpers/client/fake_server.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

/** Answers `get` for `bytes` as the fake server does. */
async function answer(
  ctx: FakeContext,
  get: MessageOf<"get">,
  bytes: Uint8Array,
): Promise<void> {
  await ctx.send({
    type: "get_ready",
    id: get.id,
    name: get.name,
    size: bytes.byteLength,
    mtime: 1_600_000_000_000,
  });
  for (let at = 0; at < bytes.byteLength; at += DEFAULT_CHUNK) {
    await ctx.send({
      type: "data",
      id: get.id,
      offset: at,
      bytes: bytes.subarray(at, at + DEFAULT_CHUNK),
      zstd: false,
    });
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  await ctx.send({ type: "get_end", id: get.id, sha256 });
}

Deno.test("getMany() keeps at most LARGE_GETS_IN_FLIGHT files larger than a chunk in flight, small ones beside them", async () => {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 20; i++) {
    files[`L${i}`] = new Uint8Array(DEFAULT_CHUNK + 1).fill(i);
  }
  for (let i = 0; i < 20; i++) files[`s${i}`] = new Uint8Array(10).fill(i);
  const held: { ctx: FakeContext; get: MessageOf<"get"> }[] = [];
  const enough = Promise.withResolvers<void>();
  let holding = true;
  await using server = startFakeServer({
    files,
    handle: (ctx, m) => {
      if (m.type !== "get" || !holding) return false;
      held.push({ ctx, get: m });
      const large = held.filter((h) => h.get.name.startsWith("L")).length;
      if (large === LARGE_GETS_IN_FLIGHT) enough.resolve();
      return true;
    },
  });
  await using local = await tempDir();
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const names = Object.keys(files);
  const done = session.getMany(
    names.map((remoteName) => ({
      remoteName,
      size: files[remoteName]!.byteLength,
    })),
    local.path,
  );
  await enough.promise;
  // A round trip after them: every GET the client sent is in by its reply.
  await session.list("");
  const large = held.filter((h) => h.get.name.startsWith("L")).length;
  assert.equal(large, LARGE_GETS_IN_FLIGHT);
  assert.ok(held.length > large, "no small file went beside the large ones");
  holding = false;
  for (const { ctx, get } of held.splice(0)) {
    await answer(ctx, get, files[get.name]!);
  }
  const results = await done;
  assert.ok(results.every((r) => r.ok));
  for (const name of names) {
    assert.deepEqual(Deno.readFileSync(`${local.path}/${name}`), files[name]);
  }
});
