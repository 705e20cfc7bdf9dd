/**
 * The table of requests in flight on one connection. The session's reader
 * loop hands every frame with a non-zero id to the request that owns it, so
 * many requests can be outstanding at once and their replies may interleave.
 *
 * A request receives its messages either through a queue
 * ({@linkcode PendingRequest.next}) or through a sink that the reader loop
 * awaits ({@linkcode PendingRequest.setSink}); DATA frames need a sink,
 * because their bytes are views into the decoder's buffer that are only
 * valid until the reader reads again.
 *
 * @module
 */

import { ProtocolError } from "../../protocol/errors.ts";
import type { Message } from "../../protocol/messages.ts";

/** Receives a request's messages inside the reader loop. */
export type Sink = (message: Message) => void | Promise<void>;

/** Most control messages a request may have queued and not yet taken. */
const MAX_QUEUED = 1024;

/** One request in flight, identified by its id. */
export class PendingRequest {
  readonly id: number;
  readonly #table: RequestTable;
  readonly #queue: Message[] = [];
  #waiter: { resolve(m: Message): void; reject(e: unknown): void } | null =
    null;
  #sink: Sink | null = null;
  #error: unknown = undefined;
  #failed = false;
  #failureListener: ((error: unknown) => void) | undefined;

  constructor(id: number, table: RequestTable) {
    this.id = id;
    this.#table = table;
  }

  /** True while the request is in the table (not finished). */
  get open(): boolean {
    return this.#table.get(this.id) === this;
  }

  /** True once a reply ended this request with an ERROR or the connection failed. */
  get failed(): boolean {
    return this.#failed ||
      this.#queue.some((m) => m.type === "error");
  }

  /** Sends every later message to `sink` instead of the queue. */
  setSink(sink: Sink): void {
    this.#sink = sink;
  }

  /**
   * Ignores every later message until one for which `isLast` is true, then
   * forgets the request. Used after an abort, so the id stays reserved
   * until the server has finished with it. Returns true when the request
   * had already ended (nothing left to drain).
   */
  drain(isLast: (message: Message) => boolean): boolean {
    this.#waiter = null;
    if (this.#queue.some(isLast) || this.#failed) {
      this.finish();
      return true;
    }
    this.#queue.length = 0;
    this.#sink = (message) => {
      if (isLast(message)) this.finish();
    };
    return false;
  }

  /**
   * The next queued message. Rejects when the connection fails, or with
   * the signal's reason when `signal` aborts first.
   */
  next(signal?: AbortSignal): Promise<Message> {
    const message = this.#queue.shift();
    if (message) return Promise.resolve(message);
    if (this.#failed) return Promise.reject(this.#error);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#waiter) throw new Error("Only one reader may wait on a request");
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (this.#waiter === waiter) this.#waiter = null;
        reject(signal?.reason);
      };
      const waiter = {
        resolve(m: Message) {
          signal?.removeEventListener("abort", onAbort);
          resolve(m);
        },
        reject(e: unknown) {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      this.#waiter = waiter;
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Forgets this request; its id may be used again. */
  finish(): void {
    this.#table.remove(this.id);
  }

  /** Called by the reader loop. */
  deliver(message: Message): void | Promise<void> {
    if (this.#sink) return this.#sink(message);
    if (message.type === "data") {
      throw new ProtocolError(`Unexpected DATA for request ${this.id}`);
    }
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = null;
      waiter.resolve(message);
      return;
    }
    if (this.#queue.length >= MAX_QUEUED) {
      throw new ProtocolError(`Too many replies for request ${this.id}`);
    }
    this.#queue.push(message);
  }

  /** Called when the connection fails; wakes a waiting reader. */
  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = error;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.reject(error);
    this.#failureListener?.(error);
  }

  /** Registers the one callback told when the connection fails. */
  onFailure(listener: (error: unknown) => void): void {
    this.#failureListener = listener;
    if (this.#failed) listener(this.#error);
  }
}

/** Allocates request ids and finds requests by id. */
export class RequestTable {
  readonly #requests = new Map<number, PendingRequest>();
  #nextId = 1;
  #closedWith: { error: unknown } | null = null;

  /** Number of requests in flight. */
  get size(): number {
    return this.#requests.size;
  }

  /**
   * Opens a request with a fresh non-zero id.
   *
   * @throws the connection's failure once {@linkcode failAll} was called.
   */
  open(): PendingRequest {
    if (this.#closedWith) throw this.#closedWith.error;
    let id = this.#nextId;
    while (this.#requests.has(id)) id = id >= 0xffffffff ? 1 : id + 1;
    this.#nextId = id >= 0xffffffff ? 1 : id + 1;
    const request = new PendingRequest(id, this);
    this.#requests.set(id, request);
    return request;
  }

  /** The request with `id`, if it is in flight. */
  get(id: number): PendingRequest | undefined {
    return this.#requests.get(id);
  }

  /** Forgets request `id`. */
  remove(id: number): void {
    this.#requests.delete(id);
  }

  /** Fails every request in flight and every later {@linkcode open}. */
  failAll(error: unknown): void {
    this.#closedWith ??= { error };
    const requests = [...this.#requests.values()];
    this.#requests.clear();
    for (const request of requests) request.fail(error);
  }
}
