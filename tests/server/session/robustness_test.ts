import assert from "node:assert/strict";
import { statfsSync } from "node:fs";
import { join } from "node:path";
import {
  HEADER_SIZE,
  MAX_PAYLOAD,
  writeHeader,
} from "../../../protocol/frame.ts";
import { MSG } from "../../../protocol/messages.ts";
import { MAX_UPLOADS_IN_FLIGHT } from "../../../server/session/request_runner.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";
import { ManualClock } from "../../_helpers/common/manual_clock.ts";
import {
  pseudoRandomBytes,
  RawClient,
  sha256,
} from "../../_helpers/server/raw_client.ts";

const KIB = 1024;

Deno.test("Server closes a connection that sends garbage and keeps serving others", async () => {
  await using t = await startTestServer();
  await using busy = await t.connect();
  await using garbage = await t.connect({ handshake: false });
  await garbage.writeRaw(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  const seen = await garbage.drain();
  assert.ok(seen.every((m) => m.type === "error" && m.code === "protocol"));
  const line = await t.waitForLog(/protocol error/);
  assert.match(line, /^127\.0\.0\.1:\d+ protocol error: Bad frame magic/);
  assert.equal(t.logs.filter((l) => l.includes("protocol error")).length, 1);
  await using late = await t.connect();
  await busy.assertAlive();
  await late.assertAlive();
});

Deno.test("Server refuses garbage after the handshake and mid-upload, removing the partial", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  await c.send({ type: "put", id: 1, name: "a", size: 100, overwrite: false });
  await c.send({
    type: "data",
    id: 1,
    offset: 0,
    bytes: new Uint8Array(10),
    zstd: false,
  });
  assert.equal((await c.reply(1))?.type, "put_ready");
  await c.writeRaw(new Uint8Array(HEADER_SIZE).fill(0x41));
  await c.drain();
  await t.waitForLog(/put "a" 0 B \d+ ms/);
  assert.deepEqual(await t.partials(), []);
  assert.deepEqual(await t.visible(), []);
});

Deno.test("Server rejects an oversized frame header at once, without waiting for its payload", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  const header = new Uint8Array(HEADER_SIZE);
  writeHeader(header, { type: MSG.LIST, flags: 0, id: 1, length: 0 });
  new DataView(header.buffer).setUint32(12, 0xffff_ffff);
  const before = Deno.memoryUsage().rss;
  await c.writeRaw(header);
  const seen = await c.drain();
  assert.ok(seen.length <= 1);
  assert.ok(seen.every((m) => m.type === "error" && m.code === "protocol"));
  const line = await t.waitForLog(/protocol error/);
  assert.match(line, new RegExp(`exceeds the limit of ${MAX_PAYLOAD}`));
  const grown = Deno.memoryUsage().rss - before;
  assert.ok(grown < 64 * 1024 * 1024, `rss grew by ${grown} bytes`);
});

Deno.test("Server refuses an unknown message type as a protocol error", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  const frame = new Uint8Array(HEADER_SIZE);
  writeHeader(frame, { type: 0x7f, flags: 0, id: 1, length: 0 });
  await c.writeRaw(frame);
  await c.drain();
  assert.match(
    await t.waitForLog(/protocol error/),
    /Unknown message type 0x7f/,
  );
});

Deno.test("Server closes connections that do not say HELLO within the deadline", async () => {
  const clock = new ManualClock();
  await using t = await startTestServer({ clock, handshakeTimeoutMs: 10_000 });
  await using c = await t.connect({ handshake: false });
  await clock.timerSet(10_000);
  clock.advance(9_999);
  clock.advance(1);
  const seen = await c.drain();
  assert.deepEqual(seen.map((m) => m.type === "error" && m.code), ["timeout"]);
  assert.match(await t.waitForLog(/handshake timeout/), /^127\.0\.0\.1:\d+ /);
});

