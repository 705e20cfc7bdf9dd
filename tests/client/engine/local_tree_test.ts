import assert from "node:assert/strict";
import { join } from "node:path";
import { walkLocalTree } from "../../../client/engine/local_tree.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

Deno.test("walkLocalTree() leaves out download part files, resumable partials and their sidecars", async () => {
  await using dir = await tempDir();
  for (
    const name of [
      "a.txt",
      ".fts-0123456789abcdef.part",
      ".fts-resume-0123456789abcdef.part",
      ".fts-resume-0123456789abcdef.sums",
      ".fts-resume-0123456789abcdef.sums.tmp",
      ".hidden",
    ]
  ) {
    await Deno.writeTextFile(join(dir.path, name), "x");
  }
  const files = [...walkLocalTree(dir.path)]
    .filter((e) => e.kind === "file")
    .map((e) => e.rel);
  assert.deepEqual(files, [".hidden", "a.txt"]);
});
