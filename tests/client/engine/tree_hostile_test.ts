/**
 * A hostile server's tree: names that climb out (`../`), absolute names,
 * control characters, names with slashes, a folder and a file of the same
 * name, and a listing that leads through a local link out of the copy.
 * The client writes nothing outside the folder it downloads into.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { openSession } from "../../../client/engine/session.ts";
import { FtsError } from "../../../protocol/errors.ts";
import type { Entry } from "../../../protocol/messages.ts";
import { startFakeServer } from "../../_helpers/client/fake_server.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

function file(name: string, size = 1): Entry {
  return { name, type: "file", size, mtime: 1_700_000_000_000 };
}

function dir(name: string): Entry {
  return { name, type: "dir", size: 0, mtime: 1_700_000_000_000 };
}

/** What the hostile server lists, by folder. */
const LISTINGS: Record<string, Entry[]> = {
  t: [
    file("../escape.txt"),
    file("/etc/absolute.txt"),
    file("bell\u0007.txt"),
    file("a/../../x.txt"),
    file("sub/inner.txt"),
    file("\u202eevil.txt"),
    dir(".."),
    dir("link"),
    dir("twin"),
    file("twin"),
    file("ok.txt"),
    file("pipe"),
  ],
  "t/twin": [file("../../../escape2.txt"), file("in.txt")],
  "t/link": [file("planted.txt")],
};

/** Every path under `dir`, folders ending in "/". */
async function paths(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(dir, rel))) {
    const name = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory) out.push(`${name}/`, ...await paths(dir, name));
    else out.push(entry.isSymlink ? `${name}@` : name);
  }
  return out.sort();
}

Deno.test("getTree() from a hostile server writes nothing outside the folder it downloads into", async () => {
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (m.type === "list") {
        await ctx.send({
          type: "entries",
          id: m.id,
          entries: LISTINGS[m.path] ?? [],
          more: false,
        });
        return true;
      }
      if (m.type === "get") {
        await ctx.send({
          type: "get_ready",
          id: m.id,
          name: m.name,
          size: 1,
          mtime: 1_700_000_000_000,
        });
        await ctx.send({
          type: "data",
          id: m.id,
          offset: 0,
          bytes: new Uint8Array([120]),
          zstd: false,
        });
        await ctx.send({
          type: "get_end",
          id: m.id,
          // SHA-256 of "x"
          sha256:
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
        });
        return true;
      }
      return false;
    },
  });
  await using outer = await tempDir();
  const target = join(outer.path, "dir");
  const elsewhere = join(outer.path, "elsewhere");
  await Deno.mkdir(join(target, "t"), { recursive: true });
  await Deno.mkdir(elsewhere);
  // Links the user had inside the copy, leading out of it: to a folder,
  // and to a FIFO that a reader outside is waiting on.
  await Deno.symlink(elsewhere, join(target, "t/link"));
  const fifo = join(outer.path, "fifo");
  const mkfifo = new Deno.Command("mkfifo", { args: [fifo] });
  assert.equal((await mkfifo.output()).code, 0);
  await Deno.symlink(fifo, join(target, "t/pipe"));
  let readDone = false;
  const reading = (async () => {
    using reader = await Deno.open(fifo, { read: true });
    let count = 0;
    const buf = new Uint8Array(64);
    for (let n; (n = await reader.read(buf)) !== null;) count += n;
    readDone = true;
    return count;
  })();
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const summary = await session.getTree("t", join(target, "t"));
  if (!readDone) {
    // Nobody wrote to the FIFO: open and close it to end the reader.
    (await Deno.open(fifo, { write: true })).close();
  }
  assert.equal(await reading, 0, "bytes written into the FIFO outside");

  assert.deepEqual(await paths(elsewhere), []);
  assert.deepEqual(
    (await paths(outer.path)).filter((p) =>
      p === "dir/" || !p.startsWith("dir/")
    ),
    [
      "dir/",
      "elsewhere/",
      "fifo",
    ],
  );
  const got = await paths(target);
  for (const path of got) {
    assert.ok(
      !/escape|absolute|bell|evil|x\.txt|inner|planted/.test(path),
      path,
    );
  }
  assert.ok(got.includes("t/ok.txt"));
  // The file and the folder named "twin" cannot both have the name: one of
  // them is saved under another name or fails, never anywhere else.
  assert.ok(
    got.includes("t/twin/in.txt") || got.includes("t/twin"),
    got.join(", "),
  );
  for (const failure of summary.failures) {
    assert.ok(failure instanceof FtsError, String(failure));
  }
  const codes = summary.failures.map((f) => (f as FtsError).code);
  assert.ok(codes.includes("invalid_name"));
  assert.ok(codes.includes("permission_denied"), codes.join(", "));
  assert.ok(codes.includes("bad_request"), codes.join(", "));
  // Refused: 5 unsafe names at the top, "..", the slash names, the two
  // links, and the unsafe name in "twin" when that folder was listed.
  assert.ok(summary.failed >= 9, String(summary.failed));
});
