/**
 * Bandwidth limits for both sides (`fts connect --limit`, `fts serve
 * --limit-per-client` and `--limit-total`): token buckets on an injected
 * clock, combined per connection and direction into a {@linkcode Throttle}
 * that common/throttled_conn.ts applies to every byte a connection reads
 * or writes.
 *
 * A bucket is kept in its GCRA form (the time at which it will be full
 * again), so reserving bytes is O(1) and reservations are served in the
 * order they are made: connections that share a bucket take turns, each
 * with at most one reservation pending per direction, so one of them
 * cannot starve the others. A timer that fires late loses nothing as long
 * as it is late by less than the burst (100 ms of the rate).
 *
 * @module
 */

import { parseSize } from "./sizes.ts";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";

/**
 * Slowest rate accepted, in bytes per second: a 1 MiB DATA frame then
 * crosses in 64 s, well within the server's idle timeout (300 s by
 * default), which sees a frame only once it is whole.
 */
export const MIN_RATE = 16 * 1024;
/** The burst a bucket allows, in milliseconds of its rate. */
const BURST_MS = 100;
/** Bytes read or written per reservation at most, and at least. */
const MAX_SLICE = 256 * 1024;
const MIN_SLICE = 1024;

/** Options of {@linkcode TokenBucket}. */
export interface TokenBucketOptions {
  /** Default: {@linkcode systemClock}. */
  readonly clock?: Pick<Clock, "now">;
  /** Bytes that may go at once after a pause. Default: 100 ms of the rate. */
  readonly burst?: number;
}

/** A token bucket of `rate` bytes per second (see the module comment). */
export class TokenBucket {
  /** Bytes per second. */
  readonly rate: number;
  /** Bytes that may go at once after a pause. */
  readonly burst: number;
  readonly #clock: Pick<Clock, "now">;
  /** When the bucket is full again, in clock milliseconds. */
  #full: number;

  /** @throws {RangeError} for a rate below {@linkcode MIN_RATE} or a bad burst. */
  constructor(rate: number, options: TokenBucketOptions = {}) {
    if (!(Number.isFinite(rate) && rate >= MIN_RATE)) {
      throw new RangeError(
        `A rate must be at least ${MIN_RATE} bytes per second, not ${rate}`,
      );
    }
    const burst = options.burst ?? rate * BURST_MS / 1000;
    if (!(Number.isFinite(burst) && burst > 0)) {
      throw new RangeError(`A burst must be positive, not ${burst}`);
    }
    this.rate = rate;
    this.burst = burst;
    this.#clock = options.clock ?? systemClock;
    this.#full = this.#clock.now();
  }

  /**
   * Takes `bytes` from the bucket, going into debt if it holds fewer, and
   * returns how many milliseconds the caller must wait before sending
   * them (0 when the bucket held them).
   */
  reserve(bytes: number): number {
    const now = this.#clock.now();
    this.#full = Math.max(this.#full, now) + bytes * 1000 / this.rate;
    return Math.max(0, this.#full - this.burst * 1000 / this.rate - now);
  }
}

/** Waits for tokens from one or more buckets, in order. */
export class Throttle {
  readonly #buckets: readonly TokenBucket[];
  readonly #clock: Clock;
  /** Bytes to read or write per reservation: about 1/32 s of the slowest rate. */
  readonly slice: number;

  /** @throws {RangeError} without buckets. */
  constructor(buckets: readonly TokenBucket[], clock: Clock = systemClock) {
    if (buckets.length === 0) throw new RangeError("A throttle needs a bucket");
    this.#buckets = buckets;
    this.#clock = clock;
    const slowest = Math.min(...buckets.map((b) => b.rate));
    this.slice = Math.min(
      MAX_SLICE,
      Math.max(MIN_SLICE, Math.floor(slowest / 32)),
    );
  }

  /**
   * Resolves when `bytes` may be sent, after each bucket in turn had them,
   * with the milliseconds it waited for them (0 when none).
   *
   * @throws `signal.reason` when `signal` aborts first.
   */
  async take(bytes: number, signal: AbortSignal): Promise<number> {
    let waited = 0;
    for (const bucket of this.#buckets) {
      signal.throwIfAborted();
      const ms = bucket.reserve(bytes);
      if (ms > 0) {
        await this.#sleep(ms, signal);
        waited += ms;
      }
    }
    return waited;
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: TimerHandle = null;
      const onAbort = () => {
        this.#clock.clearTimeout(timer);
        reject(signal.reason);
      };
      timer = this.#clock.setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** The throttles of one connection, per direction; null is unlimited. */
export interface ConnectionLimits {
  readonly read: Throttle | null;
  readonly write: Throttle | null;
}

/** Rates of {@linkcode bandwidthLimits}, in bytes per second. */
export interface BandwidthOptions {
  /** Each connection, each direction. */
  readonly perConnection?: number | undefined;
  /** All connections together, each direction, shared fairly. */
  readonly total?: number | undefined;
  /** Default: {@linkcode systemClock}. */
  readonly clock?: Clock;
}

/**
 * A source of {@linkcode ConnectionLimits}: each call gives a new
 * connection its own buckets for `perConnection` and a share of the
 * `total` ones, the same for every connection.
 *
 * @throws {RangeError} for a rate below {@linkcode MIN_RATE}.
 */
export function bandwidthLimits(
  options: BandwidthOptions,
): () => ConnectionLimits {
  const clock = options.clock ?? systemClock;
  const bucket = (rate: number) => new TokenBucket(rate, { clock });
  const { perConnection, total } = options;
  const shared = total === undefined
    ? null
    : { read: bucket(total), write: bucket(total) };
  if (perConnection !== undefined) bucket(perConnection); // checks the rate
  return () => {
    const one = (direction: "read" | "write"): Throttle | null => {
      const buckets = [
        ...(perConnection === undefined ? [] : [bucket(perConnection)]),
        ...(shared ? [shared[direction]] : []),
      ];
      return buckets.length === 0 ? null : new Throttle(buckets, clock);
    };
    return { read: one("read"), write: one("write") };
  };
}

/**
 * Parses a rate as curl's `--limit-rate` and rsync's `--bwlimit` take it:
 * bytes per second, written as {@linkcode parseSize} reads sizes (`500K`,
 * `10M`, `1.5G`, `20MiB` as powers of 1024, `10MB` as 10^7, `65536`).
 * `what` names the value in messages (the option, for a command line).
 *
 * @throws {RangeError} for anything else, or a rate below
 * {@linkcode MIN_RATE}.
 */
export function parseRate(text: string, what = "A rate"): number {
  let rate: number;
  try {
    rate = parseSize(text);
  } catch (error) {
    throw new RangeError(
      `${what} must be bytes per second such as 500K, 10M or 1G, not ${
        JSON.stringify(text.slice(0, 40))
      }`,
      { cause: error },
    );
  }
  if (rate < MIN_RATE) {
    throw new RangeError(
      `${what} must be at least 16K (${MIN_RATE} bytes per second), not ${
        JSON.stringify(text.slice(0, 40))
      }`,
    );
  }
  return rate;
}
