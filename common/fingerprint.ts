/**
 * How both sides name a server's key: its fingerprint, `SHA256:` and the
 * unpadded base64 of the SHA-256 of its SubjectPublicKeyInfo (DER), in the
 * style of ssh; and the pinning name a generated identity's certificate
 * carries, `fts-<first 16 hex digits of that SHA-256>.invalid`, which no
 * public CA can issue.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { base64, base64nopad, hex } from "@scure/base";

const PREFIX = "SHA256:";

/**
 * The fingerprint of a public key given as SubjectPublicKeyInfo DER.
 *
 * @example
 * ```ts
 * spkiFingerprint(spki); // "SHA256:u6tlZUS/baH9Lr56Zs+gR7BuYQMEZxyDtvFxW68qeeA"
 * ```
 */
export function spkiFingerprint(spki: Uint8Array): string {
  return PREFIX +
    base64nopad.encode(createHash("sha256").update(spki).digest());
}

/**
 * A fingerprint in the one form fts stores and prints,
 * `SHA256:<unpadded base64>`. Also accepts it with padding, without the
 * `SHA256:` prefix, or as 64 hex digits (with or without colons).
 *
 * @throws {SyntaxError} when `text` is none of these.
 */
export function normaliseFingerprint(text: string): string {
  let value = text.trim();
  if (value.slice(0, PREFIX.length).toUpperCase() === PREFIX) {
    value = value.slice(PREFIX.length);
  }
  const digits = value.replaceAll(":", "");
  if (/^[0-9a-f]{64}$/i.test(digits)) {
    value = base64nopad.encode(hex.decode(digits.toLowerCase()));
  }
  value = value.replace(/=$/, "");
  if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]$/.test(value)) {
    throw new SyntaxError(`"${text}" is not a SHA256 fingerprint`);
  }
  return PREFIX + value;
}

/**
 * The pinning name that belongs to a fingerprint (in any form
 * {@linkcode normaliseFingerprint} accepts).
 *
 * @throws {SyntaxError} when `fingerprint` is not a SHA256 fingerprint.
 * @example
 * ```ts
 * pinnedHostname(spkiFingerprint(spki)); // "fts-bbab65654..."
 * ```
 */
export function pinnedHostname(fingerprint: string): string {
  const digest = base64.decode(
    normaliseFingerprint(fingerprint).slice(PREFIX.length) + "=",
  );
  return `fts-${hex.encode(digest.subarray(0, 8))}.invalid`;
}
