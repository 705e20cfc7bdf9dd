/**
 * A counting semaphore with abortable waits, used to bound how many
 * downloads of one session hold their buffers at once.
 *
 * @module
 */

/** See the module comment. */
export class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  /** @throws {RangeError} unless `count` is a positive integer. */
  constructor(count: number) {
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new RangeError(`Slot count ${count} is not a positive integer`);
    }
    this.#free = count;
  }

  /**
   * Waits for a free slot; the returned disposable gives it back.
   *
   * @throws the signal's reason if `signal` aborts first.
   * @example
   * ```ts
   * using _slot = await slots.acquire(signal);
   * ```
   */
  async acquire(signal: AbortSignal): Promise<Disposable> {
    signal.throwIfAborted();
    if (this.#free > 0) {
      this.#free--;
    } else {
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          this.#waiting.splice(this.#waiting.indexOf(grant), 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        this.#waiting.push(grant);
      });
    }
    let released = false;
    return {
      [Symbol.dispose]: () => {
        if (released) return;
        released = true;
        const next = this.#waiting.shift();
        if (next) next();
        else this.#free++;
      },
    };
  }
}
