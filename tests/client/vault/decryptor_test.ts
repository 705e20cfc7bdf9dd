import assert from "node:assert/strict";
import { AgeIdentity } from "../../../client/vault/age_keys.ts";
import { SEALED_CHUNK_SIZE } from "../../../client/vault/age_stream.ts";
import { AgeDecryptor } from "../../../client/vault/decryptor.ts";
import { AgeEncryptor } from "../../../client/vault/encryptor.ts";
import { VaultError } from "../../../client/vault/vault_error.ts";
import {
  assertBytes,
  decryptAll,
  encryptAll,
  join,
  pattern,
  split,
} from "../../_helpers/vault/data.ts";

const me = await AgeIdentity.generate();

async function encrypt(
  plain: Uint8Array,
): Promise<{ cipher: Uint8Array; headerSize: number }> {
  const encryptor = await AgeEncryptor.create({ recipients: [me.recipient] });
  return {
    cipher: encryptAll(encryptor, plain),
    headerSize: encryptor.header.size,
  };
}

/** Decrypts `cipher` in pieces; returns the plaintext released and the error. */
async function attempt(
  cipher: Uint8Array,
  sizes: readonly number[] = [1024 * 1024],
): Promise<{ released: Uint8Array; error: unknown }> {
  const decryptor = new AgeDecryptor({ identities: [me] });
  const parts: Uint8Array[] = [];
  try {
    for (const piece of split(cipher, sizes)) {
      parts.push(await decryptor.push(piece));
    }
    parts.push(decryptor.finish());
    return { released: join(parts), error: null };
  } catch (error) {
    return { released: join(parts), error };
  }
}

function assertVault(error: unknown, reason: string, code: string): void {
  assert.ok(error instanceof VaultError, `expected a VaultError, got ${error}`);
  assert.equal(error.reason, reason, error.message);
  assert.equal(error.code, code);
}

Deno.test("AgeDecryptor decrypts a file fed one byte at a time", async () => {
  const plain = pattern(1000);
  const { cipher } = await encrypt(plain);
  const decryptor = new AgeDecryptor({ identities: [me] });
  assertBytes(await decryptAll(decryptor, cipher, [1]), plain);
  assert.equal(decryptor.cipherBytes, cipher.length);
  assert.equal(decryptor.plainBytes, plain.length);
  assert.ok(decryptor.header !== null);
});

Deno.test("AgeDecryptor returns plaintext as soon as chunks are known not to be last", async () => {
  const plain = pattern(3 * 65536 + 10);
  const { cipher, headerSize } = await encrypt(plain);
  const decryptor = new AgeDecryptor({ identities: [me] });
  const cut = headerSize + 16 + 2 * SEALED_CHUNK_SIZE + 1;
  const first = await decryptor.push(cipher.subarray(0, cut));
  assertBytes(first, plain.subarray(0, 2 * 65536));
  const rest = await decryptor.push(cipher.subarray(cut));
  assertBytes(rest, plain.subarray(2 * 65536, 3 * 65536));
  assertBytes(decryptor.finish(), plain.subarray(3 * 65536));
});

Deno.test("AgeDecryptor refuses a file cut before its payload or at a chunk boundary as truncated", async () => {
  const plain = pattern(2 * 65536 + 100);
  const { cipher, headerSize } = await encrypt(plain);
  const cuts = [
    1,
    headerSize - 1, // inside the header
    headerSize, // right after the header
    headerSize + 8, // inside the nonce
    headerSize + 16, // no payload
    headerSize + 16 + SEALED_CHUNK_SIZE, // at a chunk boundary
    headerSize + 16 + 2 * SEALED_CHUNK_SIZE, // at the last boundary
  ];
  for (const cut of cuts) {
    for (const sizes of [[1024 * 1024], [7]]) {
      const { error } = await attempt(cipher.subarray(0, cut), sizes);
      assertVault(error, "truncated", "checksum_mismatch");
    }
  }
});

Deno.test("AgeDecryptor refuses a file cut inside a chunk", async () => {
  // A cut chunk cannot be told from a modified one: both fail authentication.
  const { cipher, headerSize } = await encrypt(pattern(2 * 65536 + 100));
  for (
    const cut of [
      headerSize + 16 + 100,
      headerSize + 16 + SEALED_CHUNK_SIZE + 17,
      cipher.length - 1,
    ]
  ) {
    for (const sizes of [[1024 * 1024], [1]]) {
      const { error } = await attempt(cipher.subarray(0, cut), sizes);
      assertVault(error, "chunk_auth", "checksum_mismatch");
    }
  }
});

