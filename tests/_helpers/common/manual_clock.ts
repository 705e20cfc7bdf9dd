/**
 * A {@linkcode Clock} that moves only when a test says so, for timeouts
 * without sleeping.
 *
 * @module
 */

import type { Clock, TimerHandle } from "../../../common/clock.ts";

interface Timer {
  readonly at: number;
  readonly ms: number;
  readonly fn: () => void;
}

/** See the module comment. */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, Timer>();
  #watchers: { ms: number; resolve: () => void }[] = [];

  constructor(start = Date.UTC(2030, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + ms, ms, fn });
    const ready = this.#watchers.filter((w) => w.ms === ms);
    this.#watchers = this.#watchers.filter((w) => w.ms !== ms);
    for (const w of ready) w.resolve();
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** Timers set and neither fired nor cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Resolves once a timer of exactly `ms` is pending (already, or later). */
  timerSet(ms: number): Promise<void> {
    for (const t of this.#timers.values()) {
      if (t.ms === ms) return Promise.resolve();
    }
    return new Promise((resolve) => this.#watchers.push({ ms, resolve }));
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, Timer] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) {
          next = entry;
        }
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].fn();
    }
    this.#now = end;
  }
}
