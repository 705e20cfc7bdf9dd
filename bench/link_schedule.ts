/**
 * The timing model of the shaping proxy: one direction of a link with a
 * fixed rate and a fixed one-way delay. Bytes queue behind the bytes handed
 * in before them, leave the sender at the link's rate (a token bucket one
 * packet deep: no burst above the rate) and arrive `delayMs` later. Pure:
 * the caller passes the time, so tests drive it with their own clock.
 *
 * @module
 */

/** One direction of a shaped link. */
export class LinkSchedule {
  readonly bytesPerMs: number;
  readonly delayMs: number;
  /** When the link has sent everything handed in so far (ms). */
  #freeAt = -Infinity;

  /**
   * @param bitsPerSecond the link's rate, e.g. 100e6 for 100 Mbit/s
   * @param delayMs one-way delay added to every byte (half the round trip)
   */
  constructor(bitsPerSecond: number, delayMs: number) {
    if (!(bitsPerSecond > 0) || !Number.isFinite(bitsPerSecond)) {
      throw new RangeError("The rate must be a positive number");
    }
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) {
      throw new RangeError("The delay must be zero or more milliseconds");
    }
    this.bytesPerMs = bitsPerSecond / 8 / 1000;
    this.delayMs = delayMs;
  }

  /**
   * Hands `bytes` to the link at time `nowMs`; returns when their last byte
   * reaches the far end (ms, same clock).
   */
  deliverAt(bytes: number, nowMs: number): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new RangeError("The byte count must be a whole number");
    }
    const start = Math.max(nowMs, this.#freeAt);
    this.#freeAt = start + bytes / this.bytesPerMs;
    return this.#freeAt + this.delayMs;
  }
}
