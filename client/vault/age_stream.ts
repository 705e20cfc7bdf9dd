/**
 * The age payload (age-encryption.org/v1, "Payload"): the STREAM construction
 * over ChaCha20-Poly1305 with 64 KiB chunks, on `node:crypto` (native: about
 * 1.2-1.5 GB/s here against 0.15-0.25 GB/s for the pure-JS reference
 * implementation; see bench/vault_bench.ts).
 *
 * Chunk `i` is sealed with the 12-byte nonce `i` (11 bytes, big-endian) ‖
 * `last` (1 byte: 1 for the final chunk, else 0). Every chunk but the final
 * holds exactly 64 KiB of plaintext; the final one holds 1..64 KiB, or 0 bytes
 * only when the whole plaintext is empty.
 *
 * Neither side can know that a chunk is the final one until its input ends,
 * so both keep the latest chunk back until more input arrives or `finish…()`
 * is called: memory stays under one chunk whatever the input sizes.
 *
 * @module
 */

import { createCipheriv, createDecipheriv, type KeyObject } from "node:crypto";
import { VaultError } from "./vault_error.ts";

/** Plaintext bytes per payload chunk (64 KiB). */
export const CHUNK_SIZE = 64 * 1024;
/** Poly1305 tag bytes after each chunk. */
const TAG_SIZE = 16;
/** Ciphertext bytes of a full chunk. */
export const SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;

const AEAD = "chacha20-poly1305";
const AEAD_OPTIONS = { authTagLength: TAG_SIZE } as const;

/**
 * Ciphertext size of a payload of `plainSize` bytes (header and nonce not
 * included). Throws `RangeError` for a negative or fractional size.
 */
export function sealedPayloadSize(plainSize: number): number {
  checkSize(plainSize, "plainSize");
  const chunks = Math.max(1, Math.ceil(plainSize / CHUNK_SIZE));
  return plainSize + chunks * TAG_SIZE;
}

/** Seals plaintext into age payload chunks (the encrypting half). */
export class StreamSealer {
  readonly #key: KeyObject;
  readonly #nonce = new Uint8Array(12);
  readonly #held = new HeldChunk(CHUNK_SIZE);
  #counter = 0;
  #finished = false;

  /** `key` is the 32-byte payload key (see `AgeHeader.payloadKey`). */
  constructor(key: KeyObject) {
    this.#key = key;
  }

  /** Whether {@linkcode StreamSealer.finishInto} has run. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Exact bytes the next `pushInto` of `plainLength` bytes writes. */
  pushSize(plainLength: number): number {
    const total = this.#held.length + plainLength;
    return Math.max(0, Math.ceil(total / CHUNK_SIZE) - 1) * SEALED_CHUNK_SIZE;
  }

  /** Exact bytes `finishInto` writes now. */
  finishSize(): number {
    return this.#held.length + TAG_SIZE;
  }

  /**
   * Seals every chunk of `plain` that cannot be the final one into `out` and
   * keeps the rest (copied: the caller may reuse `plain` at once). Returns
   * the bytes written, exactly {@linkcode StreamSealer.pushSize}. Throws
   * `RangeError` if `out` is too small, `TypeError` after finishing.
   */
  pushInto(plain: Uint8Array, out: Uint8Array): number {
    this.#checkOpen();
    const need = this.pushSize(plain.length);
    if (out.length < need) {
      throw new RangeError(`Output of ${out.length} bytes < ${need} needed`);
    }
    let written = 0;
    this.#held.push(plain, (chunk) => {
      written += this.#seal(chunk, out, written, 0);
    });
    return written;
  }

  /**
   * Seals the final chunk into `out`; returns the bytes written, exactly
   * {@linkcode StreamSealer.finishSize}. Throws `RangeError` if `out` is too
   * small, `TypeError` if called twice.
   */
  finishInto(out: Uint8Array): number {
    this.#checkOpen();
    const need = this.finishSize();
    if (out.length < need) {
      throw new RangeError(`Output of ${out.length} bytes < ${need} needed`);
    }
    const written = this.#seal(this.#held.bytes, out, 0, 1);
    this.#finished = true;
    this.#held.clear();
    return written;
  }

  #checkOpen(): void {
    if (this.#finished) throw new TypeError("The payload is already finished");
  }

  #seal(chunk: Uint8Array, out: Uint8Array, at: number, last: 0 | 1): number {
    setNonce(this.#nonce, this.#counter, last);
    const cipher = createCipheriv(AEAD, this.#key, this.#nonce, AEAD_OPTIONS);
    const body = cipher.update(chunk);
    const tail = cipher.final();
    out.set(body, at);
    out.set(tail, at + body.length);
    out.set(cipher.getAuthTag(), at + body.length + tail.length);
    this.#counter++;
    return chunk.length + TAG_SIZE;
  }
}

/**
 * Opens age payload chunks (the decrypting half). Only authenticated
 * plaintext is ever returned.
 */
export class StreamOpener {
  readonly #key: KeyObject;
  readonly #nonce = new Uint8Array(12);
  readonly #held = new HeldChunk(SEALED_CHUNK_SIZE);
  #counter = 0;
  #finished = false;

  /** `key` is the 32-byte payload key (see `AgeHeader.payloadKey`). */
  constructor(key: KeyObject) {
    this.#key = key;
  }

  /** Whether {@linkcode StreamOpener.finish} has succeeded. */
  get finished(): boolean {
    return this.#finished;
  }

