/**
 * What a failed TLS handshake of Deno's own TLS (`Deno.startTls`,
 * `Deno.listenTls`) means. Deno reports every such failure as a
 * `Deno.errors.InvalidData` with no code: the TLS library's reason is only
 * in the message, so this is the one place that reads it, and its tests
 * run real handshakes so a rewording in a Deno upgrade fails them.
 * Everything else decides by codes and classes.
 *
 * @module
 */

/**
 * - `not_tls`: the peer answered in plain text (an fts server or client
 *   started with `--no-tls`);
 * - `certificate`: a certificate was refused (by this side, or by the peer,
 *   which says so in an alert);
 * - `alert`: the peer ended the handshake with another alert;
 * - `other`: anything else, including errors that are not TLS failures.
 */
export type TlsFailure = "not_tls" | "certificate" | "alert" | "other";

const NOT_TLS = /InvalidContentType|wrong version number|corrupt message/i;
const CERTIFICATE = /certificate|CertNotValid|UnknownIssuer|NotValidForName/i;
const ALERT = /alert/i;

/**
 * Classifies an error thrown by a Deno TLS handshake.
 *
 * @example
 * ```ts
 * classifyTlsFailure(new Deno.errors.InvalidData("invalid peer certificate: UnknownIssuer"));
 * // "certificate"
 * ```
 */
export function classifyTlsFailure(error: unknown): TlsFailure {
  if (!(error instanceof Deno.errors.InvalidData)) return "other";
  const text = error.message;
  if (NOT_TLS.test(text)) return "not_tls";
  if (CERTIFICATE.test(text)) return "certificate";
  if (ALERT.test(text)) return "alert";
  return "other";
}