Deno.test("Server closes idle connections: requests are activity, PING alone is not", async () => {
  const clock = new ManualClock();
  const idle = 300_000;
  await using t = await startTestServer({ clock, idleTimeoutMs: idle });
  await using c = await t.connect();
  await clock.timerSet(idle);
  clock.advance(200_000);
  assert.equal(
    (await c.request({ type: "list", id: 1, path: "" }))?.type,
    "entries",
  );
  clock.advance(200_000);
  await c.assertAlive("still open: only 200 s since the LIST");
  clock.advance(50_000);
  await c.assertAlive();
  clock.advance(50_000);
  // 300 s after the LIST, with only PINGs since, the connection is idle.
  await t.waitForLog(/idle timeout after 300 s/);
  const seen = await c.drain();
  assert.deepEqual(seen.map((m) => m.type === "error" && m.code), ["timeout"]);
});

Deno.test("Server idle timeout aborts a stalled upload and removes its partial", async () => {
  const clock = new ManualClock();
  const idle = 60_000;
  await using t = await startTestServer({ clock, idleTimeoutMs: idle });
  await using c = await t.connect();
  await c.send({
    type: "put",
    id: 1,
    name: "stalled",
    size: 1000,
    overwrite: false,
  });
  await c.send({
    type: "data",
    id: 1,
    offset: 0,
    bytes: new Uint8Array(10),
    zstd: false,
  });
  assert.equal((await c.reply(1))?.type, "put_ready");
  assert.equal((await t.partials()).length, 1);
  clock.advance(idle);
  const seen = await c.drain();
  assert.ok(
    seen.some((m) => m.id === 1 && m.type === "error" && m.code === "timeout"),
  );
  await t.waitForLog(/put "stalled" 0 B \d+ ms timeout/);
  assert.deepEqual(await t.partials(), []);
  assert.deepEqual(await t.visible(), []);
});

Deno.test("Server answers ERROR busy beyond max clients and admits again when one leaves", async () => {
  // Above the per-address limit's default (maxClients) so that the third gets "busy".
  await using t = await startTestServer({ maxClients: 2, maxPerAddress: 3 });
  const first = await t.connect();
  await using second = await t.connect();
  {
    await using third = await t.connect({ handshake: false });
    const reply = await third.hello();
    assert.ok(reply?.type === "error");
    assert.equal(reply.code, "busy");
    assert.match(reply.message, /maximum of 2 clients/);
    assert.equal(await third.read(), null);
  }
  first.close();
  await t.waitForLog(/disconnected/);
  await using fourth = await t.connect();
  await fourth.assertAlive();
  await second.assertAlive();
});

Deno.test("Server serves 50 clients transferring at once", async () => {
  // All from 127.0.0.1, so the per-address limit must allow them.
  await using t = await startTestServer({ maxPerAddress: 64 });
  const clients = await Promise.all(
    Array.from({ length: 50 }, () => t.connect()),
  );
  try {
    const results = await Promise.all(clients.map(async (c, i) => {
      const data = pseudoRandomBytes(200 * KIB + i, i + 1);
      const name = i < 10 ? "same.bin" : `file${i}.bin`;
      const done = await c.put(name, data);
      assert.ok(done.type === "put_done", JSON.stringify(done));
      const got = await c.get(done.name);
      assert.ok("data" in got);
      assert.equal(sha256(got.data), sha256(data));
      return done.name;
    }));
    assert.equal(new Set(results).size, 50);
    const visible = await t.visible();
    assert.equal(visible.length, 50);
    assert.equal(visible.filter((n) => n.endsWith("same.bin")).length, 10);
    assert.deepEqual(await t.partials(), []);
  } finally {
    for (const c of clients) c.close();
  }
});

