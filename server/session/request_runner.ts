/**
 * The requests of one connection in flight: admission (request id, the
 * session's state, the in-flight limits, the client's permissions), running
 * each on its handler, turning its failure into the wire error, and one log
 * line per request.
 *
 * A connection has at most {@linkcode MAX_REQUESTS_IN_FLIGHT} requests other
 * than uploads in flight: while that many run, admitting the next one waits
 * for one of them to end, and so does the session's read loop. A client that
 * pipelines more is slowed down, never refused, and what it costs the server
 * stays bounded. Uploads are counted apart and refused beyond
 * {@linkcode MAX_UPLOADS_IN_FLIGHT}: an upload needs the read loop for its
 * data, so it cannot wait for a place without stopping itself.
 *
 * @module
 */

import type { FrameConn } from "../../common/frame_conn.ts";
import { isConnectionLoss } from "../../common/frame_conn.ts";
import { FtsError, ProtocolError } from "../../protocol/errors.ts";
import type { Message, MessageOf } from "../../protocol/messages.ts";
import { quoteName } from "../../protocol/names.ts";
import type { Clock } from "../../common/clock.ts";
import type { HandlerContext, OpResult } from "../handlers/handler_context.ts";
import { sendFile } from "../handlers/get_handler.ts";
import { UploadInbox } from "../handlers/upload_inbox.ts";
import { ListCredits } from "../handlers/list_credits.ts";
import { operationOf } from "../auth/permissions.ts";
import {
  deleteFile,
  listFolder,
  makeFolder,
  renameFile,
} from "../handlers/folder_requests.ts";
import { ConnectionClosed } from "./session_errors.ts";
import { receiveFile } from "../handlers/put_handler.ts";
import { reportUsage } from "../handlers/usage_handler.ts";
import { answerSums } from "../handlers/sums_handler.ts";
import { toWireError } from "./wire_error.ts";
import { Semaphore } from "../../common/semaphore.ts";

/**
 * Requests other than uploads one connection may have in flight; the next
 * one waits (and the session reads no further frame) until one ends.
 */
export const MAX_REQUESTS_IN_FLIGHT = 64;
/**
 * Uploads one connection may have in flight; more are answered `busy`.
 * Each holds an open partial file and a few small objects, no data: a DATA
 * chunk is written before the next frame is read. 128 keeps the small files
 * of a batch arriving while earlier ones wait for their group's sync.
 */
export const MAX_UPLOADS_IN_FLIGHT = 128;

/** Where a session is in its life. */
export type SessionState =
  | "handshake"
  | "open"
  | "going_away"
  | "closing"
  | "closed";

/** A message that starts a request. */
export type RequestMessage = MessageOf<
  | "list"
  | "put"
  | "get"
  | "delete"
  | "rename"
  | "mkdir"
  | "shutdown"
  | "usage"
  | "sums"
>;

/** True when `message` starts a request (it needs a permission). */
export function isRequest(message: Message): message is RequestMessage {
  return operationOf(message.type) !== null;
}

/** Settings of a {@linkcode RequestRunner}. */
export interface RequestRunnerOptions {
  /** The session's connection. */
  readonly conn: FrameConn;
  /** Time source for durations. */
  readonly clock: Clock;
  /** The session's log. */
  readonly log: (line: string) => void;
  /** The handlers' context; called only once the session is open. */
  readonly context: () => HandlerContext;
  /** Why the client may not run `message`, or null when it may. */
  readonly refusal: (message: RequestMessage) => FtsError | null;
  /** Starts the server's graceful shutdown, for an admin's SHUTDOWN. */
  readonly shutdownServer: (graceMs: number) => void;
  /** The longest grace period a SHUTDOWN may ask for. */
  readonly maxGraceMs: number;
  /** Called each time a request has finished. */
  readonly settled: () => void;
  /**
   * Called when a request found the connection gone (a write failed): the
   * session then ends, cancelling the rest, even while it reads no frame.
   */
  readonly lost: () => void;
}

/** A request in flight. */
interface Active {
  readonly controller: AbortController;
  readonly inbox: UploadInbox | null;
  /** The pages a LIST with `window` may still send (feature "pull"). */
  readonly credits: ListCredits | null;
  /** The place among the requests in flight; null for an upload. */
  readonly place: Disposable | null;
  done: Promise<void>;
}

/** See the module comment; one per session. */
export class RequestRunner {
  readonly #options: RequestRunnerOptions;
  readonly #requests = new Map<number, Active>();
  readonly #places = new Semaphore(MAX_REQUESTS_IN_FLIGHT);
  #uploads = 0;
  /** Aborted by {@linkcode abortAll}: no request is admitted after it. */
  readonly #ended = new AbortController();

  constructor(options: RequestRunnerOptions) {
    this.#options = options;
  }

  /** Number of requests in flight. */
  get size(): number {
    return this.#requests.size;
  }

  /** The upload inbox of request `id`, if it is a PUT in flight. */
  inbox(id: number): UploadInbox | null | undefined {
    return this.#requests.get(id)?.inbox;
  }

  /**
   * The page credits of request `id`, if it is a LIST with `window` in
   * flight (a LIST_NEXT for anything else is ignored: the listing may have
   * ended meanwhile).
   */
  listCredits(id: number): ListCredits | null | undefined {
    return this.#requests.get(id)?.credits;
  }

  /** Aborts request `id` with `reason`, if it is in flight. */
  cancel(id: number, reason: FtsError): void {
    this.#requests.get(id)?.controller.abort(reason);
  }

