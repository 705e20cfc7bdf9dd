/**
 * The one place where a failure to connect is worded: a refused
 * connection, a name that does not resolve, a timeout, a connection the
 * server closed or reset, a server that does not speak fts or TLS, a login
 * the server requires. Each failure carries a {@linkcode ConnectFailure}
 * kind, so the UI chooses its remedy by kind, never by the message.
 *
 * A server that answers a TLS handshake in plain text is a
 * {@linkcode NotTlsError}, and the words of a refused server identity come
 * from {@linkcode identityRefusalText}; both are typed too.
 *
 * @module
 */

import {
  type ErrorCode,
  FtsError,
  ProtocolError,
} from "../../protocol/errors.ts";
import { ReasonError } from "../errors.ts";

/** What went wrong while connecting, for the UI to pick a remedy. */
export type ConnectFailure =
  | "refused"
  | "host_not_found"
  | "timed_out"
  | "unreachable"
  | "reset"
  | "closed"
  | "no_answer"
  | "no_tls_handshake"
  | "login_required"
  | "not_fts"
  | "server_uses_tls"
  | "server_not_tls"
  | "not_tls"
  | "zone_id"
  | "cancelled"
  | "refused_by_server"
  | "system";

/** The code and the words of each failure; `detail` fills in what varies. */
const FAILURES: Record<
  ConnectFailure,
  { code: ErrorCode; text: (detail: string) => string }
> = {
  refused: { code: "io", text: () => "connection refused" },
  host_not_found: { code: "io", text: () => "host not found" },
  timed_out: { code: "io", text: () => "timed out" },
  unreachable: { code: "io", text: () => "network unreachable" },
  reset: { code: "io", text: () => "the server reset the connection" },
  closed: { code: "io", text: () => "the server closed the connection" },
  no_answer: { code: "timeout", text: (ms) => `no answer within ${ms} ms` },
  no_tls_handshake: {
    code: "timeout",
    text: (ms) => `no TLS handshake within ${ms} ms`,
  },
  login_required: {
    code: "auth_required",
    text: () => "the server requires a login",
  },
  not_fts: {
    code: "protocol",
    text: (why) => `the server does not speak fts (${why})`,
  },
  server_uses_tls: { code: "protocol", text: () => "the server uses TLS" },
  server_not_tls: {
    code: "protocol",
    text: () => "the server does not use TLS",
  },
  // What answered instead, from PLAIN_PEER_TEXT.
  not_tls: { code: "protocol", text: (peer) => peer },
  zone_id: {
    code: "unsupported",
    text: () => "an address with a zone id works only with --no-tls",
  },
  cancelled: { code: "cancelled", text: () => "cancelled" },
  // The server's own answer (already a reason) or the system's words.
  refused_by_server: { code: "io", text: (reason) => reason },
  system: { code: "io", text: (reason) => reason },
};

/** The reason text of `failure`, e.g. `connection refused`. */
function reasonText(failure: ConnectFailure, detail: string): string {
  return FAILURES[failure].text(detail);
}

/**
 * A connect failure that knows its reason but not yet where it happened;
 * {@linkcode connectError} adds the address.
 */
export class ConnectReason extends ReasonError {
  /** What went wrong. */
  readonly failure: ConnectFailure;
  /** What varies in the reason (milliseconds, the server's words). */
  readonly detail: string;
  constructor(
    failure: ConnectFailure,
    options?: ErrorOptions & { detail?: string | number },
  ) {
    const detail = String(options?.detail ?? "");
    super(FAILURES[failure].code, reasonText(failure, detail), options);
    this.name = "ConnectReason";
    this.failure = failure;
    this.detail = detail;
  }
}

/** Options of {@linkcode ConnectError}. */
export interface ConnectErrorOptions extends ErrorOptions {
  /** What varies in the reason (milliseconds, the server's words). */
  detail?: string | number;
  /** The code, when not the failure's own (the server's code). */
  code?: ErrorCode;
  /** Added after the address, e.g. ` over TLS`. */
  via?: string;
}

/**
 * Connecting to `label` failed: `Cannot connect to LABEL: reason`.
 * `failure` says why, for the UI's remedy.
 */
export class ConnectError extends FtsError {
  /** What went wrong. */
  readonly failure: ConnectFailure;
  /** The address as shown, e.g. `127.0.0.1:4433` or `"[::1]:4433"`. */
  readonly label: string;
  /** The message without `Cannot connect to LABEL: `. */
  readonly reason: string;
  readonly #options: ConnectErrorOptions;
  constructor(
    label: string,
    failure: ConnectFailure,
    options: ConnectErrorOptions = {},
  ) {
    const reason = reasonText(failure, String(options.detail ?? ""));
    super(
      options.code ?? FAILURES[failure].code,
      `Cannot connect to ${label}${options.via ?? ""}: ${reason}`,
      options,
    );
    this.name = "ConnectError";
    this.failure = failure;
    this.label = label;
    this.reason = reason;
    this.#options = options;
  }

  /** The same failure, shown for another address label. */
  at(label: string): ConnectError {
    return new ConnectError(label, this.failure, {
      ...this.#options,
      cause: this,
    });
  }
}

/** Node's socket error codes (from `node:tls`), by failure. */
const BY_NODE_CODE: Record<string, ConnectFailure> = {
  ECONNREFUSED: "refused",
  ECONNRESET: "reset",
  ETIMEDOUT: "timed_out",
  ENOTFOUND: "host_not_found",
  EAI_AGAIN: "host_not_found",
  EHOSTUNREACH: "unreachable",
  ENETUNREACH: "unreachable",
  EADDRNOTAVAIL: "unreachable",
};

