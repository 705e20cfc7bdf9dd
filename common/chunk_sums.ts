/**
 * Block hashes of a file, the one home of the rule both sides of a resumed
 * transfer follow (feature "resume"): a file is cut into blocks of `block`
 * bytes (a power of two, at least 1 MiB, so that a file has at most
 * {@linkcode MAX_BLOCKS} blocks), and a block's hash is the first 16 bytes of
 * its SHA-256. A list of block hashes is one `Uint8Array` of concatenated
 * 16-byte digests; on the wire and in a sidecar it is one base64 string.
 *
 * A sidecar is the small JSON file kept beside a partial file: the block
 * size, the length the hashes cover (what was written and synced) and the
 * hashes, plus the fields its owner needs to recognise the partial.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { base64 } from "@scure/base";
import {
  BLOCK_DIGEST_BYTES,
  MAX_BLOCK_SUMS,
  MIN_RESUME_BLOCK,
} from "../protocol/messages.ts";

/** The smallest block size (1 MiB). */
export const MIN_BLOCK = MIN_RESUME_BLOCK;
/** The most blocks a file is cut into (16,384). */
export const MAX_BLOCKS = MAX_BLOCK_SUMS;
/** Bytes of one block's hash: the first 16 bytes of its SHA-256. */
export const DIGEST_BYTES = BLOCK_DIGEST_BYTES;

/** Largest block size (2^50 bytes): enough for any file of 2^53 bytes. */
const MAX_BLOCK = 2 ** 50;

/**
 * The block size for a file of `size` bytes:
 * `max(2^20, nextPow2(ceil(size / 16384)))`.
 *
 * @throws {RangeError} if `size` is not an integer from 0 to 2^53−1.
 * @example
 * ```ts
 * blockSizeFor(400 * 2 ** 20); // 1048576
 * blockSizeFor(100 * 2 ** 30); // 8388608
 * ```
 */
export function blockSizeFor(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(
      `File size ${size} is not an integer from 0 to 2^53-1`,
    );
  }
  const least = Math.ceil(size / MAX_BLOCKS);
  let block = MIN_BLOCK;
  while (block < least) block *= 2;
  return block;
}

/** True when `block` is a power of two from {@linkcode MIN_BLOCK} to 2^50. */
export function isBlockSize(block: number): boolean {
  if (!Number.isSafeInteger(block) || block < MIN_BLOCK || block > MAX_BLOCK) {
    return false;
  }
  return Number.isInteger(Math.log2(block));
}

/** Number of blocks (the last one possibly short) in `length` bytes. */
export function blockCount(length: number, block: number): number {
  return Math.ceil(length / block);
}

/** Number of digests in a list of block hashes. */
export function sumCount(sums: Uint8Array): number {
  return Math.floor(sums.byteLength / DIGEST_BYTES);
}

/** The hash of one block: the first 16 bytes of its SHA-256. */
export function blockDigest(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash("sha256").update(bytes).digest().subarray(0, DIGEST_BYTES),
  );
}

/**
 * Hashes a stream of bytes block by block as they come, in any chunk sizes:
 * {@linkcode BlockHasher.sums} holds the digests of the complete blocks so
 * far, {@linkcode BlockHasher.finish} adds the short last block.
 *
 * @example
 * ```ts
 * const hasher = new BlockHasher(blockSizeFor(size));
 * hasher.update(chunk);
 * const sums = hasher.finish();
 * ```
 */
export class BlockHasher {
  readonly block: number;
  #hash = createHash("sha256");
  #inBlock = 0;
  #length = 0;
  #digests: Uint8Array[] = [];

  /** @throws {RangeError} if `block` is not a valid block size. */
  constructor(block: number) {
    if (!isBlockSize(block)) {
      throw new RangeError(
        `Block size ${block} is not a power of two >= 1 MiB`,
      );
    }
    this.block = block;
  }

  /** Bytes hashed so far. */
  get length(): number {
    return this.#length;
  }

