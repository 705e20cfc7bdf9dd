/**
 * The security side of `fts connect`: its TLS and login flags, the
 * connection and credential callbacks the session engine calls, and the
 * remedies added to connection errors. UI layer: it asks on the terminal
 * (first contact, password) and warns on standard error.
 *
 * @module
 */

import { join } from "node:path";
import { type CliIo, writeText } from "../../common/cli_io.ts";
import type { ByteConn } from "../../common/frame_conn.ts";
import { PASSWORD_ENV, readSecret } from "../../common/secret_input.ts";
import { FtsError } from "../../protocol/errors.ts";
import { quoteName } from "../../protocol/names.ts";
import { configDir } from "../../common/config_dir.ts";
import { fileReason } from "../errors.ts";
import {
  ConnectError,
  type ConnectFailure,
  ConnectReason,
} from "../connect/connect_error.ts";
import { normaliseFingerprint } from "../../common/fingerprint.ts";
import {
  hostKey,
  KNOWN_HOSTS_FILE,
  KnownHosts,
} from "../connect/known_hosts.ts";
import { askYesNo } from "../term/prompt.ts";
import type { Credentials } from "../engine/session.ts";
import {
  formatTarget,
  type LoginTarget,
  type Target,
} from "../connect/target.ts";
import { ServerIdentityError } from "../connect/tls_connect.ts";
import { openTransport, TransportMismatchError } from "../connect/transport.ts";

/** The flags of `fts connect` this module handles, for `parseArgs`. */
export const SECURITY_OPTIONS = {
  "no-tls": { type: "boolean" },
  fingerprint: { type: "string" },
  "accept-new": { type: "boolean" },
  ca: { type: "string" },
  "password-file": { type: "string" },
} as const;

/** Those of {@linkcode SECURITY_OPTIONS} that take a value. */
export const SECURITY_VALUE_OPTIONS: readonly string[] = [
  "--fingerprint",
  "--ca",
  "--password-file",
];

/** The parsed values of {@linkcode SECURITY_OPTIONS}. */
export interface SecurityFlags {
  "no-tls"?: boolean | undefined;
  fingerprint?: string | undefined;
  "accept-new"?: boolean | undefined;
  ca?: string | undefined;
  "password-file"?: string | undefined;
}

/** Times a password typed on a terminal is asked for, as ssh does. */
const PASSWORD_TRIES = 3;

/**
 * How to ask the person while something else (the shell's line editor)
 * reads standard input: questions through it, secrets on the terminal.
 */
export interface Prompter {
  /** Asks a yes/no question. */
  ask(question: string): Promise<boolean>;
  /** Asks for a secret without echo; null when there is no terminal. */
  secret(prompt: string): Promise<string | null>;
}

/** What a session needs to connect and log in, and how to explain failures. */
export interface Connector {
  /** Opens the byte connection (TLS, or plain with a warning). */
  connect(target: Target): Promise<ByteConn>;
  /** The user and password, asked once and kept for reconnecting. */
  credentials(): Promise<Credentials>;
  /**
   * After connection attempt number `attempt` (from 1) failed: tells
   * whether to try again because the server refused a password that is
   * typed on the terminal, up to {@linkcode PASSWORD_TRIES} attempts; the
   * next {@linkcode credentials} then asks again. A refused password is
   * forgotten either way.
   */
  retryLogin(error: unknown, attempt: number): boolean;
  /** `error`'s message with what the user can do about it. */
  explain(error: FtsError): string;
  /**
   * Routes questions and password prompts through `prompter` (null: back to
   * standard input), for as long as the shell owns standard input.
   */
  usePrompter(prompter: Prompter | null): void;
}

/** Options of {@linkcode prepareConnector}. */
export interface ConnectorOptions {
  /** Who to log in as, and where. */
  login: LoginTarget;
  /** The terminal: questions, warnings, the password prompt. */
  io: CliIo;
  /** No "Remembered…" note. */
  quiet: boolean;
}

/**
 * Checks the flags and builds the {@linkcode Connector}.
 *
 * @returns the connector, or a one-line usage error (exit status 2).
 * @throws {FtsError} `io` when the config folder cannot be found (no HOME).
 */
