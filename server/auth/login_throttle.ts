/**
 * Bounds password guessing: failed logins are counted per client address
 * (IPv6 per /64) and per target account, each within a window; the
 * `maxFailures`-th failure from an address bans the address, the
 * `maxAccountFailures`-th against an account (from any address) bans the
 * account, each for `banMs`.
 *
 * - **A success clears only its own failures:** the failures from that
 *   address against that account. Logging into one's own account never
 *   lifts a count (or a ban) earned by guessing at another.
 * - **Attempts in flight are not failures, and cannot exceed the bound:**
 *   an address (and an account) has at most as many attempts in flight as
 *   it has failures left before its ban; further attempts wait their turn
 *   instead of being refused. Parallel connections therefore cannot make
 *   more guesses than a serial client, and parallel right passwords are
 *   never refused.
 * - **The delay comes before the password is checked**, for every attempt
 *   while failures are counted (right password or not), so the answer's
 *   timing never tells a right password from a wrong one. It is
 *   `baseDelayMs` after one failure, doubling per failure up to
 *   `maxDelayMs`.
 *
 * The module never sleeps: {@linkcode LoginAttempt.delayMs} is waited by
 * the caller on its clock.
 *
 * @example
 * ```ts
 * const throttle = new LoginThrottle();
 * using attempt = await throttle.begin(addr, user, signal); // LoginBannedError while banned
 * await sleep(attempt.delayMs);
 * if (await accounts.verify(user, password)) attempt.succeeded();
 * else attempt.failed();
 * ```
 *
 * @module
 */

import { type Clock, systemClock } from "../../common/clock.ts";
import { addressNetwork } from "../../common/ip_address.ts";
import { FtsError } from "../../protocol/errors.ts";

/** Options of {@linkcode LoginThrottle}; all durations in ms. */
export interface LoginThrottleOptions {
  /** Default: the system clock. */
  clock?: Pick<Clock, "now">;
  /** Delay after the first failure; doubles after each one. Default 500. */
  baseDelayMs?: number;
  /** Largest delay. Default 8,000. */
  maxDelayMs?: number;
  /** Failures from one address within `windowMs` that ban it. Default 5. */
  maxFailures?: number;
  /**
   * Failures against one account, from all addresses, within `windowMs`
   * that ban logins to it. Default 20.
   */
  maxAccountFailures?: number;
  /** How long a failure counts. Default 10 minutes. */
  windowMs?: number;
  /** Length of a ban. Default 10 minutes. */
  banMs?: number;
  /**
   * Addresses (and, separately, accounts) remembered at most; the least
   * recently used idle ones are forgotten first. Default 10,000.
   */
  maxTracked?: number;
}

/** What a ban applies to. */
export type BanScope = "address" | "account";

/** A ban is in force; sent to the client as `auth_failed`. */
export class LoginBannedError extends FtsError {
  /** How long the ban still lasts, in ms. */
  readonly retryAfterMs: number;
  /** Whether the client's address or the target account is banned. */
  readonly scope: BanScope;
  constructor(
    retryAfterMs: number,
    scope: BanScope = "address",
    options?: ErrorOptions,
  ) {
    super(
      "auth_failed",
      `Too many failed logins ${
        scope === "address" ? "from this address" : "for this account"
      }: try again in ${describeDuration(retryAfterMs)}`,
      options,
    );
    this.name = "LoginBannedError";
    this.retryAfterMs = retryAfterMs;
    this.scope = scope;
  }
}

/** Failures, attempts in flight and the ban of one address or account. */
interface Tally {
  /** Failed attempts, oldest first; `other` is the account or the address. */
  failures: { at: number; other: string }[];
  inFlight: number;
  bannedUntil: number;
}

/** A login waiting for its turn. */
interface Waiter {
  readonly addr: string;
  readonly account: string;
  readonly resolve: (attempt: LoginAttempt) => void;
  readonly reject: (error: unknown) => void;
}

/** One admitted login; finish it with exactly one of its methods. */
export interface LoginAttempt extends Disposable {
  /** How long to wait before checking the password, in ms. */
  readonly delayMs: number;
  /** The password was wrong (or the user unknown): counts a failure. */
  failed(): void;
  /** The password was right: clears this address's failures for this account. */
  succeeded(): void;
  /**
   * Ends the attempt without a verdict (the connection closed before the
   * password was checked); what `using` does if neither was called.
   */
  [Symbol.dispose](): void;
}

/** See the module comment. */
export class LoginThrottle {
  readonly #clock: Pick<Clock, "now">;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxFailures: number;
  readonly #maxAccountFailures: number;
  readonly #windowMs: number;
  readonly #banMs: number;
  readonly #maxTracked: number;
  readonly #addresses = new Map<string, Tally>();
  readonly #accounts = new Map<string, Tally>();
  #waiters: Waiter[] = [];

