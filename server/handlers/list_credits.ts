/**
 * The pages a listing may still send (feature "pull"): LIST's `window` at
 * first, one more for each LIST_NEXT the client sends, so a client that
 * does not read on holds the listing where it is, the server reading no
 * page of the folder ahead of it.
 *
 * @module
 */

/** Credits of one listing; see the module comment. */
export class ListCredits {
  #credits: number;
  #wake: (() => void) | null = null;

  /** @throws {RangeError} unless `window` is a positive integer. */
  constructor(window: number) {
    if (!Number.isSafeInteger(window) || window < 1) {
      throw new RangeError(`List window ${window} is not a positive integer`);
    }
    this.#credits = window;
  }

  /** One more page may be sent (a LIST_NEXT arrived). */
  grant(): void {
    if (this.#credits < Number.MAX_SAFE_INTEGER) this.#credits++;
    this.#wake?.();
  }

  /**
   * Waits until a page may be sent, and counts it as sent.
   *
   * @throws the signal's reason if `signal` aborts first.
   */
  async take(signal: AbortSignal): Promise<void> {
    while (this.#credits === 0) {
      signal.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        this.#wake = () => {
          signal.removeEventListener("abort", onAbort);
          this.#wake = null;
          resolve();
        };
      });
    }
    this.#credits--;
  }
}
