import assert from "node:assert/strict";
import { Semaphore } from "../../common/semaphore.ts";

Deno.test("Semaphore.acquire() grants up to the count, then waits in order", async () => {
  const sem = new Semaphore(2);
  const signal = new AbortController().signal;
  const a = await sem.acquire(signal);
  const b = await sem.acquire(signal);
  const order: string[] = [];
  const c = sem.acquire(signal).then((s) => (order.push("c"), s));
  const d = sem.acquire(signal).then((s) => (order.push("d"), s));
  await Promise.resolve();
  assert.deepEqual(order, []);
  a[Symbol.dispose]();
  a[Symbol.dispose](); // a second release is ignored
  const cs = await c;
  assert.deepEqual(order, ["c"]);
  b[Symbol.dispose]();
  (await d)[Symbol.dispose]();
  cs[Symbol.dispose]();
  using e = await sem.acquire(signal);
  using f = await sem.acquire(signal);
  assert.ok(e && f);
});

Deno.test("Semaphore.acquire() rejects with the signal's reason and gives up its place", async () => {
  const sem = new Semaphore(1);
  const held = await sem.acquire(new AbortController().signal);
  const controller = new AbortController();
  const waiting = sem.acquire(controller.signal);
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  held[Symbol.dispose]();
  using again = await sem.acquire(new AbortController().signal);
  assert.ok(again);
  assert.throws(() => new Semaphore(0), RangeError);
});

Deno.test("Semaphore.acquire() without a signal waits until a permit is given back", async () => {
  const sem = new Semaphore(1);
  const held = await sem.acquire();
  let granted = false;
  const next = sem.acquire().then((permit) => {
    granted = true;
    return permit;
  });
  await Promise.resolve();
  assert.equal(granted, false);
  held[Symbol.dispose]();
  using _permit = await next;
  assert.equal(granted, true);
});
