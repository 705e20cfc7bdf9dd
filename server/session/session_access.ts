/**
 * What one connection's client may do: the access decision at HELLO
 * (anonymous permissions or a login), the AUTH exchange through the
 * {@linkcode LoginGate}, and the permission check of each request. Rights
 * are re-read before each request, so `fts user perm|del|passwd|add` on a
 * running server applies to open sessions at their next request.
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";
import type {
  Message,
  MessageOf,
  MessageType,
} from "../../protocol/messages.ts";
import { quoteName } from "../../protocol/names.ts";
import type { Accounts, LoginCredential } from "../auth/accounts.ts";
import type { LoginGate } from "../auth/login.ts";
import {
  type AccessDecision,
  type AccessPolicy,
  type AnonymousMode,
  checkPermission,
  decideAccess,
  formatPermissions,
  operationOf,
  type Permission,
  permissionDenied,
} from "../auth/permissions.ts";
import { INTERNAL_MESSAGE } from "./wire_error.ts";

/** A session's login, as {@linkcode SessionAccessOptions.recheck} takes it. */
export interface SessionLogin {
  readonly user: string;
  readonly credential: LoginCredential;
}

/** What a session may do now, as {@linkcode standingOf} finds it. */
export type Standing =
  | { readonly kind: "ok"; readonly perms: readonly Permission[] }
  /** The account is gone: the session ends. */
  | { readonly kind: "removed" }
  /** The account's password changed: the session ends. */
  | { readonly kind: "password_changed" }
  /** An anonymous session on a server that now has accounts: it ends. */
  | { readonly kind: "login_required" }
  /** The accounts cannot be read: the request is refused, the session stays. */
  | { readonly kind: "unreadable"; readonly error: FtsError };

/** What {@linkcode standingOf} needs from the server. */
export interface StandingOptions {
  /** The user store; null when the server has none. */
  readonly accounts: Accounts | null;
  /** The address the server is bound to, for the anonymous rules. */
  readonly host: string;
  /** The server's `--anonymous` flag. */
  readonly anonymous: AnonymousMode | undefined;
}

/**
 * What the client of a session logged in as `login` (null: anonymous) may
 * do now, after a cheap check whether the users file changed: a removed
 * account or a changed password ends the session, changed permissions
 * apply, and anonymous sessions end once accounts exist. Never throws for
 * an unreadable file: that is a standing too.
 */
export function standingOf(
  login: SessionLogin | null,
  options: StandingOptions,
): Standing {
  const { accounts } = options;
  try {
    accounts?.refreshSync();
  } catch (error) {
    if (!(error instanceof FtsError)) throw error;
    return { kind: "unreadable", error };
  }
  if (login !== null) {
    if (accounts === null) return { kind: "removed" };
    const perms = accounts.standing(login.user, login.credential);
    if (perms !== null) return { kind: "ok", perms };
    return accounts.get(login.user)
      ? { kind: "password_changed" }
      : { kind: "removed" };
  }
  if (accounts?.hasUsers) return { kind: "login_required" };
  return anonymousStanding(options.host, options.anonymous);
}

/**
 * The standing of an anonymous client on a server without users, by host
 * and `--anonymous` mode: a pure function of the two, asked before every
 * request, so each answer is kept (a process listens on a few hosts).
 */
const anonymousStandings = new Map<string, Standing>();

function anonymousStanding(
  host: string,
  anonymous: AnonymousMode | undefined,
): Standing {
  const key = `${anonymous ?? ""} ${host}`;
  let standing = anonymousStandings.get(key);
  if (standing === undefined) {
    const decision = decideAccess({ usersExist: false, host, anonymous });
    standing = decision.kind === "anonymous"
      ? { kind: "ok", perms: decision.perms }
      : { kind: "login_required" };
    if (anonymousStandings.size >= 16) anonymousStandings.clear();
    anonymousStandings.set(key, standing);
  }
  return standing;
}

/** Settings of a {@linkcode SessionAccess}. */
export interface SessionAccessOptions {
  /**
   * Decides, when HELLO arrives, whether this client logs in or not; a
   * refusal turns the client away.
   */
  readonly access: () => Promise<AccessDecision>;
  /** Checks AUTH; null when the server has no accounts at all. */
  readonly loginGate: LoginGate | null;
  /** The client's IP address, without the port: what the throttle counts. */
  readonly address: string;
  /** The session's log. */
  readonly log: (line: string) => void;
  /**
   * What the client may do now; called before each request once it has
   * permissions. See {@linkcode standingOf}.
   */
  readonly recheck: (login: SessionLogin | null) => Standing;
  /** Ends the session with `reason`, telling the client. */
  readonly revoke: (reason: FtsError) => void;
}

/** What a login needs from its session. */
export interface LoginHost {
  /** True once the session is closing or closed. */
  ending(): boolean;
  /** Sends a message to the client. */
  send(message: Message): Promise<void>;
  /** Waits `ms`, or less if the connection closes. */
  pause(ms: number): Promise<void>;
  /** Aborted once the connection closes. */
  readonly signal: AbortSignal;
  /** Ends the session with `reason`, telling the client. */
  terminate(reason: FtsError): void;
}

