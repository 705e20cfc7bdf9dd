/**
 * One session per connection: the handshake, then a read loop that
 * dispatches requests. Requests run concurrently (a download streams while
 * a LIST is answered); only an upload's DATA frames hold the read loop, each
 * until it is on disk, which is the upload's backpressure. Everything a
 * session waits for belongs to its own connection, so a slow or stuck
 * client never delays another.
 *
 * @module
 */

import { FrameConn, isConnectionLoss } from "../io/frame_conn.ts";
import type { ByteConn } from "../io/frame_conn.ts";
import { FtsError, ProtocolError } from "../protocol/errors.ts";
import {
  decodeMessage,
  type Message,
  type MessageOf,
} from "../protocol/messages.ts";
import { quoteName } from "../protocol/names.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import type { HandlerContext, OpResult } from "./context.ts";
import { sendFile } from "./download.ts";
import { negotiate } from "./handshake.ts";
import { UploadInbox } from "./inbox.ts";
import { deleteFile, listFolder, makeFolder, renameFile } from "./requests.ts";
import { Slots } from "./slots.ts";
import type { Storage } from "./storage.ts";
import { receiveFile } from "./upload.ts";
import { toWireError } from "./wire_error.ts";

/** How long a session waits for its last frames to leave before closing anyway. */
export const FLUSH_MS = 1000;
/** Requests one connection may have in flight; more are answered `busy`. */
export const MAX_REQUESTS_IN_FLIGHT = 1024;
/**
 * Downloads of one connection that stream at once (each holds two chunk
 * buffers); further GETs wait their turn.
 */
export const DOWNLOAD_SLOTS = 4;

/** Settings of a {@linkcode Session}; the server fills in its defaults. */
export interface SessionOptions {
  /** Where files live. */
  readonly storage: Storage;
  /** Time source for deadlines and durations. */
  readonly clock: Clock;
  /** Receives one line per operation and per connection event. */
  readonly log: (line: string) => void;
  /** The client's address, for the log ("127.0.0.1:50312"). */
  readonly peer: string;
  /** Deadline for HELLO, from the moment the connection is accepted. */
  readonly handshakeTimeoutMs: number;
  /** A connection with no frame in or out for this long is closed. */
  readonly idleTimeoutMs: number;
  /** Largest DATA chunk in either direction. */
  readonly chunkSize: number;
  /** Features the server offers. */
  readonly features: readonly string[];
  /** The server's agent string in WELCOME. */
  readonly agent: string;
  /** When set, HELLO is answered with this error and the connection closed. */
  readonly refuse?: FtsError;
}

/** A request in flight. */
interface Active {
  readonly controller: AbortController;
  readonly inbox: UploadInbox | null;
  done: Promise<void>;
}

type State = "handshake" | "open" | "going_away" | "closing" | "closed";

type RequestMessage = MessageOf<
  "list" | "put" | "get" | "delete" | "rename" | "mkdir" | "shutdown"
>;

/** See the module comment. The server calls {@linkcode run} once. */
export class Session {
  readonly #options: SessionOptions;
  readonly #conn: FrameConn;
  readonly #requests = new Map<number, Active>();
  readonly #timers = new Set<TimerHandle>();
  #ctx: HandlerContext | null = null;
  #state: State = "handshake";
  #lastActivity: number;
  #closeScheduled = false;
  readonly #connClosed = Promise.withResolvers<void>();

  constructor(conn: ByteConn, options: SessionOptions) {
    this.#options = options;
    this.#conn = new FrameConn(conn);
    this.#lastActivity = options.clock.now();
  }

  /** The client's address. */
  get peer(): string {
    return this.#options.peer;
  }

  /** Number of requests in flight. */
  get activeRequests(): number {
    return this.#requests.size;
  }

