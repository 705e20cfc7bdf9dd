import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeSums,
  differingBlocks,
  hashBlocks,
} from "../../../common/chunk_sums.ts";
import type { Message, MessageOf } from "../../../protocol/messages.ts";
import { LocalStorage } from "../../../server/storage/local/local_storage.ts";
import { ManualClock } from "../../_helpers/common/manual_clock.ts";
import {
  startTestServer,
  type TestServer,
} from "../../_helpers/server/fixture.ts";
import {
  pseudoRandomBytes,
  type RawClient,
  sha256,
} from "../../_helpers/server/raw_client.ts";

const MiB = 1024 * 1024;
const MTIME = 1_700_000_000_000;
const FEATURES = { features: ["resume"] };

/** Sends PUT with `resume` and returns the PUT_READY (or the error). */
async function putResume(
  client: RawClient,
  id: number,
  name: string,
  size: number,
  mtime = MTIME,
): Promise<Message | null> {
  await client.send({
    type: "put",
    id,
    name,
    size,
    overwrite: false,
    mtime,
    resume: true,
  });
  return await client.reply(id);
}

/**
 * Uploads the first `cut` bytes of `data` with resume, then drops the
 * connection, and waits until the server logged the upload's end.
 */
async function cutUpload(
  server: TestServer,
  name: string,
  data: Uint8Array,
  cut: number,
): Promise<void> {
  const client = await server.connect(FEATURES);
  const id = client.id();
  const ready = await putResume(client, id, name, data.byteLength);
  assert.equal(ready?.type, "put_ready");
  await client.sendData(id, data.subarray(0, cut));
  client.close();
  await server.waitForLog(
    new RegExp(`put "${name}" \\d+ B \\d+ ms disconnected`),
  );
}

async function resumeDir(server: TestServer): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(join(server.root, ".fts", "resume"))) {
    names.push(e.name);
  }
  return names.sort();
}

async function finish(
  client: RawClient,
  id: number,
  data: Uint8Array,
  from: number,
): Promise<Message | null> {
  await client.sendData(id, data, { from });
  await client.send({ type: "put_end", id, sha256: sha256(data) });
  return await client.reply(id);
}

Deno.test("a resumable upload cut off keeps what arrived, and PUT resume continues at its length with the block hashes of the disk", async () => {
  await using server = await startTestServer();
  const data = pseudoRandomBytes(5 * MiB + 123, 3);
  await cutUpload(server, "x.iso", data, 3 * MiB);
  assert.equal((await resumeDir(server)).length, 2);
  assert.deepEqual(await server.visible(), []);

  await using client = await server.connect(FEATURES);
  const id = client.id();
  const ready = await putResume(client, id, "x.iso", data.byteLength);
  assert.ok(ready?.type === "put_ready");
  assert.equal(ready.offset, 3 * MiB);
  assert.equal(ready.block, MiB);
  assert.deepEqual(
    decodeSums(ready.sums!),
    hashBlocks(data.subarray(0, 3 * MiB), MiB),
  );
  const done = await finish(client, id, data, 3 * MiB);
  assert.equal(done?.type, "put_done");
  assert.deepEqual(await Deno.readFile(join(server.root, "x.iso")), data);
  await server.waitForLog(/resumed "x\.iso" at 3\.00 MiB of 5\.00 MiB/);
  // The log line counts the bytes of this try only.
  await server.waitForLog(
    new RegExp(`put "x\\.iso" ${data.byteLength - 3 * MiB} B \\d+ ms ok`),
  );
  assert.deepEqual(await resumeDir(server), []);
});

Deno.test("PUT resume while the lost session of the same upload still holds its partial waits for it to be kept, then continues", async () => {
  await using server = await startTestServer();
  const data = pseudoRandomBytes(5 * MiB + 7, 21);
  const lost = await server.connect(FEATURES);
  const first = lost.id();
  const began = await putResume(lost, first, "w.bin", data.byteLength);
  assert.equal(began?.type, "put_ready");
  await lost.sendData(first, data.subarray(0, 3 * MiB + 5));
  // The retry asks before the first connection is gone.
  await using retry = await server.connect(FEATURES);
  const id = retry.id();
  await retry.send({
    type: "put",
    id,
    name: "w.bin",
    size: data.byteLength,
    overwrite: false,
    mtime: MTIME,
    resume: true,
  });
  lost.close();
  const ready = await retry.reply(id);
  assert.ok(ready?.type === "put_ready", JSON.stringify(ready));
  assert.equal(ready.offset, 3 * MiB);
  const done = await finish(retry, id, data, 3 * MiB);
  assert.equal(done?.type, "put_done");
  assert.deepEqual(await Deno.readFile(join(server.root, "w.bin")), data);
});

