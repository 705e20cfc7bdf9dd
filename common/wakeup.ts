/**
 * One side of a producer and consumer waiting for the other: `wait()`
 * resolves at the next `wake()`; a `wake()` with no one waiting does
 * nothing, so the waiter re-checks its condition in a loop.
 *
 * @module
 */

/** See the module comment. */
export class Wakeup {
  #resolve: (() => void) | null = null;

  /** Resolves at the next {@linkcode Wakeup.wake}. */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => this.#resolve = resolve);
  }

  /** Wakes the current waiter, if any. */
  wake(): void {
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.();
  }
}
