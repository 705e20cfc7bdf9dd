/**
 * The first look at a server's certificate, before the client decides
 * whether to trust it.
 *
 * Deno's own TLS does not show the peer's certificate, so the probe is a
 * short `node:tls` connection with verification off: it completes the
 * handshake, reads the certificate, closes, and carries no data (`node:tls`
 * hangs at the end of a stream in this Deno version, so it never carries
 * fts traffic). The connection that does is made afterwards by
 * `tls_connect.ts`, which accepts only the key the probe showed.
 *
 * @module
 */

import { parseIpLiteral } from "../../common/ip_address.ts";
import { FtsError } from "../../protocol/errors.ts";
import { FTS_ALPN } from "../../protocol/frame.ts";
import { describeCertificate, type ServerCertificate } from "./certificate.ts";
import {
  ConnectError,
  connectError,
  NotTlsError,
  type PlainPeer,
} from "./connect_error.ts";

/** What the probe saw. */
export type ProbeResult = ServerCertificate;

/** Options of {@linkcode probeCertificate}. */
export interface ProbeOptions {
  /** Gives up after this many milliseconds. Default: 10000. */
  timeoutMs?: number | undefined;
  /** Aborts the probe. */
  signal?: AbortSignal | undefined;
}

/** How long to wait for the server to close after the probe said goodbye. */
const CLOSE_GRACE_MS = 1000;

/**
 * Opens a TLS connection to `hostname:port` without verifying anything,
 * reads the server's certificate and closes the connection again.
 *
 * @throws {FtsError} `timeout` when no handshake finished in time, `io` when
 * the server cannot be reached, `protocol` when it ended the connection
 * during the handshake (a server started with `--no-tls` does that).
 * @example
 * ```ts
 * const seen = await probeCertificate("127.0.0.1", 12345);
 * console.log(seen.fingerprint); // SHA256:u6tlZUS/baH9Lr56Zs+gR7BuYQMEZxyDtvFxW68qeeA
 * ```
 */
export async function probeCertificate(
  hostname: string,
  port: number,
  options: ProbeOptions = {},
): Promise<ProbeResult> {
  const started = Date.now();
  try {
    return await probeOnce(hostname, port, options);
  } catch (error) {
    if (!(error instanceof NotTlsError)) throw error;
    // Ask again in plain text to name what answered instead.
    const left = (options.timeoutMs ?? 10_000) - (Date.now() - started);
    const peer = await identifyPlainPeer(hostname, port, {
      timeoutMs: Math.min(IDENTIFY_MS, Math.max(left, 0)),
      signal: options.signal,
    });
    options.signal?.throwIfAborted();
    if (peer === null || peer === "none" || peer === error.peer) throw error;
    throw new NotTlsError(error.address, peer, { cause: error });
  }
}

async function probeOnce(
  hostname: string,
  port: number,
  options: ProbeOptions,
): Promise<ProbeResult> {
  const family = parseIpLiteral(hostname)?.family ?? null;
  const address = family === 6
    ? `[${hostname}]:${port}`
    : `${hostname}:${port}`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const signal = options.signal;
  signal?.throwIfAborted();
  // Loaded here, not with the module: a bundle hoists static imports of
  // node: modules, and a client that needs no probe needs no node:tls.
  const tls = await import("node:tls");
  signal?.throwIfAborted();
  return await new Promise((resolve, reject) => {
    let outcome: { result: ProbeResult } | { error: unknown } | null = null;
    const socket = tls.connect({
      host: hostname,
      port,
      rejectUnauthorized: false,
      ALPNProtocols: [FTS_ALPN],
      ...(family === null ? { servername: hostname } : {}),
    });
    let timer = setTimeout(onTimeout, timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });

    function settle(value: { result: ProbeResult } | { error: unknown }) {
      if (outcome === null) outcome = value;
    }
    function onTimeout() {
      settle({
        error: new ConnectError(`"${address}"`, "no_tls_handshake", {
          detail: timeoutMs,
        }),
      });
      socket.destroy();
    }
    function onAbort() {
      settle({ error: signal?.reason });
      socket.destroy();
    }
    socket.once("secureConnect", () => {
      try {
        const peer = socket.getPeerCertificate(true);
        if (!peer?.raw) throw new Error("the server sent no certificate");
        settle({ result: describeCertificate(peer.raw) });
      } catch (cause) {
        settle({
          error: new FtsError(
            "protocol",
            `Cannot read the certificate of "${address}"`,
            { cause },
          ),
        });
        socket.destroy();
        return;
      }
      // Say goodbye cleanly so the server sees an end of stream, not an
      // error; if it does not close in time the socket is destroyed.
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      socket.end();
    });
    socket.on("error", (cause: Error & { code?: string }) => {
      settle({ error: probeError(cause, address) });
      socket.destroy();
    });
    socket.once("close", () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      const final = outcome ?? { error: probeError(null, address) };
      if ("result" in final) resolve(final.result);
      else reject(final.error);
    });
  });
}

