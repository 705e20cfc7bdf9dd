import assert from "node:assert/strict";
import { join } from "node:path";
import { splitWords } from "../../../client/shell/command_parse.ts";
import {
  type CommandOutput,
  runWords,
  type ShellState,
} from "../../../client/shell/commands.ts";
import { openSession } from "../../../client/engine/session.ts";
import {
  type FakeServer,
  startFakeServer,
} from "../../_helpers/client/fake_server.ts";
import { Buffer } from "../../_helpers/client/cli_io.ts";
import { freshShellState } from "../../_helpers/client/shell_state.ts";

const enc = (s: string) => new TextEncoder().encode(s);

interface Fixture extends AsyncDisposable {
  server: FakeServer;
  state: ShellState;
  out: Buffer;
  err: Buffer;
  dir: string;
  run(line: string): Promise<string>;
}

/** A fake server, a session, a temp local folder and a command runner. */
async function fixture(
  files: Record<string, Uint8Array> = {},
  options: { progress?: boolean; dirs?: string[] } = {},
): Promise<Fixture> {
  const server = startFakeServer({ files, dirs: options.dirs ?? [] });
  const session = await openSession(`127.0.0.1:${server.port}`);
  const dir = await Deno.realPath(await Deno.makeTempDir());
  const out = new Buffer();
  const err = new Buffer(options.progress ?? false);
  const clock = { t: 0, now: () => (clock.t += 50) };
  const output: CommandOutput = {
    out,
    err,
    progress: options.progress ?? false,
    quiet: false,
    columns: 80,
    clock,
  };
  const state = freshShellState(session, dir);
  return {
    server,
    state,
    out,
    err,
    dir,
    async run(line: string) {
      const result = await runWords(splitWords(line), { state, output });
      return result.status === "ok" || result.status === "exit"
        ? result.status
        : `${result.status}: ${result.message}`;
    },
    async [Symbol.asyncDispose]() {
      await state.session.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("ls prints a numbered table: number, size, time, name; folders end with /", async () => {
  await using f = await fixture({
    "b.txt": enc("12345"),
    "a b.txt": new Uint8Array(2048),
  }, {
    dirs: ["docs"],
  });
  assert.equal(await f.run("ls"), "ok");
  const lines = f.out.text().trimEnd().split("\n");
  assert.match(lines[0]!, /^#\s+size\s+modified\s+name$/);
  assert.match(
    lines[1]!,
    /^1\s+2\.00 KiB\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+a b\.txt$/,
  );
  assert.match(lines[2]!, /^2\s+5 B\s+\S+ \S+\s+b\.txt$/);
  assert.match(lines[3]!, /^3\s+-\s+-\s+docs\/$/);
});

Deno.test("get NUMBER downloads exactly the listed file, with its size and mtime as expect", async () => {
  await using f = await fixture({ "a.txt": enc("aaa"), "b.txt": enc("bbbb") });
  await f.run("ls");
  assert.equal(await f.run("get 2"), "ok");
  assert.equal(await Deno.readTextFile(join(f.dir, "b.txt")), "bbbb");
  const get = f.server.received.find((m) => m.type === "get");
  assert.deepEqual(get?.type === "get" && get.expect, {
    size: 4,
    mtime: 1_700_000_000_000,
  });
});

Deno.test("get NUMBER of a file changed since ls is refused, and nothing is saved", async () => {
  await using f = await fixture({ "a.txt": enc("aaa"), "b.txt": enc("bbbb") });
  await f.run("ls");
  f.server.files.set("b.txt", {
    bytes: enc("changed!"),
    mtime: 1_700_000_000_001,
  });
  assert.equal(
    await f.run("get 2"),
    'failed: Cannot get "b.txt": it changed or vanished since it was listed (run "ls" to see the folder as it is now)',
  );
  assert.deepEqual([...Deno.readDirSync(f.dir)], []);
});

Deno.test("A number keeps meaning the file the user saw, even after others change the folder", async () => {
  await using f = await fixture({
    "a.txt": enc("a"),
    "b.txt": enc("b"),
    "c.txt": enc("c"),
  });
  await f.run("ls");
  f.server.files.delete("a.txt"); // another client deletes the first file
  // Number 2 still means b.txt (not c.txt, which is now second on the server).
  assert.equal(await f.run("rm 2"), "ok");
  assert.deepEqual([...f.server.files.keys()], ["c.txt"]);
  // Number 1 (a.txt) vanished: refused, never applied to another file.
  assert.match(await f.run("rm 1"), /^failed: Cannot delete "a\.txt": /);
  assert.deepEqual([...f.server.files.keys()], ["c.txt"]);
});

Deno.test("A number outside the last listing is refused with the valid range", async () => {
  await using f = await fixture({ "a.txt": enc("a") });
  await f.run("ls");
  assert.equal(
    await f.run("get 7"),
    'failed: Cannot get number 7: not in the last "ls" listing (it has numbers 1 to 1)',
  );
  assert.match(
    await f.run("put 1"),
    /not in the last "lls" listing|no such local file/,
  );
});

Deno.test("Before any listing a number is a name; quoted digits are always a name", async () => {
  await using f = await fixture({ "2024": enc("year"), "a.txt": enc("a") });
  assert.equal(await f.run("get 2024"), "ok");
  await f.run("ls");
  assert.match(await f.run("get 2024"), /not in the last "ls" listing/);
  assert.equal(await f.run('get "2024" y.txt'), "ok");
  assert.equal(await Deno.readTextFile(join(f.dir, "y.txt")), "year");
});

Deno.test("put NUMBER uses the last lls and refuses a local file changed since", async () => {
  await using f = await fixture();
  await Deno.writeTextFile(join(f.dir, "one.txt"), "1");
  await Deno.writeTextFile(join(f.dir, "two.txt"), "22");
  await Deno.writeTextFile(join(f.dir, ".fts-0123.part"), "partial download");
  assert.equal(await f.run("lls"), "ok");
  assert.doesNotMatch(f.out.text(), /\.fts-/);
  assert.equal(await f.run("put 2 remote.txt"), "ok");
  assert.equal(
    new TextDecoder().decode(f.server.files.get("remote.txt")?.bytes),
    "22",
  );
  await Deno.writeTextFile(join(f.dir, "one.txt"), "changed");
  assert.equal(
    await f.run("put 1"),
    'failed: Cannot put "one.txt": the local file changed since it was listed (run "lls" to see the folder as it is now)',
  );
  assert.equal(f.server.files.has("one.txt"), false);
});

Deno.test("lrm NUMBER deletes the listed local file, unless it changed", async () => {
  await using f = await fixture();
  await Deno.writeTextFile(join(f.dir, "a.txt"), "a");
  await Deno.writeTextFile(join(f.dir, "b.txt"), "b");
  await f.run("lls");
  await Deno.writeTextFile(join(f.dir, "a.txt"), "changed");
  assert.match(
    await f.run("lrm 1"),
    /^failed: Cannot delete local .*a\.txt": the local file changed/,
  );
  assert.equal(await f.run("lrm 2"), "ok");
  assert.deepEqual([...Deno.readDirSync(f.dir)].map((e) => e.name), ["a.txt"]);
});

Deno.test("mv NUMBER NEW renames the listed file with expect; mkdir creates a folder", async () => {
  await using f = await fixture({ "a.txt": enc("a") });
  await f.run("ls");
  assert.equal(await f.run("mv 1 'new name.txt'"), "ok");
  assert.deepEqual([...f.server.files.keys()], ["new name.txt"]);
  const rename = f.server.received.find((m) => m.type === "rename");
  assert.ok(rename?.type === "rename" && rename.expect?.size === 1);
  assert.equal(await f.run("mkdir docs"), "ok");
  assert.ok(f.server.dirs.has("docs"));
  assert.match(
    f.out.text(),
    /Renamed "a\.txt" to "new name\.txt"\nCreated folder "docs"\n/,
  );
});

Deno.test("cd sets the remote folder names are relative to; .. cannot leave the top", async () => {
  await using f = await fixture({ "docs/a.txt": enc("a") }, { dirs: ["docs"] });
  assert.equal(await f.run("cd docs"), "ok");
  assert.equal(await f.run("pwd"), "ok");
  assert.equal(f.out.text(), "/docs\n");
  assert.equal(await f.run("ls"), "ok");
  assert.equal(await f.run("get 1"), "ok");
  assert.equal(await Deno.readTextFile(join(f.dir, "a.txt")), "a");
  assert.equal(await f.run("cd .."), "ok");
  assert.equal(f.state.remoteDir, "");
  assert.match(
    await f.run("cd ../.."),
    /^usage: .* leads above the top folder/,
  );
  assert.equal(
    await f.run("cd nope"),
    'failed: Cannot change to "nope": no such folder on the server',
  );
});

Deno.test("get NAME LOCAL saves under LOCAL, or inside LOCAL when it is a folder", async () => {
  await using f = await fixture({ "docs/r.pdf": enc("pdf") });
  await Deno.mkdir(join(f.dir, "in"));
  assert.equal(await f.run("get docs/r.pdf copy.pdf"), "ok");
  assert.equal(await f.run("get docs/r.pdf in"), "ok");
  assert.equal(await f.run("get docs/r.pdf"), "ok");
  assert.equal(await Deno.readTextFile(join(f.dir, "copy.pdf")), "pdf");
  assert.equal(await Deno.readTextFile(join(f.dir, "in", "r.pdf")), "pdf");
  assert.equal(await Deno.readTextFile(join(f.dir, "r.pdf")), "pdf");
  assert.equal(await f.run("get docs/r.pdf"), "ok");
  assert.match(f.out.text(), /Saved as "\(1\) r\.pdf"/);
  assert.equal(await f.run("get --overwrite docs/r.pdf"), "ok");
  assert.ok(!f.out.text().includes('"(2) r.pdf"'));
});

Deno.test("mput and mget take names, numbers and patterns", async () => {
  await using f = await fixture({
    "x.log": enc("x"),
    "y.log": enc("yy"),
    "z.txt": enc("z"),
  });
  assert.equal(await f.run("mget *.log z.txt"), "ok");
  assert.deepEqual([...Deno.readDirSync(f.dir)].map((e) => e.name).sort(), [
    "x.log",
    "y.log",
    "z.txt",
  ]);
  assert.match(f.out.text(), /Downloaded 3 of 3 files \(4 B\)/);
  await Deno.mkdir(join(f.dir, "up"));
  await Deno.writeTextFile(join(f.dir, "up", "p.md"), "p");
  await Deno.writeTextFile(join(f.dir, "up", "q.md"), "q");
  assert.equal(await f.run("mput up/*.md"), "ok");
  assert.ok(f.server.files.has("p.md") && f.server.files.has("q.md"));
  assert.match(
    await f.run("mget *.none"),
    /^failed: Cannot get "\*\.none": no file matches$/,
  );
});

Deno.test("mget reports each failed file and fails as a whole", async () => {
  await using f = await fixture({ "a": enc("a") });
  assert.equal(
    await f.run("mget a missing"),
    "failed: Cannot get 1 of 2 files",
  );
  assert.match(
    f.err.text(),
    /Cannot get "missing": no such file on the server/,
  );
  assert.equal(await Deno.readTextFile(join(f.dir, "a")), "a");
});

Deno.test("get draws a progress bar and a summary when progress is on", async () => {
  await using f = await fixture(
    { "big.bin": new Uint8Array(3 * 1024 * 1024) },
    { progress: true },
  );
  assert.equal(await f.run("get big.bin"), "ok");
  const err = f.err.text();
  assert.match(err, /\r"big\.bin" +\d+% \[/);
  assert.match(err, /"big\.bin": 3\.00 MiB in \d/);
});

Deno.test("Names from the server are escaped in listings and refused names are reported", async () => {
  await using f = await fixture({ "ok.txt": enc("1") });
  f.server.files.set("bad\x1b[31m.txt", { bytes: enc("x"), mtime: 1 });
  assert.equal(await f.run("ls"), "ok");
  // deno-lint-ignore no-control-regex -- the test looks for raw escapes
  assert.doesNotMatch(f.out.text(), /\x1b/);
  assert.match(
    f.err.text(),
    /warning: 1 entry with unsafe names left out: "bad\\u\{1b\}\[31m\.txt"/,
  );
});