/** See the module comment; one per session. */
export class SessionAccess {
  readonly #options: SessionAccessOptions;
  /** What the client may do; null until it has logged in. */
  #perms: readonly Permission[] | null = null;
  /** The login, for the log and the re-check; null when anonymous. */
  #login: SessionLogin | null = null;
  #loggingIn = false;

  constructor(options: SessionAccessOptions) {
    this.#options = options;
  }

  /** What the client may do; null until it has logged in. */
  get perms(): readonly Permission[] | null {
    return this.#perms;
  }

  /** The logged-in user; null when anonymous or not logged in yet. */
  get user(): string | null {
    return this.#login?.user ?? null;
  }

  /** True while an AUTH is being checked. */
  get loggingIn(): boolean {
    return this.#loggingIn;
  }

  /**
   * The access policy for this connection, errors translated for the
   * client.
   *
   * @throws {FtsError} `auth_failed` when the client may neither log in nor
   * connect anonymously, `internal` when the accounts cannot be read.
   */
  async decide(): Promise<AccessPolicy> {
    let decision: AccessDecision;
    try {
      decision = await this.#options.access();
    } catch (error) {
      if (error instanceof FtsError) {
        this.#options.log(`cannot decide access: ${error.message}`);
        throw new FtsError("internal", INTERNAL_MESSAGE, { cause: error });
      }
      throw error;
    }
    if (decision.kind === "refused") {
      throw new FtsError(
        "auth_failed",
        "Cannot connect: the server has no user accounts and allows no anonymous access here",
      );
    }
    return decision;
  }

  /** Grants anonymous permissions, without a login. */
  grant(perms: readonly Permission[]): void {
    this.#perms = perms;
  }

  /**
   * Why a request of `type` may not run for this client, or null when it
   * may. Re-reads the client's rights first: changed permissions apply, and
   * a session whose account was removed (or whose password changed, or an
   * anonymous one once accounts exist) is ended through `revoke`.
   */
  refusal(type: MessageType): FtsError | null {
    if (this.#perms === null) {
      return new FtsError("auth_required", `Cannot ${type}: log in first`);
    }
    const op = operationOf(type);
    if (op === null) return null;
    const standing = this.#options.recheck(this.#login);
    if (standing.kind !== "ok") return this.#revoked(type, standing);
    if (formatPermissions(standing.perms) !== formatPermissions(this.#perms)) {
      this.#options.log(
        `permissions changed to ${formatPermissions(standing.perms)}`,
      );
      this.#perms = standing.perms;
    }
    const check = checkPermission(this.#perms, op);
    return check.ok ? null : permissionDenied(check);
  }

  /** The refusal for a standing other than "ok"; ends the session if it must. */
  #revoked(
    type: MessageType,
    standing: Exclude<Standing, { kind: "ok" }>,
  ): FtsError {
    const account = quoteName(this.#login?.user ?? "");
    let reason: FtsError;
    switch (standing.kind) {
      case "unreadable":
        this.#options.log(`cannot check access: ${standing.error.message}`);
        return new FtsError(
          "internal",
          `Cannot ${type}: the server cannot read its accounts; see its log`,
        );
      case "removed":
        reason = new FtsError(
          "auth_failed",
          `The account ${account} was removed: the session is closed`,
        );
        break;
      case "password_changed":
        reason = new FtsError(
          "auth_failed",
          `The password of ${account} was changed: log in again`,
        );
        break;
      case "login_required":
        reason = new FtsError(
          "auth_required",
          "The server now requires a login: connect again and log in",
        );
        break;
    }
    this.#options.log(`session closed: ${reason.message}`);
    this.#perms = [];
    this.#options.revoke(reason);
    return reason;
  }

  /**
   * AUTH: checks the login through the gate (which waits the throttle's
   * delay first). A success sets the permissions; a failure ends the
   * connection (one guess per connection). The password is never
   * logged or kept.
   */
  async login(auth: MessageOf<"auth">, host: LoginHost): Promise<void> {
    if (host.ending()) return;
    const gate = this.#options.loginGate;
    const refuse = (message: string) =>
      host.send({ type: "error", id: 0, code: "bad_request", message });
    if (gate === null || (this.#perms !== null && this.#login === null)) {
      await refuse("Cannot log in: this server does not ask for a login");
      return;
    }
    if (this.#perms !== null) {
      await refuse("Cannot log in: already logged in");
      return;
    }
    this.#loggingIn = true;
    try {
      const outcome = await gate.check(auth, this.#options.address, {
        pause: (ms) => host.pause(ms),
        signal: host.signal,
      });
      if (!outcome.ok && outcome.error !== null) {
        this.#options.log(outcome.log);
      }
      if (host.ending()) return;
      if (outcome.ok) {
        this.#perms = outcome.perms;
        this.#login = { user: outcome.user, credential: outcome.credential };
        this.#options.log(`logged in (${formatPermissions(outcome.perms)})`);
        await host.send({ type: "ok", id: 0, perms: [...outcome.perms] });
        return;
      }
      if (outcome.error !== null) host.terminate(outcome.error);
    } finally {
      this.#loggingIn = false;
    }
  }
}
