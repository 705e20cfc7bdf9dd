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
 * This file holds the connection's lifecycle (handshake, read loop,
 * timeouts, closing); the dispatch table is in `dispatch.ts`, the requests
 * in flight in `request_runner.ts`, login and permissions in
 * `session_access.ts`.
 *
 * @module
 */

import { FrameConn } from "../../common/frame_conn.ts";
import type { ByteConn } from "../../common/frame_conn.ts";
import { isTlsRecordStart, SniffingConn } from "../../common/tls_sniff.ts";
import type { ConnectionLimits } from "../../common/rate_limit.ts";
import { throttled } from "../../common/throttled_conn.ts";
import { FtsError, ProtocolError } from "../../protocol/errors.ts";
import { decodeMessage, type MessageOf } from "../../protocol/messages.ts";
import { quoteName } from "../../protocol/names.ts";
import type { Clock, TimerHandle } from "../../common/clock.ts";
import type { HandlerContext } from "../handlers/handler_context.ts";
import { dispatch, type DispatchTarget } from "./dispatch.ts";
import { negotiate } from "./handshake.ts";
import type { LoginGate } from "../auth/login.ts";
import {
  type AccessDecision,
  type AccessPolicy,
  formatPermissions,
} from "../auth/permissions.ts";
import { RequestRunner, type SessionState } from "./request_runner.ts";
import {
  SessionAccess,
  type SessionLogin,
  type Standing,
} from "./session_access.ts";
import {
  classifyConnectionError,
  ClientSpeaksTls,
  ConnectionClosed,
  describeTlsFailure,
} from "./session_errors.ts";
import { Semaphore } from "../../common/semaphore.ts";
import type { Storage } from "../storage/storage.ts";
import type { UsageReport } from "../storage/quota.ts";
import { toWireError } from "./wire_error.ts";
import { eventLoopTurns } from "./loop_turns.ts";

export { MAX_REQUESTS_IN_FLIGHT } from "./request_runner.ts";

/** How long a session waits for its last frames to leave before closing anyway. */
const FLUSH_MS = 1000;
/**
 * Downloads of one connection that stream at once (each holds two chunk
 * buffers); further GETs wait their turn.
 */
const DOWNLOAD_SLOTS = 4;
/**
 * Listings of one connection held in memory at once; further LISTs wait
 * their turn.
 */
export const LIST_SLOTS = 4;
/**
 * Bytes of replies (everything but file data) one connection may have
 * waiting to be written. Above it the session reads no further request and
 * a LIST sends no further page until the client has read: a client that
 * does not read stops being served instead of growing the server's memory.
 */
export const WRITE_QUEUE_BYTES = 1024 * 1024;

/**
 * What one connection may hold of the server's memory at most, in MiB, at
 * the default chunk size: its requests in flight (under 1 MiB, see
 * request_runner.ts), one frame being read (4 MiB),
 * {@linkcode WRITE_QUEUE_BYTES} of replies plus one ENTRIES frame per
 * listing (4 × 0.6 MiB), {@linkcode LIST_SLOTS} listings of two pages each
 * (a page of 1,000 long names measured 0.72 MiB with its frame),
 * {@linkcode DOWNLOAD_SLOTS} downloads of up to 3 chunk buffers each,
 * one upload chunk, and the replies of small files that wait to be written
 * without a download slot (64 × 8 KiB, see get_handler.ts): 1 + 4 + 3.5 +
 * 6 + 12 + 1 + 0.5 = 28. The local backend
 * also holds the names of each folder being listed. Documented in README.
 */
export const CONNECTION_MEMORY_MIB = 28;

/** Settings of a {@linkcode Session}; the server fills in its defaults. */
export interface SessionOptions {
  /** Where files live. */
  readonly storage: Storage;
  /**
   * What the USAGE request answers for an account (null: anonymous);
   * absent: the server has no usage to report (feature "usage" not offered).
   */
  readonly usage?: (account: string | null) => UsageReport;
  /** Time source for deadlines and durations. */
  readonly clock: Clock;
  /** Receives one line per operation and per connection event. */
  readonly log: (line: string) => void;
  /** The client's address, for the log ("127.0.0.1:50312"). */
  readonly peer: string;
  /** Deadline for HELLO, from the moment the connection is accepted. */
  readonly handshakeTimeoutMs: number;
  /**
   * A connection with no frame but PING from the client and no transfer
   * progress for this long is closed.
   */
  readonly idleTimeoutMs: number;
  /** Largest DATA chunk in either direction. */
  readonly chunkSize: number;
  /** Features the server offers. */
  readonly features: readonly string[];
  /** The connection's bandwidth limits (common/throttled_conn.ts). */
  readonly limits?: ConnectionLimits;
  /** The server's agent string in WELCOME. */
  readonly agent: string;
  /** When set, HELLO is answered with this error and the connection closed. */
  readonly refuse?: FtsError;
  /**
   * Decides, when HELLO arrives, whether this client logs in or gets
   * anonymous permissions; a refusal when it may do neither (no accounts,
   * and no anonymous access on this address).
   *
   * @throws {FtsError} code `io` when the accounts cannot be read.
   */
  readonly access: () => Promise<AccessDecision>;
  /** Checks AUTH; null when the server has no accounts at all. */
  readonly loginGate: LoginGate | null;
  /**
   * What the client may do now, asked before each request; a standing
   * other than "ok" ends the session (see `standingOf`).
   */
  readonly recheck: (login: SessionLogin | null) => Standing;
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

/** See the module comment. The server calls {@linkcode run} once. */
export class Session {
  readonly #options: SessionOptions;
  readonly #conn: FrameConn;
  /** The TLS connection until its handshake has run; null for plain TCP. */
  #tls: { handshake(): Promise<unknown> } | null;
  #tlsPending = false;
  readonly #access: SessionAccess;
  readonly #requests: RequestRunner;
  readonly #dispatchTarget: DispatchTarget;
  readonly #timers = new Set<TimerHandle>();
  #ctx: HandlerContext | null = null;
  #state: SessionState = "handshake";
  #lastActivity: number;
  #closeScheduled = false;
  readonly #connClosed = Promise.withResolvers<void>();
  /** Aborted when the connection closes, for waits that are not timers. */
  readonly #closedSignal = new AbortController();

