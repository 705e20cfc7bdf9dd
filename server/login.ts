/**
 * The login check a session runs for AUTH: the per-address throttle, then
 * the password. An unknown user and a wrong password get the same answer,
 * after the same work (one password hash) and the same growing delay.
 * Passwords go no further than {@linkcode Accounts.login}: nothing here
 * logs, stores or quotes them.
 *
 * @module
 */

import { FtsError } from "../protocol/errors.ts";
import { quoteName } from "../protocol/names.ts";
import {
  type Accounts,
  isValidUserName,
  type LoginCredential,
  type LoginResult,
} from "./accounts.ts";
import { LoginBannedError, type LoginThrottle } from "./login_throttle.ts";
import type { Permission } from "./permissions.ts";

/** The one answer to a refused login, whatever the reason. */
export const LOGIN_FAILED_MESSAGE = "Wrong user name or password";

/** What {@linkcode LoginGate.check} decided. */
export type LoginOutcome =
  | {
    readonly ok: true;
    readonly user: string;
    readonly perms: readonly Permission[];
    /** What the login matched; see {@linkcode Accounts.standing}. */
    readonly credential: LoginCredential;
  }
  | {
    readonly ok: false;
    /** What to send the client (`auth_failed`, or `internal`). */
    readonly error: FtsError;
    /** How long to wait before sending it, in ms. */
    readonly delayMs: number;
    /** One line for the server's log, without the password. */
    readonly log: string;
  };

/** Checks logins against the accounts, throttled per client address. */
export class LoginGate {
  readonly #accounts: Accounts;
  readonly #throttle: LoginThrottle;

  constructor(accounts: Accounts, throttle: LoginThrottle) {
    this.#accounts = accounts;
    this.#throttle = throttle;
  }

  /**
   * Checks a login from a client at `address` (its IP, no port). Never
   * throws for a refused login; rethrows only bugs.
   *
   * @example
   * ```ts
   * const outcome = await gate.check({ user: "ana", password }, "192.0.2.7");
   * if (!outcome.ok) await sleep(outcome.delayMs);
   * ```
   */
  async check(
    credentials: { readonly user: string; readonly password: string },
    address: string,
  ): Promise<LoginOutcome> {
    const { user, password } = credentials;
    const who = isValidUserName(user) ? quoteName(user) : "an invalid name";
    try {
      this.#throttle.admit(address);
    } catch (error) {
      if (!(error instanceof LoginBannedError)) throw error;
      return {
        ok: false,
        error,
        delayMs: 0,
        log: `login as ${who} refused: address banned for ${
          Math.ceil(error.retryAfterMs / 1000)
        } s after repeated failures`,
      };
    }
    let result: LoginResult | null;
    try {
      result = await this.#accounts.login(user, password);
    } catch (error) {
      if (!(error instanceof FtsError)) throw error;
      return {
        ok: false,
        error: new FtsError(
          "internal",
          "Cannot log in: the server cannot read its accounts; see its log",
        ),
        delayMs: 0,
        log: `login as ${who} failed: ${error.message}`,
      };
    }
    if (result === null) {
      const delayMs = this.#throttle.failed(address);
      const banned = this.#throttle.bannedFor(address) > 0;
      return {
        ok: false,
        error: new FtsError("auth_failed", LOGIN_FAILED_MESSAGE),
        delayMs,
        log: `login as ${who} failed${
          banned ? "; address banned after repeated failures" : ""
        }`,
      };
    }
    this.#throttle.succeeded(address);
    return { ok: true, user, ...result };
  }
}
