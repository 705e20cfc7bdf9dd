/**
 * One session per connection: the TLS handshake (when the server uses TLS),
 * HELLO and WELCOME, the login when accounts exist, then a read loop that
 * dispatches requests, each checked against the client's permissions.
 * Requests run concurrently (a download streams while a LIST is answered);
 * only an upload's DATA frames hold the read loop, each until it is on
 * disk, which is the upload's backpressure. Everything a session waits for
 * belongs to its own connection, so a slow or stuck client never delays
 * another.
 *
 * @module
 */

import { FrameConn, isConnectionLoss } from "../io/frame_conn.ts";
import type { ByteConn } from "../io/frame_conn.ts";
import { isTlsRecordStart, SniffingConn } from "../io/tls_sniff.ts";
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
import type { LoginGate } from "./login.ts";
import {
  type AccessPolicy,
  formatPermissions,
  operationOf,
  type Permission,
  requirePermission,
} from "./permissions.ts";
import { deleteFile, listFolder, makeFolder, renameFile } from "./requests.ts";
import { Slots } from "./slots.ts";
import type { Storage } from "./storage.ts";
import { receiveFile } from "./upload.ts";
import { INTERNAL_MESSAGE, toWireError } from "./wire_error.ts";

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
  /**
   * Decides, when HELLO arrives, whether this client logs in or gets
   * anonymous permissions.
   *
   * @throws {RangeError} when it may do neither (no accounts, and no
   * anonymous access on this address).
   * @throws {FtsError} code `io` when the accounts cannot be read.
   */
  readonly access: () => Promise<AccessPolicy>;
  /** Checks AUTH; null when the server has no accounts at all. */
  readonly loginGate: LoginGate | null;
  /** The client's IP address, without the port: what the login throttle counts. */
  readonly address: string;
  /** A client that must log in has this long after WELCOME to succeed. */
  readonly loginTimeoutMs: number;
  /**
   * Starts the server's graceful shutdown, as SIGTERM does, for an admin's
   * SHUTDOWN.
   */
  readonly shutdownServer: (graceMs: number) => void;
  /** The longest grace period a SHUTDOWN may ask for (the server's own). */
  readonly maxGraceMs: number;
  /**
   * True when the connection is TLS: the session runs its handshake first,
   * logging one line if it fails and nothing when the peer only looked at
   * the certificate and left (the client's identity probe).
   */
  readonly tls?: boolean;
}

