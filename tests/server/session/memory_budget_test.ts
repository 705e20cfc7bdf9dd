import assert from "node:assert/strict";
import { runListFlood } from "../../_helpers/server/list_flood.ts";

const MIB = 1024 * 1024;

Deno.test("serve holds a connection that pipelines LISTs and never reads to its budget, and keeps serving another client", async () => {
  const result = await runListFlood({
    entries: 4000,
    lists: 200,
    holdMs: 3000,
  });
  const growth = result.peak - result.before;
  // Before the write queue was bounded: +815 MiB, 200 served, 35 s for the other client.
  assert.ok(growth < 256 * MIB, `RSS grew by ${Math.round(growth / MIB)} MiB`);
  assert.ok(result.served < 50, `${result.served} LISTs were answered in full`);
  assert.ok(result.slowestMs < 5000, `a LIST took ${result.slowestMs} ms`);
});
