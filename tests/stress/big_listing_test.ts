/**
 * A folder of 100,000 files on the local backend, listed through the whole
 * stack: the shell prints every line, numbered, and the server reads the
 * folder at most a few pages ahead of what the client has taken.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LIST_WINDOW, openSession } from "../../client/engine/session.ts";
import { splitWords } from "../../client/shell/command_parse.ts";
import { runWords } from "../../client/shell/commands.ts";
import { LocalStorage } from "../../server/storage/local/local_storage.ts";
import type { Entry } from "../../protocol/messages.ts";
import { startServer } from "../../server/server.ts";
import { Buffer } from "../_helpers/client/cli_io.ts";
import { freshShellState } from "../_helpers/client/shell_state.ts";
import { delegatingStorage } from "../_helpers/server/delegating_storage.ts";
import { tempDir } from "../_helpers/common/temp_dir.ts";

const FILES = 100_000;

Deno.test("ls of a 100,000-file folder prints every line while the server stays a few pages ahead", async () => {
  await using root = await tempDir();
  await Deno.mkdir(join(root.path, "big"));
  for (let i = 0; i < FILES; i++) {
    Deno.writeFileSync(
      join(root.path, "big", `f${String(i).padStart(6, "0")}`),
      new Uint8Array(0),
    );
  }
  await using local = await LocalStorage.open(root.path);
  let pulled = 0;
  const storage = delegatingStorage(local, {
    list: async function* (path: string): AsyncGenerator<Entry[]> {
      for await (const page of local.list(path)) {
        pulled++;
        yield page;
      }
    },
  });
  await using server = await startServer({
    root: root.path,
    storage,
    host: "127.0.0.1",
    port: 0,
  });
  await using session = await openSession(`127.0.0.1:${server.addr.port}`);
  let taken = 0;
  let ahead = 0;
  for await (const _ of session.listPages("big")) {
    taken++;
    await session.mkdir(`m${taken}`); // a round trip between pages
    ahead = Math.max(ahead, pulled - taken);
  }
  assert.equal(taken, FILES / 1000);
  assert.ok(ahead <= LIST_WINDOW + 1, `${ahead} pages ahead`);
  const out = new Buffer();
  const state = freshShellState(session, root.path);
  const result = await runWords(splitWords("ls -l big"), {
    state,
    output: {
      out,
      err: new Buffer(),
      progress: false,
      quiet: false,
      columns: 80,
    },
  });
  assert.equal(result.status, "ok");
  const lines = out.text().trimEnd().split("\n");
  assert.equal(lines.length, FILES + 2);
  assert.match(lines[FILES]!, /^100000 .* f099999$/);
  assert.equal(
    lines[FILES + 1],
    `total 0 B (0 bytes) in ${FILES} files and 0 folders`,
  );
  assert.equal(state.remoteListing?.count, FILES);
});
