import assert from "node:assert/strict";
import { connectCommand } from "../../../client/cli/connect_cli.ts";
import { splitWords } from "../../../client/shell/command_parse.ts";
import { runWords } from "../../../client/shell/commands.ts";
import { PlainLineSource } from "../../../client/term/line_input.ts";
import { runLocalShell } from "../../../client/shell/local_shell.ts";
import { runShell } from "../../../client/shell/shell.ts";
import { Buffer, fakeIo } from "../../_helpers/client/cli_io.ts";
import { withServedFolders } from "../../_helpers/e2e/served_folders.ts";
import { withShellWorld } from "../../_helpers/client/shell_world.ts";

const names = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("ls PATTERN lists the matching entries, numbered for later commands; ls FILE shows the file", async () => {
  await withShellWorld({
    remote: { "a.txt": "a", "b.log": "b", "c.txt": "c", "docs/d.txt": "d" },
  }, async ({ run, out, local }) => {
    assert.equal(await run("ls *.txt"), "ok");
    assert.equal(await run("get 2"), "ok");
    assert.equal(await Deno.readTextFile(`${local}/c.txt`), "c");
    assert.equal(await run("ls docs/*.txt"), "ok");
    assert.equal(await run("ls b.log"), "ok");
    const rows = out.text().split("\n").filter((l) => /^\d/.test(l));
    assert.deepEqual(rows.map((l) => l.split(/\s+/).at(-1)), [
      "a.txt",
      "c.txt",
      "d.txt",
      "b.log",
    ]);
    assert.equal(
      await run("ls *.none"),
      'failed: Cannot list "*.none": nothing matches',
    );
  });
});

Deno.test("lls PATTERN lists the matching local files", async () => {
  await withShellWorld({
    local: { "x.md": "x", "y.txt": "y" },
  }, async ({ run, out }) => {
    assert.equal(await run("lls *.md"), "ok");
    assert.match(out.text(), /x\.md/);
    assert.doesNotMatch(out.text(), /y\.txt/);
  });
});

Deno.test("rm PATTERN in a script deletes every matching file, folders never, without asking", async () => {
  await withShellWorld({
    remote: { "a.tmp": "a", "b.tmp": "b", "keep.txt": "k", "dir.tmp/x": "x" },
  }, async ({ run, out, root }) => {
    assert.equal(await run("rm *.tmp"), "ok");
    assert.deepEqual(names(root).filter((n) => n !== ".fts"), [
      "dir.tmp",
      "keep.txt",
    ]);
    assert.equal(out.text(), 'Deleted "a.tmp"\nDeleted "b.tmp"\n');
    assert.equal(
      await run("rm *.tmp"),
      'failed: Cannot delete "*.tmp": no file matches',
    );
  });
});

Deno.test("rm PATTERN on a terminal asks before deleting several files; -f does not ask", async () => {
  await withShellWorld({
    remote: { "a.tmp": "a", "b.tmp": "b", "c.tmp": "c", "one.log": "1" },
  }, async ({ state, output, out, root }) => {
    const questions: string[] = [];
    const answers = ["n", "y"];
    const context = {
      state,
      output,
      confirm: (q: string) => {
        questions.push(q);
        return Promise.resolve(answers.shift() === "y");
      },
    };
    const run = async (line: string) =>
      (await runWords(splitWords(line), context)).status;
    assert.equal(await run("rm *.tmp"), "ok");
    assert.equal(names(root).length, 5);
    assert.match(out.text(), /Nothing deleted/);
    assert.equal(await run("rm a*.tmp"), "ok"); // one match: no question
    assert.equal(await run("rm *.tmp"), "ok");
    assert.deepEqual(questions, [
      'Delete 3 files ("a.tmp", "b.tmp", "c.tmp")? [y/N] ',
      'Delete 2 files ("b.tmp", "c.tmp")? [y/N] ',
    ]);
    await Deno.writeTextFile(`${root}/d.tmp`, "d");
    await Deno.writeTextFile(`${root}/e.tmp`, "e");
    assert.equal(await run("rm -f *.tmp"), "ok");
    assert.equal(questions.length, 2);
    assert.deepEqual(names(root).filter((n) => n !== ".fts"), ["one.log"]);
  });
});

Deno.test("runShell() runs !COMMAND in the local folder with the user's shell", async () => {
  await withShellWorld({}, async ({ state, output, local, err }) => {
    const status = await runShell({
      input: new PlainLineSource(
        fakeIo({ stdin: "!echo hi > made.txt\n!exit 3\n!\n" }).io.stdin
          .readable,
        new Buffer(),
      ),
      output,
      state,
      interactive: false,
      localShell: (line) =>
        runLocalShell(line, { cwd: state.localDir, env: () => "/bin/sh" }),
    });
    assert.equal(status, 0);
    assert.equal(await Deno.readTextFile(`${local}/made.txt`), "hi\n");
    assert.equal(
      err.text(),
      "The local command exited with status 3\n" +
        '"!" alone starts a local shell only on a terminal (give a command: !ls)\n',
    );
  });
});

Deno.test("runShell() on a terminal starts $SHELL for a bare !", async () => {
  await withShellWorld({}, async ({ state, output }) => {
    const calls: (string | null)[] = [];
    await runShell({
      input: new PlainLineSource(
        fakeIo({ stdin: "!\n! ls -l\n" }).io.stdin.readable,
        new Buffer(),
      ),
      output,
      state,
      interactive: true,
      localShell: (line) => {
        calls.push(line);
        return Promise.resolve(0);
      },
    });
    assert.deepEqual(calls, [null, "ls -l"]);
  });
});

Deno.test("a batch runs !COMMAND lines and stops when one fails", async () => {
  await withServedFolders(async ({ local, port }) => {
    const { io, stderr } = fakeIo({
      signal: new AbortController().signal,
      stdin: "!touch first\n!false\n!touch never\n",
      env: { SHELL: "/bin/sh" },
    });
    const status = await connectCommand(
      ["--no-tls", `127.0.0.1:${port}`, "--dir", local, "--batch", "-"],
      io,
    );
    assert.equal(status, 1);
    assert.match(
      stderr.text(),
      /fts: stdin:2: The local command exited with status 1\n$/,
    );
    assert.deepEqual(names(local), ["first"]);
  });
});

Deno.test("runShell() on a terminal asks its question on the input before rm PATTERN deletes", async () => {
  await withShellWorld({
    remote: { "a.tmp": "a", "b.tmp": "b" },
  }, async ({ state, output, root }) => {
    const prompts: string[] = [];
    const lines = ["rm *.tmp", "yes"];
    await runShell({
      input: {
        readLine: (prompt) => {
          prompts.push(prompt);
          return Promise.resolve(lines.shift() ?? null);
        },
        notice: () => {},
        close: () => Promise.resolve(),
      },
      output,
      state,
      interactive: true,
    });
    assert.equal(prompts[1], 'Delete 2 files ("a.tmp", "b.tmp")? [y/N] ');
    assert.deepEqual(names(root), [".fts"]);
  });
});