Deno.test("Server leaves nothing when a client is killed mid-upload", async () => {
  await using t = await startTestServer();
  await Deno.writeTextFile(join(t.root, "keep.bin"), "original");
  for (const overwrite of [false, true]) {
    const c = await RawClient.connect(t.server.addr);
    await c.send({
      type: "put",
      id: 1,
      name: "keep.bin",
      size: 4 * 1024 * KIB,
      overwrite,
    });
    await c.send({
      type: "data",
      id: 1,
      offset: 0,
      bytes: pseudoRandomBytes(1024 * KIB),
      zstd: false,
    });
    assert.equal((await c.reply(1))?.type, "put_ready");
    c.close();
    await t.waitForLog(new RegExp(`put "keep.bin" 0 B \\d+ ms disconnected`));
    t.logs.length = 0;
  }
  assert.deepEqual(await t.partials(), []);
  assert.deepEqual(await t.visible(), ["keep.bin"]);
  assert.equal(await Deno.readTextFile(join(t.root, "keep.bin")), "original");
  await using other = await t.connect();
  assert.equal((await other.put("after", new Uint8Array(3))).type, "put_done");
});

Deno.test("Server never lets a client that does not read delay another", async () => {
  await using t = await startTestServer();
  await Deno.writeFile(join(t.root, "big"), pseudoRandomBytes(32 * 1024 * KIB));
  await using stuck = await t.connect();
  // Asks for 32 MiB and never reads: the server's writes to it block.
  await stuck.send({ type: "get", id: 1, name: "big", offset: 0 });
  await using other = await t.connect();
  const data = pseudoRandomBytes(1024 * KIB, 4);
  const done = await other.put("small", data);
  assert.equal(done.type, "put_done");
  const got = await other.get("small");
  assert.ok("data" in got);
  assert.equal(sha256(got.data), sha256(data));
});

Deno.test("Server streams a connection's GETs a few at a time and serves them all", async () => {
  await using t = await startTestServer();
  const files = Array.from(
    { length: 10 },
    (_, i) => pseudoRandomBytes(300 * KIB + i, i + 40),
  );
  await Promise.all(
    files.map((d, i) => Deno.writeFile(join(t.root, `f${i}`), d)),
  );
  await using c = await t.connect();
  const got = await Promise.all(files.map((_, i) => c.get(`f${i}`)));
  got.forEach((g, i) => {
    assert.ok("data" in g);
    assert.equal(sha256(g.data), sha256(files[i]!));
  });
});

Deno.test("Server answers ERROR busy beyond its uploads in flight on one connection", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  const limit = MAX_UPLOADS_IN_FLIGHT;
  for (let id = 1; id <= limit + 1; id++) {
    await c.send({
      type: "put",
      id,
      name: `p${id}`,
      size: 1,
      overwrite: false,
    });
  }
  const refused = await c.reply(limit + 1);
  assert.ok(
    refused?.type === "error" && refused.code === "busy",
    JSON.stringify(refused),
  );
  for (let id = 1; id <= limit; id++) await c.send({ type: "cancel", id });
  for (let id = 1; id <= limit; id++) {
    let m = await c.reply(id);
    if (m?.type === "put_ready") m = await c.reply(id);
    assert.ok(m?.type === "error" && m.code === "cancelled");
  }
  assert.deepEqual(await t.partials(), []);
});

Deno.test("Server refuses a PUT whose declared size exceeds the free space, before any data", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  const s = statfsSync(t.root);
  const free = s.bavail * s.bsize;
  const sizes = [Number.MAX_SAFE_INTEGER, free < 1e12 ? 1e12 : free * 2];
  for (const size of sizes) {
    const id = c.id();
    await c.send({ type: "put", id, name: `big${id}`, size, overwrite: false });
    // Pipelined data, as a client may send before PUT_READY: ignored.
    await c.send({
      type: "data",
      id,
      offset: 0,
      bytes: new Uint8Array(64 * KIB),
      zstd: false,
    });
    const reply = await c.reply(id);
    assert.equal(reply?.type, "error");
    assert.equal(reply?.type === "error" && reply.code, "no_space");
  }
  assert.deepEqual(await t.partials(), []);
  assert.deepEqual(await t.visible(), []);
  const data = pseudoRandomBytes(100 * KIB);
  const done = await c.put("fits", data);
  assert.equal(done.type, "put_done");
});
