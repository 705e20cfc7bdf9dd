/**
 * The server's TLS identity: its key, its certificate and the fingerprint
 * users pin, plus the TLS listener built from them.
 *
 * On first start {@linkcode loadOrCreateIdentity} makes an ECDSA P-256 key
 * and a self-signed leaf certificate (`CA:FALSE`, keyUsage
 * digitalSignature, extKeyUsage serverAuth, 10 years) whose only
 * subjectAltName is a made-up name derived from the key itself,
 * `fts-<16 hex>.invalid`. No public CA can issue a certificate for a
 * `.invalid` name, so a client that trusts this one certificate and asks
 * for that name accepts this key and nothing else (see
 * `client/connect/tls_connect.ts`).
 *
 * The key is the identity: the fingerprint and the name are both taken from
 * the SHA-256 of the public key (the certificate's SubjectPublicKeyInfo in
 * DER), so a certificate that expires or goes missing is issued again from
 * the same key without changing what clients pinned.
 *
 * Files in the state folder: `tls_key.pem` (PKCS#8) and `tls_cert.pem`, both
 * mode 0600 and written atomically; the folder is kept at mode 0700.
 *
 * @module
 */

import { type Clock, systemClock } from "../../common/clock.ts";
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  X509Certificate,
} from "node:crypto";
import { join } from "node:path";
import { base64, hex } from "@scure/base";
import { FTS_ALPN } from "../../protocol/frame.ts";
import { pinnedHostname, spkiFingerprint } from "../../common/fingerprint.ts";
import {
  ensurePrivateDir,
  writeFileAtomic,
} from "../../common/private_files.ts";

/** File name of the private key inside the state folder. */
export const KEY_FILE = "tls_key.pem";
/** File name of the certificate inside the state folder. */
export const CERT_FILE = "tls_cert.pem";

const DAY_MS = 86_400_000;

/** A key and certificate the server presents, with what users see of it. */
export interface TlsIdentity {
  /** The certificate chain in PEM, leaf first. */
  readonly certPem: string;
  /** The private key in PEM. Secret: never log it. */
  readonly keyPem: string;
  /**
   * `SHA256:` and the unpadded base64 of the SHA-256 of the leaf
   * certificate's SubjectPublicKeyInfo (DER), in the style of ssh's
   * fingerprints; it identifies the key, not one certificate.
   */
  readonly fingerprint: string;
  /**
   * The pinning name `fts-<first 16 hex of that SHA-256>.invalid` of a
   * generated identity, or null for a certificate given with `--cert`,
   * which clients verify against the system roots and the name they dialled.
   */
  readonly hostname: string | null;
  /** True when this call created a new key (the server's first start). */
  readonly created: boolean;
  /** When the leaf certificate expires. */
  readonly notAfter: Date;
}

/** Options of {@linkcode loadOrCreateIdentity}. */
export interface IdentityOptions {
  /** Time source for the certificate's validity. Default: the system clock. */
  clock?: Pick<Clock, "now">;
  /** Validity of a newly issued certificate, in days. Default: 3650. */
  validityDays?: number;
  /**
   * A stored certificate that expires within this many days is issued
   * again from the same key (the fingerprint stays). Default: 30.
   */
  renewDays?: number;
}

/**
 * Loads the identity kept in `stateDir`, creating the folder (0700), the key
 * and the certificate (0600) on first start.
 *
 * @throws {Error} when the stored key cannot be read or is not ECDSA P-256.
 * @example
 * ```ts
 * const identity = await loadOrCreateIdentity("dados/.fts");
 * console.log(`fingerprint ${identity.fingerprint}`);
 * using listener = listenTls(identity, { hostname: "127.0.0.1", port: 12345 });
 * ```
 */
