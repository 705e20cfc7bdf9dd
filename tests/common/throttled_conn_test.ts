import assert from "node:assert/strict";
import type { ByteConn } from "../../common/frame_conn.ts";
import { bandwidthLimits } from "../../common/rate_limit.ts";
import { throttled } from "../../common/throttled_conn.ts";
import { ManualClock } from "../_helpers/common/manual_clock.ts";

const KIB = 1024;

/** A connection that records writes and answers reads from `incoming`. */
function fakeConn(incoming: Uint8Array) {
  const writes: number[] = [];
  let at = 0;
  let closed = false;
  const conn: ByteConn = {
    read(p) {
      const n = Math.min(p.byteLength, incoming.byteLength - at);
      p.set(incoming.subarray(at, at + n));
      at += n;
      return Promise.resolve(n === 0 ? null : n);
    },
    write(p) {
      writes.push(p.byteLength);
      return Promise.resolve(p.byteLength);
    },
    close() {
      closed = true;
    },
  };
  return { conn, writes, closed: () => closed };
}

async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  for (let i = 0; i < 20; i++) await Promise.resolve();
  return done;
}

Deno.test("throttled() leaves an unlimited connection as it is", () => {
  const { conn } = fakeConn(new Uint8Array(0));
  assert.equal(throttled(conn, { read: null, write: null }), conn);
});

Deno.test("throttled() writes in slices, each after its tokens", async () => {
  const clock = new ManualClock();
  const limits = bandwidthLimits({ perConnection: 64 * KIB, clock })();
  const fake = fakeConn(new Uint8Array(0));
  let held = 0;
  const conn = throttled(fake.conn, limits, () => held++);
  const big = new Uint8Array(16 * KIB);
  // A slice is 1/32 s of the rate: 2 KiB; the burst (6.4 KiB) goes at once.
  assert.equal(await conn.write(big), 2 * KIB);
  assert.equal(await conn.write(big), 2 * KIB);
  assert.equal(await conn.write(big), 2 * KIB);
  const fourth = conn.write(big);
  assert.equal(await settled(fourth), false);
  clock.advance(1000);
  assert.equal(await fourth, 2 * KIB);
  assert.deepEqual(fake.writes, [2 * KIB, 2 * KIB, 2 * KIB, 2 * KIB]);
  assert.equal(held, 1, "told once: the fourth slice waited");
});

Deno.test("throttled() reads at most a slice and pays for it before returning", async () => {
  const clock = new ManualClock();
  const limits = bandwidthLimits({ perConnection: 32 * KIB, clock })();
  const conn = throttled(fakeConn(new Uint8Array(20 * KIB)).conn, limits);
  const buf = new Uint8Array(64 * KIB);
  assert.equal(await conn.read(buf), KIB);
  assert.equal(await conn.read(buf), KIB);
  assert.equal(await conn.read(buf), KIB);
  const fourth = conn.read(buf);
  assert.equal(await settled(fourth), false);
  clock.advance(1000);
  assert.equal(await fourth, KIB);
});

Deno.test("closing a throttled connection ends its wait for tokens", async () => {
  const clock = new ManualClock();
  const limits = bandwidthLimits({ perConnection: 16 * KIB, clock })();
  const fake = fakeConn(new Uint8Array(0));
  let held = 0;
  const conn = throttled(fake.conn, limits, () => held++);
  // A slice (1 KiB) within the burst (1,638 bytes): no wait.
  assert.equal(await conn.write(new Uint8Array(2 * KIB)), KIB);
  const waiting = conn.write(new Uint8Array(KIB));
  assert.equal(clock.pendingTimers, 1);
  conn.close();
  await assert.rejects(waiting, Deno.errors.BadResource);
  assert.equal(clock.pendingTimers, 0);
  assert.equal(held, 0);
  assert.equal(fake.closed(), true);
  assert.deepEqual(fake.writes, [KIB]);
});
