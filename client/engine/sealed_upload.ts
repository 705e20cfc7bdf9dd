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

import { createHash } from "node:crypto";
import { DATA_PREFIX, writeDataPrefix } from "../../protocol/messages.ts";
import type { SessionCore } from "./session_core.ts";
import { ReasonError } from "../errors.ts";
import { readFull } from "./local_files.ts";
import type { PendingRequest } from "./request_table.ts";
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

/** Options of {@linkcode SealedFile.stream}. */
export interface StreamSealedOptions {
  signal?: AbortSignal | undefined;
  /** Called with the count of plaintext bytes after each frame. */
  onBytes?: ((n: number) => void) | undefined;
}

/** A local file on its way to the server as an age file. */
export class SealedFile {
  readonly #file: Deno.FsFile;
  readonly #plainSize: number;
  readonly #enc: AgeEncryptor;

  /**
   * The `size` bytes of `source.file` (open at its start), to be sealed by
   * `enc`, which must not have been used yet.
   */
  constructor(
    source: { readonly file: Deno.FsFile; readonly size: number },
    enc: AgeEncryptor,
  ) {
    this.#file = source.file;
    this.#plainSize = source.size;
    this.#enc = enc;
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
    let written = this.#enc.pushInto(plain, out);
    written += this.#enc.finishInto(out.subarray(written));
    if (written !== out.byteLength) {
      throw new Error(
        `Sealed ${written} bytes where ${out.byteLength} were due`,
      );
    }
  }

  /**
   * Streams the sealed file as the DATA frames of `request` and returns the
   * SHA-256 of the ciphertext sent. Two buffers: while one is on the wire,
   * the next chunk is read, sealed and hashed into the other. Returns early,
   * with "", when the server refused the upload meanwhile.
   *
   * @throws {ReasonError} `io` when the file shrank since it was opened.
   */
  async stream(
    core: SessionCore,
    request: PendingRequest,
    options: StreamSealedOptions = {},
  ): Promise<string> {
    const enc = this.#enc;
    const readSize = plainReadSize(core.chunkSize, enc);
    const plain = new Uint8Array(readSize);
    // A push, and the final chunk when it fits beside it.
    const capacity = DATA_PREFIX + enc.maxPushSize(readSize) +
      SEALED_CHUNK_SIZE;
    const slots = [new Uint8Array(capacity), new Uint8Array(capacity)];
    const hash = createHash("sha256");
    let writing: Promise<void> = Promise.resolve();
    let plainLeft = this.#plainSize;
    let offset = 0;
    let slot = 0;
    let finished = false;
    try {
      while (!finished) {
        if (request.failed) return "";
        options.signal?.throwIfAborted();
        const buf = slots[slot]!;
        const out = buf.subarray(DATA_PREFIX);
        const want = Math.min(readSize, plainLeft);
        let length = 0;
        if (want > 0) {
          const input = plain.subarray(0, want);
          if (readFull(this.#file, input) < want) throw shrank();
          length = enc.pushInto(input, out);
          plainLeft -= want;
        }
        if (
          plainLeft === 0 &&
          (length === 0 || length + enc.finishSize() <= core.chunkSize)
        ) {
          length += enc.finishInto(out.subarray(length));
          finished = true;
        }
        if (length > 0) {
          hash.update(out.subarray(0, length));
          await writing;
          writing = sendFrames(core, request.id, buf, { offset, length });
          offset += length;
          slot ^= 1;
        }
        if (want > 0) options.onBytes?.(want);
      }
      await writing;
      return hash.digest("hex");
    } finally {
      // Never let a write outlive the upload unobserved.
      await writing.catch(() => {});
    }
  }
}

/**
 * Sends the `length` bytes at `buf[DATA_PREFIX…]` as DATA at `offset`: in
 * place as one frame when they fit in a chunk, else copied into as many
 * frames as needed (only for servers with chunks under ~130 KiB).
 */
function sendFrames(
  core: SessionCore,
  id: number,
  buf: Uint8Array,
  at: { offset: number; length: number },
): Promise<void> {
  const { offset, length } = at;
  const chunkSize = core.chunkSize;
  if (length <= chunkSize) {
    writeDataPrefix(buf, id, offset, length);
    return core.conn.writeAll(buf.subarray(0, DATA_PREFIX + length));
  }
  const count = Math.ceil(length / chunkSize);
  const frames = new Uint8Array(count * DATA_PREFIX + length);
  let end = 0;
  for (let done = 0; done < length; done += chunkSize) {
    const piece = Math.min(chunkSize, length - done);
    writeDataPrefix(frames.subarray(end), id, offset + done, piece);
    frames.set(
      buf.subarray(DATA_PREFIX + done, DATA_PREFIX + done + piece),
      end + DATA_PREFIX,
    );
    end += DATA_PREFIX + piece;
  }
  return core.conn.writeAll(frames);
}

function shrank(): ReasonError {
  return new ReasonError("io", "the local file shrank while it was being sent");
}
