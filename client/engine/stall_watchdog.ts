/**
 * The client's own timeout for a transfer that makes no progress: while at
 * least one request is in flight and the client is waiting on the server
 * (not busy itself, e.g. asking for a passphrase or writing to a slow
 * disk), some bytes must arrive from or leave for the server at least
 * once per `timeoutMs`; otherwise the watchdog fires once and the session
 * gives up on the connection.
 *
 * @module
 */

import {
  type Clock,
  systemClock,
  type TimerHandle,
} from "../../common/clock.ts";

/** Default of `fts connect --timeout`: two minutes without progress. */
export const DEFAULT_STALL_TIMEOUT_MS = 120_000;

/** What the watchdog watches. */
export interface WatchdogOptions {
  /** Milliseconds without progress before it fires; 0 never fires. */
  timeoutMs: number;
  /** True while requests are in flight (only then is silence a stall). */
  active: () => boolean;
  /** Called once, when the connection stalled. */
  onStall: () => void;
  /** Default: {@linkcode systemClock}, its timer in the background. */
  clock?: Clock;
}

/** See the module comment. */
export class StallWatchdog {
  readonly #options: WatchdogOptions;
  readonly #clock: Clock;
  #last: number;
  #busy = 0;
  #timer: TimerHandle | null = null;
  #done = false;

  constructor(options: WatchdogOptions) {
    if (!(options.timeoutMs >= 0)) {
      throw new RangeError(`Timeout ${options.timeoutMs} is not >= 0`);
    }
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#last = this.#clock.now();
    if (options.timeoutMs > 0) this.#arm(options.timeoutMs);
  }

  /** Bytes moved: the connection is alive. */
  progress(): void {
    this.#last = this.#clock.now();
  }

  /**
   * Marks the client as busy with its own work until the returned function
   * is called; that time never counts as a stall.
   */
  busy(): () => void {
    this.#busy++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#busy--;
      this.progress();
    };
  }

  /** Stops watching. Idempotent. */
  stop(): void {
    this.#done = true;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimeout(() => this.#check(), ms, {
      background: true,
    });
  }

  #check(): void {
    this.#timer = null;
    if (this.#done) return;
    const timeout = this.#options.timeoutMs;
    const now = this.#clock.now();
    if (this.#busy > 0 || !this.#options.active()) this.#last = now;
    const left = this.#last + timeout - now;
    if (left > 0) {
      this.#arm(left);
      return;
    }
    this.#done = true;
    this.#options.onStall();
  }
}