/** A TLS connection before its handshake, as the session needs it. */
export type SessionConn = ByteConn & { handshake?(): Promise<unknown> };

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
  /** The TLS connection until its handshake has run; null for plain TCP. */
  #tls: { handshake(): Promise<unknown> } | null;
  #tlsPending = false;
  /** What the client may do; null until it has logged in. */
  #perms: readonly Permission[] | null = null;
  /** The logged-in user, for the log; null when anonymous. */
  #user: string | null = null;
  #loggingIn = false;
  readonly #requests = new Map<number, Active>();
  readonly #timers = new Set<TimerHandle>();
  #ctx: HandlerContext | null = null;
  #state: State = "handshake";
  #lastActivity: number;
  #closeScheduled = false;
  readonly #connClosed = Promise.withResolvers<void>();

  constructor(conn: SessionConn, options: SessionOptions) {
    this.#options = options;
    if (options.tls) {
      if (!conn.handshake) {
        throw new TypeError("A TLS session needs a TLS connection");
      }
      this.#tls = conn as { handshake(): Promise<unknown> };
      this.#conn = new FrameConn(conn);
    } else {
      this.#tls = null;
      // A TLS client's first byte (a ClientHello) gets a clear refusal.
      this.#conn = new FrameConn(
        new SniffingConn(conn, (byte) => {
          if (isTlsRecordStart(byte)) throw new ClientSpeaksTls();
        }),
      );
    }
    this.#lastActivity = options.clock.now();
  }

  /** The client's address. */
  get peer(): string {
    return this.#options.peer;
  }

  /** True once the session is closing or closed. */
  get #ending(): boolean {
    return this.#state === "closing" || this.#state === "closed";
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
      if (this.#tlsPending) {
        this.#log("TLS handshake timeout");
        this.#terminate(new ConnectionClosed(), false);
        return;
      }
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
      if (await this.#tlsHandshake() && await this.#handshake()) {
        await this.#readLoop();
      }
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

  /**
   * Runs the TLS handshake of a TLS connection; false when it failed (one
   * log line) or the connection closed meanwhile.
   */
  async #tlsHandshake(): Promise<boolean> {
    const tls = this.#tls;
    if (tls === null) return true;
    this.#tls = null;
    this.#tlsPending = true;
    try {
      await tls.handshake();
      return this.#state === "handshake";
    } catch (error) {
      if (this.#state === "handshake") {
        this.#log(`TLS handshake failed: ${describeTlsFailure(error)}`);
      }
      return false;
    } finally {
      this.#tlsPending = false;
    }
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
    let policy: AccessPolicy;
    try {
      if (this.#options.refuse) throw this.#options.refuse;
      welcome = negotiate(hello, this.#options);
      policy = await this.#decideAccess();
      welcome = { ...welcome, auth: policy.kind === "login" };
    } catch (error) {
      if (!(error instanceof FtsError)) throw error;
      this.#log(`refused (${error.code}): ${error.message}`);
      this.#terminate(error);
      return false;
    }
    if (this.#state !== "handshake") return false;
    await this.#conn.send(welcome);
    this.#state = "open";
    if (policy.kind === "anonymous") {
      this.#perms = policy.perms;
    } else {
      const limit = this.#options.loginTimeoutMs;
      this.#after(limit, () => {
        if (this.#state !== "open" || this.#perms !== null) return;
        if (this.#loggingIn) return;
        this.#log("login timeout");
        this.#terminate(
          new FtsError(
            "timeout",
            `Cannot log in: no login within ${Math.round(limit / 1000)} s`,
          ),
        );
      });
    }
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
      }], ${
        this.#perms === null
          ? "login required"
          : `anonymous ${formatPermissions(this.#perms)}`
      })`,
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
        await this.#login(message);
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
      : this.#permissionRefusal(message);
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
        return this.#shutdownServer(message);
    }
  }

  /** Why `message` may not run for this client, or null when it may. */
  #permissionRefusal(message: RequestMessage): FtsError | null {
    if (this.#perms === null) {
      return new FtsError(
        "auth_required",
        `Cannot ${message.type}: log in first`,
      );
    }
    const op = operationOf(message.type);
    if (op === null) return null;
    try {
      requirePermission(this.#perms, op);
      return null;
    } catch (error) {
      if (error instanceof FtsError) return error;
      throw error;
    }
  }

  /** SHUTDOWN from an admin: OK first, then the server's graceful shutdown. */
  async #shutdownServer(message: MessageOf<"shutdown">): Promise<OpResult> {
    const graceMs = Math.min(message.graceMs, this.#options.maxGraceMs);
    await this.#conn.send({ type: "ok", id: message.id });
    this.#log(`shutdown requested (grace ${graceMs / 1000} s)`);
    this.#options.shutdownServer(graceMs);
    return { bytes: 0 };
  }

  /** The access policy for this connection, errors translated for the client. */
  async #decideAccess(): Promise<AccessPolicy> {
    try {
      return await this.#options.access();
    } catch (error) {
      if (error instanceof RangeError) {
        throw new FtsError(
          "auth_failed",
          "Cannot connect: the server has no user accounts and allows no anonymous access here",
        );
      }
      if (error instanceof FtsError) {
        this.#log(`cannot decide access: ${error.message}`);
        throw new FtsError("internal", INTERNAL_MESSAGE, { cause: error });
      }
      throw error;
    }
  }

  /**
   * AUTH: checks the login through the gate. A success sets the
   * permissions; a failure is answered after the throttle's delay and ends
   * the connection (one guess per connection). The password is never
   * logged or kept.
   */
  async #login(auth: MessageOf<"auth">): Promise<void> {
    if (this.#ending) return;
    const gate = this.#options.loginGate;
    const refuse = (message: string) =>
      this.#conn.send({ type: "error", id: 0, code: "bad_request", message });
    if (gate === null || (this.#perms !== null && this.#user === null)) {
      await refuse("Cannot log in: this server does not ask for a login");
      return;
    }
    if (this.#perms !== null) {
      await refuse("Cannot log in: already logged in");
      return;
    }
    this.#loggingIn = true;
    try {
      const outcome = await gate.check(auth, this.#options.address);
      if (this.#ending) return;
      if (outcome.ok) {
        this.#perms = outcome.perms;
        this.#user = outcome.user;
        this.#log(`logged in (${formatPermissions(outcome.perms)})`);
        await this.#conn.send({ type: "ok", id: 0, perms: [...outcome.perms] });
        return;
      }
      await this.#pause(outcome.delayMs);
      this.#log(outcome.log);
      if (this.#ending) return;
      this.#terminate(outcome.error);
    } finally {
      this.#loggingIn = false;
    }
  }

  /** Waits `ms` on the session's clock, or less if the connection closes. */
  #pause(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#after(ms, resolve);
      void this.#connClosed.promise.then(() => resolve());
    });
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
    if (notify && !this.#conn.closed && !this.#tlsPending) {
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
    if (error instanceof ClientSpeaksTls) {
      this.#log(
        "refused: the client speaks TLS, but this server runs with --no-tls",
      );
      this.#conn.send(toWireError(error, 0).reply).catch(() => {});
      return error;
    }
    if (this.#options.tls && error instanceof Deno.errors.InvalidData) {
      this.#log(`TLS error: ${firstLine(error.message)}`);
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
    const who = this.#user === null
      ? this.#options.peer
      : `${this.#options.peer} ${this.#user}`;
    this.#options.log(`${who} ${line}`);
  }
}

/** A plain-TCP server's answer to a TLS ClientHello. */
class ClientSpeaksTls extends ProtocolError {
  constructor() {
    super(
      "This server does not use TLS: connect with --no-tls, or start the server without it",
    );
  }
}

/** One line on why a TLS handshake failed, for the log. */
function describeTlsFailure(error: unknown): string {
  if (isConnectionLoss(error)) return "the client closed the connection";
  const message = error instanceof Error ? firstLine(error.message) : "";
  if (/InvalidContentType|corrupt message|wrong version/i.test(message)) {
    return "the client does not speak TLS (started with --no-tls?)";
  }
  if (/alert/i.test(message)) {
    return `the client refused the server's certificate (${message})`;
  }
  return message === "" ? String(error) : message;
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0]!;
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
