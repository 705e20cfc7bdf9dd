/**
 * The one adapter between a byte connection and the pure protocol codec,
 * used by both server and client.
 *
 * @module
 */

import { FrameDecoder } from "../protocol/decoder.ts";
import { ProtocolError } from "../protocol/errors.ts";
import type { Frame } from "../protocol/frame.ts";
import {
  decodeMessage,
  encodeMessage,
  type Message,
} from "../protocol/messages.ts";
import { afterTurn } from "./next_turn.ts";

/** Weight of the past in {@linkcode FrameConn.drainRate}, per write. */
const DRAIN_DECAY = 7 / 8;
/** Writes smaller than this say more about system calls than the link. */
const DRAIN_MIN_WRITE = 16 * 1024;
/** Writes measured before {@linkcode FrameConn.drainRate} tells a rate. */
const DRAIN_MIN_WRITES = 8;

/** What FrameConn needs of a connection (Deno.Conn and Deno.TlsConn fit). */
export interface ByteConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** Options of {@linkcode FrameConn}. */
export interface FrameConnOptions {
  /**
   * Start writing at the next turn of the event loop instead of the next
   * microtask, so that the frames sent in one turn (e.g. requests sent
   * as the replies read in that turn free their places) go out in one
   * write. Default false.
   */
  byTurn?: boolean;
}

/**
 * Reads frames from and writes frames to a connection. Reads are made by one
 * reader at a time; writes from several tasks are serialised so frames never
 * interleave.
 */
export class FrameConn {
  readonly #conn: ByteConn;
  readonly #byTurn: boolean;
  readonly #decoder = new FrameDecoder();
  /** Writes not yet handed to the connection, oldest first. */
  #pending: PendingWrite[] = [];
  #pumping = false;
  /** A pump is due and has not started yet. */
  #due = false;
  #closed = false;
  #queued = 0;
  #waiters: { limit: number; resolve: () => void }[] = [];
  /** Decaying sums of bytes written and milliseconds spent writing them. */
  #drainBytes = 0;
  #drainMs = 0;
  #drainWrites = 0;

  constructor(conn: ByteConn, options: FrameConnOptions = {}) {
    this.#conn = conn;
    this.#byTurn = options.byTurn ?? false;
  }

