/**
 * The encrypting half of uploads (`put --encrypt`): the local file is read
 * in whole 64 KiB age chunks and sealed straight into the send buffers, so
 * the ciphertext leaves in DATA frames without another copy. Everything the
 * server sees (the PUT's size, DATA offsets, the SHA-256 in PUT_END) is the
 * ciphertext's; the age AEAD protects the plaintext end to end. No zstd:
 * ciphertext does not compress.
 *
 * @module
 */

import { ReasonError } from "../errors.ts";
import { readFull } from "./local_files.ts";
import { CHUNK_SIZE, SEALED_CHUNK_SIZE } from "../vault/age_stream.ts";
import { type AgeEncryptor, encryptedSize } from "../vault/encryptor.ts";

/**
 * Plaintext bytes to read per DATA frame: the largest multiple of 64 KiB
 * whose ciphertext, header and nonce included, fits in one chunk of
 * `chunkSize` bytes (15 age chunks for the usual 1 MiB); at least one age
 * chunk, whose ciphertext is then split over several frames.
 */
export function plainReadSize(chunkSize: number, enc: AgeEncryptor): number {
  const overhead = enc.maxPushSize(0) - SEALED_CHUNK_SIZE; // header + nonce
  const chunks = Math.floor((chunkSize - overhead) / SEALED_CHUNK_SIZE);
  return Math.max(1, chunks) * CHUNK_SIZE;
}

/** A local file on its way to the server as an age file. */
export class SealedFile {
  readonly #file: Deno.FsFile;
  readonly #plainSize: number;
  readonly #enc: AgeEncryptor;
  #plainLeft: number;
  #plain: Uint8Array | null = null;
  readonly #onPlain: ((plain: Uint8Array) => void) | undefined;
  /** The encryption reuses kept material (see sealed_resume.ts). */
  readonly reused: boolean;

  /**
   * The `size` bytes of `source.file` (open at its start), to be sealed by
   * `enc`, which must not have been used yet.
   */
  constructor(
    source: { readonly file: Deno.FsFile; readonly size: number },
    enc: AgeEncryptor,
    options: {
      /** Called with each piece of plaintext before it is sealed. */
      onPlain?: (plain: Uint8Array) => void;
      reused?: boolean;
    } = {},
  ) {
    this.#onPlain = options.onPlain;
    this.reused = options.reused ?? false;
    this.#file = source.file;
    this.#plainSize = source.size;
    this.#enc = enc;
    this.#plainLeft = source.size;
  }

  /** The exact size of the age file: what the PUT declares. */
  get size(): number {
    return encryptedSize(this.#plainSize, this.#enc.header);
  }

  /**
   * Reads the whole file and seals it into `out`, exactly {@linkcode size}
   * bytes: for uploads small enough to go out in one write.
   *
   * @throws {ReasonError} `io` when the file shrank since it was opened.
   */
  sealInto(out: Uint8Array): void {
    const plain = new Uint8Array(this.#plainSize);
    if (readFull(this.#file, plain) < this.#plainSize) throw shrank();
    this.#onPlain?.(plain);
    let written = this.#enc.pushInto(plain, out);
    written += this.#enc.finishInto(out.subarray(written));
    if (written !== out.byteLength) {
      throw new Error(
        `Sealed ${written} bytes where ${out.byteLength} were due`,
      );
    }
  }

  /**
   * The most bytes one {@linkcode sealNext} writes with chunks of
   * `chunkSize`: size the output buffer with it.
   */
  stepCapacity(chunkSize: number): number {
    return this.#enc.maxPushSize(plainReadSize(chunkSize, this.#enc)) +
      SEALED_CHUNK_SIZE;
  }

  /**
   * Whether every {@linkcode sealNext} with chunks of `chunkSize` writes at
   * most one chunk (false only for chunks too small for one age chunk).
   */
  fitsChunk(chunkSize: number): boolean {
    return this.#enc.maxPushSize(plainReadSize(chunkSize, this.#enc)) <=
      chunkSize;
  }

  /**
   * Reads the next piece of the file and seals it into `out` (at least
   * {@linkcode stepCapacity} bytes): whole age chunks filling one DATA
   * chunk of `chunkSize`, and the final chunk when it fits beside them.
   * Returns the ciphertext bytes written (more than `chunkSize` only when a
   * chunk cannot hold one age chunk), the plaintext bytes read, and whether
   * the age file is now complete.
   *
   * @throws {ReasonError} `io` when the file shrank since it was opened.
   */
  sealNext(
    out: Uint8Array,
    chunkSize: number,
  ): { length: number; plain: number; finished: boolean } {
    const enc = this.#enc;
    const readSize = plainReadSize(chunkSize, enc);
    const want = Math.min(readSize, this.#plainLeft);
    let length = 0;
    if (want > 0) {
      this.#plain ??= new Uint8Array(readSize);
      const input = this.#plain.subarray(0, want);
      if (readFull(this.#file, input) < want) throw shrank();
      this.#onPlain?.(input);
      length = enc.pushInto(input, out);
      this.#plainLeft -= want;
    }
    let finished = false;
    if (
      this.#plainLeft === 0 &&
      (length === 0 || length + enc.finishSize() <= chunkSize)
    ) {
      length += enc.finishInto(out.subarray(length));
      finished = true;
    }
    return { length, plain: want, finished };
  }
}

function shrank(): ReasonError {
  return new ReasonError("io", "the local file shrank while it was being sent");
}
