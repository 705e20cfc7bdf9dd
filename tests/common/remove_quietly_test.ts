import assert from "node:assert/strict";
import { join } from "node:path";
import { removeQuietly } from "../../common/remove_quietly.ts";
import { tempDir } from "../_helpers/common/temp_dir.ts";

Deno.test("removeQuietly() removes a file and ignores one that is gone or cannot be removed", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "a.part");
  await Deno.writeTextFile(file, "x");
  removeQuietly(file);
  await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
  removeQuietly(file);
  const folder = join(dir.path, "full");
  await Deno.mkdir(folder);
  await Deno.writeTextFile(join(folder, "b"), "y");
  removeQuietly(folder);
  assert.equal((await Deno.stat(join(folder, "b"))).isFile, true);
});