Deno.test("PUT resume goes on as an ordinary upload when the other upload of the same name is still running 5 s later", async () => {
  const clock = new ManualClock();
  await using server = await startTestServer({ clock });
  const data = pseudoRandomBytes(2 * MiB, 22);
  await using running = await server.connect(FEATURES);
  const first = running.id();
  const began = await putResume(running, first, "r.bin", data.byteLength);
  assert.equal(began?.type, "put_ready");
  await running.sendData(first, data.subarray(0, MiB));
  await using other = await server.connect(FEATURES);
  const id = other.id();
  const answer = putResume(other, id, "r.bin", data.byteLength);
  await clock.timerSet(5_000);
  clock.advance(5_000);
  assert.deepEqual(await answer, { type: "put_ready", id, offset: 0 });
});

Deno.test("a damaged block of a kept partial shows in PUT_READY's hashes, and rewriting just that block stores the right file", async () => {
  await using server = await startTestServer();
  const data = pseudoRandomBytes(4 * MiB, 5);
  await cutUpload(server, "d.bin", data, 3 * MiB);
  const part = (await resumeDir(server)).find((n) => n.endsWith(".part"))!;
  const path = join(server.root, ".fts", "resume", part);
  const bytes = await Deno.readFile(path);
  bytes[MiB + 77]! ^= 0xff;
  await Deno.writeFile(path, bytes);

  await using client = await server.connect(FEATURES);
  const id = client.id();
  const ready = await putResume(client, id, "d.bin", data.byteLength);
  assert.ok(ready?.type === "put_ready" && ready.sums !== undefined);
  const mine = hashBlocks(data.subarray(0, ready.offset), ready.block!);
  assert.deepEqual(differingBlocks(mine, decodeSums(ready.sums)), [1]);
  await client.send({
    type: "data",
    id,
    offset: MiB,
    bytes: data.subarray(MiB, 2 * MiB),
    zstd: false,
  });
  const done = await finish(client, id, data, 3 * MiB);
  assert.equal(done?.type, "put_done");
  assert.deepEqual(await Deno.readFile(join(server.root, "d.bin")), data);
});

Deno.test("a resumed upload whose whole SHA-256 does not match is refused, stores nothing and drops its partial", async () => {
  await using server = await startTestServer();
  const data = pseudoRandomBytes(3 * MiB, 7);
  await cutUpload(server, "c.bin", data, 2 * MiB);
  const changed = pseudoRandomBytes(3 * MiB, 8);
  await using client = await server.connect(FEATURES);
  const id = client.id();
  const ready = await putResume(client, id, "c.bin", changed.byteLength);
  assert.ok(ready?.type === "put_ready" && ready.offset === 2 * MiB);
  // The client of a changed file that does not compare sends only the rest.
  await client.sendData(id, changed, { from: 2 * MiB });
  await client.send({ type: "put_end", id, sha256: sha256(changed) });
  const reply = await client.reply(id);
  assert.ok(reply?.type === "error");
  assert.equal(reply.code, "checksum_mismatch");
  assert.deepEqual(await server.visible(), []);
  assert.deepEqual(await resumeDir(server), []);
  const again = client.id();
  const fresh = await putResume(client, again, "c.bin", changed.byteLength);
  assert.deepEqual(fresh, { type: "put_ready", id: again, offset: 0 });
});

Deno.test("DATA of a resumed upload at an offset the rule does not allow is bad_request and drops the partial", async () => {
  await using server = await startTestServer();
  const data = pseudoRandomBytes(4 * MiB, 9);
  const offsets = [
    MiB + 1, // not on a block
    4 * MiB, // beyond the kept length, not contiguous
  ];
  for (const [i, offset] of offsets.entries()) {
    const name = `o${i}.bin`;
    await cutUpload(server, name, data, 3 * MiB);
    await using client = await server.connect(FEATURES);
    const id = client.id();
    const ready = await putResume(client, id, name, data.byteLength);
    assert.ok(ready?.type === "put_ready" && ready.offset === 3 * MiB);
    await client.send({
      type: "data",
      id,
      offset,
      bytes: new Uint8Array(10),
      zstd: false,
    });
    const reply = await client.reply(id);
    assert.ok(reply?.type === "error", `offset ${offset}`);
    assert.equal(reply.code, "bad_request");
    assert.deepEqual(await resumeDir(server), []);
  }
  // A rewrite must cover its whole block before the new data.
  await cutUpload(server, "w.bin", data, 3 * MiB);
  await using client = await server.connect(FEATURES);
  const id = client.id();
  await putResume(client, id, "w.bin", data.byteLength);
  await client.send({
    type: "data",
    id,
    offset: 0,
    bytes: data.subarray(0, MiB / 2),
    zstd: false,
  });
  await client.send({
    type: "data",
    id,
    offset: 3 * MiB,
    bytes: data.subarray(3 * MiB),
    zstd: false,
  });
  const reply = await client.reply(id);
  assert.ok(reply?.type === "error" && reply.code === "bad_request");
});

