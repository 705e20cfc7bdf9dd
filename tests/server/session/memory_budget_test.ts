import assert from "node:assert/strict";
import {
  COLLECTOR_SLACK_MIB,
  runListFlood,
} from "../../_helpers/server/list_flood.ts";
import { CONNECTION_MEMORY_MIB } from "../../../server/session/session.ts";

const MIB = 1024 * 1024;

Deno.test("serve holds a connection that pipelines LISTs and never reads to its budget, and answers another client's PING between its listings", async () => {
  const result = await runListFlood({
    entries: 4000,
    lists: 200,
    holdMs: 3000,
  });
  const growth = result.peak - result.before;
  // The attacker and the second client, each within the documented ceiling.
  const ceiling = 2 * CONNECTION_MEMORY_MIB + COLLECTOR_SLACK_MIB;
  assert.ok(
    growth < ceiling * MIB,
    `RSS grew by ${Math.round(growth / MIB)} MiB (ceiling ${ceiling} MiB)`,
  );
  assert.ok(result.served < 50, `${result.served} LISTs were answered in full`);
  assert.ok(result.slowestMs < 5000, `a LIST took ${result.slowestMs} ms`);
  // A PING waits for one turn of the flood's work on the event loop, not
  // for all of it. When listings did not take turns it waited through the
  // whole burst (PING 1.6-2.3 s; the burst about as long).
  assert.ok(
    result.slowestPingMs < result.burstMs / 3,
    `a PING took ${result.slowestPingMs} ms, the flood's burst ${result.burstMs} ms`,
  );
});
