/**
 * What the transfer modules (upload, download, batches) need from a session:
 * the connection, the request table and the negotiated parameters. Internal
 * to the client engine.
 *
 * @module
 */

import type { FrameConn } from "../../common/frame_conn.ts";
import { DATA_PREFIX } from "../../protocol/messages.ts";
import type { RequestTable } from "./request_table.ts";
import type { LocalDisk } from "./commit_group.ts";

/** Progress of one transfer or of a batch, in bytes of file content. */
export interface Progress {
  readonly bytes: number;
  readonly total: number;
}

/** The session internals shared with the transfer modules. */
export interface SessionCore {
  readonly conn: FrameConn;
  readonly requests: RequestTable;
  /** Largest chunk in a DATA frame, as negotiated (after decompression). */
  readonly chunkSize: number;
  /** True when zstd was negotiated (DATA may carry FLAG_ZSTD both ways). */
  readonly zstd: boolean;
  /** True when the feature "mode" was negotiated (permission bits travel). */
  readonly modes: boolean;
  readonly buffers: BufferPool;
  /** Held while a large file streams, so large files go one at a time. */
  readonly streamLock: Mutex;
  /**
   * Local folders already cleared of left-over temporary files in this
   * session (see `reclaimPartFiles`), so each is scanned once.
   */
  readonly reclaimed: Set<string>;
  /** The calls that make downloaded files durable and visible. */
  readonly disk: LocalDisk;
}

/**
 * Reusable send buffers of `DATA_PREFIX + chunkSize` bytes, so memory stays
 * flat however large or many the files are.
 */
export class BufferPool {
  readonly size: number;
  readonly #free: Uint8Array[] = [];
  readonly #keep: number;

  constructor(chunkSize: number, keep = 4) {
    this.size = DATA_PREFIX + chunkSize;
    this.#keep = keep;
  }

  /** A buffer of {@linkcode size} bytes; give it back when done. */
  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }

  /** Returns a buffer taken from this pool. */
  give(buffer: Uint8Array): void {
    if (this.#free.length < this.#keep && buffer.byteLength === this.size) {
      this.#free.push(buffer);
    }
  }
}

/** A promise-chain lock: one holder at a time, in request order. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  /** Waits for the lock; call the returned function to release it. */
  async lock(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => release = resolve);
    const previous = this.#tail;
    this.#tail = previous.then(() => held);
    await previous;
    return release;
  }
}