  constructor(conn: SessionConn, options: SessionOptions) {
    this.#options = options;
    const limits = options.limits ?? { read: null, write: null };
    // Time the server's own limits hold a transfer back is not idle time.
    const held = () => {
      this.#lastActivity = options.clock.now();
    };
    if (options.tls) {
      if (!conn.handshake) {
        throw new TypeError("A TLS session needs a TLS connection");
      }
      this.#tls = conn as { handshake(): Promise<unknown> };
      this.#conn = new FrameConn(throttled(conn, limits, held), {
        byTurn: true,
      });
    } else {
      this.#tls = null;
      // A TLS client's first byte (a ClientHello) gets a clear refusal.
      this.#conn = new FrameConn(
        throttled(
          new SniffingConn(conn, (byte) => {
            if (isTlsRecordStart(byte)) throw new ClientSpeaksTls();
          }),
          limits,
          held,
        ),
        { byTurn: true },
      );
    }
    this.#lastActivity = options.clock.now();
    const log = (line: string) => this.#log(line);
    this.#access = new SessionAccess({
      access: options.access,
      loginGate: options.loginGate,
      address: options.address,
      log,
      recheck: options.recheck,
      revoke: (reason) => this.#terminate(reason),
    });
    this.#requests = new RequestRunner({
      conn: this.#conn,
      clock: options.clock,
      log,
      context: () => this.#ctx!,
      refusal: (message) => this.#access.refusal(message.type),
      shutdownServer: options.shutdownServer,
      maxGraceMs: options.maxGraceMs,
      settled: () => this.#closeIfIdle(),
      lost: () => this.#terminate(new ConnectionClosed(), false),
    });
    this.#dispatchTarget = {
      conn: this.#conn,
      requests: this.#requests,
      state: () => this.#state,
      close: () => this.#close(),
      login: (auth) => this.#login(auth),
      dataRules: () => this.#ctx!,
    };
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
      reason = classifyConnectionError(error, {
        conn: this.#conn,
        tls: this.#options.tls === true,
        log: (line) => this.#log(line),
      });
    } finally {
      this.#terminate(reason, false);
      await this.#requests.finished();
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
      policy = await this.#access.decide();
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
      this.#access.grant(policy.perms);
    } else {
      const limit = this.#options.loginTimeoutMs;
      this.#after(limit, () => {
        if (this.#state !== "open" || this.#access.perms !== null) return;
        if (this.#access.loggingIn) return;
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
      account: () => this.#access.user,
      ...(this.#options.usage && welcome.features.includes("usage")
        ? { usage: this.#options.usage }
        : {}),
      chunkSize: this.#options.chunkSize,
      zstd: welcome.features.includes("zstd"),
      modes: welcome.features.includes("mode"),
      pull: welcome.features.includes("pull"),
      sums: welcome.features.includes("sums"),
      resume: welcome.features.includes("resume"),
      log: (line) => this.#log(line),
      xxh128: welcome.features.includes("xxh128"),
      downloads: new Semaphore(DOWNLOAD_SLOTS),
      lists: new Semaphore(LIST_SLOTS),
      turns: eventLoopTurns.of(this),
      writeQueueBytes: WRITE_QUEUE_BYTES,
      touch: () => {
        this.#lastActivity = this.#options.clock.now();
      },
    };
    this.#log(
      `connected (${quoteName(hello.agent, 60)}, features [${
        welcome.features.join(", ")
      }], ${
        this.#access.perms === null
          ? "login required"
          : `anonymous ${formatPermissions(this.#access.perms)}`
      })`,
    );
    this.#lastActivity = this.#options.clock.now();
    this.#armIdle(this.#options.idleTimeoutMs);
    return true;
  }

  async #readLoop(): Promise<void> {
    for (;;) {
      // Backpressure: no new request while the client leaves replies unread.
      await this.#conn.queueBelow(WRITE_QUEUE_BYTES);
      if (this.#ending) return;
      const frame = await this.#conn.readFrame();
      if (frame === null) return;
      const message = decodeMessage(frame);
      // Keep-alive alone does not keep a connection: PING is no activity.
      if (message.type !== "ping") {
        this.#lastActivity = this.#options.clock.now();
      }
      await dispatch(message, this.#dispatchTarget);
    }
  }

  /** AUTH, through the session's {@linkcode SessionAccess}. */
  #login(auth: MessageOf<"auth">): Promise<void> {
    return this.#access.login(auth, {
      ending: () => this.#ending,
      send: (message) => this.#conn.send(message),
      pause: (ms) => this.#pause(ms),
      signal: this.#closedSignal.signal,
      terminate: (reason) => this.#terminate(reason),
    });
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
    this.#requests.abortAll(reason);
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
    this.#closedSignal.abort(new ConnectionClosed());
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

  #log(line: string): void {
    const user = this.#access.user;
    const who = user === null
      ? this.#options.peer
      : `${this.#options.peer} ${user}`;
    this.#options.log(`${who} ${line}`);
  }
}
