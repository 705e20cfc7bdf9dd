/**
 * Automatic retries of an operation whose connection failed under it: the
 * connection dropped, the server stalled, or it shut down (GOING_AWAY). The
 * operation runs again on a new session after an exponential back-off with
 * jitter, a bounded number of times (`fts connect --retries N`). A transfer
 * run again continues from what the server or the local disk already
 * holds: single files by resume, folders by skip-identical plus resume.
 *
 * Only failures a new connection can fix are retried; a refusal (quota,
 * permission, no such file, bad name, login, a verification failure) is
 * final and comes back at once. The decision reads error codes, classes and
 * the session's state, never message text. The engine never prints: each
 * wait is reported through {@linkcode RetryOptions.onRetry} before it
 * starts.
 *
 * @module
 */

import { type Clock, systemClock } from "../../common/clock.ts";
import { type ErrorCode, FtsError } from "../../protocol/errors.ts";
import {
  ConnectError,
  type ConnectFailure,
  NotTlsError,
} from "../connect/connect_error.ts";

/** Default of `fts connect --retries`. */
export const DEFAULT_RETRIES = 5;
/** Most retries `--retries` accepts. */
export const MAX_RETRIES = 100;
/** The first wait, before jitter (ms). */
export const BASE_DELAY_MS = 1_000;
/** The longest wait, before jitter (ms). */
export const MAX_DELAY_MS = 30_000;

/** Why an operation is tried again. */
export type RetryReason =
  /** The server announced its shutdown (GOING_AWAY) and ended the session. */
  | "going_away"
  /** The connection ended without a word from the server. */
  | "connection_lost"
  /** The client gave up on a connection that made no progress. */
  | "stalled"
  /** Connecting again failed in a way that may pass (refused, reset, busy). */
  | "connect_failed";

/** One retry, announced before its wait. */
export interface RetryEvent {
  /** Which retry this is, from 1. */
  readonly attempt: number;
  /** How many retries are allowed in all. */
  readonly retries: number;
  /** The wait before it (ms), jitter included. */
  readonly delayMs: number;
  readonly reason: RetryReason;
  /** The failure that caused it. */
  readonly error: FtsError;
}

/** What a session tells about how it ended; see {@linkcode ClientSession}. */
export interface SessionState {
  /** The connection ended, and not because this side closed it. */
  readonly lost: boolean;
  /** The server announced its shutdown. */
  readonly goingAway: unknown;
}

/** Options of {@linkcode withRetries}. */
export interface RetryOptions {
  /** Retries after the first try; 0 never retries. */
  retries: number;
  /**
   * Why the operation's failure `error` may pass on a new connection, or
   * null when it is final (see {@linkcode operationRetryReason}).
   */
  reason(error: unknown): RetryReason | null;
  /**
   * Opens a new session for the next try; its failure is judged by
   * {@linkcode connectRetryReason} and counts as a try.
   */
  reconnect(): Promise<void>;
  /** Told before each wait. */
  onRetry?: (event: RetryEvent) => void;
  /** Stops the waits and the retries: the last failure is thrown. */
  signal?: AbortSignal | undefined;
  /** The clock of the waits. Default: the system's. */
  clock?: Clock;
  /** Jitter source in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/**
 * The wait before retry number `attempt` (from 1): {@linkcode BASE_DELAY_MS}
 * doubled for each retry before, at most {@linkcode MAX_DELAY_MS}, then
 * scaled by a jitter factor between 0.5 and 1 so that clients cut off
 * together do not come back together; rounded to 100 ms.
 *
 * @throws {RangeError} when `attempt` is not an integer of at least 1.
 * @example
 * ```ts
 * backoffDelay(3, () => 0.999); // 4000: 1 s, 2 s, then 4 s
 * ```
 */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`A retry number starts at 1, not ${attempt}`);
  }
  const full = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  const jitter = 0.5 + 0.5 * Math.min(Math.max(random(), 0), 1);
  return Math.max(100, Math.round(full * jitter / 100) * 100);
}

/** Codes a new connection may fix: the others are refusals, final. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "io",
  "timeout",
  "shutting_down",
  "busy",
]);

/**
 * Why an operation that failed with `error` on `session` may succeed on a
 * new connection, or null when it may not: it must have failed with a
 * transient code (for a batch, one of its files did) after the server
 * ended the session, or with `shutting_down`. A refusal the server sent
 * while the connection was up, a local failure, or a cancellation is final.
 */
