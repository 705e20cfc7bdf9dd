import assert from "node:assert/strict";
import { ListCredits } from "../../../server/handlers/list_credits.ts";

Deno.test("ListCredits lets the window go, then one page per grant", async () => {
  const credits = new ListCredits(2);
  const signal = new AbortController().signal;
  await credits.take(signal);
  await credits.take(signal);
  let third = false;
  const taking = credits.take(signal).then(() => third = true);
  await Promise.resolve();
  assert.equal(third, false);
  credits.grant();
  await taking;
  assert.equal(third, true);
});

Deno.test("ListCredits.take() waiting for a grant ends with the signal's reason", async () => {
  const credits = new ListCredits(1);
  const controller = new AbortController();
  await credits.take(controller.signal);
  const waiting = credits.take(controller.signal);
  controller.abort(new Error("gone"));
  await assert.rejects(waiting, { message: "gone" });
  assert.throws(() => new ListCredits(0), RangeError);
});