  /**
   * Opens every chunk of `sealed` known not to be the final one and keeps the
   * rest (copied). Returns the plaintext (a new array, possibly empty).
   * Throws {@linkcode VaultError} ("chunk_auth", "trailing_data") when a
   * chunk fails authentication, `TypeError` after finishing.
   */
  push(sealed: Uint8Array): Uint8Array {
    if (this.#finished) throw new TypeError("The payload is already finished");
    const parts: Uint8Array[] = [];
    this.#held.push(sealed, (chunk) => {
      parts.push(this.#openMiddle(chunk));
    });
    return concat(parts);
  }

  /**
   * Ends the payload: opens the final chunk and returns its plaintext.
   * Throws {@linkcode VaultError}: "truncated" if the payload stops before
   * its final chunk, "chunk_auth" if the final chunk fails authentication,
   * "malformed_payload" for an empty final chunk after others.
   */
  finish(): Uint8Array {
    if (this.#finished) throw new TypeError("The payload is already finished");
    const chunk = this.#held.bytes;
    if (chunk.length < TAG_SIZE) {
      throw VaultError.decrypting(
        "truncated",
        `the file ends inside chunk ${this.#counter}`,
      );
    }
    const plain = this.#open(chunk, 1);
    if (plain === null) {
      if (this.#open(chunk, 0) !== null) {
        throw VaultError.decrypting(
          "truncated",
          `the file ends after chunk ${this.#counter}, before its final chunk`,
        );
      }
      throw VaultError.decrypting(
        "chunk_auth",
        `final chunk ${this.#counter} failed authentication (modified, damaged or wrong key)`,
      );
    }
    if (plain.length === 0 && this.#counter > 0) {
      throw VaultError.decrypting(
        "malformed_payload",
        `final chunk ${this.#counter} is empty`,
      );
    }
    this.#finished = true;
    this.#held.clear();
    return plain;
  }

  #openMiddle(chunk: Uint8Array): Uint8Array {
    const plain = this.#open(chunk, 0);
    if (plain !== null) {
      this.#counter++;
      return plain;
    }
    if (this.#open(chunk, 1) !== null) {
      throw VaultError.decrypting(
        "trailing_data",
        `data follows the final chunk ${this.#counter}`,
      );
    }
    throw VaultError.decrypting(
      "chunk_auth",
      `chunk ${this.#counter} failed authentication (modified, reordered or damaged)`,
    );
  }

  /** The plaintext of `chunk` at the current counter, or null if forged. */
  #open(chunk: Uint8Array, last: 0 | 1): Uint8Array | null {
    setNonce(this.#nonce, this.#counter, last);
    const decipher = createDecipheriv(
      AEAD,
      this.#key,
      this.#nonce,
      AEAD_OPTIONS,
    );
    const bodyLength = chunk.length - TAG_SIZE;
    decipher.setAuthTag(chunk.subarray(bodyLength));
    const body = decipher.update(chunk.subarray(0, bodyLength));
    try {
      const tail = decipher.final();
      return tail.length === 0 ? body : concat([body, tail]);
    } catch {
      return null;
    }
  }
}

/**
 * The latest chunk of a stream, kept back until more input shows it is not
 * the final one. Shared by both halves: {@linkcode StreamSealer} holds
 * plaintext chunks, {@linkcode StreamOpener} ciphertext chunks.
 */
class HeldChunk {
  readonly #buf: Uint8Array;
  #length = 0;

  /** Holds chunks of `size` bytes. */
  constructor(size: number) {
    this.#buf = new Uint8Array(size);
  }

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** The bytes held (a view, valid until the next push or clear). */
  get bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#length);
  }

  /**
   * Appends `input`, passing every whole chunk that cannot be the final one
   * to `emit` in order, and copies the rest (the caller may reuse `input`
   * at once). If `emit` throws, the chunk it was given stays held.
   */
  push(input: Uint8Array, emit: (chunk: Uint8Array) => void): void {
    const size = this.#buf.length;
    if (this.#length > 0) {
      const take = Math.min(size - this.#length, input.length);
      this.#buf.set(input.subarray(0, take), this.#length);
      this.#length += take;
      input = input.subarray(take);
      if (input.length === 0) return;
      emit(this.#buf);
      this.#length = 0;
    }
    while (input.length > size) {
      emit(input.subarray(0, size));
      input = input.subarray(size);
    }
    this.#buf.set(input);
    this.#length = input.length;
  }

  /** Forgets the bytes held. */
  clear(): void {
    this.#length = 0;
  }
}

function setNonce(nonce: Uint8Array, counter: number, last: 0 | 1): void {
  if (counter > Number.MAX_SAFE_INTEGER) {
    throw new RangeError("The age payload has too many chunks");
  }
  const high = Math.floor(counter / 0x1_0000_0000);
  const low = counter >>> 0;
  nonce[3] = high >>> 24;
  nonce[4] = high >>> 16;
  nonce[5] = high >>> 8;
  nonce[6] = high;
  nonce[7] = low >>> 24;
  nonce[8] = low >>> 16;
  nonce[9] = low >>> 8;
  nonce[10] = low;
  nonce[11] = last;
}

function checkSize(size: number, name: string): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`${name} must be a non-negative integer: ${size}`);
  }
}

/** Joins `parts` into one array (no copy when there is only one). */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