  /** True once {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The next frame, or null when the peer closed the connection cleanly
   * between frames. The payload is valid until the next call.
   *
   * @throws {ProtocolError} on invalid bytes or a connection cut mid-frame.
   */
  async readFrame(): Promise<Frame | null> {
    for (;;) {
      const frame = this.#decoder.next();
      if (frame) return frame;
      let n: number | null;
      try {
        n = await this.#conn.read(this.#decoder.writable());
      } catch (error) {
        if (this.#closed || isConnectionLoss(error)) n = null;
        else throw error;
      }
      if (n === null) {
        if (this.#decoder.buffered > 0) {
          throw new TruncatedFrameError();
        }
        return null;
      }
      this.#decoder.commit(n);
    }
  }

  /** The next message, or null at a clean end of stream. */
  async readMessage(): Promise<Message | null> {
    const frame = await this.readFrame();
    return frame === null ? null : decodeMessage(frame);
  }

  /**
   * Encodes and sends one message. Its bytes count in
   * {@linkcode queuedBytes} until they are handed to the connection.
   *
   * If `signal` aborts while the message still waits for its turn, it is
   * withdrawn (the peer never sees it) and the result rejects with the
   * signal's reason; once handed to the connection it is sent whatever the
   * signal does.
   */
  send(message: Message, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const bytes = encodeMessage(message);
    this.#queued += bytes.byteLength;
    const sent = signal
      ? this.#withdrawable(bytes, signal)
      : this.writeAll(bytes);
    void sent.catch(() => {}).finally(() => {
      this.#queued -= bytes.byteLength;
      this.#wakeWaiters();
    });
    return sent;
  }

  /** Bytes of messages given to {@linkcode send} and not yet written. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /**
   * Resolves once at most `limit` bytes of messages wait to be written, or
   * the connection is closed. A peer that does not read keeps it pending:
   * callers use it to stop producing (and reading requests) until it reads.
   */
  queueBelow(limit: number): Promise<void> {
    if (this.#queued <= limit || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ limit, resolve }));
  }

  /**
   * Writes `bytes` (one or more whole frames) after every earlier write.
   * Resolves when all of them are handed to the connection, so the caller
   * may reuse the buffer afterwards.
   */
  writeAll(bytes: Uint8Array): Promise<void> {
    const write: PendingWrite = {
      bytes,
      done: Promise.withResolvers<void>(),
      state: "pending",
    };
    this.#enqueue(write);
    return write.done.promise;
  }

  /** {@linkcode writeAll}, withdrawn if `signal` aborts before its turn. */
  #withdrawable(bytes: Uint8Array, signal: AbortSignal): Promise<void> {
    const write: PendingWrite = {
      bytes,
      done: Promise.withResolvers<void>(),
      state: "pending",
    };
    const onAbort = () => {
      if (write.state !== "pending") return;
      write.state = "withdrawn";
      write.done.reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    this.#enqueue(write);
    const done = write.done.promise;
    void done.catch(() => {}).finally(() =>
      signal.removeEventListener("abort", onAbort)
    );
    return done;
  }

  #enqueue(write: PendingWrite): void {
    this.#pending.push(write);
    if (!this.#pumping) {
      this.#pumping = true;
      this.#due = true;
      // Later, so that the frames sent meanwhile go together.
      if (this.#byTurn) afterTurn(() => this.#start());
      else void Promise.resolve().then(() => this.#start());
    }
  }

  /**
   * Hands the pending writes to the connection in order. Small writes that
   * queued up while an earlier one was under way go together in one call
   * (up to {@linkcode COALESCE_BYTES}): one system call and one async
   * operation for many replies, instead of one each. A failed call fails
   * the writes it carried; the later ones are still tried, as before.
   */
  #start(): void {
    if (!this.#due) return;
    this.#due = false;
    void this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#takeBatch();
        if (batch.length === 0) continue;
        const bytes = batch.length === 1 ? batch[0]!.bytes : joined(batch);
        try {
          const started = performance.now();
          let offset = 0;
          while (offset < bytes.byteLength) {
            offset += await this.#conn.write(bytes.subarray(offset));
          }
          // Only a write of its own tells the link's speed, as before
          // writes were joined: a joined batch of small replies does not.
          if (batch.length === 1) {
            this.#measure(offset, performance.now() - started);
          }
          for (const w of batch) w.done.resolve();
        } catch (error) {
          for (const w of batch) w.done.reject(error);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * The oldest pending write and the small ones right behind it, skipping
   * the withdrawn ones (possibly none left).
   */
  #takeBatch(): PendingWrite[] {
    const batch: PendingWrite[] = [];
    let bytes = 0;
    let n = 0;
    for (; n < this.#pending.length; n++) {
      const write = this.#pending[n]!;
      if (write.state === "withdrawn") continue;
      const size = write.bytes.byteLength;
      if (batch.length > 0 && bytes + size > COALESCE_BYTES) break;
      bytes += size;
      write.state = "taken";
      batch.push(write);
    }
    this.#pending.splice(0, n);
    return batch;
  }

  /**
   * How fast the connection took bytes lately, in bytes per millisecond,
   * over writes of 16 KiB or more (decaying over about the last 8); null
   * until 8 were measured. A write that fits the socket's buffers returns
   * at once, so this is the link's speed only once they are full, as they
   * soon are when the link holds the sender back: high on a fast link,
   * the link's rate on a slow one (see common/compression.ts).
   */
  get drainRate(): number | null {
    if (this.#drainWrites < DRAIN_MIN_WRITES) return null;
    return this.#drainBytes / Math.max(this.#drainMs, 1e-3);
  }

  #measure(bytes: number, ms: number): void {
    if (bytes < DRAIN_MIN_WRITE) return;
    this.#drainWrites++;
    this.#drainBytes = this.#drainBytes * DRAIN_DECAY + bytes;
    this.#drainMs = this.#drainMs * DRAIN_DECAY + ms;
  }

  #wakeWaiters(): void {
    const ready = this.#waiters.filter((w) =>
      this.#closed || this.#queued <= w.limit
    );
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  /**
   * Closes the connection; pending reads end with null, and
   * {@linkcode queueBelow} resolves. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    // What was sent before is handed to the connection first (e.g. a
    // CANCEL sent just before closing).
    this.#start();
    this.#closed = true;
    this.#wakeWaiters();
    try {
      this.#conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }
}

/**
 * Most bytes of queued writes copied together into one write; a larger
 * write (a DATA frame of a file) goes alone, uncopied.
 */
const COALESCE_BYTES = 64 * 1024;

/** A write waiting for its turn. */
interface PendingWrite {
  readonly bytes: Uint8Array;
  readonly done: PromiseWithResolvers<void>;
  /** "withdrawn" when its signal aborted before it was taken to be written. */
  state: "pending" | "withdrawn" | "taken";
}

/** The bytes of `writes`, one after the other, in one buffer. */
function joined(writes: readonly PendingWrite[]): Uint8Array {
  let size = 0;
  for (const w of writes) size += w.bytes.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const w of writes) {
    out.set(w.bytes, at);
    at += w.bytes.byteLength;
  }
  return out;
}

/** Tells whether `error` means the peer went away (reset, broken pipe). */
export function isConnectionLoss(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.UnexpectedEof;
}

/**
 * The connection ended in the middle of a frame: the peer broke the
 * protocol, or the network cut the connection; a client reads it as a
 * lost connection.
 */
export class TruncatedFrameError extends ProtocolError {
  constructor() {
    super("Connection closed in the middle of a frame");
    this.name = "TruncatedFrameError";
  }
}
