/**
 * Slows password guessing per client address: a growing delay before each
 * failed login is answered, and a temporary ban after repeated failures.
 *
 * Every admitted attempt counts as a failure until it succeeds, so parallel
 * connections from one address cannot make more guesses than a serial
 * client. A success clears the address's record. IPv6 clients are tracked
 * per /64 network, since one host usually owns a whole /64.
 *
 * The module never sleeps: {@linkcode LoginThrottle.failed} returns the delay
 * and the session waits it before answering.
 *
 * @example
 * ```ts
 * const throttle = new LoginThrottle();
 * throttle.admit(addr); // throws LoginBannedError while banned
 * const perms = await accounts.verify(user, password);
 * if (perms === null) {
 *   await sleep(throttle.failed(addr));
 *   throw new FtsError("auth_failed", "Wrong user name or password");
 * }
 * throttle.succeeded(addr);
 * ```
 *
 * @module
 */

import { FtsError } from "../protocol/errors.ts";

/** A time source in ms; `Date` is one. Tests inject a fake. */
export interface Clock {
  now(): number;
}

/** Options of {@linkcode LoginThrottle}; all durations in ms. */
export interface LoginThrottleOptions {
  /** Default `Date`. */
  clock?: Clock;
  /** Delay after the first failure; doubles after each one. Default 500. */
  baseDelayMs?: number;
  /** Largest delay. Default 8,000. */
  maxDelayMs?: number;
  /** Failures within `windowMs` that start a ban. Default 5. */
  maxFailures?: number;
  /** How long a failure counts. Default 10 minutes. */
  windowMs?: number;
  /** Length of a ban. Default 10 minutes. */
  banMs?: number;
  /** Addresses remembered at most; the oldest are forgotten. Default 10,000. */
  maxTracked?: number;
}

/** An address is banned; sent to the client as `auth_failed`. */
export class LoginBannedError extends FtsError {
  /** How long the ban still lasts, in ms. */
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number, options?: ErrorOptions) {
    super(
      "auth_failed",
      `Too many failed logins from this address: try again in ${
        describeDuration(retryAfterMs)
      }`,
      options,
    );
    this.name = "LoginBannedError";
    this.retryAfterMs = retryAfterMs;
  }
}

interface AddressState {
  /** Times of attempts that have not succeeded, oldest first. */
  attempts: number[];
  bannedUntil: number;
}

/** Per-address login throttle. */
export class LoginThrottle {
  readonly #clock: Clock;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #banMs: number;
  readonly #maxTracked: number;
  readonly #states = new Map<string, AddressState>();

  constructor(options: LoginThrottleOptions = {}) {
    this.#clock = options.clock ?? Date;
    this.#baseDelayMs = nonNegative("baseDelayMs", options.baseDelayMs, 500);
    this.#maxDelayMs = nonNegative("maxDelayMs", options.maxDelayMs, 8_000);
    this.#maxFailures = nonNegative("maxFailures", options.maxFailures, 5);
    this.#windowMs = nonNegative("windowMs", options.windowMs, 600_000);
    this.#banMs = nonNegative("banMs", options.banMs, 600_000);
    this.#maxTracked = nonNegative("maxTracked", options.maxTracked, 10_000);
    if (this.#maxFailures < 1 || this.#maxTracked < 1) {
      throw new RangeError("maxFailures and maxTracked must be at least 1");
    }
  }

  /** Number of addresses currently remembered. */
  get tracked(): number {
    return this.#states.size;
  }

  /**
   * Call before checking a password from `addr`. Records the attempt, which
   * counts as a failure until {@linkcode succeeded} is called.
   *
   * @throws {LoginBannedError} while `addr` is banned, or when it already has
   * as many unfinished or failed attempts as a ban allows.
   */
  admit(addr: string): void {
    const now = this.#clock.now();
    const key = throttleKey(addr);
    const state = this.#current(key, now);
    if (state.bannedUntil > now) {
      throw new LoginBannedError(state.bannedUntil - now);
    }
    if (state.attempts.length >= this.#maxFailures) {
      state.bannedUntil = now + this.#banMs;
      state.attempts = [];
      throw new LoginBannedError(this.#banMs);
    }
    state.attempts.push(now);
    this.#states.delete(key); // re-insert: Map order is least recently used
    this.#states.set(key, state);
    this.#evict(now);
  }

  /**
   * Call after a failed login from `addr`. Returns how long, in ms, the
   * session must wait before it answers `auth_failed`: `baseDelayMs`, then
   * doubling up to `maxDelayMs`. The failure that reaches `maxFailures`
   * starts a ban.
   */
  failed(addr: string): number {
    const now = this.#clock.now();
    const key = throttleKey(addr);
    const state = this.#current(key, now);
    const count = Math.max(1, state.attempts.length);
    if (count >= this.#maxFailures) {
      state.bannedUntil = now + this.#banMs;
      state.attempts = [];
    }
    this.#states.set(key, state);
    return Math.min(this.#baseDelayMs * 2 ** (count - 1), this.#maxDelayMs);
  }

  /** Call after a successful login from `addr`: forgets its failures. */
  succeeded(addr: string): void {
    this.#states.delete(throttleKey(addr));
  }

  /** How long `addr` stays banned, in ms; 0 when it is not banned. */
  bannedFor(addr: string): number {
    const state = this.#states.get(throttleKey(addr));
    return state ? Math.max(0, state.bannedUntil - this.#clock.now()) : 0;
  }

  /** The state of `key` with attempts outside the window dropped. */
  #current(key: string, now: number): AddressState {
    const state = this.#states.get(key) ?? { attempts: [], bannedUntil: 0 };
    const since = now - this.#windowMs;
    while (state.attempts.length > 0 && state.attempts[0]! <= since) {
      state.attempts.shift();
    }
    return state;
  }

  #evict(now: number): void {
    if (this.#states.size <= this.#maxTracked) return;
    const since = now - this.#windowMs;
    for (const [key, state] of this.#states) {
      const idle = state.bannedUntil <= now &&
        state.attempts.every((t) => t <= since);
      if (idle) this.#states.delete(key);
    }
    for (const key of this.#states.keys()) {
      if (this.#states.size <= this.#maxTracked) break;
      this.#states.delete(key);
    }
  }
}

/**
 * The key an address is throttled under: IPv4 addresses (also when mapped
 * into IPv6) as they are, IPv6 addresses by their /64 network, anything else
 * lowercased.
 */
export function throttleKey(addr: string): string {
  let a = addr.trim().toLowerCase();
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  const zone = a.indexOf("%");
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^(?:[0:]*:)?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (!a.includes(":")) return a;
  const halves = a.split("::");
  if (halves.length > 2) return a;
  const split = (part: string) => part === "" ? [] : part.split(":");
  const head = split(halves[0]!);
  const tail = halves.length === 2 ? split(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return a;
  const groups = [...head, ...Array<string>(missing).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return a;
  return `${
    groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(":")
  }::/64`;
}

function describeDuration(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return seconds === 1 ? "1 second" : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

function nonNegative(
  name: string,
  value: number | undefined,
  fallback: number,
): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) {
    throw new RangeError(`${name} must be a non-negative number`);
  }
  return v;
}
