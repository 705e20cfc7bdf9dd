/**
 * Interop with Debian's `age` command (apt package `age`, 1.1.x), both ways,
 * at the chunk-boundary sizes. These tests fail, with instructions, when
 * `age` is not installed: CI must install it.
 */

import assert from "node:assert/strict";
import { join as joinPath } from "node:path";
import {
  AgeIdentity,
  parseIdentityFile,
} from "../../../client/vault/age_keys.ts";
import { AgeDecryptor } from "../../../client/vault/decryptor.ts";
import {
  AgeEncryptor,
  encryptedSize,
} from "../../../client/vault/encryptor.ts";
import {
  generateIdentity,
  loadIdentities,
} from "../../../client/vault/identity.ts";
import { VaultError } from "../../../client/vault/vault_error.ts";
import {
  AGE_TEST,
  ageKeygen,
  requireAge,
  runAge,
  runAgeOnTty,
} from "../../_helpers/vault/age_cli.ts";
import {
  assertBytes,
  decryptAll,
  EDGE_SIZES,
  encryptAll,
  pattern,
} from "../../_helpers/vault/data.ts";

const decoder = new TextDecoder();

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fts_vault_age_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(
  "the age command is installed (apt-get install -y age)",
  AGE_TEST,
  async () => {
    await requireAge();
  },
);

Deno.test(
  "age -d -i decrypts what fts encrypted to its identity file",
  AGE_TEST,
  async () => {
    await withTempDir(async (dir) => {
      const path = joinPath(dir, "identity.txt");
      await generateIdentity(path);
      const [me] = await loadIdentities(path);
      for (const size of EDGE_SIZES) {
        const plain = pattern(size, size + 11);
        const encryptor = await AgeEncryptor.create({
          recipients: [me!.recipient],
        });
        const cipher = encryptAll(encryptor, plain);
        assert.equal(cipher.length, encryptedSize(size, encryptor.header));
        const run = await runAge(["-d", "-i", path], cipher);
        assert.equal(run.code, 0, `size ${size}: ${run.stderr}`);
        assertBytes(run.stdout, plain, `size ${size}`);
      }
    });
  },
);

Deno.test(
  "fts decrypts what age -r encrypted to an age-keygen identity",
  AGE_TEST,
  async () => {
    await withTempDir(async (dir) => {
      const path = joinPath(dir, "key.txt");
      const recipient = await ageKeygen(path);
      const identities = await parseIdentityFile(await Deno.readTextFile(path));
      assert.equal(identities[0]?.recipient, recipient);
      for (const size of EDGE_SIZES) {
        const plain = pattern(size, size + 12);
        const run = await runAge(["-r", recipient], plain);
        assert.equal(run.code, 0, run.stderr);
        for (const sizes of [[1024 * 1024], [65553], [16_384]]) {
          const back = await decryptAll(
            new AgeDecryptor({ identities }),
            run.stdout,
            sizes,
          );
          assertBytes(back, plain, `size ${size}, pieces ${sizes}`);
        }
      }
    });
  },
);

Deno.test(
  "fts decrypts what age -e -i encrypted, among several recipients",
  AGE_TEST,
  async () => {
    await withTempDir(async (dir) => {
      const mine = joinPath(dir, "mine.txt");
      const theirs = joinPath(dir, "theirs.txt");
      await generateIdentity(mine);
      const theirRecipient = await ageKeygen(theirs);
      const plain = pattern(65536 * 3, 5);
      const run = await runAge(["-e", "-i", mine, "-r", theirRecipient], plain);
      assert.equal(run.code, 0, run.stderr);
      const identities = await loadIdentities(mine);
      const back = await decryptAll(
        new AgeDecryptor({ identities }),
        run.stdout,
      );
      assertBytes(back, plain);
    });
  },
);

