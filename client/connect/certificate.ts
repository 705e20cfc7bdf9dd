/**
 * What the client reads from a server's certificate: its fingerprint, its
 * PEM, and whether it is a generated fts identity that can be pinned (see
 * common/fingerprint.ts). Used on the certificate the probe saw and on the
 * one stored in known_hosts.
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import { pinnedHostname, spkiFingerprint } from "../../common/fingerprint.ts";

/** A server's certificate as the client judges it. */
export interface ServerCertificate {
  /** The server's leaf certificate in PEM. */
  readonly certPem: string;
  /** `SHA256:<unpadded base64>` of the certificate's public key (SPKI DER). */
  readonly fingerprint: string;
  /**
   * `fts-<16 hex>.invalid` when the certificate is a generated fts identity
   * (its only name derives from its own key) and can be pinned; null for
   * any other certificate, which must be verified against the system roots.
   */
  readonly pinnedHostname: string | null;
}

/**
 * Fingerprint, PEM and pinning name of a DER certificate.
 *
 * @throws {Error} when `der` is not a certificate.
 */
export function describeCertificate(der: Uint8Array): ServerCertificate {
  const cert = new X509Certificate(der);
  const spki = cert.publicKey.export({ type: "spki", format: "der" });
  const fingerprint = spkiFingerprint(spki);
  const name = pinnedHostname(fingerprint);
  const pinnable = cert.checkHost(name, { subject: "never" }) === name;
  return {
    certPem: cert.toString(),
    fingerprint,
    pinnedHostname: pinnable ? name : null,
  };
}

/**
 * The stored certificate `der` when it is a generated fts identity whose
 * key has `fingerprint`; null otherwise (not a certificate, another key, or
 * not pinnable), so that nothing but the pinned key is ever trusted.
 */
export function pinnedCertificate(
  der: Uint8Array,
  fingerprint: string,
): ServerCertificate | null {
  let seen: ServerCertificate;
  try {
    seen = describeCertificate(der);
  } catch {
    return null; // not a certificate: the probe finds the real one
  }
  return seen.fingerprint === fingerprint && seen.pinnedHostname !== null
    ? seen
    : null;
}
