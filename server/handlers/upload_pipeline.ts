/**
 * Takes an upload's chunks from the session's read loop, hashes them and
 * hands them to the storage, overlapping the socket reads, the hashing and
 * the file writes.
 *
 * A DATA payload is a view into the connection's read buffer, valid only
 * until the next frame is read. Small files are hashed and written from it
 * directly, one chunk at a time. Larger files have each chunk hashed and
 * copied into one of a few slots (a copy costs about 1/20 of hashing it),
 * and the read loop goes on while the runtime's I/O threads write the slot.
 * Memory stays at `depth` chunks per upload, and at
 * {@linkcode PIPELINE_MEMORY} for all uploads of the process together
 * (beyond it, uploads are written directly, one chunk at a time); when
 * every slot is still being written, {@linkcode UploadPipeline.push} waits,
 * which is the upload's backpressure.
 *
 * Hashing happens on the session's thread: hashing on a worker thread
 * instead gained nothing beyond the noise on two cores (1 GiB uploads over
 * 127.0.0.1), and its thread hand-offs cost CPU.
 *
 * @module
 */

import {
  createStreamHash,
  type HashAlgorithm,
  type StreamHash,
} from "../../common/stream_hash.ts";
import type { Upload } from "../storage/storage.ts";

/** Uploads of at least this many bytes are copied into slots and overlapped. */
export const PIPELINE_MIN_SIZE = 4 * 1024 * 1024;
/** Chunks one large upload may have in flight (hashing or writing). */
const PIPELINE_DEPTH = 4;
/** Slot memory all uploads of this process may hold together. */
export const PIPELINE_MEMORY = 64 * 1024 * 1024;

/** Slot memory reserved by the pipelines that exist now. */
let reserved = 0;

/** Options of {@linkcode UploadPipeline}. */
export interface UploadPipelineOptions {
  /** The declared size of the upload; decides how it is handled. */
  size: number;
  /** The largest chunk that will be pushed. */
  chunkSize: number;
  /** Slots for a large upload. Default {@linkcode PIPELINE_DEPTH}. */
  depth?: number;
  /**
   * The hash (of `algorithm`) of the bytes before the first pushed chunk
   * (a resumed upload's kept bytes), continued by the chunks. Default: a
   * new hash.
   */
  hash?: StreamHash;
  /** The algorithm of a new hash. Default "sha256". */
  algorithm?: HashAlgorithm;
}

interface Slot {
  readonly buffer: Uint8Array;
  /** Settles (never rejects) when the slot's last chunk is hashed and written. */
  busy: Promise<void>;
}

/** See the module comment. */
export class UploadPipeline implements Disposable {
  readonly #upload: Upload;
  readonly #hash: StreamHash;
  readonly #slots: Slot[] = [];
  readonly #depth: number;
  readonly #chunkSize: number;
  /** Bytes of {@linkcode PIPELINE_MEMORY} this pipeline holds. */
  #reserved = 0;
  #next = 0;
  #failure: { error: unknown } | null = null;

  constructor(upload: Upload, options: UploadPipelineOptions) {
    this.#upload = upload;
    this.#hash = options.hash ??
      createStreamHash(options.algorithm ?? "sha256");
    this.#chunkSize = options.chunkSize;
    const depth = Math.max(1, options.depth ?? PIPELINE_DEPTH);
    const memory = depth * options.chunkSize;
    if (
      options.size >= PIPELINE_MIN_SIZE && reserved + memory <= PIPELINE_MEMORY
    ) {
      this.#depth = depth;
      this.#reserved = memory;
      reserved += memory;
    } else {
      this.#depth = 0;
    }
  }

  /**
   * Hashes and writes `chunk` (at most `chunkSize` bytes). Resolves when
   * `chunk`'s memory may be reused: at once for a large upload, whose chunk
   * is copied, once it is written for a small one.
   *
   * @throws the first error of an earlier write or hash.
   */
  async push(chunk: Uint8Array): Promise<void> {
    this.#throwIfFailed();
    if (chunk.byteLength > this.#chunkSize) {
      throw new RangeError(`A chunk of ${chunk.byteLength} bytes is too large`);
    }
    if (this.#depth === 0) {
      const written = this.#upload.write(chunk);
      this.#hash.update(chunk);
      await written;
      return;
    }
    const slot = await this.#slot();
    this.#throwIfFailed();
    const view = slot.buffer.subarray(0, chunk.byteLength);
    // Hashing first reads the chunk while it is still in the cache.
    this.#hash.update(chunk);
    view.set(chunk);
    slot.busy = this.#upload.write(view).then(
      () => {},
      (error) => {
        this.#failure ??= { error };
      },
    );
  }

  /**
   * Waits until every chunk is hashed and written; resolves with the
   * hash (hex, of the pipeline's algorithm) of all of them.
   *
   * @throws the first error of a write or hash.
   */
  async finish(): Promise<string> {
    await Promise.all(this.#slots.map((s) => s.busy));
    this.#throwIfFailed();
    return this.#hash.digest();
  }

  /**
   * Gives back the slot memory. Writes already queued go on (the storage's
   * upload waits for them).
   */
  [Symbol.dispose](): void {
    reserved -= this.#reserved;
    this.#reserved = 0;
  }

  /** The next slot in turn, once its previous chunk is done. */
  async #slot(): Promise<Slot> {
    const i = this.#next;
    this.#next = (i + 1) % this.#depth;
    let slot = this.#slots[i];
    if (slot === undefined) {
      slot = {
        buffer: new Uint8Array(this.#chunkSize),
        busy: Promise.resolve(),
      };
      this.#slots[i] = slot;
    } else {
      await slot.busy;
    }
    return slot;
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
