/**
 * How the benchmarks that drive the client engine directly connect: TLS,
 * pinned to the certificate the server presents.
 *
 * @module
 */

import { connectPinned } from "../client/connect/tls_connect.ts";
import { probeCertificate } from "../client/connect/tls_probe.ts";

/** Connects with TLS, pinned to the certificate the server presents. */
export async function connectTls(
  target: { hostname: string; port: number },
): Promise<Deno.TlsConn> {
  const seen = await probeCertificate(target.hostname, target.port);
  return await connectPinned(target.hostname, target.port, {
    pinnedCertPem: seen.certPem,
  });
}
