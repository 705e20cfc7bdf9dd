import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../../../server/storage/local/local_storage.ts";
import type { Clock } from "../../../../common/clock.ts";
import {
  listAll,
  put,
  read,
  rejects,
  storageContract,
} from "../storage_contract.ts";
import { FtsProcess } from "../../../_helpers/e2e/fts_process.ts";
import { RawClient } from "../../../_helpers/server/raw_client.ts";
import { raceSymlinkSwap } from "../../../_helpers/server/symlink_race.ts";

storageContract("LocalStorage", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  const storage = await LocalStorage.open(root);
  return {
    storage,
    async [Symbol.asyncDispose]() {
      await storage[Symbol.asyncDispose]();
      await Deno.remove(root, { recursive: true });
    },
  };
});

/** A temp folder holding `root/` (the storage) and `outside/secret.txt`. */
async function withEscapeSetup(
  fn: (
    s: LocalStorage,
    paths: { root: string; outside: string; secret: string },
  ) => Promise<void>,
): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "fts_escape_" });
  try {
    const root = join(base, "root");
    const outside = join(base, "outside");
    await Deno.mkdir(outside);
    const secret = join(outside, "secret.txt");
    await Deno.writeTextFile(secret, "top secret");
    await using s = await LocalStorage.open(root);
    await Deno.symlink(secret, join(root, "link_file"));
    await Deno.symlink(outside, join(root, "link_dir"));
    await Deno.symlink("/etc", join(root, "etc"));
    await Deno.symlink("../outside", join(root, "rel_dir"));
    await Deno.mkdir(join(root, "real"));
    await Deno.symlink(outside, join(root, "real", "deep_link"));
    await put(s, "plain.txt", "plain");
    await fn(s, { root, outside, secret });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

async function outsideNames(outside: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(outside)) names.push(e.name);
  return names.sort();
}

Deno.test("LocalStorage.list() never shows or enters symbolic links", async () => {
  await withEscapeSetup(async (s) => {
    assert.deepEqual((await listAll(s, "")).map((e) => e.name), [
      "plain.txt",
      "real",
    ]);
    assert.deepEqual(await listAll(s, "real"), []);
    for (const dir of ["link_dir", "etc", "rel_dir", "real/deep_link"]) {
      await rejects(listAll(s, dir), "permission_denied", dir);
    }
  });
});

Deno.test("LocalStorage.openRead() and stat() refuse links in any component", async () => {
  await withEscapeSetup(async (s) => {
    for (
      const name of [
        "link_file",
        "link_dir/secret.txt",
        "etc/passwd",
        "etc/hostname",
        "rel_dir/secret.txt",
        "real/deep_link/secret.txt",
      ]
    ) {
      await rejects(s.openRead(name), "permission_denied", name);
      await rejects(s.stat(name), "permission_denied", name);
    }
  });
});

Deno.test("LocalStorage.beginUpload() refuses to write through links", async () => {
  await withEscapeSetup(async (s, { outside, secret }) => {
    for (
      const name of [
        "link_dir/new.txt",
        "rel_dir/new.txt",
        "real/deep_link/new.txt",
        "link_file",
      ]
    ) {
      await rejects(s.beginUpload(name, 1), "permission_denied", name);
    }
    assert.deepEqual(await outsideNames(outside), ["secret.txt"]);
    assert.equal(await Deno.readTextFile(secret), "top secret");
  });
});

Deno.test("LocalStorage commit() refuses a folder swapped for a link mid-upload", async () => {
  await withEscapeSetup(async (s, { root, outside, secret }) => {
    await s.mkdir("d");
    for (const overwrite of [false, true]) {
      const up = await s.beginUpload("d/secret.txt", 4);
      await up.write(new TextEncoder().encode("evil"));
      await Deno.remove(join(root, "d"));
      await Deno.symlink(outside, join(root, "d"));
      await rejects(up.commit({ overwrite }), "permission_denied");
      await Deno.remove(join(root, "d"));
      await Deno.mkdir(join(root, "d"));
    }
    assert.deepEqual(await outsideNames(outside), ["secret.txt"]);
    assert.equal(await Deno.readTextFile(secret), "top secret");
    assert.deepEqual(await partials(root), []);
  });
});

Deno.test("LocalStorage.remove(), rename() and mkdir() refuse links", async () => {
  await withEscapeSetup(async (s, { root, outside, secret }) => {
    await rejects(s.remove("link_file"), "permission_denied");
    await rejects(s.remove("link_dir/secret.txt"), "permission_denied");
    await rejects(s.remove("etc"), "permission_denied");
    await rejects(s.remove("rel_dir"), "permission_denied");
    await rejects(
      s.rename("link_file", "mine.txt", { overwrite: false }),
      "permission_denied",
    );
    await rejects(
      s.rename("plain.txt", "link_dir/plain.txt", { overwrite: false }),
      "permission_denied",
    );
    await rejects(
      s.rename("plain.txt", "link_file", { overwrite: true }),
      "permission_denied",
    );
    await rejects(
      s.rename("link_dir/secret.txt", "stolen.txt", { overwrite: false }),
      "permission_denied",
    );
    await rejects(s.mkdir("link_dir/sub"), "permission_denied");
    await rejects(s.mkdir("rel_dir/sub"), "permission_denied");
    assert.deepEqual(await outsideNames(outside), ["secret.txt"]);
    assert.equal(await Deno.readTextFile(secret), "top secret");
    assert.ok((await Deno.lstat(join(root, "link_file"))).isSymlink);
    assert.equal(await read(s, "plain.txt"), "plain");
  });
});

