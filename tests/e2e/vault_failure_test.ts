/**
 * Encrypted files that cannot be decrypted, or encrypted: one clear error
 * line, no file left behind, an existing local file untouched.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { generateIdentity } from "../../client/vault/identity.ts";
import { pattern } from "../_helpers/vault/data.ts";
import {
  namesIn,
  startVaultWorld,
  type VaultWorld,
} from "../_helpers/vault/world.ts";

/** Uploads `size` bytes encrypted to the world's identity as NAME.age. */
async function putEncrypted(
  world: VaultWorld,
  name: string,
  size: number,
): Promise<Uint8Array> {
  const plain = pattern(size, 21);
  await Deno.writeFile(join(world.local, name), plain);
  assert.equal(await world.run(`put --encrypt ${name}`), "ok");
  return plain;
}

/** An empty local folder with `files`, made current; returns its path. */
async function freshLocal(
  world: VaultWorld,
  files: Record<string, string> = {},
): Promise<string> {
  const dir = join(world.local, "back");
  await Deno.mkdir(dir);
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(join(dir, name), text);
  }
  assert.equal(await world.run(`lcd "${dir}"`), "ok");
  return dir;
}

Deno.test("get with the wrong identity fails in one line and leaves the existing file alone", async () => {
  await using world = await startVaultWorld();
  await putEncrypted(world, "report.txt", 2_000_000);
  await generateIdentity(join(world.config, "identity.txt"), { force: true });
  const back = await freshLocal(world, { "report.txt": "my own copy" });
  assert.equal(
    await world.run("get report.txt.age"),
    'failed: Cannot get "report.txt.age": decryption failed: the file is not ' +
      'encrypted to any of your identities ("get --raw" saves the encrypted ' +
      "file as it is)",
  );
  assert.deepEqual(namesIn(back), ["report.txt"]); // no temporary file left
  assert.equal(
    await Deno.readTextFile(join(back, "report.txt")),
    "my own copy",
  );
});

Deno.test("get --overwrite with the wrong identity does not replace the existing file", async () => {
  await using world = await startVaultWorld();
  await putEncrypted(world, "a.bin", 100);
  await generateIdentity(join(world.config, "identity.txt"), { force: true });
  const back = await freshLocal(world, { "a.bin": "keep me" });
  assert.match(
    await world.run("get --overwrite a.bin.age"),
    /^failed: Cannot get "a\.bin\.age": decryption failed: /,
  );
  assert.deepEqual(namesIn(back), ["a.bin"]);
  assert.equal(await Deno.readTextFile(join(back, "a.bin")), "keep me");
});

Deno.test("get without any identity names the problem and saves nothing", async () => {
  await using world = await startVaultWorld();
  await putEncrypted(world, "a.bin", 10);
  await Deno.remove(join(world.config, "identity.txt"));
  const back = await freshLocal(world);
  assert.equal(
    await world.run("get a.bin.age"),
    'failed: Cannot get "a.bin.age": decryption failed: it is encrypted to an ' +
      'age key and no identity was given ("get --raw" saves the encrypted file ' +
      "as it is)",
  );
  assert.deepEqual(namesIn(back), []);
});

Deno.test("get with a wrong passphrase fails in one line and saves nothing", async () => {
  await using world = await startVaultWorld({
    identity: false,
    answers: ["right one", "right one", "wrong one"],
  });
  await Deno.writeTextFile(join(world.local, "pw.txt"), "hidden");
  assert.equal(await world.run("put --passphrase pw.txt"), "ok");
  const back = await freshLocal(world);
  assert.equal(
    await world.run("get pw.txt.age"),
    'failed: Cannot get "pw.txt.age": decryption failed: wrong passphrase',
  );
  assert.deepEqual(namesIn(back), []);
});

