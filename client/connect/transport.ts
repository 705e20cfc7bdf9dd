/**
 * The byte connection under a session: TLS with the server's identity
 * pinned (the default), or plain TCP when the user asked for it with
 * `--no-tls`. Either way a mismatch with the server (TLS against a plain
 * server, or plain against a TLS one) ends in a
 * {@linkcode TransportMismatchError} instead of an obscure protocol error.
 * Never prints: the UI asks and warns through callbacks.
 *
 * @module
 */

import type { ByteConn } from "../../common/frame_conn.ts";
import { isTlsRecordStart, SniffingConn } from "../../common/tls_sniff.ts";
import type { FtsError } from "../../protocol/errors.ts";
import {
  ConnectError,
  type ConnectFailure,
  NotTlsError,
} from "./connect_error.ts";
import { connectTcp } from "./handshake.ts";
import type { KnownHosts } from "./known_hosts.ts";
import { formatTarget, type Target } from "./target.ts";
import { connectSecure, type SecureConnection } from "./tls_connect.ts";

/**
 * The server does not use the transport the client asked for. The message
 * says which way; the UI adds the remedy (`--no-tls` on both sides, or
 * none).
 */
export class TransportMismatchError extends ConnectError {
  /** True when the server uses TLS and the client asked for plain TCP. */
  readonly serverUsesTls: boolean;
  constructor(target: Target, serverUsesTls: boolean, options?: ErrorOptions) {
    super(
      formatTarget(target),
      serverUsesTls ? "server_uses_tls" : "server_not_tls",
      options,
    );
    this.name = "TransportMismatchError";
    this.serverUsesTls = serverUsesTls;
  }
}

/** How a TLS connection was trusted, for the UI to report. */
export type TrustReport = Omit<SecureConnection, "conn"> & {
  /** The `host:port` key the pin is stored under. */
  readonly target: Target;
};

/** Options of {@linkcode openTransport}. */
export interface TransportOptions {
  /** False for plain TCP (`--no-tls`). */
  tls: boolean;
  /** Where pins are looked up and remembered; required with `tls`. */
  knownHosts?: KnownHosts | undefined;
  /** Whether a person can be asked about a server seen for the first time. */
  interactive?: boolean | undefined;
  /** Asks the person a yes/no question (the UI prints it and reads the answer). */
  ask?: ((question: string) => Promise<boolean>) | undefined;
  /** The fingerprint the user expects (`--fingerprint`). */
  fingerprint?: string | undefined;
  /** Trust and remember a server seen for the first time (`--accept-new`). */
  acceptNew?: boolean | undefined;
  /** Roots trusted besides the public ones, for real certificates (`--ca`). */
  caCerts?: string[] | undefined;
  /** Aborts connecting. */
  signal?: AbortSignal | undefined;
  /** Called after each TLS connection with how the server was trusted. */
  onTrusted?: ((report: TrustReport) => void) | undefined;
}

/**
 * Connects to `target` over TLS (probe, known_hosts, trust decision, pinned
 * or verified handshake) or plain TCP.
 *
 * @throws {TransportMismatchError} when the server does not use TLS and
 * `tls` is true. With `tls` false, a TLS server shows up when the session
 * reads its first byte: that read throws the same error.
 * @throws {ServerIdentityError} (from `tls_connect.ts`) when the server's
 * identity is refused or unproven: the message names the fingerprints.
 * @throws {SyntaxError} for a `fingerprint` that is not one.
 * @example
 * ```ts
 * const conn = await openTransport(target, { tls: true, knownHosts, acceptNew: true });
 * await using session = await openSession(target, { connect: () => Promise.resolve(conn) });
 * ```
 */
export async function openTransport(
  target: Target,
  options: TransportOptions,
): Promise<ByteConn> {
  if (!options.tls) return await connectPlain(target, options.signal);
  if (!options.knownHosts) {
    throw new TypeError("A TLS connection needs known_hosts");
  }
  let secure: SecureConnection;
  try {
    secure = await connectSecure(target.hostname, target.port, {
      knownHosts: options.knownHosts,
      interactive: options.interactive ?? false,
      ask: options.ask,
      fingerprint: options.fingerprint,
      acceptNew: options.acceptNew,
      ...(options.caCerts ? { caCerts: options.caCerts } : {}),
      signal: options.signal,
    });
  } catch (error) {
    if (isPlainServer(error)) {
      throw new TransportMismatchError(target, false, { cause: error });
    }
    throw networkError(target, error) ?? error;
  }
  const { conn, ...report } = secure;
  options.onTrusted?.({ ...report, target });
  return conn;
}

/** Plain TCP; a TLS server's first bytes (an alert) fail the first read. */
async function connectPlain(
  target: Target,
  signal: AbortSignal | undefined,
): Promise<ByteConn> {
  const tcp = await connectTcp(target, signal);
  return new SniffingConn(tcp, (byte) => {
    if (isTlsRecordStart(byte)) throw new TransportMismatchError(target, true);
  });
}

/**
 * A network failure of the TLS connection (a refused connection, a name
 * that does not resolve…) shown with the address as the plain path shows
 * it, e.g. `Cannot connect to HOST:PORT: connection refused`; undefined
 * for anything else.
 */
function networkError(target: Target, error: unknown): FtsError | undefined {
  if (!(error instanceof ConnectError) || !NETWORK.has(error.failure)) {
    return undefined;
  }
  return error.at(formatTarget(target));
}

/** The failures that are the network's, whatever the transport. */
const NETWORK: ReadonlySet<ConnectFailure> = new Set([
  "refused",
  "reset",
  "timed_out",
  "host_not_found",
  "unreachable",
]);

/**
 * Tells whether a failed TLS connection met an fts server started with
 * `--no-tls`: it answers a ClientHello with an fts frame, or (older ones)
 * hangs up. An HTTP or SSH server is no such mismatch.
 */
function isPlainServer(error: unknown): boolean {
  return error instanceof NotTlsError &&
    (error.peer === "fts" || error.peer === "none");
}
