import assert from "node:assert/strict";
import {
  complete,
  type CompletionSource,
  shellCompletionSource,
} from "../../../client/shell/completion.ts";
import { TerminalLineSource } from "../../../client/term/line_input.ts";
import { fakeIo } from "../../_helpers/client/cli_io.ts";
import { withShellWorld } from "../../_helpers/client/shell_world.ts";

/** A source with fixed folders; records which side was asked for what. */
function fakeSource(asked: string[] = []): CompletionSource {
  const remote: Record<string, { name: string; dir: boolean }[]> = {
    "": [
      { name: "report.pdf", dir: false },
      { name: "reports", dir: true },
      { name: "my file.txt", dir: false },
    ],
    "reports/": [{ name: "2024.csv", dir: false }],
  };
  const local = [
    { name: "notes.md", dir: false },
    { name: "nothing", dir: true },
  ];
  return {
    remote: (typed) => {
      asked.push(`remote:${typed}`);
      return Promise.resolve(remote[typed] ?? []);
    },
    local: (typed) => {
      asked.push(`local:${typed}`);
      return Promise.resolve(typed === "" ? local : []);
    },
  };
}

Deno.test("complete() finishes a command name, and lists several", async () => {
  assert.deepEqual(await complete("mkd", fakeSource()), {
    start: 0,
    text: "mkdir ",
    candidates: ["mkdir"],
  });
  const l = await complete("l", fakeSource());
  assert.equal(l?.text, "l");
  assert.ok(l?.candidates.includes("lls") && l.candidates.includes("lcd"));
  assert.equal(await complete("zz", fakeSource()), null);
});

Deno.test("complete() takes names from the side each argument names", async () => {
  const asked: string[] = [];
  const source = fakeSource(asked);
  assert.deepEqual(await complete("get my", source), {
    start: 4,
    text: "my\\ file.txt ",
    candidates: ["my file.txt"],
  });
  assert.deepEqual(await complete("get rep", source), {
    start: 4,
    text: "report",
    candidates: ["report.pdf", "reports/"],
  });
  assert.equal((await complete("cd reports", source))?.text, "reports/");
  assert.equal(
    (await complete("get --overwrite reports/2", source))?.text,
    "reports/2024.csv ",
  );
  assert.equal((await complete("put no", source))?.text, "not");
  assert.equal((await complete("put notes.md r", source))?.text, "report");
  assert.equal((await complete("get report.pdf not", source))?.text, "not");
  assert.equal(await complete("shutdown --g", source), null);
  assert.deepEqual(asked, [
    "remote:",
    "remote:",
    "remote:",
    "remote:reports/",
    "local:",
    "remote:",
    "local:",
  ]);
});

Deno.test("TerminalLineSource completes on Tab and lists the candidates when several match", async () => {
  const { io, stdout } = fakeIo({
    stdin: ["ge\t", "rep\t", "s\t\r"],
    tty: true,
  });
  const source = new TerminalLineSource(
    { readable: io.stdin.readable, setRaw: () => {} },
    stdout,
    () => 80,
    { complete: (before) => complete(before, fakeSource()) },
  );
  assert.equal(await source.readLine("> "), "get reports/");
  assert.match(stdout.text(), /\r\nreport\.pdf\s+reports\/\r\n/);
  await source.close();
});

Deno.test("shellCompletionSource() lists the remote folder through the session and the local one from disk", async () => {
  await withShellWorld({
    remote: { "docs/inner.txt": "x", "data.bin": "d" },
    local: { "draft.md": "m", "drafts/x": "x" },
  }, async ({ state }) => {
    const source = shellCompletionSource(state);
    assert.deepEqual(await complete("get d", source), {
      start: 4,
      text: "d",
      candidates: ["data.bin", "docs/"],
    });
    assert.equal(
      (await complete("get docs/i", source))?.text,
      "docs/inner.txt ",
    );
    assert.equal((await complete("lcd drafts", source))?.text, "drafts/");
    state.remoteDir = "docs";
    assert.equal((await complete("rm i", source))?.text, "inner.txt ");
    assert.equal(await complete("get ../../x", source), null);
  });
});

Deno.test("complete() reads the GLOB after --exclude as no argument, and completes rmdir remotely", async () => {
  const source = fakeSource();
  assert.equal(
    (await complete("put -r --exclude *.tmp no", source))?.text,
    "not",
  );
  assert.equal(
    (await complete("get -r --exclude x reports/2", source))?.text,
    "reports/2024.csv ",
  );
  assert.equal((await complete("rmdir reports", source))?.text, "reports/");
});
