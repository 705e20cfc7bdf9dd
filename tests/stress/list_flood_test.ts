import assert from "node:assert/strict";
import { runListFlood } from "../_helpers/server/list_flood.ts";

const MIB = 1024 * 1024;

Deno.test("serve survives 1,024 pipelined LISTs of a 4,000-entry folder from a client that never reads", async () => {
  const result = await runListFlood({
    entries: 4000,
    lists: 1024,
    holdMs: 20_000,
  });
  const growth = result.peak - result.before;
  console.log(
    `RSS ${Math.round(result.before / MIB)} -> ${
      Math.round(result.peak / MIB)
    } MiB, ${result.served} LISTs served, other client's slowest LIST ${result.slowestMs} ms`,
  );
  assert.ok(growth < 256 * MIB, `RSS grew by ${Math.round(growth / MIB)} MiB`);
  assert.ok(result.slowestMs < 5000, `a LIST took ${result.slowestMs} ms`);
});
