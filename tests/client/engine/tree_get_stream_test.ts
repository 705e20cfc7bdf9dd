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