  /** Aborts every request in flight with `reason`. */
  abortAll(reason: FtsError): void {
    if (!this.#ended.signal.aborted) this.#ended.abort(reason);
    for (const active of this.#requests.values()) {
      active.controller.abort(reason);
    }
  }

  /** Resolves once every request now in flight has finished. */
  async finished(): Promise<void> {
    await Promise.all([...this.#requests.values()].map((a) => a.done));
  }

  /**
   * Admits `message` and starts it, or answers it with the refusal. A
   * request other than an upload first waits for a place among the
   * requests in flight; `state` is asked once it has one.
   *
   * @throws {ProtocolError} for a zero or reused request id.
   */
  async start(
    message: RequestMessage,
    state: () => SessionState,
  ): Promise<void> {
    if (message.id === 0) {
      throw new ProtocolError(
        `${message.type.toUpperCase()} needs a non-zero request id`,
      );
    }
    if (this.#requests.has(message.id)) {
      throw new ProtocolError(`Request id ${message.id} is already in use`);
    }
    let place: Disposable | null = null;
    if (message.type !== "put") {
      if (this.#ended.signal.aborted) return;
      try {
        place = await this.#places.acquire(this.#ended.signal);
      } catch (error) {
        if (this.#ended.signal.aborted) return;
        throw error;
      }
    }
    const now = state();
    if (now === "closing") {
      place?.[Symbol.dispose]();
      return;
    }
    const refusal = now !== "open"
      ? new FtsError(
        "shutting_down",
        `Cannot ${message.type}: the server is shutting down`,
      )
      : message.type === "put" && this.#uploads >= MAX_UPLOADS_IN_FLIGHT
      ? new FtsError(
        "busy",
        `Cannot put: ${MAX_UPLOADS_IN_FLIGHT} uploads are already in flight`,
      )
      : this.#options.refusal(message);
    if (refusal) {
      place?.[Symbol.dispose]();
      this.#logOp(message, { bytes: 0 }, 0, refusal.code);
      await this.#options.conn.send(toWireError(refusal, message.id).reply);
      return;
    }
    const active: Active = {
      controller: new AbortController(),
      inbox: message.type === "put" ? new UploadInbox() : null,
      credits: message.type === "list" && message.window !== undefined &&
          this.#options.context().pull
        ? new ListCredits(message.window)
        : null,
      place,
      done: Promise.resolve(),
    };
    if (message.type === "put") this.#uploads++;
    this.#requests.set(message.id, active);
    active.done = this.#run(message, active);
  }

  async #run(message: RequestMessage, active: Active): Promise<void> {
    const { clock, conn } = this.#options;
    const started = clock.now();
    let result: OpResult = { bytes: 0 };
    let outcome = "ok";
    try {
      result = await this.#handle(message, active);
    } catch (error) {
      active.inbox?.close();
      if (isConnectionLoss(error)) {
        outcome = "disconnected";
        this.#options.lost();
      } else if (error instanceof ConnectionClosed || conn.closed) {
        outcome = "disconnected";
      } else {
        const { reply, unexpected } = toWireError(error, message.id);
        outcome = reply.code;
        if (unexpected) {
          this.#options.log(
            `internal error in ${message.type}: ${
              error instanceof Error
                ? (error.stack ?? error.message)
                : String(error)
            }`,
          );
        }
        await conn.send(reply).catch(() => {});
      }
    } finally {
      active.inbox?.close();
      this.#requests.delete(message.id);
      if (active.place === null) this.#uploads--;
      else active.place[Symbol.dispose]();
      this.#logOp(message, result, clock.now() - started, outcome);
      this.#options.settled();
    }
  }

  #handle(message: RequestMessage, active: Active): Promise<OpResult> {
    const ctx = this.#options.context();
    const signal = active.controller.signal;
    switch (message.type) {
      case "put":
        return receiveFile(ctx, message, active.inbox!, signal);
      case "get":
        return sendFile(ctx, message, signal);
      case "list":
        return listFolder(ctx, message, signal, active.credits);
      case "delete":
        return deleteFile(ctx, message, signal);
      case "rename":
        return renameFile(ctx, message, signal);
      case "mkdir":
        return makeFolder(ctx, message, signal);
      case "shutdown":
        return this.#shutdownServer(message);
      case "usage":
        return reportUsage(ctx, message);
      case "sums":
        return answerSums(ctx, message, signal);
    }
  }

  /** SHUTDOWN from an admin: OK first, then the server's graceful shutdown. */
  async #shutdownServer(message: MessageOf<"shutdown">): Promise<OpResult> {
    const graceMs = Math.min(message.graceMs, this.#options.maxGraceMs);
    await this.#options.conn.send({ type: "ok", id: message.id });
    this.#options.log(`shutdown requested (grace ${graceMs / 1000} s)`);
    this.#options.shutdownServer(graceMs);
    return { bytes: 0 };
  }

  #logOp(
    message: RequestMessage,
    result: OpResult,
    ms: number,
    outcome: string,
  ): void {
    this.#options.log(
      `${message.type} ${describe(message, result)} ${result.bytes} B ${
        Math.round(ms)
      } ms ${outcome}`,
    );
  }
}

/** The names a request's log line shows. */
function describe(message: RequestMessage, result: OpResult): string {
  switch (message.type) {
    case "list":
      return quoteName(message.path);
    case "rename":
      return `${quoteName(message.from)} -> ${quoteName(message.to)}`;
    case "shutdown":
    case "usage":
      return "-";
    case "sums":
      return `${message.files.length} names`;
    case "put":
      return result.finalName !== undefined && result.finalName !== message.name
        ? `${quoteName(message.name)} as ${quoteName(result.finalName)}`
        : quoteName(message.name);
    case "get":
      return message.offset === 0 && message.length === undefined
        ? quoteName(message.name)
        : `${quoteName(message.name)} from ${message.offset}${
          message.length === undefined ? "" : ` length ${message.length}`
        }`;
    default:
      return quoteName(message.name);
  }
}