Deno.test(
  "fts refuses a file age encrypted to someone else",
  AGE_TEST,
  async () => {
    await withTempDir(async (dir) => {
      const recipient = await ageKeygen(joinPath(dir, "other.txt"));
      const run = await runAge(["-r", recipient], pattern(100));
      assert.equal(run.code, 0, run.stderr);
      const decryptor = new AgeDecryptor({
        identities: [await AgeIdentity.generate()],
      });
      const error = await decryptor.push(run.stdout).catch((e) => e);
      assert.ok(
        error instanceof VaultError && error.reason === "no_identity",
        String(error),
      );
    });
  },
);

Deno.test(
  "fts and age both refuse an age file with a flipped payload byte",
  AGE_TEST,
  async () => {
    await withTempDir(async (dir) => {
      const path = joinPath(dir, "key.txt");
      const recipient = await ageKeygen(path);
      const plain = pattern(200_000, 6);
      const run = await runAge(["-r", recipient], plain);
      const tampered = run.stdout.slice();
      tampered[tampered.length - 70_000]! ^= 1;
      const identities = await loadIdentities(path);
      const error = await decryptAll(new AgeDecryptor({ identities }), tampered)
        .catch((e) => e);
      assert.ok(
        error instanceof VaultError && error.code === "checksum_mismatch",
        String(error),
      );
      const ageRun = await runAge(["-d", "-i", path], tampered);
      assert.notEqual(ageRun.code, 0);
    });
  },
);

Deno.test(
  "age -d decrypts what fts encrypted to a passphrase",
  AGE_TEST,
  async () => {
    await withTempDir(async (dir) => {
      const passphrase = "correct horse battery staple";
      const cases = [
        { size: 0, workFactor: 10 },
        { size: 65536, workFactor: 10 },
        { size: 3 * 1024 * 1024 + 7, workFactor: undefined }, // default 18
      ];
      for (const { size, workFactor } of cases) {
        const plain = pattern(size, size + 13);
        const encryptor = await AgeEncryptor.create(
          workFactor === undefined
            ? { passphrase }
            : { passphrase, scryptWorkFactor: workFactor },
        );
        const input = joinPath(dir, `in-${size}.age`);
        const output = joinPath(dir, `out-${size}`);
        await Deno.writeFile(input, encryptAll(encryptor, plain));
        const run = await runAgeOnTty(["-d", "-o", output, input], [
          passphrase,
        ]);
        assert.equal(run.code, 0, `size ${size}: ${run.stderr}`);
        // age -o creates its output on the first write: none for an empty file.
        const back = await Deno.readFile(output).catch((error) => {
          if (size === 0 && error instanceof Deno.errors.NotFound) {
            return new Uint8Array(0);
          }
          throw error;
        });
        assertBytes(back, plain, `size ${size}`);
      }
    });
  },
);

Deno.test(
  "fts decrypts what age -p encrypted, with the passphrase only",
  AGE_TEST,
  async () => {
    await withTempDir(async (dir) => {
      const passphrase = "tr0ub4dor&3 and more";
      for (const size of [0, 3 * 1024 * 1024 + 7]) {
        const plain = pattern(size, size + 14);
        const input = joinPath(dir, `plain-${size}`);
        const output = joinPath(dir, `plain-${size}.age`);
        await Deno.writeFile(input, plain);
        const run = await runAgeOnTty(["-p", "-o", output, input], [
          passphrase,
          passphrase,
        ]);
        assert.equal(run.code, 0, run.stderr);
        const cipher = await Deno.readFile(output);
        assert.match(
          decoder.decode(cipher.subarray(0, 40)),
          /^age-encryption\.org\/v1\n-> scrypt /,
        );
        let asked = 0;
        const decryptor = new AgeDecryptor({
          identities: [await AgeIdentity.generate()],
          passphrase: () => {
            asked++;
            return passphrase;
          },
        });
        assertBytes(
          await decryptAll(decryptor, cipher, [100_000]),
          plain,
          `size ${size}`,
        );
        assert.equal(asked, 1);
      }
    });
  },
);
