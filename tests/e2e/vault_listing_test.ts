/**
 * The server marks encrypted files in listings by their content (the age
 * version line), and `ls` shows the mark.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startVaultWorld } from "../_helpers/vault/world.ts";

Deno.test("LIST marks files whose content is age, whatever their names", async () => {
  await using world = await startVaultWorld();
  await Deno.writeTextFile(join(world.local, "secret.txt"), "hidden text");
  await Deno.writeTextFile(join(world.local, "fake.age"), "plain, not age");
  await Deno.writeTextFile(join(world.local, "short"), "age-encryption.org/v"); // 20 bytes
  assert.equal(await world.run("put --encrypt secret.txt"), "ok");
  assert.equal(await world.run("put --encrypt secret.txt no-suffix"), "ok");
  assert.equal(await world.run("put fake.age"), "ok");
  assert.equal(await world.run("put short"), "ok");
  assert.equal(await world.run("mkdir folder.age"), "ok");
  const { entries } = await world.state.session.list("");
  assert.deepEqual(
    entries.map((e) => [e.name, e.encrypted ?? false]),
    [
      ["fake.age", false],
      ["folder.age", false],
      ["no-suffix", true],
      ["secret.txt.age", true],
      ["short", false],
    ],
  );
});

Deno.test("ls shows [encrypted] after encrypted names, or a lock on a UTF-8 terminal", async () => {
  await using world = await startVaultWorld();
  await Deno.writeTextFile(join(world.local, "a.txt"), "alpha");
  assert.equal(await world.run("put --encrypt a.txt"), "ok");
  assert.equal(await world.run("put a.txt"), "ok");
  const before = world.out.text().length;
  assert.equal(await world.run("ls"), "ok");
  const plainLines = world.out.text().slice(before).split("\n");
  assert.match(plainLines[1]!, / {2}a\.txt$/);
  assert.match(plainLines[2]!, / {2}a\.txt\.age {2}\[encrypted\]$/);

  world.env.LANG = "C.UTF-8";
  const mid = world.out.text().length;
  assert.equal(await world.run("ls"), "ok");
  const lines = world.out.text().slice(mid).split("\n");
  assert.match(lines[1]!, / {2}a\.txt$/);
  assert.match(lines[2]!, / {2}a\.txt\.age {2}🔒$/);
});

Deno.test("the mark follows the file: replaced in clear, it is no longer marked", async () => {
  await using world = await startVaultWorld();
  await Deno.writeTextFile(join(world.local, "a.txt"), "alpha");
  assert.equal(await world.run("put --encrypt a.txt doc"), "ok");
  const first = await world.state.session.list("");
  assert.equal(first.entries[0]?.encrypted, true);
  assert.equal(await world.run("put --overwrite a.txt doc"), "ok");
  const second = await world.state.session.list("");
  assert.equal(second.entries[0]?.encrypted, undefined);
  assert.equal(await world.run("put --overwrite --encrypt a.txt doc"), "ok");
  const third = await world.state.session.list("");
  assert.equal(third.entries[0]?.encrypted, true);
});
