import assert from "node:assert/strict";
import {
  createCipheriv,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import {
  CHUNK_SIZE,
  SEALED_CHUNK_SIZE,
  sealedPayloadSize,
  StreamOpener,
  StreamSealer,
} from "../../../client/vault/age_stream.ts";
import { VaultError } from "../../../client/vault/vault_error.ts";
import {
  assertBytes,
  EDGE_SIZES,
  join,
  pattern,
  split,
} from "../../_helpers/vault/data.ts";

function newKey(): KeyObject {
  return createSecretKey(randomBytes(32));
}

function seal(
  key: KeyObject,
  plain: Uint8Array,
  sizes: readonly number[],
): Uint8Array {
  const sealer = new StreamSealer(key);
  const parts: Uint8Array[] = [];
  for (const piece of split(plain, sizes)) {
    const out = new Uint8Array(sealer.pushSize(piece.length));
    assert.equal(sealer.pushInto(piece, out), out.length);
    parts.push(out);
  }
  const out = new Uint8Array(sealer.finishSize());
  assert.equal(sealer.finishInto(out), out.length);
  parts.push(out);
  return join(parts);
}

/** Feeds `sealed` to a new opener; returns what it released and the error. */
function open(
  key: KeyObject,
  sealed: Uint8Array,
  sizes: readonly number[] = [100_000],
): { plain: Uint8Array; error: unknown } {
  const opener = new StreamOpener(key);
  const parts: Uint8Array[] = [];
  try {
    for (const piece of split(sealed, sizes)) parts.push(opener.push(piece));
    parts.push(opener.finish());
    return { plain: join(parts), error: null };
  } catch (error) {
    return { plain: join(parts), error };
  }
}

/** One raw chunk, sealed by hand with node:crypto (to forge layouts). */
function rawChunk(
  key: KeyObject,
  counter: number,
  last: 0 | 1,
  plain: Uint8Array,
): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setUint32(7, counter);
  nonce[11] = last;
  const cipher = createCipheriv("chacha20-poly1305", key, nonce, {
    authTagLength: 16,
  });
  return join([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function assertReason(error: unknown, reason: string, code: string): void {
  assert.ok(error instanceof VaultError, `expected a VaultError, got ${error}`);
  assert.equal(error.reason, reason, error.message);
  assert.equal(error.code, code);
}

Deno.test("sealedPayloadSize() adds one tag per 64 KiB chunk, one for empty input", () => {
  assert.equal(sealedPayloadSize(0), 16);
  assert.equal(sealedPayloadSize(1), 17);
  assert.equal(sealedPayloadSize(65535), 65551);
  assert.equal(sealedPayloadSize(65536), 65552);
  assert.equal(sealedPayloadSize(65537), 65537 + 32);
  assert.equal(sealedPayloadSize(3 * 65536), 3 * 65552);
  assert.throws(() => sealedPayloadSize(-1), RangeError);
  assert.throws(() => sealedPayloadSize(1.5), RangeError);
});

Deno.test("StreamSealer and StreamOpener round-trip edge sizes under any split", () => {
  const key = newKey();
  const splits = [[1 << 20], [1], [65536], [65535, 2], [7, 65536 * 2 + 3, 100]];
  for (const size of EDGE_SIZES) {
    const plain = pattern(size, size + 1);
    for (const sizes of splits) {
      if (sizes[0] === 1 && size > 70_000) continue; // byte-by-byte: small only
      const sealed = seal(key, plain, sizes);
      assert.equal(sealed.length, sealedPayloadSize(size), `size ${size}`);
      for (
        const openSizes of [[1 << 20], [SEALED_CHUNK_SIZE], [
          SEALED_CHUNK_SIZE + 1,
        ], [9999]]
      ) {
        const { plain: back, error } = open(key, sealed, openSizes);
        assert.equal(error, null);
        assertBytes(
          back,
          plain,
          `size ${size}, split ${sizes}, open ${openSizes}`,
        );
      }
    }
  }
});

Deno.test("StreamSealer.pushInto() copies what it keeps: the caller may reuse its buffer", () => {
  const key = newKey();
  const plain = pattern(100_000);
  const sealer = new StreamSealer(key);
  const input = plain.slice();
  const first = new Uint8Array(sealer.pushSize(input.length));
  sealer.pushInto(input, first);
  input.fill(0);
  const last = new Uint8Array(sealer.finishSize());
  sealer.finishInto(last);
  assertBytes(open(key, join([first, last])).plain, plain);
});

Deno.test("StreamSealer.pushInto() refuses a short output buffer and use after finish", () => {
  const sealer = new StreamSealer(newKey());
  assert.throws(
    () =>
      sealer.pushInto(
        new Uint8Array(65537),
        new Uint8Array(SEALED_CHUNK_SIZE - 1),
      ),
    RangeError,
  );
  sealer.finishInto(new Uint8Array(sealer.finishSize()));
  assert.throws(
    () => sealer.pushInto(new Uint8Array(1), new Uint8Array(0)),
    TypeError,
  );
  assert.throws(() => sealer.finishInto(new Uint8Array(100)), TypeError);
});

Deno.test("StreamSealer uses the age nonce: counter, then the last-chunk flag", () => {
  const key = newKey();
  const plain = pattern(65536 + 10);
  const expected = join([
    rawChunk(key, 0, 0, plain.subarray(0, 65536)),
    rawChunk(key, 1, 1, plain.subarray(65536)),
  ]);
  assertBytes(seal(key, plain, [1 << 20]), expected);
  assertBytes(
    seal(key, new Uint8Array(0), [1]),
    rawChunk(key, 0, 1, new Uint8Array(0)),
  );
});

Deno.test("StreamOpener refuses a flipped bit and releases nothing from that chunk on", () => {
  const key = newKey();
  const plain = pattern(3 * 65536 + 5);
  const sealed = seal(key, plain, [1 << 20]);
  const tampered = sealed.slice();
  tampered[SEALED_CHUNK_SIZE + 100]! ^= 1; // inside chunk 1
  const { plain: released, error } = open(key, tampered, [1000]);
  assertReason(error, "chunk_auth", "checksum_mismatch");
  assertBytes(released, plain.subarray(0, 65536));
});

Deno.test("StreamOpener refuses swapped chunks", () => {
  const key = newKey();
  const sealed = seal(key, pattern(3 * 65536 + 5), [1 << 20]);
  const chunk0 = sealed.subarray(0, SEALED_CHUNK_SIZE);
  const chunk1 = sealed.subarray(SEALED_CHUNK_SIZE, 2 * SEALED_CHUNK_SIZE);
  const swapped = join([
    chunk1,
    chunk0,
    sealed.subarray(2 * SEALED_CHUNK_SIZE),
  ]);
  const { plain, error } = open(key, swapped);
  assertReason(error, "chunk_auth", "checksum_mismatch");
  assert.equal(plain.length, 0);
});

Deno.test("StreamOpener refuses a payload cut at a chunk boundary", () => {
  const key = newKey();
  const sealed = seal(key, pattern(3 * 65536 + 5), [1 << 20]);
  for (const chunks of [1, 2, 3]) {
    const { error } = open(key, sealed.subarray(0, chunks * SEALED_CHUNK_SIZE));
    assertReason(error, "truncated", "checksum_mismatch");
  }
});

Deno.test("StreamOpener refuses a payload cut inside a chunk or before any chunk", () => {
  const key = newKey();
  const sealed = seal(key, pattern(65536 + 100), [1 << 20]);
  for (const length of [0, 1, 15, SEALED_CHUNK_SIZE + 10, sealed.length - 1]) {
    const { error } = open(key, sealed.subarray(0, length));
    assert.ok(error instanceof VaultError, `length ${length}`);
    assert.equal(
      error.code,
      "checksum_mismatch",
      `length ${length}: ${error.message}`,
    );
  }
});

Deno.test("StreamOpener refuses data after a full final chunk", () => {
  const key = newKey();
  const sealed = seal(key, pattern(2 * 65536), [1 << 20]);
  for (const extra of [1, 16, 17, SEALED_CHUNK_SIZE]) {
    const { error } = open(key, join([sealed, new Uint8Array(extra)]));
    assertReason(error, "trailing_data", "checksum_mismatch");
  }
});

Deno.test("StreamOpener refuses data after a short final chunk", () => {
  const key = newKey();
  const sealed = seal(key, pattern(65536 + 100), [1 << 20]);
  const { error } = open(key, join([sealed, new Uint8Array([0])]));
  assertReason(error, "chunk_auth", "checksum_mismatch");
});

Deno.test("StreamOpener refuses a second final chunk appended after the first", () => {
  const key = newKey();
  const sealed = seal(key, pattern(100), [1 << 20]);
  const { error } = open(
    key,
    join([sealed, rawChunk(key, 1, 1, pattern(100))]),
  );
  assert.ok(error instanceof VaultError);
  assert.equal(error.code, "checksum_mismatch");
});

Deno.test("StreamOpener refuses an empty final chunk after a full one", () => {
  const key = newKey();
  const plain = pattern(65536);
  const forged = join([
    rawChunk(key, 0, 0, plain),
    rawChunk(key, 1, 1, new Uint8Array(0)),
  ]);
  const { error } = open(key, forged);
  assertReason(error, "malformed_payload", "checksum_mismatch");
});

Deno.test("StreamOpener refuses a payload sealed under another key", () => {
  const sealed = seal(newKey(), pattern(200_000), [1 << 20]);
  const { plain, error } = open(newKey(), sealed);
  assertReason(error, "chunk_auth", "checksum_mismatch");
  assert.equal(plain.length, 0);
});

Deno.test("StreamOpener.push() holds back at most one sealed chunk", () => {
  const key = newKey();
  const sealed = seal(key, pattern(10 * CHUNK_SIZE), [1 << 20]);
  const opener = new StreamOpener(key);
  let pushed = 0;
  let released = 0;
  for (const piece of split(sealed, [4096])) {
    released += opener.push(piece).length;
    pushed += piece.length;
    assert.equal(released % CHUNK_SIZE, 0);
    const held = pushed - (released / CHUNK_SIZE) * SEALED_CHUNK_SIZE;
    assert.ok(held > 0 && held <= SEALED_CHUNK_SIZE, `held ${held}`);
  }
  assert.equal(released, 9 * CHUNK_SIZE);
  assert.equal(opener.finish().length, CHUNK_SIZE);
  assert.throws(() => opener.finish(), TypeError);
});
