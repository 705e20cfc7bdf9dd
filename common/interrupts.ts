/**
 * Termination signals as key presses, shared by `fts serve` and
 * `fts connect`. A terminal sends Ctrl-C's SIGINT to the whole foreground
 * process group, and launchers such as `npx` and `deno task` forward their
 * own copy to fts as well: one press arrives as two signals a few
 * milliseconds apart. A signal that follows the last counted one of the
 * same kind within {@linkcode DUPLICATE_WINDOW_MS} is that press's
 * duplicate and is dropped; a person's second press comes much later and
 * counts, and so does a different signal (SIGTERM after SIGINT).
 *
 * The listeners stay installed until the duplicate window of the last
 * signal has passed, so a late copy never meets the default action (which
 * would end the process with status 130 after a clean shutdown).
 *
 * @module
 */

import { type Clock, systemClock } from "./clock.ts";

/** Signals closer than this to the last counted one are duplicates (ms). */
const DUPLICATE_WINDOW_MS = 250;

/** Where signals come from: `Deno.addSignalListener` by default. */
export interface SignalHost {
  add(signal: Deno.Signal, handler: () => void): void;
  remove(signal: Deno.Signal, handler: () => void): void;
}

/** Options of {@linkcode SignalPresses}. */
export interface SignalPressesOptions {
  /** Default {@linkcode DUPLICATE_WINDOW_MS}. */
  windowMs?: number;
  /** Default: {@linkcode systemClock}. */
  clock?: Clock;
  /** Default: the process's own signals. */
  host?: SignalHost;
}

/** The process's signals. */
const processSignals: SignalHost = {
  add: (signal, handler) => Deno.addSignalListener(signal, handler),
  remove: (signal, handler) => Deno.removeSignalListener(signal, handler),
};

/**
 * Counts presses of `signals`: `onPress(n)` is called with 1 for the first
 * press, 2 for the second…, never for a duplicate. Signals a platform
 * lacks are skipped (Windows has no SIGTERM).
 *
 * @example
 * ```ts
 * const presses = new SignalPresses(["SIGINT", "SIGTERM"], (n) => {
 *   void server.shutdown(n === 1 ? graceMs : 0);
 * });
 * await server.finished;
 * await presses.close();
 * ```
 */
export class SignalPresses {
  readonly #onPress: (count: number) => void;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #host: SignalHost;
  readonly #handlers = new Map<Deno.Signal, () => void>();
  /** When each signal was last counted. */
  readonly #last = new Map<Deno.Signal, number>();
  #count = 0;
  #closed = false;

  constructor(
    signals: readonly Deno.Signal[],
    onPress: (count: number) => void,
    options: SignalPressesOptions = {},
  ) {
    this.#onPress = onPress;
    this.#windowMs = options.windowMs ?? DUPLICATE_WINDOW_MS;
    this.#clock = options.clock ?? systemClock;
    this.#host = options.host ?? processSignals;
    for (const signal of signals) {
      const handler = () => this.#received(signal);
      try {
        this.#host.add(signal, handler);
        this.#handlers.set(signal, handler);
      } catch {
        // Not every platform has every signal.
      }
    }
  }

  /** True when at least one signal could be listened to. */
  get listening(): boolean {
    return this.#handlers.size > 0 && !this.#closed;
  }

  /** Presses counted so far. */
  get count(): number {
    return this.#count;
  }

  /** Counts a press that did not come as a signal (e.g. a test's abort). */
  press(): void {
    this.#count++;
    this.#onPress(this.#count);
  }

  /**
   * Removes the listeners at once; a signal that arrives afterwards gets
   * the default action. For a process that is about to end on purpose.
   */
  release(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [signal, handler] of this.#handlers) {
      this.#host.remove(signal, handler);
    }
  }

  /**
   * Removes the listeners once the duplicate window of the last signal has
   * passed; until then a duplicate is still swallowed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    const last = Math.max(-Infinity, ...this.#last.values());
    const left = last + this.#windowMs - this.#clock.now();
    if (left > 0) {
      await new Promise<void>((resolve) =>
        this.#clock.setTimeout(resolve, left)
      );
    }
    this.release();
  }

  #received(signal: Deno.Signal): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    const last = this.#last.get(signal);
    if (last !== undefined && now - last < this.#windowMs) return;
    this.#last.set(signal, now);
    this.press();
  }
}