  /**
   * Runs the session to its end; resolves once the connection is closed and
   * every request has finished (uploads aborted or committed). Never rejects.
   */
  async run(): Promise<void> {
    this.#after(this.#options.handshakeTimeoutMs, () => {
      if (this.#state !== "handshake") return;
      this.#log("handshake timeout");
      this.#terminate(
        new FtsError(
          "timeout",
          "Cannot connect: no HELLO within the handshake deadline",
        ),
      );
    });
    let reason: FtsError = new ConnectionClosed();
    try {
      if (await this.#handshake()) await this.#readLoop();
    } catch (error) {
      reason = this.#connectionError(error);
    } finally {
      this.#terminate(reason, false);
      await Promise.all([...this.#requests.values()].map((a) => a.done));
      this.#closeIfIdle();
      await this.#connClosed.promise;
      this.#state = "closed";
      for (const t of this.#timers) this.#options.clock.clearTimeout(t);
      this.#timers.clear();
    }
    if (this.#ctx) this.#log("disconnected");
  }

  /**
   * Starts a graceful end: sends GOING_AWAY, answers new requests with
   * `shutting_down`, lets running requests finish and closes the connection
   * as soon as none is left (at once when idle).
   */
  goAway(graceMs: number): void {
    if (this.#state === "handshake") {
      this.#terminate(
        new FtsError(
          "shutting_down",
          "Cannot connect: the server is shutting down",
        ),
      );
      return;
    }
    if (this.#state !== "open") return;
    this.#state = "going_away";
    this.#conn.send({
      type: "going_away",
      id: 0,
      graceMs,
      reason: "The server is shutting down",
    }).catch(() => {});
    this.#closeIfIdle();
  }

  /**
   * Ends every request in flight with `reason` (uploads are aborted, their
   * temporary files removed), sends it to the client and closes.
   */
  abort(reason: FtsError): void {
    this.#terminate(reason);
  }

  async #handshake(): Promise<boolean> {
    const frame = await this.#conn.readFrame();
    if (frame === null) return false;
    const hello = decodeMessage(frame);
    if (hello.type !== "hello") {
      throw new ProtocolError(
        `Expected HELLO, got ${hello.type.toUpperCase()}`,
      );
    }
    if (this.#state !== "handshake") return false;
    let welcome: MessageOf<"welcome">;
    try {
      if (this.#options.refuse) throw this.#options.refuse;
      welcome = negotiate(hello, this.#options);
    } catch (error) {
      if (!(error instanceof FtsError)) throw error;
      this.#log(`refused (${error.code}): ${error.message}`);
      this.#terminate(error);
      return false;
    }
    await this.#conn.send(welcome);
    this.#state = "open";
    this.#ctx = {
      conn: this.#conn,
      storage: this.#options.storage,
      chunkSize: this.#options.chunkSize,
      zstd: welcome.features.includes("zstd"),
      downloads: new Slots(DOWNLOAD_SLOTS),
      touch: () => {
        this.#lastActivity = this.#options.clock.now();
      },
    };
    this.#log(
      `connected (${quoteName(hello.agent, 60)}, features [${
        welcome.features.join(", ")
      }])`,
    );
    this.#lastActivity = this.#options.clock.now();
    this.#armIdle(this.#options.idleTimeoutMs);
    return true;
  }

  async #readLoop(): Promise<void> {
    for (;;) {
      const frame = await this.#conn.readFrame();
      if (frame === null) return;
      this.#lastActivity = this.#options.clock.now();
      await this.#dispatch(decodeMessage(frame));
    }
  }

  async #dispatch(message: Message): Promise<void> {
    switch (message.type) {
      case "data":
        await this.#requests.get(message.id)?.inbox?.deliver(message);
        return;
      case "put_end":
        // Not awaited: the handler keeps it while it commits.
        void this.#requests.get(message.id)?.inbox?.deliver(message);
        return;
      case "cancel":
        this.#requests.get(message.id)?.controller.abort(
          new FtsError("cancelled", "Cancelled by the client"),
        );
        return;
      case "ping":
        await this.#conn.send({ type: "pong", id: message.id });
        return;
      case "bye":
        this.#close();
        return;
      case "auth":
        await this.#conn.send({
          type: "error",
          id: 0,
          code: "bad_request",
          message: "Cannot log in: this server has no accounts",
        });
        return;
      case "list":
      case "put":
      case "get":
      case "delete":
      case "rename":
      case "mkdir":
      case "shutdown":
        await this.#startRequest(message);
        return;
      case "hello":
      case "welcome":
      case "going_away":
      case "pong":
      case "ok":
      case "error":
      case "entries":
      case "put_ready":
      case "put_done":
      case "get_ready":
      case "get_end":
        throw new ProtocolError(
          `A client may not send ${message.type.toUpperCase()} here`,
        );
    }
  }

  async #startRequest(message: RequestMessage): Promise<void> {
    if (message.id === 0) {
      throw new ProtocolError(
        `${message.type.toUpperCase()} needs a non-zero request id`,
      );
    }
    if (this.#requests.has(message.id)) {
      throw new ProtocolError(`Request id ${message.id} is already in use`);
    }
    if (this.#state === "closing") return;
    const refusal = this.#state !== "open"
      ? new FtsError(
        "shutting_down",
        `Cannot ${message.type}: the server is shutting down`,
      )
      : this.#requests.size >= MAX_REQUESTS_IN_FLIGHT
      ? new FtsError(
        "busy",
        `Cannot ${message.type}: ${MAX_REQUESTS_IN_FLIGHT} requests are already in flight`,
      )
      : null;
    if (refusal) {
      this.#logOp(message, { bytes: 0 }, 0, refusal.code);
      await this.#conn.send(toWireError(refusal, message.id).reply);
      return;
    }
    const active: Active = {
      controller: new AbortController(),
      inbox: message.type === "put" ? new UploadInbox() : null,
      done: Promise.resolve(),
    };
    this.#requests.set(message.id, active);
    active.done = this.#runRequest(message, active);
  }

  async #runRequest(message: RequestMessage, active: Active): Promise<void> {
    const started = this.#options.clock.now();
    let result: OpResult = { bytes: 0 };
    let outcome = "ok";
    try {
      result = await this.#handle(message, active);
    } catch (error) {
      active.inbox?.close();
      if (
        error instanceof ConnectionClosed || this.#conn.closed ||
        isConnectionLoss(error)
      ) {
        outcome = "disconnected";
      } else {
        const { reply, unexpected } = toWireError(error, message.id);
        outcome = reply.code;
        if (unexpected) {
          this.#log(
            `internal error in ${message.type}: ${
              error instanceof Error
                ? (error.stack ?? error.message)
                : String(error)
            }`,
          );
        }
        await this.#conn.send(reply).catch(() => {});
      }
    } finally {
      active.inbox?.close();
      this.#requests.delete(message.id);
      this.#logOp(
        message,
        result,
        this.#options.clock.now() - started,
        outcome,
      );
      this.#closeIfIdle();
    }
  }

  #handle(message: RequestMessage, active: Active): Promise<OpResult> {
    const ctx = this.#ctx!;
    const signal = active.controller.signal;
    switch (message.type) {
      case "put":
        return receiveFile(ctx, message, active.inbox!, signal);
      case "get":
        return sendFile(ctx, message, signal);
      case "list":
        return listFolder(ctx, message);
      case "delete":
        return deleteFile(ctx, message);
      case "rename":
        return renameFile(ctx, message);
      case "mkdir":
        return makeFolder(ctx, message);
      case "shutdown":
        return Promise.reject(
          new FtsError(
            "permission_denied",
            'Cannot shut down the server: that needs the "admin" permission',
          ),
        );
    }
  }

  /**
   * Stops taking requests, aborts those in flight with `reason`, tells the
   * client (when `notify`), and closes once they are done, or after
   * {@linkcode FLUSH_MS} at the latest (a client that does not read cannot
   * hold the session open).
   */
  #terminate(reason: FtsError, notify = true): void {
    if (this.#state === "closed") return;
    const wasClosing = this.#state === "closing";
    this.#state = "closing";
    for (const active of this.#requests.values()) {
      active.controller.abort(reason);
    }
    if (wasClosing) return;
    if (notify && !this.#conn.closed) {
      this.#conn.send(toWireError(reason, 0).reply).catch(() => {});
    }
    this.#after(FLUSH_MS, () => this.#close());
    this.#closeIfIdle();
  }

  /** When no request is left in a closing state, closes after the last write. */
  #closeIfIdle(): void {
    if (this.#state === "open" || this.#state === "handshake") return;
    if (this.#requests.size > 0 || this.#closeScheduled) return;
    this.#closeScheduled = true;
    this.#after(FLUSH_MS, () => this.#close());
    this.#conn.writeAll(new Uint8Array(0)).catch(() => {}).finally(() =>
      this.#close()
    );
  }

  #close(): void {
    this.#conn.close();
    this.#connClosed.resolve();
  }

  #armIdle(ms: number): void {
    this.#after(ms, () => {
      if (this.#state !== "open") return;
      const idle = this.#options.clock.now() - this.#lastActivity;
      const limit = this.#options.idleTimeoutMs;
      if (idle < limit) {
        this.#armIdle(limit - idle);
        return;
      }
      this.#log(`idle timeout after ${Math.round(idle / 1000)} s`);
      this.#terminate(
        new FtsError(
          "timeout",
          `The connection was idle for ${Math.round(limit / 1000)} s`,
        ),
      );
    });
  }

  /** Runs `fn` after `ms` on the session's clock; cleared when it closes. */
  #after(ms: number, fn: () => void): void {
    const clock = this.#options.clock;
    const handle = clock.setTimeout(() => {
      this.#timers.delete(handle);
      fn();
    }, ms);
    this.#timers.add(handle);
  }

  /** Classifies what ended the read loop, logging what deserves it. */
  #connectionError(error: unknown): FtsError {
    if (this.#conn.closed || isConnectionLoss(error)) {
      return new ConnectionClosed({ cause: error });
    }
    if (error instanceof ProtocolError) {
      this.#log(`protocol error: ${error.message}`);
      // Best effort: tell a confused peer why, then close.
      this.#conn.send(toWireError(error, 0).reply).catch(() => {});
      return error;
    }
    this.#log(
      `internal error: ${
        error instanceof Error ? (error.stack ?? error.message) : String(error)
      }`,
    );
    return new FtsError("internal", "Internal server error", { cause: error });
  }

  #logOp(
    message: RequestMessage,
    result: OpResult,
    ms: number,
    outcome: string,
  ): void {
    this.#log(
      `${message.type} ${describe(message, result)} ${result.bytes} B ${
        Math.round(ms)
      } ms ${outcome}`,
    );
  }

  #log(line: string): void {
    this.#options.log(`${this.#options.peer} ${line}`);
  }
}

/** Why requests end when the client went away; nothing is sent for it. */
class ConnectionClosed extends FtsError {
  constructor(options?: ErrorOptions) {
    super("cancelled", "The connection closed", options);
  }
}

function describe(message: RequestMessage, result: OpResult): string {
  switch (message.type) {
    case "list":
      return quoteName(message.path);
    case "rename":
      return `${quoteName(message.from)} -> ${quoteName(message.to)}`;
    case "shutdown":
      return "-";
    case "put":
      return result.finalName !== undefined && result.finalName !== message.name
        ? `${quoteName(message.name)} as ${quoteName(result.finalName)}`
        : quoteName(message.name);
    default:
      return quoteName(message.name);
  }
}
