/**
 * What one connection's client may do: the access decision at HELLO
 * (anonymous permissions or a login), the AUTH exchange through the
 * {@linkcode LoginGate}, and the permission check of each request.
 *
 * @module
 */

import { FtsError } from "../protocol/errors.ts";
import type { Message, MessageOf, MessageType } from "../protocol/messages.ts";
import type { LoginGate } from "./login.ts";
import {
  type AccessPolicy,
  formatPermissions,
  operationOf,
  type Permission,
  requirePermission,
} from "./permissions.ts";
import { INTERNAL_MESSAGE } from "./wire_error.ts";

/** Settings of a {@linkcode SessionAccess}. */
export interface SessionAccessOptions {
  /** Decides, when HELLO arrives, whether this client logs in or not. */
  readonly access: () => Promise<AccessPolicy>;
  /** Checks AUTH; null when the server has no accounts at all. */
  readonly loginGate: LoginGate | null;
  /** The client's IP address, without the port: what the throttle counts. */
  readonly address: string;
  /** The session's log. */
  readonly log: (line: string) => void;
}

/** What a login needs from its session. */
export interface LoginHost {
  /** True once the session is closing or closed. */
  ending(): boolean;
  /** Sends a message to the client. */
  send(message: Message): Promise<void>;
  /** Waits `ms`, or less if the connection closes. */
  pause(ms: number): Promise<void>;
  /** Ends the session with `reason`, telling the client. */
  terminate(reason: FtsError): void;
}

/** See the module comment; one per session. */
export class SessionAccess {
  readonly #options: SessionAccessOptions;
  /** What the client may do; null until it has logged in. */
  #perms: readonly Permission[] | null = null;
  /** The logged-in user, for the log; null when anonymous. */
  #user: string | null = null;
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
    return this.#user;
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
    try {
      return await this.#options.access();
    } catch (error) {
      if (error instanceof RangeError) {
        throw new FtsError(
          "auth_failed",
          "Cannot connect: the server has no user accounts and allows no anonymous access here",
        );
      }
      if (error instanceof FtsError) {
        this.#options.log(`cannot decide access: ${error.message}`);
        throw new FtsError("internal", INTERNAL_MESSAGE, { cause: error });
      }
      throw error;
    }
  }

  /** Grants anonymous permissions, without a login. */
  grant(perms: readonly Permission[]): void {
    this.#perms = perms;
  }

  /** Why a request of `type` may not run for this client, or null when it may. */
  refusal(type: MessageType): FtsError | null {
    if (this.#perms === null) {
      return new FtsError("auth_required", `Cannot ${type}: log in first`);
    }
    const op = operationOf(type);
    if (op === null) return null;
    try {
      requirePermission(this.#perms, op);
      return null;
    } catch (error) {
      if (error instanceof FtsError) return error;
      throw error;
    }
  }

  /**
   * AUTH: checks the login through the gate. A success sets the
   * permissions; a failure is answered after the throttle's delay and ends
   * the connection (one guess per connection). The password is never
   * logged or kept.
   */
  async login(auth: MessageOf<"auth">, host: LoginHost): Promise<void> {
    if (host.ending()) return;
    const gate = this.#options.loginGate;
    const refuse = (message: string) =>
      host.send({ type: "error", id: 0, code: "bad_request", message });
    if (gate === null || (this.#perms !== null && this.#user === null)) {
      await refuse("Cannot log in: this server does not ask for a login");
      return;
    }
    if (this.#perms !== null) {
      await refuse("Cannot log in: already logged in");
      return;
    }
    this.#loggingIn = true;
    try {
      const outcome = await gate.check(auth, this.#options.address);
      if (host.ending()) return;
      if (outcome.ok) {
        this.#perms = outcome.perms;
        this.#user = outcome.user;
        this.#options.log(`logged in (${formatPermissions(outcome.perms)})`);
        await host.send({ type: "ok", id: 0, perms: [...outcome.perms] });
        return;
      }
      await host.pause(outcome.delayMs);
      this.#options.log(outcome.log);
      if (host.ending()) return;
      host.terminate(outcome.error);
    } finally {
      this.#loggingIn = false;
    }
  }
}
