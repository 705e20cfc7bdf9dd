import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ensurePrivateDir,
  writeFileAtomic,
} from "../../common/private_files.ts";

async function withDir(run: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "fts_private_" });
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeFileAtomic() writes mode 0600 and replaces the old content whole", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "users.json");
    await writeFileAtomic(path, "first\n");
    assert.equal(await Deno.readTextFile(path), "first\n");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    await writeFileAtomic(path, new TextEncoder().encode("second\n"));
    assert.equal(await Deno.readTextFile(path), "second\n");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [
      "users.json",
    ]);
  });
});

Deno.test("writeFileAtomic() leaves the old file and no temporary file when the rename fails", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "target");
    await Deno.mkdir(path); // a folder that is not empty cannot be renamed over
    await Deno.writeTextFile(join(path, "keep"), "x");
    await assert.rejects(writeFileAtomic(path, "new"));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [
      "target",
    ]);
    assert.equal(await Deno.readTextFile(join(path, "keep")), "x");
  });
});

Deno.test("ensurePrivateDir() creates 0700, tightens a loose folder, and refuses a file", async () => {
  await withDir(async (dir) => {
    const state = join(dir, "root", ".fts");
    await ensurePrivateDir(state);
    assert.equal((await Deno.stat(state)).mode! & 0o777, 0o700);
    assert.notEqual(
      (await Deno.stat(join(dir, "root"))).mode! & 0o777,
      0o700,
      "the parent keeps the default mode",
    );
    await Deno.chmod(state, 0o755);
    await ensurePrivateDir(state);
    assert.equal((await Deno.stat(state)).mode! & 0o777, 0o700);
    const file = join(dir, "file");
    await Deno.writeTextFile(file, "");
    await assert.rejects(ensurePrivateDir(file));
  });
});
