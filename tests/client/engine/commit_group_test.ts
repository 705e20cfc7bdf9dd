/**
 * Downloads become visible in groups, each file only once synced: files
 * of a batch are synced together, then named, then their folders synced
 * once per group, and a file is reported saved only after that; one
 * file's failure in a group leaves the others committed; many small files
 * arrive byte for byte.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CommitGroup } from "../../../client/engine/commit_group.ts";
import { createTempFile } from "../../../client/engine/local_files.ts";
import { openSession } from "../../../client/engine/session.ts";
import { FtsError } from "../../../protocol/errors.ts";
import { startServer } from "../../../server/server.ts";
import { memoryTempDir } from "../../_helpers/common/temp_dir.ts";
import {
  type DiskEvent,
  recordingDisk,
} from "../../_helpers/client/recording_disk.ts";

/** A server over a fresh root in memory, and a fresh local folder. */
async function served(
  run: (root: string, local: string, port: number) => Promise<void>,
): Promise<void> {
  await using rootDir = await memoryTempDir();
  await using localDir = await memoryTempDir();
  await using server = await startServer({
    root: rootDir.path,
    host: "127.0.0.1",
    port: 0,
  });
  await run(rootDir.path, localDir.path, server.addr.port);
}

/** Writes `count` files of a few hundred random bytes in each of `folders`. */
function writeSmallFiles(
  root: string,
  folders: readonly string[],
  count: number,
): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const folder of folders) {
    Deno.mkdirSync(join(root, folder), { recursive: true });
    for (let i = 0; i < count; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(100 + i * 7));
      Deno.writeFileSync(join(root, folder, `f${i}.bin`), bytes);
      files.set(`${folder}/f${i}.bin`, bytes);
    }
  }
  return files;
}

/**
 * Checks that a group's folders are synced once each: after the files of a
 * group get their names, each folder holding one of them is synced exactly
 * once before the next group names anything, and no other folder is. How
 * many files a group holds depends on how fast they arrive, so that is not
 * checked.
 */
function checkOneFolderSyncPerGroup(events: readonly DiskEvent[]): void {
  let named = new Set<string>(); // folders of the group being named
  let synced = new Set<string>(); // folders the group has synced
  for (const event of events) {
    if (event.call === "nameFile") {
      if (synced.size > 0) {
        assert.deepEqual(synced, named, "folders synced for the last group");
        named = new Set();
        synced = new Set();
      }
      named.add(event.path.slice(0, event.path.lastIndexOf("/")));
    }
    if (event.call === "syncFolder") {
      assert.ok(!synced.has(event.dir), `${event.dir} synced twice in a group`);
      assert.ok(named.has(event.dir), `${event.dir} synced with nothing named`);
      synced.add(event.dir);
    }
  }
  assert.deepEqual(synced, named, "folders synced for the last group");
}

/**
 * Checks that every named file was synced before it got its name, and
 * returns the index of the folder sync that made each path durable.
 */
function checkOrder(events: readonly DiskEvent[]): Map<string, number> {
  const synced = new Set<string>();
  const pending = new Map<string, string[]>(); // folder → named paths
  const durableAt = new Map<string, number>();
  events.forEach((event, i) => {
    if (event.call === "syncFile") synced.add(event.part);
    if (event.call === "nameFile") {
      assert.ok(synced.has(event.part), `${event.path} named before synced`);
      const dir = event.path.slice(0, event.path.lastIndexOf("/"));
      pending.set(dir, [...(pending.get(dir) ?? []), event.path]);
    }
    if (event.call === "syncFolder") {
      for (const path of pending.get(event.dir) ?? []) durableAt.set(path, i);
      pending.delete(event.dir);
    }
  });
  assert.deepEqual(
    [...pending.keys()],
    [],
    "named files whose folder was never synced",
  );
  return durableAt;
}

