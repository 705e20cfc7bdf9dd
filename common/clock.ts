/**
 * Time for both sides, injectable so tests drive timeouts, grace periods,
 * bans and progress rates without sleeping (see
 * tests/_helpers/common/manual_clock.ts).
 *
 * @module
 */

/** An opaque handle returned by {@linkcode Clock.setTimeout}. */
export type TimerHandle = unknown;

/** Options of {@linkcode Clock.setTimeout}. */
export interface TimerOptions {
  /**
   * A timer that does not keep the process alive on its own (a watchdog
   * of a connection that ends with the process). Default false.
   */
  background?: boolean;
}

/**
 * The clock fts reads for deadlines, durations, file ages and dates. Code
 * that only reads the time asks for `Pick<Clock, "now">`.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): TimerHandle;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `Date.now` and the global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms, options) => {
    const id = setTimeout(fn, ms);
    if (options?.background) Deno.unrefTimer(id);
    return id;
  },
  clearTimeout: (handle) =>
    clearTimeout(handle as ReturnType<typeof setTimeout>),
};
