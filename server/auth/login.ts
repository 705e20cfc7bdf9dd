/**
 * The login check a session runs for AUTH: the throttle (per address and
 * per account), then the password. An unknown user and a wrong password get
 * the same answer after the same work (one password hash); the throttle's
 * delay comes before the check, so it is the same for a right password.
 * Passwords go no further than {@linkcode Accounts.login}: nothing here
 * logs, stores or quotes them.
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";
import { quoteName } from "../../protocol/names.ts";
import {
  type Accounts,
  isValidUserName,
  type LoginCredential,
  type LoginResult,
} from "./accounts.ts";
import {
  type LoginAttempt,
  LoginBannedError,
  type LoginThrottle,
} from "./login_throttle.ts";
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
    /**
     * What to send the client (`auth_failed`, or `internal`); null when the
     * connection closed before the password was checked.
     */
    readonly error: FtsError | null;
    /** One line for the server's log, without the password. */
    readonly log: string;
  };

/** How a login waits, given by its session. */
export interface LoginWait {
  /** Waits `ms` on the server's clock, or less if the connection closes. */
  pause(ms: number): Promise<void>;
  /** Aborted once the connection closes: a login not yet checked is dropped. */
  readonly signal: AbortSignal;
}

/** Checks logins against the accounts, throttled per address and account. */
export class LoginGate {
  readonly #accounts: Accounts;
  readonly #throttle: LoginThrottle;

  constructor(accounts: Accounts, throttle: LoginThrottle) {
    this.#accounts = accounts;
    this.#throttle = throttle;
  }

  /**
   * Checks a login from a client at `address` (its IP, no port): waits
   * for its turn and the throttle's delay, then checks the password, so a
   * right and a wrong password take the same time. Never throws for a
   * refused login; rethrows only bugs.
   *
   * @example
   * ```ts
   * const outcome = await gate.check({ user: "ana", password }, "192.0.2.7", wait);
   * if (!outcome.ok && outcome.error) send(outcome.error);
   * ```
   */
  async check(
    credentials: { readonly user: string; readonly password: string },
    address: string,
    wait: LoginWait,
  ): Promise<LoginOutcome> {
    const { user, password } = credentials;
    const valid = isValidUserName(user);
    const who = valid ? quoteName(user) : "an invalid name";
    const dropped = { ok: false, error: null, log: "" } as const;
    let begun: LoginAttempt;
    try {
      // Invalid names share one count: they cannot name an account.
      begun = await this.#throttle.begin(
        address,
        valid ? user : "",
        wait.signal,
      );
    } catch (error) {
      if (error instanceof LoginBannedError) {
        return {
          ok: false,
          error,
          log: `login as ${who} refused: ${error.scope} banned for ${
            Math.ceil(error.retryAfterMs / 1000)
          } s after repeated failures`,
        };
      }
      if (wait.signal.aborted) return dropped;
      throw error;
    }
    using attempt = begun;
    await wait.pause(attempt.delayMs);
    if (wait.signal.aborted) return dropped;
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
        log: `login as ${who} failed: ${error.message}`,
      };
    }
    if (result === null) {
      attempt.failed();
      const banned = [
        this.#throttle.bannedFor(address) > 0 ? "address" : "",
        this.#throttle.accountBannedFor(valid ? user : "") > 0 ? "account" : "",
      ].filter((scope) => scope !== "").join(" and ");
      return {
        ok: false,
        error: new FtsError("auth_failed", LOGIN_FAILED_MESSAGE),
        log: `login as ${who} failed${
          banned ? `; ${banned} banned after repeated failures` : ""
        }`,
      };
    }
    attempt.succeeded();
    return { ok: true, user, ...result };
  }
}
