import assert from "node:assert/strict";
import { LocalStorage } from "../../server/storage/local/local_storage.ts";
import { raceSymlinkSwap } from "../_helpers/server/symlink_race.ts";

Deno.test("LocalStorage never reads or writes outside the root during a 30 s folder/link swap race", async () => {
  const report = await raceSymlinkSwap(
    (root) => LocalStorage.open(root),
    30_000,
  );
  console.log(JSON.stringify(report));
  assert.ok(report.swaps > 10_000, `only ${report.swaps} swaps`);
  assert.equal(report.outsideReads, 0);
  assert.deepEqual(report.outsideChanges, []);
  assert.deepEqual(report.unexpected, []);
  for (const kind of ["read", "list", "upload", "mkdir", "renameFile"]) {
    assert.ok((report.done[kind] ?? 0) > 0, `no ${kind} succeeded`);
  }
});
