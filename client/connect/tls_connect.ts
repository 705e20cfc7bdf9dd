/**
 * TLS connections to a server whose identity the user pinned (like ssh's
 * known_hosts) or that has a real certificate, and the decision between
 * connecting, asking and refusing.
 *
 * How the pin holds: Deno's `caCerts` are added to the public roots, so
 * trusting the pinned certificate alone would still let any publicly
 * trusted certificate for the same name through. A generated fts identity
 * is therefore a self-signed leaf whose only name, `fts-<16 hex>.invalid`,
 * derives from its own key: the client asks for exactly that name and
 * trusts exactly that certificate. No public CA may issue a `.invalid` name,
 * so only the holder of the pinned key completes the handshake. (A CA added
 * to the client's trust on purpose, through `DENO_CERT` or
 * `DENO_TLS_CA_STORE=system`, could still issue that name.)
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import { parseIpLiteral } from "../../common/ip_address.ts";
import { classifyTlsFailure } from "../../common/tls_failure.ts";
import {
  ConnectError,
  type IdentityRefusal,
  identityRefusalText,
  NotTlsError,
} from "./connect_error.ts";
import { FtsError } from "../../protocol/errors.ts";
import { quoteName } from "../../protocol/names.ts";
import { base64 } from "@scure/base";
import { FTS_ALPN } from "../../protocol/frame.ts";
import { normaliseFingerprint } from "../../common/fingerprint.ts";
import { hostKey, type HostVerdict, type KnownHosts } from "./known_hosts.ts";
import { describeCertificate, pinnedCertificate } from "./certificate.ts";
import type { ProbeResult } from "./tls_probe.ts";

/**
 * Why the client would not connect: `untrusted` is a certificate from an
 * authority the client does not trust, `invalid` one that no authority
 * could make valid (a CA certificate as a server's, expired, for another
 * name, self-signed).
 */
export type RefusalReason =
  | "mismatch"
  | "unknown"
  | "wrong_fingerprint"
  | "declined"
  | "untrusted"
  | "invalid";

/**
 * The server's identity was refused, or it could not prove it. The message
 * is the one line to show; `reason` lets the UI add a remedy.
 */
export class ServerIdentityError extends FtsError {
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string, options?: ErrorOptions) {
    super("auth_failed", message, options);
    this.name = "ServerIdentityError";
    this.reason = reason;
  }
}

/** Options shared by the connect functions. */
export interface TlsConnectOptions {
  /** Aborts connecting and the handshake. */
  signal?: AbortSignal | undefined;
  /** Gives up when the TCP connection and handshake take longer. Default: 10000 ms. */
  timeoutMs?: number | undefined;
}

/** Options of {@linkcode connectPinned}. */
export interface PinnedOptions extends TlsConnectOptions {
  /** The pinned certificate, a generated fts identity, in PEM. */
  pinnedCertPem: string;
  /**
   * The name to ask for; it must be the pinned certificate's own
   * `fts-<16 hex>.invalid` name, which is also the default.
   */
  hostname?: string;
}

/**
 * Connects to `host:port` and completes a TLS handshake that only the holder
 * of the pinned certificate's key can complete.
 *
 * @throws {TypeError} when `pinnedCertPem` is not a generated fts identity
 * or `hostname` is not its name.
 * @throws {ServerIdentityError} `untrusted` when the server presents any
 * other certificate.
 * @throws {FtsError} `timeout`, or the connection's own error (refused…).
 * @example
 * ```ts
 * const seen = await probeCertificate("127.0.0.1", 12345);
 * using conn = await connectPinned("127.0.0.1", 12345, { pinnedCertPem: seen.certPem });
 * ```
 */
