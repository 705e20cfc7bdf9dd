/**
 * End-to-end encrypted files through the real server: `put --encrypt` and
 * `put --passphrase` seal on the client, the server stores only ciphertext,
 * `get` decrypts by content and `get --raw` returns the stored bytes.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { HeaderScanner } from "../../client/vault/age_header.ts";
import { AGE_MAGIC } from "../../common/age_magic.ts";
import { sealedPayloadSize } from "../../client/vault/age_stream.ts";
import {
  assertBytes,
  contains,
  join as joinBytes,
  pattern,
} from "../_helpers/vault/data.ts";
import {
  allFiles,
  namesIn,
  startVaultWorld,
  type VaultWorld,
} from "../_helpers/vault/world.ts";

const MARKER = new TextEncoder().encode("FTS-VAULT-PLAINTEXT-MARKER-5d1e");
const AGE_LINE = "age-encryption.org/v1\n";

/** `size` bytes: the marker every 4 KiB over a pseudo-random pattern. */
function plaintext(size: number, seed = 7): Uint8Array {
  const data = pattern(size, seed);
  for (let at = 0; at + MARKER.length <= size; at += 4096) {
    data.set(MARKER, at);
  }
  return data;
}

/** Whether any file under `dir` (state folder included) holds the marker. */
async function anyFileHasMarker(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const path of await allFiles(dir)) {
    if (contains(await Deno.readFile(path), MARKER)) found.push(path);
  }
  return found;
}

/** A fresh local folder inside the world's, made current with lcd. */
async function backDir(world: VaultWorld, name = "back"): Promise<string> {
  const dir = join(world.local, name);
  await Deno.mkdir(dir);
  assert.equal(await world.run(`lcd "${dir}"`), "ok");
  return dir;
}

for (const size of [0, 1, 65536, 3 * 1024 * 1024 + 7]) {
  Deno.test(`put --encrypt then get round-trips ${size} bytes; the server holds only ciphertext`, async () => {
    await using world = await startVaultWorld();
    const plain = plaintext(size);
    await Deno.writeFile(join(world.local, "report.bin"), plain);

    assert.equal(await world.run("put --encrypt report.bin"), "ok");
    assert.equal(
      world.out.text(),
      'Encrypted and stored as "report.bin.age"\n',
    );
    assert.deepEqual(namesIn(world.root).filter((n) => n !== ".fts"), [
      "report.bin.age",
    ]);
    const stored = await Deno.readFile(join(world.root, "report.bin.age"));
    assert.equal(
      new TextDecoder().decode(stored.subarray(0, AGE_MAGIC.length)),
      AGE_LINE,
    );
    assert.equal(
      stored.length,
      new HeaderScanner().scan(stored) + 16 + sealedPayloadSize(size),
      "header, 16-byte nonce, sealed payload",
    );
    assert.deepEqual(await anyFileHasMarker(world.root), []);

    const back = await backDir(world);
    assert.equal(await world.run("get report.bin.age"), "ok");
    assert.deepEqual(namesIn(back), ["report.bin"]);
    assertBytes(await Deno.readFile(join(back, "report.bin")), plain);
    assert.match(world.out.text(), /Decrypted and saved as "report.bin"\n$/);
  });
}

Deno.test("the plaintext search finds the marker in a file sent in clear", async () => {
  // The control for the test above: the search is able to fail.
  await using world = await startVaultWorld();
  await Deno.writeFile(join(world.local, "clear.bin"), plaintext(10_000));
  assert.equal(await world.run("put --no-encrypt clear.bin"), "ok");
  assert.deepEqual(await anyFileHasMarker(world.root), [
    join(world.root, "clear.bin"),
  ]);
});

Deno.test("put --passphrase asks twice on the terminal, get asks once and decrypts", async () => {
  await using world = await startVaultWorld({
    identity: false,
    answers: ["correct horse", "correct horse", "correct horse"],
  });
  const plain = plaintext(300_000, 3);
  await Deno.writeFile(join(world.local, "notes.txt"), plain);
  assert.equal(await world.run("put --passphrase notes.txt"), "ok");
  assert.deepEqual(world.prompts, [
    "Passphrase for the encrypted file: ",
    "Same passphrase again: ",
  ]);
  const stored = await Deno.readFile(join(world.root, "notes.txt.age"));
  assert.match(new TextDecoder().decode(stored.subarray(0, 60)), /-> scrypt /);
  assert.deepEqual(await anyFileHasMarker(world.root), []);

  const back = await backDir(world);
  assert.equal(await world.run("get notes.txt.age"), "ok");
  assert.deepEqual(world.prompts.slice(2), ["Passphrase: "]);
  assertBytes(await Deno.readFile(join(back, "notes.txt")), plain);
});