/** Names what went wrong before the handshake finished, by node's code. */
function probeError(
  cause: (Error & { code?: string }) | null,
  address: string,
): FtsError {
  const options = cause ? { cause } : {};
  // A peer that hangs up mid-handshake ("socket hang up").
  if (cause === null || cause.code === "ECONNRESET") {
    return new NotTlsError(address, "none", options);
  }
  // Bytes that are not a TLS record (an fts frame, an HTTP answer…).
  if (cause.code === "ERR_SSL_WRONG_VERSION_NUMBER") {
    return new NotTlsError(address, "fts", options);
  }
  const error = connectError(`"${address}"`, cause);
  return error instanceof FtsError
    ? error
    : new ConnectError(`"${address}"`, "system", {
      detail: cause.message.split("\n", 1)[0]!,
      cause,
    });
}

export type { PlainPeer };

/** How long the plain second look at a non-TLS server may take. */
const IDENTIFY_MS = 2000;

/**
 * Names a server by its first bytes: an fts frame starts with its magic
 * "FT", an HTTP response with "HTTP/", an SSH server's banner with "SSH-".
 *
 * @example
 * ```ts
 * classifyPlainPeer(new TextEncoder().encode("SSH-2.0-OpenSSH_9.6")); // "ssh"
 * ```
 */
function classifyPlainPeer(bytes: Uint8Array): PlainPeer {
  if (bytes.byteLength === 0) return "none";
  const head = String.fromCharCode(...bytes.subarray(0, 5));
  if (head.startsWith("FT")) return "fts";
  if (head === "HTTP/") return "http";
  if (head.startsWith("SSH-")) return "ssh";
  return "other";
}

/**
 * Opens a plain TCP connection, sends the start of a TLS record and reads
 * what comes back: an fts server answers it with an ERROR frame, an HTTP
 * server with "400 Bad Request", and an SSH server sends its banner anyway.
 * Resolves to null when the connection fails or the first bytes do not
 * arrive in time.
 */
async function identifyPlainPeer(
  hostname: string,
  port: number,
  options: { timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<PlainPeer | null> {
  if (options.timeoutMs <= 0) return null;
  const controller = new AbortController();
  let conn: Deno.TcpConn | null = null;
  const stop = () => {
    controller.abort();
    try {
      conn?.close();
    } catch {
      // already closed
    }
    conn = null;
  };
  const timer = setTimeout(stop, options.timeoutMs);
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    const opened = await Deno.connect({
      hostname,
      port,
      signal: controller.signal,
    });
    conn = opened;
    await opened.write(Uint8Array.of(0x16, 0x03, 0x01));
    const bytes = new Uint8Array(8);
    let n = 0;
    while (n < 5) {
      const got = await opened.read(bytes.subarray(n));
      if (got === null) break;
      n += got;
    }
    return classifyPlainPeer(bytes.subarray(0, n));
  } catch {
    return null; // refused, reset, or out of time: nothing more to say
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", stop);
    stop();
  }
}
