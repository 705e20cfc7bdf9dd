import assert from "node:assert/strict";
import {
  PAYLOAD_NONCE_SIZE,
  sealHeader,
} from "../../../client/vault/age_header.ts";
import { AgeIdentity } from "../../../client/vault/age_keys.ts";
import { AgeDecryptor } from "../../../client/vault/decryptor.ts";
import {
  AgeEncryptor,
  encryptedSize,
} from "../../../client/vault/encryptor.ts";
import {
  assertBytes,
  contains,
  decryptAll,
  EDGE_SIZES,
  encryptAll,
  pattern,
  split,
} from "../../_helpers/vault/data.ts";

const me = await AgeIdentity.generate();

Deno.test("encryptedSize() is exact for edge sizes and any input split", async () => {
  const splits = [[1024 * 1024], [65536], [4096, 70_000, 1], [65535]];
  for (const size of EDGE_SIZES) {
    const plain = pattern(size, 3);
    for (const sizes of splits) {
      const header = await sealHeader({ recipients: [me.recipient] });
      const expected = encryptedSize(size, header);
      const cipher = encryptAll(new AgeEncryptor(header), plain, sizes);
      assert.equal(cipher.length, expected, `size ${size}, split ${sizes}`);
      const back = await decryptAll(
        new AgeDecryptor({ identities: [me] }),
        cipher,
      );
      assertBytes(back, plain, `size ${size}, split ${sizes}`);
    }
  }
});

Deno.test("encryptedSize() is the header, the nonce and one tag per 64 KiB chunk", async () => {
  const header = await sealHeader({ recipients: [me.recipient] });
  const base = header.size + PAYLOAD_NONCE_SIZE;
  assert.equal(encryptedSize(0, header), base + 16);
  assert.equal(encryptedSize(65536, header), base + 65536 + 16);
  assert.equal(encryptedSize(65537, header), base + 65537 + 32);
  assert.equal(encryptedSize(2 ** 40, header), base + 2 ** 40 + 2 ** 24 * 16);
  assert.throws(() => encryptedSize(-1, header), RangeError);
});

Deno.test("AgeEncryptor output starts with the header, then a fresh nonce per file", async () => {
  const a = await AgeEncryptor.create({ recipients: [me.recipient] });
  const b = await AgeEncryptor.create({ recipients: [me.recipient] });
  const plain = pattern(100);
  const [outA, outB] = [encryptAll(a, plain), encryptAll(b, plain)];
  assertBytes(outA.subarray(0, a.header.size), a.header.bytes);
  const nonceA = outA.subarray(a.header.size, a.header.size + 16);
  const nonceB = outB.subarray(b.header.size, b.header.size + 16);
  assert.notDeepEqual(nonceA, nonceB);
  assert.notDeepEqual(a.header.bytes, b.header.bytes);
});

Deno.test("AgeEncryptor output contains no 16-byte run of the plaintext", async () => {
  const line = new TextEncoder().encode(
    "The quick brown fox, account 1234-5678, PIN 0000.\n",
  );
  const plain = new Uint8Array(200_000);
  for (let at = 0; at < plain.length; at += line.length) {
    plain.set(line.subarray(0, plain.length - at), at);
  }
  const cipher = encryptAll(
    await AgeEncryptor.create({ recipients: [me.recipient] }),
    plain,
  );
  for (let at = 0; at < line.length; at += 8) {
    const run = plain.subarray(at, at + 16);
    assert.ok(!contains(cipher, run), `plaintext at ${at} leaked`);
  }
});

Deno.test("AgeEncryptor.pushInto() writes exactly pushSize() bytes, within maxPushSize()", async () => {
  const encryptor = await AgeEncryptor.create({ recipients: [me.recipient] });
  const bound = encryptor.maxPushSize(1024 * 1024);
  const out = new Uint8Array(bound);
  const plain = pattern(5 * 1024 * 1024);
  let total = 0;
  for (
    const piece of split(plain, [
      1,
      65536,
      1024 * 1024,
      65535,
      300_000,
      1024 * 1024,
    ])
  ) {
    const expected = encryptor.pushSize(piece.length);
    assert.ok(expected <= bound, `${expected} > ${bound}`);
    assert.equal(encryptor.pushInto(piece, out), expected);
    total += expected;
  }
  assert.ok(encryptor.finishSize() <= bound);
  total += encryptor.finishInto(out);
  assert.equal(total, encryptedSize(plain.length, encryptor.header));
  assert.equal(encryptor.plainBytes, plain.length);
  assert.equal(encryptor.cipherBytes, total);
});

Deno.test("AgeEncryptor refuses a short output buffer, writing nothing", async () => {
  const encryptor = await AgeEncryptor.create({ recipients: [me.recipient] });
  const plain = pattern(200_000);
  const need = encryptor.pushSize(plain.length);
  assert.throws(
    () => encryptor.pushInto(plain, new Uint8Array(need - 1)),
    RangeError,
  );
  assert.throws(() => encryptor.finishInto(new Uint8Array(10)), RangeError);
  // Nothing was consumed: a correct retry still yields a valid file.
  const out = [encryptor.push(plain), encryptor.finish()];
  const cipher = new Uint8Array(out[0]!.length + out[1]!.length);
  cipher.set(out[0]!);
  cipher.set(out[1]!, out[0]!.length);
  assertBytes(
    await decryptAll(new AgeDecryptor({ identities: [me] }), cipher),
    plain,
  );
  assert.throws(() => encryptor.push(plain), TypeError);
  assert.throws(() => encryptor.finish(), TypeError);
});

Deno.test("AgeEncryptor encrypts to a passphrase that AgeDecryptor asks for", async () => {
  const encryptor = await AgeEncryptor.create({
    passphrase: "tr0ub4dor&3",
    scryptWorkFactor: 10,
  });
  const plain = pattern(70_000);
  const cipher = encryptAll(encryptor, plain);
  let asked = 0;
  const decryptor = new AgeDecryptor({
    passphrase: () => {
      asked++;
      return Promise.resolve("tr0ub4dor&3");
    },
  });
  assertBytes(await decryptAll(decryptor, cipher, [5]), plain);
  assert.equal(asked, 1);
});

Deno.test("AgeEncryptor encrypts to every recipient given", async () => {
  const other = await AgeIdentity.generate();
  const encryptor = await AgeEncryptor.create({
    recipients: [me.recipient, other.recipient],
  });
  const plain = pattern(1000);
  const cipher = encryptAll(encryptor, plain);
  for (const identity of [me, other]) {
    const back = await decryptAll(
      new AgeDecryptor({ identities: [identity] }),
      cipher,
    );
    assertBytes(back, plain);
  }
});