Deno.test("FTS_PASSPHRASE encrypts and decrypts without asking", async () => {
  await using world = await startVaultWorld({
    identity: false,
    env: { FTS_PASSPHRASE: "from the environment" },
  });
  await Deno.writeTextFile(join(world.local, "a.txt"), "alpha");
  assert.equal(await world.run("put --passphrase a.txt sealed"), "ok");
  assert.deepEqual(namesIn(world.root).filter((n) => n !== ".fts"), [
    "sealed",
  ]);
  const back = await backDir(world);
  assert.equal(await world.run("get sealed"), "ok");
  assert.equal(await Deno.readTextFile(join(back, "sealed")), "alpha");
  assert.deepEqual(world.prompts, []);
});

Deno.test("get --raw saves exactly the ciphertext the server stores, under its own name", async () => {
  await using world = await startVaultWorld();
  await Deno.writeFile(join(world.local, "big.bin"), plaintext(2_000_000));
  assert.equal(await world.run("put --encrypt big.bin"), "ok");
  const back = await backDir(world);
  assert.equal(await world.run("get --raw big.bin.age"), "ok");
  assert.deepEqual(namesIn(back), ["big.bin.age"]);
  assertBytes(
    await Deno.readFile(join(back, "big.bin.age")),
    await Deno.readFile(join(world.root, "big.bin.age")),
  );
});

Deno.test("get decides by content: an age file without .age is decrypted, a plain NAME.age is not", async () => {
  await using world = await startVaultWorld();
  await Deno.writeTextFile(join(world.local, "secret.txt"), "the secret");
  await Deno.writeTextFile(join(world.local, "fake.age"), "not encrypted");
  assert.equal(await world.run("put --encrypt secret.txt hidden"), "ok");
  assert.equal(await world.run("put fake.age"), "ok");
  const back = await backDir(world);
  assert.equal(await world.run("get hidden"), "ok");
  assert.equal(await world.run("get fake.age"), "ok");
  assert.deepEqual(namesIn(back), ["fake.age", "hidden"]);
  assert.equal(await Deno.readTextFile(join(back, "hidden")), "the secret");
  assert.equal(
    await Deno.readTextFile(join(back, "fake.age")),
    "not encrypted",
  );
});

Deno.test("get NAME LOCAL keeps the local name the user typed", async () => {
  await using world = await startVaultWorld();
  await Deno.writeTextFile(join(world.local, "a.txt"), "alpha");
  assert.equal(await world.run("put --encrypt a.txt"), "ok");
  const back = await backDir(world);
  assert.equal(await world.run("get a.txt.age copy.age"), "ok");
  assert.deepEqual(namesIn(back), ["copy.age"]);
  assert.equal(await Deno.readTextFile(join(back, "copy.age")), "alpha");
});

Deno.test("a server with tiny chunks gets the ciphertext split over many DATA frames", async () => {
  // The server refuses any DATA chunk above its chunk size, so success
  // shows that every sealed chunk was split to fit.
  await using world = await startVaultWorld({ server: { chunkSize: 1000 } });
  const plain = plaintext(200_000, 11);
  await Deno.writeFile(join(world.local, "small-chunks.bin"), plain);
  assert.equal(await world.run("put --encrypt small-chunks.bin"), "ok");
  const back = await backDir(world);
  assert.equal(await world.run("get small-chunks.bin.age"), "ok");
  assertBytes(await Deno.readFile(join(back, "small-chunks.bin")), plain);
});

Deno.test("mput --encrypt seals every file; mget decrypts them, mget --raw does not", async () => {
  await using world = await startVaultWorld();
  const files = { "a.txt": plaintext(10), "b.txt": plaintext(700_000, 5) };
  for (const [name, data] of Object.entries(files)) {
    await Deno.writeFile(join(world.local, name), data);
  }
  assert.equal(await world.run("mput --encrypt a.txt b.txt"), "ok");
  assert.deepEqual(namesIn(world.root).filter((n) => n !== ".fts"), [
    "a.txt.age",
    "b.txt.age",
  ]);
  assert.deepEqual(await anyFileHasMarker(world.root), []);
  const back = await backDir(world);
  assert.equal(await world.run("mget *.age"), "ok");
  assert.deepEqual(namesIn(back), ["a.txt", "b.txt"]);
  for (const [name, data] of Object.entries(files)) {
    assertBytes(await Deno.readFile(join(back, name)), data);
  }
  const raw = await backDir(world, "raw");
  assert.equal(await world.run("mget --raw *.age"), "ok");
  assert.deepEqual(namesIn(raw), ["a.txt.age", "b.txt.age"]);
  assertBytes(
    await Deno.readFile(join(raw, "b.txt.age")),
    await Deno.readFile(join(world.root, "b.txt.age")),
  );
});