/** The failure a `Deno.errors` class or a node error code stands for. */
function systemFailure(error: Error): ConnectFailure | undefined {
  if (error instanceof Deno.errors.ConnectionRefused) return "refused";
  if (error instanceof Deno.errors.TimedOut) return "timed_out";
  if (error instanceof Deno.errors.ConnectionReset) return "reset";
  if (
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.AddrNotAvailable ||
    error instanceof Deno.errors.NetworkUnreachable
  ) {
    return "unreachable";
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && Object.hasOwn(BY_NODE_CODE, code)) {
    return BY_NODE_CODE[code];
  }
  if (
    Object.values(Deno.errors).some((kind) => error instanceof kind) ||
    typeof code === "string"
  ) {
    return "system";
  }
  return undefined;
}

/**
 * `error` from connecting to `label` as a {@linkcode ConnectError}; an
 * error it does not recognise (a bug) is returned as it is, and any other
 * {@linkcode FtsError} is passed on: it already says what failed (a
 * refused server identity, a TLS mismatch).
 *
 * @example
 * ```ts
 * connectError("127.0.0.1:1", new Deno.errors.ConnectionRefused("…")).message;
 * // "Cannot connect to 127.0.0.1:1: connection refused"
 * ```
 */
export function connectError(label: string, error: unknown): unknown {
  if (error instanceof ConnectReason) {
    return new ConnectError(label, error.failure, {
      detail: error.detail,
      code: error.code,
      cause: error,
    });
  }
  if (error instanceof ReasonError) {
    // The server's ERROR during the handshake or the login.
    return new ConnectError(
      label,
      error.code === "auth_required" ? "login_required" : "refused_by_server",
      { detail: error.message, code: error.code, cause: error },
    );
  }
  if (error instanceof ProtocolError) {
    return new ConnectError(label, "not_fts", {
      detail: error.message,
      cause: error,
    });
  }
  if (error instanceof FtsError) return error;
  if (error instanceof DOMException && error.name === "AbortError") {
    return new ConnectError(label, "cancelled", { cause: error });
  }
  if (!(error instanceof Error)) return error;
  const failure = systemFailure(error);
  if (failure === undefined) return error;
  return new ConnectError(label, failure, {
    detail: error.message.split("\n", 1)[0]!,
    cause: error,
  });
}

/**
 * What answered where a TLS server was expected: an fts server started with
 * `--no-tls`, an HTTP or SSH server, something else, or a peer that hung up
 * without a word (`none`).
 */
export type PlainPeer = "fts" | "http" | "ssh" | "other" | "none";

const PLAIN_PEER_TEXT: Record<PlainPeer, string> = {
  fts: "the server does not speak TLS",
  none: "the server ended the connection during the handshake",
  http: "it is an HTTP server, not an fts server",
  ssh: "it is an SSH server, not an fts server",
  other: "the server speaks neither TLS nor fts",
};

/**
 * The server did not answer the TLS handshake in TLS. `peer` says what it
 * is, as far as its first bytes tell; the UI suggests `--no-tls` only for an
 * fts server (or a silent hang-up, which is how old fts servers answered).
 */
export class NotTlsError extends ConnectError {
  /** What answered. */
  readonly peer: PlainPeer;
  /** `host:port` as shown in the message. */
  readonly address: string;
  constructor(address: string, peer: PlainPeer, options?: ErrorOptions) {
    super(`"${address}"`, "not_tls", {
      ...options,
      detail: PLAIN_PEER_TEXT[peer],
      via: " over TLS",
    });
    this.name = "NotTlsError";
    this.peer = peer;
    this.address = address;
  }
}

/** Why a server's identity was refused, with the facts the message names. */
export type IdentityRefusal =
  /** known_hosts holds another fingerprint for this address. */
  | { reason: "mismatch"; stored: string; offered: string }
  /** `--fingerprint` names another one. */
  | { reason: "wrong_fingerprint"; offered: string; expected: string }
  /** The person said no; or nobody could be asked. */
  | { reason: "declined" | "unknown"; offered: string }
  /** The certificate did not verify; `why` says what a reading found. */
  | { reason: "untrusted" | "invalid"; why: string }
  /** The TLS library refused the certificate, in its own words. */
  | { reason: "tls_refused"; tls: string };

/**
 * The one line for a refused server identity at `address` (`host:port`).
 *
 * @example
 * ```ts
 * identityRefusalText("127.0.0.1:4433", { reason: "declined", offered: "SHA256:…" });
 * // 'Cannot connect to "127.0.0.1:4433": its identity SHA256:… was not accepted'
 * ```
 */
export function identityRefusalText(
  address: string,
  refusal: IdentityRefusal,
): string {
  const cannot = `Cannot connect to "${address}": `;
  switch (refusal.reason) {
    case "mismatch":
      return `WARNING: server identity for ${address} changed! stored ${refusal.stored} offered ${refusal.offered} — refusing to connect`;
    case "wrong_fingerprint":
      return `${cannot}it offered ${refusal.offered}, not the expected ${refusal.expected}`;
    case "declined":
      return `${cannot}its identity ${refusal.offered} was not accepted`;
    case "unknown":
      return `${cannot}its identity ${refusal.offered} is not known and there is no terminal to ask`;
    case "untrusted":
    case "invalid":
      return `${cannot}the server could not prove its identity: ${refusal.why}`;
    case "tls_refused":
      return `${cannot}the server could not prove its identity (${refusal.tls})`;
  }
}