export function operationRetryReason(
  error: unknown,
  session: SessionState,
): RetryReason | null {
  if (!(error instanceof FtsError) || !transient(error)) return null;
  if (session.goingAway || error.code === "shutting_down") {
    return "going_away";
  }
  if (!session.lost) return null;
  return error.code === "timeout" ? "stalled" : "connection_lost";
}

/** Connect failures that may pass on their own. */
const PASSING: ReadonlySet<ConnectFailure> = new Set<ConnectFailure>([
  "refused",
  "host_not_found",
  "timed_out",
  "unreachable",
  "reset",
  "closed",
  "no_answer",
  "no_tls_handshake",
  "system",
]);

/**
 * Why connecting again may succeed after it failed with `error`, or null:
 * a refused or reset connection passes when the server is back, a server
 * busy or shutting down when it has room again; a refused identity or
 * login, or a server that does not speak fts, does not.
 */
export function connectRetryReason(error: unknown): RetryReason | null {
  if (!(error instanceof ConnectError)) return null;
  // A hang-up during the TLS handshake (a server starting or stopping),
  // not a server that speaks something else.
  if (error instanceof NotTlsError) {
    return error.peer === "none" ? "connect_failed" : null;
  }
  if (error.failure === "refused_by_server") {
    return error.code === "busy" || error.code === "shutting_down"
      ? "connect_failed"
      : null;
  }
  return PASSING.has(error.failure) ? "connect_failed" : null;
}

/**
 * Runs `run`; when it fails in a way a new connection may fix, waits,
 * reconnects and runs it again, up to `options.retries` more times. A
 * failed reconnection uses up a try as well.
 *
 * @throws the last failure: a final one at once, a passing one once the
 * retries are used up or `options.signal` is aborted.
 * @example
 * ```ts
 * await withRetries(() => state.session.put(path, name), {
 *   retries: 5,
 *   reason: (error) => operationRetryReason(error, state.session),
 *   reconnect: async () => { state.session = await open(); },
 * });
 * ```
 */
export function withRetries<T>(
  run: () => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  return new RetryLoop(options).run(run);
}

/**
 * The loop of {@linkcode withRetries}, for a caller that must know, while
 * the operation fails, whether the failure will be retried.
 */
export class RetryLoop {
  readonly #options: RetryOptions;
  #attempt = 0;

  constructor(options: RetryOptions) {
    this.#options = options;
  }

  /** Retries made so far. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Tells whether the operation's failure `error` will be tried again. */
  willRetry(error: unknown): boolean {
    return this.#retries(error, this.#options.reason(error));
  }

  /** See {@linkcode withRetries}. */
  async run<T>(run: () => Promise<T>): Promise<T> {
    const options = this.#options;
    const clock = options.clock ?? systemClock;
    const random = options.random ?? Math.random;
    for (;;) {
      try {
        return await run();
      } catch (error) {
        let failure: unknown = error;
        let reason = options.reason(error);
        for (;;) {
          if (!this.#retries(failure, reason)) throw failure;
          const attempt = ++this.#attempt;
          const delayMs = backoffDelay(attempt, random);
          options.onRetry?.({
            attempt,
            retries: options.retries,
            delayMs,
            reason: reason!,
            error: failure as FtsError,
          });
          if (!await wait(delayMs, clock, options.signal)) throw failure;
          try {
            await options.reconnect();
            break;
          } catch (connectFailure) {
            failure = connectFailure;
            reason = connectRetryReason(connectFailure);
          }
        }
      }
    }
  }

  #retries(error: unknown, reason: RetryReason | null): boolean {
    return reason !== null && error instanceof FtsError &&
      this.#attempt < this.#options.retries && !this.#options.signal?.aborted;
  }
}

/** Waits `ms` on `clock`; resolves false when `signal` aborts first. */
function wait(
  ms: number,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      resolve(false);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Whether `error`, or for a batch one of the failures it gathers, is transient. */
function transient(error: FtsError): boolean {
  if (TRANSIENT.has(error.code)) return true;
  const cause = error.cause;
  return cause instanceof AggregateError &&
    cause.errors.some((e) => e instanceof FtsError && TRANSIENT.has(e.code));
}
