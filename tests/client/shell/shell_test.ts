import assert from "node:assert/strict";
import { join } from "node:path";
import type {
  CommandOutput,
  ShellState,
} from "../../../client/shell/commands.ts";
import {
  type LineSource,
  PlainLineSource,
  TerminalLineSource,
} from "../../../client/term/line_input.ts";
import { openSession } from "../../../client/engine/session.ts";
import { FtsError } from "../../../protocol/errors.ts";
import { type InterruptSource, runShell } from "../../../client/shell/shell.ts";
import {
  answerCancel,
  type FakeServer,
  startFakeServer,
} from "../../_helpers/client/fake_server.ts";
import { Buffer, fakeIo } from "../../_helpers/client/cli_io.ts";
import { freshShellState } from "../../_helpers/client/shell_state.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function withShell(
  server: FakeServer,
  run: (ctx: {
    state: ShellState;
    output: CommandOutput;
    out: Buffer;
    err: Buffer;
    dir: string;
  }) => Promise<void>,
) {
  const session = await openSession(`127.0.0.1:${server.port}`);
  const dir = await Deno.realPath(await Deno.makeTempDir());
  const out = new Buffer();
  const err = new Buffer();
  const state = freshShellState(session, dir);
  const output: CommandOutput = {
    out,
    err,
    progress: false,
    quiet: false,
    columns: 80,
  };
  try {
    await run({ state, output, out, err, dir });
  } finally {
    await state.session.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function lines(text: string): LineSource {
  return new PlainLineSource(
    fakeIo({ stdin: text }).io.stdin.readable,
    new Buffer(),
  );
}

Deno.test("runShell() runs piped lines, reports failures and goes on", async () => {
  await using server = startFakeServer({ files: { "a.txt": enc("a") } });
  await withShell(server, async ({ state, output, out, err, dir }) => {
    const input = lines(
      "ls\n# a comment\n\nget nope\nget a.txt\nfrobnicate\nexit\nls\n",
    );
    const status = await runShell({ input, output, state, interactive: false });
    await input.close();
    assert.equal(status, 0);
    assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "a");
    assert.equal(
      err.text(),
      'Cannot get "nope": no such file on the server\nUnknown command "frobnicate" (type "help" for the list)\n',
    );
    assert.equal(
      out.text().match(/a\.txt/g)?.length,
      1,
      "ls after exit did not run",
    );
  });
});

Deno.test("runShell() offers the numbered menu: 3 lists and downloads by number", async () => {
  await using server = startFakeServer({
    files: { "a.txt": enc("a"), "b.txt": enc("b") },
  });
  await withShell(server, async ({ state, output, out, dir }) => {
    const input = lines("3\n2\n4\n1\n1\n5\n");
    const status = await runShell({ input, output, state, interactive: false });
    await input.close();
    assert.equal(status, 0);
    assert.equal(await Deno.readTextFile(join(dir, "b.txt")), "b");
    assert.deepEqual(
      [...server.files.keys()],
      ["b.txt"],
      "4 then 1 deleted a.txt",
    );
    assert.match(out.text(), /Deleted "a\.txt"/);
  });
});

Deno.test("runShell() menu 2 uploads a local file chosen by number", async () => {
  await using server = startFakeServer();
  await withShell(server, async ({ state, output, dir }) => {
    await Deno.writeTextFile(join(dir, "up.txt"), "up");
    const input = lines("2\n1\n");
    await runShell({ input, output, state, interactive: false });
    await input.close();
    assert.equal(
      new TextDecoder().decode(server.files.get("up.txt")?.bytes),
      "up",
    );
  });
});

Deno.test("runShell() on a terminal edits lines in raw mode and prints banner and menu", async () => {
  await using server = startFakeServer({ files: { "a.txt": enc("a") } });
  await withShell(server, async ({ state, output }) => {
    // "lx", Backspace, "s", Enter; then Ctrl-C on a half line; then Ctrl-D.
    const { io, stdout, rawModes } = fakeIo({
      tty: true,
      stdin: ["lx", "\x7fs\r", "get a\x03", "\x04"],
    });
    const input = new TerminalLineSource(
      {
        readable: io.stdin.readable,
        setRaw: (mode) => io.stdin.setRaw?.(mode),
      },
      stdout,
      () => 80,
    );
    const status = await runShell({
      input,
      output: { ...output, out: stdout },
      state,
      interactive: true,
    });
    await input.close();
    assert.equal(status, 0);
    const text = stdout.text();
    assert.match(
      text,
      /^Connected to 127\.0\.0\.1:\d+ \("fake\/1"\)\. Type "help"/,
    );
    assert.match(
      text,
      /1\) list {3}2\) upload {3}3\) download {3}4\) delete {3}5\) exit/,
    );
    // deno-lint-ignore no-control-regex -- the test looks for raw escapes
    assert.match(text, /\rfts:\/> ls\x1b\[K\r\n#/);
    assert.match(text, /1\s+1 B\s+\S+ \S+\s+a\.txt/);
    // deno-lint-ignore no-control-regex -- the test looks for raw escapes
    assert.match(text, /get a\x1b\[K\^C\r\n/);
    assert.deepEqual(rawModes, [true, false, true, false]);
  });
});

