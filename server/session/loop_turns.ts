/**
 * Turns on the event loop for work that holds it: the local backend reads a
 * folder synchronously (a 4,000-entry folder holds the thread for 50–100
 * ms), and every session shares the one thread.
 *
 * Yielding with `setTimeout(0)` between such jobs is not enough: the runtime
 * checks the sockets for new data only when it has nothing ready to run, and
 * with several jobs queued, the timer of the next one has always expired
 * while the last one ran. A flood of LISTs then kept another client's PING
 * unread for over a second. So jobs take turns, one at a time, the waiting
 * owners (sessions) in rotation, each owner's jobs in the order they asked:
 * a connection with many listings waiting gets one turn, then every other
 * connection that waits gets one. Once jobs have held the loop for
 * {@linkcode LOOP_SHARE_MS} since it last went idle, the next turn is given
 * only by a short timer armed after the previous job ended: the loop goes
 * idle in between, reads every socket that has data, and runs what that
 * data asks before the next job starts. Short jobs (a small folder) pass
 * without a pause.
 *
 * @module
 */

import type { Turns } from "../handlers/handler_context.ts";

/**
 * How long jobs may hold the event loop, one after another, before the
 * next waits for the loop to go idle once.
 */
const LOOP_SHARE_MS = 10;

/** A job waiting for its turn. */
interface Waiter {
  readonly grant: () => void;
}

/** See the module comment; one per process, shared by every session. */
export class LoopTurns implements Turns {
  readonly #shareMs: number;
  #held = false;
  /** Waiting jobs by owner; the map's order is the rotation. */
  readonly #waiting = new Map<object, Waiter[]>();
  /** When the loop last went idle between turns (performance.now()). */
  #lastIdle = performance.now();

  /** @throws {RangeError} unless `shareMs` is a finite number ≥ 0. */
  constructor(shareMs: number = LOOP_SHARE_MS) {
    if (!Number.isFinite(shareMs) || shareMs < 0) {
      throw new RangeError(`Loop share ${shareMs} ms is not a duration`);
    }
    this.#shareMs = shareMs;
  }

  /** The turns of `owner` (one per session), taken in rotation with others'. */
  of(owner: object): Turns {
    return { take: (signal) => this.take(signal, owner) };
  }

  /**
   * Waits for this job's turn; the returned disposable ends it. The time is
   * the event loop's own (real timers, not a session clock): what is shared
   * is the thread.
   *
   * @throws the signal's reason if `signal` aborts first.
   * @example
   * ```ts
   * using _turn = await turns.take(signal);
   * const page = await pages.next();
   * ```
   */
  async take(signal: AbortSignal, owner: object = this): Promise<Disposable> {
    await this.#acquire(signal, owner);
    let ended = false;
    const turn = {
      [Symbol.dispose]: () => {
        if (ended) return;
        ended = true;
        this.#release();
      },
    };
    try {
      if (performance.now() - this.#lastIdle >= this.#shareMs) {
        await idle(signal);
        this.#lastIdle = performance.now();
      }
    } catch (error) {
      turn[Symbol.dispose]();
      throw error;
    }
    return turn;
  }

  #acquire(signal: AbortSignal, owner: object): Promise<void> {
    signal.throwIfAborted();
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const queue = this.#waiting.get(owner);
        if (queue) {
          queue.splice(queue.indexOf(waiter), 1);
          if (queue.length === 0) this.#waiting.delete(owner);
        }
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      const queue = this.#waiting.get(owner);
      if (queue) queue.push(waiter);
      else this.#waiting.set(owner, [waiter]);
    });
  }

  /** Gives the turn to the first waiting owner's oldest job, or frees it. */
  #release(): void {
    const next = this.#waiting.entries().next();
    if (next.done) {
      this.#held = false;
      return;
    }
    const [owner, queue] = next.value;
    const waiter = queue.shift()!;
    // The owner goes to the end of the rotation, if it still waits.
    this.#waiting.delete(owner);
    if (queue.length > 0) this.#waiting.set(owner, queue);
    waiter.grant();
  }
}

/**
 * The pause that lets the loop go idle. Measured: with 1 ms the runtime
 * often found the timer already due when it came to wait (what ran in
 * between took that long), and read no socket; with 3 ms another client's
 * PING was read between any two listings of a flood.
 */
const IDLE_MS = 3;
/** A pause whose timer fires later than this after it was due was not idle. */
const LATE_MS = 2;
/** Pauses tried before the turn is given anyway, so a busy loop still serves turns. */
const IDLE_TRIES = 5;

/**
 * Resolves once the loop has been idle: after a timer of
 * {@linkcode IDLE_MS} that fired on time, which means the runtime had
 * nothing else to run and waited for it, polling its sockets meanwhile. A
 * timer that fires late means other work (encoding a reply, the collector)
 * held the loop past it, so another is armed, up to {@linkcode IDLE_TRIES}.
 */
async function idle(signal: AbortSignal): Promise<void> {
  for (let i = 0; i < IDLE_TRIES; i++) {
    const armed = performance.now();
    await pause(IDLE_MS, signal);
    if (performance.now() - armed < IDLE_MS + LATE_MS) return;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** The turns of this process's event loop. */
export const eventLoopTurns: LoopTurns = new LoopTurns();