Deno.test("FTS_ENCRYPT=1 encrypts every put; --no-encrypt sends one in clear", async () => {
  await using world = await startVaultWorld({ env: { FTS_ENCRYPT: "1" } });
  await Deno.writeTextFile(join(world.local, "a.txt"), "alpha");
  await Deno.writeTextFile(join(world.local, "b.txt"), "bravo");
  assert.equal(await world.run("put a.txt"), "ok");
  assert.equal(await world.run("put --no-encrypt b.txt"), "ok");
  assert.deepEqual(namesIn(world.root).filter((n) => n !== ".fts"), [
    "a.txt.age",
    "b.txt",
  ]);
  assert.equal(await Deno.readTextFile(join(world.root, "b.txt")), "bravo");
  assert.ok(
    (await Deno.readTextFile(join(world.root, "a.txt.age"))).startsWith(
      AGE_LINE,
    ),
  );
});

Deno.test("encrypt = true in the config file is the default; FTS_ENCRYPT=0 overrides it", async () => {
  await using world = await startVaultWorld();
  await Deno.writeTextFile(
    join(world.config, "config"),
    "# my fts settings\nencrypt = true\n",
  );
  await Deno.writeTextFile(join(world.local, "a.txt"), "alpha");
  assert.equal(await world.run("put a.txt"), "ok");
  world.env.FTS_ENCRYPT = "0";
  assert.equal(await world.run("put a.txt"), "ok");
  assert.deepEqual(namesIn(world.root).filter((n) => n !== ".fts"), [
    "a.txt",
    "a.txt.age",
  ]);
  delete world.env.FTS_ENCRYPT;
  await Deno.writeTextFile(join(world.config, "config"), "encrypt = sure\n");
  assert.equal(
    await world.run("put a.txt"),
    `failed: Cannot read the settings "${
      join(world.config, "config")
    }" line 1: encrypt must be true or false`,
  );
  world.env.FTS_ENCRYPT = "maybe";
  assert.equal(
    await world.run("put a.txt"),
    'failed: Cannot use FTS_ENCRYPT="maybe": it must be 1 or 0 (true or false, yes or no, on or off)',
  );
});

Deno.test("the stored size is the age file's, and it round-trips through two encryptions of one file", async () => {
  // Each upload seals a fresh file key and nonce: same plaintext, different
  // ciphertext, both decrypting to the same bytes.
  await using world = await startVaultWorld();
  const plain = plaintext(100_000, 9);
  await Deno.writeFile(join(world.local, "same.bin"), plain);
  assert.equal(await world.run("put --encrypt same.bin one.age"), "ok");
  assert.equal(await world.run("put --encrypt same.bin two.age"), "ok");
  const one = await Deno.readFile(join(world.root, "one.age"));
  const two = await Deno.readFile(join(world.root, "two.age"));
  assert.equal(one.length, two.length);
  assert.notDeepEqual(one.subarray(-64), two.subarray(-64));
  const back = await backDir(world);
  assert.equal(await world.run("mget one.age two.age"), "ok");
  assertBytes(
    joinBytes([
      await Deno.readFile(join(back, "one")),
      await Deno.readFile(join(back, "two")),
    ]),
    joinBytes([plain, plain]),
  );
});

Deno.test("the age version line is recognised when it arrives over several DATA frames", async () => {
  // 7-byte chunks: the 22-byte version line spans four frames.
  await using world = await startVaultWorld({ server: { chunkSize: 7 } });
  const plain = plaintext(20_000, 13);
  await Deno.writeFile(join(world.local, "a.bin"), plain);
  await Deno.writeTextFile(join(world.local, "b.txt"), "tiny");
  assert.equal(await world.run("put --encrypt a.bin"), "ok");
  assert.equal(await world.run("put b.txt"), "ok");
  const back = await backDir(world);
  assert.equal(await world.run("get a.bin.age"), "ok");
  assert.equal(await world.run("get b.txt"), "ok");
  assert.deepEqual(namesIn(back), ["a.bin", "b.txt"]);
  assertBytes(await Deno.readFile(join(back, "a.bin")), plain);
  assert.equal(await Deno.readTextFile(join(back, "b.txt")), "tiny");
});

Deno.test("put -r --encrypt stores every file of a folder as NAME.age, and get -r decrypts them back", async () => {
  await using world = await startVaultWorld();
  const data = plaintext(10_000);
  await Deno.mkdir(join(world.local, "docs/sub"), { recursive: true });
  await Deno.writeFile(join(world.local, "docs/a.bin"), data);
  await Deno.writeFile(join(world.local, "docs/sub/b.bin"), data);
  assert.equal(await world.run("put -r --encrypt docs"), "ok");
  assert.deepEqual(namesIn(join(world.root, "docs")), ["a.bin.age", "sub"]);
  assert.deepEqual(namesIn(join(world.root, "docs/sub")), ["b.bin.age"]);
  assert.deepEqual(await anyFileHasMarker(world.root), []);
  assert.equal(await world.run("get -r docs back"), "ok");
  assertBytes(await Deno.readFile(join(world.local, "back/a.bin")), data);
  assertBytes(await Deno.readFile(join(world.local, "back/sub/b.bin")), data);
});
