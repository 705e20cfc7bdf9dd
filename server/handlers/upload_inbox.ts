/**
 * Hands an upload's DATA and PUT_END messages from the session's read loop
 * to the upload handler, one at a time.
 *
 * A DATA message's bytes are a view into the connection's read buffer, so
 * the read loop must not read on until the handler is done with them: the
 * promise returned by {@linkcode UploadInbox.deliver} resolves only when the
 * handler asks for the next message or finishes. That is also the upload's
 * backpressure: the socket is not read faster than the disk is written.
 *
 * @module
 */

import type { MessageOf } from "../../protocol/messages.ts";

/** A message an upload handler consumes. */
export type UploadMessage = MessageOf<"data"> | MessageOf<"put_end">;

interface Delivery {
  readonly message: UploadMessage;
  readonly release: () => void;
}

/** See the module comment. */
export class UploadInbox {
  /** Delivered, not yet taken. */
  #pending: Delivery | null = null;
  /** Taken by the handler, not yet released. */
  #outstanding: Delivery | null = null;
  #waiter: ((d: Delivery) => void) | null = null;
  #closed = false;
  #ended = false;

  /**
   * Offers `message` to the handler; resolves when the handler no longer
   * needs it (or at once, dropping it, if the inbox is closed or already
   * got PUT_END).
   *
   * @throws {RangeError} if the previous message was not released yet.
   */
  deliver(message: UploadMessage): Promise<void> {
    if (this.#closed || this.#ended) return Promise.resolve();
    if (message.type === "put_end") this.#ended = true;
    if (this.#pending !== null || this.#outstanding !== null) {
      throw new RangeError("UploadInbox.deliver() called while one is pending");
    }
    return new Promise((release) => {
      const delivery = { message, release: () => release() };
      const waiter = this.#waiter;
      if (waiter) {
        this.#waiter = null;
        waiter(delivery);
      } else {
        this.#pending = delivery;
      }
    });
  }

  /**
   * Releases the message taken before and waits for the next one.
   *
   * @throws the signal's reason when `signal` aborts while waiting.
   */
  take(signal: AbortSignal): Promise<UploadMessage> {
    this.#releaseOutstanding();
    signal.throwIfAborted();
    const pending = this.#pending;
    if (pending !== null) {
      this.#pending = null;
      this.#outstanding = pending;
      return Promise.resolve(pending.message);
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiter = null;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiter = (delivery) => {
        signal.removeEventListener("abort", onAbort);
        this.#outstanding = delivery;
        resolve(delivery.message);
      };
    });
  }

  /** Releases everything; later deliveries are dropped. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#waiter = null;
    this.#releaseOutstanding();
    const pending = this.#pending;
    this.#pending = null;
    pending?.release();
  }

  #releaseOutstanding(): void {
    const outstanding = this.#outstanding;
    this.#outstanding = null;
    outstanding?.release();
  }
}
