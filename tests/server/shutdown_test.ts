import assert from "node:assert/strict";
import { join } from "node:path";
import { startTestServer } from "../_helpers/server/fixture.ts";
import { ManualClock } from "../_helpers/common/manual_clock.ts";
import { pseudoRandomBytes, sha256 } from "../_helpers/server/raw_client.ts";

const MIB = 1024 * 1024;

Deno.test("FtsServer.shutdown() lets an upload in flight finish and refuses new requests", async () => {
  const clock = new ManualClock();
  await using t = await startTestServer({ clock });
  await using c = await t.connect();
  const data = pseudoRandomBytes(3 * MIB, 21);
  await c.beginPut(1, "up.bin", {
    size: data.byteLength,
    first: data.subarray(0, MIB),
  });
  assert.equal((await c.reply(1))?.type, "put_ready");

  const finished = t.server.shutdown(30_000);
  const notice = await c.reply(0);
  assert.ok(notice?.type === "going_away");
  assert.equal(notice.graceMs, 30_000);
  const refused = await c.request({ type: "list", id: 2, path: "" });
  assert.ok(refused?.type === "error" && refused.code === "shutting_down");

  await c.sendData(1, data, { from: MIB });
  await c.send({ type: "put_end", id: 1, sha256: sha256(data) });
  const done = await c.reply(1);
  assert.ok(done?.type === "put_done", JSON.stringify(done));
  assert.equal(await c.read(), null, "closed once the transfer is done");
  await finished;
  assert.deepEqual(await Deno.readFile(join(t.root, "up.bin")), data);
  assert.deepEqual(await t.partials(), []);
});

Deno.test("FtsServer.shutdown() lets a download in flight finish", async () => {
  const clock = new ManualClock();
  await using t = await startTestServer({ clock });
  const data = pseudoRandomBytes(6 * MIB, 5);
  await Deno.writeFile(join(t.root, "down.bin"), data);
  await using c = await t.connect();
  await c.send({ type: "get", id: 1, name: "down.bin", offset: 0 });
  assert.equal((await c.reply(1))?.type, "get_ready");
  const finished = t.server.shutdown(30_000);
  const parts: Uint8Array[] = [];
  for (;;) {
    const m = await c.reply(1);
    if (m?.type === "data") parts.push(m.bytes);
    else {
      assert.equal(m?.type, "get_end");
      break;
    }
  }
  await finished;
  assert.equal(parts.reduce((n, p) => n + p.byteLength, 0), data.byteLength);
});

Deno.test("FtsServer.shutdown() does not wait for idle clients", async () => {
  const clock = new ManualClock(); // never advanced: the grace never runs out
  await using t = await startTestServer({ clock });
  const clients = await Promise.all([t.connect(), t.connect(), t.connect()]);
  await t.server.shutdown(30_000);
  for (const c of clients) {
    const seen = await c.drain();
    assert.deepEqual(seen.map((m) => m.type), ["going_away"]);
    c.close();
  }
  assert.equal(t.server.connections, 0);
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: t.server.addr.port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("FtsServer.shutdown() aborts a stuck upload when the grace runs out", async () => {
  const clock = new ManualClock();
  await using t = await startTestServer({ clock });
  await Deno.writeTextFile(join(t.root, "keep.txt"), "original");
  await using c = await t.connect();
  await c.beginPut(1, "keep.txt", {
    size: 10 * MIB,
    first: new Uint8Array(MIB),
    overwrite: true,
  });
  assert.equal((await c.reply(1))?.type, "put_ready");
  const finished = t.server.shutdown(5_000);
  assert.equal((await c.reply(0))?.type, "going_away");
  clock.advance(4_999);
  await c.assertAlive();
  clock.advance(1);
  const ended = await c.reply(1);
  assert.ok(ended?.type === "error" && ended.code === "shutting_down");
  await c.drain();
  await finished;
  assert.deepEqual(await t.visible(), ["keep.txt"]);
  assert.equal(await Deno.readTextFile(join(t.root, "keep.txt")), "original");
  assert.deepEqual(await t.partials(), []);
});

Deno.test("FtsServer.shutdown(0) after a graceful start stops at once (second signal)", async () => {
  const clock = new ManualClock();
  await using t = await startTestServer({ clock });
  await using c = await t.connect();
  await c.beginPut(1, "half", { size: 2 * MIB, first: new Uint8Array(MIB) });
  assert.equal((await c.reply(1))?.type, "put_ready");
  void t.server.shutdown(30_000);
  assert.equal((await c.reply(0))?.type, "going_away");
  await t.server.shutdown(0);
  const seen = await c.drain();
  assert.ok(
    seen.some((m) =>
      m.id === 1 && m.type === "error" && m.code === "shutting_down"
    ),
  );
  assert.deepEqual(await t.visible(), []);
  assert.deepEqual(await t.partials(), []);
});

Deno.test("FtsServer.shutdown() refuses a connection still in its handshake", async () => {
  const clock = new ManualClock();
  await using t = await startTestServer({ clock });
  await using c = await t.connect({ handshake: false });
  await clock.timerSet(10_000); // the session exists and waits for HELLO
  await t.server.shutdown(30_000);
  const seen = await c.drain();
  assert.deepEqual(seen.map((m) => m.type === "error" && m.code), [
    "shutting_down",
  ]);
});

Deno.test("startServer() signal option starts a graceful shutdown", async () => {
  const controller = new AbortController();
  await using t = await startTestServer({ signal: controller.signal });
  await using c = await t.connect();
  controller.abort();
  await t.server.finished;
  assert.deepEqual((await c.drain()).map((m) => m.type), ["going_away"]);
});
