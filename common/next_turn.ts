/**
 * Waiting for the next turn of the event loop, I/O callbacks included: how
 * senders let the frames queued in one turn share one write.
 * `setImmediate`, not `setTimeout(0)`, which is clamped to milliseconds.
 *
 * @module
 */

import { setImmediate } from "node:timers";

/** Calls `callback` once the event loop has turned once. */
export function afterTurn(callback: () => void): void {
  setImmediate(callback);
}

/** Resolves after the event loop has turned once. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => afterTurn(resolve));
}