Deno.test("LocalStorage refuses its state folder's names with invalid_name", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  try {
    await using s = await LocalStorage.open(root);
    for (const bad of [".fts", ".fts/partial/x.part", ".fts/lock"]) {
      await rejects(listAll(s, bad), "invalid_name", bad);
      await rejects(s.stat(bad), "invalid_name", bad);
      await rejects(s.openRead(bad), "invalid_name", bad);
      await rejects(s.beginUpload(bad, 1), "invalid_name", bad);
      await rejects(s.remove(bad), "invalid_name", bad);
      await rejects(s.mkdir(bad), "invalid_name", bad);
      await rejects(s.rename(bad, "x", { overwrite: true }), "invalid_name");
      await rejects(s.rename("x", bad, { overwrite: true }), "invalid_name");
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalStorage.open() makes .fts private and hides it", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  try {
    await using s = await LocalStorage.open(root);
    const info = await Deno.stat(join(root, ".fts"));
    assert.ok(info.isDirectory);
    assert.equal(info.mode! & 0o777, 0o700);
    assert.deepEqual(await listAll(s, ""), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalStorage.open() refuses a state folder that is a link", async () => {
  const base = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  try {
    await Deno.mkdir(join(base, "root"));
    await Deno.mkdir(join(base, "elsewhere"));
    await Deno.symlink(join(base, "elsewhere"), join(base, "root", ".fts"));
    await rejects(LocalStorage.open(join(base, "root")), "permission_denied");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("LocalStorage uploads leave no partial file after commit or abort", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  try {
    await using s = await LocalStorage.open(root);
    const up = await s.beginUpload("a", 1);
    assert.equal((await partials(root)).length, 1);
    await up.write(new Uint8Array([1]));
    await up.commit({ overwrite: false });
    await put(s, "a", "b");
    await put(s, "a", "c", { overwrite: true });
    const aborted = await s.beginUpload("b", 1);
    await aborted.abort();
    assert.deepEqual(await partials(root), []);
    assert.equal((await Deno.stat(join(root, "a"))).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalStorage.list() skips names that are not valid protocol names", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  try {
    await using s = await LocalStorage.open(root);
    await Deno.writeTextFile(join(root, "line\nbreak"), "x");
    await Deno.writeTextFile(join(root, "cafe\u0301"), "x"); // NFD on disk
    await Deno.writeTextFile(join(root, "fine"), "x");
    const fifo = join(root, "pipe");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(made.success);
    assert.deepEqual((await listAll(s, "")).map((e) => e.name), ["fine"]);
    await rejects(s.openRead("pipe"), "permission_denied");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

async function partials(root: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(join(root, ".fts", "partial"))) {
    names.push(e.name);
  }
  return names.sort();
}

Deno.test("LocalStorage never reads or writes outside the root while a folder is swapped with a link", async () => {
  // The 30 s version is tests/stress/symlink_race_test.ts.
  const report = await raceSymlinkSwap((root) => LocalStorage.open(root), 1500);
  assert.ok(report.swaps > 1000, `only ${report.swaps} swaps`);
  assert.equal(report.outsideReads, 0);
  assert.deepEqual(report.outsideChanges, []);
  assert.deepEqual(report.unexpected, []);
  for (const kind of ["read", "list", "upload"]) {
    assert.ok((report.done[kind] ?? 0) > 0, `no ${kind} succeeded`);
  }
});

const MIB = 1024 * 1024;

/** Asserts that uploads of up to `bytes` may start now, and no larger. */
async function assertFree(
  s: LocalStorage,
  bytes: number,
  label = "",
): Promise<void> {
  const fits = await s.beginUpload("probe", bytes);
  await fits.abort();
  await rejects(s.beginUpload("probe", bytes + 1), "no_space", label);
}

Deno.test("LocalStorage.beginUpload() refuses a declared size beyond the free space before creating anything", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  try {
    await using s = await LocalStorage.open(root, {
      freeSpace: () => 3 * MIB,
    });
    for (const size of [1e12, Number.MAX_SAFE_INTEGER, 3 * MIB + 1]) {
      await rejects(s.beginUpload("big.bin", size), "no_space", "big.bin");
    }
    assert.deepEqual(await partials(root), []);
    await using _fits = await s.beginUpload("fits.bin", 3 * MIB);
    assert.equal((await partials(root)).length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalStorage reserves a declared size until the upload ends, so two cannot share free bytes", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  try {
    // The disk's own figure: what is written is counted by the disk itself.
    let onDisk = 0;
    await using s = await LocalStorage.open(root, {
      freeSpace: () => 5 * MIB - onDisk,
    });
    const first = await s.beginUpload("a", 3 * MIB);
    await assertFree(s, 2 * MIB);
    await rejects(s.beginUpload("b", 3 * MIB), "no_space", "b");
    await first.write(new Uint8Array(MIB));
    onDisk = MIB;
    await assertFree(s, 2 * MIB, "written bytes are not counted twice");
    await first.abort();
    onDisk = 0;
    await assertFree(s, 5 * MIB);
    const second = await s.beginUpload("b", 3 * MIB);
    await second.write(new Uint8Array(3 * MIB));
    assert.equal(await second.commit({ overwrite: false }), "b");
    await assertFree(s, 5 * MIB, "released after commit");
    // Concurrent starts: only what fits is accepted.
    const sizes = [2 * MIB, 2 * MIB, 2 * MIB];
    const started = await Promise.allSettled(
      sizes.map((size, i) => s.beginUpload(`c${i}`, size)),
    );
    assert.deepEqual(started.map((r) => r.status), [
      "fulfilled",
      "fulfilled",
      "rejected",
    ]);
    for (const r of started) {
      if (r.status === "fulfilled") await r.value.abort();
    }
    assert.deepEqual(await partials(root), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalStorage.open() deletes every partial upload a previous run left, whatever its age", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  try {
    await (await LocalStorage.open(root))[Symbol.asyncDispose]();
    // What a server killed mid-upload leaves: young partial files.
    for (const name of ["a.part", "b.part"]) {
      await Deno.writeTextFile(join(root, ".fts", "partial", name), "cut");
    }
    await using s = await LocalStorage.open(root);
    assert.deepEqual(await partials(root), []);
    assert.deepEqual(await listAll(s, ""), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalStorage sweeps orphan partials from time to time and keeps those of running uploads", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  try {
    let now = Date.UTC(2030, 5, 1);
    const clock: Clock = {
      now: () => now,
      setTimeout: () => 0,
      clearTimeout: () => {},
    };
    await using s = await LocalStorage.open(root, {
      clock,
      sweepEveryMs: 60_000,
    });
    await using running = await s.beginUpload("running.bin", 10);
    const orphan = join(root, ".fts", "partial", "orphan.part");
    await Deno.writeTextFile(orphan, "left by a failed clean-up");
    now += 30_000;
    await (await s.beginUpload("early.bin", 1)).abort();
    assert.equal((await partials(root)).length, 2, "not due yet");
    now += 31_000;
    await using _late = await s.beginUpload("late.bin", 1);
    const left = await partials(root);
    assert.equal(left.length, 2);
    assert.ok(!left.includes("orphan.part"));
    await running.write(new Uint8Array(10));
    assert.equal(await running.commit({ overwrite: false }), "running.bin");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalStorage.open() refuses a root another server is using", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  try {
    const first = await LocalStorage.open(root);
    await rejects(LocalStorage.open(root), "busy");
    await first[Symbol.asyncDispose]();
    await using again = await LocalStorage.open(root);
    assert.deepEqual(await listAll(again, ""), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalStorage disposal aborts uploads in flight and refuses later requests", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  try {
    const s = await LocalStorage.open(root);
    const up = await s.beginUpload("a", 4);
    await up.write(new Uint8Array(4));
    await s[Symbol.asyncDispose]();
    assert.deepEqual(await partials(root), []);
    await rejects(up.commit({ overwrite: false }), "cancelled");
    await rejects(s.stat("a"), "io");
    await rejects(listAll(s, ""), "io");
    await rejects(s.beginUpload("b", 1), "io");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fts serve refuses a second server on its root and, restarted after a kill, removes the cut uploads", async () => {
  const root = await Deno.makeTempDir({ prefix: "fts_local_storage_" });
  const serve = () =>
    new FtsProcess(["serve", "--no-tls", "--port", "0", "--root", root]);
  try {
    {
      await using first = serve();
      const port = await first.port();
      await using c = await RawClient.connect({ hostname: "127.0.0.1", port });
      for (const id of [1, 2]) {
        await c.beginPut(id, `cut${id}.bin`, {
          size: 4 * MIB,
          first: new Uint8Array(MIB),
        });
        assert.equal((await c.reply(id))?.type, "put_ready");
      }
      assert.equal((await partials(root)).length, 2);
      await using second = serve();
      const listening = second.port().then(() => true, () => false);
      assert.equal(await listening, false, "a second server started");
      const refused = await second.exit();
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /another fts server is using it/);
      first.child.kill("SIGKILL");
      await first.exit();
    }
    assert.equal((await partials(root)).length, 2);
    await using again = serve();
    await again.port();
    assert.deepEqual(await partials(root), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
