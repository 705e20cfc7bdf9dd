/**
 * Interop with Debian's `age` command through the real server, both ways:
 * `age` decrypts what `fts put --encrypt` stored (read straight from the
 * server's folder), and `fts get` decrypts what `age` encrypted and fts
 * uploaded as it was. Run when `age` is installed; required in CI
 * (FTS_REQUIRE_AGE=1).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadIdentities } from "../../client/vault/identity.ts";
import { AGE_TEST, runAge, runAgeOnTty } from "../_helpers/vault/age_cli.ts";
import { assertBytes, pattern } from "../_helpers/vault/data.ts";
import { namesIn, startVaultWorld } from "../_helpers/vault/world.ts";

const SIZE = 2 * 1024 * 1024 + 12_345; // many 64 KiB chunks and a short last one

Deno.test(
  "age -d -i decrypts a file fts put --encrypt stored on the server",
  AGE_TEST,
  async () => {
    await using world = await startVaultWorld();
    const plain = pattern(SIZE, 31);
    await Deno.writeFile(join(world.local, "data.bin"), plain);
    assert.equal(await world.run("put --encrypt data.bin"), "ok");
    const run = await runAge([
      "-d",
      "-i",
      join(world.config, "identity.txt"),
      join(world.root, "data.bin.age"),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assertBytes(run.stdout, plain, "age -d output");
  },
);

Deno.test(
  "age -d decrypts a file fts put --passphrase stored on the server",
  AGE_TEST,
  async () => {
    await using world = await startVaultWorld({
      identity: false,
      env: { FTS_PASSPHRASE: "pass phrase for age" },
    });
    const plain = pattern(200_000, 32);
    await Deno.writeFile(join(world.local, "data.bin"), plain);
    assert.equal(await world.run("put --passphrase data.bin"), "ok");
    const out = join(world.local, "from-age.bin");
    const run = await runAgeOnTty(
      ["-d", "-o", out, join(world.root, "data.bin.age")],
      ["pass phrase for age"],
    );
    assert.equal(run.code, 0, run.stderr);
    assertBytes(await Deno.readFile(out), plain, "age -d output");
  },
);

Deno.test(
  "fts get decrypts a file age encrypted to the fts identity and fts uploaded raw",
  AGE_TEST,
  async () => {
    await using world = await startVaultWorld();
    const [identity] = await loadIdentities(
      join(world.config, "identity.txt"),
    );
    const plain = pattern(SIZE, 33);
    const source = join(world.local, "made-by-age");
    await Deno.writeFile(source, plain);
    const run = await runAge([
      "-r",
      identity!.recipient,
      "-o",
      join(world.local, "made-by-age.age"),
      source,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await world.run("put made-by-age.age"), "ok");
    assertBytes(
      await Deno.readFile(join(world.root, "made-by-age.age")),
      await Deno.readFile(join(world.local, "made-by-age.age")),
      "uploaded as it was",
    );
    const back = join(world.local, "back");
    await Deno.mkdir(back);
    assert.equal(await world.run(`lcd "${back}"`), "ok");
    assert.equal(await world.run("get made-by-age.age"), "ok");
    assert.deepEqual(namesIn(back), ["made-by-age"]);
    assertBytes(await Deno.readFile(join(back, "made-by-age")), plain);
  },
);

Deno.test(
  "fts get decrypts a file age encrypted with a passphrase",
  AGE_TEST,
  async () => {
    await using world = await startVaultWorld({
      identity: false,
      answers: ["typed for age"],
    });
    const plain = pattern(150_000, 34);
    const source = join(world.local, "p.bin");
    await Deno.writeFile(source, plain);
    const run = await runAgeOnTty(
      ["-p", "-o", join(world.local, "p.bin.age"), source],
      ["typed for age", "typed for age"],
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await world.run("put p.bin.age"), "ok");
    const back = join(world.local, "back");
    await Deno.mkdir(back);
    assert.equal(await world.run(`lcd "${back}"`), "ok");
    assert.equal(await world.run("get p.bin.age"), "ok");
    assert.deepEqual(world.prompts, ["Passphrase: "]);
    assertBytes(await Deno.readFile(join(back, "p.bin")), plain);
  },
);
