/**
 * The errors a session ends with: what ended its read loop, and how a
 * failed TLS handshake reads in the server's log.
 *
 * @module
 */

import { classifyTlsFailure } from "../../common/tls_failure.ts";
import { type FrameConn, isConnectionLoss } from "../../common/frame_conn.ts";
import { FtsError, ProtocolError } from "../../protocol/errors.ts";
import { toWireError } from "./wire_error.ts";

/** A plain-TCP server's answer to a TLS ClientHello. */
export class ClientSpeaksTls extends ProtocolError {
  constructor() {
    super(
      "This server does not use TLS: connect with --no-tls, or start the server without it",
    );
  }
}

/** Why requests end when the client went away; nothing is sent for it. */
export class ConnectionClosed extends FtsError {
  constructor(options?: ErrorOptions) {
    super("cancelled", "The connection closed", options);
  }
}

/** One line on why a TLS handshake failed, for the log. */
export function describeTlsFailure(error: unknown): string {
  if (isConnectionLoss(error)) return "the client closed the connection";
  const message = error instanceof Error ? firstLine(error.message) : "";
  const failure = classifyTlsFailure(error);
  if (failure === "not_tls") {
    return "the client does not speak TLS (started with --no-tls?)";
  }
  if (failure === "alert" || failure === "certificate") {
    return `the client refused the server's certificate (${message})`;
  }
  return message === "" ? String(error) : message;
}

/** The first line of `text`, for one-line log entries. */
function firstLine(text: string): string {
  return text.split("\n", 1)[0]!;
}

/** What {@linkcode classifyConnectionError} needs from the session. */
export interface ConnectionErrorOptions {
  /** The session's connection, told why when it deserves it. */
  readonly conn: FrameConn;
  /** True when the connection is TLS. */
  readonly tls: boolean;
  /** The session's log. */
  readonly log: (line: string) => void;
}

/**
 * Classifies what ended a session's read loop, logging what deserves it and
 * telling the client when it can understand why.
 */
export function classifyConnectionError(
  error: unknown,
  options: ConnectionErrorOptions,
): FtsError {
  const { conn, log } = options;
  if (conn.closed || isConnectionLoss(error)) {
    return new ConnectionClosed({ cause: error });
  }
  if (error instanceof ClientSpeaksTls) {
    log("refused: the client speaks TLS, but this server runs with --no-tls");
    conn.send(toWireError(error, 0).reply).catch(() => {});
    return error;
  }
  if (options.tls && error instanceof Deno.errors.InvalidData) {
    log(`TLS error: ${firstLine(error.message)}`);
    return new ConnectionClosed({ cause: error });
  }
  if (error instanceof ProtocolError) {
    log(`protocol error: ${error.message}`);
    // Best effort: tell a confused peer why, then close.
    conn.send(toWireError(error, 0).reply).catch(() => {});
    return error;
  }
  log(
    `internal error: ${
      error instanceof Error ? (error.stack ?? error.message) : String(error)
    }`,
  );
  return new FtsError("internal", "Internal server error", { cause: error });
}
