import assert from "node:assert/strict";
import { type ByteConn, FrameConn } from "../../common/frame_conn.ts";
import { FrameDecoder } from "../../protocol/decoder.ts";
import { decodeMessage, type Message } from "../../protocol/messages.ts";

/** A connection whose writes are recorded and held until released. */
class HeldConn implements ByteConn {
  readonly writes: Uint8Array[] = [];
  readonly #gates: PromiseWithResolvers<void>[] = [];
  #arrived = Promise.withResolvers<void>();
  failNext = false;

  read(): Promise<number | null> {
    return Promise.resolve(null);
  }

  async write(p: Uint8Array): Promise<number> {
    const gate = Promise.withResolvers<void>();
    this.#gates.push(gate);
    this.#arrived.resolve();
    await gate.promise;
    if (this.failNext) {
      this.failNext = false;
      throw new Deno.errors.BrokenPipe("Injected write failure");
    }
    this.writes.push(p.slice());
    return p.byteLength;
  }

  /** Resolves once a write is being held. */
  async held(): Promise<void> {
    while (this.#gates.length === 0) {
      this.#arrived = Promise.withResolvers<void>();
      await this.#arrived.promise;
    }
  }

  /** Lets the oldest held write go on, once there is one. */
  async release(): Promise<void> {
    await this.held();
    this.#gates.shift()!.resolve();
  }

  close(): void {}
}

function messagesIn(writes: readonly Uint8Array[]): Message[] {
  const decoder = new FrameDecoder();
  const out: Message[] = [];
  for (const w of writes) {
    decoder.push(w);
    for (let f = decoder.next(); f; f = decoder.next()) {
      out.push(decodeMessage(f));
    }
  }
  return out;
}

Deno.test("FrameConn sends the small frames queued behind a write in one write, in order", async () => {
  const conn = new HeldConn();
  const frames = new FrameConn(conn);
  const sent = [frames.send({ type: "pong", id: 1 })];
  await conn.held();
  for (let id = 2; id <= 10; id++) {
    sent.push(frames.send({ type: "pong", id }));
  }
  await conn.release();
  await conn.release();
  await Promise.all(sent);
  assert.equal(conn.writes.length, 2);
  assert.deepEqual(
    messagesIn(conn.writes).map((m) => m.id),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
});

Deno.test("FrameConn writes a large buffer alone and uncopied beside small frames", async () => {
  const conn = new HeldConn();
  const frames = new FrameConn(conn);
  const big = new Uint8Array(256 * 1024);
  const sent = [
    frames.send({ type: "pong", id: 1 }),
    frames.writeAll(big),
    frames.send({ type: "pong", id: 2 }),
  ];
  for (let i = 0; i < 3; i++) await conn.release();
  await Promise.all(sent);
  assert.deepEqual(conn.writes.map((w) => w.byteLength), [
    conn.writes[0]!.byteLength,
    big.byteLength,
    conn.writes[2]!.byteLength,
  ]);
  assert.deepEqual(messagesIn([conn.writes[0]!]).map((m) => m.id), [1]);
  assert.deepEqual(messagesIn([conn.writes[2]!]).map((m) => m.id), [2]);
});

Deno.test("FrameConn fails only the writes a failed write carried; later ones still go", async () => {
  const conn = new HeldConn();
  const frames = new FrameConn(conn);
  conn.failNext = true;
  const lost = frames.send({ type: "pong", id: 1 });
  await conn.held();
  const later = frames.send({ type: "pong", id: 2 });
  await conn.release();
  await assert.rejects(lost, Deno.errors.BrokenPipe);
  await conn.release();
  await later;
  assert.deepEqual(messagesIn(conn.writes).map((m) => m.id), [2]);
});

Deno.test("FrameConn withdraws a message whose signal aborts before its turn, and no other", async () => {
  const conn = new HeldConn();
  const frames = new FrameConn(conn);
  const first = new AbortController();
  const queued = new AbortController();
  const reason = new Error("stop");
  const taken = frames.send(
    { type: "get", id: 1, name: "a", offset: 0 },
    first.signal,
  );
  await conn.held();
  // Being written: its abort comes too late, it is sent.
  first.abort(reason);
  const withdrawn = frames.send(
    { type: "get", id: 2, name: "b", offset: 0 },
    queued.signal,
  );
  const kept = frames.send({ type: "get", id: 3, name: "c", offset: 0 });
  const cancel = frames.send({ type: "cancel", id: 1 });
  queued.abort(reason);
  await assert.rejects(withdrawn, (e) => e === reason);
  await conn.release();
  await conn.release();
  await Promise.all([taken, kept, cancel]);
  assert.deepEqual(
    messagesIn(conn.writes).map((m) => [m.type, m.id]),
    [["get", 1], ["get", 3], ["cancel", 1]],
  );
  assert.equal(frames.queuedBytes, 0);
});

Deno.test("FrameConn sends nothing for a message whose signal aborted already", async () => {
  const conn = new HeldConn();
  const frames = new FrameConn(conn);
  const reason = new Error("stop");
  const sent = frames.send({ type: "pong", id: 1 }, AbortSignal.abort(reason));
  await assert.rejects(sent, (e) => e === reason);
  const next = frames.send({ type: "pong", id: 2 });
  await conn.release();
  await next;
  assert.deepEqual(messagesIn(conn.writes).map((m) => m.id), [2]);
});

Deno.test("FrameConn by turn writes the frames sent across the microtasks of one turn in one write", async () => {
  const writes: Uint8Array[] = [];
  const frames = new FrameConn({
    read: () => Promise.resolve(null),
    write: (p) => {
      writes.push(p.slice());
      return Promise.resolve(p.byteLength);
    },
    close: () => {},
  }, { byTurn: true });
  const sent: Promise<void>[] = [];
  for (let id = 1; id <= 5; id++) {
    sent.push(frames.send({ type: "pong", id }));
    // As a request sent from a reply's handler, a few awaits apart.
    await Promise.resolve();
    await Promise.resolve();
  }
  await Promise.all(sent);
  assert.equal(writes.length, 1);
  assert.deepEqual(messagesIn(writes).map((m) => m.id), [1, 2, 3, 4, 5]);
});
