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

/** What FrameConn needs of a connection (Deno.Conn and Deno.TlsConn fit). */
export interface ByteConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/**
 * Reads frames from and writes frames to a connection. Reads are made by one
 * reader at a time; writes from several tasks are serialised so frames never
 * interleave.
 */
export class FrameConn {
  readonly #conn: ByteConn;
  readonly #decoder = new FrameDecoder();
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #queued = 0;
  #waiters: { limit: number; resolve: () => void }[] = [];

  constructor(conn: ByteConn) {
    this.#conn = conn;
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
          throw new ProtocolError("Connection closed in the middle of a frame");
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
   */
  send(message: Message): Promise<void> {
    const bytes = encodeMessage(message);
    this.#queued += bytes.byteLength;
    const sent = this.writeAll(bytes);
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
    const run = this.#writing.then(async () => {
      let offset = 0;
      while (offset < bytes.byteLength) {
        offset += await this.#conn.write(bytes.subarray(offset));
      }
    });
    this.#writing = run.catch(() => {});
    return run;
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
    this.#closed = true;
    this.#wakeWaiters();
    try {
      this.#conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }
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
