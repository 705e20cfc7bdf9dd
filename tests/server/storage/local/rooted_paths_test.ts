import assert from "node:assert/strict";
import { join } from "node:path";
import { RootedPaths } from "../../../../server/storage/local/rooted_paths.ts";
import { tempDir } from "../../../_helpers/common/temp_dir.ts";

Deno.test("RootedPaths.inspect() keeps acting in the folder it opened after that folder is swapped for a link", async () => {
  await using base = await tempDir("fts_rooted_");
  const root = join(base.path, "root");
  const outside = join(base.path, "outside");
  await Deno.mkdir(join(root, "d"), { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(root, "d", "f.txt"), "inside");
  await Deno.writeTextFile(join(outside, "f.txt"), "OUTSIDE");
  using paths = RootedPaths.open(root);
  {
    using at = paths.inspect("d/f.txt", "read");
    // Swapped between the check and the use.
    await Deno.rename(join(root, "d"), join(root, "moved"));
    await Deno.symlink(outside, join(root, "d"));
    assert.equal(Deno.readTextFileSync(at.path), "inside");
    Deno.mkdirSync(at.folder.at("new"));
    Deno.removeSync(at.path);
  }
  assert.deepEqual(
    [...Deno.readDirSync(outside)].map((e) => e.name),
    ["f.txt"],
  );
  assert.ok(Deno.statSync(join(root, "moved", "new")).isDirectory);
  assert.throws(() => paths.inspect("d/f.txt", "read"), {
    code: "permission_denied",
  });
});

Deno.test("RootedPaths.openFile() opens only regular files, never through a link", async () => {
  await using base = await tempDir("fts_rooted_");
  const root = join(base.path, "root");
  await Deno.mkdir(join(root, "d"), { recursive: true });
  await Deno.writeTextFile(join(base.path, "secret"), "OUTSIDE");
  await Deno.writeTextFile(join(root, "d", "f.txt"), "inside");
  await Deno.symlink(join(base.path, "secret"), join(root, "d", "link"));
  const made = await new Deno.Command("mkfifo", {
    args: [join(root, "d", "fifo")],
  }).output();
  assert.ok(made.success);
  using paths = RootedPaths.open(root);
  {
    const { file, info } = paths.openFile("d/f.txt", "read");
    using _file = file;
    assert.equal(info.size, 6);
  }
  for (
    const [name, code] of [
      ["d/link", "permission_denied"],
      ["d/fifo", "permission_denied"],
      ["d", "is_directory"],
      ["d/none", "not_found"],
      ["d/f.txt/x", "not_directory"],
    ]
  ) {
    assert.throws(() => paths.openFile(name!, "read"), { code }, name);
  }
});
