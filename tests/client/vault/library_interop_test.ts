/**
 * The fast path against the reference implementation (npm `age-encryption`,
 * whole-file API), both ways, at the chunk-boundary sizes.
 */

import assert from "node:assert/strict";
import {
  Decrypter,
  Encrypter,
  generateHybridIdentity,
  generateIdentity,
  identityToRecipient,
} from "age-encryption";
import { AgeIdentity } from "../../../client/vault/age_keys.ts";
import { AgeDecryptor } from "../../../client/vault/decryptor.ts";
import { AgeEncryptor } from "../../../client/vault/encryptor.ts";
import {
  assertBytes,
  decryptAll,
  EDGE_SIZES,
  encryptAll,
  pattern,
} from "../../_helpers/vault/data.ts";

const PASSPHRASE = "hunter2 but longer";

Deno.test("the library decrypts what the fast path encrypted to an identity", async () => {
  const me = await AgeIdentity.generate();
  const decrypter = new Decrypter();
  decrypter.addIdentity(me.exportSecret());
  for (const size of EDGE_SIZES) {
    const plain = pattern(size, size + 21);
    const cipher = encryptAll(
      await AgeEncryptor.create({ recipients: [me.recipient] }),
      plain,
    );
    assertBytes(await decrypter.decrypt(cipher), plain, `size ${size}`);
  }
});

Deno.test("the fast path decrypts what the library encrypted to a recipient", async () => {
  const secret = await generateIdentity();
  const me = await AgeIdentity.parse(secret);
  assert.equal(me.recipient, await identityToRecipient(secret));
  const encrypter = new Encrypter();
  encrypter.addRecipient(me.recipient);
  for (const size of EDGE_SIZES) {
    const plain = pattern(size, size + 22);
    const cipher = await encrypter.encrypt(plain);
    for (const sizes of [[1024 * 1024], [65552], [65553], [1000]]) {
      const back = await decryptAll(
        new AgeDecryptor({ identities: [me] }),
        cipher,
        sizes,
      );
      assertBytes(back, plain, `size ${size}, pieces ${sizes}`);
    }
  }
});

Deno.test("the library decrypts what the fast path encrypted to a passphrase", async () => {
  const decrypter = new Decrypter();
  decrypter.addPassphrase(PASSPHRASE);
  for (const size of [0, 65536, 65537]) {
    const plain = pattern(size, size + 23);
    const encryptor = await AgeEncryptor.create({
      passphrase: PASSPHRASE,
      scryptWorkFactor: 10,
    });
    assertBytes(
      await decrypter.decrypt(encryptAll(encryptor, plain)),
      plain,
      `size ${size}`,
    );
  }
});

Deno.test("the fast path decrypts what the library encrypted to a passphrase", async () => {
  const encrypter = new Encrypter();
  encrypter.setPassphrase(PASSPHRASE);
  encrypter.setScryptWorkFactor(10);
  for (const size of [0, 65536, 65537]) {
    const plain = pattern(size, size + 24);
    const cipher = await encrypter.encrypt(plain);
    const decryptor = new AgeDecryptor({ passphrase: () => PASSPHRASE });
    assertBytes(
      await decryptAll(decryptor, cipher, [777]),
      plain,
      `size ${size}`,
    );
  }
});

Deno.test("the fast path works with post-quantum hybrid keys both ways", async () => {
  const secret = await generateHybridIdentity();
  const me = await AgeIdentity.parse(secret);
  assert.match(me.recipient, /^age1pq1/);
  const plain = pattern(70_000, 25);

  const encrypter = new Encrypter();
  encrypter.addRecipient(me.recipient);
  const fromLibrary = await encrypter.encrypt(plain);
  assertBytes(
    await decryptAll(new AgeDecryptor({ identities: [me] }), fromLibrary),
    plain,
  );

  const fromUs = encryptAll(
    await AgeEncryptor.create({ recipients: [me.recipient] }),
    plain,
  );
  const decrypter = new Decrypter();
  decrypter.addIdentity(secret);
  assertBytes(await decrypter.decrypt(fromUs), plain);
});
