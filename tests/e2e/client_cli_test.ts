/**
 * `fts connect` as a subprocess (`deno run -A main.ts connect …`) against the
 * real server started in-process: exit codes and the one-line errors.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer } from "../../server/server.ts";
import { startFakeServer } from "../_helpers/client_fake_server.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function spawnFts(
  args: string[],
  options: { cwd?: string; stdin?: string } = {},
) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "connect", ...args],
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

async function fts(
  args: string[],
  options: { cwd?: string; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawnFts(args, options);
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

async function withServer(
  run: (ctx: { port: number; root: string; local: string }) => Promise<void>,
) {
  const root = await Deno.realPath(await Deno.makeTempDir());
  const local = await Deno.realPath(await Deno.makeTempDir());
  try {
    await using server = await startServer({
      root,
      host: "127.0.0.1",
      port: 0,
    });
    await run({ port: server.addr.port, root, local });
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(local, { recursive: true });
  }
}

Deno.test("fts connect: a missing file is one line on stderr and exit 1", async () => {
  await withServer(async ({ port, local }) => {
    const result = await fts([`127.0.0.1:${port}`, "get", "x.txt"], {
      cwd: local,
    });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      'fts: Cannot get "x.txt": no such file on the server\n',
    );
    assert.equal(result.stdout, "");
  });
});

Deno.test("fts connect: a refused connection is one line on stderr and exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await fts([`127.0.0.1:${port}`, "ls"]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    `fts: Cannot connect to 127.0.0.1:${port}: connection refused\n`,
  );
});

Deno.test("fts connect: a bad command is one line on stderr and exit 2", async () => {
  await withServer(async ({ port }) => {
    const result = await fts([`127.0.0.1:${port}`, "frobnicate", "x"]);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      'fts: Unknown command "frobnicate" (type "help" for the list)\n',
    );
    const usage = await fts([]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^fts: Missing HOST\[:PORT\]/);
  });
});

Deno.test("fts connect: put and get one file each, exit 0", async () => {
  await withServer(async ({ port, root, local }) => {
    await Deno.writeTextFile(join(local, "my notes.txt"), "notes");
    const put = await fts([`127.0.0.1:${port}`, "put", "my notes.txt"], {
      cwd: local,
    });
    assert.deepEqual(put, { code: 0, stdout: "", stderr: "" });
    assert.equal(await Deno.readTextFile(join(root, "my notes.txt")), "notes");
    const into = join(local, "into");
    await Deno.mkdir(into);
    const get = await fts([
      `127.0.0.1:${port}`,
      "--dir",
      into,
      "get",
      "my notes.txt",
    ]);
    assert.deepEqual(get, { code: 0, stdout: "", stderr: "" });
    assert.equal(await Deno.readTextFile(join(into, "my notes.txt")), "notes");
  });
});

Deno.test("fts connect --batch - stops at the first failure", async () => {
  await withServer(async ({ port, root, local }) => {
    await Deno.writeTextFile(join(local, "a.txt"), "a");
    const result = await fts([`127.0.0.1:${port}`, "--batch", "-"], {
      cwd: local,
      stdin:
        "# upload, then fail, then never\nput a.txt\nrm missing.txt\nmkdir never\n",
    });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      'fts: stdin:3: Cannot delete "missing.txt": no such file on the server\n',
    );
    assert.equal(await Deno.readTextFile(join(root, "a.txt")), "a");
    assert.deepEqual(
      [...Deno.readDirSync(root)].map((e) => e.name).filter((n) =>
        n === "never"
      ),
      [],
    );
  });
});

Deno.test("fts connect: Ctrl-C during a download cancels it and leaves no file", async () => {
  let getArrived!: () => void;
  const arrived = new Promise<void>((resolve) => getArrived = resolve);
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (m.type === "cancel") {
        await ctx.send({
          type: "error",
          id: m.id,
          code: "cancelled",
          message: "Cancelled",
        });
        return true;
      }
      if (m.type !== "get") return false;
      await ctx.send({
        type: "get_ready",
        id: m.id,
        name: m.name,
        size: 1 << 30,
        mtime: 1,
      });
      await ctx.send({
        type: "data",
        id: m.id,
        offset: 0,
        bytes: new Uint8Array(4096),
        zstd: false,
      });
      getArrived(); // then nothing more: a stalled transfer
      return true;
    },
  });
  const local = await Deno.makeTempDir();
  try {
    const child = spawnFts([`127.0.0.1:${server.port}`, "get", "slow.bin"], {
      cwd: local,
    });
    await arrived;
    child.kill("SIGINT");
    const { code, stderr } = await child.output();
    assert.equal(code, 1);
    assert.equal(
      new TextDecoder().decode(stderr),
      'fts: Cannot get "slow.bin": cancelled\n',
    );
    assert.deepEqual(
      [...Deno.readDirSync(local)],
      [],
      "the temporary file is gone",
    );
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});
