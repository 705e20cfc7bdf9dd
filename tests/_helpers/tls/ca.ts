/**
 * A throwaway certificate authority for tests: the kind of CA a client may
 * trust (a private or corporate one), issuing ordinary server certificates.
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";

export { x509 };

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const DAY_MS = 86_400_000;

/** A certificate and its key, both PEM. */
export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

/** Names a leaf certificate is issued for. */
export interface LeafNames {
  dns?: string[];
  ip?: string[];
}

/** A test CA that issues server certificates. */
export interface TestCa {
  /** The CA's own certificate, what a client adds to its trust. */
  certPem: string;
  /** The CA's key: a misconfigured server may present the CA as its own. */
  keyPem: string;
  /** Issues a server certificate (serverAuth, CA:FALSE) for `names`. */
  issue(
    names: LeafNames,
    options?: { notAfter?: Date },
  ): Promise<CertAndKey>;
}

/** Creates a CA with a fresh P-256 key. */
export async function createTestCa(name = "fts test CA"): Promise<TestCa> {
  const caKeys = await newKeys();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 365 * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  }, crypto);
  return {
    certPem: caCert.toString("pem") + "\n",
    keyPem: await privateKeyPem(caKeys.privateKey),
    async issue(names, options = {}) {
      const keys = await newKeys();
      const altNames = [
        ...(names.dns ?? []).map((value) => ({ type: "dns" as const, value })),
        ...(names.ip ?? []).map((value) => ({ type: "ip" as const, value })),
      ];
      const first = altNames[0]?.value ?? "server";
      const cert = await x509.X509CertificateGenerator.create({
        subject: `CN=${first}`,
        issuer: caCert.subject,
        notBefore: new Date(Date.now() - DAY_MS),
        notAfter: options.notAfter ?? new Date(Date.now() + 90 * DAY_MS),
        signingAlgorithm: ALGORITHM,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.digitalSignature,
            true,
          ),
          new x509.ExtendedKeyUsageExtension([
            x509.ExtendedKeyUsage.serverAuth,
          ]),
          new x509.SubjectAlternativeNameExtension(altNames),
          await x509.AuthorityKeyIdentifierExtension.create(caCert),
        ],
      }, crypto);
      return {
        certPem: cert.toString("pem") + "\n",
        keyPem: await privateKeyPem(keys.privateKey),
      };
    },
  };
}

/** A fresh P-256 key pair (extractable). */
export async function newKeys(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
}

/** A private key as PKCS#8 PEM. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", key));
  const base64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN PRIVATE KEY-----\n${
    base64.match(/.{1,64}/g)!.join("\n")
  }\n-----END PRIVATE KEY-----\n`;
}