Deno.test("a passphrase file with no terminal and no FTS_PASSPHRASE is refused", async () => {
  await using world = await startVaultWorld({
    identity: false,
    env: { FTS_PASSPHRASE: "set for the upload" },
    answers: [null],
  });
  await Deno.writeTextFile(join(world.local, "pw.txt"), "hidden");
  assert.equal(await world.run("put --passphrase pw.txt"), "ok");
  delete world.env.FTS_PASSPHRASE;
  const back = await freshLocal(world);
  assert.equal(
    await world.run("get pw.txt.age"),
    'failed: Cannot get "pw.txt.age": a passphrase is needed and there is no ' +
      "terminal to ask on: set FTS_PASSPHRASE",
  );
  assert.deepEqual(namesIn(back), []);
});

Deno.test("a ciphertext modified on the server fails authentication; the partial plaintext is removed", async () => {
  await using world = await startVaultWorld();
  await putEncrypted(world, "big.bin", 3_000_000);
  const stored = join(world.root, "big.bin.age");
  const bytes = await Deno.readFile(stored);
  bytes[2_500_000]! ^= 0x01; // well after the first chunks were written
  await Deno.writeFile(stored, bytes);
  const back = await freshLocal(world);
  assert.match(
    await world.run("get big.bin.age"),
    /^failed: Cannot get "big\.bin\.age": decryption failed: chunk \d+ failed authentication \(modified, reordered or damaged\)$/,
  );
  assert.deepEqual(namesIn(back), []);
});

Deno.test("a ciphertext cut short on the server is refused as truncated", async () => {
  await using world = await startVaultWorld();
  await putEncrypted(world, "big.bin", 1_000_000);
  const stored = join(world.root, "big.bin.age");
  const bytes = await Deno.readFile(stored);
  // Cut at a chunk boundary: every chunk left is authentic on its own.
  await Deno.writeFile(stored, bytes.subarray(0, bytes.length - (16960 + 16)));
  const back = await freshLocal(world);
  assert.match(
    await world.run("get big.bin.age"),
    /^failed: Cannot get "big\.bin\.age": decryption failed: the file ends/,
  );
  assert.deepEqual(namesIn(back), []);
});

Deno.test("put --encrypt without an identity says to run fts key gen and sends nothing", async () => {
  await using world = await startVaultWorld({ identity: false });
  await Deno.writeTextFile(join(world.local, "a.txt"), "alpha");
  assert.equal(
    await world.run("put --encrypt a.txt"),
    'failed: Cannot put "a.txt": no identity: run "fts key gen" to create one ' +
      "(or use --passphrase)",
  );
  assert.deepEqual(namesIn(world.root), [".fts"]);
});

Deno.test("put --passphrase refuses answers that differ, an empty one, or no terminal", async () => {
  await using world = await startVaultWorld({
    identity: false,
    answers: ["one", "two", "", null],
  });
  await Deno.writeTextFile(join(world.local, "a.txt"), "alpha");
  assert.equal(
    await world.run("put --passphrase a.txt"),
    'failed: Cannot put "a.txt": the passphrases do not match',
  );
  assert.equal(
    await world.run("put --passphrase a.txt"),
    'failed: Cannot put "a.txt": the passphrase is empty',
  );
  assert.equal(
    await world.run("put --passphrase a.txt"),
    'failed: Cannot put "a.txt": a passphrase is needed and there is no ' +
      "terminal to ask on: set FTS_PASSPHRASE",
  );
  assert.deepEqual(namesIn(world.root), [".fts"]);
});

Deno.test("--no-encrypt with --encrypt is a usage error", async () => {
  await using world = await startVaultWorld();
  assert.match(
    await world.run("put --encrypt --no-encrypt a.txt"),
    /^usage: Give --no-encrypt or --encrypt\/--passphrase, not both/,
  );
});

Deno.test("put --passphrase of a missing file fails before asking anything", async () => {
  await using world = await startVaultWorld({ identity: false });
  assert.equal(
    await world.run("put --passphrase nowhere.txt"),
    'failed: Cannot put "nowhere.txt": no such local file or folder',
  );
  assert.deepEqual(world.prompts, []);
});