Deno.test("a partial is kept only for PUT resume with the feature, and another size or mtime starts over", async () => {
  await using server = await startTestServer();
  const data = pseudoRandomBytes(3 * MiB, 11);
  // Without the feature: nothing is kept.
  {
    const client = await server.connect();
    const id = client.id();
    await client.send({
      type: "put",
      id,
      name: "old.bin",
      size: data.byteLength,
      overwrite: false,
      mtime: MTIME,
      resume: true,
    });
    assert.deepEqual(await client.reply(id), {
      type: "put_ready",
      id,
      offset: 0,
    });
    await client.sendData(id, data.subarray(0, 2 * MiB));
    client.close();
    await server.waitForLog(/put "old\.bin" \d+ B \d+ ms disconnected/);
    assert.deepEqual(await resumeDir(server), []);
  }
  await cutUpload(server, "m.bin", data, 2 * MiB);
  await using client = await server.connect(FEATURES);
  const other = client.id();
  const ready = await putResume(client, other, "m.bin", data.byteLength, 1);
  assert.deepEqual(ready, { type: "put_ready", id: other, offset: 0 });
  assert.deepEqual(await finish(client, other, data, 0), {
    type: "put_done",
    id: other,
    name: "m.bin",
    size: data.byteLength,
    sha256: sha256(data),
  });
  assert.deepEqual(await resumeDir(server), []);
});

Deno.test("a kept partial survives a server restart", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_resume_restart_" });
  try {
    const data = pseudoRandomBytes(3 * MiB, 13);
    {
      await using storage = await LocalStorage.open(root);
      await using server = await startTestServer({ storage });
      await cutUpload(server, "r.bin", data, 2 * MiB);
    }
    await using storage = await LocalStorage.open(root);
    await using server = await startTestServer({ storage });
    await using client = await server.connect(FEATURES);
    const id = client.id();
    const ready = await putResume(client, id, "r.bin", data.byteLength);
    assert.ok(ready?.type === "put_ready");
    assert.equal(ready.offset, 2 * MiB);
    assert.equal((await finish(client, id, data, 2 * MiB))?.type, "put_done");
    assert.deepEqual(await Deno.readFile(join(root, "r.bin")), data);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a kept partial counts against the quota until --partial-ttl, then it is removed and the space is free", async () => {
  const clock = new ManualClock();
  await using server = await startTestServer({
    clock,
    partialTtlMs: 60_000,
    quota: { limit: 5 * MiB },
  });
  const data = pseudoRandomBytes(3 * MiB, 15);
  await cutUpload(server, "q.bin", data, MiB);
  await using client = await server.connect({ features: ["resume", "usage"] });
  const usage = await client.request({ type: "usage", id: client.id() });
  assert.ok(usage?.type === "usage_report");
  assert.equal(usage.server.reserved, 3 * MiB);
  const big = client.id();
  await client.send({
    type: "put",
    id: big,
    name: "big.bin",
    size: 3 * MiB,
    overwrite: false,
  });
  const refused = await client.reply(big);
  assert.ok(refused?.type === "error");
  assert.equal(refused.code, "quota_exceeded");
  clock.advance(59_999);
  assert.equal((await resumeDir(server)).length, 2);
  clock.advance(1);
  const after = await client.request({ type: "usage", id: client.id() });
  assert.ok(after?.type === "usage_report");
  assert.equal(after.server.reserved, 0);
  assert.deepEqual(await resumeDir(server), []);
  const id = client.id();
  const ready = await putResume(client, id, "q.bin", data.byteLength);
  assert.deepEqual(ready, { type: "put_ready", id, offset: 0 });
});

/** Keeps `MessageOf` in use for the reader of the helpers above. */
export type ReadyReply = MessageOf<"put_ready">;

Deno.test("the server removes expired partials on its own, with no request, and logs it", async () => {
  const clock = new ManualClock();
  await using server = await startTestServer({ clock, partialTtlMs: 60_000 });
  await cutUpload(server, "e.bin", pseudoRandomBytes(2 * MiB, 17), MiB);
  clock.advance(59_999);
  assert.equal((await resumeDir(server)).length, 2);
  clock.advance(60_000);
  await server.waitForLog(/removed the expired partial upload "e\.bin"/);
  assert.deepEqual(await resumeDir(server), []);
});