Deno.test("runShell() cancels only the running command on Ctrl-C", async () => {
  let interrupt = () => {};
  const interrupts: InterruptSource = {
    listen(listener) {
      interrupt = listener;
      return () => interrupt = () => {};
    },
  };
  await using server = startFakeServer({
    files: { "small.txt": enc("s") },
    handle: async (ctx, m) => {
      if (await answerCancel(ctx, m)) return true;
      if (m.type !== "get" || m.name !== "slow.bin") return false;
      await ctx.send({
        type: "get_ready",
        id: m.id,
        name: m.name,
        size: 1000,
        mtime: 1,
      });
      interrupt(); // the user presses Ctrl-C mid-transfer
      return true;
    },
  });
  await withShell(server, async ({ state, output, err, dir }) => {
    const input = lines("get slow.bin\nget small.txt\n");
    await runShell({ input, output, state, interactive: false, interrupts });
    await input.close();
    assert.equal(err.text(), 'Cannot get "slow.bin": cancelled\n');
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [
      "small.txt",
    ]);
  });
});

Deno.test("runShell() reconnects when the server closed the idle connection", async () => {
  await using server = startFakeServer({
    files: { "a.txt": enc("a") },
    handle: (ctx, m) => {
      if (m.type !== "mkdir") return false;
      ctx.conn.close(); // e.g. the server's idle timeout
      return true;
    },
  });
  await withShell(server, async ({ state, output, err }) => {
    const input = lines("mkdir x\nls\n");
    const status = await runShell({
      input,
      output,
      state,
      interactive: false,
      reconnect: () => openSession(`127.0.0.1:${server.port}`),
    });
    await input.close();
    assert.equal(status, 0);
    assert.match(
      err.text(),
      /^Cannot create folder "x": the connection to the server was lost\n/,
    );
    assert.match(err.text(), /Reconnected to 127\.0\.0\.1:\d+\.\n$/);
    assert.match(
      output.out instanceof Buffer ? output.out.text() : "",
      /a\.txt/,
    );
  });
});

Deno.test("runShell() ends when its signal aborts, even while waiting for a line", async () => {
  await using server = startFakeServer();
  await withShell(server, async ({ state, output }) => {
    const controller = new AbortController();
    const stdin = new ReadableStream<Uint8Array>(); // never sends anything
    const input = new PlainLineSource(stdin, new Buffer());
    const shell = runShell({
      input,
      output,
      state,
      interactive: false,
      signal: controller.signal,
    });
    controller.abort();
    assert.equal(await shell, 0);
    await input.close();
  });
});

Deno.test("runShell() on a terminal says how to reconnect when the server is not back yet, and the next command reconnects", async () => {
  await using server = startFakeServer({
    files: { "a.txt": enc("a") },
    handle: (ctx, m) => {
      if (m.type !== "mkdir") return false;
      ctx.conn.close();
      return true;
    },
  });
  await withShell(server, async ({ state, output, err }) => {
    const input = lines("mkdir x\nls\nls\n");
    let tries = 0;
    const status = await runShell({
      input,
      output,
      state,
      interactive: true,
      reconnect: () =>
        ++tries === 1
          ? Promise.reject(
            new FtsError(
              "io",
              "Cannot connect to 127.0.0.1:1: connection refused",
            ),
          )
          : openSession(`127.0.0.1:${server.port}`),
    });
    await input.close();
    assert.equal(status, 0);
    assert.equal(tries, 2);
    assert.match(
      err.text(),
      /\nCannot connect to 127\.0\.0\.1:1: connection refused \(the next command tries to reconnect; exit to leave\)\nReconnected to 127\.0\.0\.1:\d+\.\n$/,
    );
    assert.match(
      output.out instanceof Buffer ? output.out.text() : "",
      /a\.txt/,
    );
  });
});
