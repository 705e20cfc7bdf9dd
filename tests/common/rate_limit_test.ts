import assert from "node:assert/strict";
import {
  bandwidthLimits,
  parseRate,
  Throttle,
  TokenBucket,
} from "../../common/rate_limit.ts";
import { ManualClock } from "../_helpers/common/manual_clock.ts";

const KIB = 1024;

/** True once `promise` settled, after the microtasks queued so far ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  for (let i = 0; i < 20; i++) await Promise.resolve();
  return done;
}

Deno.test("TokenBucket gives its burst at once, then bytes at its rate", () => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(20 * KIB, { clock });
  assert.equal(bucket.burst, 2 * KIB); // 100 ms of the rate
  assert.equal(bucket.reserve(2 * KIB), 0);
  // A second of the rate, beyond the burst: a second's wait.
  assert.equal(bucket.reserve(20 * KIB), 1000);
  clock.advance(1000);
  assert.equal(bucket.reserve(2 * KIB), 100);
  // Idle for a long time: full again, but never more than the burst.
  clock.advance(60_000);
  assert.equal(bucket.reserve(2 * KIB), 0);
  assert.equal(bucket.reserve(2 * KIB), 100);
});

Deno.test("TokenBucket refuses a rate below 16 KiB/s or not a number", () => {
  assert.throws(() => new TokenBucket(16 * KIB - 1), RangeError);
  assert.throws(() => new TokenBucket(Number.NaN), RangeError);
  assert.throws(() => new TokenBucket(Infinity), RangeError);
  assert.throws(() => new TokenBucket(16 * KIB, { burst: 0 }), RangeError);
});

Deno.test("Throttle.take() waits on the injected clock for the tokens", async () => {
  const clock = new ManualClock();
  const throttle = new Throttle([new TokenBucket(20 * KIB, { clock })], clock);
  const signal = new AbortController().signal;
  assert.equal(await throttle.take(2 * KIB, signal), 0);
  const waiting = throttle.take(20 * KIB, signal);
  assert.equal(await settled(waiting), false);
  clock.advance(999);
  assert.equal(await settled(waiting), false);
  clock.advance(1);
  assert.equal(await waiting, 1000);
});

Deno.test("Throttle.take() waits for every bucket: the slower one decides", async () => {
  const clock = new ManualClock();
  const fast = new TokenBucket(200 * KIB, { clock, burst: KIB });
  const slow = new TokenBucket(20 * KIB, { clock, burst: KIB });
  const throttle = new Throttle([fast, slow], clock);
  assert.equal(throttle.slice, KIB); // 1/32 s of the slower rate, at least 1 KiB
  const signal = new AbortController().signal;
  const waiting = throttle.take(21 * KIB, signal);
  clock.advance(100); // the fast bucket's wait
  assert.equal(await settled(waiting), false);
  clock.advance(999);
  assert.equal(await settled(waiting), false);
  clock.advance(1);
  assert.equal(await waiting, 1100);
});

Deno.test("Throttle.take() ends at once, timer cleared, when its signal aborts", async () => {
  const clock = new ManualClock();
  const throttle = new Throttle([new TokenBucket(16 * KIB, { clock })], clock);
  const closed = new AbortController();
  const waiting = throttle.take(64 * KIB, closed.signal);
  assert.equal(clock.pendingTimers, 1);
  const reason = new Error("closed");
  closed.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  assert.equal(clock.pendingTimers, 0);
  await assert.rejects(throttle.take(1, closed.signal), (e) => e === reason);
});

Deno.test("Connections sharing a total limit take turns: a busy one cannot starve another", async () => {
  const clock = new ManualClock();
  const limits = bandwidthLimits({ total: 64 * KIB, clock });
  const signal = new AbortController().signal;
  const sent = [0, 0];
  const connections = [limits(), limits()];
  let running = true;
  // Each connection writes slices back to back, as a send loop does.
  const loops = connections.map(async (limit, i) => {
    const throttle = limit.write!;
    while (running) {
      await throttle.take(throttle.slice, signal);
      sent[i]! += throttle.slice;
    }
  });
  for (let ms = 0; ms < 10_000; ms += 10) {
    clock.advance(10);
    await settled(Promise.resolve());
  }
  running = false;
  clock.advance(1000);
  await Promise.all(loops);
  const [a, b] = sent as [number, number];
  // 10 s at 64 KiB/s, plus the burst and the last second's wake-ups.
  assert.ok(a + b >= 640 * KIB && a + b <= 720 * KIB, `${a + b} bytes`);
  assert.ok(Math.abs(a - b) <= 2 * KIB, `${a} against ${b} bytes`);
  assert.equal(limits().read !== null, true, "reads are limited too");
});

Deno.test("bandwidthLimits() gives each connection its own per-connection buckets", async () => {
  const clock = new ManualClock();
  const limits = bandwidthLimits({ perConnection: 16 * KIB, clock });
  const signal = new AbortController().signal;
  const [a, b] = [limits(), limits()];
  // Each has its own 1,638-byte burst, whatever the other used.
  assert.equal(await a.write!.take(1600, signal), 0);
  assert.equal(await b.write!.take(1600, signal), 0);
  assert.equal(await a.read!.take(1600, signal), 0);
  const next = a.write!.take(1600, signal);
  assert.equal(await settled(next), false);
  clock.advance(100);
  await next;
  const none = bandwidthLimits({})();
  assert.deepEqual(none, { read: null, write: null });
  assert.throws(() => bandwidthLimits({ total: 10 }), RangeError);
});

Deno.test("parseRate() reads bytes per second as sizes are read: K, M, G powers of 1024, KB, MB, GB of 1000", () => {
  assert.equal(parseRate("65536"), 65536);
  assert.equal(parseRate("1M"), 1024 * 1024);
  assert.equal(parseRate("500K"), 500 * 1024);
  assert.equal(parseRate("500k"), 500 * 1024);
  assert.equal(parseRate("10M"), 10 * 1024 * 1024);
  assert.equal(parseRate("20MiB"), 20 * 1024 * 1024);
  assert.equal(parseRate("1.5G"), 1.5 * 1024 ** 3);
  assert.equal(parseRate("16K"), 16 * 1024);
  assert.equal(parseRate("10MB"), 10_000_000);
  for (const bad of ["", "-1M", "1e6", "M", "10Mbit", "10 Mbit/s"]) {
    assert.throws(() => parseRate(bad, "--limit"), {
      name: "RangeError",
      message: `--limit must be bytes per second such as 500K, 10M or 1G, not ${
        JSON.stringify(bad)
      }`,
    });
  }
  assert.throws(() => parseRate("15K", "--limit"), {
    name: "RangeError",
    message: '--limit must be at least 16K (16384 bytes per second), not "15K"',
  });
  assert.throws(() => parseRate("0"), RangeError);
  assert.throws(() => parseRate("99999999999G"), RangeError);
});
