import assert from "node:assert/strict";
import { Slots } from "../../common/semaphore.ts";

Deno.test("Slots.acquire() grants up to the count, then waits in order", async () => {
  const slots = new Slots(2);
  const signal = new AbortController().signal;
  const a = await slots.acquire(signal);
  const b = await slots.acquire(signal);
  const order: string[] = [];
  const c = slots.acquire(signal).then((s) => (order.push("c"), s));
  const d = slots.acquire(signal).then((s) => (order.push("d"), s));
  await Promise.resolve();
  assert.deepEqual(order, []);
  a[Symbol.dispose]();
  a[Symbol.dispose](); // a second release is ignored
  const cs = await c;
  assert.deepEqual(order, ["c"]);
  b[Symbol.dispose]();
  (await d)[Symbol.dispose]();
  cs[Symbol.dispose]();
  using e = await slots.acquire(signal);
  using f = await slots.acquire(signal);
  assert.ok(e && f);
});

Deno.test("Slots.acquire() rejects with the signal's reason and gives up its place", async () => {
  const slots = new Slots(1);
  const held = await slots.acquire(new AbortController().signal);
  const controller = new AbortController();
  const waiting = slots.acquire(controller.signal);
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  held[Symbol.dispose]();
  using again = await slots.acquire(new AbortController().signal);
  assert.ok(again);
  assert.throws(() => new Slots(0), RangeError);
});