export async function loadOrCreateIdentity(
  stateDir: string,
  options: IdentityOptions = {},
): Promise<TlsIdentity> {
  const now = (options.clock ?? systemClock).now();
  const validityDays = options.validityDays ?? 3650;
  const renewDays = options.renewDays ?? 30;
  await ensurePrivateDir(stateDir);
  const keyFile = join(stateDir, KEY_FILE);
  const certFile = join(stateDir, CERT_FILE);

  let keyPem = await readPrivateFile(keyFile);
  const created = keyPem === null;
  if (keyPem === null) {
    keyPem = await generateKeyPem();
    await writeFileAtomic(keyFile, keyPem);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (cause) {
    throw new Error(
      `Cannot load the TLS key "${keyFile}": it is not a valid private key`,
      { cause },
    );
  }
  if (
    privateKey.asymmetricKeyType !== "ec" ||
    privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1"
  ) {
    throw new Error(
      `Cannot load the TLS key "${keyFile}": it is not an ECDSA P-256 key`,
    );
  }
  const spki = Uint8Array.from(
    createPublicKey(privateKey).export({ type: "spki", format: "der" }),
  );
  const hostname = pinnedHostname(spkiFingerprint(spki));

  let certPem = created ? null : await readPrivateFile(certFile);
  let cert = certPem === null
    ? null
    : parseUsableCertificate(certPem, privateKey, hostname);
  if (cert === null || cert.validToDate.getTime() - now < renewDays * DAY_MS) {
    certPem = await issueSelfSigned(keyPem, spki, {
      hostname,
      now,
      validityDays,
    });
    await writeFileAtomic(certFile, certPem);
    cert = new X509Certificate(certPem);
  }
  return {
    certPem: certPem as string,
    keyPem,
    fingerprint: spkiFingerprint(spki),
    hostname,
    created,
    notAfter: cert.validToDate,
  };
}

/**
 * Loads a certificate chain (leaf first) and its key from files given with
 * `--cert` / `--key`. Clients verify such a certificate against the system
 * roots and the host name they dialled; nothing about it is pinned by name.
 *
 * @throws {Error} when a file cannot be read, the key does not match the
 * certificate, or the certificate has expired.
 */
export async function loadCustomIdentity(
  certFile: string,
  keyFile: string,
  options: { clock?: Pick<Clock, "now"> } = {},
): Promise<TlsIdentity> {
  const now = (options.clock ?? systemClock).now();
  const certPem = await Deno.readTextFile(certFile);
  const keyPem = await Deno.readTextFile(keyFile);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (cause) {
    throw new Error(
      `Cannot use the certificate "${certFile}": it is not a PEM certificate`,
      { cause },
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (cause) {
    throw new Error(
      `Cannot use the key "${keyFile}": it is not a PEM private key`,
      { cause },
    );
  }
  if (!cert.checkPrivateKey(key)) {
    throw new Error(
      `Cannot use the certificate "${certFile}": the key "${keyFile}" does not belong to it`,
    );
  }
  if (cert.validToDate.getTime() <= now) {
    throw new Error(
      `Cannot use the certificate "${certFile}": it expired on ${cert.validToDate.toISOString()}`,
    );
  }
  const spki = new Uint8Array(
    cert.publicKey.export({ type: "spki", format: "der" }),
  );
  return {
    certPem,
    keyPem,
    fingerprint: spkiFingerprint(spki),
    hostname: null,
    created: false,
    notAfter: cert.validToDate,
  };
}

/** Options of {@linkcode listenTls}. */
export interface ListenTlsOptions {
  /** Address to bind. Default: "127.0.0.1". */
  hostname?: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
}

/**
 * Listens for TLS connections presenting `identity`, announcing ALPN
 * {@linkcode FTS_ALPN}. The handshake runs on a connection's first read or
 * on `conn.handshake()`; a client's identity probe closes right after it,
 * which shows up as an end of stream (or `UnexpectedEof`) before any frame.
 */
export function listenTls(
  identity: TlsIdentity,
  options: ListenTlsOptions,
): Deno.TlsListener {
  return Deno.listenTls({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port,
    cert: identity.certPem,
    key: identity.keyPem,
    alpnProtocols: [FTS_ALPN],
  });
}

/** The stored certificate if it belongs to `key` and names `hostname`, else null. */
function parseUsableCertificate(
  certPem: string,
  key: KeyObject,
  hostname: string,
): X509Certificate | null {
  try {
    const cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(key)) return null;
    if (cert.checkHost(hostname) !== hostname) return null;
    return cert;
  } catch {
    return null; // unreadable: issue a fresh one from the key
  }
}

async function generateKeyPem(): Promise<string> {
  const keys = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return toPem("PRIVATE KEY", new Uint8Array(pkcs8));
}

async function issueSelfSigned(
  keyPem: string,
  spki: Uint8Array<ArrayBuffer>,
  options: { hostname: string; now: number; validityDays: number },
): Promise<string> {
  // Loaded only when a certificate must be issued (first start, renewal):
  // @peculiar/x509 needs the Reflect metadata polyfill loaded before it.
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    fromPem(keyPem),
    algorithm,
    false,
    ["sign"],
  );
  const publicKey = await crypto.subtle.importKey(
    "spki",
    spki,
    algorithm,
    true,
    ["verify"],
  );
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, 16 bytes long
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: hex.encode(serial),
    name: `CN=${options.hostname}`,
    notBefore: new Date(options.now - 3_600_000), // tolerate clock skew
    notAfter: new Date(options.now + options.validityDays * DAY_MS),
    signingAlgorithm: algorithm,
    keys: { privateKey, publicKey },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{
        type: "dns",
        value: options.hostname,
      }]),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  }, crypto);
  return cert.toString("pem") + "\n";
}

function toPem(label: string, der: Uint8Array): string {
  const lines = base64.encode(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${
    lines.join("\n")
  }\n-----END ${label}-----\n`;
}

function fromPem(pem: string): Uint8Array<ArrayBuffer> {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(base64.decode(body));
}

/** Reads a secret file, tightening its mode to 0600; null when it does not exist. */
async function readPrivateFile(path: string): Promise<string | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  const info = await Deno.stat(path);
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    await Deno.chmod(path, 0o600);
  }
  return text;
}
