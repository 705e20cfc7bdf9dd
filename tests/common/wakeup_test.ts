import assert from "node:assert/strict";
import { Wakeup } from "../../common/wakeup.ts";

Deno.test("Wakeup resolves the waiter at the next wake, and a wake with no waiter is not kept", async () => {
  const wakeup = new Wakeup();
  wakeup.wake(); // No one waits: nothing is kept for later.
  let woken = false;
  const waiting = wakeup.wait().then(() => woken = true);
  await Promise.resolve();
  assert.equal(woken, false);
  wakeup.wake();
  await waiting;
  assert.equal(woken, true);
});