export async function connectPinned(
  host: string,
  port: number,
  options: PinnedOptions,
): Promise<Deno.TlsConn> {
  let name: string | null;
  try {
    name = describeCertificate(pemToDer(options.pinnedCertPem)).pinnedHostname;
  } catch (cause) {
    throw new TypeError("The pinned certificate is not a PEM certificate", {
      cause,
    });
  }
  if (name === null) {
    throw new TypeError("The pinned certificate is not an fts identity");
  }
  if (options.hostname !== undefined && options.hostname !== name) {
    throw new TypeError(
      `"${options.hostname}" is not the pinned certificate's name "${name}"`,
    );
  }
  return await handshake(host, port, {
    tls: { hostname: name, caCerts: [options.pinnedCertPem] },
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
}

/** Options of {@linkcode connectVerified}. */
export interface VerifiedOptions extends TlsConnectOptions {
  /** Roots trusted besides the public ones (a private CA). */
  caCerts?: string[] | undefined;
}

/**
 * Connects to `host:port` and verifies the server's certificate against the
 * public roots (and `caCerts`) and the name `host`, as a browser would: for
 * servers started with a real certificate (`--cert`/`--key`).
 *
 * @throws {ServerIdentityError} `untrusted` when the certificate does not
 * verify.
 */
export async function connectVerified(
  host: string,
  port: number,
  options: VerifiedOptions = {},
): Promise<Deno.TlsConn> {
  return await handshake(host, port, {
    tls: { hostname: unbracket(host), caCerts: options.caCerts ?? [] },
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
}

/** What {@linkcode decideTrust} knows about the server. */
export interface TrustInput {
  /** The server's `host:port` as {@linkcode hostKey} writes it. */
  address: string;
  /** What known_hosts says about the offered fingerprint. */
  verdict: HostVerdict;
  /** What the probe saw. */
  probe: ProbeResult;
}

/** The user's standing instructions for an unknown server. */
export interface TrustOptions {
  /**
   * The fingerprint the user expects (`--fingerprint`), in any form
   * {@linkcode normaliseFingerprint} accepts.
   */
  fingerprint?: string | undefined;
  /** Trust and remember a server seen for the first time (`--accept-new`). */
  acceptNew?: boolean | undefined;
  /** Whether a person can be asked (stdin is a terminal). */
  interactive: boolean;
  /** Asks the person a yes/no question; required when `interactive`. */
  ask?: ((question: string) => Promise<boolean>) | undefined;
}

/** What to do: connect (pinned or verified, remembering the pin or not), or refuse. */
export type TrustDecision =
  | { action: "connect"; pinned: boolean; remember: boolean }
  | { action: "refuse"; reason: RefusalReason; message: string };

/**
 * Decides whether to connect to a server, asking the person through
 * `options.ask` when it is seen for the first time on a terminal. Never
 * prints.
 *
 * - stored fingerprint differs from the offered one: hard refusal
 *   (`mismatch`), whatever the options say;
 * - `fingerprint` given and different from the offered one: refusal;
 * - stored and equal: connect;
 * - not stored: a real certificate (not a generated fts identity) connects
 *   verified against the system roots and is not remembered; a generated
 *   identity connects and is remembered if `fingerprint` matched, if
 *   `acceptNew`, or if the person said yes; the person saying no refuses
 *   (`declined`); with nobody to ask, refusal (`unknown`).
 *
 * @throws {TypeError} when `interactive` is true but `ask` is missing.
 * @throws {SyntaxError} when `fingerprint` is not a SHA256 fingerprint.
 */
export async function decideTrust(
  input: TrustInput,
  options: TrustOptions,
): Promise<TrustDecision> {
  const { address, verdict, probe } = input;
  const offered = probe.fingerprint;
  const expected = options.fingerprint === undefined
    ? undefined
    : normaliseFingerprint(options.fingerprint);
  const pinned = probe.pinnedHostname !== null;
  if (typeof verdict === "object") {
    return refuse(address, {
      reason: "mismatch",
      stored: verdict.mismatch,
      offered,
    });
  }
  if (expected !== undefined && expected !== offered) {
    return refuse(address, {
      reason: "wrong_fingerprint",
      offered,
      expected: options.fingerprint!,
    });
  }
  if (verdict === "match") {
    return { action: "connect", pinned, remember: false };
  }
  if (!pinned) return { action: "connect", pinned: false, remember: false };
  if (expected !== undefined || options.acceptNew) {
    return { action: "connect", pinned: true, remember: true };
  }
  if (options.interactive) {
    if (!options.ask) {
      throw new TypeError("An interactive decision needs ask()");
    }
    const yes = await options.ask(
      `The server "${address}" is not known yet.\n` +
        `Its identity fingerprint is ${offered}.\n` +
        `Trust it and remember it?`,
    );
    if (yes) return { action: "connect", pinned: true, remember: true };
    return refuse(address, { reason: "declined", offered });
  }
  return refuse(address, { reason: "unknown", offered });
}

function refuse(
  address: string,
  refusal: Exclude<IdentityRefusal, { reason: "tls_refused" }>,
): TrustDecision {
  return {
    action: "refuse",
    reason: refusal.reason,
    message: identityRefusalText(address, refusal),
  };
}

/** Options of {@linkcode connectSecure}. */
export interface SecureConnectOptions extends TrustOptions, TlsConnectOptions {
  /** Where pins are looked up and remembered. */
  knownHosts: KnownHosts;
  /** Roots trusted besides the public ones, for real certificates. */
  caCerts?: string[];
}

/** A connection made by {@linkcode connectSecure}, and how it was trusted. */
export interface SecureConnection {
  conn: Deno.TlsConn;
  /** The server's fingerprint. */
  fingerprint: string;
  /** True for a pinned fts identity, false for a certificate verified by the roots. */
  pinned: boolean;
  /** True when this connection stored a new pin in known_hosts. */
  remembered: boolean;
}

/**
 * The whole client-side flow: probe the server's certificate, look it up in
 * known_hosts, {@linkcode decideTrust}, connect pinned or verified, and
 * remember a newly trusted pin, with its certificate, once the handshake
 * succeeded.
 *
 * A server whose pin is stored with its certificate is reached in one
 * connection: pinned at once, without the probe. Should that handshake
 * fail on the server's identity (its key changed, or it no longer speaks
 * TLS), or a `fingerprint` option differ from the stored one, the whole
 * flow runs, so the user sees the same refusal as without the stored
 * certificate.
 *
 * @throws {ServerIdentityError} when the identity is refused or not proven.
 * @throws {FtsError} `timeout`, `io` or `protocol` when the server cannot
 * be reached over TLS.
 */
export async function connectSecure(
  hostname: string,
  port: number,
  options: SecureConnectOptions,
): Promise<SecureConnection> {
  const host = unbracket(hostname);
  const address = hostKey(host, port);
  if (host.includes("%")) {
    // The probe's node:tls cannot reach a link-local address by its zone.
    throw new ConnectError(`"${address}"`, "zone_id", { via: " over TLS" });
  }
  const common = { signal: options.signal, timeoutMs: options.timeoutMs };
  const known = await options.knownHosts.entry(address);
  const stored = known?.certificate
    ? pinnedCertificate(known.certificate, known.fingerprint)
    : null;
  // A refusal here (a --fingerprint that is not the stored one) is left to
  // the probe, which names what the server really offers.
  if (
    stored !== null &&
    (await decideTrust({ address, verdict: "match", probe: stored }, options))
        .action === "connect"
  ) {
    try {
      const conn = await connectPinned(host, port, {
        ...common,
        pinnedCertPem: stored.certPem,
      });
      return {
        conn,
        fingerprint: stored.fingerprint,
        pinned: true,
        remembered: false,
      };
    } catch (error) {
      if (
        !(error instanceof ServerIdentityError) &&
        !(error instanceof NotTlsError)
      ) {
        throw error;
      }
      // The probe below tells what changed.
    }
  }
  // Loaded only here: a server known with its certificate needs no probe.
  const { probeCertificate } = await import("./tls_probe.ts");
  const probe = await probeCertificate(host, port, common);
  const verdict = await options.knownHosts.verify(address, probe.fingerprint);
  const decision = await decideTrust({ address, verdict, probe }, options);
  if (decision.action === "refuse") {
    throw new ServerIdentityError(decision.reason, decision.message);
  }
  let conn: Deno.TlsConn;
  try {
    conn = decision.pinned
      ? await connectPinned(host, port, {
        ...common,
        pinnedCertPem: probe.certPem,
      })
      : await connectVerified(host, port, {
        ...common,
        caCerts: options.caCerts,
      });
  } catch (error) {
    if (
      decision.pinned || !(error instanceof ServerIdentityError) ||
      error.reason !== "untrusted"
    ) {
      throw error;
    }
    const why = whyNotTrusted(probe.certPem, host, options.caCerts ?? []);
    if (why === null) throw error;
    throw new ServerIdentityError(
      why.reason,
      identityRefusalText(address, { reason: why.reason, why: why.text }),
      { cause: error },
    );
  }
  if (decision.remember) {
    try {
      await options.knownHosts.add(address, probe.fingerprint, {
        certificate: pemToDer(probe.certPem),
      });
    } catch (error) {
      conn.close();
      throw error;
    }
  } else if (decision.pinned) {
    // Known by its fingerprint alone: keep the certificate too, so that
    // the next connection needs no probe. Only a saving: a config folder
    // that cannot be written costs the probe next time, nothing else.
    await options.knownHosts.add(address, probe.fingerprint, {
      certificate: pemToDer(probe.certPem),
    }).catch(() => {});
  }
  return {
    conn,
    fingerprint: probe.fingerprint,
    pinned: decision.pinned,
    remembered: decision.remember,
  };
}

async function handshake(
  host: string,
  port: number,
  options: TlsConnectOptions & { tls: Deno.StartTlsOptions },
): Promise<Deno.TlsConn> {
  const hostname = unbracket(host);
  const address = `${
    hostname.includes(":") ? `[${hostname}]` : hostname
  }:${port}`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  options.signal?.throwIfAborted();
  // One controller for the caller's signal and the deadline; the timer is
  // always cleared, so nothing outlives this call.
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  let conn = null as Deno.TlsConn | null;
  let closed = false;
  const closeConn = () => {
    if (conn === null || closed) return;
    closed = true;
    conn.close(); // interrupts a pending handshake
  };
  controller.signal.addEventListener("abort", closeConn, { once: true });
  try {
    const tcp = await Deno.connect({
      hostname,
      port,
      signal: controller.signal,
    });
    // Small requests must not wait for the peer's delayed ACK (Nagle).
    tcp.setNoDelay(true);
    try {
      conn = await Deno.startTls(tcp, {
        ...options.tls,
        alpnProtocols: [FTS_ALPN],
      });
    } catch (error) {
      tcp.close();
      throw error;
    }
    controller.signal.throwIfAborted();
    await conn.handshake();
    return conn;
  } catch (error) {
    closeConn();
    if (options.signal?.aborted) throw options.signal.reason;
    throw translate(error, address, timedOut, timeoutMs);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    controller.signal.removeEventListener("abort", closeConn);
  }
}

function translate(
  error: unknown,
  address: string,
  timedOut: boolean,
  timeoutMs: number,
): unknown {
  if (timedOut) {
    return new ConnectError(`"${address}"`, "no_tls_handshake", {
      detail: timeoutMs,
      cause: error,
    });
  }
  const failure = classifyTlsFailure(error);
  if (failure === "not_tls") {
    return new NotTlsError(address, "fts", { cause: error });
  }
  if (failure === "certificate") {
    return new ServerIdentityError(
      "untrusted",
      identityRefusalText(address, {
        reason: "tls_refused",
        tls: (error as Error).message,
      }),
      { cause: error },
    );
  }
  return error;
}

/**
 * Why a certificate that is not an fts identity failed verification, found
 * by reading it (the TLS library names the check only in its message):
 * null when none of the checks here explains it.
 */
function whyNotTrusted(
  certPem: string,
  host: string,
  caCerts: readonly string[],
): { reason: "untrusted" | "invalid"; text: string } | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return null;
  }
  const invalid = (text: string) => ({ reason: "invalid" as const, text });
  if (cert.ca) {
    return invalid(
      "it presents a certificate authority's certificate (CA:TRUE) as its own server certificate",
    );
  }
  const now = Date.now();
  if (Date.parse(cert.validTo) < now) {
    return invalid(`its certificate expired on ${isoDay(cert.validTo)}`);
  }
  if (Date.parse(cert.validFrom) > now) {
    return invalid(
      `its certificate is not valid before ${isoDay(cert.validFrom)}`,
    );
  }
  const ip = parseIpLiteral(host);
  const named = ip === null
    ? cert.checkHost(host) !== undefined
    : cert.checkIP(ip.address) !== undefined;
  if (!named) {
    return invalid(`its certificate is not valid for the name "${host}"`);
  }
  if (cert.checkIssued(cert)) {
    return invalid(
      "its certificate is self-signed and not an fts identity, so nothing vouches for it",
    );
  }
  const byGivenCa = caCerts.some((pem) => {
    try {
      const ca = new X509Certificate(pem);
      return cert.checkIssued(ca) && cert.verify(ca.publicKey);
    } catch {
      return false;
    }
  });
  if (byGivenCa) return null;
  return {
    reason: "untrusted",
    text: `its certificate is issued by ${
      quoteName(cert.issuer.replace(/\n/g, ", "), 120)
    }, an authority this client does not trust`,
  };
}

function isoDay(date: string): string {
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? date : new Date(ms).toISOString().slice(0, 10);
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function pemToDer(pem: string): Uint8Array {
  const match = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/
    .exec(pem);
  if (!match) throw new SyntaxError("No PEM certificate found");
  return base64.decode(match[1]!.replace(/\s+/g, ""));
}
