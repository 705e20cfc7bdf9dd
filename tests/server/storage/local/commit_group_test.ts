import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { LocalStorage } from "../../../../server/storage/local/local_storage.ts";
import {
  CommitGroups,
  type Durability,
} from "../../../../server/storage/local/commit_group.ts";
import { Folder } from "../../../../server/storage/local/rooted_paths.ts";
import { startTestServer } from "../../../_helpers/server/fixture.ts";
import { RecordingDurability } from "../../../_helpers/server/recording_durability.ts";
import { tempDir } from "../../../_helpers/common/temp_dir.ts";

const encoder = new TextEncoder();

Deno.test("serve replies PUT_DONE only once the file's data and its name in the folder are synced", async () => {
  await using root = await tempDir();
  const durability = new RecordingDurability();
  await using local = await LocalStorage.open(root.path, { durability });
  await local.mkdir("d");
  await using t = await startTestServer({ storage: local });
  await using c = await t.connect();
  const names = Array.from({ length: 24 }, (_, i) => `d/f${i}.txt`);
  const replies = await Promise.all(names.map(async (name) => {
    const reply = await c.put(name, encoder.encode(`content of ${name}`));
    // Checked as the reply arrives, before any later sync can help.
    const durable = reply.type === "put_done" &&
      durability.isDurable(join(root.path, "d"), reply.name.slice(2));
    return { reply, durable };
  }));
  for (const { reply, durable } of replies) {
    assert.equal(reply.type, "put_done");
    assert.ok(durable, `${JSON.stringify(reply)} was not durable yet`);
  }
  assert.equal(durability.fileSyncs, names.length);
  // Files committed together share one sync of their folder.
  assert.ok(
    durability.folderSyncs < names.length,
    `${durability.folderSyncs} folder syncs for ${names.length} files`,
  );
});

Deno.test("serve commits many small uploads in flight, and one whose sync fails fails alone", async () => {
  await using root = await tempDir();
  const durability = new RecordingDurability();
  durability.failSize = 99;
  await using local = await LocalStorage.open(root.path, { durability });
  await using t = await startTestServer({ storage: local });
  await using c = await t.connect();
  const files = Array.from({ length: 30 }, (_, i) => ({
    name: `f${i}.bin`,
    data: encoder.encode(i === 17 ? "x".repeat(99) : `file number ${i}`),
  }));
  const replies = await Promise.all(files.map((f) => c.put(f.name, f.data)));
  for (const [i, f] of files.entries()) {
    const reply = replies[i]!;
    if (i === 17) {
      assert.equal(reply.type, "error");
      assert.equal(reply.type === "error" && reply.code, "io");
      assert.throws(() => Deno.lstatSync(join(root.path, f.name)));
    } else {
      assert.equal(reply.type, "put_done", JSON.stringify(reply));
      assert.deepEqual(Deno.readFileSync(join(root.path, f.name)), f.data);
    }
  }
  assert.deepEqual([...Deno.readDirSync(join(root.path, ".fts/partial"))], []);
});

Deno.test("CommitGroups places nothing before its data is synced and resolves nothing before its folder is", async () => {
  await using root = await tempDir();
  using folder = new Folder(
    fs.openSync(root.path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY),
  );
  const fileGate = Promise.withResolvers<void>();
  const folderGate = Promise.withResolvers<void>();
  const folderCalled = Promise.withResolvers<void>();
  const log: string[] = [];
  const durability: Durability = {
    async syncFile() {
      log.push("sync file");
      await fileGate.promise;
    },
    async syncFolder() {
      log.push("sync folder");
      folderCalled.resolve();
      await folderGate.promise;
    },
  };
  const groups = new CommitGroups(durability);
  let resolved = 0;
  const commits = Array.from({ length: 5 }, (_, i) => {
    const file = Deno.openSync(join(root.path, `part${i}`), {
      write: true,
      create: true,
    });
    return groups.commit(file, () => {
      log.push(`place ${i}`);
      file.close();
      return { folder: folder.borrow(), [Symbol.dispose]() {} };
    }).then(() => resolved++);
  });
  // The first commit started a group alone; the others wait for the next.
  assert.deepEqual(log, ["sync file"]);
  fileGate.resolve();
  await folderCalled.promise;
  assert.deepEqual(log, ["sync file", "place 0", "sync folder"]);
  assert.equal(resolved, 0);
  folderGate.resolve();
  await Promise.all(commits);
  assert.deepEqual(log, [
    "sync file",
    "place 0",
    "sync folder",
    "sync file",
    "sync file",
    "sync file",
    "sync file",
    "place 1",
    "place 2",
    "place 3",
    "place 4",
    "sync folder",
  ]);
});
