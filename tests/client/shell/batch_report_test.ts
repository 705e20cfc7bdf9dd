import assert from "node:assert/strict";
import { connectCommand } from "../../../client/cli/connect_cli.ts";
import { splitWords } from "../../../client/shell/command_parse.ts";
import { runWords } from "../../../client/shell/commands.ts";
import { fakeIo } from "../../_helpers/client/cli_io.ts";
import { withServedFolders } from "../../_helpers/e2e/served_folders.ts";
import { withShellWorld } from "../../_helpers/client/shell_world.ts";

Deno.test("mget reports every file saved under another name", async () => {
  await withShellWorld({
    remote: { "a.txt": "new a", "b.txt": "new b", "c.txt": "c" },
    local: { "a.txt": "old a", "b.txt": "old b" },
  }, async ({ run, out, local }) => {
    assert.equal(await run("mget a.txt b.txt c.txt"), "ok");
    assert.equal(
      out.text(),
      '"a.txt" saved as "(1) a.txt"\n' +
        '"b.txt" saved as "(1) b.txt"\n' +
        "Downloaded 3 of 3 files (11 B) in 0.00 s\n",
    );
    assert.equal(await Deno.readTextFile(`${local}/(1) b.txt`), "new b");
  });
});

Deno.test("mput reports every file stored under another name", async () => {
  await withShellWorld({
    remote: { "a.txt": "old" },
    local: { "a.txt": "new", "b.txt": "b" },
  }, async ({ run, out, root }) => {
    assert.equal(await run("mput a.txt b.txt"), "ok");
    assert.equal(
      out.text(),
      '"a.txt" stored as "(1) a.txt"\n' +
        "Uploaded 2 of 2 files (4 B) in 0.00 s\n",
    );
    assert.equal(await Deno.readTextFile(`${root}/(1) a.txt`), "new");
  });
});

Deno.test("mget with one bad name among many still gets the others and says what happened", async () => {
  await withShellWorld({
    remote: { "a.txt": "a", "b.txt": "b" },
  }, async ({ run, out, err, local }) => {
    assert.equal(
      await run("mget a.txt nomatch*.txt ../x b.txt"),
      "failed: Cannot get 2 of 4 files",
    );
    assert.equal(await Deno.readTextFile(`${local}/a.txt`), "a");
    assert.equal(await Deno.readTextFile(`${local}/b.txt`), "b");
    assert.equal(
      err.text(),
      'Cannot get "nomatch*.txt": no file matches\n' +
        '"../x" leads above the top folder\n',
    );
    assert.equal(out.text(), "Downloaded 2 of 4 files (2 B) in 0.00 s\n");
  });
});

Deno.test("mput with a missing file and an empty pattern among many still puts the others", async () => {
  await withShellWorld({
    local: { "a.txt": "a", "b.txt": "b" },
  }, async ({ run, err, out, root }) => {
    assert.equal(
      await run("mput a.txt nonexist none*.txt b.txt"),
      "failed: Cannot put 2 of 4 files",
    );
    assert.equal(await Deno.readTextFile(`${root}/a.txt`), "a");
    assert.equal(await Deno.readTextFile(`${root}/b.txt`), "b");
    assert.equal(
      err.text(),
      'Cannot put "nonexist": no such local file or folder\n' +
        'Cannot put "none*.txt": no local file matches\n',
    );
    assert.equal(out.text(), "Uploaded 2 of 4 files (2 B) in 0.00 s\n");
  });
});

Deno.test("mget with a progress bar still says how many files made it when some failed", async () => {
  await withShellWorld({ remote: { "a.txt": "a" } }, async (world) => {
    const progress = { ...world.output, progress: true };
    const result = await runWords(splitWords("mget a.txt nothere"), {
      state: world.state,
      output: progress,
    });
    assert.deepEqual(result, {
      status: "failed",
      message: "Cannot get 1 of 2 files",
    });
    assert.match(world.out.text(), /^Downloaded 1 of 2 files \(1 B\)/m);
  });
});

Deno.test("fts connect HOST get NUMBER without a listing is refused, not read as a name", async () => {
  await withServedFolders(async ({ root, local, port }) => {
    await Deno.writeTextFile(`${root}/3`, "three");
    const run = async (args: string[], stdin?: string) => {
      const { io, stderr } = fakeIo({
        signal: new AbortController().signal,
        ...(stdin === undefined ? {} : { stdin }),
      });
      const status = await connectCommand(
        ["--no-tls", `127.0.0.1:${port}`, "--dir", local, ...args],
        io,
      );
      return {
        status,
        stderr: stderr.text().replace(/^fts: warning.*\n/m, ""),
      };
    };
    const one = await run(["get", "3"]);
    assert.equal(one.status, 2);
    assert.equal(
      one.stderr,
      'fts: Cannot get number 3: there is no "ls" listing to take it from (write "./3" for a file with that name)\n',
    );
    const batch = await run(["--batch", "-"], "put 1\n");
    assert.equal(batch.status, 2);
    assert.match(
      batch.stderr,
      /^fts: stdin:1: Cannot put number 1: there is no "lls" listing/,
    );
    const named = await run(["get", "./3"]);
    assert.equal(named.status, 0, named.stderr);
    assert.equal(await Deno.readTextFile(`${local}/3`), "three");
    const listed = await run(["--batch", "-"], "ls\nget --overwrite 1\n");
    assert.equal(listed.status, 0, listed.stderr);
  });
});
