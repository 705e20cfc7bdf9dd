/**
 * Opening a session's connection: plain TCP, the HELLO/WELCOME handshake
 * and the AUTH login. Their failures are worded in `connect_error.ts`.
 *
 * @module
 */

import { type FrameConn, isConnectionLoss } from "../../common/frame_conn.ts";
import { isLookupFailure } from "../../common/host_lookup.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import { MAX_PAYLOAD } from "../../protocol/frame.ts";
import { type Message, PROTOCOL_VERSION } from "../../protocol/messages.ts";
import { remoteError } from "../errors.ts";
import { ConnectReason } from "./connect_error.ts";
import type { Target } from "./target.ts";

/** The version string sent in HELLO. */
export const CLIENT_AGENT = "fts-client/0.1";

/** A user name and password for the server's AUTH. */
export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** Options of {@linkcode handshake}. */
export interface HandshakeOptions {
  /** Closes the session when aborted. */
  signal?: AbortSignal;
  /**
   * Offer zstd compression of DATA chunks; chunk by chunk, the policy of
   * common/compression.ts then decides whether compressing pays. Default
   * true (`--compress auto`); false is `--compress off`.
   */
  compress?: boolean;
  /**
   * The hash that verifies transfers: "xxh128" (the default) offers the
   * feature "xxh128", used when the server has it too; "sha256"
   * (`--checksum sha256`) does not offer it, so SHA-256 is used.
   */
  checksum?: "sha256" | "xxh128";
  /**
   * Credentials, used when the server requires a login (WELCOME `auth`).
   * A function is called only then, so a password is asked for only when
   * needed; the handshake deadline does not run while it waits.
   */
  login?: Credentials | (() => Promise<Credentials>);
  /** Handshake deadline in milliseconds. Default 10,000. */
  handshakeTimeoutMs?: number;
}

/**
 * Opens a plain TCP connection to `target`, with Nagle's algorithm off.
 *
 * @throws {ConnectReason} `host_not_found` when the name does not resolve;
 * the connection's own error (refused, unreachable…) otherwise.
 */
export async function connectTcp(
  target: Target,
  signal?: AbortSignal,
): Promise<Deno.TcpConn> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({
      hostname: target.hostname,
      port: target.port,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    throw await lookupFailure(target.hostname, error) ?? error;
  }
  conn.setNoDelay(true);
  return conn;
}

/** A "host not found" error when `error` means `hostname` does not resolve. */
async function lookupFailure(
  hostname: string,
  error: unknown,
): Promise<ConnectReason | null> {
  if (!await isLookupFailure(hostname, error)) return null;
  return new ConnectReason("host_not_found", { cause: error });
}

/** The server's WELCOME. */
export type Welcome = Extract<Message, { type: "welcome" }>;

/**
 * Sends HELLO, checks the server's WELCOME and logs in when the server
 * requires it. Closes `conn` when the deadline passes or `signal` aborts.
 *
 * @throws {ConnectReason} for a timeout, a closed connection or a missing
 * login; {@linkcode ProtocolError} for a WELCOME that breaks the protocol;
 * the server's error as a `ReasonError`.
 */
export async function handshake(
  conn: FrameConn,
  options: HandshakeOptions,
): Promise<Welcome> {
  const timeoutMs = options.handshakeTimeoutMs ?? 10_000;
  let timedOut = false;
  const expire = () => {
    timedOut = true;
    conn.close();
  };
  let timer = setTimeout(expire, timeoutMs);
  const onAbort = () => conn.close();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const offered = [
      ...(options.compress === false ? [] : ["zstd"]),
      "mode",
      "usage",
      "pull",
      "sums",
      "resume",
      ...(options.checksum === "sha256" ? [] : ["xxh128"]),
    ];
    await conn.send({
      type: "hello",
      id: 0,
      versions: [PROTOCOL_VERSION],
      features: offered,
      agent: CLIENT_AGENT,
    });
    const welcome = await conn.readMessage();
    if (welcome === null) {
      throw timedOut
        ? new ConnectReason("no_answer", { detail: timeoutMs })
        : new ConnectReason("closed");
    }
    if (welcome.type === "error") throw remoteError(welcome);
    if (welcome.type !== "welcome") {
      throw new ProtocolError(
        `Expected WELCOME, got ${welcome.type.toUpperCase()}`,
      );
    }
    if (welcome.version !== PROTOCOL_VERSION) {
      throw new ProtocolError(
        `The server chose unsupported version ${welcome.version}`,
      );
    }
    if (welcome.features.some((f) => !offered.includes(f))) {
      throw new ProtocolError(
        "The server chose a feature that was not offered",
      );
    }
    if (welcome.chunkSize < 1 || welcome.chunkSize > MAX_PAYLOAD - 8) {
      throw new ProtocolError(
        `Chunk size ${welcome.chunkSize} is out of range`,
      );
    }
    if (welcome.auth) {
      let credentials: Credentials;
      if (typeof options.login === "function") {
        clearTimeout(timer); // a person may be typing a password
        try {
          credentials = await options.login();
        } finally {
          timer = setTimeout(expire, timeoutMs);
        }
      } else if (options.login) {
        credentials = options.login;
      } else {
        throw new ConnectReason("login_required");
      }
      await login(conn, credentials);
    }
    return welcome;
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (timedOut) {
      throw new ConnectReason("no_answer", { detail: timeoutMs });
    }
    // The server hung up before the handshake ended (its own deadline for
    // HELLO, a restart): the connection is gone, whatever the call that
    // noticed it (a write may fail with "bad resource" once the TLS
    // stream has ended). A reset keeps its own words.
    if (
      isConnectionLoss(error) &&
      !(error instanceof Deno.errors.ConnectionReset)
    ) {
      throw new ConnectReason("closed", { cause: error });
    }
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

async function login(conn: FrameConn, credentials: Credentials): Promise<void> {
  await conn.send({
    type: "auth",
    id: 0,
    user: credentials.user,
    password: credentials.password,
  });
  const reply = await conn.readMessage();
  if (reply === null) {
    throw new ConnectReason("closed");
  }
  if (reply.type === "error") {
    // auth_failed carries the server's one answer ("Wrong user name or
    // password", or a temporary ban), shown escaped.
    throw remoteError(reply);
  }
  if (reply.type !== "ok") {
    throw new ProtocolError(
      `Expected OK after AUTH, got ${reply.type.toUpperCase()}`,
    );
  }
}
