import assert from "node:assert/strict";
import { runListFlood } from "../_helpers/server/list_flood.ts";
import { CONNECTION_MEMORY_MIB } from "../../server/session/session.ts";
import { COLLECTOR_SLACK_MIB } from "../_helpers/server/list_flood.ts";

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
    } MiB, ${result.served} LISTs served, other client's slowest LIST ${result.slowestMs} ms, slowest PING ${result.slowestPingMs} ms (burst ${result.burstMs} ms)`,
  );
  const ceiling = 2 * CONNECTION_MEMORY_MIB + COLLECTOR_SLACK_MIB;
  assert.ok(
    growth < ceiling * MIB,
    `RSS grew by ${Math.round(growth / MIB)} MiB (ceiling ${ceiling} MiB)`,
  );
  assert.ok(result.slowestMs < 5000, `a LIST took ${result.slowestMs} ms`);
  // A PING waits for one turn of the flood's work on the event loop, not
  // for all of it. When listings did not take turns it waited through the
  // whole burst (PING 1.6-2.3 s; the burst about as long).
  assert.ok(
    result.slowestPingMs < result.burstMs / 3,
    `a PING took ${result.slowestPingMs} ms, the flood's burst ${result.burstMs} ms`,
  );
});