Deno.test("getMany() names no file before it is synced, syncs each folder once per group and reports a file only once its folder is synced", async () => {
  await served(async (root, local, port) => {
    const files = writeSmallFiles(root, ["a", "b"], 100);
    const disk = recordingDisk();
    await using session = await openSession(`127.0.0.1:${port}`, {
      localDisk: disk,
    });
    const items = [...files.keys()].map((remoteName) => ({ remoteName }));
    const reportedAt: number[] = [];
    const results = await session.getMany(items, local, {
      onItem: (index) => reportedAt[index] = disk.events.length,
    });
    assert.ok(results.every((r) => r.ok));
    const durableAt = checkOrder(disk.events);
    assert.equal(durableAt.size, 200);
    results.forEach((result, i) => {
      assert.ok(result.ok);
      const at = durableAt.get(result.value.path);
      assert.ok(at !== undefined && at < reportedAt[i]!, result.value.path);
    });
    checkOneFolderSyncPerGroup(disk.events);
  });
});

Deno.test("getTree() of many small files arrives byte for byte, synced in groups", async () => {
  await served(async (root, local, port) => {
    const folders = Array.from({ length: 6 }, (_, i) => `t/d${i % 3}/e${i}`);
    const files = writeSmallFiles(root, folders, 100);
    const disk = recordingDisk();
    await using session = await openSession(`127.0.0.1:${port}`, {
      localDisk: disk,
    });
    const summary = await session.getTree("t", join(local, "t"));
    assert.equal(summary.failed, 0, String(summary.failures[0]));
    assert.equal(summary.files, 600);
    for (const [name, bytes] of files) {
      assert.deepEqual(Deno.readFileSync(join(local, name)), bytes, name);
    }
    assert.equal(checkOrder(disk.events).size, 600);
    checkOneFolderSyncPerGroup(disk.events);
  });
});

Deno.test("getMany() commits the other files when one file's sync fails, and leaves no part file", async () => {
  await served(async (root, local, port) => {
    const files = writeSmallFiles(root, ["a"], 10);
    const disk = recordingDisk((index) => index === 3);
    await using session = await openSession(`127.0.0.1:${port}`, {
      localDisk: disk,
    });
    const items = [...files.keys()].map((remoteName) => ({ remoteName }));
    const results = await session.getMany(items, local);
    const failed = results.filter((r) => !r.ok);
    assert.equal(failed.length, 1);
    const error = (failed[0] as { error: unknown }).error;
    assert.ok(error instanceof FtsError);
    assert.match(error.message, /^Cannot get "a\/f\d\.bin": /);
    const saved = [...Deno.readDirSync(join(local, "a"))].map((e) => e.name);
    assert.equal(saved.length, 9, saved.join(", "));
    assert.ok(saved.every((name) => /^f\d\.bin$/.test(name)), saved.join());
    for (const result of results) {
      if (!result.ok) continue;
      const name = `a/${
        result.value.path.slice(result.value.path.lastIndexOf("/") + 1)
      }`;
      assert.deepEqual(Deno.readFileSync(result.value.path), files.get(name));
    }
  });
});

Deno.test("CommitGroup names the other files of a group whose one file fails to sync, and removes that part file", async () => {
  await using localDir = await memoryTempDir();
  const dir = localDir.path;
  const disk = recordingDisk((index) => index === 1);
  const group = new CommitGroup(disk, { files: 3 });
  const parts = ["a", "b", "c"].map((base) => {
    const temp = createTempFile(dir);
    temp.file.writeSync(new TextEncoder().encode(base));
    return { temp, base };
  });
  const [a, b, c] = parts.map(({ temp, base }) =>
    group.add({
      file: temp.file,
      tempPath: temp.path,
      target: { dir, base },
      overwrite: false,
      size: 1,
    })
  );
  // The third file filled the group: it is committed without a flush().
  assert.equal(await a, join(dir, "a"));
  await assert.rejects(b!, Deno.errors.PermissionDenied);
  assert.equal(await c, join(dir, "c"));
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    "a",
    "c",
  ]);
  assert.deepEqual(disk.events.map((e) => e.call), [
    "syncFile",
    "syncFile",
    "nameFile",
    "nameFile",
    "syncFolder",
  ]);
});
