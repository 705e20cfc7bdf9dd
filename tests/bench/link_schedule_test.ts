import { strict as assert } from "node:assert";
import { LinkSchedule } from "../../bench/link_schedule.ts";

// 100 Mbit/s is 12,500 bytes per ms.
const RATE = 100e6;

Deno.test("a link delivers one piece after its sending time plus the one-way delay", () => {
  const link = new LinkSchedule(RATE, 10);
  assert.equal(link.deliverAt(12_500, 1000), 1000 + 1 + 10);
});

Deno.test("pieces handed in at once queue behind each other at the link's rate", () => {
  const link = new LinkSchedule(RATE, 10);
  let last = 0;
  for (let i = 0; i < 80; i++) last = link.deliverAt(12_500, 0);
  // One MB at 12.5 MB/s takes 80 ms to send, then 10 ms to arrive.
  assert.equal(last, 90);
});

Deno.test("a link idle for a while does not save up a burst", () => {
  const link = new LinkSchedule(RATE, 0);
  link.deliverAt(12_500, 0);
  // Idle from 1 ms to 500 ms: the next piece still needs its full sending time.
  assert.equal(link.deliverAt(125_000, 500), 510);
  assert.equal(link.deliverAt(125_000, 500), 520);
});

Deno.test("the rate over a long run matches the link's rate", () => {
  const link = new LinkSchedule(RATE, 10);
  let now = 0;
  let delivered = 0;
  // A sender that hands in 16 KiB every 0.5 ms offers more than the link carries.
  for (let i = 0; i < 20_000; i++, now += 0.5) {
    delivered = link.deliverAt(16_384, now);
  }
  const seconds = (delivered - 10) / 1000;
  assert.ok(Math.abs((20_000 * 16_384 * 8) / seconds - RATE) < 1);
});

Deno.test("a link refuses a rate or delay that is not a positive number", () => {
  assert.throws(() => new LinkSchedule(0, 10), RangeError);
  assert.throws(() => new LinkSchedule(NaN, 10), RangeError);
  assert.throws(() => new LinkSchedule(RATE, -1), RangeError);
  assert.throws(() => new LinkSchedule(RATE, 1).deliverAt(1.5, 0), RangeError);
});
