/**
 * `fts connect` as a subprocess (`deno run -A main.ts connect …`) against the
 * real server started in-process over TLS, its identity already pinned in
 * a temporary config folder: exit codes and the one-line errors.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../_helpers/common/temp_dir.ts";
import { hostKey, KnownHosts } from "../../client/connect/known_hosts.ts";
import { startServer } from "../../server/server.ts";
import {
  loadOrCreateIdentity,
  type TlsIdentity,
} from "../../server/tls/tls_identity.ts";
import {
  stallingGets,
  startFakeServer,
} from "../_helpers/client/fake_server.ts";
import {
  runFts,
  type RunOptions,
  type RunResult,
  spawnFts,
} from "../_helpers/e2e/fts_process.ts";

interface FtsOptions {
  cwd?: string;
  stdin?: string;
  /** FTS_CONFIG_DIR of the client: never the real home's. */
  config: string;
}

/** `fts connect ARGS…` as a subprocess with its own config folder. */
function spawnConnect(args: string[], options: FtsOptions) {
  return spawnFts(["connect", ...args], runOptions(options));
}

function runOptions(options: FtsOptions): RunOptions {
  return {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
    env: { FTS_CONFIG_DIR: options.config },
  };
}

/** One server identity for the whole file, made by the first test that asks. */
let identity: Promise<TlsIdentity> | null = null;
function serverIdentity(): Promise<TlsIdentity> {
  identity ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "fts_e2e_identity_" });
    try {
      return await loadOrCreateIdentity(dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return identity;
}

async function withConfig(run: (config: string) => Promise<void>) {
  const config = await Deno.makeTempDir({ prefix: "fts_e2e_config_" });
  try {
    await run(config);
  } finally {
    await Deno.remove(config, { recursive: true });
  }
}

function fts(args: string[], options: FtsOptions): Promise<RunResult> {
  return runFts(["connect", ...args], runOptions(options));
}

async function withServer(
  run: (
    ctx: { port: number; root: string; local: string; config: string },
  ) => Promise<void>,
) {
  const root = await Deno.realPath(await Deno.makeTempDir());
  const local = await Deno.realPath(await Deno.makeTempDir());
  const config = await Deno.makeTempDir({ prefix: "fts_e2e_config_" });
  try {
    const tls = await serverIdentity();
    await using server = await startServer({
      root,
      host: "127.0.0.1",
      port: 0,
      tls,
    });
    // Known already, so no first-contact note clutters stderr.
    await new KnownHosts(join(config, "known_hosts")).add(
      hostKey("127.0.0.1", server.addr.port),
      tls.fingerprint,
    );
    await run({ port: server.addr.port, root, local, config });
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(local, { recursive: true });
    await Deno.remove(config, { recursive: true });
  }
}

Deno.test("fts connect: a missing file is one line on stderr and exit 1", async () => {
  await withServer(async ({ port, local, config }) => {
    const result = await fts([`127.0.0.1:${port}`, "get", "x.txt"], {
      cwd: local,
      config,
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
  await withConfig(async (config) => {
    const result = await fts([`127.0.0.1:${port}`, "ls"], { config });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `fts: Cannot connect to 127.0.0.1:${port}: connection refused\n`,
    );
  });
});

Deno.test("fts connect: a bad command is one line on stderr and exit 2", async () => {
  await withServer(async ({ port, config }) => {
    const result = await fts([`127.0.0.1:${port}`, "frobnicate", "x"], {
      config,
    });
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      'fts: Unknown command "frobnicate" (type "help" for the list)\n',
    );
    const usage = await fts([], { config });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^fts: Missing HOST\[:PORT\]/);
  });
});

Deno.test("fts connect: put and get one file each, exit 0", async () => {
  await withServer(async ({ port, root, local, config }) => {
    await Deno.writeTextFile(join(local, "my notes.txt"), "notes");
    const put = await fts([`127.0.0.1:${port}`, "put", "my notes.txt"], {
      cwd: local,
      config,
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
    ], { config });
    assert.deepEqual(get, { code: 0, stdout: "", stderr: "" });
    assert.equal(await Deno.readTextFile(join(into, "my notes.txt")), "notes");
  });
});

Deno.test("fts connect --batch - stops at the first failure", async () => {
  await withServer(async ({ port, root, local, config }) => {
    await Deno.writeTextFile(join(local, "a.txt"), "a");
    const result = await fts([`127.0.0.1:${port}`, "--batch", "-"], {
      cwd: local,
      config,
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

/**
 * Runs `fts connect … get slow.bin` against a server that stalls it, sends
 * SIGINT once the download has started (a second time once the server saw
 * the CANCEL, when `copies` is 2, as a launcher forwarding the terminal's
 * press does), and returns the exit code and stderr. Asserts that no file
 * is left in the local folder.
 */
async function interruptedGet(
  copies: 1 | 2,
): Promise<{ code: number; stderr: string; port: number }> {
  const stall = stallingGets({ size: 1 << 30, first: new Uint8Array(4096) });
  await using server = startFakeServer({ handle: stall.handle });
  await using local = await tempDir();
  // The fake server speaks plain TCP.
  const child = spawnConnect(
    ["--no-tls", `127.0.0.1:${server.port}`, "get", "slow.bin"],
    { cwd: local.path, config: local.path },
  );
  await stall.arrived;
  child.kill("SIGINT");
  if (copies === 2) {
    // The copy is sent once the first was handled (the kernel would merge
    // two pending ones).
    await stall.cancelled;
    child.kill("SIGINT");
  }
  const { code, stderr } = await child.output();
  assert.deepEqual([...Deno.readDirSync(local.path)], [], "no partial file");
  return { code, stderr: new TextDecoder().decode(stderr), port: server.port };
}

Deno.test("fts connect: Ctrl-C during a download cancels it and leaves no file", async () => {
  const { code, stderr, port } = await interruptedGet(1);
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `fts: warning: the connection to 127.0.0.1:${port} is not encrypted (--no-tls): anyone on the network can read and change it\n` +
      'fts: Cannot get "slow.bin": cancelled\n',
  );
});

Deno.test("fts connect: one Ctrl-C delivered twice by a launcher cancels the download once and leaves no file", async () => {
  const { code, stderr } = await interruptedGet(2);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /\nfts: Cannot get "slow\.bin": cancelled\n$/);
});

Deno.test("fts connect: the next run removes the temporary file of a client killed mid-download", async () => {
  const stall = stallingGets({
    size: 1 << 30,
    first: new Uint8Array(4096),
    only: "slow.bin",
  });
  await using server = startFakeServer({
    files: { "a.txt": new TextEncoder().encode("a") },
    handle: stall.handle,
  });
  const local = await Deno.makeTempDir();
  try {
    const target = `127.0.0.1:${server.port}`;
    const child = spawnConnect(["--no-tls", target, "get", "slow.bin"], {
      cwd: local,
      config: local,
    });
    await stall.arrived;
    child.kill("SIGKILL");
    await child.output();
    const left = [...Deno.readDirSync(local)].map((e) => e.name);
    assert.equal(left.length, 1);
    assert.match(left[0]!, /^\.fts-[0-9a-f]{16}\.part$/);
    const next = await runFts(
      ["connect", "--no-tls", target, "ls"],
      runOptions({ cwd: local, config: local }),
    );
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual([...Deno.readDirSync(local)], [], "reclaimed");
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

/** Whether this test run may mount file systems (root on Linux). */
const CAN_MOUNT = Deno.build.os === "linux" && Deno.uid() === 0;

Deno.test({
  name:
    "fts connect: a full local disk during get is one line, exit 1, and leaves no partial file",
  ignore: !CAN_MOUNT,
  async fn() {
    await using server = startFakeServer({
      files: { "big.bin": new Uint8Array(4 * 1024 * 1024).fill(7) },
    });
    const config = await Deno.makeTempDir();
    const disk = await Deno.makeTempDir();
    const mount = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=1m", "tmpfs", disk],
    }).output();
    assert.equal(mount.code, 0, new TextDecoder().decode(mount.stderr));
    try {
      const result = await runFts(
        ["connect", "--no-tls", `127.0.0.1:${server.port}`, "get", "big.bin"],
        runOptions({ cwd: disk, config }),
      );
      assert.equal(result.code, 1, result.stderr);
      assert.equal(
        result.stderr.replace(/^fts: warning: .*\n/, ""),
        'fts: Cannot get "big.bin": no space left on the local disk\n',
      );
      assert.deepEqual([...Deno.readDirSync(disk)], [], "no partial file");
    } finally {
      await new Deno.Command("umount", { args: [disk] }).output();
      await Deno.remove(disk, { recursive: true });
      await Deno.remove(config, { recursive: true });
    }
  },
});

Deno.test("fts connect get NAME - writes the file to standard output and nothing else", async () => {
  const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
  await using server = startFakeServer({ files: { "a.bin": bytes } });
  const local = await Deno.makeTempDir();
  try {
    const child = spawnConnect(
      ["--no-tls", `127.0.0.1:${server.port}`, "get", "a.bin", "-"],
      { cwd: local, config: local },
    );
    const { code, stdout, stderr } = await child.output();
    const errText = new TextDecoder().decode(stderr);
    assert.equal(code, 0, errText);
    assert.deepEqual(stdout, bytes);
    assert.equal(errText.replace(/^fts: warning: .*\n/, ""), "");
    assert.deepEqual([...Deno.readDirSync(local)], [], "no file saved");
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("fts connect put - NAME uploads standard input", async () => {
  await using server = startFakeServer();
  const local = await Deno.makeTempDir();
  try {
    const result = await runFts(
      ["connect", "--no-tls", `127.0.0.1:${server.port}`, "put", "-", "in.txt"],
      runOptions({ cwd: local, config: local, stdin: "from a pipe\n" }),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.equal(
      new TextDecoder().decode(server.files.get("in.txt")?.bytes),
      "from a pipe\n",
    );
    assert.deepEqual([...Deno.readDirSync(local)], []);
  } finally {
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test({
  name:
    "fts connect get into a device node writes into it and never replaces it, with or without --overwrite",
  ignore: !CAN_MOUNT,
  async fn() {
    await using server = startFakeServer({
      files: { "a.txt": new TextEncoder().encode("hello") },
    });
    const local = await Deno.makeTempDir();
    try {
      const device = join(local, "null");
      const made = await new Deno.Command("mknod", {
        args: [device, "c", "1", "3"],
      }).output();
      assert.equal(made.code, 0);
      for (const flags of [[], ["--overwrite"]]) {
        const result = await runFts(
          [
            "connect",
            "--no-tls",
            `127.0.0.1:${server.port}`,
            "get",
            ...flags,
            "a.txt",
            device,
          ],
          runOptions({ cwd: local, config: local }),
        );
        assert.equal(result.code, 0, result.stderr);
        assert.ok(Deno.lstatSync(device).isCharDevice, "still the device");
        assert.deepEqual(
          [...Deno.readDirSync(local)].map((e) => e.name).filter((n) =>
            n !== "known_hosts"
          ),
          ["null"],
        );
      }
      const names = [...Deno.readDirSync(local)].map((e) => e.name);
      assert.ok(!names.some((n) => n.includes("(1)")), names.join(", "));
    } finally {
      await Deno.remove(local, { recursive: true });
    }
  },
});

Deno.test("fts connect HOST put -r photos/ uploads the folder; get -r --dir brings it back; a failure exits 1", async () => {
  await withServer(async ({ port, root, local, config }) => {
    await Deno.mkdir(join(local, "photos/2024"), { recursive: true });
    await Deno.mkdir(join(local, "photos/empty"));
    await Deno.writeTextFile(join(local, "photos/2024/a b.jpg"), "ab");
    await Deno.writeTextFile(join(local, "photos/c.tmp"), "c");
    const put = await fts(
      [`127.0.0.1:${port}`, "put", "-r", "--exclude", "*.tmp", "photos/"],
      { cwd: local, config },
    );
    assert.deepEqual(put, {
      code: 0,
      stdout: "Uploaded 1 file in 3 folders (2 B) in " +
        put.stdout.split(" in ").at(-1),
      stderr: "",
    });
    assert.equal(
      await Deno.readTextFile(join(root, "photos/2024/a b.jpg")),
      "ab",
    );
    assert.ok((await Deno.stat(join(root, "photos/empty"))).isDirectory);
    await assert.rejects(Deno.stat(join(root, "photos/c.tmp")));
    // Run again: the identical file is skipped, and the summary says so.
    const again = await fts(
      [`127.0.0.1:${port}`, "put", "-r", "--exclude", "*.tmp", "photos/"],
      { cwd: local, config },
    );
    assert.deepEqual(again, {
      code: 0,
      stdout: "Uploaded 0 files in 3 folders (0 B) in " +
        again.stdout.split(" in ").at(-1)!.split(";")[0] +
        "; 1 identical skipped (2 B)\n",
      stderr: "",
    });
    const back = join(local, "back");
    await Deno.mkdir(back);
    const get = await fts(
      [`127.0.0.1:${port}`, "--dir", back, "-q", "get", "-r", "photos"],
      { config },
    );
    assert.deepEqual(get, { code: 0, stdout: "", stderr: "" });
    assert.equal(
      await Deno.readTextFile(join(back, "photos/2024/a b.jpg")),
      "ab",
    );
    // A local file where the copy needs folder "2024": that folder fails.
    await Deno.mkdir(join(local, "again/photos"), { recursive: true });
    await Deno.writeTextFile(join(local, "again/photos/2024"), "file");
    const failed = await fts(
      [`127.0.0.1:${port}`, "-q", "get", "-r", "photos", "again"],
      { cwd: local, config },
    );
    assert.deepEqual(failed, {
      code: 1,
      stdout: "",
      stderr: 'Cannot get "photos/2024": the local "2024" is not a folder\n' +
        'fts: Cannot get "photos": 1 of its files and folders failed\n',
    });
    assert.ok((await Deno.stat(join(local, "again/photos/empty"))).isDirectory);
  });
});
