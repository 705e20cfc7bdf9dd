import assert from "node:assert/strict";
import { openSession } from "../../../client/engine/session.ts";
import type { Entry } from "../../../protocol/messages.ts";
import { startFakeServer } from "../../_helpers/client/fake_server.ts";

function files(from: number, count: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `f${String(from + i).padStart(6, "0")}`,
    type: "file" as const,
    size: 1,
    mtime: 1,
  }));
}

Deno.test("listPages() yields the first page before the server has sent the last", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (m.type !== "list") return false;
      await ctx.send({
        type: "entries",
        id: m.id,
        entries: files(0, 1000),
        more: true,
      });
      void held.then(() =>
        ctx.send({
          type: "entries",
          id: m.id,
          entries: files(1000, 5),
          more: false,
        })
      );
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const pages = session.listPages("")[Symbol.asyncIterator]();
  const first = await pages.next();
  assert.equal(first.done, false);
  assert.equal(first.value?.entries.length, 1000);
  assert.equal(first.value?.entries[0]?.name, "f000000");
  release();
  const last = await pages.next();
  assert.deepEqual(last.value?.entries.map((e: Entry) => e.name), [
    "f001000",
    "f001001",
    "f001002",
    "f001003",
    "f001004",
  ]);
  assert.equal((await pages.next()).done, true);
});

Deno.test("listPages() left early cancels the rest of the listing", async () => {
  let cancelled!: () => void;
  const cancel = new Promise<void>((resolve) => cancelled = resolve);
  let lists = 0;
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (m.type === "cancel") {
        await ctx.send({
          type: "error",
          id: m.id,
          code: "cancelled",
          message: "Cancelled",
        });
        cancelled();
        return true;
      }
      if (m.type !== "list") return false;
      lists++;
      await ctx.send({
        type: "entries",
        id: m.id,
        entries: files(0, 3),
        more: lists === 1,
      });
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  for await (const page of session.listPages("")) {
    assert.equal(page.entries.length, 3);
    break;
  }
  await cancel;
  // The id is free again and the session still works.
  assert.equal((await session.list("")).entries.length, 3);
});