Deno.test("AgeDecryptor refuses an empty input as not an age file", async () => {
  const { error } = await attempt(new Uint8Array(0));
  assertVault(error, "not_age", "bad_request");
});

Deno.test("AgeDecryptor refuses a plaintext file at once", async () => {
  const decryptor = new AgeDecryptor({ identities: [me] });
  const error = await decryptor.push(new TextEncoder().encode("hello\n")).catch(
    (e) => e,
  );
  assertVault(error, "not_age", "bad_request");
});

Deno.test("AgeDecryptor refuses bytes after the final chunk", async () => {
  for (const size of [0, 100, 65536, 2 * 65536]) {
    const { cipher } = await encrypt(pattern(size));
    for (const extra of [new Uint8Array([0]), pattern(SEALED_CHUNK_SIZE, 9)]) {
      const { error } = await attempt(join([cipher, extra]));
      assert.ok(error instanceof VaultError, `size ${size}`);
      assert.equal(
        error.code,
        "checksum_mismatch",
        `size ${size}: ${error.message}`,
      );
    }
  }
});

Deno.test("AgeDecryptor refuses a flipped payload bit and releases no forged byte", async () => {
  const plain = pattern(4 * 65536);
  const { cipher, headerSize } = await encrypt(plain);
  const tampered = cipher.slice();
  tampered[headerSize + 16 + 2 * SEALED_CHUNK_SIZE + 5]! ^= 0x80; // chunk 2
  for (const sizes of [[1000], [100_000], [1024 * 1024]]) {
    const { released, error } = await attempt(tampered, sizes);
    assertVault(error, "chunk_auth", "checksum_mismatch");
    // Only authentic chunks before chunk 2 may have come out.
    assert.ok(
      released.length <= 2 * 65536,
      `${released.length} bytes released`,
    );
    assertBytes(released, plain.subarray(0, released.length));
  }
});

Deno.test("AgeDecryptor refuses a changed nonce", async () => {
  const { cipher, headerSize } = await encrypt(pattern(100));
  const tampered = cipher.slice();
  tampered[headerSize + 3]! ^= 1;
  const { released, error } = await attempt(tampered);
  assertVault(error, "chunk_auth", "checksum_mismatch");
  assert.equal(released.length, 0);
});

Deno.test("AgeDecryptor refuses a changed header MAC", async () => {
  const { cipher, headerSize } = await encrypt(pattern(100));
  const tampered = cipher.slice();
  const at = headerSize - 5; // inside the MAC's base64
  tampered[at] = tampered[at] === 0x41 ? 0x42 : 0x41;
  const { error } = await attempt(tampered);
  assertVault(error, "header_mac", "checksum_mismatch");
});

Deno.test("AgeDecryptor refuses the wrong identity, naming no key", async () => {
  const { cipher } = await encrypt(pattern(100));
  const other = await AgeIdentity.generate();
  const decryptor = new AgeDecryptor({ identities: [other] });
  const error = await decryptor.push(cipher).catch((e) => e);
  assertVault(error, "no_identity", "bad_request");
  assert.ok(!String(error.message).includes(other.exportSecret()));
  assert.ok(!String(error.message).includes("AGE-SECRET-KEY"));
});

Deno.test("AgeDecryptor stays failed after an error", async () => {
  const { cipher, headerSize } = await encrypt(pattern(100));
  const tampered = cipher.slice();
  tampered[headerSize + 20]! ^= 1;
  const decryptor = new AgeDecryptor({ identities: [me] });
  const first = await decryptor.push(tampered).then(() => decryptor.finish())
    .catch((e) => e);
  assert.ok(first instanceof VaultError);
  await assert.rejects(decryptor.push(new Uint8Array(1)), (e) => e === first);
  assert.throws(() => decryptor.finish(), (e) => e === first);
});

Deno.test("AgeDecryptor refuses a push while another is pending, and use after finish", async () => {
  const { cipher, headerSize } = await encrypt(pattern(100));
  const decryptor = new AgeDecryptor({ identities: [me] });
  const pending = decryptor.push(cipher.subarray(0, headerSize));
  await assert.rejects(decryptor.push(cipher.subarray(headerSize)), TypeError);
  await pending;
  await decryptor.push(cipher.subarray(headerSize));
  decryptor.finish();
  await assert.rejects(decryptor.push(new Uint8Array(1)), TypeError);
});