  constructor(options: LoginThrottleOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#baseDelayMs = nonNegative("baseDelayMs", options.baseDelayMs, 500);
    this.#maxDelayMs = nonNegative("maxDelayMs", options.maxDelayMs, 8_000);
    this.#maxFailures = nonNegative("maxFailures", options.maxFailures, 5);
    this.#maxAccountFailures = nonNegative(
      "maxAccountFailures",
      options.maxAccountFailures,
      20,
    );
    this.#windowMs = nonNegative("windowMs", options.windowMs, 600_000);
    this.#banMs = nonNegative("banMs", options.banMs, 600_000);
    this.#maxTracked = nonNegative("maxTracked", options.maxTracked, 10_000);
    if (
      this.#maxFailures < 1 || this.#maxAccountFailures < 1 ||
      this.#maxTracked < 1
    ) {
      throw new RangeError(
        "maxFailures, maxAccountFailures and maxTracked must be at least 1",
      );
    }
  }

  /** Number of addresses currently remembered. */
  get tracked(): number {
    return this.#addresses.size;
  }

  /** Number of logins waiting for their turn. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Starts a login from `addr` as `account` (any string naming the target;
   * callers map invalid names to one key). Resolves once it may go ahead,
   * which is at once unless the address or the account already has as
   * many attempts in flight as failures left before a ban.
   *
   * @throws {LoginBannedError} while the address or the account is banned,
   * also when a ban starts while this login waits.
   * @throws the signal's reason when `signal` aborts while it waits.
   */
  async begin(
    addr: string,
    account: string,
    signal?: AbortSignal,
  ): Promise<LoginAttempt> {
    const key = throttleKey(addr);
    signal?.throwIfAborted();
    const ready = this.#tryAdmit(key, account);
    if (ready !== null) return ready;
    return await new Promise<LoginAttempt>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        addr: key,
        account,
        resolve: (attempt) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(attempt);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      this.#waiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** How long `addr` stays banned, in ms; 0 when it is not banned. */
  bannedFor(addr: string): number {
    const tally = this.#addresses.get(throttleKey(addr));
    return tally ? Math.max(0, tally.bannedUntil - this.#clock.now()) : 0;
  }

  /** How long logins to `account` stay banned, in ms; 0 when they are not. */
  accountBannedFor(account: string): number {
    const tally = this.#accounts.get(account);
    return tally ? Math.max(0, tally.bannedUntil - this.#clock.now()) : 0;
  }

  /**
   * Admits a login now, or returns null when it must wait.
   *
   * @throws {LoginBannedError} while a ban is in force.
   */
  #tryAdmit(key: string, account: string): LoginAttempt | null {
    const now = this.#clock.now();
    const address = this.#current(this.#addresses, key, now);
    const target = this.#current(this.#accounts, account, now);
    if (address.bannedUntil > now) {
      throw new LoginBannedError(address.bannedUntil - now, "address");
    }
    if (target.bannedUntil > now) {
      throw new LoginBannedError(target.bannedUntil - now, "account");
    }
    const fits = address.failures.length + address.inFlight <
        this.#maxFailures &&
      target.failures.length + target.inFlight < this.#maxAccountFailures;
    if (!fits) return null;
    address.inFlight++;
    target.inFlight++;
    this.#touch(this.#addresses, key, address, now);
    this.#touch(this.#accounts, account, target, now);
    const count = Math.max(address.failures.length, target.failures.length);
    const delayMs = count === 0
      ? 0
      : Math.min(this.#baseDelayMs * 2 ** (count - 1), this.#maxDelayMs);
    let open = true;
    const finish = (verdict: "failed" | "succeeded" | "dropped") => {
      if (!open) return;
      open = false;
      address.inFlight--;
      target.inFlight--;
      const at = this.#clock.now();
      if (verdict === "failed") {
        address.failures.push({ at, other: account });
        target.failures.push({ at, other: key });
        if (address.failures.length >= this.#maxFailures) {
          address.bannedUntil = at + this.#banMs;
          address.failures = [];
        }
        if (target.failures.length >= this.#maxAccountFailures) {
          target.bannedUntil = at + this.#banMs;
          target.failures = [];
        }
      } else if (verdict === "succeeded") {
        address.failures = address.failures.filter((f) => f.other !== account);
        target.failures = target.failures.filter((f) => f.other !== key);
      }
      this.#wake();
    };
    return {
      delayMs,
      failed: () => finish("failed"),
      succeeded: () => finish("succeeded"),
      [Symbol.dispose]: () => finish("dropped"),
    };
  }

  /** Admits (or refuses, when banned) the waiting logins that now may go. */
  #wake(): void {
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiting) {
      let attempt: LoginAttempt | null;
      try {
        attempt = this.#tryAdmit(waiter.addr, waiter.account);
      } catch (error) {
        waiter.reject(error);
        continue;
      }
      if (attempt === null) this.#waiters.push(waiter);
      else waiter.resolve(attempt);
    }
  }

  /** The tally of `key` with failures outside the window dropped. */
  #current(map: Map<string, Tally>, key: string, now: number): Tally {
    const tally = map.get(key) ??
      { failures: [], inFlight: 0, bannedUntil: 0 };
    const since = now - this.#windowMs;
    while (tally.failures.length > 0 && tally.failures[0]!.at <= since) {
      tally.failures.shift();
    }
    return tally;
  }

  /** Marks `key` as most recently used and keeps `map` within its bound. */
  #touch(
    map: Map<string, Tally>,
    key: string,
    tally: Tally,
    now: number,
  ): void {
    map.delete(key); // re-insert: Map order is least recently used first
    map.set(key, tally);
    if (map.size <= this.#maxTracked) return;
    const since = now - this.#windowMs;
    for (const [k, t] of map) {
      const idle = t.inFlight === 0 && t.bannedUntil <= now &&
        t.failures.every((f) => f.at <= since);
      if (idle) map.delete(k);
    }
    for (const [k, t] of map) {
      if (map.size <= this.#maxTracked) break;
      if (t.inFlight === 0) map.delete(k);
    }
  }
}

/**
 * The key an address is throttled under: IPv4 addresses (also when mapped
 * into IPv6) as they are, IPv6 addresses by their /64 network, anything else
 * lowercased.
 */
function throttleKey(addr: string): string {
  let a = addr.trim().toLowerCase();
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  return addressNetwork(a) ?? a;
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