export async function prepareConnector(
  flags: SecurityFlags,
  options: ConnectorOptions,
): Promise<Connector | string> {
  const { login, io } = options;
  const tls = !flags["no-tls"];
  if (!tls) {
    const mixed = ["fingerprint", "accept-new", "ca"].find((name) =>
      flags[name as keyof SecurityFlags] !== undefined
    );
    if (mixed !== undefined) return `--${mixed} needs TLS: drop --no-tls`;
  }
  let fingerprint: string | undefined;
  if (flags.fingerprint !== undefined) {
    try {
      fingerprint = normaliseFingerprint(flags.fingerprint);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      return `--fingerprint ${
        quoteName(flags.fingerprint, 80)
      } is not a SHA256 fingerprint (the server prints it as "fingerprint SHA256:…")`;
    }
  }
  let caCerts: string[] | undefined;
  if (flags.ca !== undefined) {
    try {
      caCerts = [await Deno.readTextFile(flags.ca)];
    } catch (error) {
      const reason = fileReason(error);
      if (reason === undefined) throw error;
      return `Cannot read the --ca file ${quoteName(flags.ca, 200)}: ${reason}`;
    }
  }
  let knownHosts: KnownHosts | null = null;
  if (tls) {
    try {
      knownHosts = new KnownHosts(
        join(configDir({ env: io.env }), KNOWN_HOSTS_FILE),
      );
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      throw new FtsError("io", error.message, { cause: error });
    }
  }
  let password: string | undefined;
  let prompter: Prompter | null = null;
  // Only a password typed on the terminal is asked for again.
  const typed = flags["password-file"] === undefined &&
    (io.env(PASSWORD_ENV) ?? "") === "";
  const prompt = `Password for ${login.user}@${formatTarget(login.target)}: `;
  return {
    connect: (target) => {
      if (!tls) {
        writeText(
          io.stderr,
          `fts: warning: the connection to ${
            formatTarget(target)
          } is not encrypted (--no-tls): anyone on the network can read and change it\n`,
        );
      }
      return openTransport(target, {
        tls,
        knownHosts: knownHosts ?? undefined,
        interactive: io.stdin.isTerminal(),
        ask: (question) =>
          prompter ? prompter.ask(question) : askYesNo(io, question),
        fingerprint,
        acceptNew: flags["accept-new"] ?? false,
        caCerts,
        signal: io.signal,
        onTrusted: (report) => {
          if (report.remembered && !options.quiet) {
            writeText(
              io.stderr,
              `Remembered ${report.fingerprint} for ${
                hostKey(target.hostname, target.port)
              } in ${quoteName(knownHosts!.file, 200)}\n`,
            );
          }
        },
      });
    },
    credentials: async () => {
      if (login.user === null) throw new ConnectReason("login_required");
      if (password === undefined) {
        password = prompter && typed
          ? await secretFrom(prompter, prompt)
          : await readSecret(io, {
            passwordFile: flags["password-file"],
            prompt,
          });
      }
      return { user: login.user, password };
    },
    retryLogin: (error, attempt) => {
      const refused = error instanceof FtsError &&
        error.code === "auth_failed" &&
        !(error instanceof ServerIdentityError);
      if (!refused) return false;
      password = undefined; // refused: never sent again
      return typed && attempt < PASSWORD_TRIES;
    },
    usePrompter: (next) => {
      prompter = next;
    },
    explain: (error) =>
      explain(error, {
        tls,
        address: hostKey(login.target.hostname, login.target.port),
      }),
  };
}

async function secretFrom(prompter: Prompter, prompt: string): Promise<string> {
  const secret = await prompter.secret(prompt);
  if (secret === null) {
    throw new FtsError(
      "auth_required",
      `Cannot read a password: there is no terminal; use --password-file or ${PASSWORD_ENV}`,
    );
  }
  if (secret === "") throw new FtsError("bad_request", "The password is empty");
  return secret;
}

function explain(
  error: FtsError,
  context: { tls: boolean; address: string },
): string {
  const message = error.message;
  if (error instanceof TransportMismatchError) {
    return error.serverUsesTls
      ? `${message}; drop --no-tls`
      : `${message}; pass --no-tls on both sides (only on a trusted network)`;
  }
  if (error instanceof ServerIdentityError) {
    switch (error.reason) {
      case "mismatch":
        return `${message} (if the server's key was replaced on purpose, forget the old one with "fts known-hosts rm ${context.address}")`;
      case "unknown":
        return `${message}; pass --fingerprint with the fingerprint the server prints, or --accept-new`;
      case "untrusted":
        return `${message}; for a private CA pass --ca FILE`;
      default:
        return message;
    }
  }
  const failure = connectFailureOf(error);
  if (failure === "login_required") return `${message}; connect as USER@HOST`;
  if (!context.tls && (failure === "closed" || failure === "reset")) {
    return `${message} (if the server uses TLS, drop --no-tls)`;
  }
  return message;
}

/** The connect failure `error` is, or what it was raised for. */
function connectFailureOf(error: FtsError): ConnectFailure | undefined {
  if (error instanceof ConnectError || error instanceof ConnectReason) {
    return error.failure;
  }
  return undefined;
}
