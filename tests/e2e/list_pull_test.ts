import assert from "node:assert/strict";
import { LIST_WINDOW, openSession } from "../../client/engine/session.ts";
import {
  CountingStorage,
  fillFlat,
} from "../_helpers/server/counting_storage.ts";
import { startTestServer } from "../_helpers/server/fixture.ts";

Deno.test("A client that reads a 20,000-entry listing slowly keeps the server a few pages ahead, however long it takes", async () => {
  await using storage = new CountingStorage();
  await storage.mkdir("big");
  const names = await fillFlat(storage, 20_000, "big/f");
  await using test = await startTestServer({ storage });
  await using session = await openSession(
    `127.0.0.1:${test.server.addr.port}`,
  );
  assert.ok(session.features.includes("pull"));
  let taken = 0;
  let entries = 0;
  let ahead = 0;
  for await (const page of session.listPages("big")) {
    taken++;
    entries += page.entries.length;
    // A round trip: the server has had every chance to send more pages.
    await session.mkdir(`m${taken}`);
    ahead = Math.max(ahead, storage.pulled - taken);
  }
  assert.equal(entries, names.length);
  assert.equal(taken, 20);
  // The window the client asked for, and the page read ahead to know
  // whether more follow.
  assert.ok(ahead <= LIST_WINDOW + 1, `${ahead} pages ahead`);
});
