import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../../../server/storage/local/local_storage.ts";
import { put, read, rejects } from "../storage_contract.ts";
import { tempDir } from "../../../_helpers/common/temp_dir.ts";

/**
 * A root with `a/b/kept.txt` (walked once, so `a` and `a/b` are kept open)
 * and, outside it, `outside/b/kept.txt` and `outside/kept.txt` holding a
 * secret.
 */
async function keptFolders(
  fn: (s: LocalStorage, root: string, outside: string) => Promise<void>,
): Promise<void> {
  await using base = await tempDir("fts_folder_cache_");
  const root = join(base.path, "root");
  const outside = join(base.path, "outside");
  Deno.mkdirSync(join(outside, "b"), { recursive: true });
  Deno.writeTextFileSync(join(outside, "b", "kept.txt"), "secret");
  Deno.writeTextFileSync(join(outside, "kept.txt"), "secret");
  await using s = await LocalStorage.open(root);
  await s.mkdir("a");
  await s.mkdir("a/b");
  await put(s, "a/b/kept.txt", "inside");
  assert.equal(await read(s, "a/b/kept.txt"), "inside");
  await fn(s, root, outside);
}

function outsideNames(outside: string): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(join(outside, "b"))) names.push(e.name);
  for (const e of Deno.readDirSync(outside)) names.push(e.name);
  return names.sort();
}

for (
  const [what, swap] of [
    [
      "a folder high up",
      (root: string, outside: string) => {
        Deno.renameSync(join(root, "a"), join(root, "moved"));
        Deno.symlinkSync(outside, join(root, "a"));
      },
    ],
    [
      "the file's own folder",
      (root: string, outside: string) => {
        Deno.renameSync(join(root, "a", "b"), join(root, "a", "moved"));
        Deno.symlinkSync(outside, join(root, "a", "b"));
      },
    ],
  ] as const
) {
  Deno.test(`LocalStorage never follows a link swapped in for ${what} after the folder was walked and kept`, async () => {
    await keptFolders(async (s, root, outside) => {
      swap(root, outside);
      await rejects(read(s, "a/b/kept.txt"), "permission_denied", "read");
      await rejects(put(s, "a/b/new.txt", "x"), "permission_denied", "put");
      await rejects(s.stat("a/b/kept.txt"), "permission_denied", "stat");
      await rejects(s.remove("a/b/kept.txt"), "permission_denied", "remove");
      await rejects(s.mkdir("a/b/sub"), "permission_denied", "mkdir");
      assert.deepEqual(outsideNames(outside), ["b", "kept.txt", "kept.txt"]);
      assert.equal(
        Deno.readTextFileSync(join(outside, "b", "kept.txt")),
        "secret",
      );
    });
  });
}

Deno.test("LocalStorage walks a kept folder again after it was moved out of the root", async () => {
  await keptFolders(async (s, root, outside) => {
    // The kept folder now lives outside; a new, real "a/b" takes its name.
    Deno.renameSync(join(root, "a", "b"), join(outside, "moved"));
    Deno.mkdirSync(join(root, "a", "b"));
    await put(s, "a/b/new.txt", "new");
    assert.equal(Deno.readTextFileSync(join(root, "a", "b", "new.txt")), "new");
    assert.deepEqual(
      [...Deno.readDirSync(join(outside, "moved"))].map((e) => e.name),
      ["kept.txt"],
    );
    await rejects(read(s, "a/b/kept.txt"), "not_found", "read");
  });
});

Deno.test("LocalStorage sees a kept folder deleted and made again", async () => {
  await keptFolders(async (s, root) => {
    await s.remove("a/b/kept.txt");
    await s.remove("a/b");
    await rejects(put(s, "a/b/new.txt", "x"), "not_found", "put");
    Deno.mkdirSync(join(root, "a", "b"));
    await put(s, "a/b/new.txt", "again");
    assert.equal(
      Deno.readTextFileSync(join(root, "a", "b", "new.txt")),
      "again",
    );
  });
});
