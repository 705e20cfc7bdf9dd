import assert from "node:assert/strict";
import { join } from "node:path";
import { openSession } from "../../../client/engine/session.ts";
import type { Entry } from "../../../protocol/messages.ts";
import { startFakeServer } from "../../_helpers/client/fake_server.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

const MTIME = 1_700_000_000_000;

function fileEntry(name: string, size: number): Entry {
  return { name, type: "file", size, mtime: MTIME };
}

Deno.test("getTree() sends its first GET before the remote walk has finished listing", async () => {
  await using dir = await tempDir();
  const bytes = new TextEncoder().encode("hello");
  // The rest of the top folder's listing is held until a GET arrives.
  let sawGet!: () => void;
  const firstGet = new Promise<void>((resolve) => sawGet = resolve);
  let getsBeforeEnd = 0;
  let listingEnded = false;
  await using server = startFakeServer({
    mtime: MTIME,
    files: { "a.txt": bytes, "b.txt": bytes, "z.txt": bytes },
    handle: async (ctx, m) => {
      if (m.type === "get") {
        if (!listingEnded) getsBeforeEnd++;
        sawGet();
        return false;
      }
      if (m.type !== "list" || m.path !== "") return false;
      await ctx.send({
        type: "entries",
        id: m.id,
        entries: [fileEntry("a.txt", 5), fileEntry("b.txt", 5)],
        more: true,
      });
      void firstGet.then(async () => {
        listingEnded = true;
        await ctx.send({
          type: "entries",
          id: m.id,
          entries: [fileEntry("z.txt", 5)],
          more: false,
        });
      });
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const summary = await session.getTree("", join(dir.path, "copy"));
  assert.ok(getsBeforeEnd >= 1);
  assert.equal(summary.files, 3);
  for (const name of ["a.txt", "b.txt", "z.txt"]) {
    assert.equal(
      await Deno.readTextFile(join(dir.path, "copy", name)),
      "hello",
    );
  }
});

Deno.test("getTree() asks for the next folders' listings before the one it reads has arrived", async () => {
  await using dir = await tempDir();
  const bytes = new TextEncoder().encode("hello");
  // The listing of "a" is held until the listing of "b" is asked for: a
  // walk that waits for each folder before asking for the next one never
  // gets it (the guard below then stops it).
  let askedForB!: () => void;
  const bAsked = new Promise<void>((resolve) => askedForB = resolve);
  await using server = startFakeServer({
    mtime: MTIME,
    files: { "a/x.txt": bytes, "b/y.txt": bytes },
    dirs: ["a", "b"],
    handle: (ctx, m) => {
      if (m.type !== "list") return false;
      if (m.path === "b") askedForB();
      if (m.path !== "a") return false;
      void bAsked.then(() =>
        ctx.send({
          type: "entries",
          id: m.id,
          entries: [fileEntry("x.txt", 5)],
          more: false,
        })
      );
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const guard = new AbortController();
  const timer = setTimeout(() => guard.abort(), 10_000);
  try {
    const summary = await session.getTree("", join(dir.path, "copy"), {
      signal: guard.signal,
    });
    assert.equal(summary.files, 2);
  } finally {
    clearTimeout(timer);
  }
  assert.equal(
    await Deno.readTextFile(join(dir.path, "copy/a/x.txt")),
    "hello",
  );
});
