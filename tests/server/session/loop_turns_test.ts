import assert from "node:assert/strict";
import type { Turns } from "../../../server/handlers/handler_context.ts";
import { LoopTurns } from "../../../server/session/loop_turns.ts";

const NEVER = new AbortController().signal;

Deno.test("LoopTurns gives one turn at a time, in the order they were asked", async () => {
  const turns = new LoopTurns(1000);
  const order: string[] = [];
  const a = await turns.take(NEVER);
  let aEnded = false;
  const b = turns.take(NEVER).then((turn) => {
    assert.ok(aEnded, "B got its turn while A held one");
    order.push("B");
    return turn;
  });
  const c = turns.take(NEVER).then((turn) => {
    order.push("C");
    return turn;
  });
  aEnded = true;
  a[Symbol.dispose]();
  (await b)[Symbol.dispose]();
  (await c)[Symbol.dispose]();
  assert.deepEqual(order, ["B", "C"]);
});

Deno.test("LoopTurns gives waiting owners their turns in rotation", async () => {
  const turns = new LoopTurns(1000);
  const flood = turns.of({});
  const other = turns.of({});
  const order: string[] = [];
  const held = await flood.take(NEVER);
  // Each job records its turn and ends it at once.
  const job = (turns: Turns, name: string) =>
    turns.take(NEVER).then((turn) => {
      order.push(name);
      turn[Symbol.dispose]();
    });
  const jobs = [
    job(flood, "flood 1"),
    job(flood, "flood 2"),
    job(flood, "flood 3"),
    job(other, "other"),
  ];
  held[Symbol.dispose]();
  await Promise.all(jobs);
  assert.deepEqual(order, ["flood 1", "other", "flood 2", "flood 3"]);
});

Deno.test("LoopTurns passes an aborted wait's place to the next", async () => {
  const turns = new LoopTurns(1000);
  const a = await turns.take(NEVER);
  const gone = new AbortController();
  const b = turns.take(gone.signal);
  const c = turns.take(NEVER);
  gone.abort(new Error("gone"));
  await assert.rejects(b, /gone/);
  a[Symbol.dispose]();
  (await c)[Symbol.dispose]();
});

Deno.test("LoopTurns lets the event loop run what is pending before the next turn once jobs used their share", async () => {
  const turns = new LoopTurns(0);
  const order: string[] = [];
  const a = await turns.take(NEVER);
  setTimeout(() => order.push("pending"), 0);
  const b = turns.take(NEVER).then((turn) => {
    order.push("next turn");
    return turn;
  });
  a[Symbol.dispose]();
  (await b)[Symbol.dispose]();
  assert.deepEqual(order, ["pending", "next turn"]);
});

Deno.test("LoopTurns refuses a share that is not a duration", () => {
  assert.throws(() => new LoopTurns(-1), RangeError);
  assert.throws(() => new LoopTurns(Number.NaN), RangeError);
});
