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
 * Where hashing happens: the session's thread serves every connection, so
 * on a machine with cores to spare the largest uploads are hashed on a
 * worker thread ({@linkcode WorkerSha256}), which lets uploads together go
 * beyond what one thread can hash. On two cores, with the client on the same
 * machine, that measured slower: the thread hand-offs cost more CPU
 * (1.16 s per GiB for main thread and worker together against 0.84 s
 * inline), and there was no idle core to win it back.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { WorkerSha256 } from "./sha256_worker.ts";
import type { Upload } from "../storage/storage.ts";

/** Uploads of at least this many bytes are copied into slots and overlapped. */
export const PIPELINE_MIN_SIZE = 4 * 1024 * 1024;
/** Uploads of at least this many bytes are hashed on a worker thread. */
export const WORKER_MIN_SIZE = 32 * 1024 * 1024;
/** Chunks one large upload may have in flight (hashing or writing). */
export const PIPELINE_DEPTH = 4;
/** Slot memory all uploads of this process may hold together. */
export const PIPELINE_MEMORY = 64 * 1024 * 1024;

/** Slot memory reserved by the pipelines that exist now. */
let reserved = 0;

/** Where an upload's SHA-256 is computed. */
export type HashPlace = "inline" | "worker";

/**
 * The default {@linkcode HashPlace} for an upload of `size` bytes: a worker
 * for large uploads on machines with more than two cores.
 */
export function defaultHashPlace(size: number): HashPlace {
  return size >= WORKER_MIN_SIZE && navigator.hardwareConcurrency > 2
    ? "worker"
    : "inline";
}

/** Options of {@linkcode UploadPipeline}. */
export interface UploadPipelineOptions {
  /** The declared size of the upload; decides how it is handled. */
  size: number;
  /** The largest chunk that will be pushed. */
  chunkSize: number;
  /** Slots for a large upload. Default {@linkcode PIPELINE_DEPTH}. */
  depth?: number;
  /**
   * Where to hash. Default {@linkcode defaultHashPlace}. A worker is used
   * only when the upload gets slots (at least {@linkcode PIPELINE_MIN_SIZE}
   * bytes, and slot memory left) and fewer than `MAX_HASH_WORKERS` run;
   * otherwise inline.
   */
  hash?: HashPlace;
}

interface Slot {
  readonly buffer: Uint8Array;
  /** Settles (never rejects) when the slot's last chunk is hashed and written. */
  busy: Promise<void>;
}

/** See the module comment. */
export class UploadPipeline implements Disposable {
  readonly #upload: Upload;
  readonly #inline: Hash | null;
  readonly #worker: WorkerSha256 | null;
  readonly #slots: Slot[] = [];
  readonly #depth: number;
  readonly #chunkSize: number;
  /** Bytes of {@linkcode PIPELINE_MEMORY} this pipeline holds. */
  #reserved = 0;
  #next = 0;
  #failure: { error: unknown } | null = null;

  constructor(upload: Upload, options: UploadPipelineOptions) {
    this.#upload = upload;
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
    const place = options.hash ?? defaultHashPlace(options.size);
    this.#worker = place === "worker" && this.#depth > 0
      ? WorkerSha256.start()
      : null;
    this.#inline = this.#worker ? null : createHash("sha256");
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
      this.#inline!.update(chunk);
      await written;
      return;
    }
    const slot = await this.#slot();
    this.#throwIfFailed();
    const view = slot.buffer.subarray(0, chunk.byteLength);
    let hashed: Promise<void> | undefined;
    if (this.#worker) {
      view.set(chunk);
      hashed = this.#worker.update(view);
    } else {
      // Hashing first reads the chunk while it is still in the cache.
      this.#inline!.update(chunk);
      view.set(chunk);
    }
    const written = this.#upload.write(view);
    slot.busy = Promise.all([hashed, written]).then(
      () => {},
      (error) => {
        this.#failure ??= { error };
      },
    );
  }

  /**
   * Waits until every chunk is hashed and written; resolves with the
   * SHA-256 (hex) of all of them.
   *
   * @throws the first error of a write or hash.
   */
  async finish(): Promise<string> {
    await Promise.all(this.#slots.map((s) => s.busy));
    this.#throwIfFailed();
    return this.#worker
      ? await this.#worker.digest()
      : this.#inline!.digest("hex");
  }

  /**
   * Stops the hash worker, if any, and gives back the slot memory. Writes
   * already queued go on (the storage's upload waits for them).
   */
  [Symbol.dispose](): void {
    this.#worker?.[Symbol.dispose]();
    reserved -= this.#reserved;
    this.#reserved = 0;
  }

  /** The next slot in turn, once its previous chunk is done. */
  async #slot(): Promise<Slot> {
    const i = this.#next;
    this.#next = (i + 1) % this.#depth;
    let slot = this.#slots[i];
    if (slot === undefined) {
      const memory = this.#worker
        ? new SharedArrayBuffer(this.#chunkSize)
        : new ArrayBuffer(this.#chunkSize);
      slot = { buffer: new Uint8Array(memory), busy: Promise.resolve() };
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
