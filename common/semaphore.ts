/**
 * A counting semaphore with abortable waits and disposable permits, the one
 * way fts bounds how many of something run at once (a session's downloads
 * and listings, password hashes, a batch's outstanding uploads).
 *
 * @module
 */

/**
 * See the module comment.
 *
 * @example
 * ```ts
 * const hashes = new Semaphore(4);
 * using _permit = await hashes.acquire(signal);
 * ```
 */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  /** @throws {RangeError} unless `count` is a positive integer. */
  constructor(count: number) {
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new RangeError(`Permit count ${count} is not a positive integer`);
    }
    this.#free = count;
  }

  /**
   * Waits for a free permit, first come first served; disposing the
   * returned permit gives it back (a second dispose does nothing).
   *
   * @throws the signal's reason if `signal` aborts first.
   */
  async acquire(signal?: AbortSignal): Promise<Disposable> {
    signal?.throwIfAborted();
    if (this.#free > 0) {
      this.#free--;
    } else {
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          this.#waiting.splice(this.#waiting.indexOf(grant), 1);
          reject(signal?.reason);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
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
