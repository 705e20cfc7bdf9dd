import assert from "node:assert/strict";
import type { Clock } from "../../common/clock.ts";
import { type SignalHost, SignalPresses } from "../../common/interrupts.ts";

/** Signals fired by hand, and a clock moved by hand. */
function fakeWorld() {
  const handlers = new Map<Deno.Signal, Set<() => void>>();
  const host: SignalHost = {
    add(signal, handler) {
      if (signal === "SIGBREAK") throw new TypeError("not on this platform");
      const set = handlers.get(signal) ?? new Set();
      set.add(handler);
      handlers.set(signal, set);
    },
    remove(signal, handler) {
      handlers.get(signal)?.delete(handler);
    },
  };
  let now = 1_000;
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => now,
    setTimeout(fn, ms) {
      sleeps.push(ms);
      now += ms;
      queueMicrotask(fn);
      return sleeps.length;
    },
    clearTimeout() {},
  };
  return {
    host,
    clock,
    sleeps,
    advance: (ms: number) => void (now += ms),
    fire: (signal: Deno.Signal) => {
      for (const h of handlers.get(signal) ?? []) h();
    },
    listeners: (signal: Deno.Signal) => handlers.get(signal)?.size ?? 0,
  };
}

Deno.test("SignalPresses drops a forwarded copy of a press within 250 ms and counts a later press", async () => {
  const world = fakeWorld();
  const counts: number[] = [];
  const presses = new SignalPresses(["SIGINT"], (n) => counts.push(n), {
    clock: world.clock,
    host: world.host,
  });
  world.fire("SIGINT"); // the terminal's
  world.advance(3);
  world.fire("SIGINT"); // the launcher's copy
  assert.deepEqual(counts, [1]);
  world.advance(250 - 3 - 1);
  world.fire("SIGINT"); // still the same press
  assert.deepEqual(counts, [1]);
  world.advance(2);
  world.fire("SIGINT"); // a person pressing again
  assert.deepEqual(counts, [1, 2]);
  await presses.close();
  assert.equal(world.listeners("SIGINT"), 0);
});

Deno.test("SignalPresses counts a different signal at once", async () => {
  const world = fakeWorld();
  const counts: number[] = [];
  const presses = new SignalPresses(
    ["SIGINT", "SIGTERM", "SIGBREAK"],
    (n) => counts.push(n),
    { clock: world.clock, host: world.host },
  );
  assert.ok(presses.listening);
  world.fire("SIGINT");
  world.fire("SIGTERM");
  assert.deepEqual(counts, [1, 2]);
  await presses.close();
});

Deno.test("SignalPresses.close() keeps swallowing duplicates until the window has passed", async () => {
  const world = fakeWorld();
  const presses = new SignalPresses(["SIGINT"], () => {}, {
    clock: world.clock,
    host: world.host,
    windowMs: 100,
  });
  world.fire("SIGINT");
  world.advance(10);
  await presses.close();
  assert.deepEqual(world.sleeps, [100 - 10]);
  assert.equal(world.listeners("SIGINT"), 0);
  assert.equal(presses.listening, false);
});

Deno.test("SignalPresses.close() does not wait without a recent signal", async () => {
  const world = fakeWorld();
  const presses = new SignalPresses(["SIGINT"], () => {}, {
    clock: world.clock,
    host: world.host,
  });
  presses.press(); // not a signal: nothing to wait for
  await presses.close();
  assert.deepEqual(world.sleeps, []);
  assert.equal(presses.count, 1);
});
