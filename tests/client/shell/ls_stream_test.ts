import assert from "node:assert/strict";
import { openSession } from "../../../client/engine/session.ts";
import { splitWords } from "../../../client/shell/command_parse.ts";
import {
  type CommandOutput,
  runWords,
} from "../../../client/shell/commands.ts";
import {
  MAX_NUMBERED,
  NumberedListing,
} from "../../../client/shell/listings.ts";
import type { Entry } from "../../../protocol/messages.ts";
import { Buffer } from "../../_helpers/client/cli_io.ts";
import { startFakeServer } from "../../_helpers/client/fake_server.ts";
import { freshShellState } from "../../_helpers/client/shell_state.ts";

const MTIME = 1_700_000_000_000;

function file(name: string, size: number): Entry {
  return { name, type: "file", size, mtime: MTIME };
}

/** A sink that resolves `seen` once `text` was written to it. */
class WatchingSink extends Buffer {
  readonly seen: Promise<void>;
  #resolve!: () => void;
  readonly #text: string;

  constructor(text: string) {
    super();
    this.#text = text;
    this.seen = new Promise((resolve) => this.#resolve = resolve);
  }

  override writeSync(p: Uint8Array): number {
    const n = super.writeSync(p);
    if (this.text().includes(this.#text)) this.#resolve();
    return n;
  }
}

/**
 * A fake server whose listing of the top sends `first`, then holds the
 * last page (`rest`) until `release` resolves.
 */
function heldListing(first: Entry[], rest: Entry[], release: Promise<void>) {
  return startFakeServer({
    handle: async (ctx, m) => {
      if (m.type !== "list" || m.path !== "") return false;
      await ctx.send({ type: "entries", id: m.id, entries: first, more: true });
      void release.then(() =>
        ctx.send({ type: "entries", id: m.id, entries: rest, more: false })
      );
      return true;
    },
  });
}

Deno.test("ls prints the first entries before the listing has ended", async () => {
  const out = new WatchingSink("b.txt");
  await using server = heldListing(
    [file("a.txt", 5), file("b.txt", 2048)],
    [file("z.txt", 1)],
    out.seen,
  );
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const state = freshShellState(session, Deno.cwd());
  const output: CommandOutput = {
    out,
    err: new Buffer(),
    progress: false,
    quiet: false,
    columns: 80,
  };
  const result = await runWords(splitWords("ls -l"), { state, output });
  assert.equal(result.status, "ok");
  const lines = out.text().trimEnd().split("\n");
  assert.equal(lines.length, 5); // header, three files, the footer
  assert.match(lines[1]!, /^1 .* 5 .* a\.txt$/);
  assert.match(lines[3]!, /^3 .* 1 .* z\.txt$/);
  assert.equal(
    lines[4],
    "total 2.01 KiB (2054 bytes) in 3 files and 0 folders",
  );
  // Numbers go on across pages: 3 is the file of the held page.
  assert.equal(state.remoteListing?.pick(3, "get").path, "z.txt");
});

Deno.test("A streamed listing keeps the numbers of its first lines only, and says so", () => {
  const kept = [{
    path: "a",
    name: "a",
    type: "file" as const,
    size: 1,
    mtime: 1,
  }];
  const listing = new NumberedListing("remote", kept, MAX_NUMBERED + 5);
  assert.equal(listing.pick(1, "get").name, "a");
  assert.throws(() => listing.pick(MAX_NUMBERED + 2, "get"), {
    code: "not_found",
    message: `Cannot get number ${
      MAX_NUMBERED + 2
    }: the last "ls" listing had ${
      MAX_NUMBERED + 5
    } lines and numbers are kept for the first 1 only (name the file instead)`,
  });
  assert.throws(() => listing.pick(MAX_NUMBERED + 6, "get"), {
    message: `Cannot get number ${
      MAX_NUMBERED + 6
    }: not in the last "ls" listing (it has numbers 1 to ${MAX_NUMBERED + 5})`,
  });
});
