/**
 * Test data and plumbing for the vault tests: deterministic plaintexts, and
 * whole-buffer encrypt/decrypt through the streaming API with chosen splits.
 *
 * @module
 */

import { concat } from "../common/bytes.ts";
import type { AgeDecryptor } from "../../../client/vault/decryptor.ts";
import type { AgeEncryptor } from "../../../client/vault/encryptor.ts";

/** Sizes around the 64 KiB chunk boundary, plus a multi-MiB odd size. */
export const EDGE_SIZES = [0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 7];

/**
 * `size` bytes of a deterministic pattern (xorshift32 from `seed`), with no
 * repeating 64 KiB block, so swapped chunks would show.
 */
export function pattern(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Joins arrays into one (always a new array). */
export function join(parts: readonly Uint8Array[]): Uint8Array {
  return concat([...parts]);
}

/** Cuts `bytes` into pieces whose lengths cycle through `sizes`. */
export function split(
  bytes: Uint8Array,
  sizes: readonly number[],
): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

/**
 * Encrypts `plain` fed in pieces of `sizes` (through one reused input
 * buffer, as the upload loop does), checking that every call writes exactly
 * what `pushSize`/`finishSize` promised.
 */
export function encryptAll(
  encryptor: AgeEncryptor,
  plain: Uint8Array,
  sizes: readonly number[] = [1024 * 1024],
): Uint8Array {
  const parts: Uint8Array[] = [];
  const input = new Uint8Array(Math.max(...sizes));
  for (const piece of split(plain, sizes)) {
    input.set(piece);
    const expected = encryptor.pushSize(piece.length);
    const out = encryptor.push(input.subarray(0, piece.length));
    input.fill(0xee); // the encryptor must not keep a view of its input
    if (out.length !== expected) {
      throw new Error(
        `push wrote ${out.length} bytes, pushSize said ${expected}`,
      );
    }
    parts.push(out);
  }
  const expected = encryptor.finishSize();
  const last = encryptor.finish();
  if (last.length !== expected) {
    throw new Error(
      `finish wrote ${last.length} bytes, finishSize said ${expected}`,
    );
  }
  parts.push(last);
  return join(parts);
}

/**
 * Decrypts `cipher` fed in pieces of `sizes` (through one reused buffer, as
 * the download loop does) and returns the joined plaintext.
 */
export async function decryptAll(
  decryptor: AgeDecryptor,
  cipher: Uint8Array,
  sizes: readonly number[] = [1024 * 1024],
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const input = new Uint8Array(Math.max(...sizes));
  for (const piece of split(cipher, sizes)) {
    input.set(piece);
    parts.push(await decryptor.push(input.subarray(0, piece.length)));
    input.fill(0xee);
  }
  parts.push(decryptor.finish());
  return join(parts);
}

/** Whether `haystack` contains `needle` anywhere. */
export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

/**
 * Throws unless `actual` and `expected` hold the same bytes, naming the
 * first difference (node:assert's deepEqual diff explodes on large arrays).
 */
export function assertBytes(
  actual: Uint8Array,
  expected: Uint8Array,
  message = "bytes differ",
): void {
  const length = Math.min(actual.length, expected.length);
  for (let i = 0; i < length; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(
        `${message}: first difference at byte ${i} of ${expected.length}`,
      );
    }
  }
  if (actual.length !== expected.length) {
    throw new Error(
      `${message}: ${actual.length} bytes, expected ${expected.length}`,
    );
  }
}