  /** Adds the next bytes of the stream. */
  update(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.byteLength) {
      const take = Math.min(this.block - this.#inBlock, bytes.byteLength - at);
      this.#hash.update(bytes.subarray(at, at + take));
      at += take;
      this.#inBlock += take;
      this.#length += take;
      if (this.#inBlock === this.block) this.#closeBlock();
    }
  }

  /** The digests of the complete blocks so far, concatenated. */
  get sums(): Uint8Array {
    return concatDigests(this.#digests);
  }

  /**
   * The digests of every block so far, the short last one included,
   * without ending the hashing.
   */
  peek(): Uint8Array {
    if (this.#inBlock === 0) return this.sums;
    const partial = new Uint8Array(
      this.#hash.copy().digest().subarray(0, DIGEST_BYTES),
    );
    return concatDigests([...this.#digests, partial]);
  }

  /**
   * The digests of every block, the short last one included; the hasher
   * cannot be used after.
   */
  finish(): Uint8Array {
    if (this.#inBlock > 0) this.#closeBlock();
    return this.sums;
  }

  #closeBlock(): void {
    this.#digests.push(
      new Uint8Array(this.#hash.digest().subarray(0, DIGEST_BYTES)),
    );
    this.#hash = createHash("sha256");
    this.#inBlock = 0;
  }
}

/** The block hashes of a whole buffer (the last block possibly short). */
export function hashBlocks(bytes: Uint8Array, block: number): Uint8Array {
  const hasher = new BlockHasher(block);
  hasher.update(bytes);
  return hasher.finish();
}

/** Options of {@linkcode hashFileBlocks}. */
export interface HashFileOptions {
  /** Where the region starts, a multiple of the block size (default 0). */
  readonly start?: number;
  /** Stops between reads when aborted (throws the signal's reason). */
  readonly signal?: AbortSignal;
}

/** Bytes read at a time by {@linkcode hashFileBlocks}. */
const READ_SIZE = 1024 * 1024;

/**
 * The block hashes of `length` bytes of an open file from `options.start`,
 * read with positioned reads in 1 MiB steps (the file's cursor is moved).
 * A file shorter than the region gives the hashes of what it has (so its
 * last block differs from a full one): compare them, never trust them.
 *
 * @throws {RangeError} for a bad block size or a start not on a block.
 */
export async function hashFileBlocks(
  file: Deno.FsFile,
  length: number,
  block: number,
  options: HashFileOptions = {},
): Promise<Uint8Array> {
  const start = options.start ?? 0;
  const hasher = new BlockHasher(block);
  if (!Number.isSafeInteger(start) || start < 0 || start % block !== 0) {
    throw new RangeError(`Start ${start} is not on a block boundary`);
  }
  await file.seek(start, Deno.SeekMode.Start);
  const buffer = new Uint8Array(Math.min(READ_SIZE, Math.max(length, 1)));
  while (hasher.length < length) {
    options.signal?.throwIfAborted();
    const want = Math.min(buffer.byteLength, length - hasher.length);
    const n = await file.read(buffer.subarray(0, want));
    if (n === null) break;
    hasher.update(buffer.subarray(0, n));
  }
  return hasher.finish();
}

/**
 * Indexes of the blocks whose digests differ between two lists, in
 * increasing order; a block present in one list only differs.
 */
export function differingBlocks(a: Uint8Array, b: Uint8Array): number[] {
  const count = Math.max(sumCount(a), sumCount(b));
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * DIGEST_BYTES;
    if (at + DIGEST_BYTES > a.byteLength || at + DIGEST_BYTES > b.byteLength) {
      out.push(i);
      continue;
    }
    for (let k = 0; k < DIGEST_BYTES; k++) {
      if (a[at + k] !== b[at + k]) {
        out.push(i);
        break;
      }
    }
  }
  return out;
}

/** A list of block hashes as one base64 string. */
export function encodeSums(sums: Uint8Array): string {
  if (sums.byteLength % DIGEST_BYTES !== 0) {
    throw new RangeError(
      `Block hashes of ${sums.byteLength} bytes are not whole digests`,
    );
  }
  return base64.encode(sums);
}

/** Longest base64 text of {@linkcode MAX_BLOCKS} digests. */
export const MAX_SUMS_TEXT = Math.ceil(MAX_BLOCKS * DIGEST_BYTES / 3) * 4;

/**
 * Reads a base64 list of block hashes, its length checked before it is
 * decoded.
 *
 * @throws {RangeError} for text longer than {@linkcode MAX_SUMS_TEXT}, bad
 * base64, or bytes that are not whole 16-byte digests.
 */
export function decodeSums(text: string): Uint8Array {
  if (text.length > MAX_SUMS_TEXT) {
    throw new RangeError(`More than ${MAX_BLOCKS} block hashes`);
  }
  let bytes: Uint8Array;
  try {
    bytes = base64.decode(text);
  } catch (cause) {
    throw new RangeError("Block hashes are not valid base64", { cause });
  }
  if (bytes.byteLength % DIGEST_BYTES !== 0) {
    throw new RangeError(
      `Block hashes of ${bytes.byteLength} bytes are not whole digests`,
    );
  }
  return bytes;
}

/** What a sidecar file records beside a partial file. */
export interface Sidecar {
  /** The block size of the hashes. */
  readonly block: number;
  /**
   * The bytes from the start of the partial that were written and synced,
   * and that `sums` covers (its last block may be short).
   */
  readonly length: number;
  /**
   * The hashes of the blocks of the first `length` bytes, or none (an
   * empty array) when the owner does not record them and hashes the
   * partial itself when it is resumed.
   */
  readonly sums: Uint8Array;
  /** The owner's own fields (names, sizes, times): strings and numbers. */
  readonly fields: Readonly<Record<string, string | number>>;
}

/** The `format` value that marks a sidecar. */
const SIDECAR_FORMAT = "fts-chunk-sums/1";
/** Largest sidecar text accepted: the hashes plus 64 KiB of fields. */
export const MAX_SIDECAR_TEXT = MAX_SUMS_TEXT + 64 * 1024;

/** A sidecar as JSON text (see {@linkcode decodeSidecar}). */
export function encodeSidecar(sidecar: Sidecar): string {
  checkSidecar(sidecar.block, sidecar.length, sidecar.sums);
  return JSON.stringify({
    format: SIDECAR_FORMAT,
    block: sidecar.block,
    length: sidecar.length,
    sums: encodeSums(sidecar.sums),
    fields: sidecar.fields,
  });
}

/**
 * Reads a sidecar written by {@linkcode encodeSidecar}, checking that the
 * block size is valid and that the hashes, if any, cover exactly `length`
 * bytes.
 *
 * @throws {SyntaxError} for anything else (a foreign, damaged or
 * oversized file).
 */
export function decodeSidecar(text: string): Sidecar {
  if (text.length > MAX_SIDECAR_TEXT) {
    throw new SyntaxError("The sidecar is too large");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new SyntaxError("The sidecar is not JSON", { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SyntaxError("The sidecar is not a JSON object");
  }
  const o = value as Record<string, unknown>;
  if (o.format !== SIDECAR_FORMAT) {
    throw new SyntaxError("The sidecar has an unknown format");
  }
  const { block, length, sums, fields } = o;
  if (
    typeof block !== "number" || typeof length !== "number" ||
    typeof sums !== "string" || typeof fields !== "object" ||
    fields === null || Array.isArray(fields)
  ) {
    throw new SyntaxError("The sidecar lacks a field");
  }
  const own: Record<string, string | number> = {};
  for (const [key, v] of Object.entries(fields)) {
    if (typeof v !== "string" && typeof v !== "number") {
      throw new SyntaxError(`The sidecar field "${key}" is not a scalar`);
    }
    own[key] = v;
  }
  try {
    const bytes = decodeSums(sums);
    checkSidecar(block, length, bytes);
    return { block, length, sums: bytes, fields: own };
  } catch (cause) {
    throw new SyntaxError("The sidecar's block hashes are damaged", { cause });
  }
}

function checkSidecar(block: number, length: number, sums: Uint8Array): void {
  if (!isBlockSize(block)) {
    throw new RangeError(`Block size ${block} is not a power of two >= 1 MiB`);
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`Length ${length} is not an integer from 0 to 2^53-1`);
  }
  if (
    sums.byteLength !== 0 &&
    sums.byteLength !== blockCount(length, block) * DIGEST_BYTES
  ) {
    throw new RangeError(
      `${sumCount(sums)} block hashes do not cover ${length} bytes`,
    );
  }
}

function concatDigests(digests: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(digests.length * DIGEST_BYTES);
  digests.forEach((d, i) => out.set(d, i * DIGEST_BYTES));
  return out;
}
