import assert from "node:assert/strict";
import { join } from "node:path";
import { openSession } from "../../client/engine/session.ts";
import { FtsError } from "../../protocol/errors.ts";
import { LocalStorage } from "../../server/storage/local/local_storage.ts";
import { delegatingStorage } from "../_helpers/server/delegating_storage.ts";
import { startTestServer } from "../_helpers/server/fixture.ts";
import { tempDir } from "../_helpers/common/temp_dir.ts";

const MiB = 1024 * 1024;

Deno.test("e2e: a batch where the server refuses a large file whose data already went stores every other file", async () => {
  await using root = await tempDir();
  await using local = await LocalStorage.open(root.path);
  const storage = delegatingStorage(local, {
    beginUpload(name, size) {
      if (name === "bad.bin") {
        return Promise.reject(new FtsError("no_space", "No space left"));
      }
      return local.beginUpload(name, size);
    },
  });
  await using t = await startTestServer({ storage });
  await using src = await tempDir();
  const files: [string, number][] = [
    ["s0.txt", 10],
    ["bad.bin", 3 * MiB + 7],
    ["s1.txt", 4096],
    ["s2.txt", 0],
    ["big.bin", 5 * MiB + 1],
    ["s3.txt", 300_000],
  ];
  const items = [];
  for (const [i, [name, size]] of files.entries()) {
    const data = new Uint8Array(size).fill(i + 1);
    await Deno.writeFile(join(src.path, name), data);
    items.push({ localPath: join(src.path, name), remoteName: name });
  }
  await using session = await openSession({
    hostname: "127.0.0.1",
    port: t.server.addr.port,
  });
  const results = await session.putMany(items);
  assert.deepEqual(results.map((r) => r.ok), [
    true,
    false,
    ...[true, true, true, true],
  ]);
  const refused = results[1];
  assert.ok(refused && !refused.ok && refused.error instanceof FtsError);
  assert.equal(refused.error.code, "no_space");
  for (const [i, [name, size]] of files.entries()) {
    if (name === "bad.bin") continue;
    const stored = await Deno.readFile(join(root.path, name));
    assert.deepEqual(stored, new Uint8Array(size).fill(i + 1), name);
  }
  assert.deepEqual(await t.visible(), [
    "big.bin",
    "s0.txt",
    "s1.txt",
    "s2.txt",
    "s3.txt",
  ]);
  // The session is still in order: one more file goes up.
  await session.put(join(src.path, "s1.txt"), "again.txt");
  assert.ok((await Deno.stat(join(root.path, "again.txt"))).isFile);
});
